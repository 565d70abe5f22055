#!/usr/bin/env python3
"""check-forward.py -- inspect A (--forward) against inspect B behind it.

usage: check-forward.py [--default WORD] [--failure SESSION,STAGE,MAX,REGEX]...
                        A.json B.json|-

A.json is the JSON report of the inspect the MTA talked to (A), B.json
that of the inspect it forwarded to (B: each negotiate event begins
a session, as a restarted B numbers them anew), or - when the milter behind is
not an inspect (a test peer) and only A's report is judged.

Each of A's sessions that reached B (its negotiate event says the
forward was sent, with no error) is paired with B's sessions in order.
For each pair:
  - B was offered what the MTA offered A (actions and steps), and A's
    "forward.asked" is what B answered;
  - B's events are A's events that an MTA would have sent B, in order,
    equal in every field but the time, the run and session number (A
    and B are two inspects, each with its run) and the forward and
    probing fields: the stages B declined (SMFIP_NO*), the
    rejected recipients unless B asked for them, what an accept of B's
    covers (the connection at connect and helo, else the message), the
    body after B's skip are not sent; A's "forward.sent" says the same
    (close excepted: on a unix socket libmilter may take a QUIT for a
    hang-up, and then A sends nothing, and B reports its close anyway);
  - A's "forward.reply" is B's answer: B's "reply" where B probed, else
    continue (null where B asked for no reply, and at abort and close);
    at eom A's "forward.modifications" are B's "modifications".
--failure SESSION,STAGE,MAX,REGEX says that A's session SESSION (from
1) failed at its first STAGE event: there and at every told stage after
it "forward.error" matches REGEX and "forward.reply.action" is WORD (the
--forward-default, tempfail unless --default says), the failing stage
took at most MAX seconds (MAX may be empty), and no stage before it failed.  Its
events before STAGE are compared with B's (if B negotiated).  Every
other session must have no error at all.
Exits 1 with the reasons on a failure.
"""

import argparse
import json
import re
import sys

NO = {"connect": "SMFIP_NOCONNECT", "helo": "SMFIP_NOHELO",
      "envfrom": "SMFIP_NOMAIL", "envrcpt": "SMFIP_NORCPT",
      "data": "SMFIP_NODATA", "header": "SMFIP_NOHDRS",
      "eoh": "SMFIP_NOEOH", "body": "SMFIP_NOBODY",
      "unknown": "SMFIP_NOUNKNOWN"}
NR = {"connect": "SMFIP_NR_CONN", "helo": "SMFIP_NR_HELO",
      "envfrom": "SMFIP_NR_MAIL", "envrcpt": "SMFIP_NR_RCPT",
      "data": "SMFIP_NR_DATA", "header": "SMFIP_NR_HDR",
      "eoh": "SMFIP_NR_EOH", "body": "SMFIP_NR_BODY",
      "unknown": "SMFIP_NR_UNKN"}
UNTOLD = ("abort", "close")
VOLATILE = ("time", "run", "session", "forward", "reply", "modifications")

problems = []


def problem(where, what):
    problems.append("%s: %s" % (where, what))


