/* fuzz_print.c -- libFuzzer target for print.c's escaping and events */
/* SPDX-License-Identifier: ISC */

/*
 * The input is escaped for text and for JSON, and printed as body,
 * header, connect, helo, envfrom and unknown events in both formats.
 * Every output must keep what inspect(8) promises: no raw control byte,
 * DEL, C1 control, bidirectional control or line separator, only valid
 * UTF-8, exactly the documented escapes, valid JSON, and escapes that
 * decode back to the very bytes given.  In colour (--color always) the
 * text must be the same with inspect's own SGR sequences added and no
 * other ESC: no input becomes an escape sequence.  A broken promise aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../escape.h"
#include "../print.h"
#include "check_escape.h"

#define SESSION		UINT64_MAX	/* the widest "[session]" prefix */
#define SESSION_S	"18446744073709551615"
#define TIME_SEC	981173106	/* 2001-02-03T04:05:06Z */
#define TIME_NSEC	123456789
#define TIME		"2001-02-03T04:05:06.123456Z"
#define RUN		"20010203T040506Z-p4242"
#define CHUNK_LINE	1024		/* body bytes per text line, at most */
#define NPIECES		4		/* NUL-separated strings used */

/* One value an event must show: an argument, or a macro (mname set). */
struct field {
	const char	*key;
	const char	*mname;
	const void	*val;
	size_t		 len;
};

int		LLVMFuzzerTestOneInput(const uint8_t *, size_t);
static void	check_text_event(const char *, size_t, const char *,
		    const struct field *, size_t);
static const char *text_chunks(const char *, const char *, const char *,
		    const struct field *);
static const char *text_quoted(const char *, const char *,
		    const struct field *);
static size_t	text_main(const char *, const char **, const char *,
		    const struct field *, size_t);
static void	check_json_event(const char *, size_t, const char *,
		    const struct field *, size_t);
static int	json_number(struct json *, unsigned long long *);
static int	json_value(struct json *, int);
static void	json_expect_string(struct json *, const struct field *);
static void	json_args(struct json *, const struct field *, size_t,
		    size_t *);
static void	json_macros(struct json *, const struct field *, size_t,
		    size_t *);
static void	print_both(const struct event *, const struct field *,
		    size_t);
static void	check_color(const struct event *, const struct buf *);
static size_t	with_macros(struct field *, size_t, const struct macro *,
		    size_t);

/*
 * A text event: "[S] STAGE TIME", the stage's main fields on the same
 * line (text_main()), and then, in order, one line per other field:
 * "[S]  KEY: "VALUE"", "[S]  macro NAME: "VALUE"", or a body's "chunk:"
 * lines.
 */
