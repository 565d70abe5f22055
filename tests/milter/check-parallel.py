#!/usr/bin/env python3
"""check-parallel.py -- check the text report of t-parallel.lua.

usage: check-parallel.py --clients N REPORT

The report begins with the run's start line, "[0] start TIME run ID
inspect VERSION", and has no other line of session 0.  Every line carries
a session number.  An event block is its "[S] stage
TIME ..." line and the lines after it up to the next such line; all of them
must carry the same S, or events of concurrent sessions were interleaved.
There must be N sessions, 1 to N, one for each client of t-parallel.lua
(each names itself client-K.example in HELO), each with every stage the
script sends in order, with nothing in it that names another client, each stage with exactly
the macros the script sent with it, and
with the body lines exactly as sent.

Prints what is wrong, one line each, and exits 1 if anything is.
"""

import argparse
import re
import sys

HEADER = re.compile(r"\A\[(\d+)\] ([a-z]+) "
                    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"
                    r"(?: (.*))?\n\Z")
DETAIL = re.compile(r"\A\[(\d+)\]  (.*)\n\Z")
START = re.compile(r"\A\[0\] start \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z "
                   r"run \d{8}T\d{6}Z-p\d+ inspect \S+\n\Z")
CLIENT = re.compile(r"client-(\d+)")

# What t-parallel.lua sends, stage by stage.
STAGES = (["negotiate", "connect", "helo", "envfrom", "envrcpt", "envrcpt",
           "data"] + ["header"] * 5 + ["eoh", "body", "eom", "close"])
BODY_LINES = 40


def own_macros(stage, client, rcpt):
    """The macro lines t-parallel.lua sends with stage, and only those."""
    c = f"client-{client}"
    return {
        "connect": ['macro j: "mx.example"', f'macro _: "{c}.example"'],
        "helo": [f'macro {{tls_version}}: "{c}"'],
        "envfrom": [f'macro {{mail_addr}}: "{c}@example.org"'],
        "envrcpt": [f'macro {{rcpt_addr}}: "{c}-rcpt{rcpt}@example.net"'],
        "data": [f'macro i: "{c}"'],
        "eoh": [f'macro {{bodytype}}: "{c}"'],
        "eom": [f'macro {{msg_id}}: "{c}"'],
    }.get(stage, [])


def read_sessions(lines):
    """The events of each session, and problems with the blocks."""
    problems = []
    sessions = {}		# number: [(stage, time, [detail, ...]), ...]
    block = None
    if not lines or not START.match(lines[0]):
        problems.append(f"line 1: {lines[:1]}, not the run's start")
    for n, line in enumerate(lines[1:], 2):
        m = HEADER.match(line)
        if m:
            # What the first line says after the time is the first detail.
            block = (m[2], m[3], [m[4]] if m[4] else [])
            sessions.setdefault(int(m[1]), []).append(block)
            current = int(m[1])
            continue
        m = DETAIL.match(line)
        if not m:
            problems.append(f"line {n}: {line!r}")
        elif block is None:
            problems.append(f"line {n}: before any event")
        elif int(m[1]) != current:
            problems.append(f"line {n}: session {m[1]} inside an event "
                            f"of session {current}")
        else:
            block[2].append(m[2])
    return sessions, problems


def check_session(number, events):
    """The client of a session, and problems with its events."""
    where = f"session {number}"
    stages = [stage for stage, _, _ in events]
    if stages != STAGES:
        return None, [f"{where}: stages {stages}"]
    problems = []
    helo = events[STAGES.index("helo")][2][0]
    m = re.fullmatch(r'"client-(\d+)\.example"', helo)
    if not m:
        return None, [f"{where}: helo {helo!r}"]
    client = m[1]
    times = [time for _, time, _ in events]
    if times != sorted(times):
        problems.append(f"{where}: times go back")
    rcpt = 0
    for stage, _, details in events[1:]:
        others = {k for d in details for k in CLIENT.findall(d)} - {client}
        if others:
            problems.append(f"{where} (client {client}): {stage} names "
                            f"client {', '.join(sorted(others))}")
        rcpt += stage == "envrcpt"
        macros = [d for d in details if d.startswith("macro ")]
        if macros != own_macros(stage, client, rcpt):
            problems.append(f"{where} (client {client}): {stage} shows "
                            f"{macros}, expected "
                            f"{own_macros(stage, client, rcpt)}")
    sent = [f"client-{client} body line {n}" for n in range(1, BODY_LINES + 1)]
    want = [f"{sum(len(line) + 2 for line in sent)} bytes"] + \
        [f'chunk: "{line}\\r\\n"' for line in sent]
    got = [d for d in events[STAGES.index("body")][2]
           if not d.startswith("macro ")]
    if got != want:
        at = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w),
                  min(len(got), len(want)))
        problems.append(f"{where} (client {client}): body line {at + 1} is "
                        f"{got[at:at + 1]}, expected {want[at:at + 1]}")
    return client, problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("report")
    args = parser.parse_args()

    with open(args.report, encoding="utf-8", errors="surrogateescape") as f:
        sessions, problems = read_sessions(f.readlines())
    if sorted(sessions) != list(range(1, args.clients + 1)):
        problems.append(f"sessions {sorted(sessions)}, expected 1 to "
                        f"{args.clients}")
    clients = []
    for number, events in sorted(sessions.items()):
        client, found = check_session(number, events)
        problems += found
        clients.append(client)
    expected = [str(k) for k in range(1, args.clients + 1)]
    if sorted(clients, key=str) != sorted(expected):
        problems.append(f"clients {clients}, expected each of 1 to "
                        f"{args.clients} once")
    for p in problems:
        print(f"check-parallel.py: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
