/* lockprobe.c - who holds a state directory's lock; see include/lockprobe.h. */
#include "lockprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "state.h"

/* The PID the daemon wrote into the lock file; 0 if none. */
static long pid_in_file(const char *path)
{
	char buf[32];
	ssize_t k;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return 0;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return 0;
	buf[k] = '\0';
	return strtol(buf, NULL, 10);
}

int lockprobe_state_dir(const char *dir, const char *locks_path, long *pid)
{
	char path[4096], line[512];
	struct stat sb;
	FILE *f;
	long file_pid = 0;
	int n, held = 0;

	if (pid)
		*pid = 0;
	if (!dir || !*dir)
		return -EINVAL;
	n = snprintf(path, sizeof(path), "%s/%s", dir, STATE_LOCK_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;
	f = fopen(locks_path ? locks_path : "/proc/locks", "re");
	if (!f)
		return -errno;
	/* "1: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF"; a waiter's line
	 * has "->" after the number and is not a holder */
	while (fgets(line, sizeof(line), f)) {
		char kind[16], mode[16], rw[16];
		unsigned maj, min;
		unsigned long ino;
		long who;

		if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%lu", kind, mode,
			   rw, &who, &maj, &min, &ino) != 7)
			continue;
		if (strcmp(kind, "FLOCK") || ino != (unsigned long)sb.st_ino)
			continue;
		/* On overlayfs the kernel lists the lower file system's
		 * device: then the inode and the PID the daemon wrote into
		 * the lock file must both match. */
		if ((maj != major(sb.st_dev) || min != minor(sb.st_dev)) &&
		    who != (file_pid ? file_pid : (file_pid = pid_in_file(path))))
			continue;
		held = 1;
		if (pid)
			*pid = who > 0 ? who : pid_in_file(path);
		break;
	}
	fclose(f);
	return held;
}
