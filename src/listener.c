#define _GNU_SOURCE
#include "listener.h"

#include <errno.h>
#include <linux/filter.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "activate.h"
#include "log.h"
#include "parse.h"
#include "spawn.h"

static int one_sock;            /* the socket, with one queue */
static int *socks = &one_sock;  /* the listening sockets, one per queue */
static unsigned nsocks;
static int epfd = -1;           /* with more than one queue: socks, to wait
                                 * on them all as one descriptor */
static struct epoll_event *events;  /* room for a ready event per queue */
static uint32_t *pass;          /* the queues of the pass under way */
static unsigned pass_len, pass_pos;
static int passed;              /* the socket is systemd's (activate.h) */
static const char *passed_name; /* its name, or NULL */

static unsigned
resolve_port(const char *port)
{
	unsigned long n;
	struct servent *se;
	const char *p;

	if (parse_uint(port, 0, 65535, &n) == 0)
		return (unsigned)n;
	for (p = port; *p >= '0' && *p <= '9'; p++)
		;
	if (*port && !*p)
		log_fatal(100, "port ", port, " is out of range (0 to 65535)",
		    NULL);
	se = getservbyname(port, "tcp");
	if (!se)
		log_fatal(100, "unknown port ", port,
		    " (not a number, nor a tcp service in /etc/services)",
		    NULL);
	return ntohs((uint16_t)se->s_port);
}

/* Fill ss from host; returns its length. */
static socklen_t
resolve_host(const char *host, unsigned port, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	socklen_t len;
	int e;

	memset(ss, 0, sizeof *ss);
	if (strcmp(host, "0") == 0) {
		/* Every local address: IPv6 with mapped IPv4 where the
		 * system has IPv6, checked by making a socket of the kind. */
		int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0) {
			close(probe);
			s6->sin6_family = AF_INET6;
			s6->sin6_addr = in6addr_any;
			s6->sin6_port = htons((uint16_t)port);
			return sizeof *s6;
		}
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = htons((uint16_t)port);
		return sizeof *s4;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	e = getaddrinfo(host, NULL, &hints, &res);
	if (e == EAI_AGAIN || e == EAI_MEMORY || (e == EAI_SYSTEM &&
	    errno != ENOENT))
		log_fatal(111, "temporarily unable to figure out IP address "
		    "for ", host, ": ", gai_strerror(e), NULL);
	if (e != 0)
		log_fatal(100, "unable to figure out IP address for ", host,
		    ": ", gai_strerror(e), NULL);
	len = (socklen_t)res->ai_addrlen;
	memcpy(ss, res->ai_addr, len);
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		s4->sin_port = htons((uint16_t)port);
	else
		s6->sin6_port = htons((uint16_t)port);
	return len;
}

/* A TCP socket for ss's family, SO_REUSEADDR set, and for the IPv6
 * any-address open to IPv4 clients too.  -1 on failure, with errno. */
static int
new_socket(const struct sockaddr_storage *ss)
{
	int fd, one = 1, zero = 0;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return -1;
	/* As every UCSPI server: a restart must not wait out TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)ss;
		/* The any-address takes IPv4 clients too (as mapped
		 * addresses, unmapped again per connection); a specific
		 * IPv6 address is its own. */
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
			    sizeof zero);
	}
	return fd;
}

/* A 32-bit word with its first len bits set (len may be below 0 or
 * above 32). */
static uint32_t
prefix_mask(int len)
{
	if (len <= 0)
		return 0;
	if (len >= 32)
		return 0xffffffffu;
	return ~(0xffffffffu >> len);
}

/*
 * The queue of a connection, chosen by the kernel (SO_ATTACH_REUSEPORT_CBPF)
 * when its SYN arrives: a hash of the client's source address cut to the
 * client prefix, never of the port, so that every connection of a client
 * goes to one queue.  The hash is multiply-shift with multipliers and an
 * offset drawn at random for each run, so that which clients share a
 * queue cannot be known from outside.  The program sees the packet from
 * the end of the TCP header on: the IP header is reached with negative
 * offsets from SKF_NET_OFF.  A dual-stack socket gets IPv4 packets for its
 * mapped clients, hence the test of the version.  A load that fails ends
 * the program with 0, the first queue; an index out of range would make
 * the kernel pick by its own hash.
 */
