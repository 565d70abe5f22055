# lib.sh -- shell helpers shared by the test and benchmark scripts.
# Sourced; the caller sets passed=0 and failed=0 if it counts results.

ok() {
	echo "ok $*"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

# check DESCRIPTION COMMAND...: one result line for COMMAND's status.
check() {
	local what=$1

	shift
	if "$@"; then
		ok "$what"
	else
		fail "$what"
	fi
}

summary() {
	echo "$passed passed, $failed failed"
}

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s, at most
# SECONDS long.
wait_until() {
	local tries=$(($1 * 10))

	shift
	while ! "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || return 1
		sleep 0.1
	done
}

# gone PID...: every PID has exited (a zombie not yet reaped counts).
gone() {
	local pid state

	for pid; do
		state=$(ps -o stat= -p "$pid" 2>/dev/null) || continue
		[ "${state#Z}" != "$state" ] || return 1
	done
}
