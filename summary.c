/* summary.c -- a session summed up in one line: kept, then written */
/* SPDX-License-Identifier: ISC */

/*
 * Every event of a session passes here, whichever stages are reported:
 * the client, the helo name and, for each transaction (MAIL to eom,
 * abort or close), its sender, recipients, header count and body size.
 * At close the line is written, in text or JSON, from the pieces print.c
 * starts, quotes and colours an event's lines with.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "summary.h"

static char	*keep(struct summary *, const void *, size_t);
static void	 drop(struct summary *, char *);
static struct transaction *current(struct summary *);
static void	 begin(struct summary *, const char *);
static void	 add_rcpt(struct summary *, const char *, int);
static void	 queue_id(struct summary *, struct transaction *,
		    const char *);
static char	*client_ip(struct summary *, const struct sockaddr *);
static int	 put_summary(struct buf *, enum format, int,
		    const struct event *, const struct summary *);
static int	 text_summary(struct buf *, const struct palette *, uint64_t,
		    const struct timespec *, const struct summary *);
static int	 text_transaction(struct buf *, const struct palette *,
		    const struct transaction *);
static int	 json_summary(struct buf *, const struct event *,
		    const struct summary *);
static int	 json_transaction(struct buf *, const struct transaction *);
static long long elapsed_us(const struct summary *, const struct timespec *);
static void	 forwarded(struct summary *, const struct forwarded *);
static int	 text_forwarded(struct buf *, const struct summary *);

static const char *const endings[] = {
	[END_OPEN] = "open",
	[END_EOM] = "eom",
	[END_ABORT] = "abort",
	[END_CLOSE] = "close",
	[END_NONE] = "none",
};

int
summary_event(struct summary *sm, const struct event *ev, struct buf *out,
    enum format format, int color)
{
	struct transaction	*t = current(sm);
	char			 addr[PRINT_ADDRESS_MAX];

	if (!sm->begun) {
		sm->begun = 1;
		sm->start = ev->time;
	}
	if (ev->forward != NULL)
		forwarded(sm, ev->forward);
	if (ev->queue_id != NULL && ev->stage != STAGE_ENVFROM)
		queue_id(sm, t, ev->queue_id);
	switch (ev->stage) {
	case STAGE_CONNECT:
		drop(sm, sm->host);
		drop(sm, sm->address);
		drop(sm, sm->ip);
		sm->host = keep(sm, ev->host, strlen(ev->host));
		sm->address = keep(sm, addr, print_address(addr, ev->address));
		sm->ip = client_ip(sm, ev->address);
		break;
	case STAGE_HELO:
		/* EHLO again after STARTTLS: the last one counts. */
		drop(sm, sm->helo);
		sm->helo = keep(sm, ev->name, strlen(ev->name));
		break;
	case STAGE_ENVFROM:
		if (t != NULL)
			t->end = END_NONE;
		begin(sm, ev->args != NULL && ev->args[0] != NULL ?
		    ev->args[0] : "");
		/* Sendmail's comes with MAIL, for the new transaction. */
		if (ev->queue_id != NULL)
			queue_id(sm, current(sm), ev->queue_id);
		break;
	case STAGE_ENVRCPT:
		if (t != NULL)
			add_rcpt(sm, ev->args != NULL && ev->args[0] != NULL ?
			    ev->args[0] : "", ev->rejected);
		break;
	case STAGE_HEADER:
		if (t != NULL)
			t->headers++;
		break;
	case STAGE_BODY:
		if (t != NULL)
			t->body += ev->length;
		break;
	case STAGE_EOM:
	case STAGE_ABORT:
		if (t != NULL)
			t->end = ev->stage == STAGE_EOM ? END_EOM : END_ABORT;
		sm->skipping = 0;
		break;
	case STAGE_CLOSE:
		if (t != NULL)
			t->end = END_CLOSE;
		return put_summary(out, format, color, ev, sm);
	default:
		break;
	}
	return 0;
}

void
summary_free(struct summary *sm)
{
	size_t	 i, j;

	for (i = 0; i < sm->ntx; i++) {
		for (j = 0; j < sm->tx[i].nrcpts; j++)
			free(sm->tx[i].rcpts[j].address);
		free(sm->tx[i].rcpts);
		free(sm->tx[i].sender);
		free(sm->tx[i].queue_id);
	}
	free(sm->tx);
	free(sm->host);
	free(sm->address);
	free(sm->ip);
	free(sm->helo);
	memset(sm, 0, sizeof *sm);
}