static int
attach_filter(int fd, unsigned n, unsigned v4_bits, unsigned v6_bits)
{
	struct sock_filter prog[40];
	struct sock_fprog fprog;
	uint32_t r[6], m;
	unsigned len = 0, jeq, ja, w, words;

	if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		/* No entropy yet (early boot): still different each run. */
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		r[0] = (uint32_t)t.tv_nsec ^ (uint32_t)getpid() << 16;
		for (w = 1; w < 6; w++)
			r[w] = r[w - 1] * 0x9e3779b9u + (uint32_t)t.tv_sec;
	}
	for (w = 0; w < 5; w++)
		r[w] |= 1;      /* the multipliers must be odd */

#define OP(code, k) (prog[len++] = (struct sock_filter)BPF_STMT(code, k))
	OP(BPF_LD | BPF_B | BPF_ABS, (uint32_t)SKF_NET_OFF);
	OP(BPF_ALU | BPF_RSH | BPF_K, 4);
	jeq = len++;            /* IPv6? filled in below */

	/* IPv4: the source address, at 12 in the header. */
	OP(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12);
	if ((m = prefix_mask((int)v4_bits)) != 0xffffffffu)
		OP(BPF_ALU | BPF_AND | BPF_K, m);
	OP(BPF_ALU | BPF_MUL | BPF_K, r[0]);
	ja = len++;

	/* IPv6: the source address, at 8, as four words; the words past
	 * the prefix count for nothing and are left out. */
	prog[jeq] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6,
	    (uint8_t)(len - jeq - 1), 0);
	words = (v6_bits + 31) / 32;
	for (w = 0; w < words; w++) {
		m = prefix_mask((int)v6_bits - 32 * (int)w);
		OP(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 8 + 4 * w);
		if (m != 0xffffffffu)
			OP(BPF_ALU | BPF_AND | BPF_K, m);
		OP(BPF_ALU | BPF_MUL | BPF_K, r[1 + w]);
		if (w > 0)
			OP(BPF_ALU | BPF_ADD | BPF_X, 0);
		if (w + 1 < words)
			OP(BPF_MISC | BPF_TAX, 0);
	}
	prog[ja] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA,
	    len - ja - 1);

	/* Both: add the offset, keep the top 16 bits (the well mixed ones)
	 * and scale them to 0 .. n-1. */
	OP(BPF_ALU | BPF_ADD | BPF_K, r[5]);
	OP(BPF_ALU | BPF_RSH | BPF_K, 16);
	OP(BPF_ALU | BPF_MUL | BPF_K, n);
	OP(BPF_ALU | BPF_RSH | BPF_K, 16);
	OP(BPF_RET | BPF_A, 0);
#undef OP

	/* The padding after len goes to the kernel too: no stack garbage. */
	memset(&fprog, 0, sizeof fprog);
	fprog.len = (unsigned short)len;
	fprog.filter = prog;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog,
	    sizeof fprog);
}

/* Close the queues of open_queues, or what it opened of them. */
static void
close_queues(void)
{
	while (nsocks > 0)
		close(socks[--nsocks]);
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
	free(socks);
	free(pass);
	free(events);
	socks = &one_sock;
	pass = NULL;
	events = NULL;
}

/* cfg->queues sockets in one SO_REUSEPORT group on ss (the port already
 * chosen), each listening, the filter attached, and all in epfd.  Returns
 * 0, or -1 after one warning and with nothing of it left open: the caller
 * goes on with one queue. */
