#!/usr/bin/env python3
"""Negotiate with a milter on a unix socket, send half a packet header and
print how many seconds pass until the milter hangs up (at most 10)."""
import socket
import struct
import sys
import time

s = socket.socket(socket.AF_UNIX)
s.settimeout(10)	# never a read without a deadline
s.connect(sys.argv[1])
optneg = b"O" + struct.pack("!III", 6, 0x1FF, 0x1FFFFF)
s.sendall(struct.pack("!I", len(optneg)) + optneg)
s.recv(100)
s.sendall(b"\x00\x00")
start = time.monotonic()
try:
    s.recv(100)
except socket.timeout:
    pass
print("%.2f" % (time.monotonic() - start))
