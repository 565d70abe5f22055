/* test_options.c -- unit tests for options.c */
/* SPDX-License-Identifier: ISC */

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "../../ids.h"
#include "../../log.h"
#include "../../options.h"
#include "../../probe.h"

#define MAX_ARGS	32

struct fixture {
	struct options	 opts;
	char		*argv[MAX_ARGS + 1];
	int		 argc;
	int		 parsed;
	int		 rc;
	char		 err[512];	/* as in inspect's main() */
};

/* A table row: arguments after argv[0], and what the error must name. */
struct reject {
	const char	*args[4];
	const char	*needle;
};

static int	setup(void **);
static int	teardown(void **);
static void	reset(struct fixture *);
static int	parse_array(struct fixture *, const char *const *, size_t);
static int	parse(struct fixture *, ...) __attribute__((sentinel));
static void	assert_rejected(const struct fixture *, const char *);
static void	assert_rejects(struct fixture *, const struct reject *,
		    size_t);
static void	assert_flags(const struct fixture *, int, int, int, int,
		    int);
static size_t	default_count(void);
static void	assert_macros(const struct fixture *,
		    const char *const *);
static void	assert_spec(const struct spec *, int, const char *,
		    const char *, int, unsigned int);

static int
setup(void **state)
{
	struct fixture	*f;

	/* The user's own default must not leak into the tests. */
	if (unsetenv(OPTIONS_SPEC_ENV) == -1)
		return -1;
	if ((f = calloc(1, sizeof *f)) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	reset(f);
	free(f);
	unsetenv(OPTIONS_SPEC_ENV);
	return 0;
}

/* Drop the previous parse; opts points into argv, so both go together. */
static void
reset(struct fixture *f)
{
	int	 i;

	if (f->parsed)
		options_free(&f->opts);
	f->parsed = 0;
	for (i = 0; i < f->argc; i++)
		free(f->argv[i]);
	f->argc = 0;
	f->argv[0] = NULL;
}

/*
 * getopt_long permutes argv, and the compiler's string literals are
 * read-only, so the parser gets a private, writable copy.
 */
static int
parse_array(struct fixture *f, const char *const *args, size_t nargs)
{
	size_t	 i;

	reset(f);
	assert_true(nargs < MAX_ARGS);
	assert_non_null(f->argv[0] = strdup("inspect"));
	f->argc = 1;
	for (i = 0; i < nargs; i++) {
		assert_non_null(f->argv[f->argc] = strdup(args[i]));
		f->argc++;
	}
	f->argv[f->argc] = NULL;
	f->err[0] = '\0';
	f->rc = options_parse(&f->opts, f->argc, f->argv, f->err,
	    sizeof f->err);
	f->parsed = 1;
	if (f->rc == 0 && f->err[0] != '\0')
		fail_msg("accepted, yet with an error: %s", f->err);
	return f->rc;
}

static int
parse(struct fixture *f, ...)
{
	const char	*args[MAX_ARGS];
	const char	*a;
	va_list		 ap;
	size_t		 n = 0;

	va_start(ap, f);
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(n < MAX_ARGS);
		args[n++] = a;
	}
	va_end(ap);
	return parse_array(f, args, n);
}

static void
assert_rejected(const struct fixture *f, const char *needle)
{
	if (f->rc != -1)
		fail_msg("accepted; expected an error naming '%s'", needle);
	if (f->err[0] == '\0')
		fail_msg("rejected without a reason; expected '%s'", needle);
	if (strstr(f->err, needle) == NULL)
		fail_msg("error \"%s\" does not name '%s'", f->err, needle);
	if (strchr(f->err, '\n') != NULL)
		fail_msg("error \"%s\" is not one line", f->err);
}

static void
assert_rejects(struct fixture *f, const struct reject *r, size_t n)
{
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof r[i].args / sizeof r[i].args[0] &&
		    r[i].args[j] != NULL; j++)
			;
		parse_array(f, r[i].args, j);
		assert_rejected(f, r[i].needle);
	}
}

static void
assert_flags(const struct fixture *f, int request_macros, int quiet,
    int verbose, int help, int version)
{
	assert_int_equal(f->opts.request_macros, request_macros);
	assert_int_equal(f->opts.quiet, quiet);
	assert_int_equal(f->opts.verbose, verbose);
	assert_int_equal(f->opts.help, help);
	assert_int_equal(f->opts.version, version);
}

static size_t
default_count(void)
{
	size_t	 n;

	for (n = 0; options_default_macros[n] != NULL; n++)
		;
	return n;
}

/* The macro list is exactly want, NULL-terminated, in that order. */
static void
assert_macros(const struct fixture *f, const char *const *want)
{
	size_t	 i;

	for (i = 0; want[i] != NULL; i++) {
		if (i >= f->opts.nmacros)
			fail_msg("macro %zu ('%s') missing; only %zu", i,
			    want[i], f->opts.nmacros);
		assert_string_equal(f->opts.macros[i], want[i]);
	}
	assert_int_equal(f->opts.nmacros, i);
}

static void
assert_spec(const struct spec *sp, int family, const char *path,
    const char *host, int literal, unsigned int port)
{
	assert_int_equal(sp->family, family);
	assert_string_equal(sp->path, path);
	assert_string_equal(sp->host, host);
	assert_int_equal(sp->literal, literal);
	assert_int_equal(sp->port, port);
}

static void
test_options_defaults(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, NULL), 0);
	assert_string_equal(f->opts.spec, "inet:10025@[127.0.0.1]");
	assert_spec(&f->opts.where, AF_INET, "", "127.0.0.1", 1, 10025);
	assert_int_equal(f->opts.format, FORMAT_TEXT);
	assert_int_equal(f->opts.noutputs, 1);
	assert_string_equal(f->opts.outputs[0], "-");
	assert_macros(f, options_default_macros);
	assert_flags(f, 0, 0, 0, 0, 0);
	assert_int_equal(f->opts.timeout, 0);
}

/* The default list is usable as given: no repeats, every name valid. */
static void
test_options_defaults_macros_reusable(void **state)
{
	struct fixture	*f = *state;
	char		 list[4096] = "";
	size_t		 i;

	assert_true(default_count() > 0);
	for (i = 0; options_default_macros[i] != NULL; i++) {
		strncat(list, options_default_macros[i],
		    sizeof list - strlen(list) - 1);
		strncat(list, " ", sizeof list - strlen(list) - 1);
	}
	assert_true(strlen(list) < sizeof list - 1);
	assert_int_equal(parse(f, "--macros", list, NULL), 0);
	assert_macros(f, options_default_macros);
}

static void
test_options_env_default(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(setenv(OPTIONS_SPEC_ENV, "unix:/run/env.sock", 1),
	    0);
	assert_int_equal(parse(f, NULL), 0);
	assert_string_equal(f->opts.spec, "unix:/run/env.sock");
	assert_spec(&f->opts.where, AF_UNIX, "/run/env.sock", "", 0, 0);

	assert_int_equal(setenv(OPTIONS_SPEC_ENV, "inet6:2525@[::1]", 1), 0);
	assert_int_equal(parse(f, "-q", NULL), 0);
	assert_string_equal(f->opts.spec, "inet6:2525@[::1]");
	assert_spec(&f->opts.where, AF_INET6, "", "::1", 1, 2525);
}

static void
test_options_env_overridden(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(setenv(OPTIONS_SPEC_ENV, "unix:/run/env.sock", 1),
	    0);
	assert_int_equal(parse(f, "-s", "inet:2525", NULL), 0);
	assert_string_equal(f->opts.spec, "inet:2525");
	assert_spec(&f->opts.where, AF_INET, "", "", 0, 2525);

	assert_int_equal(parse(f, "--connection-spec", "local:/run/x", NULL),
	    0);
	assert_string_equal(f->opts.spec, "local:/run/x");

	assert_int_equal(parse(f, "unix:/run/arg.sock", NULL), 0);
	assert_string_equal(f->opts.spec, "unix:/run/arg.sock");
	assert_spec(&f->opts.where, AF_UNIX, "/run/arg.sock", "", 0, 0);
}

/* An empty variable is as good as none, as with most such variables. */
static void
test_options_env_empty_ignored(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(setenv(OPTIONS_SPEC_ENV, "", 1), 0);
	assert_int_equal(parse(f, NULL), 0);
	assert_string_equal(f->opts.spec, "inet:10025@[127.0.0.1]");
}

static void
test_options_env_invalid_rejected(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(setenv(OPTIONS_SPEC_ENV, "tcp:bogus", 1), 0);
	parse(f, NULL);
	assert_rejected(f, "tcp:bogus");

	/* An explicit spec makes a broken default harmless. */
	assert_int_equal(parse(f, "-s", "inet:2525", NULL), 0);
	assert_string_equal(f->opts.spec, "inet:2525");
}

static void
test_options_spec_option(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "-s", "unix:/run/a.sock", NULL), 0);
	assert_string_equal(f->opts.spec, "unix:/run/a.sock");
	assert_spec(&f->opts.where, AF_UNIX, "/run/a.sock", "", 0, 0);

	assert_int_equal(parse(f, "-sinet:2525", NULL), 0);
	assert_string_equal(f->opts.spec, "inet:2525");
	assert_spec(&f->opts.where, AF_INET, "", "", 0, 2525);

	assert_int_equal(parse(f, "--connection-spec", "inet6:2526", NULL),
	    0);
	assert_string_equal(f->opts.spec, "inet6:2526");
	assert_spec(&f->opts.where, AF_INET6, "", "", 0, 2526);

	assert_int_equal(parse(f, "--connection-spec=inet:2527@localhost",
	    NULL), 0);
	assert_string_equal(f->opts.spec, "inet:2527@localhost");
	assert_spec(&f->opts.where, AF_INET, "", "localhost", 0, 2527);
}

static void
test_options_spec_positional(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "unix:/run/a.sock", NULL), 0);
	assert_string_equal(f->opts.spec, "unix:/run/a.sock");
	assert_spec(&f->opts.where, AF_UNIX, "/run/a.sock", "", 0, 0);

	/* Options still count when they come before it. */
	assert_int_equal(parse(f, "-q", "--format", "json", "inet:2525",
	    NULL), 0);
	assert_string_equal(f->opts.spec, "inet:2525");
	assert_int_equal(f->opts.quiet, 1);
	assert_int_equal(f->opts.format, FORMAT_JSON);
}

static void
test_options_spec_twice_rejected(void **state)
{
	struct fixture	*f = *state;

	parse(f, "-s", "unix:/run/a.sock", "inet:2525", NULL);
	assert_rejected(f, "unix:/run/a.sock");
	assert_rejected(f, "inet:2525");

	parse(f, "--connection-spec=inet:1", "inet:2", NULL);
	assert_rejected(f, "inet:1");
	assert_rejected(f, "inet:2");
}

