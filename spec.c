/* spec.c -- the socket-spec grammar: unix:PATH, inet:PORT@HOST, inet6 */
/* SPDX-License-Identifier: ISC */

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reason.h"
#include "spec.h"

static int	spec_port(const char *, const char *, size_t, struct spec *,
		    char *, size_t);
static int	spec_host(const char *, const char *, const char *,
		    struct spec *, char *, size_t);
static int	port_number(const char *, unsigned long *);
static int	is_host_name(const char *);
static int	postfix_spelling(int, const char *, char *, size_t);
static int	spell_address(const char *, const char *, char *, size_t);

int
spec_parse(const char *spec, struct spec *sp, char *err, size_t errlen)
{
	const char	*colon, *addr, *at;
	size_t		 tlen, plen;
	char		 better[sizeof sp->host + 80], port[64];

	memset(sp, 0, sizeof *sp);
	if ((colon = strchr(spec, ':')) == NULL)
		return reason(err, errlen, "connection spec '%s': "
		    "expected TYPE:ADDRESS, as in inet:10025@[127.0.0.1] or "
		    "unix:/run/inspect.sock", spec);
	tlen = colon - spec;
	addr = colon + 1;

	if ((tlen == 4 && strncasecmp(spec, "unix", 4) == 0) ||
	    (tlen == 5 && strncasecmp(spec, "local", 5) == 0)) {
		sp->family = AF_UNIX;
		if (*addr == '\0')
			return reason(err, errlen, "connection spec "
			    "'%s': empty socket path", spec);
		if (strlen(addr) >= sizeof sp->path)
			return reason(err, errlen, "connection spec "
			    "'%s': socket path longer than %zu bytes", spec,
			    sizeof sp->path - 1);
		memcpy(sp->path, addr, strlen(addr) + 1);
		return 0;
	}
	if (tlen == 4 && strncasecmp(spec, "inet", 4) == 0)
		sp->family = AF_INET;
	else if (tlen == 5 && strncasecmp(spec, "inet6", 5) == 0)
		sp->family = AF_INET6;
	else
		return reason(err, errlen, "connection spec '%s': "
		    "unknown type '%.*s' (expected unix, local, inet or "
		    "inet6)", spec, (int)tlen, spec);
	/* main.cf's line, copied: the most common mistake of all. */
	if (postfix_spelling(sp->family, addr, better, sizeof better))
		return reason(err, errlen, "connection spec '%s': '%s' "
		    "is Postfix's HOST:PORT; did you mean %s?", spec, addr,
		    better);

	at = strchr(addr, '@');
	plen = at != NULL ? (size_t)(at - addr) : strlen(addr);
	if (spec_port(spec, addr, plen, sp, err, errlen) == -1)
		return -1;
	snprintf(port, sizeof port, "%.*s", (int)plen, addr);
	return at != NULL ? spec_host(spec, at + 1, port, sp, err, errlen) :
	    0;
}

/*
 * The port of spec, the len bytes at s: a number or a service name, into
 * sp->port.  Returns 0, or -1 with a reason in err.
 */
static int
spec_port(const char *spec, const char *s, size_t len, struct spec *sp,
    char *err, size_t errlen)
{
	struct servent	*se;
	unsigned long	 port;
	char		 name[64];

	if (len == 0)
		return reason(err, errlen, "connection spec '%s': "
		    "no port", spec);
	if (len >= sizeof name)	/* spec_parse() relies on it */
		return reason(err, errlen, "connection spec '%s': "
		    "port '%.*s' is too long", spec, (int)len, s);
	memcpy(name, s, len);
	name[len] = '\0';
	if (isdigit((unsigned char)name[0])) {
		if (port_number(name, &port) == -1)
			return reason(err, errlen, "connection spec "
			    "'%s': port '%s' is not a number from 1 to 65535",
			    spec, name);
	} else {
		if ((se = getservbyname(name, "tcp")) == NULL)
			return reason(err, errlen, "connection spec "
			    "'%s': unknown port name '%s'", spec, name);
		port = ntohs((unsigned short)se->s_port);
	}
	sp->port = (unsigned int)port;
	return 0;
}

/*
 * The host of spec, after its '@': an address in brackets, of sp's
 * family, or a host name, into sp->host.  What looks like an address
 * without its brackets, or of the other family, gets the spelling that
 * would work, with port as given, suggested.  Returns 0, or -1 with a
 * reason in err.
 */
