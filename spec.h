/* spec.h -- the socket-spec grammar: unix:PATH, inet:PORT@HOST, inet6 */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_SPEC_H
#define INSPECT_SPEC_H

#include <sys/un.h>

#include <stddef.h>

/* A connection spec taken apart; see spec_parse(). */
struct spec {
	int		 family;	/* AF_UNIX, AF_INET or AF_INET6 */
	char		 path[sizeof ((struct sockaddr_un *)0)->sun_path];
					/* unix: the socket's path */
	char		 host[256];	/* inet: name or address; "" for any */
	int		 literal;	/* inet: host was given as [address] */
	unsigned int	 port;		/* inet: 1 to 65535 */
};

/*
 * Check the syntax of a connection spec (unix:PATH, local:PATH,
 * inet:PORT[@HOST|@[ADDR]], inet6:PORT[@HOST|@[ADDR]]) and take it apart
 * into sp.  Host names are not resolved here.  Returns 0, or -1 with a
 * reason in err, which suggests libmilter's spelling for Postfix's
 * (inet:HOST:PORT) or for an IPv6 address without its brackets.
 */
int	spec_parse(const char *spec, struct spec *sp, char *err,
	    size_t errlen);

#endif
