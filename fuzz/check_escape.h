/* check_escape.h -- what the fuzz targets hold escape.c's output to */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_CHECK_ESCAPE_H
#define INSPECT_CHECK_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "../buf.h"

/* A cursor over one JSON line. */
struct json {
	const char	*p;
	const char	*end;
};

/* Abort with a message, as libFuzzer's crash. */
void	failx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Append len bytes of p to b, or abort. */
void	add(struct buf *b, const void *p, size_t len);

/* The length of the valid UTF-8 character at s (2-4) and its *cp, or 0. */
size_t	utf8_len(const unsigned char *s, size_t n, uint32_t *cp);

/* Whether c is a code point no output may hold raw. */
int	unsafe(uint32_t c);

/*
 * s, len bytes of output, holds no raw control byte, DEL, C1 control,
 * bidirectional control or line separator, and only valid UTF-8; with
 * nl, line feeds end its lines.  Aborts if not.
 */
void	check_safe(const char *s, size_t len, int nl);

/* Append s escaped as inspect(8) says, for JSON if json, to b. */
void	ref_escape(struct buf *b, const void *s, size_t len, int json);

/* Decode text escapes in s into out.  Returns 0, or -1 if malformed. */
int	text_decode(const char *s, size_t len, struct buf *out);

/* JSON: skip white space; take lit; take a string, decoded into out. */
void	json_ws(struct json *js);
int	json_lit(struct json *js, const char *lit);
int	json_string(struct json *js, struct buf *out);

/* Whether b holds exactly the len bytes at p; abort if not (same()). */
int	equal(const struct buf *b, const void *p, size_t len);
void	same(const char *what, const struct buf *b, const void *p,
	    size_t len);

/* escape_text() and escape_json() on data: safe, documented, reversible. */
void	check_escapes(const uint8_t *data, size_t size);

#endif
