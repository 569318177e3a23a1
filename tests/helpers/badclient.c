/*
 * badclient: clients that misbehave, for the fault tests.  Every mode is
 * bounded in time (-T seconds, 60 by default) and reports on stdout.
 *
 *   badclient reset [-n N] [-s SRC] HOST PORT
 *       N times (1 by default): connect, then close at once with SO_LINGER
 *       0, so the server gets a reset instead of a FIN.  Prints
 *       "reset K" for the K connections that were made.
 *   badclient silent [-n N] [-s SRC] [-T SEC] HOST PORT
 *       open N connections and never send a byte (whatever arrives is
 *       read and thrown away); print "connected K", then keep them until
 *       stdin reaches EOF, SIGTERM, or -T runs out.
 *   badclient noread [-n N] [-s SRC] [-T SEC] HOST PORT
 *       open N connections with the smallest receive buffer the kernel
 *       allows, and never read from them, so whatever the server writes
 *       soon fills the window; print "connected K", then keep them as
 *       silent does.  Closing with unread data makes the kernel send a
 *       reset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int timeout_s = 60;
static time_t deadline;
static volatile sig_atomic_t got_term;

static void
on_term(int signo)
{
	(void)signo;
	got_term = 1;
}

static void
die(const char *what)
{
	fprintf(stderr, "badclient: %s: %s\n", what, strerror(errno));
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

/* A connected socket from src (if any), or -1.  small_rcvbuf shrinks the
 * receive buffer before connect, so the window offered is small. */
static int
dial(const struct sockaddr_storage *dst, socklen_t dlen, const char *src,
    int small_rcvbuf)
{
	int fd = socket(dst->ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (small_rcvbuf) {
		int one = 1;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof one))
			die("SO_RCVBUF");
	}
	if (src) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (resolve(src, "0", &ss, &len) != 0) {
			fprintf(stderr, "badclient: bad source %s\n", src);
			exit(2);
		}
		if (bind(fd, (struct sockaddr *)&ss, len) != 0)
			die("bind");
	}
	if (connect(fd, (const struct sockaddr *)dst, dlen) != 0) {
		fprintf(stderr, "badclient: connect: %s\n", strerror(errno));
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

static int
reset(const struct sockaddr_storage *dst, socklen_t dlen, const char *src,
    int n)
{
	struct linger lg = { 1, 0 };
	int i, done = 0;

	for (i = 0; i < n && left_ms() > 0; i++) {
		int fd = dial(dst, dlen, src, 0);
		if (fd < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg))
			die("SO_LINGER");
		close(fd);
		done++;
	}
	printf("reset %d\n", done);
	return done == n ? 0 : 1;
}

/* silent and noread: open n, report, hold until told. */
static int
hold(const struct sockaddr_storage *dst, socklen_t dlen, const char *src,
    int n, int noread)
{
	struct pollfd *p = calloc((size_t)n + 1, sizeof *p);
	int *fds = calloc((size_t)n + 1, sizeof *fds);
	struct sigaction sa;
	int i, got = 0;

	if (!p || !fds)
		die("calloc");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* p[0] is stdin: its EOF is the word to let go. */
	p[0].fd = 0;
	p[0].events = POLLIN;
	for (i = 1; i <= n; i++) {
		fds[i] = dial(dst, dlen, src, noread);
		if (fds[i] >= 0)
			got++;
		/* poll skips a negative fd, even for POLLHUP: noread never
		 * looks at its sockets at all. */
		p[i].fd = noread ? -1 : fds[i];
		p[i].events = POLLIN;
	}
	printf("connected %d\n", got);
	fflush(stdout);
	while (!got_term && left_ms() > 0) {
		char buf[4096];
		int r = poll(p, (nfds_t)n + 1, left_ms());
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (p[0].revents && read(0, buf, sizeof buf) <= 0)
			break;
		for (i = 1; i <= n; i++) {
			/* silent reads and forgets; at EOF it stops looking,
			 * and keeps the socket until told. */
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (read(p[i].fd, buf, sizeof buf) <= 0)
				p[i].fd = -1;
		}
	}
	for (i = 1; i <= n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *src = NULL, *mode;
	int n = 1, i;
	struct sockaddr_storage dst;
	socklen_t dlen;

	if (argc < 2) {
		fprintf(stderr, "usage: badclient reset|silent|noread "
		    "[-n N] [-s SRC] [-T SEC] HOST PORT\n");
		return 2;
	}
	mode = argv[1];
	for (i = 2; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			src = argv[++i];
		else if (!strcmp(argv[i], "-T") && i + 1 < argc)
			timeout_s = atoi(argv[++i]);
		else {
			fprintf(stderr, "badclient: bad argument %s\n",
			    argv[i]);
			return 2;
		}
	}
	if (n < 1 || argc - i != 2 ||
	    resolve(argv[i], argv[i + 1], &dst, &dlen) != 0) {
		fprintf(stderr, "usage: badclient reset|silent|noread "
		    "[-n N] [-s SRC] [-T SEC] HOST PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	deadline = time(NULL) + timeout_s;
	if (!strcmp(mode, "reset"))
		return reset(&dst, dlen, src, n);
	if (!strcmp(mode, "silent"))
		return hold(&dst, dlen, src, n, 0);
	if (!strcmp(mode, "noread"))
		return hold(&dst, dlen, src, n, 1);
	fprintf(stderr, "badclient: unknown mode %s\n", mode);
	return 2;
}
