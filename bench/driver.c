/* driver.c -- the MTA side of the milter protocol, as Postfix speaks it */
/* SPDX-License-Identifier: ISC */

/*
 * Drives a milter directly, without an MTA, to measure the milter alone.
 * Each session is one connection carrying one message, with the packets
 * Postfix 3.7 sends in that order: OPTNEG, then before each event a macro
 * packet (empty when no macro of the stage has a value), CONNECT, HELO,
 * MAIL with SIZE=, RCPT, DATA, the headers, EOH, the body in chunks of at
 * most 65535 bytes, EOM, then two ABORTs and QUIT.  What the milter
 * negotiates is honoured: stages it does not want are not sent, stages
 * it will not answer are not waited for, and the macro lists it asks for
 * replace the defaults.  Every reply is checked (see reply()): a reply of
 * the wrong kind is an error, and so is a dropped connection or a
 * timeout.
 *
 * Run mode sends -n sessions, -p at a time, and prints the rate; with
 * -T FILE it also writes the time each answered command took, from its
 * write to its answer, one line "SESSION STAGE MICROSECONDS" (stages by
 * inspect's names; SESSION as in the Message-Id, <bench.SESSION@...>),
 * so that a milter's report of the same sessions can be set beside it.
 * Hold
 * mode (-w) opens -n sessions up to HELO, prints "ready", and holds them
 * idle until a signal or -w seconds, so that the milter's memory can be
 * read meanwhile.
 */

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#define EX_USAGE	64

/* What Postfix 3.7 offers in OPTNEG. */
#define OFFER_VERSION	6
#define OFFER_ACTIONS	0x1ffUL
#define OFFER_STEPS	0x1fffffUL

/* Macro stages, as numbered in a symlist (SMFIM_*). */
#define NSTAGES		7

/* A reply longer than this is a broken milter, not a big one. */
#define MAX_REPLY	(1024 * 1024)

/* Error messages printed in full; the rest are only counted. */
#define MAX_SHOWN	5

struct buf {
	unsigned char	*data;
	size_t		 len;
	size_t		 cap;
};

/* One milter connection: one SMTP session of one message. */
struct conn {
	int		 fd;
	long		 id;
	unsigned long	 actions;		/* negotiated */
	unsigned long	 steps;			/* negotiated */
	char		*symlist[NSTAGES];	/* the milter's, or NULL */
	char		 qid[16];
	unsigned int	 port;
	struct buf	 arg;			/* the next command's data */
	struct buf	 out;			/* packets not yet written */
	struct buf	 in;			/* the last reply's data */
	struct buf	 times;			/* -T lines, this session's */
	char		 err[256];
};

struct result {
	long		 sessions;
	long		 errors;
	double		*latency;		/* seconds, per good session */
	long		 nlatency;
};

static void	usage(void);
static long	number(const char *, const char *, long, long);
static int	parse_spec(const char *);
static void	make_message(void);
static void	*worker(void *);
static int	session(struct conn *, long);
static int	greet(struct conn *);
static const char *header_value(long, long, char *, size_t);
static int	open_conn(struct conn *, long);
static void	close_conn(struct conn *);
static int	negotiate(struct conn *);
static int	parse_symlists(struct conn *, const unsigned char *, size_t);
static void	print_negotiation(const struct conn *, unsigned int);
static int	event(struct conn *, int, const char *, unsigned long,
		    unsigned long, int);
static int	reply(struct conn *, int, const char *, int *);
static int	put_macros(struct conn *, int, int);
static const char *macro_value(struct conn *, const char *, int, char *,
		    size_t);
