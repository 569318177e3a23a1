#!/usr/bin/env bats
# What the server says about itself: the start line at -v, and the SIGUSR1
# dump: clients as prefixes with their length, each client's own limit,
# networks under -N, and the totals since start.

load lib

setup() {
	PROG=(sh -c 'echo ready; exec cat >/dev/null')
}

teardown() { common_teardown; }

# totals: the totals and refused lines of a fresh dump, one a line.
totals() {
	state >/dev/null || return 1
	grep -E '^tcpwarden: (totals|refused): ' "$LOG" | tail -n 2
}

@test "-v: a start line names the address, the port and the queues" {
	start_server -v 127.0.0.1 0 true
	wait_log '^tcpwarden: status: 0/40$'
	[ "$(head -n 1 "$LOG")" = "tcpwarden: start: bound 127.0.0.1:$PORT queues 256" ]
	stop_server
	start_server -v --queues=1 ::1 0 true
	wait_log '^tcpwarden: status: 0/40$'
	[ "$(head -n 1 "$LOG")" = "tcpwarden: start: bound [::1]:$PORT queues 1" ]
	stop_server
	# Not at -Q.
	start_server 127.0.0.1 0 true
	kill -USR1 "$SERVER_PID"
	wait_log 'state: '
	run log_count 'start: '
	[ "$output" -eq 0 ]
}

@test "the dump shows a client as its prefix with the length, when shorter" {
	start_server -v --ip4-prefix=24 -C 3 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.7 127.0.0.1
	[ "$HELD" = "held 1" ]
	run state
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.0/24 1/3 pids "[0-9]+$ ]]
	release_all
	stop_server
	# A whole address has no length written.
	start_server -v ::1 0 "${PROG[@]}"
	hold b 1 ::1
	run state
	[[ "${lines[1]}" =~ ^"tcpwarden: client [::]/64 1/10 pids "[0-9]+$ ]]
	release_all
	stop_server
	start_server -v --ip6-prefix=128 ::1 0 "${PROG[@]}"
	hold c 1 ::1
	run state
	[[ "${lines[1]}" =~ ^"tcpwarden: client [::1] 1/10 pids "[0-9]+$ ]]
}

@test "the dump shows the limit a rule's MAXCONNIP set for a client (issue 10)" {
	printf '%s\n' '127.0.200.1:allow,MAXCONNIP="3"' ':allow' \
	    >"$BATS_TEST_TMPDIR/rules"
	start_server -v -C 2 --rules="$BATS_TEST_TMPDIR/rules" 127.0.0.1 0 \
	    "${PROG[@]}"
	hold a 3 -s 127.0.200.1 127.0.0.1
	[ "$HELD" = "held 3" ]
	hold b 1 -s 127.0.0.5 127.0.0.1
	reply_is '' -s 127.0.200.1 127.0.0.1
	wait_log 'deny 127\.0\.200\.1:[0-9]* per-client 3/3$'
	run state
	[[ "$output" == *"tcpwarden: client 127.0.200.1 3/3 pids "* ]]
	[[ "$output" == *"tcpwarden: client 127.0.0.5 1/2 pids "* ]]
}

