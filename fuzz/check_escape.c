/* check_escape.c -- what the fuzz targets hold escape.c's output to */
/* SPDX-License-Identifier: ISC */

/*
 * A reference escaper written from inspect(8)'s words, decoders for the
 * text and JSON escapes, and the checks that no output holds a raw
 * control byte, DEL, C1 control, bidirectional control or line separator
 * and that every escape decodes back to the very bytes given.  A broken
 * promise aborts, which libFuzzer reports as a crash with its input.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../escape.h"
#include "check_escape.h"

static void	put_utf8(struct buf *, uint32_t);
static void	put_hex(struct buf *, const char *, unsigned int, int);
static int	hexval(int, int);

/* The hexadecimal digits escape.c writes. */
static const char hexdigits[] = "0123456789abcdef";

void
failx(const char *fmt, ...)
{
	va_list	 ap;

	fputs("fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void
add(struct buf *b, const void *p, size_t len)
{
	if (buf_add(b, p, len) == -1)
		failx("out of memory");
}

/*
 * The length of the well-formed UTF-8 sequence at s (Unicode's table
 * 3-7), with its code point in *cp; 0 if there is none.  Written from the
 * table, not from print.c, so that the two can disagree.
 */
size_t
utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 len, i;
	uint32_t	 c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		c = c << 6 | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/* C1 controls, bidirectional controls, line and paragraph separators. */
int
unsafe(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e ||
	    c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

static void
put_utf8(struct buf *b, uint32_t c)
{
	unsigned char	 s[4];
	size_t		 n;

	if (c < 0x80) {
		s[0] = c;
		n = 1;
	} else if (c < 0x800) {
		s[0] = 0xc0 | c >> 6;
		s[1] = 0x80 | (c & 0x3f);
		n = 2;
	} else if (c < 0x10000) {
		s[0] = 0xe0 | c >> 12;
		s[1] = 0x80 | (c >> 6 & 0x3f);
		s[2] = 0x80 | (c & 0x3f);
		n = 3;
	} else {
		s[0] = 0xf0 | c >> 18;
		s[1] = 0x80 | (c >> 12 & 0x3f);
		s[2] = 0x80 | (c >> 6 & 0x3f);
		s[3] = 0x80 | (c & 0x3f);
		n = 4;
	}
	add(b, s, n);
}

static void
put_hex(struct buf *b, const char *prefix, unsigned int v, int digits)
{
	add(b, prefix, strlen(prefix));
	while (digits-- > 0)
		add(b, &hexdigits[(v >> (4 * digits)) & 0xf], 1);
}

/*
 * The escaping as inspect(8) and print.h describe it, for text (json 0)
 * or JSON (json 1): the one output print.c may give for s.
 */
void
ref_escape(struct buf *b, const void *s, size_t len, int json)
{
	const unsigned char	*p = s, *end = p + len;
	uint32_t		 cp;
	size_t			 n;

	while (p < end) {
		if (*p == '\\' || *p == '"') {
			add(b, "\\", 1);
			add(b, p++, 1);
		} else if (*p == '\t' || *p == '\n' || *p == '\r') {
			add(b, *p == '\t' ? "\\t" : *p == '\n' ? "\\n" : "\\r",
			    2);
			p++;
		} else if (*p < 0x20 || *p == 0x7f)
			put_hex(b, json ? "\\u00" : "\\x", *p++, 2);
		else if ((n = utf8_len(p, end - p, &cp)) == 0)
			put_hex(b, json ? "\\udc" : "\\x", *p++, 2);
		else if (unsafe(cp)) {
			put_hex(b, "\\u", cp, 4);
			p += n;
		} else {
			add(b, p, n);
			p += n;
		}
	}
}

/*
 * What reaches a terminal: only valid UTF-8, no control byte but the
 * line feeds that end lines (nl), no DEL, no C1, bidirectional or
 * separator code point.
 */
void
check_safe(const char *s, size_t len, int nl)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 i, n;

	for (i = 0; i < len; i += n) {
		if ((n = utf8_len(p + i, len - i, &cp)) == 0)
			failx("output byte %zu (0x%02x) is not UTF-8", i, p[i]);
		if ((cp < 0x20 && !(nl && cp == '\n')) || cp == 0x7f)
			failx("raw control 0x%02x at output byte %zu", cp, i);
		if (unsafe(cp))
			failx("raw U+%04X at output byte %zu", cp, i);
	}
}

/* The value of a hexadecimal digit; lowercase only unless anycase. */
static int
hexval(int c, int anycase)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (anycase && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Undo the text escapes \\ \" \t \n \r \xHH \uHHHH of s into out.
 * A raw '"', a lone '\\' or any other escape is an error (-1).
 */
int
text_decode(const char *s, size_t len, struct buf *out)
{
	size_t		 i = 0, k, digits;
	uint32_t	 v;
	int		 h;
	char		 c;

	while (i < len) {
		if (s[i] == '"')
			return -1;
		if (s[i] != '\\') {
			add(out, &s[i++], 1);
			continue;
		}
		if (i + 1 >= len)
			return -1;
		switch (s[i + 1]) {
		case '\\':
		case '"':
			c = s[i + 1];
			break;
		case 't':
			c = '\t';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 'x':
		case 'u':
			digits = s[i + 1] == 'x' ? 2 : 4;
			if (i + 2 + digits > len)
				return -1;
			for (v = 0, k = 0; k < digits; k++) {
				if ((h = hexval(s[i + 2 + k], 0)) == -1)
					return -1;
				v = v << 4 | h;
			}
			if (digits == 2) {
				c = (char)v;
				add(out, &c, 1);
			} else
				put_utf8(out, v);
			i += 2 + digits;
			continue;
		default:
			return -1;
		}
		add(out, &c, 1);
		i += 2;
	}
	return 0;
}

void
json_ws(struct json *js)
{
	while (js->p < js->end && (*js->p == ' ' || *js->p == '\t' ||
	    *js->p == '\n' || *js->p == '\r'))
		js->p++;
}

int
json_lit(struct json *js, const char *lit)
{
	size_t	 n = strlen(lit);

	json_ws(js);
	if ((size_t)(js->end - js->p) < n || memcmp(js->p, lit, n) != 0)
		return -1;
	js->p += n;
	return 0;
}

/*
 * A strict RFC 8259 string at js->p, decoded into out (if not NULL)
 * with the surrogateescape convention: a lone \udc80 to \udcff is that
 * byte.  Other lone surrogates, raw controls and invalid UTF-8 are
 * errors, since they could not give bytes back.
 */
int
json_string(struct json *js, struct buf *out)
{
	struct buf	 sink = { NULL, 0, 0 };
	const unsigned char *p;
	uint32_t	 u, lo, cp;
	size_t		 n;
	int		 k, h, rc = -1;
	char		 c;

	if (out == NULL)
		out = &sink;
	json_ws(js);
	if (js->p >= js->end || *js->p != '"')
		goto done;
	js->p++;
	while (js->p < js->end && *js->p != '"') {
		p = (const unsigned char *)js->p;
		if (*p < 0x20)
			goto done;
		if (*p != '\\') {
			if ((n = utf8_len(p, js->end - js->p, &cp)) == 0)
				goto done;
			add(out, p, n);
			js->p += n;
			continue;
		}
		if (js->end - js->p < 2)
			goto done;
		c = js->p[1];
		js->p += 2;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			add(out, &c, 1);
			continue;
		case 'b':
			add(out, "\b", 1);
			continue;
		case 'f':
			add(out, "\f", 1);
			continue;
		case 'n':
			add(out, "\n", 1);
			continue;
		case 'r':
			add(out, "\r", 1);
			continue;
		case 't':
			add(out, "\t", 1);
			continue;
		case 'u':
			break;
		default:
			goto done;
		}
		for (u = 0, k = 0; k < 4; k++) {
			if (js->p >= js->end ||
			    (h = hexval(*js->p++, 1)) == -1)
				goto done;
			u = u << 4 | h;
		}
		if (u >= 0xd800 && u <= 0xdbff) {
			/* A high surrogate is only half of a pair. */
			if (js->end - js->p < 6 || js->p[0] != '\\' ||
			    js->p[1] != 'u')
				goto done;
			js->p += 2;
			for (lo = 0, k = 0; k < 4; k++) {
				if ((h = hexval(*js->p++, 1)) == -1)
					goto done;
				lo = lo << 4 | h;
			}
			if (lo < 0xdc00 || lo > 0xdfff)
				goto done;
			put_utf8(out, 0x10000 + ((u - 0xd800) << 10) +
			    (lo - 0xdc00));
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			if (u < 0xdc80 || u > 0xdcff)
				goto done;
			c = (char)(u & 0xff);
			add(out, &c, 1);
		} else
			put_utf8(out, u);
	}
	if (js->p >= js->end)
		goto done;
	js->p++;
	rc = 0;
done:
	buf_free(&sink);
	return rc;
}

/* Whether b holds exactly the len bytes at p. */
int
equal(const struct buf *b, const void *p, size_t len)
{
	return b->len == len && (len == 0 || memcmp(b->data, p, len) == 0);
}

/* b must hold exactly the len bytes at p. */
void
same(const char *what, const struct buf *b, const void *p, size_t len)
{
	size_t	 i;

	if (equal(b, p, len))
		return;
	for (i = 0; i < b->len && i < len; i++)
		if (b->data[i] != ((const char *)p)[i])
			break;
	failx("%s: %zu bytes decoded for %zu given, first difference at "
	    "byte %zu", what, b->len, len, i);
}

/* escape_text() and escape_json() on the input itself. */
void
check_escapes(const uint8_t *data, size_t size)
{
	struct buf	 out = { NULL, 0, 0 }, ref = { NULL, 0, 0 };
	struct buf	 dec = { NULL, 0, 0 }, line = { NULL, 0, 0 };
	struct json	 js;

	/* Appending to what is already there must not disturb it. */
	add(&out, "prefix", 6);
	if (escape_text(&out, data, size) == -1)
		failx("escape_text failed");
	if (memcmp(out.data, "prefix", 6) != 0)
		failx("escape_text changed what was before");
	check_safe(out.data + 6, out.len - 6, 0);
	if (text_decode(out.data + 6, out.len - 6, &dec) == -1)
		failx("text escape does not decode");
	same("text escape", &dec, data, size);
	ref_escape(&ref, data, size, 0);
	if (!equal(&ref, out.data + 6, out.len - 6))
		failx("text escape is not the documented one");

	out.len = ref.len = dec.len = 0;
	if (escape_json(&out, data, size) == -1)
		failx("escape_json failed");
	check_safe(out.data, out.len, 0);
	add(&line, "\"", 1);
	add(&line, out.data, out.len);
	add(&line, "\"", 1);
	js.p = line.data;
	js.end = line.data + line.len;
	if (json_string(&js, &dec) == -1 || js.p != js.end)
		failx("JSON escape is not one JSON string");
	same("JSON escape", &dec, data, size);
	ref_escape(&ref, data, size, 1);
	if (!equal(&ref, out.data, out.len))
		failx("JSON escape is not the documented one");

	buf_free(&out);
	buf_free(&ref);
	buf_free(&dec);
	buf_free(&line);
}
