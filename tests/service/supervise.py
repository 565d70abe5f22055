#!/usr/bin/env python3
"""supervise.py -- the supervisor and its workers, as an admin relies on them.

usage: supervise.py INSPECT DIR

Runs INSPECT (the binary) in the foreground, on unix sockets in the
scratch directory DIR, and checks:
  - workers die with their supervisor, even one killed with SIGKILL;
  - a worker holds no descriptor it does not need: not the pid file (nor
    its lock), not a directory;
  - a worker that cannot be started again (fork fails) is tried again
    later, and serves once it can;
  - workers that cannot be kept alive stop inspect with status 1 and the
    reason in the log, so that a service manager restarts it;
  - at SIGHUP the supervisor, still root, reopens no file planted where
    the report was, in a directory of the user it serves as: a FIFO does
    not hold it up, a file with another hard link is refused, and the
    report goes on in the old file;
  - a daemon's launcher exits 0 only once inspect serves, whatever stops
    it from starting its worker or the worker's threads.
Prints "ok NAME" or "FAIL NAME" and why, one line each; exits 1 if any
failed.  Needs root (to serve as other users, to set their limits).
"""

import os
import pwd
import random
import shutil
import signal
import stat
import subprocess
import sys
import time

from checker import WAIT, alive, children, kill, read, report, results, \
    serves, wait_for

STOP_BOUND = 1.0	# an idle stop (measured: a few ms)
# Users of no one's, whose processes this run alone counts: picked anew
# each run, since a process limit counts the zombies an earlier run may
# have left to a slow init.
NOBODY_ELSE = random.randrange(40000, 59000, 100)
# The delays between attempts: 1, 2, 4, 8, 8 s, then inspect gives up.
GIVE_UP_WAIT = 45.0

# A sanitizer build's leak check forks a tracer at exit, which a
# process limit forbids: it would fail, and say so, where inspect does not.
NO_LEAK_CHECK = dict(os.environ, ASAN_OPTIONS=(
    os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":"))

# One worker, and its supervisor saying so once it serves.
SERVING = ["--n-workers", "1", "--log-level", "all"]



class Inspect:
    """An inspect in the foreground on DIR/NAME.sock, logging to
    DIR/NAME.log, with no report unless args give an --output; prefix
    (setpriv) comes before the binary."""

    def __init__(self, binary, tmp, name, args=(), prefix=()):
        self.sock = os.path.join(tmp, name + ".sock")
        self.log = os.path.join(tmp, name + ".log")
        quiet = [] if "--output" in args else ["-q"]
        with open(os.path.join(tmp, name + ".stderr"), "wb") as err:
            self.p = subprocess.Popen(
                list(prefix) + [binary] + quiet + ["-s", "unix:" + self.sock,
                                                   "--log-path", self.log] +
                list(args),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=err, start_new_session=True)
        self.pid = self.p.pid
        self.workers = []

    def ready(self, workers=1):
        ok = wait_for(lambda: os.path.exists(self.sock) and
                      "listening on" in read(self.log) and
                      len(children(self.pid)) >= workers)
        self.workers = children(self.pid)
        return ok

    def exited(self, timeout=WAIT):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        for pid in [self.pid] + children(self.pid) + self.workers:
            kill(pid, signal.SIGKILL)
        self.p.wait()


def limit(pid, soft):
    """Set pid's soft process limit (None: as high as the hard one) as
    its own user does: root may lack CAP_SYS_RESOURCE (in a container),
    and the user may move the soft limit up to the hard one."""
    hard = ([line.split()[3] for line in read("/proc/%d/limits" %
                                               pid).splitlines()
             if line.startswith("Max processes")] + ["unlimited"])[0]
    subprocess.run(["setpriv", "--reuid=%d" % NOBODY_ELSE,
                    "--regid=%d" % NOBODY_ELSE, "--clear-groups",
                    "prlimit", "--pid", str(pid), "--nproc=%s:%s" %
                    (hard if soft is None else soft, hard)], check=True)


def user_dir(tmp, name, uid):
    """A directory of tmp's that belongs to uid."""
    d = os.path.join(tmp, name)
    os.mkdir(d)
    os.chown(d, uid, uid)
    os.chmod(d, 0o755)
    return d


# --- the checks ----------------------------------------------------------

