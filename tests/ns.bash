# The look-up tests' private view of the network and of /etc
# (lookup.bats, lookups.bats), run inside `unshare -rnm` (and --pid --fork
# where the test wants whatever it leaves to die with it):
#
#   bash tests/ns.bash [-H hostsfile] [-N "nss sources"] [-R resolvfile] \
#       -- COMMAND...
#
# Loopback up; the given files bound over /etc/hosts, /etc/nsswitch.conf
# ("hosts: SOURCES") and /etc/resolv.conf, in this namespace's view only;
# nscd's socket hidden; tests/lib.bash and the helpers below loaded; then
# COMMAND: a program, a function of this file, or one the test exported.
# On the way out the server and every fakeident are stopped by their saved
# pids.  The exit status is COMMAND's.  The environment must hold
# BATS_TEST_DIRNAME, BATS_TEST_TMPDIR and FAKEIDENT.
set -u
# Not fd 3: bats waits for every holder of its TAP stream.
exec 3>&-
hosts= nss= resolv=
while getopts H:N:R: o; do
	case $o in
	H) hosts=$OPTARG ;;
	N) nss=$OPTARG ;;
	R) resolv=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
ip link set lo up || exit 2
if [ -n "$hosts" ]; then mount --bind "$hosts" /etc/hosts || exit 2; fi
if [ -n "$nss" ]; then
	printf 'hosts: %s\n' "$nss" >"$BATS_TEST_TMPDIR/nsswitch"
	mount --bind "$BATS_TEST_TMPDIR/nsswitch" /etc/nsswitch.conf || exit 2
fi
if [ -n "$resolv" ]; then mount --bind "$resolv" /etc/resolv.conf || exit 2; fi
# A running nscd would answer from the host's view: hide its socket.
for d in /run/nscd /var/run/nscd; do
	if [ -d "$d" ]; then mount -t tmpfs none "$d" || exit 2; fi
done

. "$BATS_TEST_DIRNAME/lib.bash"

FAKE_PIDS=()
# fake NAME FAKEIDENT-ARGS...: start fakeident, its lines going to
# $BATS_TEST_TMPDIR/fake.NAME, and wait for its "ready".
fake() {
	local out=$BATS_TEST_TMPDIR/fake.$1
	shift
	: >"$out"
	"$FAKEIDENT" "$@" >"$out" 2>&1 &
	FAKE_PIDS+=($!)
	wait_for grep -qx ready "$out" || {
		echo "fakeident $* did not start: $(cat "$out")"
		return 1
	}
}

# with_fake FAKEIDENT-ARGS... -- COMMAND...: COMMAND while a fakeident
# runs; then fakeident's lines after its "ready", each as "server: LINE".
# The exit status is COMMAND's.
with_fake() {
	local args=() rc pid
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	fake server "${args[@]}" || exit 2
	pid=${FAKE_PIDS[-1]}
	"$@"
	rc=$?
	# Our own unwaited child, so the pid cannot have been reused.
	kill "$pid" 2>/dev/null
	wait "$pid"
	unset 'FAKE_PIDS[-1]'
	sed -e '1d' -e 's/^/server: /' "$BATS_TEST_TMPDIR/fake.server"
	return $rc
}

# pconnect SRC SPORT [DST]: connect from SRC:SPORT (a fixed port, so that
# a fake ident reply can name it) to DST (127.0.0.1) port $PORT, send
# nothing, print what comes back until EOF; at most PTIME seconds (8).
pconnect() {
	perl -MIO::Socket::IP -e '
		alarm $ARGV[4];
		my $s = IO::Socket::IP->new(Proto => "tcp",
		    LocalHost => $ARGV[0], LocalPort => $ARGV[1],
		    ReuseAddr => 1, PeerHost => $ARGV[2],
		    PeerPort => $ARGV[3]) or die "pconnect: $@\n";
		shutdown($s, 1);
		binmode $s;
		binmode STDOUT;
		print while <$s>;' "$1" "$2" "${3:-127.0.0.1}" "$PORT" "${PTIME:-8}"
}

# ask SRC: connect from SRC (any port), print what the program said.
ask() { connect -s "$1" </dev/null; }

all_ended() { [ "$(log_count ' pid ')" -eq "$(log_count ' end ')" ]; }
# settle: until every child started has been reaped and logged.
settle() { wait_for all_ended || echo "children did not end"; }

cleanup() {
	local p
	stop_server
	for p in "${FAKE_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
trap cleanup EXIT

"$@"
