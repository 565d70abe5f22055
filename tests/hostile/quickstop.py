#!/usr/bin/env python3
"""quickstop.py -- SIGTERM the moment inspect says it listens.

usage: quickstop.py COUNT SECONDS SOCKET COMMAND...

Starts COMMAND (inspect, perhaps under a wrapper, listening on the unix
socket SOCKET) COUNT times, sends SIGTERM as soon as its "listening on"
line is on standard error, and waits at most SECONDS for it to exit, as
an init system that stops a service just started would.  Each time,
inspect must exit 0 having said nothing but that line and that it stops
on SIGTERM (libmilter's own complaints about its worker pool aside), and
leave no socket behind.  Prints "ok NAME" or "FAIL NAME" with the first
failure.
"""

import os
import select
import signal
import subprocess
import sys
import time


def first_line(p, wait):
    """What p wrote on standard error up to its first line's end, within
    wait seconds (never a read without a deadline): the line, and what
    came after it."""
    fd = p.stderr.fileno()
    data = b""
    deadline = time.monotonic() + wait
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    line, nl, rest = data.partition(b"\n")
    return line + nl, rest


def once(command, sock, wait):
    """None, or what went wrong with one start and stop."""
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first, early = first_line(p, wait)
    if b"listening on" not in first:
        p.kill()
        p.wait()
        return "did not start: %r" % first
    p.send_signal(signal.SIGTERM)
    try:
        rest = early + p.communicate(timeout=wait)[1]
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "still running %d s after SIGTERM" % wait
    # Stopped while libmilter's worker pool is still starting, libmilter
    # itself may complain about its pool's lock; inspect says only why it
    # stops.
    rest = b"".join(line for line in rest.splitlines(True)
                    if b": TASKMGR_" not in line and
                    line != b"inspect: stopping on SIGTERM\n")
    if p.returncode != 0 or rest.strip():
        return "exit status %d, then: %r" % (p.returncode, rest[:300])
    if os.path.exists(sock):
        return "socket left behind"
    return None


def main():
    count, wait, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    command = sys.argv[4:]
    failures = [f for f in (once(command, sock, wait)
                            for _ in range(count)) if f]
    name = "sigterm-right-after-start"
    if failures:
        print("FAIL %s: %d of %d" % (name, len(failures), count))
        print("  " + failures[0])
        return 1
    print("ok %s: %d times" % (name, count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
