#!/bin/bash
# End-to-end test of forwarding: real milters from Debian's archive behind
# a private Postfix on loopback, once directly and once through inspect
# --forward, and what a user would look at must not tell the two apart:
# the SMTP client's replies, the copies delivered to a mailbox, a DKIM
# signature that verifies.  inspect's JSON report must show the milter's
# side too (tests/forward/check_forward.py).
#   - OpenDKIM (private, its own key): signs the same message with the same
#     v a c d s h bh both ways; the forwarded copy verifies with a second,
#     verifying OpenDKIM that has the public key locally; once more through
#     a private Sendmail, directly and forwarded.
#   - testmilter.py (pymilter): every answer (reject, tempfail, discard,
#     accept, a multi-line reply, skip) and every change at end of message
#     (headers, recipients, sender, a body of several packets, quarantine),
#     and progress during a slow end of message.
#
# usage: tests/forward/run.sh [--direct-only | --save-sample FILE]
#   --direct-only  while developing: only the milters directly, and a
#                  failure saying that the forwarded path was not run
#   --save-sample FILE  also copy inspect's JSON report of the OpenDKIM
#                  session through Postfix to FILE (the README's sample)
#
# Needs root: Postfix's master and Sendmail's daemon run as root, in
# network and host name namespaces of their own.  Everything lives in one
# mktemp -d directory; nothing under /etc is changed.  Sendmail runs from
# the cache tests/install-deps.sh fills, as in tests/e2e/sendmail.sh.

set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
inspect=$(cd "$here/../.." && pwd)/inspect
cache=${INSPECT_SENDMAIL_CACHE:-/var/cache/inspect-tests/sendmail}
sendmail=$cache/root/usr/libexec/sendmail/sendmail
# pymilter is Debian's, for Debian's python3 only.
pymilter=/usr/bin/python3

# A qualified host name: with one that does not resolve, Sendmail waits
# 60 s at start for it to.
myhostname=mx.example.test
# Every mail goes to this domain, into $work/mail/box (virtual(8)).
dest=dest.example

# The two ways from an MTA to a milter: "direct", or "forward", through
# inspect --forward.  Each check is made on both.
paths=(direct forward)

passed=0
failed=0
sample=			# --save-sample FILE
work=
master_pid=
sendmail_pid=
milter_pids=()		# OpenDKIM, the verifier, testmilter.py
inspect_pids=()
inspect_names=()	# the names of inspect_pids, for messages
ports_taken=
testmilter=		# testmilter.py's port
sm_direct=		# Sendmail's daemon whose milter is OpenDKIM
sm_forward=		# Sendmail's daemon whose milter is inspect --forward
holds=0			# quarantined messages Postfix logged
declare -A smtpd	# NAME.PATH -> the port of Postfix's smtpd
declare -A inspect_port	# NAME -> the port of the inspect that forwards

require() {
	local missing=

	need_root forward "Postfix's master runs as root" \
	    "sudo make forward-check"
	$pymilter -c 'import Milter' 2>/dev/null || missing=" python3-milter"
	need_tools forward "$missing" postconf postsuper postqueue opendkim \
	    opendkim-genkey m4 python3 ss ip unshare setsid hostname timeout
}

# --- the milters ---------------------------------------------------------

# OpenDKIM's configurations: the signer (as in the notes, §11.4) and a
# verifier that reads the public key from a file instead of DNS, and
# takes no host for internal, so that it verifies mail from 127.0.0.1.
write_dkim_config() {
	local d=$work/dkim

	mkdir "$d"
	opendkim-genkey -D "$d" -d example.org -s test || return 1
	cat >"$d/signer.conf" <<-EOF
	Syslog no
	Mode sv
	Domain example.org
	Selector test
	KeyFile $d/test.private
	Canonicalization relaxed/simple
	Socket local:$work/milter/dkim.sock
	PidFile $d/signer.pid
	UMask 007
	Background no
	RequireSafeKeys false
	EOF
	# test.txt is a zone file line: NAME IN TXT ( "part" "part" ).
	printf 'test._domainkey.example.org %s\n' "$(sed -e 's/^[^(]*(//' \
	    -e 's/).*//' "$d/test.txt" | tr -d '\n' | sed -e 's/"[ \t]*"//g' \
	    -e 's/"//g' -e 's/^[ \t]*//' -e 's/[ \t]*$//')" >"$d/keys"
	cat >"$d/verifier.conf" <<-EOF
	Syslog no
	Mode v
	InternalHosts csl:192.0.2.1
	AuthservID verifier.test
	TestPublicKeys $d/keys
	Socket local:$work/milter/verify.sock
	PidFile $d/verifier.pid
	UMask 007
	Background no
	EOF
}

