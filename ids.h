/* ids.h -- who inspect serves as: users, groups, dropping root */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_IDS_H
#define INSPECT_IDS_H

#include <sys/types.h>

#include <stddef.h>

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
	int	 drop;		/* root, to become uid and gid (ids_drop()) */
};

/*
 * Refuse s, a user or group (what: "user" or "group") named as kind, if
 * it is a number beyond the largest id, (uid_t)-2.  A name is not
 * checked.  Returns 0, or -1 with the reason, naming the value, in err.
 */
int	ids_range(const char *s, enum idkind kind, const char *what,
	    char *err, size_t errlen);

/*
 * Look up a user; *uid and, for a user, *gid (the user's group) are set.
 * Returns 0, or -1 with the reason in err.
 */
int	ids_user(const char *s, enum idkind kind, uid_t *uid, gid_t *gid,
	    char *err, size_t errlen);

/* Look up a group into *gid.  Returns 0, or -1 with the reason in err. */
int	ids_group(const char *s, enum idkind kind, gid_t *gid, char *err,
	    size_t errlen);

/*
 * Resolve -u (user, named as user_kind), -g (group) and
 * --unix-socket-group, each NULL if not given, into ids: uid and gid are
 * the user's and group's, or the process's own if not given.  Serving as
 * another user or group needs root.  Returns 0, or -1 with the reason,
 * naming the option, in err.
 */
int	ids_resolve(const char *user, enum idkind user_kind,
	    const char *group, enum idkind group_kind, const char *socket_group,
	    struct ids *ids, char *err, size_t errlen);

/*
 * Drop to uid and gid for good: supplementary groups cleared, real,
 * effective and saved ids set, and root checked to be gone.  Returns 0,
 * or -1 with the reason in err.
 */
int	ids_drop(uid_t uid, gid_t gid, char *err, size_t errlen);

#endif
