/* listen.h -- the listening socket: checking the spec, opening it */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_LISTEN_H
#define INSPECT_LISTEN_H

#include <sys/types.h>

struct owned;
struct spec;

/*
 * Check what libmilter would get wrong or not say about sp, taken apart
 * from spec (named in messages): an unresolvable host, a unix socket that
 * is live or not a socket.  Returns 0, or -1 after logging why.
 */
int	listen_check(const char *spec, const struct spec *sp);

/*
 * Have libmilter open its socket for spec, taken apart into sp; call
 * after smfi_register().  A unix socket is recorded in sock, for its
 * removal at exit, and given socket_gid ((gid_t)-1: unchanged) and
 * socket_mode; left root:root by root, where an MTA not running as root
 * cannot reach it, it gets a note saying so.  The socket is made
 * non-blocking, for the workers that share it.  The working directory
 * is / afterwards.  Returns 0, or -1 after logging why (libmilter's
 * reason, which it gives only to syslog, found out anew).
 */
int	listen_open(const char *spec, const struct spec *sp,
	    struct owned *sock, gid_t socket_gid, mode_t socket_mode);

/*
 * Whether sp, an inet or inet6 spec without a host, listens on every
 * address of the machine.  Returns 1 or 0.
 */
int	listen_everywhere(const struct spec *sp);

/*
 * Whether fd is a connection accepted on the socket listening on sp: a
 * socket of sp's family on sp's port that does not listen.  Returns 1 or
 * 0.
 */
int	listen_is_session(int fd, const struct spec *sp);

#endif