static void
check_text_event(const char *s, size_t len, const char *stage,
    const struct field *f, size_t nf)
{
	struct buf	 dec = { NULL, 0, 0 }, head = { NULL, 0, 0 };
	const char	*p = s, *end = s + len, *nl, *colon, *key;
	const char	 prefix[] = "[" SESSION_S "]  ";
	char		 num[64];
	size_t		 i, nargs = 0;

	check_safe(s, len, 1);
	if (len == 0 || s[len - 1] != '\n')
		failx("text event does not end a line");
	add(&head, "[" SESSION_S "] ", strlen("[" SESSION_S "] "));
	add(&head, stage, strlen(stage));
	add(&head, " " TIME, strlen(" " TIME));
	if (len < head.len || memcmp(s, head.data, head.len) != 0)
		failx("text event: bad first line");
	p += head.len;
	i = text_main(stage, &p, end, f, nf);
	if (p >= end || *p++ != '\n')
		failx("text event: the first line goes on");
	if (strcmp(stage, "envfrom") == 0 || strcmp(stage, "envrcpt") == 0)
		nargs = i;

	for (; i < nf; i++) {
		if (strcmp(f[i].key, "chunk") == 0) {
			p = text_chunks(p, end, prefix, &f[i]);
			continue;
		}
		if ((nl = memchr(p, '\n', end - p)) == NULL ||
		    (size_t)(nl - p) < sizeof prefix - 1 ||
		    memcmp(p, prefix, sizeof prefix - 1) != 0)
			failx("text event: %s line missing", f[i].key);
		p += sizeof prefix - 1;
		if (strcmp(f[i].key, "length") == 0) {
			snprintf(num, sizeof num, "length: %zu", f[i].len);
			if ((size_t)(nl - p) != strlen(num) ||
			    memcmp(p, num, strlen(num)) != 0)
				failx("text event: bad length line");
			p = nl + 1;
			continue;
		}
		/* Text names the envelope's arguments. */
		key = f[i].key;
		if (strcmp(key, "arg") == 0)
			key = nargs++ == 0 ? "address" : "parameter";
		/* The first ': "' ends the key: an escaped " has a \. */
		colon = memmem(p, nl - p, ": \"", 3);
		if (colon == NULL || nl[-1] != '"' || nl - 1 < colon + 3)
			failx("text event: %s line is not KEY: \"VALUE\"",
			    f[i].key);
		dec.len = 0;
		if (f[i].mname != NULL) {
			if (colon - p < 6 || memcmp(p, "macro ", 6) != 0 ||
			    text_decode(p + 6, colon - p - 6, &dec) == -1)
				failx("text event: bad macro name");
			same("text macro name", &dec, f[i].mname,
			    strlen(f[i].mname));
		} else if ((size_t)(colon - p) != strlen(key) ||
		    memcmp(p, key, colon - p) != 0)
			failx("text event: key is not %s", key);
		dec.len = 0;
		if (text_decode(colon + 3, nl - 1 - (colon + 3), &dec) == -1)
			failx("text event: %s does not decode", f[i].key);
		same(f[i].key, &dec, f[i].val, f[i].len);
		p = nl + 1;
	}
	if (p != end)
		failx("text event: lines left over");
	buf_free(&dec);
	buf_free(&head);
}

/*
 * The fields the first line of a stage carries after its time, read at
 * *p (moved past them): body " N bytes", header " NAME: "VALUE"" (NAME
 * bare, or quoted if it must be), connect " "HOST" "ADDRESS"", helo,
 * unknown, envfrom and envrcpt " "VALUE"" (the envelope's address).
 * Returns how many fields it took.
 */
static size_t
text_main(const char *stage, const char **p, const char *end,
    const struct field *f, size_t nf)
{
	char		 num[64];
	const char	*s = *p, *colon;
	size_t		 n, take = 1;

	if (nf == 0 || f[0].mname != NULL)
		return 0;
	if (strcmp(stage, "body") == 0) {
		n = snprintf(num, sizeof num, " %zu bytes", f[0].len);
		if ((size_t)(end - s) < n || memcmp(s, num, n) != 0)
			failx("text body: no \"N bytes\" on the first line");
		*p = s + n;
		return 1;
	}
	if (strcmp(stage, "header") == 0) {
		if (end - s < 2 || *s++ != ' ')
			failx("text header: no name");
		if (*s == '"')
			s = text_quoted(s, end, &f[0]);
		else {
			if ((colon = memchr(s, ':', end - s)) == NULL ||
			    (size_t)(colon - s) != f[0].len ||
			    memcmp(s, f[0].val, f[0].len) != 0)
				failx("text header: bare name is not it");
			s = colon;
		}
		if (end - s < 2 || s[0] != ':' || s[1] != ' ')
			failx("text header: no \": \" after the name");
		*p = text_quoted(s + 2, end, &f[1]);
		return 2;
	}
	if (strcmp(stage, "connect") == 0)
		take = 2;
	else if (strcmp(stage, "helo") != 0 && strcmp(stage, "unknown") != 0 &&
	    strcmp(stage, "envfrom") != 0 && strcmp(stage, "envrcpt") != 0)
		return 0;
	for (n = 0; n < take && n < nf; n++) {
		if (s >= end || *s++ != ' ')
			failx("text %s: no space before a value", stage);
		s = text_quoted(s, end, &f[n]);
	}
	*p = s;
	return n;
}

