/* inspect.c -- a milter that shows everything the MTA sends it */
/* SPDX-License-Identifier: ISC */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "options.h"
#include "print.h"

#ifndef VERSION
#define VERSION	"unknown"
#endif

#define EX_USAGE	64

/* Sendmail takes at most this many macros per stage from a symlist. */
#define SENDMAIL_MAX_SYMLIST	50

/* What inspect keeps per SMTP connection, in smfi_setpriv(). */
struct session {
	uint64_t	 id;
	int		 rcpt_rej;	/* rejected recipients negotiated */
	struct buf	 out;		/* the event being written */
	struct macro	*macros;	/* opts.nmacros entries */
};

static void	usage(FILE *);
static void	warnx_(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static char	*join_macros(void);
static int	open_outputs(void);
static int	check_spec(const struct spec *);
static void	explain_listen_failure(const struct spec *);
static int	resolve(const struct spec *, struct sockaddr_storage *,
		    socklen_t *);
static struct session *session_get(SMFICTX *);
static void	session_end(SMFICTX *);
static void	emit(SMFICTX *, struct session *, struct event *);
static void	output_write(const char *, size_t);
static sfsistat	cb_negotiate(SMFICTX *, unsigned long, unsigned long,
		    unsigned long, unsigned long, unsigned long *,
		    unsigned long *, unsigned long *, unsigned long *);
static sfsistat	cb_connect(SMFICTX *, char *, _SOCK_ADDR *);
static sfsistat	cb_helo(SMFICTX *, char *);
static sfsistat	cb_envfrom(SMFICTX *, char **);
static sfsistat	cb_envrcpt(SMFICTX *, char **);
static sfsistat	cb_data(SMFICTX *);
static sfsistat	cb_header(SMFICTX *, char *, char *);
static sfsistat	cb_eoh(SMFICTX *);
static sfsistat	cb_body(SMFICTX *, unsigned char *, size_t);
static sfsistat	cb_eom(SMFICTX *);
static sfsistat	cb_abort(SMFICTX *);
static sfsistat	cb_close(SMFICTX *);
static sfsistat	cb_unknown(SMFICTX *, const char *);

/* Set once in main() before smfi_main(); read-only while serving. */
static struct options	 opts;
static char		*symlist;	/* opts.macros joined by spaces */
static int		 outfds[OPTIONS_MAX_OUTPUTS];
static size_t		 noutfds;

static pthread_mutex_t	 output_lock = PTHREAD_MUTEX_INITIALIZER;
static int		 output_failed[OPTIONS_MAX_OUTPUTS];
static atomic_ullong	 next_session = 1;
static atomic_ullong	 events_lost;
static atomic_int	 warned_symlist;

/* libmilter wants writable strings. */
static char		 filter_name[] = "inspect";
static char		 rcpt_mailer[] = "{rcpt_mailer}";

static struct smfiDesc desc = {
	.xxfi_name = filter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,		/* inspect never changes mail */
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = cb_unknown,
	.xxfi_data = cb_data,
	.xxfi_negotiate = cb_negotiate,
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: inspect [options] [SPEC]\n"
"\n"
"Show every stage, argument and macro an MTA sends to a milter.\n"
"\n"
"  -s, --connection-spec SPEC  where to listen: unix:PATH, local:PATH,\n"
"                              inet:PORT[@HOST|@[ADDR]], inet6:PORT[@...]\n"
"                              (default: $%s or %s)\n"
"      --format text|json      report format (default: text)\n"
"      --output PATH           write the report to PATH instead of standard\n"
"                              output ('-' is standard output; repeatable)\n"
"      --macros LIST           macro names to show, separated by commas or\n"
"                              spaces; '+LIST' adds to the list\n"
"                              (default: every macro Postfix or Sendmail sends)\n"
"      --request-macros        ask the MTA to send the listed macros at every\n"
"                              stage\n"
"      --timeout SECONDS       I/O timeout towards the MTA (libmilter's: 7210)\n"
"  -q, --quiet                 report nothing per stage\n"
"  -v, --verbose               say more on standard error\n"
"  -h, --help                  show this help\n"
"      --version               show the version\n",
	    OPTIONS_SPEC_ENV, OPTIONS_DEFAULT_SPEC);
}

