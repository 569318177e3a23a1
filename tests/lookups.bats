#!/usr/bin/env bats
# The look-ups through the real server: -h, -p, -r, -t, -l, the host and
# info rules (text and cdb) decided in the child after the look-ups, and
# what reaches the program's environment and the -v log.
#
# Each test runs a scenario (a shell function of this file) inside private
# user, network, mount and pid namespaces: the ident port 113 and the DNS
# port 53 are ours, all traffic stays on that namespace's loopback,
# /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf are replaced in the
# namespace's view only, and whatever the scenario leaves running dies with
# the namespace's first process.  The scenario prints what the clients got;
# the server's log is left in $BATS_TEST_TMPDIR/log; the test then asserts
# on both.

bats_require_minimum_version 1.5.0

load lib

BUILD="${BUILD:-$TOP/build}"

setup_file() {
	local out
	# Output kept off fd 3, which carries bats' TAP stream.
	if ! out=$(cd "$TOP" && make -s -f tests/helpers/helpers.mk \
	    "$BUILD/fakeident" "$BUILD/cdbmake-rules" BUILD="$BUILD" 2>&1 &&
	    make -s \
	    BUILD="$BUILD" "$BUILD/helpers/tcpclient" 2>&1); then
		printf '%s\n' "$out" >&2
		return 1
	fi
	T="$BATS_FILE_TMPDIR"

	# The names: one each for the host, suffix and any-host rules, one
	# that a rule denies, two addresses whose exact-IP rules beat the
	# name, and hostile bytes (the printf escapes make them).
	printf '%s\n' \
	    '127.0.0.5 good.example.test' \
	    '127.0.0.6 other.example.test' \
	    '127.0.0.7 bad.example.test' \
	    '127.0.0.8 plain.test' \
	    '127.0.0.10 good.example.test' \
	    '127.0.0.12 good.example.test' >"$T/hosts"
	printf '127.0.0.9 bad:na\001me\377.test\n' >>"$T/hosts"
	printf '2001:db8::5 v6.example.test\n' >>"$T/hosts"
	# For -p: the fake DNS server, answering quickly or not at all.
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
	    >"$T/resolv"
}

setup() {
	T="$BATS_FILE_TMPDIR"
	LOG="$BATS_TEST_TMPDIR/log"
	perl -MIO::Socket::IP -e 1 2>/dev/null ||
		skip "needs perl (IO::Socket::IP) for a fixed client port"
	unshare -rnm --pid --fork --kill-child true 2>/dev/null ||
		skip "needs user, network, mount and pid namespaces (unshare)"
	getconf GNU_LIBC_VERSION >/dev/null 2>&1 ||
		skip "the name tests drive glibc's NSS (nsswitch.conf, files, dns)"
	[ -f /etc/nsswitch.conf ] && [ -f /etc/hosts ] &&
	    [ -f /etc/resolv.conf ] ||
		skip "needs /etc/nsswitch.conf, /etc/hosts and /etc/resolv.conf to bind over"
	export BATS_TEST_DIRNAME BATS_TEST_TMPDIR TCPWARDEN
	export FAKEIDENT="$BUILD/fakeident"
	# What the program shows of its environment.
	export SHOW='printf "H=%s I=%s L=%s X=%s\n" "${TCPREMOTEHOST-unset}" "${TCPREMOTEINFO-unset}" "${TCPLOCALHOST-unset}" "${X-unset}"'
}

# ns [ns.bash options] -- FUNCTION [ARGS...]: the scenario in the
# namespaces of tests/ns.bash, and a pid namespace of its own, bounded by
# 40 s in all.
ns() {
	run timeout 40 unshare -rnm --pid --fork --kill-child \
	    bash "$BATS_TEST_DIRNAME/ns.bash" "$@"
}

# On failure bats shows the output; show the server's log too.
teardown() {
	echo "--- output"
	printf '%s\n' "${output-}" | cat -v
	if [ -f "$LOG" ]; then
		echo "--- log"
		cat -v "$LOG"
	fi
}

