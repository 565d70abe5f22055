/* test_print.c -- unit tests for print.c */
/* SPDX-License-Identifier: ISC */

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "../../escape.h"
#include "../../print.h"

#define SESSION		42
#define TIME_SEC	981173106	/* 2001-02-03T04:05:06Z */
#define TIME_NSEC	123456789
#define TIME		"2001-02-03T04:05:06.123456Z"
#define RUN		"20010203T040506Z-p4242"
#define CHUNK_LINE	1024		/* bytes per body text line */
#define NRANDOM		4000

/* The macros every event below carries, and how they read back. */
#define MACROS_TEXT	"[42]  macro j: \"mx.example\"\n" \
			"[42]  macro {auth_type}: \"\"\n"
#define MACROS_JSON	"\"macros\": {\"j\": \"mx.example\", " \
			"\"{auth_type}\": \"\"}"

struct fixture {
	struct buf	 out;		/* what print.c wrote */
	struct buf	 aux;		/* decoded or expected bytes */
	struct buf	 res;		/* what the JSON checker said */
};

struct flagname {
	unsigned long	 bit;
	const char	*name;
};

struct sample {
	const char	*in;
	const char	*out;
};

static int	setup(void **);
static int	teardown(void **);
static const char *cstr(struct buf *);
static const char *address(const void *);
static uint64_t	rnd(void);
static size_t	random_buffer(unsigned char *, size_t);
static int	hexval(int);
static size_t	utf8_seq(const unsigned char *, size_t, uint32_t *);
static int	unsafe(uint32_t);
static void	put_utf8(struct buf *, uint32_t);
static int	text_unescape(const char *, size_t, struct buf *);
static void	text_byte(unsigned int, char *, size_t);
static void	assert_no_controls(const struct buf *, size_t);
static void	assert_text_lossless(struct fixture *, const void *, size_t);
static void	add_hex(struct buf *, const void *, size_t);
static int	write_temp(char *, const void *, size_t);
static void	run_checker(struct buf *, const char *, const struct buf *);
static void	assert_same_lines(const char *, const char *);
static void	json_string_line(struct fixture *, const void *, size_t);
static void	assert_json_roundtrip(struct fixture *);
static struct event base_event(enum stage);
static void	assert_event_text(struct fixture *, const struct event *,
		    const char *);
static void	assert_event_json(struct fixture *, const struct event *,
		    const char *);
static void	assert_body_text(struct fixture *, const unsigned char *,
		    size_t);
static void	assert_flags(struct fixture *, int, unsigned long,
		    const char *, const char *);

static const struct macro macros[] = {
	{ "j", "mx.example" },
	{ "{auth_type}", "" },
};

/* The names are those of the constants in <libmilter/mfapi.h>. */
static const struct flagname action_names[] = {
	{ SMFIF_ADDHDRS, "SMFIF_ADDHDRS" },
	{ SMFIF_CHGBODY, "SMFIF_CHGBODY" },
	{ SMFIF_ADDRCPT, "SMFIF_ADDRCPT" },
	{ SMFIF_DELRCPT, "SMFIF_DELRCPT" },
	{ SMFIF_CHGHDRS, "SMFIF_CHGHDRS" },
	{ SMFIF_QUARANTINE, "SMFIF_QUARANTINE" },
	{ SMFIF_CHGFROM, "SMFIF_CHGFROM" },
	{ SMFIF_ADDRCPT_PAR, "SMFIF_ADDRCPT_PAR" },
	{ SMFIF_SETSYMLIST, "SMFIF_SETSYMLIST" },
	{ 0, NULL }
};

static const struct flagname step_names[] = {
	{ SMFIP_NOCONNECT, "SMFIP_NOCONNECT" },
	{ SMFIP_NOHELO, "SMFIP_NOHELO" },
	{ SMFIP_NOMAIL, "SMFIP_NOMAIL" },
	{ SMFIP_NORCPT, "SMFIP_NORCPT" },
	{ SMFIP_NOBODY, "SMFIP_NOBODY" },
	{ SMFIP_NOHDRS, "SMFIP_NOHDRS" },
	{ SMFIP_NOEOH, "SMFIP_NOEOH" },
	{ SMFIP_NR_HDR, "SMFIP_NR_HDR" },
	{ SMFIP_NOUNKNOWN, "SMFIP_NOUNKNOWN" },
	{ SMFIP_NODATA, "SMFIP_NODATA" },
	{ SMFIP_SKIP, "SMFIP_SKIP" },
	{ SMFIP_RCPT_REJ, "SMFIP_RCPT_REJ" },
	{ SMFIP_NR_CONN, "SMFIP_NR_CONN" },
	{ SMFIP_NR_HELO, "SMFIP_NR_HELO" },
	{ SMFIP_NR_MAIL, "SMFIP_NR_MAIL" },
	{ SMFIP_NR_RCPT, "SMFIP_NR_RCPT" },
	{ SMFIP_NR_DATA, "SMFIP_NR_DATA" },
	{ SMFIP_NR_UNKN, "SMFIP_NR_UNKN" },
	{ SMFIP_NR_EOH, "SMFIP_NR_EOH" },
	{ SMFIP_NR_BODY, "SMFIP_NR_BODY" },
	{ SMFIP_HDR_LEADSPC, "SMFIP_HDR_LEADSPC" },
	{ SMFIP_MDS_256K, "SMFIP_MDS_256K" },
	{ SMFIP_MDS_1M, "SMFIP_MDS_1M" },
	{ 0, NULL }
};

/* Well-formed UTF-8 that a terminal shows as what it is. */
static const struct sample utf8_valid[] = {
	{ "\xc3\xa9", "\xc3\xa9" },				/* é */
	{ "\xe2\x82\xac", "\xe2\x82\xac" },			/* € */
	{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },		/* 😀 */
	{ "\xc2\xa0", "\xc2\xa0" },			/* first after C1 */
	{ "\xdf\xbf", "\xdf\xbf" },			/* U+07FF */
	{ "\xe0\xa0\x80", "\xe0\xa0\x80" },		/* U+0800 */
	{ "\xed\x9f\xbf", "\xed\x9f\xbf" },		/* U+D7FF */
	{ "\xee\x80\x80", "\xee\x80\x80" },		/* U+E000 */
	{ "\xef\xbf\xbf", "\xef\xbf\xbf" },		/* U+FFFF */
	{ "\xf0\x90\x80\x80", "\xf0\x90\x80\x80" },	/* U+10000 */
	{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" },	/* U+10FFFF */
	{ "\xd8\x9b", "\xd8\x9b" },			/* U+061B */
	{ "\xe2\x80\x90", "\xe2\x80\x90" },		/* U+2010 */
	{ "\xe2\x80\xa7", "\xe2\x80\xa7" },		/* U+2027 */
	{ "\xe2\x80\xaf", "\xe2\x80\xaf" },		/* U+202F */
	{ "na\xc3\xafve caf\xc3\xa9 \xe2\x82\xac" "5",
	    "na\xc3\xafve caf\xc3\xa9 \xe2\x82\xac" "5" },
	{ "\xe4\xb8\xad\xe6\x96\x87", "\xe4\xb8\xad\xe6\x96\x87" },
};

/* Not UTF-8: each byte on its own, so that nothing is lost. */
static const struct sample utf8_invalid_text[] = {
	{ "\xc0\x80", "\\xc0\\x80" },			/* overlong NUL */
	{ "\xc1\xbf", "\\xc1\\xbf" },			/* overlong 2 */
	{ "\xe0\x80\x80", "\\xe0\\x80\\x80" },		/* overlong 3 */
	{ "\xe0\x9f\xbf", "\\xe0\\x9f\\xbf" },		/* overlong 7FF */
	{ "\xf0\x80\x80\x80", "\\xf0\\x80\\x80\\x80" },	/* overlong 4 */
	{ "\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf" }, /* overlong */
	{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },		/* U+D800 */
	{ "\xed\xbf\xbf", "\\xed\\xbf\\xbf" },		/* U+DFFF */
	{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },	/* U+110000 */
	{ "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
	{ "\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80" },
	{ "\xfe\xff", "\\xfe\\xff" },
	{ "a\xc3", "a\\xc3" },				/* cut at end */
	{ "\xe2\x82", "\\xe2\\x82" },
	{ "\xf0\x9f\x98", "\\xf0\\x9f\\x98" },
	{ "\xe2\x82" "A", "\\xe2\\x82" "A" },		/* cut by ASCII */
	{ "\xc3\xc3\xa9", "\\xc3\xc3\xa9" },		/* and by UTF-8 */
	{ "\x80", "\\x80" },				/* continuation */
	{ "\xbf" "a", "\\xbf" "a" },
	{ "\xc3\xa9\xa9", "\xc3\xa9\\xa9" },
};

/* The same inputs, as JSON with the surrogateescape convention. */
static const struct sample utf8_invalid_json[] = {
	{ "\xc0\x80", "\\udcc0\\udc80" },
	{ "\xe0\x80\x80", "\\udce0\\udc80\\udc80" },
	{ "\xed\xa0\x80", "\\udced\\udca0\\udc80" },
	{ "\xf5\x80\x80\x80", "\\udcf5\\udc80\\udc80\\udc80" },
	{ "a\xc3", "a\\udcc3" },
	{ "\xf0\x9f\x98", "\\udcf0\\udc9f\\udc98" },
	{ "\x80", "\\udc80" },
	{ "\xc3\xc3\xa9", "\\udcc3\xc3\xa9" },
};

/* Valid code points that move the cursor, reorder text or end a line. */
static const struct sample unsafe_codepoints[] = {
	{ "\xd8\x9c", "\\u061c" },		/* ARABIC LETTER MARK */
	{ "\xe2\x80\x8e", "\\u200e" },		/* LRM */
	{ "\xe2\x80\x8f", "\\u200f" },		/* RLM */
	{ "\xe2\x80\xa8", "\\u2028" },		/* LINE SEPARATOR */
	{ "\xe2\x80\xa9", "\\u2029" },		/* PARAGRAPH SEPARATOR */
	{ "\xe2\x80\xaa", "\\u202a" },		/* LRE */
	{ "\xe2\x80\xab", "\\u202b" },		/* RLE */
	{ "\xe2\x80\xac", "\\u202c" },		/* PDF */
	{ "\xe2\x80\xad", "\\u202d" },		/* LRO */
	{ "\xe2\x80\xae", "\\u202e" },		/* RLO */
	{ "\xe2\x81\xa6", "\\u2066" },		/* LRI */
	{ "\xe2\x81\xa7", "\\u2067" },		/* RLI */
	{ "\xe2\x81\xa8", "\\u2068" },		/* FSI */
	{ "\xe2\x81\xa9", "\\u2069" },		/* PDI */
	{ "abc\xe2\x80\xae" "cba", "abc\\u202e" "cba" },
};

/*
 * Reads JSON lines the way a consumer would: strict UTF-8, no duplicate
 * keys.  "canon" prints each line back sorted; "string" each line's
 * string, and any other mode that member of each line's object, as the
 * hex of its bytes, undoing \udcHH with surrogateescape.
 */
static const char checker_py[] =
"import json, sys\n"
"def pairs(items):\n"
"    d = {}\n"
"    for k, v in items:\n"
"        if k in d:\n"
"            raise ValueError('duplicate key %r' % (k,))\n"
"        d[k] = v\n"
"    return d\n"
"mode, path = sys.argv[1], sys.argv[2]\n"
"with open(path, 'rb') as fp:\n"
"    data = fp.read()\n"
"if not data.endswith(b'\\n'):\n"
"    sys.exit('input does not end in a newline')\n"
"for line in data[:-1].split(b'\\n'):\n"
"    v = json.loads(line.decode('utf-8'), object_pairs_hook=pairs)\n"
"    if mode == 'canon':\n"
"        print(json.dumps(v, sort_keys=True))\n"
"        continue\n"
"    if mode != 'string':\n"
"        v = v[mode]\n"
"    if not isinstance(v, str):\n"
"        sys.exit('not a string: %r' % (v,))\n"
"    print(v.encode('utf-8', 'surrogateescape').hex())\n";

static uint64_t	rng_state;

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof *f)) == NULL)
		return -1;
	/* Every test sees the same "random" data. */
	rng_state = 0x9e3779b97f4a7c15ULL;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	buf_free(&f->out);
	buf_free(&f->aux);
	buf_free(&f->res);
	free(f);
	return 0;
}

