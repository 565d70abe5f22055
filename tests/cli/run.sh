#!/bin/bash
# Command-line tests: bad input fails fast with one clear line, listening
# failures are explained, outputs and signals behave.  Needs root for the
# permission cases (they run inspect as nobody).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
inspect=$top/inspect
passed=0
failed=0
pids=()

tmp=$(mktemp -d /tmp/inspect-cli.XXXXXX)
chmod 755 "$tmp"
cleanup() {
	# TERM, then KILL for what is still there after 8 s: never a wait
	# without end.
	[ ${#pids[@]} -eq 0 ] || terminate "${pids[@]}"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Wait until inspect says it listens (its first line on stderr).
wait_listening() {
	local err=$1 i
	for i in $(seq 100); do
		grep -q 'listening on' "$err" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# expect_reject NAME WANT_STATUS NEEDLE ARGS...: inspect exits with status
# WANT_STATUS within a second, with exactly one line on stderr that
# contains NEEDLE, and nothing on stdout.
expect_reject() {
	local name=$1 want=$2 needle=$3 rc start end lines
	shift 3
	start=$(date +%s%N)
	timeout 5 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	end=$(date +%s%N)
	lines=$(wc -l <"$tmp/err")
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit status $rc, wanted $want" "$(cat "$tmp/err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr, wanted 1" \
		    "$(cat "$tmp/err")"
	elif ! grep -qF -- "$needle" "$tmp/err"; then
		fail "$name" "stderr does not name '$needle'" \
		    "$(cat "$tmp/err")"
	elif [ -s "$tmp/out" ]; then
		fail "$name" "wrote to stdout" "$(cat "$tmp/out")"
	elif [ $(((end - start) / 1000000)) -gt "${limit_ms:-1000}" ]; then
		fail "$name" "took $(((end - start) / 1000000)) ms"
	else
		ok "$name"
	fi
}

# Start inspect in the background; its pid in $started.
start_inspect() {
	local err=$1
	shift
	# Emptied first: the last case's "listening on" is not this one's.
	: >"$err"
	"$@" >"$tmp/bg.out" 2>"$err" &
	started=$!
	pids+=("$started")
	wait_listening "$err"
}

# Stop a background inspect with a signal; its exit status in $stopped
# (137, SIGKILL's, if it was still there after 10 s).
stop_inspect() {
	local pid=$1 sig=${2:-TERM}
	kill -"$sig" "$pid" 2>/dev/null
	wait_until 10 gone "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	stopped=$?
}

# in_dev SETUP COMMAND...: become COMMAND (exec: call it in the background
# or a subshell) in a mount namespace of its own whose /dev is a new tmpfs
# holding only null (the real one, bind-mounted), once the shell commands
# SETUP have run there; the machine's /dev is left alone.
in_dev() {
	local setup=$1
	shift
	: >"$tmp/null"
	exec unshare --mount --propagation private /bin/sh -c '
		null=$1 setup=$2
		shift 2
		mount --bind /dev/null "$null" &&
		    mount -t tmpfs -o mode=755 tmpfs /dev &&
		    touch /dev/null && mount --bind "$null" /dev/null &&
		    eval "$setup" || exit 125
		exec "$@"' sh "$tmp/null" "$setup" "$@"
}

# A syslog daemon of this run's own on $tmp/syslog.sock: every datagram
# on a line of $tmp/syslog.got.
start_syslog_listener() {
	timeout 300 python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\n") + b"\n")' \
	    "$tmp/syslog.sock" "$tmp/syslog.got" &
	pids+=("$!")
	wait_until 10 test -S "$tmp/syslog.sock"
}

# A full message through a unix socket, driven by miltertest.
send_message() {
	cat >"$tmp/msg.lua" <<'EOF'
conn = mt.connect("unix:" .. sock, 40, 0.05)
assert(conn, "cannot connect")
assert(mt.conninfo(conn, "client.example", "192.0.2.7") == nil)
assert(mt.helo(conn, "client.example") == nil)
assert(mt.mailfrom(conn, "<a@example.org>") == nil)
assert(mt.rcptto(conn, "<b@example.net>") == nil)
assert(mt.header(conn, "Subject", "hi") == nil)
assert(mt.eoh(conn) == nil)
assert(mt.bodystring(conn, "hello\r\n") == nil)
assert(mt.eom(conn) == nil)
mt.disconnect(conn)
EOF
	timeout 20 miltertest -D sock="$1" -s "$tmp/msg.lua" >/dev/null 2>&1
}

# symlists NAME ARGS...: start inspect with ARGS on a unix socket and
# negotiate with it as an MTA offering SMFIF_SETSYMLIST; the macro lists
# of its reply, a line a stage ("STAGE NAME..."), go to $tmp/lists.
# Fails NAME and returns 1 if that cannot be done.
symlists() {
	local name=$1 sock=$tmp/lists.sock rc
	shift
	: >"$tmp/lists"
	if ! start_inspect "$tmp/lists.err" "$inspect" -s "unix:$sock" "$@"; then
		fail "$name" "inspect did not start" "$(cat "$tmp/lists.err")"
		stop_inspect "$started"
		return 1
	fi
	"$top/tests/cli/symlists.py" "$sock" >"$tmp/lists" 2>"$tmp/lists.py"
	rc=$?
	stop_inspect "$started"
	[ "$rc" -eq 0 ] && return 0
	fail "$name" "no lists read" "$(cat "$tmp/lists.py")"
	return 1
}

# asked STAGE: the names $tmp/lists asks for at STAGE, one a line.
asked() {
	awk -v s="$1" '$1 == s { for (i = 2; i <= NF; i++) print $i }' \
	    "$tmp/lists"
}

# asks STAGE NAME...: STAGE's list in $tmp/lists has every NAME.
asks() {
	local stage=$1 n
	shift
	for n; do
		asked "$stage" | grep -qxF -- "$n" || return 1
	done
}

# most_per_stage: the most names a stage of $tmp/lists asks for.
most_per_stage() {
	awk '{ if (NF - 1 > m) m = NF - 1 } END { print m + 0 }' "$tmp/lists"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/cli/run.sh: needs root (to run inspect as nobody)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
[ -x "$inspect" ] || { echo "no $inspect: run make" >&2; exit 1; }

# --- bad input ----------------------------------------------------------
expect_reject "unknown spec type" 64 "'foo'" "$inspect" -s foo:bar
expect_reject "spec without type" 64 "'3000'" "$inspect" 3000
expect_reject "port 0" 64 "'0'" "$inspect" -s inet:0
expect_reject "port 65536" 64 "'65536'" "$inspect" -s inet:65536
expect_reject "port 99999999" 64 "'99999999'" "$inspect" inet:99999999
expect_reject "port with junk" 64 "'3000x'" "$inspect" inet:3000x@127.0.0.1
expect_reject "empty unix path" 64 "unix:" "$inspect" -s unix:
expect_reject "long unix path" 64 "longer than 107" \
    "$inspect" -s "unix:/tmp/$(printf '%0120d' 0)"
expect_reject "bad IPv4 literal" 64 "'1.2.3'" "$inspect" -s 'inet:3000@[1.2.3]'
expect_reject "IPv6 literal for inet" 64 "'::1'" "$inspect" -s 'inet:3000@[::1]'
# Postfix's spelling, and an IPv6 address without brackets: libmilter's.
expect_reject "Postfix's inet:HOST:PORT" 64 "did you mean inet:3000@localhost?" \
    "$inspect" -s inet:localhost:3000
expect_reject "Postfix's inet:ADDR:PORT" 64 \
    "'127.0.0.1:3000' is Postfix's HOST:PORT; did you mean inet:3000@[127.0.0.1]?" \
    "$inspect" -s inet:127.0.0.1:3000
expect_reject "IPv6 address without brackets" 64 \
    "'::1' is not a host name; did you mean inet6:3000@[::1]?" \
    "$inspect" -s inet6:3000@::1
# The resolver's speed is the network's, not inspect's: allow it more.
limit_ms=10000 expect_reject "unresolvable host" 1 "no-such-host.invalid" \
    "$inspect" -s inet:3000@no-such-host.invalid
expect_reject "unknown option" 64 "'--bogus'" "$inspect" --bogus
expect_reject "unknown short option" 64 "'-x'" "$inspect" -x
expect_reject "unknown option points to --help" 64 \
    "unknown option '--x'; see inspect --help" "$inspect" --x
expect_reject "unknown short option points to --help" 64 \
    "unknown option '-x'; see inspect --help" "$inspect" -x
expect_reject "missing value" 64 "'--format'" "$inspect" --format
expect_reject "bad format" 64 "'xml'" "$inspect" --format xml
expect_reject "bad timeout" 64 "'10s'" "$inspect" --timeout 10s
expect_reject "bad macro name" 64 "'{x'" "$inspect" --macros '{x'
expect_reject "two specs" 64 "'unix:/a'" "$inspect" -s unix:/a unix:/b
expect_reject "bad env spec" 64 "'bogus'" \
    env MILTER_DEFAULT_CONNECTION_SPEC=bogus "$inspect"

# An id beyond the largest, (uid_t)-2, would wrap round (4294967296 to
# root): refused before anything starts, for each option that takes one.
for args in "-u 4294967296" "--user 4294967296" "--user-id 4294967296" \
    "-u 4294967295" "-g 4294967296" "--group 4294967296" \
    "--group-id 4294967296" "--unix-socket-group 4294967296" \
    "--user-id 99999999999999999999999"; do
	# shellcheck disable=SC2086 # option and value, split on purpose
	expect_reject "$args: out of range" 64 \
	    "${args#* } is out of range (the largest is 4294967294)" \
	    "$inspect" $args -s "unix:$tmp/big.sock"
done
check "an id out of range: no socket made" [ ! -e "$tmp/big.sock" ]

# --- --request-macros: the lists inspect's negotiation asks for ------------
if symlists "default lists" --request-macros -v; then
	check "default lists: one for each of the 7 stages" \
	    [ "$(awk '{ print $1 }' "$tmp/lists" | sort | tr '\n' ' ')" = \
	    "connect data envfrom envrcpt eoh eom helo " ]
	most=$(most_per_stage)
	check "default lists: at most 50 names a stage (most: $most)" \
	    [ "$most" -le 50 ]
	check "default lists: connect has j {daemon_name} {client_addr} _ v" \
	    asks connect j '{daemon_name}' '{client_addr}' _ v
	check "default lists: helo has the TLS macros" \
	    asks helo '{tls_version}' '{cipher}' '{cert_subject}'
	check "default lists: envfrom has i {mail_addr} {auth_type}" \
	    asks envfrom i '{mail_addr}' '{auth_type}'
	check "default lists: envrcpt has {rcpt_addr} {rcpt_mailer}" \
	    asks envrcpt '{rcpt_addr}' '{rcpt_mailer}'
	check "default lists: data has i" asks data i
	check "default lists: eom has {msg_id}" asks eom '{msg_id}'
	check "default lists: j and {client_addr} asked only at connect" \
	    [ "$(awk '{ for (i = 2; i <= NF; i++)
	        if ($i == "j" || $i == "{client_addr}") print $1 }' \
	        "$tmp/lists" | sort -u)" = connect ]
	total=$(sed -n 's/^inspect: macros: //p' "$tmp/lists.err" | wc -w)
	check "default lists: every one of the $total names asked somewhere" \
	    [ "$(cut -d' ' -f2- "$tmp/lists" | tr ' ' '\n' | sort -u |
	    wc -l)" = "$total" ]
	check "-v logs the list of each stage" \
	    grep -q 'macros requested at envrcpt: i {rcpt_addr}' \
	    "$tmp/lists.err"
fi

# A list of one's own is split the same way; an unknown name goes to
# every stage, in the order listed.
if symlists "own list" --request-macros \
    --macros '{client_addr},{mail_addr},i,{my_macro},{rcpt_addr}'; then
	want="connect {client_addr} {my_macro}
helo {my_macro}
envfrom {mail_addr} i {my_macro}
envrcpt i {my_macro} {rcpt_addr}
data i {my_macro}
eom {my_macro}
eoh {my_macro}"
	if [ "$(cat "$tmp/lists")" = "$want" ]; then
		ok "own list: each stage gets the names it can have"
	else
		fail "own list: each stage gets the names it can have" \
		    "$(cat "$tmp/lists")"
	fi
fi

# --macros rcpt_addr is {rcpt_addr} too (libmilter's look-up takes x for
# {x} only for one character), and {rcpt_host} is rcpt_host, which Postfix
# sends bare when main.cf lists it so.
cat >"$tmp/rcptmac.lua" <<'EOF'
conn = mt.connect("unix:" .. sock, 40, 0.05)
assert(conn, "cannot connect")
assert(mt.conninfo(conn, "client.example", "192.0.2.7") == nil)
assert(mt.mailfrom(conn, "<a@example.org>") == nil)
assert(mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "b@example.net",
    "rcpt_host", "example.net", "{rcpt_mailer}", "smtp") == nil)
assert(mt.rcptto(conn, "<b@example.net>") == nil)
mt.disconnect(conn)
EOF
sock=$tmp/rcptmac.sock
if start_inspect "$tmp/rcptmac.err" "$inspect" -s "unix:$sock" \
    --macros 'rcpt_addr {rcpt_host}' --output "$tmp/rcptmac.out" &&
    timeout 20 miltertest -D sock="$sock" -s "$tmp/rcptmac.lua" \
    >/dev/null 2>&1; then
	stop_inspect "$started"
	if grep -qF '[1]  macro {rcpt_addr}: "b@example.net"' \
	    "$tmp/rcptmac.out" && grep -qF '[1]  macro rcpt_host: ' \
	    "$tmp/rcptmac.out" && ! grep -q 'rcpt_mailer' "$tmp/rcptmac.out"
	then
		ok "--macros rcpt_addr shows {rcpt_addr}, {rcpt_host} rcpt_host"
	else
		fail "--macros rcpt_addr shows {rcpt_addr}, {rcpt_host} rcpt_host" \
		    "$(grep macro "$tmp/rcptmac.out")"
	fi
else
	fail "--macros rcpt_addr" "$(cat "$tmp/rcptmac.err")"
	stop_inspect "$started"
fi
# Asked for, a bare word goes where its braced name goes.
if symlists "bare rcpt_addr" --request-macros --macros rcpt_addr; then
	check "bare rcpt_addr: asked at envrcpt only, as {rcpt_addr}" \
	    [ "$(cat "$tmp/lists")" = "envrcpt rcpt_addr" ]
fi

# Sendmail refuses more than 50 names at a stage, and then every mail.
names() {
	local i
	for ((i = $1; i <= $2; i++)); do
		printf '{x%d},' "$i"
	done
}
if symlists "50 unknown names" --request-macros --macros "$(names 1 50)"; then
	check "50 unknown names: asked at every stage, 50 each" \
	    [ "$(awk 'NF == 51' "$tmp/lists" | wc -l)" -eq 7 ]
fi
expect_reject "51 names at connect refused" 64 \
    "51 macros to ask for at connect, over Sendmail's limit of 50" \
    "$inspect" -s "unix:$tmp/x.sock" --request-macros --macros "$(names 1 51)"
expect_reject "51 names at envfrom refused" 64 \
    "51 macros to ask for at envfrom, over Sendmail's limit of 50" \
    "$inspect" -s "unix:$tmp/x.sock" --request-macros \
    --macros "+$(names 1 16)"
expect_reject "a lower limit" 64 \
    "27 macros to ask for at connect, over --request-macros-limit 20" \
    "$inspect" -s "unix:$tmp/x.sock" --request-macros \
    --request-macros-limit 20
if symlists "--request-macros-limit none" --request-macros \
    --request-macros-limit none --macros "$(names 1 51)"; then
	check "--request-macros-limit none: 51 names asked at connect" \
	    [ "$(asked connect | wc -l)" -eq 51 ]
fi
expect_reject "limit 0" 64 "'0'" "$inspect" --request-macros \
    --request-macros-limit 0
expect_reject "limit not a number" 64 "'fifty'" "$inspect" --request-macros \
    --request-macros-limit fifty
expect_reject "limit without --request-macros" 64 "--request-macros-limit" \
    "$inspect" --request-macros-limit none

# --- listening failures --------------------------------------------------
port=$(free_port)
if start_inspect "$tmp/busy.err" "$inspect" -q -s "inet:$port@127.0.0.1"; then
	busy=$started
	expect_reject "port in use" 1 "Address already in use" \
	    "$inspect" -s "inet:$port@127.0.0.1"
	stop_inspect "$busy"
else
	fail "port in use" "first inspect did not start" "$(cat "$tmp/busy.err")"
fi
expect_reject "missing directory" 1 \
    "unix:$tmp/nonexistent/sock: directory $tmp/nonexistent does not exist" \
    "$inspect" -s "unix:$tmp/nonexistent/sock"
mkdir -m 700 "$tmp/private"
expect_reject "directory not writable" 1 "Permission denied" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$inspect" -s "unix:$tmp/private/sock"
expect_reject "privileged port" 1 "Permission denied" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$inspect" -s inet:1@127.0.0.1
echo "not a socket" >"$tmp/file"
expect_reject "path is not a socket" 1 "not a socket" \
    "$inspect" -s "unix:$tmp/file"
if [ "$(cat "$tmp/file")" = "not a socket" ]; then
	ok "file left alone"
else
	fail "file left alone"
fi

# A live socket is not stolen; a stale one is replaced.
if start_inspect "$tmp/live.err" "$inspect" --summary \
    --output "$tmp/live.out" -s "unix:$tmp/live.sock"; then
	live=$started
	expect_reject "live socket" 1 "another process is listening" \
	    "$inspect" -s "unix:$tmp/live.sock"
	if send_message "$tmp/live.sock"; then
		ok "first inspect still serves"
	else
		fail "first inspect still serves"
	fi
	stop_inspect "$live"
	# The second one's check that the socket is live, a connection
	# that hangs up at once, is no session of the first one's report:
	# after the run's start line comes the one session that was.
	if [ "$(sed -n '1s/ .*//p' "$tmp/live.out")" = "[0]" ] &&
	    [ "$(sed -n '2s/^\[1\] \([a-z]*\) .*/\1/p' "$tmp/live.out")" = \
	    negotiate ] && [ "$(grep -c '] summary ' "$tmp/live.out")" -eq 1 ]
	then
		ok "live socket: no phantom session in the first one's report"
	else
		fail "live socket: no phantom session in the first one's report" \
		    "$(grep -E '] (negotiate|close|summary) ' "$tmp/live.out")"
	fi
else
	fail "live socket" "first inspect did not start"
fi
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
    "$tmp/stale.sock"
if start_inspect "$tmp/stale.err" "$inspect" -s "unix:$tmp/stale.sock" &&
    send_message "$tmp/stale.sock"; then
	ok "stale socket replaced"
else
	fail "stale socket replaced" "$(cat "$tmp/stale.err")"
fi
stop_inspect "$started"

# Without a host, the start-up line says that every address listens.
for family in inet inet6; do
	port=$(free_port)
	if start_inspect "$tmp/any.err" "$inspect" -q -s "$family:$port"; then
		check "$family:PORT: start-up line says all addresses" \
		    grep -q "^inspect: listening on $family:$port (all addresses, pid " \
		    "$tmp/any.err"
		stop_inspect "$started"
	else
		fail "$family:PORT starts" "$(cat "$tmp/any.err")"
	fi
done
port=$(free_port)
if start_inspect "$tmp/one.err" "$inspect" -q -s "inet:$port@127.0.0.1"; then
	check "inet:PORT@HOST: start-up line says no more than the spec" \
	    grep -q "^inspect: listening on inet:$port@127.0.0.1 (pid " \
	    "$tmp/one.err"
	stop_inspect "$started"
else
	fail "inet:PORT@HOST starts" "$(cat "$tmp/one.err")"
fi

# A unix socket made by root with no --unix-socket-group is root:root
# 0660, which Postfix (not root) cannot reach: a one-line note says so and
# what to give.  Not with a group, nor a mode that lets anyone in, nor
# when not root.
mkdir -m 777 "$tmp/anyone"
n=0
for args in "" "--unix-socket-group nogroup" "--unix-socket-mode 0666" \
    "--unix-socket-mode 0600" nobody; do
	n=$((n + 1))
	sock=$tmp/anyone/note$n.sock
	case $args in
	"") want=1 mode=0660 name="root, no group" ;;
	nobody) want=0 name="not root" ;;
	*0600) want=1 mode=0600 name="root, $args" ;;
	*) want=0 name="root, $args" ;;
	esac
	if [ "$args" = nobody ]; then
		run=(setpriv --reuid=nobody --regid=nogroup --clear-groups
		    "$inspect" -q -s "unix:$sock")
	else
		# shellcheck disable=SC2206
		run=("$inspect" -q -s "unix:$sock" $args)
	fi
	if start_inspect "$tmp/note.err" "${run[@]}"; then
		stop_inspect "$started"
		notes=$(grep -c '^inspect: note: unix:.*--unix-socket-group' \
		    "$tmp/note.err")
		if [ "$notes" -ne "$want" ]; then
			fail "socket group note, $name: $notes notes, wanted $want" \
			    "$(cat "$tmp/note.err")"
		elif [ "$want" -eq 1 ] && ! grep -qF "inspect: note: unix:$sock \
is root:root $mode, " "$tmp/note.err"; then
			fail "socket group note, $name: names the socket" \
			    "$(cat "$tmp/note.err")"
		elif [ "$want" -eq 1 ] && ! grep -qF -- \
		    "give --unix-socket-group postfix" "$tmp/note.err"; then
			fail "socket group note, $name: says what to give" \
			    "$(cat "$tmp/note.err")"
		else
			ok "socket group note, $name: $want"
		fi
	else
		fail "socket group note, $name: inspect starts" \
		    "$(cat "$tmp/note.err")"
	fi
done

# The start-up line says what is reported where, and what else inspect
# does; no count of macros.  Options that report nothing asked for say so
# in a warning; -q alone does not warn, its line says "no report".
# Each case: ARGS|the line after "(pid N"|the warning, or nothing.
out=$tmp/startup.out
while IFS='|' read -r args line warning; do
	sock=$tmp/startup.sock
	# shellcheck disable=SC2086 # the case's options, split on purpose
	if start_inspect "$tmp/startup.err" "$inspect" -s "unix:$sock" \
	    $args; then
		stop_inspect "$started"
		got=$(sed -n "s/^inspect: listening on unix:[^ ]* (pid $started//p" \
		    "$tmp/startup.err")
		warned=$(grep -cv -e '^inspect: listening on ' \
		    -e '^inspect: note: ' -e '^inspect: PROBING: ' \
		    -e '^inspect: stopping on SIGTERM$' "$tmp/startup.err")
		if [ "$got" != "$line" ]; then
			fail "start-up line, $args" "got '$got'" \
			    "wanted '$line'"
		elif [ -n "$warning" ] &&
		    ! grep -qF -- "$warning" "$tmp/startup.err"; then
			fail "start-up line, $args: warns '$warning'" \
			    "$(cat "$tmp/startup.err")"
		elif [ -z "$warning" ] && [ "$warned" -ne 0 ]; then
			fail "start-up line, $args: no warning" \
			    "$(cat "$tmp/startup.err")"
		else
			ok "start-up line, ${args:-no options}${warning:+, warned}"
		fi
	else
		fail "start-up line, $args: starts" "$(cat "$tmp/startup.err")"
	fi
done <<EOF
|, text report to standard output)|
--format json --output $out --output -|, json report to $out and standard output)|
-q|, no report)|
-q --summary|, no report)|-q with --summary: -q reports nothing, not even the summary lines
--stages none|, no report)|nothing is reported: --stages leaves no stage
--stages none --summary|, text report to standard output, no stage, summary)|
--stages all,-body --no-summary|, text report to standard output, stages all but body)|
--stages mail,rcpt --summary|, text report to standard output, stages envfrom,envrcpt, summary)|
--request-macros --macros j|, text report to standard output, requesting macros)|
-q --record $tmp|, no report, recording to $tmp)|
--delay helo=1|, text report to standard output, probing)|
-q --forward inet:1@127.0.0.1|, no report), forwarding to inet:1@127.0.0.1|
EOF
sock=$tmp/worker.sock
if start_inspect "$tmp/worker.err" "$inspect" -q --n-workers 1 \
    --log-level all -s "unix:$sock"; then
	wait_until 10 grep -q 'worker.* serving' "$tmp/worker.err"
	stop_inspect "$started"
	check "--n-workers 1: '1 worker serving'" \
	    grep -qx "inspect: 1 worker serving" "$tmp/worker.err"
	check "--n-workers 1: 'stopping 1 worker on SIGTERM'" \
	    grep -qx "inspect: stopping 1 worker on SIGTERM" "$tmp/worker.err"
