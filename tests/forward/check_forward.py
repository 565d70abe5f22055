#!/usr/bin/env python3
"""Check what inspect --forward's JSON report says about the downstream
milter, for tests/forward/run.sh.

usage: check_forward.py dkim REPORT COPY
       check_forward.py testmilter REPORT

dkim: REPORT is inspect's report of OpenDKIM signing one message, COPY
the copy delivered (or Sendmail's qf file): the negotiation shows what
OpenDKIM asked for, and the end of message the DKIM-Signature it inserted,
the very one in COPY, and its accept.
testmilter: REPORT is inspect's report of testmilter.py's cases (run.sh
names each session by its HELO): each shows the answer or change the
case is about, where it happened.

Prints one line per check, "ok ..." or "FAIL ...", for run.sh to count;
exits 0 unless it could not check at all.
What the report calls things is in the block below, and nowhere else.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))

from jsonreport import read_sessions  # noqa: E402

# --- the report's names (inspect(8), JSON) -------------------------------
FORWARD = "forward"          # in each event the milter was sent
SENT = "sent"                # forward.sent: whether the event went on
REPLY = "reply"              # forward.reply: null when none was awaited
ACTION = "action"            # reply.action, modification.action
CODE, XCODE, TEXT = "code", "xcode", "text"
CHANGES = "modifications"    # forward.modifications, at eom
VALUE = "value"              # modification.value
SECONDS = "seconds"          # forward.seconds
ERROR = "error"              # forward.error: why it failed, or null
# The negotiate event's forward: the milter's version, what it asked for
# (ASKED: an object like the event's "offered") and its macro lists.
NEG_VERSION, NEG_ASKED, NEG_MACROS = "version", "asked", "macros"
NEG_ACTIONS, NEG_STEPS = "actions", "steps"
# Change kinds.
ADD_HEADER, INSERT_HEADER, CHANGE_HEADER = (
    "add-header", "insert-header", "change-header")
CHANGE_FROM, ADD_RCPT, DELETE_RCPT = "change-from", "add-rcpt", "delete-rcpt"
REPLACE_BODY, QUARANTINE = "replace-body", "quarantine"
# --------------------------------------------------------------------------

# What OpenDKIM 2.11 asks for (measured, notes §11.4): actions ADDHDRS,
# CHGHDRS and SETSYMLIST; among the steps no helo, no unknown, no data.
DKIM_ACTIONS = 0x111
DKIM_STEPS_SET = 0x2 | 0x100 | 0x200

# testmilter.py's slow end of message.
SLOW_SECONDS = 6


class Checks:
    def __init__(self, prefix):
        self.prefix = prefix
        self.failed = 0

    def check(self, cond, what, got=None):
        if cond:
            print("ok %s %s" % (self.prefix, what))
        else:
            self.failed += 1
            print("FAIL %s %s%s" % (self.prefix, what, "" if got is None
                                    else ": got %s" % short(got)))
        return cond


def short(x):
    s = json.dumps(x) if not isinstance(x, str) else x
    return s if len(s) <= 300 else s[:300] + "..."


def read_report(path, c):
    sessions, bad = read_sessions(path)
    c.check(not bad, "every line of the report is a JSON event", bad[:3])
    return sessions


def fwd(ev):
    f = ev.get(FORWARD)
    return f if isinstance(f, dict) else None


def reply(ev):
    f = fwd(ev)
    return (f or {}).get(REPLY) or {}


def changes(events):
    out = []
    for ev in events:
        if ev["stage"] == "eom" and fwd(ev):
            out += fwd(ev).get(CHANGES) or []
    return out


def has_change(events, action, *texts):
    return any(ch.get(ACTION) == action and
               all(t in str(ch.get(VALUE)) for t in texts)
               for ch in changes(events))


def stage(events, name):
    return [ev for ev in events if ev["stage"] == name]


def no_errors(c, events, what):
    errors = [(ev["stage"], fwd(ev)[ERROR]) for ev in events
              if fwd(ev) and fwd(ev).get(ERROR) is not None]
    c.check(not errors, "%s: no forward error" % what, errors)


def quit_sent(c, events, what):
    """The MTA said QUIT (Postfix and Sendmail do, at the end of every
    session here): the milter is told so too, as an MTA would, not
    left to find the connection closed."""
    closes = [fwd(ev) for ev in stage(events, "close")]
    c.check(len(closes) == 1 and closes[0] is not None and
            closes[0].get(SENT) is True,
            "%s: close: the milter was sent QUIT" % what, closes)


def negotiation(c, events, what):
    """The milter's answer to the negotiation: {version, actions, steps}."""
    neg = [fwd(ev) for ev in stage(events, "negotiate")]
    ok = len(neg) == 1 and neg[0] is not None
    asked = (neg[0] or {}).get(NEG_ASKED) if ok else None
    ok = c.check(ok and isinstance(asked, dict) and
                 isinstance(neg[0].get(NEG_VERSION), int) and
                 all(isinstance(asked.get(k), int)
                     for k in (NEG_ACTIONS, NEG_STEPS)),
                 "%s: the negotiation shows the milter's version, "
                 "actions and steps" % what, neg)
    if ok and neg[0].get(NEG_MACROS) is not None:
        c.check(isinstance(neg[0][NEG_MACROS], dict),
                "%s: the macros it asked for, by stage" % what, neg[0])
    if not ok:
        return None
    return {"version": neg[0][NEG_VERSION], "actions": asked[NEG_ACTIONS],
            "steps": asked[NEG_STEPS]}


