#!/usr/bin/env python3
"""check-sessions.py -- every session of a report has the stages given.

usage: check-sessions.py [--at-least N] STAGE... REPORT

REPORT is inspect's text or JSON report.  Each session in it must have
exactly the STAGEs, in that order, and there must be at least N sessions;
the run's start line (text) is no session.
Prints what is wrong, one line each (sessions with the same stages once,
counted), and exits 1 if anything is.
"""

import argparse
import collections
import json
import re
import sys

TEXT = re.compile(r"\A\[(\d+)\] ([a-z]+) \d{4}-")


def sessions(path):
    """{(run, session): [stage, ...]} of a text or JSON report; a text
    report's sessions are of one run."""
    found = collections.defaultdict(list)
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            if line.startswith("{"):
                ev = json.loads(line)
                found[ev["run"], ev["session"]].append(ev["stage"])
            elif (m := TEXT.match(line)) and m[1] != "0":
                found["", int(m[1])].append(m[2])
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--at-least", type=int, default=1)
    parser.add_argument("stages", nargs="+")
    parser.add_argument("report")
    args = parser.parse_args()
    found = sessions(args.report)
    problems = []
    if len(found) < args.at_least:
        problems.append(f"{len(found)} sessions, expected at least "
                        f"{args.at_least}")
    wrong = collections.Counter(" ".join(s) for s in found.values()
                                if s != args.stages)
    for stages, n in wrong.most_common():
        problems.append(f"{n} of {len(found)} sessions: {stages}")
    for p in problems:
        print(f"check-sessions.py: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
