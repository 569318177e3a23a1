#!/usr/bin/env bats
# Access rules (src/rules.c, src/cdb.c), driven through the helpers that
# `make rules-helpers` builds: build/rulescheck looks one client up in a
# text or cdb rules file, build/cdbmake-rules compiles text as tcprules
# does.  When TCPWARDEN names a build directory holding its own helpers
# (the sanitizer build), those are used instead.

setup() {
	TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
	B=$TOP/build
	if [ -n "${TCPWARDEN:-}" ]; then
		d=$(dirname "$TCPWARDEN")
		case $d in /*) ;; *) d=$TOP/${d#./} ;; esac
		[ -x "$d/rulescheck" ] && [ -x "$d/cdbmake-rules" ] && B=$d
	fi
	RC=$B/rulescheck
	MK=$B/cdbmake-rules
	if [ ! -x "$RC" ] || [ ! -x "$MK" ]; then
		echo "missing $RC or $MK: run make rules-helpers" >&2
		return 1
	fi
	export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	R=$BATS_TEST_TMPDIR/rules.txt
	C=$BATS_TEST_TMPDIR/rules.cdb
}

# rules LINE...: write the text rules file $R.
rules() {
	printf '%s\n' "$@" >"$R"
}

# text IP [HOST [INFO]]: look the client up in $R.
text() {
	run "$RC" --text "$R" "$@"
}

# cdb IP [HOST [INFO]]: look the client up in $C.
cdb() {
	run "$RC" --cdb "$C" "$@"
}

# expect OUTPUT: the last run exited 0 and printed exactly OUTPUT.
expect() {
	if [ "$status" -ne 0 ] || [ "$output" != "$1" ]; then
		echo "expected: $1" >&2
		echo "got ($status): $output" >&2
		return 1
	fi
}

# compile: $R into $C with cdbmake-rules.
compile() {
	"$MK" "$C" "$C.tmp" <"$R"
}

# le32 N: N as four little-endian bytes.
le32() {
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) \
		$(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"
}

# header FILE [N POS LEN]...: write a cdb header to FILE, every table
# empty except table N at POS with LEN slots.
header() {
	local f=$1 t pos len
	shift
	: >"$f"
	for t in $(seq 0 255); do
		pos=2048 len=0
		if [ $# -ge 3 ] && [ "$t" -eq "$1" ]; then
			pos=$2 len=$3
			shift 3
		fi
		{ le32 "$pos"; le32 "$len"; } >>"$f"
	done
}

@test "exact IPv4 with variables, any quote character, empty values" {
	rules '1.2.3.4:allow,X="a b",Y=/c"d/,Z=""' '1.2.3.5:deny'
	text 1.2.3.4
	expect 'match step=ip key=1.2.3.4 allow X=a b Y=c"d Z='
	text 1.2.3.5
	expect 'match step=ip key=1.2.3.5 deny'
	text 1.2.3.6
	expect 'nomatch'
}

@test "deny with variables is a deny; allow with none is an allow" {
	rules '1.2.3.4:deny,X="x"' '1.2.3.5:allow'
	text 1.2.3.4
	expect 'match step=ip key=1.2.3.4 deny'
	text 1.2.3.5
	expect 'match step=ip key=1.2.3.5 allow'
}

@test "IPv6 exact addresses match by value, not by spelling" {
	rules '2001:db8:0:0:0:0:0:1:allow,A="1"' '2001:DB8::2:deny'
	text 2001:db8::1
	expect 'match step=ip key=2001:db8:0:0:0:0:0:1 allow A=1'
	text 2001:db8:0::0:1
	expect 'match step=ip key=2001:db8:0:0:0:0:0:1 allow A=1'
	text 2001:db8::2
	expect 'match step=ip key=2001:DB8::2 deny'
	text 2001:db8::3
	expect 'nomatch'
}

@test "IPv4-mapped IPv6 folds to IPv4, in rules and in clients" {
	rules '::ffff:1.2.3.4:deny' '10.0.0.1:allow,V="4"' \
		'::ffff:192.168.0.0/112:allow,M="1"'
	text 1.2.3.4
	expect 'match step=ip key=::ffff:1.2.3.4 deny'
	text ::ffff:10.0.0.1
	expect 'match step=ip key=10.0.0.1 allow V=4'
	text 192.168.7.7
	expect 'match step=prefix key=::ffff:192.168.0.0/112 allow M=1'
}

@test "dotted prefixes count as /8, /16, /24 and the longest wins" {
	rules '10.:allow,P="8"' '10.1.:allow,P="16"' '10.1.2.:allow,P="24"'
	text 10.1.2.3
	expect 'match step=prefix key=10.1.2. allow P=24'
	text 10.1.3.3
	expect 'match step=prefix key=10.1. allow P=16'
	text 10.2.3.3
	expect 'match step=prefix key=10. allow P=8'
	text 100.1.2.3
	expect 'nomatch'
}

@test "IPv4 CIDR and dotted prefixes interleave by length" {
	rules '10.0.0.0/8:allow,L="8"' '10.0.0.0/12:deny' '10.1.:allow,L="16"' \
		'10.1.2.128/25:allow,L="25"' '10.1.2.3/32:allow,L="32"' \
		'0.0.0.0/0:allow,L="0"'
	text 10.1.2.3
	expect 'match step=prefix key=10.1.2.3/32 allow L=32'
	text 10.1.2.200
	expect 'match step=prefix key=10.1.2.128/25 allow L=25'
	text 10.1.2.100
	expect 'match step=prefix key=10.1. allow L=16'
	text 10.15.0.1
	expect 'match step=prefix key=10.0.0.0/12 deny'
	text 10.16.0.1
	expect 'match step=prefix key=10.0.0.0/8 allow L=8'
	text 11.0.0.1
	expect 'match step=prefix key=0.0.0.0/0 allow L=0'
	text ::1
	expect 'nomatch'
}

@test "IPv6 CIDR and ':' prefixes: the longest wins" {
	rules '2001:db8::/32:deny' '2001:db8:1::/48:allow,L="48"' \
		'2001:db8:1:2::/64:allow,L="64"' '2001:db8:1:2:3:4:5:6/128:deny' \
		'2001:db8:ff::allow,L="48t"' '::/0:allow,L="0"'
	text 2001:db8:1:2::9
	expect 'match step=prefix key=2001:db8:1:2::/64 allow L=64'
	text 2001:db8:1:2:3:4:5:6
	expect 'match step=prefix key=2001:db8:1:2:3:4:5:6/128 deny'
	text 2001:db8:1:3::9
	expect 'match step=prefix key=2001:db8:1::/48 allow L=48'
	text 2001:db8:ff::1
	expect 'match step=prefix key=2001:db8:ff: allow L=48t'
	text 2001:db8:2::1
	expect 'match step=prefix key=2001:db8::/32 deny'
	text 2001:db9::1
	expect 'match step=prefix key=::/0 allow L=0'
	text 1.2.3.4
	expect 'nomatch'
}

@test "a ':' prefix counts 16 bits a group" {
	# The address ends at the colon before the instruction, so the
	# prefix 2001:db8: is written 2001:db8::allow.
	rules '2001::allow,L="16"' '2001:db8::allow,L="32"' \
		'2001:db8:0::allow,L="48"'
	text 2001:db8::1
	expect 'match step=prefix key=2001:db8:0: allow L=48'
	text 2001:db8:1::1
	expect 'match step=prefix key=2001:db8: allow L=32'
	text 2001:1::1
	expect 'match step=prefix key=2001: allow L=16'
}

@test "last-octet ranges are exact addresses, inclusive at both ends" {
	rules '1.2.3.37-53:deny' ':allow'
	text 1.2.3.36
	expect 'match step=default key= allow'
	text 1.2.3.37
	expect 'match step=ip key=1.2.3.37-53 deny'
	text 1.2.3.53
	expect 'match step=ip key=1.2.3.37-53 deny'
	text 1.2.3.54
	expect 'match step=default key= allow'
}

@test "octet ranges in prefixes and inner octets" {
	rules '10.2-3.:allow,X="n"' '1.5-6.7.8:deny' '172.16-31.0.:deny'
	text 10.2.9.9
	expect 'match step=prefix key=10.2-3. allow X=n'
	text 10.3.9.9
	expect 'match step=prefix key=10.2-3. allow X=n'
	text 10.4.9.9
	expect 'nomatch'
	text 1.6.7.8
	expect 'match step=ip key=1.5-6.7.8 deny'
	text 172.31.0.5
	expect 'match step=prefix key=172.16-31.0. deny'
	text 172.31.1.5
	expect 'nomatch'
}

@test "host, suffix (longest first), any host, default; host rules need a host" {
	rules '=mail.example.com:allow,H="host"' '=.example.com:allow,H="dom"' \
		'=.b.example.com:allow,H="sub"' '=:allow,H="any"' ':deny'
	text 9.9.9.9 mail.example.com
	expect 'match step=host key==mail.example.com allow H=host'
	text 9.9.9.9 a.b.example.com
	expect 'match step=suffix key==.b.example.com allow H=sub'
	text 9.9.9.9 a.c.example.com
	expect 'match step=suffix key==.example.com allow H=dom'
	text 9.9.9.9 example.com
	expect 'match step=anyhost key== allow H=any'
	text 9.9.9.9 a.other.org
	expect 'match step=anyhost key== allow H=any'
	text 9.9.9.9
	expect 'match step=default key= deny'
}

@test "host names match without regard to case in text rules" {
	rules '=Mail.Example.COM:allow,H="host"' '=.EXAMPLE.org:allow,H="dom"'
	text 9.9.9.9 mail.example.com
	expect 'match step=host key==Mail.Example.COM allow H=host'
	text 9.9.9.9 MAIL.EXAMPLE.COM
	expect 'match step=host key==Mail.Example.COM allow H=host'
	text 9.9.9.9 www.Example.Org
	expect 'match step=suffix key==.EXAMPLE.org allow H=dom'
}

@test "info@ip and info@=host; info rules need the ident answer" {
	rules 'joe@1.2.3.4:allow,I="ip"' 'joe@=h.example.com:allow,I="host"' \
		'ann@2001:db8::1:deny' 'a@b@1.2.3.4:allow,I="at"' ':allow,I="def"'
	text 1.2.3.4 - joe
	expect 'match step=info-ip key=joe@1.2.3.4 allow I=ip'
	text 1.2.3.5 H.Example.com joe
	expect 'match step=info-host key=joe@=h.example.com allow I=host'
	text 2001:db8:0::1 - ann
	expect 'match step=info-ip key=ann@2001:db8::1 deny'
	text 1.2.3.4 - a@b
	expect 'match step=info-ip key=a@b@1.2.3.4 allow I=at'
	text 1.2.3.4
	expect 'match step=default key= allow I=def'
	text 1.2.3.4 h.example.com Joe
	expect 'match step=default key= allow I=def'
}

@test "lookup order: each step wins over every later one" {
	local all=(
		'joe@10.1.2.3:allow,S="1"'
		'joe@=a.b.example.com:allow,S="2"'
		'10.1.2.3:allow,S="3"'
		'=a.b.example.com:allow,S="4"'
		'10.1.2.0/24:allow,S="5"'
		'=.example.com:allow,S="6"'
		'=:allow,S="7"'
		':allow,S="8"'
	)
	local steps=(info-ip info-host ip host prefix suffix anyhost default)
	local keys=('joe@10.1.2.3' 'joe@=a.b.example.com' '10.1.2.3'
		'=a.b.example.com' '10.1.2.0/24' '=.example.com' '=' '')
	local i j
	# Written worst first, so file order cannot be what decides.
	for i in 0 1 2 3 4 5 6 7; do
		: >"$R"
		for j in 7 6 5 4 3 2 1 0; do
			[ "$j" -ge "$i" ] && printf '%s\n' "${all[$j]}" >>"$R"
		done
		text 10.1.2.3 a.b.example.com joe
		expect "match step=${steps[$i]} key=${keys[$i]} allow S=$((i + 1))"
	done
}

@test "the first line for a key wins, in text and in cdb" {
	rules '1.2.3.4:allow,N="1"' '1.2.3.4:deny' '1.2.3.3-5:allow,N="3"' \
		'10.:allow,N="1"' '10.0.0.0/8:deny' '=h:allow,N="1"' '=H:deny' \
		':allow,N="1"' ':deny'
	text 1.2.3.4
	expect 'match step=ip key=1.2.3.4 allow N=1'
	text 1.2.3.5
	expect 'match step=ip key=1.2.3.3-5 allow N=3'
	text 10.9.9.9
	expect 'match step=prefix key=10. allow N=1'
	text 9.9.9.9 h
	expect 'match step=host key==h allow N=1'
	text 9.9.9.9
	expect 'match step=default key= allow N=1'
	grep -v / "$R" >"$R.4" && mv "$R.4" "$R"
	compile
	cdb 1.2.3.4
	expect 'match step=ip key=1.2.3.4 allow N=1'
	cdb 1.2.3.5
	expect 'match step=ip key=1.2.3.5 allow N=3'
	cdb 9.9.9.9
	expect 'match step=default key= allow N=1'
}

@test "comments, blank lines, trailing whitespace and CRLF" {
	printf '# a comment\n\n   \n\t# indented comment\n1.2.3.4:allow,X="y" \t\r\n:deny\n' >"$R"
	text 1.2.3.4
	expect 'match step=ip key=1.2.3.4 allow X=y'
	text 1.2.3.5
	expect 'match step=default key= deny'
}

@test "no default rule: no match; an empty file: no match" {
	rules '1.2.3.4:deny'
	text 5.6.7.8 some.host joe
	expect 'nomatch'
	: >"$R"
	text 1.2.3.4
	expect 'nomatch'
}

@test "every malformed line is an error naming FILE:LINE" {
	local cases=(
		'1.2.3.4|no colon (ADDRESS:allow or ADDRESS:deny)'
		'1.2.3.4:permit|instruction is neither allow nor deny'
		'1.2.3.4:allowx|instruction is neither allow nor deny'
		'1.2.3.4: allow|instruction is neither allow nor deny'
		'1.2.3.4:allow,X="a|unclosed quote'
		'1.2.3.4:allow,X=|variable without a quoted value'
		'1.2.3.4:allow,X|variable without ="value"'
		'1.2.3.4:allow,="a"|empty variable name'
		'1.2.3.4:allow,X-Y="a"|bad variable name'
		'1.2.3.4:allow,X Y="a"|bad variable name'
		'1.2.3.4:allow,X="a"b|garbage after the value'
		'1.2.3.4:allow,X="a",|empty variable name'
		'1.2.3.256:deny|octet over 255'
		'1.2.3.1000:deny|octet over 255'
		'01.2.3.4:deny|octet with a leading zero'
		'1..3.4:deny|empty octet'
		'1.2.3:deny|incomplete address'
		'1.2.3.4.:deny|too many octets'
		'1.2.3.4.5:deny|too many octets'
		'1.2.3.53-37:deny|range runs backwards'
		'1.2.3.37-256:deny|octet over 255'
		'1.2-3.4-5.6:deny|more than one range'
		'1.2.3.-5:deny|bad range'
		'10.0.0.1/8:deny|host bits set'
		'2001:db8::1/32:deny|host bits set'
		'10.0.0.0/33:deny|prefix length out of range'
		'10.0.0.0/:deny|prefix length out of range'
		'10.0.0.0/08:deny|prefix length out of range'
		'2001:db8::/129:deny|prefix length out of range'
		'10.0./8:deny|CIDR needs a whole address'
		'2001:db8::g:deny|not an IPv6 address'
		'2001:db8:::1:deny|not an IPv6 address'
		'12345::allow|not an IPv6 address or prefix'
		'1:2:3:4:5:6:7:8::allow|IPv6 prefix with too many groups'
		'localhost:allow|not an address (host names start with'
		'joe@10.:allow|info@ needs an exact address or =host'
		'joe@:allow|info@ needs an exact address or =host'
		'joe@=:allow|empty host name'
		'=foo bar:allow|bad character in host name'
		' 1.2.3.4:allow|whitespace before the address'
	)
	local c line msg
	for c in "${cases[@]}"; do
		line=${c%%|*} msg=${c#*|}
		printf '# first\n5.6.7.8:allow\n%s\n9.9.9.9:deny\n' "$line" >"$R"
		text 1.2.3.4
		if [ "$status" -ne 100 ] ||
			[[ $output != "rulescheck: $R:3: $msg"* ]]; then
			echo "line: $line" >&2
			echo "expected: $R:3: $msg" >&2
			echo "got ($status): $output" >&2
			return 1
		fi
	done
}

@test "a NUL byte in a line is an error" {
	printf '1.2.3.4:allow\n5.6.7.8:allow,X="a\000b"\n' >"$R"
	text 1.2.3.4
	[ "$status" -eq 100 ]
	[[ $output == *"$R:2: NUL byte in the line"* ]]
}

@test "lines over 64 KiB are refused; a 60 KiB value is fine" {
	local big
	big=$(head -c 61440 /dev/zero | tr '\0' v)
	rules "1.2.3.4:allow,BIG=\"$big\""
	text 1.2.3.4
	[ "$status" -eq 0 ]
	[ "${#output}" -eq $((61440 + 36)) ]
	[[ $output == "match step=ip key=1.2.3.4 allow BIG=vvv"* ]]
	big=$(head -c 65536 /dev/zero | tr '\0' v)
	rules '# ok' "1.2.3.4:allow,BIG=\"$big\""
	text 1.2.3.4
	[ "$status" -eq 100 ]
	[[ $output == *"$R:2: line longer than 65536 bytes"* ]]
}

@test "a missing text file is an I/O error naming the file" {
	run "$RC" --text "$BATS_TEST_TMPDIR/nonesuch" 1.2.3.4
	[ "$status" -eq 100 ]
	[[ $output == *"$BATS_TEST_TMPDIR/nonesuch: No such file or directory"* ]]
}

@test "a 100,000-line file parses and every kind of its rules is found" {
	awk 'BEGIN {
		for (i = 0; i < 100000; i++) {
			a = int(i / 65536) + 1; b = int(i / 256) % 256; c = i % 256
			k = i % 5
			if (k == 0) printf "%d.%d.%d.1:allow,N=\"%d\"\n", a, b, c, i
			else if (k == 1) printf "%d.%d.%d.0/24:deny\n", a + 100, b, c
			else if (k == 2) printf "2001:%x:%x::/48:allow,N=\"%d\"\n",
				int(i / 65536) + 1, i % 65536, i
			else if (k == 3) printf "=h%d.example.com:allow,N=\"%d\"\n", i, i
			else printf "=.d%d.example.org:deny\n", i
		}
		print ":allow,N=\"default\""
	}' >"$R"
	[ "$(wc -l <"$R")" -eq 100001 ]
	# The last line of each kind: i = 99995 to 99999.
	text 2.134.155.1
	expect 'match step=ip key=2.134.155.1 allow N=99995'
	text 102.134.156.77
	expect 'match step=prefix key=102.134.156.0/24 deny'
	text 2001:2:869d::5
	expect 'match step=prefix key=2001:2:869d::/48 allow N=99997'
	text 9.9.9.9 h99998.example.com
	expect 'match step=host key==h99998.example.com allow N=99998'
	text 9.9.9.9 x.d99999.example.org
	expect 'match step=suffix key==.d99999.example.org deny'
	text 9.9.9.9 h100000.example.com
	expect 'match step=default key= allow N=default'
}

@test "cdb: tcpserver's lookup order over text keys" {
	rules 'joe@10.1.2.3:allow,S="1"' 'joe@=a.b.example.com:allow,S="2"' \
		'10.1.2.3:allow,S="3"' '=a.b.example.com:allow,S="4"' \
		'10.1.2.:allow,S="5"' '10.1.:allow,S="5b"' \
		'=.example.com:allow,S="6"' '=.b.example.com:allow,S="6b"' \
		'=:allow,S="7"' ':deny'
	compile
	cdb 10.1.2.3 a.b.example.com joe
	expect 'match step=info-ip key=joe@10.1.2.3 allow S=1'
	cdb 10.1.2.4 a.b.example.com joe
	expect 'match step=info-host key=joe@=a.b.example.com allow S=2'
	cdb 10.1.2.3 a.b.example.com ann
	expect 'match step=ip key=10.1.2.3 allow S=3'
	cdb 10.1.2.4 a.b.example.com
	expect 'match step=host key==a.b.example.com allow S=4'
	cdb 10.1.2.4 c.b.example.com
	expect 'match step=prefix key=10.1.2. allow S=5'
	cdb 10.1.3.4 c.b.example.com
	expect 'match step=prefix key=10.1. allow S=5b'
	cdb 10.2.3.4 c.b.example.com
	expect 'match step=suffix key==.b.example.com allow S=6b'
	cdb 10.2.3.4 c.example.com
	expect 'match step=suffix key==.example.com allow S=6'
	cdb 10.2.3.4 c.example.org
	expect 'match step=anyhost key== allow S=7'
	cdb 10.2.3.4
	expect 'match step=default key= deny'
}

@test "cdb: ranges are expanded, IPv6 prefixes end in ':', hosts fall back to lowercase" {
	rules '1.2.3.37-39:deny' '2001:db8::1:allow,E="1"' \
		'2001:db8::allow,P="32"' '=mail.example.com:allow,H="1"' ':allow'
	compile
	cdb 1.2.3.38
	expect 'match step=ip key=1.2.3.38 deny'
	cdb 1.2.3.40
	expect 'match step=default key= allow'
	cdb 2001:db8:0::1
	expect 'match step=ip key=2001:db8::1 allow E=1'
	cdb 2001:db8:5::1
	expect 'match step=prefix key=2001:db8: allow P=32'
	cdb 9.9.9.9 Mail.Example.COM
	expect 'match step=host key==mail.example.com allow H=1'
}

@test "cdb and text rules decide alike on tcprules' own forms" {
	rules '# mixed' '1.2.3.4:allow,A="1"' '1.2.3.37-53:deny' '10.2-3.:allow,X="n"' \
		'192.168.:allow' '192.168.1.:deny' '=.example.com:allow,X="dom"' \
		'=mail.example.com:deny' '=:allow,X="any"' 'joe@1.2.3.4:deny' \
		'joe@=h.example.com:allow,J="1"' ':allow,X="default"'
	compile
	local client t c
	for client in '1.2.3.4' '1.2.3.4 - joe' '1.2.3.40' '1.2.3.54' '10.3.9.9' \
		'10.4.9.9' '192.168.1.1' '192.168.2.1' '9.9.9.9 a.example.com' \
		'9.9.9.9 mail.example.com' '9.9.9.9 other.org' \
		'9.9.9.9 h.example.com joe' '9.9.9.9 - joe'; do
		run "$RC" --text "$R" $client
		t=$output
		run "$RC" --cdb "$C" $client
		c=$output
		# The key differs for ranges (as written / as expanded).
		if [ "${t#* key=* }" != "${c#* key=* }" ] ||
			[ "${t%% key=*}" != "${c%% key=*}" ]; then
			echo "$client: text '$t' cdb '$c'" >&2
			return 1
		fi
	done
}

@test "cdbmake-rules refuses CIDR and malformed lines, and keeps the old cdb" {
	rules '1.2.3.4:allow'
	compile
	rules '1.2.3.4:deny' '10.0.0.0/8:deny'
	run "$MK" "$C" "$C.tmp" <"$R"
	[ "$status" -eq 100 ]
	[[ $output == *"stdin:2: CIDR has no tcprules form: '10.0.0.0/8'"* ]]
	rules '1.2.3.4:deny' 'nocolon'
	run "$MK" "$C" "$C.tmp" <"$R"
	[ "$status" -eq 100 ]
	[[ $output == *"stdin:2: no colon"* ]]
	cdb 1.2.3.4
	expect 'match step=ip key=1.2.3.4 allow'
}

# Debian's tcprules is vanilla 0.88: IPv4 and host rules only.
TCPRULES_INPUT=(
	'# both writers'
	'1.2.3.4:allow,A="1",B=/x y/'
	'1.2.3.4:deny'
	'1.2.3.37-53:deny'
	'10.2-3.:allow,X="n"'
	'192.168.:allow'
	'192.168.1.:deny,W="ignored"'
	'=.example.com:allow,X="dom"'
	'=mail.example.com:deny'
	'=:allow,X="any"'
	'joe@1.2.3.4:deny'
	'joe@=h.example.com:allow,J="1"'
	':allow,X="default"'
)
CLIENTS=(
	'1.2.3.4' '1.2.3.4 - joe' '1.2.3.37' '1.2.3.40' '1.2.3.53' '1.2.3.54'
	'10.2.0.1' '10.3.9.9' '10.4.9.9' '192.168.1.1' '192.168.2.1'
	'9.9.9.9 a.example.com' '9.9.9.9 mail.example.com' '9.9.9.9 other.org'
	'9.9.9.9 h.example.com joe' '9.9.9.9 - joe' '8.8.8.8'
)

@test "tcprules and cdbmake-rules give the same decisions" {
	command -v tcprules >/dev/null ||
		skip "tcprules (Debian package ucspi-tcp) is not installed"
	local client ours theirs
	rules "${TCPRULES_INPUT[@]}"
	compile
	tcprules "$C.t" "$C.t.tmp" <"$R"
	for client in "${CLIENTS[@]}"; do
		run "$RC" --cdb "$C" $client
		ours=$output
		run "$RC" --cdb "$C.t" $client
		theirs=$output
		if [ "$ours" != "$theirs" ] || [ "$status" -ne 0 ]; then
			echo "$client: ours '$ours' tcprules '$theirs'" >&2
			return 1
		fi
	done
	# Byte for byte, in fact: same keys, records and tables.
	cmp "$C" "$C.t"
}

@test "tcpserver's own reader (tcprulescheck) reads cdbmake-rules' cdb" {
	command -v tcprules >/dev/null && command -v tcprulescheck >/dev/null ||
		skip "tcprules/tcprulescheck (Debian package ucspi-tcp) not installed"
	local client ip host info ours theirs
	rules "${TCPRULES_INPUT[@]}"
	compile
	tcprules "$C.t" "$C.t.tmp" <"$R"
	for client in "${CLIENTS[@]}"; do
		read -r ip host info <<<"$client"
		[ "$host" = - ] && host=
		ours=$(env -u TCPREMOTEHOST -u TCPREMOTEINFO TCPREMOTEIP="$ip" \
			${host:+TCPREMOTEHOST=$host} ${info:+TCPREMOTEINFO=$info} \
			tcprulescheck "$C")
		theirs=$(env -u TCPREMOTEHOST -u TCPREMOTEINFO TCPREMOTEIP="$ip" \
			${host:+TCPREMOTEHOST=$host} ${info:+TCPREMOTEINFO=$info} \
			tcprulescheck "$C.t")
		[ -n "$ours" ]
		if [ "$ours" != "$theirs" ]; then
			echo "$client: ours '$ours' tcprules '$theirs'" >&2
			return 1
		fi
	done
}

@test "cdb: a missing file is ENOENT, exit 111" {
	run "$RC" --cdb "$BATS_TEST_TMPDIR/nonesuch.cdb" 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"nonesuch.cdb: No such file or directory"* ]]
}

@test "cdb: truncated files never crash and report an error or no match" {
	rules "${TCPRULES_INPUT[@]}"
	compile
	local size n client
	size=$(wc -c <"$C")
	for n in 0 1 100 2047 2048 2049 2100 $((size / 2)) $((size - 100)) \
		$((size - 9)) $((size - 1)); do
		head -c "$n" "$C" >"$C.cut"
		for client in '1.2.3.4' '9.9.9.9 a.example.com joe' '8.8.8.8'; do
			run "$RC" --cdb "$C.cut" $client
			# 0 (whatever it found) or 111 with a reason; a crash is
			# 128 and up.
			if [ "$status" -ne 0 ] && [ "$status" -ne 111 ]; then
				echo "cut at $n, $client: $status $output" >&2
				return 1
			fi
			[ "$status" -eq 0 ] || [[ $output == *"$C.cut: "* ]]
		done
	done
	head -c 2047 "$C" >"$C.cut"
	run "$RC" --cdb "$C.cut" 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"Protocol error"* ]]
	# Half the file: the tables (written last) are gone.
	head -c $((size / 2)) "$C" >"$C.cut"
	run "$RC" --cdb "$C.cut" 8.8.8.8
	[ "$status" -eq 111 ]
	[[ $output == *"Protocol error"* ]]
}

@test "cdb: tables and records pointing outside the file are errors" {
	# Tables beyond the end of the file.
	: >"$C"
	for t in $(seq 0 255); do le32 4000000000; le32 1000; done >>"$C"
	run "$RC" --cdb "$C" 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"$C: Protocol error"* ]]

	# The default key "" hashes to 5381: table 5, slot 21 % len.  A slot
	# with that hash pointing past the end of the file.
	header "$C" 5 2048 1
	{ le32 5381; le32 2147483647; } >>"$C"
	run "$RC" --cdb "$C" 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"Protocol error"* ]]

	# A record in the file whose lengths run past its end.
	header "$C" 5 2048 1
	{ le32 5381; le32 2056; le32 0; le32 4294967040; } >>"$C"
	run "$RC" --cdb "$C" 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"Protocol error"* ]]

	# A record longer than any buffer a caller passes: EMSGSIZE.
	header "$C" 5 2048 1
	{ le32 5381; le32 2056; le32 0; le32 100000; } >>"$C"
	head -c 100000 /dev/zero >>"$C"
	run "$RC" --cdb "$C" 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"Message too long"* ]]

	# And the same record, well formed and short, is found.
	header "$C" 5 2048 1
	{ le32 5381; le32 2056; le32 0; le32 2; printf 'D\0'; } >>"$C"
	run "$RC" --cdb "$C" 1.2.3.4
	expect 'match step=default key= deny'
}

@test "cdb: a table with no empty slot ends the probe" {
	local t
	: >"$C"
	for t in $(seq 0 255); do le32 2048; le32 4; done >>"$C"
	for t in 1 2 3 4; do le32 7; le32 1; done >>"$C"
	run "$RC" --cdb "$C" 1.2.3.4 some.host.example joe
	expect 'nomatch'
}

@test "cdb: garbage and a directory are errors, not crashes" {
	head -c 5000 /dev/zero | tr '\0' '\377' >"$C"
	run "$RC" --cdb "$C" 1.2.3.4 a.example.com joe
	[ "$status" -eq 111 ]
	run "$RC" --cdb "$BATS_TEST_TMPDIR" 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"Invalid argument"* ]]
}

@test "cdb: a probe is bounded: 8192 slots, 32 records of the key's hash" {
	# cdbmake-rules --crafted: one slot area of (SIZE - 2048 - 8 - KEYLEN)
	# / 8 slots, none empty, for all 256 tables.  A full table within the
	# bounds is searched to its end; one slot more is a damaged file.
	"$MK" --crafted $((2057 + 8 * 8192)) "$C"
	cdb 1.2.3.4
	expect 'nomatch'
	"$MK" --crafted $((2057 + 8 * 8193)) "$C"
	cdb 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"$C: Protocol error"* ]]
	# Every slot with the hash of 1.2.3.4's key, each record another key.
	"$MK" --crafted $((2063 + 8 * 32)) "$C" 1.2.3.4
	cdb 1.2.3.4
	expect 'nomatch'
	"$MK" --crafted $((2063 + 8 * 33)) "$C" 1.2.3.4
	cdb 1.2.3.4
	[ "$status" -eq 111 ]
	[[ $output == *"$C: Protocol error"* ]]
}

@test "cdb: every key of big tcprules-shaped files is found within the bounds" {
	# Sequential keys cluster under djb's hash: this file, with tables
	# made tcprules' way (twice as many slots as records), holds runs of
	# up to 110 full slots, read over several blocks.
	awk 'BEGIN {
		for (i = 0; i < 65536; i++)
			printf "10.1.%d.%d:allow,N=\"%d\"\n", int(i / 256), i % 256, i
		for (i = 0; i < 100000; i++)
			printf "2001:db8::%x:%x:deny\n", int(i / 65536) + 1, i % 65536
	}' >"$R"
	compile
	awk 'BEGIN {
		for (i = 0; i < 65536; i++) printf "10.1.%d.%d\n", int(i / 256), i % 256
		for (i = 0; i < 100000; i++)
			printf "2001:db8::%x:%x\n", int(i / 65536) + 1, i % 65536
		for (i = 0; i < 1000; i++) printf "10.2.%d.%d\n", int(i / 256), i % 256
	}' | "$RC" --cdb "$C" - >"$BATS_TEST_TMPDIR/out"
	[ "$(grep -c '^match step=ip key=10\.1\..* allow N=' "$BATS_TEST_TMPDIR/out")" -eq 65536 ]
	[ "$(grep -c '^match step=ip key=2001:db8::.* deny$' "$BATS_TEST_TMPDIR/out")" -eq 100000 ]
	[ "$(grep -c '^nomatch$' "$BATS_TEST_TMPDIR/out")" -eq 1000 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 166536 ]
}
