/* fuzz_wire.c -- libFuzzer target for wire.c: what a milter may send */
/* SPDX-License-Identifier: ISC */

/*
 * The first byte is a packet's command, the rest its data, as a milter
 * sends them: taken as a reply (wire_reply), as a negotiation
 * (wire_optneg), and as the text of an SMTP reply (wire_reply_lines, on
 * a NUL-terminated copy; and on the text of an SMFIR_REPLYCODE, where
 * forward.c takes it).  Each works on a copy of exactly the bytes
 * given, so that AddressSanitizer sees a read past them.  Whatever it
 * returns must keep wire.h's promises: every string lies inside the
 * data and ends in a NUL inside it; a reply's lines lie inside its
 * text, in order, no more than WIRE_MAX_LINES, under a 4xx or 5xx
 * code, each as libmilter takes it.  A packet framed with wire_begin()
 * and wire_end() counts its command and data, big-endian.
 */

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "../wire.h"
#include "check_escape.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
static void	check_string(const char *, const char *,
		    const unsigned char *, size_t);
static void	check_reply(char, const unsigned char *, size_t);
static void	check_optneg(const unsigned char *, size_t);
static void	check_lines(const char *, size_t);
static void	check_frame(char, const unsigned char *, size_t);
static uint32_t	get32(const unsigned char *);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	*d;
	char		*s;
	size_t		 len;

	if (size == 0)
		return 0;
	len = size - 1;
	/* Exactly the data, so that a read past it is caught. */
	if ((d = malloc(len > 0 ? len : 1)) == NULL ||
	    (s = malloc(len + 1)) == NULL)
		failx("out of memory");
	memcpy(d, data + 1, len);
	memcpy(s, data + 1, len);
	s[len] = '\0';

	check_reply((char)data[0], d, len);
	check_optneg(d, len);
	check_lines(s, len);
	check_frame((char)data[0], d, len);
	free(d);
	free(s);
	return 0;
}

/* s, named what, lies in data[0..len) and ends in a NUL there. */
static void
check_string(const char *what, const char *s, const unsigned char *data,
    size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;

	if (p < data || p >= data + len)
		failx("%s: a string outside the data", what);
	if (memchr(p, '\0', data + len - p) == NULL)
		failx("%s: a string without its NUL in the data", what);
}

static void
check_reply(char cmd, const unsigned char *data, size_t len)
{
	/* accept, continue, discard, reject, tempfail, skip, progress, */
	/* connection failure, shutdown */
	static const char	 bare[] = "acdrtspf4";
	struct wire_reply	 r;
	const char		*why = NULL;
	size_t			 used = 0;
	int			 strings;

	if (wire_reply(cmd, data, len, &r, &why) == -1) {
		if (why == NULL || *why == '\0')
			failx("wire_reply('%c'): refused without a reason",
			    cmd);
		return;
	}
	if (r.cmd != cmd)
		failx("wire_reply('%c'): cmd '%c'", cmd, r.cmd);
	if (r.text != NULL)
		check_string("text", r.text, data, len);
	if (r.name != NULL)
		check_string("name", r.name, data, len);
	if (r.value != NULL)
		check_string("value", r.value, data, len);
	if (r.value != NULL && r.value <= r.name)
		failx("wire_reply('%c'): the value before the name", cmd);
	if (r.data != NULL && (r.data != data || r.len != len))
		failx("wire_reply('%c'): a body other than the data", cmd);
	strings = (r.text != NULL) + (r.name != NULL) + (r.value != NULL);
	if (r.text != NULL)
		used += strlen(r.text) + 1;
	if (r.name != NULL)
		used += strlen(r.name) + 1;
	if (r.value != NULL)
		used += strlen(r.value) + 1;
	if (cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER)
		used += 4;
	if (r.data != NULL)
		used = r.len;
	/* Every byte is what the command carries, none left over. */
	if (used != len)
		failx("wire_reply('%c'): %zu of %zu bytes taken", cmd, used,
		    len);

	/* The answers that carry nothing (mfdef.h). */
	if (cmd != '\0' && strchr(bare, cmd) != NULL) {
		if (strings != 0 || r.data != NULL)
			failx("wire_reply('%c'): data for an answer without",
			    cmd);
		return;
	}
	/* What each other kind of reply must carry. */
	switch (cmd) {
	case SMFIR_REPLYCODE:
		if (r.text == NULL || strings != 1)
			failx("wire_reply('%c'): no text alone", cmd);
		/* As forward.c takes it apart. */
		check_lines(r.text, strlen(r.text));
		break;
	case SMFIR_QUARANTINE:
		if (r.text == NULL || strings != 1)
			failx("wire_reply('%c'): no text alone", cmd);
		break;
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (r.name == NULL || r.value == NULL || strings != 2)
			failx("wire_reply('%c'): no name and value", cmd);
		if (cmd != SMFIR_ADDHEADER && (len < 4 ||
		    r.index != get32(data) ||
		    r.name != (const char *)data + 4))
			failx("wire_reply('%c'): not the index first", cmd);
		break;
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM:
		if (r.name == NULL || r.text != NULL)
			failx("wire_reply('%c'): no address", cmd);
		if (r.value != NULL && (cmd == SMFIR_ADDRCPT ||
		    cmd == SMFIR_DELRCPT))
			failx("wire_reply('%c'): arguments", cmd);
		break;
	case SMFIR_REPLBODY:
		if (r.data != data || strings != 0)
			failx("wire_reply('%c'): not the body", cmd);
		break;
	default:
		failx("wire_reply('%c' 0x%02x): an unknown reply taken", cmd,
		    (unsigned char)cmd);
	}
}

