#!/usr/bin/env bats
# How tcpwarden stops: SIGTERM and SIGINT whatever it is blocked in (a log
# reader that stopped reading included), and the graceful drain of
# --drain: stop listening at once, let the programs finish, then SIGTERM
# (and SIGCONT), a grace, SIGKILL, and exit 0 once all are reaped.

load lib
load hold

teardown() {
	# A server that did not stop when asked must not outlive its test.
	[ -n "${SERVER_PID:-}" ] && kill -KILL "$SERVER_PID" 2>/dev/null
	for v in ${!HOLD_FD_@}; do release "${v#HOLD_FD_}" || true; done
	[ -n "${SERVER2_PID:-}" ] && kill -KILL "$SERVER2_PID" 2>/dev/null
	hold_close_all
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

@test "SIGTERM ends a -v server stuck on a log reader that stopped reading" {
	blocked_log_server -v 127.0.0.1 0 "${HOLDER[@]}"
	hold a 2
	[ "$HELD" = "held 2" ]
	fill_fifo
	# One more connection: its program runs (it says ready), and the
	# server's next log line finds the FIFO full.
	hold b 1
	[ "$HELD" = "held 1" ]
	mapfile -t kids < <(children_now)
	[ "${#kids[@]}" -eq 3 ]
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