/* The buffer as a C string, for assert_string_equal's diagnostics. */
static const char *
cstr(struct buf *b)
{
	assert_int_equal(buf_add(b, "", 1), 0);
	b->len--;
	return b->data;
}

/* xorshift64*: the same sequence on every platform. */
static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/*
 * Random bytes alone rarely form UTF-8; mixing in whole, cut and
 * ill-formed sequences makes every path of the escaper likely.
 */
static size_t
random_buffer(unsigned char *p, size_t size)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "\\", "\"", "\t", "\n", "\r", "\x1b", "\x7f",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc2\x85",
		"\xc2\x9f", "\xe2\x80\xae", "\xe2\x80\xa8", "\xd8\x9c",
		"\xe2\x81\xa6", "\xc0\x80", "\xed\xa0\x80", "\xf5\x80\x80\x80",
		"\xe2\x82", "\x80", "\xff", "\\x41", "\\u202e",
	};
	size_t		 n = 0, want, len, i;
	const char	*s;

	want = rnd() % size;
	while (n < want) {
		if (rnd() % 3 == 0) {
			p[n++] = (unsigned char)rnd();
			continue;
		}
		s = pieces[rnd() % (sizeof pieces / sizeof pieces[0])];
		len = strlen(s);
		for (i = 0; i < len && n < want; i++)
			p[n++] = (unsigned char)s[i];
	}
	return n;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One well-formed UTF-8 sequence of 2 to 4 bytes at s, or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	 c, min;
	size_t		 len, i;

	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* C1 controls, Unicode's bidirectional controls, U+2028 and U+2029. */
static int
unsafe(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e ||
	    c == 0x200f || c == 0x2028 || c == 0x2029 ||
	    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static void
put_utf8(struct buf *b, uint32_t c)
{
	unsigned char	 u[4];
	size_t		 n;

	if (c < 0x80) {
		u[0] = (unsigned char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = 0xc0 | c >> 6;
		u[1] = 0x80 | (c & 0x3f);
		n = 2;
	} else if (c < 0x10000) {
		u[0] = 0xe0 | c >> 12;
		u[1] = 0x80 | (c >> 6 & 0x3f);
		u[2] = 0x80 | (c & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | c >> 18;
		u[1] = 0x80 | (c >> 12 & 0x3f);
		u[2] = 0x80 | (c >> 6 & 0x3f);
		u[3] = 0x80 | (c & 0x3f);
		n = 4;
	}
	assert_int_equal(buf_add(b, u, n), 0);
}

/*
 * Undo the documented text escaping (\\ \" \t \n \r \xHH \uHHHH) into
 * out.  Anything the escaping promises never to leave is an error: a
 * raw control, DEL or '"', UTF-8 that is ill-formed or a code point that
 * should have been a \u escape, or any other backslash sequence.
 */
static int
text_unescape(const char *str, size_t len, struct buf *out)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, n;
	uint32_t		 c;
	int			 h[4];
	char			 ch;

	while (i < len) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"')
			return -1;
		if (s[i] >= 0x80) {
			if ((n = utf8_seq(s + i, len - i, &c)) == 0 ||
			    unsafe(c))
				return -1;
			assert_int_equal(buf_add(out, s + i, n), 0);
			i += n;
			continue;
		}
		if (s[i] != '\\') {
			assert_int_equal(buf_add(out, s + i++, 1), 0);
			continue;
		}
		if (++i == len)
			return -1;
		switch (s[i++]) {
		case '\\':
			ch = '\\';
			break;
		case '"':
			ch = '"';
			break;
		case 't':
			ch = '\t';
			break;
		case 'n':
			ch = '\n';
			break;
		case 'r':
			ch = '\r';
			break;
		case 'x':
			if (len - i < 2 || (h[0] = hexval(s[i])) == -1 ||
			    (h[1] = hexval(s[i + 1])) == -1)
				return -1;
			i += 2;
			ch = (char)(h[0] << 4 | h[1]);
			break;
		case 'u':
			if (len - i < 4 || (h[0] = hexval(s[i])) == -1 ||
			    (h[1] = hexval(s[i + 1])) == -1 ||
			    (h[2] = hexval(s[i + 2])) == -1 ||
			    (h[3] = hexval(s[i + 3])) == -1)
				return -1;
			i += 4;
			c = (uint32_t)(h[0] << 12 | h[1] << 8 | h[2] << 4 |
			    h[3]);
			if (c >= 0xd800 && c <= 0xdfff)
				return -1;
			put_utf8(out, c);
			continue;
		default:
			return -1;
		}
		assert_int_equal(buf_add(out, &ch, 1), 0);
	}
	return 0;
}

/* How the text escaping documents one byte that stands alone. */
static void
text_byte(unsigned int c, char *s, size_t size)
{
	switch (c) {
	case '\\':
		snprintf(s, size, "\\\\");
		break;
	case '"':
		snprintf(s, size, "\\\"");
		break;
	case '\t':
		snprintf(s, size, "\\t");
		break;
	case '\n':
		snprintf(s, size, "\\n");
		break;
	case '\r':
		snprintf(s, size, "\\r");
		break;
	default:
		if (c >= 0x20 && c < 0x7f)
			snprintf(s, size, "%c", c);
		else
			snprintf(s, size, "\\x%02x", c);
	}
}

/* A terminal acts on these; escaped output must never hold one. */
static void
assert_no_controls(const struct buf *b, size_t from)
{
	size_t		 i;
	unsigned char	 c;

	for (i = from; i < b->len; i++) {
		c = (unsigned char)b->data[i];
		if (c < 0x20 || c == 0x7f)
			fail_msg("raw byte 0x%02x at offset %zu", c, i - from);
	}
}

static void
assert_text_lossless(struct fixture *f, const void *s, size_t len)
{
	f->out.len = 0;
	f->aux.len = 0;
	assert_int_equal(escape_text(&f->out, s, len), 0);
	assert_no_controls(&f->out, 0);
	if (text_unescape(f->out.data, f->out.len, &f->aux) != 0)
		fail_msg("cannot read back \"%s\"", cstr(&f->out));
	assert_int_equal(f->aux.len, len);
	if (len > 0)
		assert_memory_equal(f->aux.data, s, len);
}

static void
add_hex(struct buf *b, const void *p, size_t len)
{
	const unsigned char	*s = p;
	char			 h[3];
	size_t			 i;

	for (i = 0; i < len; i++) {
		snprintf(h, sizeof h, "%02x", s[i]);
		assert_int_equal(buf_add(b, h, 2), 0);
	}
}

/* Returns 0, or -1 with path emptied so that nobody removes it. */
static int
write_temp(char *path, const void *data, size_t len)
{
	FILE	*fp;
	int	 fd, rc = 0;

	if ((fd = mkstemp(path)) == -1) {
		path[0] = '\0';
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	if (len > 0 && fwrite(data, 1, len, fp) != len)
		rc = -1;
	if (fclose(fp) == EOF)
		rc = -1;
	return rc;
}

/*
 * Feed lines to the Python checker in mode and leave its standard output
 * (and error, for the diagnostics) in res.
 */
static void
run_checker(struct buf *res, const char *mode, const struct buf *lines)
{
	char	 script[] = "/tmp/test_print.py.XXXXXX";
	char	 input[] = "/tmp/test_print.in.XXXXXX";
	char	 cmd[256], chunk[4096];
	FILE	*fp;
	size_t	 n;
	int	 written, status = -1;

	res->len = 0;
	written = write_temp(script, checker_py, strlen(checker_py)) == 0 &&
	    write_temp(input, lines->data, lines->len) == 0;
	if (written) {
		snprintf(cmd, sizeof cmd, "python3 %s %s %s 2>&1", script, mode,
		    input);
		if ((fp = popen(cmd, "r")) != NULL) {
			while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
				if (buf_add(res, chunk, n) == -1)
					break;
			status = pclose(fp);
		}
	}
	/* Before any assertion, which would leave this function. */
	if (script[0] != '\0')
		unlink(script);
	if (input[0] != '\0')
		unlink(input);
	if (!written)
		fail_msg("cannot write temporary files in /tmp");
	if (status != 0)
		fail_msg("python3 checker failed (status %d):\n%s", status,
		    cstr(res));
}

/* Report the first line that differs, not a wall of hex. */
static void
assert_same_lines(const char *got, const char *want)
{
	size_t	 line = 1, glen, wlen;

	for (;;) {
		glen = strcspn(got, "\n");
		wlen = strcspn(want, "\n");
		if (glen != wlen || memcmp(got, want, glen) != 0 ||
		    got[glen] != want[wlen])
			fail_msg("line %zu differs:\n got: %.*s\nwant: %.*s",
			    line, (int)glen, got, (int)wlen, want);
		if (got[glen] == '\0')
			return;
		got += glen + 1;
		want += wlen + 1;
		line++;
	}
}

/* One input for the "string" checker: a JSON string, and its hex. */
static void
json_string_line(struct fixture *f, const void *s, size_t len)
{
	size_t	 start;

	assert_int_equal(buf_puts(&f->out, "\""), 0);
	start = f->out.len;
	assert_int_equal(escape_json(&f->out, s, len), 0);
	assert_no_controls(&f->out, start);
	assert_int_equal(buf_puts(&f->out, "\"\n"), 0);
	add_hex(&f->aux, s, len);
	assert_int_equal(buf_puts(&f->aux, "\n"), 0);
}

static void
assert_json_roundtrip(struct fixture *f)
{
	run_checker(&f->res, "string", &f->out);
	assert_same_lines(cstr(&f->res), cstr(&f->aux));
}

static struct event
base_event(enum stage stage)
{
	struct event	 ev;

	memset(&ev, 0, sizeof ev);
	ev.session = SESSION;
	ev.run = RUN;
	ev.stage = stage;
	ev.time.tv_sec = TIME_SEC;
	ev.time.tv_nsec = TIME_NSEC;
	ev.macros = macros;
	ev.nmacros = sizeof macros / sizeof macros[0];
	return ev;
}

static void
assert_event_text(struct fixture *f, const struct event *ev,
    const char *want)
{
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_TEXT, 0, ev), 0);
	assert_int_equal(strlen(cstr(&f->out)), f->out.len);
	assert_string_equal(cstr(&f->out), want);
}

