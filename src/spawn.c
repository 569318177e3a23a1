#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"
#include "launch.h"
#include "log.h"
#include "sig.h"
#include "stats.h"

/*
 * How: where the child only has to exec, clone(2) with CLONE_VM and
 * CLONE_VFORK, as vfork and posix_spawn do: nothing is copied, and we
 * wait only for the exec itself.  Where it must run tcpwarden's code
 * first (prep), a fork.  Measured with make bench on 2 cores (a program
 * that writes a line and exits): vfork 12,600 spawns a second, fork 8,300.
 *
 * clone rather than vfork itself, for two reasons: the child runs on a
 * stack of its own (below), so it cannot overwrite our frames, and
 * CLONE_PIDFD hands us, in the same system call, the pidfd by which the
 * server learns of this child's end without waitpid(-1) (reap.h).
 *
 * The child shares our memory until exec.  That is safe because no signal
 * of ours has a handler (they are read from a signalfd, sig.h) and they
 * stay blocked until the child sets its mask back just before exec.
 *
 * Where nothing needs the exec's outcome before we go on (no prep, no ok
 * line), spawn_start does not wait for it at all: launch.h.
 */

/* The clone child's stack: one is enough, since CLONE_VFORK holds us
 * until the child has exec'd or exited.  execvpe puts on it a path buffer,
 * and for a program without #! a copy of the whole argument list for
 * /bin/sh: hence the room for argv, counted once (it never changes).  The
 * pages never touched cost nothing. */
#define CHILD_STACK_BASE ((size_t)256 * 1024)
static char *child_stack_top;

/*
 * The descriptors a child must not copy.  Each live child's pidfd is ours
 * to keep, so the server holds thousands of descriptors at scale; a child
 * that copied the table would copy them all, and its exec close them all
 * again, one by one: measured with 5,000 held, that was most of the cost
 * of a connection.  And a forked child that held the listening sockets
 * while it waits on a look-up would keep the port from the next server
 * after this one has gone.  So the pidfds and the listener's descriptors
 * live at SPAWN_FD_FLOOR and above, the server's few others and the
 * connection below, and each child starts on our table (CLONE_FILES):
 * its first act is to make its own copy of the part below (close_range
 * with CLOSE_RANGE_UNSHARE).
 */
#define FD_SLACK 16         /* above the pidfds, for whatever else */

static int share_files;             /* close_range can unshare */
static int fork_shares;             /* and a fork may share our table */
static struct rlimit start_nofile;  /* RLIMIT_NOFILE as we started */
static int nofile_raised;
static unsigned long fork_failures; /* in a row, since the last fork */

/*
 * A forked child shares our descriptor table until its first system call
 * has made it its own; until then we must not change the table (closing
 * the connection would take it from the child too, and the next accept
 * would hand it another client's).  So we wait for that call, and only
 * that: the gate, a word in memory shared with every child, is
 * GATE_SHARED from before the fork until the child moves it on and wakes
 * us (a futex).  The child also writes its pid line before it lets us go
 * (GATE_OPEN), so that our next lines follow it; but that write may wait
 * on a full log pipe, and we wait for it no longer than GATE_LOOK_NS, so
 * that SIGTERM still finds us (log.h).  One gate is enough: we fork one
 * child at a time.
 */
enum { GATE_OPEN, GATE_SHARED, GATE_OWN_TABLE };
static int *gate;

/* How long to wait on the gate between looks at whether the child died
 * before it could move it on (a SIGKILL from outside). */
#define GATE_LOOK_NS 100000000L

