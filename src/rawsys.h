/*
 * rawsys: system calls that leave errno alone, for code that runs in a
 * child sharing our memory while the server goes on (launch.h).  errno
 * lives in the thread's storage, which such a child shares with the
 * server, so a failing libc call in the child could change errno between
 * a system call of the server's and its look at errno.  These return what
 * the kernel returns: the result, or -errno.
 *
 * Only where the instruction is written here (x86-64, AArch64): elsewhere
 * RAWSYS_OK is 0, and launch.c is never used.
 */
#ifndef RAWSYS_H
#define RAWSYS_H

#if defined(__x86_64__)
#define RAWSYS_OK 1
static inline long
raw_syscall(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;

	__asm__ volatile ("syscall"
	    : "=a"(ret)
	    : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
	    : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define RAWSYS_OK 1
static inline long
raw_syscall(long n, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile ("svc 0"
	    : "+r"(x0)
	    : "r"(x8), "r"(x1), "r"(x2), "r"(x3)
	    : "memory", "cc");
	return x0;
}
#else
#define RAWSYS_OK 0
#endif

#endif
