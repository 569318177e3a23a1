/*
 * ratecheck: src/rate.c against the rule it promises, on a simulated
 * clock.  Clients arrive at random times; each connection is let in when
 * rate_find counts fewer than N, and then rate_admit'ed.  Checked at every
 * arrival, against the exact record of the times let in:
 *   - let in: at most N let in during the last SECONDS (this one included);
 *   - refused: at least N let in during the last SECONDS and a sixteenth,
 *     rounded up to whole ticks (never stricter than that).
 *
 *   ratecheck N SECONDS ARRIVALS SEED
 * prints "ok ARRIVALS let-in L refused R", or the first violation (exit 1).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rate.h"

#define CLIENTS 3

static uint64_t *times[CLIENTS];   /* let in, in order */
static size_t nt[CLIENTS];

/* Connections of client c let in at times in [from, to]. */
static unsigned long
let_in(int c, uint64_t from, uint64_t to)
{
	unsigned long n = 0;
	size_t i;

	for (i = nt[c]; i > 0 && times[c][i - 1] >= from; i--)
		if (times[c][i - 1] <= to)
			n++;
	return n;
}

int
main(int argc, char **argv)
{
	unsigned long n, secs, arrivals, i, admitted = 0, refused = 0;
	uint64_t now = 1000, window_ms, slack_ms, tick;
	struct addr_key keys[CLIENTS];
	int c;

	if (argc != 5) {
		fprintf(stderr, "usage: ratecheck N SECONDS ARRIVALS SEED\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	secs = strtoul(argv[2], NULL, 10);
	arrivals = strtoul(argv[3], NULL, 10);
	srandom((unsigned)strtoul(argv[4], NULL, 10));
	window_ms = secs * 1000;
	tick = (window_ms + 15) / 16;
	slack_ms = 17 * tick;
	if (rate_init(64, 1) != 0)
		return 2;
	memset(keys, 0, sizeof keys);
	for (c = 0; c < CLIENTS; c++) {
		keys[c].family = AF_INET;
		keys[c].bits = 32;
		keys[c].bytes[3] = (uint8_t)(c + 1);
		times[c] = calloc(arrivals, sizeof *times[c]);
		if (!times[c])
			return 2;
	}
	for (i = 0; i < arrivals; i++) {
		struct rate_entry *e;
		uint32_t count;
		unsigned long exact;

		/* Gaps that bring each client, on average, to its limit, and
		 * now and then a long pause. */
		now += (uint64_t)random() % (2 * window_ms / (n * CLIENTS) + 1);
		if (random() % 100 == 0)
			now += (uint64_t)random() % (3 * window_ms);
		c = (int)(random() % CLIENTS);
		e = rate_find(&keys[c], secs, now, &count);
		if (count < n) {
			rate_admit(e);
			times[c][nt[c]++] = now;
			admitted++;
			exact = let_in(c, now >= window_ms ? now - window_ms + 1 :
			    0, now);
			if (exact > n) {
				printf("at %llu ms: %lu let in within %lu s\n",
				    (unsigned long long)now, exact, secs);
				return 1;
			}
		} else {
			refused++;
			exact = let_in(c, now >= slack_ms ? now - slack_ms : 0,
			    now);
			if (exact < n) {
				printf("at %llu ms: refused with only %lu let "
				    "in within %llu ms\n",
				    (unsigned long long)now, exact,
				    (unsigned long long)slack_ms);
				return 1;
			}
		}
	}
	printf("ok %lu let-in %lu refused %lu\n", arrivals, admitted, refused);
	return 0;
}