else
	fail "--n-workers 1 starts" "$(cat "$tmp/worker.err")"
fi
# With workers, the stop is said once, by the supervisor, at every level
# and to syslog's copy on standard error alike.
for levels in default all; do
	sock=$tmp/workers2.sock
	if start_inspect "$tmp/workers2.err" "$inspect" -q --n-workers 2 \
	    --log-level "$levels" -s "unix:$sock" && send_message "$sock"; then
		stop_inspect "$started"
		n=$(grep -ci 'stopping' "$tmp/workers2.err")
		if [ "$n" -eq 1 ] && grep -qx \
		    "inspect: stopping 2 workers on SIGTERM" "$tmp/workers2.err"
		then
			ok "--n-workers 2, --log-level $levels: stopping said once"
		else
			fail "--n-workers 2, --log-level $levels: stopping said once" \
			    "$(grep -i stopping "$tmp/workers2.err")"
		fi
	else
		fail "--n-workers 2, --log-level $levels: starts" \
		    "$(cat "$tmp/workers2.err")"
		stop_inspect "$started"
	fi
done

# --- syslog that cannot be reached -----------------------------------------
# No /dev/log, or one nobody listens on: one warning naming it, at
# start-up, on standard error; none when a syslog daemon listens.
n=0
for setup in ":" "touch /dev/log" "ln -s $tmp/syslog.sock /dev/log"; do
	n=$((n + 1))
	case $setup in
	ln*) start_syslog_listener || fail "syslog listener starts" ;;
	esac
	sock=$tmp/sl$n.sock
	if start_inspect "$tmp/sl.err" in_dev "$setup" "$inspect" --syslog \
	    -s "unix:$sock" && send_message "$sock"; then
		stop_inspect "$started"
		warned=$(grep -c "^inspect: cannot reach syslog at /dev/log: " \
		    "$tmp/sl.err")
		case $setup in
		:) want=1 why="No such file or directory" ;;
		touch*) want=1 why="Connection refused" ;;
		*) want=0 why= ;;
		esac
		if [ "$warned" -ne "$want" ]; then
			fail "syslog, /dev/log by '$setup': $warned warnings, wanted $want" \
			    "$(cat "$tmp/sl.err")"
		elif [ -n "$why" ] && ! grep -qF "/dev/log: $why;" "$tmp/sl.err"; then
			fail "syslog, /dev/log by '$setup': reason" "$(cat "$tmp/sl.err")"
		else
			ok "syslog, /dev/log by '$setup': $want warning(s)"
		fi
	else
		fail "syslog, /dev/log by '$setup': inspect serves" \
		    "$(cat "$tmp/sl.err")"
		stop_inspect "$started"
	fi
