/*
 * libFuzzer target for the command line: cmd/tcpwarden.c's main, built as
 * tcpwarden_main (-Dmain=tcpwarden_main), with this file's server_run in
 * place of the server.  The input is NUL-separated words: a word starting
 * with byte 1 is an environment entry (MAXCONNIP, MAXCONNC, DIEMSG, UID,
 * GID, ...), every other word the next argument after "tcpwarden".  This
 * covers every option, the numbers, and the -C/-N messages with their
 * escapes (limit_arg).
 *
 * Each run must end in exactly one of three ways:
 *   - server_run is called with a config inside every documented range,
 *     having written nothing; main then returns 111;
 *   - _exit(100) after exactly one "tcpwarden: usage: ..." line on stderr,
 *     which ends by pointing at --help;
 *   - _exit(0) after --help or --version wrote its text on stdout.
 *
 * The parser ends in _exit(100), which libFuzzer would count as a crash
 * (and which would end the fuzzing process).  So the binary is linked with
 * -Wl,--wrap=_exit: the linker sends the parser's calls of _exit to
 * __wrap__exit below, which longjmps back here while a run is in
 * progress (and is the real _exit otherwise).  Jumping out of the parser
 * is safe because nothing it leaves behind outlives the run: getopt is
 * reset with optind = 0, log_level is reset, the environment is this
 * file's array, and the strings limit_arg strdup's (which main keeps for
 * the server and so never frees) are tracked through --wrap=strdup and
 * freed after the run, so LeakSanitizer stays on.  --wrap=write catches
 * the parser's log lines (one write(2) each) so they can be checked and
 * do not flood the fuzzer's output.
 *
 *	clang -fsanitize=fuzzer,address,undefined -Isrc -Dmain=tcpwarden_main \
 *	    -Wl,--wrap=_exit,--wrap=strdup,--wrap=write \
 *	    tests/fuzz/fuzz_options.c cmd/tcpwarden.c src/parse.c src/log.c src/addr.c
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "parse.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int tcpwarden_main(int argc, char **argv);

/* The linker's names for the wrapped functions (ld --wrap). */
void __wrap__exit(int code) __attribute__((__noreturn__));
void __real__exit(int code) __attribute__((__noreturn__));
char *__wrap_strdup(const char *s);
char *__real_strdup(const char *s);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
ssize_t __real_write(int fd, const void *buf, size_t n);

#define MAX_CONNS 1000000

/* What one run did.  Static, so that it survives the longjmp. */
static struct {
	int running;          /* inside tcpwarden_main: wrappers intercept */
	jmp_buf back;         /* where __wrap__exit returns to */
	int exit_code;        /* the code given to _exit */
	int served;           /* server_run was called */
	char **argv;          /* the argv given to main, and its count */
	int argc;
	char **dups;          /* what strdup returned during the run */
	size_t ndups, maxdups;
	struct capture {
		int writes;       /* calls of write(2) */
		size_t len;       /* bytes written, kept up to sizeof buf */
		char buf[2 * LOG_LINE_MAX];
	} out[3];             /* fd 1 and 2 */
} run;

void
__wrap__exit(int code)
{
	if (!run.running)
		__real__exit(code);
	run.running = 0;
	run.exit_code = code;
	longjmp(run.back, 1);
}

char *
__wrap_strdup(const char *s)
{
	char *d = __real_strdup(s);

	if (run.running && d) {
		if (run.ndups == run.maxdups) {
			run.maxdups = run.maxdups ? 2 * run.maxdups : 16;
			run.dups = realloc(run.dups,
			    run.maxdups * sizeof *run.dups);
			if (!run.dups)
				abort();
		}
		run.dups[run.ndups++] = d;
	}
	return d;
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	struct capture *c;
	size_t room;

	if (!run.running || (fd != 1 && fd != 2))
		return __real_write(fd, buf, n);
	c = &run.out[fd];
	c->writes++;
	room = sizeof c->buf - c->len;
	memcpy(c->buf + c->len, buf, n < room ? n : room);
	c->len += n < room ? n : room;
	return (ssize_t)n;
}

/* A limit as the server will use it: a message it can write as is, and
 * the environment's MAXCONNIP or MAXCONNC, when set, in force. */
static void
check_limit(const struct limit *lim, const char *env)
{
	const char *v = getenv(env);
	unsigned long n;

	if (!lim->msg || strlen(lim->msg) != lim->msg_len)
		abort();
	if (lim->max > MAX_CONNS || (!lim->on && lim->max != 0))
		abort();
	if (v) {
		if (parse_uint(v, 0, MAX_CONNS, &n) != 0 || !lim->on ||
		    lim->max != n)
			abort();
	} else if (lim->on && lim->max == 0)
		abort();
}

