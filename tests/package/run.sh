#!/usr/bin/env bash
# run.sh -- the Debian package: built, linted, installed, served as its
# unit would serve, and purged.
#
# usage: tests/package/run.sh
#
# Builds the package with dpkg-buildpackage in a copy of the tree (the
# working tree stays as it is), fails on any lintian error, installs it
# with apt-get, checks what it installed and the system user it made,
# checks the unit offline (systemd-analyze verify, and security: exposure
# at most MAX_EXPOSURE) and runs the unit's command line as the unit would,
# as the user inspect with /etc/default/inspect read, for one miltertest
# session, under strace, to see that the unit's system call filter,
# address families and MemoryDenyWriteExecute leave inspect alone.  Then
# systemd.sh has a private systemd, in namespaces of its own, start the
# installed unit for real: mail through a private Postfix, the hardening
# of each of its processes, reload, logrotate, and how long a stop takes
# (its checks are counted here).  Then purges the package and checks that
# only the system user is left; the user goes too if this run made it.
# Needs root and a machine without the package installed; whatever fails,
# the package is purged at exit.
set -u
export LC_ALL=C		# bytes, not characters, for sed, grep and sort
export DEBIAN_FRONTEND=noninteractive
# Run from make (make check, even WERROR=1 SANITIZER=...), the package is
# still built as debian/rules says: make passes its command line's
# variables on in the environment, where the Makefile would find them.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES SANITIZER WERROR

MAX_EXPOSURE=3.0
READY_WAIT=10		# seconds for inspect to listen
CLIENT_WAIT=30		# for one miltertest
STOP_WAIT=15		# for inspect to exit after SIGTERM (libmilter: 5)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) || exit 2
top=$(cd "$here/../.." && pwd) || exit 2
# shellcheck source=tests/lib.sh
. "$top/tests/lib.sh"

unit=/lib/systemd/system/inspect.service
sock=/run/inspect/inspect.sock
report=/var/log/inspect/report.txt
passed=0	# counted by ok and fail (tests/lib.sh)
failed=0
tmp=
tracer=
installed=
user_before=

main() {
	preconditions || exit 2
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/inspect-package.XXXXXX") || exit 2
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	getent passwd inspect >/dev/null && user_before=yes

	if build; then
		lint
		install_package && {
			installed_files
			system_user
			unit_offline
			serve_like_the_unit
			under_systemd
			purge
		}
	fi
	summary
	[ "$failed" -eq 0 ]
}

# Missing tools and root fail the run (a test that cannot run has not
# passed); a machine where inspect is installed is left alone.
preconditions() {
	local tool status=0

	if [ "$(id -u)" -ne 0 ]; then
		echo "run.sh: needs root (apt-get, the user inspect)" >&2
		status=1
	fi
	for tool in dpkg-buildpackage dh lintian apt-get systemd-analyze \
	    miltertest strace setpriv logrotate timeout ss; do
		if ! command -v "$tool" >/dev/null; then
			echo "run.sh: $tool not found" \
			    "(tests/install-deps.sh installs it)" >&2
			status=1
		fi
	done
	if dpkg-query -W -f '${db:Status-Status}\n' inspect 2>/dev/null |
	    grep -qv '^not-installed$'; then
		echo "run.sh: the package inspect is on this machine;" \
		    "purge it first (dpkg --purge inspect)" >&2
		status=1
	fi
	if [ -e /run/inspect ] || [ -e /var/log/inspect ]; then
		echo "run.sh: /run/inspect or /var/log/inspect exists;" \
		    "something else uses them" >&2
		status=1
	fi
	return $status
}