def dies_with_supervisor(binary, tmp):
    i = Inspect(binary, tmp, "pdeath", ["-u", "nobody", "--n-workers", "2"])
    try:
        if not i.ready(2):
            report("supervisor killed: starts", False, read(i.log))
            return
        workers = i.workers
        kill(i.pid, signal.SIGKILL)
        i.p.wait()
        report("supervisor killed with SIGKILL: its 2 workers die too",
               wait_for(lambda: not any(alive(w) for w in workers), 2.0),
               "still alive: %r" % [w for w in workers if alive(w)])
    finally:
        i.stop()


def holds_nothing_more(binary, tmp):
    pidfile = os.path.join(tmp, "fds.pid")
    i = Inspect(binary, tmp, "fds", ["-u", "nobody", "--n-workers", "2",
                                    "--pid-file", pidfile, "--log-level",
                                    "all", "--output",
                                    os.path.join(tmp, "fds.out")])
    try:
        # Serving, each worker has dropped what it was forked with.
        if not i.ready(2) or not wait_for(lambda: "2 workers serving" in
                                          read(i.log)):
            report("descriptors: starts", False, read(i.log))
            return
        pid_ino = os.stat(pidfile).st_ino
        for w in i.workers:
            bad = []
            for fd in os.listdir("/proc/%d/fd" % w):
                path = "/proc/%d/fd/%s" % (w, fd)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    bad.append("%s: the directory %s" %
                               (fd, os.readlink(path)))
                elif st.st_ino == pid_ino and \
                        os.readlink(path) == pidfile:
                    bad.append("%s: the pid file" % fd)
            report("descriptors: worker %d holds neither the pid file nor "
                   "a directory" % w, not bad, "\n".join(bad))
        kill(i.pid, signal.SIGTERM)
        report("descriptors: the supervisor stops, the pid file removed",
               i.exited() == 0 and not os.path.exists(pidfile),
               read(i.log))
    finally:
        i.stop()


def respawn_retried(binary, tmp):
    """fork() fails for a user at its process limit: the worker killed
    is started again once the limit allows."""
    d = user_dir(tmp, "respawn", NOBODY_ELSE)
    prefix = ["setpriv", "--reuid=%d" % NOBODY_ELSE,
              "--regid=%d" % NOBODY_ELSE, "--clear-groups"]
    i = Inspect(binary, d, "respawn", SERVING, prefix)
    try:
        if not i.ready(1) or not wait_for(lambda: "1 worker serving" in
                                          read(i.log)):
            report("respawn: starts", False, read(i.log))
            return
        # The supervisor alone counts now: no second process may start.
        limit(i.pid, 1)
        kill(i.workers[0], signal.SIGKILL)
        report("respawn: a failed start is logged, and tried again later",
               wait_for(lambda: "cannot start a worker: fork:" in
                        read(i.log) and "starting a worker again in" in
                        read(i.log)), read(i.log))
        report("respawn: meanwhile the supervisor keeps running",
               i.p.poll() is None, read(i.log))
        limit(i.pid, None)
        report("respawn: once fork() works again, a worker serves",
               wait_for(lambda: len(children(i.pid)) == 1 and
                        serves(i.sock), 20.0), read(i.log))
        kill(i.pid, signal.SIGTERM)
        report("respawn: then stops with status 0", i.exited() == 0,
               read(i.log))
    finally:
        i.stop()


def gives_up(binary, tmp):
    """Workers that can never be started again: inspect exits 1."""
    d = user_dir(tmp, "giveup", NOBODY_ELSE)
    prefix = ["setpriv", "--reuid=%d" % NOBODY_ELSE,
              "--regid=%d" % NOBODY_ELSE, "--clear-groups"]
    i = Inspect(binary, d, "giveup", SERVING, prefix)
    try:
        if not i.ready(1) or not wait_for(lambda: "1 worker serving" in
                                          read(i.log)):
            report("give up: starts", False, read(i.log))
            return
        limit(i.pid, 1)
        kill(i.workers[0], signal.SIGKILL)
        t = time.monotonic()
        status = i.exited(GIVE_UP_WAIT)
        took = time.monotonic() - t
        log = read(i.log)
        report("give up: workers that cannot be started again stop inspect"
               " with status 1 (after %.1f s)" % took, status == 1,
               "exit status %r\n%s" % (status, log))
        report("give up: the log says why",
               "workers failed 6 times in a row" in log, log)
        report("give up: the socket is removed", not os.path.exists(i.sock))
    finally:
        i.stop()