static void
test_options_two_positionals_rejected(void **state)
{
	struct fixture	*f = *state;

	parse(f, "inet:2525", "unix:/run/extra.sock", NULL);
	assert_rejected(f, "unix:/run/extra.sock");

	parse(f, "inet:2525", "extra", "more", NULL);
	assert_rejected(f, "extra");
}

static void
test_options_spec_forms_accepted(void **state)
{
	static const struct {
		const char	*spec;
		int		 family;
		const char	*path;
		const char	*host;
		int		 literal;
		unsigned int	 port;
	} ok[] = {
		{ "unix:/run/inspect.sock", AF_UNIX, "/run/inspect.sock",
		    "", 0, 0 },
		{ "local:/var/spool/postfix/inspect", AF_UNIX,
		    "/var/spool/postfix/inspect", "", 0, 0 },
		{ "unix:relative.sock", AF_UNIX, "relative.sock", "", 0, 0 },
		{ "inet:10025", AF_INET, "", "", 0, 10025 },
		{ "inet:1", AF_INET, "", "", 0, 1 },
		{ "inet:65535", AF_INET, "", "", 0, 65535 },
		{ "inet:10025@localhost", AF_INET, "", "localhost", 0,
		    10025 },
		{ "inet:10025@mail-1_a.example.org", AF_INET, "",
		    "mail-1_a.example.org", 0, 10025 },
		{ "inet:10025@[192.0.2.1]", AF_INET, "", "192.0.2.1", 1,
		    10025 },
		{ "inet:10025@[0.0.0.0]", AF_INET, "", "0.0.0.0", 1, 10025 },
		{ "inet6:10025", AF_INET6, "", "", 0, 10025 },
		{ "inet6:10025@ip6-localhost", AF_INET6, "", "ip6-localhost",
		    0, 10025 },
		{ "inet6:10025@[2001:db8::1]", AF_INET6, "", "2001:db8::1", 1,
		    10025 },
		{ "inet6:10025@[::]", AF_INET6, "", "::", 1, 10025 },
		{ "inet6:10025@[::ffff:192.0.2.1]", AF_INET6, "",
		    "::ffff:192.0.2.1", 1, 10025 },
	};
	struct fixture	*f = *state;
	struct spec	 sp;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		memset(&sp, 0xa5, sizeof sp);
		err[0] = '\0';
		if (spec_parse(ok[i].spec, &sp, err, sizeof err) != 0)
			fail_msg("'%s' rejected: %s", ok[i].spec, err);
		assert_spec(&sp, ok[i].family, ok[i].path, ok[i].host,
		    ok[i].literal, ok[i].port);

		if (parse(f, "-s", ok[i].spec, NULL) != 0)
			fail_msg("-s '%s' rejected: %s", ok[i].spec, f->err);
		assert_string_equal(f->opts.spec, ok[i].spec);
		assert_spec(&f->opts.where, ok[i].family, ok[i].path,
		    ok[i].host, ok[i].literal, ok[i].port);
	}
}

static void
test_options_spec_service_name(void **state)
{
	struct fixture	*f = *state;

	/* A system without a services database cannot name ports. */
	if (getservbyname("smtp", "tcp") == NULL)
		skip();
	assert_int_equal(parse(f, "-s", "inet:smtp", NULL), 0);
	assert_spec(&f->opts.where, AF_INET, "", "", 0, 25);
	assert_int_equal(parse(f, "inet6:smtp@[::1]", NULL), 0);
	assert_spec(&f->opts.where, AF_INET6, "", "::1", 1, 25);
}

static void
test_options_spec_unix_path_length(void **state)
{
	struct fixture	*f = *state;
	char		 spec[5 + 300 + 1];

	/* sun_path holds 108 bytes with the NUL: 107 fit, 108 do not. */
	memcpy(spec, "unix:", 5);
	memset(spec + 5, 'p', 107);
	spec[5 + 107] = '\0';
	assert_int_equal(parse(f, "-s", spec, NULL), 0);
	assert_int_equal(strlen(f->opts.where.path), 107);
	assert_string_equal(f->opts.where.path, spec + 5);

	memset(spec + 5, 'p', 108);
	spec[5 + 108] = '\0';
	parse(f, "-s", spec, NULL);
	assert_rejected(f, spec);

	memset(spec + 5, 'p', 300);
	spec[5 + 300] = '\0';
	parse(f, "-s", spec, NULL);
	assert_rejected(f, spec);
}

static void
test_options_spec_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "-s", "tcp:25" }, "tcp" },
		{ { "-s", "INET7:25" }, "INET7" },
		{ { "-s", ":25" }, ":25" },
		{ { "-s", "10025" }, "10025" },
		{ { "-s", "/run/inspect.sock" }, "/run/inspect.sock" },
		{ { "-s", "inet:0" }, "inet:0" },
		{ { "-s", "inet6:0@[::1]" }, "inet6:0@[::1]" },
		{ { "-s", "inet:65536" }, "65536" },
		{ { "-s", "inet:99999999" }, "99999999" },
		{ { "-s", "inet:99999999999999999999999" },
		    "99999999999999999999999" },
		{ { "-s", "inet:3000abc" }, "3000abc" },
		{ { "-s", "inet:-1" }, "-1" },
		{ { "-s", "inet:+25" }, "+25" },
		{ { "-s", "inet: 25" }, "inet: 25" },
		{ { "-s", "inet:" }, "inet:" },
		{ { "-s", "inet6:" }, "inet6:" },
		{ { "-s", "inet:@localhost" }, "inet:@localhost" },
		{ { "-s", "unix:" }, "unix:" },
		{ { "-s", "local:" }, "local:" },
		{ { "-s", "inet:25@" }, "inet:25@" },
		{ { "-s", "inet6:25@" }, "inet6:25@" },
		{ { "-s", "inet:25@[127.0.0.1" }, "[127.0.0.1" },
		{ { "-s", "inet:25@[127.0.0.1]x" }, "[127.0.0.1]x" },
		{ { "-s", "inet:25@[]" }, "[]" },
		{ { "-s", "inet:25@[" }, "inet:25@[" },
		{ { "-s", "inet:25@[::1]" }, "::1" },
		{ { "-s", "inet:25@[2001:db8::1]" }, "2001:db8::1" },
		{ { "-s", "inet:25@[example.org]" }, "example.org" },
		{ { "-s", "inet:25@[192.0.2.256]" }, "192.0.2.256" },
		{ { "-s", "inet6:25@[127.0.0.1]" }, "127.0.0.1" },
		{ { "-s", "inet6:25@[2001:db8::g]" }, "2001:db8::g" },
		{ { "-s", "inet6:25@::1" }, "::1" },
		{ { "-s", "inet:25@bad host" }, "bad host" },
		{ { "-s", "inet:25@exa/mple" }, "exa/mple" },
		{ { "-s", "inet:25@a;rm" }, "a;rm" },
		{ { "-s", "inet:25@h\xc3\xa9te" }, "h\xc3\xa9te" },
		{ { "-s", "inet:nosuchservice" }, "nosuchservice" },
		{ { "-s", "inet6:nosuchservice@[::1]" }, "nosuchservice" },
		{ { "bogus:1" }, "bogus" },
	};
	struct fixture	*f = *state;
	struct spec	 sp;
	char		 err[512];
	size_t		 i;

	assert_rejects(f, r, sizeof r / sizeof r[0]);

	/* The same verdict, and reason, without the command line. */
	for (i = 0; i < sizeof r / sizeof r[0]; i++) {
		const char	*spec = r[i].args[1] != NULL ? r[i].args[1] :
				    r[i].args[0];

		err[0] = '\0';
		if (spec_parse(spec, &sp, err, sizeof err) != -1)
			fail_msg("'%s' accepted", spec);
		if (strstr(err, r[i].needle) == NULL)
			fail_msg("error \"%s\" does not name '%s'", err,
			    r[i].needle);
	}
}

/*
 * Postfix's spelling of a socket (inet:HOST:PORT, [ADDR] for an address)
 * and an IPv6 address without brackets are refused with libmilter's
 * spelling of the same socket.
 */
static void
test_options_spec_suggested(void **state)
{
	static const struct {
		const char	*spec;
		const char	*suggestion;
	} r[] = {
		{ "inet:localhost:3000", "inet:3000@localhost" },
		{ "inet:127.0.0.1:3000", "inet:3000@[127.0.0.1]" },
		{ "inet:[127.0.0.1]:3000", "inet:3000@[127.0.0.1]" },
		{ "inet:mail.example.org:10025",
		    "inet:10025@mail.example.org" },
		{ "inet:[::1]:3000", "inet6:3000@[::1]" },
		{ "inet6:[::1]:3000", "inet6:3000@[::1]" },
		{ "inet6:::1:3000", "inet6:3000@[::1]" },
		{ "inet6:ip6-localhost:3000", "inet6:3000@ip6-localhost" },
		{ "inet6:127.0.0.1:3000", "inet:3000@[127.0.0.1]" },
		{ "inet6:3000@::1", "inet6:3000@[::1]" },
		{ "inet6:3000@2001:db8::1", "inet6:3000@[2001:db8::1]" },
		{ "inet:3000@::1", "inet6:3000@[::1]" },
		{ "inet:25@[::1]", "inet6:25@[::1]" },
		{ "inet6:25@[127.0.0.1]", "inet:25@[127.0.0.1]" },
	};
	struct fixture	*f = *state;
	struct spec	 sp;
	char		 err[512], want[128];
	size_t		 i;

	for (i = 0; i < sizeof r / sizeof r[0]; i++) {
		snprintf(want, sizeof want, "did you mean %s?",
		    r[i].suggestion);
		parse(f, "-s", r[i].spec, NULL);
		assert_rejected(f, r[i].spec);
		assert_rejected(f, want);

		err[0] = '\0';
		if (spec_parse(r[i].spec, &sp, err, sizeof err) != -1)
			fail_msg("'%s' accepted", r[i].spec);
		if (strstr(err, want) == NULL)
			fail_msg("error \"%s\" does not say '%s'", err, want);
	}
}

/* What is not Postfix's spelling gets no suggestion. */
static void
test_options_spec_not_suggested(void **state)
{
	static const char *const r[] = {
		"inet:localhost:0", "inet:localhost:99999",
		"inet:localhost:nosuchservice", "inet:a;rm:3000",
		"inet::3000", "inet:localhost:", "inet6:3000@::g",
		"inet:3000@bad host", "inet:25@[example.org]",
	};
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof r / sizeof r[0]; i++) {
		parse(f, "-s", r[i], NULL);
		assert_rejected(f, r[i]);
		if (strstr(f->err, "did you mean") != NULL)
			fail_msg("'%s': \"%s\" suggests a spec", r[i], f->err);
	}
}