/* want is the event's JSON as Python's json.dumps(sort_keys=True). */
static void
assert_event_json(struct fixture *f, const struct event *ev,
    const char *want)
{
	char	*nl;

	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_JSON, 0, ev), 0);
	assert_true(f->out.len > 0);
	nl = memchr(f->out.data, '\n', f->out.len);
	if (nl != f->out.data + f->out.len - 1)
		fail_msg("not exactly one line: %s", cstr(&f->out));
	f->out.len--;
	assert_no_controls(&f->out, 0);
	f->out.len++;
	run_checker(&f->res, "canon", &f->out);
	f->aux.len = 0;
	assert_int_equal(buf_puts(&f->aux, want), 0);
	assert_int_equal(buf_puts(&f->aux, "\n"), 0);
	assert_string_equal(cstr(&f->res), cstr(&f->aux));
}

/*
 * A body in text is one "chunk" line per line of data: each line ends
 * after a LF, or after CHUNK_LINE bytes (up to 3 fewer so as not to cut a
 * UTF-8 character), whichever comes first, and the lines read back and
 * joined give the data again.
 */
static void
assert_body_text(struct fixture *f, const unsigned char *data, size_t len)
{
	static const char	 chunk[] = "[42]  chunk: \"";
	struct event		 ev = base_event(STAGE_BODY);
	char			 head[64];
	const char		*p, *end, *nl;
	const unsigned char	*piece;
	size_t			 start, plen, npieces = 0, prevlen = 0;
	int			 prevlf = 0;

	ev.chunk = data;
	ev.length = len;
	ev.nmacros = 0;
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_TEXT, 0, &ev), 0);
	p = f->out.data;
	end = p + f->out.len;
	snprintf(head, sizeof head, "[42] body " TIME " %zu bytes\n", len);
	assert_int_equal(strncmp(p, head, strlen(head)), 0);
	p += strlen(head);

	f->aux.len = 0;
	while (p < end) {
		assert_non_null(nl = memchr(p, '\n', end - p));
		if ((size_t)(nl - p) < sizeof chunk ||
		    memcmp(p, chunk, sizeof chunk - 1) != 0 || nl[-1] != '"')
			fail_msg("not a chunk line: %.*s", (int)(nl - p), p);
		start = f->aux.len;
		p += sizeof chunk - 1;
		if (text_unescape(p, nl - 1 - p, &f->aux) != 0)
			fail_msg("cannot read back %.*s", (int)(nl - 1 - p),
			    p);
		plen = f->aux.len - start;
		piece = (const unsigned char *)f->aux.data + start;
		if (len > 0 && plen == 0)
			fail_msg("empty chunk line %zu", npieces + 1);
		if (plen > CHUNK_LINE)
			fail_msg("chunk line %zu holds %zu bytes",
			    npieces + 1, plen);
		/* Early only to keep a UTF-8 character on one line. */
		if (npieces > 0 && !prevlf && prevlen != CHUNK_LINE &&
		    !(prevlen + 3 >= CHUNK_LINE &&
		    CHUNK_LINE - prevlen < plen &&
		    (piece[CHUNK_LINE - prevlen] & 0xc0) == 0x80))
			fail_msg("line %zu ends early, after %zu bytes",
			    npieces, prevlen);
		if (plen > 1 && memchr(piece, '\n', plen - 1) != NULL)
			fail_msg("chunk line %zu goes on after a LF",
			    npieces + 1);
		prevlf = plen > 0 && piece[plen - 1] == '\n';
		prevlen = plen;
		npieces++;
		p = nl + 1;
	}
	assert_true(npieces >= 1);
	if (len == 0)
		assert_int_equal(npieces, 1);
	assert_int_equal(f->aux.len, len);
	if (len > 0)
		assert_memory_equal(f->aux.data, data, len);
}

static void
assert_flags(struct fixture *f, int steps, unsigned long flags,
    const char *text, const char *json)
{
	f->out.len = 0;
	assert_int_equal(print_flag_names(&f->out, steps, flags, FORMAT_TEXT),
	    0);
	assert_string_equal(cstr(&f->out), text);
	f->out.len = 0;
	assert_int_equal(print_flag_names(&f->out, steps, flags, FORMAT_JSON),
	    0);
	assert_string_equal(cstr(&f->out), json);
}

static void
test_print_text_escape_single_bytes(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 c;
	char		 want[8];
	unsigned int	 i;

	for (i = 0; i < 256; i++) {
		c = (unsigned char)i;
		text_byte(i, want, sizeof want);
		f->out.len = 0;
		assert_int_equal(escape_text(&f->out, &c, 1), 0);
		if (strcmp(cstr(&f->out), want) != 0)
			fail_msg("byte 0x%02x: got \"%s\", want \"%s\"", i,
			    f->out.data, want);
	}
}

/*
 * Every byte at every place among plain text, which the escaping scans
 * eight bytes at a time: each must be caught wherever it stands.
 */
static void
test_print_text_escape_byte_in_plain_text(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 in[19];
	char		 want[64], one[8];
	unsigned int	 c;
	size_t		 at;

	for (c = 0; c < 256; c++)
		for (at = 0; at < sizeof in; at++) {
			memset(in, 'a', sizeof in);
			in[at] = (unsigned char)c;
			text_byte(c, one, sizeof one);
			snprintf(want, sizeof want, "%.*s%s%.*s", (int)at,
			    "aaaaaaaaaaaaaaaaaaa", one,
			    (int)(sizeof in - at - 1), "aaaaaaaaaaaaaaaaaaa");
			f->out.len = 0;
			assert_int_equal(escape_text(&f->out, in,
			    sizeof in), 0);
			if (f->out.len != strlen(want) ||
			    memcmp(f->out.data, want, f->out.len) != 0)
				fail_msg("byte 0x%02x at %zu: \"%s\", not "
				    "\"%s\"", c, at, cstr(&f->out), want);
		}
}

static void
test_print_text_escape_no_controls(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 all[256];
	unsigned int	 i;

	for (i = 0; i < 256; i++) {
		all[i] = (unsigned char)i;
		f->out.len = 0;
		assert_int_equal(escape_text(&f->out, all + i, 1), 0);
		assert_true(f->out.len > 0);
		assert_no_controls(&f->out, 0);
	}
	f->out.len = 0;
	assert_int_equal(escape_text(&f->out, all, sizeof all), 0);
	assert_no_controls(&f->out, 0);
	/* Nor a raw quote, which would end the string early. */
	assert_int_equal(text_unescape(f->out.data, f->out.len, &f->aux), 0);
}

static void
test_print_text_escape_appends(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(buf_puts(&f->out, "before "), 0);
	assert_int_equal(escape_text(&f->out, "a\tb", 3), 0);
	assert_string_equal(cstr(&f->out), "before a\\tb");
	assert_int_equal(escape_text(&f->out, "", 0), 0);
	assert_string_equal(cstr(&f->out), "before a\\tb");
	/* Only len bytes count, NUL included. */
	assert_int_equal(escape_text(&f->out, "x\0y", 2), 0);
	assert_string_equal(cstr(&f->out), "before a\\tbx\\x00");
}

static void
test_print_text_escape_utf8_valid(void **state)
{
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof utf8_valid / sizeof utf8_valid[0]; i++) {
		f->out.len = 0;
		assert_int_equal(escape_text(&f->out, utf8_valid[i].in,
		    strlen(utf8_valid[i].in)), 0);
		assert_string_equal(cstr(&f->out), utf8_valid[i].out);
	}
}

static void
test_print_text_escape_utf8_invalid(void **state)
{
	struct fixture	*f = *state;
	size_t		 i, n = sizeof utf8_invalid_text /
			    sizeof utf8_invalid_text[0];

	for (i = 0; i < n; i++) {
		f->out.len = 0;
		assert_int_equal(escape_text(&f->out,
		    utf8_invalid_text[i].in,
		    strlen(utf8_invalid_text[i].in)), 0);
		assert_string_equal(cstr(&f->out), utf8_invalid_text[i].out);
	}
}

static void
test_print_text_escape_unsafe_codepoints(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 c1[2];
	char		 want[8];
	size_t		 i, n = sizeof unsafe_codepoints /
			    sizeof unsafe_codepoints[0];

	/* U+0080 to U+009F: C1 controls, ESC [ on some terminals. */
	for (i = 0x80; i <= 0x9f; i++) {
		c1[0] = 0xc2;
		c1[1] = (unsigned char)i;
		snprintf(want, sizeof want, "\\u%04zx", i);
		f->out.len = 0;
		assert_int_equal(escape_text(&f->out, c1, 2), 0);
		assert_string_equal(cstr(&f->out), want);
	}
	for (i = 0; i < n; i++) {
		f->out.len = 0;
		assert_int_equal(escape_text(&f->out,
		    unsafe_codepoints[i].in, strlen(unsafe_codepoints[i].in)),
		    0);
		assert_string_equal(cstr(&f->out), unsafe_codepoints[i].out);
	}
}

static void
test_print_text_escape_lossless_single_bytes(void **state)
{
	unsigned char	 c;
	unsigned int	 i;

	for (i = 0; i < 256; i++) {
		c = (unsigned char)i;
		assert_text_lossless(*state, &c, 1);
	}
}

static void
test_print_text_escape_lossless_pairs(void **state)
{
	unsigned char	 p[2];
	unsigned int	 i;

	for (i = 0; i < 65536; i++) {
		p[0] = (unsigned char)(i >> 8);
		p[1] = (unsigned char)i;
		assert_text_lossless(*state, p, 2);
	}
}

static void
test_print_text_escape_lossless_random(void **state)
{
	unsigned char	 p[256];
	size_t		 len;
	int		 i;

	for (i = 0; i < NRANDOM; i++) {
		len = random_buffer(p, sizeof p);
		assert_text_lossless(*state, p, len);
	}
	for (i = 0; i < 256; i++)
		p[i] = (unsigned char)i;
	assert_text_lossless(*state, p, sizeof p);
}

