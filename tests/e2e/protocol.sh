#!/bin/bash
# protocol.sh -- Postfix at older milter protocols (milter_protocol = 2
# and 4), which know no no-reply steps.
#
# usage: tests/e2e/protocol.sh
#
# A private Postfix passes one message to two inspects that ask for no
# reply at every stage but eom (--no-reply yes): one on a unix socket
# (JSON report), one over inet (text).  libmilter does not pass the
# no-reply steps on to an MTA that lacks them, and answers those stages
# itself, so the reports must say that Postfix was answered no such step
# and what inspect asked for besides, and Postfix's own log (smtpd -v)
# must say the same of the wire; the mail passes and every stage is
# reported.  Needs root, for Postfix's master; runs in a network
# namespace of its own, on its loopback.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
inspect=$(cd "$here/../.." && pwd)/inspect

PROTOCOLS=(2 4)
NR_ALL=0xff080		# the no-reply steps inspect asks for (SMFIP_NR_*)

passed=0
failed=0
# One stamp, as inspect writes it: RFC 3339, UTC, microseconds.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
work=
socket=
master_pid=
ports_taken=
pids=()
milter_text=
declare -A smtpd	# by protocol

require() {
	need_root protocol.sh "Postfix's master runs as root"
	need_tools protocol.sh "" postconf swaks python3 ss ip unshare setsid
}

