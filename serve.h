/* serve.h -- libmilter's thread, the signals, a stop that loses nothing */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_SERVE_H
#define INSPECT_SERVE_H

#include <libmilter/mfapi.h>

/*
 * Serve until a signal says stop: libmilter runs in a thread of its
 * own, the report's writer in another if report, and this thread takes
 * the signals: SIGTERM and SIGINT stop, and so does SIGHUP when
 * daemon_hangup_stops() says it is a terminal's hang-up; otherwise
 * SIGHUP calls reopen.  At a stop the callbacks under way finish, later
 * ones are held unanswered, and the report is written out: every stage
 * the MTA saw answered is in it.  A second stopping signal meanwhile
 * ends the stop at once, what is not written counted lost.  Tells a
 * supervisor, if any, that it serves (worker_ready()).  Returns 0, 1 if
 * libmilter stopped with an error, 128 + the second signal's number
 * after a stop cut short, or WORKER_EXIT_FATAL if serving could not
 * start.  Call with the signals blocked.
 */
int	serve_run(int report, void (*reopen)(void));

/*
 * Every callback runs between serve_enter() and serve_leave(), which
 * returns rc, the callback's answer.  Once a stop has begun, a callback
 * that comes is held in serve_enter(), its stage unreported and
 * unanswered, until inspect exits and its session with it.
 */
void	serve_enter(void);
sfsistat serve_leave(sfsistat rc);

#endif