done
check "syslog: the listener got the start-up line" \
    grep -qF "listening on unix:$tmp/sl3.sock " "$tmp/syslog.got"
# A daemon without --log-path logs to syslog: its launcher says it.
(in_dev : timeout 10 "$inspect" --daemon -q -s "unix:$tmp/sl4.sock" \
    --pid-file "$tmp/sl4.pid" >/dev/null 2>"$tmp/sl4.err")
launched=$?
pid=$(tr -dc 0-9 <"$tmp/sl4.pid" 2>/dev/null)
[ -n "$pid" ] && pids+=("$pid")
if [ "$launched" -eq 0 ] && [ -n "$pid" ] &&
    [ "$(grep -c "^inspect: cannot reach syslog at /dev/log: " \
    "$tmp/sl4.err")" -eq 1 ]; then
	ok "syslog: --daemon's launcher says syslog cannot be reached"
else
	fail "syslog: --daemon's launcher says syslog cannot be reached" \
	    "exit status $launched" "$(cat "$tmp/sl4.err")"
fi
[ -n "$pid" ] && stop_inspect "$pid"

# --- outputs and signals --------------------------------------------------
# SIGTERM: exit 0, every event of the finished session written, and the
# socket (made by root, which libmilter leaves behind) removed.
for sig in TERM INT; do
	sock=$tmp/sig-$sig.sock
	if start_inspect "$tmp/sig.err" "$inspect" -s "unix:$sock" \
	    --output "$tmp/sig-$sig.out" && send_message "$sock"; then
		stop_inspect "$started" "$sig"
		if [ "$stopped" -ne 0 ]; then
			fail "SIG$sig exits 0" "exit status $stopped"
		elif ! grep -q '^\[1\] close ' "$tmp/sig-$sig.out"; then
			fail "SIG$sig exits 0" "no close event written"
		elif [ -e "$sock" ]; then
			fail "SIG$sig exits 0" "socket $sock left behind"
		else
			ok "SIG$sig exits 0, events written, socket removed"
		fi
	else
		fail "SIG$sig exits 0" "could not send a message"
		stop_inspect "$started"
	fi
