/*
 * file: open a rules file for reading, only if it is a regular file, and
 * never block doing it: a FIFO, a device or a link to one is refused
 * before anything is read from it (and, unless swapped in meanwhile,
 * before it is even opened), and a whole-file read stops at a bound.
 */
#ifndef FILE_H
#define FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Open path read-only, close-on-exec, non-blocking.  Returns the
 * descriptor with *st filled by fstat, or -1 with errno: that of stat or
 * open (ENOENT, EACCES...), or EINVAL for anything but a regular file. */
int file_open(const char *path, struct stat *st);

/* Read the whole regular file at path into a new buffer (*text, to be
 * freed; *len bytes, no terminator).  Returns 0, or -1 with errno as for
 * file_open, EFBIG if it holds more than max bytes, or that of read or
 * malloc. */
int file_read(const char *path, size_t max, char **text, size_t *len);

/* What errno from the two above means, for a message: "not a regular
 * file" for EINVAL, strerror for the rest (EFBIG is the caller's to
 * word, as only it knows the bound). */
const char *file_strerror(int e);

#endif
