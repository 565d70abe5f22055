/* macros.c -- which macros are asked for where, which each event
 * shows, and where they are read */
/* SPDX-License-Identifier: ISC */

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macros.h"

/*
 * Where libmilter 8.17.1.9 and later keep the EOH and the EOM packets
 * (CI_EOH, CI_EOM), for when a session has not shown which is which:
 * earlier releases had them the other way round.
 */
#define EOH_SLOT	CTX_EOH_EOM_A
#define EOM_SLOT	CTX_EOH_EOM_B

/* A pair of the context, for working out what is visible. */
struct macros_pair {
	const char	*name;
	int		 slot;
	size_t		 pos;		/* in stage order */
};

static int	from_context(struct macros *, SMFICTX *, struct event *);
static int	sent_in_context(struct macros *, char **const *,
		    const void *const *, struct event *);
static int	judged(SMFICTX *, const struct event *);
static int	list_visible(struct macros *, char **const *,
		    const void *const *, const int *, struct event *);
static int	by_name(const void *, const void *);
static int	from_lookup(struct macros *, SMFICTX *, struct event *);
static int	own_slot(struct macros *, enum stage, const void *const *);
static enum stage slot_stage(const struct macros *, int);
static int	brings_macros(enum stage);
static int	listed(const char *);
static int	same_name(const char *, const char *);
static int	one_macro(const char *, const char *);
static void	*grow(void *, size_t *, size_t, size_t);
static int	add_sent(struct macros *, size_t *, const char *,
		    const char *);
static int	add_visible(struct macros *, size_t *, const char *,
		    const char *, enum stage);
static int	layout_failed(struct macros *);
static unsigned int asked_at(const char *);
static unsigned int first_stage(unsigned int);
static char	*join_stage(const struct options *, int, size_t *);

/* Set up in macros_init(); read-only while serving. */
static const struct options	*conf;

/* Whether a look-up found the slots where they were read: 1, -1, 0 not yet. */
static atomic_int		 verdict;
static atomic_int		 warned;

/*
 * The stages at which Postfix and Sendmail can set each macro of the
 * default list, by bits of SMFIM_* values: Postfix's from its
 * MILTER_README table (and, seen from Postfix 3.7, i at a second RCPT once
 * the queue file is open, the last RCPT's values again at DATA);
 * Sendmail's from where it defines the macro, after which it stays
 * defined.  An MTA sends a stage only the names listed for that
 * stage, and libmilter keeps what each stage brought visible at the later
 * ones (until the next transaction's MAIL for those of MAIL on), so a
 * name is asked for only at the first stage where each MTA can set it,
 * and again where its value can first appear or change: that keeps every
 * stage well under Sendmail's 50 names.  Postfix's own default lists do
 * the same with i, the one name it asks for again.
 */
#define AT_CONN		(1u << SMFIM_CONNECT)
#define AT_HELO		(1u << SMFIM_HELO)
#define AT_MAIL		(1u << SMFIM_ENVFROM)
#define AT_RCPT		(1u << SMFIM_ENVRCPT)
#define AT_DATA		(1u << SMFIM_DATA)
#define AT_EOH		(1u << SMFIM_EOH)
#define AT_EOM		(1u << SMFIM_EOM)
#define ALWAYS		(AT_CONN | SINCE_HELO)
#define SINCE_HELO	(AT_HELO | SINCE_MAIL)
#define SINCE_MAIL	(AT_MAIL | SINCE_RCPT)
#define SINCE_RCPT	(AT_RCPT | SINCE_DATA)
#define SINCE_DATA	(AT_DATA | SINCE_EOH)
#define SINCE_EOH	(AT_EOH | AT_EOM)
#define PF_TLS		(AT_HELO | AT_MAIL | AT_DATA)
#define PF_AUTH		(AT_MAIL | AT_DATA | AT_EOH | AT_EOM)