done

# --output twice writes the same report to both; '-' is standard output.
sock=$tmp/two.sock
if start_inspect "$tmp/two.err" "$inspect" -s "unix:$sock" \
    --output "$tmp/two.a" --output - && send_message "$sock"; then
	stop_inspect "$started"
	if [ -s "$tmp/two.a" ] && cmp -s "$tmp/two.a" "$tmp/bg.out"; then
		ok "two outputs"
	else
		fail "two outputs" "reports differ or are empty"
	fi
else
	fail "two outputs" "$(cat "$tmp/two.err")"
	stop_inspect "$started"
fi

# --stages: all with a stage is all; -STAGE leaves one out; mail and rcpt
# are envfrom and envrcpt, in any case; the run's start line, no stage,
# is not left out.  A bad name: one line naming it.
for case in "all,-body|header|body" "-body,-header|envrcpt|header" \
    "MAIL,Rcpt|envrcpt|helo" "all,body|body|"; do
	IFS='|' read -r list has hasnt <<<"$case"
	sock=$tmp/stages.sock
	if start_inspect "$tmp/stages.err" "$inspect" -s "unix:$sock" \
	    --stages "$list" --output "$tmp/stages.out" &&
	    send_message "$sock"; then
		stop_inspect "$started"
		if ! grep -q "^\[1\] $has " "$tmp/stages.out"; then
			fail "--stages $list: reports $has" \
			    "$(cat "$tmp/stages.out")"
		elif [ -n "$hasnt" ] &&
		    grep -q "^\[1\] $hasnt " "$tmp/stages.out"; then
			fail "--stages $list: leaves $hasnt out" \
			    "$(cat "$tmp/stages.out")"
		elif ! head -n 1 "$tmp/stages.out" | grep -q '^\[0\] start '
		then
			fail "--stages $list: the start line first" \
			    "$(head -n 3 "$tmp/stages.out")"
		else
			ok "--stages $list: $has${hasnt:+, no $hasnt}"
		fi
	else
		fail "--stages $list" "$(cat "$tmp/stages.err")"
		stop_inspect "$started"
	fi
	rm -f "$tmp/stages.out"
