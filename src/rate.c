#define _GNU_SOURCE
#include "rate.h"

#include <stdlib.h>
#include <string.h>

/*
 * A window is cut into SLICES ticks of at least window / SLICES each, and
 * a client's count is the sum of the last SLICES + 1 ticks, the current
 * one included.  Those cover the whole window before now, wherever in its
 * tick now falls, so no connection of the window is ever missed (hence
 * never more than N in any window); they may cover up to one tick more,
 * so a connection is at worst refused a sixteenth of a window too long.
 * The ticks form a ring: tick t counts at t % (SLICES + 1).
 */
#define SLICES 16
#define RING (SLICES + 1)

/* One client; 64 bytes, a cache line. */
struct rate_entry {
	uint64_t last;             /* tick of its last connection attempt */
	uint32_t tick_ms;          /* tick length of its window; 0: free */
	uint16_t count[RING];      /* connections let in, by tick */
	struct addr_key key;
};

static struct rate_entry *entries;
static uint32_t bucket_mask;    /* buckets - 1, a power of two */
static uint32_t hash_seed;

int
rate_init(unsigned long clients, uint32_t seed)
{
	unsigned long buckets = 1;

	while (buckets * RATE_WAYS < clients)
		buckets *= 2;
	entries = calloc(buckets * RATE_WAYS, sizeof *entries);
	if (!entries)
		return -1;
	bucket_mask = (uint32_t)(buckets - 1);
	hash_seed = seed;
	return 0;
}

/* How long ago e was last heard from, in ms; UINT64_MAX for an entry
 * that holds nothing any more (free, or quiet for a whole ring), so that
 * such an entry is always the first to be taken. */
static uint64_t
staleness(const struct rate_entry *e, uint64_t now_ms)
{
	uint64_t age;

	if (e->tick_ms == 0)
		return UINT64_MAX;
	age = now_ms / e->tick_ms - e->last;
	return age >= RING ? UINT64_MAX : age * e->tick_ms;
}

struct rate_entry *
rate_find(const struct addr_key *client, unsigned long window,
    uint64_t now_ms, uint32_t *count)
{
	uint32_t tick_ms = (uint32_t)((window * 1000 + SLICES - 1) / SLICES);
	uint64_t now = now_ms / tick_ms, gap, t, stale, stalest = 0;
	struct rate_entry *b, *e = NULL;
	uint32_t sum = 0;
	unsigned i;

	b = entries + (size_t)(addr_key_hash(client, hash_seed) &
	    bucket_mask) * RATE_WAYS;
	for (i = 0; i < RATE_WAYS; i++) {
		if (b[i].tick_ms && addr_key_equal(&b[i].key, client)) {
			e = &b[i];
			break;
		}
	}
	if (!e) {
		/* A newcomer: in the place of the client heard from longest
		 * ago, which is forgotten. */
		for (i = 0; i < RATE_WAYS; i++) {
			stale = staleness(&b[i], now_ms);
			if (!e || stale > stalest) {
				e = &b[i];
				stalest = stale;
			}
		}
		memset(e, 0, sizeof *e);
		e->key = *client;
	}
	if (e->tick_ms != tick_ms) {
		/* New, or its window changed (a rule, or a reload): counts
		 * of another window mean nothing in this one. */
		memset(e->count, 0, sizeof e->count);
		e->tick_ms = tick_ms;
		e->last = now;
	}
	/* Clear the ticks that passed since it was last heard from. */
	gap = now - e->last;
	if (gap >= RING)
		memset(e->count, 0, sizeof e->count);
	else
		for (t = 1; t <= gap; t++)
			e->count[(e->last + t) % RING] = 0;
	e->last = now;
	for (i = 0; i < RING; i++)
		sum += e->count[i];
	*count = sum;
	return e;
}

void
rate_admit(struct rate_entry *e)
{
	uint16_t *c = &e->count[e->last % RING];

	if (*c < UINT16_MAX)
		(*c)++;
}
