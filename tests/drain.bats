#!/usr/bin/env bats
# How tcpwarden stops: SIGTERM and SIGINT whatever it is blocked in (a log
# reader that stopped reading included), and the graceful drain of
# --drain: stop listening at once, let the programs finish, then SIGTERM
# (and SIGCONT), a grace, SIGKILL, and exit 0 once all are reaped.

load lib

teardown() {
	# A server that did not stop when asked must not outlive its test.
	[ -n "${SERVER_PID:-}" ] && kill -KILL "$SERVER_PID" 2>/dev/null
	[ -n "${SERVER2_PID:-}" ] && kill -KILL "$SERVER2_PID" 2>/dev/null
	common_teardown
}

# Programs that say a line and hold the connection until the client
# closes it.  exec, so the program is the server's child itself.
HOLDER=(sh -c 'echo ready; exec cat >/dev/null')

# gone: the server has exited (a zombie of ours until we wait for it).
gone() {
	local s
	s=$(cut -d ' ' -f 3 "/proc/$SERVER_PID/stat" 2>/dev/null) || return 0
	[ "$s" = Z ]
}

# stopped_with CODE: wait (bounded) until the server exits, then check
# its exit code.
stopped_with() {
	wait_for gone || {
		echo "tcpwarden did not exit:"
		cat "/proc/$SERVER_PID/syscall" 2>/dev/null
		return 1
	}
	wait "$SERVER_PID"
	SERVER_STATUS=$?
	SERVER_PID=
	[ "$SERVER_STATUS" -eq "$1" ] || {
		echo "exit $SERVER_STATUS, not $1"
		return 1
	}
}

# blocked_log_server ARGS...: start_server ARGS..., its stderr a FIFO that
# this shell holds open for reading and never reads (FIFO_FD).
blocked_log_server() {
	local fifo=$BATS_TEST_TMPDIR/stderr
	mkfifo "$fifo"
	exec {FIFO_FD}<>"$fifo"
	# shellcheck disable=SC2016
	start_via sh -c 'exec 2>"$0"; exec "$@"' "$fifo" -- "$@"
}

# fill_fifo: fill the FIFO up to the last byte, so that any line the
# server writes next finds no room.
fill_fifo() {
	perl -MFcntl -e '
		open(my $f, ">&=", $ARGV[0]) or die "fd: $!\n";
		fcntl($f, F_SETFL, fcntl($f, F_GETFL, 0) | O_NONBLOCK) or die;
		my $page = "x" x 4096;
		1 while syswrite($f, $page);
		1 while syswrite($f, "x");
		exit($!{EAGAIN} ? 0 : 1);
	' "$FIFO_FD"
}

# children_now: the pids of the server's programs, one a line.
children_now() { children | cut -d ' ' -f 1; }

# stuck_server ARGS...: a -v server with ARGS and a log reader that
# stopped reading, 2 programs logged and a third started since the FIFO
# is full, so that the server is held by the log line that follows.
# Their pids in kids.
stuck_server() {
	blocked_log_server -v "$@" 127.0.0.1 0 "${HOLDER[@]}"
	hold a 2
	[ "$HELD" = "held 2" ]
	fill_fifo
	# One more connection: its program runs (it says ready), and the
	# server's next log line finds the FIFO full.
	hold b 1
	[ "$HELD" = "held 1" ]
	mapfile -t kids < <(children_now)
	[ "${#kids[@]}" -eq 3 ]
}

@test "SIGTERM ends a -v server stuck on a log reader that stopped reading" {
	stuck_server
	kill -TERM "$SERVER_PID"
	stopped_with 0
	# Without --drain the programs are left running, as with tcpserver.
	for pid in "${kids[@]}"; do
		kill -0 "$pid"
	done
	release b
	release a
}

@test "SIGINT too ends a server stuck on its log, and at start already" {
	local fifo=$BATS_TEST_TMPDIR/stderr
	mkfifo "$fifo"
	exec {FIFO_FD}<>"$fifo"
	fill_fifo
	# Full before it starts: its first line (status) cannot be written.
	start_via sh -c 'exec 2>"$0"; exec "$@"' "$fifo" -- \
	    -v 127.0.0.1 0 "${HOLDER[@]}"
	kill -INT "$SERVER_PID"
	stopped_with 0
}

@test "--drain: a log reader that stopped reading does not hold the drain up" {
	stuck_server --drain=1
	kill -TERM "$SERVER_PID"
	# The programs hold on until the drain's SIGTERM ends them.
	stopped_with 0
	for pid in "${kids[@]}"; do
		run kill -0 "$pid"
		[ "$status" -ne 0 ]
	done
}

# The lines of one server's log, without those of a server before it.
drain_lines() { grep -E 'tcpwarden: (stop|drain|exit): ' "$LOG"; }

@test "without --drain: the stop line, and the programs are left running" {
	start_server -v 127.0.0.1 0 "${HOLDER[@]}"
	hold a 2
	[ "$HELD" = "held 2" ]
	mapfile -t kids < <(children_now)
	kill -TERM "$SERVER_PID"
	stopped_with 0
	[ "$(drain_lines)" = "tcpwarden: stop: 2 running, left running" ]
	for pid in "${kids[@]}"; do
		kill -0 "$pid"
	done
	release a
}

