#!/bin/sh
# Installs, from Debian's archive, what building, testing and benchmarking
# inspect needs, if anything is missing, and fetches a private Sendmail for
# the tests into a cache directory; with --run, only what building and
# running inspect take.  What needs root runs as root: directly for root,
# else through sudo.  Changes nothing else on the machine, and never
# removes a package: Postfix, which the tests need, conflicts with every
# other mail server, so on a host running Exim or Sendmail apt-get would
# remove it to make room.  The install is simulated first, and a plan that
# removes anything is refused.
#
# usage: tests/install-deps.sh [--run]
set -eu

run="gcc make pkg-config libc6-dev libmilter-dev"

# liblua5.3-dev is the Lua miltertest links, whose parser test_record
# reads the recordings with.  m4 and the libraries after it are for the
# private Sendmail, whose own packages cannot be installed beside Postfix
# (see below); debhelper and the rest of that line, for building,
# linting, checking and installing
# the Debian package (tests/package/run.sh), and mount, for the private
# systemd that starts its unit (tests/package/systemd.sh).  The last
# line: the real milters inspect forwards to (tests/forward/), OpenDKIM
# with its key maker, pymilter for the test milter, and rspamd.
# Installing them may start the system's own OpenDKIM or rspamd, where
# a service manager runs: the tests never use them, they run their own.
# mandoc lints the manual pages (tests/cli/docs.sh).
packages="$run libcmocka-dev liblua5.3-dev
	miltertest postfix swaks python3 procps iproute2 valgrind clang
	m4 libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3
	libwrap0
	debhelper dpkg-dev fakeroot lintian systemd strace logrotate adduser
	mount mandoc
	opendkim opendkim-tools python3-milter rspamd"

# Sendmail conflicts with Postfix, so its packages are never installed:
# they are downloaded and unpacked into this cache, where
# tests/e2e/sendmail.sh runs them from, with a configuration of its own.
sendmail_packages="sendmail-bin sendmail-base sendmail-cf"
sendmail_cache=${INSPECT_SENDMAIL_CACHE:-/var/cache/inspect-tests/sendmail}

# as_root: set $as_root to what runs a command as root ("" for root,
# "sudo"), or say in one line that nothing can and exit 1.  WHAT is what
# needs root.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		as_root=
	elif command -v sudo >/dev/null 2>&1; then
		as_root=sudo
		echo "install-deps.sh: $1; doing it with sudo"
	else
		echo "install-deps.sh: $1, which needs root: run this as" \
		    "root, or install sudo" >&2
		exit 1
	fi
}

install_packages() {
	missing=
	for package in $packages; do
		dpkg-query -W -f '${Status}\n' "$package" 2>/dev/null |
		    grep -q ' installed$' || missing="$missing $package"
	done
	if [ -z "$missing" ]; then
		echo "install-deps.sh: every package needed is installed"
		return 0
	fi
	as_root "missing:$missing"
	$as_root apt-get update -q
	refuse_removal
	# Postfix asks how to configure the system's own instance: not at
	# all.  The tests run their own private instance and never touch
	# /etc/postfix.
	case "$missing " in
	*" postfix "*)
		echo "postfix postfix/main_mailer_type select No" \
		    "configuration" | $as_root debconf-set-selections ;;
	esac
	# --no-remove: should the plan have changed since, apt-get stops
	# rather than remove anything.
	# shellcheck disable=SC2086
	$as_root env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends --no-remove $missing
	updated=yes
}

# refuse_removal: simulate installing $missing (apt-get -s, which needs no
# root), and if the plan removes any package ("Remv", or "Purg"), say which
# in one line and exit 1, before anything is configured or installed.
refuse_removal() {
	# shellcheck disable=SC2086
	plan=$(apt-get -s -q install --no-install-recommends $missing) || {
		echo "install-deps.sh: apt-get cannot plan installing$missing" \
		    "(see above); nothing installed" >&2
		exit 1
	}
	removed=
	while read -r action package _; do
		case $action in
		Remv|Purg) removed="$removed $package" ;;
		esac
	done <<-EOF
	$plan
	EOF
	[ -n "$removed" ] || return 0
	case "$missing " in
	*" postfix "*)
		echo "install-deps.sh: installing what the tests need would" \
		    "remove$removed (Postfix, which they run, cannot stand" \
		    "beside another mail server); nothing installed: run the" \
		    "tests on a machine without one, such as a container;" \
		    "building and running inspect need no Postfix (--run)" >&2 ;;
	*)
		echo "install-deps.sh: installing$missing would" \
		    "remove$removed; nothing installed: install them yourself" \
		    "if removing that is what you want" >&2 ;;
	esac
	exit 1
}

# The cache holds root/, the packages unpacked, and a file "ready" naming
# their versions, written last: a cache without it is remade whole.
fetch_sendmail() {
	if [ -f "$sendmail_cache/ready" ]; then
		echo "install-deps.sh: Sendmail is unpacked in $sendmail_cache"
		return 0
	fi
	as_root "no Sendmail in $sendmail_cache"
	[ -n "${updated:-}" ] || $as_root apt-get update -q
	$as_root rm -rf "$sendmail_cache.new"
	$as_root mkdir -p "$sendmail_cache.new/debs"
	# apt-get downloads as _apt, which must be able to write there.
	$as_root chown _apt "$sendmail_cache.new/debs" 2>/dev/null || true
	# shellcheck disable=SC2086
	(cd "$sendmail_cache.new/debs" && $as_root apt-get download -q \
	    $sendmail_packages)
	for deb in "$sendmail_cache.new/debs"/*.deb; do
		$as_root dpkg-deb -x "$deb" "$sendmail_cache.new/root"
	done
	# Not set-group-id mail, as Debian ships it: a copy out of dpkg's
	# reach, which updates never replace, must not carry privileges.
	$as_root chmod g-s \
	    "$sendmail_cache.new/root/usr/libexec/sendmail/sendmail"
	for deb in "$sendmail_cache.new/debs"/*.deb; do
		dpkg-deb --show --showformat '${Package} ${Version}\n' "$deb"
	done | $as_root tee "$sendmail_cache.new/ready" >/dev/null
	$as_root rm -rf "$sendmail_cache"
	$as_root mv "$sendmail_cache.new" "$sendmail_cache"
	echo "install-deps.sh: Sendmail unpacked in $sendmail_cache:" \
	    "$(paste -sd ',' "$sendmail_cache/ready")"
}

case $# in
0) ;;
1)	[ "$1" = --run ] || {
		echo "install-deps.sh: unknown option '$1'" \
		    "(usage: install-deps.sh [--run])" >&2
		exit 64
	}
	packages=$run ;;
*)	echo "usage: install-deps.sh [--run]" >&2
	exit 64 ;;
esac
if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps.sh: not Debian (no dpkg-query): see that these" \
	    "are installed:" $packages >&2
	exit 0
fi
install_packages
[ "$packages" = "$run" ] || fetch_sendmail
