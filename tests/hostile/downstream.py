#!/usr/bin/env python3
"""downstream.py -- a broken milter, for inspect --forward to fail on.

usage: downstream.py --socket PATH --modes MODE[,MODE...]

Listens on the unix socket PATH and serves its connections one after
the other, the Nth with the Nth MODE (the last one for every later
connection), until killed.  MODE is "ok" (a milter that asks for every
stage and answers continue) or one of BEHAVIOURS: well-behaved until the
command it names, where it sends its bytes and then hangs up, stalls or
goes on reading without a word.  Only a test peer: the point of it is
to be broken.

Also a module: Downstream(path) serves in a thread, each connection
with the behaviour set last (set_mode()).
"""

import argparse
import os
import socket
import struct
import sys
import threading
import time

MAX_PACKET = 4 * 1024 * 1024	# WIRE_MAX_PACKET in wire.h


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def optneg(version=6, actions=0, steps=0, rest=b""):
    return packet(b"O", struct.pack("!III", version, actions, steps) + rest)


def reply(text):
    return packet(b"y", text)


# name: (command it misbehaves at, bytes sent, then: "hangup", "stall"
# (no more bytes, the connection left open), "mute" (reads on, says
# nothing) or "serve" (goes on as "ok")).  The bytes sent at O replace the negotiation.
BEHAVIOURS = {
    "garbage": (b"C", b"HELLO WORLD\r\n", "mute"),
    "length-huge": (b"C", b"\xff\xff\xff\xffc", "mute"),
    "length-over-max": (b"H", struct.pack("!I", MAX_PACKET + 1) + b"c",
                        "mute"),
    "length-zero": (b"C", b"\0\0\0\0", "mute"),
    "truncated-hangup": (b"M", struct.pack("!I", 40) + b"y550 5.7", "hangup"),
    "truncated-stall": (b"R", struct.pack("!I", 100) + b"y55", "stall"),
    "header-only-stall": (b"R", b"\0\0", "stall"),
    "hangup-at-data": (b"T", b"", "hangup"),
    "silent-at-helo": (b"H", b"", "mute"),
    "unknown-reply": (b"C", packet(b"Z"), "mute"),
    "unknown-reply-eom": (b"E", packet(b"Z", b"whatever\0"), "mute"),
    "quit-as-reply": (b"M", packet(b"Q"), "mute"),
    "change-at-envfrom": (b"M", packet(b"h", b"X-Early\0yes\0") +
                          packet(b"c"), "mute"),
    "body-at-connect": (b"C", packet(b"b", b"new body\r\n") + packet(b"c"),
                        "mute"),
    "progress-at-helo": (b"H", packet(b"p") + packet(b"c"), "serve"),
    "optneg-short": (b"O", packet(b"O", b"\0\0\0\6\0"), "mute"),
    "optneg-empty": (b"O", packet(b"O"), "mute"),
    "optneg-list-cut": (b"O", optneg(rest=struct.pack("!I", 1) + b"abc"),
                        "mute"),
    "optneg-list-index-short": (b"O", optneg(rest=b"\0\0"), "mute"),
    "optneg-version-1": (b"O", optneg(version=1), "mute"),
    "optneg-not-offered": (b"O", optneg(actions=0xffffffff,
                                        steps=0xffffffff), "mute"),
    "optneg-wrong-command": (b"O", packet(b"c"), "mute"),
    "reply-not-smtp": (b"M", reply(b"hello there\0"), "mute"),
    "reply-2xx": (b"M", reply(b"250 2.0.0 fine\0"), "mute"),
    "reply-no-nul": (b"M", reply(b"550 5.7.1 no end"), "mute"),
    "reply-empty": (b"M", reply(b"\0"), "mute"),
    "reply-code-only": (b"R", reply(b"55\0"), "mute"),
    "reply-33-lines": (b"R", reply(b"\r\n".join(
        b"550-5.7.1 line %d" % i for i in range(32)) +
        b"\r\n550 5.7.1 last\0"), "mute"),
    "reply-bad-second-line": (b"R", reply(b"550-5.7.1 one\r\nnot a reply\0"),
                              "mute"),
    "chgheader-short": (b"E", packet(b"m", b"\0\0") + packet(b"c"), "mute"),
    "insheader-no-value": (b"E", packet(b"i", b"\0\0\0\1X-Name\0") +
                           packet(b"c"), "mute"),
    "changes-then-hangup": (b"E", b"".join(
        packet(b"h", b"X-Many-%d\0value\0" % i) for i in range(200)),
        "hangup"),
    "body-then-hangup": (b"E", b"".join(
        packet(b"b", b"x" * 65535) for i in range(64)), "hangup"),
    "progress-forever": (b"E", None, "progress"),
}

# The commands that get an answer from a milter that asked for them all.
ANSWERED = b"CHMRTLNBEU"


class Peer:
    """One connection from inspect, served with one behaviour."""

    def __init__(self, sock, mode):
        self.sock = sock
        self.mode = mode
        self.buf = b""

    def read_packet(self):
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack("!I", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    cmd = self.buf[4:5]
                    data = self.buf[5:4 + n]
                    self.buf = self.buf[4 + n:]
                    return cmd, data
            chunk = self.sock.recv(65536)
            if not chunk:
                return None, None
            self.buf += chunk

    def serve(self):
        bad = BEHAVIOURS.get(self.mode)
        try:
            while True:
                cmd, data = self.read_packet()
                if cmd is None or cmd == b"Q":
                    return
                if bad is not None and cmd == bad[0] and bad[2] == "serve":
                    self.sock.sendall(bad[1])
                    continue
                if bad is not None and cmd == bad[0]:
                    self.misbehave(bad)
                    return
                if cmd == b"O":
                    self.sock.sendall(optneg())
                elif cmd in ANSWERED:
                    self.sock.sendall(packet(b"c"))
        except OSError:
            return
        finally:
            self.sock.close()

    def misbehave(self, bad):
        _, data, then = bad
        if then == "progress":
            # Still at work, for ever, as far as inspect can tell.
            for _ in range(600):
                self.sock.sendall(packet(b"p"))
                time.sleep(0.1)
            return
        self.sock.sendall(data)
        if then == "hangup":
            return
        if then == "stall":
            # Until inspect gives up and hangs up, or a minute.
            self.sock.settimeout(60)
            try:
                while self.sock.recv(65536):
                    pass
            except OSError:
                pass
            return
        while True:
            cmd, _ = self.read_packet()
            if cmd is None:
                return


class Downstream:
    """A listener on a unix socket, serving each connection in a thread
    of its own with the mode set last."""

    def __init__(self, path, mode="ok"):
        if os.path.exists(path):
            os.unlink(path)
        self.path = path
        self.mode = mode
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen(64)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                mode = self.mode
                self.connections += 1
            threading.Thread(target=Peer(conn, mode).serve,
                             daemon=True).start()

    def close(self):
        self.sock.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--modes", required=True)
    args = p.parse_args()
    modes = args.modes.split(",")
    for m in modes:
        if m != "ok" and m not in BEHAVIOURS:
            p.error("no mode %s" % m)
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(args.socket)
    sock.listen(16)
    n = 0
    while True:
        conn, _ = sock.accept()
        mode = modes[min(n, len(modes) - 1)]
        n += 1
        threading.Thread(target=Peer(conn, mode).serve, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