static void
test_print_json_escape_single_bytes(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 c;
	char		 want[16];
	const char	*got;
	unsigned int	 i;

	for (i = 0; i < 256; i++) {
		c = (unsigned char)i;
		f->out.len = 0;
		assert_int_equal(escape_json(&f->out, &c, 1), 0);
		assert_no_controls(&f->out, 0);
		got = cstr(&f->out);
		if (i == '\\' || i == '"')
			snprintf(want, sizeof want, "\\%c", i);
		else if (i >= 0x20 && i < 0x7f)
			snprintf(want, sizeof want, "%c", i);
		else if (i < 0x80)
			snprintf(want, sizeof want, "\\u%04x", i);
		else
			snprintf(want, sizeof want, "\\udc%02x", i);
		/* JSON's own short forms are as good for these three. */
		if ((i == '\t' && strcmp(got, "\\t") == 0) ||
		    (i == '\n' && strcmp(got, "\\n") == 0) ||
		    (i == '\r' && strcmp(got, "\\r") == 0))
			continue;
		if (strcmp(got, want) != 0)
			fail_msg("byte 0x%02x: got \"%s\", want \"%s\"", i, got,
			    want);
	}
}

static void
test_print_json_escape_parse_single_bytes(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 all[256];
	unsigned int	 i;

	f->out.len = f->aux.len = 0;
	for (i = 0; i < 256; i++) {
		all[i] = (unsigned char)i;
		json_string_line(f, all + i, 1);
	}
	json_string_line(f, all, sizeof all);
	json_string_line(f, "", 0);
	assert_json_roundtrip(f);
}

static void
test_print_json_escape_parse_pairs(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 p[2];
	unsigned int	 i;

	f->out.len = f->aux.len = 0;
	for (i = 0; i < 65536; i++) {
		p[0] = (unsigned char)(i >> 8);
		p[1] = (unsigned char)i;
		json_string_line(f, p, 2);
	}
	assert_json_roundtrip(f);
}

static void
test_print_json_escape_utf8(void **state)
{
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof utf8_valid / sizeof utf8_valid[0]; i++) {
		f->out.len = 0;
		assert_int_equal(escape_json(&f->out, utf8_valid[i].in,
		    strlen(utf8_valid[i].in)), 0);
		assert_string_equal(cstr(&f->out), utf8_valid[i].out);
	}
	for (i = 0; i < sizeof utf8_invalid_json /
	    sizeof utf8_invalid_json[0]; i++) {
		f->out.len = 0;
		assert_int_equal(escape_json(&f->out,
		    utf8_invalid_json[i].in,
		    strlen(utf8_invalid_json[i].in)), 0);
		assert_string_equal(cstr(&f->out), utf8_invalid_json[i].out);
	}

	f->out.len = f->aux.len = 0;
	for (i = 0; i < sizeof utf8_valid / sizeof utf8_valid[0]; i++)
		json_string_line(f, utf8_valid[i].in,
		    strlen(utf8_valid[i].in));
	for (i = 0; i < sizeof utf8_invalid_text /
	    sizeof utf8_invalid_text[0]; i++)
		json_string_line(f, utf8_invalid_text[i].in,
		    strlen(utf8_invalid_text[i].in));
	for (i = 0; i < sizeof unsafe_codepoints /
	    sizeof unsafe_codepoints[0]; i++)
		json_string_line(f, unsafe_codepoints[i].in,
		    strlen(unsafe_codepoints[i].in));
	assert_json_roundtrip(f);
}

static void
test_print_json_escape_unsafe_codepoints(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 c1[2];
	char		 want[8];
	size_t		 i, n = sizeof unsafe_codepoints /
			    sizeof unsafe_codepoints[0];

	for (i = 0x80; i <= 0x9f; i++) {
		c1[0] = 0xc2;
		c1[1] = (unsigned char)i;
		snprintf(want, sizeof want, "\\u%04zx", i);
		f->out.len = 0;
		assert_int_equal(escape_json(&f->out, c1, 2), 0);
		assert_string_equal(cstr(&f->out), want);
	}
	for (i = 0; i < n; i++) {
		f->out.len = 0;
		assert_int_equal(escape_json(&f->out,
		    unsafe_codepoints[i].in, strlen(unsafe_codepoints[i].in)),
		    0);
		assert_string_equal(cstr(&f->out), unsafe_codepoints[i].out);
	}
}

static void
test_print_json_escape_random(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 p[200];
	size_t		 len;
	int		 i;

	f->out.len = f->aux.len = 0;
	for (i = 0; i < NRANDOM; i++) {
		len = random_buffer(p, sizeof p);
		json_string_line(f, p, len);
	}
	assert_json_roundtrip(f);
}

static void
test_print_event_negotiate(void **state)
{
	struct event		 ev = base_event(STAGE_NEGOTIATE);
	struct negotiation	 ng;

	ng.offered_actions = SMFIF_ADDHDRS | SMFIF_QUARANTINE |
	    SMFIF_SETSYMLIST;
	/* 0x40000000 is reserved in <libmilter/mfdef.h>: never named. */
	ng.offered_steps = SMFIP_NOCONNECT | SMFIP_RCPT_REJ | 0x40000000UL;
	ng.asked_actions = 0;
	ng.asked_steps = SMFIP_NR_HDR | SMFIP_RCPT_REJ;
	ng.missing_actions = 0;
	ng.told = 0;
	ng.mta_steps = 0;
	ng.told_version = 0;
	ng.told_steps = 0;
	ev.negotiation = &ng;
	assert_event_text(*state, &ev,
	    "[42] negotiate " TIME "\n"
	    "[42]  offered actions: 0x00000121 "
	    "SMFIF_ADDHDRS|SMFIF_QUARANTINE|SMFIF_SETSYMLIST\n"
	    "[42]  offered steps: 0x40000801 "
	    "SMFIP_NOCONNECT|SMFIP_RCPT_REJ|0x40000000\n"
	    "[42]  answered actions: 0x00000000\n"
	    "[42]  answered steps: 0x00000880 SMFIP_NR_HDR|SMFIP_RCPT_REJ\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"answered\": {\"action_flags\": [], \"actions\": 0, "
	    "\"step_flags\": [\"SMFIP_NR_HDR\", \"SMFIP_RCPT_REJ\"], "
	    "\"steps\": 2176}, " MACROS_JSON ", "
	    "\"offered\": {\"action_flags\": [\"SMFIF_ADDHDRS\", "
	    "\"SMFIF_QUARANTINE\", \"SMFIF_SETSYMLIST\"], \"actions\": 289, "
	    "\"step_flags\": [\"SMFIP_NOCONNECT\", \"SMFIP_RCPT_REJ\", "
	    "\"0x40000000\"], \"steps\": 1073743873}, "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"negotiate\", \"time\": \"" TIME
	    "\"}");
}

/*
 * Long lists of flags are cut after a '|' into lines of at most 160
 * columns, continued by four spaces, whatever the session number or
 * colour; joined again they are the whole list.
 */
static void
test_print_event_negotiate_wrapped(void **state)
{
	static const struct negotiation	 ng = { 0x1ff, 0x1fffff, 0, 0x1ff880,
	    0, 0, 0, 0, 0 };
	struct fixture	*f = *state;
	struct event	 ev = base_event(STAGE_NEGOTIATE);
	const char	*p, *nl;
	size_t		 lines;
	int		 color;

	ev.negotiation = &ng;
	ev.nmacros = 0;
	ev.version = 6;
	assert_event_text(*state, &ev,
	    "[42] negotiate " TIME " version 6\n"
	    "[42]  offered actions: 0x000001ff SMFIF_ADDHDRS|SMFIF_CHGBODY|"
	    "SMFIF_ADDRCPT|SMFIF_DELRCPT|SMFIF_CHGHDRS|SMFIF_QUARANTINE|"
	    "SMFIF_CHGFROM|SMFIF_ADDRCPT_PAR|\n"
	    "[42]    SMFIF_SETSYMLIST\n"
	    "[42]  offered steps: 0x001fffff SMFIP_NOCONNECT|SMFIP_NOHELO|"
	    "SMFIP_NOMAIL|SMFIP_NORCPT|SMFIP_NOBODY|SMFIP_NOHDRS|SMFIP_NOEOH|"
	    "SMFIP_NR_HDR|SMFIP_NOUNKNOWN|\n"
	    "[42]    SMFIP_NODATA|SMFIP_SKIP|SMFIP_RCPT_REJ|SMFIP_NR_CONN|"
	    "SMFIP_NR_HELO|SMFIP_NR_MAIL|SMFIP_NR_RCPT|SMFIP_NR_DATA|"
	    "SMFIP_NR_UNKN|SMFIP_NR_EOH|SMFIP_NR_BODY|\n"
	    "[42]    SMFIP_HDR_LEADSPC\n"
	    "[42]  answered actions: 0x00000000\n"
	    "[42]  answered steps: 0x001ff880 SMFIP_NR_HDR|SMFIP_RCPT_REJ|"
	    "SMFIP_NR_CONN|SMFIP_NR_HELO|SMFIP_NR_MAIL|SMFIP_NR_RCPT|"
	    "SMFIP_NR_DATA|SMFIP_NR_UNKN|SMFIP_NR_EOH|\n"
	    "[42]    SMFIP_NR_BODY|SMFIP_HDR_LEADSPC\n");
	/* The widest tag, plain and coloured: no line over 160 columns. */
	ev.session = UINT64_MAX;
	for (color = 0; color <= 1; color++) {
		f->out.len = 0;
		assert_int_equal(print_event(&f->out, FORMAT_TEXT, color, &ev),
		    0);
		assert_int_equal(buf_add(&f->out, "", 1), 0);
		if (color)
			continue;
		for (p = f->out.data, lines = 0; *p != '\0'; p = nl + 1) {
			assert_non_null(nl = strchr(p, '\n'));
			assert_true(nl - p <= 160);
			lines++;
		}
		assert_int_equal(lines, 9);
	}
}

/*
 * A negotiation the same as an earlier session's is one line in text;
 * JSON shows it whole.  The key that decides it is the text block but
 * for the session and the time.
 */
static void
test_print_event_negotiate_same(void **state)
{
	static const struct negotiation	 ng = { 0x1ff, 0x1fffff, 0, 0x800,
	    0, 0, 0, 0, 0 };
	struct fixture	*f = *state;
	struct event	 ev = base_event(STAGE_NEGOTIATE);
	struct buf	 key = { NULL, 0, 0 };

	ev.negotiation = &ng;
	ev.nmacros = 0;
	ev.version = 6;
	ev.same_as = 7;
	assert_event_text(*state, &ev,
	    "[42] negotiate " TIME " as in session 7\n");
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_JSON, 0, &ev), 0);
	assert_int_equal(buf_add(&f->out, "", 1), 0);
	assert_non_null(strstr(f->out.data, "\"offered\":{\"actions\":511,"));

	assert_int_equal(print_negotiation_key(&key, &ev), 0);
	assert_int_equal(buf_add(&key, "", 1), 0);
	assert_non_null(strstr(key.data, "[0] negotiate "
	    "1970-01-01T00:00:00.000000Z version 6\n[0]  offered actions: "));
	assert_null(strstr(key.data, "as in"));
	assert_null(strstr(key.data, "\033"));
	buf_free(&key);
}

/*
 * What the MTA was told, where it is not what inspect asked for: the
 * steps libmilter withheld, and its own version where it is older.
 */
