/*
 * log: tcpwarden's lines on stderr.  A line is built in a fixed buffer on
 * the stack and leaves in one write(2), so lines never interleave and no
 * stdio or allocation is involved: safe in a forked child too.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

#include "addr.h"

enum log_level { LOG_QUIET, LOG_ERRORS, LOG_VERBOSE };

/* -q, -Q or -v; LOG_ERRORS until set. */
extern enum log_level log_level;

#define LOG_LINE_MAX 1024

struct log_line {
	size_t len;
	char buf[LOG_LINE_MAX];
};

/* Start a line with "tcpwarden: " and then text. */
void log_start(struct log_line *l, const char *text);
void log_str(struct log_line *l, const char *s);
void log_mem(struct log_line *l, const char *s, size_t n);
void log_uint(struct log_line *l, unsigned long n);
/* An address as in log lines: IPv6 in brackets. */
void log_addr(struct log_line *l, const struct addr *a);
/* addr:port, as "127.0.0.1:43210" or "[::1]:43210". */
void log_addr_port(struct log_line *l, const struct addr *a);
/* End the line and write it, whatever the level (the caller decides). */
void log_flush(struct log_line *l);

/* "tcpwarden: warning: " and the strings up to NULL, at -Q and -v. */
void log_warning(const char *s, ...);
/* "tcpwarden: fatal: " and the strings up to NULL, then _exit(code).
 * Written whatever the level, except -q. */
void log_fatal(int code, const char *s, ...)
    __attribute__((__noreturn__));

#endif
