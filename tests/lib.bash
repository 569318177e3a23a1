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

# close_fds: close every descriptor above 2 of this subshell, such as
# bats' own: a process of it outliving its test would keep them, and bats
# would wait for it forever.
close_fds() {
	local fd
	for fd in /proc/$BASHPID/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] 2>/dev/null && exec {fd}>&-
	done
	return 0
}

# start_server ARGS...: run "$TCPWARDEN -1 ARGS..." in the background; set
# SERVER_PID and PORT.  Its stderr goes to $LOG.  With the array
# SERVER_PREFIX set, tcpwarden is started through that command (which must
# exec it, so the pid stays tcpwarden's): env to change signals, sh -c
# for a ulimit, and so on.
start_server() {
	LOG=$BATS_TEST_TMPDIR/log
	local portfile=$BATS_TEST_TMPDIR/port i
	: >"$portfile"
	# Without the descriptors bats holds above 2 (close_fds).
	(
		close_fds
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

# wait_long CMD...: wait_for for up to 60 s, for what a loaded machine
# may take long to get through, such as a thousand queued connections.
wait_long() {
	local i
	for i in 1 2 3 4 5 6; do
		wait_for "$@" && return 0
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

# IN_NS: a command prefix that runs the clients of connect and hold
# somewhere else (an nsenter into a namespace of the test's own); empty
# runs them here.
IN_NS=()

# netns [COMMANDS]: a private network namespace (unshare -rn), its
# loopback up and then the shell COMMANDS run in it (settings of its own),
# kept by a sleep whose pid, NS_PID, is added to BG for the caller's
# teardown to kill.  IN_NS then runs the clients of connect and hold in
# it, and "${IN_NS[@]}" CMD runs any command there.  Skips where such
# namespaces are not permitted.
netns() {
	local why i log=$BATS_TEST_TMPDIR/ns.log
	why=$(unshare -rn true 2>&1) ||
	    skip "unshare -rn is not permitted here: $why"
	command -v nsenter >/dev/null && command -v ip >/dev/null ||
	    skip "nsenter (util-linux) and ip (iproute2) are needed"
	unshare -rn sh -c "ip link set lo up && ${1:-:} && exec sleep 600" \
	    >"$log" 2>&1 3>&- &
	NS_PID=$!
	BG+=("$NS_PID")
	# Ready once it runs sleep, after the unshare and the settings.
	for i in $(seq 200); do
		[ "$(cat "/proc/$NS_PID/comm" 2>/dev/null)" = sleep ] && break
		kill -0 "$NS_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ "$(cat "/proc/$NS_PID/comm" 2>/dev/null)" = sleep ] || {
		echo "namespace setup failed: $(cat "$log")"
		return 1
	}
	IN_NS=(nsenter -t "$NS_PID" -U -n)
}

# client_args [tcpclient options] [HOST]: set CLIENT_ARGS to the options,
# then HOST (127.0.0.1 if not given), then $PORT.  Every tcpclient option
# but -k takes one value, and no host starts with "-".
client_args() {
	CLIENT_ARGS=()
	while [ $# -gt 0 ] && [[ $1 == -* ]]; do
		if [ "$1" = -k ] || [ $# -eq 1 ]; then
			CLIENT_ARGS+=("$1")
			shift
		else
			CLIENT_ARGS+=("$1" "$2")
			shift 2
		fi
	done
	CLIENT_ARGS+=("${1:-127.0.0.1}" "$PORT")
}

# connect [tcpclient options] [HOST]: one connection to HOST (127.0.0.1)
# port $PORT that sends its stdin; the reply, byte for byte, on stdout.
connect() {
	client_args "$@"
	"${IN_NS[@]}" "$CLIENT" "${CLIENT_ARGS[@]}"
}

# reply_is FORMAT [tcpclient options] [HOST]: a connection that sends
# nothing gets exactly what printf FORMAT makes (so "busy\r\n" checks the
# CR and the LF too).
reply_is() {
	local want=$1 got
	shift
	got=$BATS_TEST_TMPDIR/reply
	connect "$@" </dev/null >"$got" ||
		{ echo "client failed: $*" >&2; return 1; }
	# shellcheck disable=SC2059
	if ! printf -- "$want" | cmp -s - "$got"; then
		echo "reply to $*: want $(printf -- "$want" | od -An -c)," \
		    "got $(od -An -c <"$got")" >&2
		return 1
	fi
}

common_teardown() {
	release_all
	stop_server
}

# The holds still open, by name.
HOLDS=()

# hold NAME N [tcpclient options] [HOST]: one client (tcpclient --hold N,
# through IN_NS) keeps N connections to HOST (127.0.0.1) port $PORT until
# release NAME.  By default each connection got a line from its program
# first, and HELD is set to the client's "held K" (K connections got a
# line); with --how silent or --how noread, to its "connected K".  Any
# number of holds may be open.  Call it directly, never in $(...), which
# would run it in a subshell and lose it.
#
# The client's stdin is a fifo it opens read-write itself, so it never
# sees EOF and holds until release kills it: no descriptor of ours has to
# stay open for it, so no later process can inherit one and keep a hold
# alive by mistake.
hold() {
	local name=$1 n=$2 base out
	shift 2
	client_args "$@"
	base=$BATS_TEST_TMPDIR/hold.$name
	rm -f "$base.in" "$base.out"
	mkfifo "$base.in" "$base.out"
	(
		close_fds
		exec "${IN_NS[@]}" "$CLIENT" --hold "$n" "${CLIENT_ARGS[@]}" \
		    <>"$base.in" >"$base.out"
	) &
	printf -v "HOLD_PID_$name" %s "$!"
	HOLDS+=("$name")
	# The client opens the fifo before it runs, so this cannot block for
	# long; the read is bounded by its own -T and by ours.
	exec {out}<"$base.out"
	HELD=
	read -r -t 60 HELD <&"$out" || true
	exec {out}<&-
}

# release NAME...: end the connections of these holds, all at once (a
# SIGTERM to each client, then a wait for each).
release() {
	local name v pids=()
	for name in "$@"; do
		v=HOLD_PID_$name
		[ -n "${!v:-}" ] && pids+=("${!v}")
	done
	[ ${#pids[@]} -eq 0 ] || kill -TERM "${pids[@]}" 2>/dev/null
	for name in "$@"; do
		v=HOLD_PID_$name
		[ -n "${!v:-}" ] && { wait "${!v}" 2>/dev/null || true; }
		printf -v "$v" %s ""
	done
	return 0
}

# release_all: end every hold still open.
release_all() {
	[ ${#HOLDS[@]} -eq 0 ] || release "${HOLDS[@]}"
	HOLDS=()
}

# children: the server's child processes, one "PID STATE" line each
# (STATE as in /proc: Z for a zombie).  Read from the children lists of
# its threads, or where the kernel lacks those, from every process' stat.
children() {
	local pid f s fields pids=()
	if [ -e "/proc/$SERVER_PID/task/$SERVER_PID/children" ]; then
		read -r -a pids < <(cat /proc/"$SERVER_PID"/task/*/children) || true
	else
		for f in /proc/[0-9]*/stat; do
			{ read -r s <"$f"; } 2>/dev/null || continue
			read -r -a fields <<<"${s##*) }"
			[ "${fields[1]}" = "$SERVER_PID" ] || continue
			f=${f#/proc/}
			pids+=("${f%/stat}")
		done
	fi
	for pid in "${pids[@]}"; do
		{ read -r s <"/proc/$pid/stat"; } 2>/dev/null || continue
		# The name may hold spaces and parentheses: cut after the last ")".
		read -r -a fields <<<"${s##*) }"
		echo "$pid ${fields[0]}"
	done
}

no_children() { [ -z "$(children)" ]; }

# in_queues: how many connections wait in the listening sockets' accept
# queues (their Recv-Q, summed), not yet taken by the server.
in_queues() { ss -Htln "sport = :$PORT" | awk '{ n += $2 } END { print n + 0 }'; }
# queued N: exactly N wait.
queued() { [ "$(in_queues)" = "$1" ]; }

# status_max: the highest live count in the log's "status: n/max" lines.
status_max() {
	sed -n 's/^tcpwarden: status: \([0-9]*\)\/.*/\1/p' "$LOG" |
	    sort -n | tail -n 1
}

# storm N CONC FIRST LAST: N connections, CONC at a time, from 127.0.0.FIRST
# to 127.0.0.LAST in turn; every one must end with EOF, each within
# STORM_TIMEOUT seconds (60 unless a file sets it).
storm() {
	run "$CLIENT" --storm "$1" --conc "$2" --src "127.0.0.$3-$4" \
	    -T "${STORM_TIMEOUT:-60}" 127.0.0.1 "$PORT"
	echo "storm: $output"
	[ "$output" = "done $1 ok $1 failed 0" ]
}

# settled MAX: no connection waits to be taken, the last child is gone
# (none left, none a zombie) and reaped, and the state dump is exactly
# "0/MAX clients 0", alone.
settled() {
	# Connections may wait in the accept queues after their clients are
	# gone (a reset's do): till those are served, a moment without a
	# child is only a pause between two.
	wait_long queued 0 || { echo "still queued: $(in_queues)"; return 1; }
	wait_for no_children ||
	    { echo "children left (Z: a zombie):" $(children); return 1; }
	wait_for eval '[ "$(total)" = 0 ]'
	run state
	echo "$output"
	[ "${lines[0]}" = "tcpwarden: state: 0/$1 clients 0" ]
	[ "${#lines[@]}" -eq 1 ]
}
