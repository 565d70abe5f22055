/* run.c -- this run of inspect: its id, taken once at start-up */
/* SPDX-License-Identifier: ISC */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

/* Taken in the supervisor before the workers are forked: theirs too. */
static char		 id[RUN_ID_MAX];
static struct timespec	 started;

size_t
run_format(char *s, time_t t, pid_t pid)
{
	struct tm	 tm;
	int		 n;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	n = snprintf(s, RUN_ID_MAX, "%04d%02d%02dT%02d%02d%02dZ-p%ld",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)pid);
	/* gmtime_r() fails rather than overflow the year: it always fits. */
	return n < 0 ? 0 : n >= RUN_ID_MAX ? RUN_ID_MAX - 1 : (size_t)n;
}

void
run_begin(void)
{
	clock_gettime(CLOCK_REALTIME, &started);
	run_format(id, started.tv_sec, getpid());
}

const char *
run_id(void)
{
	return id;
}

const struct timespec *
run_started(void)
{
	return &started;
}
