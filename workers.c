/* workers.c -- the supervisor: worker processes, the signals, the files */
/* SPDX-License-Identifier: ISC */

/*
 * libmilter always runs in a worker process, never in the process that
 * was started; that one supervises.  It alone takes signals, holds the
 * pid file and the socket's directory, and opens the log and the report
 * files, whose descriptors it hands to the workers; the workers open
 * nothing by name after start-up.  It tells them what to do over a
 * socket of their own, never by a signal, so that no signal from
 * outside can reach libmilter, which takes SIGHUP, SIGINT and SIGTERM
 * for "stop" in a thread of its own (see spawn()).
 */

#include <sys/prctl.h>
#include <sys/socket.h>
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

/* A worker that lived this long did not die of its start: no delay. */
#define WORKER_MIN_LIFE		10
/* Workers dying young this many times in a row: give up. */
#define WORKER_MAX_FAILS	5
/* The delay before a worker that died young is started again, at most. */
#define WORKER_BACKOFF_MAX	8
/* How long workers get to stop before they are killed. */
#define WORKER_STOP_WAIT	15
/* ... and after a second signal, when each should exit at once. */
#define WORKER_QUIT_WAIT	1
/* How long workers get to say they serve. */
#define WORKER_START_WAIT	30
/* What a worker says when the report's reader went away. */
#define WORKER_ORPHANED		"orphaned"

struct worker {
	pid_t	 pid;		/* 0: none */
	int	 ctl;		/* the supervisor's end of its socket */
	int	 ready;		/* it said "ok" */
	double	 started;
	double	 respawn_at;	/* with no pid: when to start one */
};

/* The supervisor's state, for the helpers below. */
struct run {
	const struct supervisor	*s;
	struct worker		*w;
	int			 launcher;	/* -1 once told */
	int			 starting;	/* not all ready yet */
	int			 fails;		/* young deaths in a row */
	int			 fatal;
	int			 stops;		/* stopping signals taken */
	int			 quit;		/* 128 + the second one */
	double			 stop_at;	/* 0: not stopping */
	int			 killed;
};

static int	take_signals(void);
static void	on_signal(int);
static double	now(void);
static int	spawn(struct run *, unsigned int);
static void	child(struct run *, int, int, pid_t);
static void	reap(struct run *);
static void	died(struct run *, struct worker *, int);
static void	respawn_later(struct run *, struct worker *, const char *);
static void	give_up(struct run *, const char *);
static void	begin_stop(struct run *);
static void	on_stop_signal(struct run *, int);
static void	hand_files(struct run *);
static void	heard(struct run *, struct worker *);
static int	order(int, enum order_kind, int, const int *, size_t);
static void	order_all(struct run *, enum order_kind, int);
static unsigned int alive(const struct run *);

/* The signals the supervisor takes (take_signals()). */
static const int taken[] = { SIGHUP, SIGINT, SIGTERM, SIGCHLD };

static int	 wake[2] = { -1, -1 };	/* from on_signal() */
static int	 on_terminal;		/* see workers_note_terminal() */

void
workers_note_terminal(void)
{
	on_terminal = isatty(STDIN_FILENO) || isatty(STDOUT_FILENO);
}

