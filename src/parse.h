/*
 * parse: strict readers for what the command line and the environment give
 * tcpwarden: whole numbers in a range, and messages with \r \n \\ escapes.
 * Nothing here trusts its input; every function fails rather than guesses.
 */
#ifndef PARSE_H
#define PARSE_H

#include <stddef.h>

/* Read s, which must be all decimal digits (no sign, no space, at least
 * one), as a number from min to max.  Returns 0, or -1 if s is not one. */
int parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out);

/* Undo the escapes \r, \n and \\ of s into out, which has room for
 * strlen(s) + 1 bytes.  Returns the length, or -1 for any other escape or a
 * lone trailing backslash. */
long parse_escapes(const char *s, char *out);

/* Read s, "N" or "N/SECONDS" (a rate: N connections in each window of
 * SECONDS, 1 without), N from 0 to max_n and SECONDS from 1 to
 * max_window.  Returns 0, or -1 if s is not one. */
int parse_rate(const char *s, unsigned long max_n, unsigned long max_window,
    unsigned long *n, unsigned long *window);

#endif
