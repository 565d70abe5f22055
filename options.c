/* options.c -- command line of inspect */
/* SPDX-License-Identifier: ISC */


#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "ids.h"
#include "log.h"
#include "options.h"
#include "reason.h"
#include "spec.h"

/*
 * Long options carry values above any character, so that a long option
 * given a value it does not take is told apart from an unknown short one.
 */
enum {
	OPT_SPEC = 0x100,
	OPT_HELP,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_FORMAT,
	OPT_OUTPUT,
	OPT_MACROS,
	OPT_REQUEST_MACROS,
	OPT_REQUEST_LIMIT,
	OPT_TIMEOUT,
	OPT_VERSION,
	OPT_DAEMON,
	OPT_NO_DAEMON,
	OPT_PID_FILE,
	OPT_USER,
	OPT_USER_NAME,
	OPT_USER_ID,
	OPT_GROUP,
	OPT_GROUP_NAME,
	OPT_GROUP_ID,
	OPT_SOCKET_GROUP,
	OPT_SOCKET_MODE,
	OPT_LOG_LEVEL,
	OPT_LOG_PATH,
	OPT_SYSLOG,
	OPT_SYSLOG_FACILITY,
	OPT_WORKERS,
	OPT_MEMORY,
	OPT_BACKLOG,
	OPT_EVENT_LOOP,
	OPT_PACKET_BUFFER,
	OPT_MAX_PENDING,
	OPT_NO_REPORT,
	OPT_NO_REPLY,
	OPT_SHOW_MACROS,
	OPT_MACRO_SOURCE,
	OPT_COLOR,
	OPT_STAGES,
	OPT_SUMMARY,
	OPT_NO_SUMMARY,
	OPT_REPLY,
	OPT_DELAY,
	OPT_ADD_HEADER,		/* the changes, in enum probe_change's order */
	OPT_INSERT_HEADER,
	OPT_CHANGE_HEADER,
	OPT_CHANGE_FROM,
	OPT_ADD_RCPT,
	OPT_DELETE_RCPT,
	OPT_REPLACE_BODY,
	OPT_QUARANTINE,
	OPT_RECORD,
	OPT_FORWARD,
	OPT_FORWARD_DEFAULT,
	OPT_FORWARD_CONNECT,	/* the timeouts, in struct forward_conf's */
	OPT_FORWARD_COMMAND,	/* order */
	OPT_FORWARD_EOM
};

static int	parse_uint(const char *, unsigned long, unsigned long,
		    unsigned long *);
static int	choose(const char *, const char *, const char *const *,
		    char *, size_t);
static int	set_macros(struct options *, const char *, char *, size_t);
static int	add_macro(struct options *, const char *, size_t, char *,
		    size_t);
static int	valid_macro(const char *, size_t);
static void	clear_macros(struct options *);
static int	parse_mode(const char *, unsigned int *);
static int	check_service(struct options *, char *, size_t);
static int	report_option(struct options *, int, const char *, char *,
		    size_t);
static int	service_option(struct options *, int, const char *, char *,
		    size_t);
static int	forward_option(struct options *, int, const char *, char *,
		    size_t);
static int	check_forward(struct options *, char *, size_t);
static int	parse_ms(const char *, unsigned long, unsigned long *);
static int	probe_option(struct options *, int, const char *, char *,
		    size_t);
static int	id_kind(int);
static int	id_range(int, const char *, const char *, char *, size_t);
static int	empty_value(int, const char *, char *, size_t);
static int	number(int, const char *, unsigned long *, char *, size_t);
static int	names_in(const char *);
static int	set_stages(struct options *, const char *, char *, size_t);

const char *const options_default_macros[] = {
	/* connection; the daemon and interface that took it */
	"j", "_", "v", "{daemon_name}", "{daemon_addr}", "{daemon_port}",
	"{daemon_family}", "{daemon_flags}", "{daemon_info}",
	"{if_name}", "{if_addr}", "{if_family}",
	"{if_name_out}", "{if_addr_out}", "{if_family_out}",
	/* the client */
	"{client_addr}", "{client_name}", "{client_port}", "{client_ptr}",
	"{client_resolve}", "{client_connections}", "{client_rate}",
	"{total_rate}", "{client_flags}", "s", "r",
	/* TLS */
	"{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}",
	"{cert_issuer}", "{tls_sni}", "{cert_fp}", "{cert_md5}",
	"{cn_subject}", "{cn_issuer}", "{alg_bits}", "{verify}",
	"{server_name}", "{server_addr}",
	/* authentication and the envelope */
	"i", "{auth_type}", "{auth_authen}", "{auth_author}", "{auth_ssf}",
	"{mail_addr}", "{mail_host}", "{mail_mailer}",
	"{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}",
	/* the message */
	"{msg_id}", "{msg_size}", "{nrcpts}", "{nbadrcpts}", "{bodytype}",
	"{envid}", "{dsn_envid}", "{dsn_notify}", "{dsn_ret}", "{ntries}",
	"{quarantine}", "b", "c", "{load_avg}", "{time}", "{opMode}",
	NULL
};

static const char shortopts[] = ":g:hqs:u:v";

