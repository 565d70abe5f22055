#!/bin/bash
# End-to-end test of inspect run as a service: a daemon (--daemon
# --pid-file) serving as nobody from two workers on a unix socket whose
# group is postfix (--unix-socket-group postfix, default mode 0660), and a
# private Postfix on loopback whose smtpd, running as user postfix, must
# reach that socket and pass a mail through it.  SIGTERM then stops every
# inspect process and removes the socket and the pid file.
#
# Needs root (Postfix's master, and inspect's privilege drop).  Everything
# lives in one mktemp -d directory; nothing under /etc is changed; only
# 127.0.0.1.  The Postfix set-up follows tests/e2e/run.sh.

set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
inspect=$(cd "$here/../.." && pwd)/inspect

myhostname=mx.example.net
helo=service.example.org
sender=alice@example.org
rcpt=bob@example.com

STOP_WAIT=20		# for inspect's workers to stop (about 5 s)

passed=0
failed=0
# One stamp, as inspect writes it: RFC 3339, UTC, microseconds.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
work=			# the mktemp -d directory
socket=			# inspect's unix socket
pidfile=		# inspect's pid file
report=			# inspect's text report
smtpd_port=
master_pid=
supervisor=		# inspect's pid, from its pid file
workers=		# its workers' pids
qid=

# inspect_left: the live processes of this run's inspect: the inspect
# binary with this run's socket in its command line (Postfix's smtpd has
# it in its own).
inspect_left() {
	local d

	for d in /proc/[0-9]*; do
		is_inspect "${d#/proc/}" &&
		    tr '\0' ' ' 2>/dev/null <"$d/cmdline" |
		    grep -qF -- "$socket" && ! gone "${d#/proc/}" &&
		    echo "${d#/proc/}"
	done
}

inspect_gone() {
	[ -z "$(inspect_left)" ]
}

require() {
	local missing=

	need_root "e2e service" "Postfix's master, inspect's privilege drop" \
	    "sudo make service-check"
	getent group postfix >/dev/null || missing=" group:postfix"
	need_tools "e2e service" "$missing" postconf swaks ss setsid
}

# A private Postfix in $work, as in tests/e2e/run.sh: one smtpd on a
# loopback port whose milter is inspect's unix socket; every mail
# discarded once queued.
write_postfix_config() {
	postfix_config "$work" "$myhostname" <<-EOF
	127.0.0.1:$smtpd_port inet n - n - - smtpd
	  -o smtpd_milters=unix:$socket
	EOF
}

start_postfix() {
	postfix_start "$work" "$work/master.out"
	wait_until 5 listening "$master_pid" "$smtpd_port"
}

# is_inspect PID: PID is a live process of this inspect binary.
is_inspect() {
	[ -n "$1" ] && [ "$(readlink "/proc/$1/exe" 2>/dev/null)" = "$inspect" ]
}

two_workers_as_nobody() {
	[ "$(ps -o user= --ppid "$supervisor" | grep -cx nobody)" -eq 2 ]
}

# The service as a distribution would run it: the launcher returns once
# the daemon serves, and its status says whether it does.
start_inspect() {
	local rc

	timeout 30 "$inspect" --daemon --pid-file "$pidfile" -u nobody \
	    --n-workers 2 --unix-socket-group postfix -s "unix:$socket" \
	    --output "$report" --log-path "$work/inspect.log" \
	    >"$work/launch.out" 2>"$work/launch.err" </dev/null
	rc=$?
	check "inspect --daemon: the launcher exits 0" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$work/launch.err"
	supervisor=$(tr -dc 0-9 <"$pidfile" 2>/dev/null)
	check "pid file names the supervisor, a live inspect" \
	    is_inspect "$supervisor"
	[ -n "$supervisor" ] || return 1
	# tests/service/run.sh checks how soon; here only that they do.
	check "two workers, both running as nobody" \
	    wait_until 5 two_workers_as_nobody
	workers=$(ps -o pid= --ppid "$supervisor")
	check "socket: group postfix, default mode 660" \
	    [ "$(stat -c '%G %a' "$socket" 2>/dev/null)" = "postfix 660" ]
}

