#!/usr/bin/env bash
# forward.sh -- inspect in front of a milter (--forward), driven by
# miltertest: the milter behind is a second inspect, or a broken peer.
#
# usage: tests/milter/forward.sh [CASE...]
#
# Each case starts inspect B (the milter behind, --format json) and
# inspect A (--forward to B, --format json), runs a miltertest script
# against A, stops both with SIGTERM (each must exit 0) and runs
# check-forward.py on their reports: B saw what A saw, event by event,
# for every stage B negotiated (arguments, headers, body chunks, each
# stage's macros as sent), and A's report shows B's answers and changes.
# A's standard error may hold only its start and stop lines and, where
# a case says, the lines naming the milter's failure.
#
# The cases:
#   t-NAME        tests/milter/t-NAME.lua through A, B plain: every
#                 stage, answered continue by B
#   probe:t-NAME  the same, with the script's inspect-arg lines given to
#                 B: B's answers and changes reach miltertest through A
#   inet:t-NAME   as t-NAME, A and B on loopback ports
#   f-NAME        tests/milter/forward/f-NAME.lua, whose header lines say
#                 how to run it:
#     -- downstream-arg: ARG   one more argument for B (@HERE@: tests/milter)
#     -- forward-arg: ARG      one more argument for A
#     -- downstream: later     B is started only when the script asks
#     -- downstream: peer MODES  the milter behind is downstream.py
#                              (tests/hostile) with those modes
#     -- check-arg: ARG        one more argument for check-forward.py
#     -- log: REGEX            a line of A's standard error must match
#   The script may ask the runner (lib.lua's ask()) to "start" or "kill"
#   (SIGKILL) B.
#
# Ends with "N passed, N failed"; exits 1 if any failed.  Every wait is
# bounded.  Cases run JOBS (default 4) at a time.
set -u
export LC_ALL=C
export PYTHONDONTWRITEBYTECODE=1

READY_WAIT=10		# for an inspect to listen
CLIENT_WAIT=60		# for one miltertest, or the checker
SETTLE_WAIT=5		# for the last close to be reported
STOP_WAIT=15		# for an inspect to exit after SIGTERM

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 2
inspect=$(cd "$here/../.." && pwd)/inspect
peer=$(cd "$here/../hostile" && pwd)/downstream.py
. "$here/../lib.sh"
max_jobs=${JOBS:-4}
tmp=

MIRROR="t-abort t-body-binary t-body-crlf t-body-large t-client-ipv4
t-client-ipv6 t-client-unknown t-esmtp t-every-byte t-headers t-json
t-macro-values t-macros-sent t-macros-stages t-macros-eom-only
t-negotiate t-rcpt-rejected t-two-messages t-unknown"
OTHERS="probe:t-probe-changes probe:t-probe-empty-body inet:t-two-messages
inet:t-macros-stages"