# Stops what is left running, purges the package, and removes the user if
# this run made it, so that the machine is as it was.
cleanup() {
	if [ -n "$tracer" ]; then
		pkill -KILL -P "$tracer" 2>/dev/null
		kill -KILL "$tracer" 2>/dev/null
		wait "$tracer" 2>/dev/null
	fi
	if [ -n "$installed" ]; then
		dpkg --purge inspect >"$tmp/cleanup-purge.log" 2>&1 ||
		    cat "$tmp/cleanup-purge.log"
	fi
	# preconditions() saw neither: whatever made them, they go.
	rm -rf /var/log/inspect /run/inspect
	if [ -z "$user_before" ] && getent passwd inspect >/dev/null; then
		deluser --system --quiet inspect 2>/dev/null
		getent group inspect >/dev/null &&
		    delgroup --system --quiet inspect 2>/dev/null
	fi
	rm -rf "$tmp"
}

# A copy of the tree without .git and the build's own output, where
# dpkg-buildpackage may write what it likes.
build() {
	local version arch

	mkdir "$tmp/src"
	tar -C "$top" --exclude=.git -cf - . | tar -C "$tmp/src" -xf - ||
	    { fail "copy the tree"; return 1; }
	if ! (cd "$tmp/src" && timeout 900 dpkg-buildpackage -us -uc -b) \
	    >"$tmp/build.log" 2>&1; then
		fail "dpkg-buildpackage -us -uc -b" "$(tail -20 "$tmp/build.log")"
		return 1
	fi
	ok "dpkg-buildpackage -us -uc -b"
	# The unit tests ran, test_daemon's root ones included.
	if grep -q '^\[       OK \] test_daemon_priv_drop_real$' \
	    "$tmp/build.log" && ! grep -q '^\[  FAILED  \]' "$tmp/build.log"; then
		ok "the build ran every unit test"
	else
		fail "the build ran every unit test"
	fi
	version=$(sed -n 's/^VERSION = //p' "$top/Makefile")
	arch=$(dpkg --print-architecture)
	deb=$tmp/inspect_${version}_$arch.deb
	check "inspect_${version}_$arch.deb, the Makefile's version" \
	    test -f "$deb"
	[ -f "$deb" ]
}

lint() {
	local changes

	changes=$(echo "$tmp"/inspect_*.changes)
	lintian --fail-on error --pedantic --info "$changes" \
	    >"$tmp/lintian.log" 2>&1
	local status=$?
	grep -v '^running with root privileges' "$tmp/lintian.log" |
	    grep . || echo "lintian: no tags"
	if [ "$status" -eq 0 ]; then
		ok "lintian: no error"
	else
		fail "lintian: no error" "status $status"
	fi
}

install_package() {
	# apt-get resolves from a path only with a slash in it.
	if (cd "$tmp" && apt-get install -y -q "./$(basename "$deb")") \
	    >"$tmp/install.log" 2>&1; then
		installed=yes
		ok "apt-get install ./$(basename "$deb")"
		return 0
	fi
	installed=yes	# half-installed counts: cleanup purges it
	fail "apt-get install ./$(basename "$deb")" "$(tail -20 "$tmp/install.log")"
	return 1
}

