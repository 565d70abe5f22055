#!/usr/bin/env python3
"""check-json.py -- check a report that inspect wrote with --format json.

usage: check-json.py [--body FILE] REPORT

Every line must be one JSON object with the keys every event has
(session, run, stage, time, macros; session and run first) and exactly
the keys of its stage, each of the right type.  The report must be valid UTF-8; a byte that is not UTF-8
comes as a lone surrogate \\udcXX, so s.encode("utf-8", "surrogateescape")
gives the MTA's bytes back.  A session is its run and its number: each
begins with negotiate, ends with close, and its times do not go back; a
run's sessions are numbered from 1.  The flag names agree with the flag
bits, inspect answers only what was offered, "asked" (where libmilter
told the MTA otherwise) has the steps answered and more, and an envrcpt
is rejected exactly when RCPT_REJ was answered and {rcpt_mailer} is
"error", its rejection then the {rcpt_host} and {rcpt_addr} sent with
it.  With
--body, the body chunks of the report, joined, are the bytes of FILE.

Prints what is wrong, one line each, and exits 1 if anything is.
"""

import argparse
import json
import re
import sys

STAMP = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
RUN = re.compile(r"\A\d{8}T\d{6}Z-p[1-9]\d*\Z")

# The keys of each stage besides session, run, stage, time and macros.
STAGE_KEYS = {
    "negotiate": {"version": int, "offered": dict, "answered": dict},
    "connect": {"host": str, "address": str, "family": str},
    "helo": {"name": str},
    "envfrom": {"address": (str, type(None)), "args": list},
    "envrcpt": {"address": (str, type(None)), "args": list,
                "rejected": bool,
                "rejection": (dict, type(None))},
    "data": {},
    "header": {"name": str, "value": str},
    "eoh": {},
    "body": {"length": int, "chunk": str},
    "eom": {},
    "abort": {},
    "close": {},
    "unknown": {"command": str},
}

# The connect address's parts besides its family, by family.
ADDRESS_KEYS = {"inet": {"ip": str, "port": int},
                "inet6": {"ip": str, "port": int},
                "unix": {"path": str}, "unknown": {}}

# mfapi.h
ACTIONS = {
    "SMFIF_ADDHDRS": 0x1, "SMFIF_CHGBODY": 0x2, "SMFIF_ADDRCPT": 0x4,
    "SMFIF_DELRCPT": 0x8, "SMFIF_CHGHDRS": 0x10, "SMFIF_QUARANTINE": 0x20,
    "SMFIF_CHGFROM": 0x40, "SMFIF_ADDRCPT_PAR": 0x80,
    "SMFIF_SETSYMLIST": 0x100,
}
STEPS = {
    "SMFIP_NOCONNECT": 0x1, "SMFIP_NOHELO": 0x2, "SMFIP_NOMAIL": 0x4,
    "SMFIP_NORCPT": 0x8, "SMFIP_NOBODY": 0x10, "SMFIP_NOHDRS": 0x20,
    "SMFIP_NOEOH": 0x40, "SMFIP_NR_HDR": 0x80, "SMFIP_NOUNKNOWN": 0x100,
    "SMFIP_NODATA": 0x200, "SMFIP_SKIP": 0x400, "SMFIP_RCPT_REJ": 0x800,
    "SMFIP_NR_CONN": 0x1000, "SMFIP_NR_HELO": 0x2000,
    "SMFIP_NR_MAIL": 0x4000, "SMFIP_NR_RCPT": 0x8000,
    "SMFIP_NR_DATA": 0x10000, "SMFIP_NR_UNKN": 0x20000,
    "SMFIP_NR_EOH": 0x40000, "SMFIP_NR_BODY": 0x80000,
    "SMFIP_HDR_LEADSPC": 0x100000,
}


def raw(s):
    """The MTA's bytes behind a string of the report."""
    return s.encode("utf-8", "surrogateescape")


def address_of(ev):
    """The address a connect's family, ip, port and path make, as
    inspect writes it in "address"."""
    family = ev["family"]
    if family in ("inet", "inet6"):
        return f"{family}:{ev['port']}@[{ev['ip']}]"
    if family == "unix":
        return "unix:" + ev["path"]
    return family


