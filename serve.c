/* serve.c -- libmilter's thread, the signals, a stop that loses nothing */
/* SPDX-License-Identifier: ISC */

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

#include "daemon.h"
#include "log.h"
#include "output.h"
#include "probe.h"
#include "serve.h"
#include "workers.h"

/* Stopping gives up on an output that takes nothing for this long. */
#define OUTPUT_STALL	5
/* What drain_thread() sends down the signals' pipe: no signal's number. */
#define DRAINED		0

static int	take_signals(void);
static void	on_signal(int);
static int	next_signal(void);
static int	start_thread(pthread_t *, void *(*)(void *));
static void	*stop_thread(void *);
static void	*milter_thread(void *);
static void	*drain_thread(void *);
static int	abandon(int);
static void	serve_close(void);

static pthread_t	 main_thread;	/* serve_run()'s, which takes signals */
static int		 wake[2] = { -1, -1 };	/* from on_signal() */
static int		 milter_failed;	/* set before SIGUSR1 is sent */

/* The callbacks running now, and whether more may start. */
static atomic_uint	 inside;
static atomic_int	 closed;

int
serve_run(int report, void (*reopen)(void))
{
	pthread_t	 thread, helper;
	char		 err[256];
	int		 sig, stops = 0, draining = 0, error;

	main_thread = pthread_self();
	/*
	 * Both return an error number rather than set errno.  The writer
	 * and libmilter's threads start with the signals blocked, and only
	 * then does this thread take them (take_signals()).
	 */
	if ((error = report ? output_start() : 0) != 0 ||
	    (error = take_signals()) != 0 ||
	    (error = start_thread(&thread, milter_thread)) != 0) {
		snprintf(err, sizeof err, "cannot start serving: %s",
		    strerror(error));
		log_crit("%s", err);
		worker_ready(err);
		return WORKER_EXIT_FATAL;
	}
	worker_ready(NULL);
	/*
	 * The stop is done by threads of their own, so that this one still
	 * hears the signals while it lasts: a second one ends it at once.
	 */
	while ((sig = next_signal()) != DRAINED) {
		if (sig == SIGHUP && !daemon_hangup_stops()) {
			reopen();
			continue;
		}
		/* SIGUSR1: libmilter stopped by itself; no one asked. */
		if (sig != SIGUSR1) {
			if (++stops > 1)
				return abandon(sig);
			log_notice("stopping on %s", daemon_signal_name(sig));
			log_stopping();
			/*
			 * smfi_stop() waits for libmilter's listener to end
			 * its poll, up to five seconds: not here.
			 */
			if (start_thread(&helper, stop_thread) == 0)
				pthread_detach(helper);
			else
				smfi_stop();
		}
		if (!draining) {
			draining = 1;
			if (start_thread(&helper, drain_thread) == 0)
				pthread_detach(helper);
			else
				drain_thread(NULL);
		}
	}
	/*
	 * libmilter's return is not worth waiting for: its listener may be
	 * in a poll of up to five seconds.  Stopped before libmilter got to
	 * serve, it fails to listen again: still a stop that was asked for.
	 */
	if (stops > 0)
		return 0;
	pthread_join(thread, NULL);
	if (milter_failed) {
		log_crit("libmilter stopped with an error (see its lines "
		    "above or in syslog)");
		return 1;
	}
	return 0;
}

/*
 * Sessions still open go on in libmilter's threads after it stops
 * listening: let the callbacks that have begun finish, hold the others,
 * and only then write the report out.  So every stage the MTA saw
 * answered is in the report.  A --delay under way ends now.  Then tell
 * serve_run(), through the pipe the signals come by.
 */
static void *
drain_thread(void *arg)
{
	const struct timespec	 tick = { 0, 1000000 };
	unsigned char		 c = DRAINED;

	(void)arg;
	probe_stop();
	serve_close();
	output_stop(OUTPUT_STALL);
	/* Unlike a signal, this must not be lost to a full pipe. */
	while (write(wake[1], &c, 1) != 1)
		nanosleep(&tick, NULL);
	return NULL;
}

