/* test_wire.c -- wire.c: the milter protocol's bytes, as an MTA sees them */
/* SPDX-License-Identifier: ISC */

/*
 * The inputs are written out byte by byte as a milter sends them, so
 * that a reader can check each against the protocol: a packet is a
 * 4-byte big-endian length, counting the command byte and the data,
 * then the command, then the data; numbers are 4 bytes big-endian
 * (MILTER_LEN_BYTES), strings end in a NUL.  The commands and stages
 * are mfdef.h's and mfapi.h's names, never their letters.  What a
 * milter sends is untrusted: every malformed way of a reply is refused
 * with a reason.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "../../wire.h"

/* A string literal as the bytes of a packet's data, without C's NUL. */
#define DATA(lit)	(const unsigned char *)(lit), sizeof(lit) - 1

static int	 reply(char, const unsigned char *, size_t,
		    struct wire_reply *);
static void	 refused(char, const unsigned char *, size_t);
static void	 put32(unsigned char *, uint32_t);
static uint32_t	 get32(const void *);
static void	 same_text(const struct wire_lines *, size_t, const char *);
static const char *lines(struct buf *, int, const char *);

/* wire_reply(), which must give a reason whenever it refuses. */
static int
reply(char cmd, const unsigned char *data, size_t len, struct wire_reply *r)
{
	const char	*why = NULL;
	int		 rc;

	rc = wire_reply(cmd, data, len, r, &why);
	if (rc == -1) {
		assert_non_null(why);
		assert_true(why[0] != '\0');
	} else
		assert_int_equal(rc, 0);
	return rc;
}

/* The reply cmd with these len bytes is refused. */
static void
refused(char cmd, const unsigned char *data, size_t len)
{
	struct wire_reply	 r;

	assert_int_equal(reply(cmd, data, len, &r), -1);
}

static void
put32(unsigned char *p, uint32_t n)
{
	p[0] = n >> 24;
	p[1] = n >> 16;
	p[2] = n >> 8;
	p[3] = n;
}

