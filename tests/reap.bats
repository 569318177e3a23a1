#!/usr/bin/env bats
# Reaping where tcpwarden really runs (issue 10): as PID 1 of a container
# or as a subreaper, orphans become its children and must be reaped; a
# child may be traced by a debugger, or ask to be traced by tcpwarden
# itself; and a client that reconnects the moment its connection ends
# must not be refused for a child not yet reaped.
#
# tests/helpers/tracer does the ptrace and prctl parts.

load lib

TRACER=$H/tracer

setup() {
	[ -x "$TRACER" ] || {
		echo "missing $TRACER: build the test helpers" >&2
		return 1
	}
	T=$BATS_TEST_TMPDIR
	STARTS=$T/starts
	: >"$STARTS"
	BG=()
}

teardown() {
	local p
	for p in "${BG[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	# Stopped or orphaned children of the server: a SIGKILL ends them.
	if [ -n "${SERVER_PID:-}" ]; then
		for p in $(children | cut -d' ' -f1); do
			kill -KILL "$p" 2>/dev/null || true
		done
	fi
	common_teardown
	if [ -n "${UNSHARE_PID:-}" ]; then
		kill -KILL "$UNSHARE_PID" 2>/dev/null || true
		wait "$UNSHARE_PID" 2>/dev/null || true
	fi
}

started() { wc -l <"$STARTS" | tr -d ' '; }

# end_children SIG: SIG to every child of the server; then none may be
# left, not even a zombie.
end_children() {
	local p
	for p in $(children | cut -d' ' -f1); do
		kill -"$1" "$p"
	done
	wait_for no_children || {
		echo "children left (Z: a zombie):" $(children)
		return 1
	}
}

# Each connection leaves an orphan: a subshell starts a sleep in the
# background and exits, so the sleep's parent is gone at once and the
# kernel gives it to the nearest reaper.  It writes nothing on the
# connection (its descriptors go to /dev/null).
ORPHANS=(sh -c '(sleep 1000 </dev/null >/dev/null 2>&1 &); echo ok')

# orphans_run N: N connections, each answered "ok"; then the N orphans
# become the server's children (the event that proves it is their
# reaper), are killed, and must all be reaped: no child left, none a
# zombie, and the table empty, the orphans never in it.
orphans_run() {
	local n=$1 i
	for i in $(seq "$n"); do
		[ "$(connect </dev/null)" = ok ]
	done
	count_is() { [ "$(children | wc -l)" -eq "$1" ]; }
	wait_for count_is "$n" || { echo "children:" $(children); return 1; }
	end_children TERM
	[ "$(total)" = 0 ]
	[ "$(log_count 'tcpwarden: end ')" -eq "$n" ]
}

@test "as PID 1 of a pid namespace, orphans given to tcpwarden are reaped" {
	start_via unshare -p -f --mount-proc -- -v 127.0.0.1 0 "${ORPHANS[@]}"
	# SERVER_PID is unshare's; tcpwarden is its one child, PID 1 inside.
	UNSHARE_PID=$SERVER_PID
	SERVER_PID=$(cat "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children")
	SERVER_PID=${SERVER_PID%% *}
	[ "$(awk '/^NSpid:/ { print $NF }' "/proc/$SERVER_PID/status")" = 1 ]
	orphans_run 25
	# SIGTERM still ends it, and with it the namespace.
	kill -TERM "$SERVER_PID"
	wait "$UNSHARE_PID"
	UNSHARE_PID= SERVER_PID=
}

@test "as a child subreaper, orphans given to tcpwarden are reaped" {
	start_via "$TRACER" subreaper -- -v 127.0.0.1 0 "${ORPHANS[@]}"
	[ "$(children | wc -l)" -eq 0 ]
	orphans_run 25
}

# ticks PID: the CPU time of a process so far, user and system, in
# clock ticks (fields 14 and 15 of /proc/PID/stat).
ticks() {
	local s f
	read -r s <"/proc/$1/stat"
	read -r -a f <<<"${s##*) }"
	echo $((f[11] + f[12]))
}

# state_of PID: the one-letter state of a process (Z for a zombie).
state_of() {
	local s f
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -r -a f <<<"${s##*) }"
	echo "${f[0]}"
}

# pidfds: how many the server holds.
pidfds() { ls -l "/proc/$SERVER_PID/fd" | grep -c 'pidfd' || true; }

# Children get a pidfd once 256 live (src/reap.h), as soon as they have
# lived a few milliseconds (src/young.h): 260 held from 127.0.0.2 make
# the end of every child that lives come through its pidfd.
hold_260() {
	hold many 260 -s 127.0.0.2 127.0.0.1
	[ "$HELD" = "held 260" ]
}

