/*
 * tiny: the program every server of the benchmark runs per connection.
 * It writes one line and exits. With --wait it writes the line, then reads
 * standard input until EOF, so a held connection keeps its child alive; an
 * alarm bounds that wait, so no child outlives a benchmark that went wrong.
 * Built static where libc allows it, so the spawn costs no dynamic loading;
 * on x86-64 Linux built without libc at all (TINY_NOLIBC), because glibc's
 * start-up probes the CPU with cpuid, which on a virtual machine exits to
 * the hypervisor and costs more than the rest of the run: the benchmark is
 * meant to weigh the servers, not that.
 */
#define _GNU_SOURCE

/* Longest a --wait child lives, in seconds: past any benchmark run. */
#define WAIT_BOUND 1800

#ifdef TINY_NOLIBC
/* x86-64 Linux system call numbers. */
#define SYS_READ 0
#define SYS_WRITE 1
#define SYS_ALARM 37
#define SYS_EXIT_GROUP 231

static long
sys3(long n, long a, long b, long c)
{
	long r;

	__asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c)
	    : "rcx", "r11", "memory");
	return r;
}

void tiny_main(long *sp) __attribute__((__noreturn__, __used__));

/* The kernel leaves argc, then argv, at the stack pointer. */
__asm__(".text\n.global _start\n_start:\n\txor %ebp, %ebp\n"
    "\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall tiny_main\n\thlt\n");

void
tiny_main(long *sp)
{
	static const char line[] = "tiny: hello\n";
	char **argv = (char **)(sp + 1), buf[512];
	const char *w = "--wait", *a;
	int code = 0;

	if (sys3(SYS_WRITE, 1, (long)line, sizeof line - 1) !=
	    (long)(sizeof line - 1))
		code = 1;
	else if (sp[0] >= 2) {
		for (a = argv[1]; *a && *a == *w; a++, w++)
			;
		if (*a == '\0' && *w == '\0') {
			sys3(SYS_ALARM, WAIT_BOUND, 0, 0);
			while (sys3(SYS_READ, 0, (long)buf, sizeof buf) > 0)
				;
		}
	}
	sys3(SYS_EXIT_GROUP, code, 0, 0);
	for (;;)
		;
}
#else
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const char line[] = "tiny: hello\n";
	char buf[512];
	ssize_t r;

	if (write(1, line, sizeof line - 1) != (ssize_t)(sizeof line - 1))
		return 1;
	if (argc < 2 || strcmp(argv[1], "--wait") != 0)
		return 0;
	alarm(WAIT_BOUND);
	do
		r = read(0, buf, sizeof buf);
	while (r > 0);
	return 0;
}
#endif