/*
 * A value quoted and escaped at s, which must be f's; returns where it
 * ends.  An escaped quote has its backslash, so the first quote not
 * after one ends it.
 */
static const char *
text_quoted(const char *s, const char *end, const struct field *f)
{
	struct buf	 dec = { NULL, 0, 0 };
	const char	*q;

	if (s >= end || *s != '"')
		failx("text %s: not quoted", f->key);
	for (q = s + 1; q < end && *q != '"' && *q != '\n'; q++)
		if (*q == '\\')
			q++;
	if (q >= end || *q != '"')
		failx("text %s: no closing quote", f->key);
	if (text_decode(s + 1, q - s - 1, &dec) == -1)
		failx("text %s does not decode", f->key);
	same(f->key, &dec, f->val, f->len);
	buf_free(&dec);
	return q + 1;
}

/*
 * The "chunk:" lines of a text body: a new line after each line feed
 * and after at most CHUNK_LINE bytes, cut between characters; together
 * they are the chunk, and the escapes of the lines are those of the
 * whole chunk (so no character was split).  Returns where they end.
 */
static const char *
text_chunks(const char *p, const char *end, const char *prefix,
    const struct field *f)
{
	struct buf	 all = { NULL, 0, 0 }, esc = { NULL, 0, 0 };
	struct buf	 ref = { NULL, 0, 0 };
	const unsigned char *chunk = f->val;
	const char	*nl, *v;
	const char	 key[] = "chunk: \"";
	size_t		 plen = strlen(prefix), start, n, i;

	do {
		nl = memchr(p, '\n', end - p);
		if (nl == NULL || (size_t)(nl - p) < plen + sizeof key ||
		    memcmp(p, prefix, plen) != 0 ||
		    memcmp(p + plen, key, sizeof key - 1) != 0 ||
		    nl[-1] != '"')
			failx("text body: expected a chunk line");
		v = p + plen + sizeof key - 1;
		start = all.len;
		if (text_decode(v, nl - 1 - v, &all) == -1)
			failx("text body: chunk line does not decode");
		add(&esc, v, nl - 1 - v);
		n = all.len - start;
		if (n > CHUNK_LINE)
			failx("text body: %zu bytes on one line", n);
		if (n == 0 && f->len != 0)
			failx("text body: an empty chunk line");
		if (all.len > f->len)
			failx("text body: more bytes than the chunk");
		if (n > 1 && memchr(all.data + start, '\n', n - 1) != NULL)
			failx("text body: a line feed inside a line");
		/*
		 * Cut short of CHUNK_LINE only after a line feed, or to keep
		 * a character whole: then the line stops at most 3 bytes
		 * early, and every byte after the first up to the limit
		 * continues a character.
		 */
		if (all.len < f->len && n < CHUNK_LINE &&
		    all.data[all.len - 1] != '\n') {
			if (start + CHUNK_LINE - all.len > 3 ||
			    start + CHUNK_LINE >= f->len)
				failx("text body: line cut early");
			for (i = all.len + 1; i <= start + CHUNK_LINE; i++)
				if ((chunk[i] & 0xc0) != 0x80)
					failx("text body: line cut early");
		}
		p = nl + 1;
	} while (all.len < f->len);
	same("text body", &all, f->val, f->len);
	ref_escape(&ref, f->val, f->len, 0);
	if (!equal(&ref, esc.data, esc.len))
		failx("text body: lines cut inside a character");
	buf_free(&all);
	buf_free(&esc);
	buf_free(&ref);
	return p;
}

/* A non-negative integer, as inspect writes them. */
static int
json_number(struct json *js, unsigned long long *v)
{
	unsigned long long	 n = 0;
	const char		*start;

	json_ws(js);
	start = js->p;
	while (js->p < js->end && *js->p >= '0' && *js->p <= '9') {
		if (n > (UINT64_MAX - (*js->p - '0')) / 10)
			return -1;
		n = n * 10 + (*js->p++ - '0');
	}
	if (js->p == start || (*start == '0' && js->p - start > 1))
		return -1;
	*v = n;
	return 0;
}

