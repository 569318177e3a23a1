#!/usr/bin/env bats
# The command line (SPEC §1, §2, §8): every bad input is exit 100 with one
# line on stderr naming what was wrong; a port in use is exit 111 naming
# the address; --help and --version; the program's own options are its own.

load lib

bats_require_minimum_version 1.5.0

teardown() { common_teardown; }

# bounded CMD...: a tcpwarden that wrongly starts must not hang the test.
bounded() { timeout -k 5 10 "$@"; }

# usage_fails WHAT ARGS...: run tcpwarden with ARGS (stdin from /dev/null,
# $UID and $GID unset) and check that it exits 100 with nothing on stdout
# and exactly one line on stderr, from tcpwarden, containing WHAT.
usage_fails() {
	local what=$1
	shift
	run --separate-stderr bounded env -u UID -u GID "$TCPWARDEN" "$@" \
	    </dev/null
	check_one_line 100 "$what" "$*"
}

# check_one_line CODE WHAT CONTEXT: after `run --separate-stderr`.  A
# usage line must end by pointing at --help.
check_one_line() {
	if [ "$status" -ne "$1" ] || [ -n "$output" ] ||
	    [ "${#stderr_lines[@]}" -ne 1 ] ||
	    [[ "${stderr_lines[0]}" != "tcpwarden: "* ]] ||
	    [[ "${stderr_lines[0]}" != *"$2"* ]] ||
	    { [[ "${stderr_lines[0]}" == "tcpwarden: usage: "* ]] &&
	    [[ "${stderr_lines[0]}" != *"; see tcpwarden --help" ]]; }; then
		echo "args: $3"
		echo "expected: exit $1, one line on stderr containing '$2'" \
		    "(and a usage line ending '; see tcpwarden --help')"
		echo "got: exit $status, stdout '$output', stderr:"
		printf '  %s\n' "${stderr_lines[@]}"
		return 1
	fi
}

# known OPTION: after `run`, the line does not call a known option unknown.
known() {
	[[ "$stderr" != *unknown* ]] || { echo "$1: $stderr"; return 1; }
}

# A host name lookup must not depend on the machine's DNS: a name under
# .invalid could come back as "try again" (exit 111) where no resolver
# answers.  In a private mount namespace, hosts come from /etc/hosts only.
files_only_hosts() {
	local conf=$BATS_TEST_TMPDIR/nsswitch.conf
	printf 'hosts: files\n' >"$conf"
	unshare -rm sh -c 'mount --bind "$1" /etc/nsswitch.conf && shift &&
	    exec "$@"' sh "$conf" "$@"
}

@test "an unknown short or long option is a usage error naming it" {
	usage_fails "-z" -z 127.0.0.1 0 cat
	usage_fails "-z" -vz 127.0.0.1 0 cat
	usage_fails "--no-such-option" --no-such-option 127.0.0.1 0 cat
	usage_fails "--no-such-option" --no-such-option=1 127.0.0.1 0 cat
}

@test "an option missing its argument is a usage error naming the option" {
	local o bad=0
	# Short and long forms; the line names the option as written and,
	# the option being known, never calls it unknown.  Every case is
	# tried, and every failure shown.
	for o in -c -C -N -b -B -l -g -u -t -x --max-connections \
	    --max-per-client --max-per-net --backlog --banner --local-name \
	    --gid --uid --timeout --rules-cdb --ip4-prefix --ip6-prefix \
	    --net4-prefix --net6-prefix --rules; do
		usage_fails "$o" "$o" || bad=1
		known "$o" || bad=1
	done
	[ "$bad" -eq 0 ]
}

@test "an option that takes no argument refuses one, naming the option" {
	local bad=0
	usage_fails "--verbose" --verbose=1 127.0.0.1 0 cat || bad=1
	usage_fails "--print-port" --print-port=yes 127.0.0.1 0 cat || bad=1
	usage_fails "--help" --help=x || bad=1
	[ "$bad" -eq 0 ]
}

