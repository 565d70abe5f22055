/* print.c -- the report's events in text and JSON, and a line's pieces */
/* SPDX-License-Identifier: ISC */

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "escape.h"
#include "print.h"

/* A text line of a body chunk holds at most this many bytes of data. */
#define CHUNK_LINE	1024

struct flag {
	unsigned long	 bit;
	const char	*name;
};

static int	json_address(struct buf *, const struct sockaddr *);
static int	put_time(struct buf *, const struct timespec *);
static void	put_digits(char *, unsigned long, int);
static size_t	fmt_uint(char *, uint64_t);
static int	put_text_string(struct buf *, const struct palette *,
		    const char *, const char *, const void *, size_t);
static int	text_value(struct buf *, const struct palette *, const void *,
		    size_t);
static int	put_json_string(struct buf *, const char *, const void *,
		    size_t);
static int	print_text(struct buf *, const struct palette *,
		    const struct event *);
static int	text_main(struct buf *, const struct palette *,
		    const struct event *);
static int	text_header_name(struct buf *, const struct palette *,
		    const char *);
static int	text_macros(struct buf *, const struct palette *,
		    const char *, const struct macro *, size_t);
static int	text_chunk(struct buf *, const struct palette *, const char *,
		    const unsigned char *, size_t);
static int	text_rejection(struct buf *, const struct palette *,
		    const char *, const char *, const char *);
static int	text_visible(struct buf *, const struct palette *,
		    const char *, const struct visible *, size_t);
static int	text_name(struct buf *, const struct palette *, const char *);
static int	text_pair(struct buf *, const struct palette *, const char *,
		    const char *, const char *, const char *);
static int	print_json(struct buf *, const struct event *);
static int	json_macros(struct buf *, const struct macro *, size_t);
static int	json_visible(struct buf *, const struct visible *, size_t);
static int	json_rejection(struct buf *, const struct event *);
static int	text_flags(struct buf *, const char *, const char *, int,
		    unsigned long);
static size_t	visible_width(const char *);
static int	json_flags(struct buf *, unsigned long, unsigned long);
static int	text_answer(struct buf *, const struct palette *, const char *,
		    const char *, const struct answer *, enum stage, long long);
static int	json_answer(struct buf *, const struct answer *, enum stage);
static int	text_forward(struct buf *, const struct palette *,
		    const char *, const struct event *);
static int	json_forward(struct buf *, const struct event *);
static int	json_reply(struct buf *, const struct answer *);
static int	json_changes(struct buf *, const struct answer *);

const char *const print_stage_names[STAGE_MAX] = {
	[STAGE_NEGOTIATE] = "negotiate",
	[STAGE_CONNECT] = "connect",
	[STAGE_HELO] = "helo",
	[STAGE_ENVFROM] = "envfrom",
	[STAGE_ENVRCPT] = "envrcpt",
	[STAGE_DATA] = "data",
	[STAGE_HEADER] = "header",
	[STAGE_EOH] = "eoh",
	[STAGE_BODY] = "body",
	[STAGE_EOM] = "eom",
	[STAGE_ABORT] = "abort",
	[STAGE_CLOSE] = "close",
	[STAGE_UNKNOWN] = "unknown",
};

