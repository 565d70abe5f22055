/* probe.c -- what inspect answers and changes, when asked to probe */
/* SPDX-License-Identifier: ISC */

/*
 * By default inspect answers every stage "continue", asks for no action
 * and never changes mail.  Probing answers chosen stages otherwise, waits
 * before answering, and changes the message at eom, all through
 * libmilter's own calls, so that one can see how the MTA takes it.  The
 * default path costs one test per stage (probe_decide()).
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "log.h"
#include "probe.h"
#include "reason.h"
#include "session.h"

/* A long delay at eom tells the MTA that inspect is still there. */
#define PROGRESS_MS	1000

/* What a session keeps of the stage being answered. */
struct probe_state {
	struct answer		 answer;
	const struct probe_reply *reply;	/* NULL: none matched */
	sfsistat		 status;
	struct answer_change	 changes[PROBE_MAX_CHANGES];
};

static int	stage_named(const char *, size_t, enum stage *);
static int	parse_answer(struct probe_reply *, const char *, char *,
		    size_t);
static int	parse_text(struct probe_reply *, const char *, char *,
		    size_t);
static int	valid_xcode(const char *, char);
static int	parse_header(struct probe_edit *, const char *, int, char *,
		    size_t);
static int	parse_address(struct probe_edit *, const char *, int,
		    char *, size_t);
static int	read_body(struct probe *, const char *, char *, size_t);
static const char *main_argument(const struct event *, char *, size_t);
static int	matches(const struct probe_reply *, const struct event *);
static void	make_changes(SMFICTX *, struct session *,
		    struct probe_state *);
static const char *make_change(SMFICTX *, struct session *,
		    const struct probe_edit *);
static void	describe(struct buf *, const char *, const char *);
static void	wait_delay(SMFICTX *, unsigned long, int);
static sfsistat	quiet_continue(struct session *, unsigned long);

const char *const probe_change_names[CHANGE_KINDS] = {
	[CHANGE_ADD_HEADER] = "add-header",
	[CHANGE_INSERT_HEADER] = "insert-header",
	[CHANGE_CHANGE_HEADER] = "change-header",
	[CHANGE_CHANGE_FROM] = "change-from",
	[CHANGE_ADD_RCPT] = "add-rcpt",
	[CHANGE_DELETE_RCPT] = "delete-rcpt",
	[CHANGE_REPLACE_BODY] = "replace-body",
	[CHANGE_QUARANTINE] = "quarantine"
};

/* The answers by word, and the stages each is possible at. */
#define MSG_STAGES	((1u << STAGE_ENVFROM) | (1u << STAGE_ENVRCPT) | \
			(1u << STAGE_DATA) | (1u << STAGE_HEADER) | \
			(1u << STAGE_EOH) | (1u << STAGE_BODY) | \
			(1u << STAGE_EOM))
#define ALL_STAGES	(MSG_STAGES | (1u << STAGE_CONNECT) | \
			(1u << STAGE_HELO) | (1u << STAGE_UNKNOWN))

static const struct {
	const char	*word;
	sfsistat	 status;
	unsigned int	 stages;
} answers[] = {
	{ "continue", SMFIS_CONTINUE, ALL_STAGES },
	{ "accept", SMFIS_ACCEPT, ALL_STAGES },
	{ "reject", SMFIS_REJECT, ALL_STAGES },
	{ "tempfail", SMFIS_TEMPFAIL, ALL_STAGES },
	{ "discard", SMFIS_DISCARD, MSG_STAGES },
	{ "skip", SMFIS_SKIP, 1u << STAGE_BODY }
};

/* The stages with a main argument to match, and their no-reply bits. */
#define MATCH_STAGES	((1u << STAGE_CONNECT) | (1u << STAGE_HELO) | \
			(1u << STAGE_ENVFROM) | (1u << STAGE_ENVRCPT) | \
			(1u << STAGE_HEADER) | (1u << STAGE_UNKNOWN))

