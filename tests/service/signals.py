#!/usr/bin/env python3
"""signals.py -- what inspect does on each signal, from a terminal or not.

usage: signals.py INSPECT DIR

Runs INSPECT (the binary) in the foreground, on unix sockets in the
scratch directory DIR, and checks what an administrator sees:
  - a second Ctrl-C (SIGINT through a terminal), or a second SIGTERM,
    while inspect (alone, or with workers) is still writing out its
    report to an output that takes nothing, ends it at once with status
    128 + the signal, and the log says what was lost;
  - a terminal that hangs up stops inspect (and its workers) when it
    runs on that terminal, and only reopens the files when standard
    input and output are not on it, or when it runs as a daemon;
  - "stopping" and "reopened" are logged at the default levels;
  - an idle inspect stops within STOP_BOUND s of SIGTERM, with two
    workers within WORKERS_STOP_BOUND s (the figures measured are
    printed);
  - signals from outside are harmless: each of HUP, INT, TERM, USR1,
    USR2, PIPE, ALRM, WINCH and QUIT, sent alone to inspect, or to it
    and its workers as pkill does, either does what inspect(8) says
    (INT and TERM stop it, HUP reopens its files) or is ignored, and
    inspect serves in between; SIGTERM then stops it within STOP_BOUND
    s.
Prints "ok NAME" or "FAIL NAME" and why, one line each; exits 1 if any
failed.  Needs no root.
"""

import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time

from checker import WAIT, alive, children, command, exited, read, \
    report, results, serves, wait_for

# Bounds, far above what is measured (a few ms) and far below the five
# seconds libmilter's listener took to notice a stop.
STOP_BOUND = 1.0
WORKERS_STOP_BOUND = 1.5
# A stop cut short by a second signal: at once, give or take a loaded
# machine.
QUIT_BOUND = 2.0
# Stopping gives up on an output that takes nothing after this (serve.c).
OUTPUT_STALL = 5.0