# log_line ERE: the log has a whole line "tcpwarden: " ERE.
log_line() { grep -Eqx -- "tcpwarden: $1" "$LOG"; }
# log_exact TEXT: the log has the line "tcpwarden: " TEXT, as written.
log_exact() { grep -Fqx -- "tcpwarden: $1" "$LOG"; }
# pid_of IP: the pid of the (one) child started for IP.
pid_of() { sed -n "s/^tcpwarden: pid \([0-9]*\) from $1\$/\1/p" "$LOG"; }
# The port the server printed, as the scenario reported it.
port_of() { sed -n 's/^port //p' <<<"$output"; }

# --- -h, -H ---

scenario_h() {
	start_server -v -h 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	echo "named $(ask 127.0.0.5)"
	echo "nameless $(ask 127.0.0.99)"
	settle
}
export -f scenario_h

@test "-h: TCPREMOTEHOST from the hosts file, in the ok line's REMOTEHOST" {
	ns -H "$T/hosts" -N files -- scenario_h
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "named H=good.example.test I=unset L=unset X=unset" ]
	# No name: unset, and an empty field.
	[ "${lines[2]}" = "nameless H=unset I=unset L=unset X=unset" ]
	local port p5 p99
	port=$(port_of)
	p5=$(pid_of 127.0.0.5)
	p99=$(pid_of 127.0.0.99)
	[ -n "$p5" ] && [ -n "$p99" ]
	log_line "ok $p5 :127\.0\.0\.1:$port good\.example\.test:127\.0\.0\.5::[0-9]+"
	log_line "ok $p99 :127\.0\.0\.1:$port :127\.0\.0\.99::[0-9]+"
	log_exact "end $p5 status 0"
	log_exact "end $p99 status 0"
}

scenario_stale() {
	# tcpwarden's own environment lies; the child must not believe it.
	TCPREMOTEHOST=stale.example.test TCPREMOTEINFO=stale \
	    start_server -v "$@" 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "named $(ask 127.0.0.5)"
	echo "nameless $(ask 127.0.0.99)"
	settle
}
export -f scenario_stale

@test "-H (the default) never sets TCPREMOTEHOST, even a stale one from tcpwarden's environment" {
	ns -H "$T/hosts" -N files -- scenario_stale
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "named H=unset I=unset L=unset X=unset" ]
	[ "${lines[1]}" = "nameless H=unset I=unset L=unset X=unset" ]
	log_line "ok [0-9]+ :127\.0\.0\.1:[0-9]+ :127\.0\.0\.5::[0-9]+"
	run ! grep -q stale "$LOG"
	ns -H "$T/hosts" -N files -- scenario_stale -H
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "named H=unset I=unset L=unset X=unset" ]
}

@test "-h: no name found leaves a stale TCPREMOTEHOST unset too" {
	ns -H "$T/hosts" -N files -- scenario_stale -h
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "named H=good.example.test I=unset L=unset X=unset" ]
	[ "${lines[1]}" = "nameless H=unset I=unset L=unset X=unset" ]
	run ! grep -q stale "$LOG"
}

scenario_hostile_name() {
	start_server -v -h 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	echo "got $(ask 127.0.0.9)"
	settle
}
export -f scenario_hostile_name

@test "-h: ':' and bytes outside printable ASCII in a name become '?' in the environment and the log" {
	ns -H "$T/hosts" -N files -- scenario_hostile_name
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "got H=bad?na?me?.test I=unset L=unset X=unset" ]
	local p
	p=$(pid_of 127.0.0.9)
	log_line "ok $p :127\.0\.0\.1:$(port_of) bad\?na\?me\?\.test:127\.0\.0\.9::[0-9]+"
	run ! env LC_ALL=C grep -q '[^[:print:]]' "$LOG"
}

# --- -p ---

scenario_p() {
	# The fake PTR for every address not in the hosts file claims
	# good.example.test, which the hosts file puts at 127.0.0.5.
	fake dns -a 127.0.0.1 dns-ptr good.example.test || return 1
	start_server -v -h "$@" -t 5 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	echo "liar $(ask 127.0.0.66)"
	echo "true $(ask 127.0.0.5)"
	settle
}
export -f scenario_p

