/* serve.c -- a worker: libmilter's threads, its orders, the stop */
/* SPDX-License-Identifier: ISC */

/*
 * A worker's main thread only waits: for its supervisor's orders, which
 * come over a socket (workers.c), and for its own threads' news, which
 * come through a pipe.  libmilter runs in a thread of its own, the
 * report's writer in another.  No signal is used for either: the
 * signals that reach a worker are ignored (see child() in workers.c),
 * so none from outside can stop libmilter or wedge the stop.  The main
 * thread must never block SIGHUP, SIGINT or SIGTERM: that is what keeps
 * them from libmilter's own signal thread.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "forward.h"
#include "log.h"
#include "output.h"
#include "probe.h"
#include "serve.h"
#include "workers.h"

/* Stopping gives up on an output that takes nothing for this long. */
#define OUTPUT_STALL	5
/*
 * libmilter sends a callback's answer once the callback has returned:
 * a stop gives it this long after the last one left before the worker
 * exits with the connection.
 */
#define ANSWER_GRACE_NS	(50 * 1000000LL)
/* What the threads send down the pipe. */
#define MILTER_ENDED	'm'
#define DRAINED		'd'
#define ORPHANED	'o'

static int	start_thread(void *(*)(void *));
static void	*stop_thread(void *);
static void	*milter_thread(void *);
static void	*drain_thread(void *);
static void	tell(unsigned char);
static void	orphaned(void);
static int	abandon(int);
static void	serve_gate_close(void);
static long long monotonic_ns(void);

static int		 wake[2] = { -1, -1 };	/* from the threads */
static atomic_int	 milter_failed;	/* set before MILTER_ENDED */

/* The callbacks running now, and whether more may start. */
static atomic_uint	 inside;
static atomic_int	 closed;
static atomic_llong	 last_left;	/* monotonic_ns() */

int
serve_run(int ctl, int report, void (*adopt)(const int *, size_t))
{
	struct pollfd	 pfd[2];
	struct order	 o;
	unsigned char	 c;
	char		 err[256];
	size_t		 i;
	int		 error, rc, stopping = 0, status = 0;

	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1)
		error = errno;
	else if ((error = report ? output_start(orphaned) : 0) == 0)
		error = start_thread(milter_thread);
	if (error != 0) {
		snprintf(err, sizeof err, "cannot start serving: %s",
		    strerror(error));
		log_crit("%s", err);
		worker_ready(ctl, err);
		return WORKER_EXIT_FATAL;
	}
	if (worker_ready(ctl, NULL) == -1)
		return abandon(0);
	pfd[0].fd = wake[0];
	pfd[1].fd = ctl;
	pfd[0].events = pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			return abandon(0);
		while (read(wake[0], &c, 1) == 1) {
			if (c == DRAINED)
				return status;
			/* The supervisor stops every worker. */
			if (c == ORPHANED) {
				worker_orphaned(ctl);
				continue;
			}
			/* libmilter stopped, and no one asked. */
			if (stopping)
				continue;
			if (atomic_load(&milter_failed))
				log_crit("libmilter stopped with an error "
				    "(see its lines above or in syslog)");
			else
				log_err("libmilter stopped by itself");
			status = 1;
			stopping = 1;
			if (start_thread(drain_thread) != 0)
				drain_thread(NULL);
		}
		while ((rc = worker_order(ctl, &o)) == 1) {
			switch (o.kind) {
			case ORDER_STOP:
				if (stopping)
					break;
				stopping = 1;
				log_stopping();
				/*
				 * smfi_stop() waits for libmilter's listener
				 * to end its poll, up to five seconds: not
				 * here.
				 */
				if (start_thread(stop_thread) != 0)
					smfi_stop();
				if (start_thread(drain_thread) != 0)
					drain_thread(NULL);
				break;
			case ORDER_QUIT:
				return abandon(o.sig);
			case ORDER_FILES:
				adopt(o.fds, o.nfds);
				break;
			}
			for (i = 0; i < o.nfds; i++)
				close(o.fds[i]);
		}
		/* The supervisor is gone: so is the report's reader. */
		if (rc == 0)
			return abandon(0);
	}
}

