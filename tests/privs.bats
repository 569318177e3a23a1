#!/usr/bin/env bats
# Privileges (SPEC §2 -g -u -U, issue 2): bind first, then drop to the
# given gid and uid, with the supplementary groups reduced to that gid;
# a drop that fails is fatal.  These need root; no users are created: the
# ids are nobody's (65534) and numbers no one has.

load lib

bats_require_minimum_version 1.5.0

# The child runs as nobody, or as a uid no one has, and must be able to
# reach its program: not so the helper in the build tree when the clone
# lies under a folder only root may enter (root's home, mode 700).  So the
# tests run a copy of it from a folder of this file's own under /tmp, whose
# every folder from / down nobody may enter.
setup_file() {
	REACHABLE=$(mktemp -d /tmp/tcpwarden-privs.XXXXXX)
	chmod 755 "$REACHABLE"
	cp "$CHILDSTATE" "$REACHABLE/childstate"
	chmod 755 "$REACHABLE/childstate"
	export REACHABLE
}

teardown_file() { rm -rf "$REACHABLE"; }

setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (CI runs as root)"
	NOBODY_UID=$(id -u nobody 2>/dev/null) ||
		skip "no user nobody on this system"
	NOBODY_GID=$(id -g nobody)
	CHILDSTATE=$REACHABLE/childstate
	# Checked as the least of the users the tests run it as, so that a
	# failure says why instead of leaving the child silent.
	setpriv --reuid=54321 --regid=54321 --clear-groups \
	    test -x "$CHILDSTATE" || {
		echo "a uid of no one cannot run $CHILDSTATE" >&2
		return 1
	}
}

teardown() { common_teardown; }

# start_with_groups ARGS...: start_server ARGS..., tcpwarden started as
# root with the supplementary groups 0 4 27 (so that keeping any of them
# shows), with no descriptor above 2 (bats leaves some open, and those
# would reach the child without being tcpwarden's), and through
# $ENV_PREFIX if set (e.g. "env UID=1"; bash's own UID is read-only).
# The wrappers exec, so the pid is tcpwarden's.
start_with_groups() {
	# shellcheck disable=SC2086
	start_via perl -e '$) = "0 0 4 27"; exec { $ARGV[0] } @ARGV or die "exec: $!"' \
	    ${ENV_PREFIX:-} -- "$@"
}

# is_user UID GID: the child runs as UID and GID, real and effective, with
# GID as its only supplementary group, and holds fds 0 1 2 only.
is_user() {
	has "uid: $1 euid: $1 gid: $2 egid: $2"
	has "groups: $2"
	has "fds: 0 1 2"
}

@test "the test wrapper really starts tcpwarden with extra groups" {
	# Without -u and -g nothing changes: this is what the tests below
	# must see removed.
	start_with_groups 127.0.0.1 0 "$CHILDSTATE"
	childstate
	has "uid: 0 euid: 0 gid: 0 egid: 0"
	has "groups: 0 4 27"
}

@test "-u and -g by number: exactly that uid and gid, no other group" {
	# 4242 is no one's group: -g wins over the user's own group.
	start_with_groups -u "$NOBODY_UID" -g 4242 127.0.0.1 0 "$CHILDSTATE"
	childstate
	is_user "$NOBODY_UID" 4242
	# And for every connection, not just the first.
	childstate
	is_user "$NOBODY_UID" 4242
}

@test "--uid and --gid by name: exactly that uid and gid, no other group" {
	local group
	group=$(getent group "$NOBODY_GID" | cut -d: -f1)
	[ -n "$group" ] || skip "group $NOBODY_GID has no name here"
	start_with_groups --uid=nobody --gid="$group" 127.0.0.1 0 \
	    "$CHILDSTATE"
	childstate
	is_user "$NOBODY_UID" "$NOBODY_GID"
	stop_server
	start_with_groups -u nobody -g 4242 127.0.0.1 0 "$CHILDSTATE"
	childstate
	is_user "$NOBODY_UID" 4242
	# -g before -u wins as well.
	stop_server
	start_with_groups -g 4242 -u nobody 127.0.0.1 0 "$CHILDSTATE"
	childstate
	is_user "$NOBODY_UID" 4242
}

@test "-u by name without -g takes the user's primary group" {
	[ "$NOBODY_GID" -ne 0 ] || skip "nobody's group is root's here"
	start_with_groups -u nobody 127.0.0.1 0 "$CHILDSTATE"
	childstate
	is_user "$NOBODY_UID" "$NOBODY_GID"
}

