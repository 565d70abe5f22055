/* workers.h -- worker processes on one socket, and their supervisor */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_WORKERS_H
#define INSPECT_WORKERS_H

/* A worker that exits with this status can never serve: stop them all. */
#define WORKER_EXIT_FATAL	78

/*
 * Run n worker processes, each calling serve() and exiting with what it
 * returns, in a process group of their own, and supervise them: a worker
 * that dies is replaced, SIGTERM and SIGINT stop them all (a second
 * one, passed on, makes them exit at once), and SIGHUP stops them as
 * well if daemon_hangup_stops(), or else is passed on after reopen()
 * ran here.  Once every worker has called worker_ready(), the launcher
 * waiting on notify (see daemon_detach()) is told; if one cannot start,
 * it is told why and all stop.  Returns the supervisor's exit status
 * once all have stopped: 0, 1 if a worker could not serve, or 128 + the
 * second signal's number after a stop cut short.  Call with SIGHUP,
 * SIGINT, SIGTERM and SIGCHLD blocked.
 */
int	workers_run(unsigned int n, int (*serve)(void), void (*reopen)(void),
	    int notify);

/*
 * In a worker: tell the supervisor that it serves (why NULL) or why it
 * cannot.  Does nothing outside a worker, or the second time.
 */
void	worker_ready(const char *why);

#endif