installed_files() {
	local f version

	for f in /usr/sbin/inspect /usr/share/man/man8/inspect.8.gz \
	    /usr/share/man/man5/inspect-report.5.gz \
	    /usr/share/man/man7/inspect-macros.7.gz "$unit" \
	    /etc/default/inspect /etc/logrotate.d/inspect; do
		check "installed: $f" test -f "$f"
	done
	version=$(sed -n 's/^VERSION = //p' "$top/Makefile")
	check "/usr/sbin/inspect --version says $version and libmilter's" \
	    grep -qxE "inspect $version \(libmilter [0-9.]+, API [0-9.]+\)" \
	    <<<"$(/usr/sbin/inspect --version)"
	check "/usr/sbin/inspect is not a sanitizer's build" sh -c \
	    '! ldd /usr/sbin/inspect | grep -q "lib[a-z]*san"'
	for f in man8/inspect.8 man5/inspect-report.5 man7/inspect-macros.7; do
		check "the man page $f reads" sh -c \
		    "man -l /usr/share/man/$f.gz 2>&1 >/dev/null | \
		    grep -q . && exit 1; exit 0"
	done
	# Not enabled, not started: no wants link anywhere.
	check "the unit is not enabled" test -z \
	    "$(find /etc/systemd/system -name inspect.service 2>/dev/null)"
	check "/etc/default/inspect is a conffile" sh -c \
	    "dpkg-query -W -f '\${Conffiles}' inspect |
	    grep -q '^ /etc/default/inspect '"
	# -d changes nothing; it reads the file and says what it would do.
	if logrotate -d /etc/logrotate.d/inspect >"$tmp/logrotate.log" 2>&1 &&
	    ! grep -qi 'error' "$tmp/logrotate.log"; then
		ok "logrotate takes /etc/logrotate.d/inspect"
	else
		fail "logrotate takes /etc/logrotate.d/inspect" \
		    "$(grep -i error "$tmp/logrotate.log")"
	fi
}

# A system user and group, no login, owning its log directory and nothing
# else on any file system.
system_user() {
	local uid shell owned

	uid=$(id -u inspect 2>/dev/null)
	check "user inspect exists" test -n "$uid"
	check "group inspect exists" sh -c 'getent group inspect >/dev/null'
	check "inspect is a system user" test "${uid:-1000}" -lt 1000
	shell=$(getent passwd inspect | cut -d: -f7)
	check "inspect has no login shell ($shell)" \
	    test "$shell" = /usr/sbin/nologin
	owned=$(owned_by_inspect)
	check "inspect owns /var/log/inspect (0750) and nothing else" \
	    test "$owned" = "inspect:inspect 750 /var/log/inspect"
	[ "$owned" = "inspect:inspect 750 /var/log/inspect" ] ||
	    printf '  %s\n' "$owned"
}

owned_by_inspect() {
	getent passwd inspect >/dev/null || return 0
	find / \( -path /proc -o -path /sys -o -path /dev -o -path "$tmp" \) \
	    -prune -o \( -user inspect -o -group inspect \) \
	    -printf '%u:%g %m %p\n' 2>/dev/null | sort
}

unit_offline() {
	local score

	if systemd-analyze verify "$unit" >"$tmp/verify.log" 2>&1; then
		ok "systemd-analyze verify $unit"
	else
		fail "systemd-analyze verify $unit" "$(cat "$tmp/verify.log")"
	fi
	systemd-analyze security --offline=true "$unit" >"$tmp/security.log" 2>&1
	score=$(sed -n 's/.*Overall exposure level for inspect.service: \([0-9.]*\).*/\1/p' \
	    "$tmp/security.log")
	echo "exposure: ${score:-none} (at most $MAX_EXPOSURE)"
	if [ -n "$score" ] && awk -v s="$score" -v m="$MAX_EXPOSURE" \
	    'BEGIN { exit !(s <= m) }'; then
		ok "systemd-analyze security: exposure $score <= $MAX_EXPOSURE"
	else
		fail "systemd-analyze security: exposure ${score:-?} <= $MAX_EXPOSURE" \
		    "$(grep -E '^(- |✗ )' "$tmp/security.log")"
	fi
}

# The unit's ExecStart, its variables from its Environment= lines and then
# /etc/default/inspect, as systemd expands them: ${NAME} one word, $NAME
# split at white space.
# shellcheck disable=SC2120	# set -- works on the unit's words
unit_command() {
	(
		set -a
		eval "$(sed -n 's/^Environment=//p' "$unit")"
		# shellcheck disable=SC1091
		. /etc/default/inspect
		line=$(sed -n 's/^ExecStart=//p' "$unit" |
		    sed 's/\${\([A-Za-z_][A-Za-z0-9_]*\)}/"${\1}"/g')
		eval "set -- $line"
		printf '%s\n' "$@"
	)
}

