#!/usr/bin/env bats
# The child (SPEC §5), the log lines (§6) and the signals (§7): what the
# program is given, what tcpwarden says about it, and how tcpwarden
# answers its signals.  tests/helpers/childstate reports the child's state.

load lib

NOPROG=/nonexistent/tcpwarden-no-program

bats_require_minimum_version 1.5.0

teardown() {
	release_all
	# A server that ignores SIGTERM (the bug a test here looks for) must
	# not hang the suite.
	if [ -n "${SERVER_PID:-}" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait_for gone "$SERVER_PID" || kill -KILL "$SERVER_PID"
	fi
	common_teardown
}

# gone PID: the process has exited (it may be a zombie not yet waited for).
gone() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	[ "$(cut -d' ' -f1 <<<"${stat##*) }")" = Z ]
}

# with_signals [ENV-OPTIONS...] -- ARGS...: start_server ARGS..., with
# tcpwarden started through `env ENV-OPTIONS` (e.g. --ignore-signal=PIPE or
# --block-signal=USR2) and with every descriptor above 2 closed, so that
# the child's descriptors are tcpwarden's doing alone (bats leaves some
# open, and tcpwarden, like tcpserver, passes on what it was given).  The
# wrapper execs, so the pid is still tcpwarden's.
with_signals() {
	local opts=()
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	env "${opts[@]}" true 2>/dev/null ||
		skip "env cannot set signals (coreutils < 8.31)"
	start_via env "${opts[@]}" -- "$@"
}

total_is() { [ "$(total)" = "$1" ]; }

# Log lines other than state dumps.
log_without_state() {
	grep -v -E '^tcpwarden: (state: |totals: |refused: |client |net )' \
	    "$LOG" || true
}

@test "the child has an empty mask, default dispositions, fds 0 1 2, a socket" {
	with_signals --default-signal=INT -- 127.0.0.1 0 "$CHILDSTATE"
	childstate
	has "mask: empty"
	has "SIGPIPE: default"
	has "SIGCHLD: default"
	has "SIGHUP: default"
	has "SIGINT: default"
	has "SIGTERM: default"
	has "SIGUSR1: default"
	has "fds: 0 1 2"
	has "stdin: stream socket"
	has "nodelay: 0"
}

@test "SIGPIPE and SIGINT ignored at start are still ignored in the child" {
	with_signals --ignore-signal=PIPE --ignore-signal=INT -- \
	    127.0.0.1 0 "$CHILDSTATE"
	childstate
	has "SIGPIPE: ignore"
	has "SIGINT: ignore"
	has "SIGCHLD: default"
	has "SIGTERM: default"
	has "mask: empty"
	has "fds: 0 1 2"
}

@test "a signal blocked at start is still blocked in the child, and only it" {
	local usr2
	usr2=$(kill -l USR2)
	with_signals --block-signal=USR2 -- 127.0.0.1 0 "$CHILDSTATE"
	childstate
	has "mask: $usr2"
	has "SIGCHLD: default"
	has "SIGPIPE: default"
	has "fds: 0 1 2"
	# The server itself still gets its own signals: SIGCHLD reaps,
	# SIGUSR1 dumps.
	wait_for total_is 0
}

@test "SIGCHLD ignored at start: the child gets it ignored, and is reaped" {
	# tcpwarden must catch SIGCHLD anyway, and exec resets a caught
	# signal to default, never to ignored: the child must set it back
	# itself before exec.
	with_signals --ignore-signal=CHLD --ignore-signal=PIPE -- \
	    -v 127.0.0.1 0 "$CHILDSTATE"
	childstate
	has "SIGCHLD: ignore"
	has "SIGPIPE: ignore"
	has "SIGTERM: default"
	has "SIGUSR1: default"
	has "SIGHUP: default"
	has "mask: empty"
	has "fds: 0 1 2"
	has "stdin: stream socket"
	wait_log "end [0-9]* status 0"
	wait_for total_is 0
}

@test "-D sets TCP_NODELAY on the child's socket; -d leaves it off" {
	with_signals -- -D 127.0.0.1 0 "$CHILDSTATE"
	childstate
	has "nodelay: 1"
	has "fds: 0 1 2"
	stop_server
	start_server -D -d 127.0.0.1 0 "$CHILDSTATE"
	childstate
	has "nodelay: 0"
	stop_server
	start_server --no-delay 127.0.0.1 0 "$CHILDSTATE"
	childstate
	has "nodelay: 1"
}

@test "stale TCP variables in tcpwarden's environment never reach the child" {
	export TCPREMOTEHOST=zzstale.example TCPREMOTEINFO=zzstaleinfo
	export TCPLOCALHOST=zzstale.local TCP6REMOTEIP=2001:db8::bad
	export TCPREMOTEIP=10.9.9.9 TCPCONCURRENCY=99 PROTO=UDP
	export TCPWARDEN_TEST_KEPT=kept
	start_server 127.0.0.1 0 env
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" != *zzstale* ]]
	[[ "$output" != *TCPREMOTEHOST=* ]]
	[[ "$output" != *TCPREMOTEINFO=* ]]
	[[ "$output" != *TCPLOCALHOST=* ]]
	[[ "$output" != *TCP6* ]]
	[[ "$output" != *10.9.9.9* ]]
	grep -qx 'TCPREMOTEIP=127.0.0.1' <<<"$output"
	grep -qx 'TCPCONCURRENCY=1' <<<"$output"
	grep -qx 'PROTO=TCP' <<<"$output"
	# Everything else of tcpwarden's environment is passed on.
	grep -qx 'TCPWARDEN_TEST_KEPT=kept' <<<"$output"
	[ "$(grep -c '^TCPREMOTEIP=' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^PROTO=' <<<"$output")" -eq 1 ]
}

@test "-l NAME sets TCPLOCALHOST and the ok line's local host" {
	export TCPLOCALHOST=zzstale.local
	start_server -v -l warden.example 127.0.0.1 0 \
	    sh -c 'echo "$$ $TCPREMOTEPORT"; env | grep "^TCPLOCALHOST="'
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = TCPLOCALHOST=warden.example ]
	set -- ${lines[0]}
	wait_log "end $1 "
	log_has "^tcpwarden: ok $1 warden.example:127.0.0.1:$PORT :127.0.0.1::$2\$"
}

@test "TCPCONCURRENCY counts this client's live connections" {
	start_server 127.0.0.1 0 \
	    sh -c 'echo "c=$TCPCONCURRENCY"; exec cat >/dev/null'
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = c=1 ]
	wait_for total_is 0
	hold one 1
	[ "$HELD" = "held 1" ]
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = c=2 ]
	release one
	wait_for total_is 0
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = c=1 ]
}

