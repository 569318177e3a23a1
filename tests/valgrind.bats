#!/usr/bin/env bats
# The plain build under valgrind: a smaller storm with refusals, rules,
# SIGHUP, SIGUSR1 and an exec failure, then SIGTERM.  Any memory error, or
# a definite leak, fails.  (The sanitizer build cannot run under valgrind,
# and covers the same ground with ASan: it skips here.)

load lib

setup() {
	case $TCPWARDEN in
	*/san/*) skip "the sanitizer build runs without valgrind" ;;
	esac
	command -v valgrind >/dev/null || {
		echo "valgrind is not installed (Debian: valgrind)" >&2
		return 1
	}
}

teardown() { common_teardown; }

@test "valgrind: a storm, rules, reload and state dump, no errors, no definite leak" {
	rules=$BATS_TEST_TMPDIR/rules
	printf '%s\n' '127.0.0.9:deny' '127.0.0.0/24:allow,X="y"' ':allow' >"$rules"
	real=$TCPWARDEN
	TCPWARDEN=$BATS_TEST_TMPDIR/tcpwarden-valgrind
	# No --trace-children: the programs are not ours to check; the
	# forked child is checked up to its exec.
	printf '#!/bin/sh\nexec valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=%s "%s" "$@"\n' \
	    "$BATS_TEST_TMPDIR/vg.%p" "$real" >"$TCPWARDEN"
	chmod +x "$TCPWARDEN"
	start_server -v -c 20 -C 3:busy --rules="$rules" 127.0.0.1 0 sh -c 'echo "$X"'
	run "$CLIENT" -T 60 --storm 300 --conc 10 --src 127.0.0.2-11 127.0.0.1 "$PORT"
	[[ "$output" == "done 300 ok 300 failed 0" ]]
	[ "$("$CLIENT" -s 127.0.0.2 127.0.0.1 "$PORT" </dev/null)" = y ]
	[ "$("$CLIENT" -s 127.0.0.9 127.0.0.1 "$PORT" </dev/null)" = "" ]
	kill -HUP "$SERVER_PID"
	wait_log 'rules: reloaded'
	wait_for eval '[ "$(total)" = 0 ]'
	stop_server
	[ "$SERVER_STATUS" -eq 0 ]
	# Every valgrind log (the server's, and its children's up to exec)
	# is empty with -q unless something was found.
	for f in "$BATS_TEST_TMPDIR"/vg.*; do
		[ ! -s "$f" ] || { cat "$f"; false; }
	done
}