/* A copy of len bytes of s, NUL-ended, if it fits in what sm may keep. */
static char *
keep(struct summary *sm, const void *s, size_t len)
{
	char	*p;

	if (len >= SUMMARY_KEEP - sm->kept || (p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	sm->kept += len + 1;
	return p;
}

/* Free s, a string keep() made, and give its room back. */
static void
drop(struct summary *sm, char *s)
{
	if (s == NULL)
		return;
	sm->kept -= strlen(s) + 1;
	free(s);
}

/* The transaction open now, if it is listed; else NULL. */
static struct transaction *
current(struct summary *sm)
{
	if (sm->skipping || sm->ntx == 0 || sm->tx[sm->ntx - 1].end !=
	    END_OPEN)
		return NULL;
	return &sm->tx[sm->ntx - 1];
}

/* A new transaction from sender, or one more unlisted. */
static void
begin(struct summary *sm, const char *sender)
{
	struct transaction	*tx;
	char			*s;

	sm->skipping = 1;
	if (sizeof *tx >= SUMMARY_KEEP - sm->kept ||
	    (tx = reallocarray(sm->tx, sm->ntx + 1, sizeof *tx)) == NULL) {
		sm->unlisted++;
		return;
	}
	sm->tx = tx;
	sm->kept += sizeof *tx;
	if ((s = keep(sm, sender, strlen(sender))) == NULL) {
		sm->kept -= sizeof *tx;
		sm->unlisted++;
		return;
	}
	memset(&tx[sm->ntx], 0, sizeof *tx);
	tx[sm->ntx++].sender = s;
	sm->skipping = 0;
}

/* A recipient of the open transaction, or one more unlisted. */
static void
add_rcpt(struct summary *sm, const char *address, int rejected)
{
	struct transaction	*t = &sm->tx[sm->ntx - 1];
	struct recipient	*r;
	char			*s;

	if (sizeof *r >= SUMMARY_KEEP - sm->kept ||
	    (r = reallocarray(t->rcpts, t->nrcpts + 1, sizeof *r)) == NULL) {
		t->unlisted++;
		return;
	}
	t->rcpts = r;
	sm->kept += sizeof *r;
	if ((s = keep(sm, address, strlen(address))) == NULL) {
		sm->kept -= sizeof *r;
		t->unlisted++;
		return;
	}
	r[t->nrcpts].address = s;
	r[t->nrcpts++].rejected = rejected;
}

/*
 * The queue id of t, the current transaction (NULL: not kept), as the
 * MTA has it now: the last one seen, or none while it is empty.
 */
static void
queue_id(struct summary *sm, struct transaction *t, const char *id)
{
	if (t == NULL || *id == '\0' ||
	    (t->queue_id != NULL && strcmp(t->queue_id, id) == 0))
		return;
	drop(sm, t->queue_id);
	t->queue_id = keep(sm, id, strlen(id));
}

/* The client's IP address, as inet_ntop() writes it; NULL if none. */
static char *
client_ip(struct summary *sm, const struct sockaddr *sa)
{
	char		 ip[INET6_ADDRSTRLEN];
	const void	*a;

	if (sa == NULL || (sa->sa_family != AF_INET &&
	    sa->sa_family != AF_INET6))
		return NULL;
	a = sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)(const void *)sa)->
	    sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->
	    sin6_addr;
	if (inet_ntop(sa->sa_family, a, ip, sizeof ip) == NULL)
		return NULL;
	return keep(sm, ip, strlen(ip));
}

/*
 * What the milter behind made of an event: its time counts, and an
 * answer other than continue is the session's verdict so far.
 */
static void
forwarded(struct summary *sm, const struct forwarded *f)
{
	sm->forwarded = 1;
	sm->forward_ns += f->ns;
	if (sm->failed)
		return;
	if (f->failure != NULL) {
		sm->failed = 1;
		sm->verdict = f->reply.action;
	} else if (f->reply.action != NULL &&
	    strcmp(f->reply.action, "continue") != 0)
		sm->verdict = f->reply.action;
}

