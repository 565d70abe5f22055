/* daemon.h -- process work: users, files, privileges, detaching */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_DAEMON_H
#define INSPECT_DAEMON_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* How a user or group was named on the command line. */
enum idkind {
	ID_NAME_OR_NUMBER,	/* -u, -g: a name, else a number */
	ID_NAME,		/* --user-name, --group-name */
	ID_NUMBER		/* --user-id, --group-id */
};

/* Who inspect serves as. */
struct ids {
	uid_t	 uid;
	gid_t	 gid;
	gid_t	 socket_gid;	/* the unix socket's; (gid_t)-1: as made */
	int	 drop;		/* root, to become uid and gid (priv_drop()) */
};

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
 * Refuse s, a user or group (what: "user" or "group") named as kind, if
 * it is a number beyond the largest id, (uid_t)-2.  A name is not
 * checked.  Returns 0, or -1 with the reason, naming the value, in err.
 */
int	daemon_id_range(const char *s, enum idkind kind, const char *what,
	    char *err, size_t errlen);

/*
 * Look up a user; *uid and, for a user, *gid (the user's group) are set.
 * Returns 0, or -1 with the reason in err.
 */
int	daemon_user(const char *s, enum idkind kind, uid_t *uid, gid_t *gid,
	    char *err, size_t errlen);

/* Look up a group into *gid.  Returns 0, or -1 with the reason in err. */
int	daemon_group(const char *s, enum idkind kind, gid_t *gid, char *err,
	    size_t errlen);

/*
 * Resolve -u (user, named as user_kind), -g (group) and
 * --unix-socket-group, each NULL if not given, into ids: uid and gid are
 * the user's and group's, or the process's own if not given.  Serving as
 * another user or group needs root.  Returns 0, or -1 with the reason,
 * naming the option, in err.
 */
int	daemon_ids(const char *user, enum idkind user_kind, const char *group,
	    enum idkind group_kind, const char *socket_group, struct ids *ids,
	    char *err, size_t errlen);

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

/*
 * Drop to uid and gid for good: supplementary groups cleared, real,
 * effective and saved ids set, and root checked to be gone.  Returns 0,
 * or -1 with the reason in err.
 */
int	priv_drop(uid_t uid, gid_t gid, char *err, size_t errlen);

/* daemon_detach(): failed, and the launcher was told why. */
#define DAEMON_TOLD	(-2)

/*
 * Detach: the calling process waits until the detached one says it is
 * ready (exit 0) or why it is not (the reason on stderr, exit 1); only
 * the detached process returns, in a session of its own, with its
 * working directory at / and standard input, output and error on
 * /dev/null.  Returns the descriptor to pass to daemon_ready(); or -1
 * with the reason in err, nothing detached; or DAEMON_TOLD, in a process
 * that could not detach after all, the launcher told the reason (in
 * err too): it has only to clean up and exit.
 */
int	daemon_detach(char *err, size_t errlen);

/*
 * Tell the process that started the daemon that it is serving (why NULL)
 * or why it is not, and close fd.
 */
void	daemon_ready(int fd, const char *why);

/*
 * --report-memory-profile: log the process's memory after session id,
 * read from /proc; with MILTER_MEMORY_PROFILE=yes, the allocator's view
 * too.
 */
void	daemon_report_memory(uint64_t id);

#endif