static int
spec_host(const char *spec, const char *host, const char *port,
    struct spec *sp, char *err, size_t errlen)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	char		 better[sizeof sp->host + 80];
	size_t		 len = strlen(host);
	const char	*family = sp->family == AF_INET ? "IPv4" : "IPv6";
	if (len == 0)
		return reason(err, errlen, "connection spec '%s': "
		    "empty host after '@'", spec);
	if (*host != '[') {
		if (len >= sizeof sp->host)
			return reason(err, errlen, "connection spec "
			    "'%s': host name too long", spec);
		/* An IPv6 address needs its brackets: ':' ends a port. */
		if (!is_host_name(host) &&
		    spell_address(port, host, better, sizeof better))
			return reason(err, errlen, "connection spec "
			    "'%s': '%s' is not a host name; did you mean %s?",
			    spec, host, better);
		if (!is_host_name(host))
			return reason(err, errlen, "connection spec "
			    "'%s': '%s' is not a host name", spec, host);
		memcpy(sp->host, host, len + 1);
		return 0;
	}
	if (len < 3 || host[len - 1] != ']')
		return reason(err, errlen, "connection spec '%s': '%s' "
		    "is not an address in brackets", spec, host);
	if (len - 2 >= sizeof sp->host)
		return reason(err, errlen, "connection spec '%s': "
		    "address too long", spec);
	memcpy(sp->host, host + 1, len - 2);
	sp->host[len - 2] = '\0';
	if (inet_pton(sp->family, sp->host, bin) == 1) {
		sp->literal = 1;
		return 0;
	}
	if (spell_address(port, sp->host, better, sizeof better))
		return reason(err, errlen, "connection spec '%s': '%s' "
		    "is not an %s address; did you mean %s?", spec, sp->host,
		    family, better);
	return reason(err, errlen, "connection spec '%s': '%s' is not "
	    "an %s address", spec, sp->host, family);
}

/* A port number, 1 to 65535, with nothing else around it. */
static int
port_number(const char *s, unsigned long *v)
{
	char	*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno != 0 || *end != '\0' || *v < 1 || *v > 65535 ? -1 : 0;
}

/* Letters, digits, '.', '-' and '_': what a host name may hold. */
static int
is_host_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' &&
		    *s != '_')
			return 0;
	return 1;
}

/*
 * Postfix writes HOST:PORT, and [ADDR]:PORT, where libmilter writes
 * PORT@HOST and PORT@[ADDR]; Postfix takes the last ':' for the one
 * before the port, so an IPv6 address may go without brackets.  If addr
 * (a spec's part after "inet:" or "inet6:") reads the Postfix way, with a
 * port and a host that libmilter would take, write libmilter's spelling
 * for family into buf and return 1; else return 0.  An address brings
 * its own family: an IPv6 address needs inet6.
 */
static int
postfix_spelling(int family, const char *addr, char *buf, size_t len)
{
	const char	*colon;
	char		 host[256], port[64];
	unsigned long	 n;
	size_t		 hlen;

	if (strchr(addr, '@') != NULL || (colon = strrchr(addr, ':')) == NULL)
		return 0;
	hlen = colon - addr;
	if (hlen >= sizeof host || strlen(colon + 1) >= sizeof port)
		return 0;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	if (isdigit((unsigned char)port[0]) ?
	    port_number(port, &n) == -1 :
	    port[0] == '\0' || getservbyname(port, "tcp") == NULL)
		return 0;
	if (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	if (spell_address(port, host, buf, len))
		return 1;
	if (host[0] == '\0' || !is_host_name(host))
		return 0;
	snprintf(buf, len, "%s:%s@%s", family == AF_INET6 ? "inet6" : "inet",
	    port, host);
	return 1;
}

/*
 * If host is an IPv4 or IPv6 address, write libmilter's spec for port on
 * it into buf, of the address's type, and return 1; else return 0.
 */
static int
spell_address(const char *port, const char *host, char *buf, size_t len)
{
	unsigned char	 bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, host, bin) == 1)
		snprintf(buf, len, "inet:%s@[%s]", port, host);
	else if (inet_pton(AF_INET6, host, bin) == 1)
		snprintf(buf, len, "inet6:%s@[%s]", port, host);
	else
		return 0;
	return 1;
}
