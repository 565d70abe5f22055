/* listen.c -- the listening socket: checking, opening, explaining failures */
/* SPDX-License-Identifier: ISC */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "listen.h"
#include "log.h"
#include "options.h"
#include "owned.h"

static int	find_listener(const struct spec *, const struct owned *);
static int	own_socket(struct owned *, gid_t, mode_t);
static void	explain_owner(const char *, const struct owned *, mode_t);
static unsigned int port_of(const struct sockaddr_storage *);
static void	explain_listen_failure(const char *, const struct spec *,
		    const struct owned *);
static int	resolve(const char *, const struct spec *,
		    struct sockaddr_storage *, socklen_t *);
static void	explain_directory(const char *, const char *);

/*
 * What libmilter would get wrong or not say: an unresolvable host, and a
 * unix socket that is live (libmilter would steal it) or not a socket.
 */
int
listen_check(const char *spec, const struct spec *sp)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	struct stat		 st;
	socklen_t		 len;
	int			 fd, live;

	if (sp->family != AF_UNIX)
		return resolve(spec, sp, &ss, &len);

	if (lstat(sp->path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_crit("%s: %s exists and is not a socket", spec, sp->path);
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sp->path, strlen(sp->path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_crit("socket: %s", strerror(errno));
		return -1;
	}
	live = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	close(fd);
	if (live) {
		log_crit("%s: another process is listening on %s", spec,
		    sp->path);
		return -1;
	}
	return 0;
}

/*
 * Have libmilter listen.  A unix socket is made from within its
 * directory under a relative name, with no permissions for others, then
 * given its group and mode; inspect then leaves the directory, so that
 * libmilter, which removes the socket on a clean stop when not root, no
 * longer finds it: the socket lives as long as inspect (or the
 * supervisor of its workers) does, and inspect removes it itself.
 */
int
listen_open(const char *spec, const struct spec *sp, struct owned *sock,
    gid_t socket_gid, mode_t socket_mode)
{
	char	*conn;
	mode_t	 mask;
	int	 rc, fd, flags;

	if (sp->family == AF_UNIX) {
		if (owned_init(sock, sp->path) == -1 ||
		    fchdir(sock->dirfd) == -1) {
			explain_directory(spec, sp->path);
			return -1;
		}
		if (asprintf(&conn, "unix:%s", sock->name) == -1)
			conn = NULL;
	} else
		conn = strdup(spec);
	if (conn == NULL) {
		log_crit("%s", strerror(errno));
		return -1;
	}
	rc = smfi_setconn(conn);
	free(conn);
	if (rc == MI_FAILURE) {
		log_crit("cannot set up libmilter");
		return -1;
	}
	mask = umask(0177);
	rc = smfi_opensocket(1);
	umask(mask);
	if (rc == MI_FAILURE) {
		explain_listen_failure(spec, sp, sock);
		return -1;
	}
	if (chdir("/") == -1) {
		log_crit("chdir /: %s", strerror(errno));
		return -1;
	}
	/*
	 * Workers all accept on the one socket libmilter opened before they
	 * were forked.  libmilter polls and then accepts with its listener
	 * lock held: a worker that lost a connection to another would sit in
	 * accept() with the lock, and smfi_stop() in it would wait for the
	 * next connection.  Non-blocking, the loser gets EAGAIN, which
	 * libmilter takes as "poll again"; what it accepts stays blocking
	 * (Linux does not pass the flag on).
	 */
	if (((fd = find_listener(sp, sock)) == -1 ||
	    (flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)) {
		log_crit("%s: cannot make the socket non-blocking: %s",
		    spec, strerror(errno));
		return -1;
	}
	if (sp->family != AF_UNIX)
		return 0;
	if ((rc = own_socket(sock, socket_gid, socket_mode)) != 0) {
		if (rc == -2)
			log_crit("%s: not the socket inspect made: replaced "
			    "before its group and mode were set", sp->path);
		else
			log_crit("%s: %s", sp->path, strerror(errno));
		return -1;
	}
	if (socket_gid == (gid_t)-1)
		explain_owner(spec, sock, socket_mode);
	return 0;
}

/* libmilter binds INADDR_ANY or in6addr_any when no host is given. */
int
listen_everywhere(const struct spec *sp)
{
	return sp->family != AF_UNIX && sp->host[0] == '\0';
}

/*
 * Only the listening socket and its connections are bound to inspect's
 * port in this process.
 */
int
listen_is_session(int fd, const struct spec *sp)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	int			 listening;
	socklen_t		 ilen = sizeof listening;

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family != sp->family || port_of(&ss) != sp->port ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &ilen) == -1 || listening)
		return 0;
	return 1;
}

/*
 * libmilter's listening socket.  libmilter keeps the descriptor to
 * itself, but scanning for it is sound: called just after
 * smfi_opensocket(), before any worker or session exists, it is the one
 * socket in the process that listens where sp says, on sp's port or at
 * sock's name (libmilter bound it relative to the directory).  Another
 * that listens, inherited from the parent, is passed over.  Returns it,
 * or -1.
 */
