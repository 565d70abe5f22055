#!/usr/bin/python3
"""A milter on pymilter that gives every answer and makes every change a
milter can, as the mail asks: the tests put it behind Postfix, directly
and through inspect --forward, and compare what the client and the
mailbox get.

usage: /usr/bin/python3 testmilter.py SPEC

SPEC is libmilter's: unix:PATH or inet:PORT@HOST.  Debian's python3 only
has pymilter (python3-milter), hence /usr/bin/python3.

What it does is picked by the mail:
  HELO tempfail.helo.example     tempfail at helo
  MAIL FROM:<tempfail@...>       tempfail at envfrom
  the first RCPT's local part (CASES below) for the rest.
At every end of message it did not answer otherwise it adds a header
X-Testmilter that says what it saw (case, envelope, headers, body), so
that a copy shows what reached the milter, not only what it changed.
"""

import hashlib
import os
import sys
import time

import Milter

# The body that "body" writes instead: larger than one packet (65535
# bytes), so that it goes in several.
NEW_BODY = b"".join(b"replaced line %05d: the test milter's new body\r\n" % i
                    for i in range(2000))
# How long "slow" takes at end of message, and how often it reports
# progress meanwhile; the runner gives Postfix a shorter timeout.
SLOW_SECONDS = 6
PROGRESS_EVERY = 0.5

CASES = {
    "plain",        # nothing but X-Testmilter
    "reject",       # reject at envrcpt (the default reply)
    "tempfail",     # tempfail at envrcpt
    "multiline",    # a two-line 550 at envrcpt
    "eomreject",    # a reply of its own and reject at end of message
    "discard",      # discard at end of message
    "accept",       # accept at envrcpt: nothing more for this message
    "skip",         # skip after the first body chunk
    "headers",      # add, insert, change and delete headers
    "addrcpt",      # two recipients added, one with ESMTP arguments
    "delrcpt",      # the second recipient deleted
    "chgfrom",      # the sender changed
    "body",         # the body replaced (several packets)
    "quarantine",   # quarantined (Postfix: held)
    "slow",         # a slow end of message, with progress
}


class TestMilter(Milter.Base):

    def __init__(self):
        self.reset()

    def reset(self):
        self.case = None
        self.sender = None
        self.rcpts = []
        self.headers = 0
        self.body_calls = 0
        self.body_bytes = 0
        self.body_hash = hashlib.sha256()

    def hello(self, hostname):
        if hostname == "tempfail.helo.example":
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def envfrom(self, sender, *params):
        self.reset()
        self.sender = sender
        if sender.lower().startswith("<tempfail@"):
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def envrcpt(self, rcpt, *params):
        self.rcpts.append(rcpt)
        if self.case is None:
            local = rcpt.strip("<>").partition("@")[0].lower()
            self.case = local if local in CASES else "plain"
        if len(self.rcpts) > 1:
            return Milter.CONTINUE
        if self.case == "reject":
            return Milter.REJECT
        if self.case == "tempfail":
            return Milter.TEMPFAIL
        if self.case == "multiline":
            self.setreply("550", "5.7.1", "line one", "line two")
            return Milter.REJECT
        if self.case == "accept":
            return Milter.ACCEPT
        return Milter.CONTINUE

    def header(self, name, value):
        self.headers += 1
        return Milter.CONTINUE

    def body(self, chunk):
        self.body_calls += 1
        self.body_bytes += len(chunk)
        self.body_hash.update(chunk)
        if self.case == "skip":
            return Milter.SKIP
        return Milter.CONTINUE

    def eom(self):
        case = self.case
        seen = "case=%s from=%s rcpts=%s headers=%d body=%d sha256=%s" % (
            case, self.sender, ",".join(self.rcpts), self.headers,
            self.body_bytes, self.body_hash.hexdigest()[:16])
        if case == "skip":
            seen += " body-calls=%d" % self.body_calls
        if case == "eomreject":
            self.setreply("554", "5.7.0", "rejected at end of message",
                          "by the test milter")
            return Milter.REJECT
        if case == "discard":
            return Milter.DISCARD
        if case == "slow":
            end = time.monotonic() + SLOW_SECONDS
            while time.monotonic() < end:
                time.sleep(PROGRESS_EVERY)
                self.progress()
        self.addheader("X-Testmilter", seen)
        if case == "headers":
            self.addheader("X-Added", "added at the end")
            # Index 0: the first header of all.
            self.addheader("X-Inserted", "inserted first", 0)
            self.addheader("X-Folded-Added", "first line,\n\tsecond line")
            self.chgheader("Subject", 1, "changed by the test milter")
            # An empty value deletes the header.
            self.chgheader("X-Remove-Me", 1, "")
        elif case == "addrcpt":
            self.addrcpt("<added@dest.example>")
            self.addrcpt("<added-par@dest.example>", "NOTIFY=NEVER")
        elif case == "delrcpt":
            self.delrcpt(self.rcpts[1])
        elif case == "chgfrom":
            self.chgfrom("<changed@example.org>")
        elif case == "body":
            # In pieces of 40000 bytes: libmilter sends each in packets
            # of at most 65535.
            for i in range(0, len(NEW_BODY), 40000):
                self.replacebody(NEW_BODY[i:i + 40000])
        elif case == "quarantine":
            self.quarantine("held by the test milter")
        return Milter.CONTINUE

    def abort(self):
        self.reset()
        return Milter.CONTINUE


def main():
    if len(sys.argv) != 2:
        print("usage: testmilter.py SPEC", file=sys.stderr)
        return 2
    # A unix socket srwxrwx---: the runner's directory gives it group
    # postfix, whose smtpd connects.
    os.umask(0o007)
    Milter.factory = TestMilter
    # Every action, ESMTP arguments on added recipients too.
    Milter.set_flags(Milter.CURR_ACTS)
    Milter.runmilter("testmilter", sys.argv[1], 60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
