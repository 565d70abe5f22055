#!/usr/bin/env python3
"""load.py -- many MTA sessions at once against a running inspect.

usage: load.py crowd --spec SPEC --report FILE --format F --pid PID
                     --macros LIST [--sessions N] [--vanish EVERY]
                     [--check-memory]
       load.py stop --spec SPEC --report FILE --format F --pid PID
                    --macros LIST [--clients N] [--after SECONDS]
       load.py serial --spec SPEC --count N [--max-reply SECONDS]

crowd: N sessions (default 1000) connect first, all at once, then each
sends a whole message; every EVERY-th instead hangs up in the middle.
Every session must end as it should, and the report must hold each
session's events, complete, unmixed and exact.  Prints inspect's memory
(VmRSS) idle, at its peak and after; with --check-memory, more than
twice idle and 8 MB after is a failure.

stop: N clients (default 50) send message after message; after SECONDS
(default 1) inspect gets SIGTERM.  Once it has exited, every session
that ended before the signal must have all its events in the report,
and every session whose EOM was answered all its events up to eom.

serial: N whole messages one after the other, each reply within
SECONDS (default 1): what an MTA sees while the report cannot be
written.

Prints "ok NAME" or "FAIL NAME" with reasons; exits 1 on a failure.
"""

import argparse
import asyncio
import os
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mta  # noqa: E402
import report  # noqa: E402

WAIT = 60.0		# seconds for the whole crowd, or one reply in it
STAGES = ["connect", "helo", "envfrom", "envrcpt", "data", "header",
          "eoh", "body"]


class Recorder:
    """Stands in for mta.Conn: keeps the packets a Session would send,
    and whether each waits for a reply, so that they can be sent later
    by an asyncio client."""

    def __init__(self):
        self.packets = []

    def send(self, cmd, data=b""):
        self.packets.append((mta.packet(cmd, data), False))

    def command(self, cmd, data=b""):
        self.packets.append((mta.packet(cmd, data), True))

    def eof(self, timeout=None):
        return True

    def close(self):
        pass


def plan(listed, tag, answer, steps, vanish_at=None):
    """The packets of a session named tag after negotiation, and its
    expected events; vanish_at is the stage after which it hangs up."""
    rec = Recorder()
    s = mta.Session(rec, listed)
    s.answer = answer
    s.noreply = answer[2] & sum(mta.NR.values())
    # What inspect says it asked for is checked elsewhere
    # (hostile.py's negotiate-answer-is-what-the-mta-got).
    s.event("negotiate", version=6,
            offered=(mta.ALL_ACTIONS, steps | mta.FAKE_NR),
            answered=answer[1:], asked=mta.ANY)
    body = b"".join(b"%s line %d\r\n" % (tag, i) for i in range(30))
    if vanish_at is None:
        s.message(tag, body)
        s.quit()
        return rec.packets, s.events, True
    s.macro(mta.CONNECT, [b"j", b"mx.example", b"_", tag])
    steps = {
        "connect": lambda: s.connect(tag),
        "helo": lambda: s.helo(tag),
        "envfrom": lambda: s.mail(b"<a@" + tag + b">"),
        "envrcpt": lambda: s.rcpt(b"<b@example.net>"),
        "data": s.data,
        "header": lambda: s.header(b"Subject", b" " + tag),
        "eoh": s.eoh,
        "body": lambda: s.body(body),
    }
    for stage in STAGES[:STAGES.index(vanish_at) + 1]:
        steps[stage]()
    s.vanish()
    return rec.packets, s.events, False


async def read_reply(reader):
    head = await reader.readexactly(4)
    (length,) = struct.unpack("!I", head)
    body = await reader.readexactly(length)
    return body[:1], body[1:]


async def open_conn(spec):
    kind, _, where = spec.partition(":")
    if kind in ("unix", "local"):
        return await asyncio.open_unix_connection(where)
    port, _, host = where.partition("@")
    return await asyncio.open_connection(host.strip("[]") or "127.0.0.1",
                                         int(port))


async def negotiate(reader, writer, steps=mta.ALL_STEPS):
    writer.write(mta.packet(mta.OPTNEG, struct.pack(
        "!III", 6, mta.ALL_ACTIONS, steps)))
    cmd, data = await read_reply(reader)
    if cmd != mta.OPTNEG:
        raise mta.ProtocolError("negotiate answered with %r" % cmd)
    return struct.unpack("!III", data[:12])


async def replay(reader, writer, packets, complete, replies=None):
    """Send the packets, reading each reply that is due (its time goes
    to replies); a complete session ends with its QUIT, after which
    inspect must hang up."""
    for data, wait in packets:
        writer.write(data)
        if wait:
            await writer.drain()
            cmd, _ = await read_reply(reader)
            if cmd != mta.CONTINUE:
                raise mta.ProtocolError("answered with %r" % cmd)
            if replies is not None:
                replies.append(time.monotonic())
    await writer.drain()
    if complete:
        if await reader.read(1) != b"":
            raise mta.ProtocolError("data after QUIT")
    writer.close()


