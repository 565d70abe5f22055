/* print.h -- the report's events in text and JSON, and a line's pieces */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_PRINT_H
#define INSPECT_PRINT_H

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "event.h"

enum format {
	FORMAT_TEXT,
	FORMAT_JSON
};

extern const char *const print_stage_names[STAGE_MAX];

/*
 * Append one event to out, as one or more complete lines ending in '\n';
 * in text, a negotiation the same as session ev->same_as's is one line,
 * "[N] negotiate TIME as in session M";
 * with color, a text event is coloured by inspect's own SGR sequences
 * (JSON never is), with nothing else changed.  Returns 0, or -1 with
 * errno set (ENOMEM) and out unchanged in length.
 */
int	print_event(struct buf *out, enum format format, int color,
	    const struct event *ev);

/*
 * Append the line that begins a run's text report, before any session:
 * "[0] start TIME run RUN inspect VERSION\n", TIME when the run began,
 * coloured with color as an event's first line is.  Session 0 is no
 * session.  Returns 0, or -1 (ENOMEM) with out unchanged in length.
 */
int	print_start(struct buf *out, int color, const struct timespec *time,
	    const char *run, const char *version);

/*
 * The widest a text line gets where the data allows it: lists of flags
 * are cut into lines this wide.  A value the MTA sent stays on its line,
 * whole, however long.
 */
#define PRINT_TEXT_COLUMNS	160

/*
 * Append to out what decides whether two negotiate events read the same
 * in text: ev's block as text writes it in full, but for its session and
 * time.  Returns 0, or -1 (ENOMEM) with out unchanged in length.
 */
int	print_negotiation_key(struct buf *out, const struct event *ev);

/*
 * Append the names of the bits set in flags, joined by sep, to out; which
 * is 0 for SMFIF_* actions and 1 for SMFIP_* protocol steps.  Bits without
 * a name are written as one hexadecimal number.  JSON output quotes each
 * name.  Returns 0, or -1 on ENOMEM.
 */
int	print_flag_names(struct buf *out, int steps, unsigned long flags,
	    enum format format);

/*
 * The room print_address() needs, its NUL included: the longest address
 * is unix: and a path that fills sun_path, which has no NUL then.
 */
#define PRINT_ADDRESS_MAX \
	(sizeof "unix:" + sizeof ((struct sockaddr_un *)0)->sun_path)

/*
 * Write the connect address as inet:PORT@[ADDR], inet6:PORT@[ADDR],
 * unix:PATH or unknown (NULL or another family) into s (PRINT_ADDRESS_MAX
 * bytes), NUL-terminated and unescaped: the caller escapes it, since a
 * unix path comes from the MTA.  Returns its length.  It always fits, so
 * that the caller has nothing to allocate, check or free.
 */
size_t	print_address(char *s, const struct sockaddr *sa);

/* A connect address taken apart; path is the MTA's bytes, unescaped. */
struct address {
	const char	*family;	/* inet, inet6, unix or unknown */
	char		 ip[INET6_ADDRSTRLEN];	/* inet, inet6; else "" */
	unsigned int	 port;			/* inet, inet6 */
	const char	*path;			/* unix; else NULL */
	size_t		 pathlen;
};

/* Take the connect address sa (NULL: unknown) apart into a. */
void	print_address_parts(const struct sockaddr *sa, struct address *a);

/*
 * The pieces of a line, for summary.c, whose line then starts, quotes and
 * colours as an event's does.  Each appends to out and returns 0, or -1 on
 * ENOMEM with what it wrote left in out: the caller cuts the line back.
 */

/*
 * The styles of a coloured text report, as SGR sequences: inspect's own
 * constants, never anything the MTA sent.  An escape inside a value is
 * shown in reverse video, which keeps the value's colour around it.
 */
struct palette {
	const char	*tag;		/* [SESSION] */
	const char	*stage;		/* the stage's name */
	const char	*name;		/* a macro's name */
	const char	*value;		/* a value the MTA sent, quoted */
	const char	*escape;	/* an escape in a value ... */
	const char	*unescape;	/* ... and back to the value's style */
	const char	*rejected;
	const char	*off;		/* back to plain */
};

/* "[SESSION]" in its colours: two SGR sequences and up to 20 digits. */
#define PRINT_PREFIX_MAX	64

/*
 * The palette print_event() uses for color: without colour every style
 * is "", and the report is as it was.
 */
const struct palette *print_palette(int color);

/*
 * Write "[SESSION]", the tag of every text line of a session, in pal's
 * style, into prefix (PRINT_PREFIX_MAX bytes), NUL-terminated.
 */
void	print_text_prefix(char *prefix, const struct palette *pal,
	    uint64_t session);

/* "PREFIX STAGE TIME", the start of an event's first text line. */
int	print_text_head(struct buf *out, const struct palette *pal,
	    const char *prefix, const char *stage,
	    const struct timespec *time);

/* s quoted, escaped and in pal's value style; unsent as it is if s is NULL. */
int	print_text_quoted(struct buf *out, const struct palette *pal,
	    const char *s, const char *unsent);

/*
 * {"session":N,"run":"RUN","stage":"STAGE","time":"TIME": an event's
 * JSON, left open; "run":null if run is NULL.
 */
int	print_json_head(struct buf *out, uint64_t session, const char *run,
	    const char *stage, const struct timespec *time);

/* The member "KEY":"ESCAPED", or "KEY":null if s is NULL. */
int	print_json_member(struct buf *out, const char *key, const char *s);

#endif
