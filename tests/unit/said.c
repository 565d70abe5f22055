/* said.c -- standard error caught in a file, for a unit test to read */
/* SPDX-License-Identifier: ISC */

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "said.h"

char		 said_path[PATH_MAX];
static int	 saved_stderr = -1;

/* Standard error goes to a file until said() gives it back. */
void
said_start(void)
{
	int	 fd;

	assert_int_not_equal(fd = open(said_path, O_WRONLY | O_CREAT | O_TRUNC,
	    0600), -1);
	fflush(stderr);
	assert_int_not_equal(saved_stderr = dup(STDERR_FILENO), -1);
	assert_int_not_equal(dup2(fd, STDERR_FILENO), -1);
	close(fd);
}

/* What went to standard error since said_start(), NUL-ended. */
char *
said(void)
{
	static char	 text[8192];
	ssize_t		 n;
	int		 fd;

	fflush(stderr);
	assert_int_not_equal(dup2(saved_stderr, STDERR_FILENO), -1);
	close(saved_stderr);
	saved_stderr = -1;
	assert_int_not_equal(fd = open(said_path, O_RDONLY), -1);
	assert_true((n = read(fd, text, sizeof text - 1)) >= 0);
	close(fd);
	text[n] = '\0';
	return text;
}