@test "-p: a name that does not resolve back to the client is dropped; -P keeps it" {
	ns -H "$T/hosts" -N "files dns" -R "$T/resolv" -- scenario_p -P
	[ "$status" -eq 0 ]
	# The lie is believed without -p: this is what -p has to catch.
	[ "${lines[1]}" = "liar H=good.example.test I=unset L=unset X=unset" ]
	[ "${lines[2]}" = "true H=good.example.test I=unset L=unset X=unset" ]
	grep -qx 'dns 12' "$BATS_TEST_TMPDIR/fake.dns"

	ns -H "$T/hosts" -N "files dns" -R "$T/resolv" -- scenario_p -p
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "liar H=unset I=unset L=unset X=unset" ]
	[ "${lines[2]}" = "true H=good.example.test I=unset L=unset X=unset" ]
	grep -qx 'dns 12' "$BATS_TEST_TMPDIR/fake.dns"
	local p66 p5
	p66=$(pid_of 127.0.0.66)
	p5=$(pid_of 127.0.0.5)
	log_line "ok $p66 :127\.0\.0\.1:$(port_of) :127\.0\.0\.66::[0-9]+"
	log_line "ok $p5 :127\.0\.0\.1:$(port_of) good\.example\.test:127\.0\.0\.5::[0-9]+"
}

# --- -r, -t ---

# scenario_r REPLY [SERVER OPTIONS...]: fakeident on 127.0.0.5:113 answers
# REPLY, in which "%R" and "%L" stand for the client's and the server's
# ports; one client from 127.0.0.5:20005, one from 127.0.0.6:20006, where
# nothing listens on 113.
scenario_r() {
	local reply=$1
	shift
	start_server -v -r "$@" 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	reply=${reply//%R/20005}
	reply=${reply//%L/$PORT}
	fake ident -a 127.0.0.5 reply "$reply" || return 1
	echo "five $(pconnect 127.0.0.5 20005)"
	echo "six $(pconnect 127.0.0.6 20006)"
	settle
}
export -f scenario_r

@test "-r: TCPREMOTEINFO from the client's ident service, in the ok line's REMOTEINFO" {
	ns -- scenario_r $'%R , %L : USERID : UNIX : joe\r\n'
	[ "$status" -eq 0 ]
	local port p5 p6
	port=$(port_of)
	[ "${lines[1]}" = "five H=unset I=joe L=unset X=unset" ]
	# No ident server: served at once, without TCPREMOTEINFO.
	[ "${lines[2]}" = "six H=unset I=unset L=unset X=unset" ]
	# The query went from the address the client reached, and named
	# the client's port, then ours.
	[ "$(cat "$BATS_TEST_TMPDIR/fake.ident")" = "ready
peer 127.0.0.1
query 20005 , $port" ]
	p5=$(pid_of 127.0.0.5)
	p6=$(pid_of 127.0.0.6)
	log_exact "ok $p5 :127.0.0.1:$port :127.0.0.5:joe:20005"
	log_exact "ok $p6 :127.0.0.1:$port :127.0.0.6::20006"
}

@test "-r: an ERROR reply gives no TCPREMOTEINFO" {
	ns -- scenario_r $'%R , %L : ERROR : NO-USER\r\n'
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "five H=unset I=unset L=unset X=unset" ]
	log_exact "ok $(pid_of 127.0.0.5) :127.0.0.1:$(port_of) :127.0.0.5::20005"
}

@test "-r: ':' and bytes outside printable ASCII in the reply become '?' in the environment and the log" {
	ns -- scenario_r $'%R , %L : USERID : UNIX,UTF-8 : jo:e\001\377 x\r\r\n'
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "five H=unset I=jo?e???x? L=unset X=unset" ]
	log_exact "ok $(pid_of 127.0.0.5) :127.0.0.1:$(port_of) :127.0.0.5:jo?e???x?:20005"
	run ! env LC_ALL=C grep -q '[^[:print:]]' "$LOG"
}

scenario_t() {
	fake ident -a 127.0.0.5 silent || return 1
	start_server -v -r -t 1 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	# Far below the default -t of 26 s: only -t 1 lets this through.
	echo "got $(PTIME=8 pconnect 127.0.0.5 20005)"
	settle
	wait_for grep -q '^query' "$BATS_TEST_TMPDIR/fake.ident"
}
export -f scenario_t

@test "-r -t 1: a silent ident server costs the client at most the deadline, and it is served" {
	ns -- scenario_t
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "got H=unset I=unset L=unset X=unset" ]
	# The query did reach the silent server: the wait was real.
	grep -qx "query 20005 , $(port_of)" "$BATS_TEST_TMPDIR/fake.ident"
	local p
	p=$(pid_of 127.0.0.5)
	log_exact "ok $p :127.0.0.1:$(port_of) :127.0.0.5::20005"
	log_exact "end $p status 0"
}

