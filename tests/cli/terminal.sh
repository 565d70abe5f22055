#!/bin/bash
# terminal.sh -- the report on a terminal: colour and the summary line
# where a person watches, and elsewhere the very bytes of before.
#
# usage: tests/cli/terminal.sh
#
# One miltertest case (tests/milter/t-rcpt-rejected.lua: macros, rejected
# recipients, an ESC from the client) runs against inspect started in
# each way below.  On
# a pseudo-terminal (pty-run.py) the report is coloured and each session
# summed up; in a pipe, with NO_COLOR set, with TERM=dumb or with --color
# never it has no colour, and then it is, byte for byte, the golden file
# of the miltertest layer.  With colour, taking inspect's own SGR
# sequences away leaves that same file: no byte of the MTA's became an
# escape sequence.  Ends with "N passed, N failed".
set -u
export LC_ALL=C

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
inspect=$top/inspect
milter=$top/tests/milter
case=t-rcpt-rejected
golden=$milter/$case.ok
passed=0
failed=0
pid=

# One stamp, as inspect writes it.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
# Every SGR sequence inspect writes, and only those.
sgr=$'\e\\[(36|1;35|33|32|7|27|1;31|0)m'
# The start of the run's first line, coloured.
start_sgr=$'\e\\[36m\\[0\\]\e\\[0m \e\\[1;35mstart\e\\[0m '

tmp=$(mktemp -d "${TMPDIR:-/tmp}/inspect-terminal.XXXXXX") || exit 2
cleanup() {
	# shellcheck disable=SC2046
	terminate $pid $(jobs -p)
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run NAME HOW [ENV...] -- ARGS...: inspect with ARGS (and ENV), its
# report on a pseudo-terminal (HOW pty) or a pipe (HOW pipe), while the
# case's miltertest runs; the report in $tmp/NAME.out.
run() {
	local name=$1 how=$2 envs=() sock=$tmp/$1.sock job
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	rm -f "$tmp/pid"
	if [ "$how" = pty ]; then
		env "${envs[@]}" "$top/tests/cli/pty-run.py" "$tmp/$name.out" \
		    "$inspect" -s "unix:$sock" --no-reply no \
		    --pid-file "$tmp/pid" "$@" 2>"$tmp/$name.err" &
	else
		env "${envs[@]}" "$inspect" -s "unix:$sock" --no-reply no \
		    --pid-file "$tmp/pid" "$@" 2>"$tmp/$name.err" |
		    cat >"$tmp/$name.out" &
	fi
	job=$!
	if ! wait_until 10 grep -q 'listening on' "$tmp/$name.err"; then
		fail "$name: inspect starts" "$(cat "$tmp/$name.err")"
		terminate "$job"
		return 1
	fi
	pid=$(cat "$tmp/pid")
	echo "$pid" >"$tmp/$name.pid"
	timeout -k 5 30 miltertest -D socket="unix:$sock" -D dir="$tmp" \
	    -D lib="$milter/lib.lua" -D client=1 -s "$milter/$case.lua" \
	    >"$tmp/$name.client" 2>&1 ||
	    fail "$name: miltertest" "$(cat "$tmp/$name.client")"
	wait_until 10 grep -q ' close ' "$tmp/$name.out"
	# The summary, where there is one, follows the close.
	sleep 0.2
	# inspect is not this shell's child, but pty-run.py's or the
	# pipeline's: it is waited for by its pid, the job after it.
	kill -TERM "$pid"
	wait_until 15 gone "$pid" || kill -KILL "$pid"
	terminate "$job"
	pid=
}

# normal NAME FILE: NAME's report FILE as the golden files have it:
# timestamps as TIME, the run's id as RUN if it has inspect's pid,
# inspect's version as VERSION, no CR from a terminal's line discipline.
normal() {
	local id version start

	id="[0-9]{8}T[0-9]{6}Z-p$(cat "$tmp/$1.pid")"
	version=$("$inspect" --version | cut -d ' ' -f 2)
	start="^(\\[0\\] start TIME run )$id( inspect )${version//./\\.}\$"
	tr -d '\r' <"$2" |
	    sed -E -e "s/^(\\[[0-9]+\\] [a-z]+ )$stamp(\$| )/\1TIME\2/" \
	    -e "s/$start/\1RUN\2VERSION/"
}

# plain NAME: the report has no ESC at all, and is the golden file.
plain() {
	if grep -q $'\e' "$tmp/$1.out"; then
		fail "$1: no colour" "$(grep -m 3 $'\e' "$tmp/$1.out" | cat -v)"
	elif ! normal "$1" "$tmp/$1.out" | cmp -s - "$golden"; then
		fail "$1: the golden file byte for byte" \
		    "$(normal "$1" "$tmp/$1.out" | diff "$golden" - |
		    head -20)"
	else
		ok "$1: no colour, the golden file byte for byte"
	fi
}

