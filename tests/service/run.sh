#!/bin/bash
# Service tests: inspect as a daemon -- the launcher's exit status, the pid
# file, detaching, dropping privileges, the unix socket's owner, mode and
# lifetime, levelled logging to a file and to syslog, reopening on SIGHUP,
# worker processes, runs that append to one report (each begun by its
# start line, (run, session) naming a session of either), the memory
# profile, the options kept for milter-test-client's sake, the listen
# backlog, and signals: a second one during a stop, a terminal's hang-up,
# the time a stop takes, signals from outside (signals.py); the
# supervisor: workers that die with it, hold nothing of its, are started
# again or given up on, files planted where it reopens, a launcher that
# hears "ok" only once inspect serves (supervise.py).
#
# Needs root: inspect drops to nobody, and the syslog test mounts a /dev of
# its own in a private mount namespace.  Everything lives in one mktemp -d
# directory; only loopback is used; the machine's /dev is never touched.
set -u
export LC_ALL=C

# Every wait is bounded; these are the bounds, in seconds.
READY_WAIT=10		# for inspect to listen, or a log line to appear
STOP_WAIT=20		# for inspect and its workers to exit (about 5)
CLIENT_WAIT=20		# for one miltertest
LAUNCH_WAIT=30		# for the launcher of a daemon to exit
CHECKER_WAIT=600	# for the whole of signals.py, of supervise.py

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/../lib.sh"
inspect=$top/inspect
passed=0
failed=0
pids=()			# everything started here, stopped at exit

# One log file line: RFC 3339 time in UTC, the process, the level.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
# inspect's version, as a run's start line gives it.
version=$("$inspect" --version 2>/dev/null | cut -d ' ' -f 2)

tmp=$(mktemp -d /tmp/inspect-service.XXXXXX) || exit 1
# nobody must reach the files of the privilege tests.
chmod 755 "$tmp"

# --- helpers ------------------------------------------------------------------

# not COMMAND...: COMMAND fails (for check, which runs a command).
not() {
	! "$@"
}

# quietly COMMAND...: COMMAND's status, its output thrown away.
quietly() {
	"$@" >/dev/null 2>&1
}

# procs_with STRING: the live processes whose command line holds STRING,
# a path inside $tmp, so that only this run's processes are found.
procs_with() {
	local d

	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" != $$ ] || continue
		tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "$1" &&
		    ! gone "${d#/proc/}" && echo "${d#/proc/}"
	done
}

# stop SIG PID...: send SIG to every PID at once (libmilter takes about 5 s
# to stop, so one wait serves them all), then wait for each; one still
# alive after STOP_WAIT seconds is killed.  Returns non-zero if one was.
stop() {
	local sig=$1 pid rc=0

	shift
	for pid; do
		kill -"$sig" "$pid" 2>/dev/null
	done
	for pid; do
		if ! wait_until "$STOP_WAIT" gone "$pid"; then
			kill -KILL "$pid" 2>/dev/null
			rc=1
		fi
		wait "$pid" 2>/dev/null		# only our children are reaped
	done
	return $rc
}

# retire PID...: stop PIDs whose exit this test does not check, in the
# background of the tests that follow; they are waited for at the end.
retiring=()
retire() {
	local pid

	for pid; do
		kill -TERM "$pid" 2>/dev/null
		retiring+=("$pid")
	done
}

# nothing_at PATH: no file at PATH, and no process of this run uses it.
nothing_at() {
	[ ! -e "$1" ] && [ -z "$(procs_with "$1")" ]
}

# A daemon's workers die with their supervisor; anything else left over
# (a daemon whose pid was never learnt, a killed supervisor's workers) is
# found by this run's directory in its command line.
cleanup() {
	trap '' INT TERM
	stop TERM "${pids[@]}" $(procs_with "$tmp/")
	stop KILL $(procs_with "$tmp/")
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# connectable PATH: one connection to the unix socket PATH succeeds now.
connectable() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])' "$1" 2>/dev/null
}

# start NAME ARGS...: inspect in the foreground mode, in the background,
# its standard output and error in $tmp/NAME.stdout and .stderr; its pid
# in $started.  Returns once it listens.
start() {
	local name=$1

	shift
	"$inspect" "$@" >"$tmp/$name.stdout" 2>"$tmp/$name.stderr" </dev/null &
	started=$!
	pids+=("$started")
	wait_until "$READY_WAIT" listening "$started"
}

# launch NAME ARGS...: inspect --daemon ARGS; the launcher's exit status in
# $launched, its output in $tmp/NAME.launch.out and .err.  With a pid
# file among ARGS, the daemon's pid is in $daemon.
launch() {
	local name=$1 pidfile= prev= a

	shift
	for a; do
		[ "$prev" = --pid-file ] && pidfile=$a
		prev=$a
	done
	timeout "$LAUNCH_WAIT" "$inspect" --daemon "$@" \
	    >"$tmp/$name.launch.out" 2>"$tmp/$name.launch.err" </dev/null
	launched=$?
	daemon=
	if [ "$launched" -eq 0 ] && [ -n "$pidfile" ]; then
		daemon=$(tr -dc 0-9 <"$pidfile" 2>/dev/null)
		[ -z "$daemon" ] || pids+=("$daemon")
	fi
}

# The message every test sends: a full SMTP transaction.
cat >"$tmp/msg.lua" <<'EOF'
conn = mt.connect("unix:" .. sock, 40, 0.05)
assert(conn, "cannot connect")
assert(mt.conninfo(conn, "client.example", "192.0.2.7") == nil)
assert(mt.helo(conn, "client.example") == nil)
assert(mt.mailfrom(conn, "<a@example.org>") == nil)
assert(mt.rcptto(conn, "<b@example.net>") == nil)
assert(mt.header(conn, "Subject", "hi") == nil)
assert(mt.eoh(conn) == nil)
assert(mt.bodystring(conn, "hello\r\n") == nil)
assert(mt.eom(conn) == nil)
mt.disconnect(conn)
EOF

# send_message SOCKET: one full message through inspect, by miltertest.
send_message() {
	timeout "$CLIENT_WAIT" miltertest -D sock="$1" -s "$tmp/msg.lua" \
	    >/dev/null 2>&1
}

# send_messages N SOCKET: N messages at once; fails if one fails.
send_messages() {
	local n=$1 i clients=() rc=0

	for i in $(seq "$n"); do
		send_message "$2" &
		clients+=("$!")
	done
	for i in "${clients[@]}"; do
		wait "$i" || rc=1
	done
	return $rc
}

# bad_negotiation SOCKET: an option negotiation packet too short for
# libmilter, which then logs an error through syslog(3) of its own.
bad_negotiation() {
	python3 - "$1" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
packet = b"O" + struct.pack("!I", 1)
s.sendall(struct.pack("!I", len(packet)) + packet)
s.recv(100)
EOF
}

# closes REPORT: the session numbers of the closes in a text report.
closes() {
	sed -n 's/^\[\([0-9]*\)\] close .*/\1/p' "$1"
}

# has_closes N REPORT: REPORT shows at least N sessions closed.
has_closes() {
	[ "$(closes "$2" | wc -l)" -ge "$1" ]
}

# starts_run REPORT PID [N]: REPORT's first line is the start line of
# PID's run, "[0] start TIME run ID inspect VERSION", its ID TIME to the
# second and PID; REPORT has N lines of session 0 (1 unless given).
starts_run() {
	local line time id

	line=$(head -n 1 "$1" 2>/dev/null)
	time=$(printf '%s\n' "$line" | cut -d ' ' -f 3)
	id=$(printf '%s\n' "${time%.*}" | tr -d -- '-:')Z-p$2
	[[ $time =~ ^$stamp$ ]] &&
	    [ "$line" = "[0] start $time run $id inspect $version" ] &&
	    [ "$(grep -c '^\[0\] ' "$1")" -eq "${3:-1}" ]
}

