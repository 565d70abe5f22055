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
