#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sig.h"

/*
 * How: vfork where the child only has to exec, fork where it must run
 * tcpwarden's code first (prep).  vfork copies nothing and the parent
 * waits only for the exec itself; measured with make bench on 2 cores
 * (a program that writes a line and exits): vfork 12,600 spawns a second,
 * fork 8,300.  The vfork child is safe here because no signal of ours has
 * a handler (they are read from a signalfd, sig.h) and they stay blocked
 * until the child's mask is set back just before exec.
 */

/* Set by a vfork child whose exec failed: it shares our memory. */
static volatile int vfork_errno;

static pid_t
spawn_vfork(const struct spawn_req *r)
{
	pid_t pid;

	vfork_errno = 0;
	/* The analyzers warn of any vfork: see above for why this one is
	 * safe, and what its child may do. */
	pid = vfork(); /* NOLINT(clang-analyzer-security.insecureAPI.vfork) */
	if (pid == 0) {
		/* The child, on our stack and in our memory until exec: it
		 * makes system calls and writes vfork_errno, nothing more.
		 * fd is close-on-exec like every descriptor of ours, so
		 * after exec the child holds the connection on 0 and 1
		 * only; fd is never 0 or 1 (main keeps 0, 1, 2 open). */
		if (dup2(r->fd, 0) < 0 || /* NOLINT(clang-analyzer-unix.Vfork) */
		    dup2(r->fd, 1) < 0) { /* NOLINT(clang-analyzer-unix.Vfork) */
			vfork_errno = errno;
			_exit(111);
		}
		sig_child_restore(); /* NOLINT(clang-analyzer-unix.Vfork) */
		execvpe(r->argv[0], r->argv, r->envp); /* NOLINT(clang-analyzer-unix.Vfork) */
		vfork_errno = errno;
		_exit(111);
	}
	if (pid < 0)
		log_warning("unable to fork: ", strerror(errno), NULL);
	else if (vfork_errno != 0)
		/* The child has exited 111; it is reaped as any other. */
		log_warning("unable to run ", r->argv[0], ": ",
		    strerror(vfork_errno), NULL);
	return pid;
}

static pid_t
spawn_fork(const struct spawn_req *r)
{
	char *const *envp = r->envp;
	pid_t pid = fork();
	int code;

	if (pid < 0)
		log_warning("unable to fork: ", strerror(errno), NULL);
	if (pid != 0)
		return pid;

	/* The child: it never returns into the server's code. */
	if (dup2(r->fd, 0) < 0 || dup2(r->fd, 1) < 0)
		_exit(111);
	sig_child_restore();
	if ((code = r->prep(r->ctx, &envp)) != 0)
		_exit(code);
	execvpe(r->argv[0], r->argv, envp);
	log_warning("unable to run ", r->argv[0], ": ", strerror(errno), NULL);
	_exit(111);
}

pid_t
spawn_start(const struct spawn_req *r)
{
	return r->prep ? spawn_fork(r) : spawn_vfork(r);
}
