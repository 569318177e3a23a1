#define _GNU_SOURCE
#include "parse.h"

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
