/* test_probe.c -- probe.c at run time: the answers and the changes */
/* SPDX-License-Identifier: ISC */

/*
 * One probe, as the command line gives it, serves every test, as it
 * serves every session of an inspect.  libmilter's calls are wrapped
 * (-Wl,--wrap): each notes what it was asked, as the MTA would get it,
 * and succeeds unless a test makes it refuse.  What inspect logs goes to
 * standard error, read back from a file.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include <libmilter/mfapi.h>

#include "../../log.h"
#include "../../probe.h"
#include "../../session.h"
#include "said.h"

/* Every SMFIF_* action and SMFIP_* step Postfix offers. */
#define ALL_ACTIONS	0x1ffUL
#define ALL_STEPS	0x1fffffUL
#define CTX		((SMFICTX *)(uintptr_t)0x5eed)
#define NR_ALL		(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
			SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | \
			SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

int	__wrap_smfi_addheader(SMFICTX *, char *, char *);
int	__wrap_smfi_insheader(SMFICTX *, int, char *, char *);
int	__wrap_smfi_chgheader(SMFICTX *, char *, int, char *);
int	__wrap_smfi_chgfrom(SMFICTX *, char *, char *);
int	__wrap_smfi_addrcpt(SMFICTX *, char *);
int	__wrap_smfi_addrcpt_par(SMFICTX *, char *, char *);
int	__wrap_smfi_delrcpt(SMFICTX *, char *);
int	__wrap_smfi_quarantine(SMFICTX *, char *);
int	__wrap_smfi_setreply(SMFICTX *, char *, char *, char *);
int	__wrap_smfi_setmlreply(SMFICTX *, const char *, const char *, ...);
int	__wrap_smfi_progress(SMFICTX *);
int	__wrap_setsockopt(int, int, int, const void *, socklen_t);

