#!/usr/bin/env bats
# The documentation: the man page is clean mdoc, it and the program agree
# on the options, and make install puts a page there that renders.

bats_require_minimum_version 1.5.0

load lib

MAN=$TOP/man/tcpwarden.1

# The options the source declares, one a line: "-c" or "--max-connections",
# then " arg" if the option takes an argument.  From the getopt string and
# the longopts table of cmd/tcpwarden.c.
source_options() {
	local src=$TOP/cmd/tcpwarden.c letters i c
	letters=$(tr -d '\n\t' <"$src" | grep -o 'getopt_long([^;]*' |
	    grep -o '"+[^"]*"' | tr -d '"+')
	[ -n "$letters" ] || return 1
	for ((i = 0; i < ${#letters}; i++)); do
		c=${letters:i:1}
		[ "$c" = : ] && continue
		if [ "${letters:i+1:1}" = : ]; then
			echo "-$c arg"
		else
			echo "-$c"
		fi
	done
	sed -n 's/^[[:space:]]*{ *"\([a-z0-9-]*\)", *\([a-z_]*\)_argument,.*/\1 \2/p' \
	    "$src" | while read -r name kind; do
		if [ "$kind" = no ]; then
			echo "--$name"
		else
			echo "--$name arg"
		fi
	done
}

# The options of the man page's option lists (the .It Fl lines), in the
# same form: " arg" when the list shows an argument after the option.
man_options() {
	grep '^\.It Fl ' "$MAN" | awk '{
		for (i = 2; i <= NF; i++) {
			if ($i != "Fl")
				continue
			name = $(i + 1)
			arg = ""
			# Up to the next option of the line: an Ar is its argument.
			for (j = i + 2; j <= NF && $j != "Fl" && $j != ","; j++)
				if ($j == "Ar")
					arg = " arg"
			print "-" name arg
		}
	}'
}

# probe OPTION [arg]: run tcpwarden with only this option.  An option it
# accepts leaves it to complain of the missing host (or, for --help and
# --version, to exit 0).
probe() {
	local opt=$1 takes=${2:-}
	local args=("$opt")
	if [ -n "$takes" ]; then
		case $opt in
		# An argument that is not a number.
		--proxy-from) args=("$opt=127.0.0.1") ;;
		--*) args=("$opt=1") ;;
		*) args=("$opt" 1) ;;
		esac
	fi
	run env -u MAXCONNIP -u MAXCONNC -u DIEMSG UID=1 GID=1 \
	    "$TCPWARDEN" "${args[@]}" </dev/null
}

accepted() {
	[ "$status" -eq 0 ] ||
	    { [ "$status" -eq 100 ] && [[ $output == *"usage: missing host"* ]]; }
}