static const struct option longopts[] = {
	{ "add-header",		required_argument,	NULL, OPT_ADD_HEADER },
	{ "add-rcpt",		required_argument,	NULL, OPT_ADD_RCPT },
	{ "change-from",	required_argument,	NULL, OPT_CHANGE_FROM },
	{ "change-header",	required_argument,	NULL,
	    OPT_CHANGE_HEADER },
	{ "delay",		required_argument,	NULL, OPT_DELAY },
	{ "delete-rcpt",	required_argument,	NULL, OPT_DELETE_RCPT },
	{ "insert-header",	required_argument,	NULL,
	    OPT_INSERT_HEADER },
	{ "quarantine",		required_argument,	NULL, OPT_QUARANTINE },
	{ "replace-body",	required_argument,	NULL,
	    OPT_REPLACE_BODY },
	{ "reply",		required_argument,	NULL, OPT_REPLY },
	{ "backlog",		required_argument,	NULL, OPT_BACKLOG },
	{ "color",		required_argument,	NULL, OPT_COLOR },
	{ "connection-spec",	required_argument,	NULL, OPT_SPEC },
	{ "daemon",		no_argument,		NULL, OPT_DAEMON },
	{ "event-loop-backend",	required_argument,	NULL, OPT_EVENT_LOOP },
	{ "format",		required_argument,	NULL, OPT_FORMAT },
	{ "forward",		required_argument,	NULL, OPT_FORWARD },
	{ "forward-command-timeout", required_argument,	NULL,
	    OPT_FORWARD_COMMAND },
	{ "forward-connect-timeout", required_argument,	NULL,
	    OPT_FORWARD_CONNECT },
	{ "forward-default",	required_argument,	NULL,
	    OPT_FORWARD_DEFAULT },
	{ "forward-eom-timeout", required_argument,	NULL, OPT_FORWARD_EOM },
	{ "group",		required_argument,	NULL, OPT_GROUP },
	{ "group-id",		required_argument,	NULL, OPT_GROUP_ID },
	{ "group-name",		required_argument,	NULL, OPT_GROUP_NAME },
	{ "help",		no_argument,		NULL, OPT_HELP },
	{ "log-level",		required_argument,	NULL, OPT_LOG_LEVEL },
	{ "log-path",		required_argument,	NULL, OPT_LOG_PATH },
	{ "macro-source",	required_argument,	NULL,
	    OPT_MACRO_SOURCE },
	{ "macros",		required_argument,	NULL, OPT_MACROS },
	{ "max-pending-finished-sessions", required_argument, NULL,
	    OPT_MAX_PENDING },
	{ "n-workers",		required_argument,	NULL, OPT_WORKERS },
	{ "no-daemon",		no_argument,		NULL, OPT_NO_DAEMON },
	{ "no-reply",		required_argument,	NULL, OPT_NO_REPLY },
	{ "no-report-request",	no_argument,		NULL, OPT_NO_REPORT },
	{ "no-summary",		no_argument,		NULL, OPT_NO_SUMMARY },
	{ "output",		required_argument,	NULL, OPT_OUTPUT },
	{ "packet-buffer-size",	required_argument,	NULL,
	    OPT_PACKET_BUFFER },
	{ "pid-file",		required_argument,	NULL, OPT_PID_FILE },
	{ "quiet",		no_argument,		NULL, OPT_QUIET },
	{ "record",		required_argument,	NULL, OPT_RECORD },
	{ "report-memory-profile", no_argument,		NULL, OPT_MEMORY },
	{ "request-macros",	no_argument,		NULL,
	    OPT_REQUEST_MACROS },
	{ "request-macros-limit", required_argument,	NULL,
	    OPT_REQUEST_LIMIT },
	{ "show-macros",	required_argument,	NULL,
	    OPT_SHOW_MACROS },
	{ "stages",		required_argument,	NULL, OPT_STAGES },
	{ "summary",		no_argument,		NULL, OPT_SUMMARY },
	{ "syslog",		no_argument,		NULL, OPT_SYSLOG },
	{ "syslog-facility",	required_argument,	NULL,
	    OPT_SYSLOG_FACILITY },
	{ "timeout",		required_argument,	NULL, OPT_TIMEOUT },
	{ "unix-socket-group",	required_argument,	NULL,
	    OPT_SOCKET_GROUP },
	{ "unix-socket-mode",	required_argument,	NULL, OPT_SOCKET_MODE },
	{ "user",		required_argument,	NULL, OPT_USER },
	{ "user-id",		required_argument,	NULL, OPT_USER_ID },
	{ "user-name",		required_argument,	NULL, OPT_USER_NAME },
	{ "verbose",		no_argument,		NULL, OPT_VERBOSE },
	{ "version",		no_argument,		NULL, OPT_VERSION },
	{ NULL,			0,			NULL, 0 }
};

/* The words of the options that take one, in their enums' order. */
static const char *const formats[] = { "text", "json", NULL };
static const char *const shows[] = { "sent", "all", "none", NULL };
static const char *const sources[] = { "auto", "context", "lookup", NULL };
static const char *const noreplies[] = { "auto", "yes", "no", NULL };
static const char *const colors[] = { "auto", "always", "never", NULL };
static const char *const defaults[] = { "accept", "tempfail", "reject", NULL };

/* The options that take a number: its range, and what it counts. */
static const struct number {
	int		 opt;
	const char	*name;
	unsigned long	 min;
	unsigned long	 max;		/* LONG_MAX: as many as one likes */
	const char	*what;
} numbers[] = {
	{ OPT_TIMEOUT, "--timeout", 1, OPTIONS_MAX_TIMEOUT,
	    "a number of seconds" },
	{ OPT_WORKERS, "--n-workers", 0, OPTIONS_MAX_WORKERS, "a number" },
	{ OPT_BACKLOG, "--backlog", 1, 65535, "a number" },
	{ OPT_PACKET_BUFFER, "--packet-buffer-size", 0, LONG_MAX,
	    "a number of bytes" },
	{ OPT_MAX_PENDING, "--max-pending-finished-sessions", 0, LONG_MAX,
	    "a number" }
};

/* The options that name a file, a user or a group: never empty. */
static const struct {
	int		 opt;
	const char	*name;
	const char	*what;
} nonempty[] = {
	{ OPT_OUTPUT, "--output", "path" },
	{ OPT_PID_FILE, "--pid-file", "path" },
	{ OPT_LOG_PATH, "--log-path", "path" },
	{ OPT_REPLACE_BODY, "--replace-body", "path" },
	{ OPT_RECORD, "--record", "directory" },
	{ 'u', "-u", "user" },
	{ OPT_USER, "--user", "user" },
	{ OPT_USER_NAME, "--user-name", "user" },
	{ OPT_USER_ID, "--user-id", "user" },
	{ 'g', "-g", "group" },
	{ OPT_GROUP, "--group", "group" },
	{ OPT_GROUP_NAME, "--group-name", "group" },
	{ OPT_GROUP_ID, "--group-id", "group" },
	{ OPT_SOCKET_GROUP, "--unix-socket-group", "group" }
};