static const struct flag action_flags[] = {
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

static const struct flag step_flags[] = {
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

/* With colour off, every style is nothing: the report is as it was. */
static const struct palette plain = { "", "", "", "", "", "", "", "" };
static const struct palette colors = {
	.tag = "\033[36m",
	.stage = "\033[1;35m",
	.name = "\033[33m",
	.value = "\033[32m",
	.escape = "\033[7m",
	.unescape = "\033[27m",
	.rejected = "\033[1;31m",
	.off = "\033[0m"
};

int
print_event(struct buf *out, enum format format, int color,
    const struct event *ev)
{
	size_t	 len = out->len;
	int	 rc;

	if (format == FORMAT_JSON)
		rc = print_json(out, ev);
	else
		rc = print_text(out, print_palette(color), ev);
	if (rc == -1)
		out->len = len;
	return rc;
}

int
print_start(struct buf *out, int color, const struct timespec *time,
    const char *run, const char *version)
{
	const struct palette	*pal = print_palette(color);
	char			 prefix[PRINT_PREFIX_MAX];
	size_t			 len = out->len;

	print_text_prefix(prefix, pal, 0);
	if (print_text_head(out, pal, prefix, "start", time) == -1 ||
	    buf_puts(out, " run ") == -1 || buf_puts(out, run) == -1 ||
	    buf_puts(out, " inspect ") == -1 ||
	    buf_puts(out, version) == -1 || buf_puts(out, "\n") == -1) {
		out->len = len;
		return -1;
	}
	return 0;
}

int
print_negotiation_key(struct buf *out, const struct event *ev)
{
	struct event	 k = *ev;
	size_t		 len = out->len;

	k.session = 0;
	k.time.tv_sec = 0;
	k.time.tv_nsec = 0;
	k.same_as = 0;
	if (print_text(out, &plain, &k) == -1) {
		out->len = len;
		return -1;
	}
	return 0;
}

const struct palette *
print_palette(int color)
{
	return color ? &colors : &plain;
}

int
print_flag_names(struct buf *out, int steps, unsigned long flags,
    enum format format)
{
	const struct flag	*f = steps ? step_flags : action_flags;
	const char		*sep = format == FORMAT_JSON ? "," : "|";
	const char		*q = format == FORMAT_JSON ? "\"" : "";
	unsigned long		 rest = flags;
	int			 first = 1;
	char			 num[32];

	for (; f->name != NULL; f++) {
		if ((flags & f->bit) == 0)
			continue;
		rest &= ~f->bit;
		if ((!first && buf_puts(out, sep) == -1) ||
		    buf_puts(out, q) == -1 || buf_puts(out, f->name) == -1 ||
		    buf_puts(out, q) == -1)
			return -1;
		first = 0;
	}
	if (rest != 0) {
		snprintf(num, sizeof num, "%s%s0x%lx%s", first ? "" : sep, q,
		    rest, q);
		if (buf_puts(out, num) == -1)
			return -1;
	}
	return 0;
}

_Static_assert(sizeof "inet6:65535@[]" + INET6_ADDRSTRLEN - 1 <=
    PRINT_ADDRESS_MAX, "an inet6 address fits in PRINT_ADDRESS_MAX");

size_t
print_address(char *s, const struct sockaddr *sa)
{
	struct address	 a;

	print_address_parts(sa, &a);
	if (a.path != NULL)
		return snprintf(s, PRINT_ADDRESS_MAX, "unix:%.*s",
		    (int)a.pathlen, a.path);
	if (a.ip[0] == '\0')
		return snprintf(s, PRINT_ADDRESS_MAX, "%s", a.family);
	return snprintf(s, PRINT_ADDRESS_MAX, "%s:%u@[%s]", a.family, a.port,
	    a.ip);
}

/* Take sa apart: its family and, as it has them, IP and port, or path. */
void
print_address_parts(const struct sockaddr *sa, struct address *a)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;
	const struct sockaddr_un	*sun = (const void *)sa;

	memset(a, 0, sizeof *a);
	switch (sa != NULL ? sa->sa_family : AF_UNSPEC) {
	case AF_INET:
		a->family = "inet";
		inet_ntop(AF_INET, &sin->sin_addr, a->ip, sizeof a->ip);
		a->port = ntohs(sin->sin_port);
		break;
	case AF_INET6:
		a->family = "inet6";
		inet_ntop(AF_INET6, &sin6->sin6_addr, a->ip, sizeof a->ip);
		a->port = ntohs(sin6->sin6_port);
		break;
	case AF_UNIX:
		a->family = "unix";
		a->path = sun->sun_path;
		a->pathlen = strnlen(sun->sun_path, sizeof sun->sun_path);
		break;
	default:
		a->family = "unknown";
		break;
	}
}

/* RFC 3339 in UTC, with microseconds. */
static int
put_time(struct buf *out, const struct timespec *ts)
{
	struct tm	 tm;
	char		 s[32];
	time_t		 t = ts->tv_sec;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	/* By hand: snprintf was a tenth of the cost of an event. */
	put_digits(s, tm.tm_year + 1900, 4);
	s[4] = '-';
	put_digits(s + 5, tm.tm_mon + 1, 2);
	s[7] = '-';
	put_digits(s + 8, tm.tm_mday, 2);
	s[10] = 'T';
	put_digits(s + 11, tm.tm_hour, 2);
	s[13] = ':';
	put_digits(s + 14, tm.tm_min, 2);
	s[16] = ':';
	put_digits(s + 17, tm.tm_sec, 2);
	s[19] = '.';
	put_digits(s + 20, ts->tv_nsec / 1000, 6);
	s[26] = 'Z';
	return buf_add(out, s, 27);
}

/* Write v in decimal, unterminated, into s; returns how many digits. */
static size_t
fmt_uint(char *s, uint64_t v)
{
	char	 d[20];
	size_t	 n = 0, i;

	do {
		d[n++] = '0' + v % 10;
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		s[i] = d[n - 1 - i];
	return n;
}

/* Write v as exactly n decimal digits, zero-padded. */
static void
put_digits(char *s, unsigned long v, int n)
{
	while (n-- > 0) {
		s[n] = '0' + v % 10;
		v /= 10;
	}
}

/* A text line "PREFIX  KEY: "ESCAPED"\n". */
static int
put_text_string(struct buf *out, const struct palette *pal,
    const char *prefix, const char *key, const void *s, size_t len)
{
	if (buf_puts(out, prefix) == -1 || buf_puts(out, "  ") == -1 ||
	    buf_puts(out, key) == -1 || buf_puts(out, ": ") == -1 ||
	    text_value(out, pal, s, len) == -1 || buf_puts(out, "\n") == -1)
		return -1;
	return 0;
}

/* A value the MTA sent, quoted, escaped and in its style. */
static int
text_value(struct buf *out, const struct palette *pal, const void *s,
    size_t len)
{
	if (buf_puts(out, pal->value) == -1 || buf_puts(out, "\"") == -1 ||
	    escape_text_styled(out, s, len, pal->escape, pal->unescape) ==
	    -1 ||
	    buf_puts(out, "\"") == -1 || buf_puts(out, pal->off) == -1)
		return -1;
	return 0;
}

/* A JSON member ,"KEY":"ESCAPED"; a NULL key writes just the string. */
static int
put_json_string(struct buf *out, const char *key, const void *s, size_t len)
{
	if (key != NULL && (buf_puts(out, ",\"") == -1 ||
	    buf_puts(out, key) == -1 || buf_puts(out, "\":") == -1))
		return -1;
	if (buf_puts(out, "\"") == -1 || escape_json(out, s, len) == -1 ||
	    buf_puts(out, "\"") == -1)
		return -1;
	return 0;
}

static int
print_text(struct buf *out, const struct palette *pal,
    const struct event *ev)
{
	const struct negotiation *ng = ev->negotiation;
	char		 prefix[PRINT_PREFIX_MAX], num[48];
	size_t		 i;

	print_text_prefix(prefix, pal, ev->session);
	if (ev->stage == STAGE_NEGOTIATE && ev->same_as != 0) {
		snprintf(num, sizeof num, " as in session %llu\n",
		    (unsigned long long)ev->same_as);
		return print_text_head(out, pal, prefix, "negotiate",
		    &ev->time) == -1 || buf_puts(out, num) == -1 ? -1 : 0;
	}
	if (print_text_head(out, pal, prefix, print_stage_names[ev->stage],
	    &ev->time) == -1 || text_main(out, pal, ev) == -1 ||
	    buf_puts(out, "\n") == -1)
		return -1;

	switch (ev->stage) {
	case STAGE_NEGOTIATE:
		if (text_flags(out, prefix, "offered actions", 0,
		    ng->offered_actions) == -1 ||
		    text_flags(out, prefix, "offered steps", 1,
		    ng->offered_steps) == -1)
			return -1;
		if (ng->told && ng->told_version != ev->version) {
			snprintf(num, sizeof num, "  answered version: %d\n",
			    ng->told_version);
			if (buf_puts(out, prefix) == -1 ||
			    buf_puts(out, num) == -1)
				return -1;
		}
		if (text_flags(out, prefix, "answered actions", 0,
		    ng->asked_actions) == -1 ||
		    text_flags(out, prefix, "answered steps", 1,
		    ng->told ? ng->told_steps : ng->asked_steps) == -1 ||
		    (ng->told && ng->told_steps != ng->asked_steps &&
		    text_flags(out, prefix, "asked steps", 1,
		    ng->asked_steps) == -1) || (ng->missing_actions != 0 &&
		    text_flags(out, prefix, "missing actions", 0,
		    ng->missing_actions) == -1))
			return -1;
		break;
	case STAGE_ENVFROM:
	case STAGE_ENVRCPT:
		for (i = 1; ev->args != NULL && ev->args[0] != NULL &&
		    ev->args[i] != NULL; i++)
			if (put_text_string(out, pal, prefix, "parameter",
			    ev->args[i], strlen(ev->args[i])) == -1)
				return -1;
		if (ev->rejected && text_rejection(out, pal, prefix,
		    ev->reject_status, ev->reject_text) == -1)
			return -1;
		break;
	case STAGE_BODY:
		if (text_chunk(out, pal, prefix, ev->chunk, ev->length) ==
		    -1)
			return -1;
		break;
	default:
		break;
	}

	if ((ev->forward != NULL && text_forward(out, pal, prefix, ev) ==
	    -1) || (ev->answer != NULL && text_answer(out, pal, prefix,
	    "reply", ev->answer, ev->stage, -1) == -1) ||
	    text_macros(out, pal, prefix, ev->macros, ev->nmacros) == -1 ||
	    (ev->show_visible && text_visible(out, pal, prefix, ev->visible,
	    ev->nvisible) == -1))
		return -1;
	return 0;
}

/*
 * The rest of an event's first line: what the event is about, so that
 * most events take one line.  " version N" (negotiate, if known),
 * " "HOST" "ADDRESS"" (connect), " "NAME"" (helo), " "COMMAND""
 * (unknown), " "ADDRESS"" (envfrom, envrcpt: the first argument; the
 * others follow as "parameter" lines), " NAME: "VALUE"" (header; NAME
 * as header_name() writes it), " N bytes" (body; the chunk lines
 * follow); nothing for the others.
 */
static int
text_main(struct buf *out, const struct palette *pal, const struct event *ev)
{
	char	 num[48], addr[PRINT_ADDRESS_MAX];

	switch (ev->stage) {
	case STAGE_NEGOTIATE:
		if (ev->version <= 0)
			return 0;
		snprintf(num, sizeof num, " version %d", ev->version);
		return buf_puts(out, num);
	case STAGE_CONNECT:
		return buf_puts(out, " ") == -1 ||
		    text_value(out, pal, ev->host, strlen(ev->host)) == -1 ||
		    buf_puts(out, " ") == -1 ||
		    text_value(out, pal, addr, print_address(addr,
		    ev->address)) == -1 ? -1 : 0;
	case STAGE_HELO:
	case STAGE_UNKNOWN:
		return buf_puts(out, " ") == -1 ||
		    text_value(out, pal, ev->name, strlen(ev->name)) == -1 ?
		    -1 : 0;
	case STAGE_ENVFROM:
	case STAGE_ENVRCPT:
		if (ev->args == NULL || ev->args[0] == NULL)
			return 0;
		return buf_puts(out, " ") == -1 || text_value(out, pal,
		    ev->args[0], strlen(ev->args[0])) == -1 ? -1 : 0;
	case STAGE_HEADER:
		return buf_puts(out, " ") == -1 ||
		    text_header_name(out, pal, ev->name) == -1 ||
		    buf_puts(out, ": ") == -1 ||
		    text_value(out, pal, ev->value, strlen(ev->value)) == -1 ?
		    -1 : 0;
	case STAGE_BODY:
		snprintf(num, sizeof num, " %zu bytes", ev->length);
		return buf_puts(out, num);
	default:
		return 0;
	}
}

/*
 * A header's name, in the macro names' style: as it is if it is a
 * field name as RFC 5322 has it and holds neither quote nor backslash
 * (printable ASCII but space and colon), else quoted and escaped as a
 * value is, so that the colon after it always ends it.
 */
static int
text_header_name(struct buf *out, const struct palette *pal,
    const char *name)
{
	const unsigned char	*p = (const unsigned char *)name;

	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ':' || *p == '"' ||
		    *p == '\\')
			break;
	if (*p != '\0' || *name == '\0')
		return text_value(out, pal, name, strlen(name));
	return buf_puts(out, pal->name) == -1 || buf_puts(out, name) == -1 ||
	    buf_puts(out, pal->off) == -1 ? -1 : 0;
}

/*
 * A body chunk as "chunk" lines: one per line of data, so that a body
 * reads as one, and at most CHUNK_LINE bytes each, cut between
 * characters rather than inside one.
 */
static int
text_chunk(struct buf *out, const struct palette *pal, const char *prefix,
    const unsigned char *chunk, size_t length)
{
	size_t	 pos = 0, end, i;

	do {
		end = pos + CHUNK_LINE < length ? pos + CHUNK_LINE : length;
		for (i = pos; i < end; i++)
			if (chunk[i] == '\n') {
				end = i + 1;
				break;
			}
		if (i == end && end < length)
			end = escape_cut(chunk, pos, end, length);
		if (put_text_string(out, pal, prefix, "chunk", chunk + pos,
		    end - pos) == -1)
			return -1;
		pos = end;
	} while (pos < length);
	return 0;
}

/*
 * A text line "PREFIX  rejected: "STATUS" "TEXT"\n": the MTA's status and
 * reply text, each as it sent them, or "(no status)", "(no text)" for one
 * it did not send.
 */
static int
text_rejection(struct buf *out, const struct palette *pal,
    const char *prefix, const char *status, const char *text)
{
	if (buf_puts(out, prefix) == -1 || buf_puts(out, "  ") == -1 ||
	    buf_puts(out, pal->rejected) == -1 ||
	    buf_puts(out, "rejected") == -1 || buf_puts(out, pal->off) == -1 ||
	    buf_puts(out, ": ") == -1 ||
	    print_text_quoted(out, pal, status, "(no status)") == -1 ||
	    buf_puts(out, " ") == -1 ||
	    print_text_quoted(out, pal, text, "(no text)") == -1 ||
	    buf_puts(out, "\n") == -1)
		return -1;
	return 0;
}

/* s quoted and escaped, or unsent if s is NULL. */
int
print_text_quoted(struct buf *out, const struct palette *pal, const char *s,
    const char *unsent)
{
	if (s == NULL)
		return buf_puts(out, unsent);
	return text_value(out, pal, s, strlen(s));
}

/*
 * "[SESSION]", the tag of every text line of a session, in its style,
 * into prefix (PRINT_PREFIX_MAX bytes).
 */
void
print_text_prefix(char *prefix, const struct palette *pal, uint64_t session)
{
	size_t	 n = strlen(pal->tag);

	memcpy(prefix, pal->tag, n);
	prefix[n++] = '[';
	n += fmt_uint(prefix + n, session);
	prefix[n++] = ']';
	memcpy(prefix + n, pal->off, strlen(pal->off) + 1);
}

/* "PREFIX STAGE TIME", the start of an event's first line. */
int
print_text_head(struct buf *out, const struct palette *pal,
    const char *prefix, const char *stage, const struct timespec *time)
{
	if (buf_puts(out, prefix) == -1 || buf_puts(out, " ") == -1 ||
	    buf_puts(out, pal->stage) == -1 || buf_puts(out, stage) == -1 ||
	    buf_puts(out, pal->off) == -1 || buf_puts(out, " ") == -1 ||
	    put_time(out, time) == -1)
		return -1;
	return 0;
}

/* "NAME", a macro's name, escaped and in its style. */
static int
text_name(struct buf *out, const struct palette *pal, const char *name)
{
	if (buf_puts(out, pal->name) == -1 ||
	    escape_text_styled(out, name, strlen(name), pal->escape,
	    pal->unescape) == -1 || buf_puts(out, pal->off) == -1)
		return -1;
	return 0;
}

/* A text line "PREFIX  macro NAME: "VALUE"\n" for each macro. */
static int
text_macros(struct buf *out, const struct palette *pal, const char *prefix,
    const struct macro *m, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (text_pair(out, pal, prefix, "macro", m[i].name,
		    m[i].value) == -1 || buf_puts(out, "\n") == -1)
			return -1;
	return 0;
}

/* A text line "PREFIX  visible NAME: "VALUE" (STAGE)\n" for each. */
static int
text_visible(struct buf *out, const struct palette *pal, const char *prefix,
    const struct visible *v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (text_pair(out, pal, prefix, "visible", v[i].name,
		    v[i].value) == -1 || buf_puts(out, " (") == -1 ||
		    buf_puts(out, print_stage_names[v[i].stage]) == -1 ||
		    buf_puts(out, ")\n") == -1)
			return -1;
	return 0;
}

/* "PREFIX  KIND NAME: "VALUE"", a macro's line but for its end. */
static int
text_pair(struct buf *out, const struct palette *pal, const char *prefix,
    const char *kind, const char *name, const char *value)
{
	if (buf_puts(out, prefix) == -1 || buf_puts(out, "  ") == -1 ||
	    buf_puts(out, kind) == -1 || buf_puts(out, " ") == -1 ||
	    text_name(out, pal, name) == -1 || buf_puts(out, ": ") == -1 ||
	    text_value(out, pal, value, strlen(value)) == -1)
		return -1;
	return 0;
}

/*
 * A text line "PREFIX  LABEL: 0xHHHHHHHH NAME|NAME...\n", cut after a
 * '|' into lines "PREFIX    NAME|NAME..." so that none is wider than
 * PRINT_TEXT_COLUMNS: a long list takes lines, and loses no name.
 */
static int
text_flags(struct buf *out, const char *prefix, const char *label,
    int steps, unsigned long flags)
{
	const struct flag	*f = steps ? step_flags : action_flags;
	unsigned long		 rest = flags;
	size_t			 col, len;
	const char		*name;
	char			 s[64], num[32];
	int			 first = 1;

	snprintf(s, sizeof s, "  %s: 0x%08lx", label, flags);
	if (buf_puts(out, prefix) == -1 || buf_puts(out, s) == -1)
		return -1;
	col = visible_width(prefix) + strlen(s);
	for (;;) {
		if (f->name != NULL && (flags & f->bit) == 0) {
			f++;
			continue;
		}
		if (f->name != NULL) {
			rest &= ~f->bit;
			name = f++->name;
		} else if (rest != 0) {
			/* Bits without a name, as one number. */
			snprintf(num, sizeof num, "0x%lx", rest);
			name = num;
			rest = 0;
		} else
			break;
		len = strlen(name);
		/* Room for the name and the '|' that may follow it. */
		if (!first && col + len + 2 > PRINT_TEXT_COLUMNS) {
			if (buf_puts(out, "|\n") == -1 ||
			    buf_puts(out, prefix) == -1 ||
			    buf_puts(out, "    ") == -1)
				return -1;
			col = visible_width(prefix) + 4;
		} else if (buf_puts(out, first ? " " : "|") == -1)
			return -1;
		else
			col++;
		if (buf_puts(out, name) == -1)
			return -1;
		col += len;
		first = 0;
	}
	return buf_puts(out, "\n");
}

/* The columns s takes on a terminal: its bytes but SGR sequences. */
static size_t
visible_width(const char *s)
{
	size_t	 n = 0;

	while (*s != '\0') {
		if (*s == '\033') {
			while (*s != '\0' && *s != 'm')
				s++;
			if (*s != '\0')
				s++;
			continue;
		}
		n++;
		s++;
	}
	return n;
}

static int
print_json(struct buf *out, const struct event *ev)
{
	const struct negotiation *ng = ev->negotiation;
	char		 num[64], addr[PRINT_ADDRESS_MAX];
	size_t		 i;

	if (print_json_head(out, ev->session, ev->run,
	    print_stage_names[ev->stage], &ev->time) == -1)
		return -1;

	switch (ev->stage) {
	case STAGE_NEGOTIATE:
		if (ev->version > 0) {
			snprintf(num, sizeof num, ",\"version\":%d",
			    ev->version);
			if (buf_puts(out, num) == -1)
				return -1;
		}
		if (ng->told && ng->told_version != ev->version) {
			snprintf(num, sizeof num, ",\"answered_version\":%d",
			    ng->told_version);
			if (buf_puts(out, num) == -1)
				return -1;
		}
		if (buf_puts(out, ",\"offered\":") == -1 ||
		    json_flags(out, ng->offered_actions,
		    ng->offered_steps) == -1 ||
		    buf_puts(out, ",\"answered\":") == -1 ||
		    json_flags(out, ng->asked_actions,
		    ng->told ? ng->told_steps : ng->asked_steps) == -1 ||
		    (ng->told && ng->told_steps != ng->asked_steps &&
		    (buf_puts(out, ",\"asked\":") == -1 ||
		    json_flags(out, ng->asked_actions,
		    ng->asked_steps) == -1)))
			return -1;
		snprintf(num, sizeof num, ",\"missing_actions\":%lu",
		    ng->missing_actions);
		if (ng->missing_actions != 0 && (buf_puts(out, num) == -1 ||
		    buf_puts(out, ",\"missing_action_flags\":[") == -1 ||
		    print_flag_names(out, 0, ng->missing_actions,
		    FORMAT_JSON) == -1 || buf_puts(out, "]") == -1))
			return -1;
		break;
	case STAGE_CONNECT:
		if (put_json_string(out, "host", ev->host,
		    strlen(ev->host)) == -1 ||
		    put_json_string(out, "address", addr,
		    print_address(addr, ev->address)) == -1 ||
		    json_address(out, ev->address) == -1)
			return -1;
		break;
	case STAGE_HELO:
	case STAGE_UNKNOWN:
		if (put_json_string(out,
		    ev->stage == STAGE_HELO ? "name" : "command", ev->name,
		    strlen(ev->name)) == -1)
			return -1;
		break;
	case STAGE_ENVFROM:
	case STAGE_ENVRCPT:
		/* The address, as text names it, for jq; null: none. */
		if (buf_puts(out, ",") == -1 || print_json_member(out,
		    "address", ev->args != NULL ? ev->args[0] : NULL) == -1 ||
		    buf_puts(out, ",\"args\":[") == -1)
			return -1;
		for (i = 0; ev->args != NULL && ev->args[i] != NULL; i++)
			if ((i > 0 && buf_puts(out, ",") == -1) ||
			    put_json_string(out, NULL, ev->args[i],
			    strlen(ev->args[i])) == -1)
				return -1;
		if (buf_puts(out, "]") == -1)
			return -1;
		if (ev->stage == STAGE_ENVRCPT && json_rejection(out, ev) == -1)
			return -1;
		break;
	case STAGE_HEADER:
		if (put_json_string(out, "name", ev->name,
		    strlen(ev->name)) == -1 ||
		    put_json_string(out, "value", ev->value,
		    strlen(ev->value)) == -1)
			return -1;
		break;
	case STAGE_BODY:
		snprintf(num, sizeof num, ",\"length\":%zu", ev->length);
		if (buf_puts(out, num) == -1 ||
		    put_json_string(out, "chunk", ev->chunk, ev->length) == -1)
			return -1;
		break;
	default:
		break;
	}

	if ((ev->forward != NULL && json_forward(out, ev) == -1) ||
	    (ev->answer != NULL && json_answer(out, ev->answer,
	    ev->stage) == -1) ||
	    json_macros(out, ev->macros, ev->nmacros) == -1 ||
	    (ev->show_visible && json_visible(out, ev->visible,
	    ev->nvisible) == -1) || buf_puts(out, "}\n") == -1)
		return -1;
	return 0;
}

/*
 * The members ,"rejected":BOOL,"rejection":{"status":S,"text":T}, each of
 * S and T a string as the MTA sent it or null if it sent none; the
 * rejection is null for a recipient that was not rejected.
 */
static int
json_rejection(struct buf *out, const struct event *ev)
{
	if (!ev->rejected)
		return buf_puts(out, ",\"rejected\":false,\"rejection\":null");
	if (buf_puts(out, ",\"rejected\":true,\"rejection\":{") == -1 ||
	    print_json_member(out, "status", ev->reject_status) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "text", ev->reject_text) == -1 ||
	    buf_puts(out, "}") == -1)
		return -1;
	return 0;
}

