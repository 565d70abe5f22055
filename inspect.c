/* inspect.c -- a milter that shows everything the MTA sends it */
/* SPDX-License-Identifier: ISC */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "ctx.h"
#include "daemon.h"
#include "forward.h"
#include "ids.h"
#include "listen.h"
#include "log.h"
#include "macros.h"
#include "options.h"
#include "output.h"
#include "owned.h"
#include "print.h"
#include "probe.h"
#include "run.h"
#include "serve.h"
#include "session.h"
#include "workers.h"

#ifndef VERSION
#define VERSION	"unknown"
#endif
#ifndef MILTER_RELEASE
#define MILTER_RELEASE	"unknown"
#endif



/* libmilter's I/O timeout (MI_TIMEOUT), which inspect sets itself. */
#define LIBMILTER_TIMEOUT	7210

/* The stages that can go without a reply: all but negotiate and eom. */
#define NR_ALL	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
		SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | \
		SMFIP_NR_EOH | SMFIP_NR_BODY)
/* Those of the message's content, which eom always follows. */
#define NR_CONTENT	(SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

static void	version(void);
static void	started(void);
static int	begin_run(void);
static int	setup_ids(void);
static int	setup_shared(void);
static size_t	reopen_all(int *, size_t);
static void	adopt_files(const int *, size_t);
static void	forget(void);
static void	free_buf(void *);
static int	chown_files(void);
static int	milter_setup(void);
static int	serve(int);
static int	gather(SMFICTX *, struct session *, struct event *);
static void	emit(struct session *, struct event *, int);
static void	same_negotiation(struct event *);
static sfsistat	stage(SMFICTX *, struct event *);
static void	rejected(SMFICTX *, struct session *, struct event *);
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

/* Set up in main() before serving; read-only while serving. */
static struct options	 opts;
static char		*symlists[MACROS_STAGES];	/* --request-macros */
static pthread_key_t	 buf_key;	/* each thread formats in its own */
static unsigned long	 noreply_steps;	/* the SMFIP_NR_* to ask for */
static int		 quickack;	/* over TCP: if ACKs can be hurried */
static struct owned	 sockfile = { -1, NULL, NULL, 0, 0 };	/* unix */
static struct owned	 pidfile = { -1, NULL, NULL, 0, 0 };
static int		 pidfd = -1;
static struct ids	 ids;		/* who inspect serves as */
static struct supervisor sup;		/* the workers, and how */
static time_t		 timeout;	/* libmilter's, as set */


static atomic_int	 warned_symlist;
static atomic_int	 warned_socket;
static atomic_int	 warned_offer;

/* libmilter wants writable strings. */
static char		 filter_name[] = "inspect";

