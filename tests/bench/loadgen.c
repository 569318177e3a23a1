/*
 * loadgen: the load generator of the benchmark (issue 4).
 *
 * Keeps K connections in flight to a loopback TCP server with non-blocking
 * sockets and one epoll set, for N connections in total or T seconds. Each
 * connection optionally sends a payload and half-closes, then is read to
 * EOF; its latency runs from connect() to EOF. Source addresses rotate over
 * a 127.0.0.0/8 range (bound before connect, the port left to connect()).
 * --hold N opens N connections, waits for the first byte of each (the
 * server's child is running), and keeps them open until stdin reaches EOF,
 * SIGINT or SIGTERM arrives, or --hold-time passes.
 *
 * Output: one key=value line on stdout for scripts, a human summary on
 * stderr. Only loopback is ever contacted, and every wait is bounded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define NS 1000000000ULL
#define SCAN_NS (100ULL * 1000000ULL) /* how often deadlines are checked */
#define TAG_SIGNAL UINT32_MAX         /* epoll data of the signalfd */
#define TAG_STDIN (UINT32_MAX - 1)    /* epoll data of stdin */

enum state {
	FREE,       /* slot unused */
	CONNECTING, /* connect() in progress */
	OPEN,       /* connected, reading (and maybe still writing) */
	HELD        /* --hold: first byte seen, kept open */
};

struct conn {
	int fd;               /* the socket, -1 when the slot is free */
	enum state state;     /* where the connection is */
	uint64_t start;       /* monotonic ns when connect() was called */
	uint64_t deadline;    /* monotonic ns after which it is a timeout */
	size_t sent;          /* payload bytes written so far */
	size_t matched;       /* bytes of --expect matched so far */
	int mismatch;         /* reply differed from --expect */
	unsigned long got;    /* reply bytes read */
};

struct counts {
	unsigned long attempts; /* connections started */
	unsigned long ok;       /* read to EOF, reply as expected */
	unsigned long refused;  /* ECONNREFUSED */
	unsigned long reset;    /* ECONNRESET or EPIPE */
	unsigned long timeout;  /* per-connection deadline passed */
	unsigned long other;    /* any other error */
	unsigned long bad;      /* EOF but reply not as --expect said */
	unsigned long lost;     /* --hold: closed by the server while held */
	int other_errno;        /* the last "other" errno, for diagnosis */
};

struct opts {
	struct sockaddr_in dst;  /* the server */
	unsigned long conc;      /* connections in flight */
	unsigned long count;     /* total connections, 0 = no count limit */
	double secs;             /* run time, 0 = no time limit */
	double timeout;          /* per-connection timeout, seconds */
	const char *payload;     /* sent after connecting, or NULL */
	size_t payload_len;      /* its length */
	int shut_wr;             /* shutdown(SHUT_WR) after the payload */
	const char *expect;      /* the reply must start with this, or NULL */
	size_t expect_len;       /* its length */
	uint32_t src_lo, src_hi; /* source range, host order; 0 = unbound */
	unsigned long hold;      /* --hold N, 0 = normal mode */
	double hold_time;        /* longest hold, seconds */
	int quiet;               /* no human summary */
	uint64_t gap;            /* --rate: ns between starts, 0 = unpaced */
};

static struct opts o;
static struct conn *slots;
static uint32_t *freelist;     /* stack of free slot indices */
static size_t nfree;
static struct counts c;
static uint64_t *lat;          /* latencies of ok connections, ns */
static size_t nlat, lat_cap;
static int ep = -1;
static size_t nslots;         /* K, or N with --hold */
static int stopping;          /* a signal came: start no more */
static uint32_t src_next;
static unsigned long pending;  /* slots CONNECTING or OPEN */
static unsigned long held;     /* slots HELD */

