#!/bin/bash
# Forwarding to a real milter: Debian's rspamd, its proxy worker in milter
# mode, behind a private Postfix on loopback, once directly and once
# through inspect --forward.  Both ways the SMTP client must see the same:
# a GTUBE message rejected with rspamd's own code and text, a clean one
# queued with the same rspamd headers in the same places (ids and scores
# aside); and
# inspect's report must show rspamd's answer and its header changes at
# end of message.
#
# usage: tests/forward/rspamd.sh
#
# Needs root (Postfix's master, and rspamd dropping to _rspamd).
# Everything lives in one mktemp -d directory, rspamd's configuration,
# database, log and socket too; nothing under /etc is changed (rspamd
# reads Debian's /etc/rspamd, overridden from that directory); it all
# runs in a network namespace of its own, on its loopback: no Redis, and
# the DNS queries rspamd makes (for the maps it would fetch) fail at once,
# so nothing reaches the network or waits for it.

set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
inspect=$(cd "$here/../.." && pwd)/inspect

myhostname=mx.example.net
from=alice@example.org
to=bob@example.com
# What rspamd answers a GTUBE message: its reject code, and the message
# of the GTUBE symbol.
gtube_reply="554 5.7.1 Gtube pattern"
# The headers rspamd adds (milter_headers' routines, below), sorted.
rspamd_added="Authentication-Results X-Rspamd-Server X-Spam-Status"
rspamd_added="$rspamd_added X-Spamd-Result"

passed=0
failed=0
work=			# the mktemp -d directory
smtpd_direct=		# the smtpd whose milter is rspamd
smtpd_forward=		# the smtpd whose milter is inspect --forward rspamd
rspamd_port=		# rspamd's proxy worker, in milter mode
inspect_port=		# inspect, forwarding to rspamd_port
dns_port=		# where rspamd sends DNS queries: nobody listens
master_pid=
rspamd_pid=
inspect_pid=
ports_taken=

# The two ways a message goes: the smtpd port of each is set in setup.
paths="direct forward"

require() {
	local missing=

	need_root forward/rspamd "Postfix's master runs as root" \
	    "sudo make forward-check"
	id _rspamd >/dev/null 2>&1 || missing=" user _rspamd"
	need_tools forward/rspamd "$missing" postconf postcat rspamd python3 \
	    ss ip unshare setsid
}