scenario_v6() {
	# nodad: usable at once, no duplicate address detection to wait for.
	ip addr add 2001:db8::5/128 dev lo nodad || return 1
	start_server -v -h -r "$@" ::1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	fake ident -a 2001:db8::5 reply \
	    "20005 , $PORT : USERID : UNIX : joe6"$'\r\n' || return 1
	echo "got $(pconnect 2001:db8::5 20005 ::1)"
	settle
}
export -f scenario_v6

@test "-h -r for an IPv6 client: name, ident from the local address, bracketed addresses in the ok line" {
	printf '%s\n' '=v6.example.test:allow,X="v6"' ':deny' \
	    >"$BATS_TEST_TMPDIR/rules.txt"
	ns -H "$T/hosts" -N files -- scenario_v6 \
	    --rules="$BATS_TEST_TMPDIR/rules.txt"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "got H=v6.example.test I=joe6 L=unset X=v6" ]
	[ "$(cat "$BATS_TEST_TMPDIR/fake.ident")" = "ready
peer ::1
query 20005 , $(port_of)" ]
	log_exact "ok $(pid_of '\[2001:db8::5\]') :[::1]:$(port_of) v6.example.test:[2001:db8::5]:joe6:20005"
}

scenario_mapped() {
	# Host 0: dual-stack where the system has IPv6, so the IPv4 client
	# arrives as ::ffff:127.0.0.5 and must be looked up as 127.0.0.5.
	start_server -v -h -r 0 0 sh -c "$SHOW; echo \"IP=\$TCPREMOTEIP\"" ||
		return 1
	echo "port $PORT"
	fake ident -a 127.0.0.5 reply \
	    "20005 , $PORT : USERID : UNIX : joe"$'\r\n' || return 1
	echo "got $(pconnect 127.0.0.5 20005)"
	settle
}
export -f scenario_mapped

@test "-h -r on host 0: an IPv4 client is looked up and asked as IPv4" {
	ns -H "$T/hosts" -N files -- scenario_mapped
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "got H=good.example.test I=joe L=unset X=unset" ]
	[ "${lines[2]}" = "IP=127.0.0.5" ]
	[ "$(cat "$BATS_TEST_TMPDIR/fake.ident")" = "ready
peer 127.0.0.1
query 20005 , $(port_of)" ]
	log_exact "ok $(pid_of 127.0.0.5) :127.0.0.1:$(port_of) good.example.test:127.0.0.5:joe:20005"
}

# --- -l ---

scenario_l() {
	TCPLOCALHOST=stale.example.test \
	    start_server -v "$@" 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	echo "got $(ask 127.0.0.5)"
	settle
}
export -f scenario_l

@test "-l NAME: TCPLOCALHOST=NAME and the ok line starts 'ok PID NAME:'; without -l it is unset" {
	ns -- scenario_l -l warden.test
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "got H=unset I=unset L=warden.test X=unset" ]
	log_line "ok $(pid_of 127.0.0.5) warden\.test:127\.0\.0\.1:$(port_of) :127\.0\.0\.5::[0-9]+"

	# With look-ups the child writes the ok line: the name is there too.
	ns -H "$T/hosts" -N files -- scenario_l -h -l warden.test
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "got H=good.example.test I=unset L=warden.test X=unset" ]
	log_line "ok $(pid_of 127.0.0.5) warden\.test:127\.0\.0\.1:$(port_of) good\.example\.test:127\.0\.0\.5::[0-9]+"

	ns -- scenario_l
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "got H=unset I=unset L=unset X=unset" ]
	log_line "ok $(pid_of 127.0.0.5) :127\.0\.0\.1:$(port_of) :127\.0\.0\.5::[0-9]+"
}

