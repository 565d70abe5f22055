/* fuzz_escape.c -- libFuzzer target for escape.c alone */
/* SPDX-License-Identifier: ISC */

/*
 * The input is escaped for text, for styled text and for JSON.  Every
 * output must keep what inspect(8) promises (check_escape.c): safe for
 * a terminal, exactly the documented escapes, and decoding back to the
 * very bytes given.  Styled text is plain text with the style's markers
 * around runs of escapes, and nothing else.  escape_cut() stays in the
 * range it is given, never cuts nothing, and splits no valid UTF-8
 * character but one that begins where the range does.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../escape.h"
#include "check_escape.h"

/* Markers no escaping writes, standing for a terminal's styles. */
#define ON	"\x01<"
#define OFF	">\x01"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
static void	check_styled(const uint8_t *, size_t);
static void	check_cut(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_escapes(data, size);
	check_styled(data, size);
	check_cut(data, size);
	return 0;
}

static void
check_styled(const uint8_t *data, size_t size)
{
	struct buf	 plain = { NULL, 0, 0 }, styled = { NULL, 0, 0 };
	struct buf	 bare = { NULL, 0, 0 };
	const char	*p, *end;
	int		 on = 0;

	if (escape_text(&plain, data, size) == -1 ||
	    escape_text_styled(&styled, data, size, ON, OFF) == -1)
		failx("escaping failed");
	/* Take the markers out, in pairs, around escapes only. */
	for (p = styled.data, end = p + styled.len; p < end; ) {
		if (end - p >= 2 && memcmp(p, on ? OFF : ON, 2) == 0) {
			on = !on;
			p += 2;
			continue;
		}
		if (on && *p != '\\')
			failx("styled: a marked run holds '%c', not an escape",
			    *p);
		add(&bare, p, 1);
		/* An escape's own bytes, whatever they are. */
		if (on && *p == '\\') {
			p++;
			while (p < end && !(end - p >= 2 &&
			    memcmp(p, OFF, 2) == 0) && *p != '\\')
				add(&bare, p++, 1);
			continue;
		}
		p++;
	}
	if (on)
		failx("styled: a run left open");
	same("styled text without its markers", &bare, plain.data,
	    plain.len);
	buf_free(&plain);
	buf_free(&styled);
	buf_free(&bare);
}

static void
check_cut(const uint8_t *data, size_t size)
{
	uint32_t	 cp;
	size_t		 at, from, cut, k, n;

	if (size < 2)
		return;
	from = data[0] % size;
	for (at = from + 1; at <= size; at++) {
		cut = escape_cut(data, from, at, size);
		/* Never empty: a line cut there makes progress. */
		if (cut <= from || cut > at)
			failx("escape_cut(%zu, %zu) = %zu, out of range", from,
			    at, cut);
		/* No valid character spans the cut but one begun at from. */
		for (k = 1; k <= 3 && cut - k > from; k++)
			if (data[cut - k] >= 0xc2 &&
			    (n = utf8_len(data + cut - k, size - (cut - k),
			    &cp)) > k)
				failx("escape_cut(%zu, %zu) = %zu splits a "
				    "character", from, at, cut);
	}
}
