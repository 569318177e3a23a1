#!/usr/bin/env bats
# Every example in README.md runs, as its last section ("Code blocks in this
# file") says, so the README cannot rot.  A perl extractor splits it into
# code blocks by their info strings; each section with runnable blocks gets
# its own test, run in a copy of the source directory (never the
# repository), with /tmp/ moved to a scratch directory.  Servers run as
# "$TCPWARDEN -1 ... 0 ..." and report their port, which replaces 8080 in
# the clients.

load lib

README=$TOP/README.md

# The sections of README.md holding sh, sh server, sh backend or sh client
# blocks, in
# order.  The first test fails when the README has another one, so a new
# example needs its name here and a test below.
SECTIONS=(
	"Build and run"
	"An echo service on every address"
	"A daytime service"
	"A small HTTP responder in shell"
	"A per-client limit with a message"
	"Rules with CIDR prefixes"
	"A rate limit per client"
	"Many hosts"
	"Install"
	"Documentation"
)

# Commands the examples use, and the Debian package to install for each.
declare -gA PACKAGE=([nc]=netcat-openbsd [curl]=curl [man]=man-db)

setup() {
	export TCPWARDEN
	BACKEND_PIDS=()
	BACKEND_LOGS=()
	BACKEND_MAP=
	HA_PID=
	B=$BATS_TEST_TMPDIR/blocks
	mkdir "$B"
	extract "$B"
}

teardown() {
	stop_backends
	common_teardown
}

flunk() {
	printf '%s\n' "$@" >&2
	return 1
}