def planted(binary, tmp):
    """Root's supervisor reopens in a directory nobody owns."""
    uid = pwd.getpwnam("nobody").pw_uid
    d = user_dir(tmp, "planted", uid)
    out = os.path.join(d, "report.txt")
    i = Inspect(binary, tmp, "planted", ["-u", "nobody", "--output", out])
    try:
        if not i.ready(1) or not serves(i.sock):
            report("planted: starts", False, read(i.log))
            return
        os.rename(out, out + ".1")
        os.mkfifo(out)
        os.chown(out, uid, uid)
        kill(i.pid, signal.SIGHUP)
        report("planted FIFO: the reopening refuses it, and says so",
               wait_for(lambda: "cannot reopen --output %s: is a FIFO "
                        "that no one reads" % out in read(i.log)),
               read(i.log))
        before = len(read(out + ".1"))
        report("planted FIFO: the report goes on in the old file",
               serves(i.sock) and
               wait_for(lambda: len(read(out + ".1")) > before),
               read(i.log))
        os.unlink(out)
        with open(out, "w"):
            pass
        os.chown(out, uid, uid)
        os.link(out, os.path.join(d, "elsewhere"))
        kill(i.pid, signal.SIGHUP)
        report("planted hard link: the reopening refuses it, and says so",
               wait_for(lambda: "cannot reopen --output %s: has another "
                        "hard link" % out in read(i.log)), read(i.log))
        t = time.monotonic()
        kill(i.pid, signal.SIGTERM)
        status = i.exited()
        took = time.monotonic() - t
        report("planted: the supervisor still answers: SIGTERM stops it, "
               "exit %r in %.3f s" % (status, took),
               status == 0 and took < STOP_BOUND, read(i.log))
    finally:
        i.stop()


def launcher_waits(binary, tmp):
    """Process limits that leave the daemon no room at one of its own
    steps (detaching, the worker, the worker's threads): its launcher
    says why and exits 1, and nothing is left.  (libmilter's own threads
    start later, unseen: a failure there stops the worker afterwards.)
    Each limit has a user of its own, whose processes no earlier run left
    behind.  With room, it exits 0 and serves."""
    for limit in (2, 3, 4, 1000):
        uid = NOBODY_ELSE + limit
        d = user_dir(tmp, "launch%d" % limit, uid)
        sock = os.path.join(d, "s.sock")
        pidfile = os.path.join(d, "s.pid")
        try:
            r = subprocess.run(
                ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid,
                 "--clear-groups", "prlimit", "--nproc=%d" % limit, binary,
                 "--daemon", "-q", "-s", "unix:" + sock, "--pid-file",
                 pidfile, "--log-path", os.path.join(d, "s.log")],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                env=NO_LEAK_CHECK)
            status, err = r.returncode, r.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            status, err = None, "the launcher did not exit in 60 s"
        if limit == 1000:
            report("launcher, room enough: exit 0, and it serves",
                   status == 0 and serves(sock), err)
        else:
            report("launcher, %d processes at most: exit 1, saying why in "
                   "one line, nothing left running" % limit,
                   status == 1 and len(err.splitlines()) == 1 and
                   wait_for(lambda: not os.path.exists(sock)),
                   "exit status %r\n%s\nleft: %r" % (status, err,
                                                     os.listdir(d)))
        try:
            pid = int(read(pidfile))
        except ValueError:
            pid = 0
        if pid > 0:
            kill(pid, signal.SIGTERM)
            wait_for(lambda: not alive(pid))


def main():
    binary, tmp = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0:
        report("supervise.py runs as root", False, "needs root")
        return 1
    # Started as other users, inspect must be reachable by them: the
    # tree may be in a directory only root can enter (a clone in /root).
    shared = os.path.join(tmp, "inspect-for-all")
    shutil.copy2(binary, shared)
    os.chmod(shared, 0o755)
    dies_with_supervisor(binary, tmp)
    holds_nothing_more(binary, tmp)
    respawn_retried(shared, tmp)
    planted(binary, tmp)
    launcher_waits(shared, tmp)
    gives_up(shared, tmp)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
