/* owned.c -- the files inspect makes and removes: the socket, the pid file */
/* SPDX-License-Identifier: ISC */

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "owned.h"
#include "reason.h"

int
owned_init(struct owned *o, const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;

	o->dirfd = -1;
	o->path = o->name = NULL;
	if (slash != NULL && slash[1] == '\0') {
		errno = EISDIR;
		return -1;
	}
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, slash - path);
	if (dir == NULL)
		return -1;
	o->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (o->dirfd == -1)
		return -1;
	if ((o->name = strdup(slash != NULL ? slash + 1 : path)) == NULL ||
	    (o->path = strdup(path)) == NULL) {
		owned_forget(o);
		return -1;
	}
	return 0;
}

int
owned_stat(struct owned *o)
{
	struct stat	 st;

	if (fstatat(o->dirfd, o->name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return 0;
}

void
owned_remove(struct owned *o)
{
	struct stat	 st;

	if (o->dirfd == -1)
		return;
	if (fstatat(o->dirfd, o->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == o->dev && st.st_ino == o->ino &&
	    unlinkat(o->dirfd, o->name, 0) == -1)
		log_warn("cannot remove %s: %s", o->path, strerror(errno));
	owned_forget(o);
}

void
owned_forget(struct owned *o)
{
	if (o->dirfd != -1)
		close(o->dirfd);
	free(o->name);
	free(o->path);
	o->dirfd = -1;
	o->path = o->name = NULL;
}

int
pidfile_open(const char *path, struct owned *o, char *err, size_t errlen)
{
	char	 pid[32];
	ssize_t	 n;
	int	 fd;

	if (owned_init(o, path) == -1)
		return reason(err, errlen, "--pid-file %s: %s", path,
		    strerror(errno));
	fd = openat(o->dirfd, o->name, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1) {
		reason(err, errlen, "--pid-file %s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		owned_forget(o);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = errno == EWOULDBLOCK ?
		    pread(fd, pid, sizeof pid - 1, 0) : -1;
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (n > 0)
			reason(err, errlen, "--pid-file %s: held by "
			    "process %s, an inspect still running", path, pid);
		else
			reason(err, errlen, "--pid-file %s: %s", path,
			    strerror(errno));
		close(fd);
		owned_forget(o);
		return -1;
	}
	if (owned_stat(o) == -1) {
		reason(err, errlen, "--pid-file %s: %s", path,
		    strerror(errno));
		close(fd);
		owned_forget(o);
		return -1;
	}
	return fd;
}

int
pidfile_write(int fd)
{
	char	 s[32];
	int	 n;

	n = snprintf(s, sizeof s, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, s, n, 0) != n)
		return -1;
	return 0;
}