# not_root_group UID: with -u UID and no -g, tcpwarden either refuses
# (exit 100, one line naming -g) or runs the child as UID in a group
# other than root's, with no other group.
not_root_group() {
	local ids groups
	if ! start_with_groups -u "$1" 127.0.0.1 0 "$CHILDSTATE" 2>/dev/null
	then
		wait "$SERVER_PID" && status=0 || status=$?
		SERVER_PID=
		[ "$status" -eq 100 ]
		[ "$(wc -l <"$LOG")" -eq 1 ]
		grep -q -- '-g' "$LOG"
		return 0
	fi
	childstate
	ids=$(sed -n 's/.* gid: \([0-9]*\) egid: \([0-9]*\)$/\1 \2/p' <<<"$out")
	groups=$(sed -n 's/^groups://p' <<<"$out")
	grep -q "^uid: $1 euid: $1 " <<<"$out"
	[ -n "$ids" ]
	[[ " $ids " != *" 0 "* ]]
	[[ "$groups " != *" 0 "* ]]
	[ "$groups" = " ${ids%% *}" ]
	stop_server
}

@test "-u by number without -g never leaves the child in root's group" {
	local free=54321
	# A uid with a user, and one without.
	not_root_group "$NOBODY_UID"
	while getent passwd "$free" >/dev/null; do free=$((free + 1)); done
	not_root_group "$free"
}

@test "-U takes the uid from \$UID and the gid from \$GID" {
	ENV_PREFIX="env UID=$NOBODY_UID GID=4242" \
	    start_with_groups -U 127.0.0.1 0 "$CHILDSTATE"
	childstate
	is_user "$NOBODY_UID" 4242
	stop_server
	ENV_PREFIX="env UID=$NOBODY_UID GID=$NOBODY_GID" \
	    start_with_groups --uid-from-env 127.0.0.1 0 "$CHILDSTATE"
	childstate
	is_user "$NOBODY_UID" "$NOBODY_GID"
}

@test "the port is bound before privileges are dropped" {
	# Only root may bind a port below 1024.  The port is fixed, but in a
	# network namespace of the test's own, so it cannot clash.
	command -v ip >/dev/null || skip "no ip(8)"
	unshare -n true 2>/dev/null || skip "cannot make a network namespace"
	run --separate-stderr unshare -n bash -c '
		ip link set lo up || exit 2
		echo 1024 >/proc/sys/net/ipv4/ip_unprivileged_port_start \
		    2>/dev/null
		[ "$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" -gt 80 ] ||
		    exit 3
		"$1" -1 -u "$2" -g "$3" 127.0.0.1 80 "$4" >"$6/port" 2>"$6/log" &
		pid=$!
		for i in $(seq 200); do
			[ -s "$6/port" ] && break
			kill -0 $pid 2>/dev/null || break
			sleep 0.05
		done
		echo "port $(cat "$6/port")"
		"$5" 127.0.0.1 80 </dev/null
		kill $pid
		wait $pid
		echo "server $?"
		cat "$6/log" >&2
	' bash "$TCPWARDEN" "$NOBODY_UID" "$NOBODY_GID" "$CHILDSTATE" \
	    "$CLIENT" "$BATS_TEST_TMPDIR"
	[ "$status" -ne 3 ] || skip "cannot make port 80 privileged"
	[ "$status" -eq 0 ]
	out=$output
	has "port 80"
	has "uid: $NOBODY_UID euid: $NOBODY_UID gid: $NOBODY_GID egid: $NOBODY_GID"
	has "groups: $NOBODY_GID"
	has "server 0"
	[ -z "$stderr" ]
}

@test "a failed setgroups is fatal: exit 111, never a run as root" {
	unshare -r true 2>/dev/null || skip "no user namespaces"
	# In a user namespace mapping root only, with setgroups denied,
	# no drop can succeed.
	run --separate-stderr timeout 20 unshare -r "$TCPWARDEN" \
	    -u 65534 -g 65534 127.0.0.1 0 cat </dev/null
	[ "$status" -eq 111 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "${stderr_lines[0]}" == "tcpwarden: fatal: "*group* ]]
}

@test "a failed setuid is fatal: exit 111, never a run as root" {
	local fifo=$BATS_TEST_TMPDIR/go pid i ns
	unshare --user true 2>/dev/null || skip "no user namespaces"
	# A user namespace where groups 0-65535 exist but only uid 0 does:
	# setgroups and setgid to 65534 succeed, setuid to 65534 cannot.
	# unshare --user does not fork: its pid becomes tcpwarden's.  It
	# waits on the fifo until the maps are written from out here.
	mkfifo "$fifo"
	unshare --user sh -c 'read go && exec "$@"' sh "$TCPWARDEN" \
	    -u 65534 -g 65534 127.0.0.1 0 cat <"$fifo" \
	    >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	exec 7>"$fifo"
	ns=$(readlink /proc/self/ns/user)
	for i in $(seq 200); do
		[ "$(readlink "/proc/$pid/ns/user")" != "$ns" ] && break
		sleep 0.05
	done
	echo '0 0 1' >"/proc/$pid/uid_map"
	echo '0 0 65536' >"/proc/$pid/gid_map"
	echo go >&7
	exec 7>&-
	for i in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		wait "$pid"
		echo "tcpwarden kept running: $(cat "$BATS_TEST_TMPDIR/err")"
		false
	fi
	wait "$pid" && status=0 || status=$?
	[ "$status" -eq 111 ]
	run cat "$BATS_TEST_TMPDIR/err"
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "tcpwarden: fatal: "*uid* ]]
}
