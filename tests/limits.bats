#!/usr/bin/env bats
# The limits of SPEC §3 with real connections: per client (-C), in total
# (-c), per network (-N), the client and network prefixes, the variables
# of the tcpserver limits patch, and TCPCONCURRENCY.
#
# Every child runs PROG: it notes "REMOTEIP CONCURRENCY" in $STARTS (so a
# test can count the children that were started), writes "ready", and
# lives until the client closes.  A refused connection gets the message of
# its limit, which never ends in "ready".

load lib

setup() {
	STARTS=$BATS_TEST_TMPDIR/starts
	: >"$STARTS"
	PROG=(sh -c 'echo "$TCPREMOTEIP $TCPCONCURRENCY" >>"$1"; echo ready;
	    exec cat >/dev/null' sh "$STARTS")
}

teardown() {
	[ -z "${READER:-}" ] || kill -CONT "$READER" 2>/dev/null || true
	common_teardown
}

started() { wc -l <"$STARTS" | tr -d ' '; }

@test "-C 2:msg: the third connection of a client gets the message and no child" {
	start_server -v -C '2:busy\r\n' 127.0.0.1 0 "${PROG[@]}"
	hold a 2 127.0.0.1
	[ "$HELD" = "held 2" ]
	reply_is 'busy\r\n' 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* per-client 2/2$'
	run state
	[ "${lines[0]}" = "tcpwarden: state: 2/40 clients 1" ]
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 2/2 pids "[0-9]+" "[0-9]+$ ]]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(started)" -eq 2 ]
	[ "$(log_count ' ok ')" -eq 2 ]
	[ "$(log_count 'deny .* per-client')" -eq 1 ]
}

@test "-C: a client at its limit does not block another address" {
	start_server -v -C '2:busy\r\n' 127.0.0.1 0 "${PROG[@]}"
	hold a 2 127.0.0.1
	[ "$HELD" = "held 2" ]
	reply_is 'busy\r\n' 127.0.0.1
	reply_is 'ready\n' -s 127.0.0.2 127.0.0.1
	# Its child has exited; once reaped, 127.0.0.2 has its whole limit.
	wait_for eval '[ "$(total)" = 2 ]'
	hold b 2 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 2" ]
	reply_is 'busy\r\n' -s 127.0.0.2 127.0.0.1
	run state
	[ "${lines[0]}" = "tcpwarden: state: 4/40 clients 2" ]
	[[ "${output}" == *"client 127.0.0.1 2/2 pids "* ]]
	[[ "${output}" == *"client 127.0.0.2 2/2 pids "* ]]
	grep -qx '127.0.0.2 1' "$STARTS"
}

@test "-C: when a held connection ends, the client can again hold exactly its limit" {
	start_server -v -C 2:busy 127.0.0.1 0 "${PROG[@]}"
	hold a 1 127.0.0.1
	hold b 1 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is 'busy' 127.0.0.1
	release a
	wait_for eval '[ "$(total)" = 1 ]'
	# One slot is back: one more connection is served, the next refused.
	# (busy has no newline, so hold counts only served connections.)
	hold c 2 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is 'busy' 127.0.0.1
	run state
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 2/2 pids " ]]
	# All gone: the whole limit is back, and no more.
	release b
	release c
	wait_for eval '[ "$(total)" = 0 ]'
	hold d 3 127.0.0.1
	[ "$HELD" = "held 2" ]
	reply_is 'busy' 127.0.0.1
	[ "$(log_count 'per-client 2/2$')" -eq 5 ]
}