/* Any JSON value, checked and skipped. */
static int
json_value(struct json *js, int depth)
{
	unsigned long long	 n;
	char			 close;

	if (depth > 16)
		return -1;
	json_ws(js);
	if (js->p >= js->end)
		return -1;
	switch (*js->p) {
	case '"':
		return json_string(js, NULL);
	case '{':
	case '[':
		close = *js->p == '{' ? '}' : ']';
		js->p++;
		if (json_lit(js, close == '}' ? "}" : "]") == 0)
			return 0;
		do {
			if (close == '}' && (json_string(js, NULL) == -1 ||
			    json_lit(js, ":") == -1))
				return -1;
			if (json_value(js, depth + 1) == -1)
				return -1;
		} while (json_lit(js, ",") == 0);
		return json_lit(js, close == '}' ? "}" : "]");
	case 't':
		return json_lit(js, "true");
	case 'f':
		return json_lit(js, "false");
	case 'n':
		return json_lit(js, "null");
	default:
		return json_number(js, &n);
	}
}

/* A string member's value must decode to the field. */
static void
json_expect_string(struct json *js, const struct field *f)
{
	struct buf	 dec = { NULL, 0, 0 };

	if (json_string(js, &dec) == -1)
		failx("JSON event: %s is not a string", f->key);
	same(f->key, &dec, f->val, f->len);
	buf_free(&dec);
}

/* "args": the "arg" fields in order. */
static void
json_args(struct json *js, const struct field *f, size_t nf, size_t *seen)
{
	size_t	 i;
	int	 first = 1;

	if (json_lit(js, "[") == -1)
		failx("JSON event: args is not an array");
	for (i = 0; i < nf; i++) {
		if (strcmp(f[i].key, "arg") != 0)
			continue;
		if (!first && json_lit(js, ",") == -1)
			failx("JSON event: args too short");
		json_expect_string(js, &f[i]);
		(*seen)++;
		first = 0;
	}
	if (json_lit(js, "]") == -1)
		failx("JSON event: args too long");
}

/* "macros": the macro fields in order, names as keys. */
static void
json_macros(struct json *js, const struct field *f, size_t nf,
    size_t *seen)
{
	struct buf	 dec = { NULL, 0, 0 };
	size_t		 i;
	int		 first = 1;

	if (json_lit(js, "{") == -1)
		failx("JSON event: macros is not an object");
	for (i = 0; i < nf; i++) {
		if (f[i].mname == NULL)
			continue;
		if (!first && json_lit(js, ",") == -1)
			failx("JSON event: macros too short");
		dec.len = 0;
		if (json_string(js, &dec) == -1 || json_lit(js, ":") == -1)
			failx("JSON event: bad macro name");
		same("JSON macro name", &dec, f[i].mname, strlen(f[i].mname));
		json_expect_string(js, &f[i]);
		(*seen)++;
		first = 0;
	}
	if (json_lit(js, "}") == -1)
		failx("JSON event: macros too long");
	buf_free(&dec);
}

/*
 * A JSON event: one line, one object, beginning with session and run,
 * with stage and time and a member for each field (args and macros
 * gathered), each decoding to exactly the bytes given.
 */
