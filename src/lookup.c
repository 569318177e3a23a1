#define _GNU_SOURCE
#include "lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* RFC 1413: a client may give up after this many bytes without an end of
 * line, and must take at least this many bytes of user id. */
#define IDENT_LINE_MAX 1000
#define IDENT_USER_MAX 512
#define IDENT_PORT 113

void
lookup_sanitize(char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == LOOKUP_TEXT_MAX - 1) {
			s[i] = '\0';
			break;
		}
		/* ':' separates the fields of the "ok" log line. */
		if (c < 33 || c > 126 || c == ':')
			s[i] = '?';
	}
}

/* Deadlines run on CLOCK_MONOTONIC, so that setting the clock can neither
 * stretch nor cut a look-up. */
static void
deadline_start(struct timespec *d, unsigned seconds)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += (time_t)seconds;
}

/* Milliseconds to the deadline for poll: 0 once it has passed, rounded up
 * otherwise so that a wait never turns into a busy loop of zero timeouts. */
static int
deadline_ms(const struct timespec *d)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = ((long long)d->tv_sec - (long long)now.tv_sec) * 1000 +
	    ((long long)d->tv_nsec - (long long)now.tv_nsec + 999999) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Wait until fd is ready for events (or has an error or hang-up, which the
 * next call on it reports).  Returns 1 when ready, 0 when the deadline
 * passed or poll failed. */
static int
wait_fd(int fd, short events, const struct timespec *d)
{
	struct pollfd p;
	int ms, r;

	for (;;) {
		ms = deadline_ms(d);
		if (ms == 0)
			return 0;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, ms);
		if (r > 0)
			return 1;
		if (r == -1 && errno != EINTR)
			return 0;
	}
}

static socklen_t
to_sockaddr(struct sockaddr_storage *ss, const struct addr *a, unsigned port)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		memcpy(&s4->sin_addr, a->bytes, 4);
		return sizeof *s4;
	}
	{
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		memcpy(&s6->sin6_addr, a->bytes, 16);
		return sizeof *s6;
	}
}

static int
same_address(const struct addr *a, const struct addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

/* A name that getaddrinfo would read as a numeric address ("10.0.0.1",
 * "127.1") is a forged PTR record: taken as a host name it would confirm
 * itself under -p or pass for an address in rules and logs. */
static int
looks_numeric(const char *name)
{
	struct addrinfo hints, *res;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	freeaddrinfo(res);
	return 1;
}

/* Whether some forward address of name is remote.  Both sides are compared
 * in canonical form, so a hosts entry or AAAA record giving the IPv4-mapped
 * form of an IPv4 client confirms it too. */
static int
confirms(const char *name, const struct addr *remote)
{
	struct addrinfo hints, *res, *ai;
	struct addr a;
	int found = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !found; ai = ai->ai_next)
		if (addr_from_sockaddr(&a, ai->ai_addr) == 0 &&
		    same_address(&a, remote))
			found = 1;
	freeaddrinfo(res);
	return found;
}

/* The helper's whole work: find the name, check it, and send it down the
 * pipe with its NUL, or send nothing.  The name (at most LOOKUP_TEXT_MAX
 * bytes) is below PIPE_BUF, so it goes in one write that never blocks. */
static void
resolve(const struct addr *remote, int paranoid, int out)
{
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(&ss, remote, 0);
	char host[NI_MAXHOST];
	size_t n;

	if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, NULL, 0,
	    NI_NAMEREQD) != 0)
		return;
	/* Too long is refused, not cut: a cut name could end in a suffix that
	 * a "=.example.com" rule trusts and the real name does not. */
	n = strlen(host);
	if (n == 0 || n > LOOKUP_TEXT_MAX - 1 || looks_numeric(host))
		return;
	if (paranoid && !confirms(host, remote))
		return;
	while (write(out, host, n + 1) == -1 && errno == EINTR)
		;
}

/*
 * getnameinfo and getaddrinfo take no timeout, and the resolver's own
 * (resolv.conf, NSS modules) can add up to minutes.  An alarm with a
 * siglongjmp out of them would leave whatever they hold (malloc's and the
 * NSS locks, the resolver's socket) in an undefined state for the rest of
 * this child, which still builds its environment before exec.  So the
 * look-up runs in a helper process instead: it writes the name into a pipe,
 * this side waits for it on poll with the deadline, and a helper still
 * busy at the deadline is killed.  Nothing about this process changes: no
 * signal disposition, no alarm, and the helper is reaped by its own pid
 * before we return.  It costs one fork per connection, only under -h.
 */