@test "-C: a child that exited while the server was busy no longer counts" {
	# The server's stderr is a pipe whose reader the test can pause, so
	# the server can be held in a log write, away from its wait, while
	# its child dies and the client reconnects.  Both are pending when it
	# gets back; the dead child must be reaped before the new connection
	# is judged, or the client is refused for a connection it no longer
	# has.
	local pipe=$BATS_TEST_TMPDIR/log reply=$BATS_TEST_TMPDIR/again
	mkfifo "$pipe"
	cat <"$pipe" >"$pipe.txt" 3>&- &
	READER=$!
	start_server -v -C 1:busy 127.0.0.1 0 "${PROG[@]}"
	LOG=$pipe.txt
	hold a 1 127.0.0.1
	[ "$HELD" = "held 1" ]
	wait_log 'status: 1/40'
	# Pause the reader and fill the pipe to the last byte (with empty
	# lines, which the log can take).
	head -c 270000 /dev/zero | tr '\000' '\n' >"$pipe.fill"
	kill -STOP "$READER"
	# Stopped for sure, so that no read of its own, under way as the
	# signal came, makes room again after the fill.
	wait_for eval '[ "$(cut -d " " -f 3 /proc/$READER/stat)" = T ]'
	dd if="$pipe.fill" of="$pipe" bs=4096 oflag=nonblock 2>/dev/null || true
	dd if="$pipe.fill" of="$pipe" bs=1 count=8192 oflag=nonblock \
	    2>/dev/null || true
	# The state dump now holds the server: in write(2), or (log.h) in
	# the poll that waits for room, on 2 descriptors where the main
	# loop's has 3 (the second field of /proc/PID/syscall).
	kill -USR1 "$SERVER_PID"
	blocked() {
		local w nr fds nfds
		w=$(cat "/proc/$SERVER_PID/wchan" 2>/dev/null)
		[ "$w" != 0 ] && [ -n "$w" ] ||
		    skip "this kernel does not show /proc/PID/wchan"
		[[ $w == *pipe_write* ]] && return 0
		read -r nr fds nfds _ <"/proc/$SERVER_PID/syscall" || return 1
		[[ $w == *poll* ]] && [ "$nfds" = 0x2 ]
	}
	wait_for blocked
	# The held connection ends: its child exits and becomes a zombie.
	release a
	zombie() { [[ "$(children)" == *" Z"* ]]; }
	wait_for zombie
	# The client connects again; the kernel queues the connection.
	connect -T 20 127.0.0.1 </dev/null >"$reply" &
	local again=$!
	queued() {
		[ "$(ss -Htln "sport = :$PORT" | awk '{ n += $2 } END { print n }')" = 1 ]
	}
	wait_for queued
	kill -CONT "$READER"
	wait "$again"
	echo "reply: $(cat "$reply")"
	[ "$(cat "$reply")" = ready ]
	[ "$(log_count 'deny .* per-client')" -eq 0 ]
}