static const struct macro_stages {
	const char	*name;
	unsigned int	 postfix;
	unsigned int	 sendmail;
	unsigned int	 again;	/* where the value can appear or change */
} macro_stages[] = {
	/* The connection: known at connect, the same until it ends. */
	{ "j",			ALWAYS,		ALWAYS,		0 },
	{ "_",			ALWAYS,		ALWAYS,		0 },
	{ "v",			ALWAYS,		ALWAYS,		0 },
	{ "{daemon_name}",	ALWAYS,		ALWAYS,		0 },
	{ "{daemon_addr}",	ALWAYS,		ALWAYS,		0 },
	{ "{daemon_port}",	ALWAYS,		ALWAYS,		0 },
	{ "{daemon_family}",	0,		ALWAYS,		0 },
	{ "{daemon_flags}",	0,		ALWAYS,		0 },
	{ "{daemon_info}",	0,		ALWAYS,		0 },
	{ "{if_name}",		0,		ALWAYS,		0 },
	{ "{if_addr}",		0,		ALWAYS,		0 },
	{ "{if_family}",	0,		ALWAYS,		0 },
	{ "{if_name_out}",	0,		ALWAYS,		0 },
	{ "{if_addr_out}",	0,		ALWAYS,		0 },
	{ "{if_family_out}",	0,		ALWAYS,		0 },
	{ "{client_addr}",	ALWAYS,		ALWAYS,		0 },
	{ "{client_name}",	ALWAYS,		ALWAYS,		0 },
	{ "{client_port}",	ALWAYS,		ALWAYS,		0 },
	{ "{client_ptr}",	AT_CONN | AT_HELO | AT_MAIL | AT_DATA,
						ALWAYS,		0 },
	{ "{client_resolve}",	ALWAYS,		ALWAYS,		0 },
	{ "{client_connections}", AT_CONN,	ALWAYS,		0 },
	{ "{client_rate}",	0,		ALWAYS,		0 },
	{ "{total_rate}",	0,		ALWAYS,		0 },
	{ "{client_flags}",	0,		ALWAYS,		0 },
	/* Sendmail's own state, asked for once. */
	{ "{opMode}",		0,		ALWAYS,		0 },
	{ "{load_avg}",		0,		ALWAYS,		0 },
	/* The date: Sendmail stamps each transaction anew. */
	{ "b",			0,		ALWAYS,		AT_MAIL },
	/* HELO's name and the protocol: Sendmail sets them again at MAIL. */
	{ "s",			0,		SINCE_HELO,	AT_MAIL },
	{ "r",			0,		SINCE_HELO,	AT_MAIL },
	/*
	 * TLS, once STARTTLS is done: with the EHLO that follows, or with
	 * MAIL from a client that sends none.
	 */
	{ "{tls_version}",	PF_TLS,		SINCE_HELO,	AT_MAIL },
	{ "{cipher}",		PF_TLS,		SINCE_HELO,	AT_MAIL },
	{ "{cipher_bits}",	PF_TLS,		SINCE_HELO,	AT_MAIL },
	{ "{cert_subject}",	PF_TLS,		SINCE_HELO,	AT_MAIL },
	{ "{cert_issuer}",	PF_TLS,		SINCE_HELO,	AT_MAIL },
	{ "{tls_sni}",		PF_TLS,		0,		AT_MAIL },
	{ "{cert_fp}",		0,		SINCE_HELO,	AT_MAIL },
	{ "{cert_md5}",		0,		SINCE_HELO,	AT_MAIL },
	{ "{cn_subject}",	0,		SINCE_HELO,	AT_MAIL },
	{ "{cn_issuer}",	0,		SINCE_HELO,	AT_MAIL },
	{ "{alg_bits}",		0,		SINCE_HELO,	AT_MAIL },
	{ "{verify}",		0,		SINCE_HELO,	AT_MAIL },
	{ "{server_name}",	0,		SINCE_HELO,	AT_MAIL },
	{ "{server_addr}",	0,		SINCE_HELO,	AT_MAIL },
	/* AUTH comes before MAIL; AUTH= with MAIL. */
	{ "{auth_type}",	PF_AUTH,	SINCE_MAIL,	0 },
	{ "{auth_authen}",	PF_AUTH,	SINCE_MAIL,	0 },
	{ "{auth_author}",	PF_AUTH,	SINCE_MAIL,	0 },
	{ "{auth_ssf}",		0,		SINCE_MAIL,	0 },
	/*
	 * The queue id: Sendmail's at MAIL, Postfix's once the first
	 * recipient is accepted, so at a later RCPT or at DATA.
	 */
	{ "i",			SINCE_RCPT,	SINCE_MAIL,	AT_DATA },
	/* The envelope, each transaction anew. */
	{ "{mail_addr}",	AT_MAIL,	SINCE_MAIL,	0 },
	{ "{mail_host}",	AT_MAIL,	SINCE_MAIL,	0 },
	{ "{mail_mailer}",	AT_MAIL,	SINCE_MAIL,	0 },
	{ "{rcpt_addr}",	AT_RCPT | AT_DATA, SINCE_RCPT,	0 },
	{ "{rcpt_host}",	AT_RCPT | AT_DATA, SINCE_RCPT,	0 },
	{ "{rcpt_mailer}",	AT_RCPT | AT_DATA, SINCE_RCPT,	0 },
	{ "{bodytype}",		0,		SINCE_MAIL,	0 },
	{ "{envid}",		0,		SINCE_MAIL,	0 },
	{ "{dsn_envid}",	0,		SINCE_MAIL,	0 },
	{ "{dsn_ret}",		0,		SINCE_MAIL,	0 },
	{ "{dsn_notify}",	0,		SINCE_RCPT,	0 },
	{ "{ntries}",		0,		SINCE_MAIL,	0 },
	{ "{time}",		0,		SINCE_MAIL,	0 },
	/* Counts that grow: reset at MAIL, counted at RCPT and DATA. */
	{ "{nrcpts}",		0,		SINCE_MAIL,	AT_DATA },
	{ "{nbadrcpts}",	0,		SINCE_MAIL,	AT_RCPT },
	/* SIZE= at MAIL, the size counted once the message is in. */
	{ "{msg_size}",		0,		SINCE_MAIL,	AT_EOH },
	/* A quarantine, from a check at any stage or a milter at eom. */
	{ "{quarantine}",	0,		SINCE_MAIL,	AT_EOM },
	/* Read from the headers. */
	{ "c",			0,		SINCE_EOH,	0 },
	{ "{msg_id}",		0,		AT_EOM,		0 },
};

