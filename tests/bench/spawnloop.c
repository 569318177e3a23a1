/*
 * spawnloop: the ceiling of the benchmark (issue 4). Spawns and reaps a
 * program as fast as it can, with no network: fork+exec, vfork+exec and
 * posix_spawn, with 1, 2, 4 and 16 children in flight. No server that
 * spawns per connection can beat the best of these on the same machine.
 * 16 is the lowest concurrency of the benchmark's table: on a busy
 * machine more tasks in flight win a larger share of the CPU, a share that
 * vfork and posix_spawn, which stop the parent until the child has
 * exec'd, cannot use.
 *
 * The configurations run in alternating rounds (every configuration once
 * per round) and the median of the rounds is reported: one key=value line
 * per configuration on stdout, a human table on stderr. The children's
 * stdout is /dev/null. Every run is bounded by its time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 25

extern char **environ;

enum method { M_FORK, M_VFORK, M_SPAWN, M_COUNT };

static const char *const mname[M_COUNT] = {"fork", "vfork", "posix_spawn"};
static const int jobs[] = {1, 2, 4, 16};
#define NJOBS (sizeof jobs / sizeof jobs[0])

static void usage(const char *msg)
{
	fprintf(stderr, "spawnloop: usage: %s\n"
		"spawnloop [-t secs] [-r rounds] program [arg ...]\n", msg);
	exit(100);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t spawn(enum method m, char **argv)
{
	pid_t pid;

	switch (m) {
	case M_FORK:
		pid = fork();
		if (pid == 0) {
			execvp(argv[0], argv);
			_exit(127);
		}
		return pid;
	case M_VFORK:
		pid = vfork();
		if (pid == 0) {
			execvp(argv[0], argv);
			_exit(127);
		}
		return pid;
	default:
		errno = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
		return errno ? -1 : pid;
	}
}

/* Spawns per second of one configuration over about secs seconds. */
static double run(enum method m, int j, double secs, char **argv,
		  unsigned long *failed)
{
	double start = now(), end = start + secs, t = start;
	unsigned long done = 0;
	int live = 0, st;
	pid_t pid;

	while (t < end || live > 0) {
		while (live < j && t < end) {
			if (spawn(m, argv) < 0) {
				fprintf(stderr, "spawnloop: fatal: %s: %s\n",
					mname[m], strerror(errno));
				exit(111);
			}
			live++;
		}
		pid = waitpid(-1, &st, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "spawnloop: fatal: waitpid: %s\n",
				strerror(errno));
			exit(111);
		}
		live--;
		done++;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			(*failed)++;
		t = now();
	}
	return (double)done / (t - start);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof *v);
	qsort(s, (size_t)n, sizeof *s, cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static double rate[M_COUNT][NJOBS][MAX_ROUNDS];
	unsigned long failed = 0;
	double secs = 1, best = 0, med;
	int rounds = 3, ch, r, k, out, null;
	unsigned m, ji;
	char *end;
	FILE *report;

	while ((ch = getopt(argc, argv, "+t:r:")) != -1) {
		switch (ch) {
		case 't':
			secs = strtod(optarg, &end);
			if (*end || end == optarg || !(secs > 0) || secs > 60)
				usage("-t: bad seconds");
			break;
		case 'r':
			rounds = (int)strtol(optarg, &end, 10);
			if (*end || end == optarg || rounds < 1 ||
			    rounds > MAX_ROUNDS)
				usage("-r: bad number of rounds");
			break;
		default:
			usage("unknown option");
		}
	}
	if (optind >= argc)
		usage("need a program");

	/* The report keeps the real stdout; the children get /dev/null. */
	out = fcntl(1, F_DUPFD_CLOEXEC, 3);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (out < 0 || null < 0 || dup2(null, 1) < 0) {
		fprintf(stderr, "spawnloop: fatal: stdout: %s\n",
			strerror(errno));
		return 111;
	}
	close(null);
	report = fdopen(out, "w");
	if (!report)
		return 111;

	run(M_SPAWN, 1, secs / 5, argv + optind, &failed); /* warm-up */
	for (r = 0; r < rounds; r++)
		for (m = 0; m < M_COUNT; m++)
			for (ji = 0; ji < NJOBS; ji++)
				rate[m][ji][r] = run((enum method)m, jobs[ji],
						     secs, argv + optind,
						     &failed);

	fprintf(stderr, "spawnloop: %s, %d round(s) of %.1f s, median "
		"spawns/s\n%-12s %8s %8s %8s %8s\n", argv[optind], rounds,
		secs, "method", "1", "2", "4", "16");
	for (m = 0; m < M_COUNT; m++) {
		fprintf(stderr, "%-12s", mname[m]);
		for (ji = 0; ji < NJOBS; ji++) {
			med = median(rate[m][ji], rounds);
			if (med > best)
				best = med;
			fprintf(stderr, " %8.0f", med);
			fprintf(report, "method=%s inflight=%d rate=%.1f rounds=",
				mname[m], jobs[ji], med);
			for (k = 0; k < rounds; k++)
				fprintf(report, "%s%.1f", k ? "," : "",
					rate[m][ji][k]);
			fputc('\n', report);
		}
		fputc('\n', stderr);
	}
	fprintf(report, "best=%.1f failed=%lu\n", best, failed);
	fprintf(stderr, "spawnloop: best %.0f spawns/s; %lu children failed\n",
		best, failed);
	fclose(report);
	return failed ? 1 : 0;
}
