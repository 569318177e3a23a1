# Shared by the bats files: start tcpwarden on port 0 with -1, talk to it,
# wait for its log lines, stop it by its saved pid.  Every wait is bounded.

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
TCPWARDEN=${TCPWARDEN:-./tcpwarden}
case $TCPWARDEN in /*) ;; *) TCPWARDEN=$TOP/${TCPWARDEN#./} ;; esac
H=$TOP/build/helpers
CLIENT=$H/tcpclient
CHILDSTATE=$H/childstate
# The sanitizer build must not stop on leaks at exit (tcpwarden exits with
# _exit on SIGTERM, leaving its table allocated on purpose).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# start_server ARGS...: run "$TCPWARDEN -1 ARGS..." in the background; set
# SERVER_PID and PORT.  Its stderr goes to $LOG.  With the array
# SERVER_PREFIX set, tcpwarden is started through that command (which must
# exec it, so the pid stays tcpwarden's): env to change signals, sh -c
# for a ulimit, and so on.
start_server() {
	LOG=$BATS_TEST_TMPDIR/log
	local portfile=$BATS_TEST_TMPDIR/port i
	: >"$portfile"
	# Without the descriptors bats holds above 2: a program outliving its
	# test would keep them, and bats would wait for it forever.
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null && exec {fd}>&-
		done
		exec ${SERVER_PREFIX[@]+"${SERVER_PREFIX[@]}"} "$TCPWARDEN" -1 "$@"
	) >"$portfile" 2>"$LOG" &
	SERVER_PID=$!
	for i in $(seq 200); do
		PORT=$(head -n 1 "$portfile")
		[ -n "$PORT" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "server did not start: $(cat "$LOG")" >&2
	return 1
}

stop_server() {
	[ -n "${SERVER_PID:-}" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_STATUS=$?
	SERVER_PID=
}

# start_via CMD... -- ARGS...: start_server ARGS..., with tcpwarden started
# through CMD (SERVER_PREFIX above).
start_via() {
	local prefix=() status
	while [ "$1" != -- ]; do
		prefix+=("$1")
		shift
	done
	shift
	SERVER_PREFIX=("${prefix[@]}")
	start_server "$@"
	status=$?
	unset SERVER_PREFIX
	return $status
}

# childstate: one connection to a server running $CHILDSTATE; its report
# in $out.
childstate() {
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	out=$output
}

# has LINE: the child reported exactly this line.
has() {
	grep -qxF -- "$1" <<<"$out" || {
		echo "missing '$1' in:"
		echo "$out"
		return 1
	}
}

# wait_for CMD...: retry a command until it succeeds, for up to 10 s.
wait_for() {
	local i
	for i in $(seq 200); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

log_has() { grep -q -- "$1" "$LOG"; }
# wait_log PATTERN: until the log has a line matching the pattern.
wait_log() { wait_for log_has "$1"; }
# log_count PATTERN: how many log lines match.
log_count() { grep -c -- "$1" "$LOG"; }

# last_state: the last complete state dump in the log (the state line and
# as many client and net lines as it announces, without the totals lines
# between them); fails while it is incomplete.
last_state() {
	awk -v want="$1" '
	/tcpwarden: state: / {
		n++
		if (n == want) {
			buf = $0 "\n"; need = 0; got = 0
			for (i = 1; i < NF; i++)
				if ($i == "clients" || $i == "nets")
					need += $(i + 1)
		}
		next
	}
	n == want && need > got && /tcpwarden: (client|net) / { buf = buf $0 "\n"; got++ }
	END { if (n >= want && got == need) { printf "%s", buf; exit 0 } exit 1 }
	' "$LOG"
}

# state: ask for the state dump and print it once complete.
state() {
	local n
	n=$(( $(grep -c 'tcpwarden: state: ' "$LOG") + 1 ))
	kill -USR1 "$SERVER_PID"
	wait_for last_state "$n" >/dev/null || return 1
	last_state "$n"
}

# total: the live count from a fresh state dump.
total() {
	state | sed -n 's/.*state: \([0-9]*\)\/.*/\1/p' | tail -n 1
}

# connect [tcpclient options] [HOST]: run the client against $PORT.
connect() {
	local host=127.0.0.1
	"$CLIENT" "$@" "$host" "$PORT"
}

common_teardown() {
	stop_server
}

# hold NAME N [tcpclient options]: open N connections to 127.0.0.1:$PORT
# that each get one line from their program, and keep them until release
# NAME.  Sets HELD to the client's "held K" line.  Any number of holds may
# be open.  Call it directly, not in $(...), which would end it at once.
hold() {
	local name=$1 n=$2 host=127.0.0.1 fd
	shift 2
	local base=$BATS_TEST_TMPDIR/hold.$name
	rm -f "$base.in" "$base.out"
	mkfifo "$base.in"
	# The client must not inherit the write ends of other holds, or
	# their release would never reach their clients.
	(
		for v in ${!HOLD_FD_@}; do eval "exec ${!v}>&-"; done
		exec "$CLIENT" --hold "$n" "$@" "$host" "$PORT" \
		    <"$base.in" >"$base.out"
	) &
	eval "HOLD_PID_$name=$!"
	# Opening the write end waits for the client to open the read end.
	exec {fd}>"$base.in"
	eval "HOLD_FD_$name=$fd"
	wait_for grep -q '^held' "$base.out"
	HELD=$(cat "$base.out")
}

# release NAME: end the connections of hold NAME.
release() {
	local fdvar=HOLD_FD_$1 pidvar=HOLD_PID_$1
	eval "exec ${!fdvar}>&-"
	wait "${!pidvar}"
}
