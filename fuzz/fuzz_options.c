/* fuzz_options.c -- libFuzzer target for options.c */
/* SPDX-License-Identifier: ISC */

/*
 * The input, cut at NUL bytes, is a command line for options_parse(),
 * and each of its words a connection spec for spec_parse().
 * Neither may crash or leak (LeakSanitizer runs at exit and per input).
 * A failure must come with a reason that is one printable line; a
 * success must leave options inspect can run with.  A broken promise
 * aborts, which libFuzzer reports as a crash with the input.
 */

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../options.h"

#define MAXARGS		32
#define ERRLEN		512		/* what inspect's main() gives */

static char	 progname[] = "inspect";

int		LLVMFuzzerInitialize(int *, char ***);
int		LLVMFuzzerTestOneInput(const uint8_t *, size_t);
static void	failx(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	check_reason(const char *, size_t, const char *);
static void	check_spec(const struct spec *, const char *);
static int	valid_macro(const char *);
static void	check_options(const struct options *, int, char **);
static void	parse_spec_small(const char *, size_t);

static void
failx(const char *fmt, ...)
{
	va_list	 ap;

	fputs("fuzz_options: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* The default spec must come from the input, not from the environment. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	unsetenv(OPTIONS_SPEC_ENV);
	return 0;
}

/*
 * A reason is NUL-terminated within errlen, non-empty (unless there is
 * no room), one line, and free of control bytes and DEL: it quotes what
 * the user typed, escaped.
 */
static void
check_reason(const char *err, size_t errlen, const char *what)
{
	size_t	 i, len;

	len = strnlen(err, errlen);
	if (len == errlen)
		failx("%s: reason not terminated", what);
	if (len == 0 && errlen > 1)
		failx("%s: empty reason", what);
	for (i = 0; i < len; i++)
		if ((unsigned char)err[i] < 0x20 ||
		    (unsigned char)err[i] == 0x7f)
			failx("%s: control byte 0x%02x in the reason", what,
			    (unsigned char)err[i]);
}

/* A spec that parsed is one libmilter and inspect can listen on. */
static void
check_spec(const struct spec *sp, const char *spec)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	const char	*colon = strchr(spec, ':');

	if (colon == NULL)
		failx("spec '%s' parsed without a ':'", spec);
	switch (sp->family) {
	case AF_UNIX:
		if (strnlen(sp->path, sizeof sp->path) == sizeof sp->path ||
		    sp->path[0] == '\0' || strcmp(sp->path, colon + 1) != 0)
			failx("spec '%s': bad path", spec);
		break;
	case AF_INET:
	case AF_INET6:
		if (sp->port < 1 || sp->port > 65535)
			failx("spec '%s': port %u", spec, sp->port);
		if (strnlen(sp->host, sizeof sp->host) == sizeof sp->host)
			failx("spec '%s': host not terminated", spec);
		if (sp->literal && inet_pton(sp->family, sp->host, bin) != 1)
			failx("spec '%s': literal '%s' is no address", spec,
			    sp->host);
		if (strchr(spec, '@') != NULL && sp->host[0] == '\0')
			failx("spec '%s': host lost", spec);
		break;
	default:
		failx("spec '%s': family %d", spec, sp->family);
	}
}

/* One printable character, a word, or a word in braces (inspect(8)). */
static int
valid_macro(const char *name)
{
	size_t	 len = strlen(name), i;

	if (len == 1)
		return isgraph((unsigned char)*name) && *name != '{' &&
		    *name != '}';
	if (len >= 3 && name[0] == '{' && name[len - 1] == '}') {
		name++;
		len -= 2;
	}
	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return 0;
	return 1;
}

static void
check_options(const struct options *o, int argc, char **argv)
{
	struct spec	 again;
	char		 err[ERRLEN];
	size_t		 i, j;
	int		 k, found = 0;

	if (o->spec == NULL)
		failx("no spec");
	/* An argument, part of one (-sSPEC, --connection-spec=SPEC), or
	 * the default. */
	for (k = 0; k < argc; k++)
		if (o->spec >= argv[k] &&
		    o->spec <= argv[k] + strlen(argv[k]))
			found = 1;
	if (!found && strcmp(o->spec, OPTIONS_DEFAULT_SPEC) != 0)
		failx("spec '%s' comes from nowhere", o->spec);
	check_spec(&o->where, o->spec);
	/* Parsing the spec again gives the same: nothing was left over. */
	if (spec_parse(o->spec, &again, err, sizeof err) == -1 ||
	    memcmp(&again, &o->where, sizeof again) != 0)
		failx("spec '%s' parses differently again", o->spec);

	if (o->format != FORMAT_TEXT && o->format != FORMAT_JSON)
		failx("format %d", o->format);
	if (o->noutputs < 1 || o->noutputs > OPTIONS_MAX_OUTPUTS)
		failx("%zu outputs", o->noutputs);
	for (i = 0; i < o->noutputs; i++)
		if (o->outputs[i] == NULL || o->outputs[i][0] == '\0')
			failx("output %zu is empty", i);
	if (o->nmacros < 1 || o->macros == NULL)
		failx("no macros");
	for (i = 0; i < o->nmacros; i++) {
		if (o->macros[i] == NULL || !valid_macro(o->macros[i]))
			failx("macro %zu is no macro name", i);
		for (j = 0; j < i; j++)
			if (strcmp(o->macros[i], o->macros[j]) == 0)
				failx("macro '%s' listed twice", o->macros[i]);
	}
	if (o->timeout < 0 || o->timeout > OPTIONS_MAX_TIMEOUT)
		failx("timeout %d", o->timeout);
	if ((o->quiet | o->verbose | o->help | o->version |
	    o->request_macros) & ~1)
		failx("a flag is neither 0 nor 1");
#ifdef OPTIONS_MAX_WORKERS
	if (o->workers > OPTIONS_MAX_WORKERS)
		failx("%u workers", o->workers);
#endif
#ifdef OPTIONS_SOCKET_MODE
	/* A mode is permission bits, never more. */
	if (o->socket_mode & ~07777U)
		failx("socket mode 0%o", o->socket_mode);
#endif
}

/* A reason cut to a buffer of any size stays inside it. */
static void
parse_spec_small(const char *spec, size_t errlen)
{
	struct spec	 sp;
	char		*err;

	if ((err = malloc(errlen > 0 ? errlen : 1)) == NULL)
		failx("out of memory");
	memset(err, 'X', errlen > 0 ? errlen : 1);
	if (spec_parse(spec, &sp, err, errlen) == -1 && errlen > 0)
		check_reason(err, errlen, "small buffer");
	free(err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct options	 opts;
	struct spec	 sp;
	char		*copy, *argv[MAXARGS + 2], err[ERRLEN];
	size_t		 off;
	int		 argc = 0, i, rc;

	/* The words, each NUL-terminated; argv[0] is the program. */
	if ((copy = malloc(size + 1)) == NULL)
		failx("out of memory");
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[argc++] = progname;
	for (off = 0; off < size && argc <= MAXARGS; argc++) {
		argv[argc] = copy + off;
		off += strlen(copy + off) + 1;
	}
	argv[argc] = NULL;

	memset(err, 'X', sizeof err);
	rc = options_parse(&opts, argc, argv, err, sizeof err);
	if (rc == -1)
		check_reason(err, sizeof err, "options_parse");
	else if (rc == 0)
		check_options(&opts, argc, argv);
	else
		failx("options_parse returned %d", rc);
	options_free(&opts);

	/* getopt may have reordered argv; every word is still there. */
	for (i = 1; i < argc; i++) {
		memset(err, 'X', sizeof err);
		if (spec_parse(argv[i], &sp, err, sizeof err) == 0)
			check_spec(&sp, argv[i]);
		else
			check_reason(err, sizeof err, "spec_parse");
		parse_spec_small(argv[i], size % 24);
	}
	free(copy);
	return 0;
}
