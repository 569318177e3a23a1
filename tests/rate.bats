#!/usr/bin/env bats
# The per-client rate limit (--rate, MAXRATEIP), its table of clients of
# fixed size (--rate-clients), and --dry-run, through the binary.
#
# Every child runs PROG: it notes its client in $STARTS (so a test can
# count the programs started), writes "ready" and ends when the client
# has sent everything.  A refused connection gets the message of its
# limit, never "ready".

bats_require_minimum_version 1.5.0

load lib

setup() {
	STARTS=$BATS_TEST_TMPDIR/starts
	: >"$STARTS"
	PROG=(sh -c 'echo "$TCPREMOTEIP" >>"$1"; echo ready; exec cat >/dev/null'
	    sh "$STARTS")
}

teardown() { common_teardown; }

started() { wc -l <"$STARTS" | tr -d ' '; }
# served SRC: a connection from SRC gets its program.
served() { reply_is 'ready\n' -s "$1" 127.0.0.1; }
# refused MSG SRC: a connection from SRC gets MSG (printf) and no program.
refused() { reply_is "$1" -s "$2" 127.0.0.1; }

@test "--rate=2/3600:msg: the third new connection of a client gets msg, no program, a deny line" {
	start_server -v --rate='2/3600:slow down\r\n' 127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	served 127.0.0.1
	refused 'slow down\r\n' 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* rate 2/3600$'
	# Another client has its own count.
	served 127.0.0.2
	refused 'slow down\r\n' 127.0.0.1
	[ "$(started)" -eq 3 ]
	[ "$(grep -c '^127\.0\.0\.1$' "$STARTS")" -eq 2 ]
	wait_for eval '[ "$(log_count " rate 2/3600$")" -eq 2 ]'
	[ "$(log_count ' ok ')" -eq 3 ]
}

@test "--rate without a message: the -C message; the count is of new connections, ended or not" {
	start_server -v -C '5:busy\r\n' --rate=1/3600 127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	# That program has ended; the client may have 5 at once, but it
	# had its one new connection of the hour.
	refused 'busy\r\n' 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* rate 1/3600$'
	[ "$(started)" -eq 1 ]
}

@test "--rate: a client is its prefix (--ip4-prefix)" {
	start_server -v --ip4-prefix=24 --rate=1/3600 127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	refused '' 127.0.0.2
	wait_log 'deny 127\.0\.0\.2:[0-9]* rate 1/3600$'
	served 127.0.1.1
	[ "$(started)" -eq 2 ]
}

@test "--rate: once its window has passed, a client is let in again" {
	start_server -v --rate=1/1 127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	# A window of 1 s, counted to a sixteenth more at most: after 1.2 s
	# the first connection no longer counts, however slow the machine.
	sleep 1.2
	served 127.0.0.1
	[ "$(started)" -eq 2 ]
	run ! log_has ' rate 1/1$'
}

@test "--rate=N alone is N a second; bad values are usage errors naming the option" {
	local bad
	for bad in 0 0/5 x 1/0 1/x 65536 1/86401 /5 5/ 1//2 -1 '2:a\q'; do
		run "$TCPWARDEN" --rate="$bad" 127.0.0.1 0 true
		[ "$status" -eq 100 ] || { echo "--rate=$bad: $status" >&2; return 1; }
		[[ $output == "tcpwarden: usage: option --rate: "* ]] ||
		    { echo "--rate=$bad: $output" >&2; return 1; }
	done
	run "$TCPWARDEN" --rate-clients=0 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[[ $output == *"option --rate-clients"* ]]
	start_server -v --rate=1 127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	refused '' 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* rate 1/1$'
}

@test "MAXRATEIP in the environment overrides --rate; a bad one is a usage error" {
	start_via env MAXRATEIP=1/3600 -- -v --rate=5/1 127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	refused '' 127.0.0.1
	wait_log 'deny 127\.0\.0\.1:[0-9]* rate 1/3600$'
	stop_server
	run env MAXRATEIP=1/x "$TCPWARDEN" 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[[ $output == *"usage: environment: MAXRATEIP='1/x' is not N or N/SECONDS"* ]]
}

@test "MAXRATEIP in a rule: that rule's clients only; 0 refuses all; DIEMSG is its message" {
	cat >"$BATS_TEST_TMPDIR/rules" <<'EOF'
127.0.0.2:allow,MAXRATEIP="1/3600"
127.0.0.3:allow,MAXRATEIP="0",DIEMSG="go away"
127.0.0.4:allow,MAXRATEIP="1/x"
:allow
EOF
	start_server -v --rules="$BATS_TEST_TMPDIR/rules" 127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	served 127.0.0.1
	served 127.0.0.1
	served 127.0.0.2
	refused '' 127.0.0.2
	wait_log 'deny 127\.0\.0\.2:[0-9]* rate 1/3600$'
	refused 'go away\r\n' 127.0.0.3
	wait_log 'deny 127\.0\.0\.3:[0-9]* rate 0/1$'
	# A value that does not parse is ignored, with a warning.
	served 127.0.0.4
	served 127.0.0.4
	wait_log 'warning: rule 127\.0\.0\.4: MAXRATEIP=1/x is not N or N/SECONDS, ignored'
	[ "$(started)" -eq 6 ]
}

