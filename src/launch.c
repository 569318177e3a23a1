#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel.h"
#include "log.h"
#include "rawsys.h"
#include "sig.h"
#include "stats.h"


/* AddressSanitizer keeps per-thread state (its fake stacks, its
 * interceptors') that a child running beside us in our memory would
 * share: sanitizer builds always spawn. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LAUNCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define LAUNCH_SANITIZED 1
#endif
#endif
#ifndef LAUNCH_SANITIZED
#define LAUNCH_SANITIZED 0
#endif

/* Children on their way to exec at once.  Each takes about as long as
 * the server takes for a connection, so a few are enough to never wait;
 * more only hold connections open on our side longer. */
#define SLOTS 8

struct slot {
	int word;               /* nonzero from before the clone until the
	                         * kernel clears it (CLONE_CHILD_CLEARTID) */
	int fd;                 /* the connection, or -1: slot free */
	pid_t pid;
	volatile int err;       /* a failed exec's errno, from the child */
	struct addr remote;     /* for the warning of a failed exec */
	char *stack_top;
	char **env;             /* the child's copy of the environment */
	size_t env_cap;         /* pointers in env, its NULL included */
	char *env_buf;
	size_t env_buf_cap;
};

static struct slot slots[SLOTS];
static unsigned next_slot;
static int usable;
static char *const *prog_argv;
static size_t prog_argc;
static const char *prog_path;    /* PATH, as execvp searches it */
static struct rlimit child_nofile;
static int set_nofile;
static unsigned long child_mask;
static int pipe_default;

/* The kernel's struct sigaction, the same on x86-64 and AArch64. */
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

int
launch_init(char *const *argv, size_t stack_size,
    const struct rlimit *nofile)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned i;

	/* The child can set back only the mask and SIGPIPE (sig.h). */
	if (!RAWSYS_OK || LAUNCH_SANITIZED ||
	    sig_child_raw(&child_mask, &pipe_default) != 0)
		return 0;
	if (page <= 0)
		page = 4096;
	for (i = 0; i < SLOTS; i++) {
		char *p = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (p == MAP_FAILED)
			return 0;
		/* An overflow faults on the guard page. */
		mprotect(p, (size_t)page, PROT_NONE);
		slots[i].stack_top = p + stack_size;
		slots[i].fd = -1;
	}
	prog_argv = argv;
	while (argv[prog_argc])
		prog_argc++;
	if (!(prog_path = getenv("PATH")))
		prog_path = "/bin:/usr/bin";
	if (nofile) {
		child_nofile = *nofile;
		set_nofile = 1;
	}
	usable = 1;
	return 1;
}

int
launch_fits(const struct spawn_req *r)
{
	return usable && !r->prep && log_level < LOG_VERBOSE;
}

/* ---- the child: raw system calls only, and nothing written but its
 * slot's err ---- */

static long
raw_own_table(int fd)
{
	long r;

	/* As spawn's own_table: a table of our own without our
	 * descriptors from SPAWN_FD_FLOOR up, the connection kept. */
	if (fd < SPAWN_FD_FLOOR)
		return raw_syscall(SYS_close_range, SPAWN_FD_FLOOR, ~0U,
		    CLOSE_RANGE_UNSHARE, 0);
	r = raw_syscall(SYS_close_range, (long)fd + 1, ~0U,
	    CLOSE_RANGE_UNSHARE, 0);
	if (r == 0 && fd > SPAWN_FD_FLOOR)
		r = raw_syscall(SYS_close_range, SPAWN_FD_FLOOR, (long)fd - 1,
		    0, 0);
	return r;
}

/* execve, and for a file the kernel cannot run (no #!), the shell on it,
 * as execvp does. */
static long
raw_exec_one(const char *path, char *const *envp)
{
	long r = raw_syscall(SYS_execve, (long)path, (long)prog_argv,
	    (long)envp, 0);

	if (r == -ENOEXEC) {
		char *sh_argv[prog_argc + 2];
		size_t i;

		sh_argv[0] = (char *)"/bin/sh";
		sh_argv[1] = (char *)path;
		for (i = 1; i <= prog_argc; i++)
			sh_argv[i + 1] = prog_argv[i];
		raw_syscall(SYS_execve, (long)"/bin/sh", (long)sh_argv,
		    (long)envp, 0);
	}
	return r;
}

/* execvp's search of PATH, as not_runnable in spawn.c walks it. */
static long
raw_exec(char *const *envp)
{
	const char *file = prog_argv[0], *p, *end;
	char buf[PATH_MAX];
	size_t len = strlen(file);
	int eacces = 0;
	long r;

	if (len == 0)
		return -ENOENT;
	if (strchr(file, '/'))
		return raw_exec_one(file, envp);
	for (p = prog_path;; p = end + 1) {
		size_t dir;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		dir = (size_t)(end - p);
		if (dir + len + 2 > sizeof buf)
			return -ENAMETOOLONG;
		memcpy(buf, p, dir);
		if (dir > 0)
			buf[dir++] = '/';
		memcpy(buf + dir, file, len + 1);
		r = raw_exec_one(buf, envp);
		/* execvp goes on to the next directory for these. */
		if (r == -EACCES)
			eacces = 1;
		else if (r != -ENOENT && r != -ENOTDIR && r != -ESTALE &&
		    r != -ENODEV && r != -ETIMEDOUT)
			return r;
		if (*end == '\0')
			return eacces ? -EACCES : -ENOENT;
	}
}

