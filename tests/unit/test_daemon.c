/* test_daemon.c -- daemon.c: users and groups, owned files, pid file, drop */
/* SPDX-License-Identifier: ISC */

/*
 * The identity calls are wrapped (-Wl,--wrap): each passes through to the
 * real one unless a test makes it fail or lie, which the real calls
 * cannot be made to do safely.  A real drop of root runs in a child.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../ids.h"
#include "../../owned.h"

#define NOBODY	65534

int	__real_setresuid(uid_t, uid_t, uid_t);
int	__real_getresuid(uid_t *, uid_t *, uid_t *);
int	__real_setuid(uid_t);
uid_t	__real_geteuid(void);
gid_t	__real_getegid(void);
int	__wrap_setresuid(uid_t, uid_t, uid_t);
int	__wrap_getresuid(uid_t *, uid_t *, uid_t *);
int	__wrap_setuid(uid_t);
uid_t	__wrap_geteuid(void);
gid_t	__wrap_getegid(void);

static void	 path_of(char *, const char *);

/* What the wrapped calls do instead of the real thing, if set. */
static int	 setresuid_errno;	/* fail with this */
static int	 setresuid_noop;	/* succeed, change nothing */
static int	 getresuid_says = -1;	/* report this uid */
static int	 setuid_works;		/* "back to root" succeeds */
static int	 geteuid_says = -1;
static int	 getegid_says = -1;

static char	 dir[] = "/tmp/inspect-test-daemon.XXXXXX";

int
__wrap_setresuid(uid_t r, uid_t e, uid_t s)
{
	if (setresuid_errno != 0) {
		errno = setresuid_errno;
		return -1;
	}
	return setresuid_noop ? 0 : __real_setresuid(r, e, s);
}

int
__wrap_getresuid(uid_t *r, uid_t *e, uid_t *s)
{
	if (getresuid_says == -1)
		return __real_getresuid(r, e, s);
	*r = *e = *s = (uid_t)getresuid_says;
	return 0;
}

int
__wrap_setuid(uid_t uid)
{
	return setuid_works ? 0 : __real_setuid(uid);
}

uid_t
__wrap_geteuid(void)
{
	return geteuid_says == -1 ? __real_geteuid() : (uid_t)geteuid_says;
}

gid_t
__wrap_getegid(void)
{
	return getegid_says == -1 ? __real_getegid() : (gid_t)getegid_says;
}

static void
path_of(char *path, const char *name)
{
	snprintf(path, PATH_MAX, "%s/%s", dir, name);
}

static int
reset(void **state)
{
	(void)state;
	setresuid_errno = setresuid_noop = setuid_works = 0;
	getresuid_says = geteuid_says = getegid_says = -1;
	return 0;
}

/* Users and groups by name and by number, and the errors a user sees. */
static void
test_daemon_users_and_groups(void **state)
{
	char	 err[256];
	uid_t	 uid;
	gid_t	 gid;

	(void)state;
	assert_int_equal(ids_user("root", ID_NAME_OR_NUMBER, &uid, &gid,
	    err, sizeof err), 0);
	assert_int_equal(uid, 0);
	assert_int_equal(gid, 0);
	assert_int_equal(ids_user("65534", ID_NAME_OR_NUMBER, &uid, &gid,
	    err, sizeof err), 0);
	assert_int_equal(uid, NOBODY);
	assert_int_equal(ids_user("0", ID_NUMBER, &uid, &gid, err,
	    sizeof err), 0);
	assert_int_equal(uid, 0);

	assert_int_equal(ids_user("no-such-user-x", ID_NAME_OR_NUMBER,
	    &uid, &gid, err, sizeof err), -1);
	assert_string_equal(err, "unknown user 'no-such-user-x'");
	assert_int_equal(ids_user("root", ID_NUMBER, &uid, &gid, err,
	    sizeof err), -1);
	assert_string_equal(err, "'root' is not a user id");
	/* A number is not a name. */
	assert_int_equal(ids_user("0", ID_NAME, &uid, &gid, err,
	    sizeof err), -1);
	assert_string_equal(err, "unknown user '0'");
	assert_int_equal(ids_user("-1", ID_NAME_OR_NUMBER, &uid, &gid, err,
	    sizeof err), -1);
	assert_string_equal(err, "unknown user '-1'");

	assert_int_equal(ids_group("root", ID_NAME, &gid, err, sizeof err),
	    0);
	assert_int_equal(gid, 0);
	assert_int_equal(ids_group("65534", ID_NUMBER, &gid, err,
	    sizeof err), 0);
	assert_int_equal(gid, NOBODY);
	assert_int_equal(ids_group("no-such-group-x", ID_NAME_OR_NUMBER,
	    &gid, err, sizeof err), -1);
	assert_string_equal(err, "unknown group 'no-such-group-x'");
}