void
options_usage(FILE *fp)
{
	fprintf(fp,
"usage: inspect [options] [SPEC]\n"
"\n"
"Show every stage, argument and macro an MTA sends to a milter.\n"
"\n"
"  -s, --connection-spec SPEC  where to listen: unix:PATH, local:PATH,\n"
"                              inet:PORT[@HOST|@[ADDR]], inet6:PORT[@...]\n"
"                              (default: $%s,\n"
"                              or else %s)\n"
"      --format text|json      report format (default: text)\n"
"      --output PATH           write the report to PATH instead of standard\n"
"                              output ('-' is standard output; repeatable)\n"
"      --color auto|always|never  colour the text report (default auto: on\n"
"                              a terminal, unless NO_COLOR is set or TERM is\n"
"                              dumb)\n"
"      --stages LIST           report only these stages, separated by commas;\n"
"                              -STAGE leaves one out (-body,-header: all but\n"
"                              those); mail and rcpt name envfrom and envrcpt\n"
"                              (default: all; none: the summary lines only)\n"
"      --summary, --no-summary a line summing up each session at its close\n"
"                              (default: when the report goes to a terminal)\n"
"      --show-macros sent|all|none  per event, the macros sent with it\n"
"                              (default), or also every one visible, or none\n"
"      --macros LIST           show only these macros, separated by commas or\n"
"                              spaces; '+LIST' adds to the list (default:\n"
"                              every name sent; the list requested and\n"
"                              looked up is every macro Postfix or Sendmail\n"
"                              sends)\n"
"      --request-macros        ask the MTA to send the listed macros, each at\n"
"                              the stages where it can be set (see inspect(8))\n"
"      --request-macros-limit N|none  refuse to ask for more than N macros at\n"
"                              a stage (default: %d, Sendmail's limit; none\n"
"                              for an MTA without one, such as Postfix)\n"
"      --macro-source auto|context|lookup  read each stage's macros in\n"
"                              libmilter's context, or look them up by name\n"
"                              (default auto: the context if it checks out)\n"
"      --timeout SECONDS       I/O timeout towards the MTA (libmilter's: 7210)\n"
"      --backlog N             listen queue length (libmilter's: SOMAXCONN)\n"
"      --no-reply auto|yes|no  tell the MTA that stages other than eom get\n"
"                              no reply (default auto: over TCP where no\n"
"                              ACK is left to wait for, on unix sockets\n"
"                              only header, eoh and body; see inspect(8))\n"
"  -q, --quiet                 report nothing per stage (milter-test-client's\n"
"                              --no-report-request too)\n"
"      --record DIR            write each session, at its close, to DIR as a\n"
"                              miltertest script that replays it\n"
"\n"
"In front of a real milter (see inspect(8)):\n"
"      --forward SPEC          pass every stage on to the milter at SPEC and\n"
"                              answer the MTA as it answers; report both\n"
"      --forward-default accept|tempfail|reject  the answer when it fails\n"
"                              (default: tempfail)\n"
"      --forward-connect-timeout SECONDS  (default: 5)\n"
"      --forward-command-timeout SECONDS  for each answer (default: 8)\n"
"      --forward-eom-timeout SECONDS      for eom's answer (default: 240)\n"
"\n"
"Probing the MTA (see inspect(8)); all but the last three repeatable:\n"
"      --reply STAGE[/MATCH]=ANSWER  answer STAGE (connect, helo, envfrom,\n"
"                              envrcpt, data, header, eoh, body, eom,\n"
"                              unknown), or only its events whose argument\n"
"                              holds MATCH, with continue, accept, reject,\n"
"                              tempfail, discard, skip or CODE [X.Y.Z] TEXT\n"
"      --delay STAGE=SECONDS   wait before answering STAGE\n"
"      --add-header 'NAME: VALUE'         at eom, add a header\n"
"      --insert-header 'INDEX NAME: VALUE'  insert one at INDEX\n"
"      --change-header 'NAME[INDEX]: VALUE'  change one; no VALUE deletes\n"
"      --add-rcpt 'ADDR [ESMTP]'          add a recipient\n"
"      --delete-rcpt ADDR      delete a recipient\n"
"      --change-from 'ADDR [ESMTP]'       change the sender\n"
"      --replace-body FILE     replace the body with FILE's\n"
"      --quarantine REASON     put the message on hold\n"
"\n"
"Running as a service:\n"
"      --daemon, --no-daemon   detach, or not (the default)\n"
"      --pid-file PATH         write the process id to PATH\n"
"  -u, --user USER             serve as USER (name or id; --user-name,\n"
"                              --user-id take only one kind)\n"
"  -g, --group GROUP           serve as GROUP (--group-name, --group-id)\n"
"      --unix-socket-group GROUP  the unix socket's group\n"
"      --unix-socket-mode MODE    the unix socket's mode (default: 0660)\n"
"      --n-workers N           serve from N processes, 0 to %d (default: 0;\n"
"                              1 whenever -u or -g drops root)\n"
"      --log-level LEVELS      levels joined by '|': critical, error, warning,\n"
"                              message, info, debug, statistics, profile,\n"
"                              all, default, none\n"
"                              (default: critical|error|warning|message)\n"
"      --log-path PATH         log to PATH ('-' is standard output;\n"
"                              default: standard error)\n"
"      --syslog                log to syslog\n"
"      --syslog-facility NAME  syslog facility (default: mail)\n"
"      --report-memory-profile log the memory in use after each session\n"
"  -v, --verbose               log everything, with libmilter's debugging\n"
"\n"
"  -h, --help                  show this help\n"
"      --version               show the version, and libmilter's\n"
"\n"
"Accepted for milter-test-client's sake, with no effect: --event-loop-backend,\n"
"--packet-buffer-size, --max-pending-finished-sessions.\n",
	    OPTIONS_SPEC_ENV, OPTIONS_DEFAULT_SPEC, OPTIONS_REQUEST_LIMIT,
	    OPTIONS_MAX_WORKERS);
}