int
lookup_host(const struct addr *remote, int paranoid, unsigned timeout_seconds,
    char *name, size_t namelen)
{
	struct timespec deadline;
	char buf[LOOKUP_TEXT_MAX + 1];
	size_t got = 0;
	int p[2], eof = 0;
	ssize_t r;
	pid_t pid;

	if (namelen == 0)
		return 0;
	name[0] = '\0';
	if (timeout_seconds == 0)
		return 0;
	deadline_start(&deadline, timeout_seconds);
	if (pipe2(p, O_CLOEXEC) == -1)
		return 0;
	pid = fork();
	if (pid == -1) {
		close(p[0]);
		close(p[1]);
		return 0;
	}
	if (pid == 0) {
		/* _exit: the stdio buffers and atexit handlers it shares with
		 * this child are not the helper's to flush or run. */
		close(p[0]);
		resolve(remote, paranoid, p[1]);
		_exit(0);
	}
	close(p[1]);
	while (got < sizeof buf && wait_fd(p[0], POLLIN, &deadline)) {
		r = read(p[0], buf + got, sizeof buf - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			eof = r == 0;
			break;
		}
		got += (size_t)r;
	}
	close(p[0]);
	/* Not at EOF means the deadline passed (or the helper is babbling):
	 * stop it now rather than wait for the resolver to give up. */
	if (!eof)
		kill(pid, SIGKILL);
	/* By pid, so no other child of this process is touched.  With SIGCHLD
	 * ignored this returns ECHILD once the helper is gone, which is fine:
	 * its answer is judged by what came down the pipe alone. */
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	/* Exactly one NUL, at the end: a helper killed or crashed half-way
	 * through its write cannot pass a truncated name. */
	if (!eof || got < 2 || buf[got - 1] != '\0' ||
	    memchr(buf, '\0', got - 1) != NULL || got > namelen)
		return 0;
	memcpy(name, buf, got);
	lookup_sanitize(name);
	return 1;
}

static const char *
skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* RFC 1413 ports: 1 to 5 digits. */
static const char *
parse_port(const char *s, unsigned *port)
{
	unsigned v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9') {
		if (++n > 5)
			return NULL;
		v = v * 10 + (unsigned)(*s - '0');
		s++;
	}
	if (n == 0 || v > 65535)
		return NULL;
	*port = v;
	return s;
}

static const char *
expect_char(const char *s, char c)
{
	s = skip_space(s);
	return *s == c ? skip_space(s + 1) : NULL;
}

/*
 * The user id in line, for a reply
 *	<rport> , <lport> : USERID : <opsys>[,<charset>] : <user-id>
 * about the port pair we asked for; NULL for ERROR replies and anything
 * else.  White space may stand between tokens.  The user id runs to the end
 * of the line; RFC 1413 counts even its leading blanks as part of it, but
 * its own example ("UNIX : stjohns") and every ident client read the blank
 * after the colon as a separator, so leading blanks are dropped.
 */
static const char *
parse_reply(const char *line, unsigned rport, unsigned lport)
{
	const char *s = skip_space(line);
	unsigned a, b;

	if ((s = parse_port(s, &a)) == NULL || (s = expect_char(s, ',')) == NULL ||
	    (s = parse_port(s, &b)) == NULL || (s = expect_char(s, ':')) == NULL)
		return NULL;
	/* A reply about another connection must not name this one's user. */
	if (a != rport || b != lport)
		return NULL;
	if (strncmp(s, "USERID", 6) != 0 || (s = expect_char(s + 6, ':')) == NULL)
		return NULL;
	if (*s == ':' || *s == '\0')
		return NULL;
	s = strchr(s, ':');
	if (s == NULL)
		return NULL;
	s = skip_space(s + 1);
	return *s != '\0' ? s : NULL;
}

/* Connect fd to sa before the deadline. */
static int
connect_by(int fd, const struct sockaddr *sa, socklen_t len,
    const struct timespec *d)
{
	int err = 0;
	socklen_t errlen = sizeof err;

	if (connect(fd, sa, len) == 0)
		return 1;
	if (errno != EINPROGRESS && errno != EINTR)
		return 0;
	if (!wait_fd(fd, POLLOUT, d))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
		return 0;
	return err == 0;
}

