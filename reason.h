/* reason.h -- why something failed, in one escaped line for the caller */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_REASON_H
#define INSPECT_REASON_H

#include <stddef.h>

/*
 * Write a one-line reason, made from fmt, into err for the caller to
 * report, escaped as escape_text() does, since it may quote a
 * user's bytes.  Returns -1, so that "return reason(...)" fails
 * with it.
 */
int	reason(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