static void
test_options_spec_long_parts_rejected(void **state)
{
	struct fixture	*f = *state;
	char		 spec[5 + 300 + 1];

	/* A port of 70 digits, and a host name longer than DNS allows. */
	memcpy(spec, "inet:", 5);
	memset(spec + 5, '1', 70);
	spec[5 + 70] = '\0';
	parse(f, "-s", spec, NULL);
	assert_rejected(f, spec + 5);

	memcpy(spec, "inet:25@", 8);
	memset(spec + 8, 'h', 256);
	spec[8 + 256] = '\0';
	parse(f, "-s", spec, NULL);
	assert_rejected(f, spec);

	memcpy(spec, "inet:25@[", 9);
	memset(spec + 9, '1', 260);
	memcpy(spec + 9 + 260, "]", 2);
	parse(f, "-s", spec, NULL);
	assert_rejected(f, spec);
}

static void
test_options_format(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--format", "json", NULL), 0);
	assert_int_equal(f->opts.format, FORMAT_JSON);
	assert_int_equal(parse(f, "--format=json", NULL), 0);
	assert_int_equal(f->opts.format, FORMAT_JSON);
	assert_int_equal(parse(f, "--format", "json", "--format", "text",
	    NULL), 0);
	assert_int_equal(f->opts.format, FORMAT_TEXT);
	assert_int_equal(parse(f, "--format", "text", NULL), 0);
	assert_int_equal(f->opts.format, FORMAT_TEXT);
}

/* --show-macros and --macro-source: their words, and nothing else. */
static void
test_options_macro_display(void **state)
{
	static const struct reject r[] = {
		{ { "--show-macros", "every" }, "'every' is not sent, all or "
		    "none" },
		{ { "--show-macros=" }, "--show-macros" },
		{ { "--macro-source", "ctx" }, "'ctx' is not auto, context or "
		    "lookup" },
		{ { "--macro-source", "x\x1b[2J" }, "'x\\x1b[2J'" },
	};
	struct fixture	*f = *state;
	size_t		 i;

	assert_int_equal(parse(f, NULL), 0);
	assert_int_equal(f->opts.show_macros, SHOW_SENT);
	assert_int_equal(f->opts.macro_source, SOURCE_AUTO);
	assert_false(f->opts.macros_given);
	assert_int_equal(parse(f, "--show-macros", "all", "--macro-source",
	    "lookup", "--macros", "j", NULL), 0);
	assert_int_equal(f->opts.show_macros, SHOW_ALL);
	assert_int_equal(f->opts.macro_source, SOURCE_LOOKUP);
	assert_true(f->opts.macros_given);
	assert_int_equal(parse(f, "--show-macros=none", "--macro-source",
	    "context", NULL), 0);
	assert_int_equal(f->opts.show_macros, SHOW_NONE);
	assert_int_equal(f->opts.macro_source, SOURCE_CONTEXT);
	for (i = 0; i < sizeof r / sizeof r[0]; i++) {
		parse(f, r[i].args[0], r[i].args[1], NULL);
		assert_rejected(f, r[i].needle);
	}
}

static void
test_options_format_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--format", "xml" }, "xml" },
		{ { "--format=yaml" }, "yaml" },
		{ { "--format", "jsonl" }, "jsonl" },
		{ { "--format", "" }, "--format" },
		/* The user's bytes are escaped: one line, no raw ESC. */
		{ { "--format", "x\ny\x1b[2J" }, "'x\\ny\\x1b[2J'" },
		{ { "-s", "inet:25@a\x1b[2Jb" }, "'a\\x1b[2Jb'" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_color(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, NULL), 0);
	assert_int_equal(f->opts.color, COLOR_AUTO);
	assert_int_equal(parse(f, "--color", "always", NULL), 0);
	assert_int_equal(f->opts.color, COLOR_ALWAYS);
	assert_int_equal(parse(f, "--color=never", NULL), 0);
	assert_int_equal(f->opts.color, COLOR_NEVER);
	assert_int_equal(parse(f, "--color", "never", "--color", "auto",
	    NULL), 0);
	assert_int_equal(f->opts.color, COLOR_AUTO);
}

static void
test_options_color_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--color", "yes" }, "--color: 'yes' is not auto, always "
		    "or never" },
		{ { "--color", "" }, "--color: '' is not" },
		{ { "--color" }, "needs a value" },
		{ { "--color", "x\x1b[31m" }, "'x\\x1b[31m'" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

/* --color auto and the summary's default, by terminal and environment. */
static void
test_options_terminal(void **state)
{
	struct fixture	*f = *state;
	static const struct {
		const char	*args[2];
		int		 terminal;
		const char	*no_color;	/* NULL: unset */
		const char	*term;		/* NULL: unset */
		int		 colored;
		int		 summary;
	} t[] = {
		{ { NULL }, 1, NULL, "xterm-256color", 1, 1 },
		{ { NULL }, 1, NULL, NULL, 1, 1 },
		{ { NULL }, 0, NULL, "xterm", 0, 0 },
		{ { NULL }, 1, "1", "xterm", 0, 1 },
		/* no-color.org: set and empty is unset. */
		{ { NULL }, 1, "", "xterm", 1, 1 },
		{ { NULL }, 1, NULL, "dumb", 0, 1 },
		{ { "--color=always" }, 0, "1", "dumb", 1, 0 },
		{ { "--color=never" }, 1, NULL, "xterm", 0, 1 },
		{ { "--summary" }, 0, NULL, "xterm", 0, 1 },
		{ { "--no-summary" }, 1, NULL, "xterm", 1, 0 },
		{ { "--summary", "--no-summary" }, 1, NULL, "xterm", 1, 0 },
	};
	size_t		 i, n;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (n = 0; n < 2 && t[i].args[n] != NULL; n++)
			;
		if (t[i].no_color != NULL)
			setenv("NO_COLOR", t[i].no_color, 1);
		else
			unsetenv("NO_COLOR");
		if (t[i].term != NULL)
			setenv("TERM", t[i].term, 1);
		else
			unsetenv("TERM");
		assert_int_equal(parse_array(f, t[i].args, n), 0);
		options_terminal(&f->opts, t[i].terminal);
		if (f->opts.colored != t[i].colored ||
		    f->opts.summary != t[i].summary)
			fail_msg("case %zu: colored %d, summary %d; expected "
			    "%d, %d", i, f->opts.colored, f->opts.summary,
			    t[i].colored, t[i].summary);
	}
	unsetenv("NO_COLOR");
	unsetenv("TERM");
}

static void
test_options_stages(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, NULL), 0);
	assert_int_equal(f->opts.stages, OPTIONS_ALL_STAGES);
	assert_int_equal(f->opts.stages, 0x1fff);
	assert_int_equal(parse(f, "--stages", "envrcpt", NULL), 0);
	assert_int_equal(f->opts.stages, 1U << STAGE_ENVRCPT);
	assert_int_equal(parse(f, "--stages=envfrom,envrcpt,,eom,envrcpt",
	    NULL), 0);
	assert_int_equal(f->opts.stages, 1U << STAGE_ENVFROM |
	    1U << STAGE_ENVRCPT | 1U << STAGE_EOM);
	assert_int_equal(parse(f, "--stages", "negotiate, unknown", NULL),
	    0);
	assert_int_equal(f->opts.stages, 1U << STAGE_NEGOTIATE |
	    1U << STAGE_UNKNOWN);
	assert_int_equal(parse(f, "--stages", "helo", "--stages", "all",
	    NULL), 0);
	assert_int_equal(f->opts.stages, OPTIONS_ALL_STAGES);
	assert_int_equal(parse(f, "--stages", "none", NULL), 0);
	assert_int_equal(f->opts.stages, 0);
	/* Every one of the 13 names. */
	assert_int_equal(parse(f, "--stages", "negotiate,connect,helo,"
	    "envfrom,envrcpt,data,header,eoh,body,eom,abort,close,unknown",
	    NULL), 0);
	assert_int_equal(f->opts.stages, OPTIONS_ALL_STAGES);
}

/*
 * --record names the scripts' directory, checked at start-up rather
 * than here; with -q the events still pass through for the scripts, and
 * no stage and no summary is reported.
 */
static void
test_options_record(void **state)
{
	struct fixture	*f = *state;
	static const struct reject r[] = {
		{ { "--record", "" }, "--record" },
		{ { "--record" }, "needs a value" },
	};

	assert_int_equal(parse(f, NULL), 0);
	assert_null(f->opts.record);
	assert_int_equal(parse(f, "--record", "/var/lib/inspect", NULL), 0);
	assert_string_equal(f->opts.record, "/var/lib/inspect");
	assert_int_equal(f->opts.quiet, 0);
	assert_int_equal(f->opts.stages, OPTIONS_ALL_STAGES);
	assert_int_equal(parse(f, "-q", "--record=rec", NULL), 0);
	assert_string_equal(f->opts.record, "rec");
	assert_int_equal(f->opts.quiet, 0);
	assert_int_equal(f->opts.stages, 0);
	assert_int_equal(f->opts.summary, 0);
	assert_int_equal(parse(f, "--quiet", NULL), 0);
	assert_int_equal(f->opts.quiet, 1);
	assert_int_equal(f->opts.stages, OPTIONS_ALL_STAGES);
	/* A daemon with -q needs no --output, recording or not. */
	assert_int_equal(parse(f, "--daemon", "-q", "--record", "/r", NULL),
	    0);
	assert_rejects(f, r, sizeof r / sizeof r[0]);
}

static void
test_options_stages_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--stages", "rpct" }, "--stages: 'rpct' is not a stage "
		    "(negotiate, connect, helo, envfrom, envrcpt, data, "
		    "header, eoh, body, eom, abort, close, unknown, all or "
		    "none; mail for envfrom, rcpt for envrcpt; -STAGE leaves "
		    "one out)" },
		{ { "--stages", "envrcpt,bogus,eom" }, "'bogus' is not a "
		    "stage" },
		{ { "--stages", "all,-bogus" }, "'-bogus' is not a stage" },
		{ { "--stages", "-all" }, "'-all' is not a stage" },
		{ { "--stages", "-none" }, "'-none' is not a stage" },
		{ { "--stages", "-" }, "'-' is not a stage" },
		{ { "--stages", "envrcpt-" }, "'envrcpt-' is not a stage" },
		{ { "--stages", "summary" }, "'summary' is not a stage" },
		{ { "--stages", "" }, "--stages: no stage names in ''" },
		{ { "--stages", ",," }, "--stages: no stage names in ',,'" },
		{ { "--stages" }, "needs a value" },
		{ { "--stages", "eom,\x1b[2J" }, "'\\x1b[2J'" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

/*
 * all with a stage is all, not refused with a message that lists all;
 * stages can be left out; mail and rcpt, and any case, are taken.
 */
static void
test_options_stages_more(void **state)
{
	static const struct {
		const char	*list;
		unsigned int	 stages;
	} ok[] = {
		{ "all,body", OPTIONS_ALL_STAGES },
		{ "envrcpt,all", OPTIONS_ALL_STAGES },
		{ "all,-body", OPTIONS_ALL_STAGES & ~(1U << STAGE_BODY) },
		{ "-body,-header", OPTIONS_ALL_STAGES &
		    ~(1U << STAGE_BODY | 1U << STAGE_HEADER) },
		{ "-body -header", OPTIONS_ALL_STAGES &
		    ~(1U << STAGE_BODY | 1U << STAGE_HEADER) },
		{ "mail,rcpt", 1U << STAGE_ENVFROM | 1U << STAGE_ENVRCPT },
		{ "-rcpt", OPTIONS_ALL_STAGES & ~(1U << STAGE_ENVRCPT) },
		{ "ENVRCPT,Eom", 1U << STAGE_ENVRCPT | 1U << STAGE_EOM },
		{ "ALL,-Body", OPTIONS_ALL_STAGES & ~(1U << STAGE_BODY) },
		{ "NONE", 0 },
		{ "none,helo", 1U << STAGE_HELO },
		{ "helo,-helo", 0 },
		{ "envrcpt,-body", 1U << STAGE_ENVRCPT },
	};
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (parse(f, "--stages", ok[i].list, NULL) != 0)
			fail_msg("--stages %s rejected: %s", ok[i].list,
			    f->err);
		if (f->opts.stages != ok[i].stages)
			fail_msg("--stages %s: 0x%x, expected 0x%x",
			    ok[i].list, f->opts.stages, ok[i].stages);
	}
}

