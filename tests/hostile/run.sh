#!/usr/bin/env bash
# run.sh -- hostile MTAs, load and faults against the real inspect.
#
# usage: tests/hostile/run.sh [PART...]
#
# Each part (all, or those named) runs against an inspect of its own, on
# a unix socket or a loopback port in a scratch directory:
#   json     every case of hostile.py: odd, huge, malformed, out of order,
#            hostile bytes in every field, the MTA vanishing at each stage
#   text     the cases marked for text, over inet
#   color    the same with --color always --summary: no byte of the MTA's
#            becomes an escape sequence, in the events or the summaries
#   replies  the MTA hanging up, with --no-reply no on a unix socket
#   tcp      the MTA hanging up over inet, where inspect asks for no
#            replies and hurries the kernel's ACKs
#   libmilter  the cases listed in LIBMILTER (none now), each on its own,
#            where libmilter could read past what the MTA sent and take
#            inspect down or upset valgrind
#   crowd    HOSTILE_SESSIONS (default 1000) sessions at once (load.py),
#            and inspect's memory before and after
#   stop     SIGTERM while 50 clients send mail (load.py): exit 0, the
#            events of finished sessions written, the socket removed;
#            and SIGTERM right after start (quickstop.py)
#   outputs  a FIFO whose reader goes away, standard output to a pipe
#            its reader closes, /dev/full: mail goes on, the failure is
#            told once, the lost events are counted
#   socket   the unix socket is not world-writable, whatever the umask
#   wire     what probing puts on the wire (wire.py changes): a header
#            changed by its index, one inserted, a reply line at the
#            length limit
#   quitnc   no reply where none was agreed, after SMFIC_QUIT_NC too, on
#            a unix socket and over TCP (wire.py quit-nc)
#   forward  --forward to a hostile milter (forward.py, downstream.py):
#            packets too long, cut short, unknown, changes before eom,
#            broken negotiations and reply texts, silence, progress for
#            ever: each session gets --forward-default's answer in time,
#            the report and log say why, the next session goes through
#   gate     SIGTERM with a session in a --delay and two at eom: the
#            command libmilter takes after the stop is held, unanswered
#            and unreported, and nothing is lost (wire.py stop-gate)
# After each part inspect must exit 0 on SIGTERM.
#
# INSPECT_WRAPPER, if set, is put before inspect's command line, e.g.
#   INSPECT_WRAPPER="valgrind --error-exitcode=99 --leak-check=full
#   --errors-for-leak-kinds=definite --max-threads=2000 --quiet"
# (the crowd's thousand sessions are as many threads; valgrind takes 500
# unless told more)
# Ends with "N passed, N failed"; exits 1 if anything failed.  Needs
# root (for the file limits of a thousand sessions).
set -u
export LC_ALL=C
export PYTHONDONTWRITEBYTECODE=1	# nothing left in the source tree

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 2
inspect=$(cd "$here/../.." && pwd)/inspect
. "$here/../lib.sh"
read -ra wrapper <<<"${INSPECT_WRAPPER:-}"
sessions=${HOSTILE_SESSIONS:-1000}
# The macros inspect looks up: some of each stage, and the one-letter ones.
MACROS='j,_,v,{daemon_name},i,{mail_addr},{rcpt_addr},{rcpt_mailer}'
MACROS="$MACROS,{tls_version},s"
EVENTS_PER_MESSAGE=12	# what load.py serial sends: negotiate to close
# unknown-without-nul is left out: libmilter hands the unknown command on
# without its terminating NUL, and reading it runs past the end of
# libmilter's buffer (a sanitizer build stops there; inspect.8, CAVEATS).
# Run it by hand: tests/hostile/hostile.py ... unknown-without-nul.
# (macros-odd-count, which takes down a milter that looks macros up,
# runs with the others: inspect reads the packets and stops in time.)
LEFT_OUT='unknown-without-nul'
LIBMILTER=''