done
expect_reject "--stages: a bad name" 64 "--stages: '-bdy' is not a stage" \
    "$inspect" --stages all,-bdy

# No stage: with the summary, the run's start line and the summary; with
# nothing reported, not even the start line.
for case in "--summary|2" "--no-summary|0"; do
	IFS='|' read -r summary want <<<"$case"
	sock=$tmp/none.sock
	: >"$tmp/none.out"
	if start_inspect "$tmp/none.err" "$inspect" -s "unix:$sock" \
	    --stages none "$summary" --output "$tmp/none.out" &&
	    send_message "$sock"; then
		stop_inspect "$started"
		if [ "$(wc -l <"$tmp/none.out")" -eq "$want" ] &&
		    { [ "$want" -eq 0 ] || { sed -n 1p "$tmp/none.out" |
		    grep -q '^\[0\] start ' && sed -n 2p "$tmp/none.out" |
		    grep -q '^\[1\] summary '; }; }; then
			ok "--stages none $summary: $want lines"
		else
			fail "--stages none $summary: $want lines" \
			    "$(cat "$tmp/none.out")"
		fi
	else
		fail "--stages none $summary" "$(cat "$tmp/none.err")"
		stop_inspect "$started"
	fi
done

# -q: no events and no start line, but the startup line is still there.
sock=$tmp/quiet.sock
if start_inspect "$tmp/quiet.err" "$inspect" -q -s "unix:$sock" &&
    send_message "$sock"; then
	stop_inspect "$started"
	if [ -s "$tmp/bg.out" ]; then
		fail "quiet" "events written" "$(head -3 "$tmp/bg.out")"
	else
		ok "quiet"
	fi
