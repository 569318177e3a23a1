#!/usr/bin/env bats
# Children started without waiting for their exec (src/launch.c), which
# is the way below -v with no look-up or banner: execvp's search of PATH
# done with raw system calls, a program that cannot run counted and
# logged, and our side of each connection closed once its program runs,
# even when no other connection comes.  Each test runs the same below -v
# (launched) and at -v (spawned, waiting for the exec), so the two ways
# are held to one behaviour.  The sanitizer build always spawns.

load lib

bats_require_minimum_version 1.5.0

NOPROG=/nonexistent/tcpwarden-no-program

setup() {
	T=$BATS_TEST_TMPDIR
	SERVER_PREFIX=()
}

teardown() { common_teardown; }

# totals_line: the totals line of a fresh state dump.
totals_line() {
	state >/dev/null || return 1
	grep '^tcpwarden: totals: ' "$LOG" | tail -n 1
}

@test "a program found on PATH past a directory where it is not executable runs; alone there, Permission denied" {
	mkdir "$T/a" "$T/b"
	printf '#!/bin/sh\necho not this one\n' >"$T/a/prog"
	printf '#!/bin/sh\necho found\n' >"$T/b/prog"
	chmod 644 "$T/a/prog"
	chmod 755 "$T/b/prog"
	for level in '' -v; do
		SERVER_PREFIX=(env "PATH=$T/a:$T/b:/usr/bin:/bin")
		start_server $level 127.0.0.1 0 prog
		run "$CLIENT" -T 10 127.0.0.1 "$PORT" </dev/null
		[ "$output" = found ]
		stop_server
		SERVER_PREFIX=(env "PATH=$T/a")
		start_server $level 127.0.0.1 0 prog
		run "$CLIENT" -T 10 127.0.0.1 "$PORT" </dev/null
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		wait_log "^tcpwarden: warning: pid [0-9]* from 127\.0\.0\.1:[0-9]*: unable to run prog: Permission denied\$"
		stop_server
	done
}

@test "a program that cannot run, below -v: one warning naming the pid and the connection, counted as not started, the client closed" {
	start_server 127.0.0.1 0 "$NOPROG"
	run "$CLIENT" -T 10 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_log "^tcpwarden: warning: pid [0-9]* from 127\.0\.0\.1:[0-9]*: unable to run $NOPROG: No such file or directory\$"
	[ "$(log_count 'warning: ')" -eq 1 ]
	wait_for eval '[ "$(total)" = 0 ]'
	run totals_line
	echo "$output"
	[[ $output == "tcpwarden: totals: accepted 1 unstarted 1 "* ]]
}

@test "our side of a connection closes once its program runs, with no other connection to come: the client sees the end while the program still runs" {
	local level
	mkfifo "$T/go"
	for level in '' -v; do
		# The program gives up the connection, then waits for the
		# test; the client must see EOF before the test lets it go.
		start_server $level 127.0.0.1 0 sh -c \
		    'echo hello; exec >&- <&-; read x <"$1"' sh "$T/go"
		run "$CLIENT" -T 10 127.0.0.1 "$PORT" </dev/null
		[ "$status" -eq 0 ]
		[ "$output" = hello ]
		echo go >"$T/go"
		wait_for eval '[ "$(total)" = 0 ]'
		stop_server
	done
}

@test "children that exec while the server goes on: 20 clients at once, each program sees its own client, every count back to 0" {
	local i pids=()
	start_server -c 100 -C 100 127.0.0.1 0 sh -c 'echo "$TCPREMOTEIP"'
	# Twenty clients at once, each from its own address, 25 connections
	# each: every reply must name the client that got it.
	for i in $(seq 2 21); do
		(
			for _ in $(seq 25); do
				out=$("$CLIENT" -T 20 -s "127.0.0.$i" 127.0.0.1 \
				    "$PORT" </dev/null) || exit 1
				[ "$out" = "127.0.0.$i" ] ||
				    { echo "127.0.0.$i got '$out'"; exit 1; }
			done
		) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
	settled 100
	run totals_line
	echo "$output"
	[[ $output == "tcpwarden: totals: accepted 500 unstarted 0 exit-0 500 "* ]]
}