/* The stages' names ("connect", "helo", ...), by SMFIM_* value. */
static const char *const macros_stage_names[MACROS_STAGES] = {
	[SMFIM_CONNECT] = "connect", [SMFIM_HELO] = "helo",
	[SMFIM_ENVFROM] = "envfrom", [SMFIM_ENVRCPT] = "envrcpt",
	[SMFIM_DATA] = "data", [SMFIM_EOH] = "eoh", [SMFIM_EOM] = "eom"
};

/* The SMFIM_* values in the order an MTA meets the stages. */
static const int macros_stage_order[MACROS_STAGES] = {
	SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT, SMFIM_DATA,
	SMFIM_EOH, SMFIM_EOM
};

static const enum stage	slot_stages[CTX_SLOTS] = {
	STAGE_CONNECT, STAGE_HELO, STAGE_ENVFROM, STAGE_ENVRCPT, STAGE_DATA,
	[EOH_SLOT] = STAGE_EOH, [EOM_SLOT] = STAGE_EOM
};

void
macros_init(const struct options *opts)
{
	conf = opts;
}

void
macros_begin(struct macros *m, int layout_ok)
{
	m->eoh_slot = -1;
	memset(m->seen, 0, sizeof m->seen);
	if (conf->macro_source == SOURCE_LOOKUP)
		m->source = SOURCE_LOOKUP;
	else if (layout_ok && atomic_load(&verdict) != -1)
		m->source = SOURCE_CONTEXT;
	else
		layout_failed(m);
}

