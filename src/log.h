/*
 * log: tcpwarden's lines on stderr.  A line is built in a fixed buffer on
 * the stack and leaves in one write(2), so lines never interleave and no
 * stdio or allocation is involved: safe in a forked child too.  Once
 * log_init has run, no line can hold the server past a SIGTERM or SIGINT:
 * a line that finds the log pipe full waits for room and for those
 * signals at once, and after them no line waits at all.
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

/* Write buf (len bytes, a whole line or lines, newline included) as
 * log_flush writes a line; for what does not fit in a struct log_line
 * (the state dump).  Returns 0, or -1 when it was not written (whole). */
int log_write(const char *buf, size_t len);

/* Once, after sig_init: from now on the server's lines go out without
 * ever blocking in write(2), and a line that finds no room waits for it
 * in poll(2) beside stop_fd (sig_stop_fd), giving up when that turns
 * readable. */
void log_init(int stop_fd);

/* The server is stopping: from now on a line that finds no room is
 * dropped at once, never waited for. */
void log_stopping(void);

/* How many lines were dropped so far. */
unsigned long log_lost(void);

/* "tcpwarden: warning: " and the strings up to NULL, at -Q and -v. */
void log_warning(const char *s, ...);
/* "tcpwarden: fatal: " and the strings up to NULL, then _exit(code).
 * Written whatever the level, except -q. */
void log_fatal(int code, const char *s, ...)
    __attribute__((__noreturn__));

#endif
