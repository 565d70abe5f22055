/* test_ctx.c -- ctx.c and macros.c on contexts laid out like libmilter's */
/* SPDX-License-Identifier: ISC */

/*
 * calloc() is wrapped (-Wl,--wrap), so that a test can make one fail: the
 * real one cannot be made to, safely.  smfi_getsymval() is too, so that
 * libmilter can be made to disagree with ctx.h, as another release of it
 * would.
 */

#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../ctx.h"
#include "../../log.h"
#include "../../macros.h"
#include "../../options.h"

#define TIMEOUT	7210
/*
 * A full packet of distinct short names: "abc", an empty value, each
 * pair 5 bytes, as many as fit in libmilter's 65535 bytes.
 */
#define FULL_PAIRS	(65535 / 5)
#define FULL_BUDGET_MS	10	/* for one event that shows them all */
/* Room for the worker pool's fields after the head: libmilter's is larger. */
#define CTX_SIZE	(sizeof(struct ctx_layout) + 256)

/*
 * A context as libmilter allocates it, with struct ctx_layout at its head.
 * The real libmilter's smfi_setpriv(), smfi_getpriv() and smfi_getsymval()
 * read and write it: if ctx.h had a field in the wrong place, they would
 * disagree with ctx.c.
 */
struct fake {
	union {
		struct ctx_layout	 head;
		char			 bytes[CTX_SIZE];
	} u;
	int	 priv;
};

static SMFICTX	*ctx_of(struct fake *);
static void	 store(struct fake *, int, const char *const *, size_t);
static void	 clear_from(struct fake *, int);
static char	*shown(const struct event *);
static char	*at(struct macros *, struct fake *, struct event *,
		    enum stage);
static void	 begin(struct macros *, struct event *, int);
static char	*macros_value_libmilter(SMFICTX *, const char *);

static struct options	 opts;
/* The calloc() that fails: 1 the next, 2 the one after; 0 none. */
static int		 calloc_fails;

void	*__real_calloc(size_t, size_t);
void	*__wrap_calloc(size_t, size_t);
void *
__wrap_calloc(size_t n, size_t size)
{
	if (calloc_fails > 0 && --calloc_fails == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return __real_calloc(n, size);
}

/*
 * smfi_getsymval() is wrapped (-Wl,--wrap), to stand for a libmilter
 * whose context is laid out otherwise: it finds the value somewhere
 * other than where ctx.h says the slots are, or nothing.  Unless told,
 * the real one answers.
 */
char	*__real_smfi_getsymval(SMFICTX *, char *);
char	*__wrap_smfi_getsymval(SMFICTX *, char *);

static enum { LOOKUP_REAL, LOOKUP_ELSEWHERE, LOOKUP_NOTHING } lookup;

char *
__wrap_smfi_getsymval(SMFICTX *ctx, char *name)
{
	static char	 elsewhere[64];
	char		*v = __real_smfi_getsymval(ctx, name);

	switch (lookup) {
	case LOOKUP_ELSEWHERE:
		/* The same bytes, not the slot's. */
		if (v == NULL)
			return NULL;
		snprintf(elsewhere, sizeof elsewhere, "%s", v);
		return elsewhere;
	case LOOKUP_NOTHING:
		return NULL;
	default:
		return v;
	}
}

static SMFICTX *
ctx_of(struct fake *f)
{
	return (SMFICTX *)(void *)f;
}

/*
 * What st_macros() does with a packet for slot i: the strings in one
 * buffer, an argv of pointers into it, the old packet freed after.
 */
static void
store(struct fake *f, int i, const char *const *strings, size_t n)
{
	size_t	 len = 0, k;
	char	*buf, **argv, *p;

	for (k = 0; k < n; k++)
		len += strlen(strings[k]) + 1;
	assert_non_null(buf = malloc(len));
	assert_non_null(argv = calloc(n + 1, sizeof *argv));
	for (k = 0, p = buf; k < n; k++) {
		argv[k] = p;
		memcpy(p, strings[k], strlen(strings[k]) + 1);
		p += strlen(strings[k]) + 1;
	}
	free(f->u.head.ctx_mac_ptr[i]);
	free(f->u.head.ctx_mac_buf[i]);
	f->u.head.ctx_mac_ptr[i] = argv;
	f->u.head.ctx_mac_buf[i] = buf;
}

/* mi_clr_macros(): slots from i on are emptied. */
static void
clear_from(struct fake *f, int i)
{
	for (; i < CTX_SLOTS; i++) {
		free(f->u.head.ctx_mac_ptr[i]);
		free(f->u.head.ctx_mac_buf[i]);
		f->u.head.ctx_mac_ptr[i] = NULL;
		f->u.head.ctx_mac_buf[i] = NULL;
	}
}

/* libmilter's own look-up, which wants a writable name. */
static char *
macros_value_libmilter(SMFICTX *ctx, const char *name)
{
	char	 copy[64];

	snprintf(copy, sizeof copy, "%s", name);
	return smfi_getsymval(ctx, copy);
}

/* The event's sent macros as "name=value name=value". */
static char *
shown(const struct event *ev)
{
	static char	 s[1024];
	size_t		 i;

	s[0] = '\0';
	for (i = 0; i < ev->nmacros; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, ev->macros[i].name);
		strcat(s, "=");
		strcat(s, ev->macros[i].value);
	}
	return s;
}

