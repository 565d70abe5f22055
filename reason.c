/* reason.c -- why something failed, in one escaped line for the caller */
/* SPDX-License-Identifier: ISC */

#include <stdarg.h>
#include <stdio.h>

#include "buf.h"
#include "escape.h"
#include "reason.h"

int
reason(char *err, size_t errlen, const char *fmt, ...)
{
	struct buf	 esc = { NULL, 0, 0 };
	va_list		 ap;
	char		 msg[1024];
	int		 len;

	va_start(ap, fmt);
	len = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if ((size_t)len >= sizeof msg)
		len = sizeof msg - 1;
	if (errlen == 0)
		return -1;
	if (escape_text(&esc, msg, len) == -1)
		snprintf(err, errlen, "%s", msg);
	else
		snprintf(err, errlen, "%.*s", (int)esc.len, esc.data);
	buf_free(&esc);
	return -1;
}
