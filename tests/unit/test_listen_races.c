/* test_listen_races.c -- listen.c: a socket swapped, a listener inherited */
/* SPDX-License-Identifier: ISC */

/*
 * The real libmilter opens the sockets.  smfi_opensocket() is wrapped
 * (-Wl,--wrap) so that a test can do, the moment it returns, what
 * another process could: swap the new socket for a link.  libmilter
 * keeps its state for the life of a process, and listen_open() moves the
 * working directory: each case runs in a child of its own.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <libmilter/mfapi.h>

#include "../../listen.h"
#include "../../log.h"
#include "../../options.h"
#include "../../owned.h"

/* What the wrapped smfi_opensocket() does once the socket is made. */
enum swap {
	SWAP_NONE,
	SWAP_SYMLINK,		/* the socket's name, a symlink to "victim" */
	SWAP_HARDLINK		/* the socket's name, a hard link to it */
};

/* For the child's checks: the one that failed is named, and fails it. */
#define CHECK(cond)	do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);	\
		return 1;						\
	}								\
} while (0)

int	__real_smfi_opensocket(bool);
int	__wrap_smfi_opensocket(bool);

static int	 in_child(int (*)(void));
static void	 unix_spec(struct spec *, const char *);
static int	 mode_of(const char *);
static int	 listener_on(const struct sockaddr *, socklen_t);
static int	 nonblocking(int);
static int	 swapped_symlink(void);
static int	 swapped_hardlink(void);
static int	 not_swapped(void);
static int	 inherited_unix(void);
static int	 inherited_inet(void);

static struct smfiDesc	 desc = {
	.xxfi_name = (char *)(uintptr_t)"test_listen",
	.xxfi_version = SMFI_VERSION,
};
static enum swap	 swap;
static char		 dir[] = "/tmp/inspect-test-listen.XXXXXX";
static char		 path[PATH_MAX];	/* dir/sock */
static char		 victim[PATH_MAX];	/* dir/victim, 0600 */

/* libmilter's working directory is the socket's: relative names. */
int
__wrap_smfi_opensocket(bool rmsocket)
{
	int	 rc = __real_smfi_opensocket(rmsocket);

	if (rc != MI_SUCCESS || swap == SWAP_NONE)
		return rc;
	if (rename("sock", "sock.moved") == -1 ||
	    (swap == SWAP_SYMLINK ? symlink("victim", "sock") :
	    link("victim", "sock")) == -1)
		return MI_FAILURE;
	return rc;
}

