/* options.h -- command line of inspect */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_OPTIONS_H
#define INSPECT_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "forward.h"
#include "output.h"
#include "print.h"
#include "probe.h"
#include "spec.h"

#define OPTIONS_DEFAULT_SPEC	"inet:10025@[127.0.0.1]"
#define OPTIONS_SPEC_ENV	"MILTER_DEFAULT_CONNECTION_SPEC"
#define OPTIONS_MAX_OUTPUTS	OUTPUT_MAX
#define OPTIONS_MAX_TIMEOUT	2147483	/* libmilter keeps ms in an int */
#define OPTIONS_MAX_WORKERS	1000
#define OPTIONS_SOCKET_MODE	0660
#define OPTIONS_REQUEST_LIMIT	50	/* Sendmail's MAXFILTERMACROS */
#define OPTIONS_ALL_STAGES	((1U << STAGE_MAX) - 1)
/*
 * --forward's timeouts, in ms: each below the MTAs' own (Sendmail waits
 * 10 s for an answer, Postfix 30 s; 300 s for the end of a message, and
 * inspect tells the MTA it is at work meanwhile).
 */
#define OPTIONS_FORWARD_CONNECT	5000
#define OPTIONS_FORWARD_COMMAND	8000
#define OPTIONS_FORWARD_EOM	240000
#define OPTIONS_FORWARD_MAX	3600000

/* When to tell the MTA that stages get no reply (SMFIP_NR_*). */
enum noreply {
	NOREPLY_AUTO,	/* TCP if ACKs can be hurried; unix: the content's */
	NOREPLY_YES,
	NOREPLY_NO
};

/* Which macros each event shows (--show-macros). */
enum show_macros {
	SHOW_SENT,		/* those sent with the event's own command */
	SHOW_ALL,		/* ... and every one visible, with its stage */
	SHOW_NONE
};

/* When the text report is coloured (--color). */
enum color {
	COLOR_AUTO,		/* on terminals, unless NO_COLOR or TERM=dumb */
	COLOR_ALWAYS,
	COLOR_NEVER
};

/* Where the macros are read (--macro-source). */
enum macro_source {
	SOURCE_AUTO,		/* libmilter's context if it checks out */
	SOURCE_CONTEXT,		/* libmilter's context, or none */
	SOURCE_LOOKUP		/* smfi_getsymval() over the list */
};


struct options {
	const char	*spec;		/* as given, for smfi_setconn */
	struct spec	 where;
	enum format	 format;
	enum color	 color;
	int		 colored;	/* settled by options_terminal() */
	unsigned int	 stages;	/* 1 << STAGE_*: the stages reported */
	int		 summary;	/* -1: on terminals, as settled by */
					/* options_terminal(); 0 or 1 */
	int		 quiet_summary;	/* -q with --summary, which it drops */
	const char	*outputs[OPTIONS_MAX_OUTPUTS];	/* "-" is stdout */
	size_t		 noutputs;
	char		**macros;	/* to request and look up, owned */
	size_t		 nmacros;
	int		 macros_given;	/* --macros: show only those */
	int		 request_macros;
	unsigned long	 request_limit;	/* names a stage; 0: any number */
	int		 request_limit_set;
	enum show_macros show_macros;
	enum macro_source macro_source;
	int		 quiet;
	const char	*record;	/* --record: the scripts' directory */
	int		 verbose;
	int		 timeout;	/* seconds; 0 keeps libmilter's */
	enum noreply	 noreply;
	int		 help;
	int		 version;
	struct probe	 probe;		/* what inspect answers and changes */
	struct forward_conf forward;	/* spec NULL: not forwarding */
	const char	*forward_only;	/* an option that needs --forward */

	/* Running as a service. */
	int		 daemon;
	const char	*pid_file;
	const char	*user;
	int		 user_kind;	/* enum idkind */
	const char	*group;
	int		 group_kind;	/* enum idkind */
	const char	*socket_group;
	unsigned int	 socket_mode;
	int		 socket_mode_set;
	unsigned int	 log_levels;	/* LEVEL_* */
	const char	*log_path;	/* NULL: standard error */
	int		 syslog;
	int		 syslog_facility;
	unsigned int	 workers;
	int		 report_memory;
	int		 backlog;	/* 0 keeps libmilter's */
	/* The absolute paths options_absolute() made, owned. */
	char		*absolute[OPTIONS_MAX_OUTPUTS + 2];
	size_t		 nabsolute;
	/* milter-test-client's options that mean nothing to libmilter */
	const char	*event_loop_backend;
	const char	*packet_buffer_size;
	const char	*max_pending;
};

/* Every macro name Postfix or Sendmail can send, NULL-terminated. */
extern const char *const options_default_macros[];

/*
 * Fill opts from argv, starting from the defaults: the spec in the
 * environment variable MILTER_DEFAULT_CONNECTION_SPEC or
 * OPTIONS_DEFAULT_SPEC, text to standard output, the default macro list.
 * Returns 0, or -1 with a one-line reason (naming the bad value) in err;
 * either way opts must be released with options_free().  Prints nothing.
 */
int	options_parse(struct options *opts, int argc, char *argv[],
	    char *err, size_t errlen);


/*
 * Make the paths of the files inspect opens again later (--output,
 * --log-path, --pid-file) absolute, against the working directory now:
 * a daemon works in /, and SIGHUP reopens the files there.  Returns 0,
 * or -1 with the reason in err.
 */
int	options_absolute(struct options *opts, char *err, size_t errlen);

/*
 * Settle what depends on whether the report goes to a terminal
 * (terminal: every output is one): the colour of --color auto, which
 * also needs NO_COLOR unset or empty and TERM other than dumb, and the
 * summary lines unless --summary or --no-summary said.
 */
void	options_terminal(struct options *opts, int terminal);

/*
 * Whether anything is written to the outputs, after options_terminal():
 * not with -q, nor with no stage and no summary line.
 */
int	options_reported(const struct options *opts);

/*
 * What inspect reports and does, for the start-up line, after
 * options_terminal(): the report's format and outputs ("no report" if
 * nothing is reported), the stages if not all, the summary, and
 * requesting macros, recording and probing if asked for, joined by
 * ", " into buf.  Returns buf, cut short if len is too small.
 */
const char *options_describe(const struct options *opts, char *buf,
	    size_t len);

/*
 * Log a warning, after options_terminal(), if the options report
 * nothing that was asked for: -q with --summary, or no stage and no
 * summary line while nothing else is done (recording, forwarding or
 * probing).  -q alone is not warned of: reporting nothing is what it
 * asks, and the start-up line says "no report".
 */
void	options_warnings(const struct options *opts);

/* Write the summary of the options (--help) to fp. */
void	options_usage(FILE *fp);

/*
 * Log a notice for each of milter-test-client's options that libmilter
 * has no use for, accepted so that its command lines still work.
 */
void	options_notices(const struct options *opts);

/* Release what options_parse() allocated. */
void	options_free(struct options *opts);

#endif
