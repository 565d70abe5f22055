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
    asked_line "apt-get as 0: install -y -q --no-install-recommends $run_set"
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
