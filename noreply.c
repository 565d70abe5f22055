/* noreply.c -- stages that go without a reply, and the ACKs hurried then */
/* SPDX-License-Identifier: ISC */

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "noreply.h"
#include "session.h"

static const unsigned long nr_bits[STAGE_MAX] = {
	[STAGE_CONNECT] = SMFIP_NR_CONN,
	[STAGE_HELO] = SMFIP_NR_HELO,
	[STAGE_ENVFROM] = SMFIP_NR_MAIL,
	[STAGE_ENVRCPT] = SMFIP_NR_RCPT,
	[STAGE_DATA] = SMFIP_NR_DATA,
	[STAGE_HEADER] = SMFIP_NR_HDR,
	[STAGE_EOH] = SMFIP_NR_EOH,
	[STAGE_BODY] = SMFIP_NR_BODY,
	[STAGE_UNKNOWN] = SMFIP_NR_UNKN
};

unsigned long
noreply_step(enum stage stage)
{
	return stage < STAGE_MAX ? nr_bits[stage] : 0;
}

/*
 * Continue, by saying so or, where negotiated, by saying nothing.
 *
 * Saying nothing over TCP: the MTA writes its next command at once, and
 * Nagle's algorithm holds it until this one is acknowledged.  Once a
 * reply has gone out, Linux takes the connection for a ping-pong one and
 * delays its ACKs (40 ms) to carry them on the next reply, which does not
 * come: so acknowledge now.  At every such stage, not only the first
 * after a reply, as the kernel may hold an ACK for other reasons (a body
 * chunk it takes for a full segment): a system call is cheaper than the
 * reply it stands in for.
 */
sfsistat
noreply_continue(struct session *s, enum stage stage)
{
	static const int	 one = 1;

	if (s == NULL || !(s->nr_steps & noreply_step(stage)))
		return SMFIS_CONTINUE;
	if (s->mta_fd != -1)
		setsockopt(s->mta_fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof one);
	return SMFIS_NOREPLY;
}