# colored NAME: the report has inspect's colours, and without them (and
# the summary line) it is the golden file.
colored() {
	local out=$tmp/$1.out

	if ! grep -q $'^\e\\[36m\\[1\\]\e\\[0m \e\\[1;35menvrcpt\e\\[0m ' \
	    "$out" || ! grep -qF $'  \e[1;31mrejected\e[0m: ' "$out" ||
	    ! grep -qF $'macro \e[33m' "$out" ||
	    ! grep -qF $'\e[32m"' "$out"; then
		fail "$1: coloured" "$(head -5 "$out" | cat -v)"
		return
	fi
	ok "$1: tag, stage, macro names, values and rejections coloured"
	# The run's start line first, its tag and word as an event's.
	if head -n 1 "$out" | grep -q "^$start_sgr"; then
		ok "$1: the start line first, coloured"
	else
		fail "$1: the start line first, coloured" \
		    "$(head -n 1 "$out" | cat -v)"
	fi
	# The MTA's ESC, as four characters in reverse video.
	if grep -qF $'\e[7m\\x1b\e[27m' "$out"; then
		ok "$1: an escape stands out"
	else
		fail "$1: an escape stands out" "$(grep -F 'x1b' "$out" | cat -v)"
	fi
	sed -E "s/$sgr//g" "$out" >"$tmp/$1.stripped"
	if grep -q $'\e' "$tmp/$1.stripped"; then
		fail "$1: every ESC is inspect's" \
		    "$(grep $'\e' "$tmp/$1.stripped" | head -3 | cat -v)"
	else
		ok "$1: every ESC is inspect's"
	fi
	if normal "$1" "$tmp/$1.stripped" | grep -v '^\[[0-9]*\] summary ' |
	    cmp -s - "$golden"; then
		ok "$1: without its colours, the golden file"
	else
		fail "$1: without its colours, the golden file" \
		    "$(normal "$1" "$tmp/$1.stripped" | diff "$golden" - |
		    head)"
	fi
}

# summed NAME WANT: whether the report has a summary line (WANT 1) or not.
summed() {
	local n

	n=$(tr -d '\r' <"$tmp/$1.out" | sed -E "s/$sgr//g" |
	    grep -c '^\[1\] summary .* duration [0-9]*\.[0-9]\{6\}s$')
	if [ "$n" = "$2" ]; then
		ok "$1: summary lines: $n"
	else
		fail "$1: summary lines: $2" "found $n"
	fi
}

for tool in miltertest python3; do
	command -v "$tool" >/dev/null ||
	    { echo "terminal.sh: $tool not found" >&2; exit 2; }
done
[ -x "$inspect" ] || { echo "terminal.sh: no $inspect: run make" >&2; exit 2; }

run terminal pty TERM=xterm -- && colored terminal && summed terminal 1
run always pipe TERM=xterm -- --color always && colored always &&
    summed always 0
run pipe pipe TERM=xterm -- && plain pipe
run no-color pty TERM=xterm NO_COLOR=1 -- --no-summary && plain no-color
run dumb pty TERM=dumb -- --no-summary && plain dumb
run never pty TERM=xterm -- --color never --no-summary && plain never
run never-summed pty TERM=xterm -- --color never && summed never-summed 1
run json pty TERM=xterm -- --format json && {
	if grep -q $'\e' "$tmp/json.out"; then
		fail "json: never coloured" "$(head -3 "$tmp/json.out" | cat -v)"
	else
		ok "json: never coloured"
	fi
	check "json: a summary event" \
	    grep -q '^{"session":1,"run":"[^"]*","stage":"summary",' \
	    "$tmp/json.out"
	check "json: no start line" test "$(grep -vc '^{' "$tmp/json.out")" = 0
}

summary
[ "$failed" -eq 0 ]