static uint32_t
get32(const void *v)
{
	const unsigned char	*p = v;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Line k of l reads s. */
static void
same_text(const struct wire_lines *l, size_t k, const char *s)
{
	assert_true(k < l->n);
	assert_int_equal(l->len[k], strlen(s));
	assert_memory_equal(l->text[k], s, strlen(s));
}

/*
 * Packets: the length is big-endian and counts the command byte with
 * the data; a packet with no data has length 1.
 */
static void
test_wire_packet_framing(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	size_t		 at;

	(void)state;
	at = wire_begin(&b, SMFIC_OPTNEG);
	assert_int_equal(at, 0);
	assert_int_equal(wire_uint32(&b, SMFI_PROT_VERSION), 0);
	assert_int_equal(wire_uint32(&b, SMFI_CURR_ACTS), 0);
	assert_int_equal(wire_uint32(&b, 0x01020304), 0);
	wire_end(&b, at);
	assert_int_equal(b.len, 4 + 1 + MILTER_OPTLEN);
	assert_memory_equal(b.data, "\0\0\0\x0d" "O"
	    "\0\0\0\x06" "\0\0\x01\xff" "\x01\x02\x03\x04", b.len);

	/* A second packet after it, framed on its own. */
	at = wire_begin(&b, SMFIC_MACRO);
	assert_int_equal(at, 4 + 1 + MILTER_OPTLEN);
	assert_int_equal(buf_add(&b, "C", 1), 0);
	assert_int_equal(wire_string(&b, "j"), 0);
	assert_int_equal(wire_string(&b, ""), 0);
	wire_end(&b, at);
	assert_int_equal(b.len - at, 4 + 1 + 4);
	assert_memory_equal(b.data + at, "\0\0\0\x05" "D" "C" "j\0" "\0",
	    b.len - at);
	/* The first is as it was. */
	assert_int_equal(get32(b.data), 1 + MILTER_OPTLEN);

	/* No data: the length counts the command alone. */
	at = wire_begin(&b, SMFIC_QUIT);
	wire_end(&b, at);
	assert_memory_equal(b.data + at, "\0\0\0\x01" "Q", 5);
	buf_free(&b);
}

/* A length past 16 bits and past 24 bits is written in all 4 bytes. */
static void
test_wire_packet_long(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	size_t		 at, n = 0x012345;

	(void)state;
	at = wire_begin(&b, SMFIC_BODY);
	assert_int_equal(buf_grow(&b, n), 0);
	memset(b.data + b.len, 'x', n);
	b.len += n;
	wire_end(&b, at);
	assert_int_equal(get32(b.data), 1 + n);
	assert_memory_equal(b.data, "\0\x01\x23\x46" "B", 5);
	buf_free(&b);
}

/*
 * wire_begin() that could not add its header (out of memory) leaves the
 * buffer short: wire_end() writes nothing outside it.
 */
static void
test_wire_end_short(void **state)
{
	char		 bytes[8] = "abcdefg";
	struct buf	 b = { bytes, 3, sizeof bytes };

	(void)state;
	wire_end(&b, 0);
	wire_end(&b, 3);
	assert_int_equal(b.len, 3);
	assert_string_equal(bytes, "abcdefg");
}

/* Numbers big-endian, whatever the host; strings with their NUL. */
static void
test_wire_uint32_string(void **state)
{
	struct buf	 b = { NULL, 0, 0 };

	(void)state;
	assert_int_equal(wire_uint32(&b, 0), 0);
	assert_int_equal(wire_uint32(&b, 0xdeadbeef), 0);
	assert_int_equal(wire_uint32(&b, 0xffffffff), 0);
	assert_int_equal(wire_string(&b, "{mail_addr}"), 0);
	assert_int_equal(wire_string(&b, ""), 0);
	assert_int_equal(b.len, 12 + 12 + 1);
	assert_memory_equal(b.data, "\0\0\0\0" "\xde\xad\xbe\xef"
	    "\xff\xff\xff\xff" "{mail_addr}\0" "\0", b.len);
	buf_free(&b);
}

/*
 * Round trip: what wire_begin()..wire_end() frame, read back as an MTA
 * reads a packet, holds the command and the data it was given.
 */
static void
test_wire_round_trip(void **state)
{
	struct buf		 b = { NULL, 0, 0 };
	struct wire_optneg	 o;
	struct wire_reply	 r;
	const char		*why;
	size_t			 at, len;

	(void)state;
	/* A milter's negotiation with one list, as libmilter frames it. */
	at = wire_begin(&b, SMFIC_OPTNEG);
	assert_int_equal(wire_uint32(&b, SMFI_PROT_VERSION), 0);
	assert_int_equal(wire_uint32(&b, SMFIF_ADDHDRS | SMFIF_SETSYMLIST),
	    0);
	assert_int_equal(wire_uint32(&b, SMFIP_NR_HDR), 0);
	assert_int_equal(wire_uint32(&b, SMFIM_EOM), 0);
	assert_int_equal(wire_string(&b, "{msg_id} i"), 0);
	wire_end(&b, at);
	len = get32(b.data);
	assert_int_equal(len, b.len - 4);
	assert_int_equal(b.data[4], SMFIC_OPTNEG);
	assert_int_equal(wire_optneg((unsigned char *)b.data + 5, len - 1, &o,
	    &why), 0);
	assert_int_equal(o.version, SMFI_PROT_VERSION);
	assert_int_equal(o.actions, SMFIF_ADDHDRS | SMFIF_SETSYMLIST);
	assert_int_equal(o.steps, SMFIP_NR_HDR);
	assert_string_equal(o.lists[SMFIM_EOM], "{msg_id} i");

	/* And a header change after it. */
	at = wire_begin(&b, SMFIR_CHGHEADER);
	assert_int_equal(wire_uint32(&b, 3), 0);
	assert_int_equal(wire_string(&b, "Subject"), 0);
	assert_int_equal(wire_string(&b, "new"), 0);
	wire_end(&b, at);
	len = get32(b.data + at);
	assert_int_equal(len, 1 + 4 + 8 + 4);
	assert_int_equal(len, b.len - at - 4);
	assert_int_equal(reply(b.data[at + 4],
	    (unsigned char *)b.data + at + 5, len - 1, &r), 0);
	assert_int_equal(r.cmd, SMFIR_CHGHEADER);
	assert_int_equal(r.index, 3);
	assert_string_equal(r.name, "Subject");
	assert_string_equal(r.value, "new");
	buf_free(&b);
}

/*
 * The negotiation: version, actions and steps (MILTER_OPTLEN bytes),
 * big-endian; no macro lists.
 */
static void
test_wire_optneg_no_lists(void **state)
{
	static const unsigned char	 d[] = "\0\0\0\x06" "\0\0\x01\x01"
					    "\x00\x10\x10\x02";
	struct wire_optneg		 o;
	const char			*why;
	int				 i;

	(void)state;
	assert_int_equal(sizeof d - 1, MILTER_OPTLEN);
	assert_int_equal(wire_optneg(d, sizeof d - 1, &o, &why), 0);
	assert_int_equal(o.version, SMFI_PROT_VERSION);
	assert_int_equal(o.actions, SMFIF_ADDHDRS | SMFIF_SETSYMLIST);
	assert_int_equal(o.steps, SMFIP_HDR_LEADSPC | SMFIP_NR_CONN |
	    SMFIP_NOHELO);
	for (i = 0; i < WIRE_LISTS; i++)
		assert_null(o.lists[i]);
}

/* One list: the stage's number, then its macro names as one string. */
static void
test_wire_optneg_one_list(void **state)
{
	static const unsigned char	 d[] = "\0\0\0\x06" "\0\0\x01\0"
					    "\0\0\0\0"
					    "\0\0\0\x02"
					    "{auth_authen} {mail_addr}";
	struct wire_optneg		 o;
	const char			*why;
	int				 i;

	(void)state;
	/* sizeof d counts the NUL that ends the list. */
	assert_int_equal(wire_optneg(d, sizeof d, &o, &why), 0);
	assert_int_equal(o.actions, SMFIF_SETSYMLIST);
	assert_int_equal(SMFIM_ENVFROM, 2);
	for (i = 0; i < WIRE_LISTS; i++)
		if (i != SMFIM_ENVFROM)
			assert_null(o.lists[i]);
	/* Where it is in the packet, not a copy. */
	assert_ptr_equal(o.lists[SMFIM_ENVFROM], (const char *)d + 16);
	assert_string_equal(o.lists[SMFIM_ENVFROM],
	    "{auth_authen} {mail_addr}");
}

/*
 * A list for every stage, SMFIM_FIRST to SMFIM_LAST, in any order; an
 * empty list is a list (no macros), not none.
 */
static void
test_wire_optneg_seven_lists(void **state)
{
	static const int	 order[] = { SMFIM_EOH, SMFIM_CONNECT,
				    SMFIM_DATA, SMFIM_HELO, SMFIM_EOM,
				    SMFIM_ENVRCPT, SMFIM_ENVFROM };
	static const char *const names[] = { "j _", "{tls_version}",
				    "{mail_addr}", "{rcpt_addr}", "",
				    "{msg_id} i", "{x}" };
	unsigned char		 d[256];
	struct wire_optneg	 o;
	const char		*why;
	size_t			 len = MILTER_OPTLEN, n;
	int			 i;

	(void)state;
	assert_int_equal(WIRE_LISTS, SMFIM_LAST - SMFIM_FIRST + 1);
	assert_int_equal(sizeof order / sizeof order[0], WIRE_LISTS);
	put32(d, SMFI_PROT_VERSION);
	put32(d + 4, SMFIF_SETSYMLIST);
	put32(d + 8, 0);
	for (i = 0; i < WIRE_LISTS; i++) {
		put32(d + len, order[i]);
		n = strlen(names[order[i]]) + 1;
		memcpy(d + len + 4, names[order[i]], n);
		len += 4 + n;
	}
	assert_int_equal(wire_optneg(d, len, &o, &why), 0);
	for (i = SMFIM_FIRST; i <= SMFIM_LAST; i++) {
		assert_non_null(o.lists[i]);
		assert_string_equal(o.lists[i], names[i]);
		assert_true((const unsigned char *)o.lists[i] >= d + 16 &&
		    (const unsigned char *)o.lists[i] < d + len);
	}
}

/* A list for a stage past SMFIM_LAST, which the protocol lacks: left out. */
static void
test_wire_optneg_unknown_stage(void **state)
{
	static const unsigned char	 seven[] = "\0\0\0\x06" "\0\0\x01\0"
					    "\0\0\0\0" "\0\0\0\x07" "j";
	static const unsigned char	 huge[] = "\0\0\0\x06" "\0\0\x01\0"
					    "\0\0\0\0" "\xff\xff\xff\xff" "j";
	static const unsigned char	 after[] = "\0\0\0\x06" "\0\0\x01\0"
					    "\0\0\0\0" "\0\0\0\x01" "j\0"
					    "\0\0\x01\0" "k";
	struct wire_optneg		 o;
	const char			*why = NULL;
	int				 i;

	(void)state;
	assert_int_equal(SMFIM_LAST + 1, 7);
	/* Left out, as Postfix does: the stages it knows stay. */
	assert_int_equal(wire_optneg(seven, sizeof seven, &o, &why), 0);
	for (i = 0; i < WIRE_LISTS; i++)
		assert_null(o.lists[i]);
	assert_int_equal(wire_optneg(huge, sizeof huge, &o, &why), 0);
	assert_int_equal(wire_optneg(after, sizeof after, &o, &why), 0);
	assert_string_equal(o.lists[SMFIM_HELO], "j");
	for (i = 0; i < WIRE_LISTS; i++)
		if (i != SMFIM_HELO)
			assert_null(o.lists[i]);
}

/* A list cut short: in its stage's number, or before its NUL. */
static void
test_wire_optneg_cut_short(void **state)
{
	static const unsigned char	 d[] = "\0\0\0\x06" "\0\0\x01\0"
					    "\0\0\0\0" "\0\0\0\x02" "{x}\0"
					    "\0\0\0\x03" "{y}";
	struct wire_optneg		 o;
	const char			*why;
	size_t				 good = MILTER_OPTLEN + 8, len;

	(void)state;
	assert_int_equal(wire_optneg(d, good, &o, &why), 0);
	assert_string_equal(o.lists[SMFIM_ENVFROM], "{x}");
	/* Every length between two whole lists. */
	for (len = good + 1; len < sizeof d; len++) {
		why = NULL;
		assert_int_equal(wire_optneg(d, len, &o, &why), -1);
		assert_non_null(why);
	}
	assert_int_equal(wire_optneg(d, sizeof d, &o, &why), 0);
	assert_string_equal(o.lists[SMFIM_ENVRCPT], "{y}");
}

/* Shorter than version, actions and steps: refused, however short. */
static void
test_wire_optneg_short(void **state)
{
	static const unsigned char	 d[MILTER_OPTLEN] = { 0, 0, 0, 6 };
	struct wire_optneg		 o;
	const char			*why;
	size_t				 len;

	(void)state;
	for (len = 0; len < MILTER_OPTLEN; len++) {
		why = NULL;
		assert_int_equal(wire_optneg(d, len, &o, &why), -1);
		assert_non_null(why);
	}
	assert_int_equal(wire_optneg(d, MILTER_OPTLEN, &o, &why), 0);
}

/* The answers with no data: each taken, nothing else set. */
static void
test_wire_reply_no_data(void **state)
{
	static const char	 cmds[] = { SMFIR_ACCEPT, SMFIR_CONTINUE,
				    SMFIR_DISCARD, SMFIR_REJECT,
				    SMFIR_TEMPFAIL, SMFIR_SKIP,
				    SMFIR_PROGRESS, SMFIR_CONN_FAIL,
				    SMFIR_SHUTDOWN };
	static const unsigned char	 none[1];
	struct wire_reply	 r;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cmds; i++) {
		memset(&r, 0x55, sizeof r);
		assert_int_equal(reply(cmds[i], none, 0, &r), 0);
		assert_int_equal(r.cmd, cmds[i]);
		assert_null(r.text);
		assert_null(r.name);
		assert_null(r.value);
		assert_null(r.data);
		assert_int_equal(r.len, 0);
	}
}