int
options_parse(struct options *opts, int argc, char *argv[], char *err,
    size_t errlen)
{
	const char	*env;
	int		 ch;

	memset(opts, 0, sizeof *opts);
	opts->format = FORMAT_TEXT;
	opts->stages = OPTIONS_ALL_STAGES;
	opts->summary = -1;
	opts->socket_mode = OPTIONS_SOCKET_MODE;
	opts->log_levels = LEVELS_INSPECT;
	opts->syslog_facility = LOG_MAIL;
	opts->request_limit = OPTIONS_REQUEST_LIMIT;
	opts->forward.dflt = FORWARD_TEMPFAIL;
	opts->forward.connect_ms = OPTIONS_FORWARD_CONNECT;
	opts->forward.command_ms = OPTIONS_FORWARD_COMMAND;
	opts->forward.eom_ms = OPTIONS_FORWARD_EOM;
	if (set_macros(opts, NULL, err, errlen) == -1)
		return -1;

	/* Parsing may run more than once in a process (the unit tests). */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	    -1) {
		if (ch == ':')
			return reason(err, errlen, "option '%s' needs a "
			    "value", argv[optind - 1]);
		if (ch == '?' && optopt >= 0x100)
			return reason(err, errlen, "option '%s' takes "
			    "no value", argv[optind - 1]);
		if (ch == '?' && optopt != 0)
			return reason(err, errlen, "unknown option "
			    "'-%c'; see inspect --help", optopt);
		if (ch == '?')
			return reason(err, errlen, "unknown option '%s'; "
			    "see inspect --help", argv[optind - 1]);
		if (empty_value(ch, optarg, err, errlen) == -1 ||
		    report_option(opts, ch, optarg, err, errlen) == -1 ||
		    service_option(opts, ch, optarg, err, errlen) == -1 ||
		    probe_option(opts, ch, optarg, err, errlen) == -1 ||
		    forward_option(opts, ch, optarg, err, errlen) == -1)
			return -1;
	}

	if (optind < argc) {
		if (argc - optind > 1)
			return reason(err, errlen, "unexpected argument "
			    "'%s'", argv[optind + 1]);
		if (opts->spec != NULL)
			return reason(err, errlen, "connection spec "
			    "given twice: '%s' and '%s'", opts->spec,
			    argv[optind]);
		opts->spec = argv[optind];
	}
	if (opts->spec == NULL && (env = getenv(OPTIONS_SPEC_ENV)) != NULL &&
	    *env != '\0')
		opts->spec = env;
	if (opts->spec == NULL)
		opts->spec = OPTIONS_DEFAULT_SPEC;
	if (opts->request_limit_set && !opts->request_macros)
		return reason(err, errlen, "--request-macros-limit: "
		    "limits --request-macros, which is not given");
	if (opts->noreply == NOREPLY_YES &&
	    probe_replied_stage(&opts->probe) != STAGE_MAX)
		return reason(err, errlen, "--no-reply yes: %s is "
		    "answered or delayed (--reply, --delay), which needs a "
		    "reply", print_stage_names[probe_replied_stage(
		    &opts->probe)]);
	if (spec_parse(opts->spec, &opts->where, err, errlen) == -1 ||
	    check_forward(opts, err, errlen) == -1)
		return -1;
	return check_service(opts, err, errlen);
}

/*
 * The options of what inspect shows and how it talks to the MTA.
 * Returns 0 (ch is not one of them, or was taken), or -1 with a reason
 * in err.
 */
static int
report_option(struct options *opts, int ch, const char *arg, char *err,
    size_t errlen)
{
	unsigned long	 n;
	int		 i;

	switch (ch) {
	case 's':
	case OPT_SPEC:
		opts->spec = arg;
		break;
	case 'h':
	case OPT_HELP:
		opts->help = 1;
		break;
	case OPT_VERSION:
		opts->version = 1;
		break;
	case 'q':
	case OPT_QUIET:
	case OPT_NO_REPORT:
		opts->quiet = 1;
		break;
	case 'v':
	case OPT_VERBOSE:
		opts->verbose = 1;
		break;
	case OPT_FORMAT:
		if ((i = choose("--format", arg, formats, err, errlen)) == -1)
			return -1;
		opts->format = i;
		break;
	case OPT_OUTPUT:
		if (opts->noutputs == OPTIONS_MAX_OUTPUTS)
			return reason(err, errlen, "--output: more than "
			    "%d outputs ('%s')", OPTIONS_MAX_OUTPUTS, arg);
		opts->outputs[opts->noutputs++] = arg;
		break;
	case OPT_MACROS:
		opts->macros_given = 1;
		return set_macros(opts, arg, err, errlen);
	case OPT_SHOW_MACROS:
		if ((i = choose("--show-macros", arg, shows, err, errlen)) ==
		    -1)
			return -1;
		opts->show_macros = i;
		break;
	case OPT_MACRO_SOURCE:
		if ((i = choose("--macro-source", arg, sources, err,
		    errlen)) == -1)
			return -1;
		opts->macro_source = i;
		break;
	case OPT_COLOR:
		if ((i = choose("--color", arg, colors, err, errlen)) == -1)
			return -1;
		opts->color = i;
		break;
	case OPT_STAGES:
		return set_stages(opts, arg, err, errlen);
	case OPT_RECORD:
		opts->record = arg;
		break;
	case OPT_SUMMARY:
	case OPT_NO_SUMMARY:
		opts->summary = ch == OPT_SUMMARY;
		break;
	case OPT_REQUEST_MACROS:
		opts->request_macros = 1;
		break;
	case OPT_REQUEST_LIMIT:
		opts->request_limit_set = 1;
		if (strcmp(arg, "none") == 0)
			opts->request_limit = 0;
		else if (parse_uint(arg, 1, ULONG_MAX, &opts->request_limit) ==
		    -1)
			return reason(err, errlen,
			    "--request-macros-limit:"
			    " '%s' is not a number of macros from 1 up, or none",
			    arg);
		break;
	case OPT_NO_REPLY:
		if ((i = choose("--no-reply", arg, noreplies, err,
		    errlen)) == -1)
			return -1;
		opts->noreply = i;
		break;
	case OPT_TIMEOUT:
		if (number(ch, arg, &n, err, errlen) == -1)
			return -1;
		opts->timeout = (int)n;
		break;
	}
	return 0;
}

