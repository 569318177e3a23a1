/*
 * tiny: the program every server of the benchmark runs per connection.
 * It writes one line and exits. With --wait it writes the line, then reads
 * standard input until EOF, so a held connection keeps its child alive; an
 * alarm bounds that wait, so no child outlives a benchmark that went wrong.
 * Built static where libc allows it, so the spawn costs no dynamic loading.
 */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>

/* Longest a --wait child lives, in seconds: past any benchmark run. */
#define WAIT_BOUND 1800

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