int
main(int argc, char *argv[])
{
	struct stat	 st;
	char		 err[512];
	char		*conn;
	int		 rc, status = 1;

	if (options_parse(&opts, argc, argv, err, sizeof err) == -1) {
		fprintf(stderr, "inspect: %s\n", err);
		options_free(&opts);
		return EX_USAGE;
	}
	if (opts.help || opts.version) {
		if (opts.help)
			usage(stdout);
		else
			printf("inspect %s\n", VERSION);
		options_free(&opts);
		return 0;
	}

	/* libmilter reports its own troubles to syslog, as inspect. */
	openlog("inspect", LOG_PID, LOG_MAIL);
	/* A reader that goes away must cost events, not the process. */
	signal(SIGPIPE, SIG_IGN);

	if ((symlist = join_macros()) == NULL) {
		warnx_("%s", strerror(errno));
		goto done;
	}
	if (opts.request_macros && opts.nmacros > SENDMAIL_MAX_SYMLIST)
		warnx_("note: %zu macros requested; Sendmail takes at most "
		    "%d per stage, Postfix takes them all", opts.nmacros,
		    SENDMAIL_MAX_SYMLIST);
	if (open_outputs() == -1 || check_spec(&opts.where) == -1)
		goto done;

	/* libmilter copies the spec, but wants it writable. */
	if ((conn = strdup(opts.spec)) == NULL) {
		warnx_("%s", strerror(errno));
		goto done;
	}
	rc = smfi_setconn(conn);
	free(conn);
	if (rc == MI_FAILURE || smfi_register(desc) == MI_FAILURE ||
	    (opts.timeout > 0 && smfi_settimeout(opts.timeout) == MI_FAILURE)) {
		warnx_("cannot set up libmilter");
		goto done;
	}
	if (smfi_opensocket(1) == MI_FAILURE) {
		explain_listen_failure(&opts.where);
		goto done;
	}
	if (opts.where.family == AF_UNIX && stat(opts.where.path, &st) == -1)
		memset(&st, 0, sizeof st);
	warnx_("listening on %s (pid %ld, %zu macros, %s report)", opts.spec,
	    (long)getpid(), opts.nmacros,
	    opts.format == FORMAT_JSON ? "json" : "text");
	if (opts.verbose) {
		warnx_("macros%s: %s", opts.request_macros ?
		    " (requested at every stage)" : "", symlist);
		if (opts.timeout > 0)
			warnx_("timeout towards the MTA: %d s", opts.timeout);
	}

	rc = smfi_main();

	/*
	 * libmilter leaves its unix socket behind when run as root; remove
	 * it, unless it has been replaced by another one meanwhile.
	 */
	if (opts.where.family == AF_UNIX && geteuid() == 0) {
		struct stat	 now;

		if (lstat(opts.where.path, &now) == 0 &&
		    S_ISSOCK(now.st_mode) && now.st_ino == st.st_ino &&
		    now.st_dev == st.st_dev)
			unlink(opts.where.path);
	}
	if (atomic_load(&events_lost) > 0)
		warnx_("%llu events could not be written",
		    (unsigned long long)atomic_load(&events_lost));
	if (rc == MI_FAILURE)
		warnx_("libmilter stopped with an error (see syslog)");
	else {
		if (opts.verbose)
			warnx_("stopped");
		status = 0;
	}
done:
	free(symlist);
	options_free(&opts);
	return status;
}

/* A diagnostic line on standard error, whole even from several threads. */
static void
warnx_(const char *fmt, ...)
{
	va_list	 ap;

	flockfile(stderr);
	fputs("inspect: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static char *
join_macros(void)
{
	size_t	 i, len = 1;
	char	*s;

	for (i = 0; i < opts.nmacros; i++)
		len += strlen(opts.macros[i]) + 1;
	if ((s = malloc(len)) == NULL)
		return NULL;
	*s = '\0';
	for (i = 0; i < opts.nmacros; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, opts.macros[i]);
	}
	return s;
}

/*
 * Open every --output.  A file is appended to and never reached through
 * a symbolic link; the report holds mail, so others may not read it.
 */
static int
open_outputs(void)
{
	size_t	 i;
	int	 fd;

	for (i = 0; i < opts.noutputs; i++) {
		if (strcmp(opts.outputs[i], "-") == 0)
			fd = STDOUT_FILENO;
		else if ((fd = open(opts.outputs[i], O_WRONLY | O_CREAT |
		    O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640)) == -1) {
			warnx_("--output %s: %s", opts.outputs[i],
			    strerror(errno));
			return -1;
		}
		outfds[noutfds++] = fd;
	}
	return 0;
}

/*
 * What libmilter would get wrong or not say: an unresolvable host, and a
 * unix socket that is live (libmilter would steal it) or not a socket.
 */
static int
check_spec(const struct spec *sp)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	struct stat		 st;
	socklen_t		 len;
	int			 fd, live;

	if (sp->family != AF_UNIX)
		return resolve(sp, &ss, &len);

	if (lstat(sp->path, &st) == -1)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		warnx_("%s: %s exists and is not a socket", opts.spec,
		    sp->path);
		return -1;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sp->path, strlen(sp->path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		warnx_("socket: %s", strerror(errno));
		return -1;
	}
	live = connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0;
	close(fd);
	if (live) {
		warnx_("%s: another process is listening on %s", opts.spec,
		    sp->path);
		return -1;
	}
	return 0;
}