# write_rspamd_config DIR: a private rspamd in DIR.  rspamd.conf there is
# the top level: Debian's common configuration (every module, with its
# defaults) and one proxy worker in milter mode that scans by itself,
# without normal or controller workers.  DIR stands in for
# $LOCAL_CONFDIR (local.d, override.d), $DBDIR, $RUNDIR and $LOGDIR (see
# start_rspamd).
write_rspamd_config() {
	local dir=$1 module

	mkdir -p "$dir/local.d" "$dir/override.d" "$dir/db" "$dir/run" \
	    "$dir/log"
	cat >"$dir/rspamd.conf" <<-EOF
	.include "\$CONFDIR/common.conf"

	options {
	    pidfile = "\$RUNDIR/rspamd.pid";
	    .include "\$CONFDIR/options.inc"
	    .include(priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
	}

	logging {
	    type = "file";
	    filename = "\$LOGDIR/rspamd.log";
	    level = "info";
	}

	worker "rspamd_proxy" {
	    bind_socket = "127.0.0.1:$rspamd_port";
	    milter = yes;
	    timeout = 120s;
	    count = 1;
	    upstream "local" {
	        default = yes;
	        self_scan = yes;
	    }
	}
	EOF
	# Offline: every DNS query goes to a loopback port where nobody
	# listens, and fails at once (or after 0.1 s).  The public suffix list is cut to
	# the few this test's addresses use: compiling Debian's whole list
	# takes rspamd some 15 s at each start.
	printf '%s\n' com org net test example >"$dir/tld.dat"
	cat >"$dir/local.d/options.inc" <<-EOF
	dns {
	    nameserver = ["127.0.0.1:$dns_port"];
	    timeout = 0.1s;
	    retransmits = 0;
	}
	url_tld = "$dir/tld.dat";
	EOF
	# Modules that look things up over the network (DNS lists, SPF,
	# DKIM, DMARC, fuzzy hashes) are off: offline they only add
	# failures that depend on timing; so is signing, which has no keys.
	for module in rbl surbl emails fuzzy_check asn spf dkim dmarc arc \
	    hfilter phishing dkim_signing; do
		echo "enabled = false;" >"$dir/override.d/$module.conf"
	done
	# The headers rspamd adds to every message, local clients' too.
	cat >"$dir/local.d/milter_headers.conf" <<-EOF
	use = ["x-spamd-result", "x-rspamd-server", "x-spam-status",
	    "authentication-results"];
	skip_local = false;
	skip_authenticated = false;
	EOF
	chown -R _rspamd:_rspamd "$dir"
}

# start_rspamd DIR: rspamd in the foreground, in a process group of its
# own, its workers as _rspamd; waits until it listens.
start_rspamd() {
	setsid rspamd -f -u _rspamd -g _rspamd -c "$1/rspamd.conf" \
	    --var "LOCAL_CONFDIR=$1" --var "DBDIR=$1/db" \
	    --var "RUNDIR=$1/run" --var "LOGDIR=$1/log" \
	    >"$1/rspamd.out" 2>&1 &
	rspamd_pid=$!
	wait_until 30 listening "$rspamd_pid" "$rspamd_port"
}

# stop_rspamd: its main process stops its workers on SIGTERM (waiting up
# to 16 s for them); kill the group if any linger.
stop_rspamd() {
	kill -TERM "$rspamd_pid" 2>/dev/null
	reap_group "$rspamd_pid" 20
	wait "$rspamd_pid" 2>/dev/null
	rspamd_pid=
}

start_inspect() {
	"$inspect" -s "inet:$inspect_port@127.0.0.1" \
	    --forward "inet:$rspamd_port@127.0.0.1" --format json \
	    --output "$work/inspect.json" >"$work/inspect.out" \
	    2>"$work/inspect.err" &
	inspect_pid=$!
	wait_until 5 listening "$inspect_pid" "$inspect_port"
}

# A private Postfix: one smtpd whose milter is rspamd, one whose milter
# is inspect forwarding to it.  Each message is put on hold once queued,
# so that postcat can show it with the headers rspamd added.
write_postfix_config() {
	postfix_config "$work" "$myhostname" \
	    "smtpd_data_restrictions = check_client_access static:HOLD" \
	    <<-EOF
	127.0.0.1:$smtpd_direct inet n - n - - smtpd
	  -o smtpd_milters=inet:127.0.0.1:$rspamd_port
	127.0.0.1:$smtpd_forward inet n - n - - smtpd
	  -o smtpd_milters=inet:127.0.0.1:$inspect_port
	EOF
}

setup() {
	work=$(mktemp -d -t inspect-forward-rspamd.XXXXXX) || return 1
	# Postfix's daemons run as postfix and rspamd's workers as _rspamd;
	# both reach their files by absolute path, through this directory.
	chmod 711 "$work"
	if ! { pick_port smtpd_direct && pick_port smtpd_forward &&
	    pick_port rspamd_port && pick_port inspect_port &&
	    pick_port dns_port; }; then
		fail "setup: no free TCP ports"
		return 1
	fi
	write_rspamd_config "$work/rspamd"
	if ! start_rspamd "$work/rspamd"; then
		fail "setup: rspamd is not listening on 127.0.0.1:$rspamd_port"
		sed 's/^/# /' "$work/rspamd/rspamd.out"
		grep -v '; lua; ' "$work/rspamd/log/rspamd.log" | tail -20 |
		    sed 's/^/# /'
		return 1
	fi
	if ! start_inspect; then
		fail "setup: inspect is not listening on $inspect_port" \
		    "$(cat "$work/inspect.err")"
		return 1
	fi
	if ! write_postfix_config; then
		fail "setup: Postfix configuration (post-install failed)"
		sed 's/^/# /' "$work/post-install.log"
		return 1
	fi
	postfix_start "$work" "$work/master.out"
	if ! { wait_until 5 listening "$master_pid" "$smtpd_direct" &&
	    wait_until 5 listening "$master_pid" "$smtpd_forward"; }; then
		fail "setup: Postfix's smtpd is not listening"
		sed 's/^/# /' "$work/master.out" "$work/log/maillog"
		return 1
	fi
}

teardown() {
	# A second Ctrl-C must not cut the cleaning short; it takes < 30 s.
	trap '' INT TERM
	trap - EXIT
	[ -z "$master_pid" ] || postfix_stop "$work"
	[ -z "$inspect_pid" ] || terminate "$inspect_pid"
	[ -z "$rspamd_pid" ] || stop_rspamd
	[ -z "$work" ] || rm -rf "$work"
}

port_of() {
	case $1 in
	direct) echo "$smtpd_direct" ;;
	forward) echo "$smtpd_forward" ;;
	esac
}

