#!/usr/bin/env python3
"""hostile.py -- hostile MTA sessions against a running inspect.

usage: hostile.py --spec SPEC --report FILE --format json|text --pid PID
                  --macros LIST [--stderr FILE] [--text-subset] [--color]
                  [CASE...]
       hostile.py --list

Runs each case (all, or those named) against the inspect listening on
SPEC and writing FILE in the given format; LIST is the --macros it was
started with; FILE after --stderr is its standard error, where a case
must leave no sign of a bug (a sanitizer's or valgrind's report, or
libmilter catching a reply where none was agreed).  After every case a
normal message must still go through, inspect must still run, and the
report of the case's sessions and of the normal one must be well-formed
and say exactly what was sent, byte for byte (report.py reads it
strictly).  With --text-subset only the cases marked for text run; with
--color, inspect colours its report and sums up each session, and the
report must be one without colour once inspect's own SGR sequences and
summary lines are taken out.

Prints "ok FORMAT/CASE" or "FAIL FORMAT/CASE" and why, one case a line;
exits 1 if any failed.
"""

import argparse
import os
import random
import struct
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mta  # noqa: E402
import report  # noqa: E402
from mta import (ABORT, BODY, CONNECT, DATA, EOH, EOM, HEADER,  # noqa: E402
                 HELO, MACRO, MAIL, NO_NR, OPTNEG, QUIT_NC, RCPT, UNKNOWN)

SETTLE = 15.0		# seconds for a case's events to reach the report

# Values an MTA passes on from a client, made to fool a terminal or a
# parser.  No NUL: the protocol's strings cannot hold one.
HOSTILE = {
    "esc-csi": b"\x1b[31mred\x1b[0m\x1b[2J\x1b[H\x1b[6n",
    "esc-osc": b"\x1b]0;pwned\x07\x1b]8;;http://evil.example/\x1b\\here"
               b"\x1b]8;;\x1b\\",
    "c1-csi": "\u009b31m\u009b2J\u0085\u008d".encode(),
    "c1-raw-bytes": b"\x9b31m\x9b2J\x85",
    "bare-cr": b"shown\rhidden over it",
    "backspace": b"evil\x08\x08\x08\x08good",
    "bidi": "invoice\u202efdp.exe \u2066x\u2069 \u200f\u200e\u061c"
            "\u202a\u202b\u202c\u202d".encode(),
    "line-separators": "one\u2028two\u2029three\u0085four".encode(),
    "controls": bytes(range(1, 0x20)) + b"\x7f",
    "invalid-utf8": b"\xc0\x80 \xc1\xbf \xe0\x80\x80 \xed\xa0\x80 "
                    b"\xf4\x90\x80\x80 \xf5 \xe2\x82 \xff\xfe \x80\xbf",
    "quotes": b'"\\"q\\" \\\\ \\x41 \\u0041 \\n"',
    "fake-lines": b'x"\n[1] close 2001-01-01T00:00:00.000000Z\n'
                  b'[0] start 2001-01-01T00:00:00.000000Z run '
                  b'20010101T000000Z-p1 inspect 0.1.0\n'
                  b'{"session":1,"run":"20010101T000000Z-p1",'
                  b'"stage":"close","macros":{}}\n',
    "utf8-printable": "na\u00efve caf\u00e9 \u20ac \U0001f600 "
                      "\u4e2d\u6587".encode(),
}

CASES = []


def case(name, text=False):
    """Register a case; text marks it for the text-format subset."""
    def register(fn):
        CASES.append((name, fn, text))
        return fn
    return register


