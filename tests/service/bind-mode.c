/* bind-mode.c -- LD_PRELOAD helper for tests/service/run.sh */
/* SPDX-License-Identifier: ISC */

/*
 * After every successful bind(2) of a unix socket by path, append the
 * socket file's mode and name to the file named by $BIND_MODE_LOG.  The
 * mode is read before bind() returns to inspect, so it is the one the
 * socket had the moment it appeared, before inspect could chmod it: what
 * anyone racing inspect for the new socket could have used.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef int	(*bind_fn)(int, const struct sockaddr *, socklen_t);

int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	static bind_fn			 real_bind;
	const struct sockaddr_un	*sun = (const struct sockaddr_un *)sa;
	const char			*log = getenv("BIND_MODE_LOG");
	struct stat			 st;
	char				 line[300];
	int				 rc, n, logfd, saved;

	if (real_bind == NULL)
		real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
	rc = real_bind(fd, sa, len);
	saved = errno;
	if (rc == 0 && log != NULL && sa->sa_family == AF_UNIX &&
	    sun->sun_path[0] != '\0' && stat(sun->sun_path, &st) == 0) {
		n = snprintf(line, sizeof line, "%04o %s\n",
		    (unsigned int)(st.st_mode & 07777), sun->sun_path);
		logfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0600);
		if (logfd != -1) {
			if (write(logfd, line, n) != n)
				n = 0;	/* the test sees a missing line */
			close(logfd);
		}
	}
	errno = saved;
	return rc;
}