/*
 * libmilter says why it could not listen only to syslog; find out by
 * trying the same bind, and say it on standard error.
 */
static void
explain_listen_failure(const struct spec *sp)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd, one = 1, rc, saved;

	if (sp->family == AF_UNIX) {
		memset(&sun, 0, sizeof sun);
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, sp->path, strlen(sp->path) + 1);
		memcpy(&ss, &sun, sizeof sun);
		len = sizeof sun;
	} else if (resolve(sp, &ss, &len) == -1)
		return;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		warnx_("cannot listen on %s: %s", opts.spec, strerror(errno));
		return;
	}
	if (sp->family != AF_UNIX)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	rc = bind(fd, (struct sockaddr *)&ss, len);
	saved = errno;
	close(fd);
	if (rc == 0) {
		if (sp->family == AF_UNIX)
			unlink(sp->path);
		warnx_("cannot listen on %s (libmilter's reason is in syslog)",
		    opts.spec);
	} else
		warnx_("cannot listen on %s: %s", opts.spec, strerror(saved));
}

/* The address libmilter will bind for an inet spec. */
static int
resolve(const struct spec *sp, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo	 hints, *res;
	char		 port[16];
	int		 rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = sp->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV |
	    (sp->literal ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof port, "%u", sp->port);
	rc = getaddrinfo(*sp->host != '\0' ? sp->host : NULL, port, &hints,
	    &res);
	if (rc != 0) {
		warnx_("%s: cannot resolve host '%s': %s", opts.spec, sp->host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * The connection's session, made on first use.  libmilter runs the
 * callbacks of one connection one at a time, though not always on the
 * same thread, so a session needs no lock of its own.
 */
static struct session *
session_get(SMFICTX *ctx)
{
	struct session	*s;

	if ((s = smfi_getpriv(ctx)) != NULL)
		return s;
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->macros = calloc(opts.nmacros, sizeof *s->macros)) == NULL) {
		free(s);
		syslog(LOG_ERR, "cannot allocate a session: %m");
		return NULL;
	}
	s->id = atomic_fetch_add(&next_session, 1);
	smfi_setpriv(ctx, s);
	return s;
}

/*
 * close ends a session; after a QUIT_NC the next connect on the same
 * context makes a new one.
 */
static void
session_end(SMFICTX *ctx)
{
	struct session	*s;

	if ((s = smfi_getpriv(ctx)) == NULL)
		return;
	smfi_setpriv(ctx, NULL);
	buf_free(&s->out);
	free(s->macros);
	free(s);
}

/*
 * Stamp ev, add the macros that are set now, format it into the
 * session's buffer and write it out in one piece.
 */
static void
emit(SMFICTX *ctx, struct session *s, struct event *ev)
{
	const char	*v;
	size_t		 i, n = 0;

	if (opts.quiet)
		return;
	if (s == NULL) {
		atomic_fetch_add(&events_lost, 1);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ev->time);
	ev->session = s->id;
	for (i = 0; i < opts.nmacros; i++)
		if ((v = smfi_getsymval(ctx, opts.macros[i])) != NULL) {
			s->macros[n].name = opts.macros[i];
			s->macros[n++].value = v;
		}
	ev->macros = s->macros;
	ev->nmacros = n;
	s->out.len = 0;
	if (print_event(&s->out, opts.format, ev) == -1) {
		atomic_fetch_add(&events_lost, 1);
		return;
	}
	output_write(s->out.data, s->out.len);
}

/*
 * Write one event to every output, whole: the lock keeps events of
 * concurrent sessions from interleaving.  A failing output loses the
 * event there, is reported once, and the mail flows on.
 */
static void
output_write(const char *p, size_t len)
{
	size_t	 i, off;
	ssize_t	 n;

	pthread_mutex_lock(&output_lock);
	for (i = 0; i < noutfds; i++) {
		for (off = 0; off < len; off += n) {
			n = write(outfds[i], p + off, len - off);
			if (n == -1 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0)
				break;
		}
		if (off == len)
			continue;
		atomic_fetch_add(&events_lost, 1);
		if (!output_failed[i]) {
			output_failed[i] = 1;
			syslog(LOG_ERR, "cannot write the report to %s: %m",
			    opts.outputs[i]);
			warnx_("cannot write the report to %s: %s",
			    opts.outputs[i], strerror(errno));
		}
	}
	pthread_mutex_unlock(&output_lock);
}

/*
 * Take no actions, and every stage with a reply: only what the MTA sends
 * by default, plus the leading space of header values and the rejected
 * recipients, so that nothing it could send is hidden.
 */
static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct session		*s;
	struct negotiation	 ng;
	struct event		 ev = { .stage = STAGE_NEGOTIATE };
	int			 stage;

	(void)f2;
	(void)f3;
	session_end(ctx);
	s = session_get(ctx);
	ng.offered_actions = f0;
	ng.offered_steps = f1;
	ng.answered_actions = 0;
	ng.answered_steps = f1 & (SMFIP_HDR_LEADSPC | SMFIP_RCPT_REJ);
	if (opts.request_macros && (f0 & SMFIF_SETSYMLIST)) {
		ng.answered_actions |= SMFIF_SETSYMLIST;
		for (stage = SMFIM_CONNECT; stage <= SMFIM_EOH; stage++)
			smfi_setsymlist(ctx, stage, symlist);
	} else if (opts.request_macros &&
	    atomic_exchange(&warned_symlist, 1) == 0)
		warnx_("the MTA does not offer SMFIF_SETSYMLIST: the macros "
		    "cannot be requested, only looked up");
	if (s != NULL)
		s->rcpt_rej = (ng.answered_steps & SMFIP_RCPT_REJ) != 0;
	*pf0 = ng.answered_actions;
	*pf1 = ng.answered_steps;
	*pf2 = *pf3 = 0;
	ev.negotiation = &ng;
	emit(ctx, s, &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	struct event	 ev = { .stage = STAGE_CONNECT };

	ev.host = host != NULL ? host : "";
	ev.address = addr;
	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_helo(SMFICTX *ctx, char *name)
{
	struct event	 ev = { .stage = STAGE_HELO };

	ev.name = name != NULL ? name : "";
	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct event	 ev = { .stage = STAGE_ENVFROM };

	ev.args = argv;
	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

/*
 * A rejected recipient comes only if RCPT_REJ was negotiated, and then
 * with {rcpt_mailer} set to "error" (Sendmail and Postfix alike).
 */
static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct session	*s = session_get(ctx);
	struct event	 ev = { .stage = STAGE_ENVRCPT };
	const char	*mailer;

	ev.args = argv;
	if (s != NULL && s->rcpt_rej &&
	    (mailer = smfi_getsymval(ctx, rcpt_mailer)) != NULL &&
	    strcmp(mailer, "error") == 0)
		ev.rejected = 1;
	emit(ctx, s, &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_DATA };

	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct event	 ev = { .stage = STAGE_HEADER };

	ev.name = name != NULL ? name : "";
	ev.value = value != NULL ? value : "";
	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_EOH };

	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct event	 ev = { .stage = STAGE_BODY };

	ev.chunk = chunk;
	ev.length = chunk != NULL ? len : 0;
	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_EOM };

	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_ABORT };

	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_CLOSE };

	emit(ctx, session_get(ctx), &ev);
	session_end(ctx);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_unknown(SMFICTX *ctx, const char *command)
{
	struct event	 ev = { .stage = STAGE_UNKNOWN };

	ev.name = command != NULL ? command : "";
	emit(ctx, session_get(ctx), &ev);
	return SMFIS_CONTINUE;
}