@test "the man page is clean under mandoc -T lint -W warning" {
	run mandoc -T lint -W warning "$MAN"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "every option the program accepts is in the man page's option list" {
	local opts man opt takes missing=
	opts=$(source_options)
	# The parse of the source must have found the options at all.
	[ "$(grep -c '^-[^-]' <<<"$opts")" -ge 20 ]
	[ "$(grep -c '^--' <<<"$opts")" -ge 20 ]
	grep -qx -- '-c arg' <<<"$opts"
	grep -qx -- '--max-connections arg' <<<"$opts"
	grep -qx -- '--version' <<<"$opts"
	man=$(man_options)
	while read -r opt takes; do
		probe "$opt" "$takes"
		if accepted; then
			# Accepted: listed, with an argument exactly when it
			# takes one.
			grep -qx -- "$opt${takes:+ arg}" <<<"$man" ||
			    missing="$missing $opt${takes:+ arg}"
		else
			echo "$opt: $output" >&2
			missing="$missing $opt(not accepted:$status)"
		fi
	done <<<"$opts"
	echo "not in the option list: $missing" >&2
	[ -z "$missing" ]
}

@test "every option in the man page's option list is accepted" {
	local man opt takes bad=
	man=$(man_options)
	[ "$(wc -l <<<"$man")" -ge 40 ]
	while read -r opt takes; do
		probe "$opt" "$takes"
		if ! accepted; then
			echo "$opt${takes:+ 1}: status $status: $output" >&2
			bad="$bad $opt"
		fi
	done <<<"$man"
	[ -z "$bad" ]
}

@test "an option missing from the program is caught by the probe" {
	# The check above would pass vacuously if every probe looked accepted.
	probe --no-such-option
	run ! accepted
	probe -c
	run ! accepted
	probe -D arg
	run ! accepted
}

@test "make install puts the program and a man page that renders" {
	local root=$BATS_TEST_TMPDIR/root
	run make -s -C "$TOP" install PREFIX=/usr DESTDIR="$root"
	[ "$status" -eq 0 ]
	[ -x "$root/usr/bin/tcpwarden" ]
	cmp "$TOP/tcpwarden" "$root/usr/bin/tcpwarden"
	[ "$(stat -c %a "$root/usr/bin/tcpwarden")" = 755 ]
	cmp "$MAN" "$root/usr/share/man/man1/tcpwarden.1"
	[ "$(stat -c %a "$root/usr/share/man/man1/tcpwarden.1")" = 644 ]

	run "$root/usr/bin/tcpwarden" --version
	[ "$status" -eq 0 ]
	[[ $output == "tcpwarden "* ]]

	run sh -c "mandoc -T utf8 -W warning '$root/usr/share/man/man1/tcpwarden.1' | sed 's/.\x08//g'"
	[ "$status" -eq 0 ]
	[[ $output == *"tcpwarden – connection-limiting UCSPI TCP server"* ]]
	[[ $output == *"EXIT STATUS"* ]]

	# man(1) itself finds it by name under the installed tree.
	if command -v man >/dev/null; then
		run man -M "$root/usr/share/man" tcpwarden
		[ "$status" -eq 0 ]
		[[ $output == *"connection-limiting UCSPI TCP server"* ]]
	fi
}

# has_section FILE NAME: the ELF file has a section of this name.
has_section() { readelf -S -W "$1" | grep -qF " $2 "; }

@test "make install-strip installs the program without its symbols; it still runs" {
	command -v readelf >/dev/null || skip "no readelf (binutils)"
	local root=$BATS_TEST_TMPDIR/root
	# What is stripped: the build keeps its symbols and debug information.
	has_section "$TOP/tcpwarden" .symtab
	has_section "$TOP/tcpwarden" .debug_info
	run make -s -C "$TOP" install-strip PREFIX=/usr DESTDIR="$root"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$root/usr/bin/tcpwarden")" = 755 ]
	run ! has_section "$root/usr/bin/tcpwarden" .symtab
	run ! has_section "$root/usr/bin/tcpwarden" .debug_info
	cmp "$MAN" "$root/usr/share/man/man1/tcpwarden.1"
	run "$root/usr/bin/tcpwarden" --version
	[ "$status" -eq 0 ]
	[[ $output == "tcpwarden "* ]]
	# The build itself is left as it was.
	has_section "$TOP/tcpwarden" .debug_info
}

@test "make uninstall removes what make install put there, and only that" {
	local root=$BATS_TEST_TMPDIR/root
	mkdir -p "$root/usr/bin"
	: >"$root/usr/bin/other"
	run make -s -C "$TOP" install PREFIX=/usr DESTDIR="$root"
	[ "$status" -eq 0 ]
	[ -f "$root/usr/bin/tcpwarden" ]
	[ -f "$root/usr/share/man/man1/tcpwarden.1" ]
	run make -s -C "$TOP" uninstall PREFIX=/usr DESTDIR="$root"
	[ "$status" -eq 0 ]
	[ "$(cd "$root" && find . -type f)" = ./usr/bin/other ]
	# Again, with nothing left to remove: no error.
	run make -s -C "$TOP" uninstall PREFIX=/usr DESTDIR="$root"
	[ "$status" -eq 0 ]
}
