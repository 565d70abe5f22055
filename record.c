/* record.c -- a session written out as a miltertest script */
/* SPDX-License-Identifier: ISC */

/*
 * Every event of a session passes here, whichever stages are reported,
 * and becomes the mt.* call that makes a milter see it again: the MTA's
 * negotiation, each stage's macros as the report shows them, the
 * arguments byte for byte, body chunks as they came.  Each step checks
 * that the milter replaying it answers as inspect did.  What miltertest
 * cannot send becomes a comment where it would have been.  At close the
 * script is written as DIR/TIME-pPID-sSESSION.lua, unique across workers
 * and restarts.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ids.h"
#include "log.h"
#include "record.h"

#ifndef VERSION
#define VERSION	"unknown"
#endif

/* What miltertest sends from a 1024-byte buffer of its own (BUFRSZ). */
#define MT_BUFFER	1024

/* Steps kept in memory before they go to the temporary file. */
#define RECORD_SPILL	(64 * 1024)

/* A body line longer than this is cut into several strings. */
#define RECORD_PIECE	48

/* The recordings hold mail: for the user inspect serves as alone. */
#define RECORD_MODE	0600

/* The stages as miltertest knows them. */
static const struct mt_step {
	const char	*call;		/* mt.NAME; NULL: none */
	const char	*skip;		/* the SMFIP_NO* that skips it */
	const char	*macro;		/* mt.macro's type; NULL: none */
} mt_steps[STAGE_MAX] = {
	[STAGE_CONNECT] = { "conninfo", "SMFIP_NOCONNECT", "SMFIC_CONNECT" },
	[STAGE_HELO] = { "helo", "SMFIP_NOHELO", "SMFIC_HELO" },
	[STAGE_ENVFROM] = { "mailfrom", "SMFIP_NOMAIL", "SMFIC_MAIL" },
	[STAGE_ENVRCPT] = { "rcptto", "SMFIP_NORCPT", "SMFIC_RCPT" },
	[STAGE_DATA] = { "data", "SMFIP_NODATA", "string.byte(\"T\")" },
	[STAGE_HEADER] = { "header", "SMFIP_NOHDRS", NULL },
	[STAGE_EOH] = { "eoh", "SMFIP_NOEOH", "string.byte(\"N\")" },
	[STAGE_BODY] = { "bodystring", "SMFIP_NOBODY", NULL },
	[STAGE_EOM] = { "eom", "nil", "string.byte(\"E\")" },
	[STAGE_UNKNOWN] = { "unknown", "SMFIP_NOUNKNOWN", NULL },
};

/*
 * The helpers every script opens with.  miltertest exits 1 on a Lua
 * error without saying why, so a failure says it, with its line.
 */
static const char prelude[] =
"if sock == nil then\n"
"\tio.stderr:write(\"give the milter's socket: miltertest -D sock=SPEC\\n\")\n"
"\tos.exit(2)\n"
"end\n"
"\n"
"local function fail(message)\n"
"\tlocal line = debug.getinfo(3, \"l\").currentline\n"
"\tio.stderr:write(string.format(\"line %d: %s\\n\", line, message))\n"
"\tos.exit(1)\n"
"end\n"
"\n"
"local conn = mt.connect(sock, 40, 0.25)\n"
"if conn == nil then\n"
"\tio.stderr:write(\"cannot connect to \" .. sock .. \"\\n\")\n"
"\tos.exit(1)\n"
"end\n"
"\n"
"-- A body chunk with a NUL, which mt.bodystring would cut: through a\n"
"-- file of its own, which mt.bodyfile sends in one piece.\n"
"local function bodybytes(c, bytes)\n"
"\tlocal path = os.tmpname()\n"
"\tlocal f = assert(io.open(path, \"wb\"))\n"
"\tassert(f:write(bytes))\n"
"\tassert(f:close())\n"
"\tlocal err = mt.bodyfile(c, path)\n"
"\tos.remove(path)\n"
"\treturn err\n"
"end\n"
"\n"
"-- mt.NAME(conn, ...), unless the milter skips the stage; then the\n"
"-- reply must be the one inspect gave.\n"
"local function step(name, skip, want, ...)\n"
"\tif skip ~= nil and mt.test_option(conn, skip) then\n"
"\t\treturn\n"
"\tend\n"
"\tlocal send = name == \"bodybytes\" and bodybytes or mt[name]\n"
"\tlocal err = send(conn, ...)\n"
"\tif err ~= nil then\n"
"\t\tfail(name .. \": \" .. err)\n"
"\tend\n"
"\tlocal got = mt.getreply(conn)\n"
"\tif got ~= want then\n"
"\t\tfail(string.format(\"%s: the milter answered '%s', inspect '%s'\",\n"
"\t\t    name, string.char(got), string.char(want)))\n"
"\tend\n"
"end\n"
"\n"
"local function call(name, ...)\n"
"\tlocal err = mt[name](conn, ...)\n"
"\tif err ~= nil then\n"
"\t\tfail(name .. \": \" .. err)\n"
"\tend\n"
"end\n"
"\n"
"\n";