static int
open_queues(const struct sockaddr_storage *ss, socklen_t len,
    const struct config *cfg)
{
	const char *what = "allocate the queues";
	unsigned n = (unsigned)cfg->queues;
	struct epoll_event ev;
	char num[12];
	size_t k = sizeof num;
	unsigned i;
	int e, fd, one = 1;

	nsocks = 0;
	socks = calloc(n, sizeof *socks);
	pass = calloc(n, sizeof *pass);
	events = calloc(n, sizeof *events);
	if (!socks || !pass || !events) {
		e = ENOMEM;
		goto fail;
	}
	while (nsocks < n) {
		what = "create socket";
		if ((fd = new_socket(ss)) < 0)
			goto fail_errno;
		/* Among the server's many, where no child copies it
		 * (spawn.h): a queue costs nothing per connection.  Left
		 * among the few below, 1,024 queues cost 30% of the
		 * connections a second, each child's exec closing them. */
		fd = spawn_fd_up(fd);
		socks[nsocks++] = fd;
		what = "set SO_REUSEPORT";
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
		    sizeof one) != 0)
			goto fail_errno;
		what = "bind a queue";
		if (bind(fd, (const struct sockaddr *)ss, len) != 0)
			goto fail_errno;
		/* The group's order is the order of listen(): the filter's
		 * index k is socks[k]. */
		what = "listen";
		if (listen(fd, (int)cfg->backlog) != 0)
			goto fail_errno;
	}
	what = "attach the queue filter";
	if (attach_filter(socks[0], n, cfg->v4_client_bits,
	    cfg->v6_client_bits) != 0)
		goto fail_errno;
	what = "create an epoll set";
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail_errno;
	what = "add a queue to the epoll set";
	for (i = 0; i < n; i++) {
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, socks[i], &ev) != 0)
			goto fail_errno;
	}
	return 0;

fail_errno:
	e = errno;
fail:
	close_queues();
	num[--k] = '\0';
	do {
		num[--k] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	log_warning("unable to ", what, ": ", strerror(e),
	    "; one accept queue, not ", num + k, NULL);
	return -1;
}

static int
is_wildcard(const struct addr *a)
{
	size_t i;

	for (i = 0; i < sizeof a->bytes; i++)
		if (a->bytes[i])
			return 0;
	return 1;
}

/*
 * Serve fd, the socket systemd passed, if it is where the command line
 * says: host "0" matches any address, and port 0 any port.  Served as it
 * is, one queue: its address was bound by systemd, perhaps as root, and
 * outlives us (connections that arrive while we restart wait in it), and
 * so would not sockets of ours beside it; and its backlog is the unit's.
 */
static int
adopt(int fd, const struct config *cfg, struct addr *bound, int *wildcard)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct addr want;
	unsigned port = resolve_port(cfg->port);
	char have[ADDR_TEXT_MAX + 8], said[ADDR_TEXT_MAX];
	size_t n;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    addr_from_sockaddr(bound, (struct sockaddr *)&ss) != 0)
		log_fatal(111, "unable to read the address of the socket "
		    "systemd passed: ", strerror(errno), NULL);
	addr_format(bound, 1, have);
	if (strcmp(cfg->host, "0") != 0) {
		resolve_host(cfg->host, 0, &ss);
		addr_from_sockaddr(&want, (struct sockaddr *)&ss);
		addr_format(&want, 1, said);
		if (strcmp(have, said) != 0)
			port = 0x10000;   /* a mismatch, said below */
	}
	if (port != 0 && port != bound->port) {
		n = strlen(have);
		snprintf(have + n, sizeof have - n, ":%u", bound->port);
		log_fatal(100, "the socket systemd passed is ", have,
		    ", not the host and port of the command line: ",
		    cfg->host, " ", cfg->port, NULL);
	}
	*wildcard = is_wildcard(bound);
	/* Up with ours, where no child copies it (listener_open). */
	one_sock = spawn_fd_up(fd);
	nsocks = 1;
	passed = 1;
	return one_sock;
}

