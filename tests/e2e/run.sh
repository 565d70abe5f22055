#!/bin/bash
# End-to-end test: a private Postfix on loopback passes real mail through
# inspect, once over inet and once over a unix socket, and inspect's report
# must show what Postfix really sent: stages, arguments, each stage's own
# macros, headers and body bytes, also of clients that leave in the middle
# of a transaction (unix); then once more over inet with inspect asking
# for every macro (--request-macros).
#
# usage: tests/e2e/run.sh [--save-sample FILE]
#   --save-sample FILE  also write inspect's text report of the swaks
#                       message over inet to FILE (the README's sample)
#
# Needs root, because Postfix's master runs as root.  Everything lives in
# one mktemp -d directory; nothing under /etc is changed; it all runs in a
# network namespace of its own, on its loopback: no port is shared with
# anything else, and TCP's counters count only this test's connections.

set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
inspect=$(cd "$here/../.." && pwd)/inspect

myhostname=mx.example.net
swaks_helo=swaks.example.org
swaks_from=alice@example.org
swaks_to=bob@example.com

passed=0
failed=0
sample=			# --save-sample FILE
# One stamp, as inspect writes it: RFC 3339, UTC, microseconds.
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z'
work=			# the mktemp -d directory
socket=			# inspect's unix socket
smtpd_inet=		# the smtpd whose milters are inspect over inet
smtpd_unix=		# the smtpd whose milter is inspect over a unix socket
smtpd_request=		# the smtpd whose milter asks for every macro
milter_json=		# inspect over inet, JSON report
milter_text=		# inspect over inet, text report
milter_request=		# inspect over inet, --request-macros, JSON
master_pid=
inspect_json=
inspect_text=
inspect_unix=
inspect_request=
inspect_pids=()
ports_taken=
swaks_qid=
smtplib_qid=

require() {
	need_root e2e "Postfix's master runs as root" \
	    "sudo make e2e-check"
	need_tools e2e "" postconf swaks smtp-source python3 ss ip unshare \
	    setsid
}

# start_inspect VAR NAME SPEC FORMAT [ARG...]: run inspect in the
# background, reporting to $work/NAME.out, and put its pid in VAR.
start_inspect() {
	# umask 0007: a unix socket is made srwxrwx---, and its group is
	# postfix because the directory is set-group-id (see setup), so
	# Postfix's smtpd, which runs as user postfix, can connect to it
	# the moment it exists; no chmod race.  No effect on inet.
	(umask 0007 && exec "$inspect" -s "$3" --format "$4" "${@:5}" \
	    >"$work/$2.out" 2>"$work/$2.err") &
	inspect_pids+=("$!")
	printf -v "$1" %s "$!"
}

# A private Postfix in $work: its own config, queue, data and log
# directories, smtpd on two loopback ports, and every mail discarded.
write_postfix_config() {
	# One smtpd per pass, each with its own milters.  Over inet two
	# inspects see the same mail: one writes JSON, one text.
	postfix_config "$work" "$myhostname" \
	    "# The log then gives the client port of each queue id." \
	    "smtpd_client_port_logging = yes" \
	    "smtpd_recipient_restrictions =" \
	    "    check_recipient_access inline:{nobody@reject.example=REJECT}," \
	    "    permit_mynetworks, reject_unauth_destination" <<-EOF
	127.0.0.1:$smtpd_inet inet n - n - - smtpd
	  -o smtpd_milters=inet:127.0.0.1:$milter_json,inet:127.0.0.1:$milter_text
	127.0.0.1:$smtpd_unix inet n - n - - smtpd
	  -o smtpd_milters=unix:$socket
	127.0.0.1:$smtpd_request inet n - n - - smtpd
	  -o smtpd_milters=inet:127.0.0.1:$milter_request
	EOF
}

start_postfix() {
	postfix_start "$work" "$work/master.out"
	wait_until 5 listening "$master_pid" "$smtpd_inet" &&
	    wait_until 5 listening "$master_pid" "$smtpd_unix" &&
	    wait_until 5 listening "$master_pid" "$smtpd_request"
}