# reopenings LOG N: LOG says N times that the files were reopened.
reopenings() {
	[ "$(grep -c 'reopened the log and the report files' "$1")" -eq "$2" ]
}

# status_ids PID: "UIDS / GIDS / GROUPS" from /proc/PID/status, each the
# line's values (real, effective, saved, fs) joined by spaces.
status_ids() {
	awk '/^Uid:/ { u = $2 " " $3 " " $4 " " $5 }
	    /^Gid:/ { g = $2 " " $3 " " $4 " " $5 }
	    /^Groups:/ { $1 = ""; sub(/^ +/, ""); sub(/ +$/, ""); s = $0 }
	    END { print u " / " g " / " s }' "/proc/$1/status" 2>/dev/null
}

# children PID: the live child processes of PID.
children() {
	ps -o pid=,stat= --ppid "$1" | awk '$2 !~ /^Z/ { print $1 }'
}

# server_of PID: the process that serves for PID, which gave up root: its
# one worker, once started.
server_of() {
	wait_until "$READY_WAIT" count_children "$1" 1 && children "$1"
}

count_children() {
	[ "$(children "$1" | wc -l)" -eq "$2" ]
}

# logged FILE PID LEVEL TEXT: FILE has a stamped line of PID at LEVEL
# whose text holds TEXT (a fixed string).
logged() {
	grep -E "^$stamp inspect\\[$2\\]: $3: " "$1" 2>/dev/null |
	    sed -E "s/^$stamp inspect\\[$2\\]: $3: //" | grep -qF -- "$4"
}

# in_private_dev ARGS...: become ARGS (exec: call it in the background or
# a subshell), in a mount namespace of their own whose /dev is a new tmpfs
# holding only null (the real one, bind-mounted) and log, a symbolic link
# to this run's syslog listener.  syslog(3) then reaches the listener; the
# machine's /dev is left as it is.
in_private_dev() {
	exec unshare --mount --propagation private /bin/sh -c '
		null=$1 log=$2
		shift 2
		mount --bind /dev/null "$null" &&
		    mount -t tmpfs -o mode=755 tmpfs /dev &&
		    touch /dev/null && mount --bind "$null" /dev/null &&
		    ln -s "$log" /dev/log || exit 125
		exec "$@"' sh "$tmp/null" "$tmp/syslog.sock" "$@"
}

# A syslog daemon of this run's own: every datagram on a line of
# $tmp/syslog.got.
start_syslog_listener() {
	: >"$tmp/null"
	timeout 300 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")' \
	    "$tmp/syslog.sock" "$tmp/syslog.got" &
	pids+=("$!")
	wait_until "$READY_WAIT" test -S "$tmp/syslog.sock"
}

# syslogged PRI PID TEXT: the listener got a datagram <PRI>, from
# inspect[PID], whose message holds TEXT.
syslogged() {
	grep -E "^<$1>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} inspect\\[$2\\]: " \
	    "$tmp/syslog.got" 2>/dev/null |
	    sed -E 's/^<[0-9]+>.{15} inspect\[[0-9]+\]: //' |
	    grep -qF -- "$3"
}

# expect_refused NAME STATUS NEEDLE COMMAND...: COMMAND (an inspect) exits
# with STATUS and writes exactly one line to standard error, holding
# NEEDLE.
expect_refused() {
	local name=$1 want=$2 needle=$3 rc lines

	shift 3
	timeout "$LAUNCH_WAIT" "$@" >"$tmp/refused.out" \
	    2>"$tmp/refused.err" </dev/null
	rc=$?
	lines=$(wc -l <"$tmp/refused.err")
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit status $rc, wanted $want" \
		    "$(cat "$tmp/refused.err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr, wanted 1" \
		    "$(cat "$tmp/refused.err")"
	elif ! grep -qF -- "$needle" "$tmp/refused.err"; then
		fail "$name" "stderr does not name '$needle'" \
		    "$(cat "$tmp/refused.err")"
	else
		ok "$name"
	fi
}

# --- the daemon and its launcher ----------------------------------------------

test_daemon() {
	local sock=$tmp/d.sock pidf=$tmp/d.pid log=$tmp/d.log out=$tmp/d.out
	local fd target bad=

	launch d -s "unix:$sock" --pid-file "$pidf" --log-path "$log" \
	    --output "$out"
	if [ "$launched" -ne 0 ] || [ -z "$daemon" ]; then
		fail "daemon: launcher exits 0" "exit status $launched" \
		    "$(cat "$tmp/d.launch.err")"
		return
	fi
	ok "daemon: launcher exits 0"
	# No waiting: the launcher said it listens, so it must already.
	check "daemon: listening when the launcher exits" connectable "$sock"
	# Exactly the pid and a newline, and that pid is inspect.
	check "daemon: pid file holds the daemon's pid" \
	    cmp -s "$pidf" <(echo "$daemon")
	check "daemon: ... which is the serving inspect" \
	    [ "$(readlink "/proc/$daemon/exe")" = "$inspect" ]
	check "daemon: a session of its own" \
	    [ "$(ps -o sid= -p "$daemon")" -ne "$(ps -o sid= -p $$)" ]
	check "daemon: no controlling terminal" \
	    [ "$(ps -o tty= -p "$daemon" | tr -d ' ')" = "?" ]
	check "daemon: working directory /" \
	    [ "$(readlink "/proc/$daemon/cwd")" = / ]
	for fd in 0 1 2; do
		target=$(readlink "/proc/$daemon/fd/$fd") || target=closed
		case $target in
		/dev/null|"$log") ;;
		*) bad="$bad fd $fd: $target" ;;
		esac
	done
	check "daemon: fds 0-2 open on /dev/null or the log${bad:+ ($bad)}" \
	    [ -z "$bad" ]
	check "daemon: logs 'listening on' to --log-path" \
	    logged "$log" "$daemon" message "listening on unix:$sock "
	if send_message "$sock" && wait_until "$READY_WAIT" has_closes 1 "$out"
	then
		ok "daemon: serves a message, reported to --output"
	else
		fail "daemon: serves a message, reported to --output"
	fi
	# Its run is taken once it detached: the pid is the daemon's.
	check "daemon: the report begins with its run's start line, its pid" \
	    starts_run "$out" "$daemon"

	# A second inspect on the same pid file names the first.
	expect_refused "daemon: pid file held by a live inspect" 1 \
	    "$daemon" "$inspect" --daemon -q -s "unix:$tmp/d2.sock" \
	    --pid-file "$pidf"
	check "daemon: the held pid file is left as it was" \
	    [ "$(cat "$pidf")" = "$daemon" ]
	check "daemon: the refused one started nothing" \
	    nothing_at "$tmp/d2.sock"

	stop TERM "$daemon"
	check "daemon: gone after SIGTERM" gone "$daemon"
	check "daemon: socket removed on exit" [ ! -e "$sock" ]
	check "daemon: pid file removed on exit" [ ! -e "$pidf" ]
}