@test "--drain: programs that finish in time; the port is closed at once" {
	start_server -v --drain=600 127.0.0.1 0 "${HOLDER[@]}"
	hold a 2
	[ "$HELD" = "held 2" ]
	kill -TERM "$SERVER_PID"
	wait_log 'stop: 2 running, waiting up to 600 s$'
	# No longer listening: a new connection is refused, not queued.
	run "$CLIENT" -T 5 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 1 ]
	# Still draining until the programs end.
	run gone
	[ "$status" -ne 0 ]
	release a
	stopped_with 0
	drain_lines
	[ "$(drain_lines | tail -n 1)" = "tcpwarden: exit: 0 running, ended 2 in time, 0 after SIGTERM, 0 after SIGKILL" ]
	[ "$(log_count 'drain: ')" -eq 0 ]
}

@test "--drain: a second SIGTERM skips the wait, a third the grace" {
	# The program from 127.0.0.2 ignores SIGTERM; the other obeys it.
	start_server -v --drain=600 127.0.0.1 0 sh -c '
		[ "$TCPREMOTEIP" = 127.0.0.2 ] && trap "" TERM
		echo ready; exec cat >/dev/null'
	hold a 1
	hold b 1 -s 127.0.0.2
	[ "$HELD" = "held 1" ]
	kill -TERM "$SERVER_PID"
	wait_log 'stop: 2 running, waiting up to 600 s$'
	kill -INT "$SERVER_PID"
	wait_log 'drain: 2 running, SIGTERM sent$'
	# The obedient one ends of its SIGTERM (status 15) ...
	wait_log 'end [0-9]* status 15$'
	# ... the other stays until SIGKILL, which the next signal brings
	# before the grace is out.
	kill -TERM "$SERVER_PID"
	stopped_with 0
	drain_lines
	[ "$(log_count 'drain: 1 running, SIGKILL sent$')" -eq 1 ]
	[ "$(log_count 'end [0-9]* status 9$')" -eq 1 ]
	[ "$(drain_lines | tail -n 1)" = "tcpwarden: exit: 0 running, ended 0 in time, 1 after SIGTERM, 1 after SIGKILL" ]
	release a
	release b
}

@test "--drain: a program that ignores SIGTERM is killed when the grace is out" {
	start_server -v --drain=0 127.0.0.1 0 sh -c '
		trap "" TERM; echo ready; exec cat >/dev/null'
	hold a 1
	[ "$HELD" = "held 1" ]
	kill -TERM "$SERVER_PID"
	wait_log 'drain: 1 running, SIGTERM sent$'
	# No signal from us: the grace runs out by itself.
	wait_log 'drain: 1 running, SIGKILL sent$'
	stopped_with 0
	[ "$(log_count 'end [0-9]* status 9$')" -eq 1 ]
	[ "$(drain_lines | tail -n 1)" = "tcpwarden: exit: 0 running, ended 0 in time, 0 after SIGTERM, 1 after SIGKILL" ]
	release a
}

@test "--drain: a program stopped with SIGSTOP is continued to get its SIGTERM" {
	start_server -v --drain=0 127.0.0.1 0 "${HOLDER[@]}"
	hold a 1
	[ "$HELD" = "held 1" ]
	kid=$(children_now)
	kill -STOP "$kid"
	wait_for eval '[ "$(cut -d " " -f 3 /proc/$kid/stat)" = T ]'
	kill -TERM "$SERVER_PID"
	stopped_with 0
	# Ended by the SIGTERM (15), not left stopped until the SIGKILL (9).
	[ "$(log_count "end $kid status 15$")" -eq 1 ]
	[ "$(drain_lines | tail -n 1)" = "tcpwarden: exit: 0 running, ended 0 in time, 1 after SIGTERM, 0 after SIGKILL" ]
	release a
}

@test "--drain: a new server on the same port gets the new connections" {
	start_server -v --drain=600 127.0.0.1 0 "${HOLDER[@]}"
	hold a 1
	[ "$HELD" = "held 1" ]
	kill -TERM "$SERVER_PID"
	wait_log 'stop: 1 running, waiting up to 600 s$'
	# The first server's log and pid aside, a second on its port.
	local old_pid=$SERVER_PID old_log=$LOG.old
	mv "$LOG" "$old_log"
	start_server -v 127.0.0.1 "$PORT" sh -c 'echo new'
	SERVER2_PID=$SERVER_PID
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = new ]
	# The old one still drains, its program still served.
	SERVER_PID=$old_pid
	run gone
	[ "$status" -ne 0 ]
	release a
	stopped_with 0
	grep -qx 'tcpwarden: exit: 0 running, ended 1 in time, 0 after SIGTERM, 0 after SIGKILL' "$old_log"
	SERVER_PID=$SERVER2_PID
	SERVER2_PID=
	stop_server
	[ "$SERVER_STATUS" -eq 0 ]
}

@test "--drain with nothing running exits at once; bad values are usage errors" {
	start_server -v --drain=600 127.0.0.1 0 true
	kill -TERM "$SERVER_PID"
	stopped_with 0
	[ "$(drain_lines | head -n 1)" = "tcpwarden: stop: 0 running, waiting up to 600 s" ]
	run "$TCPWARDEN" --drain=-1 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[[ "$output" == *"option --drain: '-1' is not a number from 0 to 1000000"* ]]
	run "$TCPWARDEN" --drain= 127.0.0.1 0 true
	[ "$status" -eq 100 ]
}