static struct smfiDesc desc = {
	.xxfi_name = filter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,		/* probing asks in negotiation */
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

/*
 * The order matters: what needs root (the socket, its owner and mode,
 * the files) is done first, then inspect detaches, writes its pid, drops
 * its privileges and serves.  main() is that order, step by step, kept
 * in one piece so that it reads from top to bottom.
 */
int
main(int argc, char *argv[])
{
	char		 err[512];
	int		 status = 1, notify = -1, rc;

	if (options_parse(&opts, argc, argv, err, sizeof err) == -1) {
		fprintf(stderr, "inspect: %s\n", err);
		options_free(&opts);
		return EX_USAGE;
	}
	if (opts.help || opts.version) {
		if (opts.help)
			options_usage(stdout);
		else
			version();
		options_free(&opts);
		return 0;
	}
	if (opts.request_macros && (rc = macros_request_lists(&opts,
	    symlists, err, sizeof err)) != 0) {
		fprintf(stderr, "inspect: %s\n", err);
		macros_request_free(symlists);
		options_free(&opts);
		return rc == -1 ? EX_USAGE : EX_OSERR;
	}
	if (options_absolute(&opts, err, sizeof err) == -1) {
		fprintf(stderr, "inspect: %s\n", err);
		goto done;
	}
	/* Without a terminal or a log file, a daemon logs to syslog. */
	if (log_init(opts.log_levels, opts.log_path, opts.syslog ||
	    (opts.daemon && opts.log_path == NULL), opts.syslog_facility) ==
	    -1) {
		fprintf(stderr, "inspect: --log-path %s: %s\n", opts.log_path,
		    strerror(errno));
		goto done;
	}
	/* A reader that goes away must cost events, not the process. */
	signal(SIGPIPE, SIG_IGN);
	options_notices(&opts);

	timeout = opts.timeout > 0 ? opts.timeout : LIBMILTER_TIMEOUT;
	if (setup_ids() == -1 || setup_shared() == -1)
		goto done;
	/*
	 * libmilter serves in worker processes, one unless asked for more;
	 * this one supervises (workers.c).  One that gives up root keeps a
	 * supervisor that does not: it removes the socket and the pid file
	 * from root's directories at exit, and the pid file it signals
	 * stays root's.
	 */
	sup.n = opts.workers > 0 ? opts.workers : 1;
	sup.named = opts.workers > 0 || ids.drop;
	sup.serve = serve;
	sup.reopen = reopen_all;
	sup.forget = forget;
	macros_init(&opts);
	/*
	 * With -v, libmilter's debugging (printf to standard output) goes
	 * to the log, so a report on standard output moves to a descriptor
	 * of its own.
	 */
	if (output_open(opts.outputs, opts.noutputs, opts.verbose, err,
	    sizeof err) == -1) {
		log_crit("%s", err);
		goto done;
	}
	options_terminal(&opts, output_terminal());
	if (opts.pid_file != NULL && (pidfd = pidfile_open(opts.pid_file,
	    &pidfile, err, sizeof err)) == -1) {
		log_crit("%s", err);
		goto done;
	}
	if (listen_check(opts.spec, &opts.where) == -1 ||
	    milter_setup() == -1 ||
	    listen_open(opts.spec, &opts.where, &sockfile, ids.socket_gid,
	    opts.socket_mode) == -1)
		goto done;
	if (ids.drop && chown_files() == -1)
		goto done;

	log_check_syslog();
	if (opts.daemon && (notify = daemon_detach(err, sizeof err)) < 0) {
		if (notify != DAEMON_TOLD)
			log_crit("%s", err);
		goto done;
	}
	if (pidfd != -1 && pidfile_write(pidfd) == -1) {
		snprintf(err, sizeof err, "--pid-file %s: %s", opts.pid_file,
		    strerror(errno));
		log_crit("%s", err);
		daemon_ready(notify, err);
		goto done;
	}
	if (begin_run() == -1) {
		status = 0;
		goto done;
	}
	/*
	 * The supervisor takes the signals from here on; whether HUP is a
	 * terminal's hang-up is known before started() moves stdout.
	 */
	workers_note_terminal();
	workers_block_signals();

	log_notice("listening on %s (%spid %ld%s, %s)%s%s", opts.spec,
	    listen_everywhere(&opts.where) ? "all addresses, " : "",
	    (long)getpid(), sup.named ? ", workers" : "",
	    options_describe(&opts, err, sizeof err),
	    opts.forward.spec != NULL ? ", forwarding to " : "",
	    opts.forward.spec != NULL ? opts.forward.spec : "");
	options_warnings(&opts);
	probe_setup(&opts.probe);
	if (opts.forward.spec != NULL && forward_setup(&opts.forward) == -1)
		goto done;
	if (opts.verbose)
		macros_log(&opts, symlists);

	started();
	sup.notify = notify;
	status = workers_run(&sup);
	if (output_lost() > 0)
		log_warn("%llu event%s could not be written", output_lost(),
		    LOG_S(output_lost()));
	if (status == 0)
		log_info("stopped");
done:
	owned_remove(&sockfile);
	owned_remove(&pidfile);
	macros_request_free(symlists);
	options_free(&opts);
	return status;
}

/*
 * The libmilter release inspect was built against, and the API version of
 * the one it runs with, which may be another.
 */
static void
version(void)
{
	unsigned int	 major, minor, patch;

	smfi_version(&major, &minor, &patch);
	printf("inspect %s (libmilter %s, API %u.%u.%u)\n", VERSION,
	    MILTER_RELEASE, major, minor, patch);
}

/*
 * Start-up is over: the log takes over standard error, and libmilter's
 * debugging (printf to standard output) goes there too.
 */
static void
started(void)
{
	log_started();
	if (opts.verbose) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		setvbuf(stdout, NULL, _IOLBF, 0);
	}
}

