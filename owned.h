/* owned.h -- the files inspect makes and removes: the socket, the pid file */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_OWNED_H
#define INSPECT_OWNED_H

#include <sys/types.h>

#include <stddef.h>

/*
 * A file that inspect made and removes at exit: its directory stays open,
 * so that the removal does not depend on the working directory, and the
 * file is removed only if it is still the one inspect made.
 */
struct owned {
	int	 dirfd;		/* -1: none */
	char	*path;		/* as given, for messages */
	char	*name;
	dev_t	 dev;
	ino_t	 ino;
};

/*
 * Open the directory of path and remember the file's name in it, in o:
 * o->dirfd gets the directory's descriptor, o->name the file's name
 * inside it, o->path a copy of path.  Returns 0, or -1 with errno set.
 */
int	owned_init(struct owned *o, const char *path);

/* Remember the identity of the file now at o's name.  Returns 0 or -1. */
int	owned_stat(struct owned *o);

/* Remove o's file if it is still the one remembered; release o. */
void	owned_remove(struct owned *o);

/* Release o without touching its file. */
void	owned_forget(struct owned *o);

/*
 * Open and lock the pid file at path, never through a symbolic link.
 * Returns its descriptor, or -1 with the reason in err (another process
 * holding the lock is named).
 */
int	pidfile_open(const char *path, struct owned *o, char *err,
	    size_t errlen);

/* Write this process's id into the pid file.  Returns 0, or -1. */
int	pidfile_write(int fd);

#endif