/*
 * {"session":N,"run":"RUN","stage":"STAGE","time":"TIME", an event's
 * JSON so far.
 */
int
print_json_head(struct buf *out, uint64_t session, const char *run,
    const char *stage, const struct timespec *time)
{
	char	 num[20];

	if (buf_puts(out, "{\"session\":") == -1 ||
	    buf_add(out, num, fmt_uint(num, session)) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "run", run) == -1 ||
	    buf_puts(out, ",\"stage\":\"") == -1 ||
	    buf_puts(out, stage) == -1 ||
	    buf_puts(out, "\",\"time\":\"") == -1 ||
	    put_time(out, time) == -1 || buf_puts(out, "\"") == -1)
		return -1;
	return 0;
}

/* The member "KEY":"ESCAPED", or "KEY":null if s is NULL. */
int
print_json_member(struct buf *out, const char *key, const char *s)
{
	if (buf_puts(out, "\"") == -1 || buf_puts(out, key) == -1 ||
	    buf_puts(out, "\":") == -1)
		return -1;
	if (s == NULL)
		return buf_puts(out, "null");
	return put_json_string(out, NULL, s, strlen(s));
}

/*
 * The members ,"family":F and, as the family has them, ,"ip":"IP",
 * "port":N or ,"path":"PATH": the connect address for jq, with no
 * parsing of "address".
 */
