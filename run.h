/* run.h -- this run of inspect: its id, taken once at start-up */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_RUN_H
#define INSPECT_RUN_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

/* The room an id takes, its NUL included, whatever the time and pid. */
#define RUN_ID_MAX	64

/*
 * Write the id of a run that started at t in process pid,
 * "YYYYMMDDTHHMMSSZ-pPID" (t in UTC), NUL-terminated, into s
 * (RUN_ID_MAX bytes).  Returns its length.
 */
size_t	run_format(char *s, time_t t, pid_t pid);

/*
 * Take this run's id, from the clock and the pid: once, in the
 * supervisor, after it detached (the id holds its pid) and before any
 * worker is forked, so that every process reports the same id.  Two
 * runs differ in their start or their pid, so that (run, session) tells
 * sessions apart across restarts that append to one report.
 */
void	run_begin(void);

/* This run's id, as run_begin() took it; "" before. */
const char *run_id(void);

/* When this run began, as run_begin() took it; 0 before. */
const struct timespec *run_started(void);

#endif