/*
 * Append sm's line in format, stamped as ev, the session's close: all of
 * it, or on ENOMEM nothing (-1).
 */
static int
put_summary(struct buf *out, enum format format, int color,
    const struct event *ev, const struct summary *sm)
{
	size_t	 len = out->len;
	int	 rc;

	if (format == FORMAT_JSON)
		rc = json_summary(out, ev, sm);
	else
		rc = text_summary(out, print_palette(color), ev->session,
		    &ev->time, sm);
	if (rc == -1)
		out->len = len;
	return rc;
}

/* The session's length, from its first event to time, in microseconds. */
static long long
elapsed_us(const struct summary *sm, const struct timespec *time)
{
	long long	 us;

	if (!sm->begun)
		return 0;
	us = ((long long)time->tv_sec - sm->start.tv_sec) * 1000000 +
	    (time->tv_nsec - sm->start.tv_nsec) / 1000;
	/* The clock of day can be set back. */
	return us > 0 ? us : 0;
}

/*
 * "PREFIX summary TIME client "HOST" "ADDRESS" helo "NAME"", then each
 * transaction, the milter behind's verdict if forwarding, then
 * " duration S.UUUUUUs\n": the session on one line.
 */
static int
text_summary(struct buf *out, const struct palette *pal, uint64_t session,
    const struct timespec *time, const struct summary *sm)
{
	char		 prefix[PRINT_PREFIX_MAX], num[64];
	long long	 us = elapsed_us(sm, time);
	size_t		 i;

	print_text_prefix(prefix, pal, session);
	if (print_text_head(out, pal, prefix, "summary", time) == -1 ||
	    buf_puts(out, " client ") == -1 ||
	    print_text_quoted(out, pal, sm->host, "(none)") == -1 ||
	    (sm->host != NULL && (buf_puts(out, " ") == -1 ||
	    print_text_quoted(out, pal, sm->address, "(none)") == -1)) ||
	    buf_puts(out, " helo ") == -1 ||
	    print_text_quoted(out, pal, sm->helo, "(none)") == -1)
		return -1;
	for (i = 0; i < sm->ntx; i++)
		if (text_transaction(out, pal, &sm->tx[i]) == -1)
			return -1;
	if (sm->unlisted > 0) {
		snprintf(num, sizeof num, " (+%zu more transaction%s)",
		    sm->unlisted, sm->unlisted == 1 ? "" : "s");
		if (buf_puts(out, num) == -1)
			return -1;
	}
	snprintf(num, sizeof num, " duration %lld.%06llds\n", us / 1000000,
	    us % 1000000);
	return text_forwarded(out, sm) == -1 ? -1 : buf_puts(out, num);
}

/*
 * " forward VERDICT S.UUUUUUs", the milter's last answer but continue
 * (continue if none) and its time in all; "forward failed, DEFAULT" if
 * it failed the session.
 */
static int
text_forwarded(struct buf *out, const struct summary *sm)
{
	char	 num[64];

	if (!sm->forwarded)
		return 0;
	snprintf(num, sizeof num, " %llu.%06llus",
	    (unsigned long long)(sm->forward_ns / 1000000000),
	    (unsigned long long)(sm->forward_ns / 1000 % 1000000));
	return buf_puts(out, sm->failed ? " forward failed, " :
	    " forward ") == -1 || buf_puts(out, sm->verdict != NULL ?
	    sm->verdict : "continue") == -1 || buf_puts(out, num) == -1 ?
	    -1 : 0;
}

/*
 * " mail "SENDER" rcpt "RCPT" "RCPT" (rejected) headers N body N bytes
 * end ENDING".
 */
