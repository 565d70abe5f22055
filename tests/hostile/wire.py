#!/usr/bin/env python3
"""wire.py -- what inspect puts on the wire, read by a raw-protocol MTA.

usage: wire.py changes --spec SPEC --report FILE --reply-line N
       wire.py quit-nc --spec SPEC --report FILE --stderr FILE
       wire.py stop-gate --spec SPEC --report FILE --stderr FILE --pid PID

changes: inspect runs with --change-header 'Subject[2]: changed',
  --insert-header '1 X-Probe: inserted' and --reply 'eom=550 5.7.1 TEXT'
  with TEXT N bytes of x; a message with two Subject headers must get,
  at eom, SMFIR_CHGHEADER for the second one (index 2), SMFIR_INSHEADER
  at index 1, then the reply code with TEXT whole.
quit-nc: inspect asks for no reply where it can (its default); the MTA
  offers every no-reply step, sends a message, SMFIC_QUIT_NC, and a
  second session on the same connection, which libmilter does not
  negotiate again: that one too must get no reply at any stage but eom,
  and inspect must never reply where it agreed not to (libmilter says so
  on its standard error, "claimed not to reply").
stop-gate: inspect runs with --delay helo=60 and a --replace-body too big
  for the socket's buffers.  Two sessions (B, C) sit at eom with inspect
  writing them the new body, which they do not read, B's next MAIL sent
  behind its EOM; a third (A) sits in the HELO delay.  inspect (PID, the
  supervisor) gets SIGTERM: the delay ends and A's HELO is answered, so
  the stop has begun.  A sends MAIL.  B reads: its eom ends and is
  answered, and libmilter takes B's MAIL for a callback that comes after
  the stop, while C's eom, still under way, keeps inspect there.
  Neither MAIL may get a reply; then C reads, and inspect exits; no
  event after the stop may be reported, and nothing may be counted
  lost.

Prints "ok NAME" or "FAIL NAME" and why, one check a line; exits 1 if
any failed.  Every wait is bounded.
"""

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mta  # noqa: E402
from mta import (CONNECT, DATA, EOH, EOM, HEADER, HELO, MAIL,  # noqa: E402
                 NO_NR, QUIT, QUIT_NC, RCPT, BODY)

SETTLE = 10.0		# seconds for events to reach the report
CHGHEADER, INSHEADER, REPLYCODE = b"m", b"i", b"y"
FINAL = (b"c", b"a", b"r", b"t", b"d", b"y", b"s")

failed = 0


def ok(name):
    print("ok " + name)


def fail(name, *why):
    global failed
    failed += 1
    print("FAIL " + name)
    for w in why:
        print("  " + str(w))


def check(name, cond, *why):
    if cond:
        ok(name)
    else:
        fail(name, *why)


