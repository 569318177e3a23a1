#!/usr/bin/env bats
# Accept queues (--queues): several sockets listen on the one port, a
# filter in the kernel puts every connection of a client in the same
# queue, and the server takes from each queue in turn.  Seen from outside:
# the listening sockets and their queues as ss(8) shows them (a listener's
# Recv-Q is the count of connections waiting to be accepted), the replies,
# the exit codes.  IPv6 clients: ipv6.bats.

load lib

bats_require_minimum_version 1.5.0

setup() {
	T=$BATS_TEST_TMPDIR
	BG=()
	PROG=(sh -c 'echo ready; exec cat >/dev/null')
}

teardown() {
	local p
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	common_teardown
}

# listeners: the Recv-Q of each socket listening on $PORT, one a line.
listeners() { ss -Htln "sport = :$PORT" | awk '{ print $2 }'; }

# queued N: N connections wait in the queues, in all.
queued() { [ "$(listeners | awk '{ n += $1 } END { print n + 0 }')" = "$1" ]; }

@test "--queues=N listens on N sockets on the one port (256 by default); SIGTERM closes them all" {
	local n
	for n in default 3 1; do
		if [ "$n" = default ]; then
			start_server 127.0.0.1 0 "${PROG[@]}"
			n=256
		else
			start_server --queues="$n" 127.0.0.1 0 "${PROG[@]}"
		fi
		[ "$(listeners | wc -l)" -eq "$n" ]
		reply_is 'ready\n' 127.0.0.1
		stop_server
		[ "$SERVER_STATUS" -eq 0 ]
		[ "$(listeners | wc -l)" -eq 0 ]
	done
}

@test "every connection of a client waits in its client's queue, whatever its port; all are served in turn" {
	local a k p
	# One slot, taken: whatever comes next waits in the queues.
	start_server -c 1 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	for a in $(seq 10 17); do
		for k in 1 2 3; do
			connect -s "127.0.0.$a" -T 60 127.0.0.1 </dev/null \
			    >"$T/reply.$a.$k" 3>&- &
			BG+=($!)
		done
	done
	wait_for queued 24
	# Three connections from each address, each with a port of its own:
	# a queue holds whole clients, so a multiple of 3 (two clients may
	# share a queue).  A hash of the ports would split them.
	listeners | tr '\n' ' '
	for k in $(listeners); do
		[ $((k % 3)) -eq 0 ]
	done
	# The slot frees: every waiting connection is served, one at a time.
	release a
	for p in "${BG[@]}"; do
		wait "$p"
	done
	BG=()
	for a in $(seq 10 17); do
		for k in 1 2 3; do
			[ "$(cat "$T/reply.$a.$k")" = ready ]
		done
	done
	queued 0
}

@test "--ip4-prefix=24: the queues are by client as -C counts them, so a whole /24 waits in one" {
	local a p
	start_server -c 1 --ip4-prefix=24 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.1.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	for a in $(seq 10 17); do
		connect -s "127.0.0.$a" -T 60 127.0.0.1 </dev/null >"$T/reply.$a" 3>&- &
		BG+=($!)
	done
	wait_for queued 8
	[ "$(listeners | grep -vx 0)" = 8 ]
	release a
	for p in "${BG[@]}"; do
		wait "$p"
	done
	BG=()
	for a in $(seq 10 17); do
		[ "$(cat "$T/reply.$a")" = ready ]
	done
}

@test "a port in use is exit 111 whatever the queues of either server; the second never joins the first" {
	local first second n
	for first in 1 16; do
		for second in 1 16; do
			start_server --queues="$first" 127.0.0.1 0 "${PROG[@]}"
			run --separate-stderr timeout -k 5 10 "$TCPWARDEN" \
			    --queues="$second" 127.0.0.1 "$PORT" cat </dev/null
			echo "queues $first, then $second: $status: $stderr"
			[ "$status" -eq 111 ]
			[ "${#stderr_lines[@]}" -eq 1 ]
			[[ "${stderr_lines[0]}" == "tcpwarden: fatal: unable to bind to 127.0.0.1:$PORT: "* ]]
			n=$(listeners | wc -l)
			[ "$n" -eq "$first" ]
			reply_is 'ready\n' 127.0.0.1
			stop_server
		done
	done
}