static void
check_json_event(const char *s, size_t len, const char *stage,
    const struct field *f, size_t nf)
{
	struct buf		 key = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	struct json		 js = { s, s + len };
	unsigned long long	 n;
	size_t			 i, seen = 0, member = 0;

	check_safe(s, len, 1);
	if (len == 0 || memchr(s, '\n', len) != s + len - 1)
		failx("JSON event is not one line");
	js.end--;
	if (json_lit(&js, "{") == -1)
		failx("JSON event is not an object");
	do {
		key.len = 0;
		if (json_string(&js, &key) == -1 || json_lit(&js, ":") == -1)
			failx("JSON event: bad member name");
		add(&key, "", 1);
		/* (run, session) names a session: both first, together. */
		if (member < 2 && strcmp(key.data, member == 0 ? "session" :
		    "run") != 0)
			failx("JSON event: %s where %s belongs", key.data,
			    member == 0 ? "session" : "run");
		member++;
		if (strcmp(key.data, "session") == 0) {
			if (json_number(&js, &n) == -1 || n != SESSION)
				failx("JSON event: bad session");
		} else if (strcmp(key.data, "run") == 0) {
			dec.len = 0;
			if (json_string(&js, &dec) == -1)
				failx("JSON event: bad run");
			same("run", &dec, RUN, strlen(RUN));
		} else if (strcmp(key.data, "stage") == 0) {
			dec.len = 0;
			if (json_string(&js, &dec) == -1)
				failx("JSON event: bad stage");
			same("stage", &dec, stage, strlen(stage));
		} else if (strcmp(key.data, "time") == 0) {
			dec.len = 0;
			if (json_string(&js, &dec) == -1)
				failx("JSON event: bad time");
			same("time", &dec, TIME, strlen(TIME));
		} else if (strcmp(key.data, "args") == 0)
			json_args(&js, f, nf, &seen);
		else if (strcmp(key.data, "macros") == 0)
			json_macros(&js, f, nf, &seen);
		else {
			for (i = 0; i < nf; i++)
				if (f[i].mname == NULL &&
				    strcmp(f[i].key, key.data) == 0)
					break;
			if (i == nf) {
				if (json_value(&js, 0) == -1)
					failx("JSON event: bad %s", key.data);
			} else if (strcmp(key.data, "length") == 0) {
				if (json_number(&js, &n) == -1 ||
				    n != f[i].len)
					failx("JSON event: bad length");
				seen++;
			} else {
				json_expect_string(&js, &f[i]);
				seen++;
			}
		}
	} while (json_lit(&js, ",") == 0);
	if (json_lit(&js, "}") == -1 || (json_ws(&js), js.p != js.end))
		failx("JSON event: junk after the object");
	if (seen != nf)
		failx("JSON event: %zu of %zu values found", seen, nf);
	buf_free(&key);
	buf_free(&dec);
}

/* Print ev in both formats, after something already in the buffer. */
static void
print_both(const struct event *ev, const struct field *f, size_t nf)
{
	struct buf	 out = { NULL, 0, 0 };
	const char	*stage = print_stage_names[ev->stage];
	size_t		 start;
	int		 format;

	for (format = FORMAT_TEXT; format <= FORMAT_JSON; format++) {
		out.len = 0;
		add(&out, "before\n", 7);
		start = out.len;
		if (print_event(&out, format, 0, ev) == -1)
			failx("print_event failed");
		if (memcmp(out.data, "before\n", 7) != 0)
			failx("print_event changed what was before");
		if (format == FORMAT_TEXT) {
			check_text_event(out.data + start, out.len - start,
			    stage, f, nf);
			out.len -= start;
			memmove(out.data, out.data + start, out.len);
			check_color(ev, &out);
		} else
			check_json_event(out.data + start, out.len - start,
			    stage, f, nf);
	}
	buf_free(&out);
}

/*
 * ev in colour is plain, the text without colour, with inspect's SGR
 * sequences added; any other ESC, or any other difference, fails.
 */
static void
check_color(const struct event *ev, const struct buf *plain)
{
	static const char *const sgr[] = { "\033[36m", "\033[1;35m",
	    "\033[33m", "\033[32m", "\033[7m", "\033[27m", "\033[1;31m",
	    "\033[0m" };
	struct buf	 out = { NULL, 0, 0 };
	size_t		 i, k = 0, n;

	if (print_event(&out, FORMAT_TEXT, 1, ev) == -1)
		failx("print_event failed in colour");
	for (i = 0; i < out.len; ) {
		for (n = 0; n < sizeof sgr / sizeof sgr[0]; n++)
			if (out.len - i >= strlen(sgr[n]) &&
			    memcmp(out.data + i, sgr[n], strlen(sgr[n])) == 0)
				break;
		if (n < sizeof sgr / sizeof sgr[0]) {
			i += strlen(sgr[n]);
			continue;
		}
		if (out.data[i] == '\033')
			failx("colour: an ESC not inspect's at byte %zu", i);
		if (k >= plain->len || out.data[i] != plain->data[k])
			failx("colour: differs from the plain text at byte %zu",
			    k);
		i++;
		k++;
	}
	if (k != plain->len)
		failx("colour: %zu bytes of text, not %zu", k, plain->len);
	buf_free(&out);
}

