#!/bin/bash
# bench/run.sh -- what inspect costs: mail through a private Postfix on
# loopback, and sessions sent straight to the milter by bench/driver, with
# no milter, the null milter, inspect (text) and inspect --format json,
# and inspect --forward in front of a null milter of its own; the time
# inspect adds to each stage when it forwards; then the milters' resident
# memory with 200 idle sessions and while a 10 MB message passes.  See
# bench/README.
#
# usage: bench/run.sh          (or make bench; needs root)
#   BENCH_QUICK=1        a short run, for working on the benchmark itself
#   BENCH_ROUNDS=N       rounds of every configuration (default 5)
#   BENCH_INSPECT=PATH   the inspect binary to measure (default ./inspect)
#   TMPDIR=DIR           where Postfix's queue and the reports go
#
# Everything lives in one mktemp -d directory; nothing under /etc is
# changed; only 127.0.0.1.  The summary goes to standard output and to
# bench/last-run.txt.

set -u
# smtp-source and postconf live in /usr/sbin, not always in a user's PATH.
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/lib.sh"
top=$(cd "$here/.." && pwd)
inspect=${BENCH_INSPECT:-$top/inspect}
null_milter=$here/null-milter
driver=$here/driver
last_run=$here/last-run.txt

myhostname=mx.example.net
body_bytes=2048
parallel=16		# SMTP sessions, or milter sessions, at a time
big_bytes=$((10 * 1024 * 1024))
idle_sessions=200

# Message counts: a full run took 9 minutes on 2 cores (a busy machine).
if [ -n "${BENCH_QUICK:-}" ]; then
	rounds=${BENCH_ROUNDS:-1}
	pf_par_msgs=300
	pf_seq_msgs=100
	direct_sessions=1000
	direct_seq_sessions=300
else
	rounds=${BENCH_ROUNDS:-5}
	pf_par_msgs=2000
	pf_seq_msgs=1000
	direct_sessions=10000
	direct_seq_sessions=2000
fi

started=		# date +%s at the start
load_before=		# the load average then
clk_tck=		# clock ticks per second, for /proc/PID/stat
work=			# the mktemp -d directory
master_pid=
ports_taken=
child=			# the measuring process running now, if any
milter_pids=()
declare -A smtpd_port	# config-transport -> smtpd port
declare -A milter_spec	# config-transport -> libmilter spec
declare -A postfix_spec	# config-transport -> Postfix's name for it
declare -A milter_pid	# config-transport -> pid
declare -A report	# config-transport -> report file
declare -A down_key	# fwd-transport -> the key of the milter behind it

say() {
	printf '%s\n' "$*"
}

die() {
	say "bench: $*" >&2
	exit 1
}

# run_bounded SECONDS COMMAND...: run COMMAND in the background, so that
# a signal to this script is handled at once, and kill it after SECONDS.
run_bounded() {
	local rc

	timeout -k 5 "$1" "${@:2}" &
	child=$!
	wait "$child"
	rc=$?
	child=
	return "$rc"
}

# stop_milters PID...: stop these milters and forget them, so that the
# teardown does not signal their numbers again.
stop_milters() {
	local pid gone_pid left=()

	terminate "$@"
	for pid in "${milter_pids[@]}"; do
		for gone_pid; do
			[ "$pid" != "$gone_pid" ] || continue 2
		done
		left+=("$pid")
	done
	milter_pids=("${left[@]}")
}

teardown() {
	# A second Ctrl-C must not cut the cleaning short; it takes < 15 s.
	trap '' INT TERM
	trap - EXIT
	[ -z "$child" ] || kill -TERM "$child" 2>/dev/null
	[ -z "$master_pid" ] || postfix_stop "$work"
	[ "${#milter_pids[@]}" -eq 0 ] || stop_milters "${milter_pids[@]}"
	[ -z "$work" ] || rm -rf "$work"
}

require() {
	local tool missing=

	[ "$(id -u)" -eq 0 ] ||
	    die "needs root (Postfix's master runs as root): sudo make bench"
	for tool in postconf smtp-source ss setsid timeout awk; do
		command -v "$tool" >/dev/null || missing="$missing $tool"
	done
	for tool in "$inspect" "$null_milter" "$driver"; do
		[ -x "$tool" ] || missing="$missing $tool"
	done
	[ -z "$missing" ] ||
	    die "missing:$missing (make; tests/install-deps.sh)"
}