/* The server's stand-in: the config must be what the man page promises. */
void
server_run(const struct config *cfg)
{
	const char *diemsg = getenv("DIEMSG");

	run.served = 1;
	if (cfg->max_conns < 1 || cfg->max_conns > MAX_CONNS)
		abort();
	if (!cfg->per_client.on)
		abort();
	check_limit(&cfg->per_client, "MAXCONNIP");
	check_limit(&cfg->per_net, "MAXCONNC");
	if (cfg->v4_client_bits < 1 || cfg->v4_client_bits > 32 ||
	    cfg->v4_net_bits < 1 || cfg->v4_net_bits > 32 ||
	    cfg->v6_client_bits < 1 || cfg->v6_client_bits > 128 ||
	    cfg->v6_net_bits < 1 || cfg->v6_net_bits > 128)
		abort();
	if (cfg->backlog < 1 || cfg->backlog > 65535 ||
	    cfg->timeout < 1 || cfg->timeout > 3600)
		abort();
	if (cfg->banner ? strlen(cfg->banner) != cfg->banner_len :
	    cfg->banner_len != 0)
		abort();
	/* host, port and the program are the three words after the
	 * options, in order, and the program's arguments follow. */
	if (cfg->argv < run.argv + 3 || cfg->argv >= run.argv + run.argc ||
	    cfg->argv[-2] != cfg->host || cfg->argv[-1] != cfg->port ||
	    !cfg->argv[0])
		abort();
	if ((cfg->set_uid && !cfg->set_gid) ||
	    (cfg->rules_cdb && cfg->rules_text) ||
	    (cfg->rules_missing_ok && !cfg->rules_cdb))
		abort();
	if (diemsg) {
		/* Then both messages are DIEMSG and "\r\n", in one block that
		 * main allocated for the server to keep: freed here. */
		size_t n = strlen(diemsg);

		if (cfg->per_client.msg != cfg->per_net.msg ||
		    cfg->per_client.msg_len != n + 2 ||
		    memcmp(cfg->per_client.msg, diemsg, n) != 0 ||
		    memcmp(cfg->per_client.msg + n, "\r\n", 3) != 0)
			abort();
		free((void *)cfg->per_client.msg);
	}
}

static int
starts(const struct capture *c, const char *prefix)
{
	size_t n = strlen(prefix);

	return c->len >= n && memcmp(c->buf, prefix, n) == 0;
}

static int
ends(const struct capture *c, const char *suffix)
{
	size_t n = strlen(suffix);

	return c->len >= n && memcmp(c->buf + c->len - n, suffix, n) == 0;
}

/* How the run ended must be one of the three ways above. */
static void
check_outcome(int returned, int ret)
{
	const struct capture *o = &run.out[1], *e = &run.out[2];

	if (returned) {
		if (!run.served || ret != 111 || o->writes || e->writes)
			abort();
		return;
	}
	if (run.served)
		abort();
	switch (run.exit_code) {
	case 100:
		/* One line, whole, inside the log module's limit, with
		 * its pointer to --help. */
		if (o->writes || e->writes != 1 || e->len > LOG_LINE_MAX ||
		    !starts(e, "tcpwarden: usage: ") ||
		    !ends(e, "; see tcpwarden --help\n"))
			abort();
		break;
	case 0:
		if (e->writes || o->writes != 1 ||
		    !(starts(o, "usage: tcpwarden ") || starts(o, "tcpwarden ")))
			abort();
		break;
	default:
		/* 111 would be out of memory, which a fuzzer run never is. */
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *words = malloc(size + 1), **argv, **envp, **saved_env;
	size_t i, nwords = 1, nargs = 1, nenv = 0;
	static int ret;
	volatile int returned;

	if (!words)
		abort();
	memcpy(words, data, size);
	words[size] = '\0';
	for (i = 0; i < size; i++)
		nwords += words[i] == '\0';
	argv = calloc(nwords + 2, sizeof *argv);
	envp = calloc(nwords + 1, sizeof *envp);
	if (!argv || !envp)
		abort();
	argv[0] = "tcpwarden";
	for (i = 0; i < size + 1; i += strlen(words + i) + 1) {
		if (words[i] == '\1')
			envp[nenv++] = words + i + 1;
		else
			argv[nargs++] = words + i;
	}

	memset(run.out, 0, sizeof run.out);
	run.served = 0;
	run.ndups = 0;
	run.argv = argv;
	run.argc = (int)nargs;
	optind = 0;
	log_level = LOG_ERRORS;
	saved_env = environ;
	environ = envp;
	ret = 0;
	returned = 0;
	run.running = 1;
	if (setjmp(run.back) == 0) {
		ret = tcpwarden_main((int)nargs, argv);
		run.running = 0;
		returned = 1;
	}
	environ = saved_env;
	check_outcome(returned, ret);

	for (i = 0; i < run.ndups; i++)
		free(run.dups[i]);
	free(envp);
	free(argv);
	free(words);
	return 0;
}