/*
 * The options of inspect as a service, and milter-test-client's that
 * mean nothing to libmilter.  Returns 0 (ch is not one of them, or was
 * taken), or -1 with a reason in err.
 */
static int
service_option(struct options *opts, int ch, const char *arg, char *err,
    size_t errlen)
{
	unsigned long	 n;
	size_t		 bad;

	switch (ch) {
	case OPT_DAEMON:
	case OPT_NO_DAEMON:
		opts->daemon = ch == OPT_DAEMON;
		break;
	case OPT_PID_FILE:
		opts->pid_file = arg;
		break;
	case 'u':
	case OPT_USER:
	case OPT_USER_NAME:
	case OPT_USER_ID:
		if (id_range(ch, arg, "user", err, errlen) == -1)
			return -1;
		opts->user = arg;
		opts->user_kind = id_kind(ch);
		break;
	case 'g':
	case OPT_GROUP:
	case OPT_GROUP_NAME:
	case OPT_GROUP_ID:
		if (id_range(ch, arg, "group", err, errlen) == -1)
			return -1;
		opts->group = arg;
		opts->group_kind = id_kind(ch);
		break;
	case OPT_SOCKET_GROUP:
		if (id_range(ch, arg, "group", err, errlen) == -1)
			return -1;
		opts->socket_group = arg;
		break;
	case OPT_SOCKET_MODE:
		if (parse_mode(arg, &opts->socket_mode) == -1)
			return reason(err, errlen, "--unix-socket-mode: "
			    "'%s' is not an octal mode from 0 to 0777", arg);
		opts->socket_mode_set = 1;
		break;
	case OPT_LOG_LEVEL:
		if (log_parse_levels(arg, &opts->log_levels, &bad) == -1)
			return reason(err, errlen, "--log-level: unknown "
			    "level '%.*s' in '%s' (levels: %s)",
			    (int)strcspn(arg + bad, "|"), arg + bad, arg,
			    LEVEL_NAMES);
		break;
	case OPT_LOG_PATH:
		opts->log_path = arg;
		break;
	case OPT_SYSLOG:
		opts->syslog = 1;
		break;
	case OPT_SYSLOG_FACILITY:
		if (log_parse_facility(arg, &opts->syslog_facility) == -1)
			return reason(err, errlen, "--syslog-facility: "
			    "unknown facility '%s'", arg);
		break;
	case OPT_WORKERS:
		if (number(ch, arg, &n, err, errlen) == -1)
			return -1;
		opts->workers = (unsigned int)n;
		break;
	case OPT_MEMORY:
		opts->report_memory = 1;
		break;
	case OPT_BACKLOG:
		if (number(ch, arg, &n, err, errlen) == -1)
			return -1;
		opts->backlog = (int)n;
		break;
	case OPT_EVENT_LOOP:
		if (strcmp(arg, "glib") != 0 && strcmp(arg, "libev") != 0)
			return reason(err, errlen, "--event-loop-backend:"
			    " unknown backend '%s' (expected glib or libev)",
			    arg);
		opts->event_loop_backend = arg;
		break;
	case OPT_PACKET_BUFFER:
		opts->packet_buffer_size = arg;
		return number(ch, arg, &n, err, errlen);
	case OPT_MAX_PENDING:
		opts->max_pending = arg;
		return number(ch, arg, &n, err, errlen);
	}
	return 0;
}

/*
 * The options of the milter behind (--forward).  Returns 0 (ch is not
 * one of them, or was taken), or -1 with a reason in err.
 */
static int
forward_option(struct options *opts, int ch, const char *arg, char *err,
    size_t errlen)
{
	static const char *const names[] = { "--forward-connect-timeout",
	    "--forward-command-timeout", "--forward-eom-timeout" };
	unsigned long	*ms[] = { &opts->forward.connect_ms,
			    &opts->forward.command_ms, &opts->forward.eom_ms };
	int		 i;

	switch (ch) {
	case OPT_FORWARD:
		opts->forward.spec = arg;
		break;
	case OPT_FORWARD_DEFAULT:
		if ((i = choose("--forward-default", arg, defaults, err,
		    errlen)) == -1)
			return -1;
		opts->forward.dflt = i;
		opts->forward_only = "--forward-default";
		break;
	case OPT_FORWARD_CONNECT:
	case OPT_FORWARD_COMMAND:
	case OPT_FORWARD_EOM:
		i = ch - OPT_FORWARD_CONNECT;
		if (parse_ms(arg, OPTIONS_FORWARD_MAX, ms[i]) == -1)
			return reason(err, errlen, "%s: '%s' is not a number "
			    "of seconds from 0.001 to %d", names[i], arg,
			    OPTIONS_FORWARD_MAX / 1000);
		opts->forward_only = names[i];
		break;
	}
	return 0;
}

/*
 * What --forward cannot go with, and its spec taken apart.  Returns 0,
 * or -1 with a reason in err.
 */