/* Send all of buf before the deadline.  MSG_DONTWAIT: fd may be a
 * blocking socket (the banner's), and a send must never wait past the
 * deadline for room.  MSG_NOSIGNAL: this child may or may not have
 * SIGPIPE ignored yet, and a peer that resets must cost us an error
 * return, never the process. */
static int
send_by(int fd, const char *buf, size_t len, const struct timespec *d)
{
	ssize_t r;

	while (len > 0) {
		r = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r == -1) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != EWOULDBLOCK)
				return 0;
			if (!wait_fd(fd, POLLOUT, d))
				return 0;
			continue;
		}
		buf += r;
		len -= (size_t)r;
	}
	return 1;
}

int
lookup_send(int fd, const char *buf, size_t len, unsigned timeout_seconds)
{
	struct timespec deadline;

	deadline_start(&deadline, timeout_seconds);
	return send_by(fd, buf, len, &deadline);
}

/* Read one line (ended by \n, an optional \r before it dropped) into line,
 * which holds IDENT_LINE_MAX + 1 bytes, before the deadline.  A line with a
 * NUL, one longer than IDENT_LINE_MAX, or one cut off by the peer's close
 * (which RFC 1413 says means UNKNOWN-ERROR) is refused. */
static int
recv_line_by(int fd, char *line, const struct timespec *d)
{
	size_t got = 0;
	char *nl;
	ssize_t r;

	while (got < IDENT_LINE_MAX) {
		if (!wait_fd(fd, POLLIN, d))
			return 0;
		r = recv(fd, line + got, IDENT_LINE_MAX - got, 0);
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return 0;
		}
		if (r == 0)
			return 0;
		nl = memchr(line + got, '\n', (size_t)r);
		got += (size_t)r;
		if (nl != NULL) {
			size_t n = (size_t)(nl - line);

			if (n > 0 && line[n - 1] == '\r')
				n--;
			if (memchr(line, '\0', n) != NULL)
				return 0;
			line[n] = '\0';
			return 1;
		}
	}
	return 0;
}

int
lookup_ident(const struct addr *local, const struct addr *remote,
    unsigned timeout_seconds, char *info, size_t infolen)
{
	struct sockaddr_storage from, to;
	socklen_t fromlen, tolen;
	struct timespec deadline;
	char query[32], line[IDENT_LINE_MAX + 1];
	const char *user;
	size_t n;
	int fd, ok;

	if (infolen == 0)
		return 0;
	info[0] = '\0';
	if (timeout_seconds == 0 || local->family != remote->family)
		return 0;
	deadline_start(&deadline, timeout_seconds);
	fromlen = to_sockaddr(&from, local, 0);
	tolen = to_sockaddr(&to, remote, IDENT_PORT);
	/* Non-blocking, so that connect, send and recv all wait in poll under
	 * the one deadline; close-on-exec, though it is closed before return,
	 * in case the caller's model of this child ever changes. */
	fd = socket(remote->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return 0;
	/* From the address the client reached us on: the ident server names
	 * the connection by both address pairs, and on a multi-homed host the
	 * kernel's choice of source could differ. */
	n = (size_t)snprintf(query, sizeof query, "%u , %u\r\n",
	    (unsigned)remote->port, (unsigned)local->port);
	ok = bind(fd, (struct sockaddr *)&from, fromlen) == 0 &&
	    connect_by(fd, (struct sockaddr *)&to, tolen, &deadline) &&
	    send_by(fd, query, n, &deadline) &&
	    recv_line_by(fd, line, &deadline);
	close(fd);
	if (!ok)
		return 0;
	user = parse_reply(line, remote->port, local->port);
	if (user == NULL)
		return 0;
	/* RFC 1413 puts the most significant part of a user id first, so
	 * cutting keeps what matters. */
	n = strlen(user);
	if (n > IDENT_USER_MAX)
		n = IDENT_USER_MAX;
	if (n > infolen - 1)
		n = infolen - 1;
	memcpy(info, user, n);
	info[n] = '\0';
	lookup_sanitize(info);
	return 1;
}