/*
 * The run begins: its id, taken once by the supervisor, detached (the id
 * holds its pid) and before any worker; and a text report's first line,
 * which says it on every output before any session.  JSON has no such
 * line: each event says its run.  Nothing is written where nothing is
 * reported.  Returns -1 if the report has no reader left, to stop.
 */
static int
begin_run(void)
{
	struct buf	 line = { NULL, 0, 0 };

	run_begin();
	if (opts.format != FORMAT_TEXT || !options_reported(&opts))
		return 0;
	if (print_start(&line, opts.colored, run_started(), run_id(),
	    VERSION) == -1)
		log_err("cannot write the report's first line: out of memory");
	else
		output_begin(line.data, line.len);
	buf_free(&line);
	/* inspect | true: as when the reader goes later (workers.c). */
	if (output_orphaned()) {
		log_notice("the report's reader went away (standard output); "
		    "stopping");
		return -1;
	}
	return 0;
}

/* Resolve -u, -g and --unix-socket-group while errors reach the user. */
static int
setup_ids(void)
{
	char	 err[256];

	if (ids_resolve(opts.user, opts.user_kind, opts.group, opts.group_kind,
	    opts.socket_group, &ids, err, sizeof err) == -1) {
		log_crit("%s", err);
		return -1;
	}
	return 0;
}

/* Shared memory that every worker process inherits. */
static int
setup_shared(void)
{
	int	 rc;

	if (session_setup(timeout, &opts.where, opts.record, &ids) == -1)
		return -1;
	if ((rc = pthread_key_create(&buf_key, free_buf)) != 0) {
		log_crit("pthread_key_create: %s", strerror(rc));
		return -1;
	}
	/*
	 * Replies cost round trips.  Over TCP, going without them is only
	 * cheaper if the kernel acknowledges the MTA's commands at once
	 * (see quiet_continue() in probe.c).  On a unix socket libmilter
	 * takes a peer that hung up for an error and drops what it has not
	 * read yet, and an MTA that awaits no reply may hold its commands
	 * until it awaits one or hangs up (Postfix writes them then): the
	 * envelope of a session without a message would be lost.  The
	 * content stages are safe there, as eom, which awaits its reply,
	 * always follows them.
	 */
	if (opts.noreply == NOREPLY_NO)
		noreply_steps = 0;
	else if (opts.noreply == NOREPLY_AUTO &&
	    opts.where.family == AF_UNIX)
		noreply_steps = NR_CONTENT;
	else
		noreply_steps = NR_ALL;
	quickack = (noreply_steps != 0 || opts.forward.spec != NULL) &&
	    opts.where.family != AF_UNIX;
	return 0;
}

/*
 * SIGHUP, in the supervisor: open the log and the report files again,
 * for logrotate, and put in fds (room for max) the descriptors the
 * workers are to take (adopt_files()).  Returns how many.
 */
static size_t
reopen_all(int *fds, size_t max)
{
	char	 err[512];
	size_t	 n;
	int	 rc;

	rc = log_reopen() | output_reopen();
	/* A new file begins with a negotiation in full. */
	session_forget_negotiation();
	/* Files inspect made as root still go to the user it serves as. */
	if (ids.drop && geteuid() == 0) {
		if (log_chown(ids.uid, ids.gid) == -1) {
			log_err("cannot give the reopened log to the user: %s",
			    strerror(errno));
			rc = -1;
		}
		if (output_chown(ids.uid, ids.gid, err, sizeof err) == -1) {
			log_err("cannot give the reopened report to the user: "
			    "%s", err);
			rc = -1;
		}
	}
	if (rc == 0)
		log_notice("reopened the log and the report files");
	n = log_fds(fds, max);
	return n + output_fds(fds + n, max - n);
}

/* In a worker: the files reopen_all() gave, in the old ones' places. */
static void
adopt_files(const int *fds, size_t n)
{
	size_t	 k = log_adopt(fds, n);

	output_adopt(fds + k, n - k);
}

/*
 * In a new worker: the pid file, its lock and the directories of the
 * pid file and the socket are the supervisor's alone.
 */
static void
forget(void)
{
	if (pidfd != -1)
		close(pidfd);
	owned_forget(&pidfile);
	owned_forget(&sockfile);
}