@test "-N: the dump lists the networks with their counts and limits" {
	start_server -v -N 5 --net4-prefix=16 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	hold b 2 -s 127.0.1.2 127.0.0.1
	hold c 1 -s 127.1.0.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 4/40 clients 3 nets 2" ]
	[ "${#lines[@]}" -eq 6 ]
	[[ "$output" == *"tcpwarden: net 127.0.0.0/16 3/5"* ]]
	[[ "$output" == *"tcpwarden: net 127.1.0.0/16 1/5"* ]]
	# The net lines come after every client line.
	[[ "${lines[4]}" == "tcpwarden: net "* ]]
	[[ "${lines[5]}" == "tcpwarden: net "* ]]
	# Without -N, no networks.
	release_all
	stop_server
	start_server -v 127.0.0.1 0 "${PROG[@]}"
	hold d 1 127.0.0.1
	run state
	[ "${lines[0]}" = "tcpwarden: state: 1/40 clients 1" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "the dump's totals: accepted, refused by reason, ended by status" {
	printf '%s\n' '127.0.0.9:deny' ':allow' >"$BATS_TEST_TMPDIR/rules"
	# The program exits as the client asks, or holds on.
	start_server -v -C 1 -N 2 --rules="$BATS_TEST_TMPDIR/rules" \
	    127.0.0.1 0 sh -c 'echo ready; read how
	    case $how in kill) kill -KILL $$ ;; hold) exec cat ;; esac
	    exit "$how"'
	run totals
	[ "${lines[0]}" = "tcpwarden: totals: accepted 0 unstarted 0 exit-0 0 exit-other 0 signal 0" ]
	[ "${lines[1]}" = "tcpwarden: refused: rule 0 drop 0 per-client 0 per-net 0 rate 0 proxy 0" ]
	echo 0 | connect >/dev/null
	echo 3 | connect -s 127.0.0.2 >/dev/null
	echo kill | connect -s 127.0.0.3 >/dev/null
	wait_for eval '[ "$(log_count " end ")" -eq 3 ]'
	# One held from .1 and one from .2: .1 is full, the net is full.
	hold a 1 127.0.0.1
	hold b 1 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is '' 127.0.0.1
	reply_is '' -s 127.0.0.4 127.0.0.1
	reply_is '' -s 127.0.0.9 127.0.0.1
	wait_log 'deny 127\.0\.0\.9:[0-9]* rule '
	run totals
	[ "${lines[0]}" = "tcpwarden: totals: accepted 8 unstarted 0 exit-0 1 exit-other 1 signal 1" ]
	[ "${lines[1]}" = "tcpwarden: refused: rule 1 drop 0 per-client 1 per-net 1 rate 0 proxy 0" ]
}

@test "the dump's totals: unstarted programs, unread rules, rate and proxy refusals" {
	start_server -v 127.0.0.1 0 /nonexistent/program
	connect </dev/null >/dev/null
	wait_log 'end [0-9]* status 28416$'
	run totals
	[ "${lines[0]}" = "tcpwarden: totals: accepted 1 unstarted 1 exit-0 0 exit-other 1 signal 0" ]
	stop_server
	start_server -v -x "$BATS_TEST_TMPDIR/none.cdb" 127.0.0.1 0 true
	connect </dev/null >/dev/null
	run totals
	[ "${lines[0]}" = "tcpwarden: totals: accepted 1 unstarted 0 exit-0 0 exit-other 0 signal 0" ]
	[ "${lines[1]}" = "tcpwarden: refused: rule 0 drop 1 per-client 0 per-net 0 rate 0 proxy 0" ]
	stop_server
	# A refusal by the rate, and one the dry run only logs.
	local dry deny counted
	for dry in "" --dry-run; do
		deny=deny counted=1
		[ -z "$dry" ] || deny=would-deny counted=0
		start_server -v $dry --rate=1/3600 127.0.0.1 0 true
		connect </dev/null >/dev/null
		connect </dev/null >/dev/null
		wait_log "^tcpwarden: $deny 127\.0\.0\.1:[0-9]* rate 1/3600\$"
		run totals
		[ "${lines[1]}" = "tcpwarden: refused: rule 0 drop 0 per-client 0 per-net 0 rate $counted proxy 0" ]
		stop_server
	done
	# A connection from the balancer without a PROXY header.
	start_server -v --proxy-from=127.0.0.1 127.0.0.1 0 true
	printf 'GET / HTTP/1.0\r\n\r\n' | connect >/dev/null || true
	wait_log 'deny 127\.0\.0\.1:[0-9]* proxy '
	run totals
	[ "${lines[0]}" = "tcpwarden: totals: accepted 1 unstarted 0 exit-0 0 exit-other 0 signal 0" ]
	[ "${lines[1]}" = "tcpwarden: refused: rule 0 drop 0 per-client 0 per-net 0 rate 0 proxy 1" ]
}