@test "bad numbers for the numeric options are usage errors naming the option" {
	local o v
	# Not a number, empty, negative, trailing garbage, far too large.
	for o in -c -C -N -b -t --ip4-prefix --ip6-prefix --net4-prefix \
	    --net6-prefix --max-connections --max-per-client --max-per-net \
	    --backlog; do
		for v in abc '' -1 5x ' 5' 0x10 99999999999999999999; do
			case $o in
			--*) usage_fails "$o" "$o=$v" 127.0.0.1 0 cat ;;
			*) usage_fails "$o" "$o" "$v" 127.0.0.1 0 cat ;;
			esac
			# A bad value is shown as given.
			[ -z "$v" ] || [[ "${stderr_lines[0]}" == *"$v"* ]]
		done
	done
}

@test "zero and out-of-range values are usage errors" {
	usage_fails "-c" -c 0 127.0.0.1 0 cat
	usage_fails "-C" -C 0 127.0.0.1 0 cat
	usage_fails "-C" -C 0:full 127.0.0.1 0 cat
	usage_fails "-N" -N 0 127.0.0.1 0 cat
	usage_fails "-b" -b 0 127.0.0.1 0 cat
	usage_fails "-C" -C :msg 127.0.0.1 0 cat
	usage_fails "--ip4-prefix" --ip4-prefix=33 127.0.0.1 0 cat
	usage_fails "--net4-prefix" --net4-prefix=33 127.0.0.1 0 cat
	usage_fails "--ip6-prefix" --ip6-prefix=129 127.0.0.1 0 cat
	usage_fails "--net6-prefix" --net6-prefix=129 127.0.0.1 0 cat
}

@test "a bad escape in the -C or -N message is a usage error" {
	usage_fails "-C" -C '1:busy\q' 127.0.0.1 0 cat
	usage_fails "-C" -C '1:busy\' 127.0.0.1 0 cat
	usage_fails "-N" -N '1:busy\t' 127.0.0.1 0 cat
}

@test "port 70000 and an unknown service are errors naming the port" {
	usage_fails "70000" 127.0.0.1 70000 cat
	usage_fails "99999999999999999999" 127.0.0.1 99999999999999999999 cat
	usage_fails "no-such-service-tcpwarden" 127.0.0.1 \
	    no-such-service-tcpwarden cat
}

@test "an unknown host name is an error naming the host" {
	unshare -rm true 2>/dev/null ||
		skip "no user and mount namespaces to pin host look-ups"
	run --separate-stderr files_only_hosts timeout -k 5 10 "$TCPWARDEN" \
	    no-such-host.invalid 0 cat </dev/null
	check_one_line 100 "no-such-host.invalid" "no-such-host.invalid 0 cat"
}

@test "an unknown user or group is a usage error naming it" {
	usage_fails "no-such-user-tcpwarden" -u no-such-user-tcpwarden \
	    127.0.0.1 0 cat
	usage_fails "no-such-user-tcpwarden" --uid=no-such-user-tcpwarden \
	    127.0.0.1 0 cat
	usage_fails "no-such-group-tcpwarden" -g no-such-group-tcpwarden \
	    127.0.0.1 0 cat
	usage_fails "no-such-group-tcpwarden" --gid=no-such-group-tcpwarden \
	    127.0.0.1 0 cat
}

@test "-U without a numeric \$UID and \$GID is a usage error naming them" {
	usage_fails "UID" -U 127.0.0.1 0 cat
	run --separate-stderr bounded env -u GID UID=65534 "$TCPWARDEN" -U \
	    127.0.0.1 0 cat </dev/null
	check_one_line 100 "GID" "UID=65534 -U"
	run --separate-stderr bounded env UID=nobody GID=65534 "$TCPWARDEN" \
	    -U 127.0.0.1 0 cat </dev/null
	check_one_line 100 "UID" "UID=nobody -U"
	run --separate-stderr bounded env UID=65534 GID= "$TCPWARDEN" -U \
	    127.0.0.1 0 cat </dev/null
	check_one_line 100 "GID" "GID= -U"
}

@test "a missing host, port or program is a usage error naming it" {
	usage_fails "host"
	usage_fails "host" -v
	usage_fails "port" 127.0.0.1
	usage_fails "program" 127.0.0.1 0
	usage_fails "program" -v 127.0.0.1 0
}

@test "MAXCONNIP or MAXCONNC that is not a number is a usage error naming it" {
	local var v
	for var in MAXCONNIP MAXCONNC; do
		for v in abc -1 5x 99999999999999999999; do
			run --separate-stderr bounded env "$var=$v" "$TCPWARDEN" \
			    127.0.0.1 0 cat </dev/null
			check_one_line 100 "$var" "$var=$v"
		done
	done
}