test_launch_failures() {
	local port busy stale

	port=$(free_port)
	python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(60)' "$port" &
	busy=$!
	pids+=("$busy")
	if wait_until "$READY_WAIT" listening "$busy"; then
		expect_refused "launch: busy port" 1 "Address already in use" \
		    "$inspect" --daemon -q -s "inet:$port@127.0.0.1"
	else
		fail "launch: busy port" "could not occupy port $port"
	fi
	retire "$busy"
	expect_refused "launch: bad spec" 64 "'foo'" \
	    "$inspect" --daemon -q -s foo:bar
	expect_refused "launch: pid file in a missing directory" 1 \
	    "$tmp/missing/x.pid" "$inspect" --daemon -q -s "unix:$tmp/f1.sock" \
	    --pid-file "$tmp/missing/x.pid"
	check "launch: nothing left listening after the pid file failure" \
	    nothing_at "$tmp/f1.sock"
	ln -s "$tmp/pid-target" "$tmp/link.pid"
	expect_refused "launch: pid file through a symlink" 1 "$tmp/link.pid" \
	    "$inspect" --daemon -q -s "unix:$tmp/f2.sock" \
	    --pid-file "$tmp/link.pid"
	check "launch: the symlink's target is not created" \
	    [ ! -e "$tmp/pid-target" ]
	echo "not a socket" >"$tmp/file.sock"
	expect_refused "launch: path is not a socket" 1 "not a socket" \
	    "$inspect" --daemon -q -s "unix:$tmp/file.sock"
	check "launch: the file is left alone" \
	    [ "$(cat "$tmp/file.sock")" = "not a socket" ]
	expect_refused "launch: --daemon without --output" 64 "--output" \
	    "$inspect" --daemon -s "unix:$tmp/f3.sock"
	expect_refused "launch: --daemon --output -" 64 "--output -" \
	    "$inspect" --daemon -s "unix:$tmp/f3.sock" --output -

	# The pid of a process that has exited: a stale pid file.
	sleep 0 &
	stale=$!
	wait "$stale"
	echo "$stale" >"$tmp/stale.pid"
	launch stale -q -s "unix:$tmp/stale-pid.sock" \
	    --pid-file "$tmp/stale.pid"
	check "launch: a stale pid file is taken over" \
	    [ "$launched" -eq 0 -a -n "$daemon" -a "$daemon" != "$stale" ]
	[ -z "$daemon" ] || retire "$daemon"
}

# What status_ids says of a process that dropped to nobody, and only that.
as_nobody="65534 65534 65534 65534 / 65534 65534 65534 65534 / 65534"

# --- users and groups ---------------------------------------------------------

test_privileges() {
	local sock=$tmp/u.sock pidf=$tmp/u.pid log=$tmp/u.log out=$tmp/u.out
	local own=$tmp/nobody-dir run=() p g

	launch u -u nobody -s "unix:$sock" --pid-file "$pidf" \
	    --log-path "$log" --output "$out"
	if [ "$launched" -ne 0 ] || [ -z "$daemon" ]; then
		fail "user: daemon as nobody starts" \
		    "$(cat "$tmp/u.launch.err")"
		return
	fi
	ok "user: daemon as nobody starts"
	run+=("$daemon")
	check "user: -u nobody: a supervisor stays root" \
	    [ "$(status_ids "$daemon" | cut -d/ -f1-2)" = "0 0 0 0 / 0 0 0 0 " ]
	check "user: -u nobody: uid, gid and groups all nobody's" \
	    [ "$(status_ids "$(server_of "$daemon")")" = "$as_nobody" ]
	check "user: log and output given to nobody" [ "$(stat -c %U \
	    "$log" "$out" | sort -u)" = nobody ]
	check "user: the pid file, which root signals, stays root's" \
	    [ "$(stat -c %U "$pidf")" = root ]
	check "user: socket made by root" [ "$(stat -c %U "$sock")" = root ]
	if send_message "$sock" && wait_until "$READY_WAIT" has_closes 1 "$out"
	then
		ok "user: still serves as nobody"
	else
		fail "user: still serves as nobody"
	fi

	# -g: the group replaces the user's own, and is the only one.
	if start ug -q -u nobody -g postfix -s "unix:$tmp/ug.sock"; then
		g=$(getent group postfix | cut -d: -f3)
		check "user: -u nobody -g postfix: gid and groups postfix's" \
		    [ "$(status_ids "$(server_of "$started")")" = \
		    "65534 65534 65534 65534 / $g $g $g $g / $g" ]
		run+=("$started")
	else
		fail "user: -u nobody -g postfix starts" \
		    "$(cat "$tmp/ug.stderr")"
	fi
	if start uid -q --user-id 65534 --group-name nogroup \
	    -s "unix:$tmp/uid.sock"; then
		check "user: --user-id 65534 --group-name nogroup" \
		    [ "$(status_ids "$(server_of "$started")")" = \
		    "$as_nobody" ]
		run+=("$started")
	else
		fail "user: --user-id 65534 starts" "$(cat "$tmp/uid.stderr")"
	fi
	if start uname -q --user-name nobody --group-id 105 \
	    -s "unix:$tmp/uname.sock"; then
		check "user: --user-name nobody --group-id 105" \
		    [ "$(status_ids "$(server_of "$started")")" = \
		    "65534 65534 65534 65534 / 105 105 105 105 / 105" ]
		run+=("$started")
	else
		fail "user: --user-name nobody starts" \
		    "$(cat "$tmp/uname.stderr")"
	fi

	# Where nobody may write, nobody removes its socket and pid file.
	mkdir "$own"
	chown nobody "$own"
	launch own -q -u nobody -s "unix:$own/s.sock" --pid-file "$own/s.pid" \
	    --log-path "$own/s.log"
	if [ "$launched" -eq 0 ] && [ -n "$daemon" ]; then
		run+=("$daemon")
	else
		fail "user: daemon in nobody's directory starts" \
		    "$(cat "$tmp/own.launch.err")"
	fi

	expect_refused "user: unknown user" 1 "nosuchuser" \
	    "$inspect" -q -u nosuchuser -s "unix:$tmp/nu.sock" \
	    --pid-file "$tmp/nu.pid"
	expect_refused "user: unknown group" 1 "nosuchgroup" \
	    "$inspect" --daemon -q -g nosuchgroup -s "unix:$tmp/nu.sock" \
	    --pid-file "$tmp/nu.pid"
	expect_refused "user: unknown socket group" 1 "nosuchgroup" \
	    "$inspect" -q --unix-socket-group nosuchgroup -s "unix:$tmp/nu.sock"
	expect_refused "user: --user-id takes only a number" 1 "'nobody'" \
	    "$inspect" -q --user-id nobody -s "unix:$tmp/nu.sock"
	check "user: nothing started for an unknown user or group" \
	    nothing_at "$tmp/nu.sock"
	check "user: ... not even a pid file" [ ! -e "$tmp/nu.pid" ]
	expect_refused "user: not root, asking for another user" 1 \
	    "needs root" setpriv --reuid=nobody --regid=nogroup \
	    --clear-groups "$inspect" -q -u root -s "unix:$tmp/nr.sock"

	stop TERM "${run[@]}"
	check "user: the socket in root's directory is removed at exit" \
	    [ ! -e "$sock" ]
	check "user: the pid file in root's directory is removed at exit" \
	    [ ! -e "$pidf" ]
	check "user: ... with no warning" not grep -q warning "$log"
	check "user: a dropped process removes its socket where it may" \
	    [ ! -e "$own/s.sock" ]
	check "user: a dropped process removes its pid file where it may" \
	    [ ! -e "$own/s.pid" ]
	check "user: ... with no warning" not grep -q warning "$own/s.log"
}

# --- the unix socket ----------------------------------------------------------

