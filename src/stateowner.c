/* stateowner.c - the config a state directory belongs to; see
 * include/stateowner.h. */
#include "stateowner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The resolved absolute path of path (the path itself when it cannot be
 * resolved, e.g. it does not exist). */
static void absolute(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX];

	if (realpath(path, buf))
		snprintf(out, len, "%s", buf);
	else
		snprintf(out, len, "%s", path);
}

int stateowner_record(const char *dir, const char *config_path)
{
	char path[4096], tmp[4200], abs[PATH_MAX + 2];
	size_t n;
	int fd, r = 0;

	if (!dir || !config_path)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", dir, STATEOWNER_FILE) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	absolute(config_path, abs, sizeof(abs) - 1);
	n = strlen(abs);
	abs[n++] = '\n';
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -errno;
	if (write(fd, abs, n) != (ssize_t)n)
		r = -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		(void)unlink(tmp);
	return r;
}

int stateowner_check(const char *dir, const char *config_path, char *err,
		     size_t errlen)
{
	char path[4096], rec[PATH_MAX + 2], abs[PATH_MAX];
	ssize_t k;
	int fd;

	if (!dir || !config_path)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", dir, STATEOWNER_FILE) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return -errno;
	}
	k = read(fd, rec, sizeof(rec) - 1);
	close(fd);
	if (k < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return -EIO;
	}
	rec[k] = '\0';
	rec[strcspn(rec, "\n")] = '\0';
	if (!rec[0])
		return 0;
	absolute(config_path, abs, sizeof(abs));
	if (!strcmp(rec, abs))
		return 0;
	snprintf(err, errlen,
		 "state directory %s belongs to the config %s, not %s: name "
		 "the instance with -i NAME (its config and state together), or "
		 "give the matching -c FILE / --state-dir DIR", dir, rec, abs);
	return -EXDEV;
}
