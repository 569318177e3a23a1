#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <unistd.h>

enum log_level log_level = LOG_ERRORS;

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
	 * split the line; a failed write of a log line has nowhere to go. */
	if (write(2, l->buf, l->len) < 0)
		return;
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