static int
json_address(struct buf *out, const struct sockaddr *sa)
{
	struct address	 a;
	char		 num[32];

	print_address_parts(sa, &a);
	if (buf_puts(out, ",\"family\":\"") == -1 ||
	    buf_puts(out, a.family) == -1 || buf_puts(out, "\"") == -1)
		return -1;
	if (a.path != NULL)
		return put_json_string(out, "path", a.path, a.pathlen);
	if (a.ip[0] == '\0')
		return 0;
	snprintf(num, sizeof num, ",\"port\":%u", a.port);
	return buf_puts(out, ",\"ip\":\"") == -1 || buf_puts(out, a.ip) == -1 ||
	    buf_puts(out, "\"") == -1 || buf_puts(out, num) == -1 ? -1 : 0;
}

/* The member ,"macros":{"NAME":"VALUE",...}. */
static int
json_macros(struct buf *out, const struct macro *m, size_t n)
{
	size_t	 i;

	if (buf_puts(out, ",\"macros\":{") == -1)
		return -1;
	for (i = 0; i < n; i++)
		if ((i > 0 && buf_puts(out, ",") == -1) ||
		    put_json_string(out, NULL, m[i].name,
		    strlen(m[i].name)) == -1 ||
		    buf_puts(out, ":") == -1 ||
		    put_json_string(out, NULL, m[i].value,
		    strlen(m[i].value)) == -1)
			return -1;
	return buf_puts(out, "}");
}