int
listener_open(const struct config *cfg, struct addr *bound, int *wildcard)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char text[ADDR_TEXT_MAX + 8];
	int fd;

	fd = activate_take(&passed_name);
	if (fd >= 0)
		return adopt(fd, cfg, bound, wildcard);
	len = resolve_host(cfg->host, resolve_port(cfg->port), &ss);

	/* The first socket, without SO_REUSEPORT, keeps a port in use an
	 * error (a group of the same user's would otherwise be joined
	 * without a word) and takes the kernel's choice for port 0.  The
	 * group binds beside it (both have SO_REUSEADDR, and it does not
	 * listen), and it is closed once the group listens; without a
	 * group it is the one queue.  What remains: a server of the same
	 * user started at the same moment, whose first socket binds
	 * before our group listens, passes the same test and joins our
	 * group, or we join its. */
	fd = new_socket(&ss);
	if (fd < 0)
		log_fatal(111, "unable to create socket: ", strerror(errno),
		    NULL);
	addr_from_sockaddr(bound, (struct sockaddr *)&ss);
	if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
		int e = errno;
		size_t n = addr_format(bound, 1, text);
		text[n++] = ':';
		text[n] = '\0';
		log_fatal(111, "unable to bind to ", text,
		    cfg->port, ": ", strerror(e), NULL);
	}
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		log_fatal(111, "unable to read the bound address: ",
		    strerror(errno), NULL);
	addr_from_sockaddr(bound, (struct sockaddr *)&ss);
	*wildcard = is_wildcard(bound);

	/* Every listening descriptor, the epoll set over the queues too,
	 * among the server's many (spawn.h): no child ever holds one, so a
	 * child busy before its exec (a look-up, a banner) keeps no port
	 * from a new server once this one has gone. */
	if (cfg->queues > 1 && open_queues(&ss, len, cfg) == 0) {
		close(fd);
		epfd = spawn_fd_up(epfd);
		return epfd;
	}
	if (listen(fd, (int)cfg->backlog) != 0)
		log_fatal(111, "unable to listen: ", strerror(errno), NULL);
	one_sock = spawn_fd_up(fd);
	nsocks = 1;
	return one_sock;
}

unsigned
listener_fds(void)
{
	return nsocks + (epfd >= 0);
}

int
listener_accept(struct sockaddr_storage *ss, socklen_t *len)
{
	int fd, n, i, passes = 0;

	if (nsocks == 1)
		return accept4(socks[0], (struct sockaddr *)ss, len,
		    SOCK_CLOEXEC);
	for (;;) {
		while (pass_pos < pass_len) {
			fd = accept4(socks[pass[pass_pos++]],
			    (struct sockaddr *)ss, len, SOCK_CLOEXEC);
			if (fd >= 0 || (errno != EAGAIN &&
			    errno != EWOULDBLOCK))
				return fd;
		}
		/* A new pass over the queues that hold connections now.
		 * Level-triggered epoll lists a queue again as long as it
		 * is not empty, so a queue that filled up after the last
		 * pass waits one pass at most, however full another is.
		 * Two passes that find nothing are enough: a queue emptied
		 * between epoll and accept (a client gone) is not listed
		 * again. */
		if (passes++ == 2)
			break;
		n = epoll_wait(epfd, events, (int)nsocks, 0);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			pass[i] = events[i].data.u32;
		pass_len = (unsigned)n;
		pass_pos = 0;
	}
	errno = EAGAIN;
	return -1;
}

void
listener_close(void)
{
	if (socks != &one_sock) {
		close_queues();
	} else if (nsocks == 1) {
		close(one_sock);
		nsocks = 0;
	}
}

void
listener_log_start(const struct addr *bound)
{
	struct log_line l;

	if (log_level < LOG_VERBOSE)
		return;
	/* The word after "start:" says where the socket came from. */
	log_start(&l, passed ? "start: passed " : "start: bound ");
	log_addr_port(&l, bound);
	log_str(&l, " queues ");
	log_uint(&l, nsocks);
	if (passed_name) {
		log_str(&l, " name ");
		log_str(&l, passed_name);
	}
	log_flush(&l);
}