/* SMFIR_REPLYCODE and SMFIR_QUARANTINE: one string, in place. */
static void
test_wire_reply_text(void **state)
{
	static const char	 y[] = "550 5.7.1 go away";
	static const char	 q[] = "held for review";
	struct wire_reply	 r;

	(void)state;
	assert_int_equal(reply(SMFIR_REPLYCODE, (const unsigned char *)y,
	    sizeof y, &r), 0);
	assert_int_equal(r.cmd, SMFIR_REPLYCODE);
	assert_ptr_equal(r.text, y);
	assert_null(r.name);
	assert_int_equal(reply(SMFIR_QUARANTINE, (const unsigned char *)q,
	    sizeof q, &r), 0);
	assert_ptr_equal(r.text, q);
}

/* A string that does not end in the packet, or no string at all. */
static void
test_wire_reply_text_malformed(void **state)
{
	(void)state;
	refused(SMFIR_REPLYCODE, DATA("550 5.7.1 go away"));
	refused(SMFIR_REPLYCODE, DATA(""));
	refused(SMFIR_QUARANTINE, DATA("held"));
	refused(SMFIR_QUARANTINE, DATA(""));
}

/* SMFIR_ADDHEADER: name and value, each with its NUL. */
static void
test_wire_reply_addheader(void **state)
{
	static const unsigned char	 d[] = "X-Spam\0yes";
	struct wire_reply		 r;

	(void)state;
	assert_int_equal(reply(SMFIR_ADDHEADER, d, sizeof d, &r), 0);
	assert_ptr_equal(r.name, (const char *)d);
	assert_ptr_equal(r.value, (const char *)d + 7);
	assert_string_equal(r.value, "yes");
	assert_int_equal(r.index, 0);
	/* An empty value is a value. */
	assert_int_equal(reply(SMFIR_ADDHEADER, DATA("X-Empty\0\0"), &r), 0);
	assert_string_equal(r.value, "");

	refused(SMFIR_ADDHEADER, DATA("X-Spam\0yes"));
	refused(SMFIR_ADDHEADER, DATA("X-Spam\0"));
	refused(SMFIR_ADDHEADER, DATA("X-Spam"));
	refused(SMFIR_ADDHEADER, DATA(""));
}

