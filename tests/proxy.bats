#!/usr/bin/env bats
# --proxy-from (SPEC §10): tcpwarden behind a real HAProxy that sends the
# PROXY header (send-proxy, send-proxy-v2), clients from distinct 127.0.0.x
# sources through it; and headers good and bad sent by hand.
#
# HAProxy listens on 127.0.0.1:$HA_PORT and forwards to tcpwarden on
# $TW_PORT; the clients' helpers (hold.bash) talk to $PORT, which is set to
# whichever of the two a test talks to.  Every child runs PROG: one line
# "PROTO REMOTEIP LOCALIP:LOCALPORT PROXYREMOTEIP FOO" ("-" for unset),
# then the client's first line back, and it ends.
#
# A client of HAProxy that ends its side at once may find that HAProxy
# resets the server's side before the reply (seen 1 time in 30 with
# HAProxy 2.6): through HAProxy, clients send a line and keep their side
# open (tcpclient -k) until the program has answered and ended.
#
# A connection waiting for its header is a socket tcpwarden holds at fd 64
# or above (spawn.h); so is the listening socket, while it listens, which
# pending_count leaves out to count the waiting ones.

bats_require_minimum_version 1.5.0

load lib

setup() {
	PROG=(sh -c 'echo "$PROTO $TCPREMOTEIP $TCPLOCALIP:$TCPLOCALPORT ${PROXYREMOTEIP--} ${FOO--}"; exec head -n 1')
	HA_PID=
	NS_PID=
	NS=()
	command -v haproxy >/dev/null ||
	    { echo "proxy.bats needs haproxy (Debian: haproxy)" >&2; return 1; }
}

teardown() {
	# Shown only when the test failed.
	[ -z "${LOG:-}" ] || { echo "tcpwarden's log:"; cat "$LOG"; }
	stop_haproxy
	common_teardown
	[ -z "$NS_PID" ] || kill "$NS_PID" 2>/dev/null || true
}

# start_tw ARGS...: tcpwarden with ARGS and PROG on 127.0.0.1, one queue;
# its port in TW_PORT and PORT.
start_tw() {
	if [ ${#NS[@]} -gt 0 ]; then
		start_via "${NS[@]}" -- --queues=1 "$@" 127.0.0.1 0 "${PROG[@]}"
	else
		start_server --queues=1 "$@" 127.0.0.1 0 "${PROG[@]}"
	fi || return 1
	TW_PORT=$PORT
}

# start_haproxy BIND SERVER-OPTIONS...: HAProxy in tcp mode, bound to
# BIND (127.0.0.1 or ::1) on a free port, HA_PORT, and forwarding to
# tcpwarden with the server options given; HA_MORE, if set, is another
# line for the backend.  A port found free may be
# taken before HAProxy binds it: then another is tried, ten at most.
start_haproxy() {
	local bind=$1 try conf=$BATS_TEST_TMPDIR/haproxy.cfg
	local err=$BATS_TEST_TMPDIR/haproxy.err pidfile=$BATS_TEST_TMPDIR/haproxy.pid
	shift
	for try in $(seq 10); do
		HA_PORT=$((20000 + RANDOM % 40000))
		cat >"$conf" <<-EOF
		global
		    maxconn 200
		defaults
		    mode tcp
		    timeout connect 5s
		    timeout client 30s
		    timeout server 30s
		frontend fe
		    bind $bind:$HA_PORT
		    default_backend be
		backend be
		    server tw 127.0.0.1:$TW_PORT $*
		    ${HA_MORE:-}
		EOF
		rm -f "$pidfile"
		# -D returns once the frontend is bound, or fails.
		if "${NS[@]}" haproxy -f "$conf" -D -p "$pidfile" \
		    </dev/null >"$err" 2>&1 3>&-; then
			HA_PID=$(head -n 1 "$pidfile")
			HA_ADDR=$bind
			PORT=$HA_PORT
			return 0
		fi
		grep -qi 'bind' "$err" || break
	done
	echo "haproxy did not start:" >&2
	cat "$err" >&2
	return 1
}

stop_haproxy() {
	[ -n "${HA_PID:-}" ] || return 0
	kill "$HA_PID" 2>/dev/null
	wait_for eval '! kill -0 "$HA_PID" 2>/dev/null'
	HA_PID=
}

# raw FORMAT [tcpclient options]: send what printf FORMAT makes straight to
# tcpwarden, then read its reply to the end.
raw() {
	local fmt=$1
	shift
	# shellcheck disable=SC2059
	printf -- "$fmt" | "${NS[@]}" "$CLIENT" "$@" 127.0.0.1 "$TW_PORT"
}

# via_ha FORMAT SRC: through HAProxy from SRC, send "x" and keep open; the
# reply must be exactly what printf FORMAT makes.
via_ha() {
	local got want
	got=$(printf 'x\n' | "${NS[@]}" "$CLIENT" -k -s "$2" "$HA_ADDR" \
	    "$HA_PORT"; echo .)
	# shellcheck disable=SC2059
	want=$(printf -- "$1"; echo .)
	[ "$got" = "$want" ] ||
	    { echo "reply from $2: want $(printf %s "$want" | od -An -c)," \
	    "got $(printf %s "$got" | od -An -c)" >&2; return 1; }
}

pending_count() {
	local f n=0 link listening
	listening=" $("${NS[@]}" ss -Hltne "sport = :$TW_PORT" |
	    sed -n 's/.* ino:\([0-9]*\).*/\1/p' | tr '\n' ' ')"
	for f in /proc/"$SERVER_PID"/fd/*; do
		[ "${f##*/}" -ge 64 ] || continue
		link=$(readlink "$f")
		[[ $link == socket:* ]] || continue
		[[ $listening == *" ${link//[^0-9]/} "* ]] || n=$((n + 1))
	done
	echo "$n"
}

