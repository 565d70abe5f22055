#!/bin/bash
# End-to-end test behind Sendmail: a private Sendmail 8.17 on loopback
# passes real sessions through inspect, and inspect's report must show
# what Sendmail sent -- every stage, unknown and abort included, each
# stage's own macros, ESMTP parameters, headers byte for byte -- and agree,
# packet by packet, with Sendmail's own log of what it sent (-d64.20).
# Three daemons, each with its own inspects: two with the defaults (no
# replies), one writing JSON and one text, also over IPv6 if there is ::1;
# one with --no-reply no (Sendmail then sends an abort on RSET); one with
# --request-macros; one probing Sendmail: a recipient rejected with its
# own text, a header added.
#
# usage: tests/e2e/sendmail.sh [--save-sample FILE]
#   --save-sample FILE  also write inspect's text report of the message
#                       session to FILE (inspect-report(5)'s sample)
#
# Needs root.  Sendmail conflicts with Postfix, so it is never installed:
# tests/install-deps.sh unpacks Debian's packages into a cache directory
# ($INSPECT_SENDMAIL_CACHE, default /var/cache/inspect-tests/sendmail),
# which this script runs it from; it fetches them itself, as root, if the
# cache is missing.  Everything else lives in one mktemp -d directory with
# a configuration made by Sendmail's own m4 files; nothing under /etc is
# changed; it all runs in network and host name namespaces of its own.

set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
inspect=$(cd "$here/../.." && pwd)/inspect
cache=${INSPECT_SENDMAIL_CACHE:-/var/cache/inspect-tests/sendmail}
sendmail=$cache/root/usr/libexec/sendmail/sendmail

# A qualified host name: with an unqualified one that does not resolve,
# Sendmail waits 60 s at start for it to.
myhostname=mta.example.test

passed=0
failed=0
# One stamp, as inspect writes it: RFC 3339, UTC, microseconds.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
sample=			# --save-sample FILE
work=			# the mktemp -d directory
ipv6=			# "yes" if the namespace has ::1
smtp_main=		# the daemon whose milters are inspect json and text
smtp_replies=		# the daemon whose milter is inspect --no-reply no
smtp_request=		# the daemon whose milter is inspect --request-macros
smtp_probe=		# the daemon whose milter probes (--reply, --add-header)
milter_json=
milter_text=
milter_replies=
milter_request=
milter_probe=
sendmail_pid=
inspect_pids=()
inspect_names=()	# the names of inspect_pids, for messages
ports_taken=
declare -A sessions_sent	# report -> sessions sent to it

require() {
	need_root sendmail "a network namespace, and Sendmail's daemon" \
	    "sudo make sendmail-check"
	need_tools sendmail "" m4 python3 ss ip unshare setsid hostname timeout
}

# start_inspect NAME PORT FORMAT [ARG...]: inspect on 127.0.0.1:PORT in
# the background, reporting to $work/NAME.out.
start_inspect() {
	"$inspect" -s "inet:$2@127.0.0.1" --format "$3" "${@:4}" \
	    >"$work/$1.out" 2>"$work/$1.err" &
	inspect_pids+=("$!")
	inspect_names+=("$1")
	wait_until 5 listening "$!" "$2"
}

# filter NAME PORT: the mc line for inspect NAME on PORT: F=T tempfails
# mail while it is unreachable; T= are short timeouts.
filter() {
	printf "INPUT_MAIL_FILTER(\`%s', \`S=inet:%s@127.0.0.1, F=T, %s')dnl\n" \
	    "$1" "$2" 'T=C:5s;S:10s;R:10s;E:30s'
}

# daemon NAME PORT ADDR FILTERS [FAMILY]: the mc line for a daemon
# socket whose mail goes through FILTERS (names separated by ';') only.
daemon() {
	printf "DAEMON_OPTIONS(\`Port=%s, Addr=%s, Family=%s, Name=%s, %s')dnl\n" \
	    "$2" "$3" "${5:-inet}" "$1" "InputMailFilters=$4"
}