/* The member ,"visible":{"NAME":{"value":"VALUE","stage":"STAGE"},...}. */
static int
json_visible(struct buf *out, const struct visible *v, size_t n)
{
	size_t	 i;

	if (buf_puts(out, ",\"visible\":{") == -1)
		return -1;
	for (i = 0; i < n; i++)
		if ((i > 0 && buf_puts(out, ",") == -1) ||
		    put_json_string(out, NULL, v[i].name,
		    strlen(v[i].name)) == -1 ||
		    buf_puts(out, ":{\"value\":") == -1 ||
		    put_json_string(out, NULL, v[i].value,
		    strlen(v[i].value)) == -1 ||
		    buf_puts(out, ",\"stage\":\"") == -1 ||
		    buf_puts(out, print_stage_names[v[i].stage]) == -1 ||
		    buf_puts(out, "\"}") == -1)
			return -1;
	return buf_puts(out, "}");
}

/* {"actions":N,"action_flags":[...],"steps":N,"step_flags":[...]} */
static int
json_flags(struct buf *out, unsigned long actions, unsigned long steps)
{
	char	 s[64];

	snprintf(s, sizeof s, "{\"actions\":%lu,\"action_flags\":[", actions);
	if (buf_puts(out, s) == -1 ||
	    print_flag_names(out, 0, actions, FORMAT_JSON) == -1)
		return -1;
	snprintf(s, sizeof s, "],\"steps\":%lu,\"step_flags\":[", steps);
	if (buf_puts(out, s) == -1 ||
	    print_flag_names(out, 1, steps, FORMAT_JSON) == -1 ||
	    buf_puts(out, "]}") == -1)
		return -1;
	return 0;
}

