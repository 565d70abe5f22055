/* print.h -- the report's text and JSON writers, and their escaping */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_PRINT_H
#define INSPECT_PRINT_H

#include <sys/socket.h>
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
 * with color, a text event is coloured by inspect's own SGR sequences
 * (JSON never is), with nothing else changed.  Returns 0, or -1 with
 * errno set (ENOMEM) and out unchanged in length.
 */
int	print_event(struct buf *out, enum format format, int color,
	    const struct event *ev);

/*
 * Append the summary of session, which closed at time, to out: one line,
 * in colour as print_event() does.  Returns 0, or -1 (ENOMEM) with out
 * unchanged in length.
 */
int	print_summary(struct buf *out, enum format format, int color,
	    uint64_t session, const struct timespec *time,
	    const struct summary *sm);

/*
 * Write a one-line reason, made from fmt, into err for the caller to
 * report, escaped as print_text_escape() does, since it may quote a
 * user's bytes.  Returns -1, so that "return print_reason(...)" fails
 * with it.
 */
int	print_reason(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Append len bytes of s to out, escaped for text output: printable ASCII
 * and printable UTF-8 as is, '\\' and '"' as \\ and \", TAB, LF and CR as
 * \t \n \r, other ASCII controls and bytes that are not valid UTF-8 as \xHH,
 * and C1 controls, bidirectional controls and line or paragraph separators
 * as \uHHHH.  Returns 0, or -1 on ENOMEM.
 */
int	print_text_escape(struct buf *out, const void *s, size_t len);

/*
 * Append len bytes of s to out as the contents of a JSON string (without
 * the quotes).  Valid UTF-8 is kept, with TAB, LF and CR as \t \n \r and
 * other controls, DEL, C1 controls,
 * bidirectional controls and line or paragraph separators written as
 * \uHHHH; a byte that is not part of valid UTF-8 is written as \udcHH
 * (the surrogateescape convention), so the exact bytes can be rebuilt.
 * Returns 0, or -1 on ENOMEM.
 */
int	print_json_escape(struct buf *out, const void *s, size_t len);

/*
 * Append the names of the bits set in flags, joined by sep, to out; which
 * is 0 for SMFIF_* actions and 1 for SMFIP_* protocol steps.  Bits without
 * a name are written as one hexadecimal number.  JSON output quotes each
 * name.  Returns 0, or -1 on ENOMEM.
 */
int	print_flag_names(struct buf *out, int steps, unsigned long flags,
	    enum format format);

/*
 * Write the connect address as inet:PORT@[ADDR], inet6:PORT@[ADDR],
 * unix:PATH or unknown (NULL or another family) into out, unescaped: the
 * caller escapes it, since a unix path comes from the MTA.  Returns 0, or
 * -1 on ENOMEM.
 */
int	print_address(struct buf *out, const struct sockaddr *sa);

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

#endif