/*
 * A second signal during the stop: give up on it, as an interactive
 * program does on a second Ctrl-C.  What the outputs have not taken yet
 * is lost, and main() logs the count with the others lost.  Returns the
 * exit status: 128 + sig, as a shell shows a program a signal ended.
 */
static int
abandon(int sig)
{
	size_t		 queued = output_abandon();
	unsigned int	 busy = atomic_load(&inside);

	log_warn("%s again: exiting at once; %zu event%s not written, %u "
	    "stage%s under way left unanswered", daemon_signal_name(sig),
	    queued, LOG_S(queued), busy, LOG_S(busy));
	return 128 + sig;
}

/*
 * The signals come to this thread, never to libmilter's (see
 * sigwait() below).  This thread, always the main one of its process,
 * keeps them unblocked at all times, and their handler passes them on
 * through a pipe; every other thread starts with them blocked
 * (start_thread()).  Returns 0, or an error number.
 */
static int
take_signals(void)
{
	struct sigaction	 sa;
	sigset_t		 set;
	int			 sig;

	if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) == -1)
		return errno;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	daemon_sigset(&set);
	sigaddset(&set, SIGUSR1);
	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1 &&
		    sigaction(sig, &sa, NULL) == -1)
			return errno;
	return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Pass the signal on to next_signal(), if the pipe has room. */
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

/* Wait for the next signal take_signals() took; returns it. */
static int
next_signal(void)
{
	struct pollfd	 pfd = { -1, POLLIN, 0 };
	unsigned char	 c;

	pfd.fd = wake[0];
	for (;;) {
		if (read(wake[0], &c, 1) == 1)
			return c;
		poll(&pfd, 1, -1);
	}
}

/* A thread with the signals blocked.  Returns 0, or an error number. */
static int
start_thread(pthread_t *t, void *(*fn)(void *))
{
	pthread_attr_t	 attr;
	sigset_t	 set;
	int		 rc;

	daemon_sigset(&set);
	sigaddset(&set, SIGUSR1);
	if ((rc = pthread_attr_init(&attr)) != 0)
		return rc;
	if ((rc = pthread_attr_setsigmask_np(&attr, &set)) == 0)
		rc = pthread_create(t, &attr, fn, NULL);
	pthread_attr_destroy(&attr);
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

/* libmilter's loop; milter_failed says how it ended. */
static void *
milter_thread(void *arg)
{
	(void)arg;
	milter_failed = smfi_main() != MI_SUCCESS;
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

/*
 * libmilter starts a thread of its own that waits for SIGHUP, SIGINT
 * and SIGTERM in sigwait() and stops libmilter on any of them, HUP
 * included.  A signal sent to the process waits for the first thread
 * that takes it: mostly this module's, but not always (when it comes as
 * libmilter starts, or with a terminal's hang-up), and a SIGHUP taken
 * there stops inspect unseen instead of reopening its files.  No one
 * else in inspect calls sigwait(): this one, which libmilter gets
 * instead of the C library's, waits for ever, and the signals are
 * inspect's alone.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t	 none;

	(void)set;
	(void)sig;
	sigfillset(&none);
	for (;;)
		sigsuspend(&none);
}

void
serve_enter(void)
{
	static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
	static pthread_cond_t	 never = PTHREAD_COND_INITIALIZER;

	/*
	 * Sequentially consistent: either serve_close() sees this callback
	 * inside, or the callback sees the gate closed.
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
serve_leave(sfsistat rc)
{
	atomic_fetch_sub(&inside, 1);
	return rc;
}

/*
 * Close the gate and wait for the callbacks inside, which take a
 * millisecond or so (at most WAIT_MS in output_event()).
 */
static void
serve_close(void)
{
	const struct timespec	 tick = { 0, 1000000 };

	atomic_store(&closed, 1);
	while (atomic_load(&inside) > 0)
		nanosleep(&tick, NULL);
}

