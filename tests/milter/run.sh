#!/usr/bin/env bash
# run.sh -- drive the real inspect binary with miltertest scripts.
#
# usage: tests/milter/run.sh [-u] [CASE...]
#
# Every t-NAME.lua (or only the CASEs named) runs against an inspect of its
# own.  What inspect printed, with its timestamps and its run's id
# normalised, must match t-NAME.ok byte for byte, and a text report begin
# with the run's start line; inspect must answer every step with "continue"
# (lib.lua), exit 0 on SIGTERM, and write nothing to standard error but its
# "listening on" and "stopping on SIGTERM" lines and the case's "-- stderr:"
# lines.  -u, or UPDATE=1 in the environment, rewrites the .ok files
# instead: read them against what the script sent before keeping them.
#
# Header lines of a .lua file change how it runs:
#   -- inspect-args: ARGS  more options for inspect, split at white space
#   -- inspect-arg: ARG    one more argument, kept whole (one a line);
#                          @HERE@ in it is this directory
#   -- socket: inet        listen on 127.0.0.1 rather than a unix socket
#   -- clients: N          run N miltertests at once
#   -- check: PROG ARGS    also run PROG ARGS REPORT in the case's
#                          directory; it fails the case by exiting non-zero
#   -- golden: none        no .ok file: the output is not repeatable
#   -- summaries: N        the report ends with N summary lines, which
#                          stand for closes that --stages leaves out
#   -- stderr: LINE        a line inspect must write to standard error
#                          besides "listening on" (one directive a line;
#                          @HERE@ in it is this directory)
#
# The cases run side by side, JOBS (default 16) at a time: libmilter takes
# up to 5 s to stop, and that wait dominates a case.
set -u
export LC_ALL=C		# bytes, not characters, for sed, grep and sort

# Every wait is bounded; these are the bounds, in seconds.
READY_WAIT=10		# for inspect to listen
CLIENT_WAIT=30		# for one miltertest, or one check
SETTLE_WAIT=5		# for the last session's close to be printed
STOP_WAIT=15		# for inspect to exit after SIGTERM (about 5)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 2
inspect=$(cd "$here/../.." && pwd)/inspect
. "$here/../lib.sh"
update=${UPDATE:-0}
[ "$update" = 0 ] && update=
max_jobs=${JOBS:-16}
tmp=

# One stamp, as inspect writes it: RFC 3339, UTC, microseconds.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
# inspect's version, as its start line gives it (set in main).
version=

main() {
	local cases=() name opt i=0 passed=0 failed=0

	while getopts u opt; do
		case $opt in
		u)	update=1 ;;
		*)	echo "usage: $0 [-u] [CASE...]" >&2; exit 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	check_tools || exit 2
	version=$("$inspect" --version | cut -d ' ' -f 2)
	if [ $# -gt 0 ]; then
		for name; do
			name=$(basename "$name" .lua)
			cases+=("t-${name#t-}")
		done
	else
		for name in "$here"/t-*.lua; do
			cases+=("$(basename "$name" .lua)")
		done
	fi

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/inspect-milter.XXXXXX") || exit 2
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	for name in "${cases[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do
			wait -n
		done
		run_case "$name" "$i" >"$tmp/$name.result" 2>&1 &
		i=$((i + 1))
	done
	wait

	for name in "${cases[@]}"; do
		tally "$tmp/$name.result" "$name"
	done
	summary
	[ "$failed" -eq 0 ]
}

# Missing tools fail the run: a test that cannot run has not passed.
check_tools() {
	local tool status=0

	if [ ! -x "$inspect" ]; then
		echo "run.sh: $inspect not found; build it with make" >&2
		status=1
	fi
	for tool in miltertest python3 timeout; do
		if ! command -v "$tool" >/dev/null; then
			echo "run.sh: $tool not found" \
			    "(tests/install-deps.sh installs it)" >&2
			status=1
		fi
	done
	return $status
}

# Ends what a case left running (only after an interrupt: a case reaps
# its own processes and removes their pid files), then the scratch files.
cleanup() {
	local f

	[ -n "$tmp" ] || return
	for f in "$tmp"/*/*.pid; do
		[ -f "$f" ] || continue
		case $f in
		*/inspect.pid)	kill -KILL "$(cat "$f")" 2>/dev/null ;;
		*)		kill -TERM "$(cat "$f")" 2>/dev/null ;;
		esac
	done
	# shellcheck disable=SC2046
	kill $(jobs -p) 2>/dev/null
	rm -rf "$tmp"
}

