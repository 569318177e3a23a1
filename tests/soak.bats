#!/usr/bin/env bats
# The soak of issue 5: at least 100,000 connections, 50 at a time from 250
# loopback addresses, to a program that exits at once.  Whatever a
# connection costs tcpwarden must be given back: its descriptors and its
# memory after them all are what they were after the first 1,000.  The
# figures are printed (fd 3) so every run shows them.

load lib

N_FIRST=1000
N_CHUNK=9900
CHUNKS=10      # 1,000 + 10 x 9,900 = 100,000 connections

teardown() { common_teardown; }

# start ARGS...: start_server ARGS... (which passes on no descriptor
# above 2, so the descriptors counted are tcpwarden's own).
start() { start_server "$@"; }

# children: the server's child processes, zombies too.
no_children() { [ -z "$(ps --ppid "$SERVER_PID" -o pid=)" ]; }

# soak N: N connections, 50 at a time from 127.0.0.2 to 127.0.0.251 in
# turn; every one must end with EOF.  Bounded by -T, far above what 2
# cores need even with the sanitizers.
soak() {
	run "$CLIENT" --storm "$1" --conc 50 --src 127.0.0.2-251 -T 170 \
	    127.0.0.1 "$PORT"
	[ "$output" = "done $1 ok $1 failed 0" ] || {
		echo "storm of $1: $output"
		return 1
	}
}

# figures: tcpwarden's descriptors (number and target, one a line, in
# FDS), their count (NFD), its resident set and the anonymous part of it
# in kB (RSS, ANON).
figures() {
	local fd
	FDS=
	for fd in $(ls "/proc/$SERVER_PID/fd" | sort -n); do
		FDS+="$fd $(readlink "/proc/$SERVER_PID/fd/$fd")"$'\n'
	done
	NFD=$(ls "/proc/$SERVER_PID/fd" | wc -l)
	RSS=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status")
	ANON=$(awk '/^RssAnon:/ { print $2 }' "/proc/$SERVER_PID/status")
}

@test "soak: 100,000 connections; descriptors and RSS after them as after the first 1,000" {
	local fds0 nfd0 rss0 anon0 i done=0 start page slack
	page=$(($(getconf PAGESIZE) / 1024))
	# The default -c 40 under 50 at a time: the total limit is reached
	# again and again, so that path soaks too.
	start 127.0.0.1 0 /bin/true
	start=$SECONDS
	soak $N_FIRST
	done=$N_FIRST
	# Figures once every child is reaped, so nothing is in flight.
	wait_for no_children
	wait_for eval '[ "$(total)" = 0 ]'
	figures
	fds0=$FDS nfd0=$NFD rss0=$RSS anon0=$ANON
	echo "# soak: after $done: fds $NFD, VmRSS $RSS kB, RssAnon $ANON kB" >&3
	for i in $(seq $CHUNKS); do
		soak $N_CHUNK
		done=$((done + N_CHUNK))
		figures
		echo "# soak: after $done ($((SECONDS - start)) s): fds $NFD, VmRSS $RSS kB, RssAnon $ANON kB" >&3
	done
	[ "$done" -ge 100000 ]
	wait_for no_children
	wait_for eval '[ "$(total)" = 0 ]'
	figures
	echo "# soak: $done connections in $((SECONDS - start)) s; fds $nfd0 -> $NFD, VmRSS $rss0 -> $RSS kB, RssAnon $anon0 -> $ANON kB" >&3
	# The same descriptors, number for number and file for file.
	[ "$FDS" = "$fds0" ] || {
		echo "descriptors after 1,000:"; echo "$fds0"
		echo "after all:"; echo "$FDS"
		return 1
	}
	[ "$NFD" -eq "$nfd0" ]
	# The same memory, but for a few pages.  Resident pages are counted
	# when first touched: a code page of a path first taken after the
	# 1,000th connection (a rarer accept error, the total limit, a state
	# dump) or a deeper stack may add one without anything being lost.
	# 8 pages (32 KiB) is less than a leak of even one byte per
	# connection would grow by over 99,000 connections, and any malloc
	# costs at least 32.
	slack=$((8 * page))
	[ "$RSS" -le $((rss0 + slack)) ]
	[ "$ANON" -le $((anon0 + slack)) ]
	# The table is empty, and nothing went wrong on the way: no warning.
	run state
	[ "${lines[0]}" = "tcpwarden: state: 0/40 clients 0" ]
	[ "${#lines[@]}" -eq 1 ]
	[ -z "$(grep -v -E '^tcpwarden: (state|totals|refused): ' "$LOG")" ]
}