static const unsigned long nr_bits[STAGE_MAX] = {
	[STAGE_CONNECT] = SMFIP_NR_CONN,
	[STAGE_HELO] = SMFIP_NR_HELO,
	[STAGE_ENVFROM] = SMFIP_NR_MAIL,
	[STAGE_ENVRCPT] = SMFIP_NR_RCPT,
	[STAGE_DATA] = SMFIP_NR_DATA,
	[STAGE_HEADER] = SMFIP_NR_HDR,
	[STAGE_EOH] = SMFIP_NR_EOH,
	[STAGE_BODY] = SMFIP_NR_BODY,
	[STAGE_UNKNOWN] = SMFIP_NR_UNKN
};

static const unsigned long change_actions[CHANGE_KINDS] = {
	[CHANGE_ADD_HEADER] = SMFIF_ADDHDRS,
	[CHANGE_INSERT_HEADER] = SMFIF_ADDHDRS,
	[CHANGE_CHANGE_HEADER] = SMFIF_CHGHDRS,
	[CHANGE_CHANGE_FROM] = SMFIF_CHGFROM,
	[CHANGE_ADD_RCPT] = SMFIF_ADDRCPT,	/* _PAR with ESMTP args */
	[CHANGE_DELETE_RCPT] = SMFIF_DELRCPT,
	[CHANGE_REPLACE_BODY] = SMFIF_CHGBODY,
	[CHANGE_QUARANTINE] = SMFIF_QUARANTINE
};

/* Set in probe_setup(); read-only while serving. */
static const struct probe *probe;
static unsigned int	 probed;	/* stages answered or delayed */

static atomic_int	 warned_actions;
static atomic_int	 warned_skip;

/* Delays end at once when inspect stops. */
static pthread_mutex_t	 stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 stop_cond;
static int		 stopping;

/* The stage called name[0..len), if it can be answered. */
static int
stage_named(const char *name, size_t len, enum stage *st)
{
	int	 i;

	for (i = 0; i < STAGE_MAX; i++)
		if ((ALL_STAGES & (1u << i)) &&
		    strlen(print_stage_names[i]) == len &&
		    strncmp(print_stage_names[i], name, len) == 0) {
			*st = i;
			return 0;
		}
	return -1;
}

int
probe_parse_reply(struct probe *p, const char *arg, char *err,
    size_t errlen)
{
	struct probe_reply	*r;
	const char		*eq, *slash;
	size_t			 len;

	if (p->nreplies == PROBE_MAX_REPLIES)
		return reason(err, errlen, "--reply: more than %d "
		    "replies ('%s')", PROBE_MAX_REPLIES, arg);
	if ((eq = strchr(arg, '=')) == NULL)
		return reason(err, errlen, "--reply '%s': expected "
		    "STAGE[/MATCH]=ANSWER", arg);
	r = &p->replies[p->nreplies];
	memset(r, 0, sizeof *r);
	r->given = arg;
	slash = memchr(arg, '/', eq - arg);
	len = (slash != NULL ? slash : eq) - arg;
	if (stage_named(arg, len, &r->stage) == -1)
		return reason(err, errlen, "--reply '%s': unknown stage "
		    "'%.*s' (expected connect, helo, envfrom, envrcpt, data, "
		    "header, eoh, body, eom or unknown)", arg, (int)len, arg);
	if (slash != NULL && !(MATCH_STAGES & (1u << r->stage)))
		return reason(err, errlen, "--reply '%s': %s has "
		    "nothing to match", arg, print_stage_names[r->stage]);
	if (slash != NULL && slash + 1 == eq)
		return reason(err, errlen, "--reply '%s': empty MATCH",
		    arg);
	if (slash != NULL && (r->match = strndup(slash + 1,
	    eq - slash - 1)) == NULL)
		return reason(err, errlen, "--reply: %s",
		    strerror(errno));
	/* Counted now, so that probe_free() releases what it holds. */
	p->nreplies++;
	return parse_answer(r, eq + 1, err, errlen);
}

