#!/bin/bash
# docs.sh -- the documents stay true: every manual page lint-clean for
# mandoc and readable by man without a warning, the options of --help,
# of inspect(8) and of options.c's table the same, and every sample
# report line in README and the manual pages one a golden file holds;
# README no longer than 200 lines.
#
# usage: tests/cli/docs.sh
#
# Needs the built inspect, mandoc, man and python3; not root.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
passed=0
failed=0
pages="inspect.8 inspect-report.5 inspect-macros.7"

tmp=$(mktemp -d /tmp/inspect-docs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

for tool in mandoc man python3; do
	if ! command -v "$tool" >/dev/null; then
		fail "$tool is installed (tests/install-deps.sh)"
		summary
		exit 1
	fi
done

# mandoc -Tlint -W warning prints nothing; man (groff) neither, at the
# width a terminal usually has.
for page in $pages; do
	if out=$(mandoc -Tlint -W warning "$top/$page" 2>&1) && [ -z "$out" ]
	then
		ok "$page: mandoc -Tlint -W warning says nothing"
	else
		fail "$page: mandoc -Tlint -W warning says nothing" "$out"
	fi
	out=$(MANWIDTH=80 man -l "$top/$page" 2>&1 >/dev/null)
	if [ -z "$out" ]; then
		ok "$page: man -l warns of nothing"
	else
		fail "$page: man -l warns of nothing" "$out"
	fi
done

# README stays the admin's: short enough to read at one sitting, with
# the developer's matter in HACKING.
lines=$(wc -l <"$top/README")
if [ "$lines" -le 200 ]; then
	ok "README is at most 200 lines ($lines)"
else
	fail "README is at most 200 lines" "$lines lines: move matter to" \
	    "HACKING or a manual page"
fi
check "HACKING exists" test -s "$top/HACKING"

# Every page the Makefile installs, and every page in the tree.
for page in $pages; do
	check "make install installs $page" grep -qE "^MAN = .*\\b$page\\b" \
	    "$top/Makefile"
done

# The options: those --help names, those inspect(8) gives an entry (.It
# Fl ...), and those options.c's getopt table holds (an alias counts as
# an option of its own in all three).
"$top/inspect" --help >"$tmp/help" 2>&1
relay "$(python3 - "$tmp/help" "$top/inspect.8" "$top/options.c" <<'EOF'
import re, sys

help_text = open(sys.argv[1]).read()
man = open(sys.argv[2]).read()
src = open(sys.argv[3]).read()

opt = r"--[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
helped = set(re.findall(r"(?<![\w-])" + opt, help_text))
helped |= set(re.findall(r"^\s+(-[a-zA-Z]),", help_text, re.M))

documented = set()
for line in man.splitlines():
    if not line.startswith(".It ") or " Fl " not in " " + line[3:]:
        continue
    line = line.replace("\\-", "-")
    for m in re.finditer(r"\bFl (-?[a-zA-Z][a-z0-9-]*)", line):
        documented.add("-" + m.group(1))

table = set("--" + n for n in re.findall(
    r'^\s*\{ "([a-z0-9-]+)",\s+(?:no|required|optional)_argument', src,
    re.M))
short = re.search(r'shortopts\[\] = "([^"]*)"', src).group(1)
table |= set("-" + c for c in short if c.isalpha())

def report(name, missing):
    if missing:
        print("FAIL " + name)
        print("  " + " ".join(sorted(missing)))
    else:
        print("ok " + name)

if len(helped) < 20 or len(documented) < 20 or len(table) < 20:
    print("FAIL the options parsed: --help %d, inspect(8) %d, options.c %d"
          % (len(helped), len(documented), len(table)))
report("every option of --help has an entry in inspect(8)",
       helped - documented)
report("every option inspect(8) documents is in --help",
       documented - helped)
report("every option of options.c's table is in --help",
       table - helped)
report("every option of options.c's table is in inspect(8)",
       table - documented)
report("every option --help names is in options.c's table",
       helped - table)
EOF
)"

# The sample reports: each "[N] ..." line of README (indented) and of the
# pages' literal displays is a line of a golden file from a real run
# (tests/e2e/*.txt, tests/milter/*.ok), times and durations aside.
relay "$(python3 - "$top" $pages <<'EOF'
import glob, os, re, sys

top = sys.argv[1]
stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")

def norm(line):
    line = stamp.sub("TIME", line)
    return re.sub(r"duration (?:[0-9.]+s|DURATION)", "duration DURATION",
                  line)

golden = set()
for f in (glob.glob(os.path.join(top, "tests/e2e/*.txt")) +
          glob.glob(os.path.join(top, "tests/milter/*.ok"))):
    with open(f, encoding="utf-8", errors="surrogateescape") as fh:
        golden.update(norm(l.rstrip("\n")) for l in fh)

samples = []
with open(os.path.join(top, "README"), encoding="utf-8") as fh:
    for n, l in enumerate(fh, 1):
        if re.match(r"    \[\d+\] ", l):
            samples.append(("README", n, l[4:].rstrip("\n")))
for page in sys.argv[2:]:
    literal = False
    with open(os.path.join(top, page), encoding="utf-8") as fh:
        for n, l in enumerate(fh, 1):
            l = l.rstrip("\n")
            if l.startswith(".Bd -literal"):
                literal = True
            elif l.startswith(".Ed"):
                literal = False
            elif literal and re.match(r"\[\d+\] ", l):
                samples.append((page, n, l.replace("\\e", "\\")))

checked = 0
for where, n, line in samples:
    checked += 1
    if norm(line) not in golden:
        print("FAIL %s:%d: a sample line no golden file holds" % (where, n))
        print("  " + line)
print(("ok " if checked >= 20 else "FAIL ") +
      "%d sample lines checked against the golden files" % checked)
EOF
)"

summary
[ "$failed" -eq 0 ]