/*
 * Sessions still open go on in libmilter's threads after it stops
 * listening: let the callbacks that have begun finish, hold the others,
 * and only then write the report out.  So every stage the MTA saw
 * answered is in the report.  A --delay under way ends now, and so does
 * a wait for the milter behind (--forward).
 */
static void *
drain_thread(void *arg)
{
	(void)arg;
	/*
	 * The gate first: a command that waits behind a --delay must find
	 * it closed once the delay ends.
	 */
	atomic_store(&closed, 1);
	probe_stop();
	forward_stop();
	serve_gate_close();
	output_stop(OUTPUT_STALL);
	tell(DRAINED);
	return NULL;
}

/*
 * A second signal during the stop: give up on it, as an interactive
 * program does on a second Ctrl-C.  What the outputs have not taken yet
 * is lost, and the supervisor logs the count with the others lost.
 * Returns the exit status: 128 + sig, as a shell shows a program a
 * signal ended; 1 when the supervisor went away (sig 0).
 */
static int
abandon(int sig)
{
	size_t		 queued = output_abandon();
	unsigned int	 busy = atomic_load(&inside);

	if (sig == 0) {
		log_err("the supervisor is gone: exiting at once; %zu event%s "
		    "not written", queued, LOG_S(queued));
		return 1;
	}
	log_warn("%s again: exiting at once; %zu event%s not written, %u "
	    "stage%s under way left unanswered", workers_signal_name(sig),
	    queued, LOG_S(queued), busy, LOG_S(busy));
	return 128 + sig;
}

/* Pass news on to serve_run(); it must not be lost to a full pipe. */
static void
tell(unsigned char c)
{
	const struct timespec	 tick = { 0, 1000000 };

	while (write(wake[1], &c, 1) != 1)
		nanosleep(&tick, NULL);
}

/* The report's last reader went away (output_start()). */
static void
orphaned(void)
{
	tell(ORPHANED);
}

/* A detached thread.  Returns 0, or an error number. */
static int
start_thread(void *(*fn)(void *))
{
	pthread_t	 t;
	int		 rc;

	if ((rc = pthread_create(&t, NULL, fn, NULL)) == 0)
		pthread_detach(t);
	return rc;
}

/* Tell libmilter to stop, however long that takes. */
static void *
stop_thread(void *arg)
{
	(void)arg;
	smfi_stop();
	return NULL;
}

/*
 * libmilter's loop.  Its return is waited for only when no one asked
 * for it: at a stop, its listener may be in a poll of up to five
 * seconds, and the worker exits first.
 */
static void *
milter_thread(void *arg)
{
	(void)arg;
	atomic_store(&milter_failed, smfi_main() != MI_SUCCESS);
	tell(MILTER_ENDED);
	return NULL;
}

void
serve_gate_enter(void)
{
	static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
	static pthread_cond_t	 never = PTHREAD_COND_INITIALIZER;

	/*
	 * Sequentially consistent: either serve_gate_close() sees this
	 * callback inside, or the callback sees the gate closed.
	 */
	atomic_fetch_add(&inside, 1);
	if (!atomic_load(&closed))
		return;
	atomic_fetch_sub(&inside, 1);
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
}

sfsistat
serve_gate_leave(sfsistat rc)
{
	/* Before it is outside: serve_gate_close() reads it then. */
	atomic_store(&last_left, monotonic_ns());
	atomic_fetch_sub(&inside, 1);
	return rc;
}

/*
 * Close the gate and wait for the callbacks inside, which take a
 * millisecond or so (at most WAIT_MS in output_event()).  Their answers
 * are libmilter's to send once they return, in microseconds, unless its
 * thread waits for a core: a worker that exited at once could take the
 * last answer with it, and the report would show a stage the MTA never
 * saw answered.  So the last to leave gets ANSWER_GRACE_NS.
 */
static void
serve_gate_close(void)
{
	const struct timespec	 tick = { 0, 1000000 };

	atomic_store(&closed, 1);
	while (atomic_load(&inside) > 0)
		nanosleep(&tick, NULL);
	while (monotonic_ns() - atomic_load(&last_left) < ANSWER_GRACE_NS)
		nanosleep(&tick, NULL);
}

static long long
monotonic_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