test_socket() {
	local run=() first rc mask

	mask=$(umask)
	if start sdef -q -s "unix:$tmp/sdef.sock"; then
		run+=("$started")
		check "socket: default group and mode: root 660" \
		    [ "$(stat -c '%G %a' "$tmp/sdef.sock")" = "root 660" ]
	else
		fail "socket: default starts" "$(cat "$tmp/sdef.stderr")"
	fi
	if start sgrp -q -s "unix:$tmp/sgrp.sock" --unix-socket-group postfix \
	    --unix-socket-mode 0640; then
		run+=("$started")
		check "socket: --unix-socket-group postfix, mode 0640" \
		    [ "$(stat -c '%G %a' "$tmp/sgrp.sock")" = "postfix 640" ]
	else
		fail "socket: group and mode" "$(cat "$tmp/sgrp.stderr")"
	fi
	# The mode is the one asked for, whatever the umask.
	umask 0077
	start smode -q -s "unix:$tmp/smode.sock" --unix-socket-mode 666
	rc=$?
	umask "$mask"
	if [ "$rc" -eq 0 ]; then
		run+=("$started")
		check "socket: --unix-socket-mode 666 under umask 0077" \
		    [ "$(stat -c '%G %a' "$tmp/smode.sock")" = "root 666" ]
	else
		fail "socket: mode 666" "$(cat "$tmp/smode.stderr")"
	fi
	test_socket_mode_at_creation

	expect_refused "socket: --unix-socket-mode with an inet spec" 64 \
	    "inet:" "$inspect" -q -s inet:10025@127.0.0.1 \
	    --unix-socket-mode 0600
	expect_refused "socket: --unix-socket-group with an inet spec" 64 \
	    "inet:" "$inspect" -q -s inet:10025@127.0.0.1 \
	    --unix-socket-group postfix

	# A stale socket is replaced; a live one is not stolen.
	python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$tmp/stale.sock"
	launch stale -q -s "unix:$tmp/stale.sock" --pid-file "$tmp/stale-s.pid"
	if [ "$launched" -eq 0 ] && send_message "$tmp/stale.sock"; then
		ok "socket: a stale socket is replaced"
		first=$daemon
		run+=("$first")
		expect_refused "socket: a live socket is refused" 1 \
		    "another process is listening" "$inspect" --daemon -q \
		    -s "unix:$tmp/stale.sock"
		check "socket: ... and the first inspect still serves" \
		    send_message "$tmp/stale.sock"
	else
		fail "socket: a stale socket is replaced" \
		    "$(cat "$tmp/stale.launch.err")"
	fi

	stop TERM "${run[@]}"
	check "socket: removed on clean exit" \
	    [ ! -e "$tmp/sdef.sock" -a ! -e "$tmp/sgrp.sock" -a \
	    ! -e "$tmp/stale.sock" ]
}

# Under umask 0, a socket made without care would be 0777 until inspect
# changes it; it must never give others (or the group) anything.
test_socket_mode_at_creation() {
	local so=$tmp/bind-mode.so

	if ! "${CC:-cc}" -shared -fPIC -o "$so" "$here/bind-mode.c" -ldl \
	    2>"$tmp/bind-mode.cc"; then
		fail "socket: mode at creation (cannot build the helper)" \
		    "$(cat "$tmp/bind-mode.cc")"
		return
	fi
	# A sanitizer build wants its runtime first; the helper only wraps.
	umask 0
	BIND_MODE_LOG=$tmp/bind-mode.log LD_PRELOAD=$so \
	    ASAN_OPTIONS=verify_asan_link_order=0 \
	    start screate -q -s "unix:$tmp/screate.sock"
	umask "$mask"
	run+=("$started")
	check "socket: no permission for others when created (umask 0177)" \
	    [ "$(cat "$tmp/bind-mode.log" 2>/dev/null)" = "0600 screate.sock" ]
	check "socket: then given the default mode" \
	    [ "$(stat -c %a "$tmp/screate.sock")" = 660 ]
}

# --- logging ------------------------------------------------------------------

# Each LEVELS given to --log-level with what must be logged (+) and what
# must not (-): message is "listening on", info "1 worker serving",
# debug "worker N started" (a one-worker inspect says all three).
log_cases=(
	"default-set|+message -info -debug"
	"message|+message -info -debug"
	"info|-message +info -debug"
	"debug|-message -info +debug"
	"message|debug|+message -info +debug"
	"default|+message -info -debug"
	"error|-message -info -debug"
	"none|-message -info -debug"
	"all|+message +info +debug"
)

# start_logging N LEVELS: the inspect of log case N, its pid in $started.
start_logging() {
	local n=$1 levels=$2 args=()

	[ "$levels" = default-set ] || args=(--log-level "$levels")
	start "log$n" -q --n-workers 1 -s "unix:$tmp/log$n.sock" \
	    --log-path "$tmp/log$n.log" "${args[@]}"
}

# check_logging N LEVELS WANT PID: the log of case N says what WANT says;
# a case that shows none of them logs nothing at all.
check_logging() {
	local n=$1 levels=$2 want=$3 pid=$4 w what text bad= says=

	for w in $want; do
		what=${w#?}
		case $what in
		message) text="listening on unix:$tmp/log$n.sock " ;;
		info) text="1 worker serving" ;;
		debug) text="worker " ;;
		esac
		if [ "${w%"$what"}" = + ]; then
			says="$says, $what shown"
			logged "$tmp/log$n.log" "$pid" "$what" "$text" ||
			    bad="$bad $what missing;"
		else
			says="$says, $what hidden"
			not logged "$tmp/log$n.log" "$pid" "$what" "$text" ||
			    bad="$bad $what shown;"
		fi
	done
	if [ "${want#*+}" = "$want" ] && [ -s "$tmp/log$n.log" ]; then
		bad="$bad lines logged;"
	fi
	# Every line in the file is stamped, from a process of this inspect.
	if grep -qvE "^$stamp inspect\\[[0-9]+\\]: [a-z]+: " "$tmp/log$n.log"
	then
		bad="$bad unstamped lines;"
	fi
	check "log: --log-level $levels: ${says#, }${bad:+ (}$bad${bad:+)}" \
	    [ -z "$bad" ]
}

test_log_levels() {
	local i case run=() lp=() e= ew

	for i in "${!log_cases[@]}"; do
		case=${log_cases[$i]}
		if start_logging "$i" "${case%|*}"; then
			run+=("$started")
		else
			fail "log: --log-level ${case%|*} starts"
			run+=(0)
		fi
	done
	for i in "${!log_cases[@]}"; do
		case=${log_cases[$i]}
		[ "${run[$i]}" -ne 0 ] || continue
		check_logging "$i" "${case%|*}" "${case##*|}" "${run[$i]}"
	done
	lp=("${run[@]}")

	# A worker killed is an error, and is shown at that level.
	end_a_worker error KILL && e=$started ew=$victim
	[ -z "$e" ] || check_worker_end error "$e" "$ew" "killed by signal 9"
	lp+=($e)
	echo "not a socket" >"$tmp/notsock"
	expect_refused "log: --log-level critical shows a start-up failure" \
	    1 "not a socket" "$inspect" --log-level critical -q \
	    -s "unix:$tmp/notsock"
	timeout "$LAUNCH_WAIT" "$inspect" --log-level 'error|warning|message' \
	    -q -s "unix:$tmp/notsock" >/dev/null 2>"$tmp/nocrit.err"
	check "log: without critical, a start-up failure is silent (exit 1)" \
	    [ $? -eq 1 -a ! -s "$tmp/nocrit.err" ]
	retire "${lp[@]}"
}

# end_a_worker LEVEL SIG: a one-worker inspect logging at LEVEL, whose
# worker is sent SIG; the inspect in $started, the worker in $victim.
end_a_worker() {
	if ! start "end-$1" -q --n-workers 1 --log-level "$1" \
	    -s "unix:$tmp/end-$1.sock" --log-path "$tmp/end-$1.log"; then
		fail "log: --log-level $1 starts"
		return 1
	fi
	victim=$(children "$started")
	kill -"$2" $victim
}