/* ANSWER: a word, or CODE [X.Y.Z] TEXT. */
static int
parse_answer(struct probe_reply *r, const char *s, char *err, size_t errlen)
{
	const char	*stage = print_stage_names[r->stage];
	size_t		 i, n;

	for (i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		if (strcmp(s, answers[i].word) != 0)
			continue;
		if (!(answers[i].stages & (1u << r->stage)))
			return reason(err, errlen, "--reply: '%s' is "
			    "not possible at %s", s, stage);
		r->status = answers[i].status;
		r->action = answers[i].word;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    !isdigit((unsigned char)s[2]) || (s[3] != ' ' && s[3] != '\0'))
		return reason(err, errlen, "--reply: unknown answer '%s' "
		    "(expected continue, accept, reject, tempfail, discard, "
		    "skip or CODE [X.Y.Z] TEXT)", s);
	if (s[0] != '4' && s[0] != '5')
		return reason(err, errlen, "--reply: code '%.3s' is not "
		    "4xx (tempfail) or 5xx (reject)", s);
	memcpy(r->code, s, 3);
	r->status = s[0] == '4' ? SMFIS_TEMPFAIL : SMFIS_REJECT;
	r->action = s[0] == '4' ? "tempfail" : "reject";
	for (s += 3; *s == ' '; s++)
		;
	n = strcspn(s, " ");
	if (n > 0 && strchr(s, '.') != NULL && strchr(s, '.') < s + n) {
		if (n >= sizeof r->xcode)
			return reason(err, errlen, "--reply: '%.*s' is "
			    "not a status X.Y.Z", (int)n, s);
		memcpy(r->xcode, s, n);
		if (!valid_xcode(r->xcode, r->code[0]))
			return reason(err, errlen, "--reply: '%s' is not "
			    "a status %c.Y.Z, as code %s needs", r->xcode,
			    r->code[0], r->code);
		for (s += n; *s == ' '; s++)
			;
	}
	if (*s == '\0')
		return reason(err, errlen, "--reply: code %s has no "
		    "TEXT", r->code);
	return parse_text(r, s, err, errlen);
}

/* X.Y.Z of class c, Y and Z of one to three digits, as libmilter checks. */
static int
valid_xcode(const char *x, char c)
{
	int	 part, n;

	if (x[0] != c || x[1] != '.')
		return 0;
	x += 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; isdigit((unsigned char)x[n]); n++)
			;
		if (n == 0 || n > 3 || x[n] != (part == 0 ? '.' : '\0'))
			return 0;
		x += n + 1;
	}
	return 1;
}

/* TEXT: lines parted by "\n" (backslash, n) or newlines. */
static int
parse_text(struct probe_reply *r, const char *s, char *err, size_t errlen)
{
	char	*t, *block, *line;
	size_t	 i, n;

	if ((r->text = malloc(strlen(s) + 1)) == NULL ||
	    (block = malloc(strlen(s) + 1)) == NULL)
		return reason(err, errlen, "--reply: %s",
		    strerror(errno));
	r->lines[0] = line = block;
	for (t = r->text, i = 0; s[i] != '\0'; i++) {
		n = s[i] == '\\' && s[i + 1] == 'n' ? 2 : s[i] == '\n';
		if (s[i] == '\r')
			return reason(err, errlen, "--reply: a carriage "
			    "return in TEXT");
		if (n == 0) {
			*t++ = s[i];
			*line++ = s[i];
			continue;
		}
		*t++ = '\n';
		*line++ = '\0';
		if (++r->nlines == PROBE_MAX_LINES)
			return reason(err, errlen, "--reply: more than "
			    "%d lines of TEXT", PROBE_MAX_LINES);
		r->lines[r->nlines] = line;
		i += n - 1;
	}
	*t = '\0';
	*line = '\0';
	r->nlines++;
	for (i = 0; i < r->nlines; i++)
		if (strlen(r->lines[i]) > PROBE_MAX_LINE)
			return reason(err, errlen, "--reply: a line of "
			    "TEXT longer than %d bytes", PROBE_MAX_LINE);
	return 0;
}

