#!/usr/bin/env bash
# systemd.sh -- the installed package's unit, started by a real systemd.
#
# usage: tests/package/systemd.sh
#
# tests/package/run.sh runs it while the package is installed.
#
# This machine's PID 1 need not be systemd: a private one boots as PID 1
# of new PID, mount, UTS, IPC and cgroup namespaces, rooted in a cgroup of
# its own, with its own /run, /tmp, /var and /dev (the recipe:
# reference/systemd-in-a-namespace.md), from a directory of units of this
# run's: empty stub targets, and inspect.service, a link to the installed
# /lib/systemd/system/inspect.service.  The network is the host's.  The
# namespace's /var is a directory of this run's, so the report the unit
# writes to /var/log/inspect is read from here.  What the test changes:
# a drop-in sends inspect's standard output to a file (there is no
# journal), and a private /etc/default/inspect, bound over the package's
# inside the namespace, puts the socket on 127.0.0.1 and a free port, for
# a private Postfix on loopback (as tests/e2e/service.sh sets it up).
# Checked:
#
#   - systemctl start starts the installed unit, which listens;
#   - a mail through Postfix is in the report, with its envelope;
#   - every process in the unit's cgroup, in each of its threads, runs as
#     the user inspect, with NoNewPrivs 1, Seccomp 2 and CapEff 0;
#   - systemctl reload, and logrotate -f with the package's
#     /etc/logrotate.d/inspect (its postrotate), each reopen the report:
#     after the move, the next mail is in the new file;
#   - systemctl stop takes less than STOP_MAX seconds (the figure is
#     printed, and how long the boot took), inspect exits 0, and no
#     process, no listening port, no /run/inspect is left;
#   - then with the package's own /etc/default/inspect: the unix socket
#     /run/inspect/inspect.sock, inspect's and mode 0660, serves a
#     miltertest session, the hardening holds, and a stop as quick leaves
#     no socket file.
#
# Needs root, systemd, Postfix, swaks, logrotate and miltertest
# (tests/install-deps.sh), and the package installed.  Everything lives in
# one mktemp -d directory; nothing in /etc changes; only 127.0.0.1.
# Whatever happens, at exit Postfix is stopped, the namespace powered off
# (its PID 1 killed if it lingers, and whatever is left in its cgroups),
# and its cgroups removed.
set -u
export LC_ALL=C

# Every wait is bounded; these are the bounds, in seconds.
BOOT_WAIT=20		# for the private systemd to run
READY_WAIT=10		# for inspect to listen, Postfix's smtpd too
SYSTEMCTL_WAIT=30	# for one systemctl (stop included) or logrotate
MAIL_WAIT=30		# for one mail through Postfix
REPORT_WAIT=10		# for a session to be in the report
TEARDOWN_WAIT=5		# for the namespace to die, Postfix to stop
STOP_MAX=1		# what systemctl stop may take

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 2
top=$(cd "$here/../.." && pwd) || exit 2
# shellcheck source=tests/lib.sh
. "$top/tests/lib.sh"

unit=/lib/systemd/system/inspect.service
inside=/run/inspect-test	# $work, as the namespace sees it
report=			# the report as the unit writes it, seen from here
helo_base=systemd.example.org
sender=alice@example.org
rcpt=bob@example.com

passed=0	# counted by ok and fail (tests/lib.sh)
failed=0
work=		# the mktemp -d directory
name=		# the namespace's name: its cgroup, its target
cgroup=		# the cgroup it is rooted in, as the host sees it
scripter=	# script(1), which gives the namespace a console
unsharer=	# unshare(1), parent of the namespace's PID 1
init=		# the namespace's PID 1 (systemd), as the host numbers it
milter_port=
smtpd_port=
master_pid=	# Postfix's master
ports_taken=
unit_cgroup=	# the unit's cgroup directory, seen from here

# --- the namespace --------------------------------------------------------

