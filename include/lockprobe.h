/* lockprobe.h - is a process holding a state directory's lock?
 *
 * `status` answers "is the daemon running" without taking the lock (a
 * daemon starting at that instant would find it busy and exit): it looks
 * the lock file's inode up in /proc/locks, where the kernel lists every
 * flock() with the PID of its holder (and, on overlayfs, the device of
 * the file system below: there the PID must be the lock file's too). */
#ifndef PR_LOCKPROBE_H
#define PR_LOCKPROBE_H

/* 1: held (*pid the holder's PID, 0 when it is not visible here, e.g.
 * another PID namespace; then the PID written in the lock file); 0: not
 * held, or no lock file (nothing ever ran there); -errno: cannot tell
 * (the lock file cannot be stat()ed, /proc/locks cannot be read).
 * locks_path: NULL for /proc/locks (tests pass their own). */
int lockprobe_state_dir(const char *dir, const char *locks_path, long *pid);

#endif
