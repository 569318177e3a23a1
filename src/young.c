#define _GNU_SOURCE
#include "young.h"

#include <stdlib.h>

struct young {
	pid_t pid;
	uint32_t born;    /* ms on CLOCK_MONOTONIC, modulo 2^32 */
};

/* list[0 .. n-1], in the order of birth: list[0] is the oldest.  A child
 * is added at the end, and a sweep moves those it keeps down in place. */
static struct young *list;
static uint32_t cap, n;
static int no_list;         /* it could not be allocated: no child is young */
static int sweeping;        /* no young_add while a sweep compacts the list */
static int told;            /* a SIGCHLD read since the last sweep */
static uint32_t last_sweep;

/* Milliseconds, for ages and waits of a few: the differences of two are
 * right across the wrap, 49 days on. */
static uint32_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint32_t)t.tv_sec * 1000u + (uint32_t)(t.tv_nsec / 1000000);
}

void
young_init(uint32_t max)
{
	/* Room for the dead too: an entry whose child was reaped by its
	 * SIGCHLD stays until the next sweep drops it. */
	cap = max > UINT32_MAX / 2 ? UINT32_MAX : max * 2;
}

int
young_room(void)
{
	if (!list && !no_list && cap > 0) {
		list = malloc((size_t)cap * sizeof *list);
		no_list = list == NULL;
	}
	return list && !sweeping && n < cap;
}

void
young_add(pid_t pid)
{
	list[n].pid = pid;
	list[n].born = now_ms();
	n++;
}

void
young_told(void)
{
	told = 1;
}

/* Milliseconds from now until the next sweep is due (0: due now), or -1
 * when none will be. */
static long
wait_ms(uint32_t now)
{
	long w, w2;

	if (n == 0)
		return -1;
	/* The oldest child is given its pidfd at YOUNG_MS. */
	w = (long)YOUNG_MS - (long)(uint32_t)(now - list[0].born);
	if (told) {
		w2 = (long)YOUNG_SWEEP_MS - (long)(uint32_t)(now - last_sweep);
		if (w2 < w)
			w = w2;
	}
	return w < 0 ? 0 : w;
}

const struct timespec *
young_timeout(struct timespec *left)
{
	long w;

	/* (No clock is read on the common path, of no young child.) */
	if (n == 0 || (w = wait_ms(now_ms())) < 0)
		return NULL;
	left->tv_sec = w / 1000;
	left->tv_nsec = w % 1000 * 1000000L;
	return left;
}

int
young_due(void)
{
	return n > 0 && wait_ms(now_ms()) == 0;
}

void
young_sweep(young_visit_fn *visit)
{
	uint32_t now, i, kept = 0;

	told = 0;
	if (n == 0)
		return;
	now = now_ms();
	sweeping = 1;
	/* Those kept move down in place, in their order. */
	for (i = 0; i < n; i++) {
		struct young y = list[i];
		int old = (uint32_t)(now - y.born) >= YOUNG_MS;

		/* An old one goes whatever the answer, or the next sweep
		 * would be due at once, and the next. */
		if (visit(y.pid, old) && !old)
			list[kept++] = y;
	}
	n = kept;
	sweeping = 0;
	last_sweep = now;
}
