/* null-milter.c -- the benchmark's baseline: a milter that does nothing */
/* SPDX-License-Identifier: ISC */

/*
 * Every stage is asked for and answered with SMFIS_CONTINUE, and nothing
 * is printed, so that what inspect costs beyond this is the cost of
 * looking up macros and writing its report.  There is no xxfi_negotiate:
 * libmilter then answers the MTA as for any plain milter, with the
 * actions of xxfi_flags (none) and every stage, each with a reply.
 */

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static void	usage(void);
static sfsistat	null_connect(SMFICTX *, char *, _SOCK_ADDR *);
static sfsistat	null_helo(SMFICTX *, char *);
static sfsistat	null_envfrom(SMFICTX *, char **);
static sfsistat	null_envrcpt(SMFICTX *, char **);
static sfsistat	null_data(SMFICTX *);
static sfsistat	null_header(SMFICTX *, char *, char *);
static sfsistat	null_eoh(SMFICTX *);
static sfsistat	null_body(SMFICTX *, unsigned char *, size_t);
static sfsistat	null_eom(SMFICTX *);
static sfsistat	null_abort(SMFICTX *);
static sfsistat	null_close(SMFICTX *);
static sfsistat	null_unknown(SMFICTX *, const char *);

/* libmilter wants a writable name. */
static char	filter_name[] = "null-milter";

static struct smfiDesc desc = {
	.xxfi_name = filter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = null_connect,
	.xxfi_helo = null_helo,
	.xxfi_envfrom = null_envfrom,
	.xxfi_envrcpt = null_envrcpt,
	.xxfi_header = null_header,
	.xxfi_eoh = null_eoh,
	.xxfi_body = null_body,
	.xxfi_eom = null_eom,
	.xxfi_abort = null_abort,
	.xxfi_close = null_close,
	.xxfi_unknown = null_unknown,
	.xxfi_data = null_data,
	.xxfi_negotiate = NULL,
};

static void
usage(void)
{
	fprintf(stderr, "usage: null-milter -s SPEC | SPEC\n");
	exit(64);
}

int
main(int argc, char *argv[])
{
	char	*spec = NULL;
	int	 ch;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			spec = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (spec == NULL && argc == 1)
		spec = argv[0];
	else if (spec == NULL || argc != 0)
		usage();

	/* libmilter says why it cannot listen only through syslog. */
	openlog("null-milter", LOG_PID | LOG_PERROR, LOG_MAIL);
	if (smfi_setconn(spec) == MI_FAILURE ||
	    smfi_register(desc) == MI_FAILURE) {
		fprintf(stderr, "null-milter: cannot set up libmilter\n");
		return 1;
	}
	if (smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "null-milter: cannot listen on %s\n", spec);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}

static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat
null_helo(SMFICTX *ctx, char *name)
{
	(void)ctx;
	(void)name;
	return SMFIS_CONTINUE;
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
null_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_CONTINUE;
}

static sfsistat
null_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_CONTINUE;
}

static sfsistat
null_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
null_unknown(SMFICTX *ctx, const char *command)
{
	(void)ctx;
	(void)command;
	return SMFIS_CONTINUE;
}