def dkim_b(path):
    """The b= of the one DKIM-Signature in the message or qf at PATH."""
    with open(path, "rb") as f:
        text = f.read().decode("latin-1")
    m = re.search(r"(?ims)^H?(?:\?[^?]*\?)?DKIM-Signature:(.*?)(?=^\S)",
                  text)
    if not m:
        return None
    b = re.search(r"(?:^|;)\s*b=([^;]*)", m.group(1))
    return re.sub(r"\s+", "", b.group(1)) if b else None


def check_dkim(report, copy):
    c = Checks("[opendkim report %s]" % os.path.basename(report))
    sessions = read_report(report, c)
    signed = [evs for evs in sessions.values() if stage(evs, "eom")]
    if not c.check(len(signed) == 1, "one session with a message",
                   len(signed)):
        return c
    events = signed[0]
    neg = negotiation(c, events, "negotiate")
    if neg:
        c.check(neg["actions"] == DKIM_ACTIONS,
                "OpenDKIM asked for actions 0x%x" % DKIM_ACTIONS,
                hex(neg["actions"]))
        c.check(neg["steps"] & DKIM_STEPS_SET == DKIM_STEPS_SET,
                "OpenDKIM asked for no helo, no unknown, no data",
                hex(neg["steps"]))
    b = dkim_b(copy)
    c.check(b, "the copy has a DKIM-Signature with b=")
    eom = stage(events, "eom")[-1]
    c.check(has_change(events, INSERT_HEADER, "DKIM-Signature") or
            has_change(events, ADD_HEADER, "DKIM-Signature"),
            "the end of message shows the DKIM-Signature added",
            fwd(eom))
    c.check(b and any(b in re.sub(r"\s+", "", str(ch.get(VALUE)))
                      for ch in changes(events)),
            "the signature shown is the one in the copy (b=)",
            changes(events))
    c.check(reply(eom).get(ACTION) == "accept",
            "OpenDKIM's answer at end of message: accept", reply(eom))
    quit_sent(c, events, "the session")
    no_errors(c, events, "the session")
    return c


# HELO -> what the report must show for that case.
def reply_is(stage_name, action):
    def test(events):
        return any(reply(ev).get(ACTION) == action
                   for ev in stage(events, stage_name))
    return test, "%s answered %s" % (stage_name, action)