# write_message FILE KIND: the message of KIND, clean or gtube.
write_message() {
	{
		printf '%s\n' \
		    "Date: $(date -R)" \
		    "From: Alice <$from>" \
		    "To: Bob <$to>" \
		    "Message-Id: <forward-rspamd-$2@example.org>" \
		    "Subject: inspect forward test: $2" \
		    'MIME-Version: 1.0' \
		    'Content-Type: text/plain; charset=us-ascii' \
		    '' \
		    'Hello Bob,' \
		    '' \
		    'here are the minutes of yesterday'"'"'s meeting, as promised.' \
		    'We agreed to move the review to Thursday afternoon.'
		[ "$2" != gtube ] ||
		    echo 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'
		printf '%s\n' '' 'Regards,' 'Alice'
	} >"$1"
}

# send PORT HELO MESSAGE OUT: one SMTP session; OUT gets the reply to
# the end of the message as a line "CODE TEXT", its lines joined by
# " / ".
send() {
	timeout 60 python3 - "$@" <<-'EOF'
	import smtplib, sys
	port, helo, message, out = sys.argv[1:]
	s = smtplib.SMTP("127.0.0.1", int(port), timeout=50)
	s.ehlo(helo)
	s.mail("<alice@example.org>")
	s.rcpt("<bob@example.com>")
	code, text = s.data(open(message, "rb").read())
	s.quit()
	with open(out, "w") as f:
	    f.write("%d %s\n" % (code, text.decode().replace("\n", " / ")))
	EOF
}

# headers_of QID: the headers of the held message QID as Postfix queued
# it, each unfolded onto one line.
headers_of() {
	timeout 10 postcat -c "$work/etc" -h -q "$1" 2>/dev/null |
	    awk '/^[ \t]/ { line = line $0; next }
	         { if (line != "") print line; line = $0 }
	         END { if (line != "") print line }'
}

# rspamd_headers FILE: the headers rspamd adds (milter_headers) in FILE,
# sorted; scores as "N", and X-Spamd-Result's symbols sorted, as rspamd
# lists them in no fixed order.
rspamd_headers() {
	python3 - "$1" <<-'EOF'
	import re, sys
	names = ("authentication-results", "x-spamd-result", "x-rspamd-",
	         "x-spam-")
	for line in sorted(open(sys.argv[1])):
	    name, _, value = line.rstrip("\n").partition(":")
	    if not name.lower().startswith(names):
	        continue
	    value = re.sub(r"-?[0-9]+\.[0-9]+", "N", value.strip())
	    if name.lower() == "x-spamd-result":
	        head, *symbols = [s.strip() for s in value.split(";")]
	        value = "; ".join([head] + sorted(symbols))
	    print("%s: %s" % (name, value))
	EOF
}