def sessions(path):
    """{session: [event, ...]} in order, and the session numbers in
    the order they began; a session is its run and its number."""
    out, order, cur = {}, [], {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            try:
                ev = json.loads(line)
            except ValueError as e:
                problem("%s:%d" % (path, n), "not JSON: %s" % e)
                continue
            if "stage" not in ev or ev["stage"] == "summary":
                continue
            key = ev.get("run"), ev["session"]
            if ev["stage"] == "negotiate" or key not in cur:
                cur[key] = len(order)
                out[len(order)] = []
                order.append(len(order))
            out[cur[key]].append(ev)
    return out, order


def strip(ev):
    return {k: v for k, v in ev.items() if k not in VOLATILE}


def answer(ev):
    """B's answer to ev, as A's report should show it."""
    r = ev.get("reply")
    if r is None:
        return {"action": "continue", "code": None, "xcode": None,
                "text": None}
    return {k: r[k] for k in ("action", "code", "xcode", "text")}


def header_index(value):
    """NAME[I]: VALUE, the index given even where it is the default."""
    name, colon, rest = value.partition(":")
    if "[" not in name:
        name += "[1]"
    return name + colon + rest


def modifications(mods):
    """The changes made: those B could not make never reached A."""
    out = []
    for m in mods or []:
        if not m.get("done"):
            continue
        m = dict(m)
        if m["action"] == "change-header":
            m["value"] = header_index(m["value"])
        if m["action"] == "replace-body":
            m["value"] = None	# A gives its size, B its file
        out.append(m)
    return out


def check_negotiate(where, a, b):
    if b is None:
        return set(), set()
    for k in ("actions", "steps"):
        if a["offered"][k] != b["offered"][k]:
            problem(where, "B was offered %s %#x, the MTA offered A %#x"
                    % (k, b["offered"][k], a["offered"][k]))
    if a.get("version") != b.get("version"):
        problem(where, "B was offered version %r, A %r"
                % (b.get("version"), a.get("version")))
    asked = a["forward"].get("asked") or {}
    for k in ("actions", "steps"):
        if asked.get(k) != b["answered"][k]:
            problem(where, "A says B asked for %s %r, B answered %r"
                    % (k, asked.get(k), b["answered"][k]))
    return set(b["answered"]["step_flags"]), set()


def compare(where, a_events, b_events, steps, until=None):
    """Walk A's events as an MTA would send them to B.  until: the index
    in a_events of the failing event (not compared with B's), or None."""
    accepted, skipping = None, False
    bi = 0
    for i, ea in enumerate(a_events):
        if until is not None and i >= until:
            return
        st = ea["stage"]
        here = "%s, %s #%d" % (where, st, i)
        if st == "envfrom" and accepted == "message":
            accepted = None
        if st == "close":
            should = True
        elif accepted == "connection":
            should = False
        elif accepted == "message" and st not in ("connect", "helo",
                                                   "unknown"):
            should = False
        elif st in NO and NO[st] in steps:
            should = False
        elif st == "body" and skipping:
            should = False
        elif ea.get("rejected") and "SMFIP_RCPT_REJ" not in steps:
            should = False
        else:
            should = True
        fw = ea.get("forward") or {}
        if st != "close" and bool(fw.get("sent")) != should:
            problem(here, "forward.sent is %r, an MTA would %ssend it"
                    % (fw.get("sent"), "" if should else "not "))
        if should:
            if bi >= len(b_events):
                problem(here, "B never reported it")
                return
            eb = b_events[bi]
            bi += 1
            if strip(ea) != strip(eb):
                problem(here, "A and B differ:\n    A %s\n    B %s"
                        % (json.dumps(strip(ea), sort_keys=True),
                           json.dumps(strip(eb), sort_keys=True)))
            if st in UNTOLD or NR.get(st) in steps:
                if fw.get("reply") is not None:
                    problem(here, "A shows a reply where none was awaited")
            else:
                want = answer(eb)
                if fw.get("reply") != want:
                    problem(here, "A shows reply %r, B answered %r"
                            % (fw.get("reply"), want))
                if want["action"] == "accept":
                    accepted = ("connection" if st in ("connect", "helo")
                                else "message")
                if want["action"] == "skip" and st == "body":
                    skipping = True
            if st == "eom":
                ma = modifications(fw.get("modifications"))
                mb = modifications(eb.get("modifications"))
                if ma != mb:
                    problem(here, "A made %r, B asked for %r" % (ma, mb))
        if st in ("eom", "abort"):
            skipping = False
            if accepted == "message":
                accepted = None
        if st == "close":
            accepted = None
    if until is None and bi != len(b_events):
        problem(where, "B reported more: %r"
                % [e["stage"] for e in b_events[bi:]])


def check_failure(where, events, stage, regex, most, default):
    """Returns the index of the failing event, or None."""
    at = next((i for i, e in enumerate(events) if e["stage"] == stage),
              None)
    if at is None:
        problem(where, "no %s event to fail at" % stage)
        return None
    for i, e in enumerate(events):
        fw = e.get("forward") or {}
        err = fw.get("error")
        here = "%s, %s #%d" % (where, e["stage"], i)
        if i < at:
            if err is not None:
                problem(here, "failed before %s: %r" % (stage, err))
            continue
        if e["stage"] in UNTOLD:
            continue
        if err is None or not re.search(regex, err):
            problem(here, "forward.error %r does not match %r"
                    % (err, regex))
        action = (fw.get("reply") or {}).get("action")
        if action != default:
            problem(here, "answered %r, --forward-default is %r"
                    % (action, default))
        if i == at and most is not None and fw.get("seconds", 0) > most:
            problem(here, "took %.3f s, at most %.3f s expected"
                    % (fw["seconds"], most))
    return at


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--default", default="tempfail")
    p.add_argument("--failure", action="append", default=[])
    p.add_argument("a")
    p.add_argument("b")
    args = p.parse_args()

    failures = {}
    for spec in args.failure:
        n, stage, most, regex = spec.split(",", 3)
        failures[int(n)] = (stage, regex, float(most) if most else None)

    a, a_order = sessions(args.a)
    b, b_order = (({}, []) if args.b == "-" else sessions(args.b))
    if not a_order:
        problem(args.a, "no sessions")
    for n in failures:
        if n > len(a_order):
            problem(args.a, "no session %d to fail" % n)
    b_next = 0
    for n, sid in enumerate(a_order, 1):
        events = a[sid]
        where = "A session %d" % n
        neg = events[0] if events[0]["stage"] == "negotiate" else None
        if neg is None:
            problem(where, "does not begin with negotiate")
            continue
        fw = neg.get("forward") or {}
        reached = bool(fw.get("sent")) and fw.get("error") is None
        until = None
        if n in failures:
            stage, regex, most = failures[n]
            until = check_failure(where, events, stage, regex, most,
                                  args.default)
        else:
            for i, e in enumerate(events):
                err = (e.get("forward") or {}).get("error")
                if err is not None:
                    problem("%s, %s #%d" % (where, e["stage"], i),
                            "failed: %r" % err)
        if not reached or args.b == "-":
            continue
        if b_next >= len(b_order):
            problem(where, "B has no session for it")
            continue
        bs = b[b_order[b_next]]
        b_next += 1
        bneg = bs[0] if bs and bs[0]["stage"] == "negotiate" else None
        if bneg is None:
            problem(where, "B's session does not begin with negotiate")
            continue
        steps, _ = check_negotiate(where, neg, bneg)
        compare(where, events[1:], bs[1:], steps,
                None if until is None else until - 1)
    if args.b != "-" and b_next != len(b_order):
        problem(args.b, "%d sessions of B's have none of A's"
                % (len(b_order) - b_next))
    for p_ in problems:
        print(p_)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
