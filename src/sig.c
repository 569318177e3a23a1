#define _GNU_SOURCE
#include "sig.h"

#include <string.h>

volatile sig_atomic_t sig_got_child, sig_got_term, sig_got_hup, sig_got_usr1;

static const int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
#define NHANDLED (sizeof handled / sizeof handled[0])

static sigset_t start_mask, wait_mask;
static struct sigaction start_action[NHANDLED], start_pipe;
static int changed[NHANDLED], pipe_changed;

static void
on_signal(int signo)
{
	switch (signo) {
	case SIGCHLD: sig_got_child = 1; break;
	case SIGTERM:
	case SIGINT: sig_got_term = 1; break;
	case SIGHUP: sig_got_hup = 1; break;
	case SIGUSR1: sig_got_usr1 = 1; break;
	}
}

void
sig_init(void)
{
	struct sigaction sa;
	sigset_t block;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < NHANDLED; i++)
		sigaddset(&block, handled[i]);
	/* Block first, so no signal can arrive between two handlers' setup
	 * and find the loop unready. */
	sigprocmask(SIG_BLOCK, &block, &start_mask);
	wait_mask = start_mask;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < NHANDLED; i++) {
		sigaction(handled[i], NULL, &start_action[i]);
		if (start_action[i].sa_handler == SIG_IGN &&
		    handled[i] != SIGCHLD)
			continue;
		sigaction(handled[i], &sa, NULL);
		changed[i] = 1;
		sigdelset(&wait_mask, handled[i]);
	}

	/* A client that goes away must cost us an EPIPE, never our life. */
	sigaction(SIGPIPE, NULL, &start_pipe);
	if (start_pipe.sa_handler != SIG_IGN) {
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
		pipe_changed = 1;
	}
}

const sigset_t *
sig_wait_mask(void)
{
	return &wait_mask;
}

void
sig_child_restore(void)
{
	size_t i;

	for (i = 0; i < NHANDLED; i++)
		if (changed[i])
			sigaction(handled[i], &start_action[i], NULL);
	if (pipe_changed)
		sigaction(SIGPIPE, &start_pipe, NULL);
	sigprocmask(SIG_SETMASK, &start_mask, NULL);
}
