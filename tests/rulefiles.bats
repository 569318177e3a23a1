#!/usr/bin/env bats
# What tcpwarden accepts as a rules file (issues 10 and 11): regular files
# only, opened without blocking and of bounded size for --rules, at start
# and on SIGHUP; a -x cdb costs the server a bounded time whatever it
# holds; empty names are usage errors; and after -u, SIGHUP reads the
# file as the new user.

bats_require_minimum_version 1.5.0

load lib

CDBMAKE=$TOP/build/cdbmake-rules

# The --rules size limit (RULES_FILE_MAX), as the man page states it.
RULES_MAX=16777216

setup() {
	RULES=$BATS_TEST_TMPDIR/rules.txt
	printf '127.0.0.0/8:allow,X="old"\n' >"$RULES"
	OWN_DIR=
}

teardown() {
	common_teardown
	[ -z "$OWN_DIR" ] || rm -rf "$OWN_DIR"
}

# ask SRC: connect from SRC and print what the program said.
ask() { "$CLIENT" -s "$1" 127.0.0.1 "$PORT" </dev/null; }

SHOWX='echo "X=${X-unset}"'

# bounded CMD...: run CMD with at most 20 s and, for a build without
# ASan (which needs a large address space), at most 2 GB of memory, so
# that a binary reading /dev/zero or a FIFO without end fails the test
# instead of the machine.
bounded() {
	local limit='ulimit -v 2000000;'
	grep -qa __asan_init "$TCPWARDEN" && limit=
	timeout 20 sh -c "$limit"' exec "$@"' sh "$@"
}

# serves: the server still answers SIGUSR1 and a client gets the rules
# read at start.
serves() {
	run state
	[[ "${lines[0]}" == "tcpwarden: state: 0/40 clients 0" ]]
	[ "$(ask 127.0.0.2)" = "X=old" ]
}

@test "--rules at start: a FIFO, /dev/zero, a link to it, a directory: exit 100" {
	local f
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	ln -s /dev/zero "$BATS_TEST_TMPDIR/zero"
	for f in "$BATS_TEST_TMPDIR/fifo" /dev/zero "$BATS_TEST_TMPDIR/zero" \
	    "$BATS_TEST_TMPDIR"; do
		run bounded "$TCPWARDEN" --rules="$f" 127.0.0.1 0 true
		[ "$status" -eq 100 ]
		[ "${#lines[@]}" -eq 1 ]
		[ "${lines[0]}" = "tcpwarden: fatal: $f: not a regular file" ]
	done
}

@test "--rules at start: over 16 MiB is exit 100; exactly 16 MiB is read" {
	head -c "$RULES_MAX" /dev/zero | tr '\0' '\n' >"$RULES"
	printf '127.0.0.0/8:allow,X="old"\n' |
	    dd of="$RULES" bs=1 conv=notrunc 2>/dev/null
	start_server --rules="$RULES" 127.0.0.1 0 sh -c "$SHOWX"
	[ "$(ask 127.0.0.2)" = "X=old" ]
	stop_server

	printf '\n' >>"$RULES"
	run bounded "$TCPWARDEN" --rules="$RULES" 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "${lines[0]}" = "tcpwarden: fatal: $RULES: larger than $RULES_MAX bytes" ]
}

@test "SIGHUP: a FIFO, a link to /dev/zero, an oversized file keep the old rules" {
	start_server -v --rules="$RULES" 127.0.0.1 0 sh -c "$SHOWX"
	serves

	rm "$RULES"
	mkfifo "$RULES"
	kill -HUP "$SERVER_PID"
	wait_log "warning: keeping the old rules: $RULES: not a regular file"
	serves

	rm "$RULES"
	ln -s /dev/zero "$RULES"
	kill -HUP "$SERVER_PID"
	wait_for eval '[ "$(log_count "keeping the old rules: $RULES: not a regular file")" -eq 2 ]'
	serves

	rm "$RULES"
	truncate -s $((RULES_MAX + 1)) "$RULES"
	kill -HUP "$SERVER_PID"
	wait_log "warning: keeping the old rules: $RULES: larger than $RULES_MAX bytes"
	serves

	# And a good file is read again.
	rm "$RULES"
	printf '127.0.0.0/8:allow,X="new"\n' >"$RULES"
	kill -HUP "$SERVER_PID"
	wait_log 'rules: reloaded'
	[ "$(ask 127.0.0.2)" = "X=new" ]
}