static int	put_packet(struct conn *, int, const void *, size_t);
static int	flush(struct conn *);
static int	read_full(struct conn *, void *, size_t, const char *);
static int	fail(struct conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	report_error(struct conn *);
static int	buf_add(struct buf *, const void *, size_t);
static int	buf_str(struct buf *, const char *);
static void	conn_free(struct conn *);
static int	hold(long, int);
static double	now(void);
static int	cmp_double(const void *, const void *);
static void	print_result(const struct result *, double);
static void	timed(struct conn *, const char *, double);

/* Set in main(), read-only in the workers. */
static struct sockaddr_storage	 peer;
static socklen_t		 peerlen;
static int			 peer_tcp;
static const char		*spec;
static long			 nsessions = 1000;
static long			 body_len = 2048;
static long			 nheaders = 10;
static long			 timeout = 30;
static int			 verbose;
static unsigned char		*body;
static char			 size_arg[32];
static FILE			*times_file;	/* -T */

static atomic_long		 next_session;
static pthread_mutex_t		 result_lock = PTHREAD_MUTEX_INITIALIZER;
static struct result		 result;

/* Postfix's default macro lists (milter_*_macros), by symlist stage. */
static const char *const default_macros[NSTAGES] = {
	[SMFIM_CONNECT] = "j {daemon_name} {daemon_addr} v _",
	[SMFIM_HELO] = "{tls_version} {cipher} {cipher_bits} {cert_subject} "
	    "{cert_issuer}",
	[SMFIM_ENVFROM] = "i {auth_type} {auth_authen} {auth_author} "
	    "{mail_addr} {mail_host} {mail_mailer}",
	[SMFIM_ENVRCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	[SMFIM_DATA] = "i",
	[SMFIM_EOM] = "i",
	[SMFIM_EOH] = "i",
};

/* Values of the macros a Postfix on loopback would have. */
static const struct {
	const char	*name;
	const char	*value;
} macro_values[] = {
	{ "j", "mx.example.net" },
	{ "{daemon_name}", "mx.example.net" },
	{ "{daemon_addr}", "127.0.0.1" },
	{ "{daemon_port}", "25" },
	{ "v", "Postfix 3.7.11" },
	{ "_", "localhost [127.0.0.1]" },
	{ "{client_addr}", "127.0.0.1" },
	{ "{client_name}", "localhost" },
	{ "{client_ptr}", "localhost" },
	{ "{client_resolve}", "OK" },
	{ "{client_connections}", "0" },
	{ "{mail_addr}", "alice@example.org" },
	{ "{mail_host}", "example.org" },
	{ "{mail_mailer}", "discard" },
	{ "{rcpt_addr}", "bob@example.com" },
	{ "{rcpt_host}", "example.com" },
	{ "{rcpt_mailer}", "discard" },
	{ NULL, NULL }
};

/* The message's headers, cycled through for -H; see header_value(). */
static const char *const header_names[] = {
	"Received", "Date", "From", "To", "Message-Id", "Subject",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"X-Mailer"
};
#define NHEADER_NAMES	(sizeof header_names / sizeof header_names[0])

static void
usage(void)
{
	fprintf(stderr,
"usage: driver [-v] [-b BYTES] [-H HEADERS] [-n SESSIONS] [-p PARALLEL]\n"
"              [-T FILE] [-t TIMEOUT] [-w SECONDS] unix:PATH|inet:PORT@HOST\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	pthread_t	*threads;
	sigset_t	 sigs;
	double		 start, elapsed;
	long		 i, parallel = 16, hold_secs = -1;
	int		 ch, rc;

	while ((ch = getopt(argc, argv, "b:H:n:p:T:t:vw:")) != -1) {
		switch (ch) {
		case 'b':
			body_len = number("-b", optarg, 0, INT_MAX);
			break;
		case 'H':
			nheaders = number("-H", optarg, 0, 1000);
			break;
		case 'n':
			nsessions = number("-n", optarg, 1, 100000000);
			break;
		case 'p':
			parallel = number("-p", optarg, 1, 1000);
			break;
		case 'T':
			if ((times_file = fopen(optarg, "w")) == NULL) {
				fprintf(stderr, "driver: %s: %s\n", optarg,
				    strerror(errno));
				return EX_USAGE;
			}
			break;
		case 't':
			timeout = number("-t", optarg, 1, 3600);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			hold_secs = number("-w", optarg, 0, 86400);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	spec = argv[0];
	if (parse_spec(spec) == -1)
		return EX_USAGE;

	/*
	 * A milter that goes away must be an error, not a signal; the hold
	 * mode's signals are taken with sigtimedwait(), so they are blocked
	 * here, before any thread exists.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	if (hold_secs >= 0) {
		pthread_sigmask(SIG_BLOCK, &sigs, NULL);
		return hold(nsessions, (int)hold_secs);
	}

	make_message();
	if (parallel > nsessions)
		parallel = nsessions;
	if ((threads = calloc(parallel, sizeof *threads)) == NULL ||
	    (result.latency = calloc(nsessions, sizeof *result.latency)) ==
	    NULL) {
		perror("driver");
		return 1;
	}
	start = now();
	for (i = 0; i < parallel; i++)
		if ((rc = pthread_create(&threads[i], NULL, worker,
		    NULL)) != 0) {
			fprintf(stderr, "driver: pthread_create: %s\n",
			    strerror(rc));
			return 1;
		}
	for (i = 0; i < parallel; i++)
		pthread_join(threads[i], NULL);
	elapsed = now() - start;
	print_result(&result, elapsed);
	if (times_file != NULL && fclose(times_file) == EOF) {
		perror("driver: -T");
		result.errors++;
	}
	free(threads);
	free(result.latency);
	free(body);
	return result.errors == 0 ? 0 : 1;
}

static long
number(const char *opt, const char *s, long min, long max)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < min || n > max) {
		fprintf(stderr, "driver: %s %s: not a number from %ld to %ld\n",
		    opt, s, min, max);
		exit(EX_USAGE);
	}
	return n;
}

/* unix:PATH, local:PATH, inet:PORT@HOST or inet6:PORT@HOST into peer. */
static int
parse_spec(const char *s)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&peer;
	struct addrinfo		 hints, *res;
	const char		*p;
	char			 port[16], host[256];
	size_t			 n;
	int			 rc;

	memset(&peer, 0, sizeof peer);
	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0) {
		p = strchr(s, ':') + 1;
		if ((n = strlen(p)) == 0 || n >= sizeof sun->sun_path) {
			fprintf(stderr, "driver: %s: bad socket path\n", s);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, p, n + 1);
		peerlen = sizeof *sun;
		return 0;
	}
	memset(&hints, 0, sizeof hints);
	if (strncmp(s, "inet:", 5) == 0)
		hints.ai_family = AF_INET;
	else if (strncmp(s, "inet6:", 6) == 0)
		hints.ai_family = AF_INET6;
	else {
		fprintf(stderr, "driver: %s: not unix:PATH or inet:PORT@HOST\n",
		    s);
		return -1;
	}
	s = strchr(s, ':') + 1;
	if ((p = strchr(s, '@')) == NULL || (size_t)(p - s) >= sizeof port ||
	    strlen(p + 1) >= sizeof host) {
		fprintf(stderr, "driver: %s: want PORT@HOST\n", s);
		return -1;
	}
	memcpy(port, s, p - s);
	port[p - s] = '\0';
	/* libmilter's [ADDR] is a literal address. */
	strcpy(host, p + 1);
	if (host[0] == '[' && (n = strlen(host)) > 2 && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "driver: %s: %s\n", s, gai_strerror(rc));
		return -1;
	}
	memcpy(&peer, res->ai_addr, res->ai_addrlen);
	peerlen = res->ai_addrlen;
	peer_tcp = 1;
	freeaddrinfo(res);
	return 0;
}

/* A body of text lines, CRLF-ended as on the wire, and its SIZE=. */
static void
make_message(void)
{
	static const char	 text[] = "abcdefghijklmnopqrstuvwxyz0123 ";
	long			 i;

	if ((body = malloc(body_len > 0 ? body_len : 1)) == NULL) {
		perror("driver");
		exit(1);
	}
	for (i = 0; i < body_len; i++) {
		if (i % 80 == 78)
			body[i] = '\r';
		else if (i % 80 == 79)
			body[i] = '\n';
		else
			body[i] = text[i % (sizeof text - 1)];
	}
	snprintf(size_arg, sizeof size_arg, "SIZE=%ld", body_len + 100 *
	    nheaders);
}

static void *
worker(void *arg)
{
	struct conn	 c;
	double		 t;
	long		 id;
	int		 rc;

	(void)arg;
	memset(&c, 0, sizeof c);
	c.fd = -1;
	while ((id = atomic_fetch_add(&next_session, 1)) < nsessions) {
		t = now();
		rc = session(&c, id);
		t = now() - t;
		pthread_mutex_lock(&result_lock);
		result.sessions++;
		if (rc == -1) {
			result.errors++;
			report_error(&c);
		} else {
			result.latency[result.nlatency++] = t;
			if (times_file != NULL)
				fwrite(c.times.data, 1, c.times.len,
				    times_file);
		}
		pthread_mutex_unlock(&result_lock);
		close_conn(&c);
	}
	conn_free(&c);
	return NULL;
}

/* One connection, one message, the way Postfix's smtpd sends it. */
static int
session(struct conn *c, long id)
{
	char	 value[256];
	long	 i, off, n;
	int	 lead, skip = 0;

	if (open_conn(c, id) == -1 || negotiate(c) == -1 || greet(c) == -1)
		return -1;

	/* MAIL and RCPT: the address, then the ESMTP parameters. */
	c->arg.len = 0;
	if (buf_str(&c->arg, "<alice@example.org>") == -1 ||
	    buf_str(&c->arg, size_arg) == -1)
		return fail(c, "out of memory");
	if (event(c, SMFIC_MAIL, "MAIL", SMFIP_NOMAIL, SMFIP_NR_MAIL,
	    SMFIM_ENVFROM) == -1)
		return -1;
	c->arg.len = 0;
	if (buf_str(&c->arg, "<bob@example.com>") == -1)
		return fail(c, "out of memory");
	if (event(c, SMFIC_RCPT, "RCPT", SMFIP_NORCPT, SMFIP_NR_RCPT,
	    SMFIM_ENVRCPT) == -1)
		return -1;

	/* Postfix has a queue id once a recipient is accepted. */
	snprintf(c->qid, sizeof c->qid, "%011lX", 0x4000000000L + id);
	c->arg.len = 0;
	if (event(c, SMFIC_DATA, "DATA", SMFIP_NODATA, SMFIP_NR_DATA,
	    SMFIM_DATA) == -1)
		return -1;

	/*
	 * HEADER: name and value.  Postfix eats the space after the colon
	 * unless the milter asked for it (HDR_LEADSPC), and sends the end
	 * of header macros before each header.
	 */
	lead = (c->steps & SMFIP_HDR_LEADSPC) != 0;
	for (i = 0; i < nheaders; i++) {
		c->arg.len = 0;
		if (buf_str(&c->arg, header_names[i % NHEADER_NAMES]) == -1 ||
		    (lead && buf_add(&c->arg, " ", 1) == -1) ||
		    buf_str(&c->arg, header_value(i % NHEADER_NAMES, id, value,
		    sizeof value)) == -1)
			return fail(c, "out of memory");
		if (event(c, SMFIC_HEADER, "HEADER", SMFIP_NOHDRS,
		    SMFIP_NR_HDR, SMFIM_EOH) == -1)
			return -1;
	}
	c->arg.len = 0;
	if (event(c, SMFIC_EOH, "EOH", SMFIP_NOEOH, SMFIP_NR_EOH,
	    SMFIM_EOH) == -1)
		return -1;

	/* BODY in chunks of at most 65535 bytes, until the milter skips. */
	for (off = 0; off < body_len && !skip; off += n) {
		n = body_len - off < MILTER_CHUNK_SIZE ? body_len - off :
		    MILTER_CHUNK_SIZE;
		if (put_macros(c, SMFIC_BODY, SMFIM_EOM) == -1)
			return -1;
		if (c->steps & SMFIP_NOBODY)
			continue;
		if (put_packet(c, SMFIC_BODY, body + off, n) == -1)
			return -1;
		if ((c->steps & SMFIP_NR_BODY) == 0 &&
		    reply(c, SMFIC_BODY, "BODY", &skip) == -1)
			return -1;
	}
	c->arg.len = 0;
	if (event(c, SMFIC_BODYEOB, "EOM", 0, 0, SMFIM_EOM) == -1)
		return -1;

	/* Postfix 3.7 aborts twice after the message, then quits. */
	if (put_packet(c, SMFIC_ABORT, NULL, 0) == -1 ||
	    put_packet(c, SMFIC_ABORT, NULL, 0) == -1 ||
	    put_packet(c, SMFIC_QUIT, NULL, 0) == -1 || flush(c) == -1)
		return -1;
	return 0;
}

/* CONNECT (host, family, port in network order, address), then HELO. */
static int
greet(struct conn *c)
{
	unsigned char	 port[2] = { c->port >> 8, c->port & 0xff };

	c->arg.len = 0;
	if (buf_str(&c->arg, "localhost") == -1 ||
	    buf_add(&c->arg, "4", 1) == -1 || buf_add(&c->arg, port, 2) == -1 ||
	    buf_str(&c->arg, "127.0.0.1") == -1)
		return fail(c, "out of memory");
	if (event(c, SMFIC_CONNECT, "CONNECT", SMFIP_NOCONNECT, SMFIP_NR_CONN,
	    SMFIM_CONNECT) == -1)
		return -1;
	c->arg.len = 0;
	if (buf_str(&c->arg, "client.example.org") == -1)
		return fail(c, "out of memory");
	return event(c, SMFIC_HELO, "HELO", SMFIP_NOHELO, SMFIP_NR_HELO,
	    SMFIM_HELO);
}

/* The value of header i (an index into header_names) for session id. */
static const char *
header_value(long i, long id, char *buf, size_t len)
{
	switch (i) {
	case 0:
		/* A folded header: its lines joined by LF, as Postfix does. */
		return "from relay.example.org (relay.example.org "
		    "[192.0.2.1])\n\tby mx.example.net with ESMTP;\n\t"
		    "Mon, 02 Nov 2026 09:59:58 +0000";
	case 1:
		return "Mon, 02 Nov 2026 10:00:00 +0000";
	case 2:
		return "Alice <alice@example.org>";
	case 3:
		return "Bob <bob@example.com>";
	case 4:
		snprintf(buf, len, "<bench.%ld@example.org>", id);
		return buf;
	case 5:
		snprintf(buf, len, "benchmark message %ld", id);
		return buf;
	case 6:
		return "1.0";
	case 7:
		return "text/plain; charset=utf-8";
	case 8:
		return "8bit";
	default:
		return "inspect bench driver";
	}
}

static int
open_conn(struct conn *c, long id)
{
	struct timeval	 tv = { .tv_sec = timeout };
	int		 one = 1, i;

	c->id = id;
	c->err[0] = '\0';
	c->out.len = c->in.len = c->times.len = 0;
	c->actions = c->steps = 0;
	c->qid[0] = '\0';
	/* A client port as the kernel would pick one. */
	c->port = 32768 + id % 28000;
	for (i = 0; i < NSTAGES; i++) {
		free(c->symlist[i]);
		c->symlist[i] = NULL;
	}
	if ((c->fd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		return fail(c, "socket: %s", strerror(errno));
	/* Bounds connect(), every read and every write. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1)
		return fail(c, "setsockopt: %s", strerror(errno));
	/*
	 * Without it, a command written in two packets waits for the
	 * milter's delayed ACK (40 ms) before its second part leaves.
	 */
	if (peer_tcp && setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof one) == -1)
		return fail(c, "TCP_NODELAY: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&peer, peerlen) == -1)
		return fail(c, "connect to %s: %s", spec,
		    errno == EAGAIN ? "timeout" : strerror(errno));
	return 0;
}

static void
close_conn(struct conn *c)
{
	int	 i;

	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	for (i = 0; i < NSTAGES; i++) {
		free(c->symlist[i]);
		c->symlist[i] = NULL;
	}
}

/*
 * OPTNEG: offer what Postfix offers, take what the milter answers.  Like
 * Postfix, refuse a newer protocol or actions that were not offered.
 */
static int
negotiate(struct conn *c)
{
	unsigned char	 offer[12], hdr[5];
	uint32_t	 v[3], len;
	double		 t;
	int		 i;

	v[0] = htonl(OFFER_VERSION);
	v[1] = htonl(OFFER_ACTIONS);
	v[2] = htonl(OFFER_STEPS);
	memcpy(offer, v, sizeof offer);
	t = now();
	if (put_packet(c, SMFIC_OPTNEG, offer, sizeof offer) == -1 ||
	    flush(c) == -1)
		return -1;
	if (read_full(c, hdr, sizeof hdr, "OPTNEG") == -1)
		return -1;
	memcpy(&len, hdr, 4);
	len = ntohl(len);
	if (hdr[4] != SMFIC_OPTNEG)
		return fail(c, "reply '%c' to OPTNEG", hdr[4]);
	if (len < 1 + MILTER_OPTLEN || len > MAX_REPLY)
		return fail(c, "OPTNEG reply of %u bytes", len);
	c->in.len = 0;
	if (buf_add(&c->in, NULL, len - 1) == -1)
		return fail(c, "out of memory");
	if (read_full(c, c->in.data, len - 1, "OPTNEG") == -1)
		return -1;
	timed(c, "OPTNEG", t);
	for (i = 0; i < 3; i++) {
		memcpy(&v[i], c->in.data + 4 * i, 4);
		v[i] = ntohl(v[i]);
	}
	if (v[0] < 2 || v[0] > OFFER_VERSION)
		return fail(c, "milter protocol version %u", v[0]);
	if ((v[1] & ~OFFER_ACTIONS) != 0)
		return fail(c, "actions 0x%x were not offered", v[1]);
	c->actions = v[1];
	c->steps = v[2];
	if (parse_symlists(c, c->in.data + MILTER_OPTLEN,
	    len - 1 - MILTER_OPTLEN) == -1)
		return -1;
	if (verbose && c->id == 0)
		print_negotiation(c, v[0]);
	return 0;
}

/* What the milter answered, for -v. */
static void
print_negotiation(const struct conn *c, unsigned int version)
{
	static const struct {
		unsigned long	 bit;
		const char	*name;
	} steps[] = {
		{ SMFIP_NOCONNECT, "NOCONNECT" }, { SMFIP_NOHELO, "NOHELO" },
		{ SMFIP_NOMAIL, "NOMAIL" }, { SMFIP_NORCPT, "NORCPT" },
		{ SMFIP_NOBODY, "NOBODY" }, { SMFIP_NOHDRS, "NOHDRS" },
		{ SMFIP_NOEOH, "NOEOH" }, { SMFIP_NR_HDR, "NR_HDR" },
		{ SMFIP_NOUNKNOWN, "NOUNKNOWN" }, { SMFIP_NODATA, "NODATA" },
		{ SMFIP_SKIP, "SKIP" }, { SMFIP_RCPT_REJ, "RCPT_REJ" },
		{ SMFIP_NR_CONN, "NR_CONN" }, { SMFIP_NR_HELO, "NR_HELO" },
		{ SMFIP_NR_MAIL, "NR_MAIL" }, { SMFIP_NR_RCPT, "NR_RCPT" },
		{ SMFIP_NR_DATA, "NR_DATA" }, { SMFIP_NR_UNKN, "NR_UNKN" },
		{ SMFIP_NR_EOH, "NR_EOH" }, { SMFIP_NR_BODY, "NR_BODY" },
		{ SMFIP_HDR_LEADSPC, "HDR_LEADSPC" },
	};
	size_t	 i;
	int	 first = 1;

	fprintf(stderr, "driver: negotiated version %u, actions 0x%lx, "
	    "steps 0x%lx", version, c->actions, c->steps);
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (c->steps & steps[i].bit) {
			fprintf(stderr, "%s%s", first ? " " : "|",
			    steps[i].name);
			first = 0;
		}
	fputc('\n', stderr);
	for (i = 0; i < NSTAGES; i++)
		if (c->symlist[i] != NULL)
			fprintf(stderr, "driver: macros asked for stage %zu: "
			    "%s\n", i, c->symlist[i]);
}

/* After the 12 bytes: (32-bit stage, NUL-ended list) pairs. */
static int
parse_symlists(struct conn *c, const unsigned char *p, size_t len)
{
	const unsigned char	*nul;
	uint32_t		 stage;

	while (len > 0) {
		if (len < 5 || (nul = memchr(p + 4, '\0', len - 4)) == NULL)
			return fail(c, "truncated symlist in OPTNEG reply");
		memcpy(&stage, p, 4);
		stage = ntohl(stage);
		if (stage >= NSTAGES)
			return fail(c, "symlist for stage %u", stage);
		free(c->symlist[stage]);
		if ((c->symlist[stage] = strdup((const char *)p + 4)) == NULL)
			return fail(c, "out of memory");
		len -= nul + 1 - p;
		p = nul + 1;
	}
	return 0;
}

/*
 * Send the macros of mstage, then command cmd with c->arg as its data,
 * unless the milter asked not to get it (nostage), and wait for the
 * reply unless the milter said it will not send one (noreply).
 */
static int
event(struct conn *c, int cmd, const char *what, unsigned long nostage,
    unsigned long noreply, int mstage)
{
	if (put_macros(c, cmd, mstage) == -1)
		return -1;
	if (c->steps & nostage)
		return 0;
	if (put_packet(c, cmd, c->arg.data, c->arg.len) == -1)
		return -1;
	if (c->steps & noreply)
		return 0;
	return reply(c, cmd, what, NULL);
}

/*
 * Wait for the milter's final reply to cmd.  Progress is waited through;
 * at EOM, modification requests are read past.  A milter under test must
 * see every stage, so only continue is right, and besides: accept at EOM,
 * and skip for a body chunk (then *skip is set) if SKIP was negotiated.
 */
static int
reply(struct conn *c, int cmd, const char *what, int *skip)
{
	unsigned char	 hdr[5];
	uint32_t	 len;
	double		 t = now();
	int		 rc;

	if (flush(c) == -1)
		return -1;
	for (;;) {
		if (read_full(c, hdr, sizeof hdr, what) == -1)
			return -1;
		memcpy(&len, hdr, 4);
		len = ntohl(len);
		if (len < 1 || len > MAX_REPLY)
			return fail(c, "reply of %u bytes to %s", len, what);
		c->in.len = 0;
		if (len > 1 && (buf_add(&c->in, NULL, len - 1) == -1 ||
		    read_full(c, c->in.data, len - 1, what) == -1))
			return c->err[0] != '\0' ? -1 :
			    fail(c, "out of memory");
		rc = -1;
		switch (hdr[4]) {
		case SMFIR_PROGRESS:
			continue;
		case SMFIR_CONTINUE:
			rc = 0;
			break;
		case SMFIR_ACCEPT:
			if (cmd == SMFIC_BODYEOB)
				rc = 0;
			break;
		case SMFIR_SKIP:
			if (skip != NULL && (c->steps & SMFIP_SKIP)) {
				*skip = 1;
				rc = 0;
			}
			break;
		case SMFIR_ADDRCPT:
		case SMFIR_DELRCPT:
		case SMFIR_ADDRCPT_PAR:
		case SMFIR_REPLBODY:
		case SMFIR_CHGFROM:
		case SMFIR_ADDHEADER:
		case SMFIR_INSHEADER:
		case SMFIR_CHGHEADER:
		case SMFIR_QUARANTINE:
			if (cmd == SMFIC_BODYEOB)
				continue;
			break;
		default:
			break;
		}
		if (rc == 0) {
			timed(c, what, t);
			return 0;
		}
		return fail(c, "reply '%c' to %s", hdr[4] >= 0x20 &&
		    hdr[4] < 0x7f ? hdr[4] : '?', what);
	}
}

/*
 * The macro packet before cmd: the stage's list (the milter's, else
 * Postfix's default), with the names that have a value.  Postfix sends
 * it even when the list gives nothing and even when cmd is not sent.
 */
static int
put_macros(struct conn *c, int cmd, int mstage)
{
	const char	*list, *v;
	struct buf	 m = { NULL, 0, 0 };
	char		 name[128], tmp[32];
	size_t		 n;
	int		 rc;

	list = c->symlist[mstage] != NULL ? c->symlist[mstage] :
	    default_macros[mstage];
	rc = buf_add(&m, (unsigned char[]){ cmd }, 1);
	while (rc == 0 && *list != '\0') {
		n = strcspn(list, " ,");
		if (n > 0 && n < sizeof name) {
			memcpy(name, list, n);
			name[n] = '\0';
			if ((v = macro_value(c, name, mstage, tmp,
			    sizeof tmp)) != NULL)
				rc = buf_str(&m, name) == -1 ||
				    buf_str(&m, v) == -1 ? -1 : 0;
		}
		list += n;
		list += strspn(list, " ,");
	}
	if (rc == 0)
		rc = put_packet(c, SMFIC_MACRO, m.data, m.len);
	else
		rc = fail(c, "out of memory");
	free(m.data);
	return rc;
}

static const char *
macro_value(struct conn *c, const char *name, int mstage, char *tmp,
    size_t tmplen)
{
	int	 i;

	if (strcmp(name, "i") == 0)
		return mstage == SMFIM_DATA || mstage == SMFIM_EOH ||
		    mstage == SMFIM_EOM ? c->qid : NULL;
	if (strcmp(name, "{client_port}") == 0) {
		snprintf(tmp, tmplen, "%u", c->port);
		return tmp;
	}
	for (i = 0; macro_values[i].name != NULL; i++)
		if (strcmp(name, macro_values[i].name) == 0)
			return macro_values[i].value;
	return NULL;
}

/* Queue one packet: 32-bit length, command, data. */
static int
put_packet(struct conn *c, int cmd, const void *data, size_t len)
{
	uint32_t	 n = htonl(len + 1);
	unsigned char	 ch = cmd;

	if (buf_add(&c->out, &n, 4) == -1 || buf_add(&c->out, &ch, 1) == -1 ||
	    (len > 0 && buf_add(&c->out, data, len) == -1))
		return fail(c, "out of memory");
	/* Commands that are not answered pile up; bound that. */
	if (c->out.len >= 4 * MILTER_CHUNK_SIZE)
		return flush(c);
	return 0;
}

/* Write what is queued, as Postfix does before it waits for a reply. */
static int
flush(struct conn *c)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < c->out.len) {
		n = send(c->fd, c->out.data + off, c->out.len - off,
		    MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return fail(c, "write: %s", errno == EAGAIN ?
			    "timeout" : strerror(errno));
		off += n;
	}
	c->out.len = 0;
	return 0;
}

static int
read_full(struct conn *c, void *p, size_t len, const char *what)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		n = recv(c->fd, (char *)p + off, len - off, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			return fail(c, "connection closed by the milter, "
			    "waiting for the reply to %s", what);
		if (n == -1)
			return fail(c, "waiting for the reply to %s: %s", what,
			    errno == EAGAIN ? "timeout" : strerror(errno));
		off += n;
	}
	return 0;
}

/* Keep the first reason a session failed; returns -1. */
static int
fail(struct conn *c, const char *fmt, ...)
{
	va_list	 ap;

	if (c->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->err, sizeof c->err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Called under result_lock. */
static void
report_error(struct conn *c)
{
	if (result.errors <= MAX_SHOWN)
		fprintf(stderr, "driver: session %ld: %s\n", c->id,
		    c->err[0] != '\0' ? c->err : "failed");
	if (result.errors == MAX_SHOWN)
		fprintf(stderr, "driver: (further errors only counted)\n");
}

/* Append len bytes of p (or room for them, p NULL) to b. */
static int
buf_add(struct buf *b, const void *p, size_t len)
{
	unsigned char	*d;
	size_t		 cap;

	if (b->cap - b->len < len) {
		cap = b->cap > 0 ? b->cap : 512;
		while (cap - b->len < len)
			cap *= 2;
		if ((d = realloc(b->data, cap)) == NULL)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	if (p != NULL)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	return 0;
}

/* Append s with its NUL. */
static int
buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s) + 1);
}

static void
conn_free(struct conn *c)
{
	close_conn(c);
	free(c->arg.data);
	free(c->out.data);
	free(c->in.data);
	free(c->times.data);
}

/*
 * Open n sessions up to HELO, one after the other, and hold them idle
 * until SIGTERM, SIGINT or SIGUSR1 (blocked by the caller), or secs
 * seconds; then quit them all.
 */
static int
hold(long n, int secs)
{
	struct conn	*c;
	struct timespec	 ts = { .tv_sec = secs };
	sigset_t	 sigs;
	long		 i, ok = 0;

	if ((c = calloc(n, sizeof *c)) == NULL) {
		perror("driver");
		return 1;
	}
	for (i = 0; i < n; i++) {
		c[i].fd = -1;
		if (open_conn(&c[i], i) == -1 || negotiate(&c[i]) == -1 ||
		    greet(&c[i]) == -1 || flush(&c[i]) == -1) {
			result.errors++;
			report_error(&c[i]);
			close_conn(&c[i]);
		} else
			ok++;
	}
	printf("ready sessions=%ld errors=%ld\n", ok, result.errors);
	fflush(stdout);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	while (sigtimedwait(&sigs, NULL, &ts) == -1 && errno == EINTR)
		;
	for (i = 0; i < n; i++) {
		if (c[i].fd != -1 && (put_packet(&c[i], SMFIC_QUIT, NULL,
		    0) == -1 || flush(&c[i]) == -1)) {
			result.errors++;
			report_error(&c[i]);
		}
		conn_free(&c[i]);
	}
	free(c);
	printf("done sessions=%ld errors=%ld\n", ok, result.errors);
	return result.errors == 0 ? 0 : 1;
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One line, key=value, for the harness to read. */
static void
print_result(const struct result *r, double elapsed)
{
	double	 p50 = 0, p99 = 0;

	if (r->nlatency > 0) {
		qsort(r->latency, r->nlatency, sizeof *r->latency, cmp_double);
		p50 = r->latency[r->nlatency / 2];
		p99 = r->latency[(r->nlatency * 99) / 100];
	}
	printf("sessions=%ld errors=%ld seconds=%.3f rate=%.1f "
	    "p50_ms=%.2f p99_ms=%.2f\n", r->sessions, r->errors, elapsed,
	    elapsed > 0 ? (r->sessions - r->errors) / elapsed : 0.0,
	    p50 * 1000, p99 * 1000);
}

/*
 * For -T: the command what (as reply() names it) answered, sent at
 * start; kept with the session until it ends well.
 */
static void
timed(struct conn *c, const char *what, double start)
{
	static const char *const names[][2] = {
		{ "OPTNEG", "negotiate" }, { "CONNECT", "connect" },
		{ "HELO", "helo" }, { "MAIL", "envfrom" },
		{ "RCPT", "envrcpt" }, { "DATA", "data" },
		{ "HEADER", "header" }, { "EOH", "eoh" }, { "BODY", "body" },
		{ "EOM", "eom" }
	};
	char	 line[96];
	size_t	 i;
	int	 n;

	if (times_file == NULL)
		return;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(what, names[i][0]) == 0)
			break;
	if (i == sizeof names / sizeof names[0])
		return;
	n = snprintf(line, sizeof line, "%ld %s %.0f\n", c->id, names[i][1],
	    (now() - start) * 1e6);
	if (n > 0 && (size_t)n < sizeof line)
		buf_add(&c->times, line, n);
}
