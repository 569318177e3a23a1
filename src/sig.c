#define _GNU_SOURCE
#include "sig.h"

#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

int sig_got_child, sig_got_term, sig_got_hup, sig_got_usr1;

static const int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
#define NHANDLED (sizeof handled / sizeof handled[0])

static sigset_t start_mask;
static struct sigaction start_chld, start_pipe;
static int chld_changed, pipe_changed;
static int sfd = -1;

int
sig_init(void)
{
	struct sigaction sa;
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < NHANDLED; i++) {
		struct sigaction now;
		sigaction(handled[i], NULL, &now);
		/* An ignored signal is dropped when sent, blocked or not:
		 * it never reaches the signalfd, and stays ignored. */
		if (now.sa_handler != SIG_IGN || handled[i] == SIGCHLD)
			sigaddset(&set, handled[i]);
	}
	/* Blocked before anything else, so none is lost or acted on by a
	 * default disposition; from here on they only queue. */
	sigprocmask(SIG_BLOCK, &set, &start_mask);

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	/* SIGCHLD ignored would make the kernel reap the children itself,
	 * out of the table's sight. */
	sigaction(SIGCHLD, NULL, &start_chld);
	if (start_chld.sa_handler == SIG_IGN ||
	    (start_chld.sa_flags & SA_NOCLDWAIT)) {
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
		chld_changed = 1;
	}
	/* A client that goes away must cost us an EPIPE, never our life. */
	sigaction(SIGPIPE, NULL, &start_pipe);
	if (start_pipe.sa_handler != SIG_IGN) {
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
		pipe_changed = 1;
	}
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return sfd;
}

void
sig_read(void)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	/* One SIGCHLD stands for any number of children, as always. */
	while ((n = read(sfd, si, sizeof si)) > 0) {
		for (i = 0; i < (size_t)n / sizeof si[0]; i++) {
			switch (si[i].ssi_signo) {
			case SIGCHLD: sig_got_child = 1; break;
			case SIGTERM:
			case SIGINT: sig_got_term = 1; break;
			case SIGHUP: sig_got_hup = 1; break;
			case SIGUSR1: sig_got_usr1 = 1; break;
			}
		}
	}
}

void
sig_child_restore(void)
{
	if (chld_changed)
		sigaction(SIGCHLD, &start_chld, NULL);
	if (pipe_changed)
		sigaction(SIGPIPE, &start_pipe, NULL);
	sigprocmask(SIG_SETMASK, &start_mask, NULL);
}