int
macros_event(struct macros *m, SMFICTX *ctx, struct event *ev)
{
	ev->macros = NULL;
	ev->nmacros = 0;
	ev->visible = NULL;
	ev->nvisible = 0;
	ev->show_visible = conf->show_macros == SHOW_ALL;
	ev->packet = NULL;
	/* What is forwarded is read even where nothing is shown. */
	if (conf->show_macros == SHOW_NONE && conf->forward.spec == NULL)
		return 0;
	if (m->source == SOURCE_CONTEXT) {
		/* Header and body chunks, most events, show nothing. */
		if (!brings_macros(ev->stage) && !ev->show_visible)
			return 0;
		/*
		 * Judged wrong, by this event or another session's: not
		 * read again, not even for this event.
		 */
		if (judged(ctx, ev) == -1)
			layout_failed(m);
	}
	if (m->source == SOURCE_CONTEXT)
		return from_context(m, ctx, ev);
	if (m->source == SOURCE_LOOKUP)
		return from_lookup(m, ctx, ev);
	return 0;
}

const char *
macros_value(struct macros *m, SMFICTX *ctx, const char *name)
{
	const void	*buf;
	char		**p;
	int		 i;

	/* A context judged wrong since m began is not read. */
	if (m->source == SOURCE_CONTEXT && atomic_load(&verdict) == -1)
		layout_failed(m);
	if (m->source != SOURCE_CONTEXT)
		return m->source == SOURCE_LOOKUP ?
		    smfi_getsymval(ctx, (char *)(uintptr_t)name) : NULL;
	/* As libmilter looks: the later slots first, the first match. */
	for (i = CTX_SLOTS - 1; i >= 0; i--)
		for (p = ctx_macros(ctx, i, &buf); p != NULL &&
		    p[0] != NULL && p[1] != NULL; p += 2)
			if (same_name(p[0], name))
				return p[1];
	return NULL;
}

void
macros_free(struct macros *m)
{
	size_t	 i;

	if (m->values != NULL)
		for (i = 0; i < conf->nmacros; i++)
			free(m->values[i]);
	free(m->values);
	free(m->stages);
	free(m->sent);
	free(m->visible);
	free(m->pairs);
	free(m->wins);
	memset(m, 0, sizeof *m);
}

/*
 * The context holds each stage's packet as the MTA sent it.  A packet is
 * new when its buffer is: libmilter decodes a new one before it frees the
 * one it replaces, and the stages that clear slots are callbacks too, so
 * noting every slot's buffer at every stage that can bring macros sees
 * each packet arrive.  An event shows the packet that came in its own
 * slot; a stage repeated without one (a second RCPT with no macros)
 * shows none.  Header, body, abort, close and unknown show none:
 * libmilter drops what comes with them, and abort can come after the
 * next MAIL's packet was stored, which is envfrom's to show.
 */
static int
from_context(struct macros *m, SMFICTX *ctx, struct event *ev)
{
	const void	*buf[CTX_SLOTS];
	char		**mac[CTX_SLOTS];
	int		 order[CTX_SLOTS] = { 0, 1, 2, 3, 4 };
	int		 i;

	for (i = 0; i < CTX_SLOTS; i++)
		mac[i] = ctx_macros(ctx, i, &buf[i]);
	if (brings_macros(ev->stage) && sent_in_context(m, mac, buf, ev) == -1)
		return -1;
	if (!ev->show_visible)
		return 0;
	order[CTX_EOH_EOM_A] = m->eoh_slot > 0 ? m->eoh_slot : EOH_SLOT;
	order[CTX_EOH_EOM_B] = order[CTX_EOH_EOM_A] == CTX_EOH_EOM_A ?
	    CTX_EOH_EOM_B : CTX_EOH_EOM_A;
	return list_visible(m, mac, buf, order, ev);
}

/*
 * Sent: the packet that came in the event's own slot, new since the
 * last event (mac, buf: the slots' macros and buffers).  Returns 0, or
 * -1 if out of memory.
 */
static int
sent_in_context(struct macros *m, char **const *mac, const void *const *buf,
    struct event *ev)
{
	char	**p;
	size_t	 n = 0;
	int	 i, own = own_slot(m, ev->stage, buf);