/*
 * SMFIR_INSHEADER and SMFIR_CHGHEADER: a big-endian index, then name
 * and value; a change to "" deletes, and is still a value.
 */
static void
test_wire_reply_index_header(void **state)
{
	struct wire_reply	 r;

	(void)state;
	assert_int_equal(reply(SMFIR_INSHEADER,
	    DATA("\x01\x02\x03\x04" "X-Spam\0yes\0"), &r), 0);
	assert_int_equal(r.cmd, SMFIR_INSHEADER);
	assert_int_equal(r.index, 0x01020304);
	assert_string_equal(r.name, "X-Spam");
	assert_string_equal(r.value, "yes");
	assert_int_equal(reply(SMFIR_CHGHEADER,
	    DATA("\xff\xff\xff\xff" "Subject\0\0"), &r), 0);
	assert_int_equal(r.index, 0xffffffff);
	assert_string_equal(r.name, "Subject");
	assert_non_null(r.value);
	assert_string_equal(r.value, "");
}

/* The index short, or name or value missing or without its NUL. */
static void
test_wire_reply_index_header_malformed(void **state)
{
	static const char	 cmds[] = { SMFIR_INSHEADER, SMFIR_CHGHEADER };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cmds; i++) {
		refused(cmds[i], DATA(""));
		refused(cmds[i], DATA("\0"));
		refused(cmds[i], DATA("\0\0\x01"));
		refused(cmds[i], DATA("\0\0\0\x01"));
		refused(cmds[i], DATA("\0\0\0\x01" "Subject"));
		refused(cmds[i], DATA("\0\0\0\x01" "Subject\0"));
		refused(cmds[i], DATA("\0\0\0\x01" "Subject\0new"));
		/* No index: the name's bytes would be taken for one. */
		refused(cmds[i], DATA("Sub\0new\0"));
	}
}