static int	 put(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	 begin(struct record *, const struct event *);
static int	 add_event(struct record *, const struct event *);
static int	 negotiate(struct record *, const struct event *);
static int	 macros(struct record *, const struct event *);
static int	 connect_step(struct record *, const struct event *);
static int	 args_step(struct record *, const struct event *);
static int	 header_step(struct record *, const struct event *);
static int	 body_step(struct record *, const struct event *);
static int	 string_step(struct record *, const struct event *,
		    const char *);
static int	 open_step(struct buf *, const struct event *);
static int	 lua_pieces(struct buf *, const unsigned char *, size_t);
static int	 not_replayed(struct buf *, const char *, const char *,
		    const void *, size_t);
static const char *expected(const struct event *);
static int	 head(struct record *, struct buf *);
static int	 spill(struct record *);
static int	 finish(struct record *);
static void	 failed(struct record *, const char *, int);

/* Set in record_setup(); read-only while serving. */
static int		 dir_fd = -1;
static const char	*dirpath;

static atomic_int	 warned;

int
record_setup(const char *dir, const struct ids *ids)
{
	struct stat	 st;
	int		 fd, ok;

	if (dir == NULL)
		return 0;
	/*
	 * A symbolic link is refused, whatever it points to: one put in
	 * its place between the two calls fails to open (O_NOFOLLOW).
	 */
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		log_crit("--record %s: a symbolic link; give the directory "
		    "itself", dir);
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		log_crit("--record %s: %s", dir, errno == ENOTDIR ||
		    errno == ELOOP ? "not a directory" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_crit("--record %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	/*
	 * The workers write as the user inspect serves as, and root's
	 * access(2) would say yes to anything: read the mode for them.
	 */
	if (ids->drop) {
		if (st.st_uid == ids->uid)
			ok = (st.st_mode & (S_IWUSR | S_IXUSR)) ==
			    (S_IWUSR | S_IXUSR);
		else if (st.st_gid == ids->gid)
			ok = (st.st_mode & (S_IWGRP | S_IXGRP)) ==
			    (S_IWGRP | S_IXGRP);
		else
			ok = (st.st_mode & (S_IWOTH | S_IXOTH)) ==
			    (S_IWOTH | S_IXOTH);
	} else
		ok = faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) == 0;
	if (!ok) {
		if (ids->drop)
			log_crit("--record %s: the user inspect serves as "
			    "(uid %lu, gid %lu) cannot write there", dir,
			    (unsigned long)ids->uid, (unsigned long)ids->gid);
		else
			log_crit("--record %s: cannot write there", dir);
		close(fd);
		return -1;
	}
	dir_fd = fd;
	dirpath = dir;
	return 0;
}

void
record_event(struct record *r, const struct event *ev)
{
	if (dir_fd == -1 || r->failed)
		return;
	if (!r->begun && begin(r, ev) == -1) {
		failed(r, "out of memory", ENOMEM);
		return;
	}
	if (r->stopped) {
		if (ev->stage != STAGE_CLOSE)
			r->dropped++;
	} else if (add_event(r, ev) == -1) {
		failed(r, "out of memory", ENOMEM);
		return;
	}
	if (ev->stage == STAGE_CLOSE) {
		if (finish(r) == 0)
			atomic_store(&warned, 0);
		record_free(r);
		return;
	}
	if (r->steps.len >= RECORD_SPILL && spill(r) == -1)
		return;
	if (r->written + r->steps.len > RECORD_MAX)
		r->stopped = 1;
}

void
record_free(struct record *r)
{
	char	 tmp[sizeof r->name + 8];

	if (r->begun && r->fd != -1) {
		close(r->fd);
		snprintf(tmp, sizeof tmp, ".%s.part", r->name);
		unlinkat(dir_fd, tmp, 0);
	}
	buf_free(&r->steps);
	free(r->mta);
	memset(r, 0, sizeof *r);
}

int
record_lua_string(struct buf *out, const void *s, size_t len)
{
	const unsigned char	*p = s;
	char			 esc[5];
	size_t			 i, run;

	if (buf_add(out, "\"", 1) == -1)
		return -1;
	for (i = 0; i < len; i += run) {
		/* The printable run up to the next byte to escape. */
		for (run = 0; i + run < len && p[i + run] >= 0x20 &&
		    p[i + run] < 0x7f && p[i + run] != '\\' &&
		    p[i + run] != '"'; run++)
			;
		if (run > 0) {
			if (buf_add(out, p + i, run) == -1)
				return -1;
			continue;
		}
		run = 1;
		switch (p[i]) {
		case '\\':
		case '"':
			esc[0] = '\\';
			esc[1] = (char)p[i];
			esc[2] = '\0';
			break;
		case '\t':
			strcpy(esc, "\\t");
			break;
		case '\n':
			strcpy(esc, "\\n");
			break;
		case '\r':
			strcpy(esc, "\\r");
			break;
		default:
			/* Three digits, so that a digit after it stays. */
			snprintf(esc, sizeof esc, "\\%03u", p[i]);
			break;
		}
		if (buf_puts(out, esc) == -1)
			return -1;
	}
	return buf_add(out, "\"", 1);
}

/* Append a formatted string to out.  Returns 0, or -1 on ENOMEM. */
static int
put(struct buf *out, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_grow(out, (size_t)n + 1) == -1)
		return -1;
	va_start(ap, fmt);
	vsnprintf(out->data + out->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out->len += (size_t)n;
	return 0;
}

/*
 * The session's first event: its name, and the steps that come before
 * any: a session that does not begin with negotiate came after Sendmail's
 * "quit, new connection" on the same connection, and is negotiated with
 * miltertest's defaults.
 */
static int
begin(struct record *r, const struct event *ev)
{
	struct tm	 tm;
	char		 when[32];

	r->begun = 1;
	r->fd = -1;
	r->session = ev->session;
	r->start = ev->time;
	gmtime_r(&ev->time.tv_sec, &tm);
	strftime(when, sizeof when, "%Y%m%dT%H%M%S", &tm);
	snprintf(r->name, sizeof r->name, "%s.%06ldZ-p%ld-s%" PRIu64 ".lua",
	    when, ev->time.tv_nsec / 1000, (long)getpid(), ev->session);
	if (ev->stage == STAGE_NEGOTIATE)
		return 0;
	return put(&r->steps, "-- not negotiated: this session followed "
	    "another on the same connection\ncall(\"negotiate\", nil, nil, "
	    "nil)\n");
}

/* ev as the steps that replay it. */
static int
add_event(struct record *r, const struct event *ev)
{
	if (ev->stage != STAGE_NEGOTIATE && macros(r, ev) == -1)
		return -1;
	switch (ev->stage) {
	case STAGE_NEGOTIATE:
		return negotiate(r, ev);
	case STAGE_CONNECT:
		return connect_step(r, ev);
	case STAGE_HELO:
	case STAGE_UNKNOWN:
		return string_step(r, ev, ev->name);
	case STAGE_ENVFROM:
	case STAGE_ENVRCPT:
		return args_step(r, ev);
	case STAGE_HEADER:
		return header_step(r, ev);
	case STAGE_BODY:
		return body_step(r, ev);
	case STAGE_DATA:
	case STAGE_EOH:
	case STAGE_EOM:
		return open_step(&r->steps, ev) == -1 ||
		    buf_puts(&r->steps, ")\n") == -1 ? -1 : 0;
	case STAGE_ABORT:
		return buf_puts(&r->steps, "call(\"abort\")\n");
	case STAGE_CLOSE:
		return buf_puts(&r->steps, "mt.disconnect(conn)\n");
	default:
		return 0;
	}
}

/*
 * The MTA's own version, actions and steps: what the negotiate callback
 * was offered has libmilter's emulated no-reply bits added, and a milter
 * offered those by miltertest would take replies away the MTA gave.
 * Where libmilter's context did not give the MTA's own steps (ng->told),
 * what the callback was offered is all there is.
 */
static int
negotiate(struct record *r, const struct event *ev)
{
	const struct negotiation	*ng = ev->negotiation;
	unsigned long			 steps;
	int				 version;

	if (ng == NULL)
		return 0;
	r->negotiated = 1;
	r->leadspc = (ng->asked_steps & SMFIP_HDR_LEADSPC) != 0;
	version = ev->version > 0 ? ev->version : SMFI_PROT_VERSION;
	steps = ng->told ? ng->mta_steps : ng->offered_steps;
	if (!ng->told && put(&r->steps, "-- the MTA's own steps unknown: "
	    "libmilter's emulated ones included\n") == -1)
		return -1;
	return put(&r->steps, "call(\"negotiate\", %d, 0x%lx, 0x%lx)\n",
	    version, steps, ng->offered_actions);
}

/*
 * The macros the report shows for ev, in one mt.macro call, which
 * replaces what an earlier call sent for the stage.  miltertest builds
 * the packet in a 1024-byte buffer and refuses a bigger one.
 */
static int
macros(struct record *r, const struct event *ev)
{
	const struct mt_step	*m = &mt_steps[ev->stage];
	struct buf		*out = &r->steps;
	struct buf		 v = { NULL, 0, 0 };
	size_t			 i, size = 1;

	if (ev->nmacros == 0 || m->macro == NULL)
		return 0;
	for (i = 0; i < ev->nmacros; i++) {
		size += strlen(ev->macros[i].name) + 1 +
		    strlen(ev->macros[i].value) + 1;
		if (strcmp(ev->macros[i].name, "v") == 0 && r->mta == NULL) {
			if (record_lua_string(&v, ev->macros[i].value,
			    strlen(ev->macros[i].value)) == -1 ||
			    buf_add(&v, "", 1) == -1) {
				buf_free(&v);
				return -1;
			}
			r->mta = v.data;
		}
	}
	if (size > MT_BUFFER) {
		if (put(out, "-- not replayed: %s's macros, a packet of %zu "
		    "bytes, over miltertest's %d:\n", print_stage_names[
		    ev->stage], size, MT_BUFFER) == -1)
			return -1;
		for (i = 0; i < ev->nmacros; i++)
			if (buf_puts(out, "--   ") == -1 ||
			    record_lua_string(out, ev->macros[i].name,
			    strlen(ev->macros[i].name)) == -1 ||
			    buf_puts(out, " = ") == -1 ||
			    record_lua_string(out, ev->macros[i].value,
			    strlen(ev->macros[i].value)) == -1 ||
			    buf_puts(out, "\n") == -1)
				return -1;
		return 0;
	}
	if (put(out, "call(\"macro\", %s", m->macro) == -1)
		return -1;
	for (i = 0; i < ev->nmacros; i++)
		if (buf_puts(out, ",\n    ") == -1 ||
		    record_lua_string(out, ev->macros[i].name,
		    strlen(ev->macros[i].name)) == -1 ||
		    buf_puts(out, ", ") == -1 ||
		    record_lua_string(out, ev->macros[i].value,
		    strlen(ev->macros[i].value)) == -1)
			return -1;
	return buf_puts(out, ")\n");
}

/*
 * The client's name and address.  miltertest always sends port 12345
 * and knows no unix family: a unix client is sent as one of unknown
 * family, and says so.
 */
static int
connect_step(struct record *r, const struct event *ev)
{
	struct buf	*out = &r->steps;
	struct address	 a;
	char		 addr[PRINT_ADDRESS_MAX];
	const char	*ip;
	size_t		 len = strlen(ev->host);

	print_address_parts(ev->address, &a);
	ip = a.ip[0] != '\0' ? a.ip : "unspec";
	if (a.path != NULL) {
		if (put(out, "-- not replayed: the client's address ") == -1 ||
		    record_lua_string(out, addr,
		    print_address(addr, ev->address)) == -1 ||
		    put(out, ", as miltertest has no unix family; sent as "
		    "unknown\n") == -1)
			return -1;
	}
	if (len + 1 + 1 + 2 + strlen(ip) + 1 > MT_BUFFER)
		return not_replayed(out, "connect", "a client name",
		    ev->host, len);
	if (open_step(out, ev) == -1 || buf_puts(out, ", ") == -1 ||
	    record_lua_string(out, ev->host, len) == -1 ||
	    put(out, ", \"%s\")\n", ip) == -1)
		return -1;
	return 0;
}

/* MAIL and RCPT, with every ESMTP argument. */
static int
args_step(struct record *r, const struct event *ev)
{
	struct buf	*out = &r->steps;
	size_t		 i, size = 0;

	for (i = 0; ev->args != NULL && ev->args[i] != NULL; i++)
		size += strlen(ev->args[i]) + 1;
	if (size > MT_BUFFER) {
		if (put(out, "-- not replayed: %s's arguments, %zu bytes, "
		    "over miltertest's %d:\n", print_stage_names[ev->stage],
		    size, MT_BUFFER) == -1)
			return -1;
		for (i = 0; ev->args[i] != NULL; i++)
			if (buf_puts(out, "--   ") == -1 ||
			    record_lua_string(out, ev->args[i],
			    strlen(ev->args[i])) == -1 ||
			    buf_puts(out, "\n") == -1)
				return -1;
		return 0;
	}
	if (open_step(out, ev) == -1)
		return -1;
	for (i = 0; ev->args != NULL && ev->args[i] != NULL; i++)
		if (buf_puts(out, i == 0 ? ", " : ",\n    ") == -1 ||
		    record_lua_string(out, ev->args[i],
		    strlen(ev->args[i])) == -1)
			return -1;
	/* No argument at all: miltertest needs the address. */
	if (i == 0 && buf_puts(out, ", \"\"") == -1)
		return -1;
	return buf_puts(out, ")\n");
}

/*
 * A header.  Where HDR_LEADSPC was negotiated the value kept the space
 * after the colon, and mt.header adds one of its own: send the value
 * less its first space, which also replays exactly to a milter that
 * does not take HDR_LEADSPC (the MTA takes that space away).
 */
static int
header_step(struct record *r, const struct event *ev)
{
	struct buf	*out = &r->steps;
	const char	*value = ev->value;
	size_t		 nlen = strlen(ev->name), vlen = strlen(value);

	if (nlen + vlen + 3 > MT_BUFFER) {
		if (put(out, "-- not replayed: a header of %zu bytes, over "
		    "miltertest's %d: ", nlen + vlen, MT_BUFFER) == -1 ||
		    record_lua_string(out, ev->name, nlen) == -1 ||
		    buf_puts(out, ", ") == -1 ||
		    record_lua_string(out, value, vlen) == -1 ||
		    buf_puts(out, "\n") == -1)
			return -1;
		return 0;
	}
	if (r->leadspc) {
		if (*value != ' ') {
			if (put(out, "-- not replayed: a header value without "
			    "the leading space, which mt.header adds: ") ==
			    -1 || record_lua_string(out, ev->name, nlen) ==
			    -1 || buf_puts(out, ", ") == -1 ||
			    record_lua_string(out, value, vlen) == -1 ||
			    buf_puts(out, "\n") == -1)
				return -1;
			return 0;
		}
		value++;
		vlen--;
	}
	if (open_step(out, ev) == -1 || buf_puts(out, ", ") == -1 ||
	    record_lua_string(out, ev->name, nlen) == -1 ||
	    buf_puts(out, ", ") == -1 ||
	    record_lua_string(out, value, vlen) == -1)
		return -1;
	return buf_puts(out, ")\n");
}

/*
 * A body chunk, as it came: mt.bodystring stops at a NUL, so a chunk
 * with one goes through a file (bodybytes(), in the prelude).  libmilter
 * passes at most 65535 bytes a chunk, which mt.bodyfile sends in one.
 */
static int
body_step(struct record *r, const struct event *ev)
{
	struct buf	*out = &r->steps;

	if (ev->length > 0 && memchr(ev->chunk, '\0', ev->length) != NULL) {
		if (put(out, "step(\"bodybytes\", SMFIP_NOBODY, %s, ",
		    expected(ev)) == -1)
			return -1;
	} else if (open_step(out, ev) == -1 || buf_puts(out, ", ") == -1)
		return -1;
	if (lua_pieces(out, ev->chunk, ev->length) == -1)
		return -1;
	return buf_puts(out, ")\n");
}

/* helo and unknown: one string. */
static int
string_step(struct record *r, const struct event *ev, const char *s)
{
	struct buf	*out = &r->steps;
	size_t		 len = strlen(s);

	if (len + 1 > MT_BUFFER)
		return not_replayed(out, print_stage_names[ev->stage],
		    "a string", s, len);
	if (open_step(out, ev) == -1 || buf_puts(out, ", ") == -1 ||
	    record_lua_string(out, s, len) == -1)
		return -1;
	return buf_puts(out, ")\n");
}

/* step("NAME", SKIP, REPLY  -- the arguments and ")\n" follow. */
static int
open_step(struct buf *out, const struct event *ev)
{
	const struct mt_step	*m = &mt_steps[ev->stage];

	return put(out, "step(\"%s\", %s, %s", m->call, m->skip,
	    expected(ev));
}

/*
 * Bytes as a Lua expression: one string, or for a longer one the
 * strings of its lines (and of pieces of long lines) joined by
 * table.concat, one a line; a chain of ".." would nest too deep for
 * Lua's parser.
 */
static int
lua_pieces(struct buf *out, const unsigned char *p, size_t len)
{
	const unsigned char	*nl;
	size_t			 n;

	if (len <= RECORD_PIECE && memchr(p, '\n', len) == NULL)
		return record_lua_string(out, p, len);
	if (buf_puts(out, "table.concat({") == -1)
		return -1;
	while (len > 0) {
		nl = memchr(p, '\n', len < RECORD_PIECE ? len : RECORD_PIECE);
		n = nl != NULL ? (size_t)(nl - p) + 1 : len < RECORD_PIECE ?
		    len : RECORD_PIECE;
		if (buf_puts(out, "\n    ") == -1 ||
		    record_lua_string(out, p, n) == -1 ||
		    buf_puts(out, ",") == -1)
			return -1;
		p += n;
		len -= n;
	}
	return buf_puts(out, "\n})");
}

/* A step miltertest cannot send, as a comment: what, and its bytes. */
static int
not_replayed(struct buf *out, const char *stage, const char *what,
    const void *s, size_t len)
{
	if (put(out, "-- not replayed: %s, %s of %zu bytes, over "
	    "miltertest's %d: ", stage, what, len, MT_BUFFER) == -1 ||
	    record_lua_string(out, s, len) == -1)
		return -1;
	return buf_puts(out, "\n");
}

/*
 * The reply inspect gave ev, as miltertest names it: continue (which
 * miltertest also reports for a stage negotiated to get none) unless
 * inspect probed with another answer.  An answer with a reply text
 * reaches the MTA as a reply code.  Forwarding, the answer is the
 * milter's own, accept and skip too: the script is replayed to it
 * directly.
 */
static const char *
expected(const struct event *ev)
{
	const struct forwarded	*f = ev->forward;
	const struct answer	*a = ev->answer;
	static const struct {
		const char	*action;
		const char	*reply;
	} replies[] = {
		{ "accept", "SMFIR_ACCEPT" },
		{ "reject", "SMFIR_REJECT" },
		{ "tempfail", "SMFIR_TEMPFAIL" },
		{ "discard", "SMFIR_DISCARD" },
		{ "skip", "SMFIR_SKIP" }
	};
	size_t	 i;

	if (a == NULL && f != NULL && f->failure == NULL &&
	    f->reply.action != NULL)
		a = &f->reply;
	if (a == NULL)
		return "SMFIR_CONTINUE";
	if (a->code != NULL)
		return "SMFIR_REPLYCODE";
	for (i = 0; i < sizeof replies / sizeof replies[0]; i++)
		if (strcmp(a->action, replies[i].action) == 0)
			return replies[i].reply;
	return "SMFIR_CONTINUE";
}

/*
 * The script's head: what it is, where it came from, how to run it.
 * Written when the file is opened, which is after connect: the steps
 * before it never fill RECORD_SPILL, so the MTA's v is known.
 */
static int
head(struct record *r, struct buf *out)
{
	struct tm	 tm;
	char		 when[32];

	gmtime_r(&r->start.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	if (put(out, "-- A session inspect %s saw at %s.%06ldZ (session %"
	    PRIu64 "),\n-- from an MTA ", VERSION, when,
	    r->start.tv_nsec / 1000, r->session) == -1 ||
	    put(out, r->mta != NULL ? "that says it is %s (macro v).\n" :
	    "that sent no macro v%s.\n", r->mta != NULL ? r->mta : "") ==
	    -1 ||
	    put(out, "-- Replay it to a milter with OpenDKIM's miltertest:\n"
	    "--   miltertest -D sock=inet:PORT@127.0.0.1 -s %s\n"
	    "-- Each step checks that the milter answers as inspect did; "
	    "the first\n-- that does not stops the replay and names its "
	    "line.  What miltertest\n-- cannot send is a comment where "
	    "it came, saying it is not replayed.\n\n", r->name) == -1)
		return -1;
	return buf_add(out, prelude, sizeof prelude - 1);
}

/* Write what the steps hold to the temporary file, opened if need be. */
static int
spill(struct record *r)
{
	struct buf	 h = { NULL, 0, 0 };
	char		 tmp[sizeof r->name + 8];

	snprintf(tmp, sizeof tmp, ".%s.part", r->name);
	if (r->fd == -1) {
		if (head(r, &h) == -1) {
			failed(r, "out of memory", ENOMEM);
			return -1;
		}
		/* O_EXCL and O_NOFOLLOW: never through a link put there. */
		r->fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, RECORD_MODE);
		if (r->fd == -1 || buf_write(r->fd, &h) == -1) {
			buf_free(&h);
			failed(r, tmp, errno);
			return -1;
		}
		r->written += h.len;
		buf_free(&h);
	}
	if (buf_write(r->fd, &r->steps) == -1) {
		failed(r, tmp, errno);
		return -1;
	}
	r->written += r->steps.len;
	r->steps.len = 0;
	return 0;
}

/*
 * At close: the last steps, and the script under its name, never over
 * another one: the names are unique, so something else would be at work
 * in the directory.
 */
static int
finish(struct record *r)
{
	char	 tmp[sizeof r->name + 8];
	int	 rc;

	if (r->stopped && put(&r->steps, "-- not recorded: %" PRIu64
	    " more events, past %lu bytes of script\nmt.disconnect(conn)\n",
	    r->dropped, RECORD_MAX) == -1) {
		failed(r, "out of memory", ENOMEM);
		return -1;
	}
	if (spill(r) == -1)
		return -1;
	snprintf(tmp, sizeof tmp, ".%s.part", r->name);
	rc = close(r->fd);
	r->fd = -1;
	if (rc == -1 || (renameat2(dir_fd, tmp, dir_fd, r->name,
	    RENAME_NOREPLACE) == -1 && (errno != EINVAL ||
	    linkat(dir_fd, tmp, dir_fd, r->name, 0) == -1))) {
		failed(r, r->name, errno);
		unlinkat(dir_fd, tmp, 0);
		return -1;
	}
	/* After linkat(), where the file system has no renameat2(). */
	unlinkat(dir_fd, tmp, 0);
	return 0;
}

/* The session gets no script; the first failure in a row is logged. */
static void
failed(struct record *r, const char *what, int error)
{
	char	 tmp[sizeof r->name + 8];

	r->failed = 1;
	if (r->fd != -1) {
		close(r->fd);
		r->fd = -1;
		snprintf(tmp, sizeof tmp, ".%s.part", r->name);
		unlinkat(dir_fd, tmp, 0);
	}
	if (atomic_exchange(&warned, 1) == 0)
		log_err("--record %s: session %" PRIu64 " not recorded: %s: "
		    "%s (the next failures are not logged until one "
		    "succeeds)", dirpath, r->session, what, strerror(error));
}