	for (i = 0; i < CTX_SLOTS; i++) {
		if (buf[i] == m->seen[i])
			continue;
		m->seen[i] = buf[i];
		m->from[i] = i == own ? ev->stage : slot_stage(m, i);
		if (i != own)
			continue;
		ev->packet = mac[i];
		for (p = mac[i]; conf->show_macros != SHOW_NONE && p != NULL &&
		    p[0] != NULL && p[1] != NULL; p += 2)
			if (add_sent(m, &n, p[0], p[1]) == -1)
				return -1;
	}
	ev->macros = m->sent;
	ev->nmacros = n;
	return 0;
}

/*
 * The verdict on the context's layout (1 right, -1 wrong, 0 not yet),
 * judged once, at the first event that brings macros, for every session.
 */
static int
judged(SMFICTX *ctx, const struct event *ev)
{
	int	 r;

	if (brings_macros(ev->stage) && atomic_load(&verdict) == 0 &&
	    (r = ctx_check_macros(ctx)) != -1)
		atomic_store(&verdict, r ? 1 : -1);
	return atomic_load(&verdict);
}

/*
 * Visible: what smfi_getsymval() would find for each name, that is the
 * first in the last slot that has it; listed in stage order (the slots
 * in order, a permutation).  Sorted by name, the pairs show which one
 * that is for each name in n log n comparisons: comparing each with
 * every other would take seconds an event for a full packet of 13,000
 * names.  Returns 0, or -1 if out of memory.
 */
static int
list_visible(struct macros *m, char **const *mac, const void *const *buf,
    const int *order, struct event *ev)
{
	struct macros_pair	*pairs;
	unsigned char		*wins;
	char			**p;
	size_t			 total = 0, n = 0, k;
	int			 i, o;
	enum stage		 from;

	for (i = 0; i < CTX_SLOTS; i++)
		for (p = mac[i]; p != NULL && p[0] != NULL && p[1] != NULL;
		    p += 2)
			total++;
	if (total > m->pairscap) {
		if ((pairs = reallocarray(m->pairs, total, sizeof *pairs)) ==
		    NULL)
			return -1;
		m->pairs = pairs;
		if ((wins = realloc(m->wins, total)) == NULL)
			return -1;
		m->wins = wins;
		m->pairscap = total;
	}
	for (o = 0; o < CTX_SLOTS; o++)
		for (i = order[o], p = mac[i]; p != NULL && p[0] != NULL &&
		    p[1] != NULL; p += 2, n++) {
			m->pairs[n] = (struct macros_pair){ p[0], i, n };
			m->wins[n] = 0;
		}
	if (total > 0)		/* none yet: no array either */
		qsort(m->pairs, total, sizeof *m->pairs, by_name);
	/* The first of each name is the one found. */
	for (k = 0; k < total; k++)
		if (k == 0 || strcmp(m->pairs[k].name,
		    m->pairs[k - 1].name) != 0)
			m->wins[m->pairs[k].pos] = 1;
	for (o = 0, n = 0, k = 0; o < CTX_SLOTS; o++) {
		i = order[o];
		from = buf[i] == m->seen[i] ? m->from[i] : slot_stage(m, i);
		for (p = mac[i]; p != NULL && p[0] != NULL && p[1] != NULL;
		    p += 2, k++)
			if (m->wins[k] &&
			    add_visible(m, &n, p[0], p[1], from) == -1)
				return -1;
	}
	ev->visible = m->visible;
	ev->nvisible = n;
	return 0;
}

/*
 * By name; then the later slot first, as libmilter looks; then the first
 * in the slot.
 */