/* SMFIR_ADDRCPT and SMFIR_DELRCPT: one address. */
static void
test_wire_reply_rcpt(void **state)
{
	static const char	 cmds[] = { SMFIR_ADDRCPT, SMFIR_DELRCPT };
	struct wire_reply	 r;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cmds; i++) {
		assert_int_equal(reply(cmds[i], DATA("<a@example.org>\0"),
		    &r), 0);
		assert_int_equal(r.cmd, cmds[i]);
		assert_string_equal(r.name, "<a@example.org>");
		assert_null(r.value);
		refused(cmds[i], DATA("<a@example.org>"));
		refused(cmds[i], DATA(""));
	}
}

/*
 * SMFIR_ADDRCPT_PAR and SMFIR_CHGFROM: an address, then its ESMTP
 * arguments, which may be left out (smfi_addrcpt_par(), smfi_chgfrom()
 * with args NULL send the address alone).
 */
static void
test_wire_reply_with_args(void **state)
{
	static const char	 cmds[] = { SMFIR_ADDRCPT_PAR, SMFIR_CHGFROM };
	struct wire_reply	 r;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cmds; i++) {
		assert_int_equal(reply(cmds[i], DATA("<a@example.org>\0"),
		    &r), 0);
		assert_int_equal(r.cmd, cmds[i]);
		assert_string_equal(r.name, "<a@example.org>");
		assert_null(r.value);
		assert_int_equal(reply(cmds[i],
		    DATA("<a@example.org>\0NOTIFY=NEVER ORCPT=rfc822;a\0"),
		    &r), 0);
		assert_string_equal(r.name, "<a@example.org>");
		assert_string_equal(r.value, "NOTIFY=NEVER ORCPT=rfc822;a");

		refused(cmds[i], DATA("<a@example.org>"));
		refused(cmds[i], DATA("<a@example.org>\0NOTIFY=NEVER"));
		refused(cmds[i], DATA(""));
	}
}

/* SMFIR_REPLBODY: the bytes as they are, NULs and all, or none. */
static void
test_wire_reply_body(void **state)
{
	static const unsigned char	 d[] = "line\r\n\0bin\xff\r\n";
	struct wire_reply		 r;

	(void)state;
	assert_int_equal(reply(SMFIR_REPLBODY, d, sizeof d - 1, &r), 0);
	assert_ptr_equal(r.data, d);
	assert_int_equal(r.len, sizeof d - 1);
	assert_null(r.text);
	assert_int_equal(reply(SMFIR_REPLBODY, d, 0, &r), 0);
	assert_int_equal(r.len, 0);
}

/*
 * Bytes after what the command carries: an answer with data, a string
 * after the last, a NUL too many.  libmilter sends none, and an MTA
 * takes them for a broken milter (Postfix's milter8.c: "left-over
 * data"; Sendmail's milter.c: a reply text that does not fill its
 * packet).
 */