# Every wait is bounded; these are the bounds, in seconds.  Under a
# wrapper such as valgrind everything is slower.
slow=1
[ ${#wrapper[@]} -gt 0 ] && slow=6
READY_WAIT=$((10 * slow))	# for inspect to listen
STOP_WAIT=$((15 * slow))	# for inspect to exit after SIGTERM
PART_WAIT=$((300 * slow))	# for one part's client

passed=0
failed=0
tmp=
pid=

cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	# TERM (timeout passes it on to its client), KILL after 8 s.
	# shellcheck disable=SC2046
	terminate $(jobs -p)
	[ -n "$tmp" ] && rm -rf "$tmp"
}

# tally RESULT NAME STATUS: shows what client NAME wrote to RESULT and
# counts its "ok" and "FAIL" lines.  A client that reported nothing, or
# exited with STATUS non-zero without reporting a failure (a traceback,
# a timeout), fails the run too: a client that could not run has checked
# nothing.
tally() {
	local line results=0 fails=0

	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok "*)
			passed=$((passed + 1))
			results=$((results + 1))
			;;
		"FAIL "*)
			failed=$((failed + 1))
			fails=$((fails + 1))
			results=$((results + 1))
			;;
		esac
	done <"$1"
	if [ "$results" -eq 0 ] || { [ "$3" -ne 0 ] && [ "$fails" -eq 0 ]; }
	then
		fail "$2: the client ran to its end" \
		    "exit status $3$([ "$3" -eq 124 ] && echo ' (timed out)')" \
		    "after $results results"
	fi
}

running() {
	local state

	read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" && [ "$state" != Z ]
}

# start_inspect NAME ARGS...: inspect (under the wrapper) in the
# background with stderr in $tmp/NAME.err; sets pid.  Fails unless it
# says it listens within READY_WAIT.
start_inspect() {
	local name=$1 i
	shift

	: >"$tmp/$name.err"
	"${wrapper[@]}" "$inspect" "$@" >"$tmp/$name.stdout" \
	    2>"$tmp/$name.err" &
	pid=$!
	for ((i = 0; i < READY_WAIT * 20; i++)); do
		grep -q 'listening on' "$tmp/$name.err" && return 0
		running "$pid" || break
		sleep 0.05
	done
	fail "$name: inspect did not start" "$(tail -5 "$tmp/$name.err")"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	return 1
}

# stop_inspect NAME: SIGTERM (unless sent already); inspect must exit 0
# within STOP_WAIT.  Sets status.
stop_inspect() {
	local name=$1 i

	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < STOP_WAIT * 20; i++)); do
		running "$pid" || break
		sleep 0.05
	done
	if running "$pid"; then
		kill -KILL "$pid"
		fail "$name: exits after SIGTERM" "still running after" \
		    "${STOP_WAIT}s"
	fi
	wait "$pid"
	status=$?
	pid=
	if [ "$status" -eq 0 ]; then
		ok "$name: exits 0 after SIGTERM"
	else
		fail "$name: exits 0 after SIGTERM" "exit status $status" \
		    "$(grep -v '^inspect\[' "$tmp/$name.err" | tail -20)"
	fi
}

# The number in inspect's "N events (or 1 event) could not be written" at
# exit, or 0.
lost_events() {
	sed -n 's/.*inspect: \([0-9]*\) events\{0,1\} could not be written.*/\1/p' \
	    "$1" | tail -n 1 | grep . || echo 0
}

# Whether the binary carries a sanitizer, whose memory is not inspect's.
sanitized() {
	grep -qa -e __asan_init -e __tsan_init -e __msan_init "$inspect"
}

# --- every hostile case, JSON over a unix socket ----------------------------
part_json() {
	local cases

	start_inspect json -s "unix:$tmp/json.sock" --format json \
	    --output "$tmp/json.out" --macros "$MACROS" || return
	cases=$(python3 "$here/hostile.py" --list | grep -vxF "$LEFT_OUT")
	# --no-reply auto on a unix socket: no reply at the content stages.
	# shellcheck disable=SC2086
	INSPECT_NOREPLY=content timeout -k 5 "$PART_WAIT" \
	    python3 "$here/hostile.py" \
	    --spec "unix:$tmp/json.sock" --report "$tmp/json.out" \
	    --format json --pid "$pid" --macros "$MACROS" \
	    --stderr "$tmp/json.err" $cases >"$tmp/json.result" 2>&1
	tally "$tmp/json.result" json $?
	stop_inspect json
	if [ -e "$tmp/json.sock" ]; then
		fail "json: socket removed at exit"
	else
		ok "json: socket removed at exit"
	fi
}