int
probe_parse_delay(struct probe *p, const char *arg, char *err,
    size_t errlen)
{
	const char	*eq, *s;
	enum stage	 st;
	unsigned long	 ms = 0, scale = 1000;
	int		 dot = 0, digits = 0;

	if ((eq = strchr(arg, '=')) == NULL ||
	    stage_named(arg, eq - arg, &st) == -1)
		return reason(err, errlen, "--delay '%s': expected "
		    "STAGE=SECONDS, STAGE one of connect, helo, envfrom, "
		    "envrcpt, data, header, eoh, body, eom, unknown", arg);
	for (s = eq + 1; *s != '\0'; s++) {
		if (*s == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (!isdigit((unsigned char)*s) || ms > PROBE_MAX_DELAY * 1000)
			break;
		digits++;
		if (!dot)
			ms = ms * 10 + (*s - '0') * 1000;
		else if ((scale /= 10) > 0)
			ms += (*s - '0') * scale;
	}
	if (*s != '\0' || digits == 0 || ms == 0 ||
	    ms > PROBE_MAX_DELAY * 1000)
		return reason(err, errlen, "--delay '%s': '%s' is not a "
		    "number of seconds from 0.001 to %d", arg, eq + 1,
		    PROBE_MAX_DELAY);
	if (p->delay_ms[st] != 0)
		return reason(err, errlen, "--delay '%s': %s is delayed "
		    "twice", arg, print_stage_names[st]);
	p->delay_ms[st] = ms;
	return 0;
}

int
probe_parse_change(struct probe *p, enum probe_change kind, const char *arg,
    char *err, size_t errlen)
{
	struct probe_edit	*e;
	const char		*opt = probe_change_names[kind];
	size_t			 i;

	if (p->nedits == PROBE_MAX_CHANGES)
		return reason(err, errlen, "--%s: more than %d changes "
		    "at eom ('%s')", opt, PROBE_MAX_CHANGES, arg);
	for (i = 0; i < p->nedits; i++)
		if (p->edits[i].kind == kind && (kind == CHANGE_CHANGE_FROM ||
		    kind == CHANGE_REPLACE_BODY || kind == CHANGE_QUARANTINE))
			return reason(err, errlen, "--%s given twice "
			    "('%s')", opt, arg);
	if (*arg == '\0')
		return reason(err, errlen, "--%s: empty value", opt);
	e = &p->edits[p->nedits++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->given = arg;
	switch (kind) {
	case CHANGE_ADD_HEADER:
	case CHANGE_INSERT_HEADER:
	case CHANGE_CHANGE_HEADER:
		return parse_header(e, arg, kind, err, errlen);
	case CHANGE_CHANGE_FROM:
	case CHANGE_ADD_RCPT:
	case CHANGE_DELETE_RCPT:
		return parse_address(e, arg, kind != CHANGE_DELETE_RCPT, err,
		    errlen);
	case CHANGE_REPLACE_BODY:
		return read_body(p, arg, err, errlen);
	default:
		if ((e->value = strdup(arg)) == NULL)
			return reason(err, errlen, "--%s: %s", opt,
			    strerror(errno));
		return 0;
	}
}

/*
 * "Name: value", "INDEX Name: value" (insert-header) or "Name[INDEX]:
 * value" (change-header, whose empty value deletes).
 */
static int
parse_header(struct probe_edit *e, const char *arg, int kind, char *err,
    size_t errlen)
{
	const char	*opt = probe_change_names[kind], *s = arg, *colon, *c;
	char		*end;
	size_t		 n;
	long		 idx = 1;

	if (kind == CHANGE_INSERT_HEADER) {
		idx = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : -1;
		if (idx < 0 || idx > 0x7fffffff || *end != ' ')
			return reason(err, errlen, "--%s '%s': expected "
			    "INDEX Name: value", opt, arg);
		s = end + 1;
	}
	if ((colon = strchr(s, ':')) == NULL)
		return reason(err, errlen, "--%s '%s': expected "
		    "Name: value", opt, arg);
	n = strcspn(s, kind == CHANGE_CHANGE_HEADER ? "[:" : ":");
	if (kind == CHANGE_CHANGE_HEADER && s[n] == '[') {
		idx = isdigit((unsigned char)s[n + 1]) ?
		    strtol(s + n + 1, &end, 10) : -1;
		if (idx < 1 || idx > 0x7fffffff || end[0] != ']' ||
		    end[1] != ':')
			return reason(err, errlen, "--%s '%s': expected "
			    "Name[INDEX]: value, INDEX from 1", opt, arg);
		colon = end + 1;
	}
	if (n == 0)
		return reason(err, errlen, "--%s '%s': empty header "
		    "name", opt, arg);
	for (c = s; c < s + n; c++)
		if (*c <= ' ' || *c > '~')
			return reason(err, errlen, "--%s '%s': a header "
			    "name of printable ASCII, without spaces", opt,
			    arg);
	if (strpbrk(colon, "\r\n") != NULL)
		return reason(err, errlen, "--%s '%s': a line break in "
		    "the value", opt, arg);
	for (colon++; *colon == ' '; colon++)
		;
	e->index = (int)idx;
	if ((e->name = strndup(s, n)) == NULL ||
	    asprintf(&e->spaced, " %s", colon) == -1)
		return reason(err, errlen, "--%s: %s", opt,
		    strerror(errno));
	/* An empty value changes the header into nothing: it goes. */
	if ((*colon != '\0' || kind != CHANGE_CHANGE_HEADER) &&
	    (e->value = strdup(colon)) == NULL)
		return reason(err, errlen, "--%s: %s", opt,
		    strerror(errno));
	return 0;
}

/* "ADDR [ESMTP]", or ADDR alone if esmtp is 0. */
static int
parse_address(struct probe_edit *e, const char *arg, int esmtp, char *err,
    size_t errlen)
{
	const char	*opt = probe_change_names[e->kind];
	size_t		 n = strcspn(arg, " ");

	if (n == 0 || (!esmtp && arg[n] != '\0') ||
	    strpbrk(arg, "\r\n") != NULL)
		return reason(err, errlen, "--%s '%s': expected %s", opt,
		    arg, esmtp ? "ADDRESS [ESMTP-ARGS]" : "one ADDRESS");
	if ((e->name = strndup(arg, n)) == NULL)
		return reason(err, errlen, "--%s: %s", opt,
		    strerror(errno));
	while (arg[n] == ' ')
		n++;
	if (arg[n] != '\0' && (e->value = strdup(arg + n)) == NULL)
		return reason(err, errlen, "--%s: %s", opt,
		    strerror(errno));
	return 0;
}

/* The new body, its lines ended by CRLF as SMTP has them. */
static int
read_body(struct probe *p, const char *path, char *err, size_t errlen)
{
	struct buf	 b = { NULL, 0, 0 };
	char		 chunk[8192];
	ssize_t		 n, i;
	int		 fd, prev = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return reason(err, errlen, "--replace-body %s: %s", path,
		    strerror(errno));
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		for (i = 0; i < n; i++) {
			if (chunk[i] == '\n' && prev != '\r' &&
			    buf_add(&b, "\r", 1) == -1)
				goto fail;
			if (buf_add(&b, &chunk[i], 1) == -1)
				goto fail;
			prev = chunk[i];
		}
		if (b.len > PROBE_MAX_BODY) {
			errno = EFBIG;
			goto fail;
		}
	}
	if (n == -1)
		goto fail;
	close(fd);
	p->body = b.data;
	p->bodylen = b.len;
	return 0;
fail:
	reason(err, errlen, "--replace-body %s: %s", path,
	    errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
	close(fd);
	buf_free(&b);
	return -1;
}

enum stage
probe_replied_stage(const struct probe *p)
{
	size_t	 i;
	int	 st;

	for (i = 0; i < p->nreplies; i++)
		if (p->replies[i].stage != STAGE_EOM)
			return p->replies[i].stage;
	for (st = 0; st < STAGE_MAX; st++)
		if (st != STAGE_EOM && p->delay_ms[st] != 0)
			return st;
	return STAGE_MAX;
}

int
probe_active(const struct probe *p)
{
	int	 st;

	for (st = 0; st < STAGE_MAX; st++)
		if (p->delay_ms[st] != 0)
			return 1;
	return p->nreplies > 0 || p->nedits > 0;
}

unsigned long
probe_actions(const struct probe *p)
{
	unsigned long	 a = 0;
	size_t		 i;

	for (i = 0; i < p->nedits; i++)
		a |= p->edits[i].kind == CHANGE_ADD_RCPT &&
		    p->edits[i].value != NULL ? SMFIF_ADDRCPT_PAR :
		    change_actions[p->edits[i].kind];
	return a;
}

void
probe_free(struct probe *p)
{
	size_t	 i;

	for (i = 0; i < p->nreplies; i++) {
		free(p->replies[i].match);
		free(p->replies[i].text);
		free(p->replies[i].lines[0]);
	}
	for (i = 0; i < p->nedits; i++) {
		free(p->edits[i].name);
		free(p->edits[i].value);
		free(p->edits[i].spaced);
	}
	free(p->body);
	memset(p, 0, sizeof *p);
}

void
probe_setup(const struct probe *p)
{
	pthread_condattr_t	 attr;
	struct buf		 b = { NULL, 0, 0 };
	char			 num[64];
	size_t			 i;
	int			 st;

	probe = p;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&stop_cond, &attr);
	pthread_condattr_destroy(&attr);
	for (i = 0; i < p->nreplies; i++)
		probed |= 1u << p->replies[i].stage;
	for (st = 0; st < STAGE_MAX; st++)
		if (p->delay_ms[st] != 0)
			probed |= 1u << st;
	if (!probe_active(p))
		return;
	for (i = 0; i < p->nreplies; i++)
		describe(&b, "reply", p->replies[i].given);
	for (st = 0; st < STAGE_MAX; st++)
		if (p->delay_ms[st] != 0) {
			snprintf(num, sizeof num, " --delay %s=%lu.%03lu",
			    print_stage_names[st], p->delay_ms[st] / 1000,
			    p->delay_ms[st] % 1000);
			buf_puts(&b, num);
		}
	for (i = 0; i < p->nedits; i++)
		describe(&b, probe_change_names[p->edits[i].kind],
		    p->edits[i].given);
	if (buf_add(&b, "", 1) == 0)
		log_notice("PROBING: inspect answers and changes mail as "
		    "asked:%s", b.data);
	buf_free(&b);
}

/* " --OPT "VALUE"", the value escaped as the report's. */
static void
describe(struct buf *b, const char *opt, const char *value)
{
	buf_puts(b, " --");
	buf_puts(b, opt);
	buf_puts(b, " \"");
	escape_text(b, value, strlen(value));
	buf_puts(b, "\"");
}

void
probe_negotiate(struct negotiation *ng, struct session *s)
{
	unsigned long	 want = probe_actions(probe);
	int		 st;

	ng->asked_actions |= want & ng->offered_actions;
	ng->missing_actions = want & ~ng->offered_actions;
	if (ng->missing_actions != 0 &&
	    atomic_exchange(&warned_actions, 1) == 0)
		log_warn("the MTA does not offer every action asked for "
		    "(0x%lx missing): those changes are not made",
		    ng->missing_actions);
	for (st = 0; st < STAGE_MAX; st++)
		if (probed & (1u << st))
			ng->asked_steps &= ~nr_bits[st];
	if ((probed & (1u << STAGE_BODY)) &&
	    (ng->offered_steps & SMFIP_SKIP))
		ng->asked_steps |= SMFIP_SKIP;
	if (s != NULL) {
		s->actions = ng->asked_actions;
		s->steps = ng->asked_steps;
	}
}

/* The event's main argument, which MATCH looks for. */
static const char *
main_argument(const struct event *ev, char *ip, size_t iplen)
{
	const struct sockaddr	*sa = ev->address;

	switch (ev->stage) {
	case STAGE_CONNECT:
		ip[0] = '\0';
		if (sa != NULL && sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)
			    (const void *)sa)->sin_addr, ip, iplen);
		else if (sa != NULL && sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
			    (const void *)sa)->sin6_addr, ip, iplen);
		return ev->host;
	case STAGE_ENVFROM:
	case STAGE_ENVRCPT:
		return ev->args != NULL && ev->args[0] != NULL ?
		    ev->args[0] : "";
	default:
		return ev->name != NULL ? ev->name : "";
	}
}

