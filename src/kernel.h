/*
 * kernel: the numbers of kernel interfaces that libc headers older than
 * the kernel may lack (pidfds from 5.3, close_range from 5.9), for spawn.c
 * and launch.c.  Where the kernel itself lacks them, the calls fail with
 * EINVAL or ENOSYS and the callers do without.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <sched.h>
#include <sys/syscall.h>

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

#endif