void
spawn_init(char *const *argv, unsigned long max_children,
    unsigned long high_fds)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t argc = 0, size;
	rlim_t want;
	struct rlimit rl;
	const char *pre;
	char *p;

	if (page <= 0)
		page = 4096;
	while (argv[argc])
		argc++;
	/* execvpe's own: the argument list with two more pointers (the
	 * shell, the file), and a buffer for a PATH entry and a name. */
	size = CHILD_STACK_BASE + (argc + 3) * sizeof(char *) + PATH_MAX +
	    NAME_MAX + 2;
	size = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		log_fatal(111, "unable to map the child stack: ",
		    strerror(errno), NULL);
	/* An overflow faults on the guard page instead of writing over
	 * whatever lies below.  (Not MADV_DONTFORK: where a clone is made a
	 * fork, as valgrind does, the child runs on its copy.) */
	mprotect(p, (size_t)page, PROT_NONE);
	child_stack_top = p + size;

	gate = mmap(NULL, sizeof *gate, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (gate == MAP_FAILED)
		log_fatal(111, "unable to map the fork gate: ",
		    strerror(errno), NULL);

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
	/* The fork that shares is the clone system call itself, whose
	 * arguments s390 takes in another order. */
#if !defined(__s390__)
	fork_shares = share_files;
#endif

	/*
	 * Each live child holds a pidfd: make room for them under the soft
	 * limit, as far as the hard limit allows, and give the children the
	 * limit we were started with.  Whatever does not fit is served
	 * without a pidfd, and reaped the old way.
	 */
	want = (rlim_t)SPAWN_FD_FLOOR + high_fds + max_children + FD_SLACK;
	if (getrlimit(RLIMIT_NOFILE, &start_nofile) != 0)
		return;
	rl = start_nofile;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			nofile_raised = 1;
	}
	/* The children on their way to exec while we go on (launch.h) get
	 * stacks of this size too. */
	if (share_files)
		launch_init(argv, size, nofile_raised ? &start_nofile : NULL);
}

unsigned long
spawn_pidfd_budget(unsigned long max_children, unsigned long high_fds)
{
	struct rlimit rl;
	rlim_t others = (rlim_t)SPAWN_FD_FLOOR + high_fds + FD_SLACK;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= others +
	    max_children)
		return max_children;
	return rl.rlim_cur > others ? (unsigned long)(rl.rlim_cur - others) :
	    0;
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

/* The child's first act: a table of its own (shared: until now it used
 * ours), without our descriptors from SPAWN_FD_FLOOR up but with the
 * connection fd wherever it is.  Without sharing, the same descriptors
 * are closed in the child's copy, so that both ways pass the program the
 * same.  Returns 0, or -1 when a shared table could not be unshared.
 * System calls only. */
static int
own_table(int fd, int shared)
{
	unsigned flags = shared ? CLOSE_RANGE_UNSHARE : 0;
	long r;

	if (fd < SPAWN_FD_FLOOR)
		r = syscall(SYS_close_range, SPAWN_FD_FLOOR, ~0U, flags);
	else if ((r = syscall(SYS_close_range, (unsigned)fd + 1, ~0U,
	    flags)) == 0 && fd > SPAWN_FD_FLOOR)
		r = syscall(SYS_close_range, SPAWN_FD_FLOOR,
		    (unsigned)fd - 1, 0);
	return shared && r != 0 ? -1 : 0;
}

/* "pid PID from ADDRESS", and "via" the balancer, at -v. */
static void
log_pid(pid_t pid, const struct spawn_req *r)
{
	struct log_line l;

	if (log_level < LOG_VERBOSE)
		return;
	log_start(&l, "pid ");
	log_uint(&l, (unsigned long)pid);
	log_str(&l, " from ");
	log_addr(&l, r->remote);
	if (r->proxy) {
		log_str(&l, " via ");
		log_addr_port(&l, r->proxy);
	}
	log_flush(&l);
}

/* The one line for a program that did not start. */
void
spawn_log_no_run(pid_t pid, const struct spawn_req *r, int err)
{
	struct log_line l;

	if (log_level == LOG_QUIET)
		return;
	log_start(&l, "warning: pid ");
	log_uint(&l, (unsigned long)pid);
	log_str(&l, " from ");
	log_addr_port(&l, r->remote);
	log_str(&l, ": unable to run ");
	log_str(&l, r->argv[0]);
	log_str(&l, ": ");
	log_str(&l, strerror(err));
	log_flush(&l);
}

/* A fork failed: one warning for a run of them, not one per connection,
 * which under a process limit would be thousands a second. */