/* Whether r answers ev: the stage, and MATCH anywhere, in any case. */
static int
matches(const struct probe_reply *r, const struct event *ev)
{
	char	 ip[INET6_ADDRSTRLEN];

	if (r->stage != ev->stage)
		return 0;
	if (r->match == NULL)
		return 1;
	return strcasestr(main_argument(ev, ip, sizeof ip), r->match) !=
	    NULL || (ev->stage == STAGE_CONNECT &&
	    strcasestr(ip, r->match) != NULL);
}

const struct answer *
probe_decide(SMFICTX *ctx, struct session *s, const struct event *ev)
{
	const struct probe_reply *r = NULL;
	struct probe_state	*ps;
	struct answer		*a;
	size_t			 i;

	if (!(probed & (1u << ev->stage)) &&
	    (ev->stage != STAGE_EOM || probe->nedits == 0))
		return NULL;
	for (i = 0; i < probe->nreplies && r == NULL; i++)
		if (matches(&probe->replies[i], ev))
			r = &probe->replies[i];
	if (s == NULL || (r == NULL && probe->delay_ms[ev->stage] == 0 &&
	    ev->stage != STAGE_EOM))
		return NULL;
	if (s->probe == NULL && (s->probe = calloc(1, sizeof *ps)) == NULL) {
		log_err("cannot answer as asked: out of memory");
		return NULL;
	}
	ps = s->probe;
	a = &ps->answer;
	memset(a, 0, sizeof *a);
	a->action = r != NULL ? r->action : "continue";
	a->code = r != NULL && r->code[0] != '\0' ? r->code : NULL;
	a->xcode = r != NULL && r->xcode[0] != '\0' ? r->xcode : NULL;
	a->text = r != NULL ? r->text : NULL;
	a->delay_ms = probe->delay_ms[ev->stage];
	ps->reply = r;
	ps->status = r != NULL ? r->status : SMFIS_CONTINUE;
	if (ps->status == SMFIS_SKIP && !(s->steps & SMFIP_SKIP)) {
		if (atomic_exchange(&warned_skip, 1) == 0)
			log_warn("the MTA does not offer SMFIP_SKIP: skip is "
			    "answered continue");
		a->action = "continue";
		ps->status = SMFIS_CONTINUE;
	}
	if (ev->stage == STAGE_EOM)
		make_changes(ctx, s, ps);
	return a;
}