# --- the text subset, over inet ---------------------------------------------
part_text() {
	local port

	port=$(free_port)
	start_inspect text -s "inet:$port@127.0.0.1" --format text \
	    --output "$tmp/text.out" --macros "$MACROS" || return
	timeout -k 5 "$PART_WAIT" python3 "$here/hostile.py" \
	    --spec "inet:$port@127.0.0.1" --report "$tmp/text.out" \
	    --format text --pid "$pid" --macros "$MACROS" \
	    --stderr "$tmp/text.err" --text-subset >"$tmp/text.result" 2>&1
	tally "$tmp/text.result" text $?
	stop_inspect text
}

# --- the text subset in colour, summed up ----------------------------------
part_color() {
	local port

	port=$(free_port)
	start_inspect color -s "inet:$port@127.0.0.1" --format text \
	    --color always --summary --output "$tmp/color.out" \
	    --macros "$MACROS" || return
	timeout -k 5 "$PART_WAIT" python3 "$here/hostile.py" \
	    --spec "inet:$port@127.0.0.1" --report "$tmp/color.out" \
	    --format text --pid "$pid" --macros "$MACROS" --color \
	    --stderr "$tmp/color.err" --text-subset >"$tmp/color.result" 2>&1
	tally "$tmp/color.result" color $?
	stop_inspect color
	check "color: coloured, and summed up" grep -q \
	    $'^\e\\[36m\\[[0-9]*\\]\e\\[0m \e\\[1;35msummary\e\\[0m ' \
	    "$tmp/color.out"
}

# --- input libmilter reads past the end of ----------------------------------
part_libmilter() {
	local name

	# Each on its own: one may take inspect down.
	for name in $LIBMILTER; do
		start_inspect "$name" -s "unix:$tmp/$name.sock" --format json \
		    --output "$tmp/$name.out" --macros "$MACROS" || continue
		timeout -k 5 "$PART_WAIT" python3 "$here/hostile.py" \
		    --spec "unix:$tmp/$name.sock" --report "$tmp/$name.out" \
		    --format json --pid "$pid" --macros "$MACROS" \
		    --stderr "$tmp/$name.err" "$name" >"$tmp/$name.result" 2>&1
		tally "$tmp/$name.result" "$name" $?
		if running "$pid"; then
			stop_inspect "$name"
		else
			wait "$pid"
			fail "$name: inspect survives" \
			    "exit status $? (128 + signal)"
			pid=
		fi
	done
}

# vanish NAME LABEL SPEC [ARG...]: every vanish-* case against an inspect
# of its own on SPEC, started with ARGs; results named LABEL/CASE.
vanish() {
	local name=$1 label=$2 spec=$3 cases

	shift 3
	start_inspect "$name" -s "$spec" "$@" --format json \
	    --output "$tmp/$name.out" --macros "$MACROS" || return
	cases=$(python3 "$here/hostile.py" --list | grep '^vanish-')
	# shellcheck disable=SC2086
	timeout -k 5 "$PART_WAIT" python3 "$here/hostile.py" \
	    --spec "$spec" --report "$tmp/$name.out" \
	    --format json --pid "$pid" --macros "$MACROS" \
	    --stderr "$tmp/$name.err" $cases 2>&1 |
	    sed "s,^\(ok\|FAIL\) json/,\1 $label/," >"$tmp/$name.result"
	tally "$tmp/$name.result" "$label" "${PIPESTATUS[0]}"
}

# --- the MTA hanging up, with a reply to every stage on a unix socket -------
part_replies() {
	INSPECT_NOREPLY=no vanish replies no-reply-no \
	    "unix:$tmp/replies.sock" --no-reply no || return
	stop_inspect replies
}

# --- the MTA hanging up over TCP, with no replies ----------------------------
part_tcp() {
	# A timeout of its own: inspect checks libmilter's context by it.
	vanish tcp tcp "inet:$(free_port)@127.0.0.1" --timeout 600 || return
	check "tcp: every session negotiated no replies" \
	    negotiated_no_reply "$tmp/tcp.out"
	stop_inspect tcp
}