@test "--rate-clients: 8 clients are all remembered; a 9th forgets the one heard from longest ago" {
	local ip i
	# --rate-clients=1 is rounded up to one bucket of 8.
	start_server -v --rate-clients=1 --rate=1/3600 127.0.0.1 0 "${PROG[@]}"
	for i in 1 2 3 4 5 6 7 8; do
		served "127.0.0.$i"
	done
	for i in 1 2 3 4 5 6 7 8; do
		refused '' "127.0.0.$i"
	done
	# A newcomer is let in, in the place of 127.0.0.1.
	served 127.0.0.9
	served 127.0.0.1
	refused '' 127.0.0.8
	refused '' 127.0.0.1
	[ "$(started)" -eq 10 ]
}

@test "--rate-clients: 200 distinct clients against a table of 8, then the first one is forgotten" {
	# The storm's clients send nothing, not even an end: the program
	# must end by itself.
	start_server -v --rate-clients=8 --rate=1/3600 127.0.0.1 0 \
	    sh -c 'echo "$TCPREMOTEIP" >>"$1"; echo ready' sh "$STARTS"
	served 127.0.0.1
	refused '' 127.0.0.1
	# 200 clients, each new: a full table never refuses a newcomer.
	run "$CLIENT" --storm 200 --conc 4 --src 127.0.2.1-200 127.0.0.1 "$PORT"
	[ "$output" = "done 200 ok 200 failed 0" ]
	[ "$(started)" -eq 201 ]
	[ "$(grep -c '^127\.0\.2\.' "$STARTS")" -eq 200 ]
	[ "$(log_count ' rate 1/3600$')" -eq 1 ]
	# Its entry went to a newcomer long ago: 127.0.0.1 starts afresh.
	served 127.0.0.1
	refused '' 127.0.0.1
	[ "$(started)" -eq 202 ]
}

@test "--dry-run: -C and -N log would-deny and serve; no deny line" {
	start_server -v --dry-run -C '1:busy\r\n' -N 2 127.0.0.1 0 "${PROG[@]}"
	hold a 1 127.0.0.1
	[ "$HELD" = "held 1" ]
	# Over -C: served all the same, without the message.
	served 127.0.0.1
	wait_log 'would-deny 127\.0\.0\.1:[0-9]* per-client 1/1$'
	# With 127.0.0.3's, 2 of the /24 are held: -N would refuse 127.0.0.2.
	hold b 1 -s 127.0.0.3 127.0.0.1
	[ "$HELD" = "held 1" ]
	wait_for eval '[ "$(total)" = 2 ]'
	served 127.0.0.2
	wait_log 'would-deny 127\.0\.0\.2:[0-9]* per-net 2/2$'
	run ! log_has 'tcpwarden: deny '
	[ "$(started)" -eq 4 ]
}

@test "--dry-run: --rate logs would-deny and serves; what it would refuse is not counted as let in" {
	start_server -v --dry-run --rate=3/3600 127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	served 127.0.0.1
	served 127.0.0.1
	served 127.0.0.1
	served 127.0.0.1
	wait_for eval '[ "$(log_count "would-deny 127\.0\.0\.1:[0-9]* rate 3/3600$")" -eq 2 ]'
	run ! log_has 'tcpwarden: deny '
	[ "$(started)" -eq 5 ]
}

@test "--dry-run: rules that deny still deny; a rule's MAXCONNIP=0 only logs" {
	cat >"$BATS_TEST_TMPDIR/rules" <<'EOF'
127.0.0.2:deny
127.0.0.3:allow,MAXCONNIP="0"
:allow
EOF
	start_server -v --dry-run --rules="$BATS_TEST_TMPDIR/rules" \
	    127.0.0.1 0 "${PROG[@]}"
	refused '' 127.0.0.2
	wait_log 'tcpwarden: deny 127\.0\.0\.2:[0-9]* rule 127\.0\.0\.2$'
	served 127.0.0.3
	wait_log 'would-deny 127\.0\.0\.3:[0-9]* per-client 0/0$'
	[ "$(started)" -eq 1 ]
	run ! grep -q '^127\.0\.0\.2$' "$STARTS"
}

@test "--dry-run with look-ups: a limit set by a host rule is checked in the child, and only logged" {
	cat >"$BATS_TEST_TMPDIR/rules" <<'EOF'
=:allow,MAXCONNIP="0"
:allow,MAXCONNIP="0"
EOF
	start_server -v --dry-run -h --rules="$BATS_TEST_TMPDIR/rules" \
	    127.0.0.1 0 "${PROG[@]}"
	served 127.0.0.1
	wait_log 'would-deny 127\.0\.0\.1:[0-9]* per-client 0/0$'
	run ! log_has 'tcpwarden: deny '
	[ "$(started)" -eq 1 ]
}

@test "rate.c on a simulated clock: never more than N in a window, never refused below N in a window and a sixteenth" {
	local args
	for args in "5 2" "1 1" "100 60" "3 86400" "50 1"; do
		for seed in 1 2 3; do
			# shellcheck disable=SC2086
			run "$H/ratecheck" $args 20000 "$seed"
			[ "$status" -eq 0 ] || { echo "$args seed $seed: $output" >&2; return 1; }
			# Both sides of the rule were exercised.
			[[ $output =~ ^"ok 20000 let-in "[1-9][0-9]*" refused "[1-9] ]] ||
			    { echo "$args seed $seed: $output" >&2; return 1; }
		done
	done
}
