/* wire.c -- the milter protocol as an MTA speaks it: packets out, replies in */
/* SPDX-License-Identifier: ISC */

/*
 * Only the bytes: no descriptor, no clock, no libmilter.  forward.c does
 * the talking.  What a milter sends is untrusted: every string must end
 * inside its packet, and the packet must hold nothing after the fields
 * its command has, but what libmilter itself sends after them.
 */

#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "wire.h"

static const char *take_string(const unsigned char **, const unsigned char *);
static int	take_uint32(const unsigned char **, const unsigned char *,
		    uint32_t *);

size_t
wire_begin(struct buf *b, char cmd)
{
	size_t	 at = b->len;
	char	 head[5] = { 0, 0, 0, 0, cmd };

	/* On ENOMEM the packet is short, and wire_end() sees it. */
	buf_add(b, head, sizeof head);
	return at;
}

void
wire_end(struct buf *b, size_t at)
{
	unsigned char	*p;
	size_t		 n;

	if (b->len < at + 5)
		return;
	p = (unsigned char *)b->data + at;
	n = b->len - at - 4;
	p[0] = n >> 24 & 0xff;
	p[1] = n >> 16 & 0xff;
	p[2] = n >> 8 & 0xff;
	p[3] = n & 0xff;
}

int
wire_string(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s) + 1);
}

int
wire_uint32(struct buf *b, uint32_t n)
{
	unsigned char	 p[4] = { n >> 24 & 0xff, n >> 16 & 0xff,
			    n >> 8 & 0xff, n & 0xff };

	return buf_add(b, p, sizeof p);
}

int
wire_optneg(const unsigned char *data, size_t len, struct wire_optneg *o,
    const char **why)
{
	const unsigned char	*p = data, *end = data + len;
	const char		*list;
	uint32_t		 which;

	memset(o, 0, sizeof *o);
	if (take_uint32(&p, end, &o->version) == -1 ||
	    take_uint32(&p, end, &o->actions) == -1 ||
	    take_uint32(&p, end, &o->steps) == -1) {
		*why = "a negotiation shorter than 12 bytes";
		return -1;
	}
	while (p < end) {
		if (take_uint32(&p, end, &which) == -1 ||
		    (list = take_string(&p, end)) == NULL) {
			*why = "a macro list cut short";
			return -1;
		}
		if (which >= WIRE_LISTS) {
			*why = "a macro list for an unknown stage";
			return -1;
		}
		o->lists[which] = list;
	}
	return 0;
}

int
wire_reply(char cmd, const unsigned char *data, size_t len,
    struct wire_reply *r, const char **why)
{
	const unsigned char	*p = data, *end = data + len;

	memset(r, 0, sizeof *r);
	r->cmd = cmd;
	*why = "a reply whose data does not fit its command";
	switch (cmd) {
	case SMFIR_ACCEPT:
	case SMFIR_CONTINUE:
	case SMFIR_DISCARD:
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_SKIP:
	case SMFIR_PROGRESS:
	case SMFIR_CONN_FAIL:
	case SMFIR_SHUTDOWN:
		return 0;
	case SMFIR_REPLYCODE:
	case SMFIR_QUARANTINE:
		if ((r->text = take_string(&p, end)) == NULL)
			return -1;
		return 0;
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (take_uint32(&p, end, &r->index) == -1)
			return -1;
		/* FALLTHROUGH */
	case SMFIR_ADDHEADER:
		if ((r->name = take_string(&p, end)) == NULL ||
		    (r->value = take_string(&p, end)) == NULL)
			return -1;
		return 0;
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM:
		if ((r->name = take_string(&p, end)) == NULL)
			return -1;
		/* The arguments may be left out. */
		if (p < end && (r->value = take_string(&p, end)) == NULL)
			return -1;
		return 0;
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
		if ((r->name = take_string(&p, end)) == NULL)
			return -1;
		return 0;
	case SMFIR_REPLBODY:
		r->data = data;
		r->len = len;
		return 0;
	default:
		*why = "an unknown reply";
		return -1;
	}
}

/* The string at *p, which must end before end; NULL if it does not. */
static const char *
take_string(const unsigned char **p, const unsigned char *end)
{
	const unsigned char	*s = *p, *nul;

	if (s >= end || (nul = memchr(s, '\0', end - s)) == NULL)
		return NULL;
	*p = nul + 1;
	return (const char *)s;
}

static int
take_uint32(const unsigned char **p, const unsigned char *end, uint32_t *n)
{
	const unsigned char	*s = *p;

	if (end - s < 4)
		return -1;
	*n = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 |
	    (uint32_t)s[2] << 8 | s[3];
	*p = s + 4;
	return 0;
}