# outer WORK CGROUP: in script(1)'s pty, enter CGROUP (the new cgroup
# namespace is rooted where the process stands) and start the namespaces,
# this script's --pid1 as their PID 1.
outer() {
	echo $$ >"$2/cgroup.procs" || exit 1
	echo $$ >"$1/unshare.pid"
	exec unshare --fork --kill-child --pid --mount --uts --ipc --cgroup \
	    --mount-proc "$here/systemd.sh" --pid1 "$1"
}

# must COMMAND...: COMMAND, or say which failed and end the namespace.
must() {
	"$@" && return 0
	echo "systemd.sh: --pid1: failed: $*"
	exit 1
}

# pid1 WORK: the namespace's PID 1 makes its private file systems, each
# mount checked, then becomes systemd.  Mounts here are the namespace's
# only.
pid1() {
	local w=$1 console dev=/run/dev n

	must mount --make-rprivate /
	must mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
	# WORK stays reachable once /tmp is a tmpfs of its own.
	must mkdir "$inside"
	must mount --bind "$w" "$inside"
	must mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
	# A private /var, a directory of WORK: without it StateDirectory=,
	# LogsDirectory= and PrivateTmp= write into the host's /var.
	must mount --bind "$inside/var" /var
	# A private /dev, made aside and moved into place, with script(1)'s
	# pty as the console: systemd always reopens /dev/console.
	console=$(tty) || must false tty
	must mkdir "$dev"
	must mount -t tmpfs -o mode=0755,nosuid tmpfs "$dev"
	must mknod -m 666 "$dev/null" c 1 3
	must mknod -m 666 "$dev/zero" c 1 5
	must mknod -m 666 "$dev/full" c 1 7
	must mknod -m 666 "$dev/random" c 1 8
	must mknod -m 666 "$dev/urandom" c 1 9
	must mknod -m 666 "$dev/tty" c 5 0
	must mkdir "$dev/pts" "$dev/shm"
	must mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts \
	    "$dev/pts"
	must ln -s pts/ptmx "$dev/ptmx"
	must mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$dev/shm"
	must touch "$dev/console"
	must mount --bind "$console" "$dev/console"
	must ln -s /proc/self/fd "$dev/fd"
	for n in 0:stdin 1:stdout 2:stderr; do
		must ln -s "/proc/self/fd/${n%%:*}" "$dev/${n#*:}"
	done
	must mount --move "$dev" /dev
	must mount --bind /proc/sys /proc/sys
	must mount -o remount,bind,ro /proc/sys
	# A fresh sysfs, read-only, without the host's mounts below it.
	must umount -R -l /sys
	must mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
	must mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
	must mount --bind "$inside/machine-id" /etc/machine-id
	# The test's settings for the unit, where the package keeps its own.
	must mount --bind "$inside/default" /etc/default/inspect
	# The namespace's own units only.
	exec env -i container="$name" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    SYSTEMD_UNIT_PATH="$inside/units" \
	    SYSTEMD_GENERATOR_PATH="$inside/empty" \
	    SYSTEMD_ENVIRONMENT_GENERATOR_PATH="$inside/empty" \
	    /lib/systemd/systemd --system --unit="$name.target" \
	    --log-target=console
}

# in_ns COMMAND...: COMMAND inside the namespace, bounded in time.
in_ns() {
	timeout -k 5 "$SYSTEMCTL_WAIT" nsenter -t "$init" -m -p -u -i -C -- "$@"
}

# The units systemd looks for before it starts a service, as empty stubs,
# the target it boots to, and the installed unit, linked.
write_units() {
	local u

	mkdir "$work/units" "$work/empty" || return 1
	for u in sysinit basic shutdown local-fs swap umount sockets timers \
	    paths slices "$name"; do
		printf '[Unit]\nDescription=%s (stub)\n' "$u" \
		    >"$work/units/$u.target" || return 1
	done
	printf '[Unit]\nDescription=system.slice (stub)\n' \
	    >"$work/units/system.slice"
	ln -s "$unit" "$work/units/inspect.service" &&
	    mkdir "$work/units/inspect.service.d" || return 1
	# There is no journal: what inspect says goes to a file instead
	# (not to the console, a terminal, where SIGHUP means a hang-up).
	cat >"$work/units/inspect.service.d/output.conf" <<-EOF
	[Service]
	StandardOutput=append:$inside/inspect.log
	StandardError=inherit
	EOF
}