static void
test_print_event_negotiate_told(void **state)
{
	struct event		 ev = base_event(STAGE_NEGOTIATE);
	struct negotiation	 ng;

	ng.offered_actions = SMFIF_ADDHDRS;
	ng.offered_steps = SMFIP_NR_HDR | SMFIP_RCPT_REJ;
	ng.asked_actions = SMFIF_ADDHDRS;
	ng.asked_steps = SMFIP_NR_HDR | SMFIP_RCPT_REJ;
	ng.missing_actions = 0;
	ng.told = 1;
	ng.mta_steps = SMFIP_RCPT_REJ;
	ng.told_version = 6;
	ng.told_steps = SMFIP_RCPT_REJ;
	ev.negotiation = &ng;
	ev.version = 7;
	assert_event_text(*state, &ev,
	    "[42] negotiate " TIME " version 7\n"
	    "[42]  offered actions: 0x00000001 SMFIF_ADDHDRS\n"
	    "[42]  offered steps: 0x00000880 SMFIP_NR_HDR|SMFIP_RCPT_REJ\n"
	    "[42]  answered version: 6\n"
	    "[42]  answered actions: 0x00000001 SMFIF_ADDHDRS\n"
	    "[42]  answered steps: 0x00000800 SMFIP_RCPT_REJ\n"
	    "[42]  asked steps: 0x00000880 SMFIP_NR_HDR|SMFIP_RCPT_REJ\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"answered\": {\"action_flags\": [\"SMFIF_ADDHDRS\"], "
	    "\"actions\": 1, \"step_flags\": [\"SMFIP_RCPT_REJ\"], "
	    "\"steps\": 2048}, \"answered_version\": 6, "
	    "\"asked\": {\"action_flags\": [\"SMFIF_ADDHDRS\"], "
	    "\"actions\": 1, \"step_flags\": [\"SMFIP_NR_HDR\", "
	    "\"SMFIP_RCPT_REJ\"], \"steps\": 2176}, " MACROS_JSON ", "
	    "\"offered\": {\"action_flags\": [\"SMFIF_ADDHDRS\"], "
	    "\"actions\": 1, \"step_flags\": [\"SMFIP_NR_HDR\", "
	    "\"SMFIP_RCPT_REJ\"], \"steps\": 2176}, "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"negotiate\", \"time\": \"" TIME
	    "\", \"version\": 7}");

	/* Told as asked: one answer, whatever the version. */
	ng.told_version = 7;
	ng.told_steps = ng.asked_steps;
	assert_event_text(*state, &ev,
	    "[42] negotiate " TIME " version 7\n"
	    "[42]  offered actions: 0x00000001 SMFIF_ADDHDRS\n"
	    "[42]  offered steps: 0x00000880 SMFIP_NR_HDR|SMFIP_RCPT_REJ\n"
	    "[42]  answered actions: 0x00000001 SMFIF_ADDHDRS\n"
	    "[42]  answered steps: 0x00000880 SMFIP_NR_HDR|SMFIP_RCPT_REJ\n"
	    MACROS_TEXT);
}

static void
test_print_event_connect(void **state)
{
	struct event		 ev = base_event(STAGE_CONNECT);
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4660);
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), 1);
	ev.host = "client.example";
	ev.address = (const struct sockaddr *)&sin;
	assert_event_text(*state, &ev,
	    "[42] connect " TIME " \"client.example\" \"inet:4660@[192.0.2.1]\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"address\": \"inet:4660@[192.0.2.1]\", \"family\": \"inet\", "
	    "\"host\": \"client.example\", \"ip\": \"192.0.2.1\", "
	    MACROS_JSON ", \"port\": 4660, "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"connect\", \"time\": \"" TIME
	    "\"}");
}

/*
 * The path of a unix socket comes from the MTA: it is escaped too.  JSON
 * gives each family's parts besides the address.
 */
static void
test_print_event_connect_other_addresses(void **state)
{
	static const char	 path[] = "/run/a\"b\x01\xff.sock";
	struct event		 ev = base_event(STAGE_CONNECT);
	struct sockaddr_un	 sun;
	struct sockaddr_in6	 sin6;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, sizeof path);
	ev.host = "localhost";
	ev.address = (const struct sockaddr *)&sun;
	ev.nmacros = 0;
	assert_event_text(*state, &ev,
	    "[42] connect " TIME " \"localhost\" "
	    "\"unix:/run/a\\\"b\\x01\\xff.sock\"\n");
	assert_event_json(*state, &ev,
	    "{\"address\": \"unix:/run/a\\\"b\\u0001\\udcff.sock\", "
	    "\"family\": \"unix\", \"host\": \"localhost\", \"macros\": {}, "
	    "\"path\": \"/run/a\\\"b\\u0001\\udcff.sock\", "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"connect\", \"time\": \"" TIME
	    "\"}");

	memset(&sin6, 0, sizeof sin6);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(25);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr),
	    1);
	ev.host = "[2001:db8::1]";
	ev.address = (const struct sockaddr *)&sin6;
	assert_event_json(*state, &ev,
	    "{\"address\": \"inet6:25@[2001:db8::1]\", \"family\": \"inet6\", "
	    "\"host\": \"[2001:db8::1]\", \"ip\": \"2001:db8::1\", "
	    "\"macros\": {}, \"port\": 25, \"run\": \"" RUN
	    "\", \"session\": 42, "
	    "\"stage\": \"connect\", \"time\": \"" TIME "\"}");

	ev.host = "unknown";
	ev.address = NULL;
	assert_event_text(*state, &ev,
	    "[42] connect " TIME " \"unknown\" \"unknown\"\n");
	assert_event_json(*state, &ev,
	    "{\"address\": \"unknown\", \"family\": \"unknown\", "
	    "\"host\": \"unknown\", \"macros\": {}, \"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"connect\", "
	    "\"time\": \"" TIME "\"}");
}

static void
test_print_event_helo(void **state)
{
	struct event	 ev = base_event(STAGE_HELO);

	ev.name = "client.example";
	assert_event_text(*state, &ev,
	    "[42] helo " TIME " \"client.example\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{" MACROS_JSON ", \"name\": \"client.example\", "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"helo\", \"time\": \"" TIME
	    "\"}");

	/* What a hostile client may say, shown and not obeyed. */
	ev.name = "he\x01llo\xff\xe2\x80\xae\x1b[2J\"";
	assert_event_text(*state, &ev,
	    "[42] helo " TIME " \"he\\x01llo\\xff\\u202e\\x1b[2J\\\"\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{" MACROS_JSON ", "
	    "\"name\": \"he\\u0001llo\\udcff\\u202e\\u001b[2J\\\"\", "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"helo\", \"time\": \"" TIME
	    "\"}");
}

static void
test_print_event_envfrom(void **state)
{
	static char	 a0[] = "<a@example.org>";
	static char	 a1[] = "SIZE=1000";
	static char	 a2[] = "BODY=8BITMIME";
	static char	 null[] = "";
	char		*args[] = { a0, a1, a2, NULL };
	struct event	 ev = base_event(STAGE_ENVFROM);

	ev.args = args;
	assert_event_text(*state, &ev,
	    "[42] envfrom " TIME " \"<a@example.org>\"\n"
	    "[42]  parameter: \"SIZE=1000\"\n"
	    "[42]  parameter: \"BODY=8BITMIME\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"address\": \"<a@example.org>\", "
	    "\"args\": [\"<a@example.org>\", \"SIZE=1000\", "
	    "\"BODY=8BITMIME\"], " MACROS_JSON ", \"run\": \"" RUN
	    "\", \"session\": 42, "
	    "\"stage\": \"envfrom\", \"time\": \"" TIME "\"}");

	/* The null sender. */
	args[0] = null;
	args[1] = NULL;
	assert_event_text(*state, &ev,
	    "[42] envfrom " TIME " \"\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"address\": \"\", \"args\": [\"\"], " MACROS_JSON ", "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, "
	    "\"stage\": \"envfrom\", \"time\": \"" TIME "\"}");
}

static void
test_print_event_envrcpt(void **state)
{
	static char	 a0[] = "<b@example.org>";
	static char	 a1[] = "NOTIFY=NEVER";
	char		*args[] = { a0, a1, NULL };
	struct event	 ev = base_event(STAGE_ENVRCPT);

	ev.args = args;
	assert_event_text(*state, &ev,
	    "[42] envrcpt " TIME " \"<b@example.org>\"\n"
	    "[42]  parameter: \"NOTIFY=NEVER\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"address\": \"<b@example.org>\", "
	    "\"args\": [\"<b@example.org>\", \"NOTIFY=NEVER\"], "
	    MACROS_JSON ", \"rejected\": false, \"rejection\": null, "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"envrcpt\", \"time\": \"" TIME
	    "\"}");

	/* Sendmail's shape, with the MTA's bytes escaped. */
	ev.rejected = 1;
	ev.reject_status = "5.1.1";
	ev.reject_text = "550 5.1.1 <b@example.org>... \"\x1b\xff\"";
	assert_event_text(*state, &ev,
	    "[42] envrcpt " TIME " \"<b@example.org>\"\n"
	    "[42]  parameter: \"NOTIFY=NEVER\"\n"
	    "[42]  rejected: \"5.1.1\" "
	    "\"550 5.1.1 <b@example.org>... \\\"\\x1b\\xff\\\"\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"address\": \"<b@example.org>\", "
	    "\"args\": [\"<b@example.org>\", \"NOTIFY=NEVER\"], "
	    MACROS_JSON ", \"rejected\": true, \"rejection\": "
	    "{\"status\": \"5.1.1\", \"text\": "
	    "\"550 5.1.1 <b@example.org>... \\\"\\u001b\\udcff\\\"\"}, "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"envrcpt\", \"time\": \"" TIME
	    "\"}");

	/* What the MTA did not send is told apart from what is empty. */
	ev.reject_status = "";
	ev.reject_text = NULL;
	assert_event_text(*state, &ev,
	    "[42] envrcpt " TIME " \"<b@example.org>\"\n"
	    "[42]  parameter: \"NOTIFY=NEVER\"\n"
	    "[42]  rejected: \"\" (no text)\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"address\": \"<b@example.org>\", "
	    "\"args\": [\"<b@example.org>\", \"NOTIFY=NEVER\"], "
	    MACROS_JSON ", \"rejected\": true, \"rejection\": "
	    "{\"status\": \"\", \"text\": null}, "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"envrcpt\", \"time\": \"" TIME
	    "\"}");
	ev.reject_status = NULL;
	assert_event_text(*state, &ev,
	    "[42] envrcpt " TIME " \"<b@example.org>\"\n"
	    "[42]  parameter: \"NOTIFY=NEVER\"\n"
	    "[42]  rejected: (no status) (no text)\n"
	    MACROS_TEXT);
}

