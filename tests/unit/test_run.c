/* test_run.c -- run.c: this run's id, as the report writes it */
/* SPDX-License-Identifier: ISC */

/*
 * clock_gettime() is wrapped (-Wl,--wrap), so that a test can set the
 * wall clock run_begin() reads.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../run.h"

int	__real_clock_gettime(clockid_t, struct timespec *);
int	__wrap_clock_gettime(clockid_t, struct timespec *);

/* CLOCK_REALTIME as run.c reads it, if set; else the real one. */
static struct timespec	 realtime;
static int		 realtime_set;

int
__wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	if (id == CLOCK_REALTIME && realtime_set) {
		*ts = realtime;
		return 0;
	}
	return __real_clock_gettime(id, ts);
}

/* Format t and pid, and check it against want, length too. */
static void
formats(time_t t, pid_t pid, const char *want)
{
	char	 s[RUN_ID_MAX];

	memset(s, 'x', sizeof s);
	assert_int_equal(run_format(s, t, pid), strlen(want));
	assert_string_equal(s, want);
}

/*
 * YYYYMMDDTHHMMSSZ-pPID, in UTC, whatever the time zone: digits padded,
 * so that the ids of one pid sort by their start.
 */
static void
test_run_format(void **state)
{
	(void)state;
	setenv("TZ", "Pacific/Chatham", 1);	/* +12:45, or +13:45 */
	tzset();
	formats(1796624336, 4242, "20261207T061856Z-p4242");
	formats(0, 1, "19700101T000000Z-p1");
	formats(946684799, 4194304, "19991231T235959Z-p4194304");
	/* The last second of a year, and of a leap year. */
	formats(1798761599, 7, "20261231T235959Z-p7");
	formats(1735689599, 70, "20241231T235959Z-p70");
	/* Past 9999 the year grows, and the id is never cut. */
	formats(253402300800LL, 2147483647,
	    "100000101T000000Z-p2147483647");
	unsetenv("TZ");
	tzset();
}

/*
 * Two runs differ by their start or their pid: a restart in the same
 * second is another process.
 */
static void
test_run_format_differs(void **state)
{
	char	 a[RUN_ID_MAX], b[RUN_ID_MAX], c[RUN_ID_MAX];

	(void)state;
	run_format(a, 1796624336, 4242);
	run_format(b, 1796624336, 4243);
	run_format(c, 1796624337, 4242);
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(b, c);
}

/*
 * run_begin() takes the wall clock and this process's pid, once: the id
 * and the start time agree, and stay as they were taken; a process
 * forked after it (a worker) has the same.
 */
static void
test_run_begin(void **state)
{
	char		 want[RUN_ID_MAX];
	pid_t		 pid;
	int		 status;

	(void)state;
	assert_string_equal(run_id(), "");
	realtime.tv_sec = 1796624336;
	realtime.tv_nsec = 123456789;
	realtime_set = 1;
	run_begin();
	snprintf(want, sizeof want, "20261207T061856Z-p%ld", (long)getpid());
	assert_string_equal(run_id(), want);
	assert_int_equal(run_started()->tv_sec, 1796624336);
	assert_int_equal(run_started()->tv_nsec, 123456789);
	realtime.tv_sec += 3600;
	assert_string_equal(run_id(), want);
	assert_int_equal(run_started()->tv_sec, 1796624336);

	if ((pid = fork()) == 0)
		_exit(strcmp(run_id(), want) != 0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	realtime_set = 0;
}

/* The real clock: an id of the form the report documents. */
static void
test_run_begin_real_clock(void **state)
{
	regex_t		 re;

	(void)state;
	realtime_set = 0;
	run_begin();
	assert_int_equal(regcomp(&re, "^[0-9]{8}T[0-9]{6}Z-p[1-9][0-9]*$",
	    REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, run_id(), 0, NULL, 0), 0);
	regfree(&re);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: it sees the id before run_begin(). */
		cmocka_unit_test(test_run_begin),
		cmocka_unit_test(test_run_format),
		cmocka_unit_test(test_run_format_differs),
		cmocka_unit_test(test_run_begin_real_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
