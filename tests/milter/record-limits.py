#!/usr/bin/env python3
"""record-limits.py -- sessions miltertest cannot replay whole.

usage: record-limits.py SPEC

Speaks the milter protocol to inspect at SPEC as an MTA may, with what
miltertest cannot send (inspect(8), RECORDING): a header over 1,000
bytes, a macro packet over 1 KB, a header value without its leading
space where HDR_LEADSPC was negotiated, and a client on a unix socket.
One session each, in that order, each a whole message; a script of
inspect's recording must say so in a comment and replay the rest.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", "hostile"))
from mta import CONNECT, Conn, Session  # noqa: E402


def message(s, header=(b"Subject", b" limits")):
    s.helo(b"client.example")
    s.mail(b"<a@example.org>", b"SIZE=100")
    s.rcpt(b"<b@example.net>")
    s.data()
    s.header(*header)
    s.header(b"To", b" b@example.net")
    s.eoh()
    s.body(b"body\r\n")
    s.eom()
    s.quit()


def session(spec):
    s = Session(Conn(spec), [])
    s.negotiate()
    return s


def main():
    spec = sys.argv[1]

    s = session(spec)
    s.connect(b"client.example", b"4", 25, b"192.0.2.1")
    message(s, (b"X-Long", b" " + b"x" * 3000))

    s = session(spec)
    s.macro(CONNECT, sum(([b"{x_%02d}" % i, b"v" * 100]
                          for i in range(20)), []))
    s.connect(b"client.example", b"4", 25, b"192.0.2.1")
    message(s)

    s = session(spec)
    s.connect(b"client.example", b"4", 25, b"192.0.2.1")
    message(s, (b"X-Tight", b"no-leading-space"))

    s = session(spec)
    s.connect(b"local.example", b"L", 0, b"/run/client.sock")
    message(s)


if __name__ == "__main__":
    main()
