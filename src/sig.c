#define _GNU_SOURCE
#include "sig.h"

#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

int sig_got_child, sig_got_term, sig_got_hup, sig_got_usr1;
int sig_got_trap;
pid_t sig_ended[SIG_ENDED_MAX];
unsigned sig_ended_n;

static const int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
#define NHANDLED (sizeof handled / sizeof handled[0])

static sigset_t start_mask;
static struct sigaction start_action[NHANDLED], start_pipe;
static int changed[NHANDLED], pipe_changed;
static int sfd = -1, stop_fd = -1;

int
sig_init(void)
{
	struct sigaction sa;
	sigset_t set;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (i = 0; i < NHANDLED; i++) {
		sigaction(handled[i], NULL, &start_action[i]);
		/* SIGINT ignored at start is a background job's, which
		 * Ctrl-C in its terminal must not end: it stays ignored (an
		 * ignored signal is dropped when sent, blocked or not).
		 * The others are ours whatever we inherited: SIGTERM must
		 * stop us, and SIGCHLD ignored would make the kernel reap the
		 * children itself, out of the table's sight. */
		if (start_action[i].sa_handler == SIG_IGN &&
		    handled[i] == SIGINT)
			continue;
		if (start_action[i].sa_handler == SIG_IGN ||
		    (handled[i] == SIGCHLD &&
		    (start_action[i].sa_flags & SA_NOCLDWAIT))) {
			sa.sa_handler = SIG_DFL;
			sigaction(handled[i], &sa, NULL);
			changed[i] = 1;
		}
		sigaddset(&set, handled[i]);
	}
	/* Blocked, they only queue, for the signalfd: their default
	 * dispositions never act. */
	sigprocmask(SIG_BLOCK, &set, &start_mask);

	/* A client that goes away must cost us an EPIPE, never our life. */
	sigaction(SIGPIPE, NULL, &start_pipe);
	if (start_pipe.sa_handler != SIG_IGN) {
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
		pipe_changed = 1;
	}
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	/* Of the stop signals, those we took: an ignored SIGINT never
	 * waits, so it must not be watched either. */
	sigdelset(&set, SIGCHLD);
	sigdelset(&set, SIGHUP);
	sigdelset(&set, SIGUSR1);
	stop_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return sfd;
}

int
sig_stop_fd(void)
{
	return stop_fd;
}

void
sig_read(void)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	/* One SIGCHLD stands for any number of children, as always.  A
	 * short read has taken every pending signal: no need to ask again. */
	while ((n = read(sfd, si, sizeof si)) > 0) {
		for (i = 0; i < (size_t)n / sizeof si[0]; i++) {
			switch (si[i].ssi_signo) {
			case SIGCHLD:
				sig_got_child = 1;
				/* A stop: of a tracee of ours, or of a
				 * child we have just let go (reap.h), whose
				 * SIGCHLD may have swallowed a tracee's. */
				if (si[i].ssi_code == CLD_TRAPPED ||
				    si[i].ssi_code == CLD_STOPPED)
					sig_got_trap = 1;
				/* An end names its child.  (A SIGCHLD
				 * that kill(2) sent has a code of its
				 * own, SI_USER, and names the sender.) */
				if ((si[i].ssi_code == CLD_EXITED ||
				    si[i].ssi_code == CLD_KILLED ||
				    si[i].ssi_code == CLD_DUMPED) &&
				    sig_ended_n < SIG_ENDED_MAX)
					sig_ended[sig_ended_n++] =
					    (pid_t)si[i].ssi_pid;
				break;
			case SIGTERM:
			case SIGINT: sig_got_term = 1; break;
			case SIGHUP: sig_got_hup = 1; break;
			case SIGUSR1: sig_got_usr1 = 1; break;
			}
		}
		if ((size_t)n < sizeof si)
			break;
	}
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

int
sig_child_raw(unsigned long *mask, int *pipe_default)
{
	size_t i;

	for (i = 0; i < NHANDLED; i++)
		if (changed[i])
			return -1;
	/* SIGPIPE goes back to its default only: we change it only when
	 * it was not ignored, and a handler is reset by exec anyway. */
	*pipe_default = pipe_changed;
	memcpy(mask, &start_mask, sizeof *mask);
	return 0;
}
