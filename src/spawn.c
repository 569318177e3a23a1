#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "sig.h"
#include "stats.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

/*
 * How: where the child only has to exec, clone(2) with CLONE_VM and
 * CLONE_VFORK, as vfork and posix_spawn do: nothing is copied, and we
 * wait only for the exec itself.  Where it must run tcpwarden's code
 * first (prep), fork.  Measured with make bench on 2 cores (a program that
 * writes a line and exits): vfork 12,600 spawns a second, fork 8,300.
 *
 * clone rather than vfork itself, for two reasons: the child runs on a
 * stack of its own (below), so it cannot overwrite our frames, and
 * CLONE_PIDFD hands us, in the same system call, the pidfd by which the
 * server learns of this child's end without waitpid(-1) (reap.h).
 *
 * The child shares our memory until exec.  That is safe because no signal
 * of ours has a handler (they are read from a signalfd, sig.h) and they
 * stay blocked until the child sets its mask back just before exec.
 */

/* The child's stack: one is enough, since CLONE_VFORK holds us until the
 * child has exec'd or exited.  execvpe needs a few kB (a PATH entry, or
 * an argv for a script without #!); the rest is never touched, so costs
 * nothing. */
#define CHILD_STACK_SIZE ((size_t)256 * 1024)
static char *child_stack_top;

/*
 * The descriptors a child must not copy.  Each live child's pidfd is ours
 * to keep, so the server holds thousands of descriptors at scale; a child
 * that copied the table would copy them all, and its exec close them all
 * again, one by one: measured with 5,000 held, that was most of the cost
 * of a connection.  So the pidfds live at SPAWN_FD_FLOOR and above (with
 * the accept queues' sockets), the server's few other descriptors and the
 * connection below, and the child shares our table (CLONE_FILES) only
 * until it makes its own copy of the part below (close_range with
 * CLOSE_RANGE_UNSHARE).
 */
#define FD_SLACK 16         /* above the pidfds, for whatever else */

static int share_files;             /* close_range can unshare */
static struct rlimit start_nofile;  /* RLIMIT_NOFILE as we started */
static int nofile_raised;

unsigned long
spawn_init(unsigned long max_children, unsigned long high_fds)
{
	long page = sysconf(_SC_PAGESIZE);
	rlim_t want;
	struct rlimit rl;
	const char *pre;
	char *p;

	want = (rlim_t)SPAWN_FD_FLOOR + high_fds + max_children + FD_SLACK;
	p = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		log_fatal(111, "unable to map the child stack: ",
		    strerror(errno), NULL);
	/* An overflow faults on the guard page instead of writing over
	 * whatever lies below.  (Not MADV_DONTFORK: where a clone is made a
	 * fork, as valgrind does, the child runs on its copy.) */
	if (page > 0)
		mprotect(p, (size_t)page, PROT_NONE);
	child_stack_top = p + CHILD_STACK_SIZE;

	/* Whether this kernel can unshare in close_range (5.9 and later):
	 * asked on a range that holds nothing, of a table not shared. */
	share_files = syscall(SYS_close_range, ~0U, ~0U,
	    CLOSE_RANGE_UNSHARE) == 0;
	/* Not under valgrind, which takes a clone with CLONE_VM only as
	 * vfork makes it, and ends the process on any other, such as ours
	 * with CLONE_FILES.  It shows itself by preloading its core
	 * library. */
	pre = getenv("LD_PRELOAD");
	if (pre && strstr(pre, "vgpreload_core"))
		share_files = 0;

	/*
	 * Each live child holds a pidfd: make room for them under the soft
	 * limit, as far as the hard limit allows, and give the children the
	 * limit we were started with.  Whatever does not fit is served
	 * without a pidfd, and reaped the old way.
	 */
	if (getrlimit(RLIMIT_NOFILE, &start_nofile) != 0)
		return 0;
	rl = start_nofile;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			nofile_raised = 1;
		else
			rl = start_nofile;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return max_children;
	return rl.rlim_cur > SPAWN_FD_FLOOR + high_fds + FD_SLACK ?
	    rl.rlim_cur - SPAWN_FD_FLOOR - high_fds - FD_SLACK : 0;
}

/* In the child before exec: the descriptor limit and the signal state
 * we started with, the mask last, so that signals stay blocked until
 * nothing is left to do but exec.  System calls only. */
static void
child_restore(void)
{
	if (nofile_raised)
		setrlimit(RLIMIT_NOFILE, &start_nofile);
	sig_child_restore();
}