scenario_all() {
	start_server -v -h -r -l warden.test 127.0.0.1 0 sh -c "$SHOW" ||
		return 1
	echo "port $PORT"
	fake ident -a 127.0.0.5 reply "20005 , $PORT : USERID : UNIX : joe"$'\r\n' ||
		return 1
	echo "got $(pconnect 127.0.0.5 20005)"
	settle
}
export -f scenario_all

@test "-h -r -l: every field of the ok line" {
	ns -H "$T/hosts" -N files -- scenario_all
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "got H=good.example.test I=joe L=warden.test X=unset" ]
	log_exact "ok $(pid_of 127.0.0.5) warden.test:127.0.0.1:$(port_of) good.example.test:127.0.0.5:joe:20005"
}

# --- host rules, decided in the child ---

HOSTRULES='127.0.0.12:deny
127.0.0.10:allow,X="ip"
=good.example.test:allow,X="host"
=bad.example.test:deny
=.example.test:allow,X="suffix"
=:allow,X="anyhost"
:deny'

# scenario_rules SERVER OPTIONS...: one client of each kind.
scenario_rules() {
	start_server -v "$@" 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	local ip
	for ip in 5 6 7 8 10 12 99; do
		echo "$ip $(ask 127.0.0.$ip)"
	done
	settle
}
export -f scenario_rules

# check_host_rules: what scenario_rules must have seen with -h.
check_host_rules() {
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "5 H=good.example.test I=unset L=unset X=host" ]
	# =host beats =.suffix, the longest suffix is tried before =.
	[ "${lines[2]}" = "6 H=other.example.test I=unset L=unset X=suffix" ]
	[ "${lines[3]}" = "7 " ]
	[ "${lines[4]}" = "8 H=plain.test I=unset L=unset X=anyhost" ]
	# The exact IP beats the host rules; the name is still looked up.
	[ "${lines[5]}" = "10 H=good.example.test I=unset L=unset X=ip" ]
	[ "${lines[6]}" = "12 " ]
	[ "${lines[7]}" = "99 " ]

	local port p
	port=$(port_of)
	log_line "ok $(pid_of 127.0.0.5) :127\.0\.0\.1:$port good\.example\.test:127\.0\.0\.5::[0-9]+"
	log_line "ok $(pid_of 127.0.0.10) :127\.0\.0\.1:$port good\.example\.test:127\.0\.0\.10::[0-9]+"

	# Denied by its name: in the child, after the look-up; the program
	# never runs, the child exits 100.
	p=$(pid_of 127.0.0.7)
	[ -n "$p" ]
	log_line "deny 127\.0\.0\.7:[0-9]+ rule =bad\.example\.test"
	log_exact "end $p status 25600"
	run ! log_line "ok $p .*"

	# No name, no host rule: the default denies, in the child too.
	p=$(pid_of 127.0.0.99)
	[ -n "$p" ]
	log_line "deny 127\.0\.0\.99:[0-9]+ rule default"
	log_exact "end $p status 25600"

	# The exact address decides alone: in the parent, no fork.
	log_line "deny 127\.0\.0\.12:[0-9]+ rule 127\.0\.0\.12"
	run ! log_line "pid [0-9]+ from 127\.0\.0\.12"
	[ "$(log_count ' pid ')" -eq 6 ]
	[ "$(log_count ' deny ')" -eq 3 ]
}

@test "text rules with -h: =host, =.suffix, =, the default, and an exact IP beating them" {
	printf '%s\n' "$HOSTRULES" >"$BATS_TEST_TMPDIR/rules.txt"
	ns -H "$T/hosts" -N files -- scenario_rules -h \
	    --rules="$BATS_TEST_TMPDIR/rules.txt"
	check_host_rules
}

