/* test_summary.c -- summary.c: a session's events summed up in one line */
/* SPDX-License-Identifier: ISC */

/*
 * Each test feeds a session's events to summary_event() as inspect's
 * callbacks do, and reads the line it writes at close: what a user of
 * --summary sees.
 */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../summary.h"

/* 2023-11-14T22:13:20Z; the first event comes a quarter second later. */
#define T0	1700000000
#define RUN	"20231114T221320Z-p4242"	/* the run the session is of */

struct fixture {
	struct summary	 sm;
	struct buf	 out;
	struct sockaddr_in sin;
	long		 ns;	/* the next event's time, after T0 */
};

static int	 send_event(struct fixture *, struct event *);
static void	 connect_ev(struct fixture *, const char *);
static void	 helo_ev(struct fixture *, const char *);
static void	 args_ev(struct fixture *, enum stage, const char *, int);
static void	 stage_ev(struct fixture *, enum stage, size_t);
static const char *close_ev(struct fixture *, enum format);

/* ev at the fixture's clock, which then moves on by a quarter second. */
static int
send_event(struct fixture *f, struct event *ev)
{
	ev->session = 7;
	ev->run = RUN;
	ev->time.tv_sec = T0 + f->ns / 1000000000;
	ev->time.tv_nsec = f->ns % 1000000000;
	f->ns += 250000000;
	return summary_event(&f->sm, ev, &f->out, FORMAT_TEXT, 0);
}

static void
connect_ev(struct fixture *f, const char *host)
{
	struct event	 ev = { .stage = STAGE_CONNECT };

	ev.host = host;
	ev.address = (const struct sockaddr *)&f->sin;
	assert_int_equal(send_event(f, &ev), 0);
}

static void
helo_ev(struct fixture *f, const char *name)
{
	struct event	 ev = { .stage = STAGE_HELO };

	ev.name = name;
	assert_int_equal(send_event(f, &ev), 0);
}

/* envfrom or envrcpt with address (NULL: no argument at all). */
static void
args_ev(struct fixture *f, enum stage stage, const char *address,
    int rejected)
{
	char		*args[] = { (char *)(uintptr_t)address, NULL };
	struct event	 ev = { .stage = stage };

	ev.args = address != NULL ? args : NULL;
	ev.rejected = rejected;
	assert_int_equal(send_event(f, &ev), 0);
}

/* Any other stage; length is a body chunk's. */
static void
stage_ev(struct fixture *f, enum stage stage, size_t length)
{
	struct event	 ev = { .stage = stage };

	ev.length = length;
	ev.chunk = (const unsigned char *)"";
	if (stage == STAGE_HEADER) {
		ev.name = "Subject";
		ev.value = " x";
	}
	assert_int_equal(send_event(f, &ev), 0);
}

/* Close, and the one line written, NUL-ended. */
static const char *
close_ev(struct fixture *f, enum format format)
{
	struct event	 ev = { .stage = STAGE_CLOSE };

	ev.session = 7;
	ev.run = RUN;
	ev.time.tv_sec = T0 + f->ns / 1000000000;
	ev.time.tv_nsec = f->ns % 1000000000;
	f->out.len = 0;
	assert_int_equal(summary_event(&f->sm, &ev, &f->out, format, 0), 0);
	assert_int_equal(buf_add(&f->out, "", 1), 0);
	/* One line, ended. */
	assert_ptr_equal(strchr(f->out.data, '\n'),
	    f->out.data + f->out.len - 2);
	return f->out.data;
}

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof *f)) == NULL)
		return -1;
	f->sin.sin_family = AF_INET;
	f->sin.sin_port = htons(4321);
	inet_pton(AF_INET, "192.0.2.7", &f->sin.sin_addr);
	f->ns = 250000000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	summary_free(&f->sm);
	/* Empty again: what it kept is all given back. */
	assert_int_equal(f->sm.kept, 0);
	assert_null(f->sm.tx);
	buf_free(&f->out);
	free(f);
	return 0;
}

/*
 * A whole session: the last HELO counts (EHLO again after STARTTLS); each
 * transaction with its sender, recipients (rejected ones marked), header
 * count, body size and how it ended: at eom, by abort, by the next MAIL,
 * or by the close in its middle.  The duration runs from the first event
 * to close.
 */