/* A thread's format buffer goes with the thread. */
static void
free_buf(void *p)
{
	buf_free(p);
	free(p);
}

/*
 * The report and the log inspect opened as root go to the user it serves
 * as, so that its workers can reopen them; the pid file stays root's, for
 * the supervisor that reads and removes it.
 */
static int
chown_files(void)
{
	char	 err[512];

	if (output_chown(ids.uid, ids.gid, err, sizeof err) == -1) {
		log_crit("%s", err);
		return -1;
	}
	if (log_chown(ids.uid, ids.gid) == -1) {
		log_crit("chown --log-path %s: %s", opts.log_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * libmilter's set-up that is not about the socket, done before
 * listen_open(): smfi_opensocket() refuses a filter that is not
 * registered, and listens with the backlog set here.
 */
static int
milter_setup(void)
{
	/* With -v, libmilter's own debugging goes to the log (started()). */
	if (opts.verbose)
		smfi_setdbg(6);
	if (smfi_register(desc) == MI_FAILURE ||
	    smfi_settimeout(timeout) == MI_FAILURE ||
	    (opts.backlog > 0 && smfi_setbacklog(opts.backlog) ==
	    MI_FAILURE)) {
		log_crit("cannot set up libmilter");
		return -1;
	}
	return 0;
}

/* A worker: drop the privileges first; then serve (serve.c). */
static int
serve(int ctl)
{
	char	 err[256];

	if (ids.drop && ids_drop(ids.uid, ids.gid, err, sizeof err) == -1) {
		log_crit("%s", err);
		worker_ready(ctl, err);
		return WORKER_EXIT_FATAL;
	}
	if (opts.forward.spec != NULL && forward_start() == -1) {
		worker_ready(ctl, "cannot start forwarding");
		return WORKER_EXIT_FATAL;
	}
	return serve_run(ctl, !opts.quiet, adopt_files);
}

/*
 * Read the macros the MTA sent with ev, for the report and the milter
 * behind.  Returns 0, or -1 if out of memory.
 */
static int
gather(SMFICTX *ctx, struct session *s, struct event *ev)
{
	if (s == NULL || (opts.quiet && opts.forward.spec == NULL))
		return 0;
	return macros_event(&s->macros, ctx, ev);
}

/*
 * Stamp ev, format it with the macros gather() found (gathered: what it
 * returned) in the thread's buffer and queue it for the outputs in one
 * piece.
 */
static void
emit(struct session *s, struct event *ev, int gathered)
{
	struct buf	*out;

	if (opts.quiet)
		return;
	if (s == NULL || gathered == -1 || (out = buf_thread(buf_key)) == NULL)
		goto nomem;
	clock_gettime(CLOCK_REALTIME, &ev->time);
	ev->session = s->id;
	ev->run = run_id();
	out->len = 0;
	if (ev->stage == STAGE_NEGOTIATE && opts.format == FORMAT_TEXT &&
	    (opts.stages & 1U << ev->stage))
		same_negotiation(ev);
	if (((opts.stages & 1U << ev->stage) &&
	    print_event(out, opts.format, opts.colored, ev) == -1) ||
	    (opts.summary && summary_event(&s->summary, ev, out,
	    opts.format, opts.colored) == -1))
		goto nomem;
	record_event(&s->record, ev);
	output_event(out->data, out->len);
	return;
nomem:
	log_err("cannot report %s: out of memory",
	    print_stage_names[ev->stage]);
}

/*
 * In text, a negotiation is written in full only if it is not the same
 * as the last one that was; ev->same_as says which that is.  Out of
 * memory, it is written in full.  So is the next one after events were
 * lost (dropped, or an output failing): the last one may be among them.
 */
static void
same_negotiation(struct event *ev)
{
	static atomic_ullong	 lost_seen;
	struct buf		 key = { NULL, 0, 0 };
	unsigned long long	 lost = output_lost();

	if (atomic_exchange(&lost_seen, lost) != lost)
		session_forget_negotiation();

	if (print_negotiation_key(&key, ev) == 0)
		ev->same_as = session_same_negotiation(ev->session, key.data,
		    key.len);
	buf_free(&key);
}

/*
 * Take no actions but probing's, and every stage: only what the MTA
 * sends by default, plus the leading space of header values and the
 * rejected recipients, so that nothing it could send is hidden.  Where
 * replies are not needed (--no-reply), every stage that can go without
 * one and is not probed does.
 */
static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct session		*s;
	struct negotiation	 ng = { 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct event		 ev = { .stage = STAGE_NEGOTIATE };

	(void)f2;
	(void)f3;
	serve_gate_enter();
	/*
	 * Every connection begins here, and gets a new session: whatever
	 * was left on this context (a session whose close never came) goes.
	 * session_get() makes it; after a "quit, new connection", which is
	 * not negotiated again, cb_connect() does.
	 */
	session_end(ctx);
	s = session_get(ctx);
	ng.offered_actions = f0;
	ng.offered_steps = f1;
	ng.asked_actions = 0;
	ng.asked_steps = f1 & (SMFIP_HDR_LEADSPC | SMFIP_RCPT_REJ);
	if (opts.forward.spec != NULL)
		forward_negotiate(ctx, s, &ng, &ev);
	else if (opts.request_macros && (f0 & SMFIF_SETSYMLIST)) {
		ng.asked_actions |= SMFIF_SETSYMLIST;
		if (macros_request(ctx, symlists) == -1)
			log_err("libmilter refused a list of macros to "
			    "request");
	} else if (opts.request_macros &&
	    atomic_exchange(&warned_symlist, 1) == 0)
		log_warn("the MTA does not offer SMFIF_SETSYMLIST: the macros "
		    "cannot be requested, only looked up");
	if (s != NULL && quickack &&
	    (s->mta_fd = session_socket(ctx, s)) == -1 &&
	    atomic_exchange(&warned_socket, 1) == 0)
		log_warn("cannot find the MTA's socket in libmilter's context: "
		    "%s", opts.noreply == NOREPLY_YES ? "its commands may wait "
		    "for delayed ACKs" : "every stage gets a reply");
	if (s != NULL && opts.forward.spec == NULL && noreply_steps != 0 &&
	    (s->mta_fd != -1 ||
	    !quickack || opts.noreply == NOREPLY_YES))
		ng.asked_steps |= f1 & noreply_steps;
	probe_negotiate(&ng, s);
	if (s != NULL) {
		s->rcpt_rej = (ng.asked_steps & SMFIP_RCPT_REJ) != 0;
		s->nr_steps = ng.asked_steps & NR_ALL;
	}
	*pf0 = ng.asked_actions;
	*pf1 = ng.asked_steps;
	*pf2 = *pf3 = 0;
	ev.negotiation = &ng;
	/*
	 * What the MTA is told is worked out from its own offer, which only
	 * the context holds, and is read there only if it is what libmilter
	 * passed this callback; without it, the report shows what libmilter
	 * passed and what inspect asked for.
	 */
	if (s != NULL && s->layout_ok) {
		if (ctx_check_offer(ctx, f0, f1)) {
			ev.version = ctx_mta_version(ctx);
			ng.told = 1;
			ng.mta_steps = ctx_mta_steps(ctx);
			ng.told_version = ctx_answer_version(ctx);
			ng.told_steps = ctx_answer_steps(ng.mta_steps,
			    ng.asked_steps);
		} else if (atomic_exchange(&warned_offer, 1) == 0)
			log_warn("libmilter's context does not hold the MTA's "
			    "offer (actions 0x%lx, steps 0x%lx; libmilter "
			    "passed 0x%lx, 0x%lx): negotiations are reported "
			    "as libmilter passed them, without the MTA's "
			    "version", ctx_mta_actions(ctx),
			    ctx_mta_steps(ctx), f0, f1);
	}
	emit(s, &ev, gather(ctx, s, &ev));
	return serve_gate_leave(SMFIS_CONTINUE);
}

/*
 * Every stage after negotiate takes this one path: through the gate
 * (serve.c), to its session, the milter behind (--forward), the answer
 * probing chose, the report, and the answer.  Connect begins a session (or takes up one carried over a
 * QUIT_NC); close ends it; abort and close are told nothing, only
 * reported.
 */
static sfsistat
stage(SMFICTX *ctx, struct event *ev)
{
	struct session	*s;
	sfsistat	 rc = SMFIS_CONTINUE;
	int		 gathered, told = ev->stage != STAGE_ABORT &&
			    ev->stage != STAGE_CLOSE;

	serve_gate_enter();
	/*
	 * libmilter calls close, and no other callback, for a connection
	 * that hangs up before negotiating: one that only checked that
	 * the socket is live, such as another inspect's listen_check().
	 * That is no session, and is not reported.
	 */
	if (!told && smfi_getpriv(ctx) == NULL) {
		log_debug("a connection closed before negotiating");
		return serve_gate_leave(rc);
	}
	s = ev->stage == STAGE_CONNECT ? session_connect(ctx) :
	    session_get(ctx);
	if (ev->stage == STAGE_ENVRCPT)
		rejected(ctx, s, ev);
	gathered = gather(ctx, s, ev);
	/*
	 * The queue id, to join the summary with the mail log: looked up
	 * at the stages whose macros libmilter keeps, not at each header
	 * and body chunk, where it cannot have changed.
	 */
	if (opts.summary && s != NULL && ev->stage >= STAGE_ENVFROM &&
	    ev->stage <= STAGE_EOM && ev->stage != STAGE_HEADER &&
	    ev->stage != STAGE_BODY)
		ev->queue_id = macros_value(&s->macros, ctx, "i");
	if (opts.forward.spec != NULL)
		forward_stage(ctx, s, ev);
	/* Probing's answer stands in for the milter's, and adds changes. */
	if (told)
		ev->answer = probe_decide(ctx, s, ev);
	emit(s, ev, gathered);
	if (told)
		rc = ev->answer == NULL && opts.forward.spec != NULL ?
		    forward_answer(ctx, s, ev) : probe_answer(ctx, s, ev);
	if (ev->stage == STAGE_CLOSE) {
		if (opts.report_memory && s != NULL)
			log_memory(s->id);
		session_end(ctx);
	}
	return serve_gate_leave(rc);
}

/*
 * A rejected recipient comes only if RCPT_REJ was negotiated, and then
 * with {rcpt_mailer} set to "error", the status in {rcpt_host} and the
 * reply in {rcpt_addr} (Sendmail and Postfix alike; Sendmail's reply
 * is whole, Postfix's has no code, status or address).
 */
static void
rejected(SMFICTX *ctx, struct session *s, struct event *ev)
{
	const char	*mailer;

	if (s == NULL || !s->rcpt_rej ||
	    (mailer = macros_value(&s->macros, ctx, "{rcpt_mailer}")) ==
	    NULL || strcmp(mailer, "error") != 0)
		return;
	ev->rejected = 1;
	ev->reject_status = macros_value(&s->macros, ctx, "{rcpt_host}");
	ev->reject_text = macros_value(&s->macros, ctx, "{rcpt_addr}");
}

static sfsistat
cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	struct event	 ev = { .stage = STAGE_CONNECT };

	ev.host = host != NULL ? host : "";
	ev.address = addr;
	return stage(ctx, &ev);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *name)
{
	struct event	 ev = { .stage = STAGE_HELO };

	ev.name = name != NULL ? name : "";
	return stage(ctx, &ev);
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct event	 ev = { .stage = STAGE_ENVFROM };

	ev.args = argv;
	return stage(ctx, &ev);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct event	 ev = { .stage = STAGE_ENVRCPT };

	ev.args = argv;
	return stage(ctx, &ev);
}

static sfsistat
cb_data(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_DATA };

	return stage(ctx, &ev);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct event	 ev = { .stage = STAGE_HEADER };

	ev.name = name != NULL ? name : "";
	ev.value = value != NULL ? value : "";
	return stage(ctx, &ev);
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_EOH };

	return stage(ctx, &ev);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct event	 ev = { .stage = STAGE_BODY };

	ev.chunk = chunk;
	ev.length = chunk != NULL ? len : 0;
	return stage(ctx, &ev);
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_EOM };

	return stage(ctx, &ev);
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_ABORT };

	return stage(ctx, &ev);
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct event	 ev = { .stage = STAGE_CLOSE };

	return stage(ctx, &ev);
}

static sfsistat
cb_unknown(SMFICTX *ctx, const char *command)
{
	struct event	 ev = { .stage = STAGE_UNKNOWN };

	ev.name = command != NULL ? command : "";
	return stage(ctx, &ev);
}
