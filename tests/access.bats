#!/usr/bin/env bats
# Access rules through the server: --rules (text, reloaded on SIGHUP) and
# -x (a tcprules cdb, reopened for every connection), with real clients
# from 127.0.0.x addresses.

bats_require_minimum_version 1.5.0

load lib

CDBMAKE=$TOP/build/cdbmake-rules

setup() {
	RULES=$BATS_TEST_TMPDIR/rules.txt
	cat >"$RULES" <<-'EOF'
	# longest prefix wins; an exact address (a range) beats any prefix
	127.0.0.0/30:allow,X="thirty"
	127.0.0.0/24:allow,X="twentyfour"
	127.0.0.20-29:deny
	127.0.1.:allow,X="dotted"
	127.0.0.7:allow,X="seven",TCPLOCALHOST="from.rule"
	:deny
	EOF
}

teardown() { common_teardown; }

# ask SRC: connect from SRC and print what the program said.
ask() { "$CLIENT" -s "$1" 127.0.0.1 "$PORT" </dev/null; }

SHOWX='echo "X=${X-unset} LH=${TCPLOCALHOST-unset}"'

@test "text rules: prefixes longest first, ranges, variables, default" {
	start_server -v --rules="$RULES" 127.0.0.1 0 sh -c "$SHOWX"
	[ "$(ask 127.0.0.2)" = "X=thirty LH=unset" ]
	[ "$(ask 127.0.0.9)" = "X=twentyfour LH=unset" ]
	[ "$(ask 127.0.1.5)" = "X=dotted LH=unset" ]
	# A rule's variables win, even over tcpwarden's own.
	[ "$(ask 127.0.0.7)" = "X=seven LH=from.rule" ]
	# Denied: closed at once, no child.
	[ "$(ask 127.0.0.25)" = "" ]
	[ "$(ask 127.0.2.1)" = "" ]
	log_has 'deny 127.0.0.25:[0-9]* rule 127.0.0.20-29$'
	log_has 'deny 127.0.2.1:[0-9]* rule default$'
	[ "$(log_count ' pid ')" -eq 4 ]
	run ! log_has 'from 127.0.0.25'
}

@test "text rules: a malformed file at start exits 100 naming FILE:LINE" {
	printf '127.0.0.1:allow\n10.0.0.0/33:deny\n' >"$RULES"
	run "$TCPWARDEN" --rules="$RULES" 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" == "tcpwarden: fatal: $RULES:2: "* ]]
	printf '127.0.0.1 allow\n' >"$RULES"
	run "$TCPWARDEN" --rules="$RULES" 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[[ "${lines[0]}" == "tcpwarden: fatal: $RULES:1: "* ]]
	run "$TCPWARDEN" --rules="$BATS_TEST_TMPDIR/none" 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	[[ "${lines[0]}" == *"$BATS_TEST_TMPDIR/none"* ]]
}

@test "SIGHUP reloads text rules; a broken file keeps the old ones; counts stay" {
	start_server -v --rules="$RULES" 127.0.0.1 0 sh -c "$SHOWX; read x"
	hold a 2 -s 127.0.0.2
	[ "$HELD" = "held 2" ]

	printf '127.0.0.0/30:allow,X="new"\n:deny\n' >"$RULES"
	kill -HUP "$SERVER_PID"
	wait_log 'rules: reloaded'
	[ "$(echo | ask 127.0.0.3)" = "X=new LH=unset" ]
	[ "$(echo | ask 127.0.0.9)" = "" ]

	printf '127.0.0.0/30:allow,X="broken\n' >"$RULES"
	kill -HUP "$SERVER_PID"
	wait_log "warning: keeping the old rules: $RULES:1: "
	[ "$(echo | ask 127.0.0.3)" = "X=new LH=unset" ]

	run state
	[[ "${lines[0]}" == "tcpwarden: state: 2/40 clients 1" ]]
	release a
	wait_for eval '[ "$(total)" = 0 ]'
}

@test "a rule's MAXCONNIP and DIEMSG limit that client only" {
	printf '%s\n' '127.0.0.3:allow,MAXCONNIP="1",DIEMSG="one at a time"' \
	    ':allow' >"$RULES"
	start_server -v --rules="$RULES" 127.0.0.1 0 sh -c 'echo ready; read x'
	hold a 1 -s 127.0.0.3
	[ "$HELD" = "held 1" ]
	run ask 127.0.0.3
	[ "$output" = $'one at a time\r' ]
	log_has 'deny 127.0.0.3:[0-9]* per-client 1/1'
	# Another client keeps the server's limit (10).
	hold b 3 -s 127.0.0.4
	[ "$HELD" = "held 3" ]
	release a
	release b
}