static void
test_summary_session(void **state)
{
	struct fixture	*f = *state;

	stage_ev(f, STAGE_NEGOTIATE, 0);
	connect_ev(f, "client.example");
	helo_ev(f, "first.example");
	helo_ev(f, "second.example");
	args_ev(f, STAGE_ENVFROM, "<a@example.org>", 0);
	args_ev(f, STAGE_ENVRCPT, "<b@example.net>", 0);
	args_ev(f, STAGE_ENVRCPT, "<gone@example.net>", 1);
	stage_ev(f, STAGE_DATA, 0);
	stage_ev(f, STAGE_HEADER, 0);
	stage_ev(f, STAGE_HEADER, 0);
	stage_ev(f, STAGE_EOH, 0);
	stage_ev(f, STAGE_BODY, 65535);
	stage_ev(f, STAGE_BODY, 10);
	stage_ev(f, STAGE_EOM, 0);
	/* Postfix's abort after every message: that one stays eom. */
	stage_ev(f, STAGE_ABORT, 0);
	args_ev(f, STAGE_ENVFROM, "<>", 0);
	stage_ev(f, STAGE_ABORT, 0);
	args_ev(f, STAGE_ENVFROM, NULL, 0);
	args_ev(f, STAGE_ENVRCPT, "<c@example.net>", 0);
	args_ev(f, STAGE_ENVFROM, "<d@example.org>", 0);
	stage_ev(f, STAGE_HEADER, 0);
	assert_string_equal(close_ev(f, FORMAT_TEXT),
	    "[7] summary 2023-11-14T22:13:25.500000Z"
	    " client \"client.example\" \"inet:4321@[192.0.2.7]\""
	    " helo \"second.example\""
	    " mail \"<a@example.org>\" rcpt \"<b@example.net>\""
	    " \"<gone@example.net>\" (rejected) headers 2 body 65545 bytes"
	    " end eom"
	    " mail \"<>\" rcpt (none) headers 0 body 0 bytes end abort"
	    " mail \"\" rcpt \"<c@example.net>\" headers 0 body 0 bytes"
	    " end none"
	    " mail \"<d@example.org>\" rcpt (none) headers 1 body 0 bytes"
	    " end close"
	    " duration 5.250000s\n");
}

/*
 * What comes outside a transaction is no transaction's: recipients,
 * headers and body before MAIL or after eom count nowhere.  A session
 * without connect or HELO (after Sendmail's "quit, new connection", or
 * an MTA that skips them) says so.
 */
static void
test_summary_outside_transactions(void **state)
{
	struct fixture	*f = *state;

	args_ev(f, STAGE_ENVRCPT, "<early@example.net>", 0);
	stage_ev(f, STAGE_HEADER, 0);
	stage_ev(f, STAGE_BODY, 100);
	args_ev(f, STAGE_ENVFROM, "<a@example.org>", 0);
	stage_ev(f, STAGE_EOM, 0);
	args_ev(f, STAGE_ENVRCPT, "<late@example.net>", 0);
	stage_ev(f, STAGE_HEADER, 0);
	stage_ev(f, STAGE_BODY, 100);
	assert_string_equal(close_ev(f, FORMAT_TEXT),
	    "[7] summary 2023-11-14T22:13:22.250000Z client (none) helo (none)"
	    " mail \"<a@example.org>\" rcpt (none) headers 0 body 0 bytes"
	    " end eom duration 2.000000s\n");
}

/*
 * The MTA's bytes are kept as sent, and the line escapes them (as the
 * report does); in JSON too, where what was not sent is null.  The line
 * says its run, as every event does, right after its session.
 */
static void
test_summary_bytes_and_json(void **state)
{
	struct fixture	*f = *state;

	helo_ev(f, "evil\x1b[2J\"quoted\"");
	args_ev(f, STAGE_ENVFROM, "<\xff@example.org>", 0);
	args_ev(f, STAGE_ENVRCPT, "<x\ny@example.net>", 1);
	stage_ev(f, STAGE_BODY, 3);
	stage_ev(f, STAGE_ABORT, 0);
	assert_string_equal(close_ev(f, FORMAT_JSON),
	    "{\"session\":7,\"run\":\"" RUN "\",\"stage\":\"summary\","
	    "\"time\":\"2023-11-14T22:13:21.500000Z\",\"host\":null,"
	    "\"address\":null,\"ip\":null,"
	    "\"helo\":\"evil\\u001b[2J\\\"quoted\\\"\","
	    "\"transactions\":[{\"sender\":\"<\\udcff@example.org>\","
	    "\"queue_id\":null,\"recipients\":[{\"address\":\"<x\\ny@example.net>\","
	    "\"rejected\":true}],\"unlisted_recipients\":0,\"headers\":0,"
	    "\"body_bytes\":3,\"end\":\"abort\"}],"
	    "\"unlisted_transactions\":0,\"duration\":1.250000}\n");
}

/*
 * The fields that join a summary with the mail log: the client's IP,
 * and each transaction's queue id as the MTA last gave it (Postfix's
 * comes at a later RCPT or at DATA, Sendmail's with MAIL); a
 * transaction without one has none.
 */