static void
test_wire_reply_trailing(void **state)
{
	static const char	 bare[] = { SMFIR_ACCEPT, SMFIR_CONTINUE,
				    SMFIR_DISCARD, SMFIR_REJECT,
				    SMFIR_TEMPFAIL, SMFIR_SKIP,
				    SMFIR_PROGRESS, SMFIR_CONN_FAIL,
				    SMFIR_SHUTDOWN };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bare; i++) {
		refused(bare[i], DATA("\0"));
		refused(bare[i], DATA("550 5.7.1 no\0"));
	}
	refused(SMFIR_REPLYCODE, DATA("550 5.7.1 no\0\0"));
	refused(SMFIR_REPLYCODE, DATA("550 5.7.1 no\0 more\0"));
	refused(SMFIR_QUARANTINE, DATA("held\0x"));
	refused(SMFIR_ADDHEADER, DATA("X-A\0b\0\0"));
	refused(SMFIR_INSHEADER, DATA("\0\0\0\x01" "X-A\0b\0c\0"));
	refused(SMFIR_CHGHEADER, DATA("\0\0\0\x01" "X-A\0b\0c"));
	refused(SMFIR_ADDRCPT, DATA("<a@example.org>\0\0"));
	refused(SMFIR_DELRCPT, DATA("<a@example.org>\0<b@example.org>\0"));
	refused(SMFIR_ADDRCPT_PAR, DATA("<a@example.org>\0\0\0"));
	refused(SMFIR_CHGFROM, DATA("<a@example.org>\0SIZE=1\0x\0"));
}

/*
 * What no milter answers: SMFIR_SETSYMLIST is no reply (a list comes
 * in the negotiation), commands are the MTA's, the rest is nothing.
 */
static void
test_wire_reply_unknown(void **state)
{
	static const char	 cmds[] = { SMFIR_SETSYMLIST, SMFIC_OPTNEG,
				    SMFIC_MACRO, SMFIC_QUIT, 'z', 'A', '\0',
				    '\x7f', '\xff' };
	struct wire_reply	 r;
	const char		*why;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof cmds; i++) {
		why = NULL;
		assert_int_equal(wire_reply(cmds[i], DATA("x\0"), &r, &why),
		    -1);
		assert_non_null(why);
		why = NULL;
		assert_int_equal(wire_reply(cmds[i], DATA(""), &r, &why),
		    -1);
		assert_non_null(why);
	}
}

/* One line: its code, its enhanced code, its text. */
static void
test_wire_lines_one(void **state)
{
	static const char	 s[] = "550 5.7.1 go away";
	struct wire_lines	 l;

	(void)state;
	assert_int_equal(wire_reply_lines(s, &l), 0);
	assert_string_equal(l.code, "550");
	assert_string_equal(l.xcode, "5.7.1");
	assert_int_equal(l.n, 1);
	assert_ptr_equal(l.text[0], s + 10);
	same_text(&l, 0, "go away");

	/* Each class RFC 3463 has, whatever the reply's code. */
	assert_int_equal(wire_reply_lines("550 2.0.0 x", &l), 0);
	assert_string_equal(l.xcode, "2.0.0");
	assert_int_equal(wire_reply_lines("550 4.0.0 x", &l), 0);
	assert_string_equal(l.xcode, "4.0.0");

	/* The widest enhanced code: one digit, then up to three twice. */
	assert_int_equal(wire_reply_lines("451 4.123.456 later", &l), 0);
	assert_string_equal(l.code, "451");
	assert_string_equal(l.xcode, "4.123.456");
	same_text(&l, 0, "later");
}

/* No enhanced code: all after the code and its space is text. */
static void
test_wire_lines_no_enhanced(void **state)
{
	struct wire_lines	 l;

	(void)state;
	assert_int_equal(wire_reply_lines("451 try again later", &l), 0);
	assert_string_equal(l.code, "451");
	assert_string_equal(l.xcode, "");
	same_text(&l, 0, "try again later");

	/* A code alone (RFC 5321: the text is optional). */
	assert_int_equal(wire_reply_lines("554", &l), 0);
	assert_string_equal(l.code, "554");
	assert_int_equal(l.n, 1);
	same_text(&l, 0, "");
	assert_int_equal(wire_reply_lines("554 ", &l), 0);
	same_text(&l, 0, "");

	/* An enhanced code alone. */
	assert_int_equal(wire_reply_lines("554 5.7.0", &l), 0);
	assert_string_equal(l.xcode, "5.7.0");
	same_text(&l, 0, "");
}

/*
 * What looks like an enhanced code and is not (RFC 3463, section 2:
 * class "." subject "." detail, the class "2", "4" or "5", subject and
 * detail one to three digits) stays in the text: libmilter's
 * smfi_setreply() would refuse it as an enhanced code.
 */
static void
test_wire_lines_not_enhanced(void **state)
{
	static const char *const not[] = { "2.0", "5.7", "12.3.4",
				    "5.1234.1", "5.1.1234", "5..1", "5.1.",
				    ".5.1.1", "5.1.1.1", "5.1.1x", "5.1.1-x",
				    "5", "5.", "0.1.1", "1.1.1", "3.1.1",
				    "6.1.1", "9.9.9" };
	struct wire_lines	 l;
	char			 s[64];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof not / sizeof not[0]; i++) {
		snprintf(s, sizeof s, "550 %s text", not[i]);
		assert_int_equal(wire_reply_lines(s, &l), 0);
		assert_string_equal(l.code, "550");
		assert_string_equal(l.xcode, "");
		assert_ptr_equal(l.text[0], s + 4);
		assert_int_equal(l.len[0], strlen(s) - 4);
	}
}

