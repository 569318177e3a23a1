/*
 * activate: the listening socket systemd passes (socket activation):
 * LISTEN_PID naming this process and LISTEN_FDS=1 mean descriptor 3 is
 * ours to serve.  A passed socket is always a listening TCP socket when
 * activate_take returns it; anything else ends tcpwarden with exit 100.
 * The LISTEN_* variables leave the environment whatever they say, as with
 * sd_listen_fds(1), so that no program of ours mistakes them for its own.
 */
#ifndef ACTIVATE_H
#define ACTIVATE_H

/* The first passed descriptor, where every socket starts. */
#define ACTIVATE_FD 3

/* The passed socket, checked and made non-blocking and close-on-exec, or
 * -1 when systemd passed none to this process.  *name gets its name from
 * LISTEN_FDNAMES, or NULL without one. */
int activate_take(const char **name);

#endif
