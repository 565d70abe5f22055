/* output.h -- where the report goes, without ever holding up the MTA */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_OUTPUT_H
#define INSPECT_OUTPUT_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Bytes of events queued while the writer writes those before, at most;
 * more are dropped.  It is room for seconds of mail, so that only a stuck
 * output loses events, not a slow one; memory is taken only as it is
 * used, and given back after a burst.
 */
#define OUTPUT_QUEUE_SIZE	(16 * 1024 * 1024)

/* At most this many outputs. */
#define OUTPUT_MAX	8

/*
 * Open the outputs at paths ("-" is standard output): files are appended
 * to, created 0640, never reached through a symbolic link.  With
 * own_stdout, standard output is used through a descriptor of its own,
 * so that fd 1 can be pointed elsewhere.  The lock that keeps events
 * whole is shared with processes forked later.  Returns 0, or -1 with the
 * reason in err.
 */
int	output_open(const char *const *paths, size_t n, int own_stdout,
	    char *err, size_t errlen);

/* Whether every output opened is a terminal (0 if none is open). */
int	output_terminal(void);

/*
 * Give the output files that were opened by name to uid and gid (not
 * standard output, whatever it is).  Returns 0, or -1 with err.
 */
int	output_chown(uid_t uid, gid_t gid, char *err, size_t errlen);

/*
 * The report begins: write p (len bytes) to every output now, and keep
 * it to begin each file output_reopen() opens anew.  Call it once, in
 * the supervisor before any worker is started, so that it comes before
 * every event.  A failed write is logged as the writer logs one, and the
 * workers log that output's failure again only once it worked; p is no
 * event, and is not counted as lost.  Returns 0, or -1 if a write failed
 * or p could not be kept.
 */
int	output_begin(const char *p, size_t len);

/*
 * Whether the report has no output left: standard output was the only
 * one, and its reader went away (as output_begin() may find).
 */
int	output_orphaned(void);

/*
 * Open the output files again, for logrotate, as log_reopen() does the
 * log; a new file (not the one before, as when it was not rotated)
 * begins with what output_begin() wrote, before any worker takes it.  A
 * failure is logged and the old file kept.  Returns 0, or -1 if any
 * failed.
 */
int	output_reopen(void);

/*
 * The descriptors a worker takes at a reopening, one per output in
 * order, put in fd (room for max).  Returns how many.
 */
size_t	output_fds(int *fd, size_t max);

/*
 * In a worker: take the n descriptors output_fds() gave in the
 * supervisor in the outputs' places; the writer goes on with them.
 */
void	output_adopt(const int *fd, size_t n);

/*
 * Start the thread that writes the queue out.  Threads do not survive
 * fork(), so each serving process starts its own.  on_orphaned, if not
 * NULL, is called from that thread when the report has no output left:
 * standard output was the last, and its reader went away.  Returns 0,
 * or an error number.
 */
int	output_start(void (*on_orphaned)(void));

/*
 * Queue one event of len bytes, written later whole with one write per
 * output.  When a quarter megabyte is already waiting, it waits for the
 * writer to take it, which a working output does in a millisecond or two,
 * but for at most 10 ms, and an output that was too slow for that is not
 * waited for again until it catches up: the MTA never waits longer on the
 * report.  If the queue is full the event is dropped and counted, and the
 * drop is logged.  An empty event (one not reported) is nothing.
 */
void	output_event(const char *p, size_t len);

/*
 * Write out what is queued and stop the writing thread.  The outputs
 * are waited for as long as they take bytes; one that takes nothing for
 * stall seconds loses the rest, which is counted and logged.  Call it
 * once no more events can come: what is queued after it began is lost.
 */
void	output_stop(int stall);

/*
 * Stopping at once, without writing out: what is queued counts as lost,
 * and it is gone for output_stop().  Returns how many events that is.
 * Safe while output_stop() runs in another thread.
 */
size_t	output_abandon(void);

/* Events lost so far, in every process: dropped or failed to write. */
unsigned long long output_lost(void);

#endif
