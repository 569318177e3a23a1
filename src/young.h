/*
 * young: children that have no pidfd yet, though the table is past
 * REAP_PIDFD_FROM (reap.h).  A pidfd costs the server about a quarter of
 * its work for a connection (the kernel makes and frees an inode for it,
 * and it is moved up, watched and closed): measured, 6 of 24 µs.  Most
 * programs end within a few milliseconds, and most of those can be found
 * without one.  So past REAP_PIDFD_FROM a child starts young, known by
 * its pid alone, in a list in the order of birth; waitpid(pid) costs the
 * same however many other children live, as long as we know which pid to
 * ask for.
 *
 * The pid comes from SIGCHLD: its siginfo names the child whose end sent
 * it (sig.h), which is reaped at once.  But SIGCHLD does not queue: an end
 * while one is pending is told by nobody.  So once a SIGCHLD has been
 * read, a sweep is due: each young child is asked, waitpid(pid, WNOHANG).
 * Sweeps come at most every YOUNG_SWEEP_MS, so that their cost does not
 * grow with the rate of ends; and a child still young YOUNG_MS after its
 * birth is given its pidfd at the next sweep, so that a sweep asks few.
 *
 * What holds: a young child that has ended is reaped no later than
 * YOUNG_SWEEP_MS after the first SIGCHLD read after its end (the SIGCHLD
 * its own end sent, or one that swallowed it); and no child stays young
 * longer than YOUNG_MS plus one sweep.  The list only points at the
 * table: an entry whose child has been reaped or tracked since is
 * dropped at the next sweep, and the table alone says who is young.
 */
#ifndef YOUNG_H
#define YOUNG_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define YOUNG_SWEEP_MS 1
#define YOUNG_MS 4

/* Room for up to max young children; the list itself is allocated on the
 * first young_add, so that it costs nothing where the table never grows
 * past REAP_PIDFD_FROM. */
void young_init(uint32_t max);

/* Whether a new child can start young: the list can be had and has room.
 * When it cannot, the child takes a pidfd at once, as before. */
int young_room(void);

/* Child pid, just started, is young.  young_room must have said yes. */
void young_add(pid_t pid);

/* A SIGCHLD has been read: a sweep is due, YOUNG_SWEEP_MS after the last
 * at most. */
void young_told(void);

/* How long the server may wait before the next sweep is due, in *left;
 * NULL when none will be (no young child). */
const struct timespec *young_timeout(struct timespec *left);

/* Whether a sweep is due now. */
int young_due(void);

/* What a sweep asks about each child on the list: its pid, and whether it
 * is old (young for YOUNG_MS or more).  Returns 1 to keep it on the list
 * (it lives), 0 to drop it; an old child is dropped whatever the answer,
 * so the visit gives it its pidfd (or leaves it to the sweep of reap.h). */
typedef int young_visit_fn(pid_t pid, int old);

/* Visit every child on the list, oldest first.  Call it when young_due
 * says so, or whenever every end must be seen now. */
void young_sweep(young_visit_fn *visit);

#endif
