/* workers.c -- worker processes on one socket, and their supervisor */
/* SPDX-License-Identifier: ISC */

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "workers.h"

/* A worker that dies sooner than this after its start is restarted late. */
#define WORKER_MIN_LIFE		1
/* How long workers get to stop before they are killed. */
#define WORKER_STOP_WAIT	15
/* ... and after a second signal, when each should exit at once. */
#define WORKER_QUIT_WAIT	1
/* How long workers get to say they serve. */
#define WORKER_START_WAIT	30

struct worker {
	pid_t	 pid;
	time_t	 started;
};

static pid_t	spawn(int (*)(void));
static void	signal_all(struct worker *, unsigned int, int);
static int	reap(struct worker *, unsigned int, int, int *, int (*)(void));
static int	wait_ready(int, unsigned int, char *, size_t);

static int	ready_fd = -1;		/* in a worker: to its supervisor */
static int	launcher_fd = -1;	/* the supervisor's: see daemon_ready */

int
workers_run(unsigned int n, int (*serve)(void), void (*reopen)(void),
    int notify)
{
	struct worker	*w;
	struct timespec	 tick = { 1, 0 };
	sigset_t	 set;
	time_t		 stop_at = 0;
	unsigned int	 i, alive = 0, stops = 0;
	char		 why[512];
	int		 sig, fatal = 0, quit = 0, p[2];

	if ((w = calloc(n, sizeof *w)) == NULL || pipe2(p, O_CLOEXEC) == -1) {
		snprintf(why, sizeof why, "cannot run workers: %s",
		    strerror(errno));
		log_crit("%s", why);
		daemon_ready(notify, why);
		free(w);
		return 1;
	}
	daemon_sigset(&set);
	sigaddset(&set, SIGCHLD);
	ready_fd = p[1];
	launcher_fd = notify;
	for (i = 0; i < n; i++)
		if ((w[i].pid = spawn(serve)) != -1) {
			w[i].started = time(NULL);
			alive++;
		}
	close(p[1]);
	ready_fd = -1;
	if (alive < n)
		snprintf(why, sizeof why, "cannot start %u worker%s", n,
		    LOG_S(n));
	if (alive < n || wait_ready(p[0], n, why, sizeof why) == -1) {
		log_crit("%s", why);
		daemon_ready(notify, why);
		fatal = 1;
		stop_at = time(NULL) + WORKER_STOP_WAIT;
		signal_all(w, n, SIGTERM);
	} else {
		log_info("%u worker%s serving", n, LOG_S(n));
		daemon_ready(notify, NULL);
	}
	launcher_fd = -1;
	close(p[0]);

	while (alive > 0) {
		sig = sigtimedwait(&set, NULL, stop_at != 0 ? &tick : NULL);
		if (stop_at != 0 && time(NULL) >= stop_at) {
			log_warn("workers did not stop in %d s; killing them",
			    WORKER_STOP_WAIT);
			signal_all(w, n, SIGKILL);
		}
		switch (sig) {
		case SIGCHLD:
			alive = reap(w, n, stop_at != 0, &fatal, serve);
			if (fatal && stop_at == 0) {
				stop_at = time(NULL) + WORKER_STOP_WAIT;
				signal_all(w, n, SIGTERM);
			}
			break;
		case SIGHUP:
			if (!daemon_hangup_stops()) {
				reopen();
				signal_all(w, n, SIGHUP);
				break;
			}
			/* FALLTHROUGH */
		case SIGINT:
		case SIGTERM:
			if (++stops == 1) {
				log_notice("stopping %u worker%s on %s", alive,
				    LOG_S(alive), daemon_signal_name(sig));
				if (stop_at == 0) {
					stop_at = time(NULL) + WORKER_STOP_WAIT;
					signal_all(w, n, SIGTERM);
				}
			} else if (stops == 2) {
				/* Their second signal: each exits at once. */
				log_warn("%s again: the workers exit at once",
				    daemon_signal_name(sig));
				signal_all(w, n, SIGTERM);
				stop_at = time(NULL) + WORKER_QUIT_WAIT;
				quit = 128 + sig;
			}
			break;
		}
	}
	free(w);
	return quit != 0 ? quit : fatal;
}