static int
check_forward(struct options *opts, char *err, size_t errlen)
{
	struct forward_conf	*f = &opts->forward;
	const struct spec	*w = &opts->where;
	char			 why[256];

	if (f->spec == NULL) {
		if (opts->forward_only != NULL)
			return reason(err, errlen, "%s: applies to --forward, "
			    "which is not given", opts->forward_only);
		return 0;
	}
	if (opts->request_macros)
		return reason(err, errlen, "--request-macros with --forward: "
		    "the milter behind would get other macros than from the "
		    "MTA; it asks for its own");
	if (opts->macro_source == SOURCE_LOOKUP)
		return reason(err, errlen, "--macro-source lookup with "
		    "--forward: looked-up macros are not what the MTA sent, "
		    "and the milter behind must get just that");
	if (opts->noreply != NOREPLY_AUTO)
		return reason(err, errlen, "--no-reply with --forward: the "
		    "milter behind chooses the stages it answers");
	if (spec_parse(f->spec, &f->where, why, sizeof why) == -1)
		return reason(err, errlen, "--forward: %s", why);
	if (f->where.family == w->family && (w->family == AF_UNIX ?
	    strcmp(f->where.path, w->path) == 0 : f->where.port == w->port &&
	    strcmp(f->where.host, w->host) == 0))
		return reason(err, errlen, "--forward %s: that is where "
		    "inspect listens (%s)", f->spec, opts->spec);
	return 0;
}

/*
 * "SECONDS[.FRACTION]" into ms, from 1 to max.  Returns 0, or -1 if it
 * is not that.
 */
static int
parse_ms(const char *arg, unsigned long max, unsigned long *ms)
{
	unsigned long	 n = 0, scale = 1000;
	const char	*p = arg;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++)
		if ((n = n * 10 + (unsigned long)(*p - '0') * 1000) > max)
			return -1;
	if (*p == '.' && isdigit((unsigned char)p[1]))
		for (p++; isdigit((unsigned char)*p); p++) {
			scale /= 10;
			n += (unsigned long)(*p - '0') * scale;
			if (scale == 0)
				return -1;
		}
	if (*p != '\0' || n == 0 || n > max)
		return -1;
	*ms = n;
	return 0;
}

/*
 * The options of probing: what inspect answers and changes.  Returns 0
 * (ch is not one of them, or was taken), or -1 with a reason in err.
 */
static int
probe_option(struct options *opts, int ch, const char *arg, char *err,
    size_t errlen)
{
	if (ch == OPT_REPLY)
		return probe_parse_reply(&opts->probe, arg, err, errlen);
	if (ch == OPT_DELAY)
		return probe_parse_delay(&opts->probe, arg, err, errlen);
	if (ch >= OPT_ADD_HEADER && ch <= OPT_QUARANTINE)
		return probe_parse_change(&opts->probe, ch - OPT_ADD_HEADER,
		    arg, err, errlen);
	return 0;
}

/* -u and -g name a user or group, --*-name only a name, --*-id a number. */
static int
id_kind(int ch)
{
	if (ch == OPT_USER_NAME || ch == OPT_GROUP_NAME)
		return ID_NAME;
	if (ch == OPT_USER_ID || ch == OPT_GROUP_ID)
		return ID_NUMBER;
	return ID_NAME_OR_NUMBER;
}

/*
 * The value of option ch, a user or group (what), is not a number beyond
 * the largest id: checked here, not only when the ids are resolved, so
 * that it is a usage error refused before anything starts.  Returns 0,
 * or -1 with a reason, naming the option, in err.
 */
static int
id_range(int ch, const char *arg, const char *what, char *err,
    size_t errlen)
{
	char	 why[128];
	size_t	 i;

	if (ids_range(arg, id_kind(ch), what, why, sizeof why) == 0)
		return 0;
	for (i = 0; nonempty[i].opt != ch; i++)
		;
	return reason(err, errlen, "%s: %s", nonempty[i].name, why);
}

/*
 * The value of option ch, if it names a file, a user or a group, is not
 * empty.  Returns 0, or -1 with a reason in err.
 */
static int
empty_value(int ch, const char *arg, char *err, size_t errlen)
{
	size_t	 i;

	if (arg == NULL || *arg != '\0')
		return 0;
	for (i = 0; i < sizeof nonempty / sizeof nonempty[0]; i++)
		if (nonempty[i].opt == ch)
			return reason(err, errlen, "%s: empty %s",
			    nonempty[i].name, nonempty[i].what);
	return 0;
}

/*
 * The value of option ch, which takes a number, into *v.  Returns 0, or
 * -1 with a reason, which names the range if it has a useful one, in
 * err.
 */
static int
number(int ch, const char *arg, unsigned long *v, char *err, size_t errlen)
{
	const struct number	*o = numbers;

	while (o->opt != ch)
		o++;
	if (parse_uint(arg, o->min, o->max, v) == 0)
		return 0;
	if (o->max == LONG_MAX)
		return reason(err, errlen, "%s: '%s' is not %s",
		    o->name, arg, o->what);
	return reason(err, errlen, "%s: '%s' is not %s from %lu to %lu",
	    o->name, arg, o->what, o->min, o->max);
}

void
options_free(struct options *opts)
{
	clear_macros(opts);
	probe_free(&opts->probe);
	while (opts->nabsolute > 0)
		free(opts->absolute[--opts->nabsolute]);
}

int
options_absolute(struct options *opts, char *err, size_t errlen)
{
	const char	**paths[OPTIONS_MAX_OUTPUTS + 2];
	char		  cwd[PATH_MAX], *abs;
	size_t		  i, n = 0;

	for (i = 0; i < opts->noutputs; i++)
		paths[n++] = &opts->outputs[i];
	paths[n++] = &opts->log_path;
	paths[n++] = &opts->pid_file;
	for (i = 0; i < n; i++) {
		if (*paths[i] == NULL || **paths[i] == '/' ||
		    strcmp(*paths[i], "-") == 0)
			continue;
		if (getcwd(cwd, sizeof cwd) == NULL)
			return reason(err, errlen, "%s: cannot tell the "
			    "working directory: %s", *paths[i],
			    strerror(errno));
		if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd,
		    *paths[i]) == -1)
			return reason(err, errlen, "%s: %s", *paths[i],
			    strerror(ENOMEM));
		opts->absolute[opts->nabsolute++] = abs;
		*paths[i] = abs;
	}
	return 0;
}


/* A decimal number from min to max, with nothing else around it. */
static int
parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *v)
{
	char	*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *v < min || *v > max)
		return -1;
	return 0;
}

