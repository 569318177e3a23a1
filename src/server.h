/*
 * server: the accept loop.  It waits in one place (ppoll on the listening
 * socket and the signalfd); each turn it reads the signals, reaps, and
 * then accepts, limits and spawns, all with the handled signals blocked
 * (sig.h, table.h).
 */
#ifndef SERVER_H
#define SERVER_H

#include "config.h"

/* Bind, drop privileges, and serve until SIGTERM or SIGINT (then exit 0).
 * Fatal errors exit 100 or 111 from inside. */
void server_run(const struct config *cfg);

#endif
