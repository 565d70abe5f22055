/* daemon.c -- detaching, and telling the launcher how it went */
/* SPDX-License-Identifier: ISC */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "reason.h"

int
daemon_detach(char *err, size_t errlen)
{
	char	 msg[1024];
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 p[2], fd = 0;

	if (pipe2(p, O_CLOEXEC) == -1)
		return reason(err, errlen, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		return reason(err, errlen, "fork: %s", strerror(errno));
	if (pid > 0) {
		/* The launcher: its exit status says whether it serves. */
		close(p[1]);
		while (len < sizeof msg - 1 &&
		    (n = read(p[0], msg + len, sizeof msg - 1 - len)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				break;
			len += n;
		}
		msg[len] = '\0';
		waitpid(pid, NULL, 0);
		if (strcmp(msg, "ok") == 0)
			_exit(0);
		fprintf(stderr, "inspect: %s\n", len > 0 ? msg :
		    "the daemon exited before it was ready");
		_exit(1);
	}
	close(p[0]);
	/* Not a session leader, so no terminal can be acquired again. */
	if (setsid() == -1 || (pid = fork()) == -1) {
		reason(err, errlen, "cannot detach: %s: %s",
		    errno == EPERM ? "setsid" : "fork", strerror(errno));
		daemon_ready(p[1], err);
		return DAEMON_TOLD;
	}
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1 ||
	    (fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		reason(err, errlen, "cannot detach: %s: %s",
		    fd == -1 ? "/dev/null" : "chdir /", strerror(errno));
		daemon_ready(p[1], err);
		return DAEMON_TOLD;
	}
	/* Never closed: a libmilter socket must not land on 0, 1 or 2. */
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return p[1];
}

void
daemon_ready(int fd, const char *why)
{
	const char	*s = why != NULL ? why : "ok";
	size_t		 len = strlen(s);

	if (fd == -1)
		return;
	if (write(fd, s, len) != (ssize_t)len)
		log_err("cannot tell the launcher: %s", strerror(errno));
	close(fd);
}