static void die(const char *what)
{
	fprintf(stderr, "loadgen: fatal: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void usage(const char *msg)
{
	fprintf(stderr, "loadgen: usage: %s\n"
		"loadgen [-k conc] [-n count] [-t secs] [-p payload] [-w]\n"
		"        [-e expect] [-T timeout] [-s 127.0.0.a[-127.0.0.b]] [-q]\n"
		"        [-r starts-per-second]\n"
		"        [--hold N [--hold-time secs]] host port\n"
		"loadgen --free-port\n", msg);
	exit(100);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static unsigned long parse_ulong(const char *s, const char *opt,
				 unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		usage(opt);
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		usage(opt);
	return v;
}

static double parse_secs(const char *s, const char *opt)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !(v > 0) || v > 86400)
		usage(opt);
	return v;
}

static int loopback(uint32_t a)
{
	return (a >> 24) == 127;
}

static uint32_t parse_ip(const char *s, const char *opt)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		usage(opt);
	if (!loopback(ntohl(a.s_addr)))
		usage("only 127.0.0.0/8 is allowed");
	return ntohl(a.s_addr);
}

/* "A.B.C.D", "A.B.C.D-E" (last octet) or "A.B.C.D-A.B.C.E". */
static void parse_src(const char *s)
{
	char buf[64];
	char *dash;

	if (strlen(s) >= sizeof buf)
		usage("--src: too long");
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash++ = 0;
	o.src_lo = parse_ip(buf, "--src: not an address");
	if (!dash)
		o.src_hi = o.src_lo;
	else if (strchr(dash, '.'))
		o.src_hi = parse_ip(dash, "--src: not an address");
	else
		o.src_hi = (o.src_lo & ~0xffU) |
			   parse_ulong(dash, "--src: bad last octet", 255);
	if (o.src_hi < o.src_lo)
		usage("--src: range runs backwards");
}