@test "cdb rules with -h: =host, =.suffix, =, the default, and an exact IP beating them" {
	printf '%s\n' "$HOSTRULES" | "$BUILD/cdbmake-rules" \
	    "$BATS_TEST_TMPDIR/rules.cdb" "$BATS_TEST_TMPDIR/rules.tmp"
	ns -H "$T/hosts" -N files -- scenario_rules -h \
	    -x "$BATS_TEST_TMPDIR/rules.cdb"
	check_host_rules
}

@test "host rules without -h never match: the parent decides by address alone" {
	printf '%s\n' "$HOSTRULES" >"$BATS_TEST_TMPDIR/rules.txt"
	ns -H "$T/hosts" -N files -- scenario_rules \
	    --rules="$BATS_TEST_TMPDIR/rules.txt"
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "5 " ]
	[ "${lines[5]}" = "10 H=unset I=unset L=unset X=ip" ]
	log_line "deny 127\.0\.0\.5:[0-9]+ rule default"
	# One child only, for the exact-IP allow; every deny in the parent.
	[ "$(log_count ' pid ')" -eq 1 ]
	[ -n "$(pid_of 127.0.0.10)" ]
}

# --- info rules, decided in the child after ident ---

INFORULES='joe@127.0.0.5:allow,X="joe"
eve@127.0.0.5:deny
127.0.0.5:allow,X="ip"
:deny'

# scenario_info SERVER OPTIONS...: three clients from 127.0.0.5, whose
# ident service says joe, then eve, then ann.
scenario_info() {
	start_server -v -r "$@" 127.0.0.1 0 sh -c "$SHOW" || return 1
	echo "port $PORT"
	local user sport=20010
	for user in joe eve ann; do
		sport=$((sport + 1))
		fake "ident.$user" -a 127.0.0.5 reply \
		    "$sport , $PORT : USERID : UNIX : $user"$'\r\n' || return 1
		echo "$user $(pconnect 127.0.0.5 $sport)"
		# Let this fakeident see its query and end (it takes one
		# query), so that the next one can bind.
		wait_for grep -q '^query' "$BATS_TEST_TMPDIR/fake.ident.$user"
		wait "${FAKE_PIDS[-1]}"
		unset 'FAKE_PIDS[-1]'
	done
	settle
}
export -f scenario_info

check_info_rules() {
	[ "$status" -eq 0 ]
	[ "${lines[1]}" = "joe H=unset I=joe L=unset X=joe" ]
	[ "${lines[2]}" = "eve " ]
	# Another user: the info@ip rule does not match, the exact IP does.
	[ "${lines[3]}" = "ann H=unset I=ann L=unset X=ip" ]
	local port
	port=$(port_of)
	log_line "ok [0-9]+ :127\.0\.0\.1:$port :127\.0\.0\.5:joe:20011"
	log_line "ok [0-9]+ :127\.0\.0\.1:$port :127\.0\.0\.5:ann:20013"
	# eve: denied in the child once ident has answered; never ok.
	log_line "deny 127\.0\.0\.5:20012 rule eve@127\.0\.0\.5"
	run ! log_line "ok .*:20012"
	[ "$(log_count ' end [0-9]* status 25600$')" -eq 1 ]
	[ "$(log_count ' pid [0-9]* from 127.0.0.5$')" -eq 3 ]
}

@test "text rules with -r: joe@127.0.0.5 beats the exact IP; eve@ denies in the child" {
	printf '%s\n' "$INFORULES" >"$BATS_TEST_TMPDIR/rules.txt"
	ns -- scenario_info --rules="$BATS_TEST_TMPDIR/rules.txt"
	check_info_rules
}

@test "cdb rules with -r: joe@127.0.0.5 beats the exact IP; eve@ denies in the child" {
	printf '%s\n' "$INFORULES" | "$BUILD/cdbmake-rules" \
	    "$BATS_TEST_TMPDIR/rules.cdb" "$BATS_TEST_TMPDIR/rules.tmp"
	ns -- scenario_info -x "$BATS_TEST_TMPDIR/rules.cdb"
	check_info_rules
}