# check_worker_end LEVEL PID VICTIM TEXT: PID logged at LEVEL that its
# worker VICTIM ended (TEXT), and nothing else.
check_worker_end() {
	local log=$tmp/end-$1.log

	if wait_until "$STOP_WAIT" logged "$log" "$2" "$1" "worker $3 $4"; then
		check "log: --log-level $1: worker $4, and nothing else" \
		    [ "$(wc -l <"$log")" -eq 1 ]
	else
		fail "log: --log-level $1: worker $4" "$(cat "$log")"
	fi
}

test_log_destinations() {
	local run=()

	# Default: standard error, unstamped.
	if start lstderr -q -s "unix:$tmp/lstderr.sock"; then
		run+=("$started")
		check "log: standard error by default" grep -qF "inspect: \
listening on unix:$tmp/lstderr.sock (pid $started," "$tmp/lstderr.stderr"
	else
		fail "log: default starts"
	fi
	if start lstdout -q --log-path - -s "unix:$tmp/lstdout.sock"; then
		run+=("$started")
		check "log: --log-path - is standard output" grep -qF \
		    "inspect: listening on unix:$tmp/lstdout.sock " \
		    "$tmp/lstdout.stdout"
	else
		fail "log: --log-path - starts"
	fi
	expect_refused "log: --daemon --log-path - is refused" 64 \
	    "--log-path -" "$inspect" --daemon -q --log-path - \
	    -s "unix:$tmp/x.sock"
	# libmilter's own lines, which it gives syslog(3) only.
	if start lmilter -q -s "unix:$tmp/lmilter.sock" \
	    --log-path "$tmp/lmilter.log"; then
		run+=("$started")
		bad_negotiation "$tmp/lmilter.sock"
		check "log: libmilter's syslog lines copied to the log file" \
		    wait_until "$READY_WAIT" grep -qF "st_optionneg" \
		    "$tmp/lmilter.log"
	else
		fail "log: libmilter's lines (start)"
	fi
	retire "${run[@]}"
}

# -v: every level, and libmilter's debugging (printed to standard output
# by libmilter) in the log.
test_verbose() {
	local run=()

	if start vplain -v -q -s "unix:$tmp/vplain.sock" &&
	    send_message "$tmp/vplain.sock"; then
		run+=("$started")
		check "verbose: -v logs info ('macros:')" grep -q \
		    '^inspect: macros: ' "$tmp/vplain.stderr"
		check "verbose: libmilter's debugging on standard error" \
		    wait_until "$READY_WAIT" grep -q "got cmd 'O'" \
		    "$tmp/vplain.stderr"
	else
		fail "verbose: -v serves"
	fi
	if start vfile -v -q -s "unix:$tmp/vfile.sock" \
	    --log-path "$tmp/vfile.log" && send_message "$tmp/vfile.sock"; then
		run+=("$started")
		check "verbose: -v --log-path: every level in the file" \
		    logged "$tmp/vfile.log" "$started" info "macros: "
		check "verbose: -v --log-path: libmilter's debugging there" \
		    wait_until 2 grep -q "got cmd 'O'" "$tmp/vfile.log"
	else
		fail "verbose: -v --log-path serves"
	fi
	launch vd -v -q -s "unix:$tmp/vd.sock" --log-path "$tmp/vd.log" \
	    --pid-file "$tmp/vd.pid"
	if [ "$launched" -eq 0 ] && send_message "$tmp/vd.sock"; then
		run+=("$daemon")
		check "verbose: --daemon -v: libmilter's debugging in the log" \
		    wait_until 2 grep -q "got cmd 'O'" "$tmp/vd.log"
	else
		fail "verbose: --daemon -v serves" "$(cat "$tmp/vd.launch.err")"
	fi
	retire "${run[@]}"
}

# SIGHUP, as logrotate sends it: the files are moved away, new ones
# appear and take every new line, and the service goes on.
test_reopen() {
	local sock=$tmp/hup.sock log=$tmp/hup.log out=$tmp/hup.out pid

	if ! start hup -s "unix:$sock" --log-level 'message|info' \
	    --log-path "$log" --output "$out" || ! send_message "$sock" ||
	    ! wait_until "$READY_WAIT" has_closes 1 "$out"; then
		fail "reopen: inspect serves" "$(cat "$tmp/hup.stderr")"
		return
	fi
	pid=$started
	mv "$log" "$log.1"
	mv "$out" "$out.1"
	kill -HUP "$pid"
	check "reopen: the new log says both were reopened" \
	    wait_until "$READY_WAIT" logged "$log" "$pid" message \
	    "reopened the log and the report files"
	check "reopen: a new report file appears" test -e "$out"
	check "reopen: ... and begins with the run's start line" \
	    starts_run "$out" "$pid"
	check "reopen: ... the same as the old file's" \
	    [ "$(head -n 1 "$out")" = "$(head -n 1 "$out.1")" ]
	check "reopen: still the same process after SIGHUP" \
	    [ "$(ps -o pid= -p "$pid" | tr -d ' ')" = "$pid" ]
	check "reopen: serves after SIGHUP" send_message "$sock"
	check "reopen: the new report gets the new session" \
	    wait_until "$READY_WAIT" has_closes 1 "$out"
	check "reopen: the old report gets nothing more" \
	    [ "$(closes "$out.1")" = 1 ]
	bad_negotiation "$sock"
	check "reopen: libmilter's lines go to the new log too" \
	    wait_until "$READY_WAIT" grep -qF st_optionneg "$log"
	check "reopen: the old log gets nothing more" \
	    not grep -qE 'reopened|st_optionneg' "$log.1"
	# Reopened but not rotated, the file is the same: no second start.
	kill -HUP "$pid"
	check "reopen: SIGHUP with nothing rotated reopens" \
	    wait_until "$READY_WAIT" reopenings "$log" 2
	check "reopen: ... and the same file gets no second start line" \
	    starts_run "$out" "$pid"
	retire "$pid"
}

# A daemon works in /: relative paths mean what they meant at its start,
# when SIGHUP reopens the files and at exit too.
test_relative_paths() {
	local dir=$tmp/rel n=rel-$$ pid

	mkdir "$dir"
	pushd "$dir" >/dev/null || return
	launch rel -s "unix:$n.sock" --pid-file "$n.pid" --log-path "$n.log" \
	    --output "$n.out"
	popd >/dev/null || return
	pid=$daemon
	if [ "$launched" -ne 0 ] || [ -z "$pid" ] ||
	    ! send_message "$dir/$n.sock" ||
	    ! wait_until "$READY_WAIT" has_closes 1 "$dir/$n.out"; then
		fail "relative paths: a daemon serves" \
		    "$(cat "$tmp/rel.launch.err")"
		return
	fi
	mv "$dir/$n.out" "$dir/$n.out.1"
	mv "$dir/$n.log" "$dir/$n.log.1"
	kill -HUP "$pid"
	check "relative paths: SIGHUP reopens the report where it was" \
	    wait_until "$READY_WAIT" test -e "$dir/$n.out"
	check "relative paths: ... and the log" test -e "$dir/$n.log"
	check "relative paths: nothing opened in /" \
	    [ ! -e "/$n.out" -a ! -e "/$n.log" ]
	check "relative paths: the new report gets the next session" \
	    send_message "$dir/$n.sock"
	check "relative paths: ... in full" \
	    wait_until "$READY_WAIT" has_closes 1 "$dir/$n.out"
	stop TERM "$pid"
	check "relative paths: socket and pid file removed at exit" \
	    [ ! -e "$dir/$n.sock" -a ! -e "$dir/$n.pid" ]
	rm -f "/$n.out" "/$n.log"
}

