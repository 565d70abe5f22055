/* probe.h -- what inspect answers and changes, when asked to probe */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_PROBE_H
#define INSPECT_PROBE_H

#include <stddef.h>

#include <libmilter/mfapi.h>

#include "event.h"

#define PROBE_MAX_REPLIES	32	/* --reply, all stages together */
#define PROBE_MAX_CHANGES	32	/* the changes at eom, together */
#define PROBE_MAX_DELAY		3600	/* seconds */
#define PROBE_MAX_LINES		32	/* libmilter's MAXREPLIES */
#define PROBE_MAX_LINE		980	/* libmilter's MAXREPLYLEN */
#define PROBE_MAX_BODY		(16 * 1024 * 1024)	/* --replace-body */

/* The changes at eom, in the order of probe_change_names[]. */
enum probe_change {
	CHANGE_ADD_HEADER,
	CHANGE_INSERT_HEADER,
	CHANGE_CHANGE_HEADER,
	CHANGE_CHANGE_FROM,
	CHANGE_ADD_RCPT,
	CHANGE_DELETE_RCPT,
	CHANGE_REPLACE_BODY,
	CHANGE_QUARANTINE,
	CHANGE_KINDS
};

/* One --reply: which events of a stage it answers, and how. */
struct probe_reply {
	const char	*given;		/* the option's value, for the log */
	enum stage	 stage;
	char		*match;		/* NULL: every event; owned */
	sfsistat	 status;	/* SMFIS_* */
	const char	*action;	/* its word: reject, tempfail, ... */
	char		 code[4];	/* "": no reply text */
	char		 xcode[16];	/* "": none */
	char		*text;		/* lines joined by LF; owned */
	char		*lines[PROBE_MAX_LINES + 1];	/* in one owned block */
	size_t		 nlines;
};

/* One change at eom, taken apart; every string is owned. */
struct probe_edit {
	enum probe_change kind;
	const char	*given;		/* the option's value, for the report */
	char		*name;		/* header; address */
	char		*value;		/* header: NULL deletes; ESMTP args */
	char		*spaced;	/* header value after a space */
	int		 index;		/* insert-header, change-header */
};

/* The probe options, as options_parse() took them. */
struct probe {
	struct probe_reply replies[PROBE_MAX_REPLIES];
	size_t		 nreplies;
	unsigned long	 delay_ms[STAGE_MAX];	/* 0: none */
	struct probe_edit edits[PROBE_MAX_CHANGES];
	size_t		 nedits;
	char		*body;		/* --replace-body, CRLF lines; owned */
	size_t		 bodylen;
};

extern const char *const probe_change_names[CHANGE_KINDS];

/*
 * Take "STAGE[/MATCH]=ANSWER" (--reply), "STAGE=SECONDS" (--delay), or
 * the value of the change kind into p.  A file to replace the body with
 * is read now.  Return 0, or -1 with a one-line reason in err.
 */
int	probe_parse_reply(struct probe *p, const char *arg, char *err,
	    size_t errlen);
int	probe_parse_delay(struct probe *p, const char *arg, char *err,
	    size_t errlen);
int	probe_parse_change(struct probe *p, enum probe_change kind,
	    const char *arg, char *err, size_t errlen);

/*
 * The first stage, other than eom, that p answers or delays, and so
 * that must be replied to; STAGE_MAX if none.
 */
enum stage probe_replied_stage(const struct probe *p);

/* Whether p asks for anything at all. */
int	probe_active(const struct probe *p);

/* The SMFIF_* actions p's changes need. */
unsigned long probe_actions(const struct probe *p);

/*
 * The action (SMFIF_*) that change e needs: SMFIF_ADDRCPT_PAR for a
 * recipient added with ESMTP arguments.
 */
unsigned long probe_change_action(const struct probe_edit *e);

/* Release what the parsers allocated. */
void	probe_free(struct probe *p);

/*
 * Serve with p, which must stay unchanged while serving; says in the
 * log, if p is active, what inspect will answer and change.
 */
void	probe_setup(const struct probe *p);

struct session;

/*
 * Negotiation: ask for the actions and steps probing needs, where the
 * MTA offers them (what it does not offer is logged once and left out),
 * keep a reply at every stage that is answered or delayed, and note in
 * s what was settled.
 */
void	probe_negotiate(struct negotiation *ng, struct session *s);

/*
 * What inspect answers ev with, NULL for plain continue; at eom, the
 * changes are made here, so that the report shows them.  Valid until
 * the next call for s.
 */
const struct answer *probe_decide(SMFICTX *ctx, struct session *s,
	    const struct event *ev);

/*
 * Answer ev as probe_decide() chose, after its delay.  Plain continue
 * goes without a reply where ev's stage's no-reply step was negotiated.
 */
sfsistat probe_answer(SMFICTX *ctx, struct session *s,
	    const struct event *ev);

/* End every delay now and every one to come: inspect stops. */
void	probe_stop(void);

#endif
