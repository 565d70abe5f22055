#!/usr/bin/env bash
# record.sh -- sessions recorded with --record, replayed, and compared.
#
# usage: tests/milter/record.sh
#
# Every t-*.lua case, and the sessions of record-limits.py that hold what
# miltertest cannot send, go to an inspect with --record.  Each script it
# wrote is then replayed with miltertest to a fresh inspect, and the two
# JSON reports must be equal session by session, event by event, but for
# times, session numbers and the client's port (check-replay.py); a step
# miltertest cannot send must be a comment, and its script must still run
# to the end.  The scripts must also pass against bench's null milter.
# Then what --record refuses at start-up, each in one line, and the
# scripts of an inspect that serves as another user, and of one with -q.
# As root (as in CI) it also serves as nobody, for -u; otherwise that part
# says it did not run, and counts neither way.
set -u
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 2
top=$(cd "$here/../.." && pwd)
inspect=$top/inspect
. "$here/../lib.sh"

READY_WAIT=10		# seconds for a milter to listen
CLIENT_WAIT=30		# for one miltertest
STOP_WAIT=15		# for inspect to exit after SIGTERM (about 5)

passed=0
failed=0
tmp=
pids=()

cleanup() {
	local pid

	for pid in "${pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	[ -n "$tmp" ] && [ -z "${KEEP:-}" ] && rm -rf "$tmp"
}

# start NAME ARGS...: a milter (inspect unless NAME is null) on
# unix:$tmp/NAME.sock, its report in $tmp/NAME.json; sets pid.
start() {
	local name=$1 prog=$inspect
	shift

	[ "$name" = null ] && prog=$top/bench/null-milter
	"$prog" -s "unix:$tmp/$name.sock" "$@" >"$tmp/$name.json" \
	    2>"$tmp/$name.err" &
	pid=$!
	pids+=("$pid")
	wait_until "$READY_WAIT" test -S "$tmp/$name.sock"
}

# stop PID: SIGTERM, and its exit status.
stop() {
	local i

	kill -TERM "$1"
	for ((i = 0; i < STOP_WAIT * 20; i++)); do
		gone "$1" && break
		sleep 0.05
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1"
}

# closed REPORT: every session that began in it has ended.
closed() {
	[ "$(grep -c '"stage":"negotiate"' "$1")" = \
	    "$(grep -c '"stage":"close"' "$1")" ]
}

# replay SOCKET SCRIPT...: each script to the milter at SOCKET, in
# order of session number; a failed one is named, with what it said.
replay() {
	local sock=$1 script status=0
	shift

	for script in $(printf '%s\n' "$@" |
	    sed -E 's/.*-s([0-9]+)\.lua$/\1 &/' | sort -n | cut -d ' ' -f 2); do
		if ! timeout -k 5 "$CLIENT_WAIT" miltertest \
		    -D sock="$sock" -s "$script" >"$tmp/replay.log" 2>&1; then
			echo "  $(basename "$script"):"
			sed 's/^/    /' "$tmp/replay.log"
			status=1
		fi
	done
	return $status
}

# refused NAME DIR [ARGS...]: inspect --record DIR stops at start-up with
# one line naming DIR and a non-zero status.
refused() {
	local name=$1 dir=$2 status
	shift 2

	timeout 10 "$inspect" -s "unix:$tmp/refused.sock" --record "$dir" \
	    "$@" >/dev/null 2>"$tmp/refused.err"
	status=$?
	if [ "$status" -ne 0 ] && [ "$status" -ne 124 ] &&
	    [ "$(wc -l <"$tmp/refused.err")" = 1 ] &&
	    grep -q -- "^inspect: --record $dir: " "$tmp/refused.err"; then
		ok "$name: $(cat "$tmp/refused.err")"
	else
		fail "$name" "status $status" "$(cat "$tmp/refused.err")"
	fi
}

