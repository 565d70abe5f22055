/* macros.h -- which macros are asked for where, which each event
 * shows, and where they are read */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_MACROS_H
#define INSPECT_MACROS_H

#include <stddef.h>

#include <libmilter/mfapi.h>

#include "ctx.h"
#include "options.h"
#include "event.h"

struct macros_pair;

/* A session's view of its macros, kept between its events. */
struct macros {
	int		 source;	/* SOURCE_CONTEXT, _LOOKUP; -1: none */
	/* The context: each slot's packet as last seen, and its stage. */
	const void	*seen[CTX_SLOTS];
	enum stage	 from[CTX_SLOTS];
	int		 eoh_slot;	/* EOH's, once seen; else -1 */
	/* The look-ups: a copy of each listed macro's value, or NULL. */
	char		**values;
	enum stage	*stages;
	/* What the current event shows. */
	struct macro	*sent;
	size_t		 sentcap;
	struct visible	*visible;
	size_t		 visiblecap;
	/* Working out what is visible: the context's pairs, sorted. */
	struct macros_pair *pairs;
	unsigned char	*wins;		/* by pair, in stage order */
	size_t		 pairscap;
};

/*
 * Set up for serving with opts, which must stay unchanged while serving:
 * how much to show (show_macros), where to read it (macro_source), the
 * names to look up and, if macros_given, to show.
 */
void	macros_init(const struct options *opts);

/*
 * A session begins (negotiate): m starts empty, reading libmilter's
 * context if layout_ok (ctx_check() passed) and the options allow it.
 */
void	macros_begin(struct macros *m, int layout_ok);

/*
 * Fill ev's macros, and visible ones if asked for, for its stage.  What
 * ev points to stays valid until the next call for the session.
 * Returns 0, or -1 if out of memory.
 */
int	macros_event(struct macros *m, SMFICTX *ctx, struct event *ev);

/*
 * The value of the macro name visible now, as the callbacks see it, or
 * NULL.  From the context, no libmilter look-up reads past a packet the
 * MTA cut short.
 */
const char *macros_value(struct macros *m, SMFICTX *ctx, const char *name);

/* Release what m holds; it can begin again. */
void	macros_free(struct macros *m);

/* The stages an MTA takes a list of macros for, by SMFIM_* value. */
#define MACROS_STAGES	(SMFIM_LAST + 1)

/*
 * For --request-macros: set lists[stage], for each SMFIM_* stage, to the
 * names of opts->macros to ask for there, joined by spaces, or NULL if
 * none.  A name the tables know is asked for at the first stage where
 * each MTA can set it and where its value can change; any other name at
 * every stage (see inspect(8)).  Returns 0; -1 with a reason in err if a
 * stage has more names than opts->request_limit; -2 if out of memory.
 * Either way lists must be released with macros_request_free().
 */
int	macros_request_lists(const struct options *opts,
	    char *lists[MACROS_STAGES], char *err, size_t errlen);

/*
 * In negotiation: ask the MTA for each stage's list (smfi_setsymlist),
 * leaving it its own list at a stage that has none.  Returns 0, or -1 if
 * libmilter refused one.
 */
int	macros_request(SMFICTX *ctx, char *const lists[MACROS_STAGES]);

/*
 * Log (info) the macros inspect looks for and, with --request-macros,
 * what it asks for at each stage.
 */
void	macros_log(const struct options *opts,
	    char *const lists[MACROS_STAGES]);

void	macros_request_free(char *lists[MACROS_STAGES]);

#endif