/*
 * An answer: "PREFIX  LABEL: ACTION[ CODE[ XCODE] "TEXT"][ after N s]"
 * (probing's delay), or "[ in N s]" if us is not negative (the time the
 * milter behind took), and, at eom, "PREFIX  change: WHAT "VALUE"[ (WHY
 * NOT)]\n" for each change, LABEL before "change" if it is not "reply".
 */
static int
text_answer(struct buf *out, const struct palette *pal, const char *prefix,
    const char *label, const struct answer *a, enum stage stage,
    long long us)
{
	int	 own = strcmp(label, "reply") != 0;
	char	 num[64];
	size_t	 i;

	if (buf_puts(out, prefix) == -1 || buf_puts(out, "  ") == -1 ||
	    buf_puts(out, label) == -1 || buf_puts(out, ": ") == -1 ||
	    buf_puts(out, a->action) == -1 ||
	    (a->code != NULL && (buf_puts(out, " ") == -1 ||
	    buf_puts(out, a->code) == -1)) ||
	    (a->xcode != NULL && (buf_puts(out, " ") == -1 ||
	    buf_puts(out, a->xcode) == -1)) ||
	    (a->text != NULL && (buf_puts(out, " ") == -1 ||
	    print_text_quoted(out, pal, a->text, "") == -1)))
		return -1;
	if (us >= 0)
		snprintf(num, sizeof num, " in %lld.%06lld s", us / 1000000,
		    us % 1000000);
	else
		snprintf(num, sizeof num, " after %lu.%03lu s",
		    a->delay_ms / 1000, a->delay_ms % 1000);
	if (((a->delay_ms > 0 || us >= 0) && buf_puts(out, num) == -1) ||
	    buf_puts(out, "\n") == -1)
		return -1;
	for (i = 0; stage == STAGE_EOM && i < a->nchanges; i++)
		if (buf_puts(out, prefix) == -1 || buf_puts(out, "  ") == -1 ||
		    (own && (buf_puts(out, label) == -1 ||
		    buf_puts(out, " ") == -1)) ||
		    buf_puts(out, "change: ") == -1 ||
		    buf_puts(out, a->changes[i].what) == -1 ||
		    buf_puts(out, " ") == -1 ||
		    print_text_quoted(out, pal, a->changes[i].value, "") ==
		    -1 ||
		    (a->changes[i].failure != NULL &&
		    (buf_puts(out, " (") == -1 ||
		    buf_puts(out, a->changes[i].failure) == -1 ||
		    buf_puts(out, ")") == -1)) || buf_puts(out, "\n") == -1)
			return -1;
	return 0;
}

