/* test_listen.c -- listen.c: the listening socket, checked and opened */
/* SPDX-License-Identifier: ISC */

/*
 * Real sockets in a scratch directory and on loopback.  libmilter opens
 * its socket once per process, so each opening runs in a child of its
 * own, which reports back what it found; what inspect says at start-up
 * (standard error, before the log takes over) is read from a file.
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
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include <libmilter/mfapi.h>

#include "../../listen.h"
#include "../../log.h"
#include "../../options.h"
#include "../../owned.h"
#include "said.h"

/* What a child that opened the socket found. */
struct opened {
	int	 rc;		/* listen_open()'s */
	int	 listeners;	/* sockets that listen in the process */
	int	 nonblocking;	/* the listener is */
	int	 at_root;	/* the working directory is / */
	int	 recorded;	/* sock names the socket's file */
};

static void	 spec_of(struct spec *, const char *);
static int	 unix_listener(const char *, int);
static int	 tcp_listener(unsigned int *);
static struct opened open_in_child(const char *, gid_t, mode_t);

static char	 dir[] = "/tmp/inspect-test-listen.XXXXXX";

static void
spec_of(struct spec *sp, const char *spec)
{
	char	 err[256];

	if (spec_parse(spec, sp, err, sizeof err) == -1)
		fail_msg("%s: %s", spec, err);
}

/* A unix socket at path: one listening, or -1 and a stale one. */
static int
unix_listener(const char *path, int listening)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	assert_int_not_equal(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	if (listening) {
		assert_int_equal(listen(fd, 1), 0);
		return fd;
	}
	close(fd);
	return -1;
}

/* A TCP socket listening on 127.0.0.1, on a port the kernel picks. */
static int
tcp_listener(unsigned int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_not_equal(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/*
 * A unix socket is left alone if nothing is there or a stale socket is
 * (libmilter replaces it); one that lives, or a file that is no socket,
 * stops inspect with a line that says so.
 */
static void
test_listen_check_unix(void **state)
{
	struct spec	 sp;
	char		 spec[PATH_MAX + 8], path[PATH_MAX];
	char		 want[3 * PATH_MAX];
	int		 fd;

	(void)state;
	snprintf(path, sizeof path, "%s/check.sock", dir);
	snprintf(spec, sizeof spec, "unix:%s", path);
	spec_of(&sp, spec);

	said_start();
	assert_int_equal(listen_check(spec, &sp), 0);
	assert_string_equal(said(), "");

	unix_listener(path, 0);
	said_start();
	assert_int_equal(listen_check(spec, &sp), 0);
	assert_string_equal(said(), "");
	unlink(path);

	fd = unix_listener(path, 1);
	said_start();
	assert_int_equal(listen_check(spec, &sp), -1);
	snprintf(want, sizeof want, "inspect: %s: another process is "
	    "listening on %s\n", spec, path);
	assert_string_equal(said(), want);
	close(fd);
	unlink(path);

	assert_int_not_equal(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	said_start();
	assert_int_equal(listen_check(spec, &sp), -1);
	snprintf(want, sizeof want, "inspect: %s: %s exists and is not a "
	    "socket\n", spec, path);
	assert_string_equal(said(), want);
	unlink(path);
}

/* A host that cannot be resolved stops inspect before libmilter runs. */
static void
test_listen_check_inet(void **state)
{
	struct spec	 sp;
	char		*s;

	(void)state;
	spec_of(&sp, "inet:2525@127.0.0.1");
	said_start();
	assert_int_equal(listen_check("inet:2525@127.0.0.1", &sp), 0);
	assert_string_equal(said(), "");

	/* A literal that is no address: refused without asking DNS. */
	spec_of(&sp, "inet:2525@[127.0.0.1]");
	snprintf(sp.host, sizeof sp.host, "%s", "300.1.2.3");
	said_start();
	assert_int_equal(listen_check("inet:2525@[300.1.2.3]", &sp), -1);
	s = said();
	assert_non_null(strstr(s, "inspect: inet:2525@[300.1.2.3]: cannot "
	    "resolve host '300.1.2.3': "));
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
}

/* Only a spec without a host listens on every address. */
static void
test_listen_everywhere(void **state)
{
	struct spec	 sp;

	(void)state;
	spec_of(&sp, "inet:2525");
	assert_int_equal(listen_everywhere(&sp), 1);
	spec_of(&sp, "inet6:2525");
	assert_int_equal(listen_everywhere(&sp), 1);
	spec_of(&sp, "inet:2525@127.0.0.1");
	assert_int_equal(listen_everywhere(&sp), 0);
	spec_of(&sp, "inet6:2525@[::1]");
	assert_int_equal(listen_everywhere(&sp), 0);
	spec_of(&sp, "unix:/run/inspect.sock");
	assert_int_equal(listen_everywhere(&sp), 0);
}

/*
 * A connection accepted on inspect's port is a session; the listening
 * socket, a client's end, a file or no descriptor are not.
 */
static void
test_listen_is_session(void **state)
{
	struct sockaddr_in	 sin;
	struct spec		 sp;
	unsigned int		 port;
	char			 spec[64];
	int			 lfd, cfd, afd, file;

	(void)state;
	lfd = tcp_listener(&port);
	snprintf(spec, sizeof spec, "inet:%u@127.0.0.1", port);
	spec_of(&sp, spec);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_not_equal(cfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_not_equal(afd = accept(lfd, NULL, NULL), -1);
	assert_int_not_equal(file = open("/dev/null", O_RDONLY), -1);

	assert_int_equal(listen_is_session(afd, &sp), 1);
	assert_int_equal(listen_is_session(lfd, &sp), 0);
	assert_int_equal(listen_is_session(cfd, &sp), 0);
	assert_int_equal(listen_is_session(file, &sp), 0);
	assert_int_equal(listen_is_session(-1, &sp), 0);
	/* Another port's connection is not inspect's. */
	sp.port = port == 65535 ? 1 : port + 1;
	assert_int_equal(listen_is_session(afd, &sp), 0);
	close(file);
	close(afd);
	close(cfd);
	close(lfd);
}

/*
 * In a child: register with libmilter, open spec as inspect does, and
 * say what came of it.
 */
static struct opened
open_in_child(const char *spec, gid_t gid, mode_t mode)
{
	static char		 name[] = "test";
	struct smfiDesc		 desc = { .xxfi_name = name,
	    .xxfi_version = SMFI_VERSION };
	struct opened		 o = { -2, 0, 0, 0, 0 };
	struct owned		 sock = { -1, NULL, NULL, 0, 0 };
	struct spec		 sp;
	socklen_t		 len;
	char			 cwd[PATH_MAX];
	int			 p[2], fd, on, flags, status;
	pid_t			 pid;

	spec_of(&sp, spec);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (smfi_register(desc) == MI_SUCCESS)
			o.rc = listen_open(spec, &sp, &sock, gid, mode);
		for (fd = 0; fd < 1024; fd++) {
			len = sizeof on;
			if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on,
			    &len) == 0 && on) {
				o.listeners++;
				flags = fcntl(fd, F_GETFL);
				o.nonblocking = flags != -1 &&
				    (flags & O_NONBLOCK) != 0;
			}
		}
		o.at_root = getcwd(cwd, sizeof cwd) != NULL &&
		    strcmp(cwd, "/") == 0;
		o.recorded = sock.name != NULL && sock.path != NULL &&
		    strcmp(sock.path, sp.path) == 0 &&
		    strcmp(sock.name, strrchr(sp.path, '/') + 1) == 0;
		_exit(write(p[1], &o, sizeof o) == (ssize_t)sizeof o ? 0 : 1);
	}
	assert_int_not_equal(pid, -1);
	close(p[1]);
	assert_int_equal(read(p[0], &o, sizeof o), (ssize_t)sizeof o);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return o;
}

/*
 * A unix socket gets the group and mode asked for, whatever the umask;
 * the socket libmilter listens on is non-blocking (the workers share
 * it), the file is recorded for its removal, and the working directory
 * is / once it is open.  Left root:root by root, it gets a note.
 */
static void
test_listen_open_unix(void **state)
{
	struct stat	 st;
	struct opened	 o;
	char		 spec[PATH_MAX + 8], path[PATH_MAX], *s;
	char		 want[2 * PATH_MAX];
	gid_t		 gid = geteuid() == 0 ? 65534 : getegid();
	mode_t		 mask;

	(void)state;
	snprintf(path, sizeof path, "%s/open.sock", dir);
	snprintf(spec, sizeof spec, "unix:%s", path);
	mask = umask(0);
	said_start();
	o = open_in_child(spec, gid, 0660);
	umask(mask);
	assert_string_equal(said(), "");
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.listeners, 1);
	assert_true(o.nonblocking);
	assert_true(o.at_root);
	assert_true(o.recorded);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, gid);
	unlink(path);

	/* No group given: as made, and root's gets the note. */
	said_start();
	o = open_in_child(spec, (gid_t)-1, 0600);
	s = said();
	assert_int_equal(o.rc, 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	if (geteuid() == 0 && st.st_gid == 0) {
		snprintf(want, sizeof want, "inspect: note: %s is root:root "
		    "0600, out of reach of an MTA not running as root "
		    "(Postfix: \"Permission denied\"); give "
		    "--unix-socket-group postfix --unix-socket-mode 0660, or "
		    "the group the MTA runs as\n", spec);
		assert_string_equal(s, want);
	} else
		assert_string_equal(s, "");
	unlink(path);
}

