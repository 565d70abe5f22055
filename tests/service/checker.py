"""checker.py -- what signals.py and supervise.py share: reporting
checks, waiting with a bound, reading /proc, and a raw milter client.

Each check is reported as "ok NAME" or "FAIL NAME" with why; results
keeps them for the exit status.
"""

import os
import socket
import struct
import subprocess
import sys
import time

WAIT = 10.0			# for anything that should happen soon

results = []


def report(name, ok, why=""):
    results.append(ok)
    print(("ok %s" if ok else "FAIL %s") % name)
    if not ok and why:
        for line in str(why).splitlines()[:20]:
            print("  " + line)
    sys.stdout.flush()


def wait_for(cond, timeout=WAIT):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def exited(p, timeout):
    """p's exit status within timeout, or None."""
    try:
        return p.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill(pid, sig):
    """Send sig to pid, gone or not."""
    try:
        os.kill(pid, sig)
    except OSError:
        pass


# --- a milter client ----------------------------------------------------

def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def command(s, cmd, data=b""):
    """Send a command and read its reply (no step is without one)."""
    s.sendall(packet(cmd, data))
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            raise ConnectionError("inspect closed the connection")
        head += chunk
    (length,) = struct.unpack("!I", head)
    while length > 0:
        chunk = s.recv(length)
        if not chunk:
            raise ConnectionError("inspect closed the connection")
        length -= len(chunk)


def serves(sock):
    """A session is answered: negotiation, connect, helo."""
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(WAIT)
        s.connect(sock)
        command(s, b"O", struct.pack("!III", 6, 0x1FF, 0x1F))
        command(s, b"C", b"client.example\0" + b"4" +
                struct.pack("!H", 25) + b"192.0.2.1\0")
        command(s, b"H", b"client.example\0")
        s.close()
        return True
    except OSError:
        return False