def multiline(stage_name, code, xcode, *lines):
    def test(events):
        return any(str(reply(ev).get(CODE)) == code and
                   reply(ev).get(XCODE) == xcode and
                   all(line in str(reply(ev).get(TEXT)) for line in lines)
                   for ev in stage(events, stage_name))
    return test, "%s answered %s %s with %s" % (stage_name, code, xcode,
                                                " / ".join(lines))


def change(action, *texts):
    return (lambda events: has_change(events, action, *texts),
            "eom: %s %s" % (action, " ".join(texts)))


def slow(events):
    return any((fwd(ev) or {}).get(SECONDS, 0) >= SLOW_SECONDS - 0.5
               for ev in stage(events, "eom"))


CASES = {
    "plain": [change(ADD_HEADER, "X-Testmilter", "case=plain")],
    "tempfail.helo.example": [reply_is("helo", "tempfail")],
    "sender": [reply_is("envfrom", "tempfail")],
    "reject": [reply_is("envrcpt", "reject")],
    "tempfail": [reply_is("envrcpt", "tempfail")],
    "multiline": [multiline("envrcpt", "550", "5.7.1", "line one",
                            "line two")],
    "eomreject": [multiline("eom", "554", "5.7.0",
                            "rejected at end of message",
                            "by the test milter")],
    "discard": [reply_is("eom", "discard")],
    "accept": [reply_is("envrcpt", "accept")],
    "skip": [reply_is("body", "skip"),
             change(ADD_HEADER, "X-Testmilter", "body-calls=1")],
    "headers": [change(ADD_HEADER, "X-Added", "added at the end"),
                change(INSERT_HEADER, "X-Inserted", "inserted first"),
                change(ADD_HEADER, "X-Folded-Added", "second line"),
                change(CHANGE_HEADER, "Subject", "changed by the test"),
                change(CHANGE_HEADER, "X-Remove-Me")],
    "addrcpt": [change(ADD_RCPT, "<added@dest.example>"),
                change(ADD_RCPT, "<added-par@dest.example>", "NOTIFY=NEVER")],
    "delrcpt": [change(DELETE_RCPT, "<gone@dest.example>")],
    "chgfrom": [change(CHANGE_FROM, "<changed@example.org>")],
    "body": [change(REPLACE_BODY)],
    "quarantine": [change(QUARANTINE, "held by the test milter")],
    "slow": [(slow, "eom took %d s or more, progress and all"
              % SLOW_SECONDS)],
}


def case_of(events):
    for ev in stage(events, "helo"):
        name = ev.get("name", "")
        if name in CASES:
            return name
        return name.split(".")[0]
    return None


def check_testmilter(report):
    c = Checks("[testmilter report]")
    sessions = read_report(report, c)
    seen = {}
    for events in sessions.values():
        name = case_of(events)
        if name in CASES:
            seen[name] = events
    for name, tests in CASES.items():
        events = seen.get(name)
        p = name
        if not c.check(events is not None, "%s: the session is there" % p):
            continue
        negotiation(c, events, p)
        for test, what in tests:
            c.check(test(events), "%s %s" % (p, what),
                    [{"stage": ev["stage"], FORWARD: fwd(ev)}
                     for ev in events if fwd(ev) and
                     (reply(ev).get(ACTION) not in (None, "continue") or
                      ev["stage"] == "eom")])
        no_errors(c, events, p)
    # Once for all: one cause fails them all.
    unsent = [name for name, events in sorted(seen.items())
              if [(fwd(ev) or {}).get(SENT) for ev in stage(events, "close")]
              != [True]]
    c.check(seen and not unsent, "every session's close: the milter was "
            "sent QUIT", "not in %d of %d: %s" % (len(unsent), len(seen),
                                                  " ".join(unsent)))
    return c


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "dkim":
        c = check_dkim(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "testmilter":
        c = check_testmilter(sys.argv[2])
    else:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    # Failures are counted from the lines; a status is for a crash.
    return 0


if __name__ == "__main__":
    sys.exit(main())