@test "-x naming a FIFO or a link to /dev/zero drops, and the server goes on" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	ln -s /dev/zero "$BATS_TEST_TMPDIR/zero"
	for f in "$BATS_TEST_TMPDIR/fifo" "$BATS_TEST_TMPDIR/zero"; do
		start_server -x "$f" 127.0.0.1 0 echo served
		[ "$(ask 127.0.0.2)" = "" ]
		wait_log "warning: dropping connection, unable to read $f: not a regular file"
		run state
		[[ "${lines[0]}" == "tcpwarden: state: 0/40 clients 0" ]]
		stop_server
	done
}

# crafted_drops CDB: twenty clients at once against -x CDB are each
# dropped as damaged, before any program starts, and the server still
# answers SIGUSR1.  The wait is bounded (wait_for, 10 s): a look-up whose
# cost grows with the file takes seconds for each client.
crafted_drops() {
	local i pids=() cdb=$1
	start_server -v -c 100 -C 100 -x "$cdb" 127.0.0.1 0 echo served
	for i in $(seq 20); do
		"$CLIENT" -s "127.0.0.$((i + 1))" 127.0.0.1 "$PORT" \
		    </dev/null >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
		pids+=($!)
	done
	wait_for eval '[ "$(log_count "unable to read $cdb: file is damaged")" -ge 20 ]'
	wait "${pids[@]}"
	run ! grep -q served "$BATS_TEST_TMPDIR"/out.*
	run ! log_has ' pid '
	run state
	[[ "${lines[0]}" == "tcpwarden: state: 0/100 clients 0" ]]
}

@test "-x: an 8 MB cdb whose slots all miss is damaged, each client dropped at once" {
	"$CDBMAKE" --crafted 8388608 "$BATS_TEST_TMPDIR/miss.cdb"
	crafted_drops "$BATS_TEST_TMPDIR/miss.cdb"
}

@test "-x: an 8 MB cdb whose slots all share the key's hash is damaged" {
	# Every slot has the hash of 127.0.0.2's key and points at a record
	# with another key of its length: each slot costs a comparison.
	"$CDBMAKE" --crafted 8388608 "$BATS_TEST_TMPDIR/coll.cdb" 127.0.0.2
	crafted_drops "$BATS_TEST_TMPDIR/coll.cdb"
}

@test "--rules= and -x '' (empty) are usage errors naming the option" {
	local opt
	for opt in --rules= --rules-cdb= -x; do
		if [ "$opt" = -x ]; then
			run bounded "$TCPWARDEN" -x '' 127.0.0.1 0 true
		else
			run bounded "$TCPWARDEN" "$opt" 127.0.0.1 0 true
		fi
		[ "$status" -eq 100 ]
		[[ "${lines[0]}" == "tcpwarden: usage: option ${opt%=}: empty file name"* ]]
	done
}

@test "SIGHUP with -x says the cdb is read for every connection" {
	"$CDBMAKE" "$BATS_TEST_TMPDIR/r.cdb" "$BATS_TEST_TMPDIR/r.tmp" <<<':allow'
	start_server -v -x "$BATS_TEST_TMPDIR/r.cdb" 127.0.0.1 0 echo served
	kill -HUP "$SERVER_PID"
	wait_log "sighup: nothing to reload: -x $BATS_TEST_TMPDIR/r.cdb is read for every connection"
	run ! log_has 'no rules file'
	[ "$(ask 127.0.0.2)" = "served" ]
}