struct exec_child_arg {
	const struct spawn_req *req;
	int shared;              /* cloned with CLONE_FILES */
	volatile int err;        /* errno of a failed exec, for the parent */
};

/* AddressSanitizer keeps account of the one stack it knows, and would
 * take the child's for a corrupted one: the child is not instrumented. */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize_address)
#define NOT_SANITIZED __attribute__((no_sanitize_address))
#endif
#endif
#ifndef NOT_SANITIZED
#define NOT_SANITIZED
#endif

/* The clone child, on child_stack and in our memory until exec: it makes
 * system calls and writes a->err, nothing more.  fd is close-on-exec like
 * every descriptor of ours, so after exec the child holds the connection
 * on 0 and 1 only; fd is never 0 or 1 (main keeps 0, 1, 2 open). */
NOT_SANITIZED static int
exec_child(void *arg)
{
	struct exec_child_arg *a = arg;
	const struct spawn_req *r = a->req;

	/* Our own table, before anything in it changes: a copy of the
	 * descriptors below the pidfds (and the connection, wherever it
	 * is), the rest left out. */
	if (a->shared && syscall(SYS_close_range,
	    r->fd >= SPAWN_FD_FLOOR ? (unsigned)r->fd + 1 : SPAWN_FD_FLOOR,
	    ~0U,
	    CLOSE_RANGE_UNSHARE) != 0) {
		a->err = errno;
		_exit(111);
	}
	if (dup2(r->fd, 0) < 0 || dup2(r->fd, 1) < 0) {
		a->err = errno;
		_exit(111);
	}
	child_restore();
	execvpe(r->argv[0], r->argv, r->envp);
	a->err = errno;
	_exit(111);
}

int
spawn_fd_up(int fd)
{
	int high;

	if (fd < 0 || fd >= SPAWN_FD_FLOOR)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, SPAWN_FD_FLOOR);
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

int
spawn_pidfd(pid_t pid)
{
	return spawn_fd_up((int)syscall(SYS_pidfd_open, pid, 0));
}

static pid_t
spawn_clone(const struct spawn_req *r, int *pidfd)
{
	struct exec_child_arg a;
	int want_pidfd = r->want_pidfd;
	pid_t pid;

	a.req = r;
	for (;;) {
		int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;

		if (share_files)
			flags |= CLONE_FILES;
		if (want_pidfd)
			flags |= CLONE_PIDFD;
		a.shared = share_files;
		a.err = 0;
		*pidfd = -1;
		pid = clone(exec_child, child_stack_top, flags, &a, pidfd);
		if (pid >= 0)
			break;
		/* Flags refused (valgrind, for one, takes CLONE_VM with
		 * CLONE_VFORK only as a fork): do without them. */
		if (errno == EINVAL && share_files) {
			share_files = 0;
			continue;
		}
		/* Out of descriptors, or no pidfds here: a child without a
		 * pidfd is still a child. */
		if (want_pidfd && (errno == EMFILE || errno == ENFILE ||
		    errno == EINVAL)) {
			want_pidfd = 0;
			continue;
		}
		log_warning("unable to fork: ", strerror(errno), NULL);
		return pid;
	}
	*pidfd = spawn_fd_up(*pidfd);
	if (a.err != 0) {
		/* The child has exited 111; it is reaped as any other. */
		stats.unstarted++;
		log_warning("unable to run ", r->argv[0], ": ",
		    strerror(a.err), NULL);
	}
	return pid;
}

static pid_t
spawn_fork(const struct spawn_req *r, int *pidfd)
{
	char *const *envp = r->envp;
	pid_t pid = fork();
	int code;

	if (pid < 0)
		log_warning("unable to fork: ", strerror(errno), NULL);
	if (pid > 0 && r->want_pidfd)
		/* The child cannot have been reaped yet (SIGCHLD is only
		 * read in the main loop), so this pid is still ours. */
		*pidfd = spawn_pidfd(pid);
	if (pid != 0)
		return pid;

	/* The child: it never returns into the server's code. */
	if (dup2(r->fd, 0) < 0 || dup2(r->fd, 1) < 0)
		_exit(111);
	child_restore();
	if ((code = r->prep(r->ctx, &envp)) != 0)
		_exit(code);
	execvpe(r->argv[0], r->argv, envp);
	log_warning("unable to run ", r->argv[0], ": ", strerror(errno), NULL);
	_exit(111);
}

pid_t
spawn_start(const struct spawn_req *r, int *pidfd)
{
	*pidfd = -1;
	return r->prep ? spawn_fork(r, pidfd) : spawn_clone(r, pidfd);
}