def check_flags(where, flags, names):
    """Problems with one side of a negotiation: {actions, steps, ...}."""
    problems = []
    if set(flags) != {"actions", "action_flags", "steps", "step_flags"}:
        return [f"{where}: keys {sorted(flags)}"]
    for bits, listed, table in ((flags["actions"], flags["action_flags"],
                                 ACTIONS),
                                (flags["steps"], flags["step_flags"],
                                 STEPS)):
        if type(bits) is not int or type(listed) is not list:
            problems.append(f"{where}: {bits!r} {listed!r}")
            continue
        want = [n for n, b in table.items() if bits & b]
        rest = bits & ~sum(table.values())
        if rest:
            want.append(f"0x{rest:x}")
        if listed != want:
            problems.append(f"{where}: {bits:#x} named {listed}, "
                            f"expected {want}")
    names.update(flags.get("step_flags", []))
    return problems


def check_event(where, ev):
    """Problems with the keys and types of one event."""
    if type(ev) is not dict:
        return [f"{where}: not an object"]
    stage = ev.get("stage")
    if stage not in STAGE_KEYS:
        return [f"{where}: unknown stage {stage!r}"]
    problems = []
    keys = {"session": int, "run": str, "stage": str, "time": str,
            "macros": dict}
    keys.update(STAGE_KEYS[stage])
    if stage == "connect":
        keys.update(ADDRESS_KEYS.get(ev.get("family"), {}))
    # Probing: inspect's answer where it was not plain continue, its
    # changes at eom, and the actions asked for that were not offered.
    if "reply" in ev and stage not in ("negotiate", "abort", "close"):
        keys["reply"] = dict
        if stage == "eom":
            keys["modifications"] = list
    if "missing_actions" in ev and stage == "negotiate":
        keys.update(missing_actions=int, missing_action_flags=list)
    # Where libmilter told the MTA other than what inspect asked for.
    if "asked" in ev and stage == "negotiate":
        keys["asked"] = dict
    if "answered_version" in ev and stage == "negotiate":
        keys["answered_version"] = int
    if set(ev) != set(keys):
        problems.append(f"{where}: keys {sorted(ev)}, expected "
                        f"{sorted(keys)}")
    for key, kind in keys.items():
        kinds = kind if type(kind) is tuple else (kind,)
        if key in ev and type(ev[key]) not in kinds:
            problems.append(f"{where}: {key} is {ev[key]!r}, not "
                            f"{' or '.join(k.__name__ for k in kinds)}")
    if problems:
        return problems
    if ev["session"] < 1:
        problems.append(f"{where}: session {ev['session']}")
    if list(ev)[:2] != ["session", "run"]:
        problems.append(f"{where}: begins with {list(ev)[:2]}")
    if not RUN.match(ev["run"]):
        problems.append(f"{where}: run {ev['run']!r}")
    if not STAMP.match(ev["time"]):
        problems.append(f"{where}: time {ev['time']!r}")
    for name, value in ev["macros"].items():
        if type(value) is not str:
            problems.append(f"{where}: macro {name} is {value!r}")
    if stage in ("envfrom", "envrcpt") and (
            not ev["args"] or any(type(a) is not str for a in ev["args"])):
        problems.append(f"{where}: args {ev['args']!r}")
    elif stage in ("envfrom", "envrcpt") and ev["address"] != ev["args"][0]:
        problems.append(f"{where}: address {ev['address']!r} is not the "
                        f"first of args {ev['args']!r}")
    if stage == "connect" and address_of(ev) != ev["address"]:
        problems.append(f"{where}: family {ev['family']!r} and parts "
                        f"{address_of(ev)!r} for address {ev['address']!r}")
    problems += check_answer(where, ev)
    if stage == "body" and ev["length"] != len(raw(ev["chunk"])):
        problems.append(f"{where}: length {ev['length']} for a chunk of "
                        f"{len(raw(ev['chunk']))} bytes")
    return problems


def check_answer(where, ev):
    """Problems with the reply and modifications of a probed stage."""
    problems = []
    reply = ev.get("reply")
    if reply is not None and (
            set(reply) != {"action", "code", "xcode", "text", "delay"} or
            reply["action"] not in ("continue", "accept", "reject",
                                    "tempfail", "discard", "skip") or
            type(reply["delay"]) not in (int, float) or
            any(reply[k] is not None and type(reply[k]) is not str
                for k in ("code", "xcode", "text"))):
        problems.append(f"{where}: reply {reply!r}")
    for m in ev.get("modifications", []):
        if (type(m) is not dict or
                set(m) != {"action", "value", "done", "error"} or
                type(m["done"]) is not bool or
                (m["error"] is None) != m["done"]):
            problems.append(f"{where}: modification {m!r}")
    return problems