# A private Sendmail in $work: its own configuration, queue and files,
# three daemons on loopback (and one on ::1), each with its own milters.
# Every mail stays in the queue (queueonly), never delivered.  The
# namespace has no network, so nothing may need DNS: host names from
# files only, no canonification, no Ident.  TrustStickyBit: the
# directory is under /tmp.  no_default_msa: no port 587.
write_config() {
	sendmail_files "$work" || return 1
	# A local user the access database refuses: never told to a milter.
	printf 'To:daemon@mta.example.test\tREJECT\n' |
	    "$cache/root/usr/sbin/makemap" -C /dev/null hash "$work/etc/access" ||
	    return 1
	{
		sendmail_mc "$work"
		cat <<-EOF
		FEATURE(\`access_db', \`hash -T<TMPF> $work/etc/access')dnl
		FEATURE(\`blocklist_recipients')dnl
		EOF
		daemon MTA "$smtp_main" 127.0.0.1 'json;text'
		daemon MTA-replies "$smtp_replies" 127.0.0.1 replies
		daemon MTA-request "$smtp_request" 127.0.0.1 request
		daemon MTA-probe "$smtp_probe" 127.0.0.1 probe
		[ -z "$ipv6" ] || daemon MTA6 "$smtp_main" ::1 'json;text' inet6
		filter json "$milter_json"
		filter text "$milter_text"
		filter replies "$milter_replies"
		filter request "$milter_request"
		filter probe "$milter_probe"
		echo "MAILER(\`local')dnl"
		echo "MAILER(\`smtp')dnl"
	} >"$work/etc/inspect.mc"
	m4 "$work/etc/inspect.mc" >"$work/etc/inspect.cf" \
	    2>"$work/etc/m4.err" && ! [ -s "$work/etc/m4.err" ]
}

# Sendmail's daemon in the foreground (-bD), in a process group of its
# own, with what it sends to milters (-d64.20) in debug.log (-D: on
# standard output it would reach the SMTP clients).  No syslog daemon is
# needed: what it would log is lost, the debug log is the test's view.
start_sendmail() {
	setsid "$sendmail" -C "$work/etc/inspect.cf" -bD -D "$work/debug.log" \
	    -d64.20 >"$work/sendmail.out" 2>&1 &
	sendmail_pid=$!
	wait_until 10 listening "$sendmail_pid" "$smtp_main" &&
	    wait_until 5 listening "$sendmail_pid" "$smtp_replies" &&
	    wait_until 5 listening "$sendmail_pid" "$smtp_request" &&
	    wait_until 5 listening "$sendmail_pid" "$smtp_probe"
}

setup() {
	work=$(mktemp -d -t inspect-sendmail.XXXXXX) || return 1
	if ! { pick_port smtp_main && pick_port smtp_replies &&
	    pick_port smtp_request && pick_port smtp_probe &&
	    pick_port milter_json && pick_port milter_text &&
	    pick_port milter_replies && pick_port milter_request &&
	    pick_port milter_probe; }; then
		fail "setup: no free TCP ports"
		return 1
	fi
	if ! write_config; then
		fail "setup: Sendmail's configuration (m4)"
		sed 's/^/# /' "$work/etc/m4.err"
		return 1
	fi
	if ! { start_inspect json "$milter_json" json &&
	    start_inspect text "$milter_text" text &&
	    start_inspect replies "$milter_replies" json --no-reply no &&
	    start_inspect request "$milter_request" json --request-macros &&
	    start_inspect probe "$milter_probe" text \
	    --reply 'envrcpt/bad@=550 5.7.1 probe rejects bad' \
	    --add-header 'X-Probe: yes'; }
	then
		fail "setup: inspect is not listening"
		sed 's/^/# /' "$work"/*.err
		return 1
	fi
	if ! start_sendmail; then
		fail "setup: Sendmail's daemon is not listening"
		show_debug "$work/sendmail.out"
		return 1
	fi
}

teardown() {
	local pid

	# A second Ctrl-C must not cut the cleaning short.
	trap '' INT TERM
	trap - EXIT
	[ -z "$sendmail_pid" ] || sendmail_stop
	for pid in "${inspect_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	terminate "${inspect_pids[@]}"
	[ -z "$work" ] || rm -rf "$work"
}

# closes FILE N: FILE reports at least N closed sessions (JSON or text).
closes() {
	[ "$(grep -cE '"stage":"close"|^\[[0-9]+\] close ' "$1" 2>/dev/null)" \
	    -ge "$2" ]
}

# send SCENARIO HOST PORT HELO REPORT...: one session with
# sendmail_send.py, its facts in $work/HELO.json; then wait until every
# REPORT has one more session closed, so that the next session's lines
# in Sendmail's log come after this one's.
send() {
	local facts=$work/$4.json report rc

	timeout 30 python3 "$here/sendmail_send.py" "$1" "$2" "$3" "$4" \
	    "$facts" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	check "[$4] Sendmail answered the $1 session as expected" \
	    [ "$rc" -eq 0 ]
	for report in "${@:5}"; do
		sessions_sent[$report]=$((${sessions_sent[$report]:-0} + 1))
		check "[$4] $(basename "$report" .out): session closed" \
		    wait_until 10 closes "$report" "${sessions_sent[$report]}"
	done
}

# run_checker MODE NAME DAEMON HELO...: check_sendmail.py on inspect
# NAME's report of the sessions with these HELO names, sent to the daemon
# named DAEMON.
run_checker() {
	local out rc helo facts=()

	for helo in "${@:4}"; do
		facts+=("$work/$helo.json")
	done
	out=$(python3 "$here/check_sendmail.py" "$1" "$work/$2.out" \
	    "$work/debug.log" "$2" "$3" "${facts[@]}" 2>&1)
	rc=$?
	relay "$out"
	[ "$rc" -eq 0 ] || fail "[$2] check_sendmail.py exited $rc"
}

# session_of FILE HELO: the session number of HELO in a text report.
session_of() {
	grep -E "^\[[0-9]+\] helo $stamp " "$1" | grep -m1 -F " \"$2\"" |
	    sed 's/^\[\([0-9]*\)\].*/\1/'
}

# has FILE SESSION LINE: the text report has LINE (after "[N] ") exactly.
has() {
	grep -qxF "[$2] $3" "$1"
}

# has_event FILE SESSION STAGE REST: an event's first line is "[N] STAGE
# TIME REST".
has_event() {
	grep -q -F -x -f <(printf '%s\n' "$4") <(sed -nE \
	    "s/^\\[$2\\] $3 $stamp //p" "$1")
}

# The text report of the message session shows the same key facts.
check_text_report() {
	local t=$work/text.out s p n before=$failed

	s=$(session_of "$t" message.example.org)
	p="[text message.example.org]"
	check "$p session found by its HELO" [ -n "$s" ]
	check "$p macro {daemon_name}" has "$t" "$s" ' macro {daemon_name}: "MTA"'
	check "$p unknown command, whole" \
	    has_event "$t" "$s" unknown '"XYZZY foo bar"'
	check "$p MAIL parameter ENVID" \
	    has "$t" "$s" ' parameter: "ENVID=sendmail-e2e-1"'
	check "$p local recipient's empty {rcpt_host}" \
	    has "$t" "$s" ' macro {rcpt_host}: ""'
	check "$p unknown user rejected, with Sendmail's status and reply" \
	    has "$t" "$s" ' rejected: "5.1.1" "550 5.1.1 User unknown"'
	check "$p header with no space after the colon" \
	    has_event "$t" "$s" header 'X-Tight: "no space after the colon"'
	check "$p folded header" \
	    has_event "$t" "$s" header \
	    'X-Folded: " first part,\n\tsecond part,\n third part"'
	check "$p 8-bit body, non-UTF-8 byte escaped" has "$t" "$s" \
	    ' chunk: "8-bit: café in UTF-8, caf\xe9 in Latin-1.\r\n"'
	check "$p macro {msg_id}" \
	    has "$t" "$s" ' macro {msg_id}: "<sendmail-e2e@example.org>"'
	n=$(grep -c "^\\[$s\\] " "$t")
	check "$p the whole session in $n lines (at most 80)" [ "$n" -le 80 ]
	[ "$failed" -eq "$before" ] || show_debug "$t"
}

# show_debug FILE: Sendmail's output, the debug log's end, inspect's
# diagnostics and FILE's end, for a failure's reader.
# Probing Sendmail: the client sees inspect's reject text for the
# recipient that matches (after the address, as Sendmail puts it) and 250
# for the other; the message queued has the header inspect added, with
# one space after the colon.
check_probe() {
	local p="[probe]" before=$failed qf

	timeout 30 python3 - "$smtp_probe" >"$work/probe.client" 2>&1 <<-'EOF'
	import smtplib, sys
	s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
	s.ehlo("probe.example.org")
	s.mail("<alice@example.org>")
	for rcpt in ("<good@example.com>", "<bad@example.com>"):
	    code, text = s.rcpt(rcpt)
	    print("RCPT", rcpt, code, text.decode())
	code, text = s.data(b"Subject: probe\r\n\r\nProbing Sendmail.\r\n")
	print("DATA", code, text.decode())
	s.quit()
	EOF
	check "$p the client sees the reject text for bad@" grep -qxF \
	    'RCPT <bad@example.com> 550 5.7.1 <bad@example.com>... probe rejects bad' \
	    "$work/probe.client"
	check "$p the other recipient is accepted" \
	    grep -qE '^RCPT <good@example.com> 250 ' "$work/probe.client"
	check "$p the message is queued" \
	    grep -qE '^DATA 250 ' "$work/probe.client"
	qf=$(grep -l '^\$sprobe\.example\.org$' "$work"/queue/qf*)
	check "$p the queued message has X-Probe: yes" \
	    grep -qE '^H\?\?X-Probe: yes$' "$qf"
	check "$p report: the reply to bad@" grep -qF \
	    '  reply: reject 550 5.7.1 "probe rejects bad"' "$work/probe.out"
	check "$p report: the header added" \
	    grep -qF '  change: add-header "X-Probe: yes"' "$work/probe.out"
	if [ "$failed" -ne "$before" ]; then
		sed 's/^/# /' "$work/probe.client"
		sed 's/^/# qf: /' "$qf"
		show_debug "$work/probe.out"
	fi
}

show_debug() {
	echo "# --- Sendmail's output:"
	tail -n 10 "$work/sendmail.out" 2>/dev/null | sed 's/^/# /'
	echo "# --- Sendmail's debug log (last 30 lines):"
	tail -n 30 "$work/debug.log" 2>/dev/null | sed 's/^/# /'
	echo "# --- inspect's stderr:"
	tail -n 5 "$work"/*.err | sed 's/^/# /'
	echo "# --- $(basename "$1") (last 40 lines, cut at 240 characters):"
	tail -n 40 "$1" | cut -c1-240 | sed 's/^/# /'
}

# save_sample FILE: the text report of the message session.
save_sample() {
	local s

	s=$(session_of "$work/text.out" message.example.org)
	grep "^\[$s\] " "$work/text.out" >"$1" &&
	    echo "# wrote the message session's text report to $1"
}

main() {
	local json=() before

	if [ "${1:-}" = --save-sample ] && [ $# -eq 2 ]; then
		sample=$2
	elif [ $# -ne 0 ]; then
		echo "usage: $0 [--save-sample FILE]" >&2
		exit 2
	fi
	require
	# Outside the namespaces, where the network is.
	[ -n "${INSPECT_SENDMAIL_NETNS:-}" ] || require_sendmail sendmail
	own_namespaces sendmail INSPECT_SENDMAIL_NETNS "$myhostname" "$@"
	ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/' && ipv6=yes
	teardown_traps

	if ! setup; then
		summary
		exit 1
	fi
	before=$failed
	send message 127.0.0.1 "$smtp_main" message.example.org \
	    "$work/json.out" "$work/text.out"
	send rset 127.0.0.1 "$smtp_main" rset.example.org \
	    "$work/json.out" "$work/text.out"
	json=(message.example.org rset.example.org)
	if [ -n "$ipv6" ]; then
		send message ::1 "$smtp_main" message6.example.org \
		    "$work/json.out" "$work/text.out"
		json+=(message6.example.org)
	else
		echo "# no ::1 in this namespace: IPv6 not tested"
	fi
	send message 127.0.0.1 "$smtp_replies" message.replies.example.org \
	    "$work/replies.out"
	send rset 127.0.0.1 "$smtp_replies" rset.replies.example.org \
	    "$work/replies.out"
	send message 127.0.0.1 "$smtp_request" message.request.example.org \
	    "$work/request.out"
	send rset 127.0.0.1 "$smtp_request" rset.request.example.org \
	    "$work/request.out"
	[ "$failed" -eq "$before" ] || show_debug "$work/json.out"

	run_checker default json MTA "${json[@]}"
	run_checker replies replies MTA-replies message.replies.example.org \
	    rset.replies.example.org
	run_checker request request MTA-request message.request.example.org \
	    rset.request.example.org
	check_text_report
	check_probe
	[ -z "$sample" ] || save_sample "$sample"
	check_inspects_stop
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
