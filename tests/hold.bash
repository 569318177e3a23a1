# For the limit tests (limits.bats, storm.bats, ipv6.bats), on top of
# lib.bash: connections held open from a chosen source address, one-shot
# connections whose exact reply is kept, and the server's children.
# Every wait is bounded.

# IN_NS: a command prefix that runs a client somewhere else (ipv6.bats
# sets it to an nsenter into its namespace); empty runs it here.
IN_NS=()
HOLDS=()

# hold_open NAME N [tcpclient options] HOST: one client keeps N
# connections to HOST:$PORT, each of which got a line from its program.
# Sets HELD to the client's answer ("held K": K connections got a line).
# The connections stay until hold_close NAME.  Call it directly, never in
# $(...), which would run it in a subshell and lose it.
#
# The client's stdin is a fifo it opens read-write itself, so it never
# sees EOF and holds until killed: no descriptor of ours has to stay open,
# so no later process can inherit one and keep a hold alive by mistake.
hold_open() {
	local name=$1 n=$2 base out pid
	shift 2
	base=$BATS_TEST_TMPDIR/hold.$name
	rm -f "$base.in" "$base.out"
	mkfifo "$base.in" "$base.out"
	"${IN_NS[@]}" "$CLIENT" --hold "$n" "$@" "$PORT" \
	    <>"$base.in" >"$base.out" 3>&- &
	pid=$!
	printf -v "HOLD_PID_$name" %s "$pid"
	HOLDS+=("$name")
	# The client opens the fifo before it runs, so this cannot block for
	# long; the read is bounded by its own -T and by ours.
	exec {out}<"$base.out"
	HELD=
	read -r -t 30 HELD <&"$out" || true
	exec {out}<&-
}

# hold_close NAME: end the connections of hold NAME.
hold_close() {
	local v=HOLD_PID_$1
	[ -n "${!v:-}" ] || return 0
	kill -TERM "${!v}" 2>/dev/null
	wait "${!v}" 2>/dev/null || true
	printf -v "$v" %s ""
	return 0
}

hold_close_all() {
	local name
	for name in "${HOLDS[@]}"; do
		hold_close "$name"
	done
	HOLDS=()
}

# conn [tcpclient options] HOST: one connection that sends nothing; the
# reply, byte for byte, on stdout.
conn() {
	"${IN_NS[@]}" "$CLIENT" "$@" "$PORT" </dev/null
}

# reply_is FORMAT [tcpclient options] HOST: the reply is exactly what
# printf FORMAT makes (so "busy\r\n" checks the CR and the LF too).
reply_is() {
	local want=$1 got
	shift
	got=$BATS_TEST_TMPDIR/reply
	conn "$@" >"$got" || { echo "client failed: $*" >&2; return 1; }
	# shellcheck disable=SC2059
	if ! printf -- "$want" | cmp -s - "$got"; then
		echo "reply to $*: want $(printf -- "$want" | od -An -c)," \
		    "got $(od -An -c <"$got")" >&2
		return 1
	fi
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

# status_max: the highest live count in the log's "status: n/max" lines.
status_max() {
	sed -n 's/^tcpwarden: status: \([0-9]*\)\/.*/\1/p' "$LOG" |
	    sort -n | tail -n 1
}

limit_teardown() {
	hold_close_all
	common_teardown
}