# extract DIR: README.md's code blocks into DIR/N (N from 1), and one line
# per block in DIR/index: N, info string, section (the last heading),
# README line of the block's text, separated by tabs.  An unknown or
# missing info string, an indented or unclosed fence is an error.
extract() {
	perl -e '
	use strict;
	use warnings;
	my ($readme, $dir) = @ARGV;
	my %known = map { $_ => 1 } ("sh", "sh server", "sh client",
	    "sh backend", "haproxy", "sh norun", "text output", "text log",
	    "text", "ini");
	open(my $in, "<", $readme) or die "$readme: $!\n";
	open(my $idx, ">", "$dir/index") or die "$dir/index: $!\n";
	my ($section, $n, $kind, $body, $line) = ("", 0);
	while (<$in>) {
		if (defined $kind) {
			if (/^```\s*$/) {
				$n++;
				open(my $out, ">", "$dir/$n") or die "$dir/$n: $!\n";
				print $out $body;
				close($out) or die "$dir/$n: $!\n";
				print $idx "$n\t$kind\t$section\t$line\n";
				undef $kind;
			} else {
				$body .= $_;
			}
			next;
		}
		die "README.md:$.: indented code fence\n" if /^\s+```/;
		if (/^```\s*(.*?)\s*$/) {
			$kind = $1;
			die "README.md:$.: code block without an info string\n"
			    if $kind eq "";
			die "README.md:$.: unknown info string \"$kind\"\n"
			    unless $known{$kind};
			($body, $line) = ("", $. + 1);
		} elsif (/^#+\s+(.*?)\s*$/) {
			$section = $1;
		}
	}
	die "README.md: code block at line $line is not closed\n"
	    if defined $kind;
	close($idx) or die "$dir/index: $!\n";
	' "$README" "$1"
}

# rewrite [PORT]: the block on stdin, with /tmp/ moved to $EX_TMP, port
# 8080 changed to PORT when given, and the ports of the section's
# backends (8081 to 8089) to theirs.
rewrite() {
	EX_PORT=${1:-} EX_BACKENDS=${BACKEND_MAP:-} perl -pe '
	BEGIN { %b = split /[ =]/, $ENV{EX_BACKENDS}; }
	s{(?<![\w.~/-])/tmp/}{$ENV{EX_TMP}/}g;
	s{\b8080\b}{$ENV{EX_PORT}}g if $ENV{EX_PORT} ne "";
	s{\b(808[1-9])\b}{exists $b{$1} ? $b{$1} : $1}ge;
	'
}

# need_tools FILE: every command of PACKAGE that the block FILE names must
# be installed, and nc must be OpenBSD netcat (for -N and -s).
need_tools() {
	local t
	for t in "${!PACKAGE[@]}"; do
		grep -qw -- "$t" "$1" || continue
		command -v "$t" >/dev/null 2>&1 ||
		    flunk "readme.bats: $t is missing: install ${PACKAGE[$t]}" ||
		    return 1
		if [ "$t" = nc ] && ! nc -h 2>&1 | grep -q OpenBSD; then
			flunk "readme.bats: nc is not OpenBSD netcat: install netcat-openbsd"
			return 1
		fi
	done
}

# make_source: a copy of the source directory, without build/, .git and
# the program, which is a link to $TCPWARDEN; and a scratch /tmp/.
make_source() {
	local f
	SRC=$BATS_TEST_TMPDIR/src
	EX_TMP=$BATS_TEST_TMPDIR/tmp
	mkdir "$SRC" "$EX_TMP"
	[[ $EX_TMP =~ ^[A-Za-z0-9_./-]+$ ]] ||
	    flunk "scratch directory with odd characters: $EX_TMP" || return 1
	export EX_TMP
	for f in "$TOP"/*; do
		case ${f##*/} in build | tcpwarden) continue ;; esac
		cp -R "$f" "$SRC/"
	done
	ln -s "$TCPWARDEN" "$SRC/tcpwarden"
}

# run_block FILE TIMEOUT: run the shell code in FILE with sh -e in the
# source copy, as a user would (no make of ours around it), output in
# $OUT, errors in $ERR.
run_block() {
	OUT=$BATS_TEST_TMPDIR/out ERR=$BATS_TEST_TMPDIR/err
	(cd "$SRC" && exec env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    MANPAGER=cat PAGER=cat timeout "$2" sh -e "$1") \
	    </dev/null >"$OUT" 2>"$ERR" 3>&-
}

# where N: "README.md:LINE" of block N.
where() { echo "README.md:${LINE[$1]}"; }

# start_example N [PORT]: block N, a one-line server command naming PORT
# (8080 by default), started as "$TCPWARDEN" -1 on port 0 in the source
# copy; sets SERVER_PID, PORT and LOG as start_server does.
start_example() {
	local n=$1 cmd portfile=$BATS_TEST_TMPDIR/port
	export EX_NAMED=${2:-8080}
	[ "$(wc -l <"$B/$n")" -eq 1 ] ||
	    flunk "$(where "$n"): a server block is one line" || return 1
	cmd=$(perl -ne '
		chomp;
		s/^make && //;
		s{^\./tcpwarden }{"\$TCPWARDEN" -1 } or
		    die "does not start with ./tcpwarden\n";
		s{(?<![\w.~/-])/tmp/}{$ENV{EX_TMP}/}g;
		(s/\b$ENV{EX_NAMED}\b/0/g) == 1 or
		    die "names port $ENV{EX_NAMED} not once\n";
		print;
	    ' "$B/$n" 2>&1) || flunk "$(where "$n"): server block $cmd" ||
	    return 1
	LOG=$BATS_TEST_TMPDIR/log.$n
	: >"$portfile"
	(cd "$SRC" && exec sh -c "exec $cmd") \
	    </dev/null >"$portfile" 2>"$LOG" 3>&- &
	SERVER_PID=$!
	for _ in $(seq 200); do
		PORT=$(head -n 1 "$portfile")
		[ -n "$PORT" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	flunk "$(where "$n"): the server did not start: $cmd" "$(cat "$LOG")"
}

# start_backend N: block N, a server that runs beside the others of its
# section, on one of the ports 8081 to 8089; BACKEND_MAP gets
# "NAMED=REAL", BACKEND_PIDS and BACKEND_LOGS its pid and log.
start_backend() {
	local named
	named=$(grep -o '\b808[1-9]\b' "$B/$1" | head -n 1)
	[ -n "$named" ] ||
	    flunk "$(where "$1"): a backend names none of 8081 to 8089" ||
	    return 1
	start_example "$1" "$named" || return 1
	BACKEND_MAP="${BACKEND_MAP:+$BACKEND_MAP }$named=$PORT"
	BACKEND_PIDS+=("$SERVER_PID")
	BACKEND_LOGS+=("$LOG")
	SERVER_PID=
}

# start_haproxy N: the HAProxy configuration of block N, its ports
# rewritten, 8080 to a free port (PORT), run as a daemon (HA_PID).  A
# port found free may be taken before HAProxy binds it: then another, ten
# tries at most.
start_haproxy() {
	local n=$1 try conf=$BATS_TEST_TMPDIR/haproxy.$1.cfg
	local err=$BATS_TEST_TMPDIR/haproxy.err pid=$BATS_TEST_TMPDIR/haproxy.pid
	command -v haproxy >/dev/null 2>&1 ||
	    flunk "readme.bats: haproxy is missing: install haproxy" || return 1
	for try in $(seq 10); do
		PORT=$((20000 + RANDOM % 40000))
		rewrite "$PORT" <"$B/$n" >"$conf"
		rm -f "$pid"
		if haproxy -f "$conf" -D -p "$pid" </dev/null >"$err" 2>&1 3>&-
		then
			HA_PID=$(head -n 1 "$pid")
			return 0
		fi
		grep -qi bind "$err" || break
	done
	flunk "$(where "$n"): haproxy did not start:" "$(cat "$err")"
}

# stop_backends: HAProxy, then the backends, which must exit 0.
stop_backends() {
	local pid st=0
	if [ -n "${HA_PID:-}" ]; then
		kill "$HA_PID" 2>/dev/null
		wait_for eval '! kill -0 "$HA_PID" 2>/dev/null'
		HA_PID=
	fi
	for pid in ${BACKEND_PIDS[@]+"${BACKEND_PIDS[@]}"}; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || st=$?
	done
	BACKEND_PIDS=()
	BACKEND_MAP=
	[ "$st" -eq 0 ] || flunk "a backend exited $st"
}

# stop_example: stop the running server, which must exit 0.
stop_example() {
	[ -n "${SERVER_PID:-}" ] || return 0
	stop_server
	[ "$SERVER_STATUS" -eq 0 ] || flunk "the server exited $SERVER_STATUS:" \
	    "$(cat "$LOG")"
}

# log_lines FILE: every line of FILE is a line of $LOG, where a number of
# four digits or more stands for any number.
log_lines() {
	perl -e '
	my ($want, $log) = @ARGV;
	open(my $l, "<", $log) or exit 1;
	my %have = map { $_ => 1 } <$l>;
	open(my $w, "<", $want) or exit 1;
	while (my $line = <$w>) {
		my $re = quotemeta($line);
		$re =~ s/\d{4,}/\\d+/g;
		exit 1 unless grep { /^$re\z/ } keys %have;
	}
	' "$1" "$LOG"
}

# run_section NAME: run the blocks of section NAME in order, as README.md's
# last section says.
run_section() {
	local name=$1 n kind section line client="" script st
	local -a blocks=()
	LINE=()
	KIND=()
	while IFS=$'\t' read -r n kind section line; do
		[ "$section" = "$name" ] || continue
		blocks+=("$n")
		KIND[n]=$kind
		LINE[n]=$line
	done <"$B/index"
	[ ${#blocks[@]} -gt 0 ] || flunk "README.md has no section \"$name\"" ||
	    return 1
	make_source || return 1
	for n in "${blocks[@]}"; do
		case ${KIND[n]} in
		sh)
			client=
			stop_example || return 1
			need_tools "$B/$n" || return 1
			script=$BATS_TEST_TMPDIR/block.$n
			rewrite <"$B/$n" >"$script"
			run_block "$script" 300 || {
				st=$?
				flunk "$(where "$n"): exit $st:" \
				    "$(cat "$OUT" "$ERR")"
				return 1
			}
			;;
		"sh server")
			client=
			stop_example || return 1
			start_example "$n" || return 1
			;;
		"sh backend")
			client=
			start_backend "$n" || return 1
			;;
		haproxy)
			client=
			start_haproxy "$n" || return 1
			;;
		"sh client")
			[ -n "${SERVER_PID:-}" ] || [ -n "${HA_PID:-}" ] ||
			    flunk "$(where "$n"): a client without a server" ||
			    return 1
			need_tools "$B/$n" || return 1
			script=$BATS_TEST_TMPDIR/block.$n
			rewrite "$PORT" <"$B/$n" >"$script"
			run_block "$script" 60 || {
				st=$?
				flunk "$(where "$n"): exit $st:" \
				    "$(cat "$OUT" "$ERR")" "server log:" "$(cat "$LOG")"
				return 1
			}
			client=$n
			;;
		"text output")
			[ -n "$client" ] ||
			    flunk "$(where "$n"): output without a client" ||
			    return 1
			diff -u "$B/$n" "$OUT" >&2 ||
			    flunk "$(where "$n"): the output of the client at" \
			    "$(where "$client") differs (above)" ||
			    return 1
			client=
			;;
		"text log")
			[ -n "${SERVER_PID:-}" ] ||
			    [ ${#BACKEND_PIDS[@]} -gt 0 ] ||
			    flunk "$(where "$n"): log lines without a server" ||
			    return 1
			wait_for any_log_lines "$B/$n" ||
			    flunk "$(where "$n"): the server did not log:" \
			    "$(cat "$B/$n")" "its log:" "$(cat "$LOG")" || return 1
			;;
		*)
			client=
			;;
		esac
	done
	stop_example && stop_backends
}

# any_log_lines FILE: log_lines FILE for the server's log, or for one of
# the backends' logs.
any_log_lines() {
	local l
	if [ -n "${SERVER_PID:-}" ] && log_lines "$1"; then
		return 0
	fi
	for l in ${BACKEND_LOGS[@]+"${BACKEND_LOGS[@]}"}; do
		LOG=$l log_lines "$1" && return 0
	done
	return 1
}

@test "README: the sections with examples are those tested here" {
	local got want
	got=$(awk -F '\t' '$2 ~ /^sh( server| client| backend)?$/ && !seen[$3]++ { print $3 }' \
	    "$B/index")
	want=$(printf '%s\n' "${SECTIONS[@]}")
	if [ "$got" != "$want" ]; then
		diff -u <(echo "$want") <(echo "$got") >&2 || true
		flunk "the README's sections with examples (+) differ from SECTIONS (-)"
	fi
	# Seven servers among them, and every output follows a client.
	[ "$(awk -F '\t' '$2 == "sh server"' "$B/index" | wc -l)" -eq 7 ]
	awk -F '\t' '
	$2 == "text output" && prev != "sh client" {
		print "README.md:" $4 ": text output not after sh client"; bad = 1
	}
	{ prev = $2 }
	END { exit bad }' "$B/index" >&2
}

@test "README: Build and run" {
	run_section "Build and run"
}

@test "README: An echo service on every address" {
	run_section "An echo service on every address"
}

@test "README: A daytime service" {
	run_section "A daytime service"
	# Its client has no output block; it must have printed the date.
	[ -s "$OUT" ]
}

@test "README: A small HTTP responder in shell" {
	run_section "A small HTTP responder in shell"
}

@test "README: A per-client limit with a message" {
	run_section "A per-client limit with a message"
}

@test "README: Rules with CIDR prefixes" {
	run_section "Rules with CIDR prefixes"
}

@test "README: A rate limit per client" {
	run_section "A rate limit per client"
}

@test "README: Many hosts" {
	run_section "Many hosts"
}

@test "README: Install" {
	run_section "Install"
	[ -x "$EX_TMP/tcpwarden-root/usr/bin/tcpwarden" ]
	[ -f "$EX_TMP/tcpwarden-root/usr/share/man/man1/tcpwarden.1" ]
}

@test "README: Documentation" {
	run_section "Documentation"
	grep -q tcpwarden "$OUT"
}

@test "README: every sh norun block is valid sh, the run scripts among them" {
	local n kind section line scripts=0
	while IFS=$'\t' read -r n kind section line; do
		[ "$kind" = "sh norun" ] || continue
		sh -n "$B/$n" || flunk "README.md:$line: sh -n fails" || return 1
		if [ "$section" = "runit or daemontools, with multilog" ] &&
		    [ "$(head -n 1 "$B/$n")" = "#!/bin/sh" ]; then
			scripts=$((scripts + 1))
		fi
	done <"$B/index"
	# The service's run script and its log/run script.
	[ "$scripts" -eq 2 ]
}

# verify_units DIR FILE...: systemd-analyze verify passes the units, with
# no word of warning (unknown keys are only warnings).
verify_units() {
	local dir=$1 out
	shift
	out=$(cd "$dir" && systemd-analyze verify "$@" 2>&1) ||
	    flunk "systemd-analyze verify fails:" "$out" || return 1
	[ -z "$out" ] || flunk "systemd-analyze verify:" "$out"
}

@test "README: the systemd units pass systemd-analyze verify" {
	local n kind section line u=() lines=() dir
	command -v systemd-analyze >/dev/null 2>&1 ||
	    skip "systemd-analyze is not installed (systemd)"
	while IFS=$'\t' read -r n kind section line; do
		[ "$kind" = ini ] && [ "$section" = systemd ] || continue
		# verify wants ExecStart's program to exist.
		sed "s|^ExecStart=/usr/local/bin/tcpwarden |ExecStart=$TCPWARDEN |" \
		    "$B/$n" >"$BATS_TEST_TMPDIR/unit$n"
		u+=("$BATS_TEST_TMPDIR/unit$n")
		lines+=("README.md:$line")
	done <"$B/index"
	# The service alone; then the socket and the service it starts.
	[ "${#u[@]}" -eq 3 ] || flunk "3 units, not ${#u[@]}" || return 1
	grep -q "^ExecStart=$TCPWARDEN " "${u[0]}"
	grep -qx '\[Socket\]' "${u[1]}"
	grep -q "^ExecStart=$TCPWARDEN " "${u[2]}"
	dir=$BATS_TEST_TMPDIR/alone
	mkdir "$dir"
	cp "${u[0]}" "$dir/echo.service"
	verify_units "$dir" "$dir/echo.service" || flunk "at ${lines[0]}" || return 1
	dir=$BATS_TEST_TMPDIR/activated
	mkdir "$dir"
	cp "${u[1]}" "$dir/echo.socket"
	cp "${u[2]}" "$dir/echo.service"
	verify_units "$dir" "$dir/echo.socket" "$dir/echo.service" ||
	    flunk "at ${lines[1]} and ${lines[2]}"
}
