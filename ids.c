/* ids.c -- who inspect serves as: users, groups, dropping root */
/* SPDX-License-Identifier: ISC */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ids.h"
#include "reason.h"

static int	parse_id(const char *, unsigned long *);

/*
 * The largest user or group id: a bigger one does not fit in uid_t and
 * would wrap round (4294967296 to root), and (uid_t)-1 means "unchanged"
 * to setresuid().
 */
#define ID_MAX	((unsigned long)(uid_t)-2)
_Static_assert((uid_t)-1 == (gid_t)-1, "user and group ids differ in size");

int
ids_range(const char *s, enum idkind kind, const char *what,
    char *err, size_t errlen)
{
	unsigned long	 n;

	if (kind != ID_NAME && parse_id(s, &n) == -2)
		return reason(err, errlen, "%s id %s is out of range "
		    "(the largest is %lu)", what, s, ID_MAX);
	return 0;
}

int
ids_user(const char *s, enum idkind kind, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	struct passwd	*pw = NULL;
	unsigned long	 n;
	int		 numeric = parse_id(s, &n) == 0;

	if (ids_range(s, kind, "user", err, errlen) == -1)
		return -1;
	if (kind == ID_NUMBER && !numeric)
		return reason(err, errlen, "'%s' is not a user id", s);
	if (kind != ID_NUMBER)
		pw = getpwnam(s);
	if (pw == NULL && kind != ID_NAME && numeric)
		pw = getpwuid((uid_t)n);
	if (pw == NULL)
		return reason(err, errlen, "unknown user '%s'", s);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
ids_group(const char *s, enum idkind kind, gid_t *gid, char *err,
    size_t errlen)
{
	struct group	*gr = NULL;
	unsigned long	 n;
	int		 numeric = parse_id(s, &n) == 0;

	if (ids_range(s, kind, "group", err, errlen) == -1)
		return -1;
	if (kind == ID_NUMBER && !numeric)
		return reason(err, errlen, "'%s' is not a group id", s);
	if (kind != ID_NUMBER)
		gr = getgrnam(s);
	if (gr == NULL && kind != ID_NAME && numeric)
		gr = getgrgid((gid_t)n);
	if (gr == NULL)
		return reason(err, errlen, "unknown group '%s'", s);
	*gid = gr->gr_gid;
	return 0;
}

int
ids_resolve(const char *user, enum idkind user_kind, const char *group,
    enum idkind group_kind, const char *socket_group, struct ids *ids,
    char *err, size_t errlen)
{
	char	 why[256];

	ids->uid = getuid();
	ids->gid = getgid();
	ids->socket_gid = (gid_t)-1;
	if (user != NULL && ids_user(user, user_kind, &ids->uid, &ids->gid,
	    why, sizeof why) == -1)
		return reason(err, errlen, "-u: %s", why);
	if (group != NULL && ids_group(group, group_kind, &ids->gid, why,
	    sizeof why) == -1)
		return reason(err, errlen, "-g: %s", why);
	if (socket_group != NULL && ids_group(socket_group,
	    ID_NAME_OR_NUMBER, &ids->socket_gid, why, sizeof why) == -1)
		return reason(err, errlen, "--unix-socket-group: %s",
		    why);
	ids->drop = 0;
	if (user == NULL && group == NULL)
		return 0;
	if (geteuid() == 0) {
		ids->drop = 1;
		return 0;
	}
	/* Not root: already that user and group, or it cannot be done. */
	if (ids->uid != geteuid() || ids->gid != getegid())
		return reason(err, errlen, "%s: serving as another user "
		    "or group needs root", user != NULL ? user : group);
	return 0;
}

int
ids_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg;

	if (setgroups(1, &gid) == -1)
		return reason(err, errlen, "setgroups: %s",
		    strerror(errno));
	if (setresgid(gid, gid, gid) == -1)
		return reason(err, errlen, "setresgid %ld: %s", (long)gid,
		    strerror(errno));
	if (setresuid(uid, uid, uid) == -1)
		return reason(err, errlen, "setresuid %ld: %s", (long)uid,
		    strerror(errno));
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid)
		return reason(err, errlen, "the user and group ids did "
		    "not change as asked");
	/* Being able to go back would mean the drop did not happen. */
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		return reason(err, errlen, "still root after dropping "
		    "privileges");
	return 0;
}

/*
 * s, digits only, into *v.  Returns 0, -1 if s is not a number, or -2 if
 * it is one beyond ID_MAX.
 */
static int
parse_id(const char *s, unsigned long *v)
{
	char	*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (*end != '\0')
		return -1;
	return errno == ERANGE || *v > ID_MAX ? -2 : 0;
}