static void
test_print_event_data(void **state)
{
	struct event	 ev = base_event(STAGE_DATA);

	assert_event_text(*state, &ev, "[42] data " TIME "\n" MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{" MACROS_JSON ", \"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"data\", "
	    "\"time\": \"" TIME "\"}");
}

static void
test_print_event_header(void **state)
{
	struct event	 ev = base_event(STAGE_HEADER);

	ev.name = "Subject";
	ev.value = " caf\xc3\xa9 \x1b[2J\xe2\x80\xae\"q\"\\";
	assert_event_text(*state, &ev,
	    "[42] header " TIME " Subject: \" caf\xc3\xa9 \\x1b[2J\\u202e\\\"q\\\"\\\\\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{" MACROS_JSON ", \"name\": \"Subject\", \"run\": \"" RUN
	    "\", \"session\": 42, "
	    "\"stage\": \"header\", \"time\": \"" TIME "\", "
	    "\"value\": \" caf\\u00e9 \\u001b[2J\\u202e\\\"q\\\"\\\\\"}");

	/*
	 * A name that is not a plain field name is quoted and escaped as
	 * a value is: the colon after it always ends it.
	 */
	ev.nmacros = 0;
	ev.value = "v";
	ev.name = "X: \"y\"";
	assert_event_text(*state, &ev,
	    "[42] header " TIME " \"X: \\\"y\\\"\": \"v\"\n");
	ev.name = "a b";
	assert_event_text(*state, &ev,
	    "[42] header " TIME " \"a b\": \"v\"\n");
	ev.name = "\x1b[2J\\";
	assert_event_text(*state, &ev,
	    "[42] header " TIME " \"\\x1b[2J\\\\\": \"v\"\n");
	ev.name = "caf\xc3\xa9";
	assert_event_text(*state, &ev,
	    "[42] header " TIME " \"caf\xc3\xa9\": \"v\"\n");
	ev.name = "";
	assert_event_text(*state, &ev, "[42] header " TIME " \"\": \"v\"\n");
	ev.name = "X-Ok!#$%&'*+-.^_`{|}~";
	assert_event_text(*state, &ev,
	    "[42] header " TIME " X-Ok!#$%&'*+-.^_`{|}~: \"v\"\n");
}

static void
test_print_event_eoh(void **state)
{
	struct event	 ev = base_event(STAGE_EOH);

	assert_event_text(*state, &ev, "[42] eoh " TIME "\n" MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{" MACROS_JSON ", \"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"eoh\", "
	    "\"time\": \"" TIME "\"}");
}

static void
test_print_event_body(void **state)
{
	static const unsigned char	 body[] =
	    "line 1\r\nline 2\n\n\xff\x01 end";
	struct event			 ev = base_event(STAGE_BODY);

	ev.chunk = body;
	ev.length = sizeof body - 1;
	assert_event_text(*state, &ev,
	    "[42] body " TIME " 22 bytes\n"
	    "[42]  chunk: \"line 1\\r\\n\"\n"
	    "[42]  chunk: \"line 2\\n\"\n"
	    "[42]  chunk: \"\\n\"\n"
	    "[42]  chunk: \"\\xff\\x01 end\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"chunk\": \"line 1\\r\\nline 2\\n\\n\\udcff\\u0001 end\", "
	    "\"length\": 22, " MACROS_JSON ", \"run\": \"" RUN
	    "\", \"session\": 42, "
	    "\"stage\": \"body\", \"time\": \"" TIME "\"}");
}

static void
test_print_event_body_empty(void **state)
{
	static const unsigned char	 none[1];
	struct event			 ev = base_event(STAGE_BODY);

	ev.chunk = none;
	ev.length = 0;
	assert_event_text(*state, &ev,
	    "[42] body " TIME " 0 bytes\n"
	    "[42]  chunk: \"\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"chunk\": \"\", \"length\": 0, " MACROS_JSON ", "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"body\", \"time\": \"" TIME
	    "\"}");
	assert_body_text(*state, none, 0);
}

static void
test_print_event_body_text_lines(void **state)
{
	static const char	 mail[] = "Hello,\r\n\r\nA line.\nNo end";
	unsigned char		*p;
	size_t			 i;

	assert_body_text(*state, (const unsigned char *)mail,
	    sizeof mail - 1);
	assert_body_text(*state, (const unsigned char *)"\n\n\n", 3);
	assert_body_text(*state, (const unsigned char *)"x", 1);

	assert_non_null(p = malloc(3 * CHUNK_LINE));
	/* Long lines, and a LF on either side of the limit. */
	memset(p, 'a', 3 * CHUNK_LINE);
	assert_body_text(*state, p, 2500);
	assert_body_text(*state, p, CHUNK_LINE);
	assert_body_text(*state, p, CHUNK_LINE + 1);
	assert_body_text(*state, p, 3 * CHUNK_LINE);
	p[CHUNK_LINE - 1] = '\n';
	assert_body_text(*state, p, 3 * CHUNK_LINE);
	p[CHUNK_LINE - 1] = 'a';
	p[CHUNK_LINE] = '\n';
	assert_body_text(*state, p, 3 * CHUNK_LINE);
	/* A character at the limit goes whole onto the next line. */
	p[CHUNK_LINE - 1] = 0xc3;
	p[CHUNK_LINE] = 0xa9;
	assert_body_text(*state, p, 3 * CHUNK_LINE);
	assert_non_null(strstr(cstr(&((struct fixture *)*state)->out),
	    "chunk: \"\xc3\xa9" "aaa"));
	p[CHUNK_LINE - 2] = 0xf0;
	p[CHUNK_LINE - 1] = 0x9f;
	p[CHUNK_LINE] = 0x98;
	p[CHUNK_LINE + 1] = 0x80;
	assert_body_text(*state, p, 3 * CHUNK_LINE);
	assert_non_null(strstr(cstr(&((struct fixture *)*state)->out),
	    "chunk: \"\xf0\x9f\x98\x80" "aaa"));
	for (i = 0; i < 3 * CHUNK_LINE; i++)
		p[i] = (unsigned char)i;
	assert_body_text(*state, p, 3 * CHUNK_LINE);
	free(p);
}

static void
test_print_event_body_text_lossless(void **state)
{
	unsigned char	*p;
	size_t		 i, len = 24000;

	assert_non_null(p = malloc(len));
	for (i = 0; i < len; i++)
		p[i] = (unsigned char)rnd();
	/* Random bytes have a LF every 256 or so; make some long lines. */
	for (i = 0; i < 3000; i++)
		if (p[i] == '\n')
			p[i] = ' ';
	assert_body_text(*state, p, len);
	free(p);
}

static void
test_print_event_body_json_binary(void **state)
{
	struct fixture	*f = *state;
	struct event	 ev = base_event(STAGE_BODY);
	unsigned char	 p[2048];
	size_t		 i, n = 0;

	for (i = 0; i < 256; i++)
		p[n++] = (unsigned char)i;
	for (i = 0; i < sizeof utf8_valid / sizeof utf8_valid[0]; i++) {
		memcpy(p + n, utf8_valid[i].in, strlen(utf8_valid[i].in));
		n += strlen(utf8_valid[i].in);
	}
	for (i = 0; i < sizeof utf8_invalid_text /
	    sizeof utf8_invalid_text[0]; i++) {
		memcpy(p + n, utf8_invalid_text[i].in,
		    strlen(utf8_invalid_text[i].in));
		n += strlen(utf8_invalid_text[i].in);
	}
	for (i = 0; i < sizeof unsafe_codepoints /
	    sizeof unsafe_codepoints[0]; i++) {
		memcpy(p + n, unsafe_codepoints[i].in,
		    strlen(unsafe_codepoints[i].in));
		n += strlen(unsafe_codepoints[i].in);
	}
	while (n < sizeof p)
		p[n++] = (unsigned char)rnd();

	ev.chunk = p;
	ev.length = n;
	f->out.len = f->aux.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_JSON, 0, &ev), 0);
	assert_int_equal(f->out.data[f->out.len - 1], '\n');
	f->out.len--;
	assert_no_controls(&f->out, 0);
	f->out.len++;
	add_hex(&f->aux, p, n);
	assert_int_equal(buf_puts(&f->aux, "\n"), 0);
	run_checker(&f->res, "chunk", &f->out);
	assert_same_lines(cstr(&f->res), cstr(&f->aux));
}

static void
test_print_event_eom(void **state)
{
	struct event	 ev = base_event(STAGE_EOM);

	assert_event_text(*state, &ev, "[42] eom " TIME "\n" MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{" MACROS_JSON ", \"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"eom\", "
	    "\"time\": \"" TIME "\"}");
}

static void
test_print_event_abort(void **state)
{
	struct event	 ev = base_event(STAGE_ABORT);

	assert_event_text(*state, &ev, "[42] abort " TIME "\n" MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{" MACROS_JSON ", \"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"abort\", "
	    "\"time\": \"" TIME "\"}");
}

static void
test_print_event_close(void **state)
{
	struct event	 ev = base_event(STAGE_CLOSE);

	assert_event_text(*state, &ev, "[42] close " TIME "\n" MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{" MACROS_JSON ", \"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"close\", "
	    "\"time\": \"" TIME "\"}");
}

static void
test_print_event_unknown(void **state)
{
	struct event	 ev = base_event(STAGE_UNKNOWN);

	ev.name = "XFOO bar\r";
	assert_event_text(*state, &ev,
	    "[42] unknown " TIME " \"XFOO bar\\r\"\n"
	    MACROS_TEXT);
	assert_event_json(*state, &ev,
	    "{\"command\": \"XFOO bar\\r\", " MACROS_JSON ", "
	    "\"run\": \"" RUN
	    "\", \"session\": 42, \"stage\": \"unknown\", \"time\": \"" TIME
	    "\"}");
}

static void
test_print_event_macros_escaped(void **state)
{
	static const struct macro	 odd[] = {
		{ "{client_name}", "a\nb\xe2\x80\xa8" },
		{ "{x\x01}", "\xc2\x9b" "31m" },
	};
	struct event			 ev = base_event(STAGE_EOM);

	ev.macros = odd;
	ev.nmacros = 2;
	assert_event_text(*state, &ev,
	    "[42] eom " TIME "\n"
	    "[42]  macro {client_name}: \"a\\nb\\u2028\"\n"
	    "[42]  macro {x\\x01}: \"\\u009b31m\"\n");
	assert_event_json(*state, &ev,
	    "{\"macros\": {\"{client_name}\": \"a\\nb\\u2028\", "
	    "\"{x\\u0001}\": \"\\u009b31m\"}, \"run\": \"" RUN
	    "\", \"session\": 42, "
	    "\"stage\": \"eom\", \"time\": \"" TIME "\"}");
}

/*
 * In colour: the tag, the stage, macro names and values each in their
 * style, and the escapes inside a value in reverse video, so that the
 * MTA's ESC reads as the four characters \x1b and stands out.
 */
static void
test_print_event_color(void **state)
{
	struct fixture		*f = *state;
	static const struct macro odd[] = { { "{x\x01}", "\x1b[2J" } };
	struct event		 ev = base_event(STAGE_HEADER);

	ev.name = "X-Esc";
	ev.value = " a\x1b[31mred\"é\xff";
	ev.macros = odd;
	ev.nmacros = 1;
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_TEXT, 1, &ev), 0);
	assert_string_equal(cstr(&f->out),
	    "\033[36m[42]\033[0m \033[1;35mheader\033[0m " TIME
	    " \033[33mX-Esc\033[0m: \033[32m\" a\033[7m\\x1b\033[27m"
	    "[31mred\033[7m\\\"\033[27mé\033[7m\\xff\033[27m\"\033[0m\n"
	    "\033[36m[42]\033[0m  macro \033[33m{x\033[7m\\x01\033[27m}"
	    "\033[0m: \033[32m\"\033[7m\\x1b\033[27m[2J\"\033[0m\n");
}

/* A rejected recipient's mark is red; its status and text are values. */
static void
test_print_event_color_rejected(void **state)
{
	struct fixture	*f = *state;
	char		 a0[] = "<x@example.com>";
	char		*args[] = { a0, NULL };
	struct event	 ev = base_event(STAGE_ENVRCPT);

	ev.args = args;
	ev.nmacros = 0;
	ev.rejected = 1;
	ev.reject_status = "5.1.1";
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_TEXT, 1, &ev), 0);
	assert_string_equal(cstr(&f->out),
	    "\033[36m[42]\033[0m \033[1;35menvrcpt\033[0m " TIME
	    " \033[32m\"<x@example.com>\"\033[0m\n"
	    "\033[36m[42]\033[0m  \033[1;31mrejected\033[0m: "
	    "\033[32m\"5.1.1\"\033[0m (no text)\n");
}