# start_milter NAME COMMAND...: a milter in the background, its output in
# $work/NAME.log.
start_milter() {
	local name=$1

	shift
	"$@" >"$work/$name.log" 2>&1 &
	milter_pids+=("$!")
}

start_milters() {
	start_milter dkim opendkim -x "$work/dkim/signer.conf" -f
	start_milter verifier opendkim -x "$work/dkim/verifier.conf" -f
	start_milter testmilter "$pymilter" "$here/testmilter.py" \
	    "inet:$testmilter@127.0.0.1"
	wait_until 10 listening "${milter_pids[0]}" "$work/milter/dkim.sock" &&
	    wait_until 10 listening "${milter_pids[1]}" \
	    "$work/milter/verify.sock" &&
	    wait_until 10 listening "${milter_pids[2]}" "$testmilter"
}

# start_inspect NAME DOWNSTREAM: inspect forwarding to DOWNSTREAM
# (libmilter's syntax), listening on inspect_port[NAME], its JSON report
# in $work/NAME.json.  The downstream's end of message may take as long
# as testmilter.py's slow one and more.
start_inspect() {
	"$inspect" -s "inet:${inspect_port[$1]}@127.0.0.1" --forward "$2" \
	    --forward-eom-timeout 30 --format json --output "$work/$1.json" \
	    >"$work/$1.out" 2>"$work/$1.err" &
	inspect_pids+=("$!")
	inspect_names+=("$1")
	wait_until 5 listening "$!" "${inspect_port[$1]}"
}

# via PATH SPEC NAME: the milter Postfix's smtpd is given for PATH: the
# downstream at SPEC (Postfix's syntax) itself, or inspect NAME.
via() {
	case $1 in
	direct) echo "$2" ;;
	forward) echo "inet:127.0.0.1:${inspect_port[$3]}" ;;
	esac
}

# --- Postfix ---------------------------------------------------------------

# A private Postfix: per path an smtpd in front of OpenDKIM and one in
# front of testmilter.py, and one in front of the verifier.  Mail to
# $dest is delivered by virtual(8) into the maildir $work/mail/box, as
# nobody.  The test milter's smtpd waits at most 3 s for an answer, less
# than its slow end of message takes: only progress keeps it waiting.
write_postfix_config() {
	local path

	postfix_config "$work" "$myhostname" \
	    "virtual_mailbox_domains = $dest" \
	    "virtual_mailbox_base = $work/mail" \
	    "virtual_mailbox_maps = static:box/" \
	    "virtual_uid_maps = static:$(id -u nobody)" \
	    "virtual_gid_maps = static:$(id -g nobody)" <<-EOF
	$(for path in "${paths[@]}"; do
		echo "127.0.0.1:${smtpd[dkim.$path]} inet n - n - - smtpd"
		echo "  -o smtpd_milters=$(via "$path" \
		    "unix:$work/milter/dkim.sock" dkim)"
		echo "127.0.0.1:${smtpd[test.$path]} inet n - n - - smtpd"
		echo "  -o smtpd_milters=$(via "$path" \
		    "inet:127.0.0.1:$testmilter" test)"
		echo "  -o milter_content_timeout=3s"
	done)
	127.0.0.1:${smtpd[verify]} inet n - n - - smtpd
	  -o smtpd_milters=unix:$work/milter/verify.sock
	virtual   unix - n n - - virtual
	pickup    unix n - n 60 1 pickup
	EOF
}

start_postfix() {
	local port

	postfix_start "$work" "$work/master.out"
	for port in "${smtpd[@]}"; do
		wait_until 10 listening "$master_pid" "$port" || return 1
	done
}

