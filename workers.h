/* workers.h -- the supervisor: worker processes, the signals, the files */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_WORKERS_H
#define INSPECT_WORKERS_H

#include <stddef.h>

/* A worker that exits with this status can never serve: stop them all. */
#define WORKER_EXIT_FATAL	78

/* At most this many descriptors go with one ORDER_FILES. */
#define ORDER_FDS_MAX		16

/* What the supervisor tells a worker, over the worker's own socket. */
enum order_kind {
	ORDER_STOP = 'S',	/* stop: finish what has begun, then exit */
	ORDER_QUIT = 'Q',	/* a second signal: exit at once */
	ORDER_FILES = 'F'	/* the log and report files, reopened */
};

struct order {
	enum order_kind	 kind;
	int		 sig;	/* STOP, QUIT: the signal that asked */
	size_t		 nfds;	/* FILES: the descriptors, the worker's */
	int		 fds[ORDER_FDS_MAX];
};

/* What the supervisor runs, and how. */
struct supervisor {
	unsigned int	 n;	/* worker processes */
	int		 named;	/* logged as "N workers", not as one */
	int		 notify;	/* the launcher's (daemon_detach()) */
	/*
	 * A worker's life: serve through ctl, the worker's end of its
	 * socket to the supervisor, and return the exit status.
	 */
	int		(*serve)(int ctl);
	/*
	 * In the supervisor, at SIGHUP: open the files again and put in
	 * fds, at most max of them, the descriptors the workers are to
	 * take in their place.  Returns how many.
	 */
	size_t		(*reopen)(int *fds, size_t max);
	/* In a new worker: close what the supervisor alone holds. */
	void		(*forget)(void);
};

/*
 * Note whether standard input or output is a terminal, where SIGHUP is
 * the terminal's hang-up (and so a stop) rather than "reopen the files".
 * Call it once before workers_run(), and before standard output may be
 * pointed elsewhere (-v).
 */
void	workers_note_terminal(void);

/*
 * Block the signals the supervisor takes, until workers_run() takes
 * them: SIGHUP, SIGINT, SIGTERM and SIGCHLD.  Call it before start-up
 * leaves anything behind that a stop must clean up.
 */
void	workers_block_signals(void);

/*
 * Run s->n worker processes and supervise them until a signal stops
 * them.  Each worker runs s->serve() in a process group of its own,
 * dies with the supervisor, and holds no descriptor of the supervisor's
 * but its own socket to it; signals sent to it from outside are
 * ignored.  SIGTERM and SIGINT stop them all (ORDER_STOP); a second one
 * makes them exit at once (ORDER_QUIT).  SIGHUP stops them too on a
 * terminal, else calls s->reopen() and hands the files on
 * (ORDER_FILES).  SIGUSR1, SIGUSR2, SIGALRM, SIGQUIT and SIGPIPE are
 * ignored.  A worker that dies is replaced, after a growing delay if it
 * died young; when workers cannot be kept alive, all stop.  Once every
 * worker has called worker_ready(), the launcher waiting on s->notify
 * is told; if one cannot start, it is told why and all stop.  Returns
 * the supervisor's exit status once all have stopped: 0 after a stop
 * that was asked for or when the report's reader went away, 1 if the workers could not serve, or 128 + the
 * second signal's number after a stop cut short.  Call with the signals
 * blocked (workers_block_signals()).
 */
int	workers_run(const struct supervisor *s);

/*
 * In a worker: tell the supervisor through ctl that it serves (why
 * NULL) or why it cannot.  Returns 0, or -1.
 */
int	worker_ready(int ctl, const char *why);

/*
 * In a worker: read the next order from ctl into o; descriptors that
 * came with it are the worker's to close.  Returns 1, 0 when the
 * supervisor is gone, or -1 with errno set (EAGAIN: none yet).
 */
int	worker_order(int ctl, struct order *o);

/*
 * In a worker: tell the supervisor that the report's reader went away,
 * so that it stops every worker, as at SIGTERM, and exits 0.  Returns
 * 0, or -1 with errno set.
 */
int	worker_orphaned(int ctl);

/* A stopping signal's name for the log: SIGHUP is a terminal's hang-up. */
const char *workers_signal_name(int sig);

#endif
