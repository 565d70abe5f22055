#!/usr/bin/env python3
"""check-replay.py -- a recorded session and its replay, event by event.

usage: check-replay.py RECORDED REPLAYED DIR

RECORDED is inspect's JSON report of the sessions it recorded into DIR
with --record; REPLAYED is the JSON report of a fresh inspect that the
scripts of DIR were replayed to, one after the other in the order of
their session numbers.  Every recorded session must have its script,
and each replayed session must equal its recorded one event by event
but for the times, the runs and session numbers (two inspects) and the
client's port (miltertest always sends 12345).  A session whose script has steps "not replayed:"
is listed and not compared.  Prints one line a session that differs,
with the first event that does, and a closing count; exits 1 if any
differs.
"""

import json
import os
import re
import sys


def sessions(path):
    """Events by session number, in report order, made comparable."""
    by = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            ev = json.loads(line)
            n = ev.pop("session")
            ev.pop("run", None)
            ev.pop("time", None)
            if ev.get("stage") == "summary":
                continue
            if "address" in ev and ev["stage"] == "connect":
                ev["address"] = re.sub(r"^(inet6?):\d+@", r"\1:PORT@",
                                       ev["address"])
                ev.pop("port", None)
            by.setdefault(n, []).append(ev)
    return by


def main():
    recorded, replayed = sessions(sys.argv[1]), sessions(sys.argv[2])
    scripts = {}
    for name in os.listdir(sys.argv[3]):
        m = re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-p\d+-s(\d+)\.lua", name)
        if m is None:
            print("FAIL unexpected file %r in the directory" % name)
            return 1
        scripts[int(m.group(1))] = os.path.join(sys.argv[3], name)
    bad = equal = partial = 0
    if sorted(scripts) != sorted(recorded):
        print("FAIL sessions %s recorded, scripts for %s" %
              (sorted(recorded), sorted(scripts)))
        bad += 1
    pairs = zip(sorted(scripts), sorted(replayed))
    for n, m in pairs:
        with open(scripts[n], "rb") as f:
            if b"-- not replayed:" in f.read():
                partial += 1
                continue
        a, b = recorded.get(n, []), replayed[m]
        if a == b:
            equal += 1
            continue
        bad += 1
        for i, (x, y) in enumerate(zip(a + [None] * len(b),
                                       b + [None] * len(a))):
            if x != y:
                print("FAIL session %d, replayed as %d, event %d:\n"
                      "  recorded %s\n  replayed %s" %
                      (n, m, i, json.dumps(x), json.dumps(y)))
                break
    if len(replayed) != len(scripts):
        print("FAIL %d scripts replayed as %d sessions" %
              (len(scripts), len(replayed)))
        bad += 1
    print("%d sessions replayed equal, %d with steps not replayed, "
          "%d differ" % (equal, partial, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
