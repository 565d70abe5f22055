/* probe_parse.c -- probing's options taken apart: --reply, --delay, changes */
/* SPDX-License-Identifier: ISC */

/*
 * What probing is asked to do, checked and taken apart at start-up into
 * a struct probe; probe.c does it while serving.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "print.h"
#include "probe.h"
#include "reason.h"

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

/* The stages with a main argument to match. */
#define MATCH_STAGES	((1u << STAGE_CONNECT) | (1u << STAGE_HELO) | \
			(1u << STAGE_ENVFROM) | (1u << STAGE_ENVRCPT) | \
			(1u << STAGE_HEADER) | (1u << STAGE_UNKNOWN))

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
		a |= probe_change_action(&p->edits[i]);
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

unsigned long
probe_change_action(const struct probe_edit *e)
{
	return e->kind == CHANGE_ADD_RCPT && e->value != NULL ?
	    SMFIF_ADDRCPT_PAR : change_actions[e->kind];
}