setup() {
	work=$(mktemp -d -t inspect-e2e-service.XXXXXX) || return 1
	# Postfix's daemons, running as postfix, reach data_directory and
	# the milter socket by absolute path through this directory.
	chmod 711 "$work"
	mkdir -m 755 "$work/milter" "$work/run"
	socket=$work/milter/inspect.sock
	pidfile=$work/run/inspect.pid
	report=$work/report.txt
	if ! pick_port smtpd_port; then
		fail "setup: no free TCP port"
		return 1
	fi
	if ! write_postfix_config; then
		fail "setup: Postfix configuration (post-install failed)"
		sed 's/^/# /' "$work/post-install.log"
		return 1
	fi
	start_inspect || return 1
	if ! start_postfix; then
		fail "setup: Postfix's smtpd is not listening"
		show_log
		return 1
	fi
}

teardown() {
	trap '' INT TERM
	trap - EXIT
	[ -z "$master_pid" ] || postfix_stop "$work"
	if [ -n "$socket" ] && ! inspect_gone; then
		kill -TERM $(inspect_left) 2>/dev/null
		wait_until "$STOP_WAIT" inspect_gone ||
		    kill -KILL $(inspect_left) 2>/dev/null
	fi
	[ -z "$work" ] || rm -rf "$work"
}

# One mail with swaks; sets qid from Postfix's "250 ... queued as".
send_mail() {
	local out=$work/swaks.out rc

	swaks --server 127.0.0.1 --port "$smtpd_port" --timeout 10 \
	    --helo "$helo" --from "$sender" --to "$rcpt" \
	    --header "Subject: inspect as a service" >"$out" 2>&1
	rc=$?
	check "swaks exits 0" [ "$rc" -eq 0 ]
	qid=$(sed -n 's/^<-  250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$out")
	check "Postfix replied 250 queued as ${qid:-?}" [ -n "$qid" ]
	[ -n "$qid" ] || sed 's/^/# /' "$out"
}

# has_stage SESSION STAGE: the report has SESSION's STAGE event.
has_stage() {
	grep -qE "^\\[$1\\] $2 " "$report"
}

closed() {
	grep -qE '^\[[0-9]+\] close ' "$report" 2>/dev/null
}

check_report() {
	local s stage before=$failed

	check "inspect reported the session closed" wait_until 10 closed
	s=$(grep -E "^\[[0-9]+\] helo $stamp " "$report" |
	    grep -m1 -F " \"$helo\"" | sed 's/^\[\([0-9]*\)\].*/\1/')
	check "report: session found by its HELO" [ -n "$s" ]
	for stage in connect envfrom eom close; do
		check "report: session $s has $stage" has_stage "$s" "$stage"
	done
	check "report: envfrom address" \
	    grep -qE "^\\[$s\\] envfrom $stamp \"<$sender>\"\$" "$report"
	check "report: macro i is the queue id $qid" \
	    grep -qxF "[$s]  macro i: \"$qid\"" "$report"
	check "report: begins with the run's start line, once for 2 workers" \
	    begins_run "$report" "$supervisor"
	check "Postfix logged no milter trouble" \
	    not_grep -i 'milter' "$work/log/maillog"
	[ "$failed" -eq "$before" ] || show_log
}

not_grep() {
	! grep -q "$@"
}

# SIGTERM to the supervisor: every inspect process ends, and the socket
# and pid file it made go with it.
check_stop() {
	kill -TERM "$supervisor"
	check "SIGTERM: supervisor and workers gone" \
	    wait_until "$STOP_WAIT" gone "$supervisor" $workers
	check "SIGTERM: no inspect process left" inspect_gone
	check "SIGTERM: socket removed" [ ! -e "$socket" ]
	check "SIGTERM: pid file removed" [ ! -e "$pidfile" ]
}

show_log() {
	echo "# --- Postfix log (last 20 lines):"
	tail -n 20 "$work/log/maillog" 2>/dev/null | sed 's/^/# /'
	echo "# --- inspect's log (last 20 lines):"
	tail -n 20 "$work/inspect.log" 2>/dev/null | sed 's/^/# /'
}

main() {
	require
	teardown_traps

	if ! setup; then
		summary
		exit 1
	fi
	send_mail
	check_report
	check_stop
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