# joiner: in the background, a socket of this user bound with
# SO_REUSEPORT to 127.0.0.1:$PORT and listening, kept until the test ends;
# its first line says "joined", or "refused" when the bind failed.
joiner() {
	rm -f "$T/joiner"
	perl -MSocket -e '
	    $| = 1;
	    socket(my $s, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
	    setsockopt($s, SOL_SOCKET, SO_REUSEPORT, 1) or die "reuseport: $!";
	    bind($s, pack_sockaddr_in($ARGV[0], inet_aton("127.0.0.1")))
	        or do { print "refused\n"; exit 0 };
	    listen($s, 128) or die "listen: $!";
	    print "joined\n";
	    sleep 60;' "$PORT" >"$T/joiner" 2>&1 3>&- &
	BG+=("$!")
	wait_for grep -q . "$T/joiner"
}

@test "after start, a process of the same user can join the queues and gets no connection; with --queues=1 it cannot join" {
	local i
	start_server 127.0.0.1 0 "${PROG[@]}"
	joiner
	[ "$(cat "$T/joiner")" = joined ]
	[ "$(listeners | wc -l)" -eq 257 ]
	# Every connection is served: none waits in the joiner's queue, which
	# the filter never picks.
	for i in $(seq 20); do
		reply_is 'ready\n' -T 5 -s "127.0.0.$((i + 1))"
	done
	[ "$(listeners | awk '{ n += $1 } END { print n + 0 }')" = 0 ]
	# Once tcpwarden has gone the joiner keeps the port: a new tcpwarden
	# cannot bind it.
	stop_server
	run timeout -k 5 10 "$TCPWARDEN" 127.0.0.1 "$PORT" cat </dev/null
	[ "$status" -eq 111 ]
	start_server --queues=1 127.0.0.1 0 "${PROG[@]}"
	joiner
	[ "$(cat "$T/joiner")" = refused ]
	[ "$(listeners | wc -l)" -eq 1 ]
}

@test "--queues takes a number from 1 to 1024, strictly" {
	local v
	for v in 0 1025 -1 +4 abc '' 4x ' 4' 99999999999999999999; do
		run --separate-stderr timeout -k 5 10 "$TCPWARDEN" \
		    "--queues=$v" 127.0.0.1 0 cat </dev/null
		echo "--queues='$v': $status: $stderr"
		[ "$status" -eq 100 ]
		[ -z "$output" ]
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ "${stderr_lines[0]}" == "tcpwarden: usage: option --queues: '$v' is not a number from 1 to 1024; see tcpwarden --help" ]]
	done
	run --separate-stderr timeout -k 5 10 "$TCPWARDEN" --queues
	[ "$status" -eq 100 ]
	[ "$stderr" = "tcpwarden: usage: option --queues needs an argument; see tcpwarden --help" ]
	# The bounds themselves are numbers it takes: it goes on to ask for
	# the host.
	for v in 1 1024; do
		run --separate-stderr timeout -k 5 10 "$TCPWARDEN" \
		    "--queues=$v" </dev/null
		[ "$status" -eq 100 ]
		[[ "$stderr" == "tcpwarden: usage: missing host"* ]]
	done
}

@test "a flood from one address against -C: another address is served all the while" {
	local a i
	start_server -v -C 2 127.0.0.1 0 sh -c 'echo ready'
	# A closed-loop flood, stopped below once it has served its purpose.
	"$CLIENT" --storm 100000 --conc 100 --src 127.0.0.200-200 -T 60 \
	    127.0.0.1 "$PORT" >"$T/storm" 2>&1 3>&- &
	BG+=($!)
	wait_log 'deny 127\.0\.0\.200:[0-9]* per-client 2/2$'
	# Several other addresses, in case one shares the flooder's queue (a
	# chance of 1 in 256 each): every connection of each is served.
	for a in 201 202 203 204; do
		for i in 1 2 3 4 5; do
			reply_is 'ready\n' -s "127.0.0.$a" -T 30 127.0.0.1
		done
	done
	kill "${BG[0]}"
	wait "${BG[0]}" || true
	BG=()
	[ "$(log_count 'deny 127\.0\.0\.20[1-4]:')" -eq 0 ]
	[ "$(log_count 'pid [0-9]* from 127\.0\.0\.20[1-4]$')" -eq 20 ]
	wait_for eval '[ "$(total)" = 0 ]'
}
