#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sig.h"

/* posix_spawn file actions allocate, so they are built once per
 * connection descriptor number and kept: the connection nearly always
 * lands on the same number, as each is closed before the next accept. */
static posix_spawn_file_actions_t actions;
static int actions_fd = -1;
static posix_spawnattr_t attr;
static int attr_ready;

static int
prepare(int fd)
{
	if (!attr_ready) {
		/* The child gets the start mask and SIG_DFL for every
		 * disposition we changed; see sig.h. */
		if (posix_spawnattr_init(&attr) != 0 ||
		    posix_spawnattr_setsigmask(&attr, sig_start_mask()) != 0 ||
		    posix_spawnattr_setsigdefault(&attr,
			sig_child_defaults()) != 0 ||
		    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
			POSIX_SPAWN_SETSIGDEF) != 0)
			return -1;
		attr_ready = 1;
	}
	if (actions_fd != fd) {
		if (actions_fd >= 0)
			posix_spawn_file_actions_destroy(&actions);
		actions_fd = -1;
		/* fd is close-on-exec, so it is gone after these two dup2s
		 * and the exec: the child holds the connection on 0 and 1
		 * only.  fd is never 0 or 1 (main keeps 0, 1, 2 open). */
		if (posix_spawn_file_actions_init(&actions) != 0)
			return -1;
		if (posix_spawn_file_actions_adddup2(&actions, fd, 0) != 0 ||
		    posix_spawn_file_actions_adddup2(&actions, fd, 1) != 0) {
			posix_spawn_file_actions_destroy(&actions);
			return -1;
		}
		actions_fd = fd;
	}
	return 0;
}

static pid_t
spawn_posix(const struct spawn_req *r)
{
	pid_t pid;
	int e;

	if (prepare(r->fd) != 0) {
		log_warning("unable to prepare spawn: out of memory", NULL);
		errno = ENOMEM;
		return -1;
	}
	/* glibc's posix_spawnp reports a failed exec as its result and has
	 * reaped that child itself, so a failure leaves nothing behind. */
	e = posix_spawnp(&pid, r->argv[0], &actions, &attr, r->argv, r->envp);
	if (e != 0) {
		log_warning("unable to run ", r->argv[0], ": ", strerror(e),
		    NULL);
		errno = e;
		return -1;
	}
	return pid;
}

static pid_t
spawn_fork(const struct spawn_req *r)
{
	pid_t pid = fork();
	char *const *envp = r->envp;
	int code;

	if (pid < 0)
		log_warning("unable to fork: ", strerror(errno), NULL);
	if (pid != 0)
		return pid;
	/* The child: never return into the server's code. */
	if (dup2(r->fd, 0) < 0 || dup2(r->fd, 1) < 0)
		_exit(111);
	sig_child_restore();
	if (r->prep && (code = r->prep(r->ctx, &envp)) != 0)
		_exit(code);
	execvpe(r->argv[0], r->argv, envp);
	log_warning("unable to run ", r->argv[0], ": ", strerror(errno), NULL);
	_exit(111);
}

pid_t
spawn_start(const struct spawn_req *r)
{
	if (r->prep || sig_child_needs_restore())
		return spawn_fork(r);
	return spawn_posix(r);
}