setup() {
	local path

	work=$(mktemp -d -t inspect-fwd-e2e.XXXXXX) || return 1
	# Postfix's daemons run as postfix and nobody, and reach the milter
	# sockets and the mailbox by absolute path, through this directory.
	chmod 711 "$work"
	# The milters' unix sockets (umask 007): group postfix, from this
	# set-group-id directory, so that smtpd can connect.
	mkdir "$work/milter" "$work/mail" "$work/got"
	chgrp postfix "$work/milter"
	chmod 2750 "$work/milter"
	chown nobody "$work/mail"
	for path in "${paths[@]}"; do
		if ! { pick_port "smtpd[dkim.$path]" &&
		    pick_port "smtpd[test.$path]"; }; then
			fail "setup: no free TCP ports"
			return 1
		fi
	done
	if ! { pick_port "smtpd[verify]" && pick_port testmilter &&
	    pick_port "inspect_port[dkim]" && pick_port "inspect_port[test]" &&
	    pick_port "inspect_port[sendmail]" && pick_port sm_direct &&
	    pick_port sm_forward; }; then
		fail "setup: no free TCP ports"
		return 1
	fi
	if ! write_dkim_config >"$work/dkim.setup" 2>&1; then
		fail "setup: OpenDKIM's key and configuration"
		sed 's/^/# /' "$work/dkim.setup"
		return 1
	fi
	if ! start_milters; then
		fail "setup: OpenDKIM, the verifier or testmilter.py is not" \
		    "listening"
		tail -n 5 "$work"/*.log | sed 's/^/# /'
		return 1
	fi
	if [[ " ${paths[*]} " == *" forward "* ]] && ! {
	    start_inspect dkim "unix:$work/milter/dkim.sock" &&
	    start_inspect test "inet:$testmilter@127.0.0.1" &&
	    start_inspect sendmail "unix:$work/milter/dkim.sock"; }; then
		fail "setup: inspect --forward is not listening"
		tail -n 5 "$work"/*.err | sed 's/^/# /'
		return 1
	fi
	if ! write_postfix_config; then
		fail "setup: Postfix configuration (post-install failed)"
		sed 's/^/# /' "$work/post-install.log"
		return 1
	fi
	if ! start_postfix; then
		fail "setup: Postfix's smtpd is not listening"
		show_log
		return 1
	fi
}

teardown() {
	# A second Ctrl-C must not cut the cleaning short.
	trap '' INT TERM
	trap - EXIT
	[ -z "$master_pid" ] || postfix_stop "$work"
	[ -z "$sendmail_pid" ] || sendmail_stop
	terminate "${inspect_pids[@]}" "${milter_pids[@]}"
	[ -z "$work" ] || rm -rf "$work"
}

# --- sending and collecting ------------------------------------------------

# queue_idle: nothing in Postfix's queue but held mail.
queue_idle() {
	[ -z "$(find "$work/queue/incoming" "$work/queue/active" \
	    "$work/queue/deferred" "$work/queue/maildrop" -type f 2>/dev/null)" ]
}

# held: how many messages Postfix's hold queue has.
held() {
	find "$work/queue/hold" -type f 2>/dev/null | wc -l
}

# send NAME PORT HELO FROM TO SIZE SUBJECT: one session with send.py, its
# replies in $work/got/NAME.replies; then wait until Postfix has
# delivered what it queued, and move the copies to $work/got/NAME/.
send() {
	local name=$1 rc

	timeout 60 python3 "$here/send.py" "$2" "$3" "$4" "$5" "$6" "$7" \
	    "$work/got/$name.replies" 2>&1 | sed 's/^/# /'
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || fail "[$name] the SMTP session broke (send.py $rc)"
	collect "$name"
}

# collect NAME: wait until Postfix's queue is idle, then move what was
# delivered to $work/got/NAME/.
collect() {
	mkdir -p "$work/got/$1"
	if ! wait_until 30 queue_idle; then
		fail "[$1] Postfix's queue is not empty after 30 s"
		show_log
	fi
	find "$work/mail/box/new" -type f -exec mv -t "$work/got/$1/" {} + \
	    2>/dev/null
}

# copies NAME: how many copies NAME got.
copies() {
	find "$work/got/$1" -type f | wc -l
}

# release_held NAME: Postfix's hold queue released and flushed, and the
# copies delivered then moved to $work/got/NAME/.
release_held() {
	postsuper -c "$work/etc" -H ALL 2>&1 | sed 's/^/# /'
	postqueue -c "$work/etc" -f 2>&1 | sed 's/^/# /'
	collect "$1"
}

# --- OpenDKIM ----------------------------------------------------------------

# The same message through OpenDKIM each way; both copies signed with the
# same stable tags; inspect's report shows OpenDKIM's side.
run_dkim() {
	local path tags=() p="[opendkim]" before=$failed copy

	for path in "${paths[@]}"; do
		send "dkim.$path" "${smtpd[dkim.$path]}" dkim.client.example \
		    alice@example.org "signed@$dest" small dkim-signed
		check "$p $path: one copy delivered" \
		    [ "$(copies "dkim.$path")" -eq 1 ]
		copy=$(find "$work/got/dkim.$path" -type f | head -n 1)
		tags+=("$(python3 "$here/mailbox.py" dkim "$copy")")
		check "$p $path: the copy has one DKIM-Signature, d=example.org s=test" \
		    grep -q ' d=example.org s=test ' <<<"${tags[-1]}"
	done
	if [ "${#tags[@]}" -eq 2 ]; then
		check "$p direct and forward: the same v a c d s h bh" \
		    [ "${tags[0]}" = "${tags[1]}" ]
		[ "${tags[0]}" = "${tags[1]}" ] ||
		    printf '# %s\n' "direct:  ${tags[0]}" "forward: ${tags[1]}"
	fi
	printf '# %s\n' "${tags[@]}" | cut -c1-200
	for path in "${paths[@]}"; do
		verify "$path"
	done
	[[ " ${paths[*]} " == *" forward "* ]] &&
	    run_checker dkim "$work/dkim.json" \
	    "$(find "$work/got/dkim.forward" -type f | head -n 1)"
	[ "$failed" -eq "$before" ] || show_log
}

# verify PATH: the copy that came PATH, passed on as it is to the
# verifier's smtpd, gets dkim=pass; a copy with one byte of its body
# changed gets dkim=fail, which shows that the verifier checks.
verify() {
	local copy p="[opendkim verify]" bad=$work/got/dkim.$1.bad ar

	copy=$(find "$work/got/dkim.$1" -type f | head -n 1)
	[ -n "$copy" ] || { fail "$p $1: no copy to verify"; return; }
	sed 's/^a short body/A short body/' "$copy" >"$bad"
	send "verify.$1" "${smtpd[verify]}" verify.client.example \
	    alice@example.org "verified@$dest" "file:$copy" -
	ar=$(python3 "$here/mailbox.py" header \
	    "$(find "$work/got/verify.$1" -type f | head -n 1)" \
	    Authentication-Results 2>/dev/null)
	check "$p $1: the verifier says dkim=pass" \
	    grep -q '^verifier.test; dkim=pass .*header.d=example.org' <<<"$ar"
	send "verify.$1.bad" "${smtpd[verify]}" verify.client.example \
	    alice@example.org "verified@$dest" "file:$bad" -
	ar=$(python3 "$here/mailbox.py" header \
	    "$(find "$work/got/verify.$1.bad" -type f | head -n 1)" \
	    Authentication-Results 2>/dev/null)
	check "$p $1, one byte changed: the verifier says dkim=fail" \
	    grep -q '^verifier.test; dkim=fail ' <<<"$ar"
}

# --- testmilter.py -----------------------------------------------------------

# case NAME HELO FROM TO SIZE COPIES REPLY [MAIL]: one behaviour of
# testmilter.py each way.  Directly, the client must see a reply that
# matches REPLY (an extended regular expression over send.py's lines),
# COPIES copies must be delivered, and one must have a line that matches
# MAIL; forwarded, the replies and the copies must be the same.
case_() {
	local name=$1 helo=$2 from=$3 to=$4 size=$5 want=$6 reply=$7 mail=${8:-}
	local path p="[testmilter $1]" before=$failed n

	for path in "${paths[@]}"; do
		send "$name.$path" "${smtpd[test.$path]}" "$helo" "$from" "$to" \
		    "$size" "forward test: $name"
		[ "$name" != quarantine ] || release_quarantined "$path"
		n=$(copies "$name.$path")
		check "$p $path: $want copies delivered (got $n)" [ "$n" -eq "$want" ]
		check "$p $path: the client's replies show it" \
		    grep -qE -- "$reply" "$work/got/$name.$path.replies"
		[ -z "$mail" ] || check "$p $path: a copy has /$mail/" \
		    grep -rqE -- "$mail" "$work/got/$name.$path"
	done
	if [[ " ${paths[*]} " == *" forward "* ]]; then
		check "$p the client sees the same replies directly and forwarded" \
		    cmp -s "$work/got/$name.direct.replies" \
		    "$work/got/$name.forward.replies"
		python3 "$here/mailbox.py" normal "$work/got/$name.direct" \
		    >"$work/got/$name.direct.normal"
		python3 "$here/mailbox.py" normal "$work/got/$name.forward" \
		    >"$work/got/$name.forward.normal"
		check "$p the copies are the same directly and forwarded" \
		    cmp -s "$work/got/$name.direct.normal" \
		    "$work/got/$name.forward.normal"
	fi
	if [ "$failed" -ne "$before" ]; then
		for path in "${paths[@]}"; do
			sed "s/^/# $path: /" "$work/got/$name.$path.replies"
		done
		if [[ " ${paths[*]} " == *" forward "* ]]; then
			diff -u "$work/got/$name.direct.normal" \
			    "$work/got/$name.forward.normal" | head -n 40 |
			    cut -c1-200 | sed 's/^/# /'
		fi
	fi
}

# logged_holds N: Postfix logged N holds of the quarantine case.
logged_holds() {
	[ "$(grep -c 'milter triggers HOLD action;.* helo=<quarantine\.' \
	    "$work/log/maillog")" -ge "$1" ]
}

# release_quarantined PATH: the quarantined message is in the hold queue,
# Postfix logged why; released, it is delivered.
release_quarantined() {
	local p="[testmilter quarantine]"

	check "$p $1: Postfix holds the message" [ "$(held)" -eq 1 ]
	check "$p $1: Postfix logs the hold" wait_until 5 logged_holds \
	    "$((holds + 1))"
	holds=$((holds + 1))
	release_held "quarantine.$1"
}

run_testmilter() {
	local t=$dest started

	case_ plain plain.client.example alice@example.org "plain@$t" small 1 \
	    '^message -> 250 ' '^X-Testmilter: case=plain from=<alice@example.org> rcpts=<plain@dest.example> headers=[0-9]+ body=[0-9]+ sha256='
	# Postfix gives a tempfail at HELO as the reply to MAIL.
	case_ helo tempfail.helo.example alice@example.org "helo@$t" small 0 \
	    '^MAIL FROM:<alice@example.org> -> 451 4\.7\.1 '
	case_ sender sender.client.example tempfail@example.org "sender@$t" \
	    small 0 '^MAIL FROM:<tempfail@example.org> -> 4[0-9][0-9] '
	case_ reject reject.client.example alice@example.org "reject@$t" small 0 \
	    '^RCPT TO:<reject@dest.example> -> 550 5\.7\.1 '
	case_ tempfail tempfail.client.example alice@example.org \
	    "tempfail@$t" small 0 \
	    '^RCPT TO:<tempfail@dest.example> -> 451 4\.7\.1 '
	case_ multiline multiline.client.example alice@example.org \
	    "multiline@$t" small 0 \
	    '^RCPT TO:<multiline@dest.example> -> 550-5\.7\.1 line one \| 550 5\.7\.1 line two$'
	case_ eomreject eomreject.client.example alice@example.org \
	    "eomreject@$t" small 0 \
	    '^message -> 554-5\.7\.0 rejected at end of message \| 554 5\.7\.0 by the test milter$'
	case_ discard discard.client.example alice@example.org "discard@$t" \
	    small 0 '^message -> 250 '
	# Accepted at RCPT: no more milter calls for the message, so no
	# X-Testmilter.
	case_ accept accept.client.example alice@example.org "accept@$t" small \
	    1 '^message -> 250 ' '^Subject: forward test: accept$'
	check "[testmilter accept] direct: the copy has no X-Testmilter" \
	    not_in "^X-Testmilter:" "$work/got/accept.direct"
	case_ skip skip.client.example alice@example.org "skip@$t" large 1 \
	    '^message -> 250 ' '^X-Testmilter: case=skip .* body-calls=1$'
	case_ headers headers.client.example alice@example.org "headers@$t" \
	    small 1 '^message -> 250 ' '^Subject: changed by the test milter$'
	for pattern in '^X-Added: added at the end$' \
	    '^X-Inserted: inserted first$' \
	    '^X-Folded-Added: first line,$' '^	second line$'; do
		check "[testmilter headers] direct: a copy has /$pattern/" \
		    grep -rqE -- "$pattern" "$work/got/headers.direct"
	done
	check "[testmilter headers] direct: X-Remove-Me is gone" \
	    not_in "^X-Remove-Me:" "$work/got/headers.direct"
	case_ addrcpt addrcpt.client.example alice@example.org "addrcpt@$t" \
	    small 3 '^message -> 250 ' '^Delivered-To: added-par@dest.example$'
	check "[testmilter addrcpt] direct: a copy to added@" \
	    grep -rq '^Delivered-To: added@dest.example$' \
	    "$work/got/addrcpt.direct"
	case_ delrcpt delrcpt.client.example alice@example.org \
	    "delrcpt@$t,gone@$t" small 1 '^RCPT TO:<gone@dest.example> -> 250 ' \
	    '^Delivered-To: delrcpt@dest.example$'
	case_ chgfrom chgfrom.client.example alice@example.org "chgfrom@$t" \
	    small 1 '^message -> 250 ' '^Return-Path: <changed@example.org>$'
	case_ body body.client.example alice@example.org "body@$t" small 1 \
	    '^message -> 250 ' '^replaced line 01999: the test milter'"'"'s new body$'
	check "[testmilter body] direct: the new body, 2000 lines, whole" \
	    new_body "$work/got/body.direct"
	case_ quarantine quarantine.client.example alice@example.org \
	    "quarantine@$t" small 1 '^message -> 250 ' \
	    '^X-Testmilter: case=quarantine '
	started=$SECONDS
	case_ slow slow.client.example alice@example.org "slow@$t" small 1 \
	    '^message -> 250 ' '^X-Testmilter: case=slow '
	check "[testmilter slow] each way took 6 s or more, past Postfix's 3 s" \
	    [ $((SECONDS - started)) -ge $((6 * ${#paths[@]})) ]
	[[ " ${paths[*]} " == *" forward "* ]] &&
	    run_checker testmilter "$work/test.json"
}

# not_in ERE DIR: no file in DIR has a line that matches ERE.
not_in() {
	! grep -rqE -- "$1" "$2"
}

# new_body DIR: the one copy in DIR has testmilter.py's new body.
new_body() {
	python3 - "$1" <<-'EOF'
	import os, sys
	d = sys.argv[1]
	want = b"".join(b"replaced line %05d: the test milter's new body\n" % i
	                for i in range(2000))
	files = os.listdir(d)
	data = open(os.path.join(d, files[0]), "rb").read() if files else b""
	sys.exit(len(files) != 1 or data.partition(b"\n\n")[2] != want)
	EOF
}

# --- Sendmail ------------------------------------------------------------------

# A private Sendmail, as in tests/e2e/sendmail.sh: two daemons, one whose
# milter is OpenDKIM and one whose milter is inspect forwarding to it;
# mail stays in the queue (queueonly), where the test reads it.
write_sendmail_config() {
	local filter path port

	sendmail_files "$work/sm" || return 1
	{
		sendmail_mc "$work/sm"
		for path in "${paths[@]}"; do
			case $path in
			direct) filter="S=local:$work/milter/dkim.sock" ;;
			forward) filter="S=inet:${inspect_port[sendmail]}@127.0.0.1" ;;
			esac
			port=$(sm_port "$path")
			printf "DAEMON_OPTIONS(\`Port=%s, Addr=127.0.0.1, Name=MTA-%s, InputMailFilters=%s')dnl\n" \
			    "$port" "$path" "dkim$path"
			printf "INPUT_MAIL_FILTER(\`%s', \`%s, F=T, %s')dnl\n" \
			    "dkim$path" "$filter" 'T=C:5s;S:10s;R:10s;E:30s'
		done
		echo "MAILER(\`local')dnl"
		echo "MAILER(\`smtp')dnl"
	} >"$work/sm/etc/forward.mc"
	m4 "$work/sm/etc/forward.mc" >"$work/sm/etc/forward.cf" \
	    2>"$work/sm/m4.err" && ! [ -s "$work/sm/m4.err" ]
}

start_sendmail() {
	local path

	setsid "$sendmail" -C "$work/sm/etc/forward.cf" -bD \
	    >"$work/sm/sendmail.out" 2>&1 &
	sendmail_pid=$!
	for path in "${paths[@]}"; do
		wait_until 10 listening "$sendmail_pid" "$(sm_port "$path")" ||
		    return 1
	done
}

# sm_port PATH: the port of Sendmail's daemon for PATH.
sm_port() {
	case $1 in
	direct) echo "$sm_direct" ;;
	forward) echo "$sm_forward" ;;
	esac
}

# OpenDKIM behind Sendmail signs with the tags it signs with behind
# Postfix (directly): the same message, the same canonical form.
run_sendmail() {
	local path p="[sendmail opendkim]" qf tags want port before=$failed

	want=$(python3 "$here/mailbox.py" dkim \
	    "$(find "$work/got/dkim.direct" -type f | head -n 1)")
	if ! write_sendmail_config; then
		fail "$p Sendmail's configuration (m4)"
		sed 's/^/# /' "$work/sm/m4.err"
		return
	fi
	if ! start_sendmail; then
		fail "$p Sendmail's daemon is not listening"
		tail -n 10 "$work/sm/sendmail.out" | sed 's/^/# /'
		return
	fi
	for path in "${paths[@]}"; do
		port=$(sm_port "$path")
		timeout 60 python3 "$here/send.py" "$port" dkim.client.example \
		    alice@example.org "signed@$dest" small dkim-signed \
		    "$work/got/sendmail.$path.replies" 2>&1 | sed 's/^/# /'
		check "$p $path: Sendmail queued the message" grep -qE \
		    '^message -> 250 ' "$work/got/sendmail.$path.replies"
		# The one queued now: the one before was moved away.
		qf=$(find "$work/sm/queue" -name 'qf*' | head -n 1)
		tags=$(python3 "$here/mailbox.py" dkim "${qf:-/dev/null}")
		check "$p $path: signed with Postfix's (direct) v a c d s h bh" \
		    [ -n "$tags" ] && [ "$tags" = "$want" ]
		[ "$tags" = "$want" ] || printf '# %s\n' "postfix: $want" \
		    "sendmail $path: $tags"
		[ -z "$qf" ] || mv "$qf" "$work/got/sendmail.$path.qf"
	done
	[[ " ${paths[*]} " == *" forward "* ]] &&
	    run_checker dkim "$work/sendmail.json" "$work/got/sendmail.forward.qf"
	[ "$failed" -eq "$before" ] || tail -n 20 "$work/sm/sendmail.out" |
	    sed 's/^/# sendmail: /'
}

# --- reports and diagnostics ---------------------------------------------------

# run_checker KIND REPORT [ARG...]: check_forward.py on inspect's REPORT.
run_checker() {
	local out rc

	out=$(python3 "$here/check_forward.py" "$@" 2>&1)
	rc=$?
	relay "$out"
	[ "$rc" -eq 0 ] || fail "[$1 report] check_forward.py exited $rc"
}

show_log() {
	echo "# --- Postfix log (last 30 lines):"
	tail -n 30 "$work/log/maillog" 2>/dev/null | cut -c1-240 | sed 's/^/# /'
	echo "# --- the milters' and inspect's output (last 5 lines each):"
	tail -n 5 "$work"/*.log "$work"/*.err 2>/dev/null | sed 's/^/# /'
}

main() {
	if [ "${1:-}" = --direct-only ] && [ $# -eq 1 ]; then
		paths=(direct)
	elif [ "${1:-}" = --save-sample ] && [ $# -eq 2 ]; then
		sample=$2
	elif [ $# -ne 0 ]; then
		echo "usage: $0 [--direct-only | --save-sample FILE]" >&2
		exit 2
	fi
	require
	# Outside the namespaces, where the network is.
	[ -n "${INSPECT_FORWARD_NETNS:-}" ] || require_sendmail forward
	own_namespaces forward INSPECT_FORWARD_NETNS "$myhostname" "$@"
	teardown_traps

	if ! setup; then
		summary
		exit 1
	fi
	run_dkim
	if [ -n "$sample" ] && ! cp "$work/dkim.json" "$sample"; then
		fail "cannot save the sample to $sample"
	fi
	run_testmilter
	run_sendmail
	# The milter behind never failed inspect: it logged nothing.
	check_inspects_stop
	[ "${#paths[@]}" -eq 2 ] ||
	    fail "the forwarded path was not run (--direct-only)"
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
