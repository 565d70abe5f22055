#!/usr/bin/env python3
"""forward.py -- inspect --forward in front of a hostile milter.

usage: forward.py --spec SPEC --downstream PATH --report FILE --stderr FILE
                  --pid PID --command-timeout S --eom-timeout S [MODE...]

inspect (PID) listens on SPEC, writes its JSON report to FILE and its
log to the --stderr FILE, and forwards to the unix socket PATH with
--forward-default reject and the timeouts given.  This script serves
PATH (downstream.py's Downstream) and, for each MODE (all of
downstream.BEHAVIOURS unless named), has the milter misbehave so at one
stage, while it drives inspect as an MTA through a whole message:
  - every stage before that one is answered continue, that one and every
    later one reject, each within its timeout (and a margin);
  - the report names the failure in "forward.error" from that stage on,
    and not before; the log says "the milter at PATH: ...; answering
    reject";
  - then a session with the milter behaving goes through, all continue,
    with no error in the report;
  - inspect is still running, and its standard error shows no sign of a
    sanitizer or valgrind.
Prints "ok forward/MODE" or "FAIL forward/MODE" and why; exits 1 if any
failed.
"""

import argparse
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import downstream  # noqa: E402
import mta  # noqa: E402

MARGIN = 3.0		# seconds more than inspect's own timeout
SETTLE = 10.0		# for a session's close to reach the report
STAGES = [("negotiate", b"O"), ("connect", b"C"), ("helo", b"H"),
          ("envfrom", b"M"), ("envrcpt", b"R"), ("data", b"T"),
          ("header", b"L"), ("eoh", b"N"), ("body", b"B"), ("eom", b"E")]
STAGE_OF = {cmd: name for name, cmd in STAGES}
# Modes in which the milter keeps to the protocol after all.
HARMLESS = {"progress-at-helo"}
SIGNS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
         "Invalid read", "Invalid write", "definitely lost", "==ERROR")

failed = 0


def result(name, problems):
    global failed
    if problems:
        failed += 1
        print("FAIL forward/" + name)
        for p in problems:
            print("  " + p)
    else:
        print("ok forward/" + name)


def data_of(cmd):
    return {b"C": mta.connect_data(b"client.example", b"4", 25,
                                   b"192.0.2.1"),
            b"H": b"client.example\0", b"M": b"<sender@example.org>\0",
            b"R": b"<rcpt@example.net>\0", b"T": b"",
            b"L": b"Subject\0 hostile milter\0", b"N": b"",
            b"B": b"body\r\n", b"E": b""}[cmd]


def answer(conn, wait):
    """The final answer to a command, progress skipped: (cmd, seconds)."""
    start = time.monotonic()
    while True:
        left = wait - (time.monotonic() - start)
        if left <= 0:
            raise socket.timeout("no answer within %.1f s" % wait)
        got = conn.reply(left)
        if got is None:
            return None, time.monotonic() - start
        if got[0] == b"p":
            continue
        if got[0] in b"hbimq+-e2":	# changes at eom: none expected
            continue
        return got[0], time.monotonic() - start


def session(args, fail_at):
    """One session through eom.  Returns problems."""
    problems = []
    conn = mta.Conn(args.spec, timeout=args.wait)
    try:
        conn.send(mta.OPTNEG, struct.pack("!III", 6, mta.ALL_ACTIONS,
                                          mta.ALL_STEPS))
        got = conn.reply(args.wait)
        if got is None or got[0] != mta.OPTNEG:
            return ["negotiate answered %r" % (got,)]
        failing = fail_at == "negotiate"
        for name, cmd in STAGES[1:]:
            failing = failing or name == fail_at
            limit = (args.eom_timeout if name == "eom" else
                     args.command_timeout) + MARGIN
            conn.send(cmd, data_of(cmd))
            try:
                got, took = answer(conn, limit)
            except socket.timeout:
                problems.append("%s: no answer within %.1f s"
                                % (name, limit))
                return problems
            want = b"r" if failing else b"c"
            if got != want:
                problems.append("%s: answered %r, expected %r"
                                % (name, got, want))
                return problems
            if got == b"r":
                break	# an MTA would go no further
        conn.send(mta.QUIT)
        conn.eof(args.wait)
    except (OSError, mta.ProtocolError) as e:
        problems.append("the MTA side: %s: %s" % (type(e).__name__, e))
    finally:
        conn.close()
    return problems


def report_sessions(path):
    out, cur = [], {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("stage") == "negotiate":
                cur[ev["session"]] = len(out)
                out.append([])
            if ev.get("session") in cur:
                out[cur[ev["session"]]].append(ev)
    return out


def wait_closed(path, n):
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        s = report_sessions(path)
        if len(s) >= n and all(e and e[-1]["stage"] == "close" for e in s):
            return s
        time.sleep(0.05)
    return report_sessions(path)


def check_report(events, fail_at):
    problems = []
    failing = False
    for e in events:
        err = (e.get("forward") or {}).get("error")
        failing = failing or e["stage"] == fail_at
        if failing and err is None and e["stage"] not in ("close",):
            problems.append("report: %s has no forward.error" % e["stage"])
        if not failing and err is not None:
            problems.append("report: %s failed early: %r"
                            % (e["stage"], err))
    if fail_at is not None and not failing:
        problems.append("report: no %s event" % fail_at)
    return problems


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spec", required=True)
    p.add_argument("--downstream", required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--stderr", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--command-timeout", type=float, required=True)
    p.add_argument("--eom-timeout", type=float, required=True)
    p.add_argument("modes", nargs="*")
    args = p.parse_args()
    args.wait = max(args.command_timeout, args.eom_timeout) + MARGIN
    ds = downstream.Downstream(args.downstream)
    modes = args.modes or sorted(downstream.BEHAVIOURS)
    n = 0
    for mode in modes:
        if mode not in downstream.BEHAVIOURS:
            result(mode, ["no such mode"])
            continue
        problems = []
        fail_at = (None if mode in HARMLESS else
                   STAGE_OF[downstream.BEHAVIOURS[mode][0]])
        with open(args.stderr, "rb") as f:
            told_before = f.read().count(b"; answering reject")
        ds.set_mode(mode)
        problems += session(args, fail_at)
        ds.set_mode("ok")
        problems += ["then: " + x for x in session(args, None)]
        n += 2
        sessions = wait_closed(args.report, n)
        if len(sessions) < n:
            problems.append("report: %d sessions, %d expected"
                            % (len(sessions), n))
        else:
            problems += check_report(sessions[n - 2], fail_at)
            problems += ["then: " + x
                         for x in check_report(sessions[n - 1], None)]
        with open(args.stderr, "rb") as f:
            err = f.read()
        told = err.count(b"; answering reject") - told_before
        if fail_at is not None and told != 1:
            problems.append("the log told the failure %d times" % told)
        if fail_at is None and told != 0:
            problems.append("the log told a failure")
        for sign in SIGNS:
            if sign.encode() in err:
                problems.append("standard error: %s" % sign)
        if not mta.alive(args.pid):
            problems.append("inspect is gone")
        result(mode, problems)
        if not mta.alive(args.pid):
            break
    ds.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