# boot: start the namespace and wait until its systemd runs; print how
# long that took.
boot() {
	local t0 state

	t0=$EPOCHREALTIME
	# script(1) holds the pty, -e passes the status on.
	script -qfec "$(printf '%q ' "$here/systemd.sh" --outer "$work" \
	    "$cgroup")" "$work/console.log" </dev/null >/dev/null 2>&1 &
	scripter=$!
	wait_until "$BOOT_WAIT" test -s "$work/unshare.pid" &&
	    unsharer=$(cat "$work/unshare.pid") &&
	    wait_until "$BOOT_WAIT" find_init
	if [ -z "$init" ]; then
		fail "the namespace's PID 1 started" \
		    "$(tail -20 "$work/console.log" 2>/dev/null)"
		return 1
	fi
	wait_until "$BOOT_WAIT" booted
	state=$(in_ns systemctl is-system-running 2>&1)
	if [ "$state" != running ]; then
		fail "the private systemd runs (state: ${state:-none})" \
		    "$(in_ns systemctl --failed --no-legend 2>&1)" \
		    "$(tail -20 "$work/console.log")"
		return 1
	fi
	echo "boot: $(elapsed "$t0") s to running"
	ok "the private systemd runs"
}

find_init() {
	init=$(cat "/proc/$unsharer/task/$unsharer/children" 2>/dev/null)
	init=${init%% }
	[ -n "$init" ]
}

# booted: systemd runs, or its namespace is gone.
booted() {
	gone "$init" ||
	    [ "$(in_ns systemctl is-system-running 2>/dev/null)" = running ]
}

# elapsed T0: seconds since T0 (an EPOCHREALTIME), to the millisecond.
elapsed() {
	awk -v t0="$1" -v t1="$EPOCHREALTIME" 'BEGIN { printf "%.3f", t1 - t0 }'
}

# --- Postfix --------------------------------------------------------------

# A private Postfix on loopback, as in tests/e2e/service.sh, whose smtpd's
# milter is the unit's inspect, over TCP.
start_postfix() {
	if ! postfix_config "$work/postfix" mx.example.net <<-EOF
	127.0.0.1:$smtpd_port inet n - n - - smtpd
	  -o smtpd_milters=inet:127.0.0.1:$milter_port
	EOF
	then
		fail "Postfix's configuration (post-install)" \
		    "$(cat "$work/postfix/post-install.log")"
		return 1
	fi
	postfix_start "$work/postfix" "$work/postfix/master.out"
	if ! wait_until "$READY_WAIT" listening "$master_pid" "$smtpd_port"; then
		fail "Postfix's smtpd listens on 127.0.0.1:$smtpd_port" \
		    "$(tail -20 "$work/postfix/log/maillog" 2>/dev/null)"
		return 1
	fi
}

# mail STEP: one mail through Postfix, its HELO naming STEP; check that
# Postfix took it (so inspect answered: milter_default_action is tempfail).
mail() {
	local out=$work/swaks.$1

	if timeout -k 5 "$MAIL_WAIT" swaks --server 127.0.0.1 \
	    --port "$smtpd_port" --timeout 10 --helo "$1.$helo_base" \
	    --from "$sender" --to "$rcpt" --header "Subject: systemd $1" \
	    >"$out" 2>&1 && grep -q '^<-  250 .*queued as ' "$out"; then
		ok "$1: Postfix took a mail through inspect"
		return 0
	fi
	fail "$1: Postfix took a mail through inspect" "$(tail -5 "$out")" \
	    "$(tail -5 "$work/postfix/log/maillog" 2>/dev/null)"
	return 1
}

