#!/usr/bin/env bats
# IPv6 in a private network namespace (`unshare -rn`): its loopback holds
# 2001:db8::1, 2001:db8::2 (one /64), 2001:db8:0:1::1 and 2001:db8:0:2::1
# (other /64s of the same /48) and 2001:db8:1::1 (another /48).
# tcpwarden and every client run inside it, through nsenter; bats itself
# stays outside, so the tests read like the others.
#
# PROG prints one line, "PROTO|TCPLOCALIP|TCPLOCALPORT|TCPREMOTEIP|
# TCPREMOTEPORT|TCP6LOCALIP|TCP6LOCALPORT|TCP6REMOTEIP|TCP6REMOTEPORT"
# ("-" for an unset variable), then lives until the client closes.

load lib

setup_file() {
	export NS_SKIP= NS_PID=
	local why
	if ! why=$(unshare -rn true 2>&1); then
		NS_SKIP="unshare -rn is not permitted here: $why"
		return 0
	fi
	# Missing tools are a broken set-up, not a reason to skip.
	if ! command -v nsenter >/dev/null || ! command -v ip >/dev/null; then
		echo "ipv6.bats needs nsenter (util-linux) and ip (iproute2)" >&2
		return 1
	fi
	# The namespace lives as long as this process: it sets up the
	# addresses, then waits to be killed (teardown_file) as "sleep".
	# nodad: usable at once, no duplicate address detection.
	unshare -rn sh -c '
		ip link set lo up &&
		for a in 2001:db8::1 2001:db8::2 2001:db8:0:1::1 \
		    2001:db8:0:2::1 2001:db8:1::1; do
			ip addr add "$a/64" dev lo nodad || exit 1
		done &&
		exec sleep 600' >"$BATS_FILE_TMPDIR/ns.log" 2>&1 3>&- &
	NS_PID=$!
	# Ready once it runs sleep: after the unshare and every address.
	# Until then nsenter could still enter our own namespaces.
	local i
	for i in $(seq 200); do
		[ "$(cat "/proc/$NS_PID/comm" 2>/dev/null)" = sleep ] && break
		if ! kill -0 "$NS_PID" 2>/dev/null; then
			echo "namespace setup failed: $(cat "$BATS_FILE_TMPDIR/ns.log")" >&2
			return 1
		fi
		sleep 0.05
	done
	if [ "$(cat "/proc/$NS_PID/comm")" != sleep ] ||
	    [ "$(readlink "/proc/$NS_PID/ns/net")" = "$(readlink /proc/self/ns/net)" ]
	then
		echo "namespace not ready: $(cat "$BATS_FILE_TMPDIR/ns.log")" >&2
		kill "$NS_PID"
		return 1
	fi
}

teardown_file() {
	[ -z "${NS_PID:-}" ] || kill "$NS_PID" 2>/dev/null || true
}

