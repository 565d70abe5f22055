#!/usr/bin/env python3
"""Send one SMTP session to the private Sendmail of sendmail.sh.

usage: sendmail_send.py message|rset HOST PORT HELO FACTS

message: an unknown command, then one mail with ESMTP parameters (SIZE=,
BODY=8BITMIME, ENVID=) to a remote recipient, a local one and an unknown
local user and one the access database refuses, whose headers include a
folded one, one with no space after the colon and one with a NUL.  rset: MAIL, RCPT, RSET, MAIL, RCPT, QUIT, the sequence
that shows who sends the milter an abort.

Writes to FACTS (JSON) what was sent and what Sendmail answered, for
check_sendmail.py.  Exits non-zero, saying why, if Sendmail did not answer
as a working MTA would.
"""

import json
import re
import smtplib
import socket
import sys

LOCAL_DOMAIN = "mta.example.test"	# the namespace's host name
SENDER = "alice@example.org"
REMOTE = ("bob@example.com", ["NOTIFY=NEVER"])
LOCAL = ("root@" + LOCAL_DOMAIN, [])
# No such user: Sendmail refuses it with 550 5.1.1, and with
# SMFIP_RCPT_REJ negotiated inspect still sees it, marked as rejected.
UNKNOWN_USER = "nosuchuser@" + LOCAL_DOMAIN
# A local user the access database refuses: Sendmail never tells a
# milter.
BLOCKED = "daemon@" + LOCAL_DOMAIN
UNKNOWN = "XYZZY foo bar"
ENVID = "sendmail-e2e-1"

# A Date and a Message-ID of its own, so that Sendmail adds no header;
# a folded header; one with no space after the colon; one with a NUL,
# which Sendmail strips; an 8-bit body with
# a line that starts with a dot (stuffed on the wire, not for the milter).
MESSAGE = (
    b"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Message-ID: <sendmail-e2e@example.org>\r\n"
    b"Subject: inspect e2e: through Sendmail\r\n"
    b"X-Folded: first part,\r\n"
    b"\tsecond part,\r\n"
    b" third part\r\n"
    b"X-Tight:no space after the colon\r\n"
    b"X-Nul: before\x00after\r\n"
    b"\r\n"
    b"Hello Bob,\r\n"
    b"\r\n"
    b"8-bit: caf\xc3\xa9 in UTF-8, caf\xe9 in Latin-1.\r\n"
    b".a line that starts with a dot\r\n"
    b"-- \r\n"
    b"Alice\r\n"
)


class Refused(Exception):
    pass


def expect(facts, what, reply, code):
    """Note REPLY under WHAT; Refused unless its code is CODE."""
    got, text = reply
    facts["replies"][what] = "%d %s" % (got, text.decode("latin-1"))
    if got != code:
        raise Refused("%s: %d %s, want %d" % (what, got, text.decode(
            "latin-1"), code))


def message(smtp, facts):
    mail_params = ["SIZE=%d" % len(MESSAGE), "BODY=8BITMIME",
                   "ENVID=" + ENVID]
    facts.update({
        "unknown": UNKNOWN,
        "mail": [["<%s>" % SENDER] + mail_params],
        "rcpts": [["<%s>" % a] + p for a, p in (REMOTE, LOCAL)],
        "rejected": [["<%s>" % UNKNOWN_USER]],
        "blocked": ["<%s>" % BLOCKED],
        # Bytes as Latin-1 text, so that JSON carries them unchanged.
        "message": MESSAGE.decode("latin-1"),
    })
    verb, _, arg = UNKNOWN.partition(" ")
    expect(facts, "unknown", smtp.docmd(verb, arg), 500)
    expect(facts, "mail", smtp.mail(SENDER, mail_params), 250)
    for addr, params in (REMOTE, LOCAL):
        expect(facts, "rcpt " + addr, smtp.rcpt(addr, params), 250)
    expect(facts, "rcpt " + UNKNOWN_USER, smtp.rcpt(UNKNOWN_USER), 550)
    expect(facts, "rcpt " + BLOCKED, smtp.rcpt(BLOCKED), 550)
    # blocklist_recipients' reply, not the local mailer's.
    if "Mailbox disabled" not in facts["replies"]["rcpt " + BLOCKED]:
        raise Refused("rcpt %s: refused, but not by the access database: "
                      "%s" % (BLOCKED, facts["replies"]["rcpt " + BLOCKED]))
    expect(facts, "data", smtp.data(MESSAGE), 250)
    m = re.match(r"250 \S+ (\S+) Message accepted", facts["replies"]["data"])
    facts["qid"] = m.group(1) if m else None


def rset(smtp, facts):
    first, second = "carol@example.org", "dave@example.org"
    facts.update({"mail": [["<%s>" % first], ["<%s>" % second]],
                  "rcpts": [["<%s>" % LOCAL[0]]] * 2, "rejected": []})
    expect(facts, "mail 1", smtp.mail(first), 250)
    expect(facts, "rcpt 1", smtp.rcpt(LOCAL[0]), 250)
    expect(facts, "rset", smtp.rset(), 250)
    expect(facts, "mail 2", smtp.mail(second), 250)
    expect(facts, "rcpt 2", smtp.rcpt(LOCAL[0]), 250)


def main():
    scenario, host, port, helo, facts_path = sys.argv[1:]
    run = {"message": message, "rset": rset}[scenario]
    facts = {"scenario": scenario, "helo": helo, "server_port": int(port),
             "replies": {}}
    smtp = smtplib.SMTP(timeout=10)
    try:
        smtp.connect(host, int(port))
        facts["client_port"] = smtp.sock.getsockname()[1]
        facts["family"] = ("inet6" if smtp.sock.family == socket.AF_INET6
                           else "inet")
        expect(facts, "ehlo", smtp.ehlo(helo), 250)
        run(smtp, facts)
        expect(facts, "quit", smtp.docmd("QUIT"), 221)
        smtp.close()
    except (OSError, smtplib.SMTPException, Refused) as e:
        facts["error"] = "%s: %s" % (type(e).__name__, e)
    with open(facts_path, "w") as f:
        json.dump(facts, f, indent=1)
    if "error" in facts:
        print("sendmail_send.py: %s %s: %s" % (scenario, helo,
                                                facts["error"]),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