@test "a child that dies while another process traces it costs no CPU, and is reaped once let go" {
	local pid fifo=$T/tracer.in before after
	# The child of 127.0.0.1 notes its pid.
	start_server -v -c 400 -C 300 127.0.0.1 0 sh -c '
	    [ "$TCPREMOTEIP" = 127.0.0.1 ] && echo $$ >>"$1"
	    echo ready; exec cat >/dev/null' sh "$STARTS"
	hold_260
	hold a 1 127.0.0.1
	[ "$HELD" = "held 1" ]
	wait_for eval '[ "$(pidfds)" -eq 261 ]'
	pid=$(cat "$STARTS")
	# The tracer never waits for it: once dead, it is a zombie that
	# only the tracer's letting go makes reapable by the server.
	mkfifo "$fifo"
	"$TRACER" seize "$pid" <>"$fifo" >"$T/tracer.out" 3>&- &
	BG+=($!)
	wait_for grep -qx seized "$T/tracer.out"
	release a
	is_zombie() { [ "$(state_of "$pid")" = Z ]; }
	wait_for is_zombie
	# An event-free measure: the server's CPU time over 2 s while the
	# dead child is held.  A loop on its readable pidfd burns the 2 s
	# whole (200 ticks) on an idle core; an idle server, none.
	before=$(ticks "$SERVER_PID")
	sleep 2
	after=$(ticks "$SERVER_PID")
	echo "server CPU while the child was held: $((after - before)) ticks"
	[ $((after - before)) -le 10 ]
	[ "$(log_count 'tcpwarden: end ')" -eq 0 ]
	# The tracer lets go: the child is reaped and counted out.
	kill -TERM "${BG[0]}"
	wait_log "tcpwarden: end $pid status 0\$"
	gone() { ! children | grep -q "^$pid "; }
	wait_for gone
	[ "$(total)" = 260 ]
	release many
	wait_for no_children
	[ "$(total)" = 0 ]
}

# stopped: both children are stopped, and no longer traced (T, not t).
stopped() { [ "$(children | grep -c ' T$')" -eq 2 ]; }

# A program that asks to be traced by its parent (tcpwarden), says
# "ready", and stops: a stop is no end.  Without pidfds (a descriptor
# limit that leaves room for none) every child is reaped by the sweep,
# the waitpid(-1) that sees the stops of a tracee.
@test "a child that PTRACE_TRACEMEs and stops still holds its slot; killed, it is reaped" {
	start_via sh -c 'ulimit -n 80 && exec "$@"' sh -- \
	    -v --queues=1 -C 2:busy 127.0.0.1 0 "$TRACER" traceme
	hold a 2 127.0.0.1
	[ "$HELD" = "held 2" ]
	# Both stop; the server lets each go on as if untraced, so each is
	# then stopped for good by its own SIGSTOP.
	wait_for stopped || { echo "children:" $(children); return 1; }
	reply_is busy 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* per-client 2/2$'
	run state
	[ "${lines[0]}" = "tcpwarden: state: 2/40 clients 1" ]
	[ "$(log_count 'tcpwarden: end ')" -eq 0 ]
	# Killed, both are reaped: no zombie, the count back to 0.
	end_children KILL
	[ "$(total)" = 0 ]
	[ "$(log_count 'tcpwarden: end [0-9]* status 9$')" -eq 2 ]
}

@test "a child that PTRACE_TRACEMEs and stops, with pidfds: it holds its slot, and is reaped when killed" {
	local p
	# The children of 127.0.0.1 ask to be traced, and may be 2; those
	# of 127.0.0.2 hold.
	printf '%s\n' '127.0.0.1:allow,MAXCONNIP="2",DIEMSG="busy"' ':allow' \
	    >"$T/rules"
	start_server -v -c 400 -C 300 --rules="$T/rules" 127.0.0.1 0 sh -c '
	    [ "$TCPREMOTEIP" = 127.0.0.1 ] && exec "$1" traceme
	    echo ready; exec cat >/dev/null' sh "$TRACER"
	hold_260
	hold a 2 127.0.0.1
	[ "$HELD" = "held 2" ]
	wait_for eval '[ "$(pidfds)" -eq 262 ]'
	# The SIGCHLD of a tracee's stop makes the server sweep, and let
	# it go.
	wait_for stopped || { echo "children:" $(children | grep -v ' S$'); return 1; }
	reply_is 'busy\r\n' 127.0.0.1
	[ "$(log_count 'tcpwarden: end ')" -eq 0 ]
	for p in $(children | awk '$2 == "T" { print $1 }'); do
		kill -KILL "$p"
	done
	wait_for eval '[ "$(log_count "tcpwarden: end [0-9]* status 9\$")" -eq 2 ]'
	wait_for eval '[ "$(total)" = 260 ]'
	release many
	wait_for no_children
	[ "$(total)" = 0 ]
}