static void
check_optneg(const unsigned char *data, size_t len)
{
	struct wire_optneg	 o;
	const char		*why = NULL;
	int			 i;

	if (wire_optneg(data, len, &o, &why) == -1) {
		if (why == NULL || *why == '\0')
			failx("wire_optneg: refused without a reason");
		return;
	}
	if (len < MILTER_OPTLEN)
		failx("wire_optneg: %zu bytes taken", len);
	if (o.version != get32(data) || o.actions != get32(data + 4) ||
	    o.steps != get32(data + 8))
		failx("wire_optneg: not the first 12 bytes, big-endian");
	for (i = 0; i < WIRE_LISTS; i++)
		if (o.lists[i] != NULL) {
			check_string("list", o.lists[i], data, len);
			if ((const unsigned char *)o.lists[i] <
			    data + MILTER_OPTLEN + 4)
				failx("wire_optneg: list %d in the options",
				    i);
		}
}

/* reply, len bytes and its NUL, as an SMTP reply. */
static void
check_lines(const char *reply, size_t len)
{
	struct wire_lines	 l;
	const char		*end = reply + len, *after = reply;
	size_t			 k;

	if (wire_reply_lines(reply, &l) == -1)
		return;
	if (l.n == 0 || l.n > WIRE_MAX_LINES)
		failx("wire_reply_lines: %zu lines", l.n);
	if ((l.code[0] != '4' && l.code[0] != '5') ||
	    !isdigit((unsigned char)l.code[1]) ||
	    !isdigit((unsigned char)l.code[2]) || l.code[3] != '\0')
		failx("wire_reply_lines: code \"%.4s\"", l.code);
	if (memcmp(l.code, reply, 3) != 0)
		failx("wire_reply_lines: not the first line's code");
	if (memchr(l.xcode, '\0', sizeof l.xcode) == NULL)
		failx("wire_reply_lines: the enhanced code without its NUL");
	if (l.xcode[0] != '\0' && strchr("245", l.xcode[0]) == NULL)
		failx("wire_reply_lines: enhanced code of class %c",
		    l.xcode[0]);
	if (l.xcode[0] != '\0' && strstr(reply, l.xcode) == NULL)
		failx("wire_reply_lines: an enhanced code not in the reply");
	for (k = 0; k < l.n; k++) {
		if (l.text[k] < after || l.text[k] > end ||
		    l.len[k] > (size_t)(end - l.text[k]))
			failx("wire_reply_lines: line %zu outside the reply "
			    "or out of order", k);
		if (memchr(l.text[k], '\0', l.len[k]) != NULL)
			failx("wire_reply_lines: line %zu holds a NUL", k);
		/* As smfi_setreply() and smfi_setmlreply() take it. */
		if (memchr(l.text[k], '\r', l.len[k]) != NULL ||
		    memchr(l.text[k], '\n', l.len[k]) != NULL)
			failx("wire_reply_lines: line %zu holds a CR or LF",
			    k);
		if (l.len[k] > WIRE_MAX_TEXT)
			failx("wire_reply_lines: line %zu of %zu bytes", k,
			    l.len[k]);
		after = l.text[k] + l.len[k];
	}
}

/* The data framed as a packet: 4 bytes of length, the command, the data. */
static void
check_frame(char cmd, const unsigned char *data, size_t len)
{
	struct buf	 b = { NULL, 0, 0 };
	size_t		 at;

	add(&b, "x", 1);
	at = wire_begin(&b, cmd);
	add(&b, data, len);
	wire_end(&b, at);
	if (at != 1 || b.len != 1 + 4 + 1 + len)
		failx("wire_begin: a packet of %zu bytes at %zu", b.len, at);
	if (get32((unsigned char *)b.data + 1) != 1 + len ||
	    b.data[5] != cmd || memcmp(b.data + 6, data, len) != 0 ||
	    b.data[0] != 'x')
		failx("wire_end: not the length of command and data");
	buf_free(&b);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}