# session_in FILE STEP: FILE has STEP's session to its close; prints the
# session's number.
session_in() {
	local s

	s=$(grep -E '^\[[0-9]+\] helo ' "$1" 2>/dev/null |
	    grep -m1 -F " \"$2.$helo_base\"" | sed 's/^\[\([0-9]*\)\].*/\1/')
	[ -n "$s" ] && grep -q "^\[$s\] close " "$1" && echo "$s"
}

# envelope FILE STEP: STEP's session in FILE shows the mail's envelope:
# the sender at envfrom, the recipient at envrcpt.
envelope() {
	local s

	s=$(session_in "$1" "$2") &&
	    grep "^\[$s\] envfrom " "$1" | grep -qF " \"<$sender>\"" &&
	    grep "^\[$s\] envrcpt " "$1" | grep -qF " \"<$rcpt>\""
}

# --- the checks -----------------------------------------------------------

# systemctl start: the installed unit, listening where the test's
# /etc/default/inspect says, on loopback.
start_unit() {
	local path

	# Its unit file is a link to the installed one.
	path=$(in_ns systemctl show -P FragmentPath inspect)
	check "the unit systemd loads is $unit (${path:-none}, linked)" \
	    in_ns test "$path" -ef "$unit"
	path=$(in_ns systemctl show -P DropInPaths inspect)
	check "with no drop-in but the test's output.conf (${path:-none})" \
	    test "$path" = "$inside/units/inspect.service.d/output.conf"
	if in_ns systemctl start inspect >"$work/start.log" 2>&1; then
		ok "systemctl start inspect"
	else
		fail "systemctl start inspect" "$(cat "$work/start.log")" \
		    "$(unit_state)"
		return 1
	fi
	if wait_until "$READY_WAIT" on_loopback "$milter_port"; then
		ok "inspect listens on 127.0.0.1:$milter_port (the test's defaults)"
	else
		fail "inspect listens on 127.0.0.1:$milter_port" "$(unit_state)"
		return 1
	fi
	check "systemd says inspect is active (running)" test \
	    "$(unit_show ActiveState SubState)" = \
	    "ActiveState=active SubState=running"
	unit_cgroup=$cgroup$(in_ns systemctl show -P ControlGroup inspect)
}

# unit_show PROPERTY...: what systemctl show says of inspect.service, as
# PROPERTY=VALUE words in the order of their names.
unit_show() {
	local p

	for p; do
		in_ns systemctl show -p "$p" inspect
	done | sort | paste -sd ' '
}

# unit_state: what systemd says of the unit, what inspect said last, and
# the console's last lines (systemd's messages), for a failure's details.
unit_state() {
	in_ns systemctl status --no-pager inspect 2>&1
	echo "inspect said:"
	tail -10 "$work/inspect.log"
	echo "the console:"
	tail -10 "$work/console.log"
}

# on_loopback PORT: something listens on 127.0.0.1:PORT and nowhere else
# on that port.
on_loopback() {
	[ "$(ss -Hltn "sport = :$1" | awk '{ print $4 }')" = "127.0.0.1:$1" ]
}

# A mail through Postfix and inspect, in the report as the unit wrote it.
first_mail() {
	mail start || return 1
	if wait_until "$REPORT_WAIT" envelope "$report" start; then
		ok "start: the report shows the mail's envelope (<$sender> to <$rcpt>)"
	else
		fail "start: the report shows the mail's envelope" \
		    "$(tail -20 "$report" 2>/dev/null)"
	fi
	check "start: the report is inspect's, mode 0640" \
	    test "$(stat -c '%U:%G %a' "$report")" = "inspect:inspect 640"
	check "start: it begins with the run's start line, of the main pid" \
	    begins_run "$report" "$(in_ns systemctl show -P MainPID inspect)"
}