class Inspect:
    """One inspect in the foreground, on the unix socket DIR/NAME.sock,
    logging to DIR/NAME.log.  With tty, standard input, output and error
    are a new pseudo-terminal, the controlling terminal of a session that
    inspect leads, as in a terminal window; with ctty only, the
    pseudo-terminal is the controlling terminal but the standard streams
    are /dev/null and files."""

    def __init__(self, binary, tmp, name, args=(), tty=False, ctty=False):
        self.name = name
        self.sock = os.path.join(tmp, name + ".sock")
        self.log = os.path.join(tmp, name + ".log")
        self.master = None
        self.drainer = None
        command = [binary, "-s", "unix:" + self.sock, "--log-path",
                   self.log] + list(args)
        if tty or ctty:
            self.master, slave = os.openpty()

            def take_terminal():
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

            std = slave if tty else None
            out = open(os.path.join(tmp, name + ".stdout"), "wb")
            self.p = subprocess.Popen(
                command, stdin=std if tty else subprocess.DEVNULL,
                stdout=std if tty else out, stderr=std if tty else out,
                start_new_session=True, preexec_fn=take_terminal,
                pass_fds=(slave,))
            os.close(slave)
            out.close()
            if tty:
                # What inspect writes there must never block it.
                self.draining = True
                self.drainer = threading.Thread(target=self._drain,
                                                daemon=True)
                self.drainer.start()
        else:
            with open(os.path.join(tmp, name + ".stdout"), "wb") as out:
                self.p = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT)
        self.pid = self.p.pid

    def _drain(self):
        """Read the terminal, never blocking: a read under way would
        keep it open after hang_up() closed it."""
        try:
            while self.draining:
                if select.select([self.master], [], [], 0.05)[0] and \
                        not os.read(self.master, 4096):
                    return
        except OSError:
            pass

    def _close_terminal(self):
        if self.master is None:
            return
        if self.drainer is not None:
            self.draining = False
            self.drainer.join()
            self.drainer = None
        os.close(self.master)
        self.master = None

    def ready(self, workers=0):
        return wait_for(lambda: os.path.exists(self.sock) and
                        "listening on" in read(self.log) and
                        len(children(self.pid)) >= workers)

    def logged(self, text):
        return text in read(self.log)

    def type(self, data):
        os.write(self.master, data)

    def hang_up(self):
        """Close the terminal, as closing its window does."""
        self._close_terminal()

    def stop(self):
        """Whatever state it is in, make sure it is gone."""
        if self.p.poll() is None:
            self.kill()
        self._close_terminal()

    def kill(self):
        for pid in children(self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.p.kill()
        self.p.wait()
        self._close_terminal()


# --- a milter client that fills the report -----------------------------

def fill_report(sock, chunks):
    """A session left open, whose body chunks make chunks events of 64
    KiB: more than a pipe holds.  Returns its socket."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(WAIT)
    s.connect(sock)
    # Version 6, every action, no step without a reply.
    command(s, b"O", struct.pack("!III", 6, 0x1FF, 0x1F))
    command(s, b"C", b"client.example\0" + b"4" + struct.pack("!H", 25) +
            b"192.0.2.1\0")
    command(s, b"H", b"client.example\0")
    command(s, b"M", b"<a@example.org>\0")
    command(s, b"R", b"<b@example.net>\0")
    command(s, b"L", b"Subject\0hi\0")
    command(s, b"N")
    for _ in range(chunks):
        command(s, b"B", b"x" * 65535)
    return s


def stuck_output(tmp, name):
    """A FIFO that a reader holds open and never reads: an output that
    takes nothing once its pipe is full.  Returns (path, reader fd)."""
    path = os.path.join(tmp, name + ".fifo")
    os.mkfifo(path)
    return path, os.open(path, os.O_RDONLY | os.O_NONBLOCK)


# --- the checks ----------------------------------------------------------

def second_signal(binary, tmp, sig, name, workers=0):
    """sig twice while inspect writes out its report: out at once."""
    fifo, reader = stuck_output(tmp, name)
    tty = sig == signal.SIGINT
    args = ["--output", fifo] + (["--n-workers", str(workers)]
                                 if workers else [])
    i = Inspect(binary, tmp, name, args, tty=tty)
    try:
        if not i.ready(workers):
            report(name + ": starts", False, read(i.log))
            return
        conn = fill_report(i.sock, 20)
        first = time.monotonic()
        if tty:
            i.type(b"\x03")		# ^C: SIGINT to the terminal's group
        else:
            i.p.send_signal(sig)
        if exited(i.p, 0.5) is not None:
            report(name + ": the first signal starts a stop that waits "
                   "for the output", False, "exit status %r, log:\n%s" %
                   (i.p.poll(), read(i.log)))
            return
        second = time.monotonic()
        if tty:
            i.type(b"\x03")
        else:
            i.p.send_signal(sig)
        status = exited(i.p, OUTPUT_STALL + WAIT)
        took = time.monotonic() - second
        what = "second ^C" if tty else "second SIGTERM"
        want = 128 + sig
        report("%s: a %s exits at once with status %d (took %.3f s, "
               "%.3f s after the first)" % (name, what, want, took,
                                            time.monotonic() - first),
               status == want and took < QUIT_BOUND,
               "exit status %r after %.3f s; log:\n%s" %
               (status, took, read(i.log)))
        log = read(i.log)
        report("%s: the log says what was lost" % name,
               "again: exiting at once" in log and
               "could not be written" in log, log)
        report("%s: the socket is removed" % name,
               not os.path.exists(i.sock))
        if workers:
            report("%s: the workers are gone" % name,
                   wait_for(lambda: not children(i.pid)))
        conn.close()
    finally:
        i.stop()
        os.close(reader)


def hangup_stops(binary, tmp, workers):
    """inspect on a terminal that hangs up stops, with its workers."""
    name = "hup-tty-w%d" % workers
    args = ["-q"] + (["--n-workers", str(workers)] if workers else [])
    i = Inspect(binary, tmp, name, args, tty=True)
    what = "with %d workers" % workers if workers else "alone"
    try:
        if not i.ready(workers):
            report(name + ": starts", False, read(i.log))
            return
        procs = [i.pid] + children(i.pid)
        i.hang_up()
        status = exited(i.p, WAIT)
        report("hangup: the terminal closed, inspect %s stops "
               "(exit status %r)" % (what, status), status == 0,
               read(i.log))
        report("hangup: %s: every process gone, the socket removed" %
               what, wait_for(lambda: not any(map(alive, procs))) and
               not os.path.exists(i.sock))
        report("hangup: %s: the log says why" % what,
               i.logged("on SIGHUP (the terminal hung up)"), read(i.log))
    finally:
        i.stop()


def hangup_reopens(binary, tmp, workers):
    """With the report and the log in files and nothing on the terminal
    that hangs up, SIGHUP reopens them: at the default log levels, which
    show it, as they show the stop that follows."""
    name = "hup-files-w%d" % workers
    out = os.path.join(tmp, name + ".out")
    args = ["--output", out] + (["--n-workers", str(workers)]
                                if workers else [])
    i = Inspect(binary, tmp, name, args, ctty=True)
    what = "with %d workers" % workers if workers else "alone"
    try:
        if not i.ready(workers):
            report(name + ": starts", False, read(i.log))
            return
        os.rename(i.log, i.log + ".1")
        i.hang_up()
        report("hangup: files only, inspect %s reopens them and goes on"
               % what, wait_for(lambda: i.logged(
                   "message: reopened the log and the report files")) and
               exited(i.p, 0.5) is None,
               "exit status %r; log before and after:\n%s" %
               (i.p.poll(), read(i.log + ".1") + read(i.log)))
        i.p.send_signal(signal.SIGTERM)
        status = exited(i.p, WAIT)
        report("log: 'stopping' shown at the default levels (%s)" % what,
               status == 0 and i.logged("message: stopping "),
               "exit status %r; log:\n%s" % (status, read(i.log)))
    finally:
        i.stop()


def daemon_reopens(binary, tmp):
    """A daemon launched from a terminal: SIGHUP reopens."""
    sock = os.path.join(tmp, "hup-daemon.sock")
    pidfile = os.path.join(tmp, "hup-daemon.pid")
    log = os.path.join(tmp, "hup-daemon.log")
    master, slave = os.openpty()
    status = subprocess.call(
        [binary, "--daemon", "-q", "-s", "unix:" + sock, "--pid-file",
         pidfile, "--log-path", log], stdin=slave, stdout=slave,
        stderr=slave, timeout=WAIT)
    os.close(slave)
    os.close(master)
    try:
        pid = int(read(pidfile) or "0")
    except ValueError:
        pid = 0
    if status != 0 or pid == 0:
        report("hangup: a daemon started from a terminal starts", False,
               read(log))
        return
    try:
        os.rename(log, log + ".1")
        os.kill(pid, signal.SIGHUP)
        report("hangup: a daemon started from a terminal reopens on "
               "SIGHUP", wait_for(lambda: "reopened the log" in read(log))
               and alive(pid), read(log + ".1") + read(log))
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not alive(pid))


def stop_time(binary, tmp, workers, bound):
    name = "stop-w%d" % workers
    args = ["-q"] + (["--n-workers", str(workers)] if workers else [])
    i = Inspect(binary, tmp, name, args)
    what = "with %d workers" % workers if workers else "alone"
    try:
        if not i.ready(workers):
            report(name + ": starts", False, read(i.log))
            return
        time.sleep(0.2)		# idle: libmilter in its listener's poll
        t = time.monotonic()
        i.p.send_signal(signal.SIGTERM)
        status = exited(i.p, WAIT)
        took = time.monotonic() - t
        report("stop time: idle, %s: exit %r %.3f s after SIGTERM "
               "(bound %.1f s)" % (what, status, took, bound),
               status == 0 and took < bound, read(i.log))
    finally:
        i.stop()


OUTSIDE = ["HUP", "INT", "TERM", "USR1", "USR2", "PIPE", "ALRM", "WINCH",
           "QUIT"]


def outside_signal(binary, tmp, signame, workers, everyone):
    """signame from outside, to inspect alone or (everyone) to all its
    processes, then SIGTERM."""
    sig = getattr(signal, "SIG" + signame)
    to = "inspect and its workers" if everyone else "inspect"
    name = "outside %s to %s (%s)" % (signame, to,
                                       "%d workers" % workers if workers
                                       else "one worker")
    tag = "out-%s-%d-%d" % (signame.lower(), workers, everyone)
    args = ["--output", os.path.join(tmp, tag + ".out")] + \
        (["--n-workers", str(workers)] if workers else [])
    i = Inspect(binary, tmp, tag, args)
    try:
        # Its worker (or workers) started, the processes to compare.
        if not i.ready(max(workers, 1)):
            report(name + ": starts", False, read(i.log))
            return
        before = children(i.pid)
        targets = [i.pid] + (before if everyone else [])
        for pid in targets:
            os.kill(pid, sig)
        if sig in (signal.SIGINT, signal.SIGTERM):
            t = time.monotonic()
            status = exited(i.p, WAIT)
            took = time.monotonic() - t
            report("%s: stops, exit %r in %.3f s" % (name, status, took),
                   status == 0 and took < STOP_BOUND and
                   not os.path.exists(i.sock), read(i.log))
            return
        if sig == signal.SIGHUP:
            report(name + ": reopens the files",
                   wait_for(lambda: i.logged("reopened the log")),
                   read(i.log))
        time.sleep(0.3)
        report(name + ": goes on serving, the same processes",
               i.p.poll() is None and children(i.pid) == before and
               serves(i.sock), read(i.log))
        t = time.monotonic()
        i.p.send_signal(signal.SIGTERM)
        status = exited(i.p, WAIT)
        took = time.monotonic() - t
        report("%s: then SIGTERM stops it, exit %r in %.3f s"
               % (name, status, took),
               status == 0 and took < STOP_BOUND and
               not os.path.exists(i.sock) and
               wait_for(lambda: not any(alive(c) for c in before)),
               read(i.log))
    finally:
        i.stop()


def main():
    binary, tmp = sys.argv[1], sys.argv[2]
    second_signal(binary, tmp, signal.SIGINT, "second-ctrl-c")
    second_signal(binary, tmp, signal.SIGTERM, "second-sigterm")
    second_signal(binary, tmp, signal.SIGINT, "second-ctrl-c-workers", 2)
    hangup_stops(binary, tmp, 0)
    hangup_stops(binary, tmp, 2)
    hangup_reopens(binary, tmp, 0)
    hangup_reopens(binary, tmp, 2)
    daemon_reopens(binary, tmp)
    stop_time(binary, tmp, 0, STOP_BOUND)
    stop_time(binary, tmp, 2, WORKERS_STOP_BOUND)
    for signame in OUTSIDE:
        outside_signal(binary, tmp, signame, 0, False)
        outside_signal(binary, tmp, signame, 0, True)
    for signame in ("HUP", "USR1", "TERM"):
        outside_signal(binary, tmp, signame, 2, True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
