/* buf.c -- a growable byte buffer, which the report is formatted into */
/* SPDX-License-Identifier: ISC */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"

void
buf_free(struct buf *out)
{
	free(out->data);
	out->data = NULL;
	out->len = out->cap = 0;
}

int
buf_grow(struct buf *out, size_t n)
{
	size_t	 cap;
	char	*p;

	if (out->cap - out->len >= n)
		return 0;
	if (n > SIZE_MAX / 2 - out->len) {
		errno = ENOMEM;
		return -1;
	}
	cap = out->cap > 0 ? out->cap : 256;
	while (cap - out->len < n)
		cap *= 2;
	if ((p = realloc(out->data, cap)) == NULL)
		return -1;
	out->data = p;
	out->cap = cap;
	return 0;
}

struct buf *
buf_thread(pthread_key_t key)
{
	struct buf	*out;

	if ((out = pthread_getspecific(key)) != NULL)
		return out;
	if ((out = calloc(1, sizeof *out)) == NULL)
		return NULL;
	/* Not kept for the thread, nothing would ever free it. */
	if (pthread_setspecific(key, out) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int
buf_write(int fd, const struct buf *b)
{
	const char	*p = b->data;
	size_t		 len = b->len;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
