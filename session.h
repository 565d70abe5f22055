/* session.h -- what inspect keeps per SMTP connection, negotiate to close */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_SESSION_H
#define INSPECT_SESSION_H

#include <stdint.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "macros.h"
#include "record.h"
#include "summary.h"

struct ids;
struct spec;
struct probe_state;
struct downstream;

/*
 * A session, in smfi_setpriv().  libmilter runs the callbacks of one
 * connection one at a time, though not always on the same thread, so a
 * session needs no lock of its own.
 */
struct session {
	uint64_t	 id;
	int		 layout_ok;	/* libmilter's context checks out */
	int		 rcpt_rej;	/* rejected recipients negotiated */
	unsigned long	 nr_steps;	/* the SMFIP_NR_* bits negotiated */
	int		 mta_fd;	/* the MTA's TCP socket, or -1 */
	unsigned long	 actions;	/* the SMFIF_* actions negotiated */
	unsigned long	 steps;		/* the SMFIP_* steps negotiated */
	struct probe_state *probe;	/* probing: the answer; flat */
	struct macros	 macros;
	struct summary	 summary;	/* if --summary */
	struct record	 record;	/* if --record */
	struct downstream *down;	/* if --forward */
};

/*
 * Before serving, and before any worker starts: session numbers are
 * shared by every process serving the one socket.  timeout is
 * libmilter's, as set (ctx_check() uses it); sp, the listening socket's
 * spec, which must stay unchanged while serving; record, the directory
 * of --record or NULL, which ids's user must be able to write
 * (record_setup()).  Returns 0, or -1 after logging why.
 */
int	session_setup(time_t timeout, const struct spec *sp,
	    const char *record, const struct ids *ids);

/*
 * ctx's session, made on first use: numbered, libmilter's context
 * checked, its macros begun.  NULL if out of memory (logged).
 */
struct session *session_get(SMFICTX *ctx);

/*
 * At connect: ctx's session, and if it is new after Sendmail's "quit,
 * new connection" (SMFIC_QUIT_NC), which is not negotiated again, what
 * the last negotiation on ctx settled.
 */
struct session *session_connect(SMFICTX *ctx);

/*
 * End ctx's session, if any, keeping what its negotiation settled for a
 * connect that may follow on ctx, and the connection to the milter
 * behind if it is still open (after QUIT_NC).
 */
void	session_end(SMFICTX *ctx);

/*
 * For a text report: whether the negotiation of session id, as text shows
 * it (key, len bytes: print_negotiation_key()), is the same as the last
 * one written in full, by any process serving the socket.  Returns that
 * one's session, or 0 if it differs, and then this one is the last
 * written in full.
 */
uint64_t session_same_negotiation(uint64_t id, const void *key, size_t len);

/*
 * The report goes on in a new file (reopened): its first negotiation is
 * written in full.
 */
void	session_forget_negotiation(void);

/*
 * The socket of the MTA's connection, or -1.  libmilter offers no way to
 * reach it but its context: trusted only if the context checked out and
 * it is a connected TCP socket on inspect's port.
 */
int	session_socket(SMFICTX *ctx, const struct session *s);

#endif