static void
test_summary_queue_id_and_ip(void **state)
{
	struct fixture	*f = *state;
	struct event	 ev = { .stage = STAGE_DATA };
	const char	*line;

	connect_ev(f, "client.example");
	args_ev(f, STAGE_ENVFROM, "<a@example.org>", 0);
	ev.queue_id = "";
	assert_int_equal(send_event(f, &ev), 0);
	ev.queue_id = "3F2A1B";
	assert_int_equal(send_event(f, &ev), 0);
	ev.stage = STAGE_EOM;
	assert_int_equal(send_event(f, &ev), 0);
	ev.stage = STAGE_ENVFROM;
	ev.queue_id = "3F2A1C";
	ev.args = (char *[]){ (char *)(uintptr_t)"<b@example.org>", NULL };
	assert_int_equal(send_event(f, &ev), 0);
	args_ev(f, STAGE_ENVFROM, "<c@example.org>", 0);
	line = close_ev(f, FORMAT_TEXT);
	assert_non_null(strstr(line, " mail \"<a@example.org>\" queue "
	    "\"3F2A1B\" rcpt"));
	assert_non_null(strstr(line, " mail \"<b@example.org>\" queue "
	    "\"3F2A1C\" rcpt"));
	assert_non_null(strstr(line, " mail \"<c@example.org>\" rcpt"));
	line = close_ev(f, FORMAT_JSON);
	assert_non_null(strstr(line, "\"ip\":\"192.0.2.7\""));
	assert_non_null(strstr(line, "\"sender\":\"<a@example.org>\","
	    "\"queue_id\":\"3F2A1B\""));
	assert_non_null(strstr(line, "\"sender\":\"<c@example.org>\","
	    "\"queue_id\":null"));
}

/*
 * A connect again on the same session (libmilter may call it twice):
 * the last client counts, and what the first took is given back.
 */
static void
test_summary_connect_again(void **state)
{
	struct fixture	*f = *state;
	size_t		 kept;

	connect_ev(f, "first.example");
	kept = f->sm.kept;
	connect_ev(f, "second.example");
	assert_int_equal(f->sm.kept, kept + 1);
	connect_ev(f, "first.example");
	assert_int_equal(f->sm.kept, kept);
	assert_non_null(strstr(close_ev(f, FORMAT_TEXT),
	    " client \"first.example\" \"inet:4321@[192.0.2.7]\" helo (none)"
	    " duration "));
}

/*
 * A session of endless recipients costs no endless memory: past
 * SUMMARY_KEEP bytes they are counted, not listed, and the line says how
 * many more there were.
 */
static void
test_summary_endless_recipients(void **state)
{
	struct fixture	*f = *state;
	char		 rcpt[64], want[64];
	const char	*line;
	size_t		 i, n = 20000, listed = 0;

	args_ev(f, STAGE_ENVFROM, "<a@example.org>", 0);
	for (i = 0; i < n; i++) {
		snprintf(rcpt, sizeof rcpt, "<r%zu@example.net>", i);
		args_ev(f, STAGE_ENVRCPT, rcpt, 0);
		assert_true(f->sm.kept <= SUMMARY_KEEP);
	}
	stage_ev(f, STAGE_HEADER, 0);
	stage_ev(f, STAGE_BODY, 7);
	stage_ev(f, STAGE_EOM, 0);
	listed = f->sm.tx[0].nrcpts;
	assert_true(listed > 0 && listed < n);
	line = close_ev(f, FORMAT_TEXT);
	/* The first ones listed, in order, then the count of the rest. */
	assert_non_null(strstr(line, " rcpt \"<r0@example.net>\" "
	    "\"<r1@example.net>\" "));
	snprintf(want, sizeof want, "\"<r%zu@example.net>\" (+%zu more) "
	    "headers 1 body 7 bytes end eom", listed - 1, n - listed);
	assert_non_null(strstr(line, want));
}

/*
 * Endless transactions likewise: those past SUMMARY_KEEP are counted,
 * and what comes in them (recipients, headers, body, their end) is
 * counted in none of those listed.
 */
static void
test_summary_endless_transactions(void **state)
{
	struct fixture	*f = *state;
	char		 want[80];
	const char	*line, *last;
	size_t		 i, n = 3000, listed;
	char		 sender[1000];

	memset(sender, 's', sizeof sender - 1);
	sender[sizeof sender - 1] = '\0';
	for (i = 0; i < n; i++) {
		args_ev(f, STAGE_ENVFROM, sender, 0);
		args_ev(f, STAGE_ENVRCPT, "<b@example.net>", 0);
		stage_ev(f, STAGE_HEADER, 0);
		stage_ev(f, STAGE_BODY, 1);
		stage_ev(f, STAGE_EOM, 0);
		assert_true(f->sm.kept <= SUMMARY_KEEP);
	}
	listed = f->sm.ntx;
	assert_true(listed > 0 && listed < n);
	assert_int_equal(f->sm.unlisted, n - listed);
	for (i = 0; i < listed; i++) {
		assert_int_equal(f->sm.tx[i].nrcpts, 1);
		assert_int_equal(f->sm.tx[i].headers, 1);
		assert_int_equal(f->sm.tx[i].body, 1);
		assert_int_equal(f->sm.tx[i].end, END_EOM);
	}
	line = close_ev(f, FORMAT_TEXT);
	snprintf(want, sizeof want, " (+%zu more transactions) duration ",
	    n - listed);
	assert_non_null(last = strstr(line, want));
	assert_memory_equal(last - 30, "headers 1 body 1 bytes end eom", 30);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_summary_session, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_summary_outside_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_summary_bytes_and_json,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_summary_queue_id_and_ip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_summary_connect_again,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_summary_endless_recipients, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_summary_endless_transactions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
