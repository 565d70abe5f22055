"""jsonreport.py -- inspect's JSON report as the checkers read it, and the
"ok ..." / "FAIL ..." lines they print for their runner to count.

Used by tests/e2e/check_report.py (and check_sendmail.py through it),
tests/forward/check_forward.py and tests/forward/rspamd_report.py, each
of which puts tests/ on sys.path before importing it.
"""

import json
import re

# A run's id, as inspect-report(5) has it: its start and its pid.
RUN = re.compile(r"\A\d{8}T\d{6}Z-p[1-9]\d*\Z")


def result(prefix, cond, what, got=None, want=None):
    """Prints one check's line, "ok PREFIX WHAT" or "FAIL PREFIX WHAT",
    with what was got and wanted if either is given; returns cond."""
    if cond:
        print("ok %s %s" % (prefix, what))
    elif got is None and want is None:
        print("FAIL %s %s" % (prefix, what))
    else:
        print("FAIL %s %s: got %r, want %r" % (prefix, what, got, want))
    return cond


class Checks:
    """result() with one prefix for every check."""

    def __init__(self, prefix):
        self.prefix = prefix

    def check(self, cond, what, got=None, want=None):
        return result(self.prefix, cond, what, got, want)

    def equal(self, got, want, what):
        return self.check(got == want, what, got, want)


def read_sessions(path):
    """The events of the report at PATH grouped by session, each named
    (run, number), in order, and a list of the lines that are no JSON
    event in strict UTF-8 (inspect escapes every byte that is not) or
    that do not begin with the session and its run."""
    sessions, bad = {}, []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            try:
                ev = json.loads(line.decode("utf-8"))
                if list(ev)[:2] != ["session", "run"] or \
                        not RUN.match(str(ev["run"])):
                    raise ValueError("begins with %r" % list(ev.items())[:2])
                sessions.setdefault((ev["run"], ev["session"]),
                                    []).append(ev)
            except (ValueError, KeyError, TypeError) as e:
                bad.append("line %d: %s" % (n, e))
    return sessions, bad


def with_helo(sessions, helo):
    """The sessions (lists of events) whose HELO name is HELO."""
    return [events for events in sessions.values()
            if any(ev["stage"] == "helo" and ev.get("name") == helo
                   for ev in events)]
