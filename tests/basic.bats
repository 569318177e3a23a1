#!/usr/bin/env bats
# The basic service: environment, log lines, banner, the child's state.

load lib

teardown() { common_teardown; }

@test "the program gets the connection and the UCSPI environment" {
	start_server 127.0.0.1 0 sh -c 'echo "$PROTO $TCPLOCALIP $TCPLOCALPORT $TCPREMOTEIP $TCPREMOTEPORT $TCPCONCURRENCY"; cat'
	run sh -c "echo payload | '$CLIENT' 127.0.0.1 $PORT"
	[ "$status" -eq 0 ]
	set -- ${lines[0]}
	[ "$1" = TCP ]
	[ "$2" = 127.0.0.1 ]
	[ "$3" = "$PORT" ]
	[ "$4" = 127.0.0.1 ]
	[ "$5" -gt 0 ]
	[ "$6" = 1 ]
	[ "${lines[1]}" = payload ]
}

@test "the state dump counts a live child and returns to zero" {
	start_server -v 127.0.0.1 0 sh -c 'echo ready; cat >/dev/null'
	hold a 2
	[ "$HELD" = "held 2" ]
	run state
	[[ "${lines[0]}" == "tcpwarden: state: 2/40 clients 1" ]]
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 2/10 pids "[0-9]+" "[0-9]+$ ]]
	release a
	wait_for eval '[ "$(total)" = 0 ]'
}

@test "bound to 0.0.0.0, each connection gets the local address it reached, in any order" {
	local ip
	start_server 0.0.0.0 0 sh -c 'echo "$TCPLOCALIP $TCPLOCALPORT"'
	for ip in 127.0.0.1 127.0.0.2 127.0.0.2 127.0.0.3 127.0.0.1; do
		run "$CLIENT" "$ip" "$PORT" </dev/null
		[ "$status" -eq 0 ]
		echo "to $ip: $output"
		[ "$output" = "$ip $PORT" ]
	done
}
