#!/usr/bin/env python3
"""Send one SMTP session and write down every reply, byte for byte.

usage: send.py PORT HELO FROM TO[,TO...] SIZE SUBJECT OUT

SIZE is "small", "large" (a body of about 200 KB, several milter
packets), or "file:PATH": that message as it is (LF line ends made CRLF),
a copy to pass on.  The message has a Date, a Message-ID (made of SUBJECT) and a
From of its own, so that Postfix adds none, and a header X-Remove-Me for
a milter to delete.  OUT gets one line per command, "COMMAND -> REPLY",
each line of a multi-line reply joined with " | ", the queue id in a 250
replaced by QID, so that two runs compare equal.  Writes OUT even when the
server refuses something; exits non-zero only when the session breaks.
"""

import re
import socket
import sys


def body(size):
    if size == "large":
        return b"".join(b"line %05d of a body larger than one milter "
                        b"packet\r\n" % i for i in range(4000))
    return (b"Hello,\r\n"
            b"\r\n"
            b"a short body for the forwarding test.\r\n"
            b".a line that starts with a dot\r\n"
            b"-- \r\n"
            b"Alice\r\n")


def message(sender, rcpts, size, subject):
    if size.startswith("file:"):
        with open(size[5:], "rb") as f:
            return f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    tag = re.sub(r"[^A-Za-z0-9.-]", "-", subject)
    head = ("Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
            "From: Alice <%s>\r\n"
            "To: %s\r\n"
            "Message-ID: <%s@example.org>\r\n"
            "Subject: %s\r\n"
            "X-Remove-Me: this header goes\r\n"
            "X-Folded: first part,\r\n"
            "\tsecond part\r\n"
            "\r\n" % (sender, ", ".join(rcpts), tag, subject))
    return head.encode() + body(size)


class Session:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.log = []

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise EOFError("connection closed")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("latin-1"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), lines

    def command(self, what, data=None):
        self.sock.sendall((data if data is not None else what.encode() +
                           b"\r\n"))
        code, lines = self.reply()
        text = " | ".join(lines)
        text = re.sub(r"queued as [0-9A-Za-z]+", "queued as QID", text)
        self.log.append("%s -> %s" % (what, text))
        return code


def main():
    port, helo, sender, rcpts, size, subject, out = sys.argv[1:]
    rcpts = rcpts.split(",")
    s = Session(int(port))
    rc = 0
    try:
        code, lines = s.reply()
        s.log.append("greeting -> %d" % code)
        if s.command("EHLO " + helo) == 250:
            s.command("MAIL FROM:<%s>" % sender)
            for rcpt in rcpts:
                s.command("RCPT TO:<%s>" % rcpt)
            if s.command("DATA") == 354:
                data = message(sender, rcpts, size, subject)
                # Dot-stuffing: a line that starts with a dot gets another.
                data = re.sub(rb"(?m)^\.", b"..", data)
                s.command("message", data + b".\r\n")
        s.command("QUIT")
    except (OSError, EOFError) as e:
        s.log.append("broken: %s: %s" % (type(e).__name__, e))
        rc = 1
    with open(out, "w") as f:
        f.write("\n".join(s.log) + "\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