@test "-B writes the banner, as given, before the program's output" {
	start_server -B 'hello\n ' 127.0.0.1 0 echo program
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = 'hello\n program' ]
}

@test "-B: a banner larger than the socket takes at once still comes first" {
	local banner
	banner=$(head -c 120000 /dev/zero | tr '\0' b)
	start_server -B "$banner" 127.0.0.1 0 echo END
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "${#output}" -eq $((120000 + 3)) ]
	[ "$output" = "${banner}END" ]
}

@test "-v logs status at start, then pid, ok, status, end, status" {
	local pid cport expected
	start_server -v 127.0.0.1 0 sh -c 'echo "$$ $TCPREMOTEPORT"'
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	read -r pid cport <<<"$output"
	wait_log "^tcpwarden: status: 0/40\$"
	wait_for eval '[ "$(wc -l <"$LOG")" -ge 7 ]'
	expected="tcpwarden: start: bound 127.0.0.1:$PORT queues 256
tcpwarden: status: 0/40
tcpwarden: pid $pid from 127.0.0.1
tcpwarden: ok $pid :127.0.0.1:$PORT :127.0.0.1::$cport
tcpwarden: status: 1/40
tcpwarden: end $pid status 0
tcpwarden: status: 0/40"
	diff <(echo "$expected") "$LOG"
}

@test "-v: end gives the raw wait status, for an exit code and a signal" {
	local pid
	# The program exits with the code it reads, or kills itself.
	start_server -v 127.0.0.1 0 sh -c 'echo $$; read how
	    case $how in kill) kill -KILL $$ ;; esac; exit "$how"'
	run "$CLIENT" 127.0.0.1 "$PORT" <<<1
	pid=${lines[0]}
	wait_log "^tcpwarden: end $pid "
	log_has "^tcpwarden: end $pid status 256\$"
	run "$CLIENT" 127.0.0.1 "$PORT" <<<3
	pid=${lines[0]}
	wait_log "^tcpwarden: end $pid "
	log_has "^tcpwarden: end $pid status 768\$"
	run "$CLIENT" 127.0.0.1 "$PORT" <<<kill
	pid=${lines[0]}
	wait_log "^tcpwarden: end $pid "
	log_has "^tcpwarden: end $pid status 9\$"
}

@test "-Q (the default) logs no connection lines; -Q wins over an earlier -v" {
	local opts
	for opts in "" "-Q" "-v -Q"; do
		start_server $opts 127.0.0.1 0 sh -c 'echo hi; exit 1'
		run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
		[ "$output" = hi ]
		wait_for total_is 0
		[ -z "$(log_without_state)" ] || {
			echo "with '$opts':"
			cat "$LOG"
			false
		}
		stop_server
	done
}

@test "-q logs nothing, not even a failed exec, but SIGUSR1 still dumps" {
	start_server -q 127.0.0.1 0 "$NOPROG"
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_for total_is 0
	[ -z "$(log_without_state)" ]
	# The same where a forked child must find the exec failing (SIGCHLD
	# ignored at start: see the test on that above).
	stop_server
	with_signals --ignore-signal=CHLD -- -q 127.0.0.1 0 "$NOPROG"
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_for total_is 0
	[ -z "$(log_without_state)" ]
}

