#!/usr/bin/env python3
"""pty-run.py -- run a command on a pseudo-terminal of its own.

usage: pty-run.py OUT COMMAND [ARG...]

COMMAND runs with a new pseudo-terminal as its standard input and output
(its standard error is left as it is, so that it can go to a file), as
it would in a terminal emulator; everything it writes there is copied to
the file OUT as it comes.  Exits with COMMAND's status (128 + the signal
that ended it).
"""

import os
import pty
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    err = os.dup(2)
    pid, master = pty.fork()
    if pid == 0:
        os.dup2(err, 2)
        try:
            os.execvp(sys.argv[2], sys.argv[2:])
        finally:
            os._exit(127)
    with open(sys.argv[1], "wb", buffering=0) as out:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:		# EIO: the terminal's last user left
                break
            if not data:
                break
            out.write(data)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) % 256 if \
        os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main())
