/* forward.c -- the milter behind inspect: what it is sent and answers */
/* SPDX-License-Identifier: ISC */

/*
 * inspect stands where the milter stood, and talks to it as the MTA
 * would: one connection per session, the MTA's own offer in negotiation,
 * each stage's macros as the MTA sent them, each command as it came,
 * and only what the milter's negotiation lets an MTA send.  Its answers
 * go back to the MTA through libmilter, its changes through libmilter's
 * calls.  The talk is synchronous, in the callback, as libmilter runs a
 * connection's callbacks one at a time; every wait is bounded, and
 * ended by a stop.
 *
 * A milter that cannot be reached, is too slow, hangs up or breaks the
 * protocol fails its session: from there on every stage gets
 * --forward-default's answer, as an MTA's default action works.
 */

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
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

#include "buf.h"
#include "ctx.h"
#include "forward.h"
#include "log.h"
#include "noreply.h"
#include "probe.h"
#include "session.h"
#include "wire.h"

/* What is read of the milter's at a time, at most, but a longer packet. */
#define FILL_BYTES	8192
/* While a slow eom is awaited, the MTA is told this often. */
#define PROGRESS_MS	5000

/* What an accept covers: the milter gets no more of it. */
enum scope {
	SCOPE_NONE,
	SCOPE_MESSAGE,
	SCOPE_CONNECTION
};

/* A change the milter sent at eom, kept until its answer comes. */
struct held {
	char		 cmd;
	size_t		 at;		/* its data, in the session's held */
	size_t		 len;
};

struct downstream {
	int		 fd;
	int		 failed;	/* --forward-default from now on */
	char		 why[192];	/* if failed */
	int		 version;	/* the milter's, as negotiated */
	unsigned long	 actions;
	unsigned long	 steps;
	enum scope	 accepted;
	int		 skipping;	/* no more body this message */
	struct buf	 out;		/* the packets to write */
	unsigned char	*in;		/* what was read of the milter's */
	size_t		 incap;
	size_t		 inoff;		/* the next packet's first byte */
	size_t		 inlen;		/* past the last byte read */
	struct buf	 heldbuf;	/* the changes' data */
	struct held	*held;
	size_t		 nheld, heldcap;
	struct buf	 text;		/* the report's strings */
	struct answer_change *changes;
	size_t		 changescap;
	char		 code[4];
	char		 xcode[32];
	char		*lines[WIRE_MAX_LINES + 1];
	size_t		 nlines;
	size_t		 lineat[WIRE_MAX_LINES];	/* in text */
	size_t		 joinedat;		/* in text */
	sfsistat	 status;	/* the answer for the MTA */
	char		*lists[WIRE_LISTS];	/* its macro lists */
	struct forwarded fw;
};

static int	dial(struct downstream *, uint64_t);
static int	negotiate(SMFICTX *, struct downstream *, unsigned long,
		    unsigned long, uint64_t);
static int	send_event(struct downstream *, const struct event *, char,
		    uint64_t);
static int	add_connect(struct buf *, const struct event *);
static int	take_answer(SMFICTX *, struct downstream *, enum stage,
		    uint64_t);
static int	take_reply(struct downstream *, const struct wire_reply *,
		    enum stage);
static int	hold(struct downstream *, char, const unsigned char *,
		    size_t);
static void	make_changes(SMFICTX *, struct session *,
		    struct downstream *);
static const char *make_change(SMFICTX *, struct session *,
		    const struct wire_reply *, size_t, size_t *);
static int	split_reply(struct downstream *, const char *);
static void	place_reply(struct downstream *);
static int	write_all(struct downstream *, uint64_t);
static int	read_packet(struct downstream *, uint64_t, char *,
		    const unsigned char **, size_t *);
