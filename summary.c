/* summary.c -- a session summed up in one line, kept from its events */
/* SPDX-License-Identifier: ISC */

/*
 * Every event of a session passes here, whichever stages are reported:
 * the client, the helo name and, for each transaction (MAIL to eom,
 * abort or close), its sender, recipients, header count and body size.
 * At close the line is written (print.c formats it).
 */

#include <stdlib.h>
#include <string.h>

#include "summary.h"

static char	*keep(struct summary *, const void *, size_t);
static void	 drop(struct summary *, char *);
static struct transaction *current(struct summary *);
static void	 begin(struct summary *, const char *);
static void	 add_rcpt(struct summary *, const char *, int);

int
summary_event(struct summary *sm, const struct event *ev, struct buf *out,
    enum format format, int color)
{
	struct transaction	*t = current(sm);
	struct buf		 addr = { NULL, 0, 0 };

	if (!sm->begun) {
		sm->begun = 1;
		sm->start = ev->time;
	}
	switch (ev->stage) {
	case STAGE_CONNECT:
		drop(sm, sm->host);
		drop(sm, sm->address);
		sm->host = keep(sm, ev->host, strlen(ev->host));
		sm->address = print_address(&addr, ev->address) == 0 ?
		    keep(sm, addr.data, addr.len) : NULL;
		buf_free(&addr);
		break;
	case STAGE_HELO:
		/* EHLO again after STARTTLS: the last one counts. */
		drop(sm, sm->helo);
		sm->helo = keep(sm, ev->name, strlen(ev->name));
		break;
	case STAGE_ENVFROM:
		if (t != NULL)
			t->end = END_NONE;
		begin(sm, ev->args != NULL && ev->args[0] != NULL ?
		    ev->args[0] : "");
		break;
	case STAGE_ENVRCPT:
		if (t != NULL)
			add_rcpt(sm, ev->args != NULL && ev->args[0] != NULL ?
			    ev->args[0] : "", ev->rejected);
		break;
	case STAGE_HEADER:
		if (t != NULL)
			t->headers++;
		break;
	case STAGE_BODY:
		if (t != NULL)
			t->body += ev->length;
		break;
	case STAGE_EOM:
	case STAGE_ABORT:
		if (t != NULL)
			t->end = ev->stage == STAGE_EOM ? END_EOM : END_ABORT;
		sm->skipping = 0;
		break;
	case STAGE_CLOSE:
		if (t != NULL)
			t->end = END_CLOSE;
		return print_summary(out, format, color, ev->session,
		    &ev->time, sm);
	default:
		break;
	}
	return 0;
}

void
summary_free(struct summary *sm)
{
	size_t	 i, j;

	for (i = 0; i < sm->ntx; i++) {
		for (j = 0; j < sm->tx[i].nrcpts; j++)
			free(sm->tx[i].rcpts[j].address);
		free(sm->tx[i].rcpts);
		free(sm->tx[i].sender);
	}
	free(sm->tx);
	free(sm->host);
	free(sm->address);
	free(sm->helo);
	memset(sm, 0, sizeof *sm);
}

/* A copy of len bytes of s, NUL-ended, if it fits in what sm may keep. */
static char *
keep(struct summary *sm, const void *s, size_t len)
{
	char	*p;

	if (len >= SUMMARY_KEEP - sm->kept || (p = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	sm->kept += len + 1;
	return p;
}

/* Free s, a string keep() made, and give its room back. */
static void
drop(struct summary *sm, char *s)
{
	if (s == NULL)
		return;
	sm->kept -= strlen(s) + 1;
	free(s);
}

/* The transaction open now, if it is listed; else NULL. */
static struct transaction *
current(struct summary *sm)
{
	if (sm->skipping || sm->ntx == 0 || sm->tx[sm->ntx - 1].end !=
	    END_OPEN)
		return NULL;
	return &sm->tx[sm->ntx - 1];
}

/* A new transaction from sender, or one more unlisted. */
static void
begin(struct summary *sm, const char *sender)
{
	struct transaction	*tx;
	char			*s;

	sm->skipping = 1;
	if (sizeof *tx >= SUMMARY_KEEP - sm->kept ||
	    (tx = reallocarray(sm->tx, sm->ntx + 1, sizeof *tx)) == NULL) {
		sm->unlisted++;
		return;
	}
	sm->tx = tx;
	sm->kept += sizeof *tx;
	if ((s = keep(sm, sender, strlen(sender))) == NULL) {
		sm->kept -= sizeof *tx;
		sm->unlisted++;
		return;
	}
	memset(&tx[sm->ntx], 0, sizeof *tx);
	tx[sm->ntx++].sender = s;
	sm->skipping = 0;
}

/* A recipient of the open transaction, or one more unlisted. */
static void
add_rcpt(struct summary *sm, const char *address, int rejected)
{
	struct transaction	*t = &sm->tx[sm->ntx - 1];
	struct recipient	*r;
	char			*s;

	if (sizeof *r >= SUMMARY_KEEP - sm->kept ||
	    (r = reallocarray(t->rcpts, t->nrcpts + 1, sizeof *r)) == NULL) {
		t->unlisted++;
		return;
	}
	t->rcpts = r;
	sm->kept += sizeof *r;
	if ((s = keep(sm, address, strlen(address))) == NULL) {
		sm->kept -= sizeof *r;
		t->unlisted++;
		return;
	}
	r[t->nrcpts].address = s;
	r[t->nrcpts++].rejected = rejected;
}
