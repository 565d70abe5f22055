/* serve.h -- a worker: libmilter's threads, its orders, the stop */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_SERVE_H
#define INSPECT_SERVE_H

#include <libmilter/mfapi.h>

#include <stddef.h>

/*
 * A worker's life (struct supervisor's serve): libmilter in a thread of
 * its own, the report's writer in another if report, and this thread
 * waiting for the supervisor's orders on ctl (workers.h).  ORDER_STOP
 * stops it: the callbacks under way finish, later ones are held
 * unanswered, and the report is written out, so every stage the MTA saw
 * answered is in it.  ORDER_QUIT ends it at once, what is not written
 * counted lost; so does the supervisor's end.  ORDER_FILES passes the
 * descriptors that came with it to adopt(), which puts them in place;
 * they are closed afterwards.  Tells the supervisor that it serves
 * (worker_ready()) once its threads run.  Returns the exit status: 0
 * after a stop, 1 if libmilter stopped by itself or the supervisor went
 * away, 128 + the signal's number after ORDER_QUIT, or
 * WORKER_EXIT_FATAL if serving could not start.  Call in the worker's
 * main thread, with SIGHUP, SIGINT and SIGTERM ignored and unblocked.
 */
int	serve_run(int ctl, int report, void (*adopt)(const int *fds,
	    size_t nfds));

/*
 * The gate every callback goes through: it runs between
 * serve_gate_enter() and serve_gate_leave(), which returns rc, the
 * callback's answer.  Once a stop has begun, a callback that comes is
 * held in serve_gate_enter(), its stage unreported and unanswered,
 * until the worker exits and its session with it.
 */
void	serve_gate_enter(void);
sfsistat serve_gate_leave(sfsistat rc);

#endif