# What systemd does before ExecStart (RuntimeDirectory=, LogsDirectory=,
# User=, Group=, UMask=, NoNewPrivileges=, CapabilityBoundingSet=), then
# the command itself, traced; one session, a SIGHUP after the report has
# been moved, a second session, SIGTERM.
serve_like_the_unit() {
	local cmd=() pid status said

	mapfile -t cmd < <(unit_command)
	echo "ExecStart: ${cmd[*]}"
	install -d -o inspect -g inspect -m 0755 /run/inspect
	install -d -o inspect -g inspect -m 0750 /var/log/inspect
	(
		umask 0027
		exec strace -f -qq -o "$tmp/strace" setpriv --reuid=inspect \
		    --regid=inspect --init-groups --no-new-privs \
		    --bounding-set=-all --inh-caps=-all -- "${cmd[@]}"
	) 2>"$tmp/inspect.err" &
	tracer=$!
	wait_until "$READY_WAIT" sh -c "pgrep -P $tracer >/dev/null" &&
	    pid=$(pgrep -P "$tracer")
	if [ -z "${pid:-}" ] || ! wait_until "$READY_WAIT" listening "$pid" "$sock"; then
		fail "inspect listens on $sock as the unit starts it" \
		    "$(cat "$tmp/inspect.err")"
		return
	fi
	ok "inspect listens on $sock as the unit starts it"
	check "it runs as inspect" \
	    test "$(ps -o user= -p "$pid")" = inspect
	check "the socket is inspect's, mode 0660" \
	    test "$(stat -c '%U:%G %a' "$sock")" = "inspect:inspect 660"

	# The report is written by a thread of its own: give it a moment.
	session 1 && check "the session is in the report" wait_until 5 \
	    grep -qxF '[1]  chunk: "Hello from the package test.\r\n"' "$report"
	check "the report is inspect's, mode 0640" \
	    test "$(stat -c '%U:%G %a' "$report")" = "inspect:inspect 640"

	# As logrotate does it: move, then SIGHUP (the unit's ExecReload).
	mv "$report" "$report.1"
	kill -HUP "$pid"
	wait_until 5 test -f "$report"
	session 2 && check "after SIGHUP the next session is in a new report" \
	    wait_until 5 grep -q '^\[2\] close ' "$report"
	check "... which begins with the run's start line, as the old one" \
	    same_start "$report" "$report.1"

	kill -TERM "$pid"
	wait_until "$STOP_WAIT" gone "$pid" || kill -KILL "$pid"
	# strace ends with what it traces, or is ended.
	wait_until 5 gone "$tracer" || kill -KILL "$tracer"
	wait "$tracer"
	status=$?
	tracer=
	check "inspect exits 0 at SIGTERM (status $status)" test "$status" -eq 0
	check "the socket is gone" test ! -e "$sock"
	# What it says at the default level: its start, the SIGHUP, the stop.
	said="inspect said nothing on standard error but its start, reopening"
	said+=" and stop"
	if grep -v -e '^inspect: listening on ' \
	    -e '^inspect: reopened the log and the report files$' \
	    -e '^inspect: stopping on SIGTERM$' "$tmp/inspect.err" \
	    >"$tmp/errors"
	then
		fail "$said" "$(head -20 "$tmp/errors")"
	else
		ok "$said"
	fi
	traced
}

# One miltertest session through every stage.
session() {
	if timeout -k 5 "$CLIENT_WAIT" miltertest -D socket="unix:$sock" \
	    -D lib="$top/tests/milter/lib.lua" -s "$here/session.lua" \
	    >"$tmp/session$1.log" 2>&1; then
		ok "miltertest session $1"
		return 0
	fi
	fail "miltertest session $1" "$(cat "$tmp/session$1.log")"
	return 1
}