static int
text_transaction(struct buf *out, const struct palette *pal,
    const struct transaction *t)
{
	char	 num[80];
	size_t	 i;

	if (buf_puts(out, " mail ") == -1 ||
	    print_text_quoted(out, pal, t->sender, "(none)") == -1 ||
	    (t->queue_id != NULL && (buf_puts(out, " queue ") == -1 ||
	    print_text_quoted(out, pal, t->queue_id, "") == -1)) ||
	    buf_puts(out, " rcpt") == -1 ||
	    (t->nrcpts == 0 && t->unlisted == 0 &&
	    buf_puts(out, " (none)") == -1))
		return -1;
	for (i = 0; i < t->nrcpts; i++)
		if (buf_puts(out, " ") == -1 ||
		    print_text_quoted(out, pal, t->rcpts[i].address,
		    "(none)") == -1 || (t->rcpts[i].rejected &&
		    (buf_puts(out, " ") == -1 ||
		    buf_puts(out, pal->rejected) == -1 ||
		    buf_puts(out, "(rejected)") == -1 ||
		    buf_puts(out, pal->off) == -1)))
			return -1;
	if (t->unlisted > 0) {
		snprintf(num, sizeof num, " (+%zu more)", t->unlisted);
		if (buf_puts(out, num) == -1)
			return -1;
	}
	snprintf(num, sizeof num, " headers %zu body %llu bytes end ",
	    t->headers, (unsigned long long)t->body);
	return buf_puts(out, num) == -1 || buf_puts(out, endings[t->end]) ==
	    -1 ? -1 : 0;
}

/*
 * {"session":N,"run":R,"stage":"summary","time":T,"host":S,"address":S,
 * "helo":S,"transactions":[...],"unlisted_transactions":N,
 * "duration":SECONDS[,"forward":{"verdict":V,"failed":B,"seconds":S}]},
 * with null for what the session did not send.
 */
static int
json_summary(struct buf *out, const struct event *ev,
    const struct summary *sm)
{
	char		 num[64];
	long long	 us = elapsed_us(sm, &ev->time);
	size_t		 i;

	if (print_json_head(out, ev->session, ev->run, "summary",
	    &ev->time) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "host", sm->host) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "address", sm->address) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "ip", sm->ip) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "helo", sm->helo) == -1 ||
	    buf_puts(out, ",\"transactions\":[") == -1)
		return -1;
	for (i = 0; i < sm->ntx; i++)
		if ((i > 0 && buf_puts(out, ",") == -1) ||
		    json_transaction(out, &sm->tx[i]) == -1)
			return -1;
	snprintf(num, sizeof num, "],\"unlisted_transactions\":%zu,"
	    "\"duration\":%lld.%06lld", sm->unlisted, us / 1000000,
	    us % 1000000);
	if (buf_puts(out, num) == -1)
		return -1;
	snprintf(num, sizeof num, ",\"failed\":%s,\"seconds\":%llu.%06llu}",
	    sm->failed ? "true" : "false",
	    (unsigned long long)(sm->forward_ns / 1000000000),
	    (unsigned long long)(sm->forward_ns / 1000 % 1000000));
	if (sm->forwarded && (buf_puts(out, ",\"forward\":{") == -1 ||
	    print_json_member(out, "verdict", sm->verdict != NULL ?
	    sm->verdict : "continue") == -1 || buf_puts(out, num) == -1))
		return -1;
	return buf_puts(out, "}\n");
}

/*
 * {"sender":S,"recipients":[{"address":S,"rejected":B},...],
 * "unlisted_recipients":N,"headers":N,"body_bytes":N,"end":E}
 */
static int
json_transaction(struct buf *out, const struct transaction *t)
{
	char	 num[128];
	size_t	 i;

	if (buf_puts(out, "{") == -1 ||
	    print_json_member(out, "sender", t->sender) == -1 ||
	    buf_puts(out, ",") == -1 ||
	    print_json_member(out, "queue_id", t->queue_id) == -1 ||
	    buf_puts(out, ",\"recipients\":[") == -1)
		return -1;
	for (i = 0; i < t->nrcpts; i++)
		if ((i > 0 && buf_puts(out, ",") == -1) ||
		    buf_puts(out, "{") == -1 ||
		    print_json_member(out, "address", t->rcpts[i].address) ==
		    -1 || buf_puts(out, t->rcpts[i].rejected ?
		    ",\"rejected\":true}" : ",\"rejected\":false}") == -1)
			return -1;
	snprintf(num, sizeof num, "],\"unlisted_recipients\":%zu,"
	    "\"headers\":%zu,\"body_bytes\":%llu,\"end\":\"", t->unlisted,
	    t->headers, (unsigned long long)t->body);
	return buf_puts(out, num) == -1 ||
	    buf_puts(out, endings[t->end]) == -1 ||
	    buf_puts(out, "\"}") == -1 ? -1 : 0;
}