/* Run fn in a child; its exit status: 0 if every check passed. */
static int
in_child(int (*fn)(void))
{
	pid_t	 pid;
	int	 status;

	if ((pid = fork()) == 0)
		_exit(smfi_register(desc) == MI_SUCCESS ? fn() : 2);
	if (pid == -1 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void
unix_spec(struct spec *sp, const char *p)
{
	memset(sp, 0, sizeof *sp);
	sp->family = AF_UNIX;
	memcpy(sp->path, p, strlen(p) + 1);	/* short: under /tmp */
}

static int
mode_of(const char *p)
{
	struct stat	 st;

	return lstat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* A listening socket of this process's own, bound to sa: its fd, or -1. */
static int
listener_on(const struct sockaddr *sa, socklen_t len)
{
	int	 fd;

	if ((fd = socket(sa->sa_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (bind(fd, sa, len) == -1 || listen(fd, 5) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
nonblocking(int fd)
{
	int	 flags = fcntl(fd, F_GETFL);

	return flags != -1 && (flags & O_NONBLOCK);
}

/*
 * The socket swapped for a symbolic link to another file before its mode
 * is set: refused, and the file's mode is left alone.
 */
static int
swapped_symlink(void)
{
	struct owned	 sock;
	struct spec	 sp;

	unix_spec(&sp, path);
	swap = SWAP_SYMLINK;
	CHECK(listen_open("unix:test", &sp, &sock, (gid_t)-1, 0666) ==
	    -1);
	CHECK(mode_of(victim) == 0600);
	return 0;
}

/* The same with a hard link, which no symbolic-link check stops. */
static int
swapped_hardlink(void)
{
	struct owned	 sock;
	struct spec	 sp;

	unix_spec(&sp, path);
	swap = SWAP_HARDLINK;
	CHECK(listen_open("unix:test", &sp, &sock, (gid_t)-1, 0666) ==
	    -1);
	CHECK(mode_of(victim) == 0600);
	return 0;
}

/* Left alone, the socket gets the group and mode asked for. */
static int
not_swapped(void)
{
	struct owned	 sock;
	struct spec	 sp;
	struct stat	 st;

	unix_spec(&sp, path);
	swap = SWAP_NONE;
	CHECK(listen_open("unix:test", &sp, &sock, getegid(), 0640) == 0);
	CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK((st.st_mode & 07777) == 0640);
	CHECK(st.st_gid == getegid());
	CHECK(st.st_dev == sock.dev && st.st_ino == sock.ino);
	owned_remove(&sock);
	CHECK(mode_of(path) == -1);
	return 0;
}

/*
 * libmilter's socket is made non-blocking for the workers, not another
 * listening socket the process had (from its parent, say) with a lower
 * descriptor.
 */
static int
inherited_unix(void)
{
	struct sockaddr_un	 other;
	struct owned		 sock;
	struct spec		 sp;
	int			 fd, theirs = -1, mine;

	memset(&other, 0, sizeof other);
	other.sun_family = AF_UNIX;
	snprintf(other.sun_path, sizeof other.sun_path, "%s/other", dir);
	CHECK((mine = listener_on((struct sockaddr *)&other,
	    sizeof other)) != -1);
	unix_spec(&sp, path);
	swap = SWAP_NONE;
	CHECK(listen_open("unix:test", &sp, &sock, (gid_t)-1, 0660) == 0);
	for (fd = mine + 1; fd < 1024 && theirs == -1; fd++) {
		struct sockaddr_un	 sun;
		socklen_t		 len = sizeof sun;

		if (getsockname(fd, (struct sockaddr *)&sun, &len) == 0 &&
		    sun.sun_family == AF_UNIX &&
		    strcmp(sun.sun_path, "sock") == 0)
			theirs = fd;
	}
	CHECK(theirs != -1);
	CHECK(nonblocking(theirs));
	CHECK(!nonblocking(mine));
	owned_remove(&sock);
	return 0;
}

/* The same on TCP: another port's listener is not libmilter's. */
static int
inherited_inet(void)
{
	struct sockaddr_in	 sin, got;
	struct owned		 sock;
	struct spec		 sp;
	socklen_t		 len = sizeof got;
	char			 spec[64];
	int			 fd, theirs = -1, mine, probe;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK((mine = listener_on((struct sockaddr *)&sin, sizeof sin)) !=
	    -1);
	/* A free port for libmilter: the kernel's pick, given back. */
	CHECK((probe = listener_on((struct sockaddr *)&sin, sizeof sin)) !=
	    -1);
	CHECK(getsockname(probe, (struct sockaddr *)&got, &len) == 0);
	close(probe);
	memset(&sp, 0, sizeof sp);
	sp.family = AF_INET;
	sp.port = ntohs(got.sin_port);
	sp.literal = 1;
	snprintf(sp.host, sizeof sp.host, "127.0.0.1");
	snprintf(spec, sizeof spec, "inet:%u@127.0.0.1", sp.port);
	swap = SWAP_NONE;
	CHECK(listen_open(spec, &sp, &sock, (gid_t)-1, 0660) == 0);
	for (fd = mine + 1; fd < 1024 && theirs == -1; fd++) {
		len = sizeof got;
		if (getsockname(fd, (struct sockaddr *)&got, &len) == 0 &&
		    got.sin_family == AF_INET &&
		    ntohs(got.sin_port) == sp.port)
			theirs = fd;
	}
	CHECK(theirs != -1);
	CHECK(nonblocking(theirs));
	CHECK(!nonblocking(mine));
	return 0;
}

static void
test_listen_socket_swapped_for_symlink(void **state)
{
	(void)state;
	assert_int_equal(in_child(swapped_symlink), 0);
}

static void
test_listen_socket_swapped_for_hardlink(void **state)
{
	(void)state;
	assert_int_equal(in_child(swapped_hardlink), 0);
}

static void
test_listen_socket_group_and_mode(void **state)
{
	(void)state;
	assert_int_equal(in_child(not_swapped), 0);
}

static void
test_listen_workers_inherited_unix(void **state)
{
	(void)state;
	assert_int_equal(in_child(inherited_unix), 0);
}

static void
test_listen_workers_inherited_inet(void **state)
{
	(void)state;
	assert_int_equal(in_child(inherited_inet), 0);
}

/* A fresh victim and no socket before each case. */
static int
reset(void **state)
{
	char	 moved[PATH_MAX + 8], other[PATH_MAX + 8];
	int	 fd;

	(void)state;
	snprintf(moved, sizeof moved, "%s.moved", path);
	snprintf(other, sizeof other, "%s/other", dir);
	unlink(path);
	unlink(moved);
	unlink(other);
	unlink(victim);
	if ((fd = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return -1;
	close(fd);
	return chmod(victim, 0600);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/sock", dir);
	snprintf(victim, sizeof victim, "%s/victim", dir);
	return log_init(LEVEL_CRITICAL | LEVEL_ERROR, NULL, 0, 0);
}

static int
teardown(void **state)
{
	(void)state;
	reset(state);
	unlink(victim);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_listen_socket_swapped_for_symlink,
		    reset),
		cmocka_unit_test_setup(test_listen_socket_swapped_for_hardlink,
		    reset),
		cmocka_unit_test_setup(test_listen_socket_group_and_mode,
		    reset),
		cmocka_unit_test_setup(test_listen_workers_inherited_unix,
		    reset),
		cmocka_unit_test_setup(test_listen_workers_inherited_inet,
		    reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
