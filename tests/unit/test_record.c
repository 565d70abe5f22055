/* test_record.c -- record.c: sessions as miltertest scripts, read by Lua */
/* SPDX-License-Identifier: ISC */

/*
 * What --record writes is read by miltertest's Lua; here by Lua 5.3's own
 * parser (liblua5.3, the one miltertest links).  A string literal must
 * give back every byte it was made from; a whole script must load, and
 * run against a stand-in for miltertest's mt table it must make the
 * calls that send the milter the session's bytes again.  And a recording
 * is 7-bit ASCII, whatever bytes the MTA sent.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "../../ids.h"
#include "../../log.h"
#include "../../record.h"

#define RANDOM_STRINGS	20000
#define RANDOM_MAX	300

struct fixture {
	lua_State	*L;
	struct buf	 lit;
};

static void	 assert_printable(const char *, size_t);
static void	 assert_round_trip(struct fixture *, const void *, size_t);
static uint32_t	 next_random(uint32_t *);
static char	*only_file(const char *, const char *);
static char	*read_all(const char *, size_t *);
static void	 add_call(struct buf *, const char *, ...);
static void	 add_arg(struct buf *, const void *, size_t);
static void	 run_script(lua_State *, const char *, const char *, size_t,
		    struct buf *);
static void	 record_at(struct record *, struct event *);

static char	 dir[] = "/tmp/inspect-test-record.XXXXXX";

/*
 * miltertest as the script sees it: mt.* calls are noted, not sent, each
 * as its name and its arguments; a reply is what getreply_for names, or
 * continue; the constants are miltertest's; os.exit is an error.
 */
static const char fake_miltertest[] =
"SMFIR_CONTINUE = string.byte('c')\n"
"SMFIR_ACCEPT = string.byte('a')\n"
"SMFIR_REJECT = string.byte('r')\n"
"SMFIR_TEMPFAIL = string.byte('t')\n"
"SMFIR_DISCARD = string.byte('d')\n"
"SMFIR_SKIP = string.byte('s')\n"
"SMFIR_REPLYCODE = string.byte('y')\n"
"SMFIC_CONNECT = string.byte('C')\n"
"SMFIC_HELO = string.byte('H')\n"
"SMFIC_MAIL = string.byte('M')\n"
"SMFIC_RCPT = string.byte('R')\n"
"for i, n in ipairs({ 'NOCONNECT', 'NOHELO', 'NOMAIL', 'NORCPT',\n"
"    'NOBODY', 'NOHDRS', 'NOEOH', 'NR_HDR', 'NOUNKNOWN', 'NODATA' }) do\n"
"\t_G['SMFIP_' .. n] = 1 << (i - 1)\n"
"end\n"
"sock = 'unix:/nowhere'\n"
"calls = {}\n"
"replies = replies or {}\n"
"local last\n"
"local function note(name, ...)\n"
"\tlocal parts = { name }\n"
"\tfor i = 1, select('#', ...) do\n"
"\t\tlocal v = tostring((select(i, ...)))\n"
"\t\tparts[#parts + 1] = #v .. ':' .. v\n"
"\tend\n"
"\tcalls[#calls + 1] = table.concat(parts, ' ')\n"
"\tlast = name\n"
"end\n"
"mt = setmetatable({}, { __index = function(t, name)\n"
"\treturn function(conn, ...)\n"
"\t\tassert(conn == 'conn', name .. ': not the connection')\n"
"\t\tnote(name, ...)\n"
"\tend\n"
"end })\n"
"mt.connect = function(s) assert(s == sock) return 'conn' end\n"
"mt.test_option = function() return false end\n"
"mt.getreply = function() return replies[last] or SMFIR_CONTINUE end\n"
"mt.bodyfile = function(conn, path)\n"
"\tlocal f = assert(io.open(path, 'rb'))\n"
"\tnote('bodyfile', f:read('a'))\n"
"\tf:close()\n"
"end\n"
"os.exit = function(code) error('the script exits ' .. tostring(code)) end\n";

/* Nothing but printable ASCII (and, in a script, tab and newline). */
static void
assert_printable(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((s[i] < 0x20 || s[i] > 0x7e) && s[i] != '\n' &&
		    s[i] != '\t')
			fail_msg("byte %zu of the recording is 0x%02x", i,
			    (unsigned char)s[i]);
}