# open_partial NAME FORMAT: a connection to tcpwarden that sends what
# printf FORMAT makes and stays open, as fd PART_NAME.
open_partial() {
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$TW_PORT"
	printf -v "PART_$1" %s "$fd"
	# shellcheck disable=SC2059
	printf -- "$2" >&"$fd"
}

close_partial() {
	local v=PART_$1 fd
	fd=${!v}
	exec {fd}>&-
}

V2SIG='\r\n\r\n\0\r\nQUIT\n'
# A version 2 header for TCP over IPv4, 192.0.2.7:4660 to 198.51.100.1:80.
V2_TCP4="$V2SIG"'\x21\x11\x00\x0c\xc0\x00\x02\x07\xc6\x33\x64\x01\x12\x34\x00\x50'

@test "send-proxy: -C counts each real client behind HAProxy" {
	start_tw -v -C '2:busy\r\n' --proxy-from=127.0.0.1
	start_haproxy 127.0.0.1 send-proxy
	hold a 2 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 2" ]
	# -k: HAProxy may drop a reply that comes after the client's end.
	via_ha 'busy\r\n' 127.0.0.2
	wait_log 'deny 127\.0\.0\.2:[0-9]* per-client 2/2$'
	via_ha 'TCP 127.0.0.3 127.0.0.1:'"$HA_PORT"' 127.0.0.1 -\nx\n' 127.0.0.3
	hold b 2 -s 127.0.0.3 127.0.0.1
	[ "$HELD" = "held 2" ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 4/40 clients 2" ]
	[[ "$output" == *"client 127.0.0.2 2/2 pids "* ]]
	[[ "$output" == *"client 127.0.0.3 2/2 pids "* ]]
	# The balancer itself holds no count.
	[[ "$output" != *"client 127.0.0.1 "* ]]
}

@test "send-proxy-v2: rules by the real address; environment and log lines name it, PROXYREMOTEIP the balancer" {
	printf '%s\n' '127.0.0.3:deny' '127.0.0.2:allow,FOO="bar"' ':allow' \
	    >"$BATS_TEST_TMPDIR/rules"
	start_tw -v --rules="$BATS_TEST_TMPDIR/rules" --proxy-from=127.0.0.0/8
	start_haproxy 127.0.0.1 send-proxy-v2
	via_ha 'TCP 127.0.0.2 127.0.0.1:'"$HA_PORT"' 127.0.0.1 bar\nx\n' 127.0.0.2
	via_ha '' 127.0.0.3
	wait_log 'deny 127\.0\.0\.3:[0-9]* rule 127\.0\.0\.3$'
	wait_log 'pid [0-9]* from 127\.0\.0\.2 via 127\.0\.0\.1:[0-9]*$'
	log_has "ok [0-9]* :127\.0\.0\.1:$HA_PORT :127\.0\.0\.2::[0-9]*$"
	run ! log_has 'from 127\.0\.0\.3'
	wait_for eval '[ "$(total)" = 0 ]'
}

@test "HAProxy's health checks (check, check-send-proxy) count under the balancer and leave 0" {
	start_tw -v -C 1 --proxy-from=127.0.0.1
	# Checks every 100 ms: v2 with the traffic, v1 forced by
	# check-send-proxy on a check port of its own.
	HA_MORE="server tw1 127.0.0.1:$TW_PORT check check-send-proxy port $TW_PORT inter 100ms"
	start_haproxy 127.0.0.1 send-proxy-v2 check inter 100ms
	wait_for eval '[ "$(log_count "from 127\.0\.0\.1 via 127\.0\.0\.1:")" -ge 6 ]'
	stop_haproxy
	wait_for eval '[ "$(total)" = 0 ]'
	run state
	[ "$output" = "tcpwarden: state: 0/40 clients 0" ]
	run ! log_has 'deny .* proxy '
	[ "$(pending_count)" = 0 ]
}

@test "IPv6 front (::1) in a network namespace: the client is IPv6, PROTO=TCP6" {
	local why
	why=$(unshare -rn true 2>&1) || skip "unshare -rn is not permitted here: $why"
	unshare -rn sh -c 'ip link set lo up && exec sleep 600' 3>&- &
	NS_PID=$!
	wait_for eval '[ "$(cat /proc/$NS_PID/comm)" = sleep ]'
	NS=(nsenter -t "$NS_PID" -U -n)
	start_tw -v --proxy-from=127.0.0.1
	start_haproxy ::1 send-proxy-v2
	via_ha 'TCP6 ::1 ::1:'"$HA_PORT"' 127.0.0.1 -\nx\n' ::1
	wait_log 'pid [0-9]* from \[::1\] via 127\.0\.0\.1:[0-9]*$'
}

@test "from outside --proxy-from a PROXY line is the client's data" {
	start_tw -v --proxy-from=127.0.0.1
	run raw 'PROXY TCP4 192.0.2.7 198.51.100.1 4660 80\r\n' -s 127.0.0.2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "TCP 127.0.0.2 127.0.0.1:$TW_PORT - -" ]
	[ "${lines[1]}" = $'PROXY TCP4 192.0.2.7 198.51.100.1 4660 80\r' ]
	wait_log 'pid [0-9]* from 127\.0\.0\.2$'
}

