#!/bin/sh
# run.sh -- run each libFuzzer target for a bounded time.
#
# usage: fuzz/run.sh SECONDS TARGET...
#
# fuzz/fuzz_NAME runs for SECONDS on fuzz/corpus/NAME, with the words
# of fuzz/NAME.dict.  What it finds new goes to a scratch directory, so
# the committed corpus stays as it is; an input that crashes, leaks or
# breaks an invariant is kept in fuzz/artifacts/ and fails the run.
# Prints each target's executions.
set -u

[ $# -ge 2 ] || { echo "usage: $0 SECONDS TARGET..." >&2; exit 2; }
secs=$1
shift
here=$(cd "$(dirname "$0")" && pwd) || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/inspect-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$here/artifacts"
status=0

for target; do
	name=$(basename "$target")
	name=${name#fuzz_}
	mkdir "$work/$name"
	set -- -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$here/artifacts/$name-"
	[ -f "$here/$name.dict" ] && set -- "$@" -dict="$here/$name.dict"
	# Body lines are cut every 1024 bytes: let inputs cross that.
	[ "$name" = print ] && set -- "$@" -max_len=8192
	# libFuzzer stops itself at max_total_time; timeout is the bound
	# should it not.
	timeout -k 10 $((secs + 120)) "$target" "$@" "$work/$name" \
	    "$here/corpus/$name" >"$work/$name.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$work/$name.log")
	added=$(sed -n 's/^stat::new_units_added: *//p' "$work/$name.log")
	if [ "$rc" -eq 0 ]; then
		echo "$name: ${execs:-?} executions in $secs s," \
		    "${added:-?} new inputs, nothing found"
	else
		echo "$name: FAILED (status $rc) after ${execs:-?} executions:"
		grep -E '^(fuzz_|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit)' \
		    "$work/$name.log" | head -20
		status=1
	fi
done
exit $status