# start_milter KEY KIND SPEC [BEHIND]: run the null milter or inspect
# (KIND null, text or json; fwd: JSON, forwarding to the milter at
# BEHIND) on SPEC in the background, as milter_pid[KEY].
start_milter() {
	local key=$1 kind=$2 spec=$3 out=$work/report/$1

	# umask 0007 and the set-group-id directory: a unix socket is
	# srwxrwx--- of group postfix, which smtpd can use at once.
	case $kind in
	null)
		(umask 0007 && exec "$null_milter" -s "$spec" \
		    2>"$work/log/$key.err") &
		;;
	text | json)
		report[$key]=$out
		(umask 0007 && exec "$inspect" -s "$spec" --format "$kind" \
		    --output "$out" >/dev/null 2>"$work/log/$key.err") &
		;;
	fwd)
		report[$key]=$out
		(umask 0007 && exec "$inspect" -s "$spec" --format json \
		    --output "$out" --forward "$4" \
		    >/dev/null 2>"$work/log/$key.err") &
		;;
	esac
	milter_pid[$key]=$!
	milter_pids+=("$!")
}

# add_milter CONFIG TRANSPORT: a milter and the smtpd that uses it; for
# CONFIG fwd, first the null milter behind it, on the same transport.
add_milter() {
	local key=$1-$2 port behind=

	pick_port port || return 1
	smtpd_port[$key]=$port
	case $2 in
	unix)
		milter_spec[$key]=unix:$work/milter/$1.sock
		postfix_spec[$key]=unix:$work/milter/$1.sock
		;;
	inet)
		pick_port port || return 1
		milter_spec[$key]=inet:$port@127.0.0.1
		postfix_spec[$key]=inet:127.0.0.1:$port
		;;
	esac
	if [ "$1" = fwd ]; then
		down_key[$key]=down-$2
		case $2 in
		unix) milter_spec[down-$2]=unix:$work/milter/down.sock ;;
		inet)
			pick_port port || return 1
			milter_spec[down-$2]=inet:$port@127.0.0.1
			;;
		esac
		start_milter "down-$2" null "${milter_spec[down-$2]}"
		wait_until 10 milter_listening "down-$2" || return 1
		behind=${milter_spec[down-$2]}
	fi
	start_milter "$key" "$1" "${milter_spec[$key]}" "$behind"
}

milter_listening() {
	local spec=${milter_spec[$1]}

	case $spec in
	unix:*) listening "${milter_pid[$1]}" "${spec#unix:}" ;;
	inet:*)
		spec=${spec#inet:}
		listening "${milter_pid[$1]}" "${spec%@*}"
		;;
	esac
}

# A private Postfix: its own config, queue, data and log directories;
# one smtpd per configuration; every mail thrown away once queued.
write_postfix_config() {
	local key

	{
		say "127.0.0.1:${smtpd_port[none]} inet n - n - - smtpd"
		say "  -o smtpd_milters="
		for key in null-unix null-inet text-unix text-inet \
		    json-unix json-inet fwd-unix fwd-inet; do
			say "127.0.0.1:${smtpd_port[$key]} inet n - n - - smtpd"
			say "  -o smtpd_milters=${postfix_spec[$key]}"
		done
	} | postfix_config "$work" "$myhostname" \
	    "# A broken milter must show soon, as failed mail, not fast mail." \
	    "milter_connect_timeout = 5s" \
	    "milter_command_timeout = 10s" \
	    "milter_content_timeout = 30s" \
	    "# Measure smtpd and the milter, not the pause Postfix makes when" \
	    "# mail comes in faster than it leaves." \
	    "in_flow_delay = 0s"
}

all_smtpd_listening() {
	local key

	for key in "${!smtpd_port[@]}"; do
		listening "$master_pid" "${smtpd_port[$key]}" || return 1
	done
}

start_postfix() {
	postfix_start "$work" "$work/log/master.out"
	wait_until 10 all_smtpd_listening
}

all_milters_listening() {
	local key

	for key in "${!milter_pid[@]}"; do
		milter_listening "$key" || return 1
	done
}

