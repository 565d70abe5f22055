"""mta.py -- the MTA side of the milter protocol, for hostile tests.

Conn speaks the wire protocol (mfdef.h) to inspect, and lets a test send
anything at all: packets of any command byte, length or content, half
packets, nothing.  Session drives a Conn the way an MTA does and keeps
what inspect must report for it: every event, with the macros sent with
that event's own command, from the packets as libmilter stores and clears
them (engine.c).  alive() tells the drivers whether the inspect under
test still runs.
"""

import os
import socket
import struct
import time

# Commands (mfdef.h).
ABORT, BODY, CONNECT, MACRO, EOM = b"A", b"B", b"C", b"D", b"E"
HELO, QUIT_NC, HEADER, MAIL, EOH = b"H", b"K", b"L", b"M", b"N"
OPTNEG, QUIT, RCPT, DATA, UNKNOWN = b"O", b"Q", b"R", b"T", b"U"
CONTINUE = b"c"

MAX_DATA = 65535		# MILTER_MAX_DATA_SIZE: data bytes of a packet
ALL_ACTIONS = 0x1FF		# SMFI_CURR_ACTS
ALL_STEPS = 0x1FFFFF		# SMFI_CURR_PROT
FAKE_NR = 0xFF080		# the no-reply steps libmilter fakes itself
# The no-reply steps inspect asks for (--no-reply; run.sh says): all,
# none, or those of the content (--no-reply auto on a unix socket).
INSPECT_NOREPLY = {"yes": FAKE_NR, "no": 0, "content": 0xC0080}[
    os.environ.get("INSPECT_NOREPLY", "yes")]
HDR_LEADSPC, RCPT_REJ = 0x100000, 0x800
INTERNAL = 0x70000000		# SMFI_INTERNAL
# The no-reply step of each command (SMFIP_NR_*): a milter that asked for
# it, from an MTA that offered it, sends no reply to that command.
NR = {CONNECT: 0x1000, HELO: 0x2000, MAIL: 0x4000, RCPT: 0x8000,
      DATA: 0x10000, UNKNOWN: 0x20000, HEADER: 0x80, EOH: 0x40000,
      BODY: 0x80000}
NO_NR = ALL_STEPS & ~sum(NR.values())	# an MTA without no-reply steps

# libmilter's macro slots, and the command whose macros each holds.
SLOTS = {CONNECT: 0, HELO: 1, MAIL: 2, RCPT: 3, DATA: 4, EOH: 5, EOM: 6}
NSLOTS = 7
# The slot of each event's own packet.
EVENT_SLOT = {"connect": 0, "helo": 1, "envfrom": 2, "envrcpt": 3,
              "data": 4, "eoh": 5, "eom": 6}
# A command clears the slots after its own (engine.c, mi_clr_macros).
CLEARS = {OPTNEG: 0, CONNECT: 1, HELO: 2, MAIL: 3, RCPT: 4}

WAIT = 10.0			# seconds for any one reply


def alive(pid):
    """Whether pid runs (a zombie does not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

class _Any:
    """An expected value that matches whatever inspect wrote."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __repr__(self):
        return "ANY"


ANY = _Any()


class ProtocolError(Exception):
    """inspect answered something other than what an MTA expects."""


def packet(cmd, data=b""):
    """One packet: length (command byte included), command, data."""
    return struct.pack("!I", len(data) + 1) + cmd + data