/* Print a port that was free on 127.0.0.1 a moment ago. */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("bind");
	if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		die("getsockname");
	printf("%u\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

static void lat_add(uint64_t ns)
{
	if (nlat == lat_cap) {
		size_t cap = lat_cap ? 2 * lat_cap : 65536;
		uint64_t *p = realloc(lat, cap * sizeof *p);

		if (!p)
			die("realloc");
		lat = p;
		lat_cap = cap;
	}
	lat[nlat++] = ns;
}

static void slot_release(uint32_t i)
{
	struct conn *k = &slots[i];

	if (k->fd >= 0)
		close(k->fd); /* also leaves the epoll set */
	if (k->state == HELD)
		held--;
	else if (k->state != FREE)
		pending--;
	k->fd = -1;
	k->state = FREE;
	freelist[nfree++] = i;
}

static void count_errno(int e)
{
	switch (e) {
	case ECONNREFUSED:
		c.refused++;
		break;
	case ECONNRESET:
	case EPIPE:
		c.reset++;
		break;
	case ETIMEDOUT:
		c.timeout++;
		break;
	default:
		c.other++;
		c.other_errno = e;
	}
}

static void fail(uint32_t i, int e)
{
	if (slots[i].state == HELD)
		c.lost++;
	else
		count_errno(e);
	slot_release(i);
}

static void finish(uint32_t i, uint64_t t)
{
	struct conn *k = &slots[i];

	if (k->state == HELD) {
		c.lost++;
	} else if (k->mismatch || k->matched < o.expect_len ||
		   (o.hold && k->got == 0)) {
		c.bad++;
	} else {
		c.ok++;
		lat_add(t - k->start);
	}
	slot_release(i);
}

static int may_start(uint64_t t, uint64_t end)
{
	if (stopping)
		return 0;
	if (o.hold)
		return c.attempts < o.hold;
	if (o.count && c.attempts >= o.count)
		return 0;
	if (end && t >= end)
		return 0;
	return 1;
}

static void start_one(uint64_t t)
{
	struct epoll_event ev;
	struct sockaddr_in src;
	uint32_t i;
	int fd, one = 1;

	c.attempts++;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		count_errno(errno);
		return;
	}
	if (o.src_lo) {
		memset(&src, 0, sizeof src);
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(src_next);
		src_next = src_next >= o.src_hi ? o.src_lo : src_next + 1;
		/* Let connect() pick the port for the whole 4-tuple, so each
		 * source address has the full ephemeral range per server. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof one);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
			count_errno(errno);
			close(fd);
			return;
		}
	}
	i = freelist[--nfree];
	slots[i].fd = fd;
	slots[i].state = CONNECTING;
	slots[i].start = t;
	slots[i].deadline = t + (uint64_t)(o.timeout * NS);
	slots[i].sent = 0;
	slots[i].matched = 0;
	slots[i].mismatch = 0;
	slots[i].got = 0;
	pending++;
	/* Edge-triggered and registered once: no epoll_ctl per state. */
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u32 = i;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
	if (connect(fd, (struct sockaddr *)&o.dst, sizeof o.dst) < 0 &&
	    errno != EINPROGRESS)
		fail(i, errno);
}

/* Write what is left of the payload; then half-close if asked. */
static int send_rest(uint32_t i)
{
	struct conn *k = &slots[i];
	ssize_t w;

	while (k->sent < o.payload_len) {
		w = send(k->fd, o.payload + k->sent, o.payload_len - k->sent,
			 MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		k->sent += (size_t)w;
	}
	if (o.shut_wr && k->sent == o.payload_len &&
	    shutdown(k->fd, SHUT_WR) < 0)
		return -errno;
	k->sent++; /* past payload_len: nothing more to do */
	return 0;
}

static void on_event(uint32_t i, uint32_t events, uint64_t t)
{
	struct conn *k = &slots[i];
	char buf[4096];
	ssize_t r;
	int e;
	socklen_t len = sizeof e;

	if (k->state == CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		if (e) {
			fail(i, e);
			return;
		}
		k->state = OPEN;
	}
	if (k->sent <= o.payload_len && (e = send_rest(i)) < 0) {
		fail(i, -e);
		return;
	}
	for (;;) {
		r = read(k->fd, buf, sizeof buf);
		if (r > 0) {
			size_t n = (size_t)r, m;

			if (k->matched < o.expect_len && !k->mismatch) {
				m = o.expect_len - k->matched;
				if (m > n)
					m = n;
				if (memcmp(buf, o.expect + k->matched, m))
					k->mismatch = 1;
				k->matched += m;
			}
			k->got += n;
			if (o.hold && k->state == OPEN) {
				k->state = HELD;
				pending--;
				held++;
			}
			continue;
		}
		if (r == 0) {
			finish(i, t);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			fail(i, errno);
		return;
	}
}

static void scan_deadlines(uint64_t t)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		if ((slots[i].state == CONNECTING || slots[i].state == OPEN) &&
		    t >= slots[i].deadline)
			fail((uint32_t)i, ETIMEDOUT);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank, in milliseconds. */
static double pct_ms(double p)
{
	size_t r;

	if (!nlat)
		return 0;
	r = (size_t)(p * (double)nlat + 0.999999);
	if (r < 1)
		r = 1;
	if (r > nlat)
		r = nlat;
	return (double)lat[r - 1] / 1e6;
}

static unsigned long errors(void)
{
	return c.refused + c.reset + c.timeout + c.other + c.bad;
}

static void report(double secs)
{
	double rate = secs > 0 ? (double)c.ok / secs : 0;

	qsort(lat, nlat, sizeof *lat, cmp_u64);
	printf("conns=%lu attempts=%lu secs=%.3f rate=%.1f p50_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f errors=%lu refused=%lu reset=%lu "
	       "timeout=%lu other=%lu bad=%lu other_errno=%d\n",
	       c.ok, c.attempts, secs, rate, pct_ms(0.50), pct_ms(0.99),
	       nlat ? (double)lat[nlat - 1] / 1e6 : 0.0, errors(), c.refused,
	       c.reset, c.timeout, c.other, c.bad, c.other_errno);
	fflush(stdout);
	if (o.quiet)
		return;
	fprintf(stderr, "loadgen: %lu ok of %lu in %.2f s: %.0f conn/s; "
		"latency p50 %.3f ms, p99 %.3f ms, max %.3f ms; errors %lu "
		"(refused %lu, reset %lu, timeout %lu, other %lu%s%s, "
		"bad reply %lu)\n",
		c.ok, c.attempts, secs, rate, pct_ms(0.50), pct_ms(0.99),
		nlat ? (double)lat[nlat - 1] / 1e6 : 0.0, errors(), c.refused,
		c.reset, c.timeout, c.other, c.other ? ": " : "",
		c.other ? strerror(c.other_errno) : "", c.bad);
}

/* --hold, after the set-up: wait for the word to let go. */
static void hold_wait(int sfd, struct epoll_event *evs, int nev)
{
	struct epoll_event ev;
	uint64_t end = now_ns() + (uint64_t)(o.hold_time * NS);
	const char *why = "hold time over";
	char buf[256];
	size_t i;
	int n, j;

	ev.events = EPOLLIN;
	ev.data.u32 = TAG_STDIN;
	/* A regular file or /dev/null cannot be polled (EPERM): then only a
	 * signal or the hold time ends the hold. */
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
	printf("held=%lu attempts=%lu errors=%lu refused=%lu reset=%lu "
	       "timeout=%lu other=%lu bad=%lu\n", held, c.attempts, errors(),
	       c.refused, c.reset, c.timeout, c.other, c.bad);
	fflush(stdout);
	for (;;) {
		uint64_t t = now_ns();
		int ms;

		if (t >= end)
			break;
		ms = (int)((end - t) / 1000000) + 1;
		n = epoll_wait(ep, evs, nev, ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (j = 0; j < n; j++) {
			uint32_t tag = evs[j].data.u32;

			if (tag == TAG_SIGNAL) {
				why = "signal";
				goto out;
			}
			if (tag == TAG_STDIN) {
				ssize_t r = read(0, buf, sizeof buf);

				if (r <= 0) {
					why = "stdin closed";
					goto out;
				}
				continue;
			}
			if (slots[tag].state != FREE)
				on_event(tag, evs[j].events, now_ns());
		}
	}
out:
	for (i = 0; i < nslots; i++)
		if (slots[i].state == HELD)
			slot_release((uint32_t)i);
	close(sfd);
	printf("released=1 lost=%lu why=%s\n", c.lost, why);
	if (!o.quiet)
		fprintf(stderr, "loadgen: released the held connections (%s); "
			"%lu lost while held\n", why, c.lost);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"concurrency", required_argument, NULL, 'k'},
		{"count", required_argument, NULL, 'n'},
		{"time", required_argument, NULL, 't'},
		{"payload", required_argument, NULL, 'p'},
		{"shutdown", no_argument, NULL, 'w'},
		{"expect", required_argument, NULL, 'e'},
		{"timeout", required_argument, NULL, 'T'},
		{"src", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"rate", required_argument, NULL, 'r'},
		{"hold", required_argument, NULL, 'H'},
		{"hold-time", required_argument, NULL, 'h'},
		{"free-port", no_argument, NULL, 'F'},
		{NULL, 0, NULL, 0}
	};
	struct epoll_event evs[256], ev;
	struct rlimit rl;
	sigset_t ss;
	uint64_t t0, t, end = 0, next_scan, next_start, wake, last = 0;
	size_t i;
	int ch, sfd, n, j;

	o.conc = 16;
	o.timeout = 10;
	o.hold_time = 600;
	while ((ch = getopt_long(argc, argv, "k:n:t:p:we:T:s:qr:", lo, NULL))
	       != -1) {
		switch (ch) {
		case 'k':
			o.conc = parse_ulong(optarg, "-k: bad number", 100000);
			if (!o.conc)
				usage("-k: must be at least 1");
			break;
		case 'n':
			o.count = parse_ulong(optarg, "-n: bad number",
					      1000000000UL);
			break;
		case 't':
			o.secs = parse_secs(optarg, "-t: bad seconds");
			break;
		case 'p':
			o.payload = optarg;
			o.payload_len = strlen(optarg);
			break;
		case 'w':
			o.shut_wr = 1;
			break;
		case 'e':
			o.expect = optarg;
			o.expect_len = strlen(optarg);
			break;
		case 'T':
			o.timeout = parse_secs(optarg, "-T: bad seconds");
			break;
		case 's':
			parse_src(optarg);
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'r':
			o.gap = (uint64_t)(NS / parse_secs(optarg,
							    "--rate: bad rate"));
			break;
		case 'H':
			o.hold = parse_ulong(optarg, "--hold: bad number",
					     1000000);
			if (!o.hold)
				usage("--hold: must be at least 1");
			break;
		case 'h':
			o.hold_time = parse_secs(optarg, "--hold-time: bad");
			break;
		case 'F':
			return free_port();
		default:
			usage("unknown option");
		}
	}
	if (argc - optind != 2)
		usage("need host and port");
	memset(&o.dst, 0, sizeof o.dst);
	o.dst.sin_family = AF_INET;
	o.dst.sin_addr.s_addr = htonl(parse_ip(argv[optind], "bad host"));
	o.dst.sin_port = htons((uint16_t)parse_ulong(argv[optind + 1],
						     "bad port", 65535));
	if (!o.dst.sin_port)
		usage("port 0");
	if (!o.hold && !o.count && !o.secs)
		usage("need -n, -t or --hold");
	src_next = o.src_lo;

	nslots = o.hold ? o.hold : o.conc;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)nslots + 16) {
		fprintf(stderr, "loadgen: fatal: %zu connections need more "
			"descriptors than ulimit -n allows (%llu)\n", nslots,
			(unsigned long long)rl.rlim_cur);
		return 111;
	}
	slots = calloc(nslots, sizeof *slots);
	freelist = calloc(nslots, sizeof *freelist);
	if (!slots || !freelist)
		die("calloc");
	for (i = 0; i < nslots; i++) {
		slots[i].fd = -1;
		freelist[nfree++] = (uint32_t)(nslots - 1 - i);
	}

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd");
	ev.events = EPOLLIN;
	ev.data.u32 = TAG_SIGNAL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		die("epoll_ctl");

	t0 = t = now_ns();
	if (o.secs)
		end = t0 + (uint64_t)(o.secs * NS);
	next_scan = t0 + SCAN_NS;
	next_start = t0;
	for (;;) {
		int ms;

		while (pending < o.conc && nfree && may_start(t, end) &&
		       t >= next_start) {
			start_one(t);
			if (o.gap) {
				/* Paced like an ordinary client: a late start
				 * is not made up by a burst. */
				if (next_start < t)
					next_start = t;
				next_start += o.gap;
			}
			t = now_ns();
		}
		if (!pending && !may_start(t, end))
			break;
		wake = next_scan;
		if (o.gap && pending < o.conc && next_start < wake)
			wake = next_start;
		ms = wake > t ? (int)((wake - t + 999999) / 1000000) : 0;
		n = epoll_wait(ep, evs, 256, ms);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		t = now_ns();
		for (j = 0; j < n; j++) {
			uint32_t tag = evs[j].data.u32;

			if (tag == TAG_SIGNAL) {
				/* Stop starting; let what is in flight end. */
				stopping = 1;
				continue;
			}
			if (slots[tag].state == CONNECTING ||
			    slots[tag].state == OPEN ||
			    slots[tag].state == HELD) {
				on_event(tag, evs[j].events, t);
				last = t;
			}
		}
		if (t >= next_scan) {
			scan_deadlines(t);
			next_scan = t + SCAN_NS;
		}
	}
	if (!last)
		last = now_ns();
	if (o.hold) {
		hold_wait(sfd, evs, 256);
		return 0;
	}
	report((double)(last - t0) / 1e9);
	return 0;
}