static void
test_options_output(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--output", "/var/log/inspect.log", NULL),
	    0);
	assert_int_equal(f->opts.noutputs, 1);
	assert_string_equal(f->opts.outputs[0], "/var/log/inspect.log");

	assert_int_equal(parse(f, "--output", "-", "--output=/tmp/b", NULL),
	    0);
	assert_int_equal(f->opts.noutputs, 2);
	assert_string_equal(f->opts.outputs[0], "-");
	assert_string_equal(f->opts.outputs[1], "/tmp/b");
}

static void
test_options_output_max(void **state)
{
	struct fixture	*f = *state;
	const char	*args[2 * (OPTIONS_MAX_OUTPUTS + 1)];
	char		 paths[OPTIONS_MAX_OUTPUTS + 1][32];
	size_t		 i;

	for (i = 0; i <= OPTIONS_MAX_OUTPUTS; i++) {
		snprintf(paths[i], sizeof paths[i], "/tmp/out%zu", i);
		args[2 * i] = "--output";
		args[2 * i + 1] = paths[i];
	}
	assert_int_equal(parse_array(f, args, 2 * OPTIONS_MAX_OUTPUTS), 0);
	assert_int_equal(f->opts.noutputs, OPTIONS_MAX_OUTPUTS);
	for (i = 0; i < OPTIONS_MAX_OUTPUTS; i++)
		assert_string_equal(f->opts.outputs[i], paths[i]);

	parse_array(f, args, 2 * (OPTIONS_MAX_OUTPUTS + 1));
	assert_rejected(f, paths[OPTIONS_MAX_OUTPUTS]);
}

static void
test_options_output_empty_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--output", "" }, "--output" },
		{ { "--output=" }, "--output" },
		{ { "--output", "-", "--output", "" }, "--output" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_macros_replace(void **state)
{
	static const char *const one[] = { "i", NULL };
	static const char *const two[] = { "{auth_type}", "j", NULL };
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--macros", "i", NULL), 0);
	assert_macros(f, one);
	assert_int_equal(parse(f, "--macros={auth_type},j", NULL), 0);
	assert_macros(f, two);
	/* The last list wins. */
	assert_int_equal(parse(f, "--macros", "x,y", "--macros", "i", NULL),
	    0);
	assert_macros(f, one);
}

static void
test_options_macros_add(void **state)
{
	static const char *const want[] = { "i", "{my_macro}", "j", NULL };
	struct fixture	*f = *state;
	size_t		 n = default_count();

	assert_int_equal(parse(f, "--macros", "+{my_macro}", NULL), 0);
	assert_int_equal(f->opts.nmacros, n + 1);
	assert_string_equal(f->opts.macros[n], "{my_macro}");
	assert_string_equal(f->opts.macros[0], options_default_macros[0]);
	assert_string_equal(f->opts.macros[n - 1],
	    options_default_macros[n - 1]);

	assert_int_equal(parse(f, "--macros", "+{xa} {xb}", "--macros",
	    "+{xc}", NULL), 0);
	assert_int_equal(f->opts.nmacros, n + 3);
	assert_string_equal(f->opts.macros[n], "{xa}");
	assert_string_equal(f->opts.macros[n + 1], "{xb}");
	assert_string_equal(f->opts.macros[n + 2], "{xc}");

	/* Adding to a replaced list adds to that one. */
	assert_int_equal(parse(f, "--macros", "i", "--macros", "+{my_macro},j",
	    NULL), 0);
	assert_macros(f, want);
}

static void
test_options_macros_separators(void **state)
{
	static const char *const want[] = {
		"i", "{auth_type}", "{mail_addr}", "j", "_", "{rcpt_addr}",
		NULL
	};
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--macros",
	    "i,{auth_type} {mail_addr}\tj\n_", "--macros", "+{rcpt_addr}",
	    NULL), 0);
	assert_macros(f, want);

	/* Runs of separators, and separators at either end, are one. */
	assert_int_equal(parse(f, "--macros",
	    " ,i,, {auth_type} ,\t{mail_addr}\n\n j , _ ,",
	    "--macros", "+,{rcpt_addr},", NULL), 0);
	assert_macros(f, want);
}

static void
test_options_macros_duplicates(void **state)
{
	static const char *const want[] = { "i", "{auth_type}", "j", NULL };
	struct fixture	*f = *state;
	size_t		 n = default_count();

	assert_int_equal(parse(f, "--macros",
	    "i i,{auth_type},i {auth_type} j,j", NULL), 0);
	assert_macros(f, want);

	/* Adding what is already there changes nothing. */
	assert_int_equal(parse(f, "--macros", "+i,{auth_type},{daemon_name}",
	    NULL), 0);
	assert_int_equal(f->opts.nmacros, n);
	assert_macros(f, options_default_macros);
}

static void
test_options_macros_names_accepted(void **state)
{
	static const char *const want[] = {
		"i", "_", "#", "{i}", "{client_addr}", "client_addr",
		"{Tls_Version2}", "x9", NULL
	};
	struct fixture	*f = *state;

	/* Postfix sends bare words for lists in main.cf without braces. */
	assert_int_equal(parse(f, "--macros",
	    "i _ # {i} {client_addr} client_addr {Tls_Version2} x9", NULL), 0);
	assert_macros(f, want);
}

static void
test_options_macros_bad_names(void **state)
{
	static const struct reject r[] = {
		{ { "--macros", "{x" }, "{x" },
		{ { "--macros", "x}" }, "x}" },
		{ { "--macros", "{}" }, "{}" },
		{ { "--macros", "{" }, "{" },
		{ { "--macros", "}" }, "}" },
		{ { "--macros", "{a-b}" }, "{a-b}" },
		{ { "--macros", "a-b" }, "a-b" },
		{ { "--macros", "{{a}}" }, "{{a}}" },
		{ { "--macros", "{a}b" }, "{a}b" },
		{ { "--macros", "{a.b}" }, "{a.b}" },
		{ { "--macros", "{a;b}" }, "{a;b}" },
		{ { "--macros", "\x01" }, "'\\x01'" },
		{ { "--macros", "\xc3\xa9" }, "\xc3\xa9" },
		{ { "--macros", "i,{x,j" }, "{x" },
		{ { "--macros", "+{bad" }, "{bad" },
		{ { "--macros", "i", "--macros", "+j {oops" }, "{oops" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_macros_empty_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--macros", "" }, "--macros" },
		{ { "--macros=" }, "--macros" },
		{ { "--macros", "," }, "," },
		{ { "--macros", " ,\t, " }, "' ,\\t, '" },
		{ { "--macros", "+" }, "'+'" },
		{ { "--macros", "+ , " }, "'+ , '" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_request_macros(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--request-macros", NULL), 0);
	assert_flags(f, 1, 0, 0, 0, 0);
	assert_macros(f, options_default_macros);
	assert_int_equal(f->opts.request_limit, 50);
}

/* Sendmail's 50 names a stage by default; none lifts the limit. */
static void
test_options_request_limit(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, NULL), 0);
	assert_int_equal(f->opts.request_limit, OPTIONS_REQUEST_LIMIT);
	assert_int_equal(OPTIONS_REQUEST_LIMIT, 50);
	assert_int_equal(parse(f, "--request-macros",
	    "--request-macros-limit", "none", NULL), 0);
	assert_int_equal(f->opts.request_limit, 0);
	assert_int_equal(parse(f, "--request-macros-limit=1",
	    "--request-macros", NULL), 0);
	assert_int_equal(f->opts.request_limit, 1);
	assert_int_equal(parse(f, "--request-macros",
	    "--request-macros-limit", "100", "--request-macros-limit", "60",
	    NULL), 0);
	assert_int_equal(f->opts.request_limit, 60);
}

static void
test_options_request_limit_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--request-macros", "--request-macros-limit", "0" },
		    "'0'" },
		{ { "--request-macros", "--request-macros-limit", "-1" },
		    "'-1'" },
		{ { "--request-macros", "--request-macros-limit", "50x" },
		    "'50x'" },
		{ { "--request-macros", "--request-macros-limit", "None" },
		    "'None'" },
		{ { "--request-macros", "--request-macros-limit=" }, "''" },
		{ { "--request-macros", "--request-macros-limit",
		    "99999999999999999999999" }, "'99999999999999999999999'" },
		{ { "--request-macros", "--request-macros-limit" },
		    "'--request-macros-limit'" },
		{ { "--request-macros-limit", "none" },
		    "--request-macros-limit" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_quiet(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "-q", NULL), 0);
	assert_flags(f, 0, 1, 0, 0, 0);
	assert_int_equal(parse(f, "--quiet", NULL), 0);
	assert_flags(f, 0, 1, 0, 0, 0);
}

static void
test_options_verbose(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "-v", NULL), 0);
	assert_flags(f, 0, 0, 1, 0, 0);
	assert_int_equal(parse(f, "--verbose", NULL), 0);
	assert_flags(f, 0, 0, 1, 0, 0);
	/* Short options bundle, as everywhere else. */
	assert_int_equal(parse(f, "-qv", NULL), 0);
	assert_flags(f, 0, 1, 1, 0, 0);
}

static void
test_options_timeout(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--timeout", "1", NULL), 0);
	assert_int_equal(f->opts.timeout, 1);
	assert_int_equal(parse(f, "--timeout=60", NULL), 0);
	assert_int_equal(f->opts.timeout, 60);
	assert_int_equal(parse(f, "--timeout", "2147483", NULL), 0);
	assert_int_equal(f->opts.timeout, 2147483);
	assert_int_equal(f->opts.timeout, OPTIONS_MAX_TIMEOUT);
}