def check_rejection(where, ev):
    """Problems with an envrcpt's rejection: null unless rejected, else
    the status and text, each a string or null, that are the {rcpt_host}
    and {rcpt_addr} sent with it, if they were."""
    rejection = ev["rejection"]
    if not ev["rejected"]:
        return [] if rejection is None else \
            [f"{where}: rejection {rejection!r} for an accepted recipient"]
    if rejection is None or set(rejection) != {"status", "text"}:
        return [f"{where}: rejection {rejection!r}"]
    problems = []
    for key, macro in (("status", "{rcpt_host}"), ("text", "{rcpt_addr}")):
        value = rejection[key]
        if value is not None and type(value) is not str:
            problems.append(f"{where}: rejection {key} {value!r}")
        elif macro in ev["macros"] and value != ev["macros"][macro]:
            problems.append(f"{where}: rejection {key} {value!r}, but "
                            f"{macro} {ev['macros'][macro]!r}")
    return problems


def check_report(lines):
    """Problems with a whole report, and the body bytes it holds."""
    problems = []
    sessions = {}		# (run, number): {"stages", "time", "steps"}
    body = b""
    for n, line in enumerate(lines, 1):
        where = f"line {n}"
        try:
            text = line.decode("utf-8")
            ev = json.loads(text)
        except ValueError as e:
            problems.append(f"{where}: {e}")
            continue
        if not text.endswith("\n"):
            problems.append(f"{where}: no newline at its end")
        found = check_event(where, ev)
        if found:
            problems += found
            continue
        where += f" ({ev['stage']})"
        s = sessions.setdefault((ev["run"], ev["session"]),
                                {"stages": [], "time": "", "steps": set()})
        if ev["time"] < s["time"]:
            problems.append(f"{where}: time goes back")
        s["time"] = ev["time"]
        s["stages"].append(ev["stage"])
        if ev["stage"] == "negotiate":
            offered, answered = set(), set()
            problems += check_flags(where + " offered", ev["offered"],
                                    offered)
            problems += check_flags(where + " answered", ev["answered"],
                                    answered)
            if ev["answered"]["actions"] & ~ev["offered"]["actions"] or \
                    not answered <= offered:
                problems.append(f"{where}: answers what was not offered")
            if "asked" in ev:
                asked = set()
                problems += check_flags(where + " asked", ev["asked"],
                                        asked)
                # libmilter withholds steps, and tells the actions.
                if ev["asked"] == ev["answered"] or \
                        ev["asked"]["actions"] != \
                        ev["answered"]["actions"] or \
                        not answered <= asked:
                    problems.append(f"{where}: asked {ev['asked']}, "
                                    f"answered {ev['answered']}")
            if ev.get("answered_version", 0) in (0, ev.get("version")):
                if "answered_version" in ev:
                    problems.append(f"{where}: answered_version "
                                    f"{ev['answered_version']}")
            s["steps"] = answered
        elif ev["stage"] == "envrcpt":
            want = "SMFIP_RCPT_REJ" in s["steps"] and \
                ev["macros"].get("{rcpt_mailer}") == "error"
            if ev["rejected"] != want:
                problems.append(f"{where}: rejected is {ev['rejected']}")
            problems += check_rejection(where, ev)
        elif ev["stage"] == "body":
            body += raw(ev["chunk"])
    for (run, number), s in sorted(sessions.items()):
        stages = s["stages"]
        if stages[0] != "negotiate" or stages[-1] != "close" or \
                stages.count("negotiate") != 1 or stages.count("close") != 1:
            problems.append(f"run {run} session {number}: stages {stages}")
    for run in sorted({run for run, _ in sessions}):
        numbers = sorted(n for r, n in sessions if r == run)
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"run {run}: sessions {numbers}, expected 1 "
                            f"to {len(numbers)}")
    if not lines:
        problems.append("empty report")
    return problems, body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--body", help="the bytes the body chunks make")
    parser.add_argument("report")
    args = parser.parse_args()

    with open(args.report, "rb") as f:
        problems, body = check_report(f.readlines())
    if args.body is not None:
        with open(args.body, "rb") as f:
            sent = f.read()
        if body != sent:
            at = next((i for i, (a, b) in enumerate(zip(body, sent))
                       if a != b), min(len(body), len(sent)))
            problems.append(f"body: {len(body)} bytes for {len(sent)} "
                            f"sent, differing from byte {at}: "
                            f"{body[at:at + 16]!r}, sent "
                            f"{sent[at:at + 16]!r}")
    for p in problems:
        print(f"check-json.py: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
