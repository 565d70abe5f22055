#!/usr/bin/env python3
"""Read the copies Postfix delivered (maildir files) and the messages
Sendmail queued (qf files), for tests/forward/run.sh.

usage: mailbox.py normal DIR        every copy in DIR, in one text that two
                                    runs compare equal: Received headers
                                    left out (queue ids, times), copies in
                                    the order of their Delivered-To
       mailbox.py dkim FILE         the DKIM-Signature's tags that do not
                                    change from run to run: v a c d s h bh
       mailbox.py dkim-b FILE       its b= tag, the signature itself
       mailbox.py header FILE NAME  each value of header NAME, unfolded

FILE is a delivered copy, or a Sendmail qf file (its header lines start
with H).  Exits 1 if what is asked for is not there.
"""

import os
import re
import sys

STABLE_TAGS = ["v", "a", "c", "d", "s", "h", "bh"]


def headers(path):
    """[(name, raw value with its folding)] of the message at PATH."""
    with open(path, "rb") as f:
        data = f.read().decode("latin-1").replace("\r\n", "\n")
    qf = os.path.basename(path).startswith("qf")
    out = []
    for line in data.split("\n"):
        if qf:
            # qf: H[?flags?]Name: value, continuation lines indented;
            # other record types end the headers we want.
            if line.startswith("H"):
                line = re.sub(r"^H(\?[^?]*\?)?", "", line)
            elif line[:1] in (" ", "\t") and out:
                pass
            else:
                if out and line.startswith("."):
                    break
                continue
        elif line == "":
            break
        if line[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + "\n" + line)
        elif ":" in line:
            name, _, value = line.partition(":")
            out.append((name, value))
    return out


def values(path, name):
    return [v for n, v in headers(path) if n.lower() == name.lower()]


def dkim_tags(path):
    sigs = values(path, "DKIM-Signature")
    if len(sigs) != 1:
        return None
    tags = {}
    for part in sigs[0].split(";"):
        key, eq, value = part.partition("=")
        if eq:
            tags[key.strip()] = re.sub(r"\s+", "", value)
    return tags


def normal(directory):
    copies = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        with open(path, "rb") as f:
            data = f.read().decode("latin-1")
        head, sep, body = data.partition("\n\n")
        kept, skipping = [], False
        for line in head.split("\n"):
            if line[:1] in (" ", "\t"):
                if not skipping:
                    kept.append(line)
                continue
            skipping = line.lower().startswith("received:")
            if not skipping:
                kept.append(line)
        copies.append("\n".join(kept) + sep + body)
    copies.sort(key=lambda c: (re.search(r"(?m)^Delivered-To: (.*)$", c)
                               or re.search("", "")).group(0) + c)
    return "".join("=== copy %d of %d\n%s" % (i + 1, len(copies), c)
                   for i, c in enumerate(copies))


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    what, path = sys.argv[1], sys.argv[2]
    if what == "normal":
        sys.stdout.write(normal(path))
        return 0
    if what == "header" and len(sys.argv) == 4:
        found = values(path, sys.argv[3])
        for v in found:
            print(re.sub(r"\n[ \t]+", " ", v).strip())
        return 0 if found else 1
    if what in ("dkim", "dkim-b"):
        tags = dkim_tags(path)
        if tags is None:
            return 1
        if what == "dkim-b":
            print(tags.get("b", ""))
        else:
            print(" ".join("%s=%s" % (t, tags.get(t, "")) for t in
                           STABLE_TAGS))
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