else
	fail "quiet" "$(cat "$tmp/quiet.err")"
	stop_inspect "$started"
fi

# --timeout reaches libmilter: a packet left half sent is given up after
# that many seconds.
for t in 1 2; do
	sock=$tmp/timeout-$t.sock
	if start_inspect "$tmp/timeout.err" "$inspect" -q --timeout "$t" \
	    -s "unix:$sock"; then
		secs=$("$top/tests/cli/partial-packet.py" "$sock")
		stop_inspect "$started"
		if awk -v s="$secs" -v t="$t" 'BEGIN { exit !(s >= t - 0.2 && s < t + 1) }'; then
			ok "--timeout $t hangs up after $secs s"
		else
			fail "--timeout $t" "hung up after $secs s"
		fi
	else
		fail "--timeout $t" "$(cat "$tmp/timeout.err")"
		stop_inspect "$started"
	fi
done

# An output reached through a symbolic link is refused.
ln -s "$tmp/target" "$tmp/link"
expect_reject "output through a symlink" 1 \
    "--output $tmp/link: a symbolic link; give the file itself" \
    "$inspect" -s "unix:$tmp/x.sock" --output "$tmp/link"
[ -e "$tmp/target" ] && fail "symlink target untouched" || ok "symlink target untouched"

# --- probing ---------------------------------------------------------------
# Bad probe values: one line naming the value, exit 64, nothing started.
sock=unix:$tmp/probe.sock
expect_reject "--reply: unknown stage" 64 "unknown stage 'rcpt'" \
    "$inspect" -s "$sock" --reply 'rcpt=reject'
