/*
 * tcpclient: the test suite's one client, well-behaved or not.  Every
 * option but -k takes one value.  -T SEC (10 by default) bounds connecting
 * and reading; a hold, once set up, lasts until its stdin ends or a
 * signal.
 *
 *   tcpclient [-s SRC] [-T SEC] [-k] HOST PORT
 *       connect (from SRC if given), send stdin, shut down the write side
 *       (with -k, keep it open: a relay such as HAProxy may drop what the
 *       server says after the client's end), print everything read until
 *       EOF; exit 0, or 1 if connect failed.
 *   tcpclient --hold N [--how line|silent|noread] [-s SRC] [-T SEC] HOST PORT
 *       open N connections and keep them open until stdin ends (or a
 *       signal ends the client), never sending a byte.  How:
 *       line (the default): read one line from each, so each has a live
 *           child; print "held N" (or "held K" for the K that got a line).
 *       silent: print "connected K" for the K made; whatever arrives is
 *           read and thrown away.
 *       noread: the smallest receive buffer the kernel allows, and never a
 *           read, so whatever the server writes soon fills the window;
 *           print "connected K".  Closing with unread data makes the
 *           kernel send a reset.
 *   tcpclient --reset N [-s SRC] [-T SEC] HOST PORT
 *       N times: connect, then close at once with SO_LINGER 0, so the
 *       server gets a reset instead of a FIN.  Print "reset K" for the K
 *       connections made; exit 1 unless all were.
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

/* How a holding client treats its connections once they are open. */
enum how { HOW_LINE, HOW_SILENT, HOW_NOREAD };

/* dial's flags. */
#define DIAL_NONBLOCK 1
#define DIAL_SMALL_RCVBUF 2

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

/* A socket bound to src (if any) and connecting to dst; -1 with errno if
 * the connect failed.  DIAL_SMALL_RCVBUF shrinks the receive buffer before
 * connect, so the window offered is small. */
static int
dial(const struct sockaddr_storage *dst, socklen_t dlen, const char *src,
    int flags)
{
	int fd = socket(dst->ss_family, SOCK_STREAM |
	    (flags & DIAL_NONBLOCK ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		die("socket");
	if (flags & DIAL_SMALL_RCVBUF) {
		int one = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof one))
			die("SO_RCVBUF");
	}
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
		int e = errno;
		close(fd);
		errno = e;
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

/* One line from the program proves it runs for us. */
static int
read_line(int fd)
{
	char c;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, left_ms()) <= 0 || read(fd, &c, 1) != 1)
			return 0;
		if (c == '\n')
			return 1;
	}
}

/*
 * --hold: open n, report, then keep them until stdin
 * ends (or a signal ends the process; the kernel closes them then).  p[0]
 * is stdin; p[i] is watched only for a silent client, which reads and
 * forgets, and at EOF stops looking but keeps the socket.
 */
static int
hold(const struct sockaddr_storage *dst, socklen_t dlen, const char *src,
    int n, enum how how)
{
	struct pollfd *p = calloc((size_t)n + 1, sizeof *p);
	int i, got = 0;

	if (!p)
		die("calloc");
	p[0].fd = 0;
	p[0].events = POLLIN;
	for (i = 1; i <= n; i++) {
		int fd = dial(dst, dlen, src,
		    how == HOW_NOREAD ? DIAL_SMALL_RCVBUF : 0);
		if (fd >= 0 && (how != HOW_LINE || read_line(fd)))
			got++;
		/* poll skips a negative fd, even for POLLHUP. */
		p[i].fd = how == HOW_SILENT ? fd : -1;
		p[i].events = POLLIN;
	}
	printf("%s %d\n", how == HOW_LINE ? "held" : "connected", got);
	fflush(stdout);
	for (;;) {
		char buf[4096];
		if (poll(p, (nfds_t)n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[0].revents && read(0, buf, sizeof buf) <= 0)
			return 0;
		for (i = 1; i <= n; i++)
			if (p[i].fd >= 0 && p[i].revents &&
			    read(p[i].fd, buf, sizeof buf) <= 0)
				p[i].fd = -1;
	}
}

static int
reset(const struct sockaddr_storage *dst, socklen_t dlen, const char *src,
    int n)
{
	struct linger lg = { 1, 0 };
	int i, done = 0;

	for (i = 0; i < n && left_ms() > 0; i++) {
		int fd = dial(dst, dlen, src, 0);
		if (fd < 0) {
			fprintf(stderr, "tcpclient: connect: %s\n",
			    strerror(errno));
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg))
			die("SO_LINGER");
		close(fd);
		done++;
	}
	printf("reset %d\n", done);
	return done == n ? 0 : 1;
}

static int
storm(const struct sockaddr_storage *dst, socklen_t dlen, const char *range,
    int total, int conc)
{
	char prefix[64], src[80];
	int lo = 0, hi = 0, next = 0, started = 0, ok = 0, failed = 0, live = 0;
	struct pollfd *p = calloc((size_t)conc, sizeof *p);
	int i;

	if (!p)
		die("calloc");
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
			p[i].fd = dial(dst, dlen, range ? src : NULL,
			    DIAL_NONBLOCK);
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
	int holdn = 0, resetn = 0, stormn = 0, conc = 1, i;
	enum how how = HOW_LINE;
	struct sockaddr_storage dst;
	socklen_t dlen;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *opt = argv[i];
		if (!strcmp(opt, "-k")) {
			keep_open = 1;
			continue;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "tcpclient: %s needs a value\n", opt);
			return 2;
		}
		if (!strcmp(opt, "-s"))
			src = argv[++i];
		else if (!strcmp(opt, "-T"))
			timeout_s = atoi(argv[++i]);
		else if (!strcmp(opt, "--hold"))
			holdn = atoi(argv[++i]);
		else if (!strcmp(opt, "--how") && !strcmp(argv[i + 1], "line"))
			how = HOW_LINE, i++;
		else if (!strcmp(opt, "--how") && !strcmp(argv[i + 1], "silent"))
			how = HOW_SILENT, i++;
		else if (!strcmp(opt, "--how") && !strcmp(argv[i + 1], "noread"))
			how = HOW_NOREAD, i++;
		else if (!strcmp(opt, "--reset"))
			resetn = atoi(argv[++i]);
		else if (!strcmp(opt, "--storm"))
			stormn = atoi(argv[++i]);
		else if (!strcmp(opt, "--conc"))
			conc = atoi(argv[++i]);
		else if (!strcmp(opt, "--src"))
			range = argv[++i];
		else {
			fprintf(stderr, "tcpclient: bad argument %s\n", opt);
			return 2;
		}
	}
	if (argc - i != 2 || holdn < 0 || resetn < 0 || conc < 1 ||
	    resolve(argv[i], argv[i + 1], &dst, &dlen) != 0) {
		fprintf(stderr, "usage: tcpclient [options] HOST PORT\n");
		return 2;
	}
	deadline = time(NULL) + timeout_s;
	if (holdn)
		return hold(&dst, dlen, src, holdn, how);
	if (resetn)
		return reset(&dst, dlen, src, resetn);
	if (stormn)
		return storm(&dst, dlen, range, stormn, conc);
	return one(&dst, dlen, src);
}