/*
 * libmilter says why it could not listen only to syslog: inspect finds
 * out and says it where it was started.
 */
static void
test_listen_open_failures(void **state)
{
	struct opened	 o;
	unsigned int	 port;
	char		 spec[PATH_MAX + 8], want[PATH_MAX + 64];
	int		 lfd;

	(void)state;
	lfd = tcp_listener(&port);
	snprintf(spec, sizeof spec, "inet:%u@127.0.0.1", port);
	said_start();
	o = open_in_child(spec, (gid_t)-1, 0600);
	snprintf(want, sizeof want, "inspect: cannot listen on %s: Address "
	    "already in use\n", spec);
	assert_string_equal(said(), want);
	assert_int_equal(o.rc, -1);
	assert_int_equal(o.listeners, 1);	/* the test's own */
	close(lfd);

	snprintf(spec, sizeof spec, "unix:%s/none/open.sock", dir);
	said_start();
	o = open_in_child(spec, (gid_t)-1, 0600);
	assert_true((size_t)snprintf(want, sizeof want, "inspect: %s: "
	    "directory %s/none does not exist\n", spec, dir) < sizeof want);
	assert_string_equal(said(), want);
	assert_int_equal(o.rc, -1);
	assert_int_equal(o.listeners, 0);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(said_path, sizeof said_path, "%s/stderr", dir);
	/* At start-up, what inspect says goes to standard error. */
	return log_init(LEVELS_INSPECT, NULL, 0, LOG_MAIL);
}

static int
teardown(void **state)
{
	(void)state;
	unlink(said_path);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_check_unix),
		cmocka_unit_test(test_listen_check_inet),
		cmocka_unit_test(test_listen_everywhere),
		cmocka_unit_test(test_listen_is_session),
		cmocka_unit_test(test_listen_open_unix),
		cmocka_unit_test(test_listen_open_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
