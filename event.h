/* event.h -- the report's model: stages, events, answers, summaries */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_EVENT_H
#define INSPECT_EVENT_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The milter stages, in the order an MTA meets them. */
enum stage {
	STAGE_NEGOTIATE,
	STAGE_CONNECT,
	STAGE_HELO,
	STAGE_ENVFROM,
	STAGE_ENVRCPT,
	STAGE_DATA,
	STAGE_HEADER,
	STAGE_EOH,
	STAGE_BODY,
	STAGE_EOM,
	STAGE_ABORT,
	STAGE_CLOSE,
	STAGE_UNKNOWN,
	STAGE_MAX
};

struct macro {
	const char	*name;
	const char	*value;
};

/* A macro visible to the milter, and the stage whose packet brought it. */
struct visible {
	const char	*name;
	const char	*value;
	enum stage	 stage;
};

/*
 * The negotiation flags: what the MTA offered, as libmilter passed it on,
 * what inspect asked libmilter for, and what libmilter told the MTA,
 * which can differ: the actions asked for are told as they are, but an
 * MTA of an older protocol gets fewer steps, and a newer one libmilter's
 * version.
 */
struct negotiation {
	unsigned long	offered_actions;
	unsigned long	offered_steps;
	unsigned long	asked_actions;
	unsigned long	asked_steps;
	unsigned long	missing_actions;	/* asked for, not offered */
	/*
	 * The MTA's own steps, read in libmilter's context, and with them
	 * what the MTA was told; 0: unknown (its actions are the offered).
	 */
	int		told;
	unsigned long	mta_steps;	/* if told */
	int		told_version;	/* if told */
	unsigned long	told_steps;	/* if told */
};

/* A change inspect made at eom, when probing. */
struct answer_change {
	const char	*what;		/* add-header, ..., quarantine */
	const char	*value;		/* as given on the command line */
	const char	*failure;	/* NULL: done; else why not */
};

/* What inspect answered a stage with, when probing. */
struct answer {
	const char	*action;	/* continue, accept, reject, ... */
	const char	*code;		/* NULL: no reply text */
	const char	*xcode;		/* NULL: none */
	const char	*text;		/* NULL: none; lines joined by LF */
	unsigned long	 delay_ms;	/* waited before answering */
	const struct answer_change *changes;	/* eom */
	size_t		 nchanges;
};

/*
 * What the milter behind inspect (--forward) made of an event: its
 * answer and changes as it sent them, and how long it took.
 */
struct forwarded {
	int		 sent;		/* 0: not sent, as an MTA would not */
	struct answer	 reply;		/* action NULL: no answer awaited */
	uint64_t	 ns;		/* from the command to its answer */
	const char	*failure;	/* NULL; else what went wrong, and */
					/* reply is --forward-default's */
	/* Negotiate: what the milter asked for. */
	int		 version;	/* 0: no answer */
	unsigned long	 actions;
	unsigned long	 steps;
	const char	*lists[7];	/* macros, by SMFIM_*; NULL: none */
};

/*
 * One callback's worth of data.  Which argument fields are used depends on
 * the stage; the others are ignored.  Strings are the MTA's bytes, not
 * trusted to be printable or valid UTF-8.
 */
struct event {
	uint64_t		 session;
	/* The run's id (run.h), which tells apart sessions of two runs. */
	const char		*run;
	enum stage		 stage;
	struct timespec		 time;
	const struct negotiation *negotiation;	/* negotiate */
	const char		*host;		/* connect */
	const struct sockaddr	*address;	/* connect; NULL: unknown */
	const char		*name;		/* helo, header; unknown */
	const char		*value;		/* header */
	char *const		*args;	/* envfrom, envrcpt; NULL-ended */
	int			 rejected;	/* envrcpt */
	/* If rejected: the status and the reply text; NULL: not sent. */
	const char		*reject_status;	/* envrcpt */
	const char		*reject_text;	/* envrcpt */
	const unsigned char	*chunk;		/* body */
	size_t			 length;	/* body */
	int			 version;	/* negotiate; 0: unknown */
	const struct macro	*macros;	/* sent with this stage */
	size_t			 nmacros;
	/* Every macro visible now, if show_visible. */
	const struct visible	*visible;
	size_t			 nvisible;
	int			 show_visible;
	/* Probing: inspect's answer, if not plain continue; else NULL. */
	const struct answer	*answer;
	/*
	 * The packet of macros the MTA sent with this event, whole (name,
	 * value, ..., NULL), whatever the report shows; NULL: none.  Read
	 * only when forwarding.
	 */
	char *const		*packet;
	/* --forward: what the milter behind made of it; else NULL. */
	const struct forwarded	*forward;
	/*
	 * Negotiate, in text: the session whose negotiation, as text shows
	 * it, this one's is the same as, so that one line says so; 0: it is
	 * written in full.
	 */
	uint64_t		 same_as;
	/* With --summary: the queue id (macro i) visible now; else NULL. */
	const char		*queue_id;
};

/* How a transaction ended, as libmilter told it. */
enum ending {
	END_OPEN,		/* not yet */
	END_EOM,
	END_ABORT,
	END_CLOSE,		/* the session closed in the middle of it */
	END_NONE		/* the next MAIL came without eom or abort */
};

struct recipient {
	char		*address;	/* the MTA's bytes */
	int		 rejected;
};

/* One transaction of a session: MAIL to its end. */
struct transaction {
	char			*sender;	/* the MTA's bytes */
	struct recipient	*rcpts;
	size_t			 nrcpts;
	size_t			 unlisted;	/* recipients not kept */
	size_t			 headers;
	uint64_t		 body;		/* bytes */
	enum ending		 end;
	char			*queue_id;	/* macro i, the last; NULL */
};

/* A session summed up, as summary.c keeps it from its events. */
struct summary {
	int			 begun;
	struct timespec		 start;		/* of its first event */
	char			*host;		/* NULL: no connect */
	char			*address;	/* unescaped, as host */
	char			*ip;		/* the client's; NULL: none */
	char			*helo;		/* the last; NULL: none */
	struct transaction	*tx;
	size_t			 ntx;
	size_t			 unlisted;	/* transactions not kept */
	int			 skipping;	/* the last one not kept */
	size_t			 kept;		/* bytes held */
	/* --forward: the milter's last answer but continue, its time. */
	int			 forwarded;
	const char		*verdict;	/* NULL: continue throughout */
	int			 failed;	/* verdict is the default's */
	uint64_t		 forward_ns;
};

#endif
