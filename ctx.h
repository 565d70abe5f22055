/* ctx.h -- the one reader of libmilter's private context */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_CTX_H
#define INSPECT_CTX_H

#include <pthread.h>
#include <time.h>

#include <libmilter/mfapi.h>

/*
 * The macro slots: the packet the MTA sent with each command that
 * libmilter keeps.  EOH and EOM took each other's slot in Sendmail
 * 8.17.1.9; which is which is found out as they come (see macros.c).
 */
enum ctx_slot {
	CTX_CONNECT,
	CTX_HELO,
	CTX_ENVFROM,
	CTX_ENVRCPT,
	CTX_DATA,
	CTX_EOH_EOM_A,
	CTX_EOH_EOM_B,
	CTX_SLOTS
};

/*
 * The head of libmilter's struct smfi_str, up to the last field inspect
 * reads, as libmilter/libmilter.h declares it from Sendmail 8.14 to 8.18
 * (Debian 12: 8.17.1.9).  Fields of the worker pool and the thread
 * monitor come after these and do not move them.  The struct is private
 * to libmilter, and checked in parts, each before it is relied on:
 * ctx_check() compares the two fields inspect set itself, ctx_timeout
 * and ctx_privdata, and the fields between them are taken to be in
 * place if those two are; the macro slots are compared with what
 * smfi_getsymval() finds (ctx_check_macros()); the MTA's offer, after
 * ctx_privdata, with what libmilter passed the negotiate callback
 * (ctx_check_offer()), and the MTA's version just before it is taken to
 * be in place if the offer is; the socket is used only if it is
 * connected on inspect's port (session_socket()).  Declared here for
 * ctx.c and its unit test only.
 */
struct ctx_layout {
	pthread_t	 ctx_id;
	int		 ctx_sd;
	int		 ctx_dbg;
	time_t		 ctx_timeout;
	int		 ctx_state;
	void		*ctx_smfi;
	int		 ctx_prot_vers;
	unsigned long	 ctx_aflags;
	unsigned long	 ctx_pflags;
	unsigned long	 ctx_pflags2mta;
	int		 ctx_prot_vers2mta;
	char		**ctx_mac_ptr[CTX_SLOTS];
	char		*ctx_mac_buf[CTX_SLOTS];
	char		*ctx_mac_list[CTX_SLOTS];
	char		*ctx_reply;
	void		*ctx_privdata;
	int		 ctx_mta_prot_vers;
	unsigned long	 ctx_mta_pflags;
	unsigned long	 ctx_mta_aflags;
};

/*
 * Whether ctx is laid out as struct ctx_layout says: the private data
 * at its place is priv (what smfi_setpriv() stored, not NULL) and the
 * timeout at its place is timeout (what smfi_settimeout() set).
 * Returns 1 if so, 0 if not.
 */
int	ctx_check(SMFICTX *ctx, const void *priv, time_t timeout);

/*
 * Whether the macro slots are where struct ctx_layout says: what
 * smfi_getsymval() returns for a name in them is one of their values.
 * Asked only when a single slot holds macros, so that libmilter's
 * look-up stops at that name, whatever else the MTA sent.  Returns 1 if
 * so, 0 if not, -1 if that cannot be told now.  After ctx_check().
 */
int	ctx_check_macros(SMFICTX *ctx);

/* How a connection ends, as the close callback can tell from ctx. */
enum ctx_close {
	CTX_CLOSE_QUIT,		/* SMFIC_QUIT */
	CTX_CLOSE_QUIT_NC,	/* SMFIC_QUIT_NC: a new connection follows */
	CTX_CLOSE_LOST		/* the MTA hung up, an error, or a QUIT */
				/* libmilter dropped as out of order */
};

/*
 * In the close callback: the command that brought it, as libmilter's
 * state machine holds it (ST_QUIT 11, ST_Q_NC 14, set before the
 * command's function runs; any other state when libmilter closes on its
 * own).  After ctx_check().
 */
enum ctx_close ctx_closing(SMFICTX *ctx);

/* The descriptor of the MTA's connection, unchecked.  After ctx_check(). */
int	ctx_socket(SMFICTX *ctx);

/*
 * The protocol version the MTA gave in negotiation.  After
 * ctx_check_offer().
 */
int	ctx_mta_version(SMFICTX *ctx);

/*
 * The protocol version libmilter answers the MTA with: the MTA's, or
 * libmilter's own if that is older.  Set before the negotiate callback.
 * After ctx_check_offer().
 */
int	ctx_answer_version(SMFICTX *ctx);

/*
 * The actions and the protocol steps the MTA itself offered: the
 * negotiate callback sees libmilter's emulated no-reply bits added to
 * the steps.  Read as they are: ctx_check_offer() tells whether they
 * are the MTA's.  After ctx_check().
 */
unsigned long ctx_mta_actions(SMFICTX *ctx);
unsigned long ctx_mta_steps(SMFICTX *ctx);

/*
 * The no-reply steps libmilter offers the negotiate callback whatever
 * the MTA offered: it emulates them for an MTA that lacks them.
 */
#define CTX_NR_EMULATED	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
		SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | \
		SMFIP_NR_EOH | SMFIP_NR_BODY)

/*
 * Whether the MTA's offer in ctx is what libmilter passed the negotiate
 * callback: actions f0, and steps f1 with the emulated no-reply steps
 * (libmilter's st_optionneg() passes the MTA's own steps and those).
 * Returns 1 if so, 0 if not.  After ctx_check(), in the negotiate
 * callback.
 */
int	ctx_check_offer(SMFICTX *ctx, unsigned long f0, unsigned long f1);

/*
 * The steps libmilter tells an MTA that offered mta_steps (its own, as
 * ctx_mta_steps() gives them) when the negotiate callback asks for
 * steps, as libmilter's st_optionneg() works them out: less the
 * emulated no-reply steps the MTA lacks (libmilter answers those stages
 * with continue itself), SMFIP_NODATA and SMFIP_NOUNKNOWN if the MTA
 * lacks them, and the bits libmilter keeps to itself (SMFI_INTERNAL).
 * Reads no context.
 */
unsigned long ctx_answer_steps(unsigned long mta_steps, unsigned long steps);

/*
 * The macros of slot: name, value, name, value, ..., NULL, names as the
 * MTA wrote them (a packet with an odd number of strings leaves a name
 * whose value is NULL: stop there), or NULL if the slot is empty.  *buf
 * is the packet's buffer, or NULL: a new packet always has a buffer of
 * its own, since libmilter decodes it before it frees the one it
 * replaces.  After ctx_check(); valid until the callback returns.
 */
char	**ctx_macros(SMFICTX *ctx, enum ctx_slot slot, const void **buf);

#endif
