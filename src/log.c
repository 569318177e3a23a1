#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum log_level log_level = LOG_ERRORS;

/*
 * Why the server does not simply write(2) to fd 2.  The signals are read
 * in the main loop only (sig.h), so a server blocked in a write to a log
 * pipe whose reader stopped reading would never see SIGTERM: only SIGKILL
 * would end it.  Setting O_NONBLOCK on fd 2 is not the way out: the flag
 * belongs to the open file description, which the programs share (their
 * stderr is ours) and which whoever started us may share too; a program
 * that writes its stderr expecting to block would get EAGAIN instead.  So
 * for a pipe, a FIFO or a terminal the server opens its stderr anew
 * through /proc/self/fd/2: a new description of the same pipe, whose
 * O_NONBLOCK is ours alone.  A socket (the journal's stream, say) needs no
 * new description: send(2) takes MSG_DONTWAIT per call.  A regular file
 * never says EAGAIN, and reopening it would give the server an offset of
 * its own, writing over the programs' lines: it stays fd 2, as does
 * anything that cannot be reopened (no /proc), where a full pipe can
 * still hold the server as before.
 *
 * A line that finds no room waits for it in poll(2), together with the
 * stop descriptor, readable while SIGTERM or SIGINT is pending (sig.h).
 * While the server runs, waiting is right: the log is complete, and a
 * slow reader slows the server down, as with tcpserver.  Once a stop is
 * pending, or the server is stopping, nothing waits: a line that does not
 * fit at once is dropped and counted, so the stop and the drain go on
 * whatever the reader does.
 */
static int out_fd = 2;          /* where the server's lines go */
static int out_is_socket;       /* then sent with MSG_DONTWAIT */
static int stop_fd = -1;        /* readable while a stop is pending */
static int stopping;            /* never wait: drop what does not fit */
static int cut;                 /* the last line was cut short */
static unsigned long lost;      /* lines dropped */

void
log_init(int fd)
{
	struct stat st;
	int nb;

	stop_fd = fd;
	if (fstat(2, &st) != 0)
		return;
	if (S_ISSOCK(st.st_mode)) {
		out_is_socket = 1;
		return;
	}
	if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
		return;
	nb = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (nb >= 0)
		out_fd = nb;
}

void
log_stopping(void)
{
	stopping = 1;
}

unsigned long
log_lost(void)
{
	return lost;
}

/* Wait until out_fd may take more.  0 when it may; -1 to give up: the
 * server is stopping, or a stop signal is pending (after which it is). */
static int
wait_room(void)
{
	struct pollfd p[2];

	if (stopping)
		return -1;
	p[0].fd = out_fd;
	p[0].events = POLLOUT;
	p[1].fd = stop_fd;
	p[1].events = POLLIN;
	for (;;) {
		p[0].revents = p[1].revents = 0;
		/* Without a stop descriptor (before log_init) this waits as a
		 * blocking write would. */
		if (poll(p, stop_fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents & POLLIN) {
			stopping = 1;
			return -1;
		}
		/* Room, or an error that the write will report. */
		if (p[0].revents)
			return 0;
	}
}

/* Write what fits of buf; returns how much was written. */
static size_t
put(const char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (out_is_socket)
			n = send(out_fd, buf + done, len - done,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			n = write(out_fd, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_room() == 0)
			continue;
		break;
	}
	return done;
}

int
log_write(const char *buf, size_t len)
{
	size_t done;

	/* A line longer than a pipe takes whole (only the dump's) may have
	 * been cut; end it first, so the next line starts a line. */
	if (cut && put("\n", 1) == 1)
		cut = 0;
	done = put(buf, len);
	if (done == len)
		return 0;
	/* A failed write of a log line has nowhere to be reported. */
	lost++;
	if (done > 0)
		cut = 1;
	return -1;
}

void
log_mem(struct log_line *l, const char *s, size_t n)
{
	/* Keep one byte for the newline; a line too long is cut, not lost. */
	size_t room = LOG_LINE_MAX - 1 - l->len;

	if (n > room)
		n = room;
	for (size_t i = 0; i < n; i++)
		l->buf[l->len + i] = s[i];
	l->len += n;
}

void
log_str(struct log_line *l, const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	log_mem(l, s, n);
}

void
log_start(struct log_line *l, const char *text)
{
	l->len = 0;
	log_str(l, "tcpwarden: ");
	log_str(l, text);
}

void
log_uint(struct log_line *l, unsigned long n)
{
	char digits[24];
	size_t i = sizeof digits;

	do {
		digits[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	log_mem(l, digits + i, sizeof digits - i);
}

void
log_addr(struct log_line *l, const struct addr *a)
{
	char text[ADDR_TEXT_MAX];
	size_t n = addr_format(a, 1, text);

	log_mem(l, text, n);
}

void
log_addr_port(struct log_line *l, const struct addr *a)
{
	log_addr(l, a);
	log_mem(l, ":", 1);
	log_uint(l, a->port);
}

void
log_flush(struct log_line *l)
{
	l->buf[l->len++] = '\n';
	/* One write, so that concurrent writers to the same stderr cannot
	 * split the line (a line of LOG_LINE_MAX fits in PIPE_BUF, which a
	 * pipe takes whole or not at all). */
	log_write(l->buf, l->len);
}

static void
log_strings(struct log_line *l, const char *s, va_list ap)
{
	/* The caller has started ap. */
	for (; s; s = va_arg(ap, const char *)) /* NOLINT(clang-analyzer-valist.Uninitialized) */
		log_str(l, s);
}

void
log_warning(const char *s, ...)
{
	struct log_line l;
	va_list ap;

	if (log_level == LOG_QUIET)
		return;
	log_start(&l, "warning: ");
	va_start(ap, s);
	log_strings(&l, s, ap);
	va_end(ap);
	log_flush(&l);
}

void
log_fatal(int code, const char *s, ...)
{
	struct log_line l;
	va_list ap;

	if (log_level != LOG_QUIET) {
		log_start(&l, "fatal: ");
		va_start(ap, s);
		log_strings(&l, s, ap);
		va_end(ap);
		log_flush(&l);
	}
	_exit(code);
}