@test "a port in use is exit 111 naming the address" {
	start_server 127.0.0.1 0 cat
	run --separate-stderr bounded "$TCPWARDEN" 127.0.0.1 "$PORT" cat \
	    </dev/null
	check_one_line 111 "127.0.0.1:$PORT" "127.0.0.1 $PORT (in use)"
	[[ "${stderr_lines[0]}" == "tcpwarden: fatal: "* ]]
	# The first server is unharmed.
	run "$CLIENT" 127.0.0.1 "$PORT" <<<"still here"
	[ "$status" -eq 0 ]
	[ "$output" = "still here" ]
}

@test "--help exits 0 and names every long option" {
	local o
	run --separate-stderr bounded "$TCPWARDEN" --help
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "$output" == *"host port program"* ]]
	for o in max-connections max-per-client max-per-net ip4-prefix \
	    ip6-prefix net4-prefix net6-prefix banner print-port backlog \
	    queues delay no-delay ip-options no-ip-options local-name gid uid \
	    uid-from-env verbose errors quiet rules-cdb rules-missing-ok \
	    rules lookup-host no-lookup-host paranoid no-paranoid ident \
	    no-ident timeout help version; do
		[[ "$output" == *"--$o"* ]] || { echo "--help lacks --$o"; false; }
	done
}

@test "--help: every description starts in one column, no line over 79" {
	local line col bad=0
	run --separate-stderr bounded "$TCPWARDEN" --help
	[ "$status" -eq 0 ]
	for line in "${lines[@]}"; do
		[ "${#line}" -le 79 ] || { echo "too long: $line"; bad=1; }
		# One option to a line: "  -c, --long=ARG", or "      --long".
		[[ $line =~ ^(\ \ -.,\ |\ {6})--[^\ ]+\ + ]] || continue
		col=${#BASH_REMATCH[0]}
		# Not for a line of several options ("-d / -D", "-g  -u").
		[[ $line == *" / "* || ${line:col:1} == - ]] && continue
		# Its description there, or (a long option) on the next line.
		[ "$col" -eq 30 ] || [ "$col" -eq "${#line}" ] ||
			{ echo "column $col: $line"; bad=1; }
	done
	[ "$bad" -eq 0 ]
}

@test "a usage error is one line, which ends by pointing at --help" {
	local long
	usage_fails "unknown option -Z" -Z 127.0.0.1 0 cat
	usage_fails "missing host" -v
	usage_fails "-c" -c x 127.0.0.1 0 cat
	# Cut to fit, the line keeps its end.
	long=$(printf 'x%.0s' $(seq 3000))
	usage_fails "-c" -c "$long" 127.0.0.1 0 cat
	[ "${#stderr_lines[0]}" -lt 1024 ]
}

@test "every long option that --help lists is accepted" {
	local o bad=0
	run "$TCPWARDEN" --help
	[ "$status" -eq 0 ]
	for o in $(grep -o -- '--[a-z0-9][a-z0-9-]*' <<<"$output" | sort -u); do
		[ "$o" = --help ] && continue
		# Alone, a known option ends in "needs an argument", "missing
		# host", or (--version) success: never "unknown".
		run --separate-stderr bounded env -u UID -u GID "$TCPWARDEN" \
		    "$o" </dev/null
		known "$o" || bad=1
	done
	[ "$bad" -eq 0 ]
}

@test "--version exits 0 and prints the name and a version" {
	run --separate-stderr bounded "$TCPWARDEN" --version
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ ^tcpwarden\ [0-9]+(\.[0-9]+)* ]]
}

@test "options after the program belong to the program" {
	start_server 127.0.0.1 0 echo -c x -v --help
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = "-c x -v --help" ]
	stop_server
	# "--" ends tcpwarden's options too.
	start_server -- 127.0.0.1 0 echo -q
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = "-q" ]
}

@test "long options take their value with = or as the next argument" {
	start_server --max-per-client 1:one\\r\\n --banner=hello: \
	    127.0.0.1 0 sh -c 'echo up; exec cat >/dev/null'
	hold a 1
	[ "$HELD" = "held 1" ]
	# The second connection from the same client is over --max-per-client
	# and gets its message (escapes applied), with no banner.
	run "$CLIENT" 127.0.0.1 "$PORT" </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = $'one\r' ]
	release a
}