main() {
	local cases=() name i=0 passed=0 failed=0 start

	for tool in miltertest python3 timeout ss; do
		command -v "$tool" >/dev/null ||
		    { echo "forward.sh: $tool not found" >&2; exit 2; }
	done
	[ -x "$inspect" ] || { echo "forward.sh: no $inspect: run make" >&2
	    exit 2; }
	if [ $# -gt 0 ]; then
		cases=("$@")
	else
		# shellcheck disable=SC2206
		cases=($MIRROR $OTHERS)
		for name in "$here"/forward/f-*.lua; do
			cases+=("$(basename "$name" .lua)")
		done
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/inspect-forward.XXXXXX") || exit 2
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	start=$SECONDS
	for name in "${cases[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$max_jobs" ]; do
			wait -n
		done
		run_case "$name" "$i" >"$tmp/$i.result" 2>&1 &
		i=$((i + 1))
	done
	wait
	for ((i = 0; i < ${#cases[@]}; i++)); do
		tally "$tmp/$i.result" "${cases[i]}"
	done
	echo "($((SECONDS - start)) s)"
	summary
	[ "$failed" -eq 0 ]
}

# Kills what a case left running (after an interrupt), then the files.
cleanup() {
	local f

	[ -n "$tmp" ] || return
	for f in "$tmp"/*/*.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	# shellcheck disable=SC2046
	kill $(jobs -p) 2>/dev/null
	rm -rf "$tmp"
}

# The "-- KEY: value" lines of a script, one a line.
directives() {
	sed -n "s/^-- $2: //p" "$1" | sed "s|@HERE@|$here|g"
}

running() {
	local state

	read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" && [ "$state" != Z ]
}

# start NAME SPEC OUT ARGS...: an inspect listening on SPEC, reporting
# to OUT (appended to), its stderr in NAME.err; its pid in NAME.pid.
start() {
	local name=$1 spec=$2 out=$3 pid i
	shift 3

	"$inspect" -s "$spec" --format json "$@" >>"$out" 2>>"$dir/$name.err" &
	pid=$!
	echo "$pid" >"$dir/$name.pid"
	for ((i = 0; i < READY_WAIT * 20; i++)); do
		[ "$(grep -c '^inspect: listening on ' "$dir/$name.err")" -gt \
		    "$(cat "$dir/$name.starts" 2>/dev/null || echo 0)" ] && break
		running "$pid" || break
		sleep 0.05
	done
	grep -c '^inspect: listening on ' "$dir/$name.err" >"$dir/$name.starts"
	if ! running "$pid"; then
		echo "$name did not start:"
		tail -5 "$dir/$name.err"
		rm -f "$dir/$name.pid"
		return 1
	fi
}

# stop NAME: SIGTERM; it must exit 0 within STOP_WAIT.
stop() {
	local name=$1

	[ -f "$dir/$name.pid" ] || return 0
	stop_child "$(cat "$dir/$name.pid")" "$STOP_WAIT" ||
	    echo "$name still runs ${STOP_WAIT}s after SIGTERM"
	rm -f "$dir/$name.pid"
	if [ "$stopped_status" -ne 0 ]; then
		echo "$name exited with status $stopped_status after SIGTERM"
		return 1
	fi
}

# start_b: the milter behind, as the case has it.
start_b() {
	if [ -n "$peer_modes" ]; then
		python3 "$peer" --socket "$bsock" --modes "$peer_modes" \
		    2>>"$dir/b.err" &
		echo "$!" >"$dir/b.pid"
		wait_until "$READY_WAIT" test -S "$bsock" || {
			echo "the peer did not listen"; return 1; }
		return 0
	fi
	start b "$bspec" "$dir/b.out" --no-reply no "${bargs[@]}"
}

# kill_b: SIGKILL to B and its worker (which the kernel would kill with
# it anyway: PR_SET_PDEATHSIG), and wait until both are gone.
kill_b() {
	local pid kids

	pid=$(cat "$dir/b.pid")
	kids=$(ps -o pid= --ppid "$pid" | tr -d ' ')
	# shellcheck disable=SC2086
	kill -KILL $kids "$pid"
	wait "$pid" 2>/dev/null
	rm -f "$dir/b.pid"
	# shellcheck disable=SC2086
	wait_until 10 gone $kids
	echo $(($(cat "$dir/kills" 2>/dev/null || echo 0) + 1)) >"$dir/kills"
}

# The script's requests (lib.lua's ask()), until miltertest ends.
serve_requests() {
	local client=$1 req action

	while running "$client"; do
		for req in "$dir"/*.req; do
			[ -e "$req" ] || continue
			action=$(basename "$req" .req)
			rm -f "$req"
			case $action in
			start) start_b ;;
			kill) kill_b ;;
			*) echo "unknown request $action" ;;
			esac
			: >"$dir/$action.done"
		done
		sleep 0.05
	done
}

# Whether every session in report $1 has ended, but for the $2 whose
# milter was killed.
closed() {
	[ "$(grep -c '"stage":"negotiate"' "$1")" -le \
	    $(($(grep -c '"stage":"close"' "$1") + ${2:-0})) ]
}

run_case() {
	local name=$1 index=$2 lua kind=unix mode=mirror ok=1 client status
	local aargs=() cargs=() logs=() aspec bport aport later= line
	dir=$tmp/$index
	bargs=()
	peer_modes=

	mkdir "$dir" || return
	case $name in
	probe:*) mode=probe; name=${name#probe:} ;;
	inet:*) kind=inet; name=${name#inet:} ;;
	esac
	if [ "${name#f-}" != "$name" ]; then
		lua=$here/forward/$name.lua
		mode=forward
	else
		lua=$here/$name.lua
	fi
	label=$1
	if [ ! -f "$lua" ]; then
		echo "FAIL $label"
		echo "no such case: $lua"
		return
	fi
	case $mode in
	probe)	mapfile -t bargs < <(directives "$lua" inspect-arg) ;;
	forward)
		mapfile -t bargs < <(directives "$lua" downstream-arg)
		mapfile -t aargs < <(directives "$lua" forward-arg)
		mapfile -t cargs < <(directives "$lua" check-arg)
		mapfile -t logs < <(directives "$lua" log)
		line=$(directives "$lua" downstream)
		case $line in
		later) later=1 ;;
		"peer "*) peer_modes=${line#peer } ;;
		esac
		;;
	esac
	bsock=$dir/b.sock
	if [ "$kind" = inet ]; then
		pick_port bport && pick_port aport || {
			echo "FAIL $label"; echo "no free port"; return; }
		bspec=inet:$bport@127.0.0.1
		aspec=inet:$aport@127.0.0.1
	else
		bspec=unix:$bsock
		aspec=unix:$dir/a.sock
	fi
	: >"$dir/a.out"
	: >"$dir/b.out"
	: >"$dir/a.err"
	: >"$dir/b.err"

	{
		if { [ -n "$later" ] || start_b; } &&
		    start a "$aspec" "$dir/a.out" --forward "$bspec" \
		    "${aargs[@]}"; then
			timeout -k 5 "$CLIENT_WAIT" miltertest \
			    -D socket="$aspec" -D dir="$dir" \
			    -D lib="$here/lib.lua" -D client=1 -s "$lua" \
			    >"$dir/client.log" 2>&1 &
			client=$!
			serve_requests "$client"
			wait "$client"
			status=$?
			if [ "$status" -ne 0 ]; then
				echo "miltertest failed (status $status):"
				cat "$dir/client.log"
				ok=
			fi
			wait_until "$SETTLE_WAIT" closed "$dir/a.out" ||
			    { echo "A did not report every close"; ok=; }
			[ -n "$peer_modes" ] || wait_until "$SETTLE_WAIT" \
			    closed "$dir/b.out" \
			    "$(cat "$dir/kills" 2>/dev/null || echo 0)" ||
			    { echo "B did not report every close"; ok=; }
		else
			ok=
		fi
		stop a || ok=
		if [ -n "$peer_modes" ]; then
			[ -f "$dir/b.pid" ] && kill "$(cat "$dir/b.pid")" &&
			    wait "$(cat "$dir/b.pid")" 2>/dev/null
			rm -f "$dir/b.pid"
		else
			stop b || ok=
		fi
		check_stderr || ok=
		if [ -n "$peer_modes" ]; then
			timeout -k 5 "$CLIENT_WAIT" python3 \
			    "$here/check-forward.py" "${cargs[@]}" \
			    "$dir/a.out" - || ok=
		else
			timeout -k 5 "$CLIENT_WAIT" python3 \
			    "$here/check-forward.py" "${cargs[@]}" \
			    "$dir/a.out" "$dir/b.out" || ok=
		fi
	} >"$dir/report" 2>&1

	if [ -n "$ok" ]; then
		echo "ok $label ($(grep -c . "$dir/a.out") events)"
	else
		echo "FAIL $label"
	fi
	cat "$dir/report"
}

# A's standard error: its start and stop lines, the lines the case
# expects (each must be there), nothing else.
check_stderr() {
	local re ok=0

	for re in "${logs[@]}"; do
		if ! grep -qE "^inspect: $re\$" "$dir/a.err"; then
			echo "A did not log: $re"
			ok=1
		fi
	done
	if grep -vE -e '^inspect: (listening on |note: |stopping on SIGTERM$)' \
	    "${logs[@]/#/-e^inspect: }" "$dir/a.err" >"$dir/a.err.rest"; then
		echo "A's standard error holds more:"
		cat "$dir/a.err.rest"
		ok=1
	fi
	return $ok
}

main "$@"
