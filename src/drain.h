/*
 * drain: the server's last stage, on SIGTERM or SIGINT.  The server has
 * closed its listening sockets already (a new server can bind at once);
 * without --drain it exits 0 now and the programs run on, as under
 * tcpserver.  With --drain=SECONDS the programs get that long to finish,
 * then SIGTERM and SIGCONT, DRAIN_GRACE seconds more, then SIGKILL, and
 * tcpwarden exits 0 once the table is empty; a second SIGTERM or SIGINT
 * skips to the next step.  Its invariant: it only ever signals pids in the
 * table, which are not reaped yet and so cannot have been reused, and it
 * leaves the table to the server, which goes on reaping as ever
 * (SIGCHLD blocked, table.h).  It never waits itself: the server's one
 * wait takes drain_timeout, and no log line waits once it has begun
 * (log_stopping).
 */
#ifndef DRAIN_H
#define DRAIN_H

#include <time.h>

#include "table.h"

/* Seconds between the SIGTERM of the drain and its SIGKILL. */
#define DRAIN_GRACE 5

/* Whether the drain has begun. */
int drain_active(void);

/* SIGTERM or SIGINT, the first: log the stop, then exit 0 at once
 * without --drain (on is 0) or with no program running; otherwise begin
 * the drain of up to seconds. */
void drain_start(const struct table *t, int on, unsigned long seconds);

/* Another SIGTERM or SIGINT during the drain: the next step now. */
void drain_skip(const struct table *t);

/* After each wake-up of the server: take the step whose time has come,
 * and exit 0 when no program is left. */
void drain_tick(const struct table *t);

/* How long the server may wait before drain_tick has work: *left, or
 * NULL for no limit (every signal sent, waiting for the reaping). */
const struct timespec *drain_timeout(struct timespec *left);

#endif
