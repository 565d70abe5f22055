/* probe.c -- what inspect answers and changes while serving, when probing */
/* SPDX-License-Identifier: ISC */

/*
 * By default inspect answers every stage "continue", asks for no action
 * and never changes mail.  Probing answers chosen stages otherwise, waits
 * before answering, and changes the message at eom, all through
 * libmilter's own calls, so that one can see how the MTA takes it.  The
 * default path costs one test per stage (probe_decide()).
 */

#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "escape.h"
#include "log.h"
#include "noreply.h"
#include "print.h"
#include "probe.h"
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

static const char *main_argument(const struct event *, char *, size_t);
static int	matches(const struct probe_reply *, const struct event *);
static void	make_changes(SMFICTX *, struct session *,
		    struct probe_state *);
static const char *make_change(SMFICTX *, struct session *,
		    const struct probe_edit *);
static void	describe(struct buf *, const char *, const char *);
static void	missing_warn(unsigned long);
static void	wait_delay(SMFICTX *, unsigned long, int);

/* Set in probe_setup(); read-only while serving. */
static const struct probe *probe;
static unsigned int	 probed;	/* stages answered or delayed */

static atomic_int	 warned_actions;
static atomic_int	 warned_skip;

/* Delays end at once when inspect stops. */
static pthread_mutex_t	 stop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 stop_cond;
static int		 stopping;

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

/* Say, once, which actions asked for the MTA does not offer: by name. */
static void
missing_warn(unsigned long missing)
{
	struct buf	 names = { NULL, 0, 0 };

	if (print_flag_names(&names, 0, missing, FORMAT_TEXT) == -1 ||
	    buf_add(&names, "", 1) == -1)
		log_warn("the MTA does not offer every action asked for "
		    "(0x%lx missing): those changes are not made", missing);
	else
		log_warn("the MTA does not offer every action asked for "
		    "(%s missing): those changes are not made", names.data);
	buf_free(&names);
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
		missing_warn(ng->missing_actions);
	for (st = 0; st < STAGE_MAX; st++)
		if (probed & (1u << st))
			ng->asked_steps &= ~noreply_step(st);
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
	unsigned long	 need = probe_change_action(e);
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
		return noreply_continue(s, ev->stage);
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

