/* record.h -- a session written out as a miltertest script */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_RECORD_H
#define INSPECT_RECORD_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "buf.h"
#include "print.h"

struct ids;

/*
 * Past this many bytes a script stops taking steps: the rest of the
 * session is a comment, so that an endless session costs no endless disk.
 */
#define RECORD_MAX	(256UL * 1024 * 1024)

/*
 * What a session's script needs between its events.  The steps are
 * kept in memory and go to a temporary file once they grow; at close the
 * file takes its name in one rename, so that no one sees half a script.
 */
struct record {
	int		 begun;
	int		 negotiated;	/* a negotiate event came first */
	int		 leadspc;	/* SMFIP_HDR_LEADSPC answered */
	int		 stopped;	/* RECORD_MAX reached */
	int		 failed;	/* a write failed: no script */
	int		 fd;		/* the temporary file, or -1 */
	uint64_t	 session;
	struct timespec	 start;
	char		*mta;		/* macro v, escaped; NULL: not sent */
	char		 name[80];	/* the script's name in the directory */
	struct buf	 steps;		/* not yet written */
	uint64_t	 written;	/* bytes in the file */
	uint64_t	 dropped;	/* events past RECORD_MAX */
};

/*
 * At start-up, while errors still reach the user: record every session
 * in dir, if not NULL.  dir must be a directory, not a symbolic link,
 * that the user inspect serves as (ids) can write; its descriptor is
 * kept for every worker.  Returns 0, or -1 after logging why in one line.
 */
int	record_setup(const char *dir, const struct ids *ids);

/*
 * Add ev, stamped, to r, and write r's script at close.  Does nothing if
 * record_setup() was not given a directory.  A failure is logged (once
 * until recording works again) and costs the session its script, never
 * its mail.
 */
void	record_event(struct record *r, const struct event *ev);

/* Release what r holds, without writing it, and make it empty. */
void	record_free(struct record *r);

/*
 * Append len bytes of s to out as a Lua string literal, quotes
 * included: printable ASCII as is, backslash and double quote escaped,
 * TAB, LF and CR as \t \n \r, every other byte as a three-digit decimal
 * escape, which every Lua reads.  Returns 0, or -1 on ENOMEM.
 */
int	record_lua_string(struct buf *out, const void *s, size_t len);

#endif