# same_start NEW OLD: report NEW, reopened, begins with OLD's first line,
# the run's start line, and has no other line of session 0.
same_start() {
	head -n 1 "$1" | grep -q '^\[0\] start ' &&
	    [ "$(head -n 1 "$1")" = "$(head -n 1 "$2")" ] &&
	    [ "$(grep -c '^\[0\] ' "$1")" = 1 ]
}

# What inspect did under strace, from its exec on, against what the unit
# allows: every system call in SystemCallFilter=, sockets only of the
# families in RestrictAddressFamilies=, no memory both writable and
# executable (MemoryDenyWriteExecute=).
traced() {
	local filter families bad

	sed -n '\|execve("/usr/sbin/inspect"|,$p' "$tmp/strace" >"$tmp/trace"
	check "strace saw inspect start" test -s "$tmp/trace"
	filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
	for group in $filter; do
		expand_filter "$group"
	done | sort -u >"$tmp/allowed"
	sed -n 's/^[0-9]*  *\([a-z0-9_]*\)(.*/\1/p' "$tmp/trace" | sort -u \
	    >"$tmp/used"
	bad=$(comm -23 "$tmp/used" "$tmp/allowed" | paste -sd ' ')
	check "every system call is in SystemCallFilter=$filter${bad:+ (not: $bad)}" \
	    test -z "$bad"
	families=$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")
	bad=$(sed -n 's/.* socket(\(AF_[A-Z0-9]*\),.*/\1/p' "$tmp/trace" |
	    sort -u | grep -vxF -e "${families// /$'\n'}" | paste -sd ' ')
	check "every socket's family is in RestrictAddressFamilies${bad:+ (not: $bad)}" \
	    test -z "$bad"
	check "no memory writable and executable at once" \
	    test -z "$(grep -E 'PROT_(WRITE\|EXEC)\|PROT_EXEC\|PROT_WRITE' \
	    "$tmp/trace" | grep 'PROT_WRITE' | grep 'PROT_EXEC')"
}

# expand_filter @GROUP|NAME: the system calls a filter entry allows.
expand_filter() {
	case $1 in
	@*)	systemd-analyze syscall-filter "$1" | sed -n '2,$p' |
		    sed 's/#.*//' | awk 'NF { print $1 }' |
		    while read -r entry; do
			expand_filter "$entry"
		    done ;;
	*)	echo "$1" ;;
	esac
}

# The installed unit, started by a private systemd (systemd.sh): its
# results counted as this run's, and a failure to run at all too.
under_systemd() {
	local out status before=$failed

	out=$("$here/systemd.sh" 2>&1)
	status=$?
	relay "$out"
	if [ "$status" -ne 0 ] && [ "$failed" -eq "$before" ]; then
		fail "systemd.sh ran (status $status)"
	fi
}

# Purge leaves nothing of the package but the system user, as Debian
# keeps system users.
purge() {
	local left f

	dpkg -L inspect >"$tmp/files" 2>/dev/null
	if dpkg --purge inspect >"$tmp/purge.log" 2>&1; then
		installed=
		ok "dpkg --purge inspect"
	else
		fail "dpkg --purge inspect" "$(cat "$tmp/purge.log")"
		return
	fi
	check "dpkg knows no inspect any more" test -z \
	    "$(dpkg-query -W -f '${db:Status-Status}' inspect 2>/dev/null |
	    grep -v '^not-installed$')"
	left=
	while read -r f; do
		case $f in
		*inspect*) [ -e "$f" ] && left="$left $f" ;;
		esac
	done <"$tmp/files"
	for f in /var/log/inspect /run/inspect /etc/default/inspect \
	    /etc/logrotate.d/inspect; do
		[ -e "$f" ] && left="$left $f"
	done
	check "nothing of the package is left${left:+:$left}" test -z "$left"
	check "the system user inspect is kept" \
	    sh -c 'getent passwd inspect >/dev/null'
	check "inspect owns nothing" test -z "$(owned_by_inspect)"
}

main "$@"
