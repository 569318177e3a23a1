#!/usr/bin/env bats
# src/lookup.c for real: reverse DNS (-h, -p), ident (-r) and their
# deadlines (-t).  Everything runs in a private user, network and mount
# namespace, so the fixed ports 113 and 53 are ours, traffic stays on that
# namespace's loopback, and /etc/hosts, /etc/nsswitch.conf and
# /etc/resolv.conf are replaced only in the namespace's view.

ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"

setup_file() {
	local out
	# Output kept off fd 3, which carries bats' TAP stream.
	if ! out=$(cd "$ROOT" && make -s -f tests/helpers/helpers.mk \
	    lookup-helpers BUILD="$BUILD" 2>&1); then
		printf '%s\n' "$out" >&2
		return 1
	fi
	T="$BATS_FILE_TMPDIR"

	# hosts for the name tests; the printf escapes make the hostile bytes.
	printf '%s\n' \
	    '127.0.0.5 good.example.test' \
	    '2001:db8::5 v6.example.test' \
	    '::ffff:127.0.0.11 mapped.example.test' \
	    '127.0.0.12 127.0.0.12' \
	    '127.0.0.13 127.1' >"$T/hosts"
	printf '127.0.0.9 bad:na\001me\377.test\n' >>"$T/hosts"
	printf '127.0.0.14 %s.test\n' "$(printf 'a%.0s' $(seq 600))" >>"$T/hosts"
	# A resolver that would wait a minute without our deadline.
	printf 'nameserver 127.0.0.1\noptions timeout:30 attempts:2\n' >"$T/resolv"
}

setup() {
	T="$BATS_FILE_TMPDIR"
	LC="$BUILD/lookupcheck"
	export BATS_TEST_DIRNAME BATS_TEST_TMPDIR FAKEIDENT="$BUILD/fakeident"
	unshare -rnm true 2>/dev/null ||
		skip "needs user, network and mount namespaces (unshare -rnm)"
}

# ns [ns.bash options] -- COMMAND...: COMMAND in the namespaces of
# tests/ns.bash, bounded by 20 s.
ns() {
	run timeout 20 unshare -rnm bash "$BATS_TEST_DIRNAME/ns.bash" "$@"
}

need_glibc_nss() {
	getconf GNU_LIBC_VERSION >/dev/null 2>&1 ||
		skip "the name tests drive glibc's NSS (nsswitch.conf, files, dns)"
	[ -f /etc/nsswitch.conf ] && [ -f /etc/hosts ] && [ -f /etc/resolv.conf ] ||
		skip "needs /etc/nsswitch.conf, /etc/hosts and /etc/resolv.conf to bind over"
}

# hosts: files only, from our hosts file.
revname() {
	need_glibc_nss
	ns -H "$T/hosts" -N files -- "$LC" host "$@"
}

# --- reverse DNS from the hosts file ---

@test "host: name of an address from the hosts file" {
	revname 127.0.0.5
	[ "$status" -eq 0 ]
	[ "$output" = "host good.example.test" ]
}

@test "host: -p keeps a name that resolves back to the address" {
	revname -p 127.0.0.5
	[ "$status" -eq 0 ]
	[ "$output" = "host good.example.test" ]
}

@test "host: IPv6 address, with -p" {
	revname -p 2001:db8::5
	[ "$status" -eq 0 ]
	[ "$output" = "host v6.example.test" ]
}

@test "host: -p compares canonically, an IPv4-mapped forward entry confirms" {
	revname -p 127.0.0.11
	[ "$status" -eq 0 ]
	[ "$output" = "host mapped.example.test" ]
}

@test "host: no name" {
	revname 127.0.0.99
	[ "$status" -eq 0 ]
	[ "$output" = "nohost" ]
}

@test "host: hostile bytes and ':' in a name become '?'" {
	revname 127.0.0.9
	[ "$status" -eq 0 ]
	[ "$output" = "host bad?na?me?.test" ]
}

@test "host: a name that reads as an address is no name, with or without -p" {
	revname 127.0.0.12
	[ "$status" -eq 0 ]
	[ "$output" = "nohost" ]
	revname -p 127.0.0.13
	[ "$output" = "nohost" ]
	revname 127.0.0.13
	[ "$status" -eq 0 ]
	[ "$output" = "nohost" ]
}

@test "host: a name too long is dropped, never cut" {
	revname 127.0.0.14
	[ "$status" -eq 0 ]
	[ "$output" = "nohost" ]
}

# --- reverse DNS through a fake DNS server on the namespace's 127.0.0.1 ---

@test "host: -p drops a PTR name whose address is another one" {
	need_glibc_nss
	# The fake PTR for 127.0.0.6 claims good.example.test, which the
	# hosts file puts at 127.0.0.5.
	ns -H "$T/hosts" -N "files dns" -R "$T/resolv" -- \
	    with_fake dns-ptr good.example.test -- \
	    sh -c "'$LC' host 127.0.0.6 && '$LC' host -p 127.0.0.6"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "host good.example.test" ]
	[ "${lines[1]}" = "nohost" ]
	[ "${lines[2]}" = "server: dns 12" ]
}

@test "host: -t bounds a resolver that never answers" {
	need_glibc_nss
	ns -H "$T/hosts" -N dns -R "$T/resolv" -- with_fake dns-silent -- \
	    timeout 10 "$LC" host -t 1 127.0.0.6
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "nohost" ]
	# The query did reach the silent server: the wait was the resolver's.
	[ "${lines[1]}" = "server: dns 12" ]
}