# Runs one case; prints "ok NAME", or "FAIL NAME" and what went wrong.
# Each case runs in a subshell of its own, so start_inspect can hand pid
# and spec to the steps after it in plain variables.
run_case() {
	local name=$1 index=$2
	local lua=$here/$name.lua dir=$tmp/$name golden=$here/$name.ok
	local args kind clients check ok=1 note=

	mkdir "$dir" || return
	if [ ! -f "$lua" ]; then
		echo "FAIL $name"
		echo "no such case: $lua"
		return
	fi
	read -ra args <<<"$(directive "$lua" inspect-args '')"
	mapfile -t -O ${#args[@]} args < <(sed -n 's/^-- inspect-arg: //p' \
	    "$lua")
	args=("${args[@]//@HERE@/$here}")
	# The cases hang up right after their last step.  With no-reply
	# stages libmilter gives up on a hung-up unix socket before reading
	# what the MTA sent last (inspect's default there keeps them to the
	# content stages, which a case may end with); the cases want every
	# event, so they ask for replies unless they say.
	case " ${args[*]} " in
	*" --no-reply "*) ;;
	*) args+=(--no-reply no) ;;
	esac
	kind=$(directive "$lua" socket unix)
	clients=$(directive "$lua" clients 1)
	read -ra check <<<"$(directive "$lua" check '')"

	{
		if start_inspect "$dir" "$kind" $(($$ * 7 + index * 101)) \
		    "${args[@]}"; then
			run_clients "$dir" "$lua" "$clients" || ok=
			# The last close comes after miltertest is gone.
			wait_for "$SETTLE_WAIT" all_closed "$dir/out" \
			    "$(directive "$lua" summaries '')"
			stop_inspect "$dir" || ok=
			check_stderr "$dir" "$lua" || ok=
			if [ "$(directive "$lua" golden '')" != none ]; then
				compare "$dir" "$golden" || ok=
				note=${update:+ (golden file rewritten)}
			fi
			if [ ${#check[@]} -gt 0 ]; then
				run_check "$dir" "${check[@]}" || ok=
			fi
		else
			ok=
		fi
	} >"$dir/report" 2>&1

	if [ -n "$ok" ]; then
		echo "ok $name$note"
	else
		echo "FAIL $name"
	fi
	cat "$dir/report"
}

# The value of a case's "-- KEY: value" header line, or the default.
directive() {
	local value

	value=$(sed -n "s/^-- $2: //p" "$1" | head -n 1)
	printf '%s\n' "${value:-$3}"
}

# Runs a command every 50 ms until it succeeds or limit seconds pass.
wait_for() {
	local limit=$1 i
	shift

	for ((i = 0; i < limit * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# Whether a child is still running: a child that exited stays a zombie
# until waited for, and kill -0 would still find it.  (Read from /proc:
# this runs every 50 ms, and a ps each time would cost more than a case.)
running() {
	local state

	read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" && [ "$state" != Z ]
}

# Whether inspect has said it listens, or has given up.
started() {
	grep -q '^inspect: listening on ' "$1/err" || ! running "$2"
}

# Starts inspect on the case's socket and waits until it listens.  Sets
# pid and spec.  An inet port comes from seed (this run's pid and the
# case's number, so that parallel runs differ); a port in use, by another
# run or another program, moves on to the next candidate.
start_inspect() {
	local dir=$1 kind=$2 seed=$3 attempt port
	shift 3

	for ((attempt = 0; attempt < 20; attempt++)); do
		if [ "$kind" = inet ]; then
			port=$((20000 + (seed + attempt * 997) % 12000))
			spec=inet:$port@127.0.0.1
		else
			spec=unix:$dir/sock
		fi
		: >"$dir/err"	# before started() looks at it
		"$inspect" -s "$spec" "$@" >"$dir/out" 2>>"$dir/err" &
		pid=$!
		echo "$pid" >"$dir/inspect.pid"
		wait_for "$READY_WAIT" started "$dir" "$pid"
		if grep -q '^inspect: listening on ' "$dir/err"; then
			return 0
		fi
		if running "$pid"; then
			kill -KILL "$pid"
			wait "$pid"
			rm -f "$dir/inspect.pid"
			echo "inspect did not listen within ${READY_WAIT}s"
			return 1
		fi
		wait "$pid"
		rm -f "$dir/inspect.pid"
		if [ "$kind" != inet ] ||
		    ! grep -q 'Address already in use' "$dir/err"; then
			echo "inspect did not start:"
			cat "$dir/err"
			return 1
		fi
	done
	echo "inspect found no free port"
	return 1
}

# Runs the case's script in n miltertests at once (-D client=1..n).
run_clients() {
	local dir=$1 lua=$2 n=$3 i status ok=0
	local pids=()

	for ((i = 1; i <= n; i++)); do
		timeout -k 5 "$CLIENT_WAIT" miltertest -D socket="$spec" \
		    -D dir="$dir" -D lib="$here/lib.lua" -D client="$i" \
		    -s "$lua" >"$dir/client$i.log" 2>&1 &
		pids+=($!)
		echo "$!" >"$dir/client$i.pid"
	done
	for ((i = 1; i <= n; i++)); do
		wait "${pids[i - 1]}"
		status=$?
		rm -f "$dir/client$i.pid"
		if [ "$status" -ne 0 ]; then
			echo "miltertest $i failed (status $status):"
			cat "$dir/client$i.log"
			ok=1
		fi
	done
	return $ok
}

# The number of events of one stage in a report, text or JSON.
count_events() {
	local json='^\{"session":[0-9]+,"run":"[^"]+","stage":'

	grep -cE "^\[[0-9]+\] $2 |$json\"$2\"" "$1"
}

# Whether every session that began has ended; or, given a number, whether
# that many sessions have been summed up.
all_closed() {
	if [ -n "${2:-}" ]; then
		[ "$(count_events "$1" summary)" -ge "$2" ]
		return
	fi
	[ "$(count_events "$1" negotiate)" = "$(count_events "$1" close)" ]
}

# Stops inspect as an init system would, and checks that it exits 0.
stop_inspect() {
	stop_child "$pid" "$STOP_WAIT" ||
	    echo "inspect still runs ${STOP_WAIT}s after SIGTERM"
	rm -f "$1/inspect.pid"
	if [ "$stopped_status" -ne 0 ]; then
		echo "inspect exited with status $stopped_status after SIGTERM"
		return 1
	fi
}

# Standard error must hold the "listening on" line, the stop's line, and
# then just what the case expects: a sanitizer's report or lost events fail
# it.  The note that root's unix socket is out of Postfix's reach
# (tests/cli checks it) does not matter to miltertest, which runs as root.
check_stderr() {
	local dir=$1 lua=$2

	grep -v -e '^inspect: listening on ' \
	    -e '^inspect: note: unix:.* is root:root ' \
	    -e '^inspect: stopping on SIGTERM$' "$dir/err" >"$dir/err.rest"
	sed -n 's/^-- stderr: //p' "$lua" | sed "s|@HERE@|$here|g" \
	    >"$dir/err.expected"
	diff -u --label expected --label "inspect's standard error" \
	    "$dir/err.expected" "$dir/err.rest"
}

# What may differ between runs: the timestamps, the run's id, the
# sessions' durations, and the order in which the events of separate
# sessions reach the report.  Sessions are put one after the other (a
# stable sort on the session number keeps each one's own order; the
# start line, session 0, comes first); the time of day becomes TIME, a
# run's id RUN if it has inspect's pid, inspect's version VERSION, a
# duration DURATION, and this directory @HERE@.
normalise() {
	local id="[0-9]{8}T[0-9]{6}Z-p$pid"
	local json_time='^(\{"session":[0-9]+,"run":"RUN","stage":"[a-z]+",'
	local start="^(\[0\] start TIME run )$id( inspect )${version//./\\.}\$"

	json_time+='"time":")'
	sed -E -e "s/^(\[[0-9]+\] [a-z]+ )$stamp(\$| )/\1TIME\2/" \
	    -e "s/$start/\1RUN\2VERSION/" \
	    -e "s/^(\{\"session\":[0-9]+,\"run\":\")$id\"/\1RUN\"/" \
	    -e "s/$json_time$stamp\"/\1TIME\"/" \
	    -e 's/ duration [0-9]+\.[0-9]{6}s$/ duration DURATION/' \
	    -e 's/"duration":[0-9]+\.[0-9]{6}\}$/"duration":DURATION}/' \
	    -e "s|$here/|@HERE@/|g" "$1" |
	    sed -E -e 's/^(\[|\{"session":)([0-9]+)/\2 &/' -e t -e 's/^/0 /' |
	    sort -s -n -k 1,1 | cut -d ' ' -f 2-
}

# A report's start line, if it has one, comes first and once, and its
# id is the time it gives, to the second, and inspect's pid.
check_start() {
	local out=$1 first time id

	[ "$(grep -c '^\[0\] ' "$out")" -gt 0 ] || return 0
	first=$(head -n 1 "$out")
	time=$(printf '%s\n' "$first" | cut -d ' ' -f 3)
	id=$(printf '%s\n' "${time%.*}" | tr -d -- '-:')Z-p$pid
	case $first in
	"[0] start $time run $id inspect $version")
		[ "$(grep -c '^\[0\] ' "$out")" -eq 1 ] && return 0 ;;
	esac
	echo "the report does not begin with the run's start line, once:"
	grep -n '^\[0\] ' "$out"
	return 1
}

# Compares the normalised report with the golden file, or rewrites it.
compare() {
	local dir=$1 golden=$2

	check_start "$dir/out" || return 1
	normalise "$dir/out" >"$dir/out.normal"
	if [ -n "$update" ]; then
		cp "$dir/out.normal" "$golden"
		return
	fi
	if [ ! -f "$golden" ]; then
		echo "no golden file $golden (run.sh -u writes it)"
		return 1
	fi
	diff -u "$golden" "$dir/out.normal"
}

# Runs a case's own checker on the raw report.
run_check() {
	local dir=$1 prog=$2
	shift 2

	(cd "$dir" && timeout -k 5 "$CLIENT_WAIT" "$here/$prog" "$@" out)
}

main "$@"
