/* test_session.c -- session.c: sessions by context, and what negotiation
 * settled carried over a "quit, new connection" */
/* SPDX-License-Identifier: ISC */

/*
 * The contexts are laid out like libmilter's (ctx.h), so that the real
 * smfi_setpriv() and smfi_getpriv() keep each session where libmilter
 * would.
 */

#include <sys/wait.h>

#include <setjmp.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../ctx.h"
#include "../../ids.h"
#include "../../log.h"
#include "../../macros.h"
#include "../../options.h"
#include "../../session.h"

#define TIMEOUT		7210
/*
 * session.c keeps a context's carry in slot (address / 16) % 256: two
 * contexts this far apart share one.
 */
#define SAME_SLOT	(16 * 256)

union fake {
	struct ctx_layout	 head;
	char			 bytes[sizeof(struct ctx_layout) + 256];
};

/* What one negotiation settled. */
struct settled {
	int		 rcpt_rej;
	unsigned long	 nr_steps;
	unsigned long	 actions;
	unsigned long	 steps;
};

static SMFICTX	*ctx_at(char *);
static struct session *negotiate(SMFICTX *, const struct settled *);
static void	 assert_settled(const struct session *,
		    const struct settled *);

static struct options	 opts;
static struct spec	 spec;
static struct ids	 ids;
static char		*arena;		/* two contexts, SAME_SLOT apart */

static SMFICTX *
ctx_at(char *p)
{
	union fake	*f = (union fake *)(void *)p;

	memset(f, 0, sizeof *f);
	f->head.ctx_timeout = TIMEOUT;
	return (SMFICTX *)(void *)f;
}

/* What cb_negotiate() does with ctx's session. */
static struct session *
negotiate(SMFICTX *ctx, const struct settled *st)
{
	struct session	*s;

	session_end(ctx);
	assert_non_null(s = session_get(ctx));
	s->rcpt_rej = st->rcpt_rej;
	s->nr_steps = st->nr_steps;
	s->actions = st->actions;
	s->steps = st->steps;
	return s;
}

static void
assert_settled(const struct session *s, const struct settled *st)
{
	assert_int_equal(s->rcpt_rej, st->rcpt_rej);
	assert_int_equal(s->nr_steps, st->nr_steps);
	assert_int_equal(s->actions, st->actions);
	assert_int_equal(s->steps, st->steps);
}

/*
 * A connection after "quit, new connection" is not negotiated again: it
 * gets what its context's last negotiation settled, even when another
 * context that shares the carry slot connected in between.
 */
static void
test_session_quit_nc_shared_slot(void **state)
{
	static const struct settled	 a_st = { 1, 0x80, 0x1ff, 0x100800 };
	static const struct settled	 b_st = { 0, 0, 0x2, 0x0 };
	static const struct settled	 none = { 0, 0, 0, 0 };
	struct session			*s, *b1;
	SMFICTX				*a, *b;

	(void)state;
	a = ctx_at(arena);
	b = ctx_at(arena + SAME_SLOT);

	s = negotiate(a, &a_st);
	assert_ptr_equal(session_connect(a), s);
	assert_settled(s, &a_st);
	/* SMFIC_QUIT_NC: a's session ends, the connection goes on. */
	session_end(a);

	/* Meanwhile another connection, on a context in the same slot. */
	b1 = negotiate(b, &b_st);
	assert_ptr_equal(session_connect(b), b1);
	assert_settled(b1, &b_st);

	/* a's next connection: connect comes without a negotiation. */
	assert_non_null(s = session_connect(a));
	assert_settled(s, &a_st);
	session_end(a);
	session_end(b);

	/*
	 * A new connection on the other context, not negotiated (as after
	 * its own QUIT_NC): what a's negotiation settled is not its to take,
	 * nor to wipe.
	 */
	negotiate(a, &a_st);
	session_end(a);
	assert_non_null(b1 = session_connect(b));
	assert_settled(b1, &none);
	assert_non_null(s = session_connect(a));
	assert_settled(s, &a_st);
	session_end(a);
	session_end(b);
}

/*
 * A negotiation the same as the last written in full names that one's
 * session, across processes; one that differs, or is too long to keep,
 * is written in full and becomes the last; a reopened report starts
 * again.
 */
static void
test_session_same_negotiation(void **state)
{
	static char	 big[9000];
	pid_t		 pid;
	int		 status;

	(void)state;
	assert_int_equal(session_same_negotiation(1, "A", 1), 0);
	assert_int_equal(session_same_negotiation(2, "A", 1), 1);
	assert_int_equal(session_same_negotiation(3, "AB", 2), 0);
	assert_int_equal(session_same_negotiation(4, "A", 1), 0);
	/* A worker sees what another wrote. */
	if ((pid = fork()) == 0)
		_exit(session_same_negotiation(5, "A", 1) == 4 ? 0 : 1);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(session_same_negotiation(6, "A", 1), 4);
	memset(big, 'x', sizeof big);
	assert_int_equal(session_same_negotiation(7, big, sizeof big), 0);
	assert_int_equal(session_same_negotiation(8, big, sizeof big), 0);
	assert_int_equal(session_same_negotiation(9, "A", 1), 0);
	session_forget_negotiation();
	assert_int_equal(session_same_negotiation(10, "A", 1), 0);
	assert_int_equal(session_same_negotiation(11, "A", 1), 10);
}

static int
setup(void **state)
{
	(void)state;
	if (log_init(LEVEL_CRITICAL | LEVEL_ERROR, NULL, 0, 0) == -1)
		return -1;
	opts.macro_source = SOURCE_LOOKUP;
	opts.show_macros = SHOW_SENT;
	macros_init(&opts);
	spec.family = AF_UNIX;
	if (session_setup(TIMEOUT, &spec, NULL, &ids) == -1)
		return -1;
	if ((arena = aligned_alloc(SAME_SLOT, 2 * SAME_SLOT)) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(arena);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_quit_nc_shared_slot),
		cmocka_unit_test(test_session_same_negotiation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