# own_rules MODE: the rules file in a folder of the test's own that
# nobody may enter (the test's tmpdir may be closed to it), with MODE.
own_rules() {
	OWN_DIR=$(mktemp -d /tmp/tcpwarden-rules.XXXXXX)
	chmod 755 "$OWN_DIR"
	RULES=$OWN_DIR/rules.txt
	printf '127.0.0.0/8:allow,X="old"\n' >"$RULES"
	chmod "$1" "$RULES"
}

needs_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (CI runs as root)"
	NOBODY_UID=$(id -u nobody 2>/dev/null) ||
		skip "no user nobody on this system"
}

@test "-u: a rules file the user cannot read is a warning at start, and SIGHUP keeps it" {
	needs_root
	own_rules 600
	start_server -v -u nobody --rules="$RULES" 127.0.0.1 0 sh -c "$SHOWX"
	wait_log "warning: uid $NOBODY_UID cannot read $RULES: Permission denied: SIGHUP will keep the rules read at start"
	[ "$(ask 127.0.0.2)" = "X=old" ]
	printf '127.0.0.0/8:allow,X="new"\n' >"$RULES"
	kill -HUP "$SERVER_PID"
	wait_log "warning: keeping the old rules: $RULES: Permission denied"
	[ "$(ask 127.0.0.2)" = "X=old" ]
}

@test "-u: a rules cdb the user cannot read is a warning at start; each connection is dropped" {
	needs_root
	own_rules 644
	printf '127.:allow,X="old"\n' |
		"$CDBMAKE" "$OWN_DIR/rules.cdb" "$OWN_DIR/rules.tmp"
	chmod 600 "$OWN_DIR/rules.cdb"
	start_server -u nobody -x "$OWN_DIR/rules.cdb" 127.0.0.1 0 sh -c "$SHOWX"
	wait_log "warning: uid $NOBODY_UID cannot read $OWN_DIR/rules.cdb: Permission denied: connections are dropped until it can be read"
	[ "$(ask 127.0.0.2)" = "" ]
	wait_log "warning: dropping connection, unable to read $OWN_DIR/rules.cdb: Permission denied"
	chmod 644 "$OWN_DIR/rules.cdb"
	[ "$(ask 127.0.0.2)" = "X=old" ]
}

@test "-x: a missing cdb is a warning at start, but not with -X; a readable one none" {
	start_server -x "$BATS_TEST_TMPDIR/none.cdb" 127.0.0.1 0 echo served
	wait_log "warning: cannot read $BATS_TEST_TMPDIR/none.cdb: No such file or directory: connections are dropped until it can be read"
	stop_server
	start_server -v -X -x "$BATS_TEST_TMPDIR/none.cdb" 127.0.0.1 0 echo served
	[ "$(ask 127.0.0.2)" = "served" ]
	run ! log_has 'warning'
	stop_server
	printf '127.:allow\n' |
		"$CDBMAKE" "$BATS_TEST_TMPDIR/ok.cdb" "$BATS_TEST_TMPDIR/ok.tmp"
	start_server -v -x "$BATS_TEST_TMPDIR/ok.cdb" 127.0.0.1 0 echo served
	[ "$(ask 127.0.0.2)" = "served" ]
	run ! log_has 'warning'
}

@test "-u: a rules file the user can read is reloaded as that user, no warning" {
	needs_root
	own_rules 644
	start_server -v -u nobody --rules="$RULES" 127.0.0.1 0 sh -c "$SHOWX"
	[ "$(ask 127.0.0.2)" = "X=old" ]
	printf '127.0.0.0/8:allow,X="new"\n' >"$RULES"
	kill -HUP "$SERVER_PID"
	wait_log 'rules: reloaded'
	[ "$(ask 127.0.0.2)" = "X=new" ]
	run ! log_has 'warning'
}