static int
find_listener(const struct spec *sp, const struct owned *sock)
{
	struct sockaddr_storage	 ss;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
	socklen_t		 len;
	long			 max;
	int			 fd, on;

	if ((max = sysconf(_SC_OPEN_MAX)) == -1)
		max = 1024;
	for (fd = 0; fd < max; fd++) {
		len = sizeof on;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1 ||
		    !on)
			continue;
		len = sizeof ss;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
		    ss.ss_family != sp->family)
			continue;
		if (sp->family == AF_UNIX ? strncmp(sun->sun_path, sock->name,
		    sizeof sun->sun_path) == 0 : port_of(&ss) == sp->port)
			return fd;
	}
	errno = ENOTSOCK;
	return -1;
}

/*
 * Give the socket libmilter just made at sock its group (gid, unless
 * (gid_t)-1) and mode, and remember it for its removal.  Whatever is at
 * its name by now is opened without following a link (O_PATH), checked
 * to be a socket of this user's, the one remembered, and changed through
 * that descriptor: a link swapped in for it, symbolic or hard, by someone
 * who can write the directory, cannot point the changes at another file.
 * Returns 0, -1 with errno set, or -2 if it is not the socket made.
 */
static int
own_socket(struct owned *sock, gid_t gid, mode_t mode)
{
	struct stat	 st;
	char		 proc[64];
	int		 fd, rc = -1, saved;

	if (owned_stat(sock) == -1)
		return -1;
	fd = openat(sock->dirfd, sock->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto done;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid() ||
	    st.st_dev != sock->dev || st.st_ino != sock->ino) {
		rc = -2;
		goto done;
	}
	if (gid != (gid_t)-1 && fchownat(fd, "", -1, gid, AT_EMPTY_PATH) == -1)
		goto done;
	/* fchmod() takes no O_PATH descriptor; its link in /proc does. */
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if (chmod(proc, mode) == -1)
		goto done;
	rc = 0;
done:
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * Made by root in root's group (no --unix-socket-group, and a directory
 * that does not pass its own group on), the socket is out of reach of an
 * MTA that does not run as root: Postfix's smtpd, as postfix, gets
 * "Permission denied" and its client a 451.  Say so at start-up rather
 * than leave it to the MTA's log.
 */
static void
explain_owner(const char *spec, const struct owned *sock, mode_t mode)
{
	struct stat	 st;

	if (geteuid() != 0 || (mode & S_IWOTH) ||
	    fstatat(sock->dirfd, sock->name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_uid != 0 || st.st_gid != 0)
		return;
	log_notice("note: %s is root:root %04o, out of reach of an MTA not "
	    "running as root (Postfix: \"Permission denied\"); give "
	    "--unix-socket-group postfix%s, or the group the MTA runs as",
	    spec, (unsigned int)mode, (mode & S_IWGRP) ? "" :
	    " --unix-socket-mode 0660");
}

/* A TCP port, in host order; 0 for other families. */
static unsigned int
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/*
 * libmilter says why it could not listen only to syslog; find out by
 * trying the same bind, and say it where inspect was started.  A unix
 * socket is tried under sock's relative name, from its directory.
 */
static void
explain_listen_failure(const char *spec, const struct spec *sp,
    const struct owned *sock)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd, one = 1, rc, saved;

	if (sp->family == AF_UNIX) {
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, sock->name, strlen(sock->name) + 1);
		memcpy(&ss, &sun, sizeof sun);
		len = sizeof sun;
	} else if (resolve(spec, sp, &ss, &len) == -1)
		return;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_crit("cannot listen on %s: %s", spec, strerror(errno));
		return;
	}
	if (sp->family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	rc = bind(fd, (struct sockaddr *)&ss, len);
	saved = errno;
	close(fd);
	if (rc == 0) {
		if (sp->family == AF_UNIX)
			unlink(sock->name);
		log_crit("cannot listen on %s (libmilter's reason is in "
		    "syslog)", spec);
	} else
		log_crit("cannot listen on %s: %s", spec, strerror(saved));
}

/*
 * The socket's directory could not be opened (errno says why): a
 * directory that is not there is named, as "No such file or directory"
 * leaves one to guess whether the socket or its directory is missing.
 */
static void
explain_directory(const char *spec, const char *path)
{
	const char	*slash = strrchr(path, '/');
	int		 saved = errno;

	if (saved == ENOENT && slash != NULL && slash != path)
		log_crit("%s: directory %.*s does not exist", spec,
		    (int)(slash - path), path);
	else
		log_crit("%s: %s", spec, strerror(saved));
}

/* The address libmilter will bind for an inet spec. */
static int
resolve(const char *spec, const struct spec *sp, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo	 hints, *res;
	char		 port[16];
	int		 rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = sp->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV |
	    (sp->literal ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof port, "%u", sp->port);
	rc = getaddrinfo(*sp->host != '\0' ? sp->host : NULL, port, &hints,
	    &res);
	if (rc != 0) {
		log_crit("%s: cannot resolve host '%s': %s", spec, sp->host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}