/* Every change asked for, in order; each one's outcome in ps. */
static void
make_changes(SMFICTX *ctx, struct session *s, struct probe_state *ps)
{
	size_t	 i;

	for (i = 0; i < probe->nedits; i++) {
		ps->changes[i].what = probe_change_names[probe->edits[i].kind];
		ps->changes[i].value = probe->edits[i].given;
		ps->changes[i].failure = make_change(ctx, s,
		    &probe->edits[i]);
	}
	ps->answer.changes = ps->changes;
	ps->answer.nchanges = probe->nedits;
}

/* Make one change; NULL if done, else why not. */
static const char *
make_change(SMFICTX *ctx, struct session *s, const struct probe_edit *e)
{
	unsigned long	 need = change_actions[e->kind];
	char		*value;
	int		 rc = MI_FAILURE;

	if (e->kind == CHANGE_ADD_RCPT && e->value != NULL)
		need = SMFIF_ADDRCPT_PAR;
	if (!(s->actions & need))
		return "not negotiated";
	/* With HDR_LEADSPC the MTA adds no space after the colon. */
	value = (s->steps & SMFIP_HDR_LEADSPC) && e->value != NULL ?
	    e->spaced : e->value;
	switch (e->kind) {
	case CHANGE_ADD_HEADER:
		rc = smfi_addheader(ctx, e->name, value);
		break;
	case CHANGE_INSERT_HEADER:
		rc = smfi_insheader(ctx, e->index, e->name, value);
		break;
	case CHANGE_CHANGE_HEADER:
		rc = smfi_chgheader(ctx, e->name, e->index, value);
		break;
	case CHANGE_CHANGE_FROM:
		rc = smfi_chgfrom(ctx, e->name, e->value);
		break;
	case CHANGE_ADD_RCPT:
		rc = e->value != NULL ? smfi_addrcpt_par(ctx, e->name,
		    e->value) : smfi_addrcpt(ctx, e->name);
		break;
	case CHANGE_DELETE_RCPT:
		rc = smfi_delrcpt(ctx, e->name);
		break;
	case CHANGE_REPLACE_BODY:
		/*
		 * One call, even for an empty body, which must still be
		 * sent to be replaced: libmilter cuts the body into packets
		 * it can send (PROBE_MAX_BODY fits in an int).
		 */
		rc = smfi_replacebody(ctx, (unsigned char *)probe->body,
		    (int)probe->bodylen);
		break;
	case CHANGE_QUARANTINE:
		rc = smfi_quarantine(ctx, e->value);
		break;
	default:
		break;
	}
	return rc == MI_SUCCESS ? NULL : "libmilter refused it";
}