/*
 * Whatever the MTA sends, the coloured report is the plain one with
 * inspect's own SGR sequences added, and nothing else: every ESC in it
 * starts one of them.  JSON is never coloured.
 */
static void
test_print_event_color_only_adds(void **state)
{
	static const char *const sgr[] = { "\033[36m", "\033[1;35m",
	    "\033[33m", "\033[32m", "\033[7m", "\033[27m", "\033[1;31m",
	    "\033[0m" };
	static const enum stage	 stages[] = { STAGE_CONNECT, STAGE_HELO,
	    STAGE_ENVRCPT, STAGE_HEADER, STAGE_BODY, STAGE_UNKNOWN };
	struct fixture		*f = *state;
	struct buf		 plain = { NULL, 0, 0 };
	struct macro		 m[1];
	struct visible		 v[1];
	struct event		 ev;
	unsigned char		 data[4][200];
	char			*args[3];
	size_t			 i, j, k, len, n;

	for (i = 0; i < NRANDOM / 4; i++) {
		for (j = 0; j < 4; j++) {
			len = random_buffer(data[j], sizeof data[j] - 1);
			for (k = 0; k < len; k++)
				if (data[j][k] == '\0')
					data[j][k] = 0x1b;
			data[j][len] = '\0';
		}
		ev = base_event(stages[i % 6]);
		args[0] = (char *)data[0];
		args[1] = (char *)data[1];
		args[2] = NULL;
		m[0] = (struct macro){ (char *)data[2], (char *)data[3] };
		v[0] = (struct visible){ (char *)data[3], (char *)data[2],
		    STAGE_HELO };
		ev.host = ev.name = (char *)data[0];
		ev.value = (char *)data[1];
		ev.args = args;
		ev.rejected = i % 2;
		ev.reject_status = (char *)data[2];
		ev.chunk = data[3];
		ev.length = strlen((char *)data[3]);
		ev.macros = m;
		ev.nmacros = 1;
		ev.visible = v;
		ev.nvisible = 1;
		ev.show_visible = 1;
		plain.len = 0;
		assert_int_equal(print_event(&plain, FORMAT_TEXT, 0, &ev), 0);
		assert_null(memchr(plain.data, 0x1b, plain.len));
		f->out.len = 0;
		assert_int_equal(print_event(&f->out, FORMAT_TEXT, 1, &ev), 0);
		/* Drop each of inspect's sequences: the plain text is left. */
		for (j = k = 0; j < f->out.len; ) {
			for (n = 0; n < sizeof sgr / sizeof sgr[0]; n++)
				if (strncmp(f->out.data + j, sgr[n],
				    strlen(sgr[n])) == 0)
					break;
			if (n < sizeof sgr / sizeof sgr[0]) {
				j += strlen(sgr[n]);
				continue;
			}
			if (f->out.data[j] == 0x1b)
				fail_msg("an ESC that is not inspect's at %zu",
				    j);
			f->out.data[k++] = f->out.data[j++];
		}
		f->out.len = k;
		assert_int_equal(f->out.len, plain.len);
		assert_memory_equal(f->out.data, plain.data, plain.len);

		plain.len = f->out.len = 0;
		assert_int_equal(print_event(&plain, FORMAT_JSON, 0, &ev), 0);
		assert_int_equal(print_event(&f->out, FORMAT_JSON, 1, &ev), 0);
		assert_int_equal(f->out.len, plain.len);
		assert_memory_equal(f->out.data, plain.data, plain.len);
	}
	buf_free(&plain);
}

/* negotiate shows the MTA's protocol version, when it is known. */
static void
test_print_event_version(void **state)
{
	static const struct negotiation	 ng = { 0x1ff, 0x1fffff, 0, 0, 0, 0, 0,
	    0, 0 };
	struct event			 ev = base_event(STAGE_NEGOTIATE);
	struct fixture			*f = *state;

	ev.negotiation = &ng;
	ev.nmacros = 0;
	ev.version = 6;
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_TEXT, 0, &ev), 0);
	assert_int_equal(buf_add(&f->out, "", 1), 0);
	assert_non_null(strstr(f->out.data, " version 6\n[42]  "
	    "offered actions: 0x000001ff "));
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_JSON, 0, &ev), 0);
	assert_int_equal(buf_add(&f->out, "", 1), 0);
	assert_non_null(strstr(f->out.data, ",\"version\":6,\"offered\":"));
	/* Unknown (macros looked up, not read from the context): not shown. */
	ev.version = 0;
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_TEXT, 0, &ev), 0);
	assert_int_equal(buf_add(&f->out, "", 1), 0);
	assert_null(strstr(f->out.data, "version"));
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_JSON, 0, &ev), 0);
	assert_int_equal(buf_add(&f->out, "", 1), 0);
	assert_null(strstr(f->out.data, "version"));
}

/* --show-macros all: every visible macro, escaped, with its stage. */
static void
test_print_event_visible(void **state)
{
	static const struct visible	 vis[] = {
		{ "j", "mx.example", STAGE_CONNECT },
		{ "{x\x01}", "a\nb", STAGE_ENVRCPT },
	};
	struct event			 ev = base_event(STAGE_HEADER);

	ev.name = "Subject";
	ev.value = "hi";
	ev.nmacros = 0;
	ev.visible = vis;
	ev.nvisible = 2;
	ev.show_visible = 1;
	assert_event_text(*state, &ev,
	    "[42] header " TIME " Subject: \"hi\"\n"
	    "[42]  visible j: \"mx.example\" (connect)\n"
	    "[42]  visible {x\\x01}: \"a\\nb\" (envrcpt)\n");
	assert_event_json(*state, &ev,
	    "{\"macros\": {}, \"name\": \"Subject\", \"run\": \"" RUN
	    "\", \"session\": 42, "
	    "\"stage\": \"header\", \"time\": \"" TIME "\", "
	    "\"value\": \"hi\", \"visible\": {\"j\": {\"stage\": "
	    "\"connect\", \"value\": \"mx.example\"}, \"{x\\u0001}\": "
	    "{\"stage\": \"envrcpt\", \"value\": \"a\\nb\"}}}");
	/* Asked for but none visible: an empty object, no text line. */
	ev.nvisible = 0;
	assert_event_text(*state, &ev,
	    "[42] header " TIME " Subject: \"hi\"\n");
	assert_event_json(*state, &ev,
	    "{\"macros\": {}, \"name\": \"Subject\", \"run\": \"" RUN
	    "\", \"session\": 42, "
	    "\"stage\": \"header\", \"time\": \"" TIME "\", "
	    "\"value\": \"hi\", \"visible\": {}}");
}

static void
test_print_event_session_and_time(void **state)
{
	struct event	 ev = base_event(STAGE_CLOSE);

	ev.nmacros = 0;
	ev.session = UINT64_MAX;
	ev.time.tv_sec = 0;
	ev.time.tv_nsec = 0;
	assert_event_text(*state, &ev, "[18446744073709551615] close "
	    "1970-01-01T00:00:00.000000Z\n");
	assert_event_json(*state, &ev,
	    "{\"macros\": {}, \"run\": \"" RUN
	    "\", \"session\": 18446744073709551615, "
	    "\"stage\": \"close\", \"time\": \"1970-01-01T00:00:00.000000Z\"}");

	/* Microseconds are cut, not rounded into the next second. */
	ev.session = 1;
	ev.time.tv_sec = 4102444799;	/* 2099-12-31T23:59:59Z */
	ev.time.tv_nsec = 999999999;
	assert_event_text(*state, &ev,
	    "[1] close 2099-12-31T23:59:59.999999Z\n");
	ev.time.tv_sec = 951782400;	/* 2000-02-29T00:00:00Z */
	ev.time.tv_nsec = 1000;
	assert_event_text(*state, &ev,
	    "[1] close 2000-02-29T00:00:00.000001Z\n");
}

static void
test_print_event_appends(void **state)
{
	struct fixture	*f = *state;
	struct event	 ev = base_event(STAGE_DATA);

	ev.nmacros = 0;
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_TEXT, 0, &ev), 0);
	assert_int_equal(print_event(&f->out, FORMAT_JSON, 0, &ev), 0);
	assert_string_equal(cstr(&f->out), "[42] data " TIME "\n"
	    "{\"session\":42,\"run\":\"" RUN "\",\"stage\":\"data\","
	    "\"time\":\"" TIME "\",\"macros\":{}}\n");
}

/*
 * Every JSON event says its run, right after its session, so that
 * (run, session) tells apart the sessions of two runs in one file; a
 * run not given is null.  Text events do not: the run's first line says
 * it (print_start()).
 */
static void
test_print_event_run(void **state)
{
	struct fixture	*f = *state;
	struct event	 ev = base_event(STAGE_CLOSE);

	ev.nmacros = 0;
	ev.run = "20261207T061856Z-p4242";
	f->out.len = 0;
	assert_int_equal(print_event(&f->out, FORMAT_JSON, 0, &ev), 0);
	assert_string_equal(cstr(&f->out), "{\"session\":42,"
	    "\"run\":\"20261207T061856Z-p4242\",\"stage\":\"close\","
	    "\"time\":\"" TIME "\",\"macros\":{}}\n");
	assert_event_text(*state, &ev, "[42] close " TIME "\n");

	ev.run = NULL;
	assert_event_json(*state, &ev,
	    "{\"macros\": {}, \"run\": null, \"session\": 42, "
	    "\"stage\": \"close\", \"time\": \"" TIME "\"}");
}

/*
 * A run's first line: session 0, which no session has, the time it
 * began, its id and inspect's version; in colour, the tag and the word
 * in their styles, and nothing else changed.  It is appended.
 */