@test "bytes in the same write as the header, v1 and v2, reach the program" {
	start_tw -v --proxy-from=127.0.0.1
	run raw 'PROXY TCP4 192.0.2.7 198.51.100.1 4660 80\r\nfirst'
	[ "$output" = "$(printf 'TCP 192.0.2.7 198.51.100.1:80 127.0.0.1 -\nfirst')" ]
	run raw "$V2_TCP4"'first'
	[ "$output" = "$(printf 'TCP 192.0.2.7 198.51.100.1:80 127.0.0.1 -\nfirst')" ]
	# LOCAL and UNKNOWN: the balancer's own connection.
	run raw "$V2SIG"'\x20\x00\x00\x00local'
	[ "$output" = "$(printf 'TCP 127.0.0.1 127.0.0.1:%s 127.0.0.1 -\nlocal' "$TW_PORT")" ]
	run raw 'PROXY UNKNOWN\r\nunknown'
	[ "$output" = "$(printf 'TCP 127.0.0.1 127.0.0.1:%s 127.0.0.1 -\nunknown' "$TW_PORT")" ]
}

@test "malformed, truncated, oversized headers, v1 and v2: dropped and logged, no process, no slot" {
	start_tw -v -c 4 --proxy-from=127.0.0.1
	local n=0 bad
	for bad in \
	    'PROXY TCP4 192.0.2.7 198.51.100.1 99999 80\r\nx' \
	    'PROXY TCP4 192.0.2.07 198.51.100.1 1 80\r\nx' \
	    'PROXY TCP5 192.0.2.7 198.51.100.1 1 80\r\nx' \
	    'PROXY TCP4 192.0.2.7\n' \
	    "PROXY TCP4 $(printf '%0120d' 0)" \
	    'PROXY TCP4 192.0.2.7' \
	    'GET / HTTP/1.0\r\n\r\n' \
	    "$V2SIG"'\x31\x11\x00\x0c' \
	    "$V2SIG"'\x23\x11\x00\x0c' \
	    "$V2SIG"'\x21\x11\x07\xd0' \
	    "$V2SIG"'\x21\x11\x00\x04\x01\x02\x03\x04' \
	    "$V2SIG"'\x21\x11\x00\x0c\xc0\x00'; do
		run raw "$bad"
		[ -z "$output" ] || [[ "$output" == *"reset by peer"* ]]
		n=$((n + 1))
		wait_for eval '[ "$(log_count "deny .* proxy ")" -ge '"$n"' ]'
	done
	for bad in 'bad port' 'bad address' 'bad family' 'bad line' \
	    'too long' 'truncated' 'not a header' 'bad version' \
	    'bad command' 'short address'; do
		log_has "deny 127\.0\.0\.1:[0-9]* proxy $bad\$"
	done
	[ "$(log_count ' proxy too long$')" -eq 2 ]
	[ "$(log_count ' proxy truncated$')" -eq 2 ]
	run ! log_has 'pid '
	run state
	[ "$output" = "tcpwarden: state: 0/4 clients 0" ]
	[ "$(pending_count)" = 0 ]
	# Served as ever afterwards.
	run raw "$V2_TCP4"
	[ "$output" = "TCP 192.0.2.7 198.51.100.1:80 127.0.0.1 -" ]
}

