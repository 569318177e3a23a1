#!/usr/bin/env bats
# Socket activation: tcpwarden started by a real activator,
# systemd-socket-activate (Debian's systemd package), serves the socket it
# is passed, which must be a listening TCP socket where host and port say.
#
# The activator listens on an address and port it is given, and starts
# its program (tcpwarden) at the first connection, with the socket as
# descriptor 3 and LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES set.  The port
# comes from freeport, which binds port 0 and lets it go: another process
# may take it before the activator does, so a failed listen is retried on
# another port, a few times.

bats_require_minimum_version 1.5.0

load lib

ACTIVATE=$(command -v systemd-socket-activate || true)

setup() {
	[ -n "$ACTIVATE" ] ||
	    skip "systemd-socket-activate is not installed (systemd)"
	# What the program saw: its address, the LISTEN_* variables (none),
	# then childstate's report (its descriptors: 0 1 2 only).
	PROG=(sh -c 'echo "ip $TCPLOCALIP port $TCPLOCALPORT listen [${LISTEN_PID-}${LISTEN_FDS-}${LISTEN_FDNAMES-}]"
	    exec "$1"' sh "$CHILDSTATE")
}

teardown() { common_teardown; }

# activate [activator options] HOST -- TCPWARDEN-ARGS...: the activator on
# HOST and a free port (ACT_PORT), to start tcpwarden -1 with ARGS, where
# @PORT@ (in its options too) stands for ACT_PORT (and PORT, for connect).
# Returns once it listens; SERVER_PID is its pid, and tcpwarden's once it
# has exec'd tcpwarden.  LOG holds both programs' stderr, PORTFILE
# tcpwarden's stdout.
activate() {
	local opts=() aopts host try i arg args listen
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	host=${opts[-1]}
	unset 'opts[-1]'
	shift
	LOG=$BATS_TEST_TMPDIR/log
	PORTFILE=$BATS_TEST_TMPDIR/port
	for try in 1 2 3 4 5; do
		ACT_PORT=$("$H/freeport" "$host") || return 1
		PORT=$ACT_PORT
		args=() aopts=()
		for arg in "$@"; do
			args+=("${arg//@PORT@/$ACT_PORT}")
		done
		for arg in ${opts[@]+"${opts[@]}"}; do
			aopts+=("${arg//@PORT@/$ACT_PORT}")
		done
		case $host in *:*) listen="[$host]:$ACT_PORT" ;; *) listen="$host:$ACT_PORT" ;; esac
		: >"$PORTFILE"
		(
			for fd in /proc/$BASHPID/fd/*; do
				fd=${fd##*/}
				[ "$fd" -gt 2 ] 2>/dev/null && exec {fd}>&-
			done
			exec "$ACTIVATE" ${aopts[@]+"${aopts[@]}"} -l "$listen" \
			    "$TCPWARDEN" -1 "${args[@]}"
		) >"$PORTFILE" 2>"$LOG" </dev/null &
		SERVER_PID=$!
		for i in $(seq 200); do
			log_has "^Listening on " && return 0
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.05
		done
		# The port was taken meanwhile: another one.
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=
		echo "activator on $listen: $(cat "$LOG")" >&2
	done
	return 1
}

# printed_port: what tcpwarden -1 printed, once it has.
printed_port() {
	wait_for grep -q . "$PORTFILE" && head -n 1 "$PORTFILE"
}

# exits_with CODE: the activated tcpwarden has ended with CODE.
exits_with() {
	local st
	wait_for eval '! kill -0 "$SERVER_PID" 2>/dev/null' ||
	    { echo "still running: $(cat "$LOG")" >&2; return 1; }
	st=0
	wait "$SERVER_PID" || st=$?
	SERVER_PID=
	[ "$st" -eq "$1" ] || { echo "exit $st, not $1: $(cat "$LOG")" >&2; return 1; }
}

@test "IPv4: the passed socket is served; -1 prints its port; no LISTEN_* nor fd 3 reach the program" {
	activate 127.0.0.1 -- -v 127.0.0.1 @PORT@ "${PROG[@]}"
	# The first connection is the one that starts tcpwarden.
	out=$(connect 127.0.0.1 </dev/null)
	has "ip 127.0.0.1 port $ACT_PORT listen []"
	has "fds: 0 1 2"
	[ "$(printed_port)" = "$ACT_PORT" ]
	wait_log "ok [0-9]* :127\.0\.0\.1:$ACT_PORT :127\.0\.0\.1::"
	# One queue, the passed socket, as the start line says.
	log_has "^tcpwarden: start: passed 127\.0\.0\.1:$ACT_PORT queues 1$"
	# tcpwarden itself, in the activator's place, serves on.
	[ "$(cat "/proc/$SERVER_PID/comm")" = tcpwarden ]
	out=$(connect 127.0.0.1 </dev/null)
	has "ip 127.0.0.1 port $ACT_PORT listen []"
	[ "$(log_count ' ok ')" -eq 2 ]
	# No group of sockets of its own beside it.
	if command -v ss >/dev/null; then
		[ "$(ss -Hltn "sport = :$ACT_PORT" | wc -l)" -eq 1 ]
	fi
}