/* s as a literal, parsed by Lua's own parser, is s again. */
static void
assert_round_trip(struct fixture *f, const void *s, size_t len)
{
	const char	*got;
	size_t		 glen;

	f->lit.len = 0;
	assert_int_equal(buf_puts(&f->lit, "return "), 0);
	assert_int_equal(record_lua_string(&f->lit, s, len), 0);
	assert_printable(f->lit.data, f->lit.len);
	assert_int_equal(buf_add(&f->lit, "", 1), 0);
	if (luaL_loadstring(f->L, f->lit.data) != LUA_OK ||
	    lua_pcall(f->L, 0, 1, 0) != LUA_OK)
		fail_msg("Lua cannot read %s: %s", f->lit.data,
		    lua_tostring(f->L, -1));
	got = lua_tolstring(f->L, -1, &glen);
	assert_non_null(got);
	assert_int_equal(glen, len);
	assert_memory_equal(got, s, len);
	lua_pop(f->L, 1);
}

/* xorshift32: the same strings every run. */
static uint32_t
next_random(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Every byte alone: printable, escaped, controls, NUL, DEL, 0x80-0xff. */
static void
test_record_every_byte(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 c;
	int		 i;

	for (i = 0; i < 256; i++) {
		c = (unsigned char)i;
		assert_round_trip(f, &c, 1);
	}
	assert_round_trip(f, "", 0);
}

/*
 * Every pair: an escape followed by a digit must stay three digits, a
 * backslash before any byte stays a backslash.
 */
static void
test_record_every_pair(void **state)
{
	struct fixture	*f = *state;
	unsigned char	 p[2];
	int		 i, j;

	for (i = 0; i < 256; i++)
		for (j = 0; j < 256; j++) {
			p[0] = (unsigned char)i;
			p[1] = (unsigned char)j;
			assert_round_trip(f, p, 2);
		}
}

/*
 * Random strings, biased towards what escaping gets wrong: digits,
 * backslashes, quotes, NULs, high bytes, line ends.
 */
static void
test_record_random_strings(void **state)
{
	static const unsigned char tricky[] = "0123456789\\\"'\0\n\r\t\x7f"
	    "\x80\xff[]=";
	struct fixture	*f = *state;
	unsigned char	 s[RANDOM_MAX];
	uint32_t	 x = 0x1e55c0de, r;
	size_t		 n, i, k;

	for (k = 0; k < RANDOM_STRINGS; k++) {
		n = next_random(&x) % RANDOM_MAX;
		for (i = 0; i < n; i++) {
			r = next_random(&x);
			s[i] = r % 3 == 0 ? tricky[(r >> 8) % (sizeof tricky -
			    1)] : (unsigned char)(r >> 16);
		}
		assert_round_trip(f, s, n);
	}
}

/* The one file in path whose name ends with suffix, or NULL if none. */
static char *
only_file(const char *path, const char *suffix)
{
	struct dirent	*d;
	DIR		*dp;
	char		*found = NULL;
	size_t		 n, m = strlen(suffix);

	assert_non_null(dp = opendir(path));
	while ((d = readdir(dp)) != NULL) {
		n = strlen(d->d_name);
		if (n < m || strcmp(d->d_name + n - m, suffix) != 0)
			continue;
		if (found != NULL)
			fail_msg("two files %s and %s", found, d->d_name);
		assert_non_null(found = strdup(d->d_name));
	}
	closedir(dp);
	return found;
}

static char *
read_all(const char *path, size_t *len)
{
	struct stat	 st;
	char		*p;
	int		 fd;

	assert_int_not_equal(fd = open(path, O_RDONLY), -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(p = malloc(st.st_size + 1));
	assert_int_equal(read(fd, p, st.st_size), st.st_size);
	p[st.st_size] = '\0';
	close(fd);
	*len = st.st_size;
	return p;
}

/* One noted call, as the fake mt notes it: "name LEN:ARG LEN:ARG...". */
static void
add_arg(struct buf *b, const void *s, size_t len)
{
	char	 num[32];

	snprintf(num, sizeof num, " %zu:", len);
	assert_int_equal(buf_puts(b, num), 0);
	assert_int_equal(buf_add(b, s, len), 0);
}

/* name, then NUL-ended string arguments up to NULL; each call a line. */
static void
add_call(struct buf *b, const char *name, ...)
{
	va_list		 ap;
	const char	*s;

	assert_int_equal(buf_puts(b, name), 0);
	va_start(ap, name);
	while ((s = va_arg(ap, const char *)) != NULL)
		add_arg(b, s, strlen(s));
	va_end(ap);
	assert_int_equal(buf_add(b, "\n", 1), 0);
}

/*
 * Load script (Lua's parser must take it whole), run it against the
 * fake miltertest set up by before too, and put the calls it made in
 * got, one a line.
 */
static void
run_script(lua_State *L, const char *before, const char *script, size_t len,
    struct buf *got)
{
	const char	*call;
	size_t		 clen;
	lua_Integer	 i, n;

	if (luaL_loadstring(L, fake_miltertest) != LUA_OK ||
	    lua_pcall(L, 0, 0, 0) != LUA_OK || luaL_loadstring(L, before) !=
	    LUA_OK || lua_pcall(L, 0, 0, 0) != LUA_OK)
		fail_msg("the fake miltertest: %s", lua_tostring(L, -1));
	if (luaL_loadbufferx(L, script, len, "script", "t") != LUA_OK)
		fail_msg("Lua cannot parse the script: %s",
		    lua_tostring(L, -1));
	if (lua_pcall(L, 0, 0, 0) != LUA_OK)
		fail_msg("the script fails: %s", lua_tostring(L, -1));
	lua_getglobal(L, "calls");
	n = luaL_len(L, -1);
	for (i = 1; i <= n; i++) {
		lua_geti(L, -1, i);
		call = lua_tolstring(L, -1, &clen);
		assert_int_equal(buf_add(got, call, clen), 0);
		assert_int_equal(buf_add(got, "\n", 1), 0);
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
}

static void
record_at(struct record *r, struct event *ev)
{
	ev->session = 42;
	ev->time.tv_sec = 1700000000;
	ev->time.tv_nsec = 123456000;
	record_event(r, ev);
}

/*
 * A session with the MTA's worst bytes in every field is written, at
 * close, as one script in mode 0600 under a name of its own, and not
 * before: until then only a hidden partial file exists.  The script is
 * ASCII, Lua loads it, and replayed it sends every byte as it came,
 * expecting the answers inspect gave.
 */
static void
test_record_session_replays(void **state)
{
	static const char host[] = "h\xc3\xa9\x80st\x1b[31m.example";
	static const char helo[] = "\x01\x7f\xfe\"\\";
	static const char sender[] = "<a\x80\xff@example.org>";
	static const char rcpt[] = "<b\"\\@example.net>";
	static const char value[] = " \xe2\x82\xac caf\xc3\xa9\n\tfolded\r";
	static const char mta[] = "Postfix \xff 3.7";
	struct fixture	*f = *state;
	struct record	 r;
	struct negotiation ng = { .offered_actions = 0x1ff,
	    .offered_steps = 0x1fffff, .asked_steps = 0x100000 };
	struct sockaddr_in sin;
	struct macro	 conn_macros[] = { { "j", "mx\xff" }, { "v", mta },
	    { "{x\"y}", "\\0" } };
	struct macro	 eom_macros[] = { { "i", "QID\x80" } };
	struct answer	 reply = { "reject", "550", "5.7.1", "no", 0, NULL, 0 };
	static char	 size[] = "SIZE=1\x9b";
	char		*args[] = { (char *)(uintptr_t)sender, size, NULL };
	char		*rargs[] = { (char *)(uintptr_t)rcpt, NULL };
	unsigned char	*big, chunk[] = "line one\r\n\0nul\xff\x80 end";
	struct event	 ev;
	struct buf	 want = { NULL, 0, 0 }, got = { NULL, 0, 0 };
	struct stat	 st;
	char		 path[PATH_MAX], *name, *part, *script;
	unsigned char	 longval[1200];
	size_t		 len, i, biglen = 70000;

	memset(&r, 0, sizeof r);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4321);
	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	memset(longval, 0xe9, sizeof longval - 1);
	longval[sizeof longval - 1] = '\0';
	assert_non_null(big = malloc(biglen));
	for (i = 0; i < biglen; i++)
		big[i] = i % 80 == 79 ? '\n' : (unsigned char)(' ' + i % 95);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_NEGOTIATE;
	ev.negotiation = &ng;
	record_at(&r, &ev);
	add_call(&want, "negotiate", "6", "2097151", "511", NULL);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_CONNECT;
	ev.host = host;
	ev.address = (const struct sockaddr *)&sin;
	ev.macros = conn_macros;
	ev.nmacros = 3;
	record_at(&r, &ev);
	add_call(&want, "macro", "67", "j", "mx\xff", "v", mta, "{x\"y}",
	    "\\0", NULL);
	add_call(&want, "conninfo", host, "192.0.2.7", NULL);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_HELO;
	ev.name = helo;
	record_at(&r, &ev);
	add_call(&want, "helo", helo, NULL);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_ENVFROM;
	ev.args = args;
	record_at(&r, &ev);
	add_call(&want, "mailfrom", sender, "SIZE=1\x9b", NULL);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_ENVRCPT;
	ev.args = rargs;
	record_at(&r, &ev);
	add_call(&want, "rcptto", rcpt, NULL);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_HEADER;
	ev.name = "X-\xfe";
	ev.value = value;
	record_at(&r, &ev);
	/* HDR_LEADSPC: mt.header puts back the space it takes off. */
	add_call(&want, "header", "X-\xfe", value + 1, NULL);

	/* Over miltertest's buffer: a comment, its bytes escaped too. */
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_HEADER;
	ev.name = "X-Long";
	ev.value = (const char *)longval;
	record_at(&r, &ev);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_EOH;
	record_at(&r, &ev);
	add_call(&want, "eoh", NULL);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_BODY;
	ev.chunk = chunk;
	ev.length = sizeof chunk - 1;
	record_at(&r, &ev);
	assert_int_equal(buf_puts(&want, "bodyfile"), 0);
	add_arg(&want, chunk, sizeof chunk - 1);
	assert_int_equal(buf_add(&want, "\n", 1), 0);

	/* More than is kept in memory: the partial file, hidden. */
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_BODY;
	ev.chunk = big;
	ev.length = biglen;
	record_at(&r, &ev);
	assert_int_equal(buf_puts(&want, "bodystring"), 0);
	add_arg(&want, big, biglen);
	assert_int_equal(buf_add(&want, "\n", 1), 0);
	assert_null(only_file(dir, ".lua"));
	assert_non_null(part = only_file(dir, ".part"));
	assert_int_equal(part[0], '.');
	free(part);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_EOM;
	ev.macros = eom_macros;
	ev.nmacros = 1;
	ev.answer = &reply;
	record_at(&r, &ev);
	add_call(&want, "macro", "69", "i", "QID\x80", NULL);
	add_call(&want, "eom", NULL);

	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_CLOSE;
	record_at(&r, &ev);
	add_call(&want, "disconnect", NULL);

	assert_null(only_file(dir, ".part"));
	assert_non_null(name = only_file(dir, ".lua"));
	/* TIME-pPID-sSESSION.lua, in UTC to the microsecond. */
	snprintf(path, sizeof path, "20231114T221320.123456Z-p%ld-s42.lua",
	    (long)getpid());
	assert_string_equal(name, path);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	script = read_all(path, &len);
	assert_printable(script, len);
	run_script(f->L, "replies = { eom = SMFIR_REPLYCODE }", script, len,
	    &got);
	assert_int_equal(buf_add(&want, "", 1), 0);
	assert_int_equal(buf_add(&got, "", 1), 0);
	assert_string_equal(got.data, want.data);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	unlink(path);
	free(script);
	free(name);
	buf_free(&want);
	buf_free(&got);
	free(big);
}

/*
 * A session that follows another on the same connection (Sendmail's
 * "quit, new connection") is not negotiated again: its script begins
 * with miltertest's own negotiation.
 */
static void
test_record_session_without_negotiate(void **state)
{
	struct fixture	*f = *state;
	struct record	 r;
	struct event	 ev;
	struct buf	 want = { NULL, 0, 0 }, got = { NULL, 0, 0 };
	char		 path[PATH_MAX], *name, *script;
	size_t		 len;

	memset(&r, 0, sizeof r);
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_CONNECT;
	ev.host = "second.example";
	record_at(&r, &ev);
	memset(&ev, 0, sizeof ev);
	ev.stage = STAGE_CLOSE;
	record_at(&r, &ev);
	add_call(&want, "negotiate", "nil", "nil", "nil", NULL);
	add_call(&want, "conninfo", "second.example", "unspec", NULL);
	add_call(&want, "disconnect", NULL);

	assert_non_null(name = only_file(dir, ".lua"));
	snprintf(path, sizeof path, "%s/%s", dir, name);
	script = read_all(path, &len);
	assert_printable(script, len);
	run_script(f->L, "", script, len, &got);
	assert_int_equal(buf_add(&want, "", 1), 0);
	assert_int_equal(buf_add(&got, "", 1), 0);
	assert_string_equal(got.data, want.data);
	unlink(path);
	free(script);
	free(name);
	buf_free(&want);
	buf_free(&got);
}

static int
setup(void **state)
{
	struct fixture	*f;
	struct ids	 ids = { 0, 0, (gid_t)-1, 0 };

	if ((f = calloc(1, sizeof *f)) == NULL ||
	    (f->L = luaL_newstate()) == NULL)
		return -1;
	luaL_openlibs(f->L);
	*state = f;
	if (mkdtemp(dir) == NULL ||
	    log_init(LEVEL_CRITICAL | LEVEL_ERROR, NULL, 0, 0) == -1)
		return -1;
	return record_setup(dir, &ids);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	lua_close(f->L);
	buf_free(&f->lit);
	free(f);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_every_byte),
		cmocka_unit_test(test_record_every_pair),
		cmocka_unit_test(test_record_random_strings),
		cmocka_unit_test(test_record_session_replays),
		cmocka_unit_test(test_record_session_without_negotiate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