setup() {
	[ -z "$NS_SKIP" ] || skip "$NS_SKIP"
	IN_NS=(nsenter -t "$NS_PID" -U -n --)
	# start_server runs "$TCPWARDEN": make that tcpwarden in the
	# namespace (exec all the way, so SERVER_PID is tcpwarden's).
	local real=$TCPWARDEN
	TCPWARDEN=$BATS_TEST_TMPDIR/tcpwarden-in-ns
	printf '#!/bin/sh\nexec nsenter -t %s -U -n -- "%s" "$@"\n' \
	    "$NS_PID" "$real" >"$TCPWARDEN"
	chmod +x "$TCPWARDEN"
	PROG=(sh -c 'echo "$PROTO|$TCPLOCALIP|$TCPLOCALPORT|$TCPREMOTEIP|$TCPREMOTEPORT|${TCP6LOCALIP--}|${TCP6LOCALPORT--}|${TCP6REMOTEIP--}|${TCP6REMOTEPORT--}"
	    exec cat >/dev/null')
}

teardown() { common_teardown; }

# envline [tcpclient options] HOST: connect, split PROG's line into
# E_PROTO, E_LIP, E_LPORT, E_RIP, E_RPORT, E6_LIP, E6_LPORT, E6_RIP,
# E6_RPORT.
envline() {
	local line
	line=$(connect "$@" </dev/null) || return 1
	IFS='|' read -r E_PROTO E_LIP E_LPORT E_RIP E_RPORT E6_LIP E6_LPORT \
	    E6_RIP E6_RPORT <<<"$line"
	echo "$*: $line"
	[ -n "$E6_RPORT" ]
}

@test "a server on ::1 gives PROTO=TCP6 and the same TCP6… and TCP… values" {
	start_server -v ::1 0 "${PROG[@]}"
	envline ::1
	[ "$E_PROTO" = TCP6 ]
	[ "$E_LIP" = ::1 ] && [ "$E6_LIP" = ::1 ]
	[ "$E_LPORT" = "$PORT" ] && [ "$E6_LPORT" = "$PORT" ]
	[ "$E_RIP" = ::1 ] && [ "$E6_RIP" = ::1 ]
	[ "$E_RPORT" -gt 0 ] && [ "$E6_RPORT" = "$E_RPORT" ]
	wait_log "ok [0-9]* :\[::1\]:$PORT :\[::1\]::$E_RPORT\$"
	wait_log 'pid [0-9]* from \[::1\]$'
}

@test "a server on 2001:db8::1 serves 2001:db8::2, logged in brackets" {
	start_server -v 2001:db8::1 0 "${PROG[@]}"
	envline -s 2001:db8::2 2001:db8::1
	[ "$E_PROTO" = TCP6 ]
	[ "$E_LIP" = 2001:db8::1 ] && [ "$E6_LIP" = 2001:db8::1 ]
	[ "$E_RIP" = 2001:db8::2 ] && [ "$E6_RIP" = 2001:db8::2 ]
	[ "$E6_RPORT" = "$E_RPORT" ] && [ "$E6_LPORT" = "$PORT" ]
	wait_log "ok [0-9]* :\[2001:db8::1\]:$PORT :\[2001:db8::2\]::$E_RPORT\$"
	# A specific IPv6 address is IPv6 only.
	run connect 127.0.0.1 </dev/null
	[ "$status" -ne 0 ]
}

@test "host 0 is dual stack: IPv4 clients are plain TCP, unmapped; IPv6 ones TCP6" {
	start_server -v -C '1:busy\r\n' 0 0 "${PROG[@]}"
	envline 127.0.0.1
	[ "$E_PROTO" = TCP ]
	[ "$E_LIP" = 127.0.0.1 ] && [ "$E_RIP" = 127.0.0.1 ]
	[ "$E_LPORT" = "$PORT" ]
	[ "$E6_LIP" = - ] && [ "$E6_RIP" = - ] && [ "$E6_RPORT" = - ]
	wait_log "ok [0-9]* :127\.0\.0\.1:$PORT :127\.0\.0\.1::$E_RPORT\$"
	envline -s 2001:db8::2 2001:db8::1
	[ "$E_PROTO" = TCP6 ]
	[ "$E_LIP" = 2001:db8::1 ] && [ "$E_RIP" = 2001:db8::2 ]
	[ "$E6_RIP" = 2001:db8::2 ]
	wait_log "ok [0-9]* :\[2001:db8::1\]:$PORT :\[2001:db8::2\]::$E_RPORT\$"
	# Refusals: IPv6 in brackets, IPv4 plain.
	wait_for eval '[ "$(total)" = 0 ]'
	hold a 1 ::1
	[ "$HELD" = "held 1" ]
	reply_is 'busy\r\n' ::1
	wait_log 'deny \[::1\]:[0-9]* per-client 1/1$'
	hold b 1 127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is 'busy\r\n' 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* per-client 1/1$'
	[ "$(log_count '::ffff')" -eq 0 ]
}

@test "IPv6 clients are grouped by /64: the dump shows client [2001:db8::]" {
	start_server -v -C '1:busy\r\n' :: 0 "${PROG[@]}"
	hold a 1 -s 2001:db8::1 2001:db8::1
	[ "$HELD" = "held 1" ]
	reply_is 'busy\r\n' -s 2001:db8::2 2001:db8::1
	wait_log 'deny \[2001:db8::2\]:[0-9]* per-client 1/1$'
	run state
	[ "${lines[0]}" = "tcpwarden: state: 1/40 clients 1" ]
	[[ "${lines[1]}" =~ ^"tcpwarden: client [2001:db8::]/64 1/1 pids "[0-9]+$ ]]
	# Another /64 is another client.
	hold b 1 -s 2001:db8:0:1::1 2001:db8::1
	[ "$HELD" = "held 1" ]
	run state
	[ "${lines[0]}" = "tcpwarden: state: 2/40 clients 2" ]
	[[ "$output" == *"tcpwarden: client [2001:db8::]/64 1/1 pids "* ]]
	[[ "$output" == *"tcpwarden: client [2001:db8:0:1::]/64 1/1 pids "* ]]
}

@test "--ip6-prefix=128 separates 2001:db8::1 and ::2; --ip6-prefix=60 joins /64s" {
	start_server -v -C '1:busy' --ip6-prefix=128 2001:db8::1 0 "${PROG[@]}"
	hold a 1 -s 2001:db8::1 2001:db8::1
	hold b 1 -s 2001:db8::2 2001:db8::1
	[ "$HELD" = "held 1" ]
	reply_is busy -s 2001:db8::2 2001:db8::1
	run state
	[ "${lines[0]}" = "tcpwarden: state: 2/40 clients 2" ]
	[[ "$output" == *"tcpwarden: client [2001:db8::1] 1/1 pids "* ]]
	[[ "$output" == *"tcpwarden: client [2001:db8::2] 1/1 pids "* ]]
	release_all
	stop_server
	# /60 ends inside a byte: 2001:db8:0:1:: and 2001:db8:: share it.
	start_server -v -C '1:busy' --ip6-prefix=60 2001:db8::1 0 "${PROG[@]}"
	hold a 1 -s 2001:db8:0:1::1 2001:db8::1
	[ "$HELD" = "held 1" ]
	reply_is busy -s 2001:db8::2 2001:db8::1
	run state
	[[ "${lines[1]}" =~ ^"tcpwarden: client [2001:db8::]/60 1/1 pids " ]]
	envline -s 2001:db8:1::1 2001:db8::1
	[ "$E_RIP" = 2001:db8:1::1 ]
}

@test "a client cannot get a second budget through the v4-mapped form (:: and 0)" {
	local host
	for host in :: 0; do
		start_server -v -C '1:busy' "$host" 0 "${PROG[@]}"
		# Plain IPv4 first, then the mapped form on an IPv6 socket ...
		hold a 1 127.0.0.1
		[ "$HELD" = "held 1" ]
		reply_is busy ::ffff:127.0.0.1
		run state
		[ "${lines[0]}" = "tcpwarden: state: 1/40 clients 1" ]
		[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 1/1 pids " ]]
		release a
		wait_for eval '[ "$(total)" = 0 ]'
		# ... and the other way round.
		hold b 1 ::ffff:127.0.0.1
		[ "$HELD" = "held 1" ]
		reply_is busy 127.0.0.1
		run state
		[[ "${lines[1]}" =~ ^"tcpwarden: client 127.0.0.1 1/1 pids " ]]
		release b
		wait_for eval '[ "$(total)" = 0 ]'
		# The mapped form is the IPv4 client everywhere: environment, log.
		envline ::ffff:127.0.0.1
		[ "$E_PROTO" = TCP ] && [ "$E_RIP" = 127.0.0.1 ]
		[ "$E_LIP" = 127.0.0.1 ] && [ "$E6_RIP" = - ]
		[ "$(log_count 'deny 127\.0\.0\.1:[0-9]* per-client 1/1$')" -eq 2 ]
		[ "$(log_count '::ffff')" -eq 0 ]
		release_all
		stop_server
	done
}

@test "mapped IPv4 clients are grouped by the IPv4 prefixes, not the IPv6 ones" {
	start_server -v -C 1:busy :: 0 "${PROG[@]}"
	hold a 1 -s 127.0.0.2 127.0.0.1
	# Under an IPv6 /64 every mapped address would be one client.
	envline -s 127.0.0.3 127.0.0.1
	[ "$E_RIP" = 127.0.0.3 ]
	release_all
	stop_server
	start_server -v -N 1:netfull :: 0 "${PROG[@]}"
	hold a 1 -s ::ffff:127.0.0.2 ::ffff:127.0.0.1
	[ "$HELD" = "held 1" ]
	reply_is netfull -s 127.0.0.3 127.0.0.1
	wait_log 'deny 127\.0\.0\.3:[0-9]* per-net 1/1$'
	# Under an IPv6 /48 every mapped address would be one network.
	envline -s 127.0.1.2 127.0.0.1
	[ "$E_RIP" = 127.0.1.2 ]
}

@test "-N per network with --net6-prefix=48; another /48 is still served" {
	start_server -v -N '2:netfull\r\n' --net6-prefix=48 :: 0 "${PROG[@]}"
	hold a 1 -s 2001:db8::1 2001:db8::1
	hold b 1 -s 2001:db8:0:1::1 2001:db8::1
	[ "$HELD" = "held 1" ]
	reply_is 'netfull\r\n' -s 2001:db8:0:2::1 2001:db8::1
	wait_log 'deny \[2001:db8:0:2::1\]:[0-9]* per-net 2/2$'
	envline -s 2001:db8:1::1 2001:db8::1
	[ "$E_RIP" = 2001:db8:1::1 ]
	run state
	[[ "$output" == *"tcpwarden: client [2001:db8::]/64 1/10 pids "* ]]
	[[ "$output" == *"tcpwarden: client [2001:db8:0:1::]/64 1/10 pids "* ]]
	release_all
	stop_server
	# With /64 networks the three /64s are three networks.
	start_server -v -N '2:netfull\r\n' --net6-prefix=64 :: 0 "${PROG[@]}"
	hold a 1 -s 2001:db8::1 2001:db8::1
	hold b 1 -s 2001:db8:0:1::1 2001:db8::1
	envline -s 2001:db8:0:2::1 2001:db8::1
	[ "$E_RIP" = 2001:db8:0:2::1 ]
}

@test "text and cdb rules with IPv6: CIDR longest first, group prefixes, mapped IPv4" {
	cat >"$BATS_TEST_TMPDIR/rules" <<-'EOF2'
	2001:db8:0:1::/64:deny
	2001:db8::/48:allow,X="48"
	2001:db8::/32:allow,X="32"
	2001:db8::2:allow,X="exact"
	::ffff:127.0.0.1:allow,X="v4"
	:deny
	EOF2
	start_server -v --rules="$BATS_TEST_TMPDIR/rules" 0 0 \
	    sh -c 'echo "X=${X-unset}"'
	[ "$(connect -s 2001:db8::2 2001:db8::1 </dev/null)" = "X=exact" ]
	[ "$(connect -s 2001:db8:0:2::1 2001:db8::1 </dev/null)" = "X=48" ]
	[ "$(connect -s 2001:db8:1::1 2001:db8::1 </dev/null)" = "X=32" ]
	[ "$(connect -s 2001:db8:0:1::1 2001:db8::1 </dev/null)" = "" ]
	wait_log 'deny \[2001:db8:0:1::1\]:[0-9]* rule 2001:db8:0:1::/64$'
	# A rule written as a mapped address is the IPv4 client.
	[ "$(connect 127.0.0.1 </dev/null)" = "X=v4" ]
	[ "$(connect ::1 </dev/null)" = "" ]
	wait_log 'deny \[::1\]:[0-9]* rule default$'
	stop_server

	# The same decisions from a cdb, where IPv6 prefixes are whole
	# groups ending in ':' (CIDR cannot be said in tcprules' syntax).
	printf '%s\n' '2001:db8:0:1::deny' '2001:db8::allow,X="32"' \
	    '2001:db8::2:allow,X="exact"' ':deny' |
	    "$TOP/build/cdbmake-rules" "$BATS_TEST_TMPDIR/r.cdb" "$BATS_TEST_TMPDIR/r.tmp"
	start_server -v -x "$BATS_TEST_TMPDIR/r.cdb" 0 0 \
	    sh -c 'echo "X=${X-unset}"'
	[ "$(connect -s 2001:db8::2 2001:db8::1 </dev/null)" = "X=exact" ]
	[ "$(connect -s 2001:db8:1::1 2001:db8::1 </dev/null)" = "X=32" ]
	[ "$(connect -s 2001:db8:0:1::1 2001:db8::1 </dev/null)" = "" ]
	[ "$(connect ::1 </dev/null)" = "" ]
}

@test "accept queues: one /64 waits in one queue, and an IPv4 client of host 0 in its own" {
	local i=0 src dst p pids=() q
	# One slot, taken: whatever comes next waits in the queues.
	start_server -c 1 0 0 "${PROG[@]}"
	hold a 1 -s 2001:db8:1::1 2001:db8::1
	[ "$HELD" = "held 1" ]
	# 2001:db8::1 and 2001:db8::2 are one client (a /64): four
	# connections; 127.0.0.1, IPv4 packets on the IPv6 socket: three.
	for src in 2001:db8::1 2001:db8::2 2001:db8::1 2001:db8::2 \
	    127.0.0.1 127.0.0.1 127.0.0.1; do
		i=$((i + 1))
		dst=2001:db8::1
		[ "$src" = 127.0.0.1 ] && dst=127.0.0.1
		connect -s "$src" -T 60 "$dst" </dev/null \
		    >"$BATS_TEST_TMPDIR/q.$i" 3>&- &
		pids+=($!)
	done
	# The counts waiting, by queue, smallest first.
	waiting() {
		"${IN_NS[@]}" ss -Htln "sport = :$PORT" |
		    awk '$2 > 0 { print $2 }' | sort -n | tr '\n' ' '
	}
	sum_is() { [ "$(waiting | tr ' ' '\n' | awk '{ n += $1 } END { print n + 0 }')" = "$1" ]; }
	wait_for sum_is 7
	q=$(waiting)
	echo "waiting in the queues: $q"
	# Four and three, or all seven if the two clients share a queue.
	[ "$q" = "3 4 " ] || [ "$q" = "7 " ]
	release a
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for ((i = 1; i <= 7; i++)); do
		[ -s "$BATS_TEST_TMPDIR/q.$i" ]
	done
}
