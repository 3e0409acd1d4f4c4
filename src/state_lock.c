/* state_lock.c - the state directory's lock: one process at a time; see
 * include/state.h. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Messages name paths; cutting them short is acceptable. */
#if defined(__GNUC__) && !defined(__clang__) /* clang has no such group */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define PID_TEXT_MAX 32


int state_lock(const char *dir, int *fd_out, char *err, size_t errlen)
{
	char path[4096], pid[PID_TEXT_MAX];
	struct stat sb;
	ssize_t k;
	int fd = -1, r, n;

	if (!dir || !*dir || !fd_out)
		return -EINVAL;
	n = snprintf(path, sizeof(path), "%s/%s", dir, STATE_LOCK_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		  0600);
	if (fd < 0) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "cannot open lock file %s: %s",
				 path, strerror(-r));
		return r;
	}
	/* the PID is written into it: only a regular file of its own, never
	 * through a hard link to another file */
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		r = -EPERM;
		if (err && errlen)
			snprintf(err, errlen,
				 "lock file %s is not a regular file with a single link; remove it",
				 path);
		close(fd);
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		if (r == -EBUSY) {
			long other = 0;

			k = pread(fd, pid, sizeof(pid) - 1, 0);
			if (k > 0) {
				pid[k] = '\0';
				other = strtol(pid, NULL, 10);
			}
			if (err && errlen && other > 0)
				snprintf(err, errlen,
					 "state directory %s is in use by another personalize-retrain (PID %ld)",
					 dir, other);
			else if (err && errlen)
				snprintf(err, errlen,
					 "state directory %s is in use by another personalize-retrain",
					 dir);
		} else if (err && errlen) {
			snprintf(err, errlen, "cannot lock %s: %s", path,
				 strerror(-r));
		}
		close(fd);
		return r;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "cannot write lock file %s: %s",
				 path, strerror(-r));
		close(fd);
		return r;
	}
	*fd_out = fd;
	return 0;
}

void state_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