static void
test_options_timeout_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--timeout", "0" }, "'0'" },
		{ { "--timeout", "-1" }, "-1" },
		{ { "--timeout", "2147484" }, "2147484" },
		{ { "--timeout", "4294967297" }, "4294967297" },
		{ { "--timeout", "99999999999999999999999" },
		    "99999999999999999999999" },
		{ { "--timeout", "abc" }, "abc" },
		{ { "--timeout", "10s" }, "10s" },
		{ { "--timeout", "+5" }, "+5" },
		{ { "--timeout", " 5" }, " 5" },
		{ { "--timeout", "" }, "--timeout" },
		{ { "--timeout=1.5" }, "1.5" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_help(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "-h", NULL), 0);
	assert_flags(f, 0, 0, 0, 1, 0);
	assert_int_equal(parse(f, "--help", NULL), 0);
	assert_flags(f, 0, 0, 0, 1, 0);
}

static void
test_options_version(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--version", NULL), 0);
	assert_flags(f, 0, 0, 0, 0, 1);
}

static void
test_options_unknown_option(void **state)
{
	static const struct reject r[] = {
		{ { "--bogus" }, "--bogus" },
		{ { "--bogus=1" }, "--bogus" },
		{ { "--quiet", "--nope" }, "--nope" },
		{ { "-x" }, "-x" },
		{ { "-V" }, "-V" },
		{ { "-qx" }, "-x" },
		/* An unknown letter before others, after a long option. */
		{ { "--quiet", "-xv" }, "'-x'" },
		/* Ambiguous between --verbose and --version. */
		{ { "--ver" }, "--ver" },
		/* Each points to the way out. */
		{ { "--x" }, "unknown option '--x'; see inspect --help" },
		{ { "-x" }, "unknown option '-x'; see inspect --help" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_missing_value(void **state)
{
	static const struct reject r[] = {
		{ { "-s" }, "-s" },
		{ { "--connection-spec" }, "--connection-spec" },
		{ { "--format" }, "--format" },
		{ { "--output" }, "--output" },
		{ { "--macros" }, "--macros" },
		{ { "--timeout" }, "--timeout" },
		{ { "-q", "--timeout" }, "--timeout" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_flag_with_value_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--quiet=3" }, "--quiet=3" },
		{ { "--verbose=yes" }, "--verbose=yes" },
		{ { "--help=1" }, "--help=1" },
		{ { "--version=2" }, "--version=2" },
		{ { "--request-macros=1" }, "--request-macros=1" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_all_together(void **state)
{
	static const char *const want[] = { "i", "{auth_type}", NULL };
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "-qv", "--format", "json", "--output", "a",
	    "--output=b", "--macros", "i,{auth_type}", "--request-macros",
	    "--timeout", "30", "unix:/run/inspect.sock", NULL), 0);
	assert_string_equal(f->opts.spec, "unix:/run/inspect.sock");
	assert_spec(&f->opts.where, AF_UNIX, "/run/inspect.sock", "", 0, 0);
	assert_int_equal(f->opts.format, FORMAT_JSON);
	assert_int_equal(f->opts.noutputs, 2);
	assert_string_equal(f->opts.outputs[0], "a");
	assert_string_equal(f->opts.outputs[1], "b");
	assert_macros(f, want);
	assert_flags(f, 1, 1, 1, 0, 0);
	assert_int_equal(f->opts.timeout, 30);
}

/* What a plain command line leaves of the service options. */
static void
test_options_service_defaults(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, NULL), 0);
	assert_int_equal(f->opts.daemon, 0);
	assert_null(f->opts.pid_file);
	assert_null(f->opts.user);
	assert_null(f->opts.group);
	assert_null(f->opts.socket_group);
	assert_int_equal(f->opts.socket_mode, 0660);
	assert_int_equal(f->opts.socket_mode_set, 0);
	assert_int_equal(f->opts.log_levels, LEVEL_CRITICAL | LEVEL_ERROR |
	    LEVEL_WARNING | LEVEL_MESSAGE);
	assert_null(f->opts.log_path);
	assert_int_equal(f->opts.syslog, 0);
	assert_int_equal(f->opts.syslog_facility, LOG_MAIL);
	assert_int_equal(f->opts.workers, 0);
	assert_int_equal(f->opts.report_memory, 0);
	assert_int_equal(f->opts.backlog, 0);
	assert_null(f->opts.event_loop_backend);
	assert_null(f->opts.packet_buffer_size);
	assert_null(f->opts.max_pending);
}

static void
test_options_daemon(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--daemon", "--output", "/var/log/r",
	    NULL), 0);
	assert_int_equal(f->opts.daemon, 1);
	/* -q needs no report file. */
	assert_int_equal(parse(f, "--daemon", "-q", NULL), 0);
	assert_int_equal(f->opts.daemon, 1);
	/* The last one given wins, as in milter-test-client. */
	assert_int_equal(parse(f, "--daemon", "--no-daemon", NULL), 0);
	assert_int_equal(f->opts.daemon, 0);
	assert_int_equal(parse(f, "--no-daemon", "--daemon", "-q", NULL), 0);
	assert_int_equal(f->opts.daemon, 1);
	assert_int_equal(parse(f, "--no-daemon", NULL), 0);
	assert_int_equal(f->opts.daemon, 0);
}

/* Once detached, standard output and error are /dev/null. */
static void
test_options_daemon_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--daemon" }, "--output" },
		{ { "--daemon", "--output", "-" }, "--output -" },
		{ { "--daemon", "--output=/r", "--output", "-" },
		    "--output -" },
		{ { "--daemon", "-q", "--log-path", "-" }, "--log-path -" },
		{ { "--daemon=1" }, "--daemon=1" },
		{ { "--no-daemon=1" }, "--no-daemon=1" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_pid_file(void **state)
{
	static const struct reject r[] = {
		{ { "--pid-file", "" }, "--pid-file" },
		{ { "--pid-file=" }, "--pid-file" },
		{ { "--pid-file" }, "--pid-file" },
	};
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--pid-file", "/run/inspect.pid", NULL), 0);
	assert_string_equal(f->opts.pid_file, "/run/inspect.pid");
	assert_int_equal(parse(f, "--pid-file=rel.pid", NULL), 0);
	assert_string_equal(f->opts.pid_file, "rel.pid");
	assert_rejects(f, r, sizeof r / sizeof r[0]);
}

/* Each way of naming the user or group says how it is looked up. */
static void
test_options_user_group(void **state)
{
	static const struct {
		const char	*option;
		const char	*value;
		int		 user;	/* else group */
		int		 kind;
	} ok[] = {
		{ "-u", "nobody", 1, ID_NAME_OR_NUMBER },
		{ "--user", "65534", 1, ID_NAME_OR_NUMBER },
		{ "--user-name", "nobody", 1, ID_NAME },
		{ "--user-id", "65534", 1, ID_NUMBER },
		{ "-g", "nogroup", 0, ID_NAME_OR_NUMBER },
		{ "--group", "105", 0, ID_NAME_OR_NUMBER },
		{ "--group-name", "postfix", 0, ID_NAME },
		{ "--group-id", "105", 0, ID_NUMBER },
	};
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (parse(f, ok[i].option, ok[i].value, NULL) != 0)
			fail_msg("%s %s rejected: %s", ok[i].option,
			    ok[i].value, f->err);
		if (ok[i].user) {
			assert_string_equal(f->opts.user, ok[i].value);
			assert_int_equal(f->opts.user_kind, ok[i].kind);
			assert_null(f->opts.group);
		} else {
			assert_string_equal(f->opts.group, ok[i].value);
			assert_int_equal(f->opts.group_kind, ok[i].kind);
			assert_null(f->opts.user);
		}
	}
	/* The last one given wins, kind and all. */
	assert_int_equal(parse(f, "--user-id", "0", "-u", "nobody", "-g", "0",
	    "--group-name", "postfix", NULL), 0);
	assert_string_equal(f->opts.user, "nobody");
	assert_int_equal(f->opts.user_kind, ID_NAME_OR_NUMBER);
	assert_string_equal(f->opts.group, "postfix");
	assert_int_equal(f->opts.group_kind, ID_NAME);
	/* Names are looked up when inspect starts, not here. */
	assert_int_equal(parse(f, "-u", "no-such-user-here", NULL), 0);
}

/* An id beyond the largest is a usage error that names option and value. */
static void
test_options_id_out_of_range(void **state)
{
	static const struct reject r[] = {
		{ { "-u", "4294967296" }, "-u: user id 4294967296 is out of "
		    "range (the largest is 4294967294)" },
		{ { "--user", "4294967295" }, "--user: user id 4294967295" },
		{ { "--user-id", "99999999999999999999" }, "--user-id: user id "
		    "99999999999999999999 is out of range" },
		{ { "-g", "4294967296" }, "-g: group id 4294967296" },
		{ { "--group", "4294967296" }, "--group: group id 4294967296" },
		{ { "--group-id", "4294967296" }, "--group-id: group id "
		    "4294967296" },
		{ { "--unix-socket-group", "4294967296" },
		    "--unix-socket-group: group id 4294967296" },
	};
	struct fixture	*f = *state;

	assert_rejects(f, r, sizeof r / sizeof r[0]);
	/* The largest is taken, and a name is a name. */
	assert_int_equal(parse(f, "--user-id", "4294967294", NULL), 0);
	assert_int_equal(parse(f, "--group-name", "4294967296", NULL), 0);
}

/* An empty user or group is refused, and the error names the option. */
static void
test_options_user_empty_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--user=" }, "--user" },
		{ { "-u", "" }, "-u" },
		{ { "--user", "" }, "--user" },
		{ { "--user-name", "" }, "--user-name" },
		{ { "--user-id", "" }, "--user-id" },
		{ { "-u" }, "-u" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_group_empty_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--group=" }, "--group" },
		{ { "-g", "" }, "-g" },
		{ { "--group", "" }, "--group" },
		{ { "--group-name", "" }, "--group-name" },
		{ { "--group-id", "" }, "--group-id" },
		{ { "-g" }, "-g" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_socket_group_mode(void **state)
{
	static const struct {
		const char	*mode;
		unsigned int	 value;
	} ok[] = {
		{ "0660", 0660 }, { "660", 0660 }, { "0", 0 }, { "0777", 0777 },
		{ "600", 0600 }, { "00640", 0640 },
	};
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (parse(f, "-s", "unix:/run/i.sock", "--unix-socket-mode",
		    ok[i].mode, NULL) != 0)
			fail_msg("--unix-socket-mode %s rejected: %s",
			    ok[i].mode, f->err);
		assert_int_equal(f->opts.socket_mode, ok[i].value);
		assert_int_equal(f->opts.socket_mode_set, 1);
	}
	assert_int_equal(parse(f, "--unix-socket-group", "postfix",
	    "unix:/run/i.sock", NULL), 0);
	assert_string_equal(f->opts.socket_group, "postfix");
	assert_int_equal(f->opts.socket_mode, 0660);
	assert_int_equal(f->opts.socket_mode_set, 0);
	assert_int_equal(parse(f, "--unix-socket-group=105",
	    "local:/run/i.sock", NULL), 0);
	assert_string_equal(f->opts.socket_group, "105");
}

static void
test_options_socket_mode_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--unix-socket-mode", "0778", "unix:/s" }, "'0778'" },
		{ { "--unix-socket-mode", "8", "unix:/s" }, "'8'" },
		{ { "--unix-socket-mode", "01000", "unix:/s" }, "'01000'" },
		{ { "--unix-socket-mode", "-1", "unix:/s" }, "'-1'" },
		{ { "--unix-socket-mode", "abc", "unix:/s" }, "'abc'" },
		{ { "--unix-socket-mode", "", "unix:/s" },
		    "--unix-socket-mode: ''" },
		{ { "--unix-socket-mode", "0o660", "unix:/s" }, "'0o660'" },
		{ { "--unix-socket-mode", "+660", "unix:/s" }, "'+660'" },
		{ { "--unix-socket-mode", "660 ", "unix:/s" }, "'660 '" },
		{ { "--unix-socket-group", "", "unix:/s" },
		    "--unix-socket-group" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

/* The unix socket's owner and mode mean nothing for inet. */
static void
test_options_socket_options_need_unix(void **state)
{
	static const struct reject r[] = {
		{ { "--unix-socket-mode", "0600", "-s", "inet:2525" },
		    "inet:2525" },
		{ { "--unix-socket-mode", "0660", "inet6:2525@[::1]" },
		    "inet6:2525@[::1]" },
		{ { "--unix-socket-group", "postfix", "-s", "inet:2525" },
		    "inet:2525" },
		/* The default spec is inet too. */
		{ { "--unix-socket-group", "postfix" },
		    "inet:10025@[127.0.0.1]" },
		{ { "--unix-socket-mode", "0600" }, "--unix-socket-mode" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

static void
test_options_log_level(void **state)
{
	static const struct {
		const char	*levels;
		unsigned int	 mask;
	} ok[] = {
		{ "critical", LEVEL_CRITICAL },
		{ "error", LEVEL_ERROR },
		{ "warning", LEVEL_WARNING },
		{ "message", LEVEL_MESSAGE },
		{ "info", LEVEL_INFO },
		{ "debug", LEVEL_DEBUG },
		{ "statistics", LEVEL_STATISTICS },
		{ "profile", LEVEL_PROFILE },
		{ "all", LEVEL_ALL },
		{ "default", LEVEL_CRITICAL | LEVEL_ERROR | LEVEL_WARNING |
		    LEVEL_MESSAGE },
		{ "none", 0 },
		{ "error|warning|message", LEVEL_ERROR | LEVEL_WARNING |
		    LEVEL_MESSAGE },
		{ "default|info", LEVEL_CRITICAL | LEVEL_ERROR |
		    LEVEL_WARNING | LEVEL_MESSAGE | LEVEL_INFO },
		{ "none|debug", LEVEL_DEBUG },
		{ "info|info", LEVEL_INFO },
	};
	struct fixture	*f = *state;
	unsigned int	 mask;
	size_t		 i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (parse(f, "--log-level", ok[i].levels, NULL) != 0)
			fail_msg("--log-level %s rejected: %s", ok[i].levels,
			    f->err);
		if (f->opts.log_levels != ok[i].mask)
			fail_msg("--log-level %s: 0x%x, expected 0x%x",
			    ok[i].levels, f->opts.log_levels, ok[i].mask);
	}
	/* The last one given wins. */
	assert_int_equal(parse(f, "--log-level", "all", "--log-level=error",
	    NULL), 0);
	assert_int_equal(f->opts.log_levels, LEVEL_ERROR);
	/* "default" is what inspect logs when not told: start and stop too. */
	assert_int_equal(parse(f, NULL), 0);
	mask = f->opts.log_levels;
	assert_int_equal(parse(f, "--log-level", "default", NULL), 0);
	assert_int_equal(f->opts.log_levels, mask);
	assert_true(mask & LEVEL_MESSAGE);
}

static void
test_options_log_level_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--log-level", "foo" }, "'foo'" },
		{ { "--log-level", "error|foo" }, "'foo' in 'error|foo'" },
		{ { "--log-level", "" }, "--log-level: unknown level ''" },
		{ { "--log-level", "error|" }, "'error|'" },
		{ { "--log-level", "|error" }, "'|error'" },
		{ { "--log-level", "ERROR" }, "'ERROR'" },
		{ { "--log-level", "error,warning" }, "'error,warning'" },
		{ { "--log-level" }, "--log-level" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

/* -v and --report-memory-profile add to whatever levels were given. */
static void
test_options_log_level_verbose_profile(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "-v", NULL), 0);
	assert_int_equal(f->opts.log_levels, LEVEL_ALL);
	assert_int_equal(parse(f, "--log-level", "error", "-v", NULL), 0);
	assert_int_equal(f->opts.log_levels, LEVEL_ALL);
	assert_int_equal(parse(f, "--verbose", "--log-level", "none", NULL),
	    0);
	assert_int_equal(f->opts.log_levels, LEVEL_ALL);

	assert_int_equal(parse(f, "--report-memory-profile", NULL), 0);
	assert_int_equal(f->opts.report_memory, 1);
	assert_int_equal(f->opts.log_levels, LEVEL_CRITICAL | LEVEL_ERROR |
	    LEVEL_WARNING | LEVEL_MESSAGE | LEVEL_PROFILE);
	assert_int_equal(parse(f, "--report-memory-profile", "--log-level",
	    "none", NULL), 0);
	assert_int_equal(f->opts.log_levels, LEVEL_PROFILE);
	assert_int_equal(parse(f, "--log-level", "error",
	    "--report-memory-profile", NULL), 0);
	assert_int_equal(f->opts.log_levels, LEVEL_ERROR | LEVEL_PROFILE);
}

static void
test_options_log_path(void **state)
{
	static const struct reject r[] = {
		{ { "--log-path", "" }, "--log-path" },
		{ { "--log-path=" }, "--log-path" },
	};
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--log-path", "/var/log/inspect.log", NULL),
	    0);
	assert_string_equal(f->opts.log_path, "/var/log/inspect.log");
	assert_int_equal(parse(f, "--log-path", "-", NULL), 0);
	assert_string_equal(f->opts.log_path, "-");
	assert_rejects(f, r, sizeof r / sizeof r[0]);
}

static void
test_options_syslog(void **state)
{
	static const struct {
		const char	*name;
		int		 facility;
	} ok[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
		{ "user", LOG_USER }, { "local0", LOG_LOCAL0 },
		{ "local3", LOG_LOCAL3 }, { "local7", LOG_LOCAL7 },
		{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
	};
	static const struct reject r[] = {
		{ { "--syslog-facility", "foo" }, "'foo'" },
		{ { "--syslog-facility", "MAIL" }, "'MAIL'" },
		{ { "--syslog-facility", "local8" }, "'local8'" },
		{ { "--syslog-facility", "" }, "--syslog-facility" },
		{ { "--syslog=1" }, "--syslog=1" },
	};
	struct fixture	*f = *state;
	size_t		 i;

	assert_int_equal(parse(f, "--syslog", NULL), 0);
	assert_int_equal(f->opts.syslog, 1);
	assert_int_equal(f->opts.syslog_facility, LOG_MAIL);
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (parse(f, "--syslog-facility", ok[i].name, NULL) != 0)
			fail_msg("--syslog-facility %s rejected: %s",
			    ok[i].name, f->err);
		assert_int_equal(f->opts.syslog_facility, ok[i].facility);
	}
	assert_rejects(f, r, sizeof r / sizeof r[0]);
}

static void
test_options_workers(void **state)
{
	static const struct reject r[] = {
		{ { "--n-workers", "1001" }, "'1001'" },
		{ { "--n-workers", "-1" }, "'-1'" },
		{ { "--n-workers", "x" }, "'x'" },
		{ { "--n-workers", "" }, "--n-workers" },
		{ { "--n-workers", "2x" }, "'2x'" },
		{ { "--n-workers", "99999999999999999999" },
		    "'99999999999999999999'" },
	};
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--n-workers", "0", NULL), 0);
	assert_int_equal(f->opts.workers, 0);
	assert_int_equal(parse(f, "--n-workers", "1", NULL), 0);
	assert_int_equal(f->opts.workers, 1);
	assert_int_equal(parse(f, "--n-workers=1000", NULL), 0);
	assert_int_equal(f->opts.workers, 1000);
	assert_int_equal(f->opts.workers, OPTIONS_MAX_WORKERS);
	assert_rejects(f, r, sizeof r / sizeof r[0]);
}

static void
test_options_backlog(void **state)
{
	static const struct reject r[] = {
		{ { "--backlog", "0" }, "'0'" },
		{ { "--backlog", "65536" }, "'65536'" },
		{ { "--backlog", "-1" }, "'-1'" },
		{ { "--backlog", "many" }, "'many'" },
		{ { "--backlog", "" }, "--backlog" },
	};
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--backlog", "1", NULL), 0);
	assert_int_equal(f->opts.backlog, 1);
	assert_int_equal(parse(f, "--backlog=65535", NULL), 0);
	assert_int_equal(f->opts.backlog, 65535);
	assert_int_equal(parse(f, "--backlog", "128", NULL), 0);
	assert_int_equal(f->opts.backlog, 128);
	assert_rejects(f, r, sizeof r / sizeof r[0]);
}

/* Kept for milter-test-client's command lines: checked, then unused. */
static void
test_options_compat(void **state)
{
	static const struct reject r[] = {
		{ { "--event-loop-backend", "foo" }, "'foo'" },
		{ { "--event-loop-backend", "" }, "--event-loop-backend" },
		{ { "--packet-buffer-size", "-1" }, "'-1'" },
		{ { "--packet-buffer-size", "x" }, "'x'" },
		{ { "--max-pending-finished-sessions", "x" }, "'x'" },
		{ { "--max-pending-finished-sessions", "-1" }, "'-1'" },
		{ { "--no-report-request=1" }, "--no-report-request=1" },
	};
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--event-loop-backend", "glib", NULL), 0);
	assert_string_equal(f->opts.event_loop_backend, "glib");
	assert_int_equal(parse(f, "--event-loop-backend=libev", NULL), 0);
	assert_string_equal(f->opts.event_loop_backend, "libev");
	assert_int_equal(parse(f, "--packet-buffer-size", "4096", NULL), 0);
	assert_string_equal(f->opts.packet_buffer_size, "4096");
	assert_int_equal(parse(f, "--packet-buffer-size", "0", NULL), 0);
	assert_string_equal(f->opts.packet_buffer_size, "0");
	assert_int_equal(parse(f, "--max-pending-finished-sessions", "10",
	    NULL), 0);
	assert_string_equal(f->opts.max_pending, "10");
	/* milter-test-client's spelling of -q. */
	assert_int_equal(parse(f, "--no-report-request", NULL), 0);
	assert_int_equal(f->opts.quiet, 1);
	assert_rejects(f, r, sizeof r / sizeof r[0]);
}

/* A service's whole command line, as a unit file would give it. */
static void
test_options_service_together(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--daemon", "--pid-file", "/run/i.pid",
	    "-u", "nobody", "-g", "postfix", "--unix-socket-group", "postfix",
	    "--unix-socket-mode", "0640", "--n-workers", "4", "--log-level",
	    "error|warning", "--log-path", "/var/log/i.log", "--syslog",
	    "--syslog-facility", "local3", "--report-memory-profile",
	    "--backlog", "64", "--output", "/var/log/i.report",
	    "unix:/run/inspect/i.sock", NULL), 0);
	assert_int_equal(f->opts.daemon, 1);
	assert_string_equal(f->opts.pid_file, "/run/i.pid");
	assert_string_equal(f->opts.user, "nobody");
	assert_string_equal(f->opts.group, "postfix");
	assert_string_equal(f->opts.socket_group, "postfix");
	assert_int_equal(f->opts.socket_mode, 0640);
	assert_int_equal(f->opts.workers, 4);
	assert_int_equal(f->opts.log_levels, LEVEL_ERROR | LEVEL_WARNING |
	    LEVEL_PROFILE);
	assert_string_equal(f->opts.log_path, "/var/log/i.log");
	assert_int_equal(f->opts.syslog, 1);
	assert_int_equal(f->opts.syslog_facility, LOG_LOCAL3);
	assert_int_equal(f->opts.report_memory, 1);
	assert_int_equal(f->opts.backlog, 64);
	assert_int_equal(f->opts.noutputs, 1);
	assert_string_equal(f->opts.outputs[0], "/var/log/i.report");
	assert_spec(&f->opts.where, AF_UNIX, "/run/inspect/i.sock", "", 0, 0);
}

/* Probing: --reply in all its forms, taken apart, in the order given. */
static void
test_options_probe_replies(void **state)
{
	struct fixture		*f = *state;
	const struct probe_reply *r;

	assert_int_equal(parse(f, "--reply",
	    "envrcpt/bad@=550 5.7.1 probe rejects bad", "--reply",
	    "data=451 first\\nsecond", "--reply", "body=skip", "--reply",
	    "connect/192.0.2.66=discard", NULL), -1);
	assert_rejected(f, "'discard' is not possible at connect");

	assert_int_equal(parse(f, "--reply",
	    "envrcpt/bad@=550 5.7.1 probe rejects bad", "--reply",
	    "data=451 first\\nsecond", "--reply", "body=skip", "--reply",
	    "eom=accept", NULL), 0);
	assert_int_equal(f->opts.probe.nreplies, 4);
	r = &f->opts.probe.replies[0];
	assert_int_equal(r->stage, STAGE_ENVRCPT);
	assert_string_equal(r->match, "bad@");
	assert_int_equal(r->status, SMFIS_REJECT);
	assert_string_equal(r->code, "550");
	assert_string_equal(r->xcode, "5.7.1");
	assert_string_equal(r->text, "probe rejects bad");
	assert_int_equal(r->nlines, 1);
	r = &f->opts.probe.replies[1];
	assert_int_equal(r->stage, STAGE_DATA);
	assert_null(r->match);
	assert_int_equal(r->status, SMFIS_TEMPFAIL);
	assert_string_equal(r->xcode, "");
	assert_string_equal(r->text, "first\nsecond");
	assert_int_equal(r->nlines, 2);
	assert_string_equal(r->lines[0], "first");
	assert_string_equal(r->lines[1], "second");
	assert_null(r->lines[2]);
	assert_int_equal(f->opts.probe.replies[2].status, SMFIS_SKIP);
	assert_int_equal(f->opts.probe.replies[3].status, SMFIS_ACCEPT);
	/* eom needs a reply anyway: no other stage is answered but these. */
	assert_int_equal(probe_replied_stage(&f->opts.probe), STAGE_ENVRCPT);
	assert_int_equal(probe_actions(&f->opts.probe), 0);
}

static void
test_options_probe_replies_rejected(void **state)
{
	static const struct reject rows[] = {
		{ { "--reply", "envrcpt" }, "expected STAGE[/MATCH]=ANSWER" },
		{ { "--reply", "rcpt=reject" }, "unknown stage 'rcpt'" },
		{ { "--reply", "close=reject" }, "unknown stage 'close'" },
		{ { "--reply", "helo=refuse" }, "unknown answer 'refuse'" },
		{ { "--reply", "helo/=reject" }, "empty MATCH" },
		{ { "--reply", "eoh/x=reject" }, "eoh has nothing to match" },
		{ { "--reply", "helo=skip" }, "'skip' is not possible at helo" },
		{ { "--reply", "envrcpt=250 ok" }, "code '250' is not 4xx" },
		{ { "--reply", "envrcpt=550 4.7.1 no" },
		    "'4.7.1' is not a status 5.Y.Z" },
		{ { "--reply", "envrcpt=550 5.7 no" }, "'5.7' is not" },
		{ { "--reply", "envrcpt=550 5.1000.1 no" }, "'5.1000.1'" },
		{ { "--reply", "envrcpt=550" }, "code 550 has no TEXT" },
		{ { "--reply", "envrcpt=550 5.7.1" }, "code 550 has no TEXT" },
		{ { "--reply", "envrcpt=55x no" }, "unknown answer '55x no'" },
		{ { "--no-reply", "yes", "--reply", "helo=accept" },
		    "--no-reply yes: helo is answered" },
	};

	assert_rejects(*state, rows, sizeof rows / sizeof rows[0]);
}

/* Past the bound: a clear error, naming the bound and the value. */
static void
test_options_probe_bounds(void **state)
{
	struct fixture	*f = *state;
	char		 text[PROBE_MAX_LINE + 40];

	/* More arguments than MAX_ARGS: the tables are filled directly. */
	assert_int_equal(parse(f, NULL), 0);
	f->opts.probe.nedits = PROBE_MAX_CHANGES;
	f->err[0] = '\0';
	assert_int_equal(probe_parse_change(&f->opts.probe,
	    CHANGE_ADD_HEADER, "X-One: too many", f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "more than 32 changes"));
	f->opts.probe.nedits = 0;
	f->opts.probe.nreplies = PROBE_MAX_REPLIES;
	assert_int_equal(probe_parse_reply(&f->opts.probe, "eom=accept",
	    f->err, sizeof f->err), -1);
	assert_non_null(strstr(f->err, "more than 32 replies"));
	f->opts.probe.nreplies = 0;

	snprintf(text, sizeof text, "eom=550 %0*d", PROBE_MAX_LINE + 1, 0);
	assert_int_equal(parse(f, "--reply", text, NULL), -1);
	assert_rejected(f, "longer than 980 bytes");
	/* At the bound, as libmilter's own (MAXREPLYLEN): taken whole. */
	snprintf(text, sizeof text, "eom=550 5.7.1 %0*d", PROBE_MAX_LINE, 7);
	if (parse(f, "--reply", text, NULL) != 0)
		fail_msg("a line of %d bytes refused: %s", PROBE_MAX_LINE,
		    f->err);
	assert_int_equal(f->opts.probe.nreplies, 1);
	assert_int_equal(f->opts.probe.replies[0].nlines, 1);
	assert_int_equal(strlen(f->opts.probe.replies[0].lines[0]),
	    PROBE_MAX_LINE);
	assert_string_equal(f->opts.probe.replies[0].text, text + 14);
	snprintf(text, sizeof text, "eom=451 x\\n%0*d", PROBE_MAX_LINE, 7);
	assert_int_equal(parse(f, "--reply", text, NULL), 0);
	assert_int_equal(f->opts.probe.replies[0].nlines, 2);
	assert_int_equal(strlen(f->opts.probe.replies[0].lines[1]),
	    PROBE_MAX_LINE);
	assert_int_equal(parse(f, "--reply", "eom=550 1\\n2\\n3\\n4\\n5\\n6"
	    "\\n7\\n8\\n9\\n10\\n11\\n12\\n13\\n14\\n15\\n16\\n17\\n18\\n19"
	    "\\n20\\n21\\n22\\n23\\n24\\n25\\n26\\n27\\n28\\n29\\n30\\n31"
	    "\\n32\\n33", NULL), -1);
	assert_rejected(f, "more than 32 lines");
	assert_int_equal(parse(f, "--reply", "eom=550 1\\n2\\n3\\n4\\n5\\n6"
	    "\\n7\\n8\\n9\\n10\\n11\\n12\\n13\\n14\\n15\\n16\\n17\\n18\\n19"
	    "\\n20\\n21\\n22\\n23\\n24\\n25\\n26\\n27\\n28\\n29\\n30\\n31"
	    "\\n32", NULL), 0);
	assert_int_equal(f->opts.probe.replies[0].nlines, 32);
	assert_string_equal(f->opts.probe.replies[0].lines[31], "32");
	assert_null(f->opts.probe.replies[0].lines[32]);
}

static void
test_options_probe_delay(void **state)
{
	static const struct reject rows[] = {
		{ { "--delay", "eom" }, "expected STAGE=SECONDS" },
		{ { "--delay", "abort=1" }, "expected STAGE=SECONDS" },
		{ { "--delay", "eom=" }, "'' is not a number of seconds" },
		{ { "--delay", "eom=0" }, "'0' is not" },
		{ { "--delay", "eom=0.0001" }, "'0.0001' is not" },
		{ { "--delay", "eom=3600.5" }, "from 0.001 to 3600" },
		{ { "--delay", "eom=1e3" }, "'1e3' is not" },
		{ { "--delay", "eom=-1" }, "'-1' is not" },
		{ { "--delay", "eom=1.2.3" }, "'1.2.3' is not" },
		{ { "--delay", "eom=99999999999999999999" }, "is not" },
		{ { "--delay", "eom=1", "--delay", "eom=2" },
		    "eom is delayed twice" },
		{ { "--no-reply", "yes", "--delay", "header=1" },
		    "--no-reply yes: header is answered or delayed" },
	};
	struct fixture	*f = *state;

	assert_int_equal(parse(f, "--delay", "helo=2.5", "--delay", "eom=.25",
	    "--delay", "body=0.001", "--delay", "connect=3600", NULL), 0);
	assert_int_equal(f->opts.probe.delay_ms[STAGE_HELO], 2500);
	assert_int_equal(f->opts.probe.delay_ms[STAGE_EOM], 250);
	assert_int_equal(f->opts.probe.delay_ms[STAGE_BODY], 1);
	assert_int_equal(f->opts.probe.delay_ms[STAGE_CONNECT], 3600000);
	assert_int_equal(f->opts.probe.delay_ms[STAGE_DATA], 0);
	assert_int_equal(probe_active(&f->opts.probe), 1);
	/* A delay at eom alone needs no more replies than usual. */
	assert_int_equal(parse(f, "--no-reply", "yes", "--delay", "eom=1",
	    NULL), 0);
	assert_rejects(f, rows, sizeof rows / sizeof rows[0]);
}

/* The changes at eom, taken apart, and the actions they need. */
static void
test_options_probe_changes(void **state)
{
	struct fixture		*f = *state;
	const struct probe_edit	*e;

	assert_int_equal(parse(f, NULL), 0);
	assert_int_equal(probe_active(&f->opts.probe), 0);
	assert_int_equal(parse(f, "--add-header", "X-Probe: yes",
	    "--insert-header", "0 X-First:first", "--change-header",
	    "Subject[2]: changed", "--change-header", "X-Old:",
	    "--add-rcpt", "<a@example.net>", "--add-rcpt",
	    "<b@example.net> NOTIFY=NEVER", "--delete-rcpt", "<c@example.net>",
	    "--change-from", "<s@example.org> SIZE=10", "--quarantine",
	    "held", NULL), 0);
	assert_int_equal(f->opts.probe.nedits, 9);
	e = f->opts.probe.edits;
	assert_string_equal(e[0].name, "X-Probe");
	assert_string_equal(e[0].value, "yes");
	assert_string_equal(e[0].spaced, " yes");
	assert_string_equal(e[0].given, "X-Probe: yes");
	assert_int_equal(e[1].index, 0);
	assert_string_equal(e[1].name, "X-First");
	assert_string_equal(e[1].value, "first");
	assert_int_equal(e[2].index, 2);
	assert_string_equal(e[2].name, "Subject");
	assert_string_equal(e[2].value, "changed");
	assert_string_equal(e[3].name, "X-Old");
	assert_int_equal(e[3].index, 1);
	assert_null(e[3].value);		/* deletes */
	assert_string_equal(e[4].name, "<a@example.net>");
	assert_null(e[4].value);
	assert_string_equal(e[5].value, "NOTIFY=NEVER");
	assert_string_equal(e[6].name, "<c@example.net>");
	assert_string_equal(e[7].name, "<s@example.org>");
	assert_string_equal(e[7].value, "SIZE=10");
	assert_int_equal(e[8].kind, CHANGE_QUARANTINE);
	assert_string_equal(e[8].value, "held");
	assert_int_equal(probe_actions(&f->opts.probe), SMFIF_ADDHDRS |
	    SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR |
	    SMFIF_DELRCPT | SMFIF_CHGFROM | SMFIF_QUARANTINE);
	assert_int_equal(probe_replied_stage(&f->opts.probe), STAGE_MAX);
}

static void
test_options_probe_changes_rejected(void **state)
{
	static const struct reject rows[] = {
		{ { "--add-header", "X-Probe" }, "expected Name: value" },
		{ { "--add-header", ": yes" }, "empty header name" },
		{ { "--add-header", "X Probe: yes" }, "printable ASCII" },
		{ { "--add-header", "X-Probe: a\nb" }, "a line break" },
		{ { "--add-header", "" }, "empty value" },
		{ { "--insert-header", "X-Probe: yes" },
		    "expected INDEX Name: value" },
		{ { "--insert-header", "-1 X-Probe: yes" },
		    "expected INDEX Name: value" },
		{ { "--change-header", "Subject[0]: x" }, "INDEX from 1" },
		{ { "--change-header", "Subject[x]: x" }, "INDEX from 1" },
		{ { "--change-header", "Subject[1] x" }, "Name: value" },
		{ { "--delete-rcpt", "<a@b> NOTIFY=NEVER" },
		    "expected one ADDRESS" },
		{ { "--add-rcpt", " <a@b>" }, "expected ADDRESS" },
		{ { "--change-from", "<a@b>", "--change-from", "<c@d>" },
		    "--change-from given twice" },
		{ { "--quarantine", "a", "--quarantine", "b" },
		    "--quarantine given twice" },
		{ { "--replace-body", "" }, "--replace-body: empty path" },
		{ { "--replace-body", "/nonexistent/body" },
		    "--replace-body /nonexistent/body: No such file" },
		{ { "--replace-body", "/" }, "--replace-body /: Is a directory" },
	};

	assert_rejects(*state, rows, sizeof rows / sizeof rows[0]);
}

/* The new body is read at once, its lines ended by CRLF. */
static void
test_options_probe_body(void **state)
{
	struct fixture	*f = *state;
	char		 path[] = "/tmp/test_options.XXXXXX";
	int		 fd;

	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, "one\ntwo\r\nthree", 14), 14);
	close(fd);
	assert_int_equal(parse(f, "--replace-body", path, NULL), 0);
	unlink(path);
	assert_int_equal(f->opts.probe.bodylen, 15);
	assert_memory_equal(f->opts.probe.body, "one\r\ntwo\r\nthree", 15);
	assert_int_equal(probe_actions(&f->opts.probe), SMFIF_CHGBODY);
}

