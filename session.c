/* session.c -- what inspect keeps per SMTP connection, negotiate to close */
/* SPDX-License-Identifier: ISC */

/*
 * A session begins at negotiate, which ends whatever an earlier
 * connection left on the context (a close that never came), or at the
 * first callback of a connection libmilter did not negotiate (after
 * SMFIC_QUIT_NC), and ends at close.  Callbacks make it lazily with
 * session_get(), as libmilter may skip a stage.
 */

#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "forward.h"
#include "listen.h"
#include "log.h"
#include "session.h"

/*
 * What negotiation settled outlives the session that close ends: after
 * Sendmail's "quit, new connection" the next session on the same context
 * is not negotiated again.  Kept here by context; a slot taken by
 * another context since is simply not found.
 */
#define CARRY_SLOTS	256

struct carry {
	SMFICTX		*ctx;
	int		 rcpt_rej;
	unsigned long	 nr_steps;
	int		 mta_fd;
	unsigned long	 actions;
	unsigned long	 steps;
	struct downstream *down;	/* open after QUIT_NC; else NULL */
};

/*
 * The longest negotiation, as text shows it, that a later one is
 * compared with; a longer one is written in full every time.
 */
#define NEGOTIATION_KEPT	8192

/*
 * Session numbers, and the last negotiation written in full, shared by
 * the processes serving the one socket (a robust lock: a worker killed
 * holding it does not stop the others).
 */
struct numbering {
	atomic_ullong	 next_session;
	pthread_mutex_t	 lock;
	uint64_t	 shown;		/* its session; 0: none */
	size_t		 shownlen;
	char		 negotiation[NEGOTIATION_KEPT];
};

static struct carry	*carry_slot(SMFICTX *);

/* Set in session_setup(); read-only while serving. */
static struct numbering	*numbering;
static time_t		 milter_timeout;
static const struct spec *where;

static struct carry	 carry[CARRY_SLOTS];
static pthread_mutex_t	 carry_lock = PTHREAD_MUTEX_INITIALIZER;

int
session_setup(time_t timeout, const struct spec *sp,
    const char *record, const struct ids *ids)
{
	pthread_mutexattr_t	 attr;
	int			 rc;

	if (record_setup(record, ids) == -1)
		return -1;
	numbering = mmap(NULL, sizeof *numbering, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (numbering == MAP_FAILED) {
		log_crit("mmap: %s", strerror(errno));
		return -1;
	}
	atomic_init(&numbering->next_session, 1);
	if ((rc = pthread_mutexattr_init(&attr)) != 0 ||
	    (rc = pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED)) != 0 ||
	    (rc = pthread_mutexattr_setrobust(&attr,
	    PTHREAD_MUTEX_ROBUST)) != 0 ||
	    (rc = pthread_mutex_init(&numbering->lock, &attr)) != 0) {
		log_crit("cannot set up a lock shared by the workers: %s",
		    strerror(rc));
		return -1;
	}
	pthread_mutexattr_destroy(&attr);
	milter_timeout = timeout;
	where = sp;
	return 0;
}

struct session *
session_get(SMFICTX *ctx)
{
	struct session	*s;

	if ((s = smfi_getpriv(ctx)) != NULL)
		return s;
	if ((s = calloc(1, sizeof *s)) == NULL) {
		log_err("cannot allocate a session: %s", strerror(errno));
		return NULL;
	}
	s->id = atomic_fetch_add(&numbering->next_session, 1);
	s->mta_fd = -1;
	smfi_setpriv(ctx, s);
	/* Every session checks libmilter's context before it is read. */
	s->layout_ok = ctx_check(ctx, s, milter_timeout);
	macros_begin(&s->macros, s->layout_ok);
	return s;
}

struct session *
session_connect(SMFICTX *ctx)
{
	struct session	*s;
	struct carry	*c;
	int		 new = smfi_getpriv(ctx) == NULL;

	s = session_get(ctx);
	pthread_mutex_lock(&carry_lock);
	c = carry_slot(ctx);
	if (c->ctx == ctx) {
		if (new && s != NULL) {
			s->rcpt_rej = c->rcpt_rej;
			s->nr_steps = c->nr_steps;
			s->mta_fd = c->mta_fd;
			s->actions = c->actions;
			s->steps = c->steps;
			s->down = c->down;
		} else
			forward_free(c->down);
		/* Used, or made stale by a new negotiation. */
		c->ctx = NULL;
		c->down = NULL;
	}
	/* Another context's, hashed to the same slot: still its own. */
	pthread_mutex_unlock(&carry_lock);
	return s;
}

void
session_end(SMFICTX *ctx)
{
	struct session	*s;
	struct carry	*c;

	if ((s = smfi_getpriv(ctx)) == NULL)
		return;
	smfi_setpriv(ctx, NULL);
	pthread_mutex_lock(&carry_lock);
	c = carry_slot(ctx);
	/* What another context left in the slot is not going to be used. */
	forward_free(c->down);
	c->down = forward_open(s->down) ? s->down : NULL;
	if (c->down == NULL)
		forward_free(s->down);
	c->ctx = ctx;
	c->rcpt_rej = s->rcpt_rej;
	c->nr_steps = s->nr_steps;
	c->mta_fd = s->mta_fd;
	c->actions = s->actions;
	c->steps = s->steps;
	pthread_mutex_unlock(&carry_lock);
	macros_free(&s->macros);
	summary_free(&s->summary);
	free(s->probe);
	record_free(&s->record);
	free(s);
}

uint64_t
session_same_negotiation(uint64_t id, const void *key, size_t len)
{
	uint64_t	 same = 0;
	int		 rc;

	if ((rc = pthread_mutex_lock(&numbering->lock)) == EOWNERDEAD) {
		/* Its holder died: what it held may be half written. */
		numbering->shown = 0;
		pthread_mutex_consistent(&numbering->lock);
	} else if (rc != 0)
		return 0;
	if (numbering->shown != 0 && numbering->shownlen == len &&
	    memcmp(numbering->negotiation, key, len) == 0)
		same = numbering->shown;
	else if (len <= sizeof numbering->negotiation) {
		memcpy(numbering->negotiation, key, len);
		numbering->shownlen = len;
		numbering->shown = id;
	} else
		numbering->shown = 0;
	pthread_mutex_unlock(&numbering->lock);
	return same;
}

void
session_forget_negotiation(void)
{
	if (pthread_mutex_lock(&numbering->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&numbering->lock);
	numbering->shown = 0;
	pthread_mutex_unlock(&numbering->lock);
}

int
session_socket(SMFICTX *ctx, const struct session *s)
{
	int	 sd;

	if (!s->layout_ok)
		return -1;
	sd = ctx_socket(ctx);
	return listen_is_session(sd, where) ? sd : -1;
}

/* The carry slot of ctx; callers hold carry_lock. */
static struct carry *
carry_slot(SMFICTX *ctx)
{
	return &carry[((uintptr_t)ctx >> 4) % CARRY_SLOTS];
}