/* The event of stage, as inspect makes it, and the macros it shows. */
static char *
at(struct macros *m, struct fake *f, struct event *ev, enum stage stage)
{
	ev->stage = stage;
	assert_int_equal(macros_event(m, ctx_of(f), ev), 0);
	return shown(ev);
}

/* A session begins, shown the default way: nothing seen yet. */
static void
begin(struct macros *m, struct event *ev, int layout_ok)
{
	memset(m, 0, sizeof *m);
	memset(ev, 0, sizeof *ev);
	opts.show_macros = SHOW_SENT;
	macros_begin(m, layout_ok);
}

static struct fake *
new_fake(void)
{
	struct fake	*f;

	assert_non_null(f = calloc(1, sizeof *f));
	f->u.head.ctx_timeout = TIMEOUT;
	assert_int_equal(smfi_setpriv(ctx_of(f), &f->priv), MI_SUCCESS);
	return f;
}

static void
free_fake(struct fake *f)
{
	clear_from(f, 0);
	free(f);
}

/* For judged_wrong(): the line of the check that failed, else on. */
#define CHECK(cond)	do { if (!(cond)) return __LINE__; } while (0)

/*
 * With --macro-source context, a context judged not laid out as ctx.h
 * says is read no more: not for the event that judged it, nor by the
 * sessions that began before.  Returns 0, or the line that failed.
 */
static int
judged_wrong(void)
{
	static const char *const conn[] = { "j", "mx.example" };
	struct fake	*f1 = new_fake(), *f2 = new_fake();
	struct macros	 m1, m2, m3;
	struct event	 ev;

	opts.macro_source = SOURCE_CONTEXT;
	begin(&m1, &ev, 1);
	begin(&m2, &ev, 1);
	begin(&m3, &ev, 1);
	CHECK(m1.source == SOURCE_CONTEXT && m2.source == SOURCE_CONTEXT);
	store(f1, CTX_CONNECT, conn, 2);
	store(f2, CTX_CONNECT, conn, 2);
	lookup = LOOKUP_ELSEWHERE;
	/* m1's connect judges the context wrong: it shows nothing. */
	CHECK(strcmp(at(&m1, f1, &ev, STAGE_CONNECT), "") == 0);
	CHECK(m1.source == -1);
	/* m2 and m3 began before: they read it no more either. */
	CHECK(strcmp(at(&m2, f2, &ev, STAGE_CONNECT), "") == 0);
	CHECK(m2.source == -1);
	CHECK(macros_value(&m3, ctx_of(f2), "j") == NULL);
	CHECK(m3.source == -1);
	return 0;
}

/*
 * In a child, whose verdict on the layout (the process's) goes with it;
 * and first, while no test has made one.
 */
