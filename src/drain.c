#define _GNU_SOURCE
#include "drain.h"

#include <signal.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"

enum step {
	STEP_OFF,       /* serving: no stop asked yet */
	STEP_WAIT,      /* letting the programs finish, until deadline */
	STEP_TERM,      /* SIGTERM sent, the grace runs until deadline */
	STEP_KILL       /* SIGKILL sent: only the reaping is left */
};

static enum step step = STEP_OFF;
static struct timespec deadline;   /* when the next step comes */
static uint32_t at_start, at_term, at_kill;  /* running as each began */

int
drain_active(void)
{
	return step != STEP_OFF;
}

/* "tcpwarden: WHAT: N running, HOW": the lines of every step. */
static void
log_step(const char *what, uint32_t running, const char *how)
{
	struct log_line l;

	if (log_level < LOG_VERBOSE)
		return;
	log_start(&l, what);
	log_uint(&l, running);
	log_str(&l, " running, ");
	log_str(&l, how);
	log_flush(&l);
}

/* Every program still in the table gets sig. */
static void
signal_all(const struct table *t, int sig)
{
	uint32_t i;

	for (i = 0; i < t->used; i++) {
		kill(t->slots[i].pid, sig);
		/* A stopped program would keep its SIGTERM pending until
		 * someone continues it: continue it, the SIGTERM already
		 * pending so that it acts on it first. */
		if (sig == SIGTERM)
			kill(t->slots[i].pid, SIGCONT);
	}
}

static void
next_step(const struct table *t)
{
	if (step == STEP_WAIT) {
		step = STEP_TERM;
		at_term = t->used;
		signal_all(t, SIGTERM);
		deadline_in(&deadline, DRAIN_GRACE, 0);
		log_step("drain: ", at_term, "SIGTERM sent");
	} else if (step == STEP_TERM) {
		step = STEP_KILL;
		at_kill = t->used;
		signal_all(t, SIGKILL);
		log_step("drain: ", at_kill, "SIGKILL sent");
	}
}

static void
finish(void)
{
	struct log_line l;
	uint32_t term = step >= STEP_TERM ? at_term : 0;
	uint32_t kill_ = step >= STEP_KILL ? at_kill : 0;

	if (log_level >= LOG_VERBOSE) {
		log_start(&l, "exit: 0 running, ended ");
		log_uint(&l, at_start - term);
		log_str(&l, " in time, ");
		log_uint(&l, term - kill_);
		log_str(&l, " after SIGTERM, ");
		log_uint(&l, kill_);
		log_str(&l, " after SIGKILL");
		if (log_lost() > 0) {
			log_str(&l, ", ");
			log_uint(&l, log_lost());
			log_str(&l, " log lines lost");
		}
		log_flush(&l);
	}
	_exit(0);
}

void
drain_start(const struct table *t, int on, unsigned long seconds)
{
	struct log_line l;

	/* From here, the log must never hold the stop up (log.h). */
	log_stopping();
	if (!on) {
		log_step("stop: ", t->used, "left running");
		_exit(0);
	}
	step = STEP_WAIT;
	at_start = t->used;
	deadline_in(&deadline, (time_t)seconds, 0);
	if (log_level >= LOG_VERBOSE) {
		log_start(&l, "stop: ");
		log_uint(&l, at_start);
		log_str(&l, " running, waiting up to ");
		log_uint(&l, seconds);
		log_str(&l, " s");
		log_flush(&l);
	}
	drain_tick(t);
}

void
drain_skip(const struct table *t)
{
	next_step(t);
}

void
drain_tick(const struct table *t)
{
	struct timespec left;

	if (step == STEP_OFF)
		return;
	if (t->used == 0)
		finish();
	if (step != STEP_KILL && !deadline_left(&deadline, &left))
		next_step(t);
}

const struct timespec *
drain_timeout(struct timespec *left)
{
	if (step == STEP_OFF || step == STEP_KILL)
		return NULL;
	deadline_left(&deadline, left);
	return left;
}