# As nobody, with workers: the scripts are nobody's.
served_by_nobody() {
	local served

	mkdir -m 700 "$tmp/nobody"
	chown nobody "$tmp/nobody"
	start nobody --format json --no-reply no -u nobody --n-workers 2 \
	    --record "$tmp/nobody"
	chmod 777 "$tmp/nobody.sock" 2>/dev/null
	served=$pid
	timeout -k 5 "$CLIENT_WAIT" miltertest -D socket="unix:$tmp/nobody.sock" \
	    -D dir="$tmp/case" -D lib="$here/lib.lua" -D client=1 \
	    -s "$here/t-two-messages.lua" >"$tmp/case.log" 2>&1
	check "a case ran against inspect -u nobody" test $? -eq 0
	wait_until 5 closed "$tmp/nobody.json"
	stop "$served"
	check "its script is nobody's, mode 0600" test \
	    "$(stat -c '%U %a' "$tmp"/nobody/*.lua 2>&1)" = "nobody 600"
}

# Probing: a script expects the answers inspect gave, so that a replay
# against the same probe passes and one against a plain inspect names
# where they differ.
probed() {
	local probing plain
	local probe=(--reply 'envrcpt/bad@=550 5.7.1 no' --reply eom=discard)

	mkdir "$tmp/probed"
	cat >"$tmp/probed.lua" <<-'EOF'
	conn = mt.connect(socket, 40, 0.05)
	assert(conn, "cannot connect")
	assert(mt.conninfo(conn, "client.example", "192.0.2.7") == nil)
	assert(mt.helo(conn, "client.example") == nil)
	assert(mt.mailfrom(conn, "<a@example.org>") == nil)
	assert(mt.rcptto(conn, "<good@example.net>") == nil)
	assert(mt.getreply(conn) == SMFIR_CONTINUE)
	assert(mt.rcptto(conn, "<bad@example.net>") == nil)
	assert(mt.getreply(conn) == SMFIR_REPLYCODE)
	assert(mt.header(conn, "Subject", "hi") == nil)
	assert(mt.eoh(conn) == nil)
	assert(mt.bodystring(conn, "hello\r\n") == nil)
	assert(mt.eom(conn) == nil)
	assert(mt.getreply(conn) == SMFIR_DISCARD)
	mt.disconnect(conn)
	EOF
	start probed --format json --record "$tmp/probed" "${probe[@]}"
	probing=$pid
	timeout -k 5 "$CLIENT_WAIT" miltertest \
	    -D socket="unix:$tmp/probed.sock" -s "$tmp/probed.lua" \
	    >"$tmp/case.log" 2>&1
	check "probing: the session answered as probed" test $? -eq 0
	wait_until 5 closed "$tmp/probed.json"
	check "probing: the script expects the reply code and the discard" \
	    grep -q 'SMFIR_REPLYCODE, "<bad@example.net>"' "$tmp"/probed/*.lua
	replay "unix:$tmp/probed.sock" "$tmp"/probed/*.lua >"$tmp/probed.out"
	check "probing: the script replays to the same probe" test $? -eq 0
	stop "$probing"
	start plain --format json
	plain=$pid
	replay "unix:$tmp/plain.sock" "$tmp"/probed/*.lua >"$tmp/plain.out"
	check "probing: replayed to an inspect that does not probe, it fails" \
	    test $? -ne 0
	check "... naming the recipient inspect rejected" \
	    grep -q "rcptto: the milter answered 'c', inspect 'y'" \
	    "$tmp/plain.out"
	stop "$plain"
}

main() {
	local lua script scripts=() bad n

	make -s -C "$top" bench/null-milter || exit 2
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/inspect-record.XXXXXX") || exit 2
	chmod 755 "$tmp"
	trap cleanup EXIT
	mkdir "$tmp/rec" "$tmp/case"

	# Recorded: every case, then the limits.
	start rec --format json --no-reply no --record "$tmp/rec"
	local rec=$pid
	bad=
	for lua in "$here"/t-*.lua; do
		# Probing cases need inspect's probe options (probed() below).
		case $lua in */t-probe-*) continue ;; esac
		timeout -k 5 "$CLIENT_WAIT" miltertest -D socket="unix:$tmp/rec.sock" \
		    -D dir="$tmp/case" -D lib="$here/lib.lua" -D client=1 \
		    -s "$lua" >"$tmp/case.log" 2>&1 ||
		    bad+=" $(basename "$lua")"
	done
	check "every case ran against the recording inspect${bad:+:$bad}" \
	    test -z "$bad"
	check "record-limits.py ran" timeout 30 "$here/record-limits.py" \
	    "unix:$tmp/rec.sock"
	wait_until 5 closed "$tmp/rec.json"
	stop "$rec"
	check "the recording inspect exited 0" test $? -eq 0
	check "the recording inspect logged nothing but its start" \
	    test "$(grep -v -e '^inspect: listening on ' \
	    -e '^inspect: note: unix:.* is root:root ' \
	    -e '^inspect: stopping on SIGTERM$' "$tmp/rec.err" |
	    wc -l)" = 0

	scripts=("$tmp"/rec/*.lua)
	n=$(grep -c '"stage":"negotiate"' "$tmp/rec.json")
	check "a script for each of the $n sessions (${#scripts[@]})" \
	    test "${#scripts[@]}" -eq "$n"
	check "every script is mode 0600" test -z "$(find "$tmp/rec" \
	    -type f ! -perm 0600)"
	check "no temporary file is left" test -z "$(find "$tmp/rec" \
	    -name '.*')"
	# The limits are the last four sessions, in their order.
	local limits=() comment
	limits=($(printf '%s\n' "${scripts[@]}" |
	    sed -E 's/.*-s([0-9]+)\.lua$/\1 &/' | sort -n | tail -n 4 |
	    cut -d ' ' -f 2))
	for comment in "a header of 3007 bytes" \
	    "connect's macros, a packet of 2161 bytes" \
	    "a header value without the leading space" \
	    "the client's address \"unix:/run/client.sock\""; do
		script=${limits[0]}
		limits=("${limits[@]:1}")
		check "not replayed, as a comment: $comment" \
		    grep -q -- "^-- not replayed: $comment" "$script"
	done

	# Replayed to a fresh inspect, then to the null milter.
	start replay --format json --no-reply no
	local replayed=$pid
	replay "unix:$tmp/replay.sock" "${scripts[@]}" >"$tmp/replay.out"
	check "every script replayed to a fresh inspect" test $? -eq 0
	cat "$tmp/replay.out"
	wait_until 5 closed "$tmp/replay.json"
	stop "$replayed"
	if "$here/check-replay.py" "$tmp/rec.json" "$tmp/replay.json" \
	    "$tmp/rec" >"$tmp/check.out"; then
		ok "$(tail -n 1 "$tmp/check.out")"
	else
		fail "the replays differ from the recordings" \
		    "$(cat "$tmp/check.out")"
	fi

	start null
	local null=$pid
	replay "unix:$tmp/null.sock" "${scripts[@]}" >"$tmp/null.out"
	check "every script replayed to bench's null milter" test $? -eq 0
	cat "$tmp/null.out"
	stop "$null"

	# What is refused at start-up.
	refused "no such directory" "$tmp/none"
	ln -s "$tmp/rec" "$tmp/link"
	refused "a symbolic link" "$tmp/link"
	: >"$tmp/file"
	refused "not a directory" "$tmp/file"
	if [ "$(id -u)" -eq 0 ]; then
		mkdir -m 755 "$tmp/root-only"
		refused "not writable by -u nobody" "$tmp/root-only" -u nobody
		served_by_nobody
	else
		echo "NOT RUN: -u nobody (needs root)"
	fi
	probed
	# -q: nothing reported, everything recorded.
	mkdir "$tmp/quiet"
	start quiet --no-reply no -q --record "$tmp/quiet"
	local quiet=$pid
	timeout -k 5 "$CLIENT_WAIT" miltertest -D socket="unix:$tmp/quiet.sock" \
	    -D dir="$tmp/case" -D lib="$here/lib.lua" -D client=1 \
	    -s "$here/t-two-messages.lua" >"$tmp/case.log" 2>&1
	wait_until 5 sh -c "ls '$tmp'/quiet/*.lua >/dev/null 2>&1"
	stop "$quiet"
	check "-q reports nothing" test ! -s "$tmp/quiet.json"
	check "-q records the session" grep -q '^step("eom"' "$tmp"/quiet/*.lua

	summary
	[ "$failed" -eq 0 ]
}

main "$@"