static void
test_options_forward(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(parse(f, NULL), 0);
	assert_null(f->opts.forward.spec);
	assert_int_equal(f->opts.forward.dflt, FORWARD_TEMPFAIL);
	assert_int_equal(f->opts.forward.connect_ms, 5000);
	assert_int_equal(f->opts.forward.command_ms, 8000);
	assert_int_equal(f->opts.forward.eom_ms, 240000);

	assert_int_equal(parse(f, "-s", "inet:3000@localhost", "--forward",
	    "unix:/run/opendkim/opendkim.sock", "--forward-default", "accept",
	    "--forward-connect-timeout", "0.25", "--forward-command-timeout",
	    "2", "--forward-eom-timeout", "3600", NULL), 0);
	assert_string_equal(f->opts.forward.spec,
	    "unix:/run/opendkim/opendkim.sock");
	assert_int_equal(f->opts.forward.where.family, AF_UNIX);
	assert_string_equal(f->opts.forward.where.path,
	    "/run/opendkim/opendkim.sock");
	assert_int_equal(f->opts.forward.dflt, FORWARD_ACCEPT);
	assert_int_equal(f->opts.forward.connect_ms, 250);
	assert_int_equal(f->opts.forward.command_ms, 2000);
	assert_int_equal(f->opts.forward.eom_ms, 3600000);

	assert_int_equal(parse(f, "--forward", "inet:8891@[127.0.0.1]",
	    "--forward-default", "reject", NULL), 0);
	assert_int_equal(f->opts.forward.where.family, AF_INET);
	assert_int_equal(f->opts.forward.where.port, 8891);
	assert_int_equal(f->opts.forward.dflt, FORWARD_REJECT);
	/* The same port elsewhere is another socket. */
	assert_int_equal(parse(f, "-s", "inet:8891@[127.0.0.1]", "--forward",
	    "inet:8891@[127.0.0.2]", NULL), 0);
}