@test "IPv6 (::1): the passed socket is served" {
	"$H/freeport" ::1 >/dev/null 2>&1 || skip "no IPv6 on loopback"
	activate ::1 -- -v ::1 @PORT@ "${PROG[@]}"
	out=$(connect ::1 </dev/null)
	has "ip ::1 port $ACT_PORT listen []"
	has "fds: 0 1 2"
	[ "$(printed_port)" = "$ACT_PORT" ]
	wait_log "ok [0-9]* :\[::1\]:$ACT_PORT :\[::1\]::"
	log_has "^tcpwarden: start: passed \[::1\]:$ACT_PORT queues 1$"
}

@test "host 0 and port 0 match any passed address, named or not" {
	activate --fdname=echo 127.0.0.1 -- -v 0 0 "${PROG[@]}"
	out=$(connect 127.0.0.1 </dev/null)
	has "ip 127.0.0.1 port $ACT_PORT listen []"
	[ "$(printed_port)" = "$ACT_PORT" ]
	log_has "^tcpwarden: start: passed 127\.0\.0\.1:$ACT_PORT queues 1 name echo$"
}

@test "a passed socket elsewhere than host and port say: exit 100 at start" {
	activate 127.0.0.1 -- 127.0.0.2 @PORT@ "${PROG[@]}"
	connect -T 3 127.0.0.1 </dev/null >/dev/null || true
	exits_with 100
	log_has "tcpwarden: fatal: the socket systemd passed is 127\.0\.0\.1:$ACT_PORT, not the host and port of the command line: 127\.0\.0\.2 $ACT_PORT$"

	activate 127.0.0.1 -- 127.0.0.1 1 "${PROG[@]}"
	connect -T 3 127.0.0.1 </dev/null >/dev/null || true
	exits_with 100
	log_has "fatal: the socket systemd passed is 127\.0\.0\.1:$ACT_PORT, not the host and port of the command line: 127\.0\.0\.1 1$"

	# Another family is another address, even with the same port.
	activate 127.0.0.1 -- ::1 @PORT@ "${PROG[@]}"
	connect -T 3 127.0.0.1 </dev/null >/dev/null || true
	exits_with 100
	log_has "fatal: the socket systemd passed is 127\.0\.0\.1:$ACT_PORT, not .*: ::1 $ACT_PORT$"
}

@test "a passed socket that is not listening (Accept=yes): exit 100, nothing served" {
	# With --accept the activator passes each connection, not the
	# listening socket: a connected TCP socket as descriptor 3.
	activate --accept 127.0.0.1 -- -v 0 0 "${PROG[@]}"
	connect -T 3 127.0.0.1 </dev/null >"$BATS_TEST_TMPDIR/reply" || true
	wait_log 'Child [0-9]* died with code 100'
	log_has "tcpwarden: fatal: the socket systemd passed (fd 3) is not listening: with Accept=yes"
	run ! grep -q ip "$BATS_TEST_TMPDIR/reply"
}

@test "a passed socket that is not TCP (a datagram socket): exit 100" {
	activate --datagram 127.0.0.1 -- -v 0 0 "${PROG[@]}"
	# A datagram wakes the activator.
	printf x >"/dev/udp/127.0.0.1/$ACT_PORT"
	exits_with 100
	log_has "tcpwarden: fatal: the socket systemd passed (fd 3) is not a stream socket: ListenStream=, not ListenDatagram="
}

@test "two passed sockets: exit 100, tcpwarden serves one" {
	# The second on 127.0.0.2 and the same port, retried with it.
	activate -l 127.0.0.2:@PORT@ 127.0.0.1 -- -v 0 0 "${PROG[@]}"
	connect -T 3 127.0.0.1 </dev/null >/dev/null || true
	exits_with 100
	log_has "tcpwarden: fatal: systemd passed 2 sockets (LISTEN_FDS); tcpwarden serves one"
}

@test "LISTEN_* for another process: ignored and removed; tcpwarden binds its own" {
	start_via env LISTEN_PID=1 LISTEN_FDS=1 LISTEN_FDNAMES=x -- -v 127.0.0.1 0 "${PROG[@]}"
	out=$(connect 127.0.0.1 </dev/null)
	has "ip 127.0.0.1 port $PORT listen []"
	has "fds: 0 1 2"
}