@test "a rule's MAXCONNC limits the network" {
	printf '%s\n' '127.0.5.:allow,MAXCONNC="2"' ':allow' >"$RULES"
	start_server -v --rules="$RULES" 127.0.0.1 0 sh -c 'echo ready; read x'
	hold a 1 -s 127.0.5.1
	[ "$HELD" = "held 1" ]
	hold b 1 -s 127.0.5.2
	[ "$HELD" = "held 1" ]
	run ask 127.0.5.3
	[ "$output" = "" ]
	log_has 'deny 127.0.5.3:[0-9]* per-net 2/2'
	release a
	release b
}

@test "cdb rules: allow, deny, variables, and a new file takes effect at once" {
	"$CDBMAKE" "$BATS_TEST_TMPDIR/r.cdb" "$BATS_TEST_TMPDIR/r.tmp" <<-'EOF'
	127.0.0.2:allow,X="two"
	127.0.0.:allow,X="prefix"
	127.0.0.20-29:deny
	:deny
	EOF
	start_server -v -x "$BATS_TEST_TMPDIR/r.cdb" 127.0.0.1 0 sh -c "$SHOWX"
	[ "$(ask 127.0.0.2)" = "X=two LH=unset" ]
	[ "$(ask 127.0.0.9)" = "X=prefix LH=unset" ]
	[ "$(ask 127.0.0.21)" = "" ]
	[ "$(ask 127.0.1.1)" = "" ]
	log_has 'deny 127.0.0.21:[0-9]* rule 127.0.0.21$'
	log_has 'deny 127.0.1.1:[0-9]* rule default$'

	# tcprules-style replacement, no signal: the next connection sees it.
	printf '127.0.0.21:allow,X="now"\n' |
	    "$CDBMAKE" "$BATS_TEST_TMPDIR/r.cdb" "$BATS_TEST_TMPDIR/r.tmp"
	[ "$(ask 127.0.0.21)" = "X=now LH=unset" ]
	[ "$(ask 127.0.0.2)" = "X=unset LH=unset" ]
}

@test "cdb rules: a missing file drops, -X allows, a damaged file drops" {
	start_server -x "$BATS_TEST_TMPDIR/none.cdb" 127.0.0.1 0 echo served
	[ "$(ask 127.0.0.2)" = "" ]
	wait_log "warning: dropping connection, unable to read $BATS_TEST_TMPDIR/none.cdb: No such file or directory"
	stop_server

	start_server -X -x "$BATS_TEST_TMPDIR/none.cdb" 127.0.0.1 0 echo served
	[ "$(ask 127.0.0.2)" = "served" ]
	stop_server

	head -c 3000 /dev/urandom >"$BATS_TEST_TMPDIR/bad.cdb"
	printf '\377\377\377\377' | dd of="$BATS_TEST_TMPDIR/bad.cdb" bs=1 \
	    seek=0 conv=notrunc 2>/dev/null
	start_server -X -x "$BATS_TEST_TMPDIR/bad.cdb" 127.0.0.1 0 echo served
	[ "$(ask 127.0.0.2)" = "" ]
	wait_log "warning: dropping connection, unable to read $BATS_TEST_TMPDIR/bad.cdb"
	run state
	[[ "${lines[0]}" == "tcpwarden: state: 0/40 clients 0" ]]
}

@test "-x and --rules exclude each other; -X needs -x" {
	run "$TCPWARDEN" -x a.cdb --rules="$RULES" 127.0.0.1 0 true
	[ "$status" -eq 100 ]
	run "$TCPWARDEN" -X 127.0.0.1 0 true
	[ "$status" -eq 100 ]
}

@test "cdb and text rules decide alike, and like Debian's tcprules" {
	cat >"$RULES" <<-'EOF'
	127.0.0.2:allow,X="two"
	127.0.0.3-5:deny
	127.0.1-2.:allow,X="range"
	127.:allow,X="eight"
	:deny
	EOF
	"$CDBMAKE" "$BATS_TEST_TMPDIR/ours.cdb" "$BATS_TEST_TMPDIR/t" <"$RULES"
	cdbs=("$BATS_TEST_TMPDIR/ours.cdb")
	if command -v tcprules >/dev/null; then
		tcprules "$BATS_TEST_TMPDIR/theirs.cdb" "$BATS_TEST_TMPDIR/t2" <"$RULES"
		cdbs+=("$BATS_TEST_TMPDIR/theirs.cdb")
	fi
	for how in "--rules=$RULES" "${cdbs[@]/#/-x}"; do
		start_server "$how" 127.0.0.1 0 sh -c "$SHOWX"
		got=
		for ip in 127.0.0.2 127.0.0.4 127.0.0.6 127.0.2.9 127.0.3.1; do
			got="$got $ip=$(ask $ip | sed 's/ LH=unset//')"
		done
		stop_server
		[ "$got" = " 127.0.0.2=X=two 127.0.0.4= 127.0.0.6=X=eight 127.0.2.9=X=range 127.0.3.1=X=eight" ]
	done
}