static void
test_options_forward_rejected(void **state)
{
	static const struct reject r[] = {
		{ { "--forward", "inet:localhost:8891" },
		    "did you mean inet:8891@localhost" },
		{ { "--forward", "tcp:8891" }, "--forward" },
		{ { "--forward", "" }, "--forward" },
		{ { "--forward-default", "maybe" }, "'maybe'" },
		{ { "--forward-default", "accept" }, "--forward-default" },
		{ { "--forward-eom-timeout", "3" }, "--forward-eom-timeout" },
		{ { "--forward", "unix:/a", "--forward-command-timeout", "0" },
		    "'0'" },
		{ { "--forward", "unix:/a", "--forward-command-timeout",
		    "0.0001" }, "'0.0001'" },
		{ { "--forward", "unix:/a", "--forward-connect-timeout",
		    "3601" }, "'3601'" },
		{ { "--forward", "unix:/a", "--forward-eom-timeout", "1s" },
		    "'1s'" },
		{ { "--forward", "unix:/a", "--forward-eom-timeout", "-1" },
		    "'-1'" },
		{ { "--forward", "unix:/a", "--request-macros" },
		    "--request-macros with --forward" },
		{ { "--forward", "unix:/a", "--macro-source", "lookup" },
		    "--macro-source lookup with --forward" },
		{ { "--forward", "unix:/a", "--no-reply", "yes" },
		    "--no-reply with --forward" },
		{ { "-s", "unix:/a", "--forward", "unix:/a" },
		    "where inspect listens" },
		{ { "-s", "inet:3000@localhost", "--forward",
		    "inet:3000@localhost" }, "where inspect listens" },
	};

	assert_rejects(*state, r, sizeof r / sizeof r[0]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_options_defaults),
		T(test_options_defaults_macros_reusable),
		T(test_options_env_default),
		T(test_options_env_overridden),
		T(test_options_env_empty_ignored),
		T(test_options_env_invalid_rejected),
		T(test_options_spec_option),
		T(test_options_spec_positional),
		T(test_options_spec_twice_rejected),
		T(test_options_two_positionals_rejected),
		T(test_options_spec_forms_accepted),
		T(test_options_spec_service_name),
		T(test_options_spec_unix_path_length),
		T(test_options_spec_rejected),
		T(test_options_spec_suggested),
		T(test_options_spec_not_suggested),
		T(test_options_spec_long_parts_rejected),
		T(test_options_format),
		T(test_options_format_rejected),
		T(test_options_color),
		T(test_options_color_rejected),
		T(test_options_terminal),
		T(test_options_stages),
		T(test_options_stages_rejected),
		T(test_options_stages_more),
		T(test_options_record),
		T(test_options_macro_display),
		T(test_options_output),
		T(test_options_output_max),
		T(test_options_output_empty_rejected),
		T(test_options_macros_replace),
		T(test_options_macros_add),
		T(test_options_macros_separators),
		T(test_options_macros_duplicates),
		T(test_options_macros_names_accepted),
		T(test_options_macros_bad_names),
		T(test_options_macros_empty_rejected),
		T(test_options_request_macros),
		T(test_options_request_limit),
		T(test_options_request_limit_rejected),
		T(test_options_quiet),
		T(test_options_verbose),
		T(test_options_timeout),
		T(test_options_timeout_rejected),
		T(test_options_help),
		T(test_options_version),
		T(test_options_unknown_option),
		T(test_options_missing_value),
		T(test_options_flag_with_value_rejected),
		T(test_options_all_together),
		T(test_options_service_defaults),
		T(test_options_daemon),
		T(test_options_daemon_rejected),
		T(test_options_pid_file),
		T(test_options_user_group),
		T(test_options_id_out_of_range),
		T(test_options_user_empty_rejected),
		T(test_options_group_empty_rejected),
		T(test_options_socket_group_mode),
		T(test_options_socket_mode_rejected),
		T(test_options_socket_options_need_unix),
		T(test_options_log_level),
		T(test_options_log_level_rejected),
		T(test_options_log_level_verbose_profile),
		T(test_options_log_path),
		T(test_options_syslog),
		T(test_options_workers),
		T(test_options_backlog),
		T(test_options_compat),
		T(test_options_service_together),
		T(test_options_probe_replies),
		T(test_options_probe_replies_rejected),
		T(test_options_probe_bounds),
		T(test_options_probe_delay),
		T(test_options_probe_changes),
		T(test_options_probe_changes_rejected),
		T(test_options_probe_body),
		T(test_options_forward),
		T(test_options_forward_rejected),
#undef T
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