static void	 noted(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static int	 answer_of(int);
static struct session *new_session(unsigned long, unsigned long);
static void	 free_session(struct session *);
static long	 ms_since(const struct timespec *);

/* What the wrapped calls were asked, one a line; and what they answer. */
static char		 calls[8192];
static int		 refuse;	/* MI_FAILURE from every call */
static int		 progress_calls;
static pthread_mutex_t	 calls_lock = PTHREAD_MUTEX_INITIALIZER;

static struct probe	 probe;
static char		 dir[] = "/tmp/inspect-test-probe.XXXXXX";

/* The probe: what inspect was started with. */
static const char *const replies[] = {
	"connect/192.0.2.66=tempfail",
	"helo/EVIL=550 5.7.1 go away",
	"envrcpt/bad@=550 5.1.1 line one\\nline two",
	"envrcpt=accept",
	"body=skip",
	"eom=451 4.3.0 try later",
};
static const char *const delays[] = { "data=0.2", "eom=2.5", "unknown=30" };
static const struct {
	enum probe_change	 kind;
	const char		*arg;
} changes[] = {
	{ CHANGE_ADD_HEADER, "X-Probe: yes" },
	{ CHANGE_INSERT_HEADER, "0 X-First: first" },
	{ CHANGE_CHANGE_HEADER, "Subject[2]: changed" },
	{ CHANGE_CHANGE_HEADER, "X-Old:" },
	{ CHANGE_CHANGE_FROM, "<new@example.org> SIZE=1" },
	{ CHANGE_ADD_RCPT, "<added@example.net>" },
	{ CHANGE_ADD_RCPT, "<par@example.net> NOTIFY=NEVER" },
	{ CHANGE_DELETE_RCPT, "<gone@example.net>" },
	{ CHANGE_QUARANTINE, "held by the probe" },
};

static void
noted(const char *fmt, ...)
{
	va_list	 ap;
	size_t	 len;

	pthread_mutex_lock(&calls_lock);
	len = strlen(calls);
	va_start(ap, fmt);
	vsnprintf(calls + len, sizeof calls - len, fmt, ap);
	va_end(ap);
	len = strlen(calls);
	snprintf(calls + len, sizeof calls - len, "\n");
	pthread_mutex_unlock(&calls_lock);
}

static int
answer_of(int ok)
{
	return ok && !refuse ? MI_SUCCESS : MI_FAILURE;
}

/* A missing string as (null), as the MTA gets no string at all. */
#define S(s)	((s) != NULL ? (s) : "(null)")

int
__wrap_smfi_addheader(SMFICTX *ctx, char *name, char *value)
{
	noted("addheader %s: [%s]", S(name), S(value));
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_insheader(SMFICTX *ctx, int index, char *name, char *value)
{
	noted("insheader %d %s: [%s]", index, S(name), S(value));
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_chgheader(SMFICTX *ctx, char *name, int index, char *value)
{
	noted("chgheader %s[%d]: [%s]", S(name), index, S(value));
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_chgfrom(SMFICTX *ctx, char *from, char *args)
{
	noted("chgfrom %s [%s]", S(from), S(args));
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_addrcpt(SMFICTX *ctx, char *rcpt)
{
	noted("addrcpt %s", S(rcpt));
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_addrcpt_par(SMFICTX *ctx, char *rcpt, char *args)
{
	noted("addrcpt_par %s [%s]", S(rcpt), S(args));
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_delrcpt(SMFICTX *ctx, char *rcpt)
{
	noted("delrcpt %s", S(rcpt));
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_quarantine(SMFICTX *ctx, char *reason)
{
	noted("quarantine [%s]", S(reason));
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_setreply(SMFICTX *ctx, char *code, char *xcode, char *text)
{
	noted("setreply %s %s [%s]", S(code), S(xcode), S(text));
	return answer_of(ctx == CTX);
}

/* The lines up to the NULL after them, each in brackets. */
int
__wrap_smfi_setmlreply(SMFICTX *ctx, const char *code, const char *xcode,
    ...)
{
	char		 lines[2048] = "";
	const char	*l;
	va_list		 ap;
	int		 n = 0;

	va_start(ap, xcode);
	while ((l = va_arg(ap, const char *)) != NULL && n++ < 40)
		snprintf(lines + strlen(lines), sizeof lines - strlen(lines),
		    " [%s]", l);
	va_end(ap);
	noted("setmlreply %s %s%s", S(code), S(xcode), lines);
	return answer_of(ctx == CTX);
}

int
__wrap_smfi_progress(SMFICTX *ctx)
{
	pthread_mutex_lock(&calls_lock);
	progress_calls++;
	pthread_mutex_unlock(&calls_lock);
	return answer_of(ctx == CTX);
}

int
__wrap_setsockopt(int fd, int level, int name, const void *value,
    socklen_t len)
{
	noted("setsockopt %d %s %d", fd, level == IPPROTO_TCP &&
	    name == TCP_QUICKACK ? "TCP_QUICKACK" : "other",
	    len == sizeof(int) ? *(const int *)value : -1);
	return 0;
}

/* A session negotiated with an MTA that offered actions and steps. */
static struct session *
new_session(unsigned long actions, unsigned long steps)
{
	struct negotiation	 ng = { .offered_actions = actions,
	    .offered_steps = steps };
	struct session		*s;

	assert_non_null(s = calloc(1, sizeof *s));
	s->mta_fd = -1;
	/* inspect's own asks first: every no-reply step, and LEADSPC. */
	ng.asked_steps = steps & (SMFIP_HDR_LEADSPC | NR_ALL);
	probe_negotiate(&ng, s);
	s->nr_steps = s->steps & NR_ALL;
	calls[0] = '\0';
	return s;
}

static void
free_session(struct session *s)
{
	free(s->probe);
	free(s);
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Negotiation asks for the actions the changes need, and a reply at
 * every stage answered or delayed (no no-reply step there), and SKIP
 * for a probed body; what the MTA does not offer is left out and said
 * once.
 */
static void
test_probe_negotiate(void **state)
{
	struct negotiation	 ng = { .offered_actions = ALL_ACTIONS,
	    .offered_steps = ALL_STEPS };
	struct session		 s;
	const unsigned long	 want = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_CHGFROM | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT |
	    SMFIF_QUARANTINE;
	char			*s1, *s2;

	(void)state;
	memset(&s, 0, sizeof s);
	ng.asked_steps = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL |
	    SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH |
	    SMFIP_NR_BODY | SMFIP_NR_UNKN;
	probe_negotiate(&ng, &s);
	assert_int_equal(ng.asked_actions, want);
	assert_int_equal(ng.missing_actions, 0);
	/*
	 * connect, helo, envrcpt, data, body and unknown answered or
	 * delayed; the rest need no reply.
	 */
	assert_int_equal(ng.asked_steps, SMFIP_NR_MAIL | SMFIP_NR_HDR |
	    SMFIP_NR_EOH | SMFIP_SKIP);
	assert_int_equal(s.actions, ng.asked_actions);
	assert_int_equal(s.steps, ng.asked_steps);

	/* An MTA without CHGFROM and QUARANTINE, and without SKIP. */
	said_start();
	memset(&ng, 0, sizeof ng);
	ng.offered_actions = ALL_ACTIONS & ~(SMFIF_CHGFROM | SMFIF_QUARANTINE);
	ng.offered_steps = ALL_STEPS & ~SMFIP_SKIP;
	probe_negotiate(&ng, &s);
	assert_int_equal(ng.asked_actions, want & ~(SMFIF_CHGFROM |
	    SMFIF_QUARANTINE));
	assert_int_equal(ng.missing_actions, SMFIF_CHGFROM | SMFIF_QUARANTINE);
	assert_int_equal(ng.asked_steps & SMFIP_SKIP, 0);
	probe_negotiate(&ng, NULL);
	s1 = said();
	assert_string_equal(s1, "inspect: the MTA does not offer every action "
	    "asked for (SMFIF_QUARANTINE|SMFIF_CHGFROM missing): those changes "
	    "are not made\n");
	/* Once, not per session. */
	said_start();
	probe_negotiate(&ng, &s);
	s2 = said();
	assert_string_equal(s2, "");
}

/*
 * The first --reply whose stage is the event's and whose MATCH is in its
 * main argument, in any case (at connect, the host or the address), is
 * the answer; a stage answered by none goes on without one.
 */
static void
test_probe_decide_matches(void **state)
{
	struct session		*s = new_session(ALL_ACTIONS, ALL_STEPS);
	struct sockaddr_in	 sin;
	struct event		 ev;
	const struct answer	*a;
	char			 bad[] = "<BAD@example.net>", ok[] = "<ok@x>";
	char			*rcpt[] = { bad, NULL }, *rcpt2[] = { ok, NULL };

	(void)state;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.66", &sin.sin_addr);
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_CONNECT;
	ev.host = "client.example";
	ev.address = (struct sockaddr *)&sin;
	assert_non_null(a = ev.answer = probe_decide(CTX, s, &ev));
	assert_string_equal(a->action, "tempfail");
	assert_null(a->code);
	assert_int_equal(probe_answer(CTX, s, &ev),
	    SMFIS_TEMPFAIL);
	/* The address differs: no answer, and continue. */
	inet_pton(AF_INET, "192.0.2.6", &sin.sin_addr);
	assert_null(ev.answer = probe_decide(CTX, s, &ev));
	/* The host has it. */
	ev.host = "[192.0.2.66]";
	assert_non_null(probe_decide(CTX, s, &ev));

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_HELO;
	ev.name = "mail.Evil.example";
	assert_non_null(a = probe_decide(CTX, s, &ev));
	assert_string_equal(a->action, "reject");
	assert_string_equal(a->code, "550");
	assert_string_equal(a->xcode, "5.7.1");
	assert_string_equal(a->text, "go away");
	ev.name = "good.example";
	assert_null(probe_decide(CTX, s, &ev));

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_ENVRCPT;
	ev.args = rcpt;
	assert_non_null(a = probe_decide(CTX, s, &ev));
	assert_string_equal(a->code, "550");
	assert_string_equal(a->text, "line one\nline two");
	ev.args = rcpt2;
	assert_non_null(a = probe_decide(CTX, s, &ev));
	assert_string_equal(a->action, "accept");

	/* Neither answered nor delayed. */
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_ENVFROM;
	ev.args = rcpt2;
	assert_null(probe_decide(CTX, s, &ev));
	ev.stage = STAGE_HEADER;
	ev.name = "EVIL";
	ev.value = "EVIL";
	assert_null(probe_decide(CTX, s, &ev));
	assert_string_equal(calls, "");
	free_session(s);
}

/*
 * A reply text reaches libmilter with its code and status, as one line
 * or as several; the answer is the status of the code's class.  When
 * libmilter refuses the text, the MTA makes its own, and the log says
 * so.
 */
static void
test_probe_answer_texts(void **state)
{
	struct session	*s = new_session(ALL_ACTIONS, ALL_STEPS);
	struct event	 ev;
	char		 bad[] = "<bad@example.net>", *rcpt[] = { bad, NULL };

	(void)state;
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_HELO;
	ev.name = "evil";
	ev.answer = probe_decide(CTX, s, &ev);
	assert_int_equal(probe_answer(CTX, s, &ev),
	    SMFIS_REJECT);
	assert_string_equal(calls, "setreply 550 5.7.1 [go away]\n");

	calls[0] = '\0';
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_ENVRCPT;
	ev.args = rcpt;
	ev.answer = probe_decide(CTX, s, &ev);
	assert_int_equal(probe_answer(CTX, s, &ev),
	    SMFIS_REJECT);
	assert_string_equal(calls,
	    "setmlreply 550 5.1.1 [line one] [line two]\n");

	calls[0] = '\0';
	refuse = 1;
	said_start();
	assert_int_equal(probe_answer(CTX, s, &ev),
	    SMFIS_REJECT);
	refuse = 0;
	assert_string_equal(said(), "inspect: libmilter refused the reply "
	    "550: the MTA makes its own\n");
	free_session(s);
}

/*
 * Plain continue: said, or where the stage's no-reply step was
 * negotiated, not said; then, on TCP, the MTA's command is acknowledged
 * at once.
 */
static void
test_probe_answer_quiet(void **state)
{
	struct session	*s = new_session(ALL_ACTIONS, ALL_STEPS);
	struct event	 ev;

	(void)state;
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_ENVFROM;
	assert_int_equal(probe_answer(CTX, s, &ev),
	    SMFIS_NOREPLY);
	assert_string_equal(calls, "");
	s->mta_fd = 9;
	assert_int_equal(probe_answer(CTX, s, &ev),
	    SMFIS_NOREPLY);
	assert_string_equal(calls, "setsockopt 9 TCP_QUICKACK 1\n");
	/* connect is probed: it keeps its reply. */
	calls[0] = '\0';
	ev.stage = STAGE_CONNECT;
	assert_int_equal(probe_answer(CTX, s, &ev),
	    SMFIS_CONTINUE);
	assert_int_equal(probe_answer(CTX, NULL, &ev),
	    SMFIS_CONTINUE);
	assert_string_equal(calls, "");
	free_session(s);
}

/*
 * skip is answered only where the MTA offers SMFIP_SKIP; elsewhere it is
 * continue, and the log says so once.
 */
static void
test_probe_skip(void **state)
{
	struct session	*s = new_session(ALL_ACTIONS, ALL_STEPS);
	struct session	*old = new_session(ALL_ACTIONS, ALL_STEPS & ~SMFIP_SKIP);
	struct event	 ev;
	const struct answer *a;

	(void)state;
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_BODY;
	ev.answer = probe_decide(CTX, s, &ev);
	assert_string_equal(ev.answer->action, "skip");
	assert_int_equal(probe_answer(CTX, s, &ev), SMFIS_SKIP);

	said_start();
	assert_non_null(a = ev.answer = probe_decide(CTX, old, &ev));
	assert_string_equal(a->action, "continue");
	assert_int_equal(probe_answer(CTX, old, &ev),
	    SMFIS_CONTINUE);
	assert_non_null(ev.answer = probe_decide(CTX, old, &ev));
	assert_string_equal(said(), "inspect: the MTA does not offer "
	    "SMFIP_SKIP: skip is answered continue\n");
	free_session(s);
	free_session(old);
}

/* A delayed stage is answered once its time has passed, not before. */
static void
test_probe_delay(void **state)
{
	struct session	*s = new_session(ALL_ACTIONS, ALL_STEPS);
	struct timespec	 t0;
	struct event	 ev;

	(void)state;
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_DATA;
	assert_non_null(ev.answer = probe_decide(CTX, s, &ev));
	assert_string_equal(ev.answer->action, "continue");
	assert_int_equal(ev.answer->delay_ms, 200);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(probe_answer(CTX, s, &ev),
	    SMFIS_CONTINUE);
	assert_true(ms_since(&t0) >= 200);
	free_session(s);
}

/*
 * At eom, every change is made in order through libmilter, with the
 * index, name and value given (the space after the colon only where
 * HDR_LEADSPC was negotiated, where the MTA adds none); the answer lists
 * each with its outcome.
 */
static void
test_probe_changes(void **state)
{
	struct session		*s = new_session(ALL_ACTIONS, ALL_STEPS);
	struct session		*plain = new_session(ALL_ACTIONS,
	    ALL_STEPS & ~SMFIP_HDR_LEADSPC);
	struct event		 ev;
	const struct answer	*a;
	size_t			 i;

	(void)state;
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_EOM;
	assert_non_null(a = probe_decide(CTX, s, &ev));
	assert_string_equal(calls,
	    "addheader X-Probe: [ yes]\n"
	    "insheader 0 X-First: [ first]\n"
	    "chgheader Subject[2]: [ changed]\n"
	    "chgheader X-Old[1]: [(null)]\n"
	    "chgfrom <new@example.org> [SIZE=1]\n"
	    "addrcpt <added@example.net>\n"
	    "addrcpt_par <par@example.net> [NOTIFY=NEVER]\n"
	    "delrcpt <gone@example.net>\n"
	    "quarantine [held by the probe]\n");
	assert_string_equal(a->action, "tempfail");
	assert_string_equal(a->code, "451");
	assert_int_equal(a->nchanges, sizeof changes / sizeof changes[0]);
	for (i = 0; i < a->nchanges; i++) {
		assert_string_equal(a->changes[i].what,
		    probe_change_names[changes[i].kind]);
		assert_string_equal(a->changes[i].value, changes[i].arg);
		assert_null(a->changes[i].failure);
	}

	calls[0] = '\0';
	assert_non_null(a = probe_decide(CTX, plain, &ev));
	assert_string_equal(calls,
	    "addheader X-Probe: [yes]\n"
	    "insheader 0 X-First: [first]\n"
	    "chgheader Subject[2]: [changed]\n"
	    "chgheader X-Old[1]: [(null)]\n"
	    "chgfrom <new@example.org> [SIZE=1]\n"
	    "addrcpt <added@example.net>\n"
	    "addrcpt_par <par@example.net> [NOTIFY=NEVER]\n"
	    "delrcpt <gone@example.net>\n"
	    "quarantine [held by the probe]\n");
	free_session(s);
	free_session(plain);
}

/*
 * A change whose action was not negotiated is not tried; one libmilter
 * refuses is reported so; the others are made.
 */
static void
test_probe_changes_failing(void **state)
{
	struct session		*s = new_session(ALL_ACTIONS &
	    ~(SMFIF_ADDRCPT_PAR | SMFIF_QUARANTINE), ALL_STEPS);
	struct event		 ev;
	const struct answer	*a;
	size_t			 i;

	(void)state;
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_EOM;
	assert_non_null(a = probe_decide(CTX, s, &ev));
	assert_null(strstr(calls, "addrcpt_par"));
	assert_null(strstr(calls, "quarantine"));
	assert_non_null(strstr(calls, "addrcpt <added@example.net>\n"));
	for (i = 0; i < a->nchanges; i++)
		if (i == 6 || i == 8)
			assert_string_equal(a->changes[i].failure,
			    "not negotiated");
		else
			assert_null(a->changes[i].failure);

	refuse = 1;
	assert_non_null(a = probe_decide(CTX, s, &ev));
	refuse = 0;
	for (i = 0; i < a->nchanges; i++)
		if (i == 6 || i == 8)
			assert_string_equal(a->changes[i].failure,
			    "not negotiated");
		else
			assert_string_equal(a->changes[i].failure,
			    "libmilter refused it");
	free_session(s);
}

/*
 * A long delay at eom tells the MTA every second that inspect is still
 * at work, so that only the other stages' delays meet its timeouts.
 */
static void
test_probe_eom_progress(void **state)
{
	struct session	*s = new_session(ALL_ACTIONS, ALL_STEPS);
	struct timespec	 t0;
	struct event	 ev;

	(void)state;
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_EOM;
	assert_non_null(ev.answer = probe_decide(CTX, s, &ev));
	assert_int_equal(ev.answer->delay_ms, 2500);
	progress_calls = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(probe_answer(CTX, s, &ev), SMFIS_TEMPFAIL);
	assert_true(ms_since(&t0) >= 2500);
	assert_true(progress_calls >= 1);
	assert_true(progress_calls <= 2);
	free_session(s);
}

struct waiter {
	struct session	*s;
	struct event	 ev;
	sfsistat	 rc;
};

static void *
wait_delay(void *arg)
{
	struct waiter	*w = arg;

	w->rc = probe_answer(CTX, w->s, &w->ev);
	return NULL;
}

/*
 * When inspect stops, a delay under way ends at once and the stage is
 * answered; so does every delay after.  (Last: it is for good.)  The
 * delay is 30 s, the bound a third of it.
 */
static void
test_probe_stop_ends_delays(void **state)
{
	const struct timespec	 tick = { 0, 100000000 };
	struct waiter		 w;
	struct timespec		 t0;
	pthread_t		 th;

	(void)state;
	memset(&w, 0, sizeof w);
	w.s = new_session(ALL_ACTIONS, ALL_STEPS);
	w.ev.stage = STAGE_UNKNOWN;
	w.ev.name = "XYZZY";
	assert_non_null(w.ev.answer = probe_decide(CTX, w.s, &w.ev));
	assert_int_equal(w.ev.answer->delay_ms, 30000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&th, NULL, wait_delay, &w), 0);
	nanosleep(&tick, NULL);
	probe_stop();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(ms_since(&t0) < 10000);
	assert_int_equal(w.rc, SMFIS_CONTINUE);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(probe_answer(CTX, w.s, &w.ev),
	    SMFIS_CONTINUE);
	assert_true(ms_since(&t0) < 10000);
	free_session(w.s);
}

static int
setup(void **state)
{
	char	 err[256];
	size_t	 i;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(said_path, sizeof said_path, "%s/stderr", dir);
	if (log_init(LEVELS_INSPECT, NULL, 0, LOG_MAIL) == -1)
		return -1;
	for (i = 0; i < sizeof replies / sizeof replies[0]; i++)
		if (probe_parse_reply(&probe, replies[i], err, sizeof err) ==
		    -1)
			return -1;
	for (i = 0; i < sizeof delays / sizeof delays[0]; i++)
		if (probe_parse_delay(&probe, delays[i], err, sizeof err) ==
		    -1)
			return -1;
	for (i = 0; i < sizeof changes / sizeof changes[0]; i++)
		if (probe_parse_change(&probe, changes[i].kind,
		    changes[i].arg, err, sizeof err) == -1)
			return -1;
	return 0;
}

/* Serving begins: the log says what inspect will answer and change. */
static void
test_probe_setup_says_so(void **state)
{
	(void)state;
	said_start();
	probe_setup(&probe);
	assert_string_equal(said(), "inspect: PROBING: inspect answers and "
	    "changes mail as asked: --reply \"connect/192.0.2.66=tempfail\" "
	    "--reply \"helo/EVIL=550 5.7.1 go away\" --reply "
	    "\"envrcpt/bad@=550 5.1.1 line one\\\\nline two\" --reply "
	    "\"envrcpt=accept\" --reply \"body=skip\" --reply "
	    "\"eom=451 4.3.0 try later\" --delay data=0.200 --delay "
	    "eom=2.500 --delay unknown=30.000 --add-header \"X-Probe: yes\" --insert-header "
	    "\"0 X-First: first\" --change-header \"Subject[2]: changed\" "
	    "--change-header \"X-Old:\" --change-from "
	    "\"<new@example.org> SIZE=1\" --add-rcpt \"<added@example.net>\" "
	    "--add-rcpt \"<par@example.net> NOTIFY=NEVER\" --delete-rcpt "
	    "\"<gone@example.net>\" --quarantine \"held by the probe\"\n");
}

static int
teardown(void **state)
{
	(void)state;
	probe_free(&probe);
	unlink(said_path);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_setup_says_so),
		cmocka_unit_test(test_probe_negotiate),
		cmocka_unit_test(test_probe_decide_matches),
		cmocka_unit_test(test_probe_answer_texts),
		cmocka_unit_test(test_probe_answer_quiet),
		cmocka_unit_test(test_probe_skip),
		cmocka_unit_test(test_probe_delay),
		cmocka_unit_test(test_probe_changes),
		cmocka_unit_test(test_probe_changes_failing),
		cmocka_unit_test(test_probe_eom_progress),
		cmocka_unit_test(test_probe_stop_ends_delays),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