class Run:
    """What the cases need: new sessions against inspect, and a look at
    what it reported so far."""

    def __init__(self, args):
        self.spec = args.spec
        self.report = args.report
        self.format = args.format
        self.listed = [n.encode() for n in
                       args.macros.replace(",", " ").split()]
        self.conns = []		# every connection of the current case
        self.offset = 0		# where the current case's report starts
        self.sessions = 0	# sessions the current case started

    def conn(self):
        c = mta.Conn(self.spec)
        self.conns.append(c)
        return c

    def session(self, steps=mta.ALL_STEPS):
        """A new session, negotiated.  Without the no-reply steps, what
        inspect says it answered is not checked: the case
        negotiate-answer-is-what-the-mta-got does that."""
        s = self.bare()
        s.negotiate(steps=steps, check_answer=steps == mta.ALL_STEPS)
        return s

    def bare(self):
        """A session not yet negotiated."""
        self.sessions += 1
        return mta.Session(self.conn(), self.listed)

    def sync(self, s):
        """Wait until the report holds every session the case started,
        the newest (s) with as many events as s expects so far: with no
        replies agreed, the report is the only sign that inspect has
        taken the commands."""
        deadline = time.monotonic() + SETTLE
        while time.monotonic() < deadline:
            with open(self.report, "rb") as f:
                f.seek(self.offset)
                data = f.read()
            try:
                sessions = report.read(data, self.format)
            except report.Malformed:
                sessions = {}
            if len(sessions) >= self.sessions and \
                    len(sessions[max(sessions)]) >= len(s.events):
                return
            time.sleep(0.05)
        raise mta.ProtocolError("inspect did not report %s within %d s" %
                                ([e["stage"] for e in s.events], SETTLE))

    def end_case(self):
        for c in self.conns:
            c.close()
        self.conns = []
        self.sessions = 0


class Absent:
    """A connection that may leave no session at all, or only a close."""

    def __init__(self, conn):
        self.conn = conn
        self.events = [{"stage": "close", "macros": []}]


def start(s, tag=b"client.example"):
    """Connect and HELO, with the macros Postfix sends there."""
    s.macro(CONNECT, [b"j", b"mx.example", b"_", tag + b" [192.0.2.7]"])
    s.connect(tag, b"4", 4321, b"192.0.2.7")
    s.helo(tag)


def envelope(s):
    s.macro(MAIL, [b"i", b"4AB1C2D3", b"{mail_addr}", b"a@example.org"])
    s.mail(b"<a@example.org>")
    s.macro(RCPT, [b"{rcpt_addr}", b"b@example.net"])
    s.rcpt(b"<b@example.net>")


def everything(s, value, tag):
    """value in every field the MTA can send, then quit."""
    s.macro(CONNECT, [b"j", value, b"{daemon_name}", value, b"_", value,
                      value, b"unlisted name", b"{" + value + b"}",
                      b"unlisted braces"])
    s.connect(value)
    s.macro(HELO, [b"{tls_version}", value, b"s", value])
    s.helo(value)
    s.unknown(value)
    s.macro(MAIL, [b"i", value, b"{mail_addr}", value])
    s.mail(b"<" + value + b"@example.org>", b"SIZE=" + value, value)
    s.macro(RCPT, [b"{rcpt_addr}", value, b"{rcpt_mailer}", value])
    s.rcpt(b"<" + value + b">", b"NOTIFY=" + value, b"ORCPT=rfc822;" +
           value)
    s.macro(DATA, [b"i", value])
    s.data()
    s.header(value, value)
    s.header(b"X-" + tag, b" " + value + b"\n\t" + value)
    s.macro(EOH, [b"{mail_addr}", value])
    s.eoh()
    s.body(value + b"\r\n" + value)
    s.macro(EOM, [b"v", value])
    s.eom()
    s.quit()


def hostile_case(label, value):
    @case("hostile-" + label, text=True)
    def run(t):
        s = t.session()
        everything(s, value, label.encode())
        return [s]
    return run


for _label, _value in HOSTILE.items():
    hostile_case(_label, _value)


@case("hostile-all-at-once", text=True)
def all_at_once(t):
    s = t.session(steps=NO_NR)
    everything(s, b"".join(HOSTILE.values()), b"all")
    return [s]


# --- sizes ----------------------------------------------------------------