@test "-C is 10 by default" {
	start_server -v 127.0.0.1 0 "${PROG[@]}"
	hold a 11 127.0.0.1
	[ "$HELD" = "held 10" ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 10/40 clients 1" ]
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 10/10 pids " ]]
	wait_log 'deny 127\.0\.0\.1:[0-9]* per-client 10/10$'
	[ "$(started)" -eq 10 ]
}

@test "-C is capped at -c, by default and when given larger" {
	start_server -c 3 127.0.0.1 0 "${PROG[@]}"
	hold a 3 127.0.0.1
	[ "$HELD" = "held 3" ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 3/3 clients 1" ]
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 3/3 pids " ]]
	release a
	stop_server
	start_server -c 3 -C 5 127.0.0.1 0 "${PROG[@]}"
	hold a 3 127.0.0.1
	[ "$HELD" = "held 3" ]
	run state
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 3/3 pids " ]]
}

@test "-c: at the limit a connection waits in the backlog and is served when a slot frees" {
	start_server -v -c 2 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	hold b 1 -s 127.0.0.3 127.0.0.1
	[ "$HELD" = "held 1" ]
	local reply=$BATS_TEST_TMPDIR/waiting
	connect -s 127.0.0.4 -T 30 127.0.0.1 </dev/null >"$reply" &
	local waiting=$!
	# The kernel completed the handshake: the connection sits in the
	# listening sockets' accept queues (their Recv-Q), not in tcpwarden.
	queued() {
		[ "$(ss -Htln "sport = :$PORT" | awk '{ n += $2 } END { print n }')" = 1 ]
	}
	wait_for queued
	# A state dump goes through the server's loop: still 2, nothing
	# accepted, no third child, no answer, no refusal.
	run state
	[ "${lines[0]}" = "tcpwarden: state: 2/2 clients 2" ]
	queued
	[ "$(started)" -eq 2 ]
	[ ! -s "$reply" ]
	kill -0 "$waiting"
	# A slot frees: the waiting connection is served.
	release a
	wait "$waiting"
	[ "$(cat "$reply")" = ready ]
	grep -qx '127.0.0.4 1' "$STARTS"
	[ "$(log_count 'deny ')" -eq 0 ]
	[ "$(status_max)" -eq 2 ]
}

@test "-c: a burst over the total limit is served in turn, never over n/n" {
	start_server -v -c 3 127.0.0.1 0 sh -c 'echo x'
	run "$CLIENT" --storm 300 --conc 30 --src 127.0.0.2-21 -T 25 127.0.0.1 "$PORT"
	[ "$output" = "done 300 ok 300 failed 0" ]
	wait_for eval '[ "$(total)" = 0 ]'
	[ "$(log_count ' ok ')" -eq 300 ]
	[ "$(log_count 'deny ')" -eq 0 ]
	[ "$(status_max)" -eq 3 ]
	[ "$(log_count 'status: 3/3$')" -gt 0 ]
}

@test "-N: per-network limit over /24 with --net4-prefix=24, other networks served" {
	start_server -v -N '3:netfull\r\n' --net4-prefix=24 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	hold b 1 -s 127.0.0.3 127.0.0.1
	hold c 1 -s 127.0.0.4 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is 'netfull\r\n' -s 127.0.0.5 127.0.0.1
	wait_log 'deny 127\.0\.0\.5:[0-9]* per-net 3/3$'
	# A client with room of its own is still refused: the net is full.
	reply_is 'netfull\r\n' -s 127.0.0.2 127.0.0.1
	[ "$(log_count 'deny 127\.0\.0\.2:[0-9]* per-net 3/3$')" -eq 1 ]
	# Another /24 is another network.
	reply_is 'ready\n' -s 127.0.1.2 127.0.0.1
	[ "$(started)" -eq 4 ]
	# A slot of the network frees: the network takes one more.
	release b
	wait_for eval '[ "$(total)" = 2 ]'
	hold d 2 -s 127.0.0.5 127.0.0.1
	run state
	[ "${lines[0]}" = "tcpwarden: state: 3/40 clients 3 nets 1" ]
	[[ "$output" == *"client 127.0.0.5 1/10 pids "* ]]
}

@test "-N: --net4-prefix=16 makes 127.0.0.x and 127.0.1.x one network" {
	start_server -v -N 2:netfull --net4-prefix=16 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	hold b 1 -s 127.0.1.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is 'netfull' -s 127.0.2.2 127.0.0.1
	reply_is 'ready\n' -s 127.1.0.2 127.0.0.1
	wait_log 'deny 127\.0\.2\.2:[0-9]* per-net 2/2$'
}

@test "--ip4-prefix=24: addresses of one /24 share one client budget" {
	start_server -v -C '1:busy\r\n' --ip4-prefix=24 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is 'busy\r\n' -s 127.0.0.3 127.0.0.1
	wait_log 'deny 127\.0\.0\.3:[0-9]* per-client 1/1$'
	run state
	[ "${lines[0]}" = "tcpwarden: state: 1/40 clients 1" ]
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.0/24 1/1 pids "[0-9]+$ ]]
	# Another /24 is another client.
	hold b 1 -s 127.0.1.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	run state
	[[ "$output" == *"client 127.0.1.0/24 1/1 pids "* ]]
	# Without the option, the two addresses are two clients.
	release_all
	stop_server
	start_server -v -C '1:busy\r\n' 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	reply_is 'ready\n' -s 127.0.0.3 127.0.0.1
}

@test "--ip4-prefix=30: a prefix that ends inside a byte" {
	start_server -v -C 1:busy --ip4-prefix=30 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.5 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is busy -s 127.0.0.7 127.0.0.1
	reply_is busy -s 127.0.0.4 127.0.0.1
	run state
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.4/30 1/1 pids " ]]
	reply_is 'ready\n' -s 127.0.0.8 127.0.0.1
	reply_is 'ready\n' -s 127.0.0.3 127.0.0.1
}

@test "MAXCONNIP overrides -C" {
	MAXCONNIP=1 start_server -v -C 5:busy 127.0.0.1 0 "${PROG[@]}"
	hold a 1 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is 'busy' 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* per-client 1/1$'
	run state
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 1/1 pids " ]]
}

@test "MAXCONNC overrides -N, and sets a per-network limit without it" {
	MAXCONNC=2 start_server -v -N 5:netfull 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	hold b 1 -s 127.0.0.3 127.0.0.1
	reply_is 'netfull' -s 127.0.0.4 127.0.0.1
	wait_log 'deny 127\.0\.0\.4:[0-9]* per-net 2/2$'
	release_all
	stop_server
	MAXCONNC=1 start_server -v 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is '' -s 127.0.0.3 127.0.0.1
	wait_log 'deny 127\.0\.0\.3:[0-9]* per-net 1/1$'
	reply_is 'ready\n' -s 127.0.1.3 127.0.0.1
}

@test "DIEMSG replaces the -C and -N messages, with CRLF appended" {
	DIEMSG='go away' start_server -v -C '1:busy\r\n' -N '2:netfull\r\n' \
	    127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	reply_is 'go away\r\n' -s 127.0.0.2 127.0.0.1
	wait_log 'deny 127\.0\.0\.2:[0-9]* per-client 1/1$'
	hold b 1 -s 127.0.0.3 127.0.0.1
	reply_is 'go away\r\n' -s 127.0.0.4 127.0.0.1
	wait_log 'deny 127\.0\.0\.4:[0-9]* per-net 2/2$'
	# DIEMSG also speaks for limits given only in the environment.
	release_all
	stop_server
	DIEMSG=full MAXCONNIP=1 start_server 127.0.0.1 0 "${PROG[@]}"
	hold a 1 127.0.0.1
	reply_is 'full\r\n' 127.0.0.1
}

@test "MAXCONNIP=0 and MAXCONNC=0 reject every connection, starting no child" {
	MAXCONNIP=0 DIEMSG=closed start_server -v 127.0.0.1 0 "${PROG[@]}"
	reply_is 'closed\r\n' 127.0.0.1
	reply_is 'closed\r\n' -s 127.0.0.2 127.0.0.1
	wait_log 'deny 127\.0\.0\.2:[0-9]* per-client 0/0$'
	[ "$(log_count 'deny 127\.0\.0\.[12]:[0-9]* per-client 0/0$')" -eq 2 ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 0/40 clients 0" ]
	[ "$(started)" -eq 0 ]
	stop_server
	MAXCONNC=0 start_server -v 127.0.0.1 0 "${PROG[@]}"
	reply_is '' 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* per-net 0/0$'
	[ "$(started)" -eq 0 ]
}

@test "a bad MAXCONNIP or MAXCONNC is a usage error naming the variable" {
	# (timeout: a tcpwarden that took the value would serve forever)
	MAXCONNIP=many run timeout 10 "$TCPWARDEN" 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[[ "$output" == *MAXCONNIP* ]]
	MAXCONNC=-1 run timeout 10 "$TCPWARDEN" 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[[ "$output" == *MAXCONNC* ]]
}

@test "refused connections never consume a slot" {
	start_server -v -c 2 -C 1:busy 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	local i
	for i in $(seq 20); do
		reply_is 'busy' -s 127.0.0.2 127.0.0.1
	done
	[ "$(log_count 'deny 127\.0\.0\.2:[0-9]* per-client 1/1$')" -eq 20 ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 1/2 clients 1" ]
	# The second slot of -c is still free for another client ...
	hold b 1 -s 127.0.0.3 127.0.0.1
	[ "$HELD" = "held 1" ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 2/2 clients 2" ]
	# ... and after the refusals, each client's count falls back to 0.
	release_all
	wait_for eval '[ "$(total)" = 0 ]'
	run state
	[ "${lines[0]}" = "tcpwarden: state: 0/2 clients 0" ]
	hold c 1 -s 127.0.0.2 127.0.0.1
	hold d 1 -s 127.0.0.3 127.0.0.1
	[ "$HELD" = "held 1" ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 2/2 clients 2" ]
	[ "$(started)" -eq 4 ]
}

@test "per-network refusals never consume a slot either" {
	start_server -v -N 1:netfull 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	local i
	for i in $(seq 20); do
		reply_is 'netfull' -s 127.0.0.3 127.0.0.1
	done
	run state
	[ "${lines[0]}" = "tcpwarden: state: 1/40 clients 1 nets 1" ]
	release a
	wait_for eval '[ "$(total)" = 0 ]'
	hold b 2 -s 127.0.0.3 127.0.0.1
	[ "$HELD" = "held 1" ]
}

@test "TCPCONCURRENCY counts this client's live connections, this one included" {
	start_server -v 127.0.0.1 0 "${PROG[@]}"
	hold a 1 127.0.0.1
	hold b 2 127.0.0.1
	hold c 1 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	[ "$(cat "$STARTS")" = "127.0.0.1 1
127.0.0.1 2
127.0.0.1 3
127.0.0.2 1" ]
	release b
	wait_for eval '[ "$(total)" = 2 ]'
	reply_is 'ready\n' 127.0.0.1
	[ "$(tail -n 1 "$STARTS")" = "127.0.0.1 2" ]
}

@test "--ip4-prefix: TCPCONCURRENCY counts the whole client prefix" {
	start_server -v --ip4-prefix=24 127.0.0.1 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	hold b 1 -s 127.0.0.3 127.0.0.1
	[ "$(cat "$STARTS")" = "127.0.0.2 1
127.0.0.3 2" ]
}