static void
fork_failed(int err)
{
	if (fork_failures++ == 0)
		log_warning("unable to fork: ", strerror(err), NULL);
}

/* A fork worked: the end of a run of failures, with its count. */
static void
fork_worked(void)
{
	struct log_line l;

	if (fork_failures == 0)
		return;
	if (log_level != LOG_QUIET) {
		log_start(&l, "warning: fork works again after ");
		log_uint(&l, fork_failures);
		log_str(&l, fork_failures == 1 ? " failure" : " failures");
		log_flush(&l);
	}
	fork_failures = 0;
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

	if (own_table(r->fd, a->shared) != 0 ||
	    dup2(r->fd, 0) < 0 || dup2(r->fd, 1) < 0) {
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
			share_files = fork_shares = 0;
			continue;
		}
		/* Out of descriptors, or no pidfds here: a child without a
		 * pidfd is still a child. */
		if (want_pidfd && (errno == EMFILE || errno == ENFILE ||
		    errno == EINVAL)) {
			want_pidfd = 0;
			continue;
		}
		fork_failed(errno);
		return pid;
	}
	fork_worked();
	*pidfd = spawn_fd_up(*pidfd);
	/* The exec is over: whether the program runs is known.  (The
	 * level is tested here: this is the path of every connection.) */
	if (a.err != 0) {
		/* The child has exited 111; it is reaped as any other. */
		stats.unstarted++;
		log_pid(pid, r);
		spawn_log_no_run(pid, r, a.err);
	} else if (log_level >= LOG_VERBOSE) {
		log_pid(pid, r);
		if (r->log_ok)
			r->log_ok(r->ctx, pid);
	}
	return pid;
}

/* What execvp would fail with for file, as far as can be known without
 * running it: 0 if found as an executable file, or ENOENT, EACCES and the
 * like.  A program that passes can still fail to start (its #!
 * interpreter missing, say). */
static int
not_runnable(const char *file)
{
	const char *path, *p, *end;
	char buf[PATH_MAX];
	struct stat st;
	int e, eacces = 0;

	if (*file == '\0')
		return ENOENT;
	if (strchr(file, '/'))
		path = "";
	else if (!(path = getenv("PATH")))
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		size_t dir, len = strlen(file);

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		dir = (size_t)(end - p);
		if (dir + len + 2 > sizeof buf)
			return ENAMETOOLONG;
		memcpy(buf, p, dir);
		if (dir > 0)
			buf[dir++] = '/';
		memcpy(buf + dir, file, len + 1);
		if (stat(buf, &st) != 0)
			e = errno;
		else if (!S_ISREG(st.st_mode))
			e = EACCES;
		else
			e = access(buf, X_OK) == 0 ? 0 : errno;
		/* execvp goes on to the next directory for these. */
		if (e == EACCES)
			eacces = 1;
		else if (e != ENOENT && e != ENOTDIR && e != ESTALE &&
		    e != ENODEV && e != ETIMEDOUT)
			return e;
		if (*end == '\0')
			return eacces ? EACCES : ENOENT;
	}
}

/* In the child: tell the parent how far we are (GATE_OWN_TABLE, then
 * GATE_OPEN). */
static void
gate_move(int to)
{
	__atomic_store_n(gate, to, __ATOMIC_RELEASE);
	syscall(SYS_futex, gate, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Wait until child pid has its own table and, for a while, until it has
 * written its pid line.  Returns 0, or -1 if it died before either. */
static int
gate_wait(pid_t pid)
{
	struct timespec t = { 0, GATE_LOOK_NS };
	siginfo_t si;
	int g;

	while ((g = __atomic_load_n(gate, __ATOMIC_ACQUIRE)) != GATE_OPEN) {
		if (syscall(SYS_futex, gate, FUTEX_WAIT, g, &t, NULL, 0) == 0 ||
		    errno != ETIMEDOUT)
			continue;
		/* A pid line held up by the log: go on without it. */
		if (g == GATE_OWN_TABLE)
			return 0;
		/* Not reaped: WNOWAIT leaves that to the server. */
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG |
		    WNOWAIT) == 0 && si.si_pid == pid)
			return -1;
	}
	return 0;
}