void
worker_ready(const char *why)
{
	char	 msg[512];
	int	 n;

	if (ready_fd == -1)
		return;
	/* One line, shorter than PIPE_BUF: never mixed with another's. */
	n = snprintf(msg, sizeof msg, "%s", why != NULL ? why : "ok");
	if (n < 0 || (size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	msg[n++] = '\n';
	if (write(ready_fd, msg, n) != n)
		log_err("cannot tell the supervisor: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

/*
 * Read the workers' "ok" lines until n have come.  A line that is not
 * "ok" is why a worker cannot serve; the end of the pipe with fewer
 * means one died first.  Returns 0, or -1 with the reason in why.
 */
static int
wait_ready(int fd, unsigned int n, char *why, size_t whylen)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		 buf[4096], *line, *nl;
	size_t		 len = 0;
	ssize_t		 r;
	time_t		 until = time(NULL) + WORKER_START_WAIT;
	unsigned int	 ok = 0;

	while (ok < n) {
		if (time(NULL) >= until) {
			snprintf(why, whylen, "the workers did not start in "
			    "%d s", WORKER_START_WAIT);
			return -1;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((r = read(fd, buf + len, sizeof buf - 1 - len)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			snprintf(why, whylen, "a worker exited before it "
			    "served (see the log)");
			return -1;
		}
		len += r;
		buf[len] = '\0';
		for (line = buf; (nl = strchr(line, '\n')) != NULL;
		    line = nl + 1) {
			*nl = '\0';
			if (strcmp(line, "ok") != 0) {
				snprintf(why, whylen, "%s", line);
				return -1;
			}
			ok++;
		}
		len = strlen(line);
		memmove(buf, line, len);
	}
	return 0;
}

/* A worker: its signals stay blocked for serve() to wait on. */
static pid_t
spawn(int (*serve)(void))
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_err("cannot start a worker: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* The launcher waits for it to close: no worker may hold it. */
		if (launcher_fd != -1)
			close(launcher_fd);
		/*
		 * A terminal's ^C and hang-up go to its foreground process
		 * group: to the supervisor alone, which passes them on.  A
		 * worker hit by both would take the second for "exit at
		 * once".  Not being in that group, a worker must not be
		 * stopped for writing to the terminal (stty tostop).
		 */
		setpgid(0, 0);
		signal(SIGTTOU, SIG_IGN);
		_exit(serve());
	}
	log_debug("worker %ld started", (long)pid);
	return pid;
}

static void
signal_all(struct worker *w, unsigned int n, int sig)
{
	unsigned int	 i;

	for (i = 0; i < n; i++)
		if (w[i].pid > 0)
			kill(w[i].pid, sig);
}

/*
 * Collect dead workers and, unless stopping, start others in their
 * place.  A worker that says it cannot serve sets *fatal, and none is
 * started any more.  Returns how many are alive.
 */
static int
reap(struct worker *w, unsigned int n, int stopping, int *fatal,
    int (*serve)(void))
{
	unsigned int	 i, alive = 0;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < n && w[i].pid != pid; i++)
			;
		if (i == n)
			continue;
		w[i].pid = 0;
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == WORKER_EXIT_FATAL) {
			log_crit("worker %ld cannot serve; stopping",
			    (long)pid);
			*fatal = 1;
		}
		if (stopping || *fatal)
			continue;
		if (WIFSIGNALED(status))
			log_err("worker %ld killed by signal %d", (long)pid,
			    WTERMSIG(status));
		else
			log_warn("worker %ld exited with status %d",
			    (long)pid, WEXITSTATUS(status));
		/* A worker that cannot start must not make a busy loop. */
		if (time(NULL) - w[i].started < WORKER_MIN_LIFE)
			sleep(WORKER_MIN_LIFE);
		if ((w[i].pid = spawn(serve)) != -1)
			w[i].started = time(NULL);
	}
	for (i = 0; i < n; i++)
		if (w[i].pid > 0)
			alive++;
	return alive;
}
