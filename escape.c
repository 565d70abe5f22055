/* escape.c -- the MTA's bytes made safe for a terminal, a log or JSON */
/* SPDX-License-Identifier: ISC */

/*
 * Everything the MTA sends is untrusted: this is where its bytes become
 * text that can move no cursor, reorder no line and end no string early,
 * and that decodes back to the very bytes sent.  fuzz/fuzz_escape.c
 * holds it to that.
 */

#include <stdint.h>
#include <string.h>

#include "escape.h"

static int	escape(struct buf *, const void *, size_t, int,
		    const char *, const char *);
static const unsigned char *plain_run(const unsigned char *,
		    const unsigned char *);
static size_t	utf8_decode(const unsigned char *, size_t, uint32_t *);
static int	unsafe_codepoint(uint32_t);
static int	put_hex(struct buf *, const char *, unsigned int, int);

static const char hexdigits[] = "0123456789abcdef";

int
escape_text(struct buf *out, const void *s, size_t len)
{
	return escape(out, s, len, 0, NULL, NULL);
}

int
escape_text_styled(struct buf *out, const void *s, size_t len,
    const char *on, const char *off)
{
	return escape(out, s, len, 0, on, off);
}

int
escape_json(struct buf *out, const void *s, size_t len)
{
	return escape(out, s, len, 1, NULL, NULL);
}

size_t
escape_cut(const unsigned char *s, size_t from, size_t at, size_t len)
{
	uint32_t	 cp;
	size_t		 k;

	for (k = 1; k <= 3 && at - k > from; k++)
		if ((s[at - k] & 0xc0) != 0x80)
			return utf8_decode(s + at - k, len - (at - k), &cp) >
			    k ? at - k : at;
	return at;
}

/*
 * The escaping of text (json 0) and JSON (json 1): alike but for ASCII
 * controls (\xHH or \u00HH) and bytes that are not UTF-8 (\xHH or
 * \udcHH).  With on and off (text only, non-empty), each run of escapes
 * is put between them.
 */
static int
escape(struct buf *out, const void *s, size_t len, int json,
    const char *on, const char *off)
{
	const unsigned char	*p = s, *end = p + len;
	uint32_t		 cp;
	size_t			 n, per = 6;
	char			 c;
	int			 hot = 0;	/* in a styled run */
	int			 styled = on != NULL && *on != '\0';

	/*
	 * Six output bytes per input byte is the worst case (\u00HH), and
	 * each byte could start and end a styled run.
	 */
	if (styled)
		per += strlen(on) + strlen(off);
	if (buf_grow(out, len < SIZE_MAX / per - 1 ? (len + 1) * per :
	    SIZE_MAX) == -1)
		return -1;
	while (p < end) {
		const unsigned char	*run = p;

		p = plain_run(p, end);
		if (p > run) {
			if (hot && buf_puts(out, off) == -1)
				return -1;
			hot = 0;
			memcpy(out->data + out->len, run, p - run);
			out->len += p - run;
			continue;
		}
		n = *p < 0x80 ? 0 : utf8_decode(p, end - p, &cp);
		if (styled && hot != (n == 0 || unsafe_codepoint(cp))) {
			hot = !hot;
			if (buf_puts(out, hot ? on : off) == -1)
				return -1;
		}
		switch (*p) {
		case '\\':
		case '"':
			c = *p;
			break;
		case '\t':
			c = 't';
			break;
		case '\n':
			c = 'n';
			break;
		case '\r':
			c = 'r';
			break;
		default:
			c = 0;
			break;
		}
		if (c != 0) {
			out->data[out->len++] = '\\';
			out->data[out->len++] = c;
			p++;
		} else if (*p < 0x80)
			put_hex(out, json ? "\\u00" : "\\x", *p++, 2);
		else if (n == 0)
			put_hex(out, json ? "\\udc" : "\\x", *p++, 2);
		else if (unsafe_codepoint(cp)) {
			put_hex(out, "\\u", cp, 4);
			p += n;
		} else {
			memcpy(out->data + out->len, p, n);
			out->len += n;
			p += n;
		}
	}
	return hot ? buf_puts(out, off) : 0;
}

/*
 * The end of the run of bytes from p that are written as they are:
 * printable ASCII but '\\' and '"'.  Eight bytes at a time while they
 * all are, as most of what an MTA sends is such text.
 */
static const unsigned char *
plain_run(const unsigned char *p, const unsigned char *end)
{
	const uint64_t	 ones = 0x0101010101010101ULL;
	const uint64_t	 highs = 0x8080808080808080ULL;
	uint64_t	 x, q, b;

	while (end - p >= 8) {
		memcpy(&x, p, 8);
		q = x ^ (ones * '"');
		b = x ^ (ones * '\\');
		/* A byte below 0x20, above 0x7e, a quote or a backslash. */
		if ((((x - ones * 0x20) & ~x) | ((x + ones) | x) |
		    ((q - ones) & ~q) | ((b - ones) & ~b)) & highs)
			break;
		p += 8;
	}
	while (p < end && *p >= 0x20 && *p < 0x7f && *p != '\\' &&
	    *p != '"')
		p++;
	return p;
}

/*
 * Decode the UTF-8 sequence at s.  Returns its length (2 to 4) with the
 * code point in *cp, or 0 if it is not a valid, shortest-form sequence of
 * a scalar value.  ASCII is the caller's business.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	 c;
	size_t		 len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * Code points that are valid but can move the cursor, reorder text or
 * end a line on a terminal: C1 controls, bidirectional controls and the
 * line and paragraph separators.
 */
static int
unsafe_codepoint(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e ||
	    c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

/* Append prefix and v as that many lowercase hexadecimal digits. */
static int
put_hex(struct buf *out, const char *prefix, unsigned int v, int digits)
{
	size_t	 plen = strlen(prefix);
	int	 i;

	if (buf_grow(out, plen + digits) == -1)
		return -1;
	memcpy(out->data + out->len, prefix, plen);
	out->len += plen;
	for (i = digits - 1; i >= 0; i--)
		out->data[out->len++] = hexdigits[(v >> (4 * i)) & 0xf];
	return 0;
}