def server(pid):
    """The process that serves for inspect pid: its worker, where
    libmilter runs (the supervisor only waits), or pid itself."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
    except OSError:
        kids = []
    return int(kids[0]) if kids else pid


def memory(pid):
    """VmRSS, VmHWM (kB) and the thread count of pid."""
    found = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                found[key] = int(value.split()[0])
    return found


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def fd_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return -1


def read_report(path, fmt, offset=0):
    with open(path, "rb") as f:
        data = f.read()
    # What came before offset holds the negotiations written in full
    # that later ones say they are "as in".
    if offset > 0:
        report.read(data[:offset], fmt)
    return report.read(data[offset:], fmt)


def by_host(sessions):
    """The report's sessions by the host of their connect event."""
    found = {}
    for number, events in sessions.items():
        for _, ev in events:
            if ev["stage"] == "connect":
                found.setdefault(ev["host"], []).append(number)
    return found


def wait_closed(path, fmt, offset, hosts, limit):
    """Wait until every host has a closed session; the sessions then."""
    deadline = time.monotonic() + limit
    problem = "nothing"
    while time.monotonic() < deadline:
        try:
            sessions = read_report(path, fmt, offset)
        except report.Malformed as e:
            problem = str(e)
        else:
            found = by_host(sessions)
            missing = [h for h in hosts if h not in found or
                       sessions[found[h][0]][-1][1]["stage"] != "close"]
            if not missing:
                return sessions, None
            problem = "%d sessions not closed, e.g. %s" % \
                (len(missing), missing[0])
        time.sleep(0.2)
    return None, problem


def check_sessions(sessions, expected, prefix=False):
    """Problems between the report's sessions and the expected events,
    by host; with prefix, the report may hold more events after them."""
    problems = []
    found = by_host(sessions)
    for host, events in expected.items():
        numbers = found.get(host, [])
        if len(numbers) != 1:
            problems.append("%s: %d sessions" % (host.decode(),
                                                  len(numbers)))
            continue
        got = [ev for _, ev in sessions[numbers[0]]]
        if prefix:
            got = got[:len(events)]
        problems += report.compare(got, events, host.decode())
        if len(problems) > 10:
            break
    return problems