static int
launch_child(void *arg)
{
	struct slot *s = arg;
	long r;

	r = raw_own_table(s->fd);
	if (r == 0)
		r = raw_syscall(SYS_dup3, s->fd, 0, 0, 0);
	if (r >= 0)
		r = raw_syscall(SYS_dup3, s->fd, 1, 0, 0);
	if (r >= 0) {
		/* The limit and the signal state we started with, the
		 * mask last. */
		if (set_nofile)
			raw_syscall(SYS_prlimit64, 0, RLIMIT_NOFILE,
			    (long)&child_nofile, 0);
		if (pipe_default) {
			struct ksigaction dfl;

			memset(&dfl, 0, sizeof dfl);
			dfl.handler = SIG_DFL;
			raw_syscall(SYS_rt_sigaction, SIGPIPE, (long)&dfl, 0,
			    sizeof dfl.mask);
		}
		raw_syscall(SYS_rt_sigprocmask, SIG_SETMASK,
		    (long)&child_mask, 0, sizeof child_mask);
		r = raw_exec(s->env);
	}
	s->err = (int)-r;
	raw_syscall(SYS_exit_group, 111, 0, 0, 0);
	return 111;   /* not reached */
}

/* ---- the server's side ---- */

/* Copy envp into s, whose child reads it until its exec. */
static int
copy_env(struct slot *s, char *const *envp)
{
	size_t n, size, i;
	char *p;

	/* One byte more than the strings: never a zero-size allocation. */
	for (n = 0, size = 1; envp[n]; n++)
		size += strlen(envp[n]) + 1;
	if (n + 1 > s->env_cap) {
		char **e = realloc(s->env, (n + 1) * sizeof *e);
		if (!e)
			return -1;
		s->env = e;
		s->env_cap = n + 1;
	}
	if (size > s->env_buf_cap) {
		char *b = realloc(s->env_buf, size);
		if (!b)
			return -1;
		s->env_buf = b;
		s->env_buf_cap = size;
	}
	for (i = 0, p = s->env_buf; i < n; i++) {
		size_t len = strlen(envp[i]) + 1;

		memcpy(p, envp[i], len);
		s->env[i] = p;
		p += len;
	}
	s->env[n] = NULL;
	return 0;
}

static int
slot_done(const struct slot *s)
{
	return __atomic_load_n(&s->word, __ATOMIC_ACQUIRE) == 0;
}

/* The child of s has exec'd or died: close our side of its connection,
 * and count and log an exec that failed. */
static void
finish(struct slot *s)
{
	struct spawn_req r;
	int err = s->err;

	close(s->fd);
	s->fd = -1;
	if (err == 0)
		return;
	stats.unstarted++;
	memset(&r, 0, sizeof r);
	r.remote = &s->remote;
	r.argv = prog_argv;
	spawn_log_no_run(s->pid, &r, err);
}

/* Wait until the kernel clears s's word: the futex it wakes. */
static void
wait_slot(struct slot *s)
{
	int w;

	while ((w = __atomic_load_n(&s->word, __ATOMIC_ACQUIRE)) != 0)
		syscall(SYS_futex, &s->word, FUTEX_WAIT, w, NULL, NULL, 0);
}

/* Finish the slots whose child has let go of our memory; with wait, all
 * of them, waiting for those still in flight. */
static void
finish_slots(int wait)
{
	unsigned i;

	/* Without launching, every slot is free (and their zeroed fd
	 * names no connection). */
	if (!usable)
		return;
	for (i = 0; i < SLOTS; i++)
		if (slots[i].fd >= 0 && (wait || slot_done(&slots[i]))) {
			wait_slot(&slots[i]);
			finish(&slots[i]);
		}
}

void
launch_reap_slots(void)
{
	finish_slots(0);
}

void
launch_settle(void)
{
	finish_slots(1);
}

/* Whether a child other than slot s's is still on its way to exec. */
static int
others_in_flight(const struct slot *s)
{
	unsigned i;

	for (i = 0; i < SLOTS; i++)
		if (&slots[i] != s &&
		    __atomic_load_n(&slots[i].word, __ATOMIC_ACQUIRE) != 0)
			return 1;
	return 0;
}

pid_t
launch_start(const struct spawn_req *r, int want_pidfd, int *pidfd)
{
	struct slot *s = &slots[next_slot];
	int flags = CLONE_VM | CLONE_FILES | CLONE_CHILD_CLEARTID | SIGCHLD;
	pid_t pid;

	/* The oldest slot: its child has most likely exec'd by now. */
	if (s->fd >= 0) {
		wait_slot(s);
		finish(s);
	}
	if (copy_env(s, r->envp) != 0) {
		errno = ENOMEM;
		return -1;
	}
	if (want_pidfd)
		flags |= CLONE_PIDFD;
	s->fd = r->fd;
	s->err = 0;
	s->remote = *r->remote;
	s->word = 1;
	*pidfd = -1;
	pid = clone(launch_child, s->stack_top, flags, s, pidfd, NULL,
	    &s->word);
	if (pid < 0) {
		s->word = 0;
		s->fd = -1;
		return -1;
	}
	s->pid = pid;
	next_slot = (next_slot + 1) % SLOTS;
	/* A child started before this one and still short of its exec
	 * means the processors are busy: the server gives its turn to the
	 * children, so that they reach their programs before it takes more
	 * work.  Without this, under a flood from one client the server
	 * kept starting the flood's children while another client's waited
	 * for a processor: measured, that client's p99 rose 5 to 10 times
	 * under the flood, against about 3 times with it.  Many clients at
	 * once are served a few per cent faster too, for the same CPU a
	 * connection. */
	if (others_in_flight(s))
		sched_yield();
	return pid;
}
