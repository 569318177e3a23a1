/*
 * fakeident: the far side of the look-ups in tests/lookup.bats, run inside
 * a private network namespace so it may take the fixed ports 113 and 53.
 *
 *	fakeident [-a ADDR] [-P PORT] reply TEXT   answer one ident query with
 *	                                           TEXT, sent as given, then EOF
 *	fakeident [-a ADDR] [-P PORT] drip TEXT    the same, one byte each 200 ms
 *	fakeident [-a ADDR] [-P PORT] silent       take the query, never answer
 *	fakeident [-a ADDR] [-P PORT] dns-silent   UDP: take queries, never answer
 *	fakeident [-a ADDR] [-P PORT] dns-ptr NAME UDP: answer PTR queries with
 *	                                           NAME, never any other
 *
 * ADDR defaults to 127.0.0.1, PORT to 113 (53 for the dns modes).  Prints
 * "ready" once listening, then "peer IP" and "query LINE" for an ident
 * query, "dns TYPE" for each DNS query.  The TCP modes end when the client
 * goes away; every mode ends after 30 seconds whatever happens.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LIFETIME 30

static void
usage(void)
{
	fputs("usage: fakeident [-a ADDR] [-P PORT] reply TEXT | drip TEXT | "
	    "silent | dns-silent | dns-ptr NAME\n", stderr);
	exit(100);
}

static void
fail(const char *what)
{
	fprintf(stderr, "fakeident: %s: %s\n", what, strerror(errno));
	exit(111);
}

static void
say(const char *a, const char *b)
{
	printf("%s%s%s\n", a, b != NULL ? " " : "", b != NULL ? b : "");
	fflush(stdout);
}

static socklen_t
make_sockaddr(struct sockaddr_storage *ss, const char *ip, unsigned port)
{
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		return sizeof(struct sockaddr_in);
	}
	if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		return sizeof(struct sockaddr_in6);
	}
	usage();
	return 0;
}

static void
peer_text(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	const void *p;

	strcpy(buf, "?");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET)
		p = &((struct sockaddr_in *)&ss)->sin_addr;
	else
		p = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	inet_ntop(ss.ss_family, p, buf, (socklen_t)len);
}

/* Read the query line (the client sends nothing else), \r\n cut off. */
static void
read_query(int fd, char *line, size_t len)
{
	size_t got = 0;
	ssize_t r;

	while (got < len - 1) {
		r = read(fd, line + got, 1);
		if (r <= 0 || line[got] == '\n')
			break;
		got++;
	}
	if (got > 0 && line[got - 1] == '\r')
		got--;
	line[got] = '\0';
}

/* Until the client closes its side. */
static void
drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof buf) > 0)
		;
}

static void
serve_ident(int ls, const char *mode, const char *text)
{
	char peer[INET6_ADDRSTRLEN], line[256];
	struct timespec gap = { 0, 200 * 1000 * 1000 };
	int fd;
	size_t i;

	fd = accept(ls, NULL, NULL);
	if (fd == -1)
		fail("accept");
	peer_text(fd, peer, sizeof peer);
	say("peer", peer);
	read_query(fd, line, sizeof line);
	say("query", line);
	if (strcmp(mode, "reply") == 0) {
		if (send(fd, text, strlen(text), MSG_NOSIGNAL) == -1)
			fail("send");
		/* Done talking: a reply without an end of line must meet EOF,
		 * as from a real server that closes. */
		shutdown(fd, SHUT_WR);
	} else if (strcmp(mode, "drip") == 0) {
		for (i = 0; text[i] != '\0'; i++) {
			if (send(fd, text + i, 1, MSG_NOSIGNAL) == -1)
				return;
			nanosleep(&gap, NULL);
		}
	}
	drain(fd);
	close(fd);
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* NAME in DNS label form at p; returns its length, 0 if it does not fit.
 * Any byte may stand in a label: the hostile names are the point. */
static size_t
encode_name(unsigned char *p, size_t room, const char *name)
{
	size_t n = 0, len;
	const char *dot;

	while (*name != '\0') {
		dot = strchr(name, '.');
		len = dot != NULL ? (size_t)(dot - name) : strlen(name);
		if (len == 0 || len > 63 || n + len + 2 > room)
			return 0;
		p[n++] = (unsigned char)len;
		memcpy(p + n, name, len);
		n += len;
		name += len + (dot != NULL);
	}
	p[n++] = 0;
	return n;
}

static void
serve_dns(int s, const char *ptr)
{
	unsigned char q[512], a[1024];
	struct sockaddr_storage from;
	socklen_t fl;
	ssize_t r;
	size_t qend, n, nl;
	unsigned qtype;
	char type[16];

	for (;;) {
		fl = sizeof from;
		r = recvfrom(s, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
		if (r < 12)
			continue;
		/* Skip the question's name to find its type. */
		qend = 12;
		while (qend < (size_t)r && q[qend] != 0 && q[qend] < 64)
			qend += q[qend] + 1u;
		if (qend + 5 > (size_t)r || q[qend] != 0)
			continue;
		qend += 5;
		qtype = (unsigned)q[qend - 4] << 8 | q[qend - 3];
		snprintf(type, sizeof type, "%u", qtype);
		say("dns", type);
		if (ptr == NULL || qtype != 12)
			continue;
		nl = encode_name(a + qend + 12, sizeof a - qend - 12, ptr);
		if (nl == 0)
			continue;
		memcpy(a, q, qend);
		a[2] = (unsigned char)(0x80 | (q[2] & 0x01)); /* QR, keep RD */
		a[3] = 0x80;                                  /* RA, NOERROR */
		put16(a + 4, 1);                /* the question, copied */
		put16(a + 6, 1);                /* one answer */
		put16(a + 8, 0);
		put16(a + 10, 0);
		n = qend;
		put16(a + n, 0xc00c);           /* owner: the question's name */
		put16(a + n + 2, 12);           /* PTR */
		put16(a + n + 4, 1);            /* IN */
		put16(a + n + 6, 0);
		put16(a + n + 8, 60);           /* TTL */
		put16(a + n + 10, (unsigned)nl);
		n += 12 + nl;
		sendto(s, a, n, 0, (struct sockaddr *)&from, fl);
	}
}

int
main(int argc, char **argv)
{
	const char *ip = "127.0.0.1", *mode, *arg = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned port = 0;
	int dns, s, one = 1, opt;

	while ((opt = getopt(argc, argv, "+a:P:")) != -1) {
		if (opt == 'a')
			ip = optarg;
		else if (opt == 'P')
			port = (unsigned)atoi(optarg);
		else
			usage();
	}
	if (optind >= argc)
		usage();
	mode = argv[optind++];
	dns = strncmp(mode, "dns-", 4) == 0;
	if (strcmp(mode, "reply") == 0 || strcmp(mode, "drip") == 0 ||
	    strcmp(mode, "dns-ptr") == 0) {
		if (optind >= argc)
			usage();
		arg = argv[optind++];
	} else if (strcmp(mode, "silent") != 0 && strcmp(mode, "dns-silent") != 0)
		usage();
	if (optind != argc)
		usage();
	if (port == 0)
		port = dns ? 53 : 113;
	/* A test that goes wrong must not leave this running. */
	alarm(LIFETIME);
	sl = make_sockaddr(&ss, ip, port);
	s = socket(ss.ss_family, dns ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (s == -1)
		fail("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&ss, sl) == -1)
		fail("bind");
	if (!dns && listen(s, 8) == -1)
		fail("listen");
	say("ready", NULL);
	if (dns)
		serve_dns(s, arg);
	else
		serve_ident(s, mode, arg);
	return 0;
}
