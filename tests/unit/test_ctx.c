/* test_ctx.c -- ctx.c and macros.c on contexts laid out like libmilter's */
/* SPDX-License-Identifier: ISC */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../ctx.h"
#include "../../log.h"
#include "../../macros.h"
#include "../../options.h"

#define TIMEOUT	7210
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
		cmocka_unit_test(test_ctx_agrees_with_libmilter),
		cmocka_unit_test(test_ctx_other_layout_fails),
		cmocka_unit_test(test_ctx_check_offer),
		cmocka_unit_test(test_ctx_answer_steps),
		cmocka_unit_test(test_macros_each_stage_its_own),
		cmocka_unit_test(test_macros_odd_packet),
		cmocka_unit_test(test_macros_lookup_fallback),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