def events(path):
    """The report's events as (session, stage), in order; JSON lines."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            ev = json.loads(line)
            out.append((ev["session"], ev["stage"]))
    return out


def wait_for(cond, limit=SETTLE):
    """Poll cond every 50 ms for at most limit seconds; its last value."""
    deadline = time.monotonic() + limit
    while True:
        got = cond()
        if got or time.monotonic() >= deadline:
            return got
        time.sleep(0.05)


def stderr_after(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def negotiate(conn, steps):
    """Negotiate; the steps agreed."""
    conn.send(mta.OPTNEG, struct.pack("!III", 6, mta.ALL_ACTIONS, steps))
    got = conn.reply()
    if got is None or got[0] != mta.OPTNEG:
        raise mta.ProtocolError("negotiate answered %r" % (got,))
    return struct.unpack("!III", got[1][:12])[2]


def start(conn, steps=mta.ALL_STEPS, helo=True):
    """Negotiate, connect (and HELO), with replies; the steps agreed."""
    agreed = negotiate(conn, steps)
    if agreed & (mta.NR[CONNECT] | mta.NR[HELO]):
        raise mta.ProtocolError("no reply agreed at connect: 0x%x" %
                                agreed)
    conn.command(CONNECT, mta.connect_data(b"client.example", b"4", 4321,
                                           b"192.0.2.7"))
    if helo:
        conn.command(HELO, b"client.example\0")
    return agreed


def until_final(conn):
    """The replies to EOM up to its final one: [(cmd, data)...]."""
    got = []
    while True:
        r = conn.reply()
        if r is None:
            raise mta.ProtocolError("closed at eom after %r" % got)
        got.append(r)
        if r[0] in FINAL:
            return got


def case_changes(args):
    conn = mta.Conn(args.spec)
    agreed = start(conn)
    conn.command(MAIL, b"<a@example.org>\0")
    conn.command(RCPT, b"<b@example.net>\0")
    conn.command(DATA)
    conn.command(HEADER, b"Subject\0 first\0")
    conn.command(HEADER, b"To\0 <b@example.net>\0")
    conn.command(HEADER, b"Subject\0 second\0")
    conn.command(EOH)
    conn.command(BODY, b"body\r\n")
    conn.send(EOM)
    replies = until_final(conn)
    conn.send(QUIT)
    conn.eof(5)
    conn.close()

    space = b" " if agreed & mta.HDR_LEADSPC else b""
    changes = [(c, d) for c, d in replies if c in (CHGHEADER, INSHEADER)]
    want_chg = struct.pack("!I", 2) + b"Subject\0" + space + b"changed\0"
    want_ins = struct.pack("!I", 1) + b"X-Probe\0" + space + b"inserted\0"
    check("changes: the second Subject is changed (index 2 on the wire)",
          (CHGHEADER, want_chg) in changes,
          "SMFIR_CHGHEADER packets: %r" % [d for c, d in changes
                                           if c == CHGHEADER])
    check("changes: the header is inserted at index 1",
          (INSHEADER, want_ins) in changes,
          "SMFIR_INSHEADER packets: %r" % [d for c, d in changes
                                           if c == INSHEADER])
    text = b"550 5.7.1 " + b"x" * args.reply_line + b"\0"
    final = replies[-1]
    check("changes: a reply line of %d bytes reaches the MTA whole"
          % args.reply_line, final == (REPLYCODE, text),
          "final reply %r (%d bytes)" % (final[:1] + (final[1][:40],),
                                         len(final[1])))
    # The report says the change was made.
    rep = wait_for(lambda: b'"Subject[2]: changed"' in
                   open(args.report, "rb").read())
    check("changes: the report shows the change", rep)


def no_reply(conn, cmd, data=b""):
    """Send a command that was agreed to get no reply; what came instead,
    or None."""
    conn.send(cmd, data)
    try:
        return conn.reply(0.3)
    except socket.timeout:
        return None


def case_quit_nc(args):
    offset = os.path.getsize(args.stderr)
    conn = mta.Conn(args.spec)
    agreed = negotiate(conn, mta.ALL_STEPS)
    nr = agreed & sum(mta.NR.values())
    check("quit-nc: inspect asked for no reply at every stage it can",
          nr == sum(mta.NR.values()), "steps agreed 0x%x" % agreed)
    got = []
    for cmd, data in ((CONNECT, mta.connect_data(b"first.example", b"4",
                                                 4321, b"192.0.2.7")),
                      (HELO, b"first.example\0"),
                      (MAIL, b"<a@example.org>\0"),
                      (RCPT, b"<b@example.net>\0"), (DATA, b""),
                      (HEADER, b"Subject\0 first\0"), (EOH, b""),
                      (BODY, b"one\r\n")):
        got.append(no_reply(conn, cmd, data))
    conn.command(EOM)
    conn.send(QUIT_NC)
    # The second session, not negotiated again.
    for cmd, data in ((CONNECT, mta.connect_data(b"second.example", b"4",
                                                 4322, b"192.0.2.8")),
                      (HELO, b"second.example\0"),
                      (MAIL, b"<c@example.org>\0"),
                      (RCPT, b"<d@example.net>\0"), (DATA, b""),
                      (HEADER, b"Subject\0 second\0"), (EOH, b""),
                      (BODY, b"two\r\n")):
        got.append(no_reply(conn, cmd, data))
    conn.command(EOM)
    conn.send(QUIT)
    conn.eof(5)
    conn.close()
    check("quit-nc: no reply at any no-reply stage, before QUIT_NC or "
          "after", all(g is None for g in got),
          "replies: %r" % [g for g in got if g is not None])
    closed = wait_for(lambda: events(args.report).count(
        (2, "close")) == 1 and (2, "eom") in events(args.report))
    check("quit-nc: the second session is reported to its close", closed,
          "events: %r" % events(args.report))
    err = stderr_after(args.stderr, offset)
    check("quit-nc: inspect never replied where it agreed not to",
          "claimed not to reply" not in err,
          *[line for line in err.splitlines()
            if "claimed not to reply" in line][:5])


def readable(sock, wait):
    return select.select([sock], [], [], wait)[0] != []


def packets(data, at=0):
    """data, from offset at, as the replies it holds, [(cmd, data)...],
    and the offset of what is left: a reply cut short, or nothing."""
    out = []
    while len(data) - at >= 4:
        (n,) = struct.unpack_from("!I", data, at)
        if len(data) - at < 4 + n:
            break
        out.append((data[at + 4:at + 5], data[at + 5:at + 4 + n]))
        at += 4 + n
    return out, at


def blocked_at_eom(spec, then=b""):
    """A session at eom, inspect writing it a new body it does not read,
    and then (if any) sent behind the EOM; once the body comes, inspect
    is inside the eom callback, and stays there."""
    c = mta.Conn(spec)
    start(c, steps=NO_NR, helo=False)
    c.command(MAIL, b"<b@example.org>\0")
    c.command(RCPT, b"<b@example.net>\0")
    c.send(EOM)
    if then:
        c.send_raw(then)
    if not readable(c.sock, SETTLE):
        raise mta.ProtocolError("eom: no new body within %d s" % SETTLE)
    return c


def read_replies(conn, until, linger):
    """Read conn's replies until until(replies) holds, then linger more
    seconds (or until EOF); the replies and whether EOF came."""
    data = bytearray()
    replies, at = [], 0
    deadline = time.monotonic() + SETTLE
    stop_at = None
    while time.monotonic() < (stop_at or deadline):
        more, at = packets(data, at)
        replies += more
        if stop_at is None and until(replies):
            stop_at = time.monotonic() + linger
        if not readable(conn.sock, 0.1):
            continue
        try:
            chunk = conn.sock.recv(1 << 20)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return replies + packets(data, at)[0], True
        data += chunk
    return replies + packets(data, at)[0], False


def answered(replies):
    """Whether the replies hold a final answer after the new body."""
    return any(c != b"b" for c, d in replies)


def case_stop_gate(args):
    offset = os.path.getsize(args.stderr)
    # B and C sit at eom.  B's next MAIL is already on its way: libmilter
    # reads it as soon as B's eom is done, for a callback after the stop.
    b = blocked_at_eom(args.spec, mta.packet(MAIL, b"<next@example.org>\0"))
    c = blocked_at_eom(args.spec)
    # A: in the HELO delay.
    a = mta.Conn(args.spec)
    start(a, steps=NO_NR, helo=False)
    a.send(HELO, b"a.example\0")
    try:
        early = a.reply(0.5)
    except socket.timeout:
        early = None
    check("stop-gate: A's HELO is held in its delay", early is None,
          "reply %r" % (early,))
    ev = wait_for(lambda: (3, "helo") in events(args.report))
    check("stop-gate: A's HELO is reported before the stop", ev,
          "events: %r" % events(args.report))

    os.kill(args.pid, signal.SIGTERM)
    try:
        got = a.reply(SETTLE)
    except socket.timeout:
        got = None
    check("stop-gate: the stop ends the delay, and HELO is answered",
          got == (mta.CONTINUE, b""), "reply %r" % (got,))
    # The stop has begun, and its gate closed just after the delay ended.
    time.sleep(0.5)
    a.send(MAIL, b"<a@example.org>\0")
    try:
        late = a.reply(1.0)
    except socket.timeout:
        late = None
    check("stop-gate: A's MAIL after the stop gets no reply", late is None,
          "reply %r" % (late,))

    # B reads: its eom ends and is answered, and libmilter takes B's MAIL
    # for a callback; C's eom, still under way, keeps inspect there.
    replies, eof = read_replies(b, answered, 2.0)
    body = sum(len(d) for cmd, d in replies if cmd == b"b")
    after = [cmd for cmd, d in replies if cmd != b"b"]
    check("stop-gate: B's eom, begun before the stop, gets its new body "
          "and its answer", body > 0 and after[:1] == [mta.CONTINUE],
          "%d bytes of body; then %r%s" % (body, after[:5],
                                           ", EOF" if eof else ""))
    # Else B's MAIL met no inspect at all, and proved nothing.
    check("stop-gate: inspect is still there (C's eom under way)",
          mta.alive(args.pid) and not eof)
    check("stop-gate: B's MAIL, taken after the stop, gets no reply",
          after[1:] == [], "then %r" % after[1:5])

    # C reads: its eom ends, and inspect, stopped, is gone.
    replies, eof = read_replies(c, lambda r: False, 0)
    after = [cmd for cmd, d in replies if cmd != b"b"]
    check("stop-gate: C's eom gets its new body and its answer, then "
          "inspect is gone",
          eof and any(cmd == b"b" for cmd, d in replies) and
          after == [mta.CONTINUE],
          "%d replies, then %r%s" % (len(replies), after[:5],
                                     ", EOF" if eof else ""))
    for conn in (a, b, c):
        conn.eof(SETTLE)
        conn.close()

    gone = wait_for(lambda: not mta.alive(args.pid), 20)
    check("stop-gate: inspect exits", gone)
    want = [(1, "negotiate"), (1, "connect"), (1, "envfrom"),
            (1, "envrcpt"), (1, "eom"), (2, "negotiate"), (2, "connect"),
            (2, "envfrom"), (2, "envrcpt"), (2, "eom"), (3, "negotiate"),
            (3, "connect"), (3, "helo")]
    got = events(args.report)
    check("stop-gate: no event after the stop is reported",
          sorted(got) == sorted(want), "events: %r" % got)
    err = stderr_after(args.stderr, offset)
    check("stop-gate: nothing counted lost",
          "could not be written" not in err and "not written" not in err,
          *err.splitlines()[-5:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("case", choices=("changes", "quit-nc", "stop-gate"))
    parser.add_argument("--spec", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--stderr")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--reply-line", type=int, default=980)
    args = parser.parse_args()
    try:
        {"changes": case_changes, "quit-nc": case_quit_nc,
         "stop-gate": case_stop_gate}[args.case](args)
    except (mta.ProtocolError, OSError, ValueError) as e:
        fail("%s: the MTA side ran to its end" % args.case,
             "%s: %s" % (type(e).__name__, e))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