# same FILE1 FILE2: the two files are equal, or the difference shown.
same() {
	cmp -s "$1" "$2" && return 0
	diff "$1" "$2" | sed 's/^/# /'
	return 1
}

# Both ways, each message in a session of its own, told apart in
# inspect's report by its HELO name.
send_all() {
	local p kind

	for p in $paths; do
		for kind in gtube clean; do
			send "$(port_of "$p")" "$kind.$p.example.org" \
			    "$work/$kind.txt" "$work/$p.$kind.reply" ||
			    fail "[$p $kind] the SMTP session went through" \
				"(see above)"
		done
	done
}

check_gtube() {
	local p reply what

	for p in $paths; do
		reply=$(cat "$work/$p.gtube.reply" 2>/dev/null)
		what="rejected with rspamd's reply $gtube_reply"
		check "[$p gtube] $what (got: ${reply:-none})" \
		    [ "$reply" = "$gtube_reply" ]
	done
	check "[gtube] the same reply through inspect as directly" \
	    same "$work/direct.gtube.reply" "$work/forward.gtube.reply"
}

check_clean() {
	local p qid names what

	for p in $paths; do
		qid=$(sed -n 's/^250 .*queued as \([0-9A-Za-z]*\)$/\1/p' \
		    "$work/$p.clean.reply" 2>/dev/null)
		check "[$p clean] queued (got: $(cat "$work/$p.clean.reply"))" \
		    [ -n "$qid" ]
		headers_of "$qid" >"$work/$p.clean.headers"
		rspamd_headers "$work/$p.clean.headers" >"$work/$p.clean.rspamd"
		sed 's/^/# /' "$work/$p.clean.rspamd"
		names=$(cut -d: -f1 "$work/$p.clean.rspamd" | paste -sd ' ')
		what="with rspamd's headers $rspamd_added"
		check "[$p clean] $what (got: ${names:-none})" \
		    [ "$names" = "$rspamd_added" ]
	done
	what="the same rspamd headers through inspect as directly"
	check "[clean] $what (ids and scores aside)" \
	    same "$work/direct.clean.rspamd" "$work/forward.clean.rspamd"
	# An inserted header (Authentication-Results) must land where it
	# does directly, not at the end.
	for p in $paths; do
		cut -d: -f1 "$work/$p.clean.headers" >"$work/$p.clean.order"
	done
	check "[clean] every header in the same place through inspect" \
	    same "$work/direct.clean.order" "$work/forward.clean.order"
}

# inspect's report shows what rspamd answered at eom.
check_report() {
	local out rc

	out=$(python3 "$here/rspamd_report.py" "$work/inspect.json" \
	    gtube.forward.example.org clean.forward.example.org \
	    "$work/forward.clean.headers" 2>&1)
	rc=$?
	relay "$out"
	[ "$rc" -eq 0 ] || fail "[report] rspamd_report.py ended with status $rc"
}

# closed N: inspect's report shows N sessions closed.
closed() {
	local n

	n=$(grep -cE '"stage": ?"close"' "$work/inspect.json" 2>/dev/null)
	[ "${n:-0}" -ge "$1" ]
}

run_checks() {
	write_message "$work/clean.txt" clean
	write_message "$work/gtube.txt" gtube
	send_all
	check_gtube
	check_clean
	check "[report] inspect reported both sessions closed" \
	    wait_until 10 closed 2
	check_report
}

main() {
	if [ $# -ne 0 ]; then
		echo "usage: $0" >&2
		exit 2
	fi
	require
	own_namespaces forward/rspamd INSPECT_FORWARD_RSPAMD_NETNS "" "$@"
	teardown_traps

	if ! setup; then
		summary
		exit 1
	fi
	run_checks
	summary
	[ "$failed" -eq 0 ]
}

main "$@"
