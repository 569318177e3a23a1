#!/usr/bin/env bats
# The path from accept to exec (src/spawn.c): what a child holds before it
# runs the program and for how long, the stack the program's start needs,
# the pidfds when the accept queues could not all be opened, and the log
# lines of a program that cannot run.  Issues 10 and 11.

load lib

bats_require_minimum_version 1.5.0

FAKEIDENT=$TOP/build/fakeident
NOPROG=/nonexistent/tcpwarden-no-program

setup() {
	T=$BATS_TEST_TMPDIR
	BG=()
}

teardown() {
	local p
	common_teardown
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# small_netns: a private network namespace (netns) where port 113 is ours
# to take and TCP buffers are small (8 KiB at most), so that a client that
# never reads soon stops whoever writes to it.
small_netns() {
	netns 'echo "4096 4096 8192" >/proc/sys/net/ipv4/tcp_wmem &&
	    echo "4096 4096 8192" >/proc/sys/net/ipv4/tcp_rmem'
	command -v ss >/dev/null || skip "ss (iproute2) is needed"
}

# bg OUT CMD...: run CMD in the background, its output in OUT, killed at
# teardown; without our descriptors above 2 (close_fds).
bg() {
	local out=$1
	shift
	(
		close_fds
		exec "$@"
	) >"$out" 2>&1 &
	BG+=("$!")
}

# idle_client NAME: in the namespace, a client that connects and then
# neither reads nor sends until the test ends.
idle_client() {
	hold "$1" 1 --how noread
	[ "$HELD" = "connected 1" ]
}

listening() { "${IN_NS[@]}" ss -Hltn "sport = :$PORT" | grep -c LISTEN; }

# restart_at_once: SIGTERM the server while its child is busy before exec;
# no socket listens on the port after it, and a new server binds it at
# once and serves.
restart_at_once() {
	local code
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" && code=0 || code=$?
	SERVER_PID=
	[ "$code" -eq 0 ]
	echo "listening on $PORT after SIGTERM: $(listening)"
	[ "$(listening)" -eq 0 ]
	start_via "${IN_NS[@]}" -- 127.0.0.1 "$PORT" echo second
	run "${IN_NS[@]}" "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = second ]
}

@test "a child waiting on a silent ident server holds no listening socket: a restart binds the port at once" {
	[ -x "$FAKEIDENT" ] || skip "build the lookup helpers (make helpers)"
	small_netns
	bg "$T/ident.out" "${IN_NS[@]}" "$FAKEIDENT" silent
	wait_for grep -qx ready "$T/ident.out"
	start_via "${IN_NS[@]}" -- -v -r -t 30 127.0.0.1 0 echo first
	idle_client a
	# The child has asked, and waits for an answer that never comes.
	wait_for grep -q '^query ' "$T/ident.out"
	[ "$(log_count '^tcpwarden: pid ')" -eq 1 ]
	restart_at_once
}

@test "a child writing a banner to a client that never reads holds no listening socket, and gives up after -t" {
	local banner
	small_netns
	banner=$(head -c 100000 /dev/zero | tr '\0' b)
	start_via "${IN_NS[@]}" -- -v -t 1 -B "$banner" --queues=1 127.0.0.1 0 \
	    echo first
	idle_client a
	wait_log '^tcpwarden: pid '
	# Stuck in its write until -t has passed, then it ends, 111.
	wait_log '^tcpwarden: end [0-9]* status 28416$'
	run ! log_has '^tcpwarden: ok '
	# Again, with SIGTERM while the child is stuck in its write.
	stop_server
	start_via "${IN_NS[@]}" -- -v -t 30 -B "$banner" 127.0.0.1 0 echo first
	idle_client b
	wait_log '^tcpwarden: pid '
	restart_at_once
}

@test "one accept queue for want of descriptors: the children still get pidfds" {
	local n
	# 250 descriptors: too few for 256 queues, enough for one queue and
	# a pidfd for most of the 260 children held (from 256 live children
	# on, every child that lives gets one as far as they go: reap.h).
	start_via bash -c 'ulimit -n 250 || exit 99; exec "$@"' bash -- \
	    -v -c 300 -C 300 127.0.0.1 0 sh -c 'echo ready; exec cat >/dev/null'
	log_has '^tcpwarden: warning: .*; one accept queue, not 256$'
	hold a 260
	[ "$HELD" = "held 260" ]
	n=$(find "/proc/$SERVER_PID/fd" -lname 'anon_inode:\[pidfd\]' | wc -l)
	echo "pidfds held by the server: $n"
	[ "$n" -gt 0 ]
	release a
}

# args_script: a program with no #! line, which execvp hands to /bin/sh.
args_script() {
	printf 'echo "args $#"\n' >"$T/noshebang"
	chmod +x "$T/noshebang"
}

@test "a script without #! and 40,000 arguments runs, on both paths" {
	args_script
	start_server 127.0.0.1 0 "$T/noshebang" $(seq 40000)
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = "args 40000" ]
	stop_server
	start_server -B 'hi ' 127.0.0.1 0 "$T/noshebang" $(seq 40000)
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = "hi args 40000" ]
}

# one_failure: the log of one connection to a program that cannot run:
# pid, then one warning naming the pid and the connection, no ok, and the
# end with exit 111.
one_failure() {
	local pid pidline warnline
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	wait_log '^tcpwarden: end '
	cat "$LOG"
	[ "$(log_count '^tcpwarden: pid ')" -eq 1 ]
	pid=$(sed -n 's/^tcpwarden: pid \([0-9]*\) from 127.0.0.1$/\1/p' "$LOG")
	[ -n "$pid" ]
	[ "$(log_count 'warning: ')" -eq 1 ]
	log_has "^tcpwarden: warning: pid $pid from 127.0.0.1:[0-9]*: unable to run $NOPROG: No such file or directory\$"
	pidline=$(grep -n '^tcpwarden: pid ' "$LOG" | cut -d: -f1)
	warnline=$(grep -n 'warning: ' "$LOG" | cut -d: -f1)
	[ "$warnline" -gt "$pidline" ]
	run ! log_has '^tcpwarden: ok '
	log_has "^tcpwarden: end $pid status 28416\$"
}

@test "a program that cannot run: pid, one warning with the pid and the connection, no ok; both paths" {
	start_server -v 127.0.0.1 0 "$NOPROG"
	one_failure
	stop_server
	start_server -v -B hello 127.0.0.1 0 "$NOPROG"
	one_failure
}

@test "descriptors inherited from 3 to 63 reach the program, those from 64 up do not; both paths alike" {
	local opts
	for opts in "" "-B x"; do
		# shellcheck disable=SC2086
		start_via bash -c 'exec 5</dev/null 70</dev/null; exec "$@"' \
		    bash -- $opts 127.0.0.1 0 "$CHILDSTATE"
		childstate
		echo "with '$opts': $(grep '^fds:' <<<"$out")"
		has 'fds: 0 1 2 5'
		stop_server
	done
}