/* An octal file mode of at most 0777, such as 0660 or 660. */
static int
parse_mode(const char *s, unsigned int *mode)
{
	char		*end;
	unsigned long	 v;

	if (*s < '0' || *s > '7')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno != 0 || *end != '\0' || v > 0777)
		return -1;
	*mode = (unsigned int)v;
	return 0;
}

/*
 * The options that make sense only together, or not at all together,
 * checked before anything is started.
 */
static int
check_service(struct options *opts, char *err, size_t errlen)
{
	size_t	 i;

	if (opts->where.family != AF_UNIX && (opts->socket_group != NULL ||
	    opts->socket_mode_set))
		return reason(err, errlen, "--unix-socket-group and "
		    "--unix-socket-mode need a unix: spec, not '%s'",
		    opts->spec);
	for (i = 0; i < opts->noutputs; i++)
		if (opts->daemon && strcmp(opts->outputs[i], "-") == 0)
			return reason(err, errlen,
			    "--daemon: '--output -' "
			    "would be /dev/null once detached");
	if (opts->daemon && opts->log_path != NULL &&
	    strcmp(opts->log_path, "-") == 0)
		return reason(err, errlen,
		    "--daemon: '--log-path -' would be "
		    "/dev/null once detached");
	if (opts->daemon && opts->noutputs == 0 && !opts->quiet)
		return reason(err, errlen, "--daemon: standard output is "
		    "/dev/null once detached; give --output PATH for the "
		    "report, or -q");
	if (opts->noutputs == 0)
		opts->outputs[opts->noutputs++] = "-";
	opts->quiet_summary = opts->quiet && opts->summary == 1;
	/*
	 * Quiet and recording: the events still pass through for the
	 * scripts, but no stage and no summary is reported.
	 */
	if (opts->quiet && opts->record != NULL) {
		opts->quiet = 0;
		opts->stages = 0;
		opts->summary = 0;
	}
	if (opts->verbose)
		opts->log_levels = LEVEL_ALL;
	if (opts->report_memory)
		opts->log_levels |= LEVEL_PROFILE;
	return 0;
}

/*
 * Names are separated by commas or white space, as in Sendmail's
 * configuration.  A list that starts with '+' adds to the current list;
 * any other replaces it.  NULL sets the default list.
 */
/*
 * *v = the index of arg among names.  Returns 0, or -1 with a reason
 * naming opt, arg and the words it takes.
 */
static int
choose(const char *opt, const char *arg, const char *const *names,
    char *err, size_t errlen)
{
	char	 words[128];
	size_t	 i, n, len = 0;

	for (n = 0; names[n] != NULL; n++)
		if (strcmp(arg, names[n]) == 0)
			return (int)n;
	words[0] = '\0';
	for (i = 0; i < n && len < sizeof words; i++)
		len += snprintf(words + len, sizeof words - len, "%s%s",
		    names[i], i + 2 < n ? ", " : i + 2 == n ? " or " : "");
	return reason(err, errlen, "%s: '%s' is not %s", opt, arg, words);
}

static int
set_macros(struct options *opts, const char *list, char *err,
    size_t errlen)
{
	const char	*const *d;
	const char	*p, *arg = list;
	size_t		 n, before;

	if (list == NULL || *list != '+') {
		clear_macros(opts);
		if (list == NULL) {
			for (d = options_default_macros; *d != NULL; d++)
				if (add_macro(opts, *d, strlen(*d), err,
				    errlen) == -1)
					return -1;
			return 0;
		}
	} else
		list++;

	before = opts->nmacros;
	for (p = list; *p != '\0'; p += n) {
		p += strspn(p, ", \t\r\n");
		n = strcspn(p, ", \t\r\n");
		if (n > 0 && add_macro(opts, p, n, err, errlen) == -1)
			return -1;
	}
	/* Names already listed count, so '+j' on the default list is fine. */
	if (opts->nmacros == before && !names_in(list))
		return reason(err, errlen,
		    "--macros: no macro names in '%s'",
		    arg);
	return 0;
}

static int
add_macro(struct options *opts, const char *name, size_t len, char *err,
    size_t errlen)
{
	char	**v;
	size_t	  i;

	if (!valid_macro(name, len))
		return reason(err, errlen,
		    "--macros: '%.*s' is not a macro "
		    "name (a character, or a word in braces as in {%s})",
		    (int)len, name, "client_addr");
	for (i = 0; i < opts->nmacros; i++)
		if (strlen(opts->macros[i]) == len &&
		    memcmp(opts->macros[i], name, len) == 0)
			return 0;
	if ((v = reallocarray(opts->macros, opts->nmacros + 1,
	    sizeof *v)) == NULL)
		return reason(err, errlen,
		    "--macros: %s", strerror(errno));
	opts->macros = v;
	if ((v[opts->nmacros] = strndup(name, len)) == NULL)
		return reason(err, errlen,
		    "--macros: %s", strerror(errno));
	opts->nmacros++;
	return 0;
}

/*
 * A macro name is one printable character, a word of letters, digits and
 * underscores (what Postfix sends when a list in main.cf lacks braces), or
 * such a word in braces.
 */
static int
valid_macro(const char *name, size_t len)
{
	size_t	 i;

	if (len == 1)
		return isgraph((unsigned char)name[0]) && name[0] != '{' &&
		    name[0] != '}';
	if (len > 64)
		return 0;
	if (name[0] == '{') {
		if (len < 3 || name[len - 1] != '}')
			return 0;
		name++;
		len -= 2;
	}
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return 0;
	return 1;
}

static void
clear_macros(struct options *opts)
{
	size_t	 i;

	for (i = 0; i < opts->nmacros; i++)
		free(opts->macros[i]);
	free(opts->macros);
	opts->macros = NULL;
	opts->nmacros = 0;
}

/*
 * --stages: names separated by commas (or spaces), taken in turn: a
 * stage adds it, -STAGE leaves it out, all adds every one and none
 * leaves every one out (for the summary lines alone).  A list that
 * begins by leaving one out starts from all of them.  Names are taken in
 * any case; mail and rcpt, the SMTP commands, name envfrom and envrcpt.
 * Returns 0, or -1 with a reason naming the bad name and the names there
 * are.
 */
