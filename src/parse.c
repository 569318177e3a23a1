#define _GNU_SOURCE
#include "parse.h"

#include <string.h>

int
parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long n = 0;
	const char *p = s;

	if (*p == '\0')
		return -1;
	for (; *p; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (d > 9)
			return -1;
		/* Stop before n * 10 + d can pass max, which also keeps it from
		 * ever wrapping around, however long the string. */
		if (d > max || n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	if (n < min)
		return -1;
	*out = n;
	return 0;
}

long
parse_escapes(const char *s, char *out)
{
	char *o = out;

	for (; *s; s++) {
		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		switch (*++s) {
		case 'r': *o++ = '\r'; break;
		case 'n': *o++ = '\n'; break;
		case '\\': *o++ = '\\'; break;
		default: return -1;
		}
	}
	*o = '\0';
	return (long)(o - out);
}

int
parse_rate(const char *s, unsigned long max_n, unsigned long max_window,
    unsigned long *n, unsigned long *window)
{
	const char *slash = strchr(s, '/');
	char num[24];
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long count, secs = 1;

	if (len >= sizeof num)
		return -1;
	memcpy(num, s, len);
	num[len] = '\0';
	if (parse_uint(num, 0, max_n, &count) != 0 ||
	    (slash && parse_uint(slash + 1, 1, max_window, &secs) != 0))
		return -1;
	*n = count;
	*window = secs;
	return 0;
}
