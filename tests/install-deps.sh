#!/bin/sh
# Installs, from Debian's archive, what building, testing and benchmarking
# inspect needs, if anything is missing.  Run as root; changes nothing else
# on the machine.
set -eu

packages="gcc make pkg-config libc6-dev libmilter-dev libcmocka-dev
	miltertest postfix swaks python3 procps iproute2 valgrind clang"

missing=
for package in $packages; do
	dpkg-query -W -f '${Status}\n' "$package" 2>/dev/null |
	    grep -q ' installed$' || missing="$missing $package"
done
if [ -z "$missing" ]; then
	echo "install-deps.sh: everything needed is installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: missing:$missing; run as root (apt-get" \
	    "needs it)" >&2
	exit 1
fi
# Postfix asks how to configure the system's own instance: not at all.
# The tests run their own private instance and never touch /etc/postfix.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $packages