setup() {
	work=$(mktemp -d -t inspect-e2e.XXXXXX) || return 1
	# Postfix's daemons run as postfix and reach data_directory and the
	# milter socket by absolute path, through this directory.
	chmod 711 "$work"
	# The unix socket's directory: set-group-id postfix (start_inspect).
	mkdir "$work/milter"
	chgrp postfix "$work/milter"
	chmod 2750 "$work/milter"
	socket=$work/milter/inspect.sock
	if ! { pick_port smtpd_inet && pick_port smtpd_unix &&
	    pick_port smtpd_request && pick_port milter_json &&
	    pick_port milter_text && pick_port milter_request; }; then
		fail "setup: no free TCP ports"
		return 1
	fi
	if ! write_postfix_config; then
		fail "setup: Postfix configuration (post-install failed)"
		sed 's/^/# /' "$work/post-install.log"
		return 1
	fi
	# Postfix's syntax is inet:HOST:PORT, libmilter's inet:PORT@HOST.
	start_inspect inspect_json inet-json "inet:$milter_json@127.0.0.1" json
	start_inspect inspect_text inet-text "inet:$milter_text@127.0.0.1" text \
	    --summary
	start_inspect inspect_unix unix-json "unix:$socket" json
	start_inspect inspect_request request-json \
	    "inet:$milter_request@127.0.0.1" json --request-macros
	if ! { wait_until 5 listening "$inspect_json" "$milter_json" &&
	    wait_until 5 listening "$inspect_text" "$milter_text" &&
	    wait_until 5 listening "$inspect_request" "$milter_request" &&
	    wait_until 5 listening "$inspect_unix" "$socket"; }; then
		fail "setup: inspect is not listening"
		sed 's/^/# /' "$work"/*.err
		return 1
	fi
	if ! start_postfix; then
		fail "setup: Postfix's smtpd is not listening"
		show_log
		return 1
	fi
}

teardown() {
	local pid

	# A second Ctrl-C must not cut the cleaning short; it takes < 10 s.
	trap '' INT TERM
	trap - EXIT
	[ -z "$master_pid" ] || postfix_stop "$work"
	for pid in "${inspect_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${inspect_pids[@]}"; do
		terminate "$pid"
	done
	[ -z "$work" ] || rm -rf "$work"
}

# The swaks message.  No newline at its end: swaks ends DATA with
# CRLF . CRLF itself, so each line reaches Postfix with one CRLF.
write_swaks_message() {
	printf '%s\n' \
	    'Date: Mon, 02 Nov 2026 10:00:00 +0000' \
	    'From: Alice <alice@example.org>' \
	    'To: Bob <bob@example.com>' \
	    'Message-Id: <e2e-swaks@example.org>' \
	    'Subject: inspect e2e: hello from swaks' \
	    'X-Folded: first part,' \
	    '	second part' \
	    '' \
	    'Hello Bob,' \
	    '' \
	    'this body has several lines,' \
	    '	one indented with a tab.' \
	    '-- ' >"$1"
	printf 'Alice' >>"$1"
}

# send_swaks PASS PORT: one mail with swaks; writes $work/PASS.swaks.json
# for check_report.py and sets swaks_qid.
send_swaks() {
	local out=$work/$1.swaks.out reply rc

	swaks --server 127.0.0.1 --port "$2" --timeout 5 --helo "$swaks_helo" \
	    --from "$swaks_from" --to "$swaks_to" \
	    --data "@$work/swaks-message.txt" >"$out" 2>&1
	rc=$?
	check "[$1 swaks] swaks exits 0" [ "$rc" -eq 0 ]
	reply=$(grep -m1 '^<-  250 .*queued as ' "$out")
	swaks_qid=$(printf %s "$reply" |
	    sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p')
	check "[$1 swaks] Postfix replied 250 queued as ${swaks_qid:-?}" \
	    [ -n "$swaks_qid" ]
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$out"
	python3 - "$work/$1.swaks.json" "$work/swaks-message.txt" "$swaks_qid" \
	    "$swaks_helo" "$swaks_from" "$swaks_to" "${reply#<-  }" "$2" <<-'EOF'
	import json, sys
	path, message, qid, helo, sender, rcpt, reply, port = sys.argv[1:]
	with open(message, "rb") as f:
	    wire = f.read().replace(b"\n", b"\r\n") + b"\r\n"
	json.dump({"sender": "swaks", "helo": helo, "mail": ["<%s>" % sender],
	           "rcpts": [["<%s>" % rcpt]], "qid": qid or None,
	           "message": wire.decode("latin-1"), "reply": reply,
	           "server_port": int(port)},
	          open(path, "w"))
	EOF
}

# send_smtplib PASS PORT: the mail with ESMTP parameters and an unknown
# command; sets smtplib_qid.
send_smtplib() {
	local facts=$work/$1.smtplib.json rc

	python3 "$here/smtp_send.py" "$2" "$facts" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	smtplib_qid=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["qid"] or "")' "$facts" 2>/dev/null)
	check "[$1 smtplib] Postfix replied 250 queued as ${smtplib_qid:-?}" \
	    [ "$rc" -eq 0 ]
}

# closes FILE N: FILE reports at least N closed sessions (JSON or text).
closes() {
	[ "$(grep -cE '"stage":"close"|^\[[0-9]+\] close ' "$1")" -ge "$2" ]
}

# client_port QID: the client port Postfix logged for QID.
client_port() {
	sed -n "s/.*: $1: client=.*\]:\([0-9]*\)\$/\1/p" "$work/log/maillog"
}

# The log is written by postlogd a moment after the SMTP session.
clients_logged() {
	[ -n "$(client_port "$swaks_qid")" ] &&
	    [ -n "$(client_port "$smtplib_qid")" ]
}

# delayed_acks: how many delayed ACKs TCP has sent in this namespace.
delayed_acks() {
	awk '$1 == "TcpExt:" && !n { for (i = 2; i <= NF; i++) k[i] = $i; n = 1
		next }
	    $1 == "TcpExt:" { for (i = 2; i <= NF; i++)
		if (k[i] == "DelayedACKs") print $i }' /proc/net/netstat
}

# Over TCP inspect asks for no replies, so Postfix writes its commands
# back to back without waiting: Nagle's algorithm then holds each until
# the one before is acknowledged.  If inspect let its kernel delay those
# ACKs (40 ms each), every message would wait for them; it must not.
run_no_wait() {
	local n=20 before after delayed most

	before=$(delayed_acks)
	timeout 120 smtp-source -s 1 -m "$n" -l 2048 -M client.example.org \
	    -f "$swaks_from" -t "$swaks_to" "127.0.0.1:$smtpd_inet" 2>&1 |
	    sed 's/^/# /'
	after=$(delayed_acks)
	check "[inet] inspect reported $n more sessions closed" \
	    wait_until 10 closes "$work/inet-json.out" $((n + 2))
	check "[inet] every one negotiated no replies" \
	    negotiated_no_reply "$work/inet-json.out" "$n"
	delayed=$((after - before))
	# The count is the namespace's, Postfix's own connections too, and
	# a loaded machine adds a few; a kernel left to delay inspect's
	# ACKs sends one or more a message.
	most=$((n / 4))
	check "[inet] $n mails in a row, $delayed delayed ACKs (at most $most)" \
	    [ "$delayed" -le "$most" ]
}

# Clients that leave in the middle of a transaction, through the smtpd
# whose milter is inspect on a unix socket.  Postfix holds the commands it
# awaits no reply to until it awaits one, or hangs up: then it writes them
# all, and abort and quit, and closes at once; libmilter takes a hung-up
# unix socket for an error and drops what it has not read.  Every session
# must still show its whole envelope and the abort.
run_vanish() {
	local n=10 last out

	last=$(python3 -c 'import json, sys
print(max([json.loads(l)["session"] for l in open(sys.argv[1])] or [0]))' \
	    "$work/unix-json.out")
	python3 - "$smtpd_unix" "$n" <<-'EOF'
	import socket, sys
	port, n = int(sys.argv[1]), int(sys.argv[2])
	def reply(s):
	    data = b""
	    while not data.endswith(b"\r\n") or data.split(b"\r\n")[-2][3:4] != b" ":
	        chunk = s.recv(4096)
	        if not chunk:
	            break
	        data += chunk
	for i in range(n):
	    s = socket.create_connection(("127.0.0.1", port), timeout=10)
	    reply(s)
	    for line in (b"EHLO vanish.example.org", b"MAIL FROM:<a@example.org>",
	                 b"RCPT TO:<b@example.com>"):
	        s.sendall(line + b"\r\n")
	        reply(s)
	    s.close()
	EOF
	check "[unix vanish] inspect reported $n more sessions closed" \
	    wait_until 10 closes "$work/unix-json.out" $((last + n))
	out=$(python3 - "$work/unix-json.out" "$last" "$n" <<-'EOF'
	import collections, json, sys
	path, last, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	sessions = collections.defaultdict(list)
	for line in open(path):
	    ev = json.loads(line)
	    if ev["session"] > last:
	        sessions[ev["session"]].append(ev["stage"])
	want = "negotiate connect helo envfrom envrcpt abort close"
	got = collections.Counter(" ".join(s) for s in sessions.values())
	ok = len(sessions) == n and got[want] == n
	print("%s [unix vanish] %d sessions, each %s" %
	      ("ok" if ok else "FAIL", n, want))
	for stages, count in got.items():
	    if stages != want:
	        print("  %d of %d: %s" % (count, len(sessions), stages))
	EOF
	)
	relay "$out"
}

# run_pass PASS PORT REPORT: send both mails through the smtpd on PORT
# and check inspect's JSON REPORT.
run_pass() {
	local pass=$1 port=$2 report=$3 before=$failed

	send_swaks "$pass" "$port"
	send_smtplib "$pass" "$port"
	check "[$pass] inspect reported both sessions closed" \
	    wait_until 5 closes "$report" 2
	check "[$pass] Postfix logged both clients" \
	    wait_until 5 clients_logged
	run_checker "$pass" "$report" "$work/$pass.swaks.json" \
	    "$work/$pass.smtplib.json"
	[ "$failed" -eq "$before" ] || show_debug "$report"
}

run_checker() {
	local out rc

	out=$(python3 "$here/check_report.py" "$1" "$2" "$work/log/maillog" \
	    "$myhostname" "${@:3}" 2>&1)
	rc=$?
	relay "$out"
	[ "$rc" -eq 0 ] || fail "[$1] check_report.py exited $rc"
}

# session_of FILE HELO: the session number of HELO in a text report.
session_of() {
	grep -m1 -E "^\[[0-9]+\] helo $stamp \"$2\"\$" "$1" |
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

# The text report of the inet pass shows the same key facts.
check_text_report() {
	local t=$work/inet-text.out s p n rejection before=$failed

	check "[inet text] inspect reported both sessions closed" \
	    wait_until 5 closes "$t" 2
	s=$(session_of "$t" "$swaks_helo")
	p="[inet text swaks]"
	check "$p session found by its HELO" [ -n "$s" ]
	check "$p connect address" grep -qE "^\\[$s\\] connect $stamp \".*\" \"inet:$(client_port "$swaks_qid")@\\[127\\.0\\.0\\.1\\]\"\$" "$t"
	check "$p macro j" has "$t" "$s" " macro j: \"$myhostname\""
	check "$p macro {daemon_name}" \
	    has "$t" "$s" " macro {daemon_name}: \"$myhostname\""
	check "$p macro {daemon_addr}" \
	    has "$t" "$s" ' macro {daemon_addr}: "127.0.0.1"'
	check "$p macro v" grep -qE "^\\[$s\\]  macro v: \"Postfix " "$t"
	check "$p envfrom address" has_event "$t" "$s" envfrom "\"<$swaks_from>\""
	check "$p macro {mail_addr}" \
	    has "$t" "$s" " macro {mail_addr}: \"$swaks_from\""
	check "$p envrcpt address" has_event "$t" "$s" envrcpt "\"<$swaks_to>\""
	check "$p macro {rcpt_addr}" \
	    has "$t" "$s" " macro {rcpt_addr}: \"$swaks_to\""
	check "$p macro i is the queue id" \
	    has "$t" "$s" " macro i: \"$swaks_qid\""
	check "$p Subject" has_event "$t" "$s" header \
	    'Subject: " inspect e2e: hello from swaks"'
	check "$p folded header" has_event "$t" "$s" header \
	    'X-Folded: " first part,\n\tsecond part"'
	check "$p body lines" has "$t" "$s" ' chunk: "Hello Bob,\r\n"'
	check "$p close" grep -qE "^\\[$s\\] close " "$t"
	check "$p the first session of the run" [ "$s" = 1 ]
	check "$p after the run's start line, its supervisor's" \
	    begins_run "$t" "$inspect_text"
	# Each stage its own macros, a header a line, the negotiation in
	# full: the first message, as the default report has it (the run's
	# start line, then the session without the summary line --summary
	# adds), reads in one screen.
	first_message "$t" "$s" >"$work/first-message.txt"
	n=$(wc -l <"$work/first-message.txt")
	check "$p the start and the whole session in $n lines (at most 45)" \
	    [ "$n" -le 45 ]
	n=$(wc -c <"$work/first-message.txt")
	check "$p the start and the whole session in $n bytes (at most 2500)" \
	    [ "$n" -le 2500 ]
	n=$(awk '{ if (length > n) n = length } END { print n + 0 }' \
	    "$work/first-message.txt")
	check "$p its longest line $n columns (at most 160)" [ "$n" -le 160 ]

	s=$(session_of "$t" smtplib.example.org)
	p="[inet text smtplib]"
	check "$p session found by its HELO" [ -n "$s" ]
	check "$p unknown command" has_event "$t" "$s" unknown '"XYZZY"'
	check "$p MAIL parameter SIZE" \
	    grep -qE "^\\[$s\\]  parameter: \"SIZE=[0-9]+\"\$" "$t"
	check "$p MAIL parameter BODY" \
	    has "$t" "$s" ' parameter: "BODY=8BITMIME"'
	check "$p RCPT parameter NOTIFY" \
	    has "$t" "$s" ' parameter: "NOTIFY=NEVER"'
	check "$p RCPT parameter ORCPT" \
	    has "$t" "$s" ' parameter: "ORCPT=rfc822;erin@example.com"'
	check "$p 8-bit body, non-UTF-8 byte escaped" has "$t" "$s" \
	    ' chunk: "8-bit body: café in UTF-8, caf\xe9 in Latin-1.\r\n"'
	check "$p macro i is the queue id" \
	    has "$t" "$s" " macro i: \"$smtplib_qid\""
	# The status Postfix gave, and its reply without the code.
	rejection='rejected: "[245]\.[0-9]+\.[0-9]+" ".*Recipient address rejected: .*"$'
	check "$p rejected recipient: status and reply" \
	    grep -qE "^\\[$s\\]  $rejection" "$t"
	# The summary at close: the envelope as smtp_send.py sent it, the
	# queue id Postfix gave the client, the rejected recipient marked,
	# the body's size as the client sent it (Postfix takes the
	# dot-stuffing off), Postfix's headers counted.
	want=$(python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))
body = f["message"].encode("latin-1").split(b"\r\n\r\n", 1)[1]
print("helo \"%s\" mail \"%s\" queue \"%s\" rcpt %s %s (rejected) "
      "headers %s body %d bytes end eom duration " % (f["helo"],
      f["mail"][0], sys.argv[3],
      " ".join("\"%s\"" % r[0] for r in f["rcpts"]),
      "\"%s\"" % f["rejected"][0][0], sys.argv[2], len(body)))' \
	    "$work/inet.smtplib.json" "$(grep -c "^\[$s\] header " "$t")" \
	    "$smtplib_qid")
	check "$p summary: $want" grep -qF " $want" <(grep "^\[$s\] summary " "$t")
	check "$p summary: the body's size is the chunks' lengths" [ \
	    "$(grep "^\[$s\] summary " "$t" | sed 's/.* body \([0-9]*\) bytes.*/\1/')" \
	    = "$(sed -nE "s/^\\[$s\\] body $stamp ([0-9]+) bytes\$/\\1/p" "$t" | awk '{ n += $1 } END { print n }')" ]
	[ "$failed" -eq "$before" ] || show_debug "$t"
}