expect_reject "--reply: unknown answer" 64 "unknown answer 'refuse'" \
    "$inspect" -s "$sock" --reply 'helo=refuse'
expect_reject "--reply: a code not 4xx or 5xx" 64 "code '250'" \
    "$inspect" -s "$sock" --reply 'envrcpt=250 2.0.0 fine'
expect_reject "--reply: X.Y.Z of another class" 64 \
    "'4.7.1' is not a status 5" \
    "$inspect" -s "$sock" --reply 'envrcpt=550 4.7.1 no'
expect_reject "--reply: skip at connect" 64 \
    "'skip' is not possible at connect" \
    "$inspect" -s "$sock" --reply 'connect=skip'
expect_reject "--reply: MATCH at a stage without argument" 64 \
    "data has nothing to match" "$inspect" -s "$sock" --reply 'data/x=reject'
expect_reject "--delay: not a number" 64 "'soon' is not a number of seconds" \
    "$inspect" -s "$sock" --delay 'eom=soon'
expect_reject "--replace-body: a missing file" 64 \
    "--replace-body $tmp/none: No such file" \
    "$inspect" -s "$sock" --replace-body "$tmp/none"
expect_reject "--change-header: a bad index" 64 "Name[INDEX]: value" \
    "$inspect" -s "$sock" --change-header 'Subject[0]: x'