# --- a thousand sessions at once ------------------------------------------
part_crowd() {
	local memory=()

	start_inspect crowd -s "unix:$tmp/crowd.sock" --format text \
	    --output "$tmp/crowd.out" --macros "$MACROS" || return
	# One message first, so that "idle" is inspect ready to serve.
	timeout -k 5 "$PART_WAIT" python3 "$here/load.py" serial \
	    --spec "unix:$tmp/crowd.sock" --count 1 --max-reply 60 \
	    >/dev/null 2>&1
	[ ${#wrapper[@]} -eq 0 ] && ! sanitized && memory=(--check-memory)
	timeout -k 5 "$PART_WAIT" python3 "$here/load.py" crowd \
	    --spec "unix:$tmp/crowd.sock" --report "$tmp/crowd.out" \
	    --format text --pid "$pid" --macros "$MACROS" \
	    --sessions "$sessions" "${memory[@]}" >"$tmp/crowd.result" 2>&1
	tally "$tmp/crowd.result" crowd $?
	[ ${#memory[@]} -eq 0 ] &&
	    echo "  (memory not judged: inspect runs under a wrapper or a" \
	    "sanitizer)"
	stop_inspect crowd
}

# --- SIGTERM while mail flows -----------------------------------------------
part_stop() {
	start_inspect stop -s "unix:$tmp/stop.sock" --format json \
	    --output "$tmp/stop.out" --macros "$MACROS" || return
	timeout -k 5 "$PART_WAIT" python3 "$here/load.py" stop \
	    --spec "unix:$tmp/stop.sock" --report "$tmp/stop.out" \
	    --format json --pid "$pid" --macros "$MACROS" --clients 50 \
	    --after "$slow" >"$tmp/stop.result" 2>&1
	tally "$tmp/stop.result" stop $?
	stop_inspect stop
	if [ -e "$tmp/stop.sock" ]; then
		fail "stop: socket removed at exit"
	else
		ok "stop: socket removed at exit"
	fi
	# As an init system stopping a service it has just started.  With a
	# socket group, "listening on" is the only line (no note that root's
	# socket is out of Postfix's reach).
	timeout -k 5 "$PART_WAIT" python3 "$here/quickstop.py" \
	    $((20 / slow + 2)) "$STOP_WAIT" "$tmp/quick.sock" \
	    "${wrapper[@]}" "$inspect" -q -s "unix:$tmp/quick.sock" \
	    --unix-socket-group root \
	    >"$tmp/quick.result" 2>&1
	tally "$tmp/quick.result" quickstop $?
}

# serial NAME SPEC COUNT: COUNT messages, each reply within a second.
serial() {
	local status

	timeout -k 5 "$PART_WAIT" python3 "$here/load.py" serial --spec "$2" \
	    --count "$3" --max-reply "$slow" >"$tmp/$1.result" 2>&1
	status=$?
	sed "s/^\(ok\|FAIL\) /\1 $1: /" "$tmp/$1.result" >"$tmp/$1.tally"
	tally "$tmp/$1.tally" "$1" "$status"
}

# failure_told NAME PATH WANT_LOST: inspect, stopped, said once that PATH
# could not be written, and counted WANT_LOST events lost ("" for any
# number above 0).
failure_told() {
	local name=$1 path=$2 want=$3 told lost

	told=$(grep -c "cannot write the report to $path" "$tmp/$name.err")
	lost=$(lost_events "$tmp/$name.err")
	if [ "$told" -ne 1 ]; then
		fail "$name: the failure told once" "told $told times:" \
		    "$(grep -v '^inspect\[' "$tmp/$name.err")"
	else
		ok "$name: the failure told once"
	fi
	if { [ -z "$want" ] && [ "$lost" -gt 0 ]; } ||
	    { [ -n "$want" ] && [ "$lost" = "$want" ]; }; then
		ok "$name: $lost lost events counted"
	else
		fail "$name: lost events counted" \
		    "counted $lost, expected ${want:-more than 0}"
	fi
}

# reader_leaves NAME ARGS...: inspect writing JSON to standard output, a
# pipe whose reader takes 100 bytes and goes; sets pid and reader.
reader_leaves() {
	local name=$1 i
	shift

	rm -f "$tmp/$name.fifo"
	mkfifo "$tmp/$name.fifo"
	head -c 100 "$tmp/$name.fifo" >/dev/null &
	reader=$!
	: >"$tmp/$name.err"
	"${wrapper[@]}" "$inspect" -s "unix:$tmp/$name.sock" --format json \
	    "$@" 2>"$tmp/$name.err" >"$tmp/$name.fifo" &
	pid=$!
	for ((i = 0; i < READY_WAIT * 20; i++)); do
		grep -q 'listening on' "$tmp/$name.err" && break
		sleep 0.05
	done
}

# reader_gone NAME: the reader of reader_leaves() took its 100 bytes.
reader_gone() {
	local i

	for ((i = 0; i < 100; i++)); do
		running "$reader" || break
		sleep 0.05
	done
	# head waits for its 100 bytes for ever if they never come.
	if running "$reader"; then
		fail "$1: the reader got its 100 bytes"
		kill -KILL "$reader"
	fi
	wait "$reader" 2>/dev/null
}

# told_once NAME LINE: inspect's log has LINE once.
told_once() {
	local n

	n=$(grep -cF "inspect: $2" "$tmp/$1.err")
	if [ "$n" -eq 1 ]; then
		ok "$1: said once: $2"
	else
		fail "$1: said once: $2" "said $n times:" \
		    "$(grep -v '^inspect\[' "$tmp/$1.err")"
	fi
}

# --- outputs that fail ------------------------------------------------------
part_outputs() {
	local reader i

	# A FIFO whose reader goes away: EPIPE, never SIGPIPE.
	mkfifo "$tmp/fifo"
	cat "$tmp/fifo" >"$tmp/fifo.copy" &
	reader=$!
	if start_inspect fifo -s "unix:$tmp/fifo.sock" --format json \
	    --output "$tmp/fifo"; then
		serial fifo-before "unix:$tmp/fifo.sock" 1
		for ((i = 0; i < 100; i++)); do
			grep -q '"stage":"close"' "$tmp/fifo.copy" && break
			sleep 0.05
		done
		terminate "$reader"
		serial fifo-after "unix:$tmp/fifo.sock" 3
		if running "$pid"; then
			ok "fifo: alive after its reader went away"
		else
			fail "fifo: alive after its reader went away"
		fi
		stop_inspect fifo
		failure_told fifo "$tmp/fifo" $((3 * EVENTS_PER_MESSAGE))
	fi

	# Text to a FIFO whose first reader left before session 1, which is
	# lost: the next reader gets session 2's negotiation in full, not "as
	# in session 1", which it never saw.
	mkfifo "$tmp/fifo-text"
	( : <"$tmp/fifo-text" ) &
	reader=$!
	if start_inspect fifo-text -s "unix:$tmp/fifo-text.sock" \
	    --output "$tmp/fifo-text"; then
		wait "$reader"
		serial fifo-text-lost "unix:$tmp/fifo-text.sock" 1
		cat "$tmp/fifo-text" >"$tmp/fifo-text.copy" &
		reader=$!
		# Session 2 only once the reader has the FIFO open.
		for ((i = 0; i < READY_WAIT * 20; i++)); do
			ls -l "/proc/$reader/fd/" 2>/dev/null |
			    grep -q -- "-> $tmp/fifo-text\$" && break
			sleep 0.05
		done
		serial fifo-text-read "unix:$tmp/fifo-text.sock" 1
		stop_inspect fifo-text
		wait "$reader"
		if grep -q "^\[2\] negotiate .* as in session" \
		    "$tmp/fifo-text.copy" ||
		    ! grep -q "^\[2\]  offered actions" "$tmp/fifo-text.copy"
		then
			fail "fifo-text: a negotiation in full after a loss" \
			    "$(head -5 "$tmp/fifo-text.copy")"
		else
			ok "fifo-text: a negotiation in full after a loss"
		fi
	fi

	# Standard output to a pipe whose reader goes away (inspect | head):
	# inspect says so once and stops by itself, every worker, exit 0.
	reader_leaves pipe --n-workers 2
	serial pipe-before "unix:$tmp/pipe.sock" 1
	reader_gone pipe
	# The next events written find no reader.
	for ((i = 0; i < STOP_WAIT * 2; i++)); do
		running "$pid" || break
		python3 "$here/load.py" serial --spec "unix:$tmp/pipe.sock" \
		    --count 1 --max-reply "$slow" >/dev/null 2>&1
		sleep 0.5
	done
	if running "$pid"; then
		fail "pipe: stops once its reader went away" \
		    "still running after $((STOP_WAIT * 2)) messages"
		stop_inspect pipe
	else
		wait "$pid"
		status=$?
		pid=
		if [ "$status" -eq 0 ]; then
			ok "pipe: stops once its reader went away, exit 0"
		else
			fail "pipe: exit 0 once its reader went away" \
			    "exit status $status" "$(tail -5 "$tmp/pipe.err")"
		fi
	fi
	told_once pipe "the report's reader went away (standard output); stopping"
	if grep -q -e "cannot write the report" -e "could not be written" \
	    -e "killing" "$tmp/pipe.err"; then
		fail "pipe: a clean stop" "$(grep -v '^inspect\[' "$tmp/pipe.err")"
	else
		ok "pipe: a clean stop, no event counted lost"
	fi

	# Its reader gone before inspect wrote a byte (inspect | true): the
	# start line finds it, and inspect stops before it serves.
	timeout -k 5 "$STOP_WAIT" python3 -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
with open(sys.argv[1], "w") as err:
    sys.exit(subprocess.run(sys.argv[2:], stdout=w, stderr=err).returncode)
' "$tmp/pipe-early.err" "${wrapper[@]}" "$inspect" \
	    -s "unix:$tmp/pipe-early.sock"
	status=$?
	if [ "$status" -eq 0 ] && [ ! -e "$tmp/pipe-early.sock" ]; then
		ok "pipe-early: stops at once, exit 0, its socket removed"
	else
		fail "pipe-early: stops at once, exit 0, its socket removed" \
		    "exit status $status" "$(tail -3 "$tmp/pipe-early.err")"
	fi
	told_once pipe-early "the report's reader went away (standard output); stopping"

	# The same with the report also in a file: it goes on there, whole.
	reader_leaves pipe-file --output - --output "$tmp/pipe-file.out"
	serial pipe-file-before "unix:$tmp/pipe-file.sock" 1
	reader_gone pipe-file
	serial pipe-file-after "unix:$tmp/pipe-file.sock" 3
	if running "$pid"; then
		ok "pipe-file: alive after standard output's reader went away"
	else
		fail "pipe-file: alive after standard output's reader went away"
	fi
	stop_inspect pipe-file
	told_once pipe-file "standard output's reader went away; the report goes on in $tmp/pipe-file.out"
	if [ "$(grep -c '"stage":"close"' "$tmp/pipe-file.out")" -eq 4 ] &&
	    [ "$(lost_events "$tmp/pipe-file.err")" -eq 0 ]; then
		ok "pipe-file: every message in the file, none lost"
	else
		fail "pipe-file: every message in the file, none lost" \
		    "$(grep -c '"stage":"close"' "$tmp/pipe-file.out") closes," \
		    "$(lost_events "$tmp/pipe-file.err") lost"
	fi

	# A full disk.
	if start_inspect full -s "unix:$tmp/full.sock" --format text \
	    --output /dev/full; then
		serial full "unix:$tmp/full.sock" 3
		stop_inspect full
		failure_told full /dev/full $((3 * EVENTS_PER_MESSAGE))
	fi
}

# --- the unix socket's mode ------------------------------------------------
part_socket() {
	local mask mode saved started

	saved=$(umask)
	for mask in 000 022 077; do
		umask "$mask"
		start_inspect "socket-$mask" -s "unix:$tmp/mode-$mask.sock" -q
		started=$?
		umask "$saved"
		[ "$started" -eq 0 ] || continue
		# Serving, so that the stop below is not one right at start.
		serial "socket-$mask" "unix:$tmp/mode-$mask.sock" 1
		mode=$(stat -c %a "$tmp/mode-$mask.sock")
		if [ $((8#$mode & 8#002)) -eq 0 ]; then
			ok "socket: umask $mask gives mode $mode, not world-writable"
		else
			fail "socket: umask $mask gives mode $mode," \
			    "world-writable"
		fi
		stop_inspect "socket-$mask"
	done
}

# --- probing, read off the wire -------------------------------------------
part_wire() {
	local line

	line=$(printf '%*s' 980 '' | tr ' ' x)
	start_inspect wire -s "unix:$tmp/wire.sock" --format json \
	    --output "$tmp/wire.out" --no-reply no \
	    --change-header 'Subject[2]: changed' \
	    --insert-header '1 X-Probe: inserted' \
	    --reply "eom=550 5.7.1 $line" || return
	timeout -k 5 "$PART_WAIT" python3 "$here/wire.py" changes \
	    --spec "unix:$tmp/wire.sock" --report "$tmp/wire.out" \
	    --reply-line 980 >"$tmp/wire.result" 2>&1
	tally "$tmp/wire.result" wire $?
	stop_inspect wire
}

# --- no reply where none was agreed, across SMFIC_QUIT_NC -----------------
part_quitnc() {
	local name spec

	for name in quitnc-unix quitnc-tcp; do
		spec=unix:$tmp/$name.sock
		[ "$name" = quitnc-tcp ] &&
		    spec=inet:$(free_port)@127.0.0.1
		# No reply asked for on either socket, which auto would
		# not on a unix one: what QUIT_NC must carry over.
		start_inspect "$name" -s "$spec" --format json \
		    --output "$tmp/$name.out" --no-reply yes || continue
		timeout -k 5 "$PART_WAIT" python3 "$here/wire.py" quit-nc \
		    --spec "$spec" --report "$tmp/$name.out" \
		    --stderr "$tmp/$name.err" 2>&1 |
		    sed "s/^\(ok\|FAIL\) quit-nc:/\1 $name:/" \
		    >"$tmp/$name.result"
		tally "$tmp/$name.result" "$name" "${PIPESTATUS[0]}"
		stop_inspect "$name"
	done
}

# --- a hostile milter behind inspect ----------------------------------------
part_forward() {
	# Under valgrind, more time for inspect's own work; the milter's
	# timeouts are what is tested.
	local command=$((slow)) eom=$((2 * slow))

	start_inspect forward -s "unix:$tmp/forward.sock" --format json \
	    --output "$tmp/forward.out" --forward "unix:$tmp/behind.sock" \
	    --forward-default reject --forward-command-timeout "$command" \
	    --forward-eom-timeout "$eom" || return
	timeout -k 5 "$PART_WAIT" python3 "$here/forward.py" \
	    --spec "unix:$tmp/forward.sock" --downstream "$tmp/behind.sock" \
	    --report "$tmp/forward.out" --stderr "$tmp/forward.err" \
	    --pid "$pid" --command-timeout "$command" --eom-timeout "$eom" \
	    >"$tmp/forward.result" 2>&1
	tally "$tmp/forward.result" forward $?
	stop_inspect forward
}

# --- the stop's gate --------------------------------------------------------
part_gate() {
	# Far more than a unix socket buffers: inspect is still writing it.
	head -c $((8 * 1024 * 1024)) /dev/zero | tr '\0' 'b' |
	    fold -w 76 >"$tmp/gate-body.txt"
	start_inspect gate -s "unix:$tmp/gate.sock" --format json \
	    --output "$tmp/gate.out" --no-reply no --delay helo=60 \
	    --replace-body "$tmp/gate-body.txt" || return
	timeout -k 5 "$PART_WAIT" python3 "$here/wire.py" stop-gate \
	    --spec "unix:$tmp/gate.sock" --report "$tmp/gate.out" \
	    --stderr "$tmp/gate.err" --pid "$pid" >"$tmp/gate.result" 2>&1
	tally "$tmp/gate.result" gate $?
	# wire.py stopped it: it must be gone, with status 0.
	for ((i = 0; i < STOP_WAIT * 20; i++)); do
		running "$pid" || break
		sleep 0.05
	done
	if running "$pid"; then
		kill -KILL "$pid"
		fail "gate: exits after SIGTERM" "still running after" \
		    "${STOP_WAIT}s"
	fi
	wait "$pid"
	status=$?
	pid=
	check "gate: exits 0 after SIGTERM (status $status)" \
	    [ "$status" -eq 0 ]
}

main() {
	local part parts

	if [ "$(id -u)" -ne 0 ]; then
		echo "run.sh: needs root (file limits for $sessions sessions)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
	for tool in python3 timeout ss stat; do
		command -v "$tool" >/dev/null ||
		    { echo "run.sh: $tool not found" >&2; exit 2; }
	done
	[ -x "$inspect" ] || { echo "run.sh: no $inspect: run make" >&2; exit 2; }
	[ ${#wrapper[@]} -gt 0 ] && echo "inspect runs under: ${wrapper[*]}"

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/inspect-hostile.XXXXXX") || exit 2
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# Room for a thousand sessions, on both ends; inspect inherits it.
	ulimit -n $((sessions * 2 + 1024)) 2>/dev/null ||
	    ulimit -n "$(ulimit -Hn)"

	parts=("$@")
	[ $# -gt 0 ] || parts=(json text color replies tcp libmilter crowd stop
	    outputs socket wire quitnc forward gate)
	for part in "${parts[@]}"; do
		if ! declare -F "part_$part" >/dev/null; then
			echo "run.sh: no part $part" >&2
			exit 2
		fi
		echo "--- $part"
		"part_$part"
	done
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
