/*
 * sig: tcpwarden's signals, read as data.  The handled signals (SIGCHLD,
 * SIGTERM, SIGINT, SIGHUP, SIGUSR1) are blocked for the whole run and
 * arrive through a signalfd that the server polls beside the listening
 * socket.  No handler exists, so nothing can ever interrupt the server in
 * the middle of a table edit; and since a signal is read whenever it is
 * pending, a busy listening socket cannot hold SIGCHLD back.
 */
#ifndef SIG_H
#define SIG_H

#include <sys/types.h>

/* What the last sig_read found pending; the main loop clears them.
 * sig_got_trap: a SIGCHLD for a stop (CLD_TRAPPED or CLD_STOPPED), so
 * that a tracee of ours may be waiting to be let go.  It is a hint only:
 * a SIGCHLD already pending swallows the next one, and its code with
 * it. */
extern int sig_got_child, sig_got_term, sig_got_hup, sig_got_usr1;
extern int sig_got_trap;

/* The children whose end sent the SIGCHLDs that the last sig_read took,
 * sig_ended_n of them (young.h): one, almost always, since one SIGCHLD
 * pending swallows the next.  More than SIG_ENDED_MAX are not kept. */
#define SIG_ENDED_MAX 4
extern pid_t sig_ended[SIG_ENDED_MAX];
extern unsigned sig_ended_n;

/* Remember the mask and dispositions tcpwarden started with, block the
 * handled signals, open the signalfd, and ignore SIGPIPE.  SIGINT ignored
 * at start (a background job) stays ignored; the others are taken even if
 * they were ignored, and given back ignored to the child.  Returns the
 * signalfd (non-blocking, close-on-exec), or -1. */
int sig_init(void);

/* A second signalfd, for SIGTERM and SIGINT only, that nobody reads: it
 * is readable exactly while one of them waits, so code that must wait
 * elsewhere than in the main loop (a log line on a full pipe, log.h) can
 * wait on it too and give way to a stop, without taking the signal from
 * the main loop.  -1 if it could not be made. */
int sig_stop_fd(void);

/* Read every pending signal from the signalfd into the flags above. */
void sig_read(void);

/* In a forked child before exec: every changed disposition back as it was
 * at start, then the start mask.  Async-signal-safe. */
void sig_child_restore(void);

/* The same for a child that may make raw system calls only (launch.h):
 * the start mask as the kernel takes it (its first 64 signals) in *mask,
 * and in *pipe_default whether SIGPIPE must go back to its default
 * action.  Returns 0, or -1 when some other disposition must be set back
 * too (the child is then spawned the usual way). */
int sig_child_raw(unsigned long *mask, int *pipe_default);

#endif
