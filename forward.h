/* forward.h -- the milter behind inspect (--forward): what it is sent, what it answers */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_FORWARD_H
#define INSPECT_FORWARD_H

#include <libmilter/mfapi.h>

#include "event.h"
#include "spec.h"

/* --forward-default: what a session gets when the milter fails it. */
enum forward_default {
	FORWARD_ACCEPT,
	FORWARD_TEMPFAIL,
	FORWARD_REJECT
};

/* What --forward and its options set; read-only while serving. */
struct forward_conf {
	const char		*spec;		/* as given, for messages */
	struct spec		 where;
	enum forward_default	 dflt;
	unsigned long		 connect_ms;	/* connecting */
	unsigned long		 command_ms;	/* each answer but eom's */
	unsigned long		 eom_ms;	/* eom's, progress or not */
};

struct downstream;
struct session;

/*
 * Serve with conf, which must stay unchanged while serving: a host name
 * is looked up now.  Returns 0, or -1 after logging why.
 */
int	forward_setup(const struct forward_conf *conf);

/*
 * Negotiate: connect to the milter, offer it what the MTA offered (its
 * version, actions and steps as libmilter's context holds them), and
 * put its answer in ng for the MTA: its actions, its no-reply steps,
 * its skip and leading space, and its macro lists, asked of the MTA
 * (smfi_setsymlist()).  Every stage is still asked for, so that the
 * report is whole.  s->down is made here; ev->forward tells the report.
 * A milter that cannot be reached or negotiated with leaves the session
 * to --forward-default.
 */
void	forward_negotiate(SMFICTX *ctx, struct session *s,
	    struct negotiation *ng, struct event *ev);

/*
 * Send ev to the milter as an MTA would under its negotiation (with the
 * macros the MTA sent with it, whole), and take its answer; at eom, make
 * its changes through libmilter, and pass its progress on.  Sets
 * ev->forward for the report.  Close sends QUIT, or QUIT_NC and keeps
 * the connection for the next one on ctx.
 */
void	forward_stage(SMFICTX *ctx, struct session *s, struct event *ev);

/*
 * What inspect answers the MTA at ev, as the milter answered or as
 * --forward-default says: reject, tempfail and discard as they are, with
 * the reply text; accept and skip as continue, the milter being sent no
 * more of what they cover.
 */
sfsistat forward_answer(SMFICTX *ctx, struct session *s,
	    const struct event *ev);

/* Close d's connection without a word, and release it. */
void	forward_free(struct downstream *d);

/* Whether d's connection is open (kept for a QUIT_NC). */
int	forward_open(const struct downstream *d);

/* End every wait for a milter now: inspect stops. */
void	forward_stop(void);

#endif