static int
by_name(const void *a, const void *b)
{
	const struct macros_pair	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	if (x->slot != y->slot)
		return x->slot > y->slot ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * The slot of stage's own packet, or -1.  EOH and EOM are told apart as
 * they come: RCPT clears both, so at eoh only the EOH packet can have
 * arrived, and at eom the EOM packet is the other slot.
 */
static int
own_slot(struct macros *m, enum stage stage, const void *const *buf)
{
	int	 a, b;

	a = buf[CTX_EOH_EOM_A] != NULL && buf[CTX_EOH_EOM_A] !=
	    m->seen[CTX_EOH_EOM_A];
	b = buf[CTX_EOH_EOM_B] != NULL && buf[CTX_EOH_EOM_B] !=
	    m->seen[CTX_EOH_EOM_B];
	switch (stage) {
	case STAGE_CONNECT:
		return CTX_CONNECT;
	case STAGE_HELO:
		return CTX_HELO;
	case STAGE_ENVFROM:
		return CTX_ENVFROM;
	case STAGE_ENVRCPT:
		return CTX_ENVRCPT;
	case STAGE_DATA:
		return CTX_DATA;
	case STAGE_EOH:
		if (a != b)
			return m->eoh_slot = a ? CTX_EOH_EOM_A : CTX_EOH_EOM_B;
		return m->eoh_slot > 0 ? m->eoh_slot : EOH_SLOT;
	case STAGE_EOM:
		if (m->eoh_slot > 0)
			return m->eoh_slot == CTX_EOH_EOM_A ? CTX_EOH_EOM_B :
			    CTX_EOH_EOM_A;
		if (a != b)
			return a ? CTX_EOH_EOM_A : CTX_EOH_EOM_B;
		return EOM_SLOT;
	default:
		return -1;
	}
}

/* The stage whose packet slot i holds, when not seen arriving. */
static enum stage
slot_stage(const struct macros *m, int i)
{
	if (m->eoh_slot > 0 && (i == CTX_EOH_EOM_A || i == CTX_EOH_EOM_B))
		return i == m->eoh_slot ? STAGE_EOH : STAGE_EOM;
	return slot_stages[i];
}

/*
 * The fallback: look up every listed name and show those new or changed
 * since the session's last look-up, an approximation of what was sent
 * (a value sent again unchanged does not show).  Values are copied: a
 * hostile MTA could have libmilter replace them before they are compared
 * again.  Abort and close look up afresh for what is visible, as
 * libmilter may already hold the next transaction's MAIL macros at an
 * abort, but show nothing as sent.
 */
static int
from_lookup(struct macros *m, SMFICTX *ctx, struct event *ev)
{
	const char	*v;
	size_t		 i, n = 0, nm = conf->nmacros;
	char		*copy;
	enum stage	 from;
	int		 fresh;

	/* Both or neither: the next event must not find only one. */
	if (m->values == NULL) {
		m->values = calloc(nm + 1, sizeof *m->values);
		m->stages = calloc(nm + 1, sizeof *m->stages);
		if (m->values == NULL || m->stages == NULL) {
			free(m->values);
			free(m->stages);
			m->values = NULL;
			m->stages = NULL;
			return -1;
		}
	}
	if (ev->stage == STAGE_NEGOTIATE)
		for (i = 0; i < nm; i++) {
			free(m->values[i]);
			m->values[i] = NULL;
		}
	if (brings_macros(ev->stage)) {
		for (i = 0; i < nm; i++) {
			v = smfi_getsymval(ctx, conf->macros[i]);
			if (v == NULL || (m->values[i] != NULL &&
			    strcmp(m->values[i], v) == 0)) {
				if (v == NULL) {
					free(m->values[i]);
					m->values[i] = NULL;
				}
				continue;
			}
			if ((copy = strdup(v)) == NULL)
				return -1;
			free(m->values[i]);
			m->values[i] = copy;
			m->stages[i] = ev->stage;
			if (add_sent(m, &n, conf->macros[i], copy) == -1)
				return -1;
		}
		ev->macros = m->sent;
		ev->nmacros = n;
	}
	if (!ev->show_visible)
		return 0;
	fresh = ev->stage == STAGE_ABORT || ev->stage == STAGE_CLOSE;
	for (i = 0, n = 0; i < nm; i++) {
		v = fresh ? smfi_getsymval(ctx, conf->macros[i]) :
		    m->values[i];
		if (v == NULL)
			continue;
		from = m->values[i] != NULL && strcmp(m->values[i], v) == 0 ?
		    m->stages[i] : ev->stage;
		if (add_visible(m, &n, conf->macros[i], v, from) == -1)
			return -1;
	}
	ev->visible = m->visible;
	ev->nvisible = n;
	return 0;
}

/* The stages that libmilter keeps a packet for, and negotiate (none). */
static int
brings_macros(enum stage stage)
{
	switch (stage) {
	case STAGE_NEGOTIATE:
	case STAGE_CONNECT:
	case STAGE_HELO:
	case STAGE_ENVFROM:
	case STAGE_ENVRCPT:
	case STAGE_DATA:
	case STAGE_EOH:
	case STAGE_EOM:
		return 1;
	default:
		return 0;
	}
}

/*
 * Whether --macros asks to show name (every name, if not given).  A
 * word given bare, such as rcpt_addr, is the braced name too: that is
 * how Sendmail and Postfix's own lists name it, while Postfix sends it
 * bare if main.cf lists it so.
 */
static int
listed(const char *name)
{
	size_t	 i;

	if (!conf->macros_given)
		return 1;
	for (i = 0; i < conf->nmacros; i++)
		if (one_macro(name, conf->macros[i]))
			return 1;
	return 0;
}

/*
 * Whether a and b name one macro for --macros: as libmilter matches
 * them, and also a word and the word in braces, which libmilter's
 * look-up tells apart (it takes x for {x} only for one character).
 */
static int
one_macro(const char *a, const char *b)
{
	size_t	 alen = strlen(a), blen = strlen(b);

	if (same_name(a, b))
		return 1;
	if (alen > 2 && a[0] == '{' && a[alen - 1] == '}') {
		a++;
		alen -= 2;
	}
	if (blen > 2 && b[0] == '{' && b[blen - 1] == '}') {
		b++;
		blen -= 2;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* As libmilter matches names: exactly, but x and {x} are one. */
static int
same_name(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return 1;
	if (a[0] == '{' && a[1] != '\0' && a[2] == '}' && a[3] == '\0')
		return b[0] == a[1] && b[1] == '\0';
	if (b[0] == '{' && b[1] != '\0' && b[2] == '}' && b[3] == '\0')
		return a[0] == b[1] && a[1] == '\0';
	return 0;
}

/*
 * Room in p, an array of *cap elements of size bytes, for n + 1: p, or
 * the array moved, or NULL if out of memory (p is then unchanged).
 */
static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t	 c;

	if (n < *cap)
		return p;
	c = *cap > 0 ? 2 * *cap : 16;
	if ((p = reallocarray(p, c, size)) != NULL)
		*cap = c;
	return p;
}

/* Append a sent macro, if listed.  Returns 0, or -1 if out of memory. */
static int
add_sent(struct macros *m, size_t *n, const char *name, const char *value)
{
	struct macro	*p;

	if (!listed(name))
		return 0;
	if ((p = grow(m->sent, &m->sentcap, *n, sizeof *p)) == NULL)
		return -1;
	m->sent = p;
	m->sent[(*n)++] = (struct macro){ name, value };
	return 0;
}

/* Append a visible macro, if listed.  Returns 0, or -1 if out of memory. */
static int
add_visible(struct macros *m, size_t *n, const char *name,
    const char *value, enum stage stage)
{
	struct visible	*p;

	if (!listed(name))
		return 0;
	if ((p = grow(m->visible, &m->visiblecap, *n, sizeof *p)) == NULL)
		return -1;
	m->visible = p;
	m->visible[(*n)++] = (struct visible){ name, value, stage };
	return 0;
}

/*
 * libmilter's context is not as ctx.h says: say so once, and look the
 * macros up instead, unless told to read the context only.  Returns 1
 * if m now looks them up.
 */
static int
layout_failed(struct macros *m)
{
	if (conf->macro_source == SOURCE_CONTEXT) {
		m->source = -1;
		if (atomic_exchange(&warned, 1) == 0)
			log_err("libmilter's context is not laid out as "
			    "inspect expects: --macro-source context shows "
			    "no macros");
		return 0;
	}
	m->source = SOURCE_LOOKUP;
	if (atomic_exchange(&warned, 1) == 0)
		log_warn("libmilter's context is not laid out as inspect "
		    "expects: macros are looked up by name instead, which "
		    "only approximates what each stage sent (see inspect(8))");
	return 1;
}

int
macros_request_lists(const struct options *opts, char *lists[MACROS_STAGES],
    char *err, size_t errlen)
{
	size_t	 n;
	int	 i, stage;

	for (i = 0; i < MACROS_STAGES; i++)
		lists[i] = NULL;
	for (i = 0; i < MACROS_STAGES; i++) {
		stage = macros_stage_order[i];
		if ((lists[stage] = join_stage(opts, stage, &n)) == NULL &&
		    n > 0) {
			snprintf(err, errlen, "cannot list the macros to "
			    "request: %s", strerror(errno));
			return -2;
		}
		if (opts->request_limit == 0 || n <= opts->request_limit)
			continue;
		if (opts->request_limit == OPTIONS_REQUEST_LIMIT)
			snprintf(err, errlen, "--request-macros: %zu macros "
			    "to ask for at %s, over Sendmail's limit of %d a "
			    "stage (--request-macros-limit none for Postfix "
			    "only)", n, macros_stage_names[stage],
			    OPTIONS_REQUEST_LIMIT);
		else
			snprintf(err, errlen, "--request-macros: %zu macros "
			    "to ask for at %s, over --request-macros-limit "
			    "%lu (Sendmail's limit is %d a stage)", n,
			    macros_stage_names[stage], opts->request_limit,
			    OPTIONS_REQUEST_LIMIT);
		return -1;
	}
	return 0;
}

int
macros_request(SMFICTX *ctx, char *const lists[MACROS_STAGES])
{
	int	 stage, rc = 0;

	for (stage = 0; stage < MACROS_STAGES; stage++)
		if (lists[stage] != NULL &&
		    smfi_setsymlist(ctx, stage, lists[stage]) == MI_FAILURE)
			rc = -1;
	return rc;
}

void
macros_log(const struct options *opts, char *const lists[MACROS_STAGES])
{
	char	*all;
	size_t	 n;
	int	 i, stage;

	if ((all = join_stage(opts, -1, &n)) != NULL || n == 0)
		log_info("macros: %s", all != NULL ? all : "none");
	free(all);
	for (i = 0; opts->request_macros && i < MACROS_STAGES; i++) {
		stage = macros_stage_order[i];
		log_info("macros requested at %s: %s",
		    macros_stage_names[stage], lists[stage] != NULL ?
		    lists[stage] : "none (the MTA's own)");
	}
}

void
macros_request_free(char *lists[MACROS_STAGES])
{
	int	 i;

	for (i = 0; i < MACROS_STAGES; i++) {
		free(lists[i]);
		lists[i] = NULL;
	}
}

/* The SMFIM_* stages to ask for name at, as bits; every one if unknown. */
static unsigned int
asked_at(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof macro_stages / sizeof macro_stages[0]; i++)
		if (one_macro(name, macro_stages[i].name))
			return first_stage(macro_stages[i].postfix) |
			    first_stage(macro_stages[i].sendmail) |
			    macro_stages[i].again;
	return ALWAYS;
}

/* The bit of the earliest stage in stages, in the MTA's order; or 0. */
static unsigned int
first_stage(unsigned int stages)
{
	int	 i;

	for (i = 0; i < MACROS_STAGES; i++)
		if (stages & (1u << macros_stage_order[i]))
			return 1u << macros_stage_order[i];
	return 0;
}

/*
 * The names of o->macros to ask for at stage (-1: every name), joined by
 * spaces, and their number in *n; NULL if none, or (with *n > 0) out of
 * memory.
 */
static char *
join_stage(const struct options *o, int stage, size_t *n)
{
	size_t	 i, len = 0;
	char	*s, *p;

	*n = 0;
	for (i = 0; i < o->nmacros; i++)
		if (stage == -1 || asked_at(o->macros[i]) & (1u << stage)) {
			len += strlen(o->macros[i]) + 1;
			(*n)++;
		}
	if (*n == 0 || (s = p = malloc(len)) == NULL)
		return NULL;
	for (i = 0; i < o->nmacros; i++)
		if (stage == -1 || asked_at(o->macros[i]) & (1u << stage)) {
			if (p != s)
				*p++ = ' ';
			memcpy(p, o->macros[i], strlen(o->macros[i]));
			p += strlen(o->macros[i]);
		}
	*p = '\0';
	return s;
}
