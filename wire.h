/* wire.h -- the milter protocol as an MTA speaks it: packets and replies */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_WIRE_H
#define INSPECT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * The longest packet taken from a milter: a body replaced in pieces
 * comes in packets of at most 64 KiB from libmilter, but other milters
 * may send it whole.  Longer is taken for a broken milter.
 */
#define WIRE_MAX_PACKET	(4 * 1024 * 1024)

/* The macro lists of SMFIF_SETSYMLIST, by SMFIM_* value (0 to 6). */
#define WIRE_LISTS	7

/*
 * Packets: a 4-byte big-endian length (the command byte and the data),
 * the command byte, the data.  wire_begin() starts one in b and returns
 * where, for wire_end() to write its length once the data is added.
 */
size_t	wire_begin(struct buf *b, char cmd);
void	wire_end(struct buf *b, size_t at);

/* Append a NUL-terminated string, with its NUL.  Returns 0, or -1. */
int	wire_string(struct buf *b, const char *s);
/* Append n in 4 bytes, big-endian.  Returns 0, or -1. */
int	wire_uint32(struct buf *b, uint32_t n);

/* The milter's answer to the MTA's negotiation (SMFIC_OPTNEG). */
struct wire_optneg {
	uint32_t	 version;
	uint32_t	 actions;
	uint32_t	 steps;
	const char	*lists[WIRE_LISTS];	/* NULL: none given */
};

/*
 * Take the data of an OPTNEG packet of len bytes (its strings point into
 * data) into o; a list for a stage past SMFIM_LAST is left out.  Returns 0, or -1 with why set to a short reason.
 */
int	wire_optneg(const unsigned char *data, size_t len,
	    struct wire_optneg *o, const char **why);

/*
 * A reply packet taken apart.  Which fields are set depends on cmd: the
 * reply text (SMFIR_REPLYCODE) and the quarantine's reason in text; a
 * header's name, value and index (ADDHEADER, INSHEADER, CHGHEADER); an
 * address and its ESMTP arguments, NULL if none (ADDRCPT, ADDRCPT_PAR,
 * DELRCPT, CHGFROM) in name and value; a piece of the new body
 * (REPLBODY) in data and len.
 */
struct wire_reply {
	char			 cmd;
	const char		*text;
	const char		*name;
	const char		*value;
	uint32_t		 index;
	const unsigned char	*data;
	size_t			 len;
};

/*
 * Take a reply packet's data of len bytes, command cmd, into r (which
 * points into data).  Returns 0, or -1 with why set: an unknown
 * command, or data that does not fit it exactly (too short, or bytes
 * after what the command carries).
 */
int	wire_reply(char cmd, const unsigned char *data, size_t len,
	    struct wire_reply *r, const char **why);

/* libmilter's limits: reply lines (MAXREPLIES), a line's text (MAXREPLYLEN) */
#define WIRE_MAX_LINES	32
#define WIRE_MAX_TEXT	980

/*
 * An SMTP reply as a milter sends it with SMFIR_REPLYCODE, taken apart:
 * the code and enhanced code of its first line, and each line's text
 * (pointing into the reply, not NUL-terminated).
 */
struct wire_lines {
	char		 code[4];
	char		 xcode[32];	/* "": none */
	size_t		 n;
	const char	*text[WIRE_MAX_LINES];
	size_t		 len[WIRE_MAX_LINES];
};

/*
 * Take reply ("550-5.7.1 one\r\n550 5.7.1 two", or "451 text") apart
 * into l.  Returns 0, or -1 if it is not a reply of 4xx or 5xx in at
 * most WIRE_MAX_LINES lines, each with its code, or if a line's text
 * is one libmilter refuses: longer than WIRE_MAX_TEXT, or holding a CR
 * or LF but the CRLF that ends the line.
 */
int	wire_reply_lines(const char *reply, struct wire_lines *l);

#endif