/*
 * Several lines, as smfi_setmlreply() makes them: the code, "-" on all
 * but the last, the enhanced code on each; the first line's codes are
 * the reply's, and each line's text is its own.
 */
static void
test_wire_lines_several(void **state)
{
	static const char	 s[] = "550-5.7.1 one\r\n550-5.7.1 two\r\n"
				    "550 5.7.1 three";
	struct wire_lines	 l;

	(void)state;
	assert_int_equal(wire_reply_lines(s, &l), 0);
	assert_string_equal(l.code, "550");
	assert_string_equal(l.xcode, "5.7.1");
	assert_int_equal(l.n, 3);
	same_text(&l, 0, "one");
	same_text(&l, 1, "two");
	same_text(&l, 2, "three");
	assert_ptr_equal(l.text[1], s + 25);

	/* Without the enhanced code, or on the first line alone. */
	assert_int_equal(wire_reply_lines("421-a\r\n421 b", &l), 0);
	assert_string_equal(l.code, "421");
	assert_string_equal(l.xcode, "");
	assert_int_equal(l.n, 2);
	same_text(&l, 0, "a");
	same_text(&l, 1, "b");
	assert_int_equal(wire_reply_lines("550-5.1.1 a\r\n550 b", &l), 0);
	assert_string_equal(l.xcode, "5.1.1");
	same_text(&l, 1, "b");
	/* An empty text between. */
	assert_int_equal(wire_reply_lines("550-a\r\n550-\r\n550 b", &l), 0);
	assert_int_equal(l.n, 3);
	same_text(&l, 1, "");
}

/* CRLF at the end ends the last line; it makes no empty one. */
static void
test_wire_lines_crlf_end(void **state)
{
	struct wire_lines	 l;

	(void)state;
	assert_int_equal(wire_reply_lines("550 5.7.1 one\r\n", &l), 0);
	assert_int_equal(l.n, 1);
	same_text(&l, 0, "one");
	assert_int_equal(wire_reply_lines("550-a\r\n550 b\r\n", &l), 0);
	assert_int_equal(l.n, 2);
	same_text(&l, 1, "b");
	/* But an empty line is no line. */
	assert_int_equal(wire_reply_lines("550 one\r\n\r\n", &l), -1);
	assert_int_equal(wire_reply_lines("550-a\r\n\r\n550 b", &l), -1);
}

/* A milter's reply rejects or fails for now: 4xx or 5xx, nothing else. */
static void
test_wire_lines_not_4xx_5xx(void **state)
{
	static const char *const bad[] = { "250 2.0.0 ok", "250 ok",
				    "354 go ahead", "221 bye", "150 x",
				    "650 x", "050 x", "999 x" };
	struct wire_lines	 l;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(wire_reply_lines(bad[i], &l), -1);
	/* On any line. */
	assert_int_equal(wire_reply_lines("550-a\r\n250 b", &l), -1);
}

/* A line without its three digits, or with more after them. */
static void
test_wire_lines_no_code(void **state)
{
	static const char *const bad[] = { "go away", "55", "55 x", "5a0 x",
				    "55x x", "550x", "5500 x", "550_x",
				    " 550 x", "550-a\r\ngo away",
				    "550-a\r\n55", "550-a\r\n550x" };
	struct wire_lines	 l;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(wire_reply_lines(bad[i], &l), -1);
}

/* n lines of one reply into b, as smfi_setmlreply() makes them. */
static const char *
lines(struct buf *b, int n, const char *end)
{
	char	 line[32];
	int	 i;

	b->len = 0;
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof line, "%s550%c5.7.1 line %d",
		    i > 0 ? "\r\n" : "", i < n - 1 ? '-' : ' ', i);
		assert_int_equal(buf_puts(b, line), 0);
	}
	assert_int_equal(buf_puts(b, end), 0);
	assert_int_equal(buf_add(b, "", 1), 0);
	return b->data;
}

/* libmilter's limit: MAXREPLIES lines are taken, one more is not. */
static void
test_wire_lines_limit(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	struct wire_lines l;

	(void)state;
	assert_int_equal(WIRE_MAX_LINES, 32);
	assert_int_equal(wire_reply_lines(lines(&b, WIRE_MAX_LINES, ""), &l),
	    0);
	assert_int_equal(l.n, WIRE_MAX_LINES);
	same_text(&l, 0, "line 0");
	same_text(&l, 31, "line 31");
	assert_int_equal(wire_reply_lines(lines(&b, WIRE_MAX_LINES, "\r\n"),
	    &l), 0);
	assert_int_equal(l.n, WIRE_MAX_LINES);
	assert_int_equal(wire_reply_lines(lines(&b, WIRE_MAX_LINES + 1, ""),
	    &l), -1);
	assert_int_equal(wire_reply_lines(lines(&b, WIRE_MAX_LINES + 1,
	    "\r\n"), &l), -1);
	assert_int_equal(wire_reply_lines(lines(&b, 100, ""), &l), -1);
	buf_free(&b);
}

