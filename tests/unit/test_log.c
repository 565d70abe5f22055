/* test_log.c -- log.c on real files: levels, lines, rotation, safety */
/* SPDX-License-Identifier: ISC */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../log.h"

static char	*slurp(const char *);
static void	 path_of(char *, const char *);

static char	 dir[] = "/tmp/inspect-test-log.XXXXXX";

/* The whole file at path, NUL-terminated; "" if there is none. */
static char *
slurp(const char *path)
{
	static char	 buf[65536];
	FILE		*fp;
	size_t		 n = 0;

	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof buf - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

static void
path_of(char *path, const char *name)
{
	snprintf(path, PATH_MAX, "%s/%s", dir, name);
}

/* The levels asked for, and only they; each line stamped and whole. */
static void
test_log_levels_and_lines(void **state)
{
	char		 path[PATH_MAX];
	const char	*text;
	regex_t		 re;

	(void)state;
	path_of(path, "levels.log");
	assert_int_equal(log_init(LEVEL_ERROR | LEVEL_INFO, path, 0,
	    LOG_MAIL), 0);
	log_err("first %d", 1);
	log_warn("not asked for");
	log_info("second");
	log_debug("nor this");
	text = slurp(path);
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}"
	    "\\.[0-9]{6}Z inspect\\[[0-9]+\\]: error: first 1\n"
	    "[0-9TZ:.-]+ inspect\\[[0-9]+\\]: info: second\n$", REG_EXTENDED),
	    0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		fail_msg("log is \"%s\"", text);
	regfree(&re);
}

/* A line too long for one write is cut, and still ends the line. */
static void
test_log_long_line_cut(void **state)
{
	char		 path[PATH_MAX], *big;
	const char	*text;

	(void)state;
	path_of(path, "long.log");
	assert_int_equal(log_init(LEVEL_ALL, path, 0, LOG_MAIL), 0);
	assert_non_null(big = malloc(5000));
	memset(big, 'x', 4999);
	big[4999] = '\0';
	log_err("%s", big);
	log_err("next");
	free(big);
	text = slurp(path);
	assert_true(strlen(text) < 2200);
	assert_non_null(strstr(text, "xxx\n"));
	assert_non_null(strstr(text, ": error: next\n"));
}

/* Logging never changes errno: callers log, then report errno. */
static void
test_log_keeps_errno(void **state)
{
	char	 path[PATH_MAX];

	(void)state;
	path_of(path, "errno.log");
	assert_int_equal(log_init(LEVEL_ALL, path, 0, LOG_MAIL), 0);
	errno = EACCES;
	log_err("something");
	assert_int_equal(errno, EACCES);
}

/* logrotate moves the file away; after log_reopen() lines go anew. */
static void
test_log_reopen_after_rotation(void **state)
{
	char	 path[PATH_MAX], old[PATH_MAX];

	(void)state;
	path_of(path, "rotate.log");
	path_of(old, "rotate.log.1");
	assert_int_equal(log_init(LEVEL_ALL, path, 0, LOG_MAIL), 0);
	log_err("before");
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(log_reopen(), 0);
	log_err("after");
	assert_non_null(strstr(slurp(old), "before"));
	assert_null(strstr(slurp(old), "after"));
	assert_non_null(strstr(slurp(path), "after"));
	assert_null(strstr(slurp(path), "before"));
}

/*
 * The log and the report hold mail: created 0640, never through a
 * symbolic link (whose target stays untouched).
 */
static void
test_log_open_file_mode_and_links(void **state)
{
	char		 path[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	struct stat	 st;
	mode_t		 mask;
	int		 fd;

	(void)state;
	path_of(path, "mode.log");
	mask = umask(022);
	fd = log_open_file(path, 0);
	umask(mask);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	path_of(target, "target");
	path_of(link, "link.log");
	assert_int_equal(symlink(target, link), 0);
	errno = 0;
	assert_int_equal(log_open_file(link, 0), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(lstat(target, &st), -1);
	assert_int_equal(log_init(LEVEL_ALL, link, 0, LOG_MAIL), -1);
}

/*
 * What may be planted where a file is reopened, in a directory that
 * belongs to the user inspect serves as: a FIFO no one reads is refused
 * at once rather than waited for, a file with another hard link is
 * refused, and where a regular file was, nothing else is taken.
 */
static void
test_log_open_file_planted(void **state)
{
	char		 fifo[PATH_MAX], path[PATH_MAX], other[PATH_MAX];
	int		 fd, reader;

	(void)state;
	path_of(fifo, "planted.fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	errno = 0;
	assert_int_equal(log_open_file(fifo, LOG_OPEN_NOWAIT), -1);
	assert_int_equal(errno, ENXIO);
	assert_string_equal(log_open_reason(errno),
	    "is a FIFO that no one reads");

	/* Read, it opens; but not where a regular file is wanted. */
	reader = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(reader >= 0);
	fd = log_open_file(fifo, LOG_OPEN_NOWAIT);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	errno = 0;
	assert_int_equal(log_open_file(fifo, LOG_OPEN_NOWAIT | LOG_OPEN_REGULAR), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_string_equal(log_open_reason(errno),
	    "is no longer a regular file");
	close(reader);

	path_of(path, "linked.log");
	path_of(other, "linked.other");
	fd = log_open_file(path, LOG_OPEN_NOWAIT | LOG_OPEN_REGULAR);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(link(path, other), 0);
	errno = 0;
	assert_int_equal(log_open_file(path, LOG_OPEN_NOWAIT | LOG_OPEN_REGULAR), -1);
	assert_int_equal(errno, EMLINK);
	assert_string_equal(log_open_reason(errno), "has another hard link");
	assert_int_equal(unlink(other), 0);
	fd = log_open_file(path, LOG_OPEN_NOWAIT | LOG_OPEN_REGULAR);
	assert_true(fd >= 0);
	close(fd);
}

/* Level lists as milter-test-client writes them. */
static void
test_log_parse_levels(void **state)
{
	unsigned int	 mask;
	size_t		 bad;
	int		 facility;

	(void)state;
	assert_int_equal(log_parse_levels("error|warning", &mask, &bad), 0);
	assert_int_equal(mask, LEVEL_ERROR | LEVEL_WARNING);
	assert_int_equal(log_parse_levels("all", &mask, &bad), 0);
	assert_int_equal(mask, LEVEL_ALL);
	assert_int_equal(log_parse_levels("none", &mask, &bad), 0);
	assert_int_equal(mask, 0);
	assert_int_equal(log_parse_levels("default|info", &mask, &bad), 0);
	assert_int_equal(mask, LEVELS_DEFAULT | LEVEL_INFO);
	assert_int_equal(log_parse_levels("error|bogus", &mask, &bad), -1);
	assert_int_equal(bad, 6);
	assert_int_equal(log_parse_levels("", &mask, &bad), -1);
	assert_int_equal(log_parse_facility("local3", &facility), 0);
	assert_int_equal(facility, LOG_LOCAL3);
	assert_int_equal(log_parse_facility("mailx", &facility), -1);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_levels_and_lines),
		cmocka_unit_test(test_log_long_line_cut),
		cmocka_unit_test(test_log_keeps_errno),
		cmocka_unit_test(test_log_reopen_after_rotation),
		cmocka_unit_test(test_log_open_file_mode_and_links),
		cmocka_unit_test(test_log_open_file_planted),
		cmocka_unit_test(test_log_parse_levels),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
