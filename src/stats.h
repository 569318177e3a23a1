/*
 * stats: what the server has done since start, and the SIGUSR1 dump that
 * shows it beside the table.  Plain counters in the parent, bumped where
 * each event happens (a forked child's bumps stay in the child), never
 * reset, nothing allocated; the dump allocates, once per SIGUSR1.
 */
#ifndef STATS_H
#define STATS_H

#include "table.h"

/* Why a connection was refused before any program started: the name is
 * the word of its deny line, and of its count in the dump.  A new reason
 * is one more line here. */
#define STATS_REFUSALS(X)                                                   \
	X(STATS_RULE, "rule")             /* a deny rule */                \
	X(STATS_DROP, "drop")             /* the rules could not be read */ \
	X(STATS_PER_CLIENT, "per-client") /* over -C or MAXCONNIP */       \
	X(STATS_PER_NET, "per-net")       /* over -N or MAXCONNC */        \
	X(STATS_RATE, "rate")             /* over --rate or MAXRATEIP */   \
	X(STATS_PROXY, "proxy")           /* a bad or late PROXY header */

#define STATS_ENUM_(id, name) id,
enum stats_refusal { STATS_REFUSALS(STATS_ENUM_) STATS_REFUSAL_KINDS };
#undef STATS_ENUM_

struct stats {
	unsigned long accepted;     /* connections accept(2) gave us */
	unsigned long refused[STATS_REFUSAL_KINDS];
	unsigned long unstarted;    /* fork failed, or (where the server can
	                             * see it) exec */
	unsigned long exit_zero;    /* programs ended: exit 0 */
	unsigned long exit_other;   /* another exit code */
	unsigned long signaled;     /* killed by a signal */
};

extern struct stats stats;

/* The word for a refusal, as in "deny IP:PORT per-client 3/3". */
const char *stats_refusal_name(enum stats_refusal why);

/* A program ended with this wait status. */
void stats_ended(int status);

/* SIGUSR1: the state line, the totals, each client (and, with nets, each
 * network) with its count, its limit and, for a client, its pids. */
void stats_dump(const struct table *t, unsigned long max_conns, int nets);

#endif
