#!/usr/bin/env python3
"""Send one mail with smtplib, the way swaks cannot: an unknown command
first, then ESMTP parameters on MAIL and RCPT, and an 8-bit body.

usage: smtp_send.py PORT FACTS

Writes to FACTS (JSON) what was sent and what the server answered, for
check_report.py.  Exits non-zero if the server did not queue the mail.
"""

import json
import re
import smtplib
import sys

HELO = "smtplib.example.org"
SENDER = "carol@example.org"
RECIPIENTS = [
    ("dave@example.com", ["NOTIFY=NEVER"]),
    ("erin@example.com", ["ORCPT=rfc822;erin@example.com"]),
]
# Postfix's configuration rejects this one (check_recipient_access); with
# SMFIP_RCPT_REJ negotiated, inspect still sees it, marked as rejected.
REJECTED = "nobody@reject.example"
UNKNOWN = "XYZZY foo bar"

# No Date or Message-ID: Postfix adds them for a local client.  The body
# has a line that starts with a dot (stuffed on the wire, unstuffed by
# Postfix), valid UTF-8 and a byte that is not UTF-8 (0xe9, Latin-1).
MESSAGE = (
    b"From: Carol <carol@example.org>\r\n"
    b"To: dave@example.com, erin@example.com\r\n"
    b"Subject: parameters and an unknown command\r\n"
    b"X-Folded: one,\r\n"
    b" two,\r\n"
    b"\tthree\r\n"
    b"\r\n"
    b"8-bit body: caf\xc3\xa9 in UTF-8, caf\xe9 in Latin-1.\r\n"
    b".a line that starts with a dot\r\n"
    b"\r\n"
    b"last line\r\n"
)


def main():
    port, facts_path = int(sys.argv[1]), sys.argv[2]
    mail_params = ["SIZE=%d" % len(MESSAGE), "BODY=8BITMIME"]
    facts = {
        "server_port": port,
        "sender": "smtplib",
        "helo": HELO,
        "mail": ["<%s>" % SENDER] + mail_params,
        "rcpts": [["<%s>" % a] + p for a, p in RECIPIENTS],
        "rejected": [["<%s>" % REJECTED]],
        "unknown": UNKNOWN,
        # Bytes as Latin-1 text, so that JSON can carry them unchanged.
        "message": MESSAGE.decode("latin-1"),
    }
    smtp = smtplib.SMTP(timeout=5)
    try:
        smtp.connect("127.0.0.1", port)
        facts["client_port"] = smtp.sock.getsockname()[1]
        smtp.ehlo(HELO)
        verb, _, arg = UNKNOWN.partition(" ")
        code, text = smtp.docmd(verb, arg)
        facts["unknown_reply"] = "%d %s" % (code, text.decode())
        code, text = smtp.mail(SENDER, mail_params)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, SENDER)
        for addr, params in RECIPIENTS:
            code, text = smtp.rcpt(addr, params)
            if code != 250:
                raise smtplib.SMTPRecipientsRefused({addr: (code, text)})
        code, text = smtp.rcpt(REJECTED)
        facts["rejected_reply"] = "%d %s" % (code, text.decode())
        if code < 500:
            raise smtplib.SMTPRecipientsRefused({REJECTED: (code, text)})
        code, text = smtp.data(MESSAGE)
        facts["reply"] = "%d %s" % (code, text.decode())
        smtp.quit()
    except (OSError, smtplib.SMTPException) as e:
        facts["error"] = "%s: %s" % (type(e).__name__, e)
    m = re.search(r"queued as ([0-9A-Za-z]+)", facts.get("reply", ""))
    facts["qid"] = m.group(1) if m else None
    with open(facts_path, "w") as f:
        json.dump(facts, f, indent=1)
    if facts["qid"] is None:
        print("smtp_send.py: %s" % facts.get("error", facts.get("reply")),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