/* Append a field for each macro; returns the new count. */
static size_t
with_macros(struct field *f, size_t n, const struct macro *m, size_t nm)
{
	size_t	 i;

	for (i = 0; i < nm; i++)
		f[n++] = (struct field){ "macro", m[i].name, m[i].value,
		    strlen(m[i].value) };
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event		 ev;
	struct sockaddr_un	 sun;
	struct macro		 macros[3];
	struct field		 f[NPIECES + 3];
	struct buf		 addr = { NULL, 0, 0 };
	char			*copy, *piece[NPIECES], *args[NPIECES + 1];
	size_t			 i, n, off;

	check_escapes(data, size);

	/* The MTA's strings hold no NUL: cut the input at them. */
	if ((copy = malloc(size + 1)) == NULL)
		failx("out of memory");
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0, off = 0; i < NPIECES; i++) {
		piece[i] = copy + off;
		off += strlen(copy + off);
		if (off < size)
			off++;
	}

	memset(&ev, 0, sizeof ev);
	ev.session = SESSION;
	ev.run = RUN;
	ev.time.tv_sec = TIME_SEC;
	ev.time.tv_nsec = TIME_NSEC;
	macros[0] = (struct macro){ "j", piece[1] };
	macros[1] = (struct macro){ "{daemon_name}", piece[2] };
	/* Names come from the user's list, but are escaped all the same. */
	macros[2] = (struct macro){ piece[3], piece[0] };
	ev.macros = macros;
	ev.nmacros = 3;

	/* body: the whole input, NULs and all */
	ev.stage = STAGE_BODY;
	ev.chunk = data;
	ev.length = size;
	f[0] = (struct field){ "length", NULL, NULL, size };
	f[1] = (struct field){ "chunk", NULL, data, size };
	print_both(&ev, f, with_macros(f, 2, macros, 3));

	ev.stage = STAGE_HEADER;
	ev.name = piece[0];
	ev.value = piece[1];
	f[0] = (struct field){ "name", NULL, piece[0], strlen(piece[0]) };
	f[1] = (struct field){ "value", NULL, piece[1], strlen(piece[1]) };
	print_both(&ev, f, with_macros(f, 2, macros, 3));

	ev.stage = STAGE_HELO;
	print_both(&ev, f, with_macros(f, 1, macros, 3));
	ev.stage = STAGE_UNKNOWN;
	f[0].key = "command";
	print_both(&ev, f, with_macros(f, 1, macros, 3));

	/* envfrom: the address, then the ESMTP parameters */
	ev.stage = STAGE_ENVFROM;
	for (i = 0; i < NPIECES; i++) {
		args[i] = piece[i];
		f[i] = (struct field){ "arg", NULL, piece[i],
		    strlen(piece[i]) };
	}
	args[NPIECES] = NULL;
	ev.args = args;
	print_both(&ev, f, with_macros(f, NPIECES, macros, 3));

	/* connect from a unix socket whose path the MTA chose */
	ev.stage = STAGE_CONNECT;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	n = strnlen(piece[0], sizeof sun.sun_path - 1);
	memcpy(sun.sun_path, piece[0], n);
	ev.host = piece[1];
	ev.address = (struct sockaddr *)&sun;
	add(&addr, "unix:", 5);
	add(&addr, sun.sun_path, n);
	f[0] = (struct field){ "host", NULL, piece[1], strlen(piece[1]) };
	f[1] = (struct field){ "address", NULL, addr.data, addr.len };
	print_both(&ev, f, with_macros(f, 2, macros, 3));

	buf_free(&addr);
	free(copy);
	return 0;
}