/* A fork that shares our descriptor table (see gate), and a pidfd into
 * *pidfd if pidfd is not NULL.  The clone system call itself: its
 * arguments flags, stack, parent_tid come first on every architecture
 * but s390's, and no stack means the child goes on on its copy of ours,
 * as with fork. */
static pid_t
fork_sharing(int *pidfd)
{
	unsigned long flags = CLONE_FILES | SIGCHLD;

	if (pidfd)
		flags |= CLONE_PIDFD;
	return (pid_t)syscall(SYS_clone, flags, NULL, pidfd, NULL, NULL);
}

static pid_t
spawn_fork(const struct spawn_req *r, int *pidfd)
{
	char *const *envp = r->envp;
	int want_pidfd = r->want_pidfd, shared, code, e;
	pid_t pid;

	for (;;) {
		shared = fork_shares;
		*gate = GATE_SHARED;
		pid = shared ? fork_sharing(want_pidfd ? pidfd : NULL) :
		    fork();
		if (pid >= 0)
			break;
		if (shared && want_pidfd && (errno == EMFILE ||
		    errno == ENFILE || errno == EINVAL)) {
			want_pidfd = 0;
			continue;
		}
		if (shared && errno == EINVAL) {
			fork_shares = 0;
			continue;
		}
		fork_failed(errno);
		return pid;
	}
	if (pid > 0) {
		if (gate_wait(pid) != 0)
			/* Dead before its first line: say it was born. */
			log_pid(pid, r);
		fork_worked();
		if (*pidfd < 0 && want_pidfd && !shared)
			/* The child cannot have been reaped yet (SIGCHLD is
			 * only read in the main loop), so this pid is still
			 * ours; -1 if there is no descriptor to spare. */
			*pidfd = spawn_pidfd(pid);
		else
			*pidfd = spawn_fd_up(*pidfd);
		return pid;
	}

	/* The child: it never returns into the server's code.  Its first
	 * act is its own table: until then it holds no descriptor of ours,
	 * from then on none from SPAWN_FD_FLOOR up. */
	if (own_table(r->fd, shared) != 0) {
		e = errno;
		log_pid(getpid(), r);
		spawn_log_no_run(getpid(), r, e);
		gate_move(GATE_OPEN);
		_exit(111);
	}
	if (log_level >= LOG_VERBOSE) {
		gate_move(GATE_OWN_TABLE);
		log_pid(getpid(), r);
	}
	gate_move(GATE_OPEN);
	if (dup2(r->fd, 0) < 0 || dup2(r->fd, 1) < 0)
		_exit(111);
	child_restore();
	if ((code = r->prep(r->ctx, &envp)) != 0)
		_exit(code);
	if ((e = not_runnable(r->argv[0])) == 0) {
		if (r->log_ok)
			r->log_ok(r->ctx, getpid());
		execvpe(r->argv[0], r->argv, envp);
		e = errno;
	}
	spawn_log_no_run(getpid(), r, e);
	_exit(111);
}

pid_t
spawn_start(const struct spawn_req *r, int *pidfd)
{
	pid_t pid;

	*pidfd = -1;
	if (share_files && launch_fits(r)) {
		launch_reap_slots();
		pid = launch_start(r, r->want_pidfd, pidfd);
		if (pid >= 0) {
			fork_worked();
			*pidfd = spawn_fd_up(*pidfd);
			return pid;
		}
		/* No child: the usual way decides, and logs, what is
		 * wrong (flags refused, out of descriptors or processes). */
	}
	/* A forked child copies our descriptors below SPAWN_FD_FLOOR and
	 * holds them through its look-ups: none of them may be another
	 * client's connection still open on our side, or that client would
	 * wait for its end as long.  (Today a configuration either forks
	 * every child or none, so this only guards the mix.) */
	if (r->prep)
		launch_settle();
	pid = r->prep ? spawn_fork(r, pidfd) : spawn_clone(r, pidfd);
	close(r->fd);
	return pid;
}

void
spawn_settle(void)
{
	launch_settle();
}
