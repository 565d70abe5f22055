/* said.h -- standard error caught in a file, for a unit test to read */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_SAID_H
#define INSPECT_SAID_H

#include <limits.h>

/* The file standard error goes to: set it before said_start(). */
extern char	 said_path[PATH_MAX];

/* Standard error goes to said_path until said() gives it back. */
void	said_start(void);

/* What went to standard error since said_start(), NUL-ended. */
char	*said(void);

#endif
