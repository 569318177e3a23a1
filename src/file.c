#define _GNU_SOURCE
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
file_open(const char *path, struct stat *st)
{
	int fd, e;

	/* stat first: opening some devices acts at once (a watchdog starts,
	 * a tape rewinds), so a path that is plainly no regular file is
	 * never opened. */
	if (stat(path, st) == -1)
		return -1;
	if (!S_ISREG(st->st_mode)) {
		errno = EINVAL;
		return -1;
	}
	/* O_NONBLOCK: if a FIFO was swapped in since the stat, the open
	 * must not wait for a writer; on a regular file it changes
	 * nothing. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int
file_read(const char *path, size_t max, char **text, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap;
	int fd, e;

	fd = file_open(path, &st);
	if (fd == -1)
		return -1;
	if ((uint64_t)st.st_size > (uint64_t)max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	/* The size is a hint (the file may grow, and /proc files say 0):
	 * room for one byte past it tells a grown file, and reads past
	 * max are refused all the same. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *t;

			if (cap > max) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap > max / 2 ? max + 1 : cap * 2;
			t = realloc(buf, cap);
			if (!t)
				goto fail;
			buf = t;
		}
		r = read(fd, buf + n, cap - n);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*text = buf;
	*len = n;
	return 0;

fail:
	e = errno;
	close(fd);
	free(buf);
	errno = e;
	return -1;
}

const char *
file_strerror(int e)
{
	return e == EINVAL ? "not a regular file" : strerror(e);
}