static void
test_print_start(void **state)
{
	struct fixture	*f = *state;
	struct timespec	 t = { TIME_SEC, TIME_NSEC };

	f->out.len = 0;
	assert_int_equal(buf_puts(&f->out, "before\n"), 0);
	assert_int_equal(print_start(&f->out, 0, &t, RUN, "0.1.0"), 0);
	assert_string_equal(cstr(&f->out), "before\n"
	    "[0] start " TIME " run " RUN " inspect 0.1.0\n");

	f->out.len = 0;
	assert_int_equal(print_start(&f->out, 1, &t, RUN, "0.1.0"), 0);
	assert_string_equal(cstr(&f->out),
	    "\033[36m[0]\033[0m \033[1;35mstart\033[0m " TIME " run " RUN
	    " inspect 0.1.0\n");
}

static void
test_print_flag_names_single_bits(void **state)
{
	const struct flagname	*t;
	char			 json[64];
	int			 steps;

	for (steps = 0; steps <= 1; steps++)
		for (t = steps ? step_names : action_names; t->name != NULL;
		    t++) {
			snprintf(json, sizeof json, "\"%s\"", t->name);
			assert_flags(*state, steps, t->bit, t->name, json);
		}
	/* Old spellings are the same bits. */
	assert_flags(*state, 0, SMFIF_MODBODY, "SMFIF_CHGBODY",
	    "\"SMFIF_CHGBODY\"");
	assert_flags(*state, 1, SMFIP_NOHREPL, "SMFIP_NR_HDR",
	    "\"SMFIP_NR_HDR\"");
}

static void
test_print_flag_names_every_bit(void **state)
{
	const struct flagname	*t;
	char			 text[64], json[sizeof text + 2];
	unsigned long		 bit;
	unsigned int		 i;
	int			 steps;

	for (steps = 0; steps <= 1; steps++)
		for (i = 0; i < sizeof(unsigned long) * CHAR_BIT; i++) {
			bit = 1UL << i;
			for (t = steps ? step_names : action_names;
			    t->name != NULL && t->bit != bit; t++)
				;
			if (t->name != NULL)
				snprintf(text, sizeof text, "%s", t->name);
			else
				snprintf(text, sizeof text, "0x%lx", bit);
			snprintf(json, sizeof json, "\"%s\"", text);
			assert_flags(*state, steps, bit, text, json);
		}
}

static void
test_print_flag_names_several_bits(void **state)
{
	assert_flags(*state, 0, SMFIF_ADDHDRS | SMFIF_DELRCPT |
	    SMFIF_SETSYMLIST,
	    "SMFIF_ADDHDRS|SMFIF_DELRCPT|SMFIF_SETSYMLIST",
	    "\"SMFIF_ADDHDRS\",\"SMFIF_DELRCPT\",\"SMFIF_SETSYMLIST\"");
	assert_flags(*state, 1, SMFIP_HDR_LEADSPC | SMFIP_NOCONNECT,
	    "SMFIP_NOCONNECT|SMFIP_HDR_LEADSPC",
	    "\"SMFIP_NOCONNECT\",\"SMFIP_HDR_LEADSPC\"");
	assert_flags(*state, 0, 0x1ff,
	    "SMFIF_ADDHDRS|SMFIF_CHGBODY|SMFIF_ADDRCPT|SMFIF_DELRCPT|"
	    "SMFIF_CHGHDRS|SMFIF_QUARANTINE|SMFIF_CHGFROM|SMFIF_ADDRCPT_PAR|"
	    "SMFIF_SETSYMLIST",
	    "\"SMFIF_ADDHDRS\",\"SMFIF_CHGBODY\",\"SMFIF_ADDRCPT\","
	    "\"SMFIF_DELRCPT\",\"SMFIF_CHGHDRS\",\"SMFIF_QUARANTINE\","
	    "\"SMFIF_CHGFROM\",\"SMFIF_ADDRCPT_PAR\",\"SMFIF_SETSYMLIST\"");
}

static void
test_print_flag_names_unknown_bits(void **state)
{
	/* However many, the bits without a name make one number. */
	assert_flags(*state, 0, 0x600, "0x600", "\"0x600\"");
	assert_flags(*state, 1, 0x40600000, "0x40600000", "\"0x40600000\"");
	assert_flags(*state, 0, SMFIF_ADDHDRS | 0x400 | 0x80000000UL,
	    "SMFIF_ADDHDRS|0x80000400", "\"SMFIF_ADDHDRS\",\"0x80000400\"");
	assert_flags(*state, 1, SMFIP_SKIP | SMFIP_NR_BODY | 0x40000000UL,
	    "SMFIP_SKIP|SMFIP_NR_BODY|0x40000000",
	    "\"SMFIP_SKIP\",\"SMFIP_NR_BODY\",\"0x40000000\"");
}

static void
test_print_flag_names_zero(void **state)
{
	struct fixture	*f = *state;

	assert_flags(f, 0, 0, "", "");
	assert_flags(f, 1, 0, "", "");
	/* And what was there stays. */
	f->out.len = 0;
	assert_int_equal(buf_puts(&f->out, "x="), 0);
	assert_int_equal(print_flag_names(&f->out, 1, 0, FORMAT_TEXT), 0);
	assert_int_equal(print_flag_names(&f->out, 0, SMFIF_CHGFROM,
	    FORMAT_TEXT), 0);
	assert_string_equal(cstr(&f->out), "x=SMFIF_CHGFROM");
}

/* sa as print_address() writes it, the length it returns checked. */
static const char *
address(const void *sa)
{
	static char	 s[PRINT_ADDRESS_MAX];
	size_t		 len;

	memset(s, 'x', sizeof s);	/* a missing NUL shows */
	len = print_address(s, sa);
	assert_int_equal(len, strlen(s));
	return s;
}

static void
test_print_address_inet(void **state)
{
	struct sockaddr_in	 sin;

	(void)state;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4660);	/* 0x1234: byte order shows */
	assert_int_equal(inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr), 1);
	assert_string_equal(address(&sin), "inet:4660@[192.0.2.1]");

	sin.sin_port = htons(65535);
	assert_int_equal(inet_pton(AF_INET, "255.255.255.255",
	    &sin.sin_addr), 1);
	assert_string_equal(address(&sin), "inet:65535@[255.255.255.255]");

	sin.sin_port = htons(25);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_string_equal(address(&sin), "inet:25@[127.0.0.1]");
}

static void
test_print_address_inet6(void **state)
{
	static const struct sample	 addrs[] = {
		{ "2001:db8::1", "inet6:4660@[2001:db8::1]" },
		{ "::1", "inet6:4660@[::1]" },
		{ "::ffff:192.0.2.1", "inet6:4660@[::ffff:192.0.2.1]" },
		{ "fe80::1:2:3:4", "inet6:4660@[fe80::1:2:3:4]" },
		/* Eight full groups, with no shorter form. */
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "inet6:4660@[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]" },
	};
	struct sockaddr_in6		 sin6;
	size_t				 i;

	(void)state;
	for (i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		memset(&sin6, 0, sizeof sin6);
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(4660);
		assert_int_equal(inet_pton(AF_INET6, addrs[i].in,
		    &sin6.sin6_addr), 1);
		assert_string_equal(address(&sin6), addrs[i].out);
	}
}

static void
test_print_address_unix(void **state)
{
	struct {
		struct sockaddr_un	 sun;
		char			 after[16];
	} s;
	const char	*got;

	(void)state;
	memset(&s, 'q', sizeof s);
	memset(&s.sun, 0, sizeof s.sun);
	s.sun.sun_family = AF_UNIX;
	strncpy(s.sun.sun_path, "/run/postfix/smtpd",
	    sizeof s.sun.sun_path - 1);
	assert_string_equal(address(&s.sun), "unix:/run/postfix/smtpd");

	/* A path that fills sun_path has no NUL: nothing beyond is read. */
	memset(s.sun.sun_path, 'p', sizeof s.sun.sun_path);
	got = address(&s.sun);
	assert_int_equal(strlen(got), 5 + sizeof s.sun.sun_path);
	assert_memory_equal(got, "unix:", 5);
	assert_memory_equal(got + 5, s.sun.sun_path, sizeof s.sun.sun_path);

	memset(s.sun.sun_path, 0, sizeof s.sun.sun_path);
	assert_string_equal(address(&s.sun), "unix:");
}

static void
test_print_address_unknown(void **state)
{
	struct sockaddr_storage	 ss;

	(void)state;
	assert_string_equal(address(NULL), "unknown");

	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_UNSPEC;
	assert_string_equal(address(&ss), "unknown");

	ss.ss_family = AF_APPLETALK;
	assert_string_equal(address(&ss), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_print_text_escape_single_bytes),
		T(test_print_text_escape_byte_in_plain_text),
		T(test_print_text_escape_no_controls),
		T(test_print_text_escape_appends),
		T(test_print_text_escape_utf8_valid),
		T(test_print_text_escape_utf8_invalid),
		T(test_print_text_escape_unsafe_codepoints),
		T(test_print_text_escape_lossless_single_bytes),
		T(test_print_text_escape_lossless_pairs),
		T(test_print_text_escape_lossless_random),
		T(test_print_json_escape_single_bytes),
		T(test_print_json_escape_parse_single_bytes),
		T(test_print_json_escape_parse_pairs),
		T(test_print_json_escape_utf8),
		T(test_print_json_escape_unsafe_codepoints),
		T(test_print_json_escape_random),
		T(test_print_event_negotiate),
		T(test_print_event_negotiate_wrapped),
		T(test_print_event_negotiate_same),
		T(test_print_event_negotiate_told),
		T(test_print_event_connect),
		T(test_print_event_connect_other_addresses),
		T(test_print_event_helo),
		T(test_print_event_envfrom),
		T(test_print_event_envrcpt),
		T(test_print_event_data),
		T(test_print_event_header),
		T(test_print_event_eoh),
		T(test_print_event_body),
		T(test_print_event_body_empty),
		T(test_print_event_body_text_lines),
		T(test_print_event_body_text_lossless),
		T(test_print_event_body_json_binary),
		T(test_print_event_eom),
		T(test_print_event_abort),
		T(test_print_event_close),
		T(test_print_event_unknown),
		T(test_print_event_macros_escaped),
		T(test_print_event_color),
		T(test_print_event_color_rejected),
		T(test_print_event_color_only_adds),
		T(test_print_event_version),
		T(test_print_event_visible),
		T(test_print_event_session_and_time),
		T(test_print_event_appends),
		T(test_print_event_run),
		T(test_print_start),
		T(test_print_flag_names_single_bits),
		T(test_print_flag_names_every_bit),
		T(test_print_flag_names_several_bits),
		T(test_print_flag_names_unknown_bits),
		T(test_print_flag_names_zero),
		T(test_print_address_inet),
		T(test_print_address_inet6),
		T(test_print_address_unix),
		T(test_print_address_unknown),
#undef T
	};

	return cmocka_run_group_tests_name("print", tests, NULL, NULL);
}
