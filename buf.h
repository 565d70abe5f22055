/* buf.h -- a growable byte buffer, which the report is formatted into */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_BUF_H
#define INSPECT_BUF_H

#include <pthread.h>
#include <stddef.h>
#include <string.h>

/* A growable byte buffer; zero-initialised is empty and valid. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* Make room in out for n more bytes.  Returns 0, or -1 on ENOMEM. */
int	buf_grow(struct buf *out, size_t n);

/*
 * Append len bytes to out.  Returns 0, or -1 on ENOMEM.  Inline, as the
 * formatters call it for every few bytes they write.
 */
static inline int
buf_add(struct buf *out, const void *p, size_t len)
{
	if (out->cap - out->len < len && buf_grow(out, len) == -1)
		return -1;
	if (len > 0)
		memcpy(out->data + out->len, p, len);
	out->len += len;
	return 0;
}

/* Append a NUL-terminated string to out.  Returns 0, or -1 on ENOMEM. */
static inline int
buf_puts(struct buf *out, const char *s)
{
	return buf_add(out, s, strlen(s));
}

/* Release out's memory and make it empty. */
void	buf_free(struct buf *out);

/* Write b whole to fd.  Returns 0, or -1 with errno set. */
int	buf_write(int fd, const struct buf *b);

/*
 * The calling thread's buffer under key, made empty on its first use;
 * NULL if it cannot be made (out of memory).  key's destructor must
 * release it: buf_free(), then free().
 */
struct buf *buf_thread(pthread_key_t key);

#endif