# hardened: every process in the unit's cgroup, each of its threads, runs
# as the unit says: User=inspect and Group=inspect, NoNewPrivileges=
# (NoNewPrivs 1), SystemCallFilter= (Seccomp 2, a filter), an empty
# CapabilityBoundingSet= (CapEff 0).
hardened() {
	local pids pid main nspid uid gid field want found=

	pids=$(cat "$unit_cgroup/cgroup.procs" 2>/dev/null)
	main=$(in_ns systemctl show -P MainPID inspect)
	check "the unit's cgroup holds processes (here: $(paste -sd ' ' \
	    <<<"$pids"))" test -n "$pids"
	uid=$(id -u inspect)
	gid=$(id -g inspect)
	for pid in $pids; do
		# The namespace numbers it last.
		nspid=$(awk '$1 == "NSpid:" { print $NF }' "/proc/$pid/status")
		[ "$nspid" = "$main" ] && found=yes
		echo "pid $pid ($nspid in the namespace):" \
		    "$(tr '\0' ' ' <"/proc/$pid/cmdline")"
		for field in "Uid:$uid" "Gid:$gid" NoNewPrivs:1 Seccomp:2 \
		    CapEff:0000000000000000; do
			want=${field#*:}
			field=${field%%:*}
			check "pid $pid: $field $want in every thread" \
			    every_thread "$pid" "$field" "$want"
		done
	done
	check "its MainPID ($main in the namespace) is one of them" \
	    test -n "$found"
}

# every_thread PID FIELD VALUE: each thread's /proc status shows FIELD
# with VALUE (every one of the four ids, for Uid and Gid).
every_thread() {
	local status seen=0

	for status in /proc/"$1"/task/*/status; do
		awk -v f="$2:" -v v="$3" '$1 == f {
			for (i = 2; i <= NF; i++)
				if ($i != v)
					exit 1
			found = 1
		} END { exit !found }' "$status" || return 1
		seen=$((seen + 1))
	done
	[ "$seen" -gt 0 ]
}

# reopened STEP COMMAND...: the report moved aside as logrotate moves
# it, COMMAND to have inspect reopen it; then a mail, which must be in
# the new report and not in the old.
reopened() {
	local step=$1 what

	shift
	what=${*#in_ns }
	if "$@" >"$work/$step.log" 2>&1; then
		ok "$step: $what"
	else
		fail "$step: $what" "$(cat "$work/$step.log")"
		return 1
	fi
	if wait_until "$REPORT_WAIT" report_is "inspect:inspect 640"; then
		ok "$step: a new report, inspect's, mode 0640"
	else
		fail "$step: a new report, inspect's, mode 0640" "$(unit_state)"
	fi
	mail "$step" || return 1
	if wait_until "$REPORT_WAIT" envelope "$report" "$step"; then
		ok "$step: the next mail is in the new report"
	else
		fail "$step: the next mail is in the new report" \
		    "in the old one: $(session_in "$report.1" "$step" ||
		    echo no)"
	fi
	check "$step: and not in the old one" \
	    test -z "$(session_in "$report.1" "$step")"
	check "$step: the new report begins with the run's start line too" \
	    begins_run "$report" "$(in_ns systemctl show -P MainPID inspect)"
}

report_is() {
	[ "$(stat -c '%U:%G %a' "$report" 2>/dev/null)" = "$1" ]
}

# As the admin would: the report moved, then systemctl reload.
reload() {
	mv "$report" "$report.1" || { fail "reload: move the report"; return; }
	reopened reload in_ns systemctl reload inspect
}

# The package's logrotate stanza, forced, with a state file of the
# namespace's: it moves the report, makes a new one and runs its
# postrotate (systemctl kill --signal=HUP).
rotate() {
	reopened logrotate in_ns logrotate -f -s /run/logrotate.state \
	    /etc/logrotate.d/inspect
}

# stop_unit WHAT: systemctl stop, timed; nothing of the unit is left.
stop_unit() {
	local t0 rc took state

	t0=$EPOCHREALTIME
	in_ns systemctl stop inspect >"$work/stop.log" 2>&1
	rc=$?
	took=$(elapsed "$t0")
	echo "stop ($1): systemctl stop took $took s"
	check "$1: systemctl stop inspect exits 0" test "$rc" -eq 0
	check "$1: systemctl stop took $took s, less than $STOP_MAX s" \
	    awk -v t="$took" -v m="$STOP_MAX" 'BEGIN { exit !(t < m) }'
	state=$(unit_show ActiveState Result ExecMainStatus)
	if [ "$state" = "ActiveState=inactive ExecMainStatus=0 Result=success" ]
	then
		ok "$1: the unit is inactive, its result success, inspect's status 0"
	else
		fail "$1: the unit is inactive, its result success, inspect's" \
		    "status 0" "$state"
	fi
	check "$1: no process left in the unit's cgroup" test -z \
	    "$(cat "$unit_cgroup/cgroup.procs" 2>/dev/null)"
	check "$1: no inspect process left in the namespace" test -z \
	    "$(inspect_procs)"
	check "$1: /run/inspect is gone" test ! -e "/proc/$init/root/run/inspect"
}

# inspect_procs: the namespace's processes that run /usr/sbin/inspect.
inspect_procs() {
	local pid

	find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null |
	    while read -r pid; do
		[ "$(readlink "/proc/$pid/exe")" = /usr/sbin/inspect ] &&
		    echo "$pid"
	    done
}

# With the test's /etc/default/inspect, the unit on TCP behind Postfix:
# started, a mail, its hardening, reloaded, rotated, stopped.
over_tcp() {
	local mailed=

	start_unit || return 1
	start_postfix && first_mail && mailed=yes
	hardened
	if [ -n "$mailed" ]; then
		reload
		rotate
	fi
	stop_unit tcp
	check "tcp: nothing listens on $milter_port any more" \
	    test -z "$(ss -Hltn "sport = :$milter_port")"
}

# With the package's own /etc/default/inspect (all comments): the unit's
# default unix socket, one miltertest session through it, its hardening,
# and a stop that removes the socket.
over_unix() {
	local sock=/run/inspect/inspect.sock

	if ! in_ns umount /etc/default/inspect; then
		fail "unix: the package's /etc/default/inspect back in place"
		return
	fi
	if ! in_ns systemctl start inspect >"$work/start.log" 2>&1; then
		fail "unix: systemctl start inspect" "$(cat "$work/start.log")" \
		    "$(unit_state)"
		return
	fi
	ok "unix: systemctl start inspect, the package's /etc/default/inspect"
	if ! wait_until "$READY_WAIT" test -S "/proc/$init/root$sock"; then
		fail "unix: inspect listens on $sock" "$(unit_state)"
		return
	fi
	ok "unix: inspect listens on $sock"
	check "unix: the socket is inspect's, mode 0660" test \
	    "$(stat -c '%U:%G %a' "/proc/$init/root$sock")" = \
	    "inspect:inspect 660"
	unit_cgroup=$cgroup$(in_ns systemctl show -P ControlGroup inspect)
	if in_ns miltertest -D socket="unix:$sock" \
	    -D lib="$inside/lib.lua" -s "$inside/session.lua" \
	    >"$work/miltertest.log" 2>&1; then
		ok "unix: a miltertest session"
	else
		fail "unix: a miltertest session" "$(cat "$work/miltertest.log")"
	fi
	check "unix: the session is in the report" wait_until "$REPORT_WAIT" \
	    grep -qxF '[1]  chunk: "Hello from the package test.\r\n"' "$report"
	hardened
	stop_unit unix
	check "unix: the socket file is gone" test ! -e "/proc/$init/root$sock"
}

# --- set-up and tear-down -------------------------------------------------

preconditions() {
	local tool status=0

	if [ "$(id -u)" -ne 0 ]; then
		echo "systemd.sh: needs root (namespaces, Postfix)" >&2
		status=1
	fi
	for tool in script unshare nsenter timeout ss postconf swaks setsid \
	    logrotate miltertest /lib/systemd/systemd; do
		command -v "$tool" >/dev/null ||
		    { echo "systemd.sh: $tool not found" \
		    "(tests/install-deps.sh installs it)" >&2; status=1; }
	done
	for tool in "$unit" /etc/default/inspect /etc/logrotate.d/inspect \
	    /etc/machine-id; do
		[ -f "$tool" ] || { echo "systemd.sh: no $tool (is the" \
		    "package installed?)" >&2; status=1; }
	done
	getent passwd inspect >/dev/null ||
	    { echo "systemd.sh: no user inspect" >&2; status=1; }
	findmnt -n -t cgroup2 >/dev/null ||
	    { echo "systemd.sh: no cgroup2 file system" >&2; status=1; }
	return $status
}

setup() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/inspect-systemd.XXXXXX") || return 1
	# Postfix's daemons, as the user postfix, reach their data directory.
	chmod 711 "$work"
	name=inspect-test-${work##*.}
	cgroup=$(findmnt -n -o TARGET -t cgroup2 | head -1)/$name
	report=$work/var/log/inspect/report.txt
	if ! { pick_port milter_port && pick_port smtpd_port; }; then
		fail "setup: no free TCP ports"
		return 1
	fi
	if ! { mkdir -p "$work/var/lib" "$work/var/cache" "$work/var/log" &&
	    ln -s ../run "$work/var/run" &&
	    mkdir -m 1777 "$work/var/tmp" &&
	    tr -d '-' </proc/sys/kernel/random/uuid >"$work/machine-id" &&
	    printf 'INSPECT_SOCKET=inet:%s@127.0.0.1\n' "$milter_port" \
	    >"$work/default" &&
	    cp "$top/tests/milter/lib.lua" "$here/session.lua" "$work/" &&
	    write_units && mkdir "$cgroup"; }; then
		fail "setup: $work and the cgroup $cgroup"
		return 1
	fi
}

teardown() {
	local pid

	trap '' INT TERM
	trap - EXIT
	[ -z "$master_pid" ] || postfix_stop "$work/postfix"
	[ -n "$init" ] || [ -z "$unsharer" ] || find_init
	if [ -n "$init" ]; then
		# Immediate poweroff: everything in the namespace dies.
		kill -s RTMIN+14 "$init" 2>/dev/null
		wait_until "$TEARDOWN_WAIT" gone "$init" ||
		    kill -KILL "$init" 2>/dev/null
	fi
	for pid in $unsharer $scripter; do
		wait_until "$TEARDOWN_WAIT" gone "$pid" ||
		    kill -KILL "$pid" 2>/dev/null
	done
	[ -z "$scripter" ] || wait "$scripter" 2>/dev/null
	if [ -n "$cgroup" ] && [ -d "$cgroup" ]; then
		# Left over in a cgroup of the namespace: killed by pid.
		find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null |
		    while read -r pid; do
			kill -KILL "$pid" 2>/dev/null
		    done
		wait_until "$TEARDOWN_WAIT" remove_cgroups ||
		    echo "systemd.sh: could not remove $cgroup" >&2
	fi
	[ -z "$work" ] || rm -rf "$work"
}

# remove_cgroups: the namespace's cgroups, deepest first.
remove_cgroups() {
	find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null
	[ ! -d "$cgroup" ]
}

main() {
	preconditions || exit 2
	trap teardown EXIT
	trap 'echo "# interrupted"; exit 130' INT
	trap 'echo "# terminated"; exit 143' TERM
	if setup && boot; then
		over_tcp
		over_unix
	fi
	summary
	[ "$failed" -eq 0 ]
}

case ${1:-} in
--outer) outer "$2" "$3" ;;
--pid1) name=inspect-test-${2##*.}; pid1 "$2" ;;
*) main "$@" ;;
esac