/*
 * A number beyond the largest id, (uid_t)-2, is refused and named: a cast
 * would wrap 4294967296 round to root, and (uid_t)-1 means "unchanged".
 */
static void
test_daemon_id_out_of_range(void **state)
{
	static const char *const big[] = {
		"4294967295", "4294967296", "4294967296000",
		"99999999999999999999999"
	};
	struct ids	 ids;
	char		 err[256], want[256];
	uid_t		 uid = 12345;
	gid_t		 gid = 12345;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof big / sizeof big[0]; i++) {
		snprintf(want, sizeof want, "user id %s is out of range (the "
		    "largest is 4294967294)", big[i]);
		assert_int_equal(ids_user(big[i], ID_NAME_OR_NUMBER, &uid,
		    &gid, err, sizeof err), -1);
		assert_string_equal(err, want);
		assert_int_equal(ids_user(big[i], ID_NUMBER, &uid, &gid,
		    err, sizeof err), -1);
		assert_string_equal(err, want);
		assert_int_equal(uid, 12345);

		snprintf(want, sizeof want, "group id %s is out of range (the "
		    "largest is 4294967294)", big[i]);
		assert_int_equal(ids_group(big[i], ID_NAME_OR_NUMBER, &gid,
		    err, sizeof err), -1);
		assert_string_equal(err, want);
		assert_int_equal(ids_group(big[i], ID_NUMBER, &gid, err,
		    sizeof err), -1);
		assert_string_equal(err, want);
		assert_int_equal(gid, 12345);
	}
	/* The largest id is one: unknown here, not out of range. */
	assert_int_equal(ids_user("4294967294", ID_NUMBER, &uid, &gid, err,
	    sizeof err), -1);
	assert_string_equal(err, "unknown user '4294967294'");
	/* A name is a name, whatever its digits. */
	assert_int_equal(ids_user("4294967296", ID_NAME, &uid, &gid, err,
	    sizeof err), -1);
	assert_string_equal(err, "unknown user '4294967296'");

	assert_int_equal(ids_range("4294967296", ID_NAME_OR_NUMBER,
	    "user", err, sizeof err), -1);
	assert_string_equal(err, "user id 4294967296 is out of range (the "
	    "largest is 4294967294)");
	assert_int_equal(ids_range("4294967294", ID_NUMBER, "group",
	    err, sizeof err), 0);
	assert_int_equal(ids_range("4294967296", ID_NAME, "user", err,
	    sizeof err), 0);
	assert_int_equal(ids_range("nobody", ID_NAME_OR_NUMBER, "user",
	    err, sizeof err), 0);

	/* Each option that names one says which it was. */
	geteuid_says = 0;
	assert_int_equal(ids_resolve("4294967296", ID_NAME_OR_NUMBER, NULL,
	    ID_NAME_OR_NUMBER, NULL, &ids, err, sizeof err), -1);
	assert_string_equal(err, "-u: user id 4294967296 is out of range (the "
	    "largest is 4294967294)");
	assert_int_equal(ids_resolve(NULL, ID_NAME_OR_NUMBER, "4294967296",
	    ID_NUMBER, NULL, &ids, err, sizeof err), -1);
	assert_string_equal(err, "-g: group id 4294967296 is out of range "
	    "(the largest is 4294967294)");
	assert_int_equal(ids_resolve(NULL, ID_NAME_OR_NUMBER, NULL,
	    ID_NAME_OR_NUMBER, "4294967296", &ids, err, sizeof err), -1);
	assert_string_equal(err, "--unix-socket-group: group id 4294967296 "
	    "is out of range (the largest is 4294967294)");
}

