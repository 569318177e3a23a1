#!/usr/bin/env bats
# The per-client limit counts the connections a client holds (issue 10,
# item 6).  A program's socket closes as it exits, a moment before the
# server learns of the exit: a client that reconnects at once must not be
# refused for the child it no longer has, while a client that really
# holds its limit is still refused before any process starts for it.

load lib

setup() {
	STARTS=$BATS_TEST_TMPDIR/starts
	: >"$STARTS"
}

teardown() { common_teardown; }

started() { wc -l <"$STARTS" | tr -d ' '; }

@test "-C 1: a client that reconnects as soon as its connection ends is never refused (10,000 rounds)" {
	start_server -v -C 1:busy 127.0.0.1 0 echo ok
	# One connection at a time, each read to EOF, the next at once.
	run "$CLIENT" --storm 10000 --conc 1 -T 300 127.0.0.1 "$PORT"
	echo "client: $output"
	[ "$output" = "done 10000 ok 10000 failed 0" ]
	echo "refused: $(log_count 'tcpwarden: deny ' || true)"
	[ "$(log_count 'tcpwarden: deny ' || true)" -eq 0 ]
	[ "$(log_count 'tcpwarden: pid ')" -eq 10000 ]
	wait_for eval '[ "$(total)" = 0 ]'
}

@test "-C 1: a flood from a client that holds its connection is refused, and starts no process" {
	start_server -v -C 1:busy 127.0.0.1 0 sh -c 'echo "$TCPREMOTEIP" >>"$1"
	    echo ready; exec cat >/dev/null' sh "$STARTS"
	hold a 1 127.0.0.1
	[ "$HELD" = "held 1" ]
	# 300 connections, 30 at a time: each is closed by the server (EOF).
	run "$CLIENT" --storm 300 --conc 30 -T 60 127.0.0.1 "$PORT"
	echo "client: $output"
	[ "$output" = "done 300 ok 300 failed 0" ]
	wait_for eval '[ "$(log_count "per-client 1/1\$")" -eq 300 ]'
	[ "$(started)" -eq 1 ]
	[ "$(log_count 'tcpwarden: pid ')" -eq 1 ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 1/40 clients 1" ]
	# Every refused connection got the message, none a program's line.
	reply_is busy 127.0.0.1
	# Another client is served meanwhile.
	reply_is 'ready\n' -s 127.0.0.2 127.0.0.1
}
