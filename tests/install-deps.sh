#!/bin/sh
# Installs, from Debian's archive, what building, testing and benchmarking
# inspect needs, if anything is missing, and fetches a private Sendmail for
# the tests into a cache directory.  Run as root; changes nothing else on
# the machine.
set -eu

# m4 and the libraries after it are for the private Sendmail, whose own
# packages cannot be installed beside Postfix (see below); debhelper and
# the rest of that line, for building, linting, checking and installing
# the Debian package (tests/package/run.sh).
packages="gcc make pkg-config libc6-dev libmilter-dev libcmocka-dev
	miltertest postfix swaks python3 procps iproute2 valgrind clang
	m4 libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3
	libwrap0
	debhelper dpkg-dev fakeroot lintian systemd strace logrotate adduser"

# Sendmail conflicts with Postfix, so its packages are never installed:
# they are downloaded and unpacked into this cache, where
# tests/e2e/sendmail.sh runs them from, with a configuration of its own.
sendmail_packages="sendmail-bin sendmail-base sendmail-cf"
sendmail_cache=${INSPECT_SENDMAIL_CACHE:-/var/cache/inspect-tests/sendmail}

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
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps.sh: missing:$missing; run as root" \
		    "(apt-get needs it)" >&2
		exit 1
	fi
	# Postfix asks how to configure the system's own instance: not at
	# all.  The tests run their own private instance and never touch
	# /etc/postfix.
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $packages
	updated=yes
}

# The cache holds root/, the packages unpacked, and a file "ready" naming
# their versions, written last: a cache without it is remade whole.
fetch_sendmail() {
	if [ -f "$sendmail_cache/ready" ]; then
		echo "install-deps.sh: Sendmail is unpacked in $sendmail_cache"
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps.sh: no Sendmail in $sendmail_cache; run" \
		    "as root" >&2
		exit 1
	fi
	[ -n "${updated:-}" ] || apt-get update -q
	rm -rf "$sendmail_cache.new"
	mkdir -p "$sendmail_cache.new/debs"
	# apt-get downloads as _apt, which must be able to write there.
	chown _apt "$sendmail_cache.new/debs" 2>/dev/null || true
	# shellcheck disable=SC2086
	(cd "$sendmail_cache.new/debs" && apt-get download -q \
	    $sendmail_packages)
	for deb in "$sendmail_cache.new/debs"/*.deb; do
		dpkg-deb -x "$deb" "$sendmail_cache.new/root"
	done
	# Not set-group-id mail, as Debian ships it: a copy out of dpkg's
	# reach, which updates never replace, must not carry privileges.
	chmod g-s "$sendmail_cache.new/root/usr/libexec/sendmail/sendmail"
	for deb in "$sendmail_cache.new/debs"/*.deb; do
		dpkg-deb --show --showformat '${Package} ${Version}\n' "$deb"
	done >"$sendmail_cache.new/ready"
	rm -rf "$sendmail_cache"
	mv "$sendmail_cache.new" "$sendmail_cache"
	echo "install-deps.sh: Sendmail unpacked in $sendmail_cache:" \
	    "$(paste -sd ',' "$sendmail_cache/ready")"
}

install_packages
fetch_sendmail