@test "a program that cannot run: a warning with the reason, EOF, no slot kept" {
	start_server 127.0.0.1 0 "$NOPROG"
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	# The client saw the connection closed (EOF, not a time-out).
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_log "warning: .*$NOPROG"
	[ "$(log_count 'warning: ')" -eq 1 ]
	log_has "^tcpwarden: warning: .*$NOPROG.*No such file or directory\$"
	wait_for total_is 0
	# Not executable: the reason differs.
	stop_server
	printf 'echo never\n' >"$BATS_TEST_TMPDIR/noexec"
	chmod 644 "$BATS_TEST_TMPDIR/noexec"
	start_server 127.0.0.1 0 "$BATS_TEST_TMPDIR/noexec"
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_log "warning: .*noexec.*Permission denied\$"
	wait_for total_is 0
}

@test "a program that cannot run, from a forked child: exit 111 and reaped" {
	# With SIGCHLD ignored at start, a child must run tcpwarden's code
	# before exec (see above), so there is a forked child, and a forked
	# child that cannot exec exits 111 (SPEC §5).
	with_signals --ignore-signal=CHLD -- -v 127.0.0.1 0 "$NOPROG"
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	wait_log "^tcpwarden: end [0-9]* "
	log_has "^tcpwarden: warning: .*$NOPROG.*No such file or directory\$"
	# 111 << 8
	log_has "^tcpwarden: end [0-9]* status 28416\$"
	wait_for total_is 0
}

# stop_with SIGNAL: the server ends on SIGNAL with exit 0, its port
# refuses connections, and a child it started goes on serving.
stop_with() {
	local fifo=$BATS_TEST_TMPDIR/in client code
	mkfifo "$fifo"
	# The client sends what it reads from the fifo only once it is
	# written, after the server is gone.
	"$CLIENT" -T 20 127.0.0.1 "$PORT" <"$fifo" >"$BATS_TEST_TMPDIR/out" &
	client=$!
	exec 7>"$fifo"
	wait_log "^tcpwarden: ok "
	kill "-$1" "$SERVER_PID"
	wait_for gone "$SERVER_PID"
	wait "$SERVER_PID" && code=0 || code=$?
	SERVER_PID=
	[ "$code" -eq 0 ]
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 1 ]
	echo question >&7
	exec 7>&-
	wait "$client"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(printf 'ready\nanswer question')" ]
}

@test "SIGTERM: exit 0, the port is closed, a running child goes on" {
	with_signals --default-signal=TERM -- -v 127.0.0.1 0 \
	    sh -c 'echo ready; read q; echo "answer $q"'
	stop_with TERM
}

@test "SIGINT: exit 0, the port is closed, a running child goes on" {
	# A background job starts with SIGINT ignored; set it back, as from
	# a terminal.
	with_signals --default-signal=INT -- -v 127.0.0.1 0 \
	    sh -c 'echo ready; read q; echo "answer $q"'
	stop_with INT
}

@test "SIGHUP does not stop the server, and the counts survive it" {
	with_signals --default-signal=HUP -- 127.0.0.1 0 \
	    sh -c 'echo up; exec cat >/dev/null'
	hold one 1
	[ "$HELD" = "held 1" ]
	kill -HUP "$SERVER_PID"
	kill -HUP "$SERVER_PID"
	run state
	[ "${lines[0]}" = "tcpwarden: state: 1/40 clients 1" ]
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 1/10 pids "[0-9]+$ ]]
	kill -0 "$SERVER_PID"
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = up ]
	release one
	wait_for total_is 0
}

@test "SIGUSR1 dumps the state even with -q" {
	start_server -q 127.0.0.1 0 sh -c 'echo up; exec cat >/dev/null'
	hold one 1
	[ "$HELD" = "held 1" ]
	run state
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "tcpwarden: state: 1/40 clients 1" ]
	[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 1/10 pids "[0-9]+$ ]]
	release one
	wait_for total_is 0
}

@test "-1 prints only the port and a newline on stdout" {
	local portfile=$BATS_TEST_TMPDIR/port
	start_server -v 127.0.0.1 0 echo hi
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$output" = hi ]
	wait_log "^tcpwarden: end "
	[[ "$PORT" =~ ^[1-9][0-9]*$ ]]
	[ "$PORT" -le 65535 ]
	# Byte for byte, also after a connection has been served.
	cmp "$portfile" <(printf '%s\n' "$PORT")
}

@test "SIGTERM ignored at start still stops tcpwarden; the program gets it ignored" {
	real=$TCPWARDEN
	TCPWARDEN=$BATS_TEST_TMPDIR/tw-ignoring-term
	printf '#!/bin/sh\ntrap "" TERM HUP\nexec "%s" "$@"\n' "$real" >"$TCPWARDEN"
	chmod +x "$TCPWARDEN"
	start_server 127.0.0.1 0 "$CHILDSTATE"
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[[ "$output" == *"SIGTERM: ignore"* ]]
	[[ "$output" == *"SIGHUP: ignore"* ]]
	[[ "$output" == *"SIGCHLD: default"* ]]
	kill -HUP "$SERVER_PID"
	kill -0 "$SERVER_PID"
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	status=$?
	SERVER_PID=
	[ "$status" -eq 0 ]
}
