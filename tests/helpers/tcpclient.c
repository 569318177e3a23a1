/*
 * tcpclient: the test suite's client.  Every mode is bounded in time
 * (-T seconds, 10 by default) and reports what it saw on stdout.
 *
 *   tcpclient [-s SRC] [-T SEC] [-k] HOST PORT
 *       connect (from SRC if given), send stdin, shut down the write side
 *       (with -k, keep it open: a relay such as HAProxy may drop what the
 *       server says after the client's end), print everything read until
 *       EOF; exit 0, or 1 if connect failed.
 *   tcpclient --hold N [-s SRC] [-T SEC] HOST PORT
 *       open N connections and read one line from each, so each has a live
 *       child; print "held N" (or "held K" for the K that got a line), then
 *       keep them open until stdin reaches EOF.
 *   tcpclient --storm N --conc K [--src A.B.C.X-Y] [-T SEC] HOST PORT
 *       N connections, K at a time, source addresses round robin over
 *       A.B.C.X to A.B.C.Y; each is read to EOF.  Prints
 *       "done N ok O failed F".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int timeout_s = 10;
static int keep_open;      /* -k */
static time_t deadline;

static void
die(const char *what)
{
	fprintf(stderr, "tcpclient: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int
resolve(const char *host, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo hints, *res;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A socket bound to src (if any) and connecting to dst, blocking. */
static int
dial(const struct sockaddr_storage *dst, socklen_t dlen, const char *src,
    int nonblock)
{
	int fd = socket(dst->ss_family, SOCK_STREAM |
	    (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		die("socket");
	if (src) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (resolve(src, "0", &ss, &len) != 0) {
			fprintf(stderr, "tcpclient: bad source %s\n", src);
			exit(2);
		}
		if (bind(fd, (struct sockaddr *)&ss, len) != 0)
			die("bind");
	}
	if (connect(fd, (const struct sockaddr *)dst, dlen) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
left_ms(void)
{
	time_t now = time(NULL);

	return now >= deadline ? 0 : (int)(deadline - now) * 1000;
}

/* Read fd to EOF onto out (or nowhere); 0 at EOF, -1 on error/timeout. */
static int
drain(int fd, FILE *out)
{
	char buf[4096];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		if (poll(&p, 1, left_ms()) <= 0)
			return -1;
		n = read(fd, buf, sizeof buf);
		if (n == 0)
			return 0;
		if (n < 0)
			return -1;
		if (out)
			fwrite(buf, 1, (size_t)n, out);
	}
}

static int
one(const struct sockaddr_storage *dst, socklen_t dlen, const char *src)
{
	char buf[4096];
	ssize_t n;
	int fd = dial(dst, dlen, src, 0);

	if (fd < 0) {
		fprintf(stderr, "tcpclient: connect: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(0, buf, sizeof buf)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	if (!keep_open)
		shutdown(fd, SHUT_WR);
	if (drain(fd, stdout) != 0) {
		fflush(stdout);
		fprintf(stderr, "tcpclient: read: %s\n",
		    errno ? strerror(errno) : "timed out");
		return 3;
	}
	return 0;
}

static int
hold(const struct sockaddr_storage *dst, socklen_t dlen, const char *src,
    int n)
{
	int *fds = calloc((size_t)n, sizeof *fds), i, got = 0;
	char c, buf[1];

	for (i = 0; i < n; i++) {
		fds[i] = dial(dst, dlen, src, 0);
		if (fds[i] < 0)
			continue;
		/* One line from the program proves it runs for us. */
		for (;;) {
			struct pollfd p = { fds[i], POLLIN, 0 };
			if (poll(&p, 1, left_ms()) <= 0 ||
			    read(fds[i], &c, 1) != 1)
				break;
			if (c == '\n') {
				got++;
				break;
			}
		}
	}
	printf("held %d\n", got);
	fflush(stdout);
	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}

static int
storm(const struct sockaddr_storage *dst, socklen_t dlen, const char *range,
    int total, int conc)
{
	char prefix[64], src[80];
	int lo = 0, hi = 0, next = 0, started = 0, ok = 0, failed = 0, live = 0;
	struct pollfd *p = calloc((size_t)conc, sizeof *p);
	int i;

	if (range) {
		const char *dot = strrchr(range, '.');
		if (!dot || sscanf(dot + 1, "%d-%d", &lo, &hi) != 2 ||
		    (size_t)(dot - range) >= sizeof prefix) {
			fprintf(stderr, "tcpclient: bad range %s\n", range);
			return 2;
		}
		memcpy(prefix, range, (size_t)(dot - range));
		prefix[dot - range] = '\0';
	}
	for (i = 0; i < conc; i++)
		p[i].fd = -1;
	while ((started < total || live > 0) && left_ms() > 0) {
		for (i = 0; i < conc && started < total; i++) {
			if (p[i].fd >= 0)
				continue;
			if (range) {
				snprintf(src, sizeof src, "%s.%d", prefix,
				    lo + next);
				next = (next + 1) % (hi - lo + 1);
			}
			p[i].fd = dial(dst, dlen, range ? src : NULL, 1);
			p[i].events = POLLIN;
			started++;
			if (p[i].fd < 0)
				failed++;
			else
				live++;
		}
		if (poll(p, (nfds_t)conc, 1000) < 0)
			die("poll");
		for (i = 0; i < conc; i++) {
			char buf[512];
			ssize_t n;
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			n = read(p[i].fd, buf, sizeof buf);
			if (n > 0)
				continue;
			if (n < 0 && errno == EAGAIN)
				continue;
			if (n == 0)
				ok++;
			else
				failed++;
			close(p[i].fd);
			p[i].fd = -1;
			live--;
		}
	}
	failed += live;
	printf("done %d ok %d failed %d\n", started, ok, failed);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *src = NULL, *range = NULL;
	int holdn = 0, stormn = 0, conc = 1, i;
	struct sockaddr_storage dst;
	socklen_t dlen;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-s") && i + 1 < argc)
			src = argv[++i];
		else if (!strcmp(argv[i], "-k"))
			keep_open = 1;
		else if (!strcmp(argv[i], "-T") && i + 1 < argc)
			timeout_s = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			holdn = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--storm") && i + 1 < argc)
			stormn = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--conc") && i + 1 < argc)
			conc = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--src") && i + 1 < argc)
			range = argv[++i];
		else {
			fprintf(stderr, "tcpclient: bad argument %s\n",
			    argv[i]);
			return 2;
		}
	}
	if (argc - i != 2 || resolve(argv[i], argv[i + 1], &dst, &dlen) != 0) {
		fprintf(stderr, "usage: tcpclient [options] HOST PORT\n");
		return 2;
	}
	deadline = time(NULL) + timeout_s;
	if (holdn)
		return hold(&dst, dlen, src, holdn);
	if (stormn)
		return storm(&dst, dlen, range, stormn, conc);
	return one(&dst, dlen, src);
}
