#!/bin/bash
# record.sh -- Postfix's sessions recorded with --record, and replayed.
#
# usage: tests/e2e/record.sh
#
# A private Postfix passes real mail through an inspect with --record:
# one connection over IPv4 with two messages (one with a recipient
# Postfix rejects, one with a binary body and control bytes in its
# headers), an RSET and an unknown command, and one over IPv6.  Each
# script inspect wrote is replayed with miltertest to a fresh inspect,
# and the two reports must be equal session by session, event by event,
# but for times, session numbers and the client's port
# (tests/milter/check-replay.py).  Needs root, for Postfix's master; runs
# in a network namespace of its own, on its loopback.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
inspect=$(cd "$here/../.." && pwd)/inspect

passed=0
failed=0
work=
master_pid=
ports_taken=
pids=()

teardown() {
	trap '' INT TERM
	[ -z "$master_pid" ] || postfix_stop "$work"
	[ ${#pids[@]} -eq 0 ] || terminate "${pids[@]}"
	[ -z "$work" ] || [ -n "${KEEP:-}" ] || rm -rf "$work"
}

# start_inspect NAME PORT ARGS...: inspect over inet, its JSON report in
# $work/NAME.json; sets pid.
start_inspect() {
	local name=$1 port=$2
	shift 2

	"$inspect" -s "inet:$port@127.0.0.1" --format json --no-reply no \
	    "$@" >"$work/$name.json" 2>"$work/$name.err" &
	pid=$!
	pids+=("$pid")
	wait_until 5 listening "$pid" "$port"
}

# stop_inspect PID: SIGTERM, and its exit status.
stop_inspect() {
	local status

	kill -TERM "$1"
	wait_until 15 gone "$1" || kill -KILL "$1"
	wait "$1"
	status=$?
	pids=("${pids[@]/$1}")
	return $status
}

closed() {
	local n

	n=$(grep -c '"stage":"negotiate"' "$1")
	[ "$n" -ge "$2" ] && [ "$n" = "$(grep -c '"stage":"close"' "$1")" ]
}

# The mail: what Postfix passes on, byte for byte, is what is recorded.
send_mail() {
	python3 - "$1" <<-'EOF'
	import smtplib, sys
	port = int(sys.argv[1])
	binary = bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"")
	first = (b"From: a@example.org\r\nTo: b@example.net\r\n"
	         b"Subject: first\r\n\r\nfirst message\r\n")
	second = (b"From: a@example.org\r\nTo: b@example.net\r\n"
	          b"X-Controls: \x1b[31mred\x1b[0m \x7f\xc2\x85\r\n"
	          b"X-Folded: one\r\n\ttwo\r\n"
	          b"Content-Type: application/octet-stream\r\n\r\n"
	          + binary + b"\r\n" + b"\xff\xfe\x00\x01 line\r\n" * 3)
	s = smtplib.SMTP("127.0.0.1", port, local_hostname="v4.example.org",
	                 timeout=30)
	s.ehlo()
	refused = s.sendmail("a@example.org", ["b@example.net",
	                     "nobody@reject.example"], first,
	                     mail_options=["SIZE=100"])
	assert list(refused) == ["nobody@reject.example"], refused
	s.sendmail("<>", ["b@example.net"], second,
	           mail_options=["BODY=8BITMIME"], rcpt_options=["NOTIFY=NEVER"])
	s.rset()
	code, _ = s.docmd("XYZZY", "plugh")
	assert code >= 500, code
	s.quit()
	s = smtplib.SMTP("::1", port, local_hostname="v6.example.org",
	                 timeout=30)
	s.sendmail("c@example.org", ["d@example.net"],
	           b"Subject: over IPv6\r\n\r\nsix\r\n")
	s.quit()
	EOF
}

main() {
	local smtpd milter replay rec replayer scripts=() script bad=

	if [ "$(id -u)" -ne 0 ]; then
		echo "record.sh: needs root (Postfix's master runs as root)" >&2
		exit 2
	fi
	if [ -z "${INSPECT_E2E_NETNS:-}" ]; then
		INSPECT_E2E_NETNS=1 exec unshare --net -- "$0" "$@"
	fi
	ip link set lo up || exit 1
	trap teardown EXIT
	work=$(mktemp -d -t inspect-e2e-record.XXXXXX) || exit 1
	chmod 711 "$work"
	mkdir -m 700 "$work/rec"
	pick_port smtpd && pick_port milter && pick_port replay || exit 1
	postfix_config "$work" mx.example.net \
	    "inet_protocols = all" \
	    "mynetworks = 127.0.0.0/8, [::1]/128" \
	    "smtpd_recipient_restrictions =" \
	    "    check_recipient_access inline:{nobody@reject.example=REJECT}," \
	    "    permit_mynetworks, reject_unauth_destination" <<-EOF || exit 1
	127.0.0.1:$smtpd inet n - n - - smtpd
	  -o smtpd_milters=inet:127.0.0.1:$milter
	[::1]:$smtpd inet n - n - - smtpd
	  -o smtpd_milters=inet:127.0.0.1:$milter
	EOF
	start_inspect rec "$milter" --record "$work/rec"
	rec=$pid
	postfix_start "$work" "$work/master.out"
	wait_until 5 listening "$master_pid" "$smtpd"
	check "the mail went through Postfix" send_mail "$smtpd"
	wait_until 10 closed "$work/rec.json" 2
	postfix_stop "$work"
	stop_inspect "$rec"
	check "the recording inspect exited 0" test $? -eq 0

	scripts=("$work"/rec/*.lua)
	check "two sessions, two scripts (${#scripts[@]})" \
	    test "${#scripts[@]}" -eq 2 -a \
	    "$(grep -c '"stage":"close"' "$work/rec.json")" -eq 2
	check "the scripts name Postfix as the MTA" \
	    grep -q '^-- from an MTA that says it is "Postfix 3' \
	    "${scripts[@]}"
	check "the IPv6 client is replayed as such" \
	    grep -q '^step("conninfo", SMFIP_NOCONNECT, SMFIR_CONTINUE, "\[::1\]", "::1")' \
	    "${scripts[@]}"
	check "a body chunk with a NUL goes through a file" \
	    grep -q '^step("bodybytes"' "${scripts[@]}"

	start_inspect replay "$replay"
	replayer=$pid
	for script in $(printf '%s\n' "${scripts[@]}" |
	    sed -E 's/.*-s([0-9]+)\.lua$/\1 &/' | sort -n | cut -d ' ' -f 2); do
		timeout -k 5 30 miltertest -D sock="inet:$replay@127.0.0.1" \
		    -s "$script" >"$work/replay.log" 2>&1 ||
		    bad+=" $(basename "$script"): $(cat "$work/replay.log")"
	done
	check "every script replayed${bad:+:$bad}" test -z "$bad"
	wait_until 10 closed "$work/replay.json" 2
	stop_inspect "$replayer"
	if "$here/../milter/check-replay.py" "$work/rec.json" \
	    "$work/replay.json" "$work/rec" >"$work/check.out"; then
		ok "$(tail -n 1 "$work/check.out")"
	else
		fail "the replays differ from Postfix's sessions" \
		    "$(cat "$work/check.out")"
	fi
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