/*
 * Probing: ,"reply":{"action":A,"code":C,"xcode":X,"text":T,"delay":S}
 * (null for what was not given) and, at eom, ,"modifications":[{"action":
 * WHAT,"value":V,"done":BOOL,"error":E},...].
 */
static int
json_answer(struct buf *out, const struct answer *a, enum stage stage)
{
	char	 num[64];

	snprintf(num, sizeof num, ",\"delay\":%lu.%03lu}", a->delay_ms / 1000,
	    a->delay_ms % 1000);
	if (buf_puts(out, ",\"reply\":") == -1 || json_reply(out, a) == -1 ||
	    buf_puts(out, num) == -1)
		return -1;
	return stage == STAGE_EOM ? json_changes(out, a) : 0;
}

/*
 * An answer's reply, open for more members:
 * {"action":A,"code":C,"xcode":X,"text":T (null for what was not given).
 */
static int
json_reply(struct buf *out, const struct answer *a)
{
	return buf_puts(out, "{") == -1 ||
	    print_json_member(out, "action", a->action) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "code", a->code) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "xcode", a->xcode) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "text", a->text) == -1 ? -1 : 0;
}

/*
 * An answer's changes at eom: ,"modifications":[{"action":WHAT,
 * "value":V,"done":BOOL,"error":E},...].
 */