/* -u, -g and --unix-socket-group together, as root and not. */
static void
test_daemon_ids(void **state)
{
	struct ids	 ids;
	char		 err[256];

	(void)state;
	assert_int_equal(ids_resolve(NULL, ID_NAME_OR_NUMBER, NULL,
	    ID_NAME_OR_NUMBER, NULL, &ids, err, sizeof err), 0);
	assert_int_equal(ids.drop, 0);
	assert_int_equal(ids.uid, getuid());
	assert_int_equal(ids.socket_gid, (gid_t)-1);

	/* As root: -u nobody -g root drops to nobody's uid, root's group. */
	geteuid_says = 0;
	assert_int_equal(ids_resolve("nobody", ID_NAME_OR_NUMBER, "root",
	    ID_NAME_OR_NUMBER, "65534", &ids, err, sizeof err), 0);
	assert_int_equal(ids.drop, 1);
	assert_int_equal(ids.uid, NOBODY);
	assert_int_equal(ids.gid, 0);
	assert_int_equal(ids.socket_gid, NOBODY);

	assert_int_equal(ids_resolve("nobody", ID_NAME_OR_NUMBER, "no-such-x",
	    ID_NAME, NULL, &ids, err, sizeof err), -1);
	assert_string_equal(err, "-g: unknown group 'no-such-x'");
	assert_int_equal(ids_resolve(NULL, ID_NAME, NULL, ID_NAME,
	    "no-such-x", &ids, err, sizeof err), -1);
	assert_string_equal(err, "--unix-socket-group: unknown group "
	    "'no-such-x'");
	assert_int_equal(ids_resolve("no-such-x", ID_NAME, NULL, ID_NAME,
	    NULL, &ids, err, sizeof err), -1);
	assert_string_equal(err, "-u: unknown user 'no-such-x'");

	/* Not root: another user is refused, one's own is nothing to do. */
	geteuid_says = NOBODY;
	assert_int_equal(ids_resolve("root", ID_NAME_OR_NUMBER, NULL,
	    ID_NAME_OR_NUMBER, NULL, &ids, err, sizeof err), -1);
	assert_string_equal(err, "root: serving as another user or group "
	    "needs root");
	getegid_says = NOBODY;
	assert_int_equal(ids_resolve("nobody", ID_NAME_OR_NUMBER, "65534",
	    ID_NUMBER, NULL, &ids, err, sizeof err), 0);
	assert_int_equal(ids.drop, 0);
}

/* A pid file is locked, names its holder, and is never a link. */
static void
test_daemon_pidfile(void **state)
{
	struct owned	 a, b;
	char		 path[PATH_MAX], link[PATH_MAX], err[512], want[PATH_MAX + 100];
	char		 buf[32] = "";
	int		 fd;

	(void)state;
	path_of(path, "inspect.pid");
	assert_int_not_equal(fd = pidfile_open(path, &a, err, sizeof err),
	    -1);
	assert_int_equal(pidfile_write(fd), 0);
	assert_true(pread(fd, buf, sizeof buf - 1, 0) > 0);
	assert_int_equal(atol(buf), (long)getpid());

	/* The lock is on the open file: a second open is refused. */
	assert_int_equal(pidfile_open(path, &b, err, sizeof err), -1);
	snprintf(want, sizeof want, "--pid-file %s: held by process %ld, an "
	    "inspect still running", path, (long)getpid());
	assert_string_equal(err, want);
	assert_int_equal(b.dirfd, -1);

	close(fd);
	owned_remove(&a);
	assert_int_equal(access(path, F_OK), -1);

	path_of(link, "link.pid");
	assert_int_equal(symlink("/etc/passwd", link), 0);
	assert_int_equal(pidfile_open(link, &b, err, sizeof err), -1);
	snprintf(want, sizeof want, "--pid-file %s: is a symbolic link", link);
	assert_string_equal(err, want);
	unlink(link);

	path_of(path, "no-such-dir/inspect.pid");
	assert_int_equal(pidfile_open(path, &b, err, sizeof err), -1);
	snprintf(want, sizeof want, "--pid-file %s: No such file or directory",
	    path);
	assert_string_equal(err, want);
}