@test "a slow header waits without a slot while others are served; a late one is dropped" {
	# Room for three to wait (as many as -c): the two here and the one
	# served below, whose header may come after its accept too.
	start_tw -v -c 3 --proxy-from=127.0.0.1 --proxy-timeout=2
	open_partial slow 'PROXY TCP4 192.0.2.'
	open_partial split 'PROXY TCP4 192.0.2.5 198.51.100.1 '
	wait_for eval '[ "$(pending_count)" = 2 ]'
	# Both wait, and hold none of the slots of -c 3.
	run raw 'PROXY TCP4 192.0.2.9 198.51.100.1 1 80\r\n'
	[ "$output" = "TCP 192.0.2.9 198.51.100.1:80 127.0.0.1 -" ]
	# The rest of a split header, and the client's first bytes.
	printf '1 80\r\nsplit\n' >&"$PART_split"
	read -r -t 10 line <&"$PART_split"
	[ "$line" = "TCP 192.0.2.5 198.51.100.1:80 127.0.0.1 -" ]
	read -r -t 10 line <&"$PART_split"
	[ "$line" = "split" ]
	close_partial split
	wait_log "deny 127\.0\.0\.1:[0-9]* proxy timeout$"
	[ "$(pending_count)" = 0 ]
	close_partial slow
	wait_for eval '[ "$(total)" = 0 ]'
	[ "$(log_count 'pid ')" -eq 2 ]
	[ "$(log_count 'deny .* proxy ')" -eq 1 ]
}

@test "on SIGTERM with --drain, headers still to come are dropped, programs run on" {
	PROG=(sh -c 'echo up; exec cat')
	start_tw -v --drain=30 --proxy-from=127.0.0.1
	hold run 1 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 1" ]
	open_partial late 'PROXY TCP4 '
	wait_for eval '[ "$(pending_count)" = 1 ]'
	kill -TERM "$SERVER_PID"
	wait_log 'deny 127\.0\.0\.1:[0-9]* proxy stopping$'
	# The waiting connection is closed: EOF or a reset, at once.
	run ! read -r -t 10 line <&"$PART_late"
	[ "$(pending_count)" = 0 ]
	kill -0 "$SERVER_PID"
	release run
	close_partial late
	wait "$SERVER_PID"
	SERVER_PID=
}

@test "at the bound of the pending set the oldest is dropped, and complete headers are still served" {
	# The set holds as many as -c: 3.
	start_tw -v -c 3 --proxy-from=127.0.0.1 --proxy-timeout=60
	local i
	for i in 1 2 3 4 5; do
		open_partial "p$i" 'PROXY TCP4 '
	done
	wait_for eval '[ "$(log_count " proxy crowded$")" -eq 2 ]'
	[ "$(pending_count)" = 3 ]
	run raw 'PROXY TCP4 192.0.2.9 198.51.100.1 1 80\r\n'
	[ "$output" = "TCP 192.0.2.9 198.51.100.1:80 127.0.0.1 -" ]
	# The oldest went: p1 and p2 read EOF, or a reset.
	run ! read -r -t 10 line <&"$PART_p1"
	run ! read -r -t 10 line <&"$PART_p2"
	for i in 1 2 3 4 5; do
		close_partial "p$i"
	done
	# The served one may have waited in the set too, if its header came
	# after the accept, and then pushed out another: either way every
	# partial one is dropped once, crowded out or truncated.
	wait_for eval '[ $(($(log_count " proxy crowded$") +
	    $(log_count " proxy truncated$"))) -eq 5 ]'
	[ "$(pending_count)" = 0 ]
	wait_for eval '[ "$(total)" = 0 ]'
}
