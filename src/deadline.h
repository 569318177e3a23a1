/*
 * deadline: moments on CLOCK_MONOTONIC and the time left until them, for
 * the timeouts of the server's one wait (a pause in accepting, a PROXY
 * header due, the drain's next step).  The time left is never negative:
 * a deadline that has passed has none.
 */
#ifndef DEADLINE_H
#define DEADLINE_H

#include <time.h>

/* *d becomes now plus sec seconds and nsec nanoseconds (below 1e9). */
void deadline_in(struct timespec *d, time_t sec, long nsec);

/* The time left until d, in *left.  Returns 1 while some is left, 0 once
 * d has come (*left is then zero). */
int deadline_left(const struct timespec *d, struct timespec *left);

/* The shorter of two waits, either of which may be NULL (no limit). */
const struct timespec *deadline_first(const struct timespec *a,
    const struct timespec *b);

#endif