/*
 * An owned file is removed at exit only if it is still the one made, and
 * from its own directory whatever the working directory is by then.
 */
static void
test_daemon_owned_remove(void **state)
{
	struct owned	 o;
	char		 path[PATH_MAX], other[PATH_MAX], cwd[PATH_MAX];
	int		 fd;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	assert_int_not_equal(fd = open("mine", O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	assert_int_equal(owned_init(&o, "mine"), 0);
	assert_int_equal(owned_stat(&o), 0);
	assert_int_equal(chdir("/"), 0);
	owned_remove(&o);
	path_of(path, "mine");
	assert_int_equal(access(path, F_OK), -1);

	/* Replaced by someone else's file meanwhile: left alone. */
	assert_int_not_equal(fd = open(path, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	assert_int_equal(owned_init(&o, path), 0);
	assert_int_equal(owned_stat(&o), 0);
	path_of(other, "other");
	assert_int_not_equal(fd = open(other, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	assert_int_equal(rename(other, path), 0);
	owned_remove(&o);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	assert_int_equal(owned_init(&o, "/tmp/"), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(chdir(cwd), 0);
}

/* Each way a drop can fail is reported, never taken for success. */
static void
test_daemon_priv_drop_failures(void **state)
{
	char	 err[256];

	(void)state;
	if (getuid() != 0)
		fail_msg("needs root: run the unit tests as root");
	setresuid_errno = EPERM;
	assert_int_equal(ids_drop(0, 0, err, sizeof err), -1);
	assert_string_equal(err, "setresuid 0: Operation not permitted");
	reset(state);

	/* The call says yes but the ids did not change. */
	setresuid_noop = 1;
	assert_int_equal(ids_drop(NOBODY, 0, err, sizeof err), -1);
	assert_string_equal(err, "the user and group ids did not change as "
	    "asked");
	reset(state);

	/* The ids changed, yet root can be had back. */
	setresuid_noop = 1;
	getresuid_says = NOBODY;
	setuid_works = 1;
	assert_int_equal(ids_drop(NOBODY, 0, err, sizeof err), -1);
	assert_string_equal(err, "still root after dropping privileges");
}

/* A real drop, in a child: nobody for good, with no way back. */
static void
test_daemon_priv_drop_real(void **state)
{
	char	 err[256];
	pid_t	 pid;
	int	 status;

	(void)state;
	if (getuid() != 0)
		fail_msg("needs root: run the unit tests as root");
	if ((pid = fork()) == 0) {
		uid_t	 r, e, s;
		gid_t	 g[4];

		if (ids_drop(NOBODY, NOBODY, err, sizeof err) == -1)
			_exit(1);
		if (getresuid(&r, &e, &s) == -1 || r != NOBODY || e != NOBODY ||
		    s != NOBODY || getgid() != NOBODY || getegid() != NOBODY)
			_exit(2);
		if (getgroups(4, g) != 1 || g[0] != NOBODY)
			_exit(3);
		if (setuid(0) != -1 || seteuid(0) != -1)
			_exit(4);
		_exit(0);
	}
	assert_int_not_equal(pid, -1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_daemon_users_and_groups, reset),
		cmocka_unit_test_setup(test_daemon_id_out_of_range, reset),
		cmocka_unit_test_setup(test_daemon_ids, reset),
		cmocka_unit_test_setup(test_daemon_pidfile, reset),
		cmocka_unit_test_setup(test_daemon_owned_remove, reset),
		cmocka_unit_test_setup(test_daemon_priv_drop_failures, reset),
		cmocka_unit_test_setup(test_daemon_priv_drop_real, reset),
	};
	int	 rc;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