void
workers_block_signals(void)
{
	sigset_t	 set;
	size_t		 i;

	sigemptyset(&set);
	for (i = 0; i < sizeof taken / sizeof taken[0]; i++)
		sigaddset(&set, taken[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int
workers_run(const struct supervisor *s)
{
	struct run	 r;
	struct pollfd	*pfd;
	struct worker	*wk;
	unsigned char	 sigs[64];
	char		 why[64];
	double		 t, next, start_by;
	unsigned int	 i, nfd;
	ssize_t		 got;
	int		 timeout;

	memset(&r, 0, sizeof r);
	r.s = s;
	r.launcher = s->notify;
	r.starting = 1;
	r.w = calloc(s->n, sizeof *r.w);
	pfd = calloc(s->n + 1, sizeof *pfd);
	if (r.w == NULL || pfd == NULL || take_signals() == -1) {
		give_up(&r, "cannot run the workers");
		free(r.w);
		free(pfd);
		return 1;
	}
	for (i = 0; i < s->n; i++)
		r.w[i].ctl = -1;
	for (i = 0; i < s->n && !r.fatal; i++)
		if (spawn(&r, i) == -1)
			give_up(&r, "cannot start the workers");
	start_by = now() + WORKER_START_WAIT;

	while (alive(&r) > 0 || (r.stop_at == 0 && !r.fatal)) {
		t = now();
		next = r.starting ? start_by : 0;
		if (r.stop_at != 0 && (next == 0 || r.stop_at < next))
			next = r.stop_at;
		for (i = 0; r.stop_at == 0 && i < s->n; i++)
			if (r.w[i].pid == 0 && (next == 0 ||
			    r.w[i].respawn_at < next))
				next = r.w[i].respawn_at;
		timeout = next == 0 ? -1 : next <= t ? 0 :
		    (int)((next - t) * 1000) + 1;

		pfd[0].fd = wake[0];
		pfd[0].events = POLLIN;
		for (i = 0, nfd = 1; i < s->n; i++)
			if (r.w[i].ctl != -1) {
				pfd[nfd].fd = r.w[i].ctl;
				pfd[nfd++].events = POLLIN;
			}
		if (poll(pfd, nfd, timeout) == -1 && errno != EINTR) {
			snprintf(why, sizeof why, "poll: %s", strerror(errno));
			give_up(&r, why);
			continue;
		}

		while ((got = read(wake[0], sigs, sizeof sigs)) > 0)
			for (i = 0; i < (unsigned int)got; i++)
				if (sigs[i] == SIGCHLD)
					reap(&r);
				else if (sigs[i] == SIGHUP && !on_terminal)
					hand_files(&r);
				else
					on_stop_signal(&r, sigs[i]);
		for (i = 1; i < nfd; i++)
			if (pfd[i].revents != 0)
				for (wk = r.w; wk < r.w + s->n; wk++)
					if (wk->ctl == pfd[i].fd)
						heard(&r, wk);

		t = now();
		if (r.stop_at != 0 && t >= r.stop_at && !r.killed) {
			log_warn("workers did not stop in %d s; killing them",
			    r.quit ? WORKER_QUIT_WAIT : WORKER_STOP_WAIT);
			for (i = 0; i < s->n; i++)
				if (r.w[i].pid > 0)
					kill(r.w[i].pid, SIGKILL);
			r.killed = 1;
		}
		if (r.starting && t >= start_by)
			give_up(&r, "the workers did not start in time");
		for (i = 0; r.stop_at == 0 && i < s->n; i++)
			if (r.w[i].pid == 0 && t >= r.w[i].respawn_at &&
			    spawn(&r, i) == -1)
				respawn_later(&r, &r.w[i], "fork failed");
	}
	for (i = 0; i < s->n; i++)
		if (r.w[i].ctl != -1)
			close(r.w[i].ctl);
	free(r.w);
	free(pfd);
	if (r.launcher != -1)
		daemon_ready(r.launcher, "the workers stopped before they "
		    "served");
	return r.quit != 0 ? r.quit : r.fatal;
}

int
worker_ready(int ctl, const char *why)
{
	const char	*s = why != NULL ? why : "ok";

	return send(ctl, s, strlen(s), MSG_NOSIGNAL) == -1 ? -1 : 0;
}

int
worker_orphaned(int ctl)
{
	return send(ctl, WORKER_ORPHANED, strlen(WORKER_ORPHANED),
	    MSG_NOSIGNAL) == -1 ? -1 : 0;
}

int
worker_order(int ctl, struct order *o)
{
	union {
		struct cmsghdr	 h;
		char		 buf[CMSG_SPACE(sizeof(int) *
				    ORDER_FDS_MAX)];
	}		 cm;
	struct cmsghdr	*c;
	struct msghdr	 msg;
	struct iovec	 iov;
	int		 head[2];
	ssize_t		 n;
	size_t		 i;

	memset(&msg, 0, sizeof msg);
	iov.iov_base = head;
	iov.iov_len = sizeof head;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof cm.buf;
	if ((n = recvmsg(ctl, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) <= 0)
		return (int)n;
	o->nfds = 0;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			for (i = 0; i < (c->cmsg_len - CMSG_LEN(0)) /
			    sizeof(int) && o->nfds < ORDER_FDS_MAX; i++)
				memcpy(&o->fds[o->nfds++],
				    CMSG_DATA(c) + i * sizeof(int),
				    sizeof(int));
	if (n != sizeof head || (msg.msg_flags & MSG_CTRUNC)) {
		for (i = 0; i < o->nfds; i++)
			close(o->fds[i]);
		errno = EPROTO;
		return -1;
	}
	o->kind = head[0];
	o->sig = head[1];
	return 1;
}

const char *
workers_signal_name(int sig)
{
	switch (sig) {
	case SIGHUP:
		return "SIGHUP (the terminal hung up)";
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	default:
		return "a signal";
	}
}

/*
 * The handlers only pass the signals on through a pipe, which the loop
 * polls.  Signals no one has a use for are ignored: an admin's habit of
 * sending SIGUSR1 to daemons, or a terminal's ^\, must not stop inspect.
 * Returns 0, or -1.
 */
static int
take_signals(void)
{
	static const int	 ignored[] = { SIGUSR1, SIGUSR2, SIGALRM,
				    SIGQUIT, SIGPIPE };
	struct sigaction	 sa;
	sigset_t		 set;
	size_t			 i;

	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		if (sigaction(ignored[i], &sa, NULL) == -1)
			return -1;
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigemptyset(&set);
	for (i = 0; i < sizeof taken / sizeof taken[0]; i++) {
		if (sigaction(taken[i], &sa, NULL) == -1)
			return -1;
		sigaddset(&set, taken[i]);
	}
	return sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void
on_signal(int sig)
{
	unsigned char	 c = sig;
	ssize_t		 n;
	int		 saved = errno;

	/* If the pipe is full, signals are waiting to be read already. */
	n = write(wake[1], &c, 1);
	(void)n;
	errno = saved;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Start worker i.  The signals are blocked across fork(), so that none
 * reaches the new worker while it still has the supervisor's handlers.
 * Returns 0, or -1 (logged).
 */
static int
spawn(struct run *r, unsigned int i)
{
	struct worker	*w = &r->w[i];
	sigset_t	 all, old;
	pid_t		 parent = getpid();
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_err("cannot start a worker: socketpair: %s",
		    strerror(errno));
		return -1;
	}
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((w->pid = fork()) == 0)
		child(r, sv[1], sv[0], parent);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (w->pid == -1) {
		log_err("cannot start a worker: fork: %s", strerror(errno));
		close(sv[0]);
		w->pid = 0;
		return -1;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	w->ctl = sv[0];
	w->ready = 0;
	w->started = now();
	log_debug("worker %ld started", (long)w->pid);
	return 0;
}

/*
 * A new worker, with ctl its end of the socket to the supervisor and
 * other the supervisor's.
 *
 * libmilter's smfi_main() blocks SIGHUP, SIGINT and SIGTERM in the
 * thread that calls it and starts one that waits for them in sigwait()
 * and stops libmilter on any of them, HUP included.  Here they are
 * ignored, and the worker's main thread, which never calls smfi_main(),
 * keeps them unblocked: Linux then discards such a signal sent to the
 * process as it is sent, before any thread can wait for it.  So a
 * SIGHUP meant for logrotate's reopening, or a stray kill, does not stop
 * libmilter; the worker hears only its supervisor.
 */
static void
child(struct run *r, int ctl, int other, pid_t parent)
{
	static const int	 ignored[] = { SIGHUP, SIGINT, SIGTERM,
				    SIGUSR1, SIGUSR2, SIGALRM, SIGQUIT,
				    SIGPIPE, SIGTTOU };
	struct sigaction	 sa;
	sigset_t		 set;
	unsigned int		 j;

	/* Not to outlive the supervisor, even one killed with SIGKILL. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(1);
	for (j = 0; j < r->s->n; j++)
		if (r->w[j].ctl != -1)
			close(r->w[j].ctl);
	close(other);
	close(wake[0]);
	close(wake[1]);
	/* The launcher waits for its pipe to close: no worker holds it. */
	if (r->launcher != -1)
		close(r->launcher);
	r->s->forget();
	/*
	 * A terminal's ^C and hang-up go to its foreground process group:
	 * to the supervisor alone, which passes them on.  Not being in
	 * that group, a worker must not be stopped for writing to the
	 * terminal (stty tostop): SIGTTOU is ignored.
	 */
	setpgid(0, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	for (j = 0; j < sizeof ignored / sizeof ignored[0]; j++)
		sigaction(ignored[j], &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	_exit(r->s->serve(ctl));
}

/* Collect the workers that died. */
static void
reap(struct run *r)
{
	struct worker	*w;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (w = r->w; w < r->w + r->s->n && w->pid != pid; w++)
			;
		if (w < r->w + r->s->n)
			died(r, w, status);
	}
}

/* Worker w died with status: say so, and replace it unless stopping. */
static void
died(struct run *r, struct worker *w, int status)
{
	char	 how[64];
	pid_t	 pid = w->pid;

	w->pid = 0;
	/* What it said before it died counts: "ok" may be unread yet. */
	while (w->ctl != -1)
		heard(r, w);
	if (r->stop_at != 0)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL) {
		log_crit("worker %ld cannot serve; stopping", (long)pid);
		give_up(r, NULL);
		return;
	}
	if (WIFSIGNALED(status))
		snprintf(how, sizeof how, "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof how, "exited with status %d",
		    WEXITSTATUS(status));
	if (!w->ready && r->starting) {
		log_crit("worker %ld %s before it served", (long)pid, how);
		give_up(r, "a worker exited before it served (see the log)");
		return;
	}
	log_err("worker %ld %s", (long)pid, how);
	if (now() - w->started >= WORKER_MIN_LIFE) {
		r->fails = 0;
		w->respawn_at = 0;
		return;
	}
	respawn_later(r, w, how);
}

/*
 * A worker died young, or could not be started: try again after a delay
 * that doubles each time in a row, and after WORKER_MAX_FAILS give up,
 * so that a service manager sees the failure and restarts inspect.
 */
static void
respawn_later(struct run *r, struct worker *w, const char *how)
{
	char	 why[128];
	int	 delay;

	if (++r->fails > WORKER_MAX_FAILS) {
		snprintf(why, sizeof why, "workers failed %d times in a row "
		    "(the last %s); stopping", r->fails, how);
		give_up(r, why);
		return;
	}
	delay = 1 << (r->fails - 1);
	if (delay > WORKER_BACKOFF_MAX)
		delay = WORKER_BACKOFF_MAX;
	w->respawn_at = now() + delay;
	log_warn("starting a worker again in %d s", delay);
}

/*
 * The workers cannot serve: log why (unless why is NULL, logged
 * already), tell the launcher if it waits, and stop them all.
 */
static void
give_up(struct run *r, const char *why)
{
	if (why != NULL)
		log_crit("%s", why);
	if (r->launcher != -1) {
		daemon_ready(r->launcher, why != NULL ? why :
		    "a worker cannot serve (see the log)");
		r->launcher = -1;
	}
	r->starting = 0;
	r->fatal = 1;
	begin_stop(r);
}

static void
begin_stop(struct run *r)
{
	if (r->stop_at != 0)
		return;
	r->stop_at = now() + WORKER_STOP_WAIT;
	order_all(r, ORDER_STOP, 0);
}

/* SIGINT, SIGTERM, or a terminal's SIGHUP. */
static void
on_stop_signal(struct run *r, int sig)
{
	unsigned int	 n = alive(r);

	if (++r->stops == 1) {
		if (r->s->named)
			log_notice("stopping %u worker%s on %s", n, LOG_S(n),
			    workers_signal_name(sig));
		else
			log_notice("stopping on %s", workers_signal_name(sig));
		log_stopping();
		begin_stop(r);
	} else if (r->stops == 2) {
		if (r->s->named)
			log_warn("%s again: the workers exit at once",
			    workers_signal_name(sig));
		order_all(r, ORDER_QUIT, sig);
		r->stop_at = now() + WORKER_QUIT_WAIT;
		r->killed = 0;
		r->quit = 128 + sig;
	}
}

/* SIGHUP: open the files again, and have the workers take them. */
static void
hand_files(struct run *r)
{
	int		 fds[ORDER_FDS_MAX];
	size_t		 n;
	unsigned int	 i;

	n = r->s->reopen(fds, ORDER_FDS_MAX);
	for (i = 0; i < r->s->n; i++)
		if (r->w[i].pid > 0 && r->w[i].ctl != -1 &&
		    order(r->w[i].ctl, ORDER_FILES, 0, fds, n) == -1)
			log_err("cannot hand the files to worker %ld: %s",
			    (long)r->w[i].pid, strerror(errno));
}

/*
 * Worker w said something: "ok" once it serves, or else why it cannot,
 * or later that the report's reader went away (worker_orphaned()).
 * The end of its socket means it is exiting: reap() will tell.  Once it
 * is dead (no pid), nothing more to read ends its socket too.
 */
static void
heard(struct run *r, struct worker *w)
{
	char		 msg[512];
	unsigned int	 i;
	ssize_t		 n;

	n = recv(w->ctl, msg, sizeof msg - 1, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR) && w->pid != 0)
		return;
	if (n <= 0) {
		close(w->ctl);
		w->ctl = -1;
		return;
	}
	msg[n] = '\0';
	if (strcmp(msg, WORKER_ORPHANED) == 0) {
		/* Told once: the workers share the reader. */
		if (r->stop_at == 0) {
			log_notice("the report's reader went away (standard "
			    "output); stopping");
			log_stopping();
			begin_stop(r);
		}
		return;
	}
	if (strcmp(msg, "ok") != 0) {
		give_up(r, msg);
		return;
	}
	w->ready = 1;
	if (!r->starting)
		return;
	for (i = 0; i < r->s->n; i++)
		if (!r->w[i].ready)
			return;
	r->starting = 0;
	if (r->s->named)
		log_info("%u worker%s serving", r->s->n, LOG_S(r->s->n));
	daemon_ready(r->launcher, NULL);
	r->launcher = -1;
}

/*
 * Send an order, with fds for ORDER_FILES; never waits for a worker that
 * does not read.  Returns 0, or -1 with errno set.
 */
static int
order(int ctl, enum order_kind kind, int sig, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr	 h;
		char		 buf[CMSG_SPACE(sizeof(int) *
				    ORDER_FDS_MAX)];
	}		 cm;
	struct msghdr	 msg;
	struct iovec	 iov;
	int		 head[2] = { kind, sig };

	memset(&msg, 0, sizeof msg);
	memset(&cm, 0, sizeof cm);
	iov.iov_base = head;
	iov.iov_len = sizeof head;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * nfds);
	}
	return sendmsg(ctl, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1 ? -1 : 0;
}

static void
order_all(struct run *r, enum order_kind kind, int sig)
{
	unsigned int	 i;

	/* A worker being reaped (no pid) has its socket read, not written. */
	for (i = 0; i < r->s->n; i++)
		if (r->w[i].pid > 0 && r->w[i].ctl != -1 &&
		    order(r->w[i].ctl, kind, sig, NULL, 0) == -1) {
			log_err("cannot reach worker %ld: %s; killing it",
			    (long)r->w[i].pid, strerror(errno));
			kill(r->w[i].pid, SIGKILL);
		}
}

static unsigned int
alive(const struct run *r)
{
	unsigned int	 i, n = 0;

	for (i = 0; i < r->s->n; i++)
		if (r->w[i].pid > 0)
			n++;
	return n;
}