@case("header-value-packet-max", text=True)
def header_max(t):
    """A header value as long as a packet can carry (65535 bytes of
    data with name and NULs), of every non-NUL byte."""
    s = t.session()
    start(s)
    envelope(s)
    s.data()
    name = b"X-Long"
    body = bytes(range(1, 256)) + HOSTILE["bidi"] + b"\n\t"
    size = mta.MAX_DATA - len(name) - 2
    s.header(name, (body * (size // len(body) + 1))[:size])
    s.eoh()
    s.eom()
    s.quit()
    return [s]


@case("header-1000-folded-lines", text=True)
def header_folded(t):
    s = t.session()
    start(s)
    envelope(s)
    lines = [b"line %d of a folded header, \xc3\xa9 \x1b[1m" % i
             for i in range(1000)]
    s.header(b"X-Folded", b" " + b"\n\t".join(lines))
    s.eoh()
    s.eom()
    s.quit()
    return [s]


@case("headers-1000")
def headers_1000(t):
    s = t.session()
    start(s)
    envelope(s)
    for i in range(1000):
        s.header(b"X-Header-%d" % i, b" value %d \x1b[%dm" % (i, i))
    s.eoh()
    s.body(b"after a thousand headers\r\n")
    s.eom()
    s.quit()
    return [s]


@case("empty-values-and-body", text=True)
def empty_values(t):
    """Empty header values, empty macro values, an empty HELO, no body
    at all (EOH, then EOM)."""
    s = t.session()
    s.macro(CONNECT, [b"j", b"", b"_", b""])
    s.connect(b"")
    s.helo(b"")
    s.macro(MAIL, [b"{mail_addr}", b""])
    s.mail(b"<>")
    s.rcpt(b"<b@example.net>")
    s.data()
    s.header(b"X-Empty", b"")
    s.header(b"X-Space", b" ")
    s.eoh()
    s.eom()
    s.quit()
    return [s]


@case("header-name-empty")
def header_name_empty(t):
    """An empty header name: libmilter takes the value from the second
    string after it (dec_arg2), and inspect shows what it was given."""
    s = t.session(steps=NO_NR)
    start(s)
    envelope(s)
    s.conn.command(HEADER, b"\0lost\0value\0")
    s.event("header", name=b"", value=b"value")
    s.eoh()
    s.eom()
    s.quit()
    return [s]


@case("body-nul-bytes", text=True)
def body_nul(t):
    s = t.session()
    start(s)
    envelope(s)
    s.eoh()
    s.body(b"\0")
    s.body(b"before\0after\0\0\0end\r\n\0")
    s.eom()
    s.quit()
    return [s]


@case("body-every-byte", text=True)
def body_every_byte(t):
    """Every byte value, in order, in pairs and mixed with valid UTF-8,
    across chunk and line boundaries."""
    s = t.session()
    start(s)
    envelope(s)
    s.eoh()
    every = bytes(range(256))
    pairs = bytes(b for i in range(256) for b in (i, 255 - i))
    s.body(every)
    s.body(pairs * 8 + "\u20ac\U0001f600".encode() * 300 + every)
    s.eom()
    s.quit()
    return [s]


@case("body-invalid-utf8", text=True)
def body_invalid(t):
    s = t.session()
    start(s)
    envelope(s)
    s.eoh()
    s.body(HOSTILE["invalid-utf8"] * 50)
    # A valid character cut by the chunk boundary: each half is invalid.
    s.body(b"a" * 1023 + "\u20ac".encode()[:2])
    s.body("\u20ac".encode()[2:] + b"\r\n")
    s.eom()
    s.quit()
    return [s]


@case("body-10mb-max-chunks")
def body_10mb(t):
    """10 MiB in chunks of 65535 bytes, the most a packet holds."""
    rnd = random.Random(10)
    words = [b"mail", b"body", b"caf\xc3\xa9", b"\xe2\x82\xac", b"\t",
             b"\x1b[0m", b"line", b"\xff", b"\r\n", b"\"q\"", b"\\"]
    text = b" ".join(rnd.choice(words) for _ in range(400000))
    total = 10 * 1024 * 1024
    body = (text * (total // len(text) + 1))[:total]
    s = t.session()
    start(s)
    envelope(s)
    s.eoh()
    for off in range(0, total, mta.MAX_DATA):
        s.body(body[off:off + mta.MAX_DATA])
    s.eom()
    s.quit()
    return [s]


@case("body-empty-packet")
def body_empty_packet(t):
    """A BODY with no data: libmilter wants data and drops the
    session; inspect reports the abort and the close."""
    s = t.session()
    start(s)
    envelope(s)
    s.eoh()
    s.conn.send(BODY)
    s.dropped()
    return [s]


@case("macro-value-packet-max")
def macro_max(t):
    value = bytes(range(1, 256)) * 300
    value = value[:mta.MAX_DATA - len(b"Cj\0\0")]
    s = t.session()
    s.macro(CONNECT, [b"j", value])
    s.connect(b"big-macro")
    s.quit()
    return [s]


@case("macros-3000-pairs")
def macros_many(t):
    """Many pairs, and a name given twice: shown twice, as sent (in
    JSON too, where a name then appears twice in one object)."""
    pairs = []
    for i in range(3000):
        pairs += [b"{m%d}" % i, b"v%d" % i]
    pairs += [b"j", b"first", b"j", b"second", b"{j}", b"braced"]
    s = t.session()
    s.macro(CONNECT, pairs)
    s.connect(b"many-macros")
    s.quit()
    return [s]


@case("envelope-1000-parameters")
def many_params(t):
    s = t.session()
    start(s)
    s.mail(b"<a@example.org>", *[b"X-P%d=\x1b[%dm" % (i, i)
                                 for i in range(1000)])
    s.rcpt(b"<b@example.net>", *[b"NOTIFY=%d" % i for i in range(1000)])
    s.quit()
    return [s]


# --- macros libmilter drops or cannot parse ---------------------------------

@case("macros-odd-count")
def macros_odd(t):
    """Macro packets with an odd number of strings.  libmilter's
    smfi_getsymval() steps past the end of such an array (smfi.c), but
    inspect reads the packets itself and stops at the name without a
    value: it shows what came before it, and survives."""
    s = t.session()
    s.macro(CONNECT, None, raw=b"{unlisted}\0")
    s.connect(b"odd-1")
    s.macro(HELO, None, raw=b"j\0")
    s.helo(b"odd-2")
    s.macro(MAIL, None, raw=b"i\0value-of-i\0_\0")
    s.mail(b"<a@example.org>")
    s.quit()
    return [s]


@case("macros-dropped-stages")
def macros_dropped(t):
    """Macros sent with HEADER, BODY, UNKNOWN or an unknown command byte,
    and an empty macro packet, are dropped by libmilter."""
    s = t.session()
    start(s)
    for stage in (HEADER, BODY, UNKNOWN, b"Z", b"\0", b"\xff"):
        s.macro(stage, [b"j", b"dropped " + stage, b"i", b"dropped"])
    s.conn.send(MACRO, CONNECT)
    s.unknown(b"NOOP")
    envelope(s)
    s.header(b"Subject", b" still here")
    s.eoh()
    s.body(b"x")
    s.eom()
    s.quit()
    return [s]


# --- connect families -------------------------------------------------------

@case("connect-family-unix", text=True)
def family_unix(t):
    s = t.session()
    s.connect(b"local.example", b"L", 0,
              b"/run/\x1b[31mmta\xe2\x80\xae.sock\r\xff")
    s.quit()
    return [s]


@case("connect-family-inet6", text=True)
def family_inet6(t):
    s = t.session()
    s.connect(b"v6.example", b"6", 2525, b"2001:db8:0:0:0:0:0:1")
    s.helo(b"v6.example")
    s.quit()
    s2 = t.session()
    s2.connect(b"[IPv6:::1]", b"6", 65535, b"IPv6:::ffff:192.0.2.1")
    s2.quit()
    return [s, s2]


@case("connect-family-unknown", text=True)
def family_unknown(t):
    s = t.session()
    s.macro(CONNECT, [b"j", b"mx.example"])
    s.connect(b"localhost", b"U")
    s.helo(b"stdin")
    s.quit()
    return [s]


@case("connect-bad-family")
def family_bad(t):
    """A family libmilter does not know drops the session."""
    s = t.session()
    s.conn.send(CONNECT, mta.connect_data(b"h", b"X", 1, b"1.2.3.4"))
    s.dropped()
    return [s]


# --- protocol order and framing --------------------------------------------

@case("abort-mid-message", text=True)
def abort_mid(t):
    """ABORT (RSET) inside a message, then a new message on the same
    connection, as an MTA does."""
    s = t.session()
    start(s)
    envelope(s)
    s.data()
    s.header(b"Subject", b" first")
    s.abort()
    envelope(s)
    s.data()
    s.header(b"Subject", b" second")
    s.eoh()
    s.body(b"second message\r\n")
    s.eom()
    s.abort()		# Postfix's after every message: ignored
    s.quit()
    return [s]


@case("two-messages")
def two_messages(t):
    s = t.session()
    start(s)
    for n in range(2):
        envelope(s)
        s.header(b"Subject", b" message %d" % n)
        s.eoh()
        s.body(b"body %d\r\n" % n)
        s.eom()
    s.quit()
    return [s]


@case("quit-new-connection", text=True)
def quit_nc(t):
    """QUIT_NC: close, then a new session on the same connection, which
    libmilter does not negotiate again."""
    s = t.session()
    start(s, b"first.example")
    envelope(s)
    s.eoh()
    s.eom()
    s.conn.send(QUIT_NC)
    s.event("close")
    s2 = mta.Session(s.conn, t.listed)
    s2.answer, s2.noreply = s.answer, s.noreply
    start(s2, b"second.example")
    s2.quit()
    return [s, s2]


@case("quit-new-connection-keeps-negotiation")
def quit_nc_negotiation(t):
    """What was negotiated holds for the whole connection: after QUIT_NC
    a rejected recipient is still reported as rejected, and inspect
    still sends no replies where none were agreed."""
    s = t.session()
    start(s, b"first.example")
    envelope(s)
    s.eom()			# QUIT_NC may follow a message only
    s.conn.send(QUIT_NC)
    s.event("close")
    s2 = mta.Session(s.conn, t.listed)
    s2.answer, s2.noreply = s.answer, s.noreply
    start(s2, b"second.example")
    s2.mail(b"<a@example.org>")
    s2.macro(RCPT, [b"{rcpt_mailer}", b"error", b"{rcpt_addr}",
                    b"User unknown"])
    s2.rcpt(b"<nobody@example.net>")
    s2.macro(RCPT, [b"{rcpt_mailer}", b"local"])
    s2.rcpt(b"<b@example.net>")
    s2.eom()
    s2.quit()
    return [s, s2]


@case("rcpt-rejected", text=True)
def rcpt_rejected(t):
    s = t.session()
    start(s)
    envelope(s)
    s.macro(RCPT, [b"{rcpt_mailer}", b"error", b"{rcpt_host}", b"5.1.1",
                   b"{rcpt_addr}", b"User \x1b[31munknown"])
    s.rcpt(b"<nobody@example.net>")
    # Sendmail's shape, the code in the reply; then no text at all, and
    # a status that is no status.
    s.macro(RCPT, [b"{rcpt_mailer}", b"error", b"{rcpt_host}", b"5.1.1",
                   b"{rcpt_addr}", b"550 5.1.1 <x@example.net>... \"\xff\""])
    s.rcpt(b"<x@example.net>")
    s.macro(RCPT, [b"{rcpt_mailer}", b"error", b"{rcpt_host}",
                   b"\" (no text) \xe2\x80\xae\r\n"])
    s.rcpt(b"<y@example.net>")
    s.macro(RCPT, [b"{rcpt_mailer}", b"error"])
    s.rcpt(b"<z@example.net>")
    s.quit()
    return [s]


def out_of_order(name, before, cmd, data, after):
    """A command where the protocol does not allow it: libmilter ignores
    it without a reply (an abort first, if inside a message) and the
    session goes on."""
    @case("out-of-order-" + name)
    def run(t):
        s = t.session(steps=NO_NR)
        before(s)
        s.conn.send(cmd, data)
        if not s.conn.no_reply():
            raise mta.ProtocolError("no reply expected")
        if s.in_mail:
            s.event("abort")
            s.in_mail = False
        after(s)
        s.quit()
        return [s]
    return run


def _connected(s):
    s.connect(b"order.example")


def _helo(s):
    start(s)


def _mail(s):
    start(s)
    s.mail(b"<a@example.org>")


def _rest(s):
    envelope(s)
    s.data()
    s.eoh()
    s.eom()


out_of_order("body-before-mail", _helo, BODY, b"early body", _rest)
out_of_order("eom-before-mail", _helo, EOM, b"", _rest)
out_of_order("header-before-mail", _helo, HEADER, b"X\0v\0", _rest)
out_of_order("rcpt-before-mail", _helo, RCPT, b"<b>\0", _rest)
out_of_order("data-before-rcpt", _mail, DATA, b"", _rest)
out_of_order("connect-twice", _helo, CONNECT,
             mta.connect_data(b"again", b"4", 1, b"192.0.2.9"), _rest)
out_of_order("negotiate-twice", _mail, OPTNEG,
             struct.pack("!III", 6, 0x1FF, 0x1FFFFF), _rest)


@case("eom-before-data")
def eom_before_data(t):
    """EOM straight after RCPT is allowed (no DATA, headers or body)."""
    s = t.session()
    start(s)
    envelope(s)
    s.eom()
    s.quit()
    return [s]


@case("helo-without-nul")
def helo_no_nul(t):
    """A HELO whose string lacks its NUL: libmilter calls nothing and
    sends nothing; the session goes on."""
    s = t.session(steps=NO_NR)
    s.connect(b"nul.example")
    s.clear_after(HELO)
    s.conn.send(HELO, b"no terminator")
    if not s.conn.no_reply():
        raise mta.ProtocolError("no reply expected")
    _rest(s)
    s.quit()
    return [s]


@case("unknown-without-nul")
def unknown_no_nul(t):
    """An unknown command whose string lacks its NUL: libmilter hands
    the buffer on as it is, with no NUL added after it.  The report must
    show the bytes sent and nothing read past them."""
    s = t.session()
    s.connect(b"nul.example")
    s.command(UNKNOWN, b"XYZZY \x1b[1mno terminator")
    s.event("unknown", command=b"XYZZY \x1b[1mno terminator")
    s.quit()
    return [s]


@case("unknown-command-byte", text=True)
def unknown_byte(t):
    """A command byte that does not exist ends the session; inside a
    message, with an abort."""
    s = t.session()
    start(s)
    s.conn.send(b"Z", b"what is this")
    s.dropped()
    s2 = t.session()
    start(s2)
    envelope(s2)
    s2.conn.send(b"\xff")
    s2.dropped()
    return [s, s2]


@case("truncated-packet")
def truncated(t):
    """The length promises more than comes before the MTA hangs up."""
    s = t.session()
    start(s)
    envelope(s)
    t.sync(s)
    s.conn.send_raw(struct.pack("!I", 100) + HEADER + b"X-Cut\0val")
    s.vanish()
    s2 = t.session()
    start(s2)
    t.sync(s2)
    s2.conn.send_raw(b"\0\0")		# half a length
    s2.vanish()
    return [s, s2]


@case("length-zero-packet")
def length_zero(t):
    """A length of 0: libmilter still reads the command byte and takes
    it without data."""
    s = t.session()
    start(s)
    s.conn.send_raw(b"\0\0\0\0" + ABORT)	# outside a message: ignored
    envelope(s)
    s.conn.send_raw(b"\0\0\0\0" + ABORT)	# inside: an abort
    s.event("abort")
    s.in_mail = False
    envelope(s)
    s.conn.send_raw(b"\0\0\0\0" + HEADER)	# needs data: dropped
    s.dropped()
    return [s]


@case("oversized-packets")
def oversized(t):
    """Longer than 65535 bytes of data: libmilter drops the session."""
    sessions = []
    for length, data in ((mta.MAX_DATA + 2, b"X\0" + b"v" * 65535 + b"\0"),
                         (0x7FFFFFFF, b"X\0v\0"),
                         (0xFFFFFFFF, b"X\0v\0")):
        s = t.session()
        start(s)
        envelope(s)
        try:
            s.conn.send_raw(struct.pack("!I", length) + HEADER + data)
        except OSError:
            pass		# inspect may hang up before all is sent
        s.dropped()
        sessions.append(s)
    return sessions


@case("not-a-milter")
def not_a_milter(t):
    """An HTTP request: far too long a packet, dropped at once."""
    c = t.conn()
    c.send_raw(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    if not c.eof():
        raise mta.ProtocolError("connection kept open")
    c.close()
    return [Absent(c)]


@case("helo-before-negotiate")
def helo_first(t):
    """A HELO with no negotiation before it: libmilter takes it as if
    after one, and inspect reports a session without negotiate."""
    s = t.bare()
    s.helo(b"early.example")
    s.vanish()
    return [s]


@case("negotiate-old-version")
def negotiate_old(t):
    """Protocol version 1 is refused by libmilter before inspect hears
    of it: the connection is closed."""
    s = t.bare()
    s.conn.send(OPTNEG, struct.pack("!III", 1, 0x1FF, 0x1FFFFF))
    s.conn.eof(5)
    s.conn.close()
    return [Absent(s.conn)]


@case("negotiate-zero-flags")
def negotiate_zero(t):
    """An old MTA that offers no flags at all (version 2)."""
    s = t.bare()
    s.negotiate(version=2, actions=0, steps=0, check_answer=False)
    start(s)
    _rest(s)
    s.quit()
    return [s]


@case("negotiate-answer-is-what-the-mta-got")
def negotiate_answer(t):
    """An MTA without the no-reply steps (Sendmail before 8.14): the
    report's "answered" is what the MTA was told, and "asked" what
    inspect asked for: that plus the no-reply steps libmilter fakes for
    it (inspect.8)."""
    s = t.bare()
    s.negotiate(steps=NO_NR)
    start(s)
    s.quit()
    return [s]


# --- the MTA going away ---------------------------------------------------

def vanish_after(stage):
    @case("vanish-after-" + stage, text=stage in ("header", "body"))
    def run(t):
        s = t.session()
        steps = ["negotiate", "connect", "helo", "envfrom", "envrcpt",
                 "data", "header", "eoh", "body", "eom"]
        do = {
            "connect": lambda: (s.macro(CONNECT, [b"j", b"mx.example"]),
                                s.connect(b"gone.example")),
            "helo": lambda: s.helo(b"gone.example"),
            "envfrom": lambda: s.mail(b"<a@example.org>"),
            "envrcpt": lambda: s.rcpt(b"<b@example.net>"),
            "data": s.data,
            "header": lambda: s.header(b"Subject", b" going"),
            "eoh": s.eoh,
            "body": lambda: s.body(b"half a bo"),
            "eom": s.eom,
        }
        for step in steps[1:steps.index(stage) + 1]:
            do[step]()
        # Gone once inspect has taken all of it: see the next case.
        t.sync(s)
        s.vanish()
        return [s]
    return run


for _stage in ("negotiate", "connect", "helo", "envfrom", "envrcpt", "data",
               "header", "eoh", "body", "eom"):
    vanish_after(_stage)


@case("vanish-right-after-pipelined-commands")
def vanish_pipelined(t):
    """An MTA hangs up right after its last commands (its client went
    away): what it sent before hanging up must still be reported.  With
    no-reply steps the MTA would not wait for those commands to be taken,
    and libmilter gives up on a hung-up unix socket before reading what
    is left (a limit inspect.8 documents under --no-reply), so this MTA
    is one without them."""
    s = t.bare()
    s.negotiate(steps=NO_NR)
    start(s)
    envelope(s)
    s.data()
    s.header(b"Subject", b" sent just before the end")
    s.vanish()
    return [s]


@case("vanish-before-negotiate")
def vanish_bare(t):
    c = t.conn()
    c.close()
    return [Absent(c)]


@case("vanish-mid-packet")
def vanish_mid(t):
    s = t.session()
    start(s)
    envelope(s)
    t.sync(s)
    s.conn.send_raw(mta.packet(HEADER, b"X-Half\0value\0")[:9])
    s.vanish()
    return [s]


# --- the driver -------------------------------------------------------------

def normal(t, n):
    """A plain message, to show inspect still serves."""
    s = t.session()
    s.message(b"normal-%d.example" % n)
    s.quit()
    return s


def is_normal(events, tag):
    return any(ev["stage"] == "connect" and ev.get("host") == tag
               for ev in events)


def settle(path, offset, fmt, want, tag):
    """Wait until the report from offset holds every session closed, at
    least want sessions besides the normal one, and the normal one; the
    sessions then, or the problem."""
    deadline = time.monotonic() + SETTLE
    last, problem = -1, "nothing written"
    while time.monotonic() < deadline:
        size = os.path.getsize(path)
        if size == last:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
            try:
                sessions = report.read(data, fmt)
            except report.Malformed as e:
                problem = str(e)
            else:
                closed = all(evs[-1][1]["stage"] == "close"
                             for evs in sessions.values())
                normals = [n for n, evs in sessions.items()
                           if is_normal([e for _, e in evs], tag)]
                if closed and normals and len(sessions) - 1 >= want:
                    return sessions, None
                problem = "sessions %s not all closed, or missing" % \
                    sorted(sessions)
        last = size
        time.sleep(0.1)
    return None, problem


# What inspect's standard error must never say during a case: libmilter
# catching inspect replying where it agreed not to, a sanitizer's or
# valgrind's report.
BAD_STDERR = ("claimed not to reply", "Sanitizer", "runtime error:",
              "Invalid read", "Invalid write", "uninitialised",
              "Conditional jump", "Invalid free", "definitely lost")


def stderr_problems(path, offset):
    """Lines of inspect's standard error since offset that betray a bug."""
    if path is None:
        return []
    with open(path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    return ["stderr: " + line[:200] for line in text.splitlines()
            if any(bad in line for bad in BAD_STDERR)]


def check_case(t, args, name, fn, n):
    """Problems found with one case, as lines."""
    err_offset = os.path.getsize(args.stderr) if args.stderr else 0
    problems = run_case(t, args, name, fn, n)
    # libmilter and valgrind write a moment after the fact.
    time.sleep(0.05)
    return problems + stderr_problems(args.stderr, err_offset)


def run_case(t, args, name, fn, n):
    """Problems found with one case's sessions, as lines."""
    offset = t.offset = os.path.getsize(args.report)
    t.sessions = 0
    try:
        expected = fn(t)
    except Exception as e:
        # Let its sessions end before the next case begins.
        t.end_case()
        normal(t, n)
        settle(args.report, offset, args.format, 0,
               b"normal-%d.example" % n)
        return ["the MTA side failed: %s" % "".join(
            traceback.format_exception_only(type(e), e)).strip()]
    t.end_case()
    tag = b"normal-%d.example" % n
    try:
        good = normal(t, n)
    except Exception as e:
        return ["inspect no longer serves a normal message: %s" % e]
    if not mta.alive(args.pid):
        return ["inspect is gone"]
    want = sum(not isinstance(x, Absent) for x in expected)
    sessions, problem = settle(args.report, offset, args.format, want, tag)
    if sessions is None:
        return [problem]
    problems = []
    others = []
    for number in sorted(sessions):
        events = [e for _, e in sessions[number]]
        times = [tm for tm, _ in sessions[number]]
        if times != sorted(times):
            problems.append("session %d: time goes back" % number)
        if is_normal(events, tag):
            problems += report.compare(events, good.events, "normal")
        else:
            others.append((number, events))
    for x in expected:
        if isinstance(x, Absent) and (not others or others[0][1] !=
                                      x.events):
            continue
        if not others:
            problems.append("no session in the report for %d expected" %
                            len(expected))
            break
        number, events = others.pop(0)
        problems += report.compare(events, x.events,
                                   "session %d" % number)
    for number, events in others:
        problems.append("session %d not expected: %s" %
                        (number, [e["stage"] for e in events]))
    return problems


def main():
    parser = argparse.ArgumentParser()
    if sys.argv[1:] == ["--list"]:
        for name, _, _ in CASES:
            print(name)
        return 0
    parser.add_argument("--spec", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--format", choices=("json", "text"),
                        required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--macros", required=True)
    parser.add_argument("--stderr", help="inspect's standard error")
    parser.add_argument("--text-subset", action="store_true")
    parser.add_argument("--color", action="store_true",
                        help="inspect runs with --color always --summary")
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    report.COLOR = args.color

    known = {name for name, _, _ in CASES}
    for name in args.cases:
        if name not in known:
            print("hostile.py: no case %s" % name, file=sys.stderr)
            return 2
    t = Run(args)
    failed = 0
    for n, (name, fn, text) in enumerate(CASES, 1):
        if args.cases and name not in args.cases:
            continue
        if args.text_subset and not text and not args.cases:
            continue
        started = time.monotonic()
        problems = check_case(t, args, name, fn, n)
        took = time.monotonic() - started
        status = "FAIL" if problems else "ok"
        print("%s %s/%s (%.1f s)" % (status, args.format, name, took))
        for p in problems:
            print("  " + p)
        failed += bool(problems)
        sys.stdout.flush()
        if not mta.alive(args.pid):
            print("  inspect is gone: the cases after %s did not run" %
                  name)
            return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
