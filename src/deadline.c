#define _GNU_SOURCE
#include "deadline.h"

#define NS 1000000000L

void
deadline_in(struct timespec *d, time_t sec, long nsec)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += sec;
	d->tv_nsec += nsec;
	if (d->tv_nsec >= NS) {
		d->tv_sec++;
		d->tv_nsec -= NS;
	}
}

int
deadline_left(const struct timespec *d, struct timespec *left)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	left->tv_sec = d->tv_sec - now.tv_sec;
	left->tv_nsec = d->tv_nsec - now.tv_nsec;
	if (left->tv_nsec < 0) {
		left->tv_sec--;
		left->tv_nsec += NS;
	}
	if (left->tv_sec < 0 || (left->tv_sec == 0 && left->tv_nsec == 0)) {
		left->tv_sec = 0;
		left->tv_nsec = 0;
		return 0;
	}
	return 1;
}

const struct timespec *
deadline_first(const struct timespec *a, const struct timespec *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (b->tv_sec < a->tv_sec || (b->tv_sec == a->tv_sec &&
	    b->tv_nsec < a->tv_nsec))
		return b;
	return a;
}
