#!/bin/bash
# End-to-end test of probing: a private Postfix on loopback meets inspects
# that answer chosen stages and change the mail (--reply, --delay, the
# changes at eom), and what Postfix does with it is checked where a user
# would look: the SMTP client's replies, Postfix's log, the message it
# delivers (to a local smtp-sink) and its hold queue.
#
# usage: tests/e2e/probe.sh [--save-sample DIR]
#   --save-sample DIR  also write the client's side and inspect's report
#                      of the partial reject to DIR
#
# Needs root, because Postfix's master runs as root.  Everything lives in
# one mktemp -d directory and a network namespace of its own.

set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
inspect=$(cd "$here/../.." && pwd)/inspect

passed=0
failed=0
sample=
work=
master_pid=
sink_pid=
inspect_pids=()
ports_taken=

# Each smtpd has one inspect, which probes one thing.
probes=(change data eom timeout progress hold)
declare -A smtpd milter

require() {
	need_root probe "Postfix's master runs as root"
	need_tools probe "" postconf swaks smtp-sink python3 ss ip unshare \
	    setsid
}

# start_inspect NAME ARG...: inspect on milter[NAME], text report to
# $work/NAME.out.
start_inspect() {
	local name=$1

	shift
	"$inspect" -s "inet:${milter[$name]}@127.0.0.1" "$@" \
	    >"$work/$name.out" 2>"$work/$name.err" &
	inspect_pids+=("$!")
	wait_until 5 listening "$!" "${milter[$name]}"
}

# The smtpds, each with its inspect and the timeouts its probe needs;
# whatever they accept goes on to the smtp-sink on $sink.
write_postfix_config() {
	local p

	for p in "${probes[@]}"; do
		printf '127.0.0.1:%s inet n - n - - smtpd\n' "${smtpd[$p]}"
		printf '  -o smtpd_milters=inet:127.0.0.1:%s\n' "${milter[$p]}"
		case $p in
		timeout)
			printf '  -o milter_command_timeout=2s\n'
			printf '  -o milter_default_action=tempfail\n' ;;
		progress)
			printf '  -o milter_content_timeout=2s\n' ;;
		esac
	done
	printf 'smtp unix - - n - - smtp\n'
} 

setup() {
	local p

	work=$(mktemp -d -t inspect-probe.XXXXXX) || return 1
	chmod 711 "$work"
	for p in "${probes[@]}"; do
		pick_port "smtpd[$p]" && pick_port "milter[$p]" || return 1
	done
	pick_port sink || return 1
	write_postfix_config | postfix_config "$work" mx.example.net \
	    "transport_maps = inline:{example.com=smtp:[127.0.0.1]:$sink}" \
	    || return 1
	printf 'The body inspect\nput in its place.\n' >"$work/body.txt"
	mkdir "$work/sink"
	chown postfix "$work/sink"
	smtp-sink -u postfix -d "$work/sink/%M." "127.0.0.1:$sink" 10 \
	    >"$work/sink.log" 2>&1 &
	sink_pid=$!
	start_inspect change \
	    --reply 'envrcpt/bad@=550 5.7.1 probe rejects bad' \
	    --add-header 'X-Probe: yes' \
	    --change-header 'Subject[1]: probed' \
	    --add-rcpt '<added@example.com>' \
	    --replace-body "$work/body.txt" &&
	start_inspect data --reply 'data=451 4.3.0 probe tempfails data' &&
	start_inspect eom --reply eom=discard &&
	start_inspect timeout --delay envfrom=4 &&
	start_inspect progress --delay eom=4 --add-header 'X-Slow: yes' &&
	start_inspect hold --quarantine 'probe holds it' || return 1
	postfix_start "$work" "$work/master.out"
	for p in "${probes[@]}"; do
		wait_until 5 listening "$master_pid" "${smtpd[$p]}" || return 1
	done
	wait_until 5 listening "$sink_pid" "$sink"
}