static void
test_macros_judged_wrong_read_no_more(void **state)
{
	pid_t	 pid;
	int	 status, line;

	(void)state;
	if ((pid = fork()) == 0) {
		line = judged_wrong();
		_exit(line > 255 ? 255 : line);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("judged_wrong: the check at line %d (or later, if "
		    "255) failed", WEXITSTATUS(status));
}

/* libmilter's own accessors find what ctx.c reads, where ctx.h says. */
static void
test_ctx_agrees_with_libmilter(void **state)
{
	static const char *const conn[] = { "j", "mx.example",
	    "{daemon_name}", "mx" };
	struct fake	*f = new_fake();
	const void	*buf;
	char		**argv;

	(void)state;
	assert_ptr_equal(f->u.head.ctx_privdata, &f->priv);
	assert_ptr_equal(smfi_getpriv(ctx_of(f)), &f->priv);
	assert_int_equal(ctx_check(ctx_of(f), &f->priv, TIMEOUT), 1);
	assert_int_equal(ctx_check_macros(ctx_of(f)), -1);
	store(f, CTX_CONNECT, conn, 4);
	argv = ctx_macros(ctx_of(f), CTX_CONNECT, &buf);
	assert_ptr_equal(argv, f->u.head.ctx_mac_ptr[CTX_CONNECT]);
	assert_ptr_equal(buf, f->u.head.ctx_mac_buf[CTX_CONNECT]);
	assert_ptr_equal(macros_value_libmilter(ctx_of(f), "{daemon_name}"),
	    argv[3]);
	assert_int_equal(ctx_check_macros(ctx_of(f)), 1);
	assert_null(ctx_macros(ctx_of(f), CTX_HELO, &buf));
	assert_null(buf);
	f->u.head.ctx_sd = 42;
	f->u.head.ctx_mta_prot_vers = 6;
	f->u.head.ctx_mta_aflags = 0x1ff;
	f->u.head.ctx_mta_pflags = 0x1fe7f;
	f->u.head.ctx_prot_vers2mta = 5;
	assert_int_equal(ctx_socket(ctx_of(f)), 42);
	assert_int_equal(ctx_mta_version(ctx_of(f)), 6);
	assert_int_equal(ctx_answer_version(ctx_of(f)), 5);
	assert_int_equal(ctx_mta_actions(ctx_of(f)), 0x1ff);
	assert_int_equal(ctx_mta_steps(ctx_of(f)), 0x1fe7f);
	free_fake(f);
}

/*
 * The check of the macro slots holds only if libmilter's own look-up
 * finds the very value ctx.h's slot holds: a value found elsewhere, even
 * an equal one, or none, means the slots are not where ctx.h says.  It
 * is asked only with one slot set, the one libmilter must look in.
 */
static void
test_ctx_check_macros_same_pointer(void **state)
{
	static const char *const conn[] = { "j", "mx.example" };
	static const char *const helo[] = { "{tls_version}", "TLSv1.3" };
	struct fake	*f = new_fake();

	(void)state;
	store(f, CTX_CONNECT, conn, 2);
	assert_int_equal(ctx_check_macros(ctx_of(f)), 1);
	lookup = LOOKUP_ELSEWHERE;
	assert_int_equal(ctx_check_macros(ctx_of(f)), 0);
	lookup = LOOKUP_NOTHING;
	assert_int_equal(ctx_check_macros(ctx_of(f)), 0);
	lookup = LOOKUP_REAL;
	/* Two slots set: it cannot be told now. */
	store(f, CTX_HELO, helo, 2);
	assert_int_equal(ctx_check_macros(ctx_of(f)), -1);
	free_fake(f);
}

/*
 * The MTA's offer is read only where it is what libmilter passed the
 * negotiate callback: the MTA's actions, and its steps with the no-reply
 * steps libmilter emulates.
 */
static void
test_ctx_check_offer(void **state)
{
	struct fake	*f = new_fake();
	SMFICTX		*ctx = ctx_of(f);

	(void)state;
	/* Postfix at milter_protocol = 2. */
	f->u.head.ctx_mta_prot_vers = 2;
	f->u.head.ctx_mta_aflags = SMFI_CURR_ACTS;
	f->u.head.ctx_mta_pflags = SMFI_V2_PROT;
	assert_int_equal(ctx_check_offer(ctx, SMFI_CURR_ACTS,
	    SMFI_V2_PROT | CTX_NR_EMULATED), 1);
	/* An MTA that offers some of them itself. */
	f->u.head.ctx_mta_pflags = SMFI_V2_PROT | SMFIP_NR_HDR;
	assert_int_equal(ctx_check_offer(ctx, SMFI_CURR_ACTS,
	    SMFI_V2_PROT | CTX_NR_EMULATED), 1);
	/* Other actions, other steps, steps without the emulated ones. */
	assert_int_equal(ctx_check_offer(ctx, SMFI_V2_ACTS,
	    SMFI_V2_PROT | CTX_NR_EMULATED), 0);
	assert_int_equal(ctx_check_offer(ctx, SMFI_CURR_ACTS,
	    SMFI_CURR_PROT), 0);
	assert_int_equal(ctx_check_offer(ctx, SMFI_CURR_ACTS,
	    SMFI_V2_PROT | SMFIP_NR_HDR), 0);
	/*
	 * A libmilter with the fields after the private data in another
	 * order: ctx_check() cannot tell, this can.
	 */
	f->u.head.ctx_mta_pflags = SMFI_CURR_ACTS;
	f->u.head.ctx_mta_aflags = SMFI_V2_PROT;
	assert_int_equal(ctx_check(ctx, &f->priv, TIMEOUT), 1);
	assert_int_equal(ctx_check_offer(ctx, SMFI_CURR_ACTS,
	    SMFI_V2_PROT | CTX_NR_EMULATED), 0);
	free_fake(f);
}

/*
 * The close callback tells QUIT from QUIT_NC by libmilter's state, set
 * before the command's function runs (engine.c: ST_QUIT 11, ST_Q_NC 14);
 * any other state is a close libmilter made on its own.
 */
static void
test_ctx_closing(void **state)
{
	struct fake	*f = new_fake();
	SMFICTX		*ctx = ctx_of(f);

	(void)state;
	f->u.head.ctx_state = 11;
	assert_int_equal(ctx_closing(ctx), CTX_CLOSE_QUIT);
	f->u.head.ctx_state = 14;
	assert_int_equal(ctx_closing(ctx), CTX_CLOSE_QUIT_NC);
	/* In a message (ST_BODY), at its end (ST_ENDM), before any. */
	f->u.head.ctx_state = 9;
	assert_int_equal(ctx_closing(ctx), CTX_CLOSE_LOST);
	f->u.head.ctx_state = 10;
	assert_int_equal(ctx_closing(ctx), CTX_CLOSE_LOST);
	f->u.head.ctx_state = 0;
	assert_int_equal(ctx_closing(ctx), CTX_CLOSE_LOST);
	free_fake(f);
}

/*
 * What libmilter tells the MTA: the no-reply steps it emulates only if
 * the MTA has them, NODATA and NOUNKNOWN likewise, never its own bits.
 */
static void
test_ctx_answer_steps(void **state)
{
	unsigned long	 inspect = CTX_NR_EMULATED | SMFIP_RCPT_REJ |
	    SMFIP_HDR_LEADSPC;

	(void)state;
	/* Postfix and Sendmail at version 6 offer all: all asked is told. */
	assert_int_equal(ctx_answer_steps(SMFI_CURR_PROT, inspect), inspect);
	/* Version 2 (Postfix's milter_protocol = 2): none of them. */
	assert_int_equal(ctx_answer_steps(SMFI_V2_PROT,
	    CTX_NR_EMULATED), 0);
	assert_int_equal(ctx_answer_steps(SMFI_V2_PROT,
	    CTX_NR_EMULATED | SMFIP_NOHELO), SMFIP_NOHELO);
	/* No reply for headers only (Postfix's no_header_reply). */
	assert_int_equal(ctx_answer_steps(SMFI_V2_PROT | SMFIP_NR_HDR,
	    CTX_NR_EMULATED), SMFIP_NR_HDR);
	assert_int_equal(ctx_answer_steps(SMFI_V2_PROT,
	    SMFIP_NODATA | SMFIP_NOUNKNOWN | SMFIP_NOBODY), SMFIP_NOBODY);
	assert_int_equal(ctx_answer_steps(SMFI_CURR_PROT,
	    SMFIP_NODATA | SMFIP_NOUNKNOWN), SMFIP_NODATA | SMFIP_NOUNKNOWN);
	assert_int_equal(ctx_answer_steps(SMFI_CURR_PROT | SMFIP_MDS_1M,
	    SMFIP_MDS_1M | SMFIP_SKIP), SMFIP_SKIP);
}

/*
 * A libmilter laid out otherwise fails the check, whatever its values:
 * here one without ctx_mac_list (as before 8.14), whose private data
 * comes that array's size earlier.
 */
static void
test_ctx_other_layout_fails(void **state)
{
	union {
		struct ctx_layout	 head;
		char			 bytes[CTX_SIZE];
	} u;
	struct fake	*f;
	int		 priv = 0;
	void		*p = &priv;

	(void)state;
	memset(&u, 0, sizeof u);
	u.head.ctx_timeout = TIMEOUT;
	memcpy(u.bytes + offsetof(struct ctx_layout, ctx_privdata) -
	    sizeof u.head.ctx_mac_list, &p, sizeof p);
	assert_int_equal(ctx_check((SMFICTX *)(void *)&u, &priv, TIMEOUT), 0);
	/* And the right layout with another timeout, or other data. */
	f = new_fake();
	assert_int_equal(ctx_check(ctx_of(f), &f->priv, TIMEOUT + 1), 0);
	assert_int_equal(ctx_check(ctx_of(f), &priv, TIMEOUT), 0);
	free_fake(f);
}

/* A session's stages as libmilter stores and clears their packets. */
static void
test_macros_each_stage_its_own(void **state)
{
	static const char *const conn[] = { "j", "mx.example",
	    "{daemon_name}", "mx", "client_addr", "192.0.2.1" };
	static const char *const mail[] = { "{mail_addr}", "a@example.org" };
	static const char *const rcpt1[] = { "{rcpt_addr}", "one@example",
	    "{rcpt_mailer}", "local" };
	static const char *const rcpt2[] = { "{rcpt_addr}", "two@example" };
	static const char *const i1[] = { "i", "4ABC" };
	static const char *const eom[] = { "i", "4ABC", "{msg_id}", "<m@x>" };
	struct fake	*f = new_fake();
	struct macros	 m;
	struct event	 ev;

	(void)state;
	begin(&m, &ev, 1);

	assert_string_equal(at(&m, f, &ev, STAGE_NEGOTIATE), "");

	store(f, CTX_CONNECT, conn, 6);
	clear_from(f, CTX_HELO);
	ev.stage = STAGE_CONNECT;
	assert_int_equal(macros_event(&m, ctx_of(f), &ev), 0);
	/* Every name, as sent and in wire order, braced or not. */
	assert_string_equal(shown(&ev),
	    "j=mx.example {daemon_name}=mx client_addr=192.0.2.1");

	/* helo with no packet: nothing, not connect's again. */
	clear_from(f, CTX_ENVFROM);
	assert_string_equal(at(&m, f, &ev, STAGE_HELO), "");

	store(f, CTX_ENVFROM, mail, 2);
	clear_from(f, CTX_ENVRCPT);
	assert_string_equal(at(&m, f, &ev, STAGE_ENVFROM), "{mail_addr}=a@example.org");

	store(f, CTX_ENVRCPT, rcpt1, 4);
	clear_from(f, CTX_DATA);
	assert_string_equal(at(&m, f, &ev, STAGE_ENVRCPT),
	    "{rcpt_addr}=one@example {rcpt_mailer}=local");
	assert_string_equal(macros_value(&m, ctx_of(f), "{rcpt_mailer}"),
	    "local");

	/* A second RCPT with its own packet, then a third without. */
	store(f, CTX_ENVRCPT, rcpt2, 2);
	clear_from(f, CTX_DATA);
	assert_string_equal(at(&m, f, &ev, ev.stage), "{rcpt_addr}=two@example");
	clear_from(f, CTX_DATA);
	assert_string_equal(at(&m, f, &ev, ev.stage), "");

	store(f, CTX_DATA, i1, 2);
	assert_string_equal(at(&m, f, &ev, STAGE_DATA), "i=4ABC");

	/* Sent with header: libmilter drops it; nothing to show. */
	assert_string_equal(at(&m, f, &ev, STAGE_HEADER), "");

	/* The same value again at eoh, in whichever slot is EOH's. */
	store(f, CTX_EOH_EOM_B, i1, 2);
	assert_string_equal(at(&m, f, &ev, STAGE_EOH), "i=4ABC");

	store(f, CTX_EOH_EOM_A, eom, 4);
	ev.stage = STAGE_EOM;
	opts.show_macros = SHOW_ALL;
	assert_string_equal(at(&m, f, &ev, ev.stage), "i=4ABC {msg_id}=<m@x>");
	/* Visible: each name once, from the latest stage that sent it. */
	assert_true(ev.show_visible);
	assert_int_equal(ev.nvisible, 7);
	assert_string_equal(ev.visible[0].name, "j");
	assert_int_equal(ev.visible[0].stage, STAGE_CONNECT);
	assert_string_equal(ev.visible[3].name, "{mail_addr}");
	assert_int_equal(ev.visible[3].stage, STAGE_ENVFROM);
	assert_string_equal(ev.visible[4].value, "two@example");
	assert_int_equal(ev.visible[4].stage, STAGE_ENVRCPT);
	/* libmilter finds i in EOH's slot first, when that is the later. */
	assert_string_equal(ev.visible[5].name, "i");
	assert_int_equal(ev.visible[5].stage, STAGE_EOH);
	assert_string_equal(ev.visible[6].name, "{msg_id}");
	assert_int_equal(ev.visible[6].stage, STAGE_EOM);

	macros_free(&m);
	free_fake(f);
}

/*
 * Sendmail sends no EOH macros by default, only eom's: the packet that
 * comes at eom is eom's, whichever of the two slots this libmilter keeps
 * it in (8.17.1.9 took the other's), and the eom event shows exactly it.
 */
static void
test_macros_eom_without_eoh(void **state)
{
	static const char *const conn[] = { "j", "mx.example" };
	static const char *const rcpt[] = { "{rcpt_addr}", "b@example.net" };
	static const char *const eom[] = { "{msg_id}", "<m@x>", "i", "4ABC" };
	struct fake	*f;
	struct macros	 m;
	struct event	 ev;
	int		 slot;

	(void)state;
	for (slot = CTX_EOH_EOM_A; slot <= CTX_EOH_EOM_B; slot++) {
		f = new_fake();
		begin(&m, &ev, 1);
		store(f, CTX_CONNECT, conn, 2);
		clear_from(f, CTX_HELO);
		assert_string_equal(at(&m, f, &ev, STAGE_CONNECT),
		    "j=mx.example");
		store(f, CTX_ENVRCPT, rcpt, 2);
		clear_from(f, CTX_DATA);
		assert_string_equal(at(&m, f, &ev, STAGE_ENVRCPT),
		    "{rcpt_addr}=b@example.net");
		assert_string_equal(at(&m, f, &ev, STAGE_DATA), "");
		assert_string_equal(at(&m, f, &ev, STAGE_EOH), "");
		store(f, slot, eom, 4);
		assert_string_equal(at(&m, f, &ev, STAGE_EOM),
		    "{msg_id}=<m@x> i=4ABC");
		/* Visible: its macros come from eom. */
		opts.show_macros = SHOW_ALL;
		assert_string_equal(at(&m, f, &ev, STAGE_CLOSE), "");
		assert_int_equal(ev.nvisible, 4);
		assert_string_equal(ev.visible[2].name, "{msg_id}");
		assert_int_equal(ev.visible[2].stage, STAGE_EOM);
		assert_string_equal(ev.visible[3].name, "i");
		assert_int_equal(ev.visible[3].stage, STAGE_EOM);
		macros_free(&m);
		free_fake(f);
	}
}

/* A packet cut short (odd count): the name without a value is not read. */
static void
test_macros_odd_packet(void **state)
{
	static const char *const odd[] = { "j", "mx", "{dangling}" };
	struct fake	*f = new_fake();
	struct macros	 m;
	struct event	 ev;

	(void)state;
	begin(&m, &ev, 1);
	store(f, CTX_CONNECT, odd, 3);
	assert_string_equal(at(&m, f, &ev, STAGE_CONNECT), "j=mx");
	assert_null(macros_value(&m, ctx_of(f), "{dangling}"));
	macros_free(&m);
	free_fake(f);
}

/*
 * A context that fails the check: the macros are looked up by name, with
 * libmilter's own smfi_getsymval(), and shown when new or changed.
 */
static void
test_macros_lookup_fallback(void **state)
{
	static const char *const conn[] = { "j", "mx.example" };
	static const char *const mail[] = { "{mail_addr}", "a@example.org" };
	static const char *const data[] = { "i", "4ABC" };
	struct fake	*f = new_fake();
	struct macros	 m;
	struct event	 ev;

	(void)state;
	begin(&m, &ev, 0);
	assert_int_equal(m.source, SOURCE_LOOKUP);
	assert_string_equal(at(&m, f, &ev, STAGE_NEGOTIATE), "");
	store(f, CTX_CONNECT, conn, 2);
	assert_string_equal(at(&m, f, &ev, STAGE_CONNECT), "j=mx.example");
	store(f, CTX_ENVFROM, mail, 2);
	assert_string_equal(at(&m, f, &ev, STAGE_ENVFROM), "{mail_addr}=a@example.org");
	store(f, CTX_DATA, data, 2);
	assert_string_equal(at(&m, f, &ev, STAGE_DATA), "i=4ABC");
	/* Sent again unchanged: the look-ups cannot tell (the caveat). */
	store(f, CTX_EOH_EOM_A, data, 2);
	assert_string_equal(at(&m, f, &ev, STAGE_EOH), "");
	macros_free(&m);
	free_fake(f);
}

/*
 * Out of memory for the look-ups' copies, for either of the two arrays:
 * that event fails, and the session is left as if it had not begun them,
 * so that the next event works instead of writing through NULL.
 */
static void
test_macros_lookup_out_of_memory(void **state)
{
	static const char *const conn[] = { "j", "mx.example" };
	static const char *const mail[] = { "{mail_addr}", "a@example.org" };
	struct fake	*f = new_fake();
	struct macros	 m;
	struct event	 ev;
	int		 which;

	(void)state;
	for (which = 1; which <= 2; which++) {
		begin(&m, &ev, 0);
		assert_int_equal(m.source, SOURCE_LOOKUP);
		store(f, CTX_CONNECT, conn, 2);
		clear_from(f, CTX_HELO);
		ev.stage = STAGE_CONNECT;
		calloc_fails = which;
		assert_int_equal(macros_event(&m, ctx_of(f), &ev), -1);
		calloc_fails = 0;
		assert_null(m.values);
		assert_null(m.stages);
		store(f, CTX_ENVFROM, mail, 2);
		assert_string_equal(at(&m, f, &ev, STAGE_ENVFROM),
		    "j=mx.example {mail_addr}=a@example.org");
		macros_free(&m);
	}
	free_fake(f);
}

/*
 * What is visible is what smfi_getsymval() finds for each name: the first
 * of the last slot that has it, listed in stage order.
 */
static void
test_macros_visible_first_of_last(void **state)
{
	static const char *const conn[] = { "j", "a", "x", "1", "j", "b",
	    "k", "c" };
	static const char *const helo[] = { "x", "2", "x", "3" };
	struct fake	*f = new_fake();
	struct macros	 m;
	struct event	 ev;

	(void)state;
	begin(&m, &ev, 1);
	opts.show_macros = SHOW_ALL;
	assert_string_equal(at(&m, f, &ev, STAGE_NEGOTIATE), "");
	assert_int_equal(ev.nvisible, 0);
	store(f, CTX_CONNECT, conn, 8);
	store(f, CTX_HELO, helo, 4);
	assert_string_equal(at(&m, f, &ev, STAGE_HELO), "x=2 x=3");
	assert_int_equal(ev.nvisible, 3);
	assert_string_equal(ev.visible[0].name, "j");
	assert_string_equal(ev.visible[0].value, "a");
	assert_int_equal(ev.visible[0].stage, STAGE_CONNECT);
	assert_string_equal(ev.visible[1].name, "k");
	assert_string_equal(ev.visible[2].name, "x");
	assert_string_equal(ev.visible[2].value, "2");
	assert_int_equal(ev.visible[2].stage, STAGE_HELO);
	opts.show_macros = SHOW_SENT;
	macros_free(&m);
	free_fake(f);
}

/* Milliseconds since *t0. */
static double
ms_since(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 +
	    (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * --show-macros all with a full packet of distinct names at connect:
 * every later event lists them all, each once, in wire order; working
 * that out must not compare every name with every other (13,000 names,
 * 85 million comparisons).  The fastest of a few events, so that a busy
 * machine does not fail it.
 */
static void
test_macros_visible_full_packet(void **state)
{
	static const char	 alnum[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static char		 names[FULL_PAIRS][4];
	static const char	*strings[2 * FULL_PAIRS];
	struct fake		*f = new_fake();
	struct macros		 m;
	struct event		 ev;
	struct timespec		 t0;
	double			 ms, best = 1e9;
	size_t			 i, n = sizeof alnum - 1;
	int			 round;

	(void)state;
	for (i = 0; i < FULL_PAIRS; i++) {
		names[i][0] = alnum[i / (n * n) % n];
		names[i][1] = alnum[i / n % n];
		names[i][2] = alnum[i % n];
		strings[2 * i] = names[i];
		strings[2 * i + 1] = "";
	}
	begin(&m, &ev, 1);
	opts.show_macros = SHOW_ALL;
	store(f, CTX_CONNECT, strings, 2 * FULL_PAIRS);
	ev.stage = STAGE_CONNECT;
	assert_int_equal(macros_event(&m, ctx_of(f), &ev), 0);
	for (round = 0; round < 5; round++) {
		ev.stage = STAGE_HEADER;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(macros_event(&m, ctx_of(f), &ev), 0);
		if ((ms = ms_since(&t0)) < best)
			best = ms;
		assert_int_equal(ev.nvisible, FULL_PAIRS);
		for (i = 0; i < FULL_PAIRS; i += 997)
			assert_string_equal(ev.visible[i].name, names[i]);
	}
	print_message("%d names visible: %.2f ms an event\n", FULL_PAIRS,
	    best);
	assert_true(best < FULL_BUDGET_MS);
	opts.show_macros = SHOW_SENT;
	macros_free(&m);
	free_fake(f);
}

static int
setup(void **state)
{
	static char	 j[] = "j", mail[] = "{mail_addr}", i[] = "i";
	static char	 rcpt[] = "{rcpt_addr}";
	static char	*list[] = { j, mail, i, rcpt };

	(void)state;
	memset(&opts, 0, sizeof opts);
	opts.macros = list;
	opts.nmacros = sizeof list / sizeof list[0];
	opts.macro_source = SOURCE_AUTO;
	if (log_init(LEVEL_CRITICAL | LEVEL_ERROR, NULL, 0, 0) == -1)
		return -1;
	macros_init(&opts);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_macros_judged_wrong_read_no_more),
		cmocka_unit_test(test_ctx_agrees_with_libmilter),
		cmocka_unit_test(test_ctx_check_macros_same_pointer),
		cmocka_unit_test(test_ctx_other_layout_fails),
		cmocka_unit_test(test_ctx_check_offer),
		cmocka_unit_test(test_ctx_answer_steps),
		cmocka_unit_test(test_ctx_closing),
		cmocka_unit_test(test_macros_each_stage_its_own),
		cmocka_unit_test(test_macros_eom_without_eoh),
		cmocka_unit_test(test_macros_odd_packet),
		cmocka_unit_test(test_macros_lookup_fallback),
		cmocka_unit_test(test_macros_lookup_out_of_memory),
		cmocka_unit_test(test_macros_visible_first_of_last),
		cmocka_unit_test(test_macros_visible_full_packet),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