static int	fill(struct downstream *, size_t, uint64_t);
static int	await(int, short, uint64_t);
static int	failed(struct downstream *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	give_default(struct downstream *);
static int	sent_to(const struct downstream *, const struct event *);
static uint64_t	now_ns(void);
static unsigned long change_action(char);
static const char *answer_word(char);

/* Set in forward_setup(); read-only while serving. */
static const struct forward_conf *conf;
static struct sockaddr_storage	 peer;
static socklen_t		 peerlen;

/* A worker's own: written once at a stop, never read; every wait sees it. */
static int	 stop_pipe[2] = { -1, -1 };

static const char *const default_words[] = {
	[FORWARD_ACCEPT] = "accept",
	[FORWARD_TEMPFAIL] = "tempfail",
	[FORWARD_REJECT] = "reject"
};

/* The command of each stage, and the no-stage step that declines it. */
static const struct {
	char		 cmd;
	unsigned long	 declined;
} commands[STAGE_MAX] = {
	[STAGE_NEGOTIATE] = { SMFIC_OPTNEG, 0 },
	[STAGE_CONNECT] = { SMFIC_CONNECT, SMFIP_NOCONNECT },
	[STAGE_HELO] = { SMFIC_HELO, SMFIP_NOHELO },
	[STAGE_ENVFROM] = { SMFIC_MAIL, SMFIP_NOMAIL },
	[STAGE_ENVRCPT] = { SMFIC_RCPT, SMFIP_NORCPT },
	[STAGE_DATA] = { SMFIC_DATA, SMFIP_NODATA },
	[STAGE_HEADER] = { SMFIC_HEADER, SMFIP_NOHDRS },
	[STAGE_EOH] = { SMFIC_EOH, SMFIP_NOEOH },
	[STAGE_BODY] = { SMFIC_BODY, SMFIP_NOBODY },
	[STAGE_EOM] = { SMFIC_BODYEOB, 0 },
	[STAGE_ABORT] = { SMFIC_ABORT, 0 },
	[STAGE_CLOSE] = { SMFIC_QUIT, 0 },
	[STAGE_UNKNOWN] = { SMFIC_UNKNOWN, SMFIP_NOUNKNOWN }
};

int
forward_setup(const struct forward_conf *c)
{
	struct addrinfo		 hints, *res;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&peer;
	char			 port[8];
	int			 rc;

	conf = c;
	memset(&peer, 0, sizeof peer);
	if (c->where.family == AF_UNIX) {
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, c->where.path, sizeof sun->sun_path);
		peerlen = sizeof *sun;
		return 0;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = c->where.family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = c->where.literal ? AI_NUMERICHOST : 0;
	snprintf(port, sizeof port, "%u", c->where.port);
	rc = getaddrinfo(c->where.host[0] != '\0' ? c->where.host :
	    c->where.family == AF_INET6 ? "::1" : "127.0.0.1", port, &hints,
	    &res);
	if (rc != 0) {
		log_crit("--forward %s: %s", c->spec, rc == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(rc));
		return -1;
	}
	memcpy(&peer, res->ai_addr, res->ai_addrlen);
	peerlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
forward_start(void)
{
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_crit("cannot forward: pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
forward_negotiate(SMFICTX *ctx, struct session *s, struct negotiation *ng,
    struct event *ev)
{
	struct downstream	*d;
	uint64_t		 start = now_ns(), deadline;
	unsigned long		 nr = 0;
	int			 st;

	if (s == NULL)
		return;
	if ((d = calloc(1, sizeof *d)) == NULL) {
		log_err("cannot forward: out of memory");
		return;
	}
	d->fd = -1;
	s->down = d;
	ev->forward = &d->fw;
	deadline = start + conf->command_ms * 1000000;
	/* Nothing is guessed: without the MTA's offer, nothing is sent. */
	if (!s->layout_ok || !ctx_check_offer(ctx, ng->offered_actions,
	    ng->offered_steps))
		failed(d, "libmilter's context does not hold the MTA's "
		    "offer");
	else {
		d->fw.sent = 1;
		if (dial(d, start) == 0)
			negotiate(ctx, d, ng->offered_actions,
			    ctx_mta_steps(ctx), deadline);
	}
	d->fw.ns = now_ns() - start;
	if (d->failed) {
		give_default(d);
		return;
	}
	d->fw.version = d->version;
	d->fw.actions = d->actions;
	d->fw.steps = d->steps;
	ng->asked_actions = d->actions & ng->offered_actions;
	for (st = 0; st < WIRE_LISTS; st++) {
		d->fw.lists[st] = d->lists[st];
		if (d->lists[st] != NULL && (ng->offered_actions &
		    SMFIF_SETSYMLIST) && smfi_setsymlist(ctx, st,
		    d->lists[st]) == MI_FAILURE)
			log_err("libmilter refused the milter's list of "
			    "macros \"%s\"", d->lists[st]);
	}
	for (st = 0; st < STAGE_MAX; st++)
		nr |= noreply_step(st);
	/*
	 * Every stage stays asked for, and rejected recipients, which are
	 * sent on only if the milter asked for them; the leading space of
	 * header values as the milter has it, so that the MTA treats the
	 * headers it sends and changes as it would the milter's.
	 */
	ng->asked_steps = (ng->offered_steps & SMFIP_RCPT_REJ) |
	    (d->steps & ng->offered_steps & (nr | SMFIP_HDR_LEADSPC));
}

/* Connect to the milter within the connect timeout.  0, or -1 failed. */
static int
dial(struct downstream *d, uint64_t start)
{
	socklen_t	 len;
	int		 error = 0;

	if ((d->fd = socket(peer.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return failed(d, "socket: %s", strerror(errno));
	if (connect(d->fd, (struct sockaddr *)&peer, peerlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return failed(d, "cannot connect to %s: %s", conf->spec,
		    strerror(errno));
	switch (await(d->fd, POLLOUT, start + conf->connect_ms * 1000000)) {
	case 0:
		return failed(d, "no connection to %s in %lu.%03lu s",
		    conf->spec, conf->connect_ms / 1000,
		    conf->connect_ms % 1000);
	case -1:
		return failed(d, "inspect is stopping");
	}
	len = sizeof error;
	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		error = errno;
	if (error != 0)
		return failed(d, "cannot connect to %s: %s", conf->spec,
		    strerror(error));
	return 0;
}

/*
 * Offer the milter the MTA's version, actions and steps, and take its
 * answer into d.  Returns 0, or -1 failed.
 */
static int
negotiate(SMFICTX *ctx, struct downstream *d, unsigned long actions,
    unsigned long steps, uint64_t deadline)
{
	struct wire_optneg	 o;
	const unsigned char	*data;
	const char		*why;
	size_t			 at, len;
	char			 cmd;
	int			 st, rc;

	at = wire_begin(&d->out, SMFIC_OPTNEG);
	if (wire_uint32(&d->out, (uint32_t)ctx_mta_version(ctx)) == -1 ||
	    wire_uint32(&d->out, (uint32_t)actions) == -1 ||
	    wire_uint32(&d->out, (uint32_t)steps) == -1)
		return failed(d, "out of memory");
	wire_end(&d->out, at);
	if (write_all(d, deadline) == -1 ||
	    (rc = read_packet(d, deadline, &cmd, &data, &len)) == -1)
		return -1;
	if (rc == 1)
		return failed(d, "no answer to the negotiation in %lu.%03lu s",
		    conf->command_ms / 1000, conf->command_ms % 1000);
	if (cmd != SMFIC_OPTNEG)
		return failed(d, "the milter answered the negotiation with "
		    "'%c' (0x%02x)", isprint((unsigned char)cmd) ? cmd : '?',
		    (unsigned char)cmd);
	if (wire_optneg(data, len, &o, &why) == -1)
		return failed(d, "the milter's negotiation is broken: %s",
		    why);
	if (o.version < 2)
		return failed(d, "the milter asks for protocol version %u",
		    o.version);
	if ((o.actions & ~actions) != 0 || (o.steps & ~steps) != 0)
		return failed(d, "the milter asks for what the MTA did not "
		    "offer (actions 0x%lx, steps 0x%lx)",
		    (unsigned long)o.actions & ~actions,
		    (unsigned long)o.steps & ~steps);
	d->version = (int)o.version;
	d->actions = o.actions;
	d->steps = o.steps;
	for (st = 0; st < WIRE_LISTS; st++)
		if (o.lists[st] != NULL && (d->lists[st] =
		    strdup(o.lists[st])) == NULL)
			return failed(d, "out of memory");
	return 0;
}

void
forward_stage(SMFICTX *ctx, struct session *s, struct event *ev)
{
	struct downstream	*d;
	enum ctx_close		 how;
	uint64_t		 start, deadline;

	if (s == NULL)
		return;
	/* After QUIT_NC, a connection that could not be kept. */
	if ((d = s->down) == NULL && (d = calloc(1, sizeof *d)) != NULL) {
		d->fd = -1;
		s->down = d;
		failed(d, "no connection for a session after QUIT_NC");
	}
	if (d == NULL)
		return;
	memset(&d->fw, 0, sizeof d->fw);
	d->status = SMFIS_CONTINUE;
	d->nheld = 0;
	d->heldbuf.len = d->text.len = 0;
	ev->forward = &d->fw;
	if (ev->stage == STAGE_ENVFROM && d->accepted == SCOPE_MESSAGE)
		d->accepted = SCOPE_NONE;
	/* Abort and close are not answered: nothing to give in its stead. */
	if (d->failed) {
		if (ev->stage != STAGE_ABORT && ev->stage != STAGE_CLOSE)
			give_default(d);
		d->fw.failure = d->why;
		goto ended;
	}
	if (!sent_to(d, ev))
		goto ended;
	start = now_ns();
	deadline = start + (ev->stage == STAGE_EOM ? conf->eom_ms :
	    conf->command_ms) * 1000000;
	/*
	 * A close is a QUIT, as an MTA says it at every disconnect, unless
	 * it was a QUIT_NC.  libmilter's state cannot tell a QUIT from the
	 * MTA hanging up: after eom (and Postfix's abort there), it drops
	 * the QUIT as out of order and closes as if the MTA had gone.
	 */
	how = ev->stage == STAGE_CLOSE && s->layout_ok ? ctx_closing(ctx) :
	    CTX_CLOSE_QUIT;
	d->fw.sent = 1;
	if (send_event(d, ev, how == CTX_CLOSE_QUIT_NC ? SMFIC_QUIT_NC :
	    commands[ev->stage].cmd, deadline) == 0 &&
	    ev->stage != STAGE_ABORT && ev->stage != STAGE_CLOSE &&
	    !(d->steps & noreply_step(ev->stage)))
		take_answer(ctx, d, ev->stage, deadline);
	d->fw.ns = now_ns() - start;
	if (d->failed)
		give_default(d);
	else if (ev->stage == STAGE_EOM)
		make_changes(ctx, s, d);
	/* QUIT_NC keeps the connection for the next one on ctx. */
	if (ev->stage == STAGE_CLOSE && how != CTX_CLOSE_QUIT_NC &&
	    d->fd != -1) {
		close(d->fd);
		d->fd = -1;
	}
ended:
	if (ev->stage == STAGE_EOM || ev->stage == STAGE_ABORT) {
		d->skipping = 0;
		if (d->accepted == SCOPE_MESSAGE)
			d->accepted = SCOPE_NONE;
	}
	if (ev->stage == STAGE_CLOSE)
		d->accepted = SCOPE_NONE;
}

/*
 * Whether ev goes to the milter, as an MTA would send it under the
 * milter's negotiation and answers so far.
 */
static int
sent_to(const struct downstream *d, const struct event *ev)
{
	if (d->fd == -1)
		return 0;
	if (ev->stage == STAGE_CLOSE)
		return 1;
	if (d->accepted == SCOPE_CONNECTION ||
	    (d->accepted == SCOPE_MESSAGE && ev->stage != STAGE_CONNECT &&
	    ev->stage != STAGE_HELO && ev->stage != STAGE_UNKNOWN))
		return 0;
	if (d->steps & commands[ev->stage].declined)
		return 0;
	if (ev->stage == STAGE_BODY && d->skipping)
		return 0;
	/* An MTA sends rejected recipients only to a milter that asked. */
	if (ev->rejected && !(d->steps & SMFIP_RCPT_REJ))
		return 0;
	return 1;
}

/*
 * The event's macros, as the MTA sent them, then its command, cmd.
 * Returns 0, or -1 failed.
 */
static int
send_event(struct downstream *d, const struct event *ev, char cmd,
    uint64_t deadline)
{
	struct buf	*b = &d->out;
	char *const	*p;
	size_t		 at;
	int		 rc = 0;

	if (ev->packet != NULL && ev->packet[0] != NULL) {
		at = wire_begin(b, SMFIC_MACRO);
		rc |= buf_add(b, &cmd, 1);
		for (p = ev->packet; p[0] != NULL && p[1] != NULL; p += 2)
			rc |= wire_string(b, p[0]) | wire_string(b, p[1]);
		wire_end(b, at);
	}
	at = wire_begin(b, cmd);
	switch (ev->stage) {
	case STAGE_CONNECT:
		rc |= add_connect(b, ev);
		break;
	case STAGE_HELO:
	case STAGE_UNKNOWN:
		rc |= wire_string(b, ev->name);
		break;
	case STAGE_ENVFROM:
	case STAGE_ENVRCPT:
		for (p = ev->args; p != NULL && *p != NULL; p++)
			rc |= wire_string(b, *p);
		break;
	case STAGE_HEADER:
		rc |= wire_string(b, ev->name) | wire_string(b, ev->value);
		break;
	case STAGE_BODY:
		rc |= buf_add(b, ev->chunk, ev->length);
		break;
	default:
		break;
	}
	wire_end(b, at);
	if (rc != 0)
		return failed(d, "out of memory");
	return write_all(d, deadline);
}

/* SMFIC_CONNECT's data: host, family, port, address. */
static int
add_connect(struct buf *b, const struct event *ev)
{
	const struct sockaddr	*sa = ev->address;
	char			 ip[INET6_ADDRSTRLEN];
	unsigned char		 fam[3] = { SMFIA_UNKNOWN, 0, 0 };
	const void		*addr = NULL;
	in_port_t		 port = 0;

	if (wire_string(b, ev->host) == -1)
		return -1;
	if (sa != NULL && sa->sa_family == AF_INET) {
		fam[0] = SMFIA_INET;
		addr = &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr;
		port = ((const struct sockaddr_in *)(const void *)sa)->
		    sin_port;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		fam[0] = SMFIA_INET6;
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr;
		port = ((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_port;
	} else if (sa != NULL && sa->sa_family == AF_UNIX)
		fam[0] = SMFIA_UNIX;
	if (fam[0] == SMFIA_UNKNOWN)
		return buf_add(b, fam, 1);
	/* The port as it came, in network order. */
	memcpy(fam + 1, &port, 2);
	if (buf_add(b, fam, 3) == -1)
		return -1;
	if (fam[0] == SMFIA_UNIX)
		return wire_string(b, ((const struct sockaddr_un *)
		    (const void *)sa)->sun_path);
	if (inet_ntop(sa->sa_family, addr, ip, sizeof ip) == NULL)
		ip[0] = '\0';
	return wire_string(b, ip);
}

/*
 * Read the milter's answer to stage, up to deadline: its changes at eom
 * (held until the answer), its progress (passed on at eom), and the
 * answer.  Returns 0, or -1 failed.
 */
static int
take_answer(SMFICTX *ctx, struct downstream *d, enum stage stage,
    uint64_t deadline)
{
	struct wire_reply	 r;
	const unsigned char	*data;
	const char		*why;
	uint64_t		 until, progress = now_ns();
	unsigned long		 ms = stage == STAGE_EOM ? conf->eom_ms :
				    conf->command_ms;
	size_t			 len;
	char			 cmd;
	int			 rc;

	for (;;) {
		/* At eom the MTA hears from inspect while it waits. */
		until = deadline;
		if (stage == STAGE_EOM && progress + PROGRESS_MS * 1000000ULL <
		    until)
			until = progress + PROGRESS_MS * 1000000ULL;
		if ((rc = read_packet(d, until, &cmd, &data, &len)) == -1)
			return -1;
		if (rc == 1 && now_ns() >= deadline)
			return failed(d, "no answer at %s in %lu.%03lu s",
			    print_stage_names[stage], ms / 1000, ms % 1000);
		if (rc == 1) {
			if (smfi_progress(ctx) == MI_FAILURE)
				log_err("cannot tell the MTA that the milter "
				    "is at work");
			progress = now_ns();
			continue;
		}
		if (wire_reply(cmd, data, len, &r, &why) == -1)
			return failed(d, "the milter sent %s ('%c', %zu "
			    "bytes) at %s", why, isprint((unsigned char)cmd) ?
			    cmd : '?', len, print_stage_names[stage]);
		if (cmd == SMFIR_PROGRESS) {
			if (stage == STAGE_EOM) {
				if (smfi_progress(ctx) == MI_FAILURE)
					log_err("cannot pass the milter's "
					    "progress on");
				progress = now_ns();
			}
			/*
			 * The MTA waits anew, but inspect's wait stays
			 * bounded: the timeout is the whole stage's, progress
			 * or not, or a milter could hold it for ever.
			 */
			continue;
		}
		if (strchr("h" "i" "m" "+" "2" "-" "e" "b" "q", cmd) != NULL) {
			if (stage != STAGE_EOM)
				return failed(d, "the milter sent a change "
				    "('%c') at %s", cmd,
				    print_stage_names[stage]);
			if (hold(d, cmd, data, len) == -1)
				return failed(d, "out of memory");
			continue;
		}
		return take_reply(d, &r, stage);
	}
}

/* The milter's answer r to stage, into d.  Returns 0, or -1 failed. */
static int
take_reply(struct downstream *d, const struct wire_reply *r,
    enum stage stage)
{
	struct answer	*a = &d->fw.reply;

	a->action = answer_word(r->cmd);
	switch (r->cmd) {
	case SMFIR_CONTINUE:
		d->status = SMFIS_CONTINUE;
		return 0;
	case SMFIR_ACCEPT:
		d->status = SMFIS_CONTINUE;
		d->accepted = stage == STAGE_CONNECT || stage == STAGE_HELO ?
		    SCOPE_CONNECTION : SCOPE_MESSAGE;
		return 0;
	case SMFIR_SKIP:
		/* The MTA still sends the body, for the report. */
		d->status = SMFIS_CONTINUE;
		d->skipping = stage == STAGE_BODY;
		return 0;
	case SMFIR_REJECT:
		d->status = SMFIS_REJECT;
		return 0;
	case SMFIR_TEMPFAIL:
	case SMFIR_CONN_FAIL:
	case SMFIR_SHUTDOWN:
		d->status = SMFIS_TEMPFAIL;
		return 0;
	case SMFIR_DISCARD:
		d->status = SMFIS_DISCARD;
		return 0;
	case SMFIR_REPLYCODE:
		if (split_reply(d, r->text) == -1)
			return failed(d, "the milter's reply is not an SMTP "
			    "reply of 4xx or 5xx");
		d->status = d->code[0] == '4' ? SMFIS_TEMPFAIL :
		    SMFIS_REJECT;
		a->action = d->code[0] == '4' ? "tempfail" : "reject";
		return 0;
	default:
		return failed(d, "the milter answered %s with '%c'",
		    print_stage_names[stage], r->cmd);
	}
}

/*
 * The milter's reply text into d: its code, enhanced code and lines for
 * libmilter, and for the report the lines joined by LF, as --reply takes
 * them.  Returns 0, or -1 if it is not a reply libmilter could make, or
 * out of memory.
 */
static int
split_reply(struct downstream *d, const char *text)
{
	struct wire_lines	 l;
	size_t			 k;

	if (wire_reply_lines(text, &l) == -1)
		return -1;
	for (k = 0; k < l.n; k++) {
		d->lineat[k] = d->text.len;
		if (buf_add(&d->text, l.text[k], l.len[k]) == -1 ||
		    buf_add(&d->text, "", 1) == -1)
			return -1;
	}
	d->joinedat = d->text.len;
	for (k = 0; k < l.n; k++)
		if (buf_add(&d->text, l.text[k], l.len[k]) == -1 ||
		    buf_add(&d->text, k + 1 < l.n ? "\n" : "", 1) == -1)
			return -1;
	d->nlines = l.n;
	memcpy(d->code, l.code, sizeof d->code);
	memcpy(d->xcode, l.xcode, sizeof d->xcode);
	d->fw.reply.code = d->code;
	d->fw.reply.xcode = d->xcode[0] != '\0' ? d->xcode : NULL;
	place_reply(d);
	return 0;
}

/*
 * Point the reply's lines and the report's text into d's text, where
 * split_reply() put them.  Again after the text grows (the changes at
 * eom come after the answer), which may move it.
 */
static void
place_reply(struct downstream *d)
{
	size_t	 k;

	if (d->fw.reply.code == NULL)
		return;
	for (k = 0; k < d->nlines; k++)
		d->lines[k] = d->text.data + d->lineat[k];
	d->lines[d->nlines] = NULL;
	d->fw.reply.text = d->text.data + d->joinedat;
}

/* Keep a change until the answer that lets it be made. */
static int
hold(struct downstream *d, char cmd, const unsigned char *data, size_t len)
{
	struct held	*h;

	if (d->nheld == d->heldcap) {
		h = reallocarray(d->held, d->heldcap * 2 + 8, sizeof *h);
		if (h == NULL)
			return -1;
		d->held = h;
		d->heldcap = d->heldcap * 2 + 8;
	}
	h = &d->held[d->nheld];
	h->cmd = cmd;
	h->at = d->heldbuf.len;
	h->len = len;
	if (buf_add(&d->heldbuf, data, len) == -1)
		return -1;
	d->nheld++;
	return 0;
}

/*
 * At eom, with the answer in: make the milter's changes through
 * libmilter, in the order it sent them, and describe each for the
 * report.  A body replaced in several packets is one change.
 */
static void
make_changes(SMFICTX *ctx, struct session *s, struct downstream *d)
{
	struct answer_change	*c;
	struct wire_reply	 r;
	const char		*why;
	size_t			 i, n = 0, value, body = 0;
	size_t			*offs;
	int			 replaced = 0;

	if (d->nheld == 0)
		return;
	if (d->changescap < d->nheld) {
		c = reallocarray(d->changes, d->nheld, sizeof *c);
		if (c == NULL)
			goto nomem;
		d->changes = c;
		d->changescap = d->nheld;
	}
	if ((offs = calloc(d->nheld, sizeof *offs)) == NULL)
		goto nomem;
	for (i = 0; i < d->nheld; i++)
		if (d->held[i].cmd == SMFIR_REPLBODY)
			body += d->held[i].len;
	for (i = 0; i < d->nheld; i++) {
		wire_reply(d->held[i].cmd, (unsigned char *)d->heldbuf.data +
		    d->held[i].at, d->held[i].len, &r, &why);
		if (r.cmd == SMFIR_REPLBODY && replaced) {
			make_change(ctx, s, &r, body, NULL);
			continue;
		}
		replaced |= r.cmd == SMFIR_REPLBODY;
		d->changes[n].failure = make_change(ctx, s, &r, body, &value);
		offs[n++] = value;
	}
	/* The strings are in place once the text stops growing. */
	place_reply(d);
	for (i = 0; i < n; i++) {
		c = &d->changes[i];
		if (offs[i] == SIZE_MAX) {
			c->what = "change";
			c->value = "(out of memory)";
			continue;
		}
		c->value = d->text.data + offs[i];
		c->what = c->value;
		c->value += strlen(c->value) + 1;
	}
	free(offs);
	d->fw.reply.changes = d->changes;
	d->fw.reply.nchanges = n;
	return;
nomem:
	log_err("cannot make the milter's changes: out of memory");
}

/*
 * Make one change; unless value is NULL, put its name and the value the
 * report shows ("WHAT\0VALUE\0") in the session's text, at *value (a
 * body replaced is shown as its size, body bytes).  Returns NULL if
 * done, else why not.
 */
static const char *
make_change(SMFICTX *ctx, struct session *s, const struct wire_reply *r,
    size_t body, size_t *value)
{
	struct downstream	*d = s->down;
	struct buf		*t = &d->text;
	const char		*what = "";
	char			 num[32];
	int			 rc = MI_FAILURE, leadspc;

	leadspc = (s->steps & SMFIP_HDR_LEADSPC) != 0;
	switch (r->cmd) {
	case SMFIR_ADDHEADER:
		what = probe_change_names[CHANGE_ADD_HEADER];
		rc = smfi_addheader(ctx, (char *)(uintptr_t)r->name,
		    (char *)(uintptr_t)r->value);
		break;
	case SMFIR_INSHEADER:
		what = probe_change_names[CHANGE_INSERT_HEADER];
		rc = smfi_insheader(ctx, (int)r->index,
		    (char *)(uintptr_t)r->name, (char *)(uintptr_t)r->value);
		break;
	case SMFIR_CHGHEADER:
		what = probe_change_names[CHANGE_CHANGE_HEADER];
		rc = smfi_chgheader(ctx, (char *)(uintptr_t)r->name,
		    (int)r->index, (char *)(uintptr_t)r->value);
		break;
	case SMFIR_CHGFROM:
		what = probe_change_names[CHANGE_CHANGE_FROM];
		rc = smfi_chgfrom(ctx, (char *)(uintptr_t)r->name,
		    (char *)(uintptr_t)r->value);
		break;
	case SMFIR_ADDRCPT:
	case SMFIR_ADDRCPT_PAR:
		what = probe_change_names[CHANGE_ADD_RCPT];
		rc = r->value != NULL ? smfi_addrcpt_par(ctx,
		    (char *)(uintptr_t)r->name, (char *)(uintptr_t)r->value) :
		    smfi_addrcpt(ctx, (char *)(uintptr_t)r->name);
		break;
	case SMFIR_DELRCPT:
		what = probe_change_names[CHANGE_DELETE_RCPT];
		rc = smfi_delrcpt(ctx, (char *)(uintptr_t)r->name);
		break;
	case SMFIR_REPLBODY:
		what = probe_change_names[CHANGE_REPLACE_BODY];
		rc = smfi_replacebody(ctx, (unsigned char *)(uintptr_t)r->data,
		    (int)r->len);
		break;
	case SMFIR_QUARANTINE:
		what = probe_change_names[CHANGE_QUARANTINE];
		rc = smfi_quarantine(ctx, (char *)(uintptr_t)r->text);
		break;
	}
	if (value == NULL)
		return NULL;
	/* As the probe options write them: see inspect(8). */
	*value = t->len;
	buf_add(t, what, strlen(what) + 1);
	switch (r->cmd) {
	case SMFIR_INSHEADER:
		snprintf(num, sizeof num, "%u ", r->index);
		buf_puts(t, num);
		/* FALLTHROUGH */
	case SMFIR_ADDHEADER:
		buf_puts(t, r->name);
		buf_puts(t, leadspc ? ":" : ": ");
		buf_puts(t, r->value);
		break;
	case SMFIR_CHGHEADER:
		snprintf(num, sizeof num, "[%u]:%s", r->index,
		    leadspc || r->value[0] == '\0' ? "" : " ");
		buf_puts(t, r->name);
		buf_puts(t, num);
		buf_puts(t, r->value);
		break;
	case SMFIR_REPLBODY:
		snprintf(num, sizeof num, "%zu bytes", body);
		buf_puts(t, num);
		break;
	case SMFIR_QUARANTINE:
		buf_puts(t, r->text);
		break;
	default:
		buf_puts(t, r->name);
		if (r->value != NULL) {
			buf_puts(t, " ");
			buf_puts(t, r->value);
		}
		break;
	}
	/* What came before it, the reply's text included, stays. */
	if (buf_add(t, "", 1) == -1) {
		t->len = *value;
		*value = SIZE_MAX;
	}
	if (rc == MI_FAILURE && !(d->actions & change_action(r->cmd)))
		return "not negotiated";
	return rc == MI_SUCCESS ? NULL : "libmilter refused it";
}

sfsistat
forward_answer(SMFICTX *ctx, struct session *s, const struct event *ev)
{
	struct downstream	*d;
	const char *const	*l;
	char			*x;
	int			 rc;

	if (s == NULL || (d = s->down) == NULL ||
	    (s->nr_steps & noreply_step(ev->stage)))
		return noreply_continue(s, ev->stage);
	if (d->status == SMFIS_CONTINUE)
		return SMFIS_CONTINUE;
	if ((d->status == SMFIS_REJECT || d->status == SMFIS_TEMPFAIL) &&
	    d->fw.reply.code != NULL && !d->failed) {
		l = (const char *const *)d->lines;
		x = d->xcode[0] != '\0' ? d->xcode : NULL;
		rc = d->nlines == 1 ? smfi_setreply(ctx, d->code, x,
		    d->lines[0]) : smfi_setmlreply(ctx, d->code, x, l[0],
		    l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9],
		    l[10], l[11], l[12], l[13], l[14], l[15], l[16], l[17],
		    l[18], l[19], l[20], l[21], l[22], l[23], l[24], l[25],
		    l[26], l[27], l[28], l[29], l[30], l[31], (char *)NULL);
		if (rc == MI_FAILURE)
			log_err("libmilter refused the milter's reply %s: "
			    "the MTA makes its own", d->code);
	}
	return d->status;
}

/* From now on, every stage gets --forward-default's answer. */
static void
give_default(struct downstream *d)
{
	d->fw.failure = d->why;
	d->fw.reply.action = default_words[conf->dflt];
	d->status = conf->dflt == FORWARD_TEMPFAIL ? SMFIS_TEMPFAIL :
	    conf->dflt == FORWARD_REJECT ? SMFIS_REJECT : SMFIS_CONTINUE;
}

/* Fail the session with a reason, once, logged.  Returns -1. */
static int
failed(struct downstream *d, const char *fmt, ...)
{
	va_list	 ap;

	if (d->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof d->why, fmt, ap);
	va_end(ap);
	d->failed = 1;
	if (d->fd != -1) {
		close(d->fd);
		d->fd = -1;
	}
	log_warn("the milter at %s: %s; answering %s", conf->spec, d->why,
	    default_words[conf->dflt]);
	return -1;
}

/* Write d's packets whole, up to deadline.  Returns 0, or -1 failed. */
static int
write_all(struct downstream *d, uint64_t deadline)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < d->out.len) {
		n = send(d->fd, d->out.data + off, d->out.len - off,
		    MSG_NOSIGNAL);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return failed(d, "cannot write to the milter: %s",
			    strerror(errno));
		switch (await(d->fd, POLLOUT, deadline)) {
		case 0:
			return failed(d, "the milter took nothing for %lu.%03lu"
			    " s", conf->command_ms / 1000,
			    conf->command_ms % 1000);
		case -1:
			return failed(d, "inspect is stopping");
		}
	}
	d->out.len = 0;
	return 0;
}

/*
 * Take the milter's next packet, up to deadline: its command in *cmd,
 * its data in *data (valid until the next call), their length in *len.
 * What the milter sent at once is read at once, and several packets
 * with it.  Returns 0; 1 if the deadline came before the whole packet
 * (the caller decides; what came of it is kept); -1 failed.
 */
static int
read_packet(struct downstream *d, uint64_t deadline, char *cmd,
    const unsigned char **data, size_t *len)
{
	const unsigned char	*p;
	size_t			 n;
	int			 rc;

	if ((rc = fill(d, 5, deadline)) != 0)
		return rc;
	p = d->in + d->inoff;
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (n == 0 || n > WIRE_MAX_PACKET)
		return failed(d, "the milter sent a packet of %zu bytes", n);
	/* A packet under way stays in the buffer for the next call. */
	if ((rc = fill(d, 4 + n, deadline)) != 0)
		return rc;
	p = d->in + d->inoff;
	*cmd = (char)p[4];
	*data = p + 5;
	*len = n - 1;
	d->inoff += 4 + n;
	return 0;
}

/*
 * Have need bytes of the milter's from d->inoff on, reading as much as
 * it sent and the buffer takes, up to deadline.  Returns 0; 1 if the
 * deadline came first; -1 failed.
 */
static int
fill(struct downstream *d, size_t need, uint64_t deadline)
{
	unsigned char	*p;
	size_t		 cap;
	ssize_t		 n;

	/* What the packets before took is done with. */
	if (d->inoff == d->inlen)
		d->inoff = d->inlen = 0;
	while (d->inlen - d->inoff < need) {
		if (d->inoff > 0 && d->incap - d->inoff < need) {
			memmove(d->in, d->in + d->inoff, d->inlen - d->inoff);
			d->inlen -= d->inoff;
			d->inoff = 0;
		}
		if (d->incap < need) {
			cap = need < FILL_BYTES ? FILL_BYTES : need;
			if ((p = realloc(d->in, cap)) == NULL)
				return failed(d, "out of memory");
			d->in = p;
			d->incap = cap;
		}
		/* An answer takes the milter a while: wait, then read. */
		switch (await(d->fd, POLLIN, deadline)) {
		case 0:
			return 1;
		case -1:
			return failed(d, "inspect is stopping");
		}
		n = recv(d->fd, d->in + d->inlen, d->incap - d->inlen, 0);
		if (n > 0)
			d->inlen += n;
		else if (n == 0)
			return failed(d, "the milter hung up");
		else if (errno != EINTR && errno != EAGAIN)
			return failed(d, "cannot read from the milter: %s",
			    strerror(errno));
	}
	return 0;
}

/*
 * Wait until fd is ready for events, up to deadline (CLOCK_MONOTONIC
 * ns).  Returns 1 ready, 0 timed out, -1 stopping.
 */
static int
await(int fd, short events, uint64_t deadline)
{
	struct pollfd	 pfd[2];
	uint64_t	 now;
	int		 ms, n;

	pfd[0].fd = fd;
	pfd[0].events = events;
	pfd[1].fd = stop_pipe[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if ((now = now_ns()) >= deadline)
			return 0;
		ms = (int)((deadline - now + 999999) / 1000000);
		n = poll(pfd, 2, ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n > 0 && pfd[1].revents != 0)
			return -1;
		if (n != 0)
			return 1;
	}
}

void
forward_free(struct downstream *d)
{
	int	 i;

	if (d == NULL)
		return;
	if (d->fd != -1)
		close(d->fd);
	buf_free(&d->out);
	buf_free(&d->heldbuf);
	buf_free(&d->text);
	free(d->in);
	free(d->held);
	free(d->changes);
	for (i = 0; i < WIRE_LISTS; i++)
		free(d->lists[i]);
	free(d);
}

int
forward_open(const struct downstream *d)
{
	return d != NULL && d->fd != -1;
}

void
forward_stop(void)
{
	if (stop_pipe[1] != -1)
		(void)write(stop_pipe[1], "s", 1);
}

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The report's word for an answer. */
static const char *
answer_word(char cmd)
{
	switch (cmd) {
	case SMFIR_CONTINUE:
		return "continue";
	case SMFIR_ACCEPT:
		return "accept";
	case SMFIR_SKIP:
		return "skip";
	case SMFIR_REJECT:
		return "reject";
	case SMFIR_TEMPFAIL:
		return "tempfail";
	case SMFIR_DISCARD:
		return "discard";
	case SMFIR_CONN_FAIL:
		return "connection failure";
	case SMFIR_SHUTDOWN:
		return "shutdown";
	default:
		return "reply";
	}
}

/* The action (SMFIF_*) a change needs. */
static unsigned long
change_action(char cmd)
{
	switch (cmd) {
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
		return SMFIF_ADDHDRS;
	case SMFIR_CHGHEADER:
		return SMFIF_CHGHDRS;
	case SMFIR_CHGFROM:
		return SMFIF_CHGFROM;
	case SMFIR_ADDRCPT:
		return SMFIF_ADDRCPT;
	case SMFIR_ADDRCPT_PAR:
		return SMFIF_ADDRCPT_PAR;
	case SMFIR_DELRCPT:
		return SMFIF_DELRCPT;
	case SMFIR_REPLBODY:
		return SMFIF_CHGBODY;
	case SMFIR_QUARANTINE:
		return SMFIF_QUARANTINE;
	default:
		return 0;
	}
}