teardown() {
	trap '' INT TERM
	trap - EXIT
	[ -z "$master_pid" ] || postfix_stop "$work"
	[ -z "$sink_pid" ] || terminate "$sink_pid"
	[ ${#inspect_pids[@]} -eq 0 ] || terminate "${inspect_pids[@]}"
	[ -z "$work" ] || rm -rf "$work"
}

# send NAME [SWAKS ARG...]: one mail to smtpd[NAME], the conversation in
# $work/NAME.swaks.
send() {
	local name=$1

	shift
	swaks --server 127.0.0.1 --port "${smtpd[$name]}" --timeout 15 \
	    --helo client.example.org --from alice@example.org \
	    --header 'Subject: probe e2e' --body 'The original body.' "$@" \
	    >"$work/$name.swaks" 2>&1
}

# said NAME PATTERN: the client saw a line matching PATTERN (ERE).
said() {
	grep -qE -- "$2" "$work/$1.swaks"
}

logged() {
	grep -qE -- "$1" "$work/log/maillog"
}

# delivered PATTERN [FILE]: a message the smtp-sink took (or the one in
# FILE) has a line matching PATTERN.
delivered() {
	cat "${2:-$work/sink/}"* 2>/dev/null | tr -d '\r' | grep -qE -- "$1"
}

# not COMMAND...: COMMAND fails.
not() {
	! "$@"
}

# held: Postfix's hold queue has a message.
held() {
	[ -n "$(find "$work/queue/hold" -type f 2>/dev/null)" ]
}

show_debug() {
	echo "# --- Postfix log (last 30 lines):"
	tail -n 30 "$work/log/maillog" 2>/dev/null | sed 's/^/# /'
	echo "# --- inspect's stderr:"
	tail -n 5 "$work"/*.err | sed 's/^/# /'
	echo "# --- $1's client side:"
	sed 's/^/# /' "$work/$1.swaks"
}

# A partial reject: the custom text reaches the client for the matching
# recipient, the other one is accepted; the message delivered has the
# header added and the one changed, the recipient added and the body
# replaced; inspect's report shows what it answered and did.
probe_change() {
	local before=$failed p="[change]" t=$work/change.out m

	send change --to good@example.com,bad@example.com
	check "$p the client sees the reject text for bad@" \
	    said change '^<\*\* +550 5\.7\.1 probe rejects bad'
	check "$p the other recipient is accepted" \
	    said change '^<- +250 .*Ok'
	check "$p the message is queued" said change '^<- +250 .*queued as'
	check "$p the message is delivered" wait_until 10 delivered '^X-Probe:'
	m=$(grep -l '^X-Probe:' "$work"/sink/*)
	check "$p X-Probe: yes is in the message delivered, one space" \
	    delivered '^X-Probe: yes$' "$m"
	check "$p Subject is changed" delivered '^Subject: probed$' "$m"
	check "$p the old Subject is gone" not delivered '^Subject: probe e2e$' \
	    "$m"
	check "$p the body is replaced" delivered '^put in its place\.$' "$m"
	check "$p the old body is gone" not delivered 'The original body' "$m"
	check "$p the recipient is added" \
	    logged 'to=<added@example.com>.*status=sent'
	check "$p good@ is delivered" \
	    logged 'to=<good@example.com>.*status=sent'
	check "$p bad@ is not" not logged 'to=<bad@example.com>.*status='
	check "$p report: the reply to bad@" \
	    grep -qF '  reply: reject 550 5.7.1 "probe rejects bad"' "$t"
	check "$p report: the header added" \
	    grep -qF '  change: add-header "X-Probe: yes"' "$t"
	check "$p report: the actions asked for" grep -qE \
	    '  answered actions: 0x00000017 SMFIF_ADDHDRS\|SMFIF_CHGBODY\|SMFIF_ADDRCPT\|SMFIF_CHGHDRS$' "$t"
	check "$p log: inspect says it probes, and how" grep -qF \
	    'PROBING: inspect answers and changes mail as asked: --reply "envrcpt/bad@=550 5.7.1 probe rejects bad" --add-header "X-Probe: yes"' \
	    "$work/change.err"
	[ "$failed" -eq "$before" ] || show_debug change
	if [ -n "$sample" ]; then
		cp "$work/change.swaks" "$sample/probe-client.txt"
		cp "$t" "$sample/probe-report.txt"
	fi
}

probe_data() {
	local before=$failed

	send data --to good@example.com
	check "[data] a 4xx at DATA tempfails the message, text and all" \
	    said data '^<\*\* +451 4\.3\.0 probe tempfails data'
	check "[data] nothing is queued" not said data 'queued as'
	[ "$failed" -eq "$before" ] || show_debug data
}

probe_eom() {
	local before=$failed

	send eom --to good@example.com
	check "[eom] the client is told the mail is queued" \
	    said eom '^<- +250 .*queued as'
	check "[eom] Postfix logs the discard" \
	    wait_until 5 logged 'milter-discard: END-OF-MESSAGE'
	[ "$failed" -eq "$before" ] || show_debug eom
}

# A delay beyond milter_command_timeout: Postfix gives up on inspect and
# applies milter_default_action, tempfail.
probe_timeout() {
	local before=$failed

	send timeout --to good@example.com
	check "[timeout] Postfix logs the milter's timeout" \
	    logged 'milter inet:127.0.0.1:[0-9]+: can.t read SMFIC_MAIL reply'
	check "[timeout] and applies milter_default_action (tempfail)" \
	    said timeout '^<\*\* +451 4\.7\.1 '
	[ "$failed" -eq "$before" ] || show_debug timeout
}

# A delay at eom twice milter_content_timeout: smfi_progress() every
# second keeps Postfix waiting, and the mail goes through.
probe_progress() {
	local before=$failed

	send progress --to good@example.com
	check "[progress] the mail is queued after the 4 s delay" \
	    said progress '^<- +250 .*queued as'
	check "[progress] Postfix did not time out" \
	    not logged 'can.t read SMFIC_BODYEOB'
	check "[progress] the header is added" \
	    wait_until 10 delivered '^X-Slow: yes$'
	[ "$failed" -eq "$before" ] || show_debug progress
}

probe_hold() {
	local before=$failed

	send hold --to good@example.com
	check "[hold] the client is told the mail is queued" \
	    said hold '^<- +250 .*queued as'
	check "[hold] Postfix logs the hold" \
	    wait_until 5 logged 'milter-hold: END-OF-MESSAGE.*HOLD action'
	check "[hold] the message is in Postfix's hold queue" \
	    wait_until 5 held
	[ "$failed" -eq "$before" ] || show_debug hold
}

# Each inspect exits 0 at SIGTERM, having said nothing but that it
# listens and probes: no error, no warning, no sanitizer's report.
stop_inspects() {
	local i pid status p

	for i in "${!inspect_pids[@]}"; do
		pid=${inspect_pids[i]}
		p=${probes[i]}
		kill -TERM "$pid"
		wait_until 8 gone "$pid" || kill -KILL "$pid"
		wait "$pid"
		status=$?
		check "[$p] inspect exits 0 at SIGTERM" [ "$status" -eq 0 ]
		check "[$p] inspect logged nothing else" not grep -qv \
		    -e '^inspect: listening on ' -e '^inspect: PROBING: ' \
		    -e '^inspect: stopping on SIG' "$work/$p.err"
	done
	inspect_pids=()
}

main() {
	if [ "${1:-}" = --save-sample ] && [ $# -eq 2 ]; then
		sample=$(cd "$2" && pwd) || exit 2
	elif [ $# -ne 0 ]; then
		echo "usage: $0 [--save-sample DIR]" >&2
		exit 2
	fi
	require
	own_namespaces probe INSPECT_E2E_NETNS "" "$@"
	teardown_traps

	if ! setup; then
		fail "setup: Postfix, smtp-sink or inspect did not start"
		sed 's/^/# /' "$work"/*.err "$work/master.out" \
		    "$work/post-install.log" 2>/dev/null
		summary
		exit 1
	fi
	probe_change
	probe_data
	probe_eom
	probe_timeout
	probe_progress
	probe_hold
	stop_inspects
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
