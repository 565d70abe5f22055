/* wire.c -- the milter protocol as an MTA speaks it: packets and replies */
/* SPDX-License-Identifier: ISC */

/*
 * Only the bytes: no descriptor, no clock, no libmilter.  forward.c does
 * the talking.  What a milter sends is untrusted: every string must end
 * inside its packet, and every length must fit it.
 */

#include <ctype.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "wire.h"

static int	enhanced(const char *, size_t);
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
		/* A stage of a later protocol: Postfix ignores it too. */
		if (which < WIRE_LISTS)
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
		break;
	case SMFIR_REPLYCODE:
	case SMFIR_QUARANTINE:
		if ((r->text = take_string(&p, end)) == NULL)
			return -1;
		break;
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (take_uint32(&p, end, &r->index) == -1)
			return -1;
		/* FALLTHROUGH */
	case SMFIR_ADDHEADER:
		if ((r->name = take_string(&p, end)) == NULL ||
		    (r->value = take_string(&p, end)) == NULL)
			return -1;
		break;
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM:
		if ((r->name = take_string(&p, end)) == NULL)
			return -1;
		/* The arguments may be left out. */
		if (p < end && (r->value = take_string(&p, end)) == NULL)
			return -1;
		break;
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
		if ((r->name = take_string(&p, end)) == NULL)
			return -1;
		break;
	case SMFIR_REPLBODY:
		r->data = data;
		r->len = len;
		p = end;
		break;
	default:
		*why = "an unknown reply";
		return -1;
	}
	/*
	 * Nothing may follow what the command carries: libmilter sends
	 * nothing more, and an MTA takes a milter that does for broken
	 * (Postfix: "left-over data", Sendmail: a reply text that does not
	 * fill its packet).
	 */
	return p == end ? 0 : -1;
}

int
wire_reply_lines(const char *reply, struct wire_lines *l)
{
	const char	*line, *end, *p;
	size_t		 n;

	memset(l, 0, sizeof *l);
	for (line = reply; *line != '\0'; line = end) {
		if (l->n == WIRE_MAX_LINES)
			return -1;
		if ((end = strstr(line, "\r\n")) == NULL)
			end = line + strlen(line);
		p = line;
		if (end - p < 3 || (p[0] != '4' && p[0] != '5') ||
		    !isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]) ||
		    (p + 3 < end && p[3] != ' ' && p[3] != '-'))
			return -1;
		if (l->n == 0)
			memcpy(l->code, p, 3);
		p += p + 3 < end ? 4 : 3;
		n = strspn(p, "0123456789.");
		if (p + n > end)
			n = end - p;
		if (enhanced(p, n) && n < sizeof l->xcode &&
		    (p + n == end || p[n] == ' ')) {
			if (l->n == 0)
				memcpy(l->xcode, p, n);
			p += n;
			if (p < end)
				p++;
		}
		/*
		 * What smfi_setreply() and smfi_setmlreply() refuse, which
		 * would also make one line read as two in the report.
		 */
		if (end - p > WIRE_MAX_TEXT ||
		    memchr(p, '\r', end - p) != NULL ||
		    memchr(p, '\n', end - p) != NULL)
			return -1;
		l->text[l->n] = p;
		l->len[l->n++] = end - p;
		if (*end != '\0')
			end += 2;
	}
	return l->n > 0 ? 0 : -1;
}

/*
 * Whether p[0..n) is an enhanced status code: class.subject.detail, the
 * class 2, 4 or 5, the others one to three digits (RFC 3463, section 2).
 * libmilter's smfi_setreply() refuses any other.
 */
static int
enhanced(const char *p, size_t n)
{
	size_t	 part = 0, digits = 0, i;

	if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') ||
	    p[1] != '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] != '.') {
			if (++digits > (part == 0 ? 1u : 3u))
				return 0;
			continue;
		}
		if (digits == 0 || ++part > 2)
			return 0;
		digits = 0;
	}
	return part == 2 && digits > 0;
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