sfsistat
probe_answer(SMFICTX *ctx, struct session *s, const struct event *ev)
{
	const struct probe_reply *r;
	const char *const	*l;
	char			*x;
	int			 rc;

	if (ev->answer == NULL)
		return quiet_continue(s, nr_bits[ev->stage]);
	if (ev->answer->delay_ms > 0)
		wait_delay(ctx, ev->answer->delay_ms, ev->stage == STAGE_EOM);
	if ((r = s->probe->reply) == NULL || r->code[0] == '\0')
		return s->probe->status;
	l = (const char *const *)r->lines;
	x = r->xcode[0] != '\0' ? (char *)(uintptr_t)r->xcode : NULL;
	/* libmilter sends the text only with the status of its class. */
	rc = r->nlines == 1 ? smfi_setreply(ctx, (char *)(uintptr_t)r->code,
	    x, r->lines[0]) : smfi_setmlreply(ctx, r->code, x, l[0], l[1],
	    l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10], l[11],
	    l[12], l[13], l[14], l[15], l[16], l[17], l[18], l[19], l[20],
	    l[21], l[22], l[23], l[24], l[25], l[26], l[27], l[28], l[29],
	    l[30], l[31], (char *)NULL);
	if (rc == MI_FAILURE)
		log_err("libmilter refused the reply %s: the MTA makes its own",
		    r->code);
	return s->probe->status;
}