expect_reject "--no-reply yes with a delayed stage" 64 \
    "--no-reply yes: helo is answered or delayed" \
    "$inspect" -s "$sock" --no-reply yes --delay helo=1
if [ ! -e "$tmp/probe.sock" ]; then
	ok "probe: a bad value starts nothing"
else
	fail "probe: a bad value starts nothing" "socket made"
fi

# SIGTERM ends a --delay under way: inspect stops as fast as without one.
cat >"$tmp/delay.lua" <<'EOF'
conn = mt.connect("unix:" .. sock, 40, 0.05)
assert(conn, "cannot connect")
assert(mt.conninfo(conn, "client.example", "192.0.2.7") == nil)
mt.helo(conn, "client.example")
EOF
if start_inspect "$tmp/delay.err" "$inspect" -s "unix:$tmp/delay.sock" \
    --delay helo=60 --output "$tmp/delay.out"; then
	timeout 30 miltertest -D sock="$tmp/delay.sock" -s "$tmp/delay.lua" \
	    >/dev/null 2>&1 &
	pids+=("$!")
	if wait_until 10 grep -q '^\[1\] helo ' "$tmp/delay.out"; then
		start=$(date +%s)
		stop_inspect "$started"
		took=$(($(date +%s) - start))
		if [ "$stopped" -eq 0 ] && [ "$took" -le 7 ]; then
			ok "SIGTERM ends a 60 s --delay (stopped in ${took} s)"
		else
			fail "SIGTERM ends a 60 s --delay" \
			    "exit status $stopped after ${took} s"
		fi
	else
		fail "SIGTERM ends a 60 s --delay" "helo never reported"
		stop_inspect "$started"
	fi
else
	fail "SIGTERM ends a 60 s --delay" "$(cat "$tmp/delay.err")"
fi

# --help and --version go to standard output and exit 0.
if "$inspect" --help | grep -q -- '--connection-spec' &&
    "$inspect" --version | grep -q '^inspect [0-9]'; then
	ok "help and version"
else
	fail "help and version"
fi
# Every line of --help fits a terminal of 80 columns.
long=$("$inspect" --help | awk 'length > 80 { print length ": " $0 }')
if [ -z "$long" ]; then
	ok "--help: every line fits 80 columns"
else
	fail "--help: every line fits 80 columns" "$long"
fi
# --version names the libmilter release built against (pkg-config's, as
# the Makefile reads it) and the run-time API version.
release=$(pkg-config --modversion milter 2>/dev/null ||
    pkg-config --modversion "$top/milter.pc")
version=$("$inspect" --version)
if [[ $version =~ ^inspect\ [0-9.]+\ \(libmilter\ (.*),\ API\ [0-9]+\.[0-9]+\.[0-9]+\)$ ]] &&
    [ "${BASH_REMATCH[1]}" = "$release" ]; then
	ok "version names libmilter $release and its API"
else
	fail "version names libmilter $release and its API" "$version"
fi

# No function of the C library is replaced: whatever inspect defines for
# the dynamic linker (functions, T or W), libc does not.
libc=$(ldd "$inspect" | awk '$1 ~ /^libc\.so/ { print $3 }')
interposed=$(comm -12 \
    <(nm -D --defined-only "$inspect" | awk '$2 ~ /^[TW]$/ { print $3 }' |
	sed 's/@.*//' | sort -u) \
    <(nm -D --defined-only "$libc" | awk '$2 ~ /^[TWi]$/ { print $3 }' |
	sed 's/@.*//' | sort -u))
if [ -n "$libc" ] && [ -z "$interposed" ]; then
	ok "no function of $libc is interposed"
else
	fail "no function of ${libc:-libc} is interposed" "$interposed"
fi

summary
[ "$failed" -eq 0 ]
