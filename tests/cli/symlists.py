#!/usr/bin/env python3
"""Negotiate with a milter on a unix socket as an MTA that offers every
action, SMFIF_SETSYMLIST included, and print the macro lists it asks for
in its reply: one line a stage, "STAGE NAME...", in the order sent."""
import socket
import struct
import sys

STAGES = ["connect", "helo", "envfrom", "envrcpt", "data", "eom", "eoh"]


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            sys.exit("symlists.py: the milter hung up")
        data += chunk
    return data


s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
optneg = b"O" + struct.pack("!III", 6, 0x1FF, 0x1FFFFF)
s.sendall(struct.pack("!I", len(optneg)) + optneg)
(length,) = struct.unpack("!I", read_exactly(s, 4))
reply = read_exactly(s, length)
if reply[:1] != b"O" or length < 13:
    sys.exit("symlists.py: not an option negotiation reply: %r" % reply[:16])
rest = reply[13:]
while rest:
    if len(rest) < 5 or b"\0" not in rest[4:]:
        sys.exit("symlists.py: a list cut short: %r" % rest)
    (stage,) = struct.unpack("!I", rest[:4])
    names, _, rest = rest[4:].partition(b"\0")
    if stage >= len(STAGES):
        sys.exit("symlists.py: unknown stage %d" % stage)
    print(STAGES[stage], names.decode())
s.close()
