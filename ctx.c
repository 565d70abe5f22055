/* ctx.c -- the one reader of libmilter's private context */
/* SPDX-License-Identifier: ISC */

#include <stddef.h>
#include <string.h>

#include "ctx.h"

/* Copy field of the context at ctx into dst, whatever ctx's real type. */
#define CTX_READ(ctx, field, dst) \
	memcpy(&(dst), (const char *)(ctx) + \
	    offsetof(struct ctx_layout, field), sizeof (dst))

int
ctx_check(SMFICTX *ctx, const void *priv, time_t timeout)
{
	void	*privdata;
	time_t	 t;

	if (ctx == NULL || priv == NULL)
		return 0;
	CTX_READ(ctx, ctx_privdata, privdata);
	CTX_READ(ctx, ctx_timeout, t);
	return privdata == priv && t == timeout;
}

/* libmilter's states (engine.c) of the two quit commands. */
#define CTX_ST_QUIT	11
#define CTX_ST_Q_NC	14

enum ctx_close
ctx_closing(SMFICTX *ctx)
{
	int	 state;

	CTX_READ(ctx, ctx_state, state);
	if (state == CTX_ST_QUIT)
		return CTX_CLOSE_QUIT;
	return state == CTX_ST_Q_NC ? CTX_CLOSE_QUIT_NC : CTX_CLOSE_LOST;
}

int
ctx_socket(SMFICTX *ctx)
{
	int	 sd;

	CTX_READ(ctx, ctx_sd, sd);
	return sd;
}

int
ctx_mta_version(SMFICTX *ctx)
{
	int	 v;

	CTX_READ(ctx, ctx_mta_prot_vers, v);
	return v;
}

int
ctx_answer_version(SMFICTX *ctx)
{
	int	 v;

	CTX_READ(ctx, ctx_prot_vers2mta, v);
	return v;
}

unsigned long
ctx_mta_actions(SMFICTX *ctx)
{
	unsigned long	 f;

	CTX_READ(ctx, ctx_mta_aflags, f);
	return f;
}

unsigned long
ctx_mta_steps(SMFICTX *ctx)
{
	unsigned long	 f;

	CTX_READ(ctx, ctx_mta_pflags, f);
	return f;
}

int
ctx_check_offer(SMFICTX *ctx, unsigned long f0, unsigned long f1)
{
	return ctx_mta_actions(ctx) == f0 &&
	    (ctx_mta_steps(ctx) | CTX_NR_EMULATED) == f1;
}

unsigned long
ctx_answer_steps(unsigned long mta_steps, unsigned long steps)
{
	steps &= ~(CTX_NR_EMULATED & ~mta_steps);
	steps &= ~((SMFIP_NODATA | SMFIP_NOUNKNOWN) & ~mta_steps);
	return steps & ~SMFI_INTERNAL;
}

char **
ctx_macros(SMFICTX *ctx, enum ctx_slot slot, const void **buf)
{
	char	**ptr, *mbuf;

	/* Only this slot's two pointers: it is read at every event. */
	memcpy(&ptr, (const char *)ctx + offsetof(struct ctx_layout,
	    ctx_mac_ptr) + slot * sizeof ptr, sizeof ptr);
	memcpy(&mbuf, (const char *)ctx + offsetof(struct ctx_layout,
	    ctx_mac_buf) + slot * sizeof mbuf, sizeof mbuf);
	*buf = mbuf;
	return mbuf != NULL ? ptr : NULL;
}

int
ctx_check_macros(SMFICTX *ctx)
{
	char	**ptr[CTX_SLOTS], *mbuf[CTX_SLOTS], *v;
	int	 i, set = -1;

	CTX_READ(ctx, ctx_mac_ptr, ptr);
	CTX_READ(ctx, ctx_mac_buf, mbuf);
	for (i = 0; i < CTX_SLOTS; i++) {
		if (mbuf[i] == NULL)
			continue;
		if (set != -1)
			return -1;
		set = i;
	}
	if (set == -1 || ptr[set] == NULL || ptr[set][0] == NULL ||
	    ptr[set][1] == NULL)
		return -1;
	v = smfi_getsymval(ctx, ptr[set][0]);
	return v == ptr[set][1];
}