@test "host: -t bounds the forward look-up of -p too" {
	need_glibc_nss
	# The PTR query is answered, the A and AAAA queries are not.
	ns -N dns -R "$T/resolv" -- with_fake dns-ptr slow.example.test -- \
	    timeout 10 "$LC" host -p -t 1 127.0.0.6
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "nohost" ]
	[ "${lines[1]}" = "server: dns 12" ]
	[[ "$output" == *"server: dns 1"$'\n'* || "$output" == *"server: dns 28"* ]]
}

# --- ident against fakeident on the namespace's port 113 ---

# ident REPLY-MODE [TEXT] -- lookupcheck ident args (after "ident")
ident() {
	local server=()
	while [ "$1" != -- ]; do server+=("$1"); shift; done
	shift
	ns -- with_fake "${server[@]}" -- timeout 10 "$LC" ident "$@"
}

@test "ident: USERID reply, and the query names remote port then local port" {
	ident reply $'6193 , 23 : USERID : UNIX : stjohns\r\n' -- \
	    127.0.0.1 23 127.0.0.1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "info stjohns" ]
	[ "${lines[1]}" = "server: peer 127.0.0.1" ]
	[ "${lines[2]}" = "server: query 6193 , 23" ]
}

@test "ident: the query comes from the connection's local address" {
	ident reply $'6193 , 23 : USERID : UNIX : joe\r\n' -- \
	    127.0.0.2 23 127.0.0.1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "info joe" ]
	[ "${lines[1]}" = "server: peer 127.0.0.2" ]
}

@test "ident: IPv6" {
	ident -a ::1 reply $'6193 , 23 : USERID : UNIX : joe6\r\n' -- \
	    ::1 23 ::1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "info joe6" ]
	[ "${lines[1]}" = "server: peer ::1" ]
}

@test "ident: white space, a bare \\n and a charset are accepted" {
	ident reply $'\t6193\t,23 :USERID:  UNIX , US-ASCII :joe\n' -- \
	    127.0.0.1 23 127.0.0.1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "info joe" ]
}

@test "ident: ERROR reply gives no info" {
	ident reply $'6193 , 23 : ERROR : NO-USER\r\n' -- \
	    127.0.0.1 23 127.0.0.1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "noinfo" ]
}

@test "ident: a reply about other ports gives no info" {
	local r
	for r in $'6193 , 24 : USERID : UNIX : joe\r\n' \
	    $'23 , 6193 : USERID : UNIX : joe\r\n' \
	    $'6194 , 23 : USERID : UNIX : joe\r\n'; do
		ident reply "$r" -- 127.0.0.1 23 127.0.0.1 6193
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "noinfo" ]
	done
}

@test "ident: malformed replies give no info" {
	local r long
	long="6193 , 23 : USERID : UNIX : $(printf 'x%.0s' $(seq 1200))"$'\r\n'
	for r in $'6193 , 23 : USERID : UNIX\r\n' \
	    $'6193 , 23 : USERID : UNIX :\r\n' \
	    $'6193 , 23 : USERID : : joe\r\n' \
	    $'6193 , 23 : USERIDX : UNIX : joe\r\n' \
	    $'6193 23 : USERID : UNIX : joe\r\n' \
	    $'006193 , 23 : USERID : UNIX : joe\r\n' \
	    $'garbage\r\n' \
	    '6193 , 23 : USERID : UNIX : no-end-of-line' \
	    "$long"; do
		ident reply "$r" -- 127.0.0.1 23 127.0.0.1 6193
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "noinfo" ]
	done
}

@test "ident: hostile bytes and ':' in the user id become '?'" {
	ident reply $'6193 , 23 : USERID : UNIX,UTF-8 : jo:e\001\377 x\r\r\n' -- \
	    127.0.0.1 23 127.0.0.1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "info jo?e???x?" ]
}

@test "ident: a user id is cut to 512 bytes" {
	local user
	user="$(printf 'u%.0s' $(seq 600))"
	ident reply "6193 , 23 : USERID : UNIX : $user"$'\r\n' -- \
	    127.0.0.1 23 127.0.0.1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "info ${user:0:512}" ]
}

@test "ident: -t bounds a server that never answers" {
	ident silent -- -t 1 127.0.0.1 23 127.0.0.1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "noinfo" ]
	[ "${lines[2]}" = "server: query 6193 , 23" ]
}

@test "ident: -t is one deadline, not one per read" {
	# One byte each 200 ms, never an end of line: a per-read timeout would
	# wait for ever, the 10 s bound would fail the test.
	ident drip "6193 , 23 : USERID : UNIX : $(printf 'x%.0s' $(seq 200))" -- \
	    -t 1 127.0.0.1 23 127.0.0.1 6193
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "noinfo" ]
}

@test "ident: refused, no server" {
	run timeout 20 unshare -rn sh -c \
	    "ip link set lo up && '$LC' ident -t 5 127.0.0.1 23 127.0.0.1 6193"
	[ "$status" -eq 0 ]
	[ "$output" = "noinfo" ]
}

# --- lookup_sanitize ---

@test "sanitize: outside 33..126 and ':' become '?', length capped" {
	run "$LC" sanitize "$(printf 'a:b c\001d\177e\377f%%g')"
	[ "$status" -eq 0 ]
	[ "$output" = "text a?b?c?d?e?f%g" ]
	run "$LC" sanitize "$(printf 'z%.0s' $(seq 700))"
	[ "$output" = "text $(printf 'z%.0s' $(seq 512))" ]
}