# Postfix's log, for a failure's reader.
show_log() {
	echo "# --- Postfix log (last 40 lines):"
	tail -n 40 "$work/log/maillog" 2>/dev/null | sed 's/^/# /'
	sed 's/^/# master: /' "$work/master.out" 2>/dev/null
}

# show_debug REPORT: the log, inspect's diagnostics and the report's end.
show_debug() {
	show_log
	echo "# --- inspect's stderr:"
	tail -n 5 "$work"/*.err | sed 's/^/# /'
	echo "# --- $(basename "$1") (last 60 lines, cut at 240 characters):"
	tail -n 60 "$1" | cut -c1-240 | sed 's/^/# /'
}

# first_message REPORT SESSION: the run's start line and SESSION's lines
# but its summary, as REPORT has them.
first_message() {
	grep '^\[0\] start ' "$1"
	grep "^\\[$2\\] " "$1" | grep -v "^\\[$2\\] summary "
}

# save_sample FILE: the text report of the swaks session over inet, after
# the run's start line.
save_sample() {
	local s

	s=$(session_of "$work/inet-text.out" "$swaks_helo")
	{ grep '^\[0\] start ' "$work/inet-text.out" &&
	    grep "^\[$s\] " "$work/inet-text.out"; } >"$1" &&
	    echo "# wrote the run's start and the swaks session's text" \
	    "report to $1"
}

main() {
	if [ "${1:-}" = --save-sample ] && [ $# -eq 2 ]; then
		sample=$2
	elif [ $# -ne 0 ]; then
		echo "usage: $0 [--save-sample FILE]" >&2
		exit 2
	fi
	require
	own_namespaces e2e INSPECT_E2E_NETNS "" "$@"
	teardown_traps

	if ! setup; then
		summary
		exit 1
	fi
	write_swaks_message "$work/swaks-message.txt"
	run_pass inet "$smtpd_inet" "$work/inet-json.out"
	check_text_report
	run_pass unix "$smtpd_unix" "$work/unix-json.out"
	run_vanish
	run_pass request "$smtpd_request" "$work/request-json.out"
	run_no_wait
	[ -z "$sample" ] || save_sample "$sample"
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
