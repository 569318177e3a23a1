/*
 * sig: tcpwarden's signals.  The handled signals (SIGCHLD, SIGTERM, SIGINT,
 * SIGHUP, SIGUSR1) are blocked at all times except inside the server's one
 * wait, which lets them in atomically (ppoll with sig_wait_mask); their
 * handlers only set a flag.  So no handler ever runs in the middle of other
 * work, and all real work, reaping and table edits above all, happens in
 * the main loop with SIGCHLD blocked.
 */
#ifndef SIG_H
#define SIG_H

#include <signal.h>

/* Set by the handlers, read and cleared by the main loop. */
extern volatile sig_atomic_t sig_got_child, sig_got_term, sig_got_hup,
    sig_got_usr1;

/* Remember the mask and dispositions tcpwarden started with, block the
 * handled signals, install their handlers, and ignore SIGPIPE.  A signal
 * that was ignored at start (nohup, a background job) is left ignored,
 * except SIGCHLD, which the server cannot do without. */
void sig_init(void);

/* The mask to wait with: the start mask, less the handled signals. */
const sigset_t *sig_wait_mask(void);

/* In a forked child before exec: every changed disposition back as it was
 * at start, then the start mask.  Async-signal-safe. */
void sig_child_restore(void);

#endif