teardown() {
	trap '' INT TERM
	trap - EXIT
	[ -z "$master_pid" ] || postfix_stop "$work"
	[ ${#pids[@]} -eq 0 ] || terminate "${pids[@]}"
	[ -z "$work" ] || [ -n "${KEEP:-}" ] || rm -rf "$work"
}

# start_inspect NAME SPEC FORMAT: in the background, its report in
# $work/NAME.out.  umask 0007 and the set-group-id directory give the
# unix socket to group postfix as it is made (as run.sh does).
start_inspect() {
	(umask 0007 && exec "$inspect" -s "$2" --format "$3" \
	    --no-reply yes >"$work/$1.out" 2>"$work/$1.err") &
	pids+=("$!")
}

setup() {
	local p lines=

	work=$(mktemp -d -t inspect-protocol.XXXXXX) || return 1
	chmod 711 "$work"
	mkdir "$work/milter"
	chgrp postfix "$work/milter"
	chmod 2750 "$work/milter"
	socket=$work/milter/inspect.sock
	pick_port milter_text || return 1
	for p in "${PROTOCOLS[@]}"; do
		pick_port "smtpd[$p]" || return 1
		# smtpd -v logs what the milters answered Postfix.
		lines+="127.0.0.1:${smtpd[$p]} inet n - n - - smtpd -v
  -o milter_protocol=$p
  -o smtpd_milters=unix:$socket,inet:127.0.0.1:$milter_text
"
	done
	if ! postfix_config "$work" mx.example.net <<<"$lines"; then
		fail "setup: Postfix configuration (post-install failed)"
		return 1
	fi
	start_inspect unix "unix:$socket" json
	start_inspect inet "inet:$milter_text@127.0.0.1" text
	if ! { wait_until 5 listening "${pids[0]}" "$socket" &&
	    wait_until 5 listening "${pids[1]}" "$milter_text"; }; then
		fail "setup: inspect is not listening"
		sed 's/^/# /' "$work"/*.err
		return 1
	fi
	postfix_start "$work" "$work/master.out"
	for p in "${PROTOCOLS[@]}"; do
		if ! wait_until 5 listening "$master_pid" "${smtpd[$p]}"; then
			fail "setup: Postfix's smtpd is not listening"
			return 1
		fi
	done
}

closes() {
	[ "$(grep -cE '"stage":"close"|^\[[0-9]+\] close ' "$1")" -ge "$2" ]
}

# check_json P: the unix socket's report of protocol P's session.
check_json() {
	python3 - "$work/unix.out" "$1" "v$1.example.org" "$NR_ALL" <<-'EOF'
	import json, sys
	report, version, helo, nr = sys.argv[1:]
	version, nr = int(version), int(nr, 16)
	events = [json.loads(line) for line in open(report)]
	sessions = {}
	for ev in events:
	    sessions.setdefault(ev["session"], []).append(ev)
	mine = [s for s in sessions.values()
	        if any(e.get("name") == helo for e in s if e["stage"] == "helo")]
	def check(ok, what):
	    print("%s [json v%d] %s" % ("ok" if ok else "FAIL", version, what))
	check(len(mine) == 1, "one session with HELO %s" % helo)
	if len(mine) != 1:
	    sys.exit(0)
	s = mine[0]
	neg = s[0]
	check(neg["stage"] == "negotiate" and neg.get("version") == version,
	      "negotiate: the MTA's version %d" % version)
	check(neg["answered"]["steps"] & nr == 0,
	      "answered: no no-reply step (0x%x)" % neg["answered"]["steps"])
	check("asked" in neg and neg["asked"]["steps"] & nr == nr,
	      "asked: every no-reply step (0x%x)" %
	      neg.get("asked", {}).get("steps", 0))
	check("answered_version" not in neg, "answered with the MTA's version")
	stages = [e["stage"] for e in s]
	want = ["negotiate", "connect", "helo", "envfrom", "envrcpt"]
	want += ["data"] if version >= 4 else []
	want += ["header"]
	check(stages[:len(want)] == want and "eoh" in stages and
	      "body" in stages and "eom" in stages and stages[-1] == "close",
	      "every stage reported: %s" % " ".join(stages))
	EOF
}

# check_text P: the inet report of protocol P's session.
check_text() {
	local t=$work/inet.out s

	s=$(grep -m1 -E "^\[[0-9]+\] helo $stamp \"v$1\.example\.org\"\$" \
	    "$t" | sed 's/^\[\([0-9]*\)\].*/\1/')
	check "[text v$1] session found by its HELO" [ -n "$s" ]
	check "[text v$1] version $1" \
	    grep -qxE "\\[$s\\] negotiate $stamp version $1" "$t"
	check "[text v$1] answered steps: 0x00000000" \
	    grep -qxF "[$s]  answered steps: 0x00000000" "$t"
	check "[text v$1] asked steps: the no-reply steps" grep -qE \
	    "^\[$s\]  asked steps: 0x000ff080 SMFIP_NR_HDR\|" "$t"
	check "[text v$1] eom reported" grep -qE "^\[$s\] eom " "$t"
}

# check_wire P: what Postfix logged of the handshakes (smtpd -v): it
# offered version P, and each milter answered version P and no no-reply
# step ("events" lists the steps answered).
check_wire() {
	local log=$work/log/maillog pid n

	# One smtpd a port, so one process a protocol.
	pid=$(sed -n "s/.*smtpd\[\([0-9]*\)\]: milter8_connect: my_version=0x$1\$/\1/p" \
	    "$log" | head -n 1)
	check "[wire v$1] Postfix offered version $1" [ -n "$pid" ]
	grep -F "smtpd[$pid]: milter8_connect: " "$log" >"$work/wire$1"
	n=$(grep -cE "milter8_connect: milter (unix|inet):.* version $1\$" \
	    "$work/wire$1")
	check "[wire v$1] both milters answered version $1 ($n)" [ "$n" -eq 2 ]
	n=$(grep -c "milter8_connect: events " "$work/wire$1")
	check "[wire v$1] both milters answered their steps ($n)" [ "$n" -eq 2 ]
	check "[wire v$1] no milter answered a no-reply step" \
	    not_grep SMFIP_NR_ "$work/wire$1"
}

not_grep() {
	! grep -q "$@"
}

main() {
	local p rc out n

	require
	own_namespaces protocol.sh INSPECT_E2E_NETNS "" "$@"
	teardown_traps
	if ! setup; then
		summary
		exit 1
	fi
	for p in "${PROTOCOLS[@]}"; do
		swaks --server 127.0.0.1 --port "${smtpd[$p]}" --timeout 10 \
		    --helo "v$p.example.org" --from a@example.org \
		    --to b@example.com >"$work/swaks$p.out" 2>&1
		rc=$?
		check "[v$p] swaks: Postfix queued the message" \
		    grep -q '^<-  250 .*queued as ' "$work/swaks$p.out"
		[ "$rc" -eq 0 ] || sed 's/^/# /' "$work/swaks$p.out"
	done
	n=${#PROTOCOLS[@]}
	check "inspect (unix) reported $n sessions closed" \
	    wait_until 10 closes "$work/unix.out" "$n"
	check "inspect (inet) reported $n sessions closed" \
	    wait_until 10 closes "$work/inet.out" "$n"
	for p in "${PROTOCOLS[@]}"; do
		out=$(check_json "$p" 2>&1)
		relay "$out"
		check_text "$p"
		check_wire "$p"
	done
	if [ "$failed" -ne 0 ]; then
		echo "# --- inspect's reports and Postfix's milter lines:"
		sed 's/^/# /' "$work/inet.out" "$work"/*.err
		grep -h 'milter' "$work/log/maillog" | tail -n 30 |
		    cut -c1-240 | sed 's/^/# /'
	fi
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
