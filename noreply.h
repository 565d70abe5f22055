/* noreply.h -- stages that go without a reply, and the ACKs hurried then */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_NOREPLY_H
#define INSPECT_NOREPLY_H

#include <libmilter/mfapi.h>

#include "event.h"

struct session;

/* The no-reply step (SMFIP_NR_*) of stage; 0 for one always answered. */
unsigned long noreply_step(enum stage stage);

/*
 * Continue at stage: without a reply where s negotiated none there,
 * acknowledging the MTA's command at once over TCP; else plainly.
 */
sfsistat noreply_continue(struct session *s, enum stage stage);

#endif