# --- runs: restarts that append to one report ---------------------------------

# run_sessions REPORT: "RUN SESSION" for each session of REPORT, text or
# JSON, as its negotiate gives it; in text, RUN is the id of the start
# line before it ("none" before any).
run_sessions() {
	python3 - "$1" <<'EOF'
import json, re, sys

run = "none"
with open(sys.argv[1], encoding="utf-8", errors="surrogateescape") as f:
    for line in f:
        if line.startswith("{"):
            ev = json.loads(line)
            if ev["stage"] == "negotiate":
                print(ev["run"], ev["session"])
        elif (m := re.match(r"\[0\] start \S+ run (\S+) inspect ", line)):
            run = m[1]
        elif (m := re.match(r"\[(\d+)\] negotiate ", line)):
            print(run, m[1])
EOF
}

# runs_are SESSIONS PID...: the runs of SESSIONS (run_sessions), in turn,
# are those of the PIDs, one each.
runs_are() {
	local file=$1 got

	shift
	got=$(cut -d ' ' -f 1 "$file" | uniq |
	    sed -E 's/^[0-9]{8}T[0-9]{6}Z-p//' | tr '\n' ' ')
	[ "$got" = "$* " ]
}

# has_sessions REPORT N: REPORT, text or JSON, has N sessions closed.
has_sessions() {
	[ "$(grep -cE '^\[[0-9]+\] close |"stage":"close"' "$1")" -ge "$2" ]
}