static int
set_stages(struct options *opts, const char *list, char *err,
    size_t errlen)
{
	static const struct {
		const char	*name;
		enum stage	 stage;
	} aliases[] = { { "mail", STAGE_ENVFROM }, { "rcpt", STAGE_ENVRCPT } };
	const char	*p, *name;
	char		 names[192];
	size_t		 n, k, len = 0;
	unsigned int	 bits;
	int		 i, out, first = 1;

	opts->stages = 0;
	for (p = list; *p != '\0'; p += n) {
		p += strspn(p, ", \t");
		if ((n = strcspn(p, ", \t")) == 0)
			continue;
		out = *p == '-';
		name = p + out;
		k = n - out;
		bits = 0;
		for (i = 0; i < STAGE_MAX && bits == 0; i++)
			if (strlen(print_stage_names[i]) == k &&
			    strncasecmp(name, print_stage_names[i], k) == 0)
				bits = 1U << i;
		for (i = 0; i < 2 && bits == 0; i++)
			if (strlen(aliases[i].name) == k &&
			    strncasecmp(name, aliases[i].name, k) == 0)
				bits = 1U << aliases[i].stage;
		if (bits == 0 && !out && k == 3 &&
		    strncasecmp(name, "all", 3) == 0)
			bits = OPTIONS_ALL_STAGES;
		if (bits == 0 && !out && k == 4 &&
		    strncasecmp(name, "none", 4) == 0) {
			out = 1;
			bits = OPTIONS_ALL_STAGES;
		}
		if (bits == 0) {
			for (i = 0; i < STAGE_MAX; i++)
				len += snprintf(names + len, sizeof names -
				    len, "%s, ", print_stage_names[i]);
			return reason(err, errlen, "--stages: '%.*s' is not "
			    "a stage (%sall or none; mail for envfrom, rcpt "
			    "for envrcpt; -STAGE leaves one out)", (int)n, p,
			    names);
		}
		if (first && out && *p == '-')
			opts->stages = OPTIONS_ALL_STAGES;
		first = 0;
		if (out)
			opts->stages &= ~bits;
		else
			opts->stages |= bits;
	}
	if (first)
		return reason(err, errlen,
		    "--stages: no stage names in '%s'", list);
	return 0;
}

void
options_terminal(struct options *opts, int terminal)
{
	const char	*no_color = getenv("NO_COLOR");
	const char	*term = getenv("TERM");

	if (opts->color == COLOR_AUTO)
		opts->colored = terminal && (no_color == NULL ||
		    *no_color == '\0') && (term == NULL ||
		    strcmp(term, "dumb") != 0);
	else
		opts->colored = opts->color == COLOR_ALWAYS;
	if (opts->summary == -1)
		opts->summary = terminal;
}

int
options_reported(const struct options *opts)
{
	return !opts->quiet && (opts->stages != 0 || opts->summary == 1);
}

const char *
options_describe(const struct options *opts, char *buf, size_t len)
{
	size_t		 n = 0, i;
	unsigned int	 out;
	int		 st, but, first;

#define PUT(...) do {							\
	if (n < len)							\
		n += snprintf(buf + n, len - n, __VA_ARGS__);		\
} while (0)
	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (!options_reported(opts))
		PUT("no report");
	else {
		PUT("%s report to ", opts->format == FORMAT_JSON ? "json" :
		    "text");
		for (i = 0; i < opts->noutputs; i++)
			PUT("%s%s", i == 0 ? "" : i + 1 < opts->noutputs ?
			    ", " : " and ", strcmp(opts->outputs[i], "-") ==
			    0 ? "standard output" : opts->outputs[i]);
	}
	if (options_reported(opts) && opts->stages != OPTIONS_ALL_STAGES) {
		/* Fewer names: those reported, or all but those not. */
		for (st = 0, out = 0; st < STAGE_MAX; st++)
			out += !(opts->stages & 1U << st);
		but = out <= STAGE_MAX / 2;
		PUT(opts->stages == 0 ? ", no stage" : but ?
		    ", stages all but " : ", stages ");
		for (st = 0, first = 1; st < STAGE_MAX; st++)
			if (((opts->stages & 1U << st) == 0) == but) {
				PUT("%s%s", first ? "" : ",",
				    print_stage_names[st]);
				first = 0;
			}
	}
	if (options_reported(opts) && opts->summary == 1)
		PUT(", summary");
	if (opts->request_macros)
		PUT(", requesting macros");
	if (opts->record != NULL)
		PUT(", recording to %s", opts->record);
	if (probe_active(&opts->probe))
		PUT(", probing");
#undef PUT
	return buf;
}

void
options_warnings(const struct options *opts)
{
	if (opts->quiet_summary)
		log_warn("-q with --summary: -q reports nothing, not even "
		    "the summary lines; for those alone, give --stages none "
		    "--summary instead of -q");
	else if (!opts->quiet && !options_reported(opts) &&
	    opts->record == NULL && opts->forward.spec == NULL &&
	    !probe_active(&opts->probe))
		log_warn("nothing is reported: --stages leaves no stage, and "
		    "there is no summary line (--summary)");
}

/* Whether list holds anything but separators. */
static int
names_in(const char *list)
{
	return list[strspn(list, ", \t\r\n")] != '\0';
}

void
options_notices(const struct options *opts)
{
	if (opts->event_loop_backend != NULL)
		log_notice("--event-loop-backend %s: no effect; libmilter "
		    "has its own event loop", opts->event_loop_backend);
	if (opts->packet_buffer_size != NULL)
		log_notice("--packet-buffer-size %s: no effect; libmilter "
		    "sends each reply at once", opts->packet_buffer_size);
	if (opts->max_pending != NULL)
		log_notice("--max-pending-finished-sessions %s: no effect; "
		    "libmilter ends each session itself", opts->max_pending);
}
