/* summary.h -- a session summed up in one line: kept, then written */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_SUMMARY_H
#define INSPECT_SUMMARY_H

#include "buf.h"
#include "print.h"

/*
 * The MTA's bytes a summary keeps at most: past it, recipients and
 * transactions are counted rather than listed, so that a session of
 * endless RCPTs costs no endless memory.
 */
#define SUMMARY_KEEP	(64 * 1024)

/*
 * Add ev, stamped, to sm; at close, append sm's line to out in format,
 * with color as print_event() has it.  What cannot be kept (SUMMARY_KEEP, or
 * memory) is counted as unlisted.  Returns 0, or -1 (ENOMEM) if the line
 * could not be written.
 */
int	summary_event(struct summary *sm, const struct event *ev,
	    struct buf *out, enum format format, int color);

/* Release what sm holds, and make it empty. */
void	summary_free(struct summary *sm);

#endif