# A service restarted appends to its report.  Each run, with workers,
# begins with its start line (text) or gives its run in every event
# (JSON); the two runs differ, if only by the supervisor's pid within
# one second; the session numbers start again, and (run, session) still
# names one session.
test_runs() {
	local format out sock=$tmp/runs.sock n sups

	for format in text json; do
		out=$tmp/runs.$format
		sups=()
		for n in 1 2; do
			if ! start "runs-$format$n" -s "unix:$sock" \
			    --n-workers 2 --format "$format" --output "$out" ||
			    ! send_messages 3 "$sock" ||
			    ! wait_until "$READY_WAIT" has_sessions "$out" \
			    $((n * 3)); then
				fail "runs ($format): run $n serves" \
				    "$(cat "$tmp/runs-$format$n.stderr")"
				return
			fi
			sups+=("$started")
			stop TERM "$started"
		done
		run_sessions "$out" >"$out.sessions"
		check "runs ($format): 6 sessions, each (run, session) once" \
		    [ "$(sort -u "$out.sessions" | wc -l)" -eq 6 -a \
		    "$(wc -l <"$out.sessions")" -eq 6 ]
		check "runs ($format): ... though their numbers repeat" \
		    [ "$(cut -d ' ' -f 2 "$out.sessions" | sort -u |
		    wc -l)" -eq 3 ]
		check "runs ($format): two runs, the two supervisors' in turn" \
		    runs_are "$out.sessions" "${sups[@]}"
		if [ "$format" = json ]; then
			check "runs (json): no start line, only events" \
			    [ "$(grep -vc '^{"session":[0-9]*,"run":"' \
			    "$out")" -eq 0 ]
			continue
		fi
		grep '^\[0\] ' "$out" | sed -n 2p >"$out.second"
		check "runs (text): the first run's start line begins it" \
		    starts_run "$out" "${sups[0]}" 2
		check "runs (text): ... and the second run's is as it should" \
		    starts_run "$out.second" "${sups[1]}"
	done
}

# --- syslog -------------------------------------------------------------------

test_syslog() {
	local run=() pid

	if ! start_syslog_listener; then
		fail "syslog: private listener"
		return
	fi
	# facility mail (2): notice is <21>, err <19>.
	in_private_dev "$inspect" -q --syslog -s "unix:$tmp/sl1.sock" \
	    >/dev/null 2>"$tmp/sl1.stderr" &
	pid=$!
	pids+=("$pid")
	run+=("$pid")
	if wait_until "$READY_WAIT" listening "$pid"; then
		check "syslog: --syslog: notice to facility mail (<21>)" \
		    wait_until "$READY_WAIT" syslogged 21 "$pid" \
		    "listening on unix:$tmp/sl1.sock "
		bad_negotiation "$tmp/sl1.sock"
		# libmilter's lines come from the worker.
		check "syslog: libmilter's error to facility mail (<19>)" \
		    wait_until "$READY_WAIT" syslogged 19 \
		    "$(server_of "$pid")" "inspect: st_optionneg"
	else
		fail "syslog: --syslog starts" "$(cat "$tmp/sl1.stderr")"
	fi
	# local3 (19): notice is 19 * 8 + 5.
	in_private_dev "$inspect" -q --syslog --syslog-facility local3 \
	    -s "unix:$tmp/sl2.sock" >/dev/null 2>&1 &
	pid=$!
	pids+=("$pid")
	run+=("$pid")
	check "syslog: --syslog-facility local3 (<157>)" \
	    wait_until "$READY_WAIT" syslogged 157 "$pid" \
	    "listening on unix:$tmp/sl2.sock "
	in_private_dev "$inspect" -q --syslog --log-level error \
	    -s "unix:$tmp/sl3.sock" >/dev/null 2>&1 &
	pid=$!
	pids+=("$pid")
	run+=("$pid")
	if wait_until "$READY_WAIT" listening "$pid"; then
		# libmilter's line, not subject to --log-level, comes after
		# where 'listening on' would have been.
		bad_negotiation "$tmp/sl3.sock"
		if wait_until "$READY_WAIT" syslogged 19 \
		    "$(server_of "$pid")" st_optionneg
		then
			check "syslog: --log-level error: no 'listening on'" \
			    not grep -qF "$tmp/sl3.sock" "$tmp/syslog.got"
		else
			fail "syslog: --log-level error: libmilter's line"
		fi
	else
		fail "syslog: --log-level error starts"
	fi
	# A daemon without --log-path logs to syslog.
	(in_private_dev timeout "$LAUNCH_WAIT" "$inspect" --daemon -q \
	    -s "unix:$tmp/sl4.sock" --pid-file "$tmp/sl4.pid" >/dev/null 2>&1)
	launched=$?
	pid=$(tr -dc 0-9 <"$tmp/sl4.pid" 2>/dev/null)
	if [ "$launched" -eq 0 ] && [ -n "$pid" ]; then
		pids+=("$pid")
		run+=("$pid")
		check "syslog: --daemon without --log-path logs to syslog" \
		    wait_until "$READY_WAIT" syslogged 21 "$pid" \
		    "listening on unix:$tmp/sl4.sock "
	else
		fail "syslog: --daemon in a private /dev starts"
	fi
	retire "${run[@]}"
}

# --- workers ------------------------------------------------------------------

test_workers() {
	local sock=$tmp/w.sock pidf=$tmp/w.pid log=$tmp/w.log out=$tmp/w.out
	local sup ws victim ids n

	launch w -s "unix:$sock" --n-workers 3 --pid-file "$pidf" \
	    --log-path "$log" --output "$out" --log-level all
	if [ "$launched" -ne 0 ] || [ -z "$daemon" ]; then
		fail "workers: daemon with 3 workers starts" \
		    "$(cat "$tmp/w.launch.err")"
		return
	fi
	sup=$daemon
	ok "workers: daemon with 3 workers starts"
	check "workers: pid file names the supervisor of 3 workers" \
	    count_children "$sup" 3

	# Sessions at once, spread over the workers: numbers stay unique.
	if send_messages 9 "$sock" &&
	    wait_until "$READY_WAIT" has_closes 9 "$out"; then
		ids=$(closes "$out" | sort -n | uniq | wc -l)
		check "workers: 9 sessions, 9 distinct session numbers" \
		    [ "$(closes "$out" | wc -l)" -eq 9 -a "$ids" -eq 9 ]
		check "workers: one start line, the supervisor's" \
		    starts_run "$out" "$sup"
	else
		fail "workers: 9 sessions served" "$(tail -3 "$log")"
	fi

	ws=$(children "$sup")
	victim=$(echo "$ws" | head -1)
	kill -KILL "$victim"
	check "workers: a worker killed (-9) is replaced" \
	    wait_until "$READY_WAIT" replaced "$sup" 3 "$victim"
	check "workers: serves after a worker was killed" \
	    send_messages 3 "$sock"

	# Only the supervisor takes signals: a worker ignores them all.
	ws=$(children "$sup")
	victim=$(echo "$ws" | head -1)
	kill -TERM "$victim"
	kill -HUP "$victim"
	kill -INT "$victim"
	kill -USR1 "$victim"
	sleep 1
	check "workers: a worker sent TERM, HUP, INT, USR1 goes on serving" \
	    [ "$(children "$sup")" = "$ws" ]
	check "workers: the socket outlives the signals to a worker" \
	    [ -S "$sock" ]
	check "workers: serves after the signals to a worker" \
	    send_messages 3 "$sock"

	test_workers_reopen "$sup" "$sock" "$log" "$out" all 15

	ws=$(children "$sup")
	stop TERM "$sup"
	check "workers: SIGTERM to the supervisor ends every process" \
	    wait_until "$STOP_WAIT" gone $ws
	check "workers: no process of this inspect left" \
	    [ -z "$(procs_with "$sock")" ]
	check "workers: socket removed" [ ! -e "$sock" ]
	check "workers: pid file removed" [ ! -e "$pidf" ]
}

# replaced SUP N OLD: SUP has N live workers again, none of them OLD.
replaced() {
	count_children "$1" "$2" && ! children "$1" | grep -qx "$3"
}

# all_reopened LOG... -- PID...: every PID logged (message) that it reopened
# its files, in one of the LOGs (the old one, if it could not reopen).
all_reopened() {
	local logs=() pid

	while [ "$1" != -- ]; do
		logs+=("$1")
		shift
	done
	shift
	for pid; do
		grep -qE "inspect\[$pid\]: message: reopened the log" \
		    "${logs[@]}" 2>/dev/null || return 1
	done
}

# test_workers_reopen SUP SOCK LOG OUT WHAT N: SIGHUP to the supervisor
# reopens the log and the report in every worker: after a rotation, every
# new session is in the new report and none in the old.  N sessions are
# reported before.
test_workers_reopen() {
	local sup=$1 sock=$2 log=$3 out=$4 what=$5 before=$6

	# The report is written behind the sessions' backs: let it settle.
	if ! wait_until "$READY_WAIT" has_closes "$before" "$out"; then
		fail "workers ($what): $before sessions reported before SIGHUP"
		return
	fi
	mv "$log" "$log.1"
	mv "$out" "$out.1"
	kill -HUP "$sup"
	# The supervisor reopens the files and hands them to the workers.
	if ! wait_until "$READY_WAIT" all_reopened "$log" "$log.1" -- \
	    "$sup"; then
		fail "workers ($what): the supervisor handles SIGHUP"
		return
	fi
	send_messages 6 "$sock"
	check "workers ($what): after SIGHUP every session in the new report" \
	    wait_until "$READY_WAIT" has_closes 6 "$out"
	check "workers ($what): ... and none in the old one" \
	    [ "$(closes "$out.1" | wc -l)" -eq "$before" ]
	check "workers ($what): the new report begins with the run's start" \
	    starts_run "$out" "$sup"
	check "workers ($what): ... and the old one has its one start line" \
	    starts_run "$out.1" "$sup"
	if grep -q "cannot reopen" "$log" "$log.1"; then
		fail "workers ($what): ... and no worker failed to reopen" \
		    "$(grep -h "cannot reopen" "$log" "$log.1" | head -2)" \
		    "$(stat -c '%A %U:%G %n' "$log" "$out")"
	else
		ok "workers ($what): ... and no worker failed to reopen"
	fi
}

# With -u, the supervisor stays root and every worker drops; they reopen
# the files after SIGHUP all the same.
test_workers_user() {
	local sock=$tmp/wu.sock pidf=$tmp/wu.pid log=$tmp/wu.log out=$tmp/wu.out
	local sup w bad=

	launch wu -u nobody -s "unix:$sock" --n-workers 2 --pid-file "$pidf" \
	    --log-path "$log" --output "$out" --log-level all
	if [ "$launched" -ne 0 ] || [ -z "$daemon" ]; then
		fail "workers -u: daemon starts" "$(cat "$tmp/wu.launch.err")"
		return
	fi
	sup=$daemon
	check "workers -u: the supervisor stays root" \
	    [ "$(status_ids "$sup" | cut -d/ -f1-2)" = "0 0 0 0 / 0 0 0 0 " ]
	wait_until "$READY_WAIT" count_children "$sup" 2
	for w in $(children "$sup"); do
		[ "$(status_ids "$w")" = \
		    "$as_nobody" ] ||
		    bad="$bad $w: $(status_ids "$w");"
	done
	check "workers -u: every worker dropped to nobody${bad:+ ($bad)}" \
	    [ -z "$bad" ]
	check "workers -u: serves" send_messages 2 "$sock"
	test_workers_reopen "$sup" "$sock" "$log" "$out" "-u nobody" 2
	stop INT "$sup"
	check "workers -u: SIGINT ends all, removes socket and pid file" \
	    [ -z "$(procs_with "$sock")" -a ! -e "$sock" -a ! -e "$pidf" ]
}

# The launcher of a daemon with workers exits once they are started and
# have dropped their privileges: a hundred workers make a race visible.
test_workers_ready() {
	local n=100 sup= users all dropped rc

	timeout "$LAUNCH_WAIT" "$inspect" --daemon -q -u nobody \
	    -s "unix:$tmp/wr.sock" --n-workers "$n" --pid-file "$tmp/wr.pid" \
	    2>"$tmp/wr.launch.err" </dev/null
	rc=$?
	# No waiting, and no process started first: look at once at what
	# the launcher vouched for.
	read -r sup 2>/dev/null <"$tmp/wr.pid"
	users=$(ps -o user= --ppid "${sup:-0}")
	all=$(grep -c . <<<"$users")
	dropped=$(grep -cx nobody <<<"$users")
	[ -z "$sup" ] || pids+=("$sup")
	if [ "$rc" -ne 0 ] || [ -z "$sup" ]; then
		fail "workers: launcher with $n workers" \
		    "$(cat "$tmp/wr.launch.err")"
		return
	fi
	check "workers: launcher exits once all $n workers run as nobody\
 (found $all, $dropped as nobody)" \
	    [ "$all" -eq "$n" -a "$dropped" -eq "$n" ]
	retire "$sup"
}

# In a user namespace where root alone is mapped, nobody does not exist
# for the kernel: no process can drop to it, and the launcher must say so.
# (Standard output is not a file: inspect would give that file to nobody
# too, which fails there before any drop is tried.)
test_cannot_drop() {
	local n rc what

	for n in 0 2; do
		what="launch: cannot drop privileges (--n-workers $n)"
		timeout "$LAUNCH_WAIT" unshare --user --map-root-user \
		    "$inspect" --daemon -q -u nobody \
		    --n-workers "$n" -s "unix:$tmp/nodrop$n.sock" \
		    >/dev/null 2>"$tmp/nodrop$n.err" </dev/null
		rc=$?
		if [ "$rc" -eq 0 ]; then
			fail "$what: launcher exits non-zero" "exit status 0"
		elif ! grep -q . "$tmp/nodrop$n.err"; then
			fail "$what: launcher exits non-zero" "no reason given"
		else
			ok "$what: launcher exits $rc: $(head -1 \
			    "$tmp/nodrop$n.err")"
		fi
		check "$what: nothing left running" \
		    wait_until "$STOP_WAIT" nothing_at "$tmp/nodrop$n.sock"
	done
}

# --- the memory profile -------------------------------------------------------

# check_memory NAME LOG PID HEAP: after a session, LOG has PID's profile
# line, whose resident size is close to what /proc says now.
check_memory() {
	local name=$1 log=$2 pid=$3 heap=$4 line rss hwm vmrss use free mapped
	local re='session 1: memory: resident ([0-9]+) kB, peak ([0-9]+) kB'

	if ! wait_until "$READY_WAIT" logged "$log" "$pid" profile \
	    "session 1: memory: "; then
		fail "memory ($name): profile line logged" "$(cat "$log")"
		return
	fi
	vmrss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	line=$(grep -E "inspect\\[$pid\\]: profile: session 1: " "$log")
	if [ "$heap" = yes ]; then
		re="$re; heap ([0-9]+) bytes in use, ([0-9]+) free,"
		re="$re ([0-9]+) mapped\$"
	else
		re="$re\$"
	fi
	if ! [[ $line =~ $re ]]; then
		fail "memory ($name): the line's form" "$line"
		return
	fi
	ok "memory ($name): the line's form"
	rss=${BASH_REMATCH[1]}
	hwm=${BASH_REMATCH[2]}
	check "memory ($name): resident $rss kB, VmRSS $vmrss kB now" \
	    [ "$rss" -gt 0 -a "$hwm" -ge "$rss" -a \
	    $((rss * 4)) -ge $((vmrss * 3)) -a $((rss * 4)) -le $((vmrss * 5)) ]
	[ "$heap" = yes ] || return
	use=${BASH_REMATCH[3]}
	free=${BASH_REMATCH[4]}
	mapped=${BASH_REMATCH[5]}
	# ASan's allocator answers mallinfo2() with zeros.
	if ldd "$inspect" 2>/dev/null | grep -q libasan; then
		ok "memory ($name): heap figures (not checked under ASan)"
	else
		check "memory ($name): heap $use in use, $free free,\
 $mapped mapped: in use non-zero and below VmRSS" \
		    [ "$use" -gt 0 -a "$use" -lt $((vmrss * 1024)) ]
	fi
}

test_memory() {
	local run=()

	if start mem -q --report-memory-profile -s "unix:$tmp/mem.sock" \
	    --log-path "$tmp/mem.log" && send_message "$tmp/mem.sock"; then
		run+=("$started")
		check_memory plain "$tmp/mem.log" "$(server_of "$started")" no
	else
		fail "memory: --report-memory-profile serves"
	fi
	if MILTER_MEMORY_PROFILE=yes start memheap -q --report-memory-profile \
	    -s "unix:$tmp/memheap.sock" --log-path "$tmp/memheap.log" &&
	    send_message "$tmp/memheap.sock"; then
		run+=("$started")
		check_memory MILTER_MEMORY_PROFILE=yes "$tmp/memheap.log" \
		    "$(server_of "$started")" yes
	else
		fail "memory: MILTER_MEMORY_PROFILE=yes serves"
	fi
	retire "${run[@]}"
}

# --- options with no effect, and the backlog ----------------------------------

test_compat() {
	local o

	if start compat -q -s "unix:$tmp/compat.sock" \
	    --event-loop-backend glib --packet-buffer-size 4096 \
	    --max-pending-finished-sessions 10; then
		for o in "--event-loop-backend glib" \
		    "--packet-buffer-size 4096" \
		    "--max-pending-finished-sessions 10"; do
			check "compat: $o: a line saying it has no effect" \
			    grep -q "^inspect: $o: no effect" \
			    "$tmp/compat.stderr"
		done
		check "compat: --event-loop-backend libev accepted" \
		    quietly "$inspect" --event-loop-backend libev --help
		retire "$started"
	else
		fail "compat: options accepted" "$(cat "$tmp/compat.stderr")"
	fi
	for o in "--event-loop-backend foo" "--packet-buffer-size x" \
	    "--packet-buffer-size -1" "--max-pending-finished-sessions x"; do
		expect_refused "compat: $o rejected" 64 "'${o#* }'" \
		    "$inspect" -q -s "unix:$tmp/compat.sock" $o
	done
}

# backlog_of PID: the Send-Q (for a listener, its backlog) of PID's
# listening socket.
backlog_of() {
	ss -Hlp 2>/dev/null | awk -v p="pid=$1," 'index($0, p) { print $4 }'
}

test_backlog() {
	local port run=()

	port=$(free_port)
	if start bunix -q --backlog 17 -s "unix:$tmp/bunix.sock"; then
		run+=("$started")
		check "backlog: --backlog 17 reaches a unix listener" \
		    [ "$(backlog_of "$started")" = 17 ]
	else
		fail "backlog: unix starts"
	fi
	if start binet -q --backlog 23 -s "inet:$port@127.0.0.1"; then
		run+=("$started")
		check "backlog: --backlog 23 reaches an inet listener" \
		    [ "$(backlog_of "$started")" = 23 ]
	else
		fail "backlog: inet starts"
	fi
	expect_refused "backlog: 0 rejected" 64 "'0'" "$inspect" --backlog 0
	expect_refused "backlog: 65536 rejected" 64 "'65536'" \
	    "$inspect" --backlog 65536
	retire "${run[@]}"
}

# --- signals from a terminal, twice, and the time a stop takes ---------------

test_signals() {
	run_checker signals.py
}

# --- the supervisor: its workers' lives, the files it reopens ------------------

test_supervise() {
	run_checker supervise.py
}

# run_checker SCRIPT: run the Python checker SCRIPT, which bounds each of
# its waits, within CHECKER_WAIT as a whole; count its ok and FAIL lines.
run_checker() {
	local line rc result=$tmp/${1%.py}.result

	timeout -k 5 "$CHECKER_WAIT" python3 "$here/$1" "$inspect" "$tmp" \
	    >"$result" 2>&1
	rc=$?
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] ||
	    fail "$1 ends within ${CHECKER_WAIT}s"
	while IFS= read -r line; do
		echo "$line"
		case $line in
		"ok "*)		passed=$((passed + 1)) ;;
		"FAIL "*)	failed=$((failed + 1)) ;;
		esac
	done <"$result"
	grep -q '^ok ' "$result" && ! grep -q '^Traceback' "$result" ||
	    fail "$1 ran to its end" "$(tail -5 "$result")"
}

# --- main ---------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/service/run.sh: needs root (to drop to nobody, to mount" \
	    "a private /dev)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
[ -x "$inspect" ] || { echo "no $inspect: run make" >&2; exit 1; }

test_daemon
test_launch_failures
test_privileges
test_socket
test_log_levels
test_log_destinations
test_verbose
test_reopen
test_relative_paths
test_runs
test_syslog
test_workers
test_workers_user
test_workers_ready
test_cannot_drop
test_memory
test_compat
test_backlog
test_signals
test_supervise
# What each test left stopping in the background must be gone by now.
check "every other inspect stopped by SIGTERM in time" \
    stop TERM "${retiring[@]}"

summary
[ "$failed" -eq 0 ]