/*
 * A line's text that smfi_setreply() and smfi_setmlreply() refuse:
 * longer than MAXREPLYLEN (980), or holding a CR or LF ("XXX check
 * also for unprintable chars?" -- they check these two); only CRLF
 * ends a line.
 */
static void
test_wire_lines_libmilter_refuses(void **state)
{
	static const char *const bad[] = { "550 a\nb", "550 a\rb",
				    "550 5.7.1 a\n", "550 a\r", "550 \n",
				    "550-a\r\n550 b\nc", "550-a\n\r\n550 b",
				    "550-a\r\r\n550 b", "550 a\r\n\n" };
	struct wire_lines	 l;
	char			 s[10 + WIRE_MAX_TEXT + 2];
	char			 t[4 + WIRE_MAX_TEXT + 2];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(wire_reply_lines(bad[i], &l), -1);

	assert_int_equal(WIRE_MAX_TEXT, 980);
	/* MAXREPLYLEN bytes of text, after the enhanced code or not. */
	memcpy(s, "550 5.7.1 ", 10);
	memset(s + 10, 'x', WIRE_MAX_TEXT + 1);
	s[10 + WIRE_MAX_TEXT] = '\0';
	memcpy(t, "550 ", 4);
	memset(t + 4, 'x', WIRE_MAX_TEXT + 1);
	t[4 + WIRE_MAX_TEXT] = '\0';
	assert_int_equal(wire_reply_lines(s, &l), 0);
	assert_string_equal(l.xcode, "5.7.1");
	assert_int_equal(l.len[0], WIRE_MAX_TEXT);
	assert_int_equal(wire_reply_lines(t, &l), 0);
	assert_string_equal(l.xcode, "");
	assert_int_equal(l.len[0], WIRE_MAX_TEXT);
	/* One more. */
	s[10 + WIRE_MAX_TEXT + 1] = '\0';
	s[10 + WIRE_MAX_TEXT] = 'x';
	t[4 + WIRE_MAX_TEXT + 1] = '\0';
	t[4 + WIRE_MAX_TEXT] = 'x';
	assert_int_equal(wire_reply_lines(s, &l), -1);
	assert_int_equal(wire_reply_lines(t, &l), -1);
}

/* An empty reply is none. */
static void
test_wire_lines_empty(void **state)
{
	struct wire_lines	 l;

	(void)state;
	assert_int_equal(wire_reply_lines("", &l), -1);
	assert_int_equal(wire_reply_lines("\r\n", &l), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_packet_framing),
		cmocka_unit_test(test_wire_packet_long),
		cmocka_unit_test(test_wire_end_short),
		cmocka_unit_test(test_wire_uint32_string),
		cmocka_unit_test(test_wire_round_trip),
		cmocka_unit_test(test_wire_optneg_no_lists),
		cmocka_unit_test(test_wire_optneg_one_list),
		cmocka_unit_test(test_wire_optneg_seven_lists),
		cmocka_unit_test(test_wire_optneg_unknown_stage),
		cmocka_unit_test(test_wire_optneg_cut_short),
		cmocka_unit_test(test_wire_optneg_short),
		cmocka_unit_test(test_wire_reply_no_data),
		cmocka_unit_test(test_wire_reply_text),
		cmocka_unit_test(test_wire_reply_text_malformed),
		cmocka_unit_test(test_wire_reply_addheader),
		cmocka_unit_test(test_wire_reply_index_header),
		cmocka_unit_test(test_wire_reply_index_header_malformed),
		cmocka_unit_test(test_wire_reply_rcpt),
		cmocka_unit_test(test_wire_reply_with_args),
		cmocka_unit_test(test_wire_reply_body),
		cmocka_unit_test(test_wire_reply_trailing),
		cmocka_unit_test(test_wire_reply_unknown),
		cmocka_unit_test(test_wire_lines_one),
		cmocka_unit_test(test_wire_lines_no_enhanced),
		cmocka_unit_test(test_wire_lines_not_enhanced),
		cmocka_unit_test(test_wire_lines_several),
		cmocka_unit_test(test_wire_lines_crlf_end),
		cmocka_unit_test(test_wire_lines_not_4xx_5xx),
		cmocka_unit_test(test_wire_lines_no_code),
		cmocka_unit_test(test_wire_lines_limit),
		cmocka_unit_test(test_wire_lines_libmilter_refuses),
		cmocka_unit_test(test_wire_lines_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