static int
json_changes(struct buf *out, const struct answer *a)
{
	size_t	 i;

	if (buf_puts(out, ",\"modifications\":[") == -1)
		return -1;
	for (i = 0; i < a->nchanges; i++)
		if ((i > 0 && buf_puts(out, ",") == -1) ||
		    buf_puts(out, "{") == -1 ||
		    print_json_member(out, "action", a->changes[i].what) ==
		    -1 || buf_puts(out, ",") == -1 ||
		    print_json_member(out, "value", a->changes[i].value) ==
		    -1 || buf_puts(out, a->changes[i].failure == NULL ?
		    ",\"done\":true," : ",\"done\":false,") == -1 ||
		    print_json_member(out, "error", a->changes[i].failure) ==
		    -1 || buf_puts(out, "}") == -1)
			return -1;
	return buf_puts(out, "]");
}

/* The SMFIM_* stages' names, for the milter's macro lists. */
static const char *const list_names[] = {
	"connect", "helo", "envfrom", "envrcpt", "data", "eom", "eoh"
};

/*
 * The milter behind (--forward): at negotiate, "PREFIX  forward
 * version: N", its actions, steps and macro lists; at the other stages
 * what it answered, as text_answer() writes it, with the time it took;
 * "forward: no reply" where none was awaited; "forward failed: WHY"
 * where it failed, and at every stage answered since the answer
 * inspect gave in its stead.  Nothing for a stage it was not sent.
 */
static int
text_forward(struct buf *out, const struct palette *pal, const char *prefix,
    const struct event *ev)
{
	const struct forwarded	*f = ev->forward;
	char			 num[64];
	size_t			 i;

	/* Why, where it failed; then the answer given in its stead. */
	if (f->failure != NULL && f->sent && (buf_puts(out, prefix) == -1 ||
	    buf_puts(out, "  forward failed: ") == -1 ||
	    print_text_quoted(out, pal, f->failure, "") == -1 ||
	    buf_puts(out, "\n") == -1))
		return -1;
	if (f->failure != NULL)
		return f->reply.action == NULL ? 0 : text_answer(out, pal,
		    prefix, "forward default", &f->reply, ev->stage, -1);
	if (!f->sent)
		return 0;
	if (ev->stage == STAGE_NEGOTIATE) {
		snprintf(num, sizeof num, "  forward version: %d\n",
		    f->version);
		if (buf_puts(out, prefix) == -1 || buf_puts(out, num) == -1 ||
		    text_flags(out, prefix, "forward actions", 0,
		    f->actions) == -1 ||
		    text_flags(out, prefix, "forward steps", 1, f->steps) == -1)
			return -1;
		for (i = 0; i < sizeof list_names / sizeof *list_names; i++)
			if (f->lists[i] != NULL && (buf_puts(out, prefix) ==
			    -1 || buf_puts(out, "  forward macros: ") == -1 ||
			    buf_puts(out, list_names[i]) == -1 ||
			    buf_puts(out, " ") == -1 ||
			    print_text_quoted(out, pal, f->lists[i], "") == -1 ||
			    buf_puts(out, "\n") == -1))
				return -1;
		return 0;
	}
	/* Abort and close are never answered; other stages, if so asked. */
	if (f->reply.action == NULL)
		return buf_puts(out, prefix) == -1 ||
		    buf_puts(out, ev->stage == STAGE_ABORT ||
		    ev->stage == STAGE_CLOSE ? "  forward: sent\n" :
		    "  forward: no reply\n") == -1 ? -1 : 0;
	return text_answer(out, pal, prefix, "forward", &f->reply, ev->stage,
	    (long long)(f->ns / 1000));
}

/*
 * ,"forward":{...}: at negotiate "version", "actions" and "steps" (as
 * "offered" has them) and "macros" {STAGE:LIST,...}; elsewhere "reply"
 * (null where none was awaited) and, at eom, "modifications"; always
 * "sent", "seconds" and "error" (null, or why inspect answered
 * --forward-default's "reply" in the milter's stead).
 */
static int
json_forward(struct buf *out, const struct event *ev)
{
	const struct forwarded	*f = ev->forward;
	char			 num[64];
	size_t			 i;
	int			 first = 1;

	snprintf(num, sizeof num, ",\"seconds\":%llu.%06llu",
	    (unsigned long long)(f->ns / 1000000000),
	    (unsigned long long)(f->ns / 1000 % 1000000));
	if (buf_puts(out, ",\"forward\":{\"sent\":") == -1 ||
	    buf_puts(out, f->sent ? "true" : "false") == -1 ||
	    buf_puts(out, num) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "error", f->failure) == -1)
		return -1;
	if (ev->stage == STAGE_NEGOTIATE && f->failure == NULL) {
		snprintf(num, sizeof num, ",\"version\":%d,\"asked\":",
		    f->version);
		if (buf_puts(out, num) == -1 ||
		    json_flags(out, f->actions, f->steps) == -1 ||
		    buf_puts(out, ",\"macros\":{") == -1)
			return -1;
		for (i = 0; i < sizeof list_names / sizeof *list_names; i++) {
			if (f->lists[i] == NULL)
				continue;
			if ((!first && buf_puts(out, ",") == -1) ||
			    print_json_member(out, list_names[i],
			    f->lists[i]) == -1)
				return -1;
			first = 0;
		}
		return buf_puts(out, "}}");
	}
	if (buf_puts(out, ",\"reply\":") == -1 ||
	    (f->reply.action == NULL ? buf_puts(out, "null") :
	    json_reply(out, &f->reply) == -1 ? -1 : buf_puts(out, "}")) == -1 ||
	    (ev->stage == STAGE_EOM && json_changes(out, &f->reply) == -1))
		return -1;
	return buf_puts(out, "}");
}
