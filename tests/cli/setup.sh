#!/bin/bash
# Set-up tests: the README's two set-up commands, and tests/install-deps.sh
# that they begin with (its Sendmail taken as fetched already), as root on
# a Debian without sudo, as a user with sudo, and as a user without.  Nothing is installed: apt-get, dpkg-query,
# debconf-set-selections, sudo and make are stand-ins on a PATH of their
# own, which say what they were asked in a log; dpkg-query says that no
# package is installed, or with $tmp/installed that every one is, and
# apt-get -s prints $tmp/plan as its simulated plan.  Each case is given
# at most a minute.  Needs root (to run as nobody too).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
passed=0
failed=0

tmp=$(mktemp -d /tmp/inspect-setup.XXXXXX) || exit 1
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
log=$tmp/asked
run_set="gcc make pkg-config libc6-dev libmilter-dev"

# stand_ins DIR SUDO: a directory for PATH with the real tools the
# commands use and the stand-ins, with sudo only if SUDO is yes.
stand_ins() {
	local dir=$1 tool

	mkdir -p "$dir"
	for tool in sh grep id env cat; do
		ln -s "$(command -v "$tool")" "$dir/$tool"
	done
	cat >"$dir/dpkg-query" <<-EOF
	#!/bin/sh
	if [ -f "$tmp/installed" ]; then
		echo "install ok installed"
	else
		echo "unknown ok not-installed"
	fi
	EOF
	cat >"$dir/apt-get" <<-EOF
	#!/bin/sh
	echo "apt-get as \$(id -u): \$*" >>"$log"
	case " \$* " in
	*" -s "*) [ ! -f "$tmp/plan" ] || cat "$tmp/plan" ;;
	esac
	EOF
	cat >"$dir/debconf-set-selections" <<-EOF
	#!/bin/sh
	echo "debconf-set-selections as \$(id -u): \$(cat)" >>"$log"
	EOF
	cat >"$dir/make" <<-EOF
	#!/bin/sh
	echo "make as \$(id -u): \$*" >>"$log"
	EOF
	if [ "$2" = yes ]; then
		# Says it was asked, then runs the command as is.
		cat >"$dir/sudo" <<-EOF
		#!/bin/sh
		echo "sudo as \$(id -u): \$*" >>"$log"
		exec "\$@"
		EOF
	fi
	chmod 755 "$dir"/*
}
# A Sendmail unpacked already: install-deps.sh fetches none.
mkdir -p "$tmp/sendmail"
echo "sendmail-bin 0" >"$tmp/sendmail/ready"
stand_ins "$tmp/with-sudo" yes
# The commands run in a copy of what they use, which nobody can read
# wherever the source tree is (a clone in root's home directory).
mkdir -p "$tmp/tree/tests"
cp "$top/tests/install-deps.sh" "$tmp/tree/tests/"
chmod -R a+rX "$tmp/tree"
stand_ins "$tmp/without-sudo" no

# as WHO PATHDIR COMMAND: run the shell COMMAND in the tree's copy as WHO
# (root or nobody) with only PATHDIR on PATH; its output in $tmp/out, what
# the stand-ins were asked in $log, its status returned.
as() {
	local who=$1 dir=$2

	shift 2
	: >"$log"
	chmod 666 "$log"
	if [ "$who" = root ]; then
		(cd "$tmp/tree" && timeout 60 env -i PATH="$dir" \
		    INSPECT_SENDMAIL_CACHE="$tmp/sendmail" /bin/sh -c "$1") \
		    >"$tmp/out" 2>&1
	else
		(cd "$tmp/tree" && timeout 60 setpriv --reuid=nobody \
		    --regid=nogroup --clear-groups env -i PATH="$dir" \
		    INSPECT_SENDMAIL_CACHE="$tmp/sendmail" /bin/sh -c "$1") \
		    >"$tmp/out" 2>&1
	fi
}

# asked TEXT: the stand-ins' log holds a line holding TEXT.
asked() {
	grep -qF -- "$1" "$log"
}

# asked_line LINE: the stand-ins' log holds exactly LINE.
asked_line() {
	grep -qxF -- "$1" "$log"
}

not() {
	! "$@"
}

# as_root_alone: the command ran (status in $status), apt-get as root,
# make after it, and no sudo.
as_root_alone() {
	[ "$status" -eq 0 ] && asked "apt-get as 0: install" &&
	    asked "make as 0: " && ! asked "sudo"
}

# through_sudo: the command ran, apt-get through sudo, make after it.
through_sudo() {
	[ "$status" -eq 0 ] && asked "sudo as 65534: apt-get update" &&
	    asked "sudo as 65534: env DEBIAN_FRONTEND=noninteractive apt-get" &&
	    asked "make as 65534: "
}

# The README's indented lines in its "Set up" section.
readme_commands() {
	sed -n '/^Set up$/,/^Using it/p' "$top/README" | sed -n 's/^    //p'
}

mapfile -t commands < <(readme_commands)
if [ "${#commands[@]}" -ne 2 ]; then
	fail "README: two set-up commands" "found: ${commands[*]}"
fi
for c in "${commands[@]}"; do
	case $c in
	sudo*) fail "README: '$c' begins with sudo" ;;
	*) ok "README: '$c' does not begin with sudo" ;;
	esac
	as root "$tmp/without-sudo" "$c"
	status=$?
	check "README: '$c', as root without sudo: exit 0, apt-get as root,\
 then make" as_root_alone
	as nobody "$tmp/with-sudo" "$c"
	status=$?
	check "README: '$c', as a user with sudo: apt-get through sudo, then\
 make" through_sudo
done

# --run: what building and running take, and nothing more.
as root "$tmp/without-sudo" "tests/install-deps.sh --run"
check "install-deps.sh --run: installs only $run_set" \
    asked_line "apt-get as 0: install -y -q --no-install-recommends\
 --no-remove $run_set"
check "install-deps.sh --run: leaves Postfix's configuration alone" \
    not asked debconf-set-selections
as root "$tmp/without-sudo" "tests/install-deps.sh"
check "install-deps.sh: the tests' packages too" asked miltertest
check "install-deps.sh: Postfix set to no configuration" \
    asked "No configuration"

# Neither root nor sudo: one line saying what is missing and why, exit 1.
as nobody "$tmp/without-sudo" "tests/install-deps.sh --run"
status=$?
if [ "$status" -eq 1 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ] &&
    grep -q "missing: $run_set, which needs root.*sudo" "$tmp/out" &&
    ! asked apt-get
then
	ok "install-deps.sh without root or sudo: $(cat "$tmp/out")"
else
	fail "install-deps.sh without root or sudo: one line, exit 1" \
	    "exit status $status" "$(cat "$tmp/out")"
fi
as root "$tmp/without-sudo" "tests/install-deps.sh --all"
status=$?
check "install-deps.sh --all: refused (64), naming it" \
    [ "$status" -eq 64 -a "$(grep -c "'--all'" "$tmp/out")" -eq 1 ]

# A plan that removes a package is refused: one line naming what it would
# remove, exit 1, apt-get asked only to update and simulate, nothing
# installed and Postfix's configuration left alone.  (Through sudo, the
# line saying so comes before.)  The plans are as
# apt-get -s prints them on a host with Exim (Debian's default MTA) or
# Sendmail.
cat >"$tmp/plan-exim" <<'END'
Remv exim4 [4.96-15+deb12u4]
Remv exim4-daemon-light [4.96-15+deb12u4]
Inst postfix (3.7.11-0+deb12u1 Debian:12.8/stable [amd64])
Conf postfix (3.7.11-0+deb12u1 Debian:12.8/stable [amd64])
END
cat >"$tmp/plan-sendmail" <<'END'
Remv sendmail [8.17.1.9-2]
Remv sendmail-bin [8.17.1.9-2]
Inst postfix (3.7.11-0+deb12u1 Debian:12.8/stable [amd64])
Conf postfix (3.7.11-0+deb12u1 Debian:12.8/stable [amd64])
END

# refused WHO PATHDIR COMMAND PLAN PACKAGE...: COMMAND, run as WHO while
# apt-get -s prints $tmp/PLAN, refuses in one line naming each PACKAGE,
# exits 1, and neither installs nor configures anything.
refused() {
	local who=$1 dir=$2 c=$3 plan=$4 package named=yes

	shift 4
	cp "$tmp/$plan" "$tmp/plan"
	as "$who" "$dir" "$c"
	status=$?
	rm -f "$tmp/plan"
	for package; do
		grep -qw -- "$package" "$tmp/out" || named=no
	done
	if [ "$status" -eq 1 ] &&
	    [ "$(grep -vc "; doing it with sudo$" "$tmp/out")" -eq 1 ] &&
	    [ "$named" = yes ] && asked " -s " &&
	    ! grep -q "apt-get as [0-9]*: install" "$log" &&
	    ! asked DEBIAN_FRONTEND && ! asked debconf-set-selections
	then
		ok "$c as $who, $plan: refused: $(tail -n 1 "$tmp/out")"
	else
		fail "$c as $who, $plan: refused in one line, exit 1," \
		    "nothing installed" "exit status $status" \
		    "$(cat "$tmp/out")" "$(cat "$log")"
	fi
}

refused root "$tmp/without-sudo" tests/install-deps.sh plan-exim \
    exim4-daemon-light
refused nobody "$tmp/with-sudo" tests/install-deps.sh plan-exim \
    exim4-daemon-light
refused root "$tmp/without-sudo" tests/install-deps.sh plan-sendmail \
    sendmail-bin
refused root "$tmp/without-sudo" "tests/install-deps.sh --run" \
    plan-sendmail sendmail-bin
refused nobody "$tmp/with-sudo" "tests/install-deps.sh --run" plan-exim \
    exim4-daemon-light

# A plan that removes nothing is carried out, once simulated, with
# apt-get told to stop should it come to remove something after all.
cat >"$tmp/plan" <<'END'
Inst libmilter1.0.1 (8.17.1.9-2 Debian:12.8/stable [amd64])
Inst libmilter-dev (8.17.1.9-2 Debian:12.8/stable [amd64])
Conf libmilter1.0.1 (8.17.1.9-2 Debian:12.8/stable [amd64])
Conf libmilter-dev (8.17.1.9-2 Debian:12.8/stable [amd64])
END

# simulated_then_installed UID: the command ran, and the log holds a
# simulation by UID, then an install by UID with --no-remove.
simulated_then_installed() {
	local sim inst

	sim=$(grep -n -m 1 "apt-get as $1: -s .*install" "$log")
	inst=$(grep -n -m 1 "apt-get as $1: install -y .*--no-remove" "$log")
	[ "$status" -eq 0 ] && [ -n "$sim" ] && [ -n "$inst" ] &&
	    [ "${sim%%:*}" -lt "${inst%%:*}" ]
}
# simulated_then_installed_sudo: so by nobody, the install through sudo.
simulated_then_installed_sudo() {
	simulated_then_installed 65534 && asked "sudo as 65534: env\
 DEBIAN_FRONTEND=noninteractive apt-get install -y"
}
for c in "tests/install-deps.sh --run" "tests/install-deps.sh"; do
	as root "$tmp/without-sudo" "$c"
	status=$?
	check "$c, a plan removing nothing: simulated, then installed" \
	    simulated_then_installed 0
	as nobody "$tmp/with-sudo" "$c"
	status=$?
	check "$c through sudo, a plan removing nothing: simulated, then\
 installed through sudo" simulated_then_installed_sudo
done
rm -f "$tmp/plan"

# Everything installed (and Sendmail unpacked): not one apt-get, no sudo.
touch "$tmp/installed"
for c in "tests/install-deps.sh --run" "tests/install-deps.sh"; do
	as nobody "$tmp/with-sudo" "$c"
	status=$?
	check "$c, everything installed: exit 0, no apt-get, no sudo" \
	    [ "$status" -eq 0 -a ! -s "$log" ]
done
rm -f "$tmp/installed"

summary
[ "$failed" -eq 0 ]