class Conn:
    """One connection to inspect, unix:PATH or inet:PORT@HOST."""

    def __init__(self, spec, timeout=WAIT):
        kind, _, where = spec.partition(":")
        if kind in ("unix", "local"):
            self.sock = socket.socket(socket.AF_UNIX)
            addr = where
        else:
            port, _, host = where.partition("@")
            host = host.strip("[]") or "127.0.0.1"
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.sock = socket.socket(family)
            addr = (host, int(port))
        self.sock.settimeout(timeout)
        self.sock.connect(addr)
        self.timeout = timeout
        self.inbuf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, cmd, data=b""):
        self.sock.sendall(packet(cmd, data))

    def _read(self, n, timeout):
        """n bytes, or None at EOF; socket.timeout if too slow."""
        deadline = time.monotonic() + timeout
        while len(self.inbuf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no reply within %.1f s" % timeout)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return None
            self.inbuf += chunk
        data, self.inbuf = self.inbuf[:n], self.inbuf[n:]
        return data

    def reply(self, timeout=None):
        """The next reply as (command, data), or None at EOF."""
        timeout = self.timeout if timeout is None else timeout
        head = self._read(4, timeout)
        if head is None:
            return None
        (length,) = struct.unpack("!I", head)
        if length < 1 or length > MAX_DATA + 1:
            raise ProtocolError("reply of length %d" % length)
        body = self._read(length, timeout)
        if body is None:
            raise ProtocolError("connection closed inside a reply")
        return body[:1], body[1:]

    def no_reply(self, wait=0.3):
        """True if nothing comes within wait seconds (EOF counts)."""
        try:
            got = self.reply(wait)
        except socket.timeout:
            return True
        if got is None:
            return True
        raise ProtocolError("unexpected reply %r" % (got,))

    def command(self, cmd, data=b""):
        """Send a command and insist on "continue"."""
        self.send(cmd, data)
        got = self.reply()
        if got is None:
            raise ProtocolError("closed after %r" % cmd)
        if got[0] != CONTINUE:
            raise ProtocolError("%r answered with %r" % (cmd, got))

    def eof(self, timeout=None):
        """Wait until inspect closes the connection; True if it did."""
        try:
            while True:
                got = self.reply(self.timeout if timeout is None
                                 else timeout)
                if got is None:
                    return True
        except (socket.timeout, ProtocolError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connect_data(host, family, port=0, addr=b""):
    """The data of a CONNECT: host, family, and for all but 'U' the port
    (network order) and the address."""
    data = host + b"\0" + family
    if family != b"U":
        data += struct.pack("!H", port) + addr + b"\0"
    return data


def address_text(family, port, addr):
    """How inspect shows a connect address (inspect(8))."""
    if family == b"4":
        return b"inet:%d@[%s]" % (port, addr)
    if family == b"6":
        text = addr.decode()
        if text.lower().startswith("ipv6:"):
            text = text[5:]
        # As inet_ntop(3) writes it, which is what inspect uses.
        text = socket.inet_ntop(socket.AF_INET6,
                                socket.inet_pton(socket.AF_INET6, text))
        return b"inet6:%d@[%s]" % (port, text.encode())
    if family == b"L":
        return b"unix:" + addr
    return b"unknown"


def split_strings(data):
    """NUL-terminated strings as libmilter's dec_argv splits them: what
    follows the last NUL is dropped, and no NUL at all is nothing."""
    if b"\0" not in data:
        return None
    return data.split(b"\0")[:-1]


class Session:
    """An MTA session over a Conn, and what inspect must report of it.

    Every method sends one command and, unless told the command is
    ignored, appends the event inspect must write.  listed is inspect's
    macro list, in its order.
    """

    def __init__(self, conn, listed):
        self.conn = conn
        self.listed = listed
        self.slots = [None] * NSLOTS
        self.seen = [None] * NSLOTS	# the packets as of the last look
        self.events = []
        self.answer = None		# inspect's OPTNEG reply
        self.noreply = 0		# the SMFIP_NR_* steps agreed
        self.in_mail = False

    # --- what inspect must show ---------------------------------------

    def is_listed(self, name):
        """Whether --macros names it: exactly, or as x for {x} and
        {x} for x."""
        alias = None
        if len(name) == 1:
            alias = b"{" + name + b"}"
        elif len(name) == 3 and name[:1] == b"{" and name[2:] == b"}":
            alias = name[1:2]
        return name in self.listed or (alias and alias in self.listed)

    def value_of(self, name):
        """A macro's value as the callbacks see it: the newest slot
        first, pairs up to a name without a value."""
        for slot in reversed(self.slots):
            for i in range(0, len(slot or []) - 1, 2):
                if slot[i] == name or (len(name) == 3 and
                                       slot[i] == name[1:2]):
                    return slot[i + 1]
        return None

    def macros_sent(self, stage):
        """What inspect shows at stage: the packet of the stage's own
        command, if a new one came since the last stage that can bring
        one, its listed names in the order sent, up to a name without a
        value.  Every other stage shows none and notes nothing."""
        own = EVENT_SLOT.get(stage)
        if own is None and stage != "negotiate":
            return []
        packet = self.slots[own] if own is not None else None
        new = packet is not None and packet is not self.seen[own]
        self.seen = list(self.slots)
        if not new:
            return []
        return [(packet[i], packet[i + 1])
                for i in range(0, len(packet) - 1, 2)
                if self.is_listed(packet[i])]

    def event(self, stage, **fields):
        ev = {"stage": stage}
        ev.update(fields)
        ev["macros"] = self.macros_sent(stage)
        self.events.append(ev)

    def clear_after(self, cmd):
        first = CLEARS.get(cmd)
        if first is not None:
            for i in range(first, NSLOTS):
                self.slots[i] = None

    # --- commands -------------------------------------------------------

    def command(self, cmd, data=b""):
        """Send a command; wait for "continue" unless no reply was
        agreed for it."""
        if self.noreply & NR.get(cmd, 0):
            self.conn.send(cmd, data)
        else:
            self.conn.command(cmd, data)

    def negotiate(self, version=6, actions=ALL_ACTIONS, steps=ALL_STEPS,
                  check_answer=True):
        """Negotiate; what inspect reports as its answer must be what
        the MTA got, unless check_answer is false."""
        self.clear_after(OPTNEG)
        self.conn.send(OPTNEG, struct.pack("!III", version, actions, steps))
        got = self.conn.reply()
        if got is None or got[0] != OPTNEG or len(got[1]) < 12:
            raise ProtocolError("negotiate answered with %r" % (got,))
        self.answer = struct.unpack("!III", got[1][:12])
        self.noreply = self.answer[2] & sum(NR.values())
        # libmilter reads 0 as version 1's flags, keeps its internal bits
        # to itself, and offers the no-reply steps it can fake.
        mine = (steps or 0x3F) & ~INTERNAL
        offered = mine | FAKE_NR
        # The report's answer is what the MTA got.  Where libmilter
        # dropped no-reply steps inspect asked for (the MTA lacks them;
        # libmilter fakes them by replying itself), "asked" has them,
        # and where libmilter's version is not the MTA's, that too.
        fields = {"answered": ANY, "asked": ANY}
        if check_answer:
            fields["answered"] = self.answer[1:]
            del fields["asked"]
            withheld = INSPECT_NOREPLY & ~mine
            if withheld:
                fields["asked"] = (self.answer[1],
                                   self.answer[2] | withheld)
            if self.answer[0] != version:
                fields["answered_version"] = self.answer[0]
        self.event("negotiate", version=version,
                   offered=(actions or 0xF, offered), **fields)

    def macro(self, stage, pairs, raw=None):
        """A macro packet for stage (a command byte): name, value, ...
        libmilter keeps those of the seven stages it knows."""
        data = raw if raw is not None else b"".join(s + b"\0"
                                                    for s in pairs)
        self.conn.send(MACRO, stage + data)
        parts = split_strings(data)
        if stage in SLOTS and parts:
            self.slots[SLOTS[stage]] = parts

    def connect(self, host, family=b"4", port=25, addr=b"192.0.2.1"):
        self.clear_after(CONNECT)
        self.command(CONNECT, connect_data(host, family, port, addr))
        self.event("connect", host=host,
                   address=address_text(family, port, addr))

    def helo(self, name):
        self.clear_after(HELO)
        self.command(HELO, name + b"\0")
        self.event("helo", name=name)

    def mail(self, *args):
        self.clear_after(MAIL)
        self.command(MAIL, b"".join(a + b"\0" for a in args))
        self.in_mail = True
        self.event("envfrom", args=list(args))

    def rcpt(self, *args):
        self.clear_after(RCPT)
        self.command(RCPT, b"".join(a + b"\0" for a in args))
        # inspect(8): rejected when RCPT_REJ was agreed and {rcpt_mailer}
        # is "error"; the rejection is then the status in {rcpt_host} and
        # the reply in {rcpt_addr}, None for one not sent.
        rejected = bool(self.answer and self.answer[2] & RCPT_REJ and
                        self.value_of(b"{rcpt_mailer}") == b"error")
        rejection = None
        if rejected:
            rejection = (self.value_of(b"{rcpt_host}"),
                         self.value_of(b"{rcpt_addr}"))
        self.event("envrcpt", args=list(args), rejected=rejected,
                   rejection=rejection)

    def data(self):
        self.command(DATA)
        self.event("data")

    def header(self, name, value):
        self.command(HEADER, name + b"\0" + value + b"\0")
        self.event("header", name=name, value=value)

    def eoh(self):
        self.command(EOH)
        self.event("eoh")

    def body(self, chunk):
        self.command(BODY, chunk)
        self.event("body", chunk=chunk)

    def eom(self):
        self.command(EOM)
        self.in_mail = False
        self.event("eom")

    def abort(self):
        """An abort has no reply; libmilter calls abort only inside a
        transaction."""
        self.conn.send(ABORT)
        if self.in_mail:
            self.event("abort")
        self.in_mail = False

    def unknown(self, command):
        self.command(UNKNOWN, command + b"\0")
        self.event("unknown", command=command)

    def quit(self):
        """QUIT: close is reported before inspect hangs up; inside a
        message, an abort first."""
        self.conn.send(QUIT)
        if self.in_mail:
            self.event("abort")
        self.event("close")
        if not self.conn.eof():
            raise ProtocolError("still open after QUIT")
        self.conn.close()

    def vanish(self):
        """The MTA goes away: libmilter calls abort inside a transaction,
        and close."""
        self.conn.close()
        if self.in_mail:
            self.event("abort")
        self.event("close")

    def dropped(self):
        """inspect's side hung up on something malformed: as vanish(),
        and the connection must be closed by inspect."""
        closed = self.conn.eof()
        self.conn.close()
        if self.in_mail:
            self.event("abort")
        self.event("close")
        if not closed:
            raise ProtocolError("connection kept open")

    def message(self, tag, body=None):
        """A whole, ordinary message, as Postfix sends it."""
        self.macro(CONNECT, [b"j", b"mx.example", b"{daemon_name}",
                             b"mx.example", b"_", tag + b" [192.0.2.1]"])
        self.connect(tag)
        self.macro(HELO, [b"{tls_version}", b"TLSv1.3"])
        self.helo(tag)
        self.macro(MAIL, [b"i", b"QID" + tag, b"{mail_addr}", b"a@" + tag])
        self.mail(b"<a@" + tag + b">", b"SIZE=42")
        self.macro(RCPT, [b"{rcpt_addr}", b"b@example.net"])
        self.rcpt(b"<b@example.net>")
        self.macro(DATA, [b"i", b"QID" + tag])
        self.data()
        self.header(b"From", b" <a@" + tag + b">")
        self.header(b"Subject", b" hello from " + tag)
        self.eoh()
        self.body(body if body is not None else
                  b"line one of " + tag + b"\r\nline two\r\n")
        self.eom()