async def crowd(args):
    listed = [n.encode() for n in args.macros.replace(",", " ").split()]
    offset = os.path.getsize(args.report)
    idle = memory(server(args.pid))
    limit = fd_limit(server(args.pid))
    started = time.monotonic()
    conns = await asyncio.wait_for(asyncio.gather(
        *[open_conn(args.spec) for _ in range(args.sessions)]), WAIT)
    opened = time.monotonic()
    # Those that hang up early get a reply to each command before they
    # do: hanging up on commands not yet read is another case
    # (hostile.py's vanish-right-after-pipelined-commands).
    vanishing = [bool(args.vanish) and n % args.vanish == args.vanish - 1
                 for n in range(args.sessions)]
    answers = await asyncio.wait_for(asyncio.gather(
        *[negotiate(r, w, mta.NO_NR if v else mta.ALL_STEPS)
          for (r, w), v in zip(conns, vanishing)]), WAIT)
    fds = open_fds(server(args.pid))
    expected = {}
    jobs = []
    for n, ((reader, writer), answer) in enumerate(zip(conns, answers)):
        vanish_at = None
        if vanishing[n]:
            vanish_at = STAGES[n // args.vanish % len(STAGES)]
        tag = b"crowd-%d.example" % n
        packets, events, complete = plan(
            listed, tag, answer, mta.NO_NR if vanishing[n] else
            mta.ALL_STEPS, vanish_at)
        expected[tag] = events
        jobs.append(replay(reader, writer, packets, complete))
    results = await asyncio.wait_for(
        asyncio.gather(*jobs, return_exceptions=True), WAIT)
    done = time.monotonic()
    peak = memory(server(args.pid))
    problems = ["session %d: %r" % (n, r) for n, r in enumerate(results)
                if isinstance(r, Exception)][:10]
    sessions, problem = wait_closed(args.report, args.format, offset,
                                    list(expected), WAIT)
    if problem:
        problems.append(problem)
    else:
        problems += check_sessions(sessions, expected)
    # Let freed memory go back, then take the lowest of a few looks.
    after = None
    for _ in range(10):
        time.sleep(0.5)
        m = memory(server(args.pid))
        if after is None or m["VmRSS"] < after["VmRSS"]:
            after = m
    print("crowd: %d sessions (%d hanging up early): connected in %.2f s, "
          "done in %.2f s" % (args.sessions, args.sessions // args.vanish
                             if args.vanish else 0, opened - started,
                             done - started))
    print("crowd: inspect's descriptors %d at the peak, limit %d" %
          (fds, limit))
    print("memory: idle %d kB, peak %d kB, after %d kB; threads %d idle, "
          "%d at the end, %d after" %
          (idle["VmRSS"], peak["VmHWM"], after["VmRSS"], idle["Threads"],
           peak["Threads"], after["Threads"]))
    if limit < args.sessions + 64:
        problems.append("inspect may open only %d files" % limit)
    # Back near idle: what the sessions took was given back.
    bound = 2 * idle["VmRSS"] + 8192
    if args.check_memory and after["VmRSS"] > bound:
        problems.append("VmRSS %d kB after the crowd, more than 2 x idle "
                        "+ 8 MB = %d kB" % (after["VmRSS"], bound))
    return problems


async def client_loop(args, listed, k, log, stop_at):
    """Messages one after another until inspect stops taking them.  For
    each, log what the MTA saw: its expected events, whether the EOM
    reply came, and when inspect hung up after QUIT (None if it did
    not)."""
    n = 0
    while time.monotonic() < stop_at:
        n += 1
        host = b"stop-%d-%d.example" % (k, n)
        try:
            reader, writer = await open_conn(args.spec)
            answer = await negotiate(reader, writer)
        except (OSError, asyncio.IncompleteReadError, mta.ProtocolError):
            return
        packets, events, _ = plan(listed, host, answer, mta.ALL_STEPS)
        replies = []
        entry = log[host] = {"events": events, "eom": False, "eof": None}
        try:
            await replay(reader, writer, packets, True, replies)
            entry["eof"] = time.monotonic()
        except (OSError, asyncio.IncompleteReadError, mta.ProtocolError):
            return
        finally:
            # EOM is the last command with a reply.
            entry["eom"] = len(replies) == sum(w for _, w in packets)


async def stop(args):
    """SIGTERM while mail flows.  Once inspect has gone, the report must
    hold: for every session the MTA saw end before the signal, all its
    events; for every session whose EOM was answered, all its events up
    to eom (the reply comes after the event is queued).  Whether a close
    after the signal made it cannot be told: inspect exiting hangs up
    just as its QUIT handling does."""
    listed = [n.encode() for n in args.macros.replace(",", " ").split()]
    log = {}
    stop_at = time.monotonic() + args.after + 30
    jobs = [asyncio.ensure_future(client_loop(args, listed, k, log,
                                              stop_at))
            for k in range(args.clients)]
    await asyncio.sleep(args.after)
    signalled = time.monotonic()
    os.kill(args.pid, signal.SIGTERM)
    await asyncio.wait_for(asyncio.gather(*jobs), WAIT)
    # run.sh has the exit status; here, the report once inspect is gone.
    deadline = time.monotonic() + WAIT
    while mta.alive(args.pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    try:
        sessions = read_report(args.report, args.format)
    except report.Malformed as e:
        return ["the report after SIGTERM: %s" % e]
    whole = {h: e["events"] for h, e in log.items()
             if e["eof"] is not None and e["eof"] < signalled}
    # Up to eom: the close, when the session had one, is the last event.
    answered = {h: e["events"][:-1] for h, e in log.items()
                if e["eom"] and h not in whole}
    problems = check_sessions(sessions, whole)
    problems += check_sessions(sessions, answered, prefix=True)
    print("stop: %d sessions ended before SIGTERM, %d more had their EOM "
          "answered, %d sessions in the report" %
          (len(whole), len(answered), len(sessions)))
    if not whole:
        problems.append("no session ended before SIGTERM")
    return problems


async def serial(args):
    problems = []
    slowest = 0.0
    for n in range(args.count):
        reader, writer = await open_conn(args.spec)
        t0 = time.monotonic()
        answer = await asyncio.wait_for(negotiate(reader, writer),
                                        args.max_reply * 5)
        times = [t0, time.monotonic()]
        packets, _, _ = plan([], b"serial-%d.example" % n, answer,
                             mta.ALL_STEPS)
        await asyncio.wait_for(replay(reader, writer, packets, True, times),
                               WAIT)
        gaps = [b - a for a, b in zip(times, times[1:])]
        slowest = max([slowest] + gaps)
    print("serial: %d messages, slowest reply %.3f s" % (args.count,
                                                         slowest))
    if slowest > args.max_reply:
        problems.append("a reply took %.3f s" % slowest)
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("crowd", "stop", "serial"))
    parser.add_argument("--spec", required=True)
    parser.add_argument("--report")
    parser.add_argument("--format", choices=("json", "text"))
    parser.add_argument("--pid", type=int)
    parser.add_argument("--macros", default="j")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--vanish", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--after", type=float, default=1.0)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--max-reply", type=float, default=1.0)
    parser.add_argument("--check-memory", action="store_true")
    args = parser.parse_args()
    name = {"crowd": "crowd-%d-sessions" % args.sessions,
            "stop": "sigterm-under-load",
            "serial": "serial-messages"}[args.mode]
    try:
        problems = asyncio.run({"crowd": crowd, "stop": stop,
                                "serial": serial}[args.mode](args))
    except Exception as e:
        problems = ["%s: %s" % (type(e).__name__, e)]
    print("%s %s" % ("FAIL" if problems else "ok", name))
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
