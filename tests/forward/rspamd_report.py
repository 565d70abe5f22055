#!/usr/bin/env python3
"""Check what inspect's JSON report says rspamd answered through it.

usage: rspamd_report.py REPORT GTUBE_HELO CLEAN_HELO CLEAN_HEADERS

REPORT is the report of inspect --forward rspamd; GTUBE_HELO and
CLEAN_HELO name the sessions of the two messages rspamd.sh sent through
it; CLEAN_HEADERS holds the clean message's headers as Postfix queued
it, one unfolded header a line.  At the end of the GTUBE message the
report must show rspamd's reject, and at the end of the clean one its
acceptance and the headers it added, each of them in the queued
message.  Prints one line per check, "ok ..." or "FAIL ...", for
rspamd.sh to count.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))

from jsonreport import read_sessions, with_helo  # noqa: E402
from jsonreport import result as report  # noqa: E402

# What inspect calls things in its JSON report: kept here, and only here.
FORWARD = "forward"             # an event's record of the downstream
REPLY = "reply"                 # its final answer, or null
CHANGES = "modifications"       # its end-of-message modifications
HEADER_ACTIONS = {"add-header", "insert-header"}


def header_of(change):
    """(NAME, VALUE) of a header change, VALUE unfolded; None if it is
    not one, or inspect did not make it.  Its "value" is "NAME: VALUE",
    after "INDEX " for an inserted header."""
    if change.get("action") not in HEADER_ACTIONS or not change.get("done"):
        return None
    m = re.fullmatch(r"(?:[0-9]+ )?([^:]+): ?(.*)", change.get("value", ""),
                     re.S)
    return (m.group(1), re.sub(r"\r?\n", "", m.group(2))) if m else None

# rspamd's answer to GTUBE: its reject code and the symbol's message.
GTUBE_REPLY = {"action": "reject", "code": "554", "xcode": "5.7.1",
               "text": "Gtube pattern"}
# rspamd's milter_headers that rspamd.sh turns on.
RSPAMD_HEADERS = {"authentication-results", "x-rspamd-server",
                  "x-spam-status", "x-spamd-result"}


def sessions_of(path):
    """The events of REPORT by session, and whether every line parsed."""
    sessions, bad = read_sessions(path)
    report("[report]", not bad, "every line is a JSON event", bad[:3], [])
    return sessions


def session_of(sessions, helo):
    """The events of the session whose HELO name is HELO."""
    found = with_helo(sessions, helo)
    return found[0] if found else []


def eom_of(prefix, events):
    """The downstream's record at the end of message of the session
    (found by its HELO, checked), or None."""
    if not report(prefix, bool(events), "session found by its HELO"):
        return None
    eoms = [ev for ev in events if ev["stage"] == "eom"]
    if not report(prefix, len(eoms) == 1, "one eom event in the session",
                  len(eoms), 1):
        return None
    fwd = eoms[0].get(FORWARD)
    report(prefix, isinstance(fwd, dict), "eom shows what rspamd answered",
           fwd, "an object")
    return fwd if isinstance(fwd, dict) else None


def check_gtube(events):
    p = "[report gtube]"
    fwd = eom_of(p, events)
    if fwd is None:
        return
    reply = fwd.get(REPLY) or {}
    got = {k: reply.get(k) for k in GTUBE_REPLY}
    report(p, got == GTUBE_REPLY, "rspamd's reject at eom", got,
           GTUBE_REPLY)
    report(p, not fwd.get(CHANGES), "no header changes with the reject",
           fwd.get(CHANGES), [])


def check_clean(events, headers_path):
    p = "[report clean]"
    fwd = eom_of(p, events)
    if fwd is None:
        return
    reply = fwd.get(REPLY) or {}
    report(p, reply.get("action") == "accept", "rspamd accepted at eom",
           reply.get("action"), "accept")
    changes = fwd.get(CHANGES) or []
    added = [h for h in map(header_of, changes) if h is not None]
    report(p, len(added) == len(changes),
           "every change is a header added, and made", changes,
           "each a done %s" % " or ".join(sorted(HEADER_ACTIONS)))
    names = {n.lower() for n, _ in added}
    report(p, names == RSPAMD_HEADERS, "rspamd's headers among the changes",
           sorted(names), sorted(RSPAMD_HEADERS))
    with open(headers_path) as f:
        queued = [line.rstrip("\n") for line in f]
    missing = ["%s: %s" % (n, v) for n, v in added
               if "%s: %s" % (n, v) not in queued]
    report(p, bool(added) and not missing,
           "each header change is in the message Postfix queued",
           missing, [])


def main():
    path, gtube_helo, clean_helo, headers = sys.argv[1:]
    sessions = sessions_of(path)
    check_gtube(session_of(sessions, gtube_helo))
    check_clean(session_of(sessions, clean_helo), headers)


if __name__ == "__main__":
    main()