/*
 * Wait ms, ended early by a stop; at eom, tell the MTA every second that
 * inspect is still at work (smfi_progress()), so that only the delays
 * of the other stages run into the MTA's timeouts.
 */
static void
wait_delay(SMFICTX *ctx, unsigned long ms, int progress)
{
	struct timespec	 now, end, next;

	clock_gettime(CLOCK_MONOTONIC, &now);
	end.tv_sec = now.tv_sec + ms / 1000;
	end.tv_nsec = now.tv_nsec + (ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&stop_lock);
	for (;;) {
		next = end;
		if (progress && now.tv_sec + 1 < end.tv_sec) {
			next.tv_sec = now.tv_sec + PROGRESS_MS / 1000;
			next.tv_nsec = now.tv_nsec;
		}
		while (!stopping && pthread_cond_timedwait(&stop_cond,
		    &stop_lock, &next) != ETIMEDOUT)
			;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (stopping || now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		pthread_mutex_unlock(&stop_lock);
		if (smfi_progress(ctx) == MI_FAILURE)
			log_err("cannot tell the MTA that inspect is at work");
		pthread_mutex_lock(&stop_lock);
	}
	pthread_mutex_unlock(&stop_lock);
}

void
probe_stop(void)
{
	pthread_mutex_lock(&stop_lock);
	stopping = 1;
	pthread_cond_broadcast(&stop_cond);
	pthread_mutex_unlock(&stop_lock);
}

/*
 * Continue, by saying so or, where negotiated, by saying nothing.
 *
 * Saying nothing over TCP: the MTA writes its next command at once, and
 * Nagle's algorithm holds it until this one is acknowledged.  Once a
 * reply has gone out, Linux takes the connection for a ping-pong one and
 * delays its ACKs (40 ms) to carry them on the next reply, which does not
 * come: so acknowledge now.  At every such stage, not only the first
 * after a reply, as the kernel may hold an ACK for other reasons (a body
 * chunk it takes for a full segment): a system call is cheaper than the
 * reply it stands in for.
 */
static sfsistat
quiet_continue(struct session *s, unsigned long nr)
{
	static const int	 one = 1;

	if (s == NULL || !(s->nr_steps & nr))
		return SMFIS_CONTINUE;
	if (s->mta_fd != -1)
		setsockopt(s->mta_fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof one);
	return SMFIS_NOREPLY;
}
