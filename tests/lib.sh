# lib.sh -- shell helpers shared by the test and benchmark scripts.
# shellcheck shell=bash
# Sourced; the caller sets passed=0 and failed=0 if it counts results.

# ok NAME: one passed check.
ok() {
	echo "ok $1"
	passed=$((passed + 1))
}

# fail NAME [DETAIL...]: one failed check, each detail on a line below.
fail() {
	echo "FAIL $1"
	shift
	[ $# -gt 0 ] && printf '  %s\n' "$@"
	failed=$((failed + 1))
}

# check NAME COMMAND...: one result line for COMMAND's status.
check() {
	local name=$1

	shift
	if "$@"; then
		ok "$name"
	else
		fail "$name"
	fi
}

# relay OUTPUT: each "ok ..." or "FAIL ..." line of a checker's OUTPUT
# counted as a result, any other line shown as a comment.
relay() {
	local line

	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"FAIL "*) fail "${line#FAIL }" ;;
		*) echo "# $line" ;;
		esac
	done <<<"$1"
}

# tally RESULT NAME: a case run in the background, whose output RESULT
# begins "ok" if it passed, counted and shown; NAME names it if RESULT is
# empty.
tally() {
	local first=

	read -r first _ <"$1"
	if [ "$first" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	[ -s "$1" ] || echo "FAIL $2 (no result)"
	cat "$1"
}

summary() {
	echo "$passed passed, $failed failed"
}

# need_root WHO WHY [COMMAND]: exit 2 unless run as root, saying that WHO
# is not run, WHY it needs root, and the COMMAND that runs it as root.
need_root() {
	[ "$(id -u)" -eq 0 ] && return
	echo "$1: NOT RUN: needs root ($2)${3:+; run '$3'}" >&2
	exit 2
}

# need_tools WHO MISSING TOOL...: exit 2 unless every TOOL is on PATH,
# $inspect is built and MISSING (what the caller found missing itself,
# each after a space) is empty; saying what is missing.
need_tools() {
	local who=$1 missing=$2 tool

	shift 2
	for tool; do
		command -v "$tool" >/dev/null || missing="$missing $tool"
	done
	[ -x "$inspect" ] || missing="$missing $inspect (run make)"
	[ -z "$missing" ] && return
	echo "$who: missing:$missing (see tests/install-deps.sh)" >&2
	exit 2
}

# own_namespaces WHO VAR HOST ARG...: the calling script again, with ARGs,
# in a network namespace of its own (and with HOST not empty, a host name
# namespace, named HOST), VAR set in its environment; once there (VAR
# set), its loopback up and its host name HOST.  Exits 1 if that fails.
own_namespaces() {
	local who=$1 var=$2 host=$3

	shift 3
	if [ -z "${!var:-}" ]; then
		export "$var=1"
		exec unshare --net ${host:+--uts} -- "$0" "$@"
	fi
	if ! ip link set lo up ||
	    { [ -n "$host" ] && ! hostname "$host"; }; then
		echo "$who: cannot set up the loopback${host:+ and host name}" \
		    "of new namespaces" >&2
		exit 1
	fi
}

# teardown_traps: the caller's teardown at exit, which a SIGINT or SIGTERM
# leads to, saying so.
teardown_traps() {
	trap teardown EXIT
	trap 'echo "# interrupted"; exit 130' INT
	trap 'echo "# terminated"; exit 143' TERM
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.05 s, at most
# SECONDS long.
wait_until() {
	local tries=$(($1 * 20))

	shift
	until "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.05
	done
}

# gone PID...: every PID has exited (a zombie not yet reaped counts); an
# empty PID (a runner's list with one taken out) counts as gone.  Read
# from /proc, with no process started: wait_until polls it every 50 ms,
# in runners that run many cases at once.
gone() {
	local pid stat

	for pid; do
		# Not a number: /proc//stat would be /proc/stat.
		case $pid in "" | *[!0-9]*) continue ;; esac
		read -r stat 2>/dev/null <"/proc/$pid/stat" || continue
		# The state follows the command name, which may hold anything.
		stat=${stat##*) }
		[ "${stat%% *}" = Z ] || return 1
	done
}

# pick_port VAR: a random TCP port no one listens on and this run has not
# taken yet, so that runs in parallel do not collide; below Linux's
# ephemeral range (32768), so that clients' ports cannot take it meanwhile.
pick_port() {
	local candidate tries=100

	while [ "$tries" -gt 0 ]; do
		tries=$((tries - 1))
		candidate=$((20000 + RANDOM % 12000))
		case " ${ports_taken:-} " in *" $candidate "*) continue ;; esac
		[ -z "$(ss -Hltn "sport = :$candidate")" ] || continue
		ports_taken="${ports_taken:-} $candidate"
		printf -v "$1" %s "$candidate"
		return 0
	done
	return 1
}

# free_port: pick_port, printed (from a subshell, so not remembered).
free_port() {
	local port

	pick_port port && echo "$port"
}

# listening PID [PORT|PATH]: PID listens on that TCP port, or on a unix
# socket when PATH is one (ss may show it under the name it was bound
# by), or without a second argument on any socket at all.
listening() {
	case ${2:-} in
	"") ss -Hlp ;;
	/*) [ -S "$2" ] && ss -Hlxp ;;
	*) ss -Hltnp "sport = :$2" ;;
	esac 2>/dev/null | grep -q "pid=$1,"
}

# negotiated_no_reply REPORT [N]: inspect's JSON REPORT has negotiations
# (the last N, or all), and each asked for no reply at connect, so at
# every stage but eom.
negotiated_no_reply() {
	python3 - "$1" "${2:-0}" <<-'EOF'
	import json, sys
	n = int(sys.argv[2])
	# What inspect asked for: "asked" where the MTA was told otherwise
	# (an MTA that knows no no-reply steps), else "answered".
	answers = [e.get("asked", e["answered"])["step_flags"]
	           for e in map(json.loads, open(sys.argv[1]))
	           if e["stage"] == "negotiate"][-n:]
	sys.exit(not answers or len(answers) < n or
	         any("SMFIP_NR_CONN" not in a for a in answers))
	EOF
}

# terminate PID...: SIGTERM to each, then wait at most 8 s for each
# (libmilter takes up to 5 s to notice), then SIGKILL; reap them.
terminate() {
	local pid

	for pid; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid; do
		wait_until 8 gone "$pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}

# group_left PGID: the live processes of process group PGID.
group_left() {
	ps -e -o pid=,pgid=,stat= |
	    awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'
}

group_gone() {
	[ -z "$(group_left "$1")" ]
}

# reap_group PGID SECONDS: wait at most SECONDS for every process of group
# PGID to exit, then SIGKILL those left.
reap_group() {
	wait_until "$2" group_gone "$1" || group_left "$1" | xargs -r kill -KILL
}

# stop_child PID SECONDS: SIGTERM to PID, a child of this shell, and at
# most SECONDS for it to exit; then SIGKILL.  Sets stopped_status to its
# exit status; returns 1 if it had to be killed.
stop_child() {
	kill -TERM "$1" 2>/dev/null
	if wait_until "$2" gone "$1"; then
		wait "$1"
		stopped_status=$?
		return 0
	fi
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	stopped_status=$?
	return 1
}

# no_warnings FILE: FILE has no warning, error or sanitizer's report.
no_warnings() {
	! grep -qiE 'warning|error|sanitizer' "$1"
}

# check_inspects_stop: each inspect of inspect_pids (named in
# inspect_names, its standard error in $work/NAME.err) exits 0 at SIGTERM
# within 8 s, and has logged no warning, no error, and in a sanitizer
# build no sanitizer report.
check_inspects_stop() {
	local i name status

	for i in "${!inspect_pids[@]}"; do
		name=${inspect_names[i]}
		if stop_child "${inspect_pids[i]}" 8; then
			status=$stopped_status
		else
			status="none after 8 s"
		fi
		check "[inspect $name] exits 0 at SIGTERM (status $status)" \
		    [ "$status" = 0 ]
		check "[inspect $name] logged no warning, error, sanitizer report" \
		    no_warnings "$work/$name.err"
		no_warnings "$work/$name.err" || tail -n 5 "$work/$name.err" |
		    sed 's/^/# /'
	done
	inspect_pids=()
}

# require_sendmail WHO: the unpacked Sendmail in $cache ($sendmail its
# binary), fetched now by tests/install-deps.sh if it is not there.  Never
# a skip: without Sendmail WHO fails.
require_sendmail() {
	local deps

	deps=$(dirname "${BASH_SOURCE[0]}")/install-deps.sh
	if [ ! -f "$cache/ready" ]; then
		echo "# no Sendmail in $cache: fetching it (tests/install-deps.sh)"
		"$deps" 2>&1 | sed 's/^/# /'
	fi
	if [ ! -f "$cache/ready" ] || [ ! -x "$sendmail" ]; then
		echo "$1: FAILED: no Sendmail in $cache, and Debian's" \
		    "sendmail-bin, sendmail-base and sendmail-cf could not be" \
		    "fetched there (tests/install-deps.sh)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
}

# sendmail_files DIR: the directories and files a private Sendmail that
# sendmail_mc DIR configures needs: DIR/etc, DIR/queue, no aliases, no
# local host names, names looked up in files only.
sendmail_files() {
	mkdir -p "$1/etc" "$1/queue" || return 1
	: >"$1/etc/aliases"
	: >"$1/etc/local-host-names"
	printf 'hosts\tfiles\naliases\tfiles\npasswd\tfiles\n' \
	    >"$1/etc/service.switch"
}

# sendmail_mc DIR: the start of the m4 configuration of a private Sendmail
# (the unpacked one in $cache) whose files are in DIR: every mail kept in
# the queue (queueonly), no ident, no canonical names, no MSA.  The caller
# adds FEATUREs, daemons, filters and mailers, and runs m4.
sendmail_mc() {
	local m4dir=$cache/root/usr/share/sendmail/cf

	cat <<-EOF
	divert(-1)
	define(\`MAIL_SETTINGS_DIR', \`$1/etc/')
	divert(0)dnl
	include(\`$m4dir/m4/cf.m4')dnl
	OSTYPE(\`linux')dnl
	define(\`QUEUE_DIR', \`$1/queue')dnl
	define(\`STATUS_FILE', \`$1/etc/statistics')dnl
	define(\`HELP_FILE', \`$cache/root/etc/mail/helpfile')dnl
	define(\`confPID_FILE', \`$1/sendmail.pid')dnl
	define(\`confCT_FILE', \`-o $1/etc/trusted-users')dnl
	define(\`confSERVICE_SWITCH_FILE', \`$1/etc/service.switch')dnl
	define(\`confDELIVERY_MODE', \`queueonly')dnl
	define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
	define(\`confTO_IDENT', \`0s')dnl
	FEATURE(\`nocanonify')dnl
	FEATURE(\`accept_unresolvable_domains')dnl
	FEATURE(\`no_default_msa')dnl
	EOF
}

# postfix_config DIR HOSTNAME [MAIN.CF LINE...]: set up a private Postfix
# in DIR, with its own configuration, queue, data and log directories,
# loopback only, and every mail thrown away once queued.  Standard input
# gives master.cf's smtpd lines; the arguments after HOSTNAME are more
# main.cf lines.  Nothing outside DIR changes.  Returns post-install's
# status; what it said is in DIR/post-install.log.
postfix_config() {
	local dir=$1 host=$2 meta line

	shift 2
	meta=$(postconf -dh meta_directory)
	mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/log"
	# post-install and master read these from meta_directory.
	cp "$meta/postfix-files" "$meta/dynamicmaps.cf" "$dir/etc/"
	{
		cat <<-END
		compatibility_level = 3.6
		myhostname = $host
		mydomain = example.net
		mydestination =
		mynetworks = 127.0.0.0/8
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		config_directory = $dir/etc
		meta_directory = $dir/etc
		queue_directory = $dir/queue
		data_directory = $dir/data
		maillog_file = $dir/log/maillog
		maillog_file_prefixes = $dir/log
		alias_maps =
		alias_database =
		# Deliver nothing: every mail, once queued, is thrown away.
		default_transport = discard:
		local_transport = discard:
		relay_transport = discard:
		# A broken milter must make the mail fail, not pass unseen.
		milter_default_action = tempfail
		END
		for line; do
			printf '%s\n' "$line"
		done
	} >"$dir/etc/main.cf"
	{
		cat
		cat <<-END
		cleanup   unix n - n - 0 cleanup
		qmgr      unix n - n 300 1 qmgr
		rewrite   unix - - n - - trivial-rewrite
		bounce    unix - - n - 0 bounce
		defer     unix - - n - 0 bounce
		trace     unix - - n - 0 bounce
		verify    unix - - n - 1 verify
		flush     unix n - n 1000? 0 flush
		proxymap  unix - - n - - proxymap
		error     unix - - n - - error
		retry     unix - - n - - error
		discard   unix - - n - - discard
		anvil     unix - - n - 1 anvil
		scache    unix - - n - 1 scache
		postlog   unix-dgram n - n - 1 postlogd
		END
	} >"$dir/etc/master.cf"
	# create-missing makes the queue's subdirectories, nothing else.
	timeout 60 "$(postconf -dh daemon_directory)/post-install" \
	    config_directory="$dir/etc" meta_directory="$dir/etc" \
	    queue_directory="$dir/queue" data_directory="$dir/data" \
	    daemon_directory="$(postconf -dh daemon_directory)" \
	    command_directory="$(postconf -dh command_directory)" \
	    create-missing >"$dir/post-install.log" 2>&1 &&
	    chown postfix "$dir/data"	# master takes its lock as postfix
}

# postfix_start DIR LOG: run the master of the Postfix that postfix_config
# set up in DIR, its output to LOG, in a process group of its own: master
# stops its children by signalling its group, which must not be the
# caller's.  Sets master_pid; the caller waits for the ports it needs.
postfix_start() {
	MAIL_CONFIG=$1/etc setsid "$(postconf -dh daemon_directory)/master" \
	    -c "$1/etc" -d >"$2" 2>&1 &
	master_pid=$!
}

# postfix_stop DIR: master stops on SIGTERM and passes it on to its
# process group; wait for all of them, and kill any that linger.  A master
# that DIR's pid file names (one that took over) is stopped too.
postfix_stop() {
	local pid

	pid=$(tr -dc 0-9 <"$1/queue/pid/master.pid" 2>/dev/null)
	[ -z "$pid" ] || [ "$pid" = "$master_pid" ] ||
	    kill -TERM "$pid" 2>/dev/null
	terminate "$master_pid"
	reap_group "$master_pid" 5
	master_pid=
}

# sendmail_stop: Sendmail's daemon, sendmail_pid, started by setsid in a
# process group of its own, stops on SIGTERM and stops its children; wait
# for all of them, and kill any that linger.
sendmail_stop() {
	terminate "$sendmail_pid"
	reap_group "$sendmail_pid" 5
	sendmail_pid=
}

# begins_run REPORT PID: REPORT's first line, and its only one of session
# 0, is the start line of PID's run, "[0] start TIME run ID inspect
# VERSION" (PID as the caller's namespace sees it: the daemon's, once
# detached).
begins_run() {
	local time='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z'

	head -n 1 "$1" | grep -qE "^\[0\] start $time run \
[0-9]{8}T[0-9]{6}Z-p$2 inspect [^ ]+\$" &&
	    [ "$(grep -c '^\[0\] ' "$1")" = 1 ]
}
