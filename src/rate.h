/*
 * rate: how many connections each client was let in lately, for --rate and
 * MAXRATEIP (at most N in any window of SECONDS).  The memory is sized once
 * by rate_init and never grows: a table of clients in buckets of
 * RATE_WAYS, where a newcomer to a full bucket takes the place of the
 * client heard from longest ago.  Its invariant: while a client keeps its
 * entry, every connection it was let in during the last SECONDS is
 * counted, so it is never let in more than N times in any window of
 * SECONDS; a client forgotten (its entry taken) starts again from zero.
 */
#ifndef RATE_H
#define RATE_H

#include <stdint.h>

#include "addr.h"

/* Clients to a bucket: a newcomer evicts the stalest of these. */
#define RATE_WAYS 8
/* The most connections a window may allow, and its longest length. */
#define RATE_MAX 65535
#define RATE_WINDOW_MAX 86400

struct rate_entry;

/* Room for at least clients clients (rounded up to a power of two times
 * RATE_WAYS); seed keys the hash, drawn at random once per run.  Returns
 * 0, or -1 when memory is short. */
int rate_init(unsigned long clients, uint32_t seed);

/* The entry of client under a window of window seconds (1 to
 * RATE_WINDOW_MAX), made if need be, at now_ms on a monotonic clock;
 * *count gets the connections it was let in during the window (and up to
 * a sixteenth of it longer: a little strict, never lenient).  The entry
 * stays valid until the next call. */
struct rate_entry *rate_find(const struct addr_key *client,
    unsigned long window, uint64_t now_ms, uint32_t *count);

/* Count one more connection let in, at the now_ms of rate_find. */
void rate_admit(struct rate_entry *e);

#endif