setup() {
	local config transport

	work=$(mktemp -d -t inspect-bench.XXXXXX) || die "mktemp failed"
	# Postfix's daemons run as postfix and reach the milter sockets and
	# data_directory through this directory.
	chmod 711 "$work"
	mkdir "$work/milter" "$work/report" "$work/log"
	chgrp postfix "$work/milter"
	chmod 2750 "$work/milter"
	pick_port "smtpd_port[none]" || die "no free TCP port"
	for config in null text json fwd; do
		for transport in unix inet; do
			add_milter "$config" "$transport" ||
			    die "no free TCP port, or no null milter behind"
		done
	done
	if ! wait_until 10 all_milters_listening; then
		tail -n 5 "$work"/log/*.err >&2
		die "a milter is not listening"
	fi
	write_postfix_config ||
	    die "post-install failed: $(cat "$work/post-install.log")"
	if ! start_postfix; then
		cat "$work/log/master.out" >&2
		tail -n 20 "$work/log/maillog" >&2 2>/dev/null
		die "Postfix's smtpd is not listening"
	fi
}

# log_size: the maillog's size now, to count what a run adds.
log_size() {
	stat -c %s "$work/log/maillog" 2>/dev/null || echo 0
}

# delivered OFFSET: messages discarded (delivered) since OFFSET.
delivered() {
	tail -c +"$(($1 + 1))" "$work/log/maillog" | grep -c ' status=sent '
}

# drained OFFSET N: N messages delivered since OFFSET.
drained() {
	[ "$(delivered "$1")" -ge "$2" ]
}

# quiet: the log has stopped growing; what failed, failed.
quiet() {
	local before

	before=$(log_size)
	sleep 2
	[ "$(log_size)" -eq "$before" ]
}

# reset_reports: empty the reports, so the disk does not fill up.
# inspect writes with O_APPEND, so it goes on at the new end.
reset_reports() {
	local key

	for key in "${!report[@]}"; do
		: >"${report[$key]}"
	done
}

# report_bytes KEY: the size of KEY's report, or 0.
report_bytes() {
	[ -n "${report[$1]:-}" ] || { echo 0; return; }
	stat -c %s "${report[$1]}" 2>/dev/null || echo 0
}

# report_still KEY: KEY's report has not grown for 0.5 s; inspect may
# write the last events a moment after the MTA has gone.
report_still() {
	local before

	before=$(report_bytes "$1")
	sleep 0.5
	[ "$(report_bytes "$1")" -eq "$before" ]
}

# report_lost KEY N [BODIES]: how many events of N sessions KEY's report
# lacks, counting the stages every session has once (text "[N] stage
# TIME" lines, or JSON "stage" members), and the body events if BODIES
# are expected; - for no report.
report_lost() {
	[ -n "${report[$1]:-}" ] || { echo -; return; }
	wait_until 10 report_still "$1"
	awk -v n="$2" -v bodies="${3:-0}" '
	/^\[[0-9]+\] [a-z]+ / { seen[$2]++; next }
	match($0, /"stage":"[a-z]+"/) {
		seen[substr($0, RSTART + 9, RLENGTH - 10)]++
	}
	END {
		split("negotiate connect helo envfrom envrcpt data eoh eom " \
		    "close", once, " ")
		for (i in once)
			if (seen[once[i]] < n)
				lost += n - seen[once[i]]
		if (seen["body"] < bodies)
			lost += bodies - seen["body"]
		print lost + 0
	}' "${report[$1]}"
}

# cpu_ticks KEY: user + system CPU time the milter KEY has used so far,
# in clock ticks, its worker processes' (inspect's) with its own, and
# the null milter's behind it (fwd); nothing for no milter.
cpu_ticks() {
	local pid=${milter_pid[$1]:-} down=${down_key[$1]:-} p files=()

	[ -n "$pid" ] || return 0
	[ -z "$down" ] || pid="$pid ${milter_pid[$down]}"
	for p in $pid; do
		files+=("/proc/$p/stat")
		# shellcheck disable=SC2207
		files+=($(sed 's|[0-9][0-9]*|/proc/&/stat|g' \
		    "/proc/$p/task/$p/children" 2>/dev/null))
	done
	cat "${files[@]}" 2>/dev/null |
	    awk '{ t += $14 + $15 } END { print t + 0 }'
}

# serving_pid KEY: the process that serves for the milter KEY: inspect's
# worker (libmilter runs in it; its supervisor only waits), or the null
# milter itself.
serving_pid() {
	local pid=${milter_pid[$1]} kids

	kids=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null)
	echo "${kids%% *}" | grep -q . && echo "${kids%% *}" || echo "$pid"
}

# cpu_per_msg BEFORE AFTER N: microseconds of CPU per message, or -.
cpu_per_msg() {
	awk -v a="$1" -v b="$2" -v n="$3" -v hz="$clk_tck" 'BEGIN {
		if (a == "" || b == "" || n == 0) print "-"
		else printf "%.0f\n", (b - a) * 1e6 / hz / n
	}'
}

# record SCENARIO CONFIG ROUND RATE FAILED BYTES_PER_MSG CPU_PER_MSG LOST
record() {
	local IFS=$'\t'

	say "$*" >>"$work/results.tsv"
	printf '  %-16s %-4s round %s: %7s msg/s, %s failed, %5s report' \
	    "$1" "$2" "$3" "$4" "$5" "$6"
	printf ' bytes/msg, %4s us milter CPU/msg, %s events lost\n' "$7" "$8"
}

# run_postfix SCENARIO TRANSPORT SESSIONS MESSAGES CONFIG ROUND: send
# MESSAGES with smtp-source, SESSIONS at a time, one message per SMTP
# session, to the smtpd of CONFIG; the rate is messages accepted per
# second of smtp-source's run, counted only once all were delivered.
run_postfix() {
	local scen=$1 transport=$2 sessions=$3 msgs=$4 config=$5 round=$6
	local key=$5-$2 off t0 t1 cpu0 cpu1 rc sent rate bytes lost

	[ "$config" = none ] && key=none
	reset_reports
	off=$(log_size)
	cpu0=$(cpu_ticks "$key")
	t0=$EPOCHREALTIME
	run_bounded $((60 + msgs / 5)) smtp-source -s "$sessions" -m "$msgs" \
	    -l "$body_bytes" -M client.example.org -f alice@example.org \
	    -t bob@example.com "127.0.0.1:${smtpd_port[$key]}" \
	    >"$work/log/smtp-source.out" 2>&1
	rc=$?
	t1=$EPOCHREALTIME
	cpu1=$(cpu_ticks "$key")
	# Delivery (discard) follows acceptance; let it finish before the
	# next run, and count it.  After a failure not all will come.
	if [ "$rc" -eq 0 ]; then
		wait_until 60 drained "$off" "$msgs" || wait_until 30 quiet
	else
		wait_until 30 quiet
	fi
	sent=$(delivered "$off")
	rate=$(awk -v n="$sent" -v a="$t0" -v b="$t1" \
	    'BEGIN { printf "%.1f", n / (b - a) }')
	if [ "$rc" -ne 0 ] || [ "$sent" -ne "$msgs" ]; then
		say "  smtp-source exited $rc, $sent of $msgs delivered:"
		sed 's/^/    /' "$work/log/smtp-source.out" | tail -n 3
		tail -c +"$((off + 1))" "$work/log/maillog" |
		    grep -E 'warning|reject|error' | tail -n 3 | sed 's/^/    /'
	fi
	lost=$(report_lost "$key" "$msgs")
	bytes=$(($(report_bytes "$key") / msgs))
	record "$scen" "$config" "$round" "$rate" $((msgs - sent)) "$bytes" \
	    "$(cpu_per_msg "$cpu0" "$cpu1" "$msgs")" "$lost"
}

# run_direct SCENARIO TRANSPORT CONFIG ROUND [AT_A_TIME SESSIONS]:
# bench/driver's sessions straight to CONFIG's milter, $parallel (or
# AT_A_TIME) at a time; for fwd, the time inspect added to each stage
# goes to added.tsv.
run_direct() {
	local scen=$1 key=$3-$2 config=$3 round=$4 out rate errors bytes
	local cpu0 cpu1 lost at_once=${5:-$parallel} n=${6:-$direct_sessions}
	local times=$work/log/times

	reset_reports
	out=$work/log/driver.out
	cpu0=$(cpu_ticks "$key")
	run_bounded $((60 + n / 10)) "$driver" -n "$n" -p "$at_once" \
	    -b "$body_bytes" -T "$times" \
	    "${milter_spec[$key]}" >"$out" 2>"$work/log/driver.err"
	cpu1=$(cpu_ticks "$key")
	rate=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' "$out")
	errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' "$out")
	if [ -z "$rate" ] || [ "${errors:-1}" -ne 0 ]; then
		say "  driver failed:"
		sed 's/^/    /' "$work/log/driver.err" | tail -n 6
	fi
	lost=$(report_lost "$key" "$n")
	bytes=$(($(report_bytes "$key") / n))
	record "$scen" "$config" "$round" "${rate:-0}" "${errors:-$n}" \
	    "$bytes" "$(cpu_per_msg "$cpu0" "$cpu1" "$n")" "$lost"
	# The driver's time per stage, the MTA's view, for every config.
	awk -v s="$scen" -v c="$config" '{ print s "\t" c "\t" $2 "\t" $3 }' \
	    "$times" >>"$work/rtt.tsv"
	[ "$config" != fwd ] ||
	    added_times "${report[$key]}" "$times" "$scen" >>"$work/added.tsv"
}

# added_times REPORT TIMES SCENARIO: for each event inspect forwarded,
# "SCENARIO<TAB>STAGE<TAB>ADDED<TAB>BEHIND" in microseconds: the
# driver's time from writing the command to its answer (TIMES, from
# driver -T) less the time the milter behind took to answer inspect
# ("forward":{"seconds":...} in REPORT).  The report's session is the
# driver's by the Message-Id, <bench.N@...>; the k-th header of a
# session is the k-th on both sides.
added_times() {
	awk -v scen="$3" '
	FNR == NR {
		if (!match($0, /^\{"session":[0-9]+/))
			next
		sess = substr($0, 12, RLENGTH - 11)
		if (!match($0, /"stage":"[a-z]+"/))
			next
		st = substr($0, RSTART + 9, RLENGTH - 10)
		if (st == "header" &&
		    match($0, /"value":" ?<bench\.[0-9]+@/)) {
			id = substr($0, RSTART, RLENGTH)
			sub(/^[^.]*\./, "", id)
			sub(/@$/, "", id)
			session_of[id] = sess
		}
		if (!match($0, /"forward":\{"sent":true,"seconds":[0-9.]+/))
			next
		k = ++seen[sess, st]
		secs = substr($0, RSTART, RLENGTH)
		sub(/.*:/, "", secs)
		behind[sess, st, k] = secs * 1e6
		next
	}
	{
		k = ++n[$1, $2]
		if (!($1 in session_of))
			next
		sess = session_of[$1]
		if ((sess, $2, k) in behind)
			printf "%s\t%s\t%.0f\t%.0f\n", scen, $2,
			    $3 - behind[sess, $2, k], behind[sess, $2, k]
	}' "$1" "$2"
}

# rotate N WORD...: the words, starting with the (N mod count)-th, so
# that no configuration always runs first (after the previous round's
# last) or always last.
rotate() {
	local n=$1 words=("${@:2}")
	local i k=${#words[@]}

	for ((i = 0; i < k; i++)); do
		printf '%s ' "${words[(i + n) % k]}"
	done
}

# One quick message through every smtpd and every milter, so that a
# broken set-up stops the run at once, not after 10 minutes.
smoke_test() {
	local key off ok=1

	for key in "${!smtpd_port[@]}"; do
		off=$(log_size)
		run_bounded 30 smtp-source -m 2 -M client.example.org \
		    -f alice@example.org -t bob@example.com \
		    "127.0.0.1:${smtpd_port[$key]}" >"$work/log/smoke.out" 2>&1
		if ! wait_until 20 drained "$off" 2; then
			say "bench: no mail through the smtpd of $key:" >&2
			cat "$work/log/smoke.out" >&2
			ok=
		fi
	done
	# ... and note what each milter negotiates, for the summary.
	for key in null-unix null-inet text-unix text-inet json-unix \
	    json-inet fwd-unix fwd-inet; do
		if run_bounded 30 "$driver" -v -n 2 -p 1 \
		    "${milter_spec[$key]}" >/dev/null 2>"$work/log/smoke.err"
		then
			printf '%-9s %s\n' "$key:" "$(sed -n \
			    's/^driver: negotiated //p' "$work/log/smoke.err")" \
			    >>"$work/negotiated"
		else
			say "bench: the driver fails against $key:" >&2
			cat "$work/log/smoke.err" >&2
			ok=
		fi
	done
	if [ -z "$ok" ]; then
		tail -n 20 "$work/log/maillog" >&2
		exit 1
	fi
}

throughput() {
	local round config

	for ((round = 1; round <= rounds; round++)); do
		say "round $round of $rounds"
		for config in $(rotate "$round" none null text json fwd); do
			run_postfix "postfix unix 16x" unix "$parallel" \
			    "$pf_par_msgs" "$config" "$round"
		done
		for config in $(rotate "$round" none null text json fwd); do
			run_postfix "postfix unix 1x" unix 1 "$pf_seq_msgs" \
			    "$config" "$round"
		done
		for config in $(rotate "$round" none null text json fwd); do
			run_postfix "postfix inet 16x" inet "$parallel" \
			    "$pf_par_msgs" "$config" "$round"
		done
		for config in $(rotate "$round" none null text json fwd); do
			run_postfix "postfix inet 1x" inet 1 "$pf_seq_msgs" \
			    "$config" "$round"
		done
		for config in $(rotate "$round" null text json fwd); do
			run_direct "direct unix" unix "$config" "$round"
		done
		for config in $(rotate "$round" null text json fwd); do
			run_direct "direct inet" inet "$config" "$round"
		done
		# One session at a time: the time per stage without queueing.
		for config in $(rotate "$round" null fwd); do
			run_direct "direct unix 1x" unix "$config" "$round" 1 \
			    "$direct_seq_sessions"
		done
		for config in $(rotate "$round" null fwd); do
			run_direct "direct inet 1x" inet "$config" "$round" 1 \
			    "$direct_seq_sessions"
		done
	done
}

# status_kb PID FIELD: FIELD (VmRSS, VmHWM, Threads) of PID, in kB.
status_kb() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# memory_of KIND: a fresh milter of KIND (null, text, json) with 200
# idle sessions; then another, fresh one, while one 10 MB message passes
# in 65535-byte body chunks.
memory_of() {
	local kind=$1 key=mem-$1 pid idle rss hwm threads before after peak
	local out=$work/log/hold.out hold_pid lost

	add_memory_milter "$key" "$kind" || return 1
	# One small session first: libmilter's threads and the allocator
	# are then as they are in service.
	"$driver" -n 1 -p 1 "${milter_spec[$key]}" >/dev/null
	pid=$(serving_pid "$key")
	idle=$(status_kb "$pid" VmRSS)
	"$driver" -n "$idle_sessions" -w 120 "${milter_spec[$key]}" \
	    >"$out" 2>"$work/log/hold.err" &
	hold_pid=$!
	child=$hold_pid
	wait_until 60 ready_or_gone "$out" "$hold_pid"
	if grep -q '^ready' "$out"; then
		sleep 1		# the last HELO's callback may still run
		rss=$(status_kb "$pid" VmRSS)
		hwm=$(status_kb "$pid" VmHWM)
		threads=$(status_kb "$pid" Threads)
	fi
	kill -USR1 "$hold_pid" 2>/dev/null
	wait_until 10 gone "$hold_pid" || kill -KILL "$hold_pid"
	wait "$hold_pid" 2>/dev/null
	child=
	grep -q "^ready sessions=$idle_sessions errors=0" "$out" ||
	    say "  $kind: $(cat "$out" "$work/log/hold.err" | head -n 3)"

	add_memory_milter "$key-big" "$kind" || return 1
	"$driver" -n 1 -p 1 "${milter_spec[$key-big]}" >/dev/null
	pid=$(serving_pid "$key-big")
	# Reset VmHWM to VmRSS (Linux 4.0+), so it shows this message's peak.
	echo 5 2>/dev/null >"/proc/$pid/clear_refs"
	before=$(status_kb "$pid" VmRSS)
	run_bounded 120 "$driver" -n 1 -p 1 -b "$big_bytes" \
	    "${milter_spec[$key-big]}" >/dev/null 2>"$work/log/big.err" ||
	    say "  $kind, 10 MB: $(head -n 2 "$work/log/big.err")"
	peak=$(status_kb "$pid" VmHWM)
	after=$(status_kb "$pid" VmRSS)
	# Two sessions: the small one (one body chunk), the big one.
	lost=$(report_lost "$key-big" 2 \
	    $((1 + (big_bytes + 65534) / 65535)))
	say "$kind ${idle:--} ${rss:--} ${hwm:--} ${threads:--}" \
	    "${before:--} ${peak:--} ${after:--} $lost" >>"$work/memory"
	say "  $kind: idle $idle kB; $idle_sessions sessions: RSS $rss kB," \
	    "HWM $hwm kB, $threads threads; 10 MB message: RSS $before ->" \
	    "HWM $peak, RSS $after kB, $lost report events lost"
	stop_milters "${milter_pid[$key]}" "${milter_pid[$key-big]}"
}

# ready_or_gone FILE PID: the holding driver says it is ready, or died.
ready_or_gone() {
	grep -q '^ready' "$1" || gone "$2"
}

# add_memory_milter KEY KIND: a fresh milter on a unix socket.
add_memory_milter() {
	milter_spec[$1]=unix:$work/milter/$1.sock
	start_milter "$1" "$2" "${milter_spec[$1]}"
	wait_until 10 milter_listening "$1" && return 0
	say "  $2: the milter is not listening:" \
	    "$(tail -n 2 "$work/log/$1.err")"
	return 1
}

memory() {
	local kind

	say "memory"
	for kind in null text json; do
		memory_of "$kind"
	done
}

# median: the median of the numbers on standard input, or -.
median() {
	sort -g | awk '{ v[NR] = $1 }
	    END {
		if (NR == 0) print "-"
		else if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2
	    }'
}

# ratio A B: A / B to two places, or - if either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"
		else printf "%.2f\n", a / b
	}'
}

# column SCENARIO CONFIG N: field N of the runs of CONFIG in SCENARIO.
column() {
	awk -F'\t' -v s="$1" -v c="$2" -v f="$3" \
	    '$1 == s && $2 == c && $f != "-" { print $f }' "$work/results.tsv"
}

# total SCENARIO N: the sum of field N over SCENARIO's runs.
total() {
	awk -F'\t' -v s="$1" -v f="$2" '$1 == s && $f != "-" { n += $f }
	    END { print n + 0 }' "$work/results.tsv"
}

# difference A B: A - B, or - if either is missing.
difference() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-") print "-"
		else printf "%+.0f\n", a - b
	}'
}

# bytes_per_msg WHERE CONFIG: the median report size per message of
# CONFIG in the scenarios that start with WHERE (postfix or direct).
bytes_per_msg() {
	awk -F'\t' -v w="$1" -v c="$2" \
	    'index($1, w) == 1 && $2 == c && $6 > 0 { print $6 }' \
	    "$work/results.tsv" | median
}

# percentile P: the P-th percentile of the numbers on standard input
# (the value with P% of them below it, as the driver takes it), or -.
percentile() {
	sort -g | awk -v p="$1" '{ v[NR] = $1 }
	    END { if (NR == 0) print "-"; else print v[int(NR * p / 100) + 1] }'
}

# added STAGE SCENARIO FIELD P: the P-th percentile of FIELD (3: the time
# inspect added, 4: the milter behind's) at STAGE in SCENARIO.
added() {
	awk -F'\t' -v st="$1" -v s="$2" -v f="$3" '$1 == s && $2 == st \
	    { print $f }' "$work/added.tsv" | percentile "$4"
}

# rtt STAGE SCENARIO CONFIG: the median time the driver waited for an
# answer at STAGE in SCENARIO, CONFIG null or fwd.
rtt() {
	awk -F'\t' -v st="$1" -v s="$2" -v c="$3" \
	    '$1 == s && $2 == c && $3 == st { print $4 }' "$work/rtt.tsv" |
	    percentile 50
}

# The forwarding part of the summary: inspect --forward in front of a
# null milter against the null milter alone, and what inspect adds.
forwarding() {
	local scen null fwd st
	local scenarios=("postfix unix 16x" "postfix unix 1x" "postfix inet 16x"
	    "postfix inet 1x" "direct unix" "direct inet" "direct unix 1x"
	    "direct inet 1x")
	local timed=("direct unix 1x" "direct unix" "direct inet 1x"
	    "direct inet")

	say "forwarding: msg/s, median     null  forward | fwd/null |" \
	    "CPU us/msg: null forward  fwd-null | failed  lost"
	for scen in "${scenarios[@]}"; do
		null=$(column "$scen" null 4 | median)
		fwd=$(column "$scen" fwd 4 | median)
		printf '%-28s %8s %8s | %8s | %16s %7s %9s | %6s %5s\n' \
		    "$scen" "$null" "$fwd" "$(ratio "$fwd" "$null")" \
		    "$(column "$scen" null 7 | median)" \
		    "$(column "$scen" fwd 7 | median)" \
		    "$(difference "$(column "$scen" fwd 7 | median)" \
		    "$(column "$scen" null 7 | median)")" \
		    "$(awk -F'\t' -v s="$scen" '$1 == s && $2 == "fwd" \
		    { n += $5 } END { print n + 0 }' "$work/results.tsv")" \
		    "$(awk -F'\t' -v s="$scen" '$1 == s && $2 == "fwd" \
		    { n += $8 } END { print n + 0 }' "$work/results.tsv")"
	done
	say "(CPU forward: inspect and the null milter behind it together)"
	say ""
	say "time inspect --forward adds per stage, us: the driver's wait" \
	    "for the answer less the milter behind's (its report's" \
	    "\"forward\" seconds); median / 99th percentile, all rounds"
	printf '%-10s' stage
	printf ' %19s' "${timed[@]}"
	printf '\n'
	for st in negotiate connect helo envfrom envrcpt data header eoh \
	    body eom; do
		printf '%-10s' "$st"
		for scen in "${timed[@]}"; do
			printf ' %19s' "$(added "$st" "$scen" 3 50) / $(added \
			    "$st" "$scen" 3 99)"
		done
		printf '\n'
	done
	say ""
	say "one at a time, median us: the driver's wait with the null" \
	    "milter alone, through inspect --forward, and the null milter's" \
	    "answer to inspect"
	printf '%-10s' stage
	printf ' %27s' "direct unix 1x" "direct inet 1x"
	printf '\n'
	for st in negotiate connect helo envfrom envrcpt data header eoh \
	    body eom; do
		printf '%-10s' "$st"
		for scen in "direct unix 1x" "direct inet 1x"; do
			printf ' %27s' "$(rtt "$st" "$scen" null) $(rtt "$st" \
			    "$scen" fwd) $(added "$st" "$scen" 4 50)"
		done
		printf '\n'
	done
}

summary() {
	local scen none null text json took
	local scenarios=("postfix unix 16x" "postfix unix 1x" "postfix inet 16x"
	    "postfix inet 1x" "direct unix" "direct inet")

	took=$(($(date +%s) - started))
	say "inspect benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'): Postfix" \
	    "$(postconf -dh mail_version), $(nproc) CPUs, $rounds round(s)," \
	    "${took}s"
	say "load average before: $load_before; after: $(cut -d' ' -f1-3 \
	    /proc/loadavg)"
	say "per run: Postfix 16x $pf_par_msgs messages, 1x $pf_seq_msgs;" \
	    "direct $direct_sessions sessions, $parallel at a time;" \
	    "body $body_bytes bytes"
	say "negotiated (null = null milter, text = inspect, json = inspect" \
	    "--format json, fwd = inspect --forward to a null milter):"
	sed 's/^/  /' "$work/negotiated"
	say ""
	say "msg/s, median of the rounds    none     null  inspect" \
	    "    json | insp/null insp/none json/null json/none | failed" \
	    "  lost"
	for scen in "${scenarios[@]}"; do
		none=$(column "$scen" none 4 | median)
		null=$(column "$scen" null 4 | median)
		text=$(column "$scen" text 4 | median)
		json=$(column "$scen" json 4 | median)
		printf '%-28s %8s %8s %8s %8s | %9s %9s %9s %9s | %6s %5s\n' \
		    "$scen" "$none" "$null" "$text" "$json" \
		    "$(ratio "$text" "$null")" "$(ratio "$text" "$none")" \
		    "$(ratio "$json" "$null")" "$(ratio "$json" "$none")" \
		    "$(total "$scen" 5)" "$(total "$scen" 8)"
	done
	say ""
	say "milter CPU, us/message, median   null  inspect     json |" \
	    "insp-null json-null"
	for scen in "${scenarios[@]}"; do
		null=$(column "$scen" null 7 | median)
		text=$(column "$scen" text 7 | median)
		json=$(column "$scen" json 7 | median)
		printf '%-31s %6s %8s %8s | %9s %9s\n' "$scen" "$null" \
		    "$text" "$json" "$(difference "$text" "$null")" \
		    "$(difference "$json" "$null")"
	done
	say ""
	awk -F'\t' '
	{ name = $2 == "text" ? "inspect" : $2 == "json" ? "inspect json" : $2 }
	$2 == "fwd" { name = "inspect --forward" }
	$5 > 0 { printf "FAILED: %s, %s, round %s: %s messages\n", \
	    $1, name, $3, $5 }
	$8 > 0 { printf "LOST: %s, %s, round %s: %s report events\n", \
	    $1, name, $3, $8 }' "$work/results.tsv"
	say "report bytes per message (median): through Postfix text" \
	    "$(bytes_per_msg postfix text), json" \
	    "$(bytes_per_msg postfix json); direct text" \
	    "$(bytes_per_msg direct text), json $(bytes_per_msg direct json)"
	say ""
	forwarding
	say ""
	say "memory, kB         idle | $idle_sessions idle sessions:" \
	    "  RSS     HWM threads | 10 MB message: RSS before" \
	    "HWM after RSS after  growth  lost"
	# memory_of wrote "KIND IDLE RSS HWM THREADS BEFORE PEAK AFTER LOST".
	awk '{
		name = $1 == "null" ? "null milter" : \
		    $1 == "text" ? "inspect" : "inspect json"
		growth = ($7 ~ /^[0-9]+$/ && $6 ~ /^[0-9]+$/) ? $7 - $6 : "-"
		printf "%-14s %8s | %26s %7s %7s | %25s %9s %9s %7s %5s\n", \
		    name, $2, $3, $4, $5, $6, $7, $8, growth, $9
	}' "$work/memory"
	say ""
	say "growth = HWM after - RSS before: the peak the message added;" \
	    "lost: report events missing."
}

main() {
	[ $# -eq 0 ] || { say "usage: $0 (see bench/README)" >&2; exit 64; }
	require
	trap teardown EXIT
	# Standard error: a trap may run while standard output is the pipe
	# of a command substitution.
	trap 'say "bench: interrupted" >&2; exit 130' INT
	trap 'say "bench: terminated" >&2; exit 143' TERM

	started=$(date +%s)
	clk_tck=$(getconf CLK_TCK)
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)
	say "bench: setting up a private Postfix and the milters"
	setup
	smoke_test
	throughput
	memory
	summary | tee "$last_run.new"
	mv "$last_run.new" "$last_run"
}

main "$@"
