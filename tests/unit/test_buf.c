/* test_buf.c -- buf.c: the growable buffer and each thread's own */
/* SPDX-License-Identifier: ISC */

/*
 * pthread_setspecific(), calloc() and free() are wrapped (-Wl,--wrap):
 * the first so that a test can make it fail, which the real one cannot
 * be made to do, the others to see that what was allocated is given
 * back.
 */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../buf.h"

int	__real_pthread_setspecific(pthread_key_t, const void *);
int	__wrap_pthread_setspecific(pthread_key_t, const void *);
void	*__real_calloc(size_t, size_t);
void	*__wrap_calloc(size_t, size_t);
void	__real_free(void *);
void	__wrap_free(void *);

static void	 release(void *);

static int	 setspecific_fails;	/* with this error number */
static void	*last_calloc;		/* the block calloc() gave last */
static int	 last_freed;		/* and whether it was freed */
static pthread_key_t key;

int
__wrap_pthread_setspecific(pthread_key_t k, const void *p)
{
	return setspecific_fails != 0 ? setspecific_fails :
	    __real_pthread_setspecific(k, p);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	last_calloc = __real_calloc(n, size);
	last_freed = 0;
	return last_calloc;
}

void
__wrap_free(void *p)
{
	if (p != NULL && p == last_calloc)
		last_freed = 1;
	__real_free(p);
}

/* The key's destructor, as inspect.c has it. */
static void
release(void *p)
{
	buf_free(p);
	free(p);
}

/* Appending grows the buffer, and keeps every byte. */
static void
test_buf_add(void **state)
{
	struct buf	 b = { NULL, 0, 0 };
	char		 chunk[100];
	int		 i;

	(void)state;
	memset(chunk, 'x', sizeof chunk);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_add(&b, chunk, sizeof chunk), 0);
	assert_int_equal(buf_puts(&b, "end"), 0);
	assert_int_equal(b.len, 100 * sizeof chunk + 3);
	assert_true(b.cap >= b.len);
	assert_memory_equal(b.data + b.len - 3, "end", 3);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

/* A thread's buffer is made once, then found again. */
static void
test_buf_thread_made_once(void **state)
{
	struct buf	*a, *b;

	(void)state;
	assert_non_null(a = buf_thread(key));
	assert_int_equal(a->len, 0);
	assert_non_null(b = buf_thread(key));
	assert_ptr_equal(a, b);
	assert_ptr_equal(pthread_getspecific(key), a);
	release(a);
	assert_int_equal(pthread_setspecific(key, NULL), 0);
}

/*
 * The buffer cannot be kept for the thread: NULL, and the buffer just
 * made is freed rather than lost; the next call makes one again.
 */
static void
test_buf_thread_setspecific_fails(void **state)
{
	struct buf	*a;

	(void)state;
	setspecific_fails = ENOMEM;
	assert_null(buf_thread(key));
	setspecific_fails = 0;
	assert_non_null(last_calloc);
	assert_true(last_freed);
	assert_null(pthread_getspecific(key));
	assert_non_null(a = buf_thread(key));
	release(a);
	assert_int_equal(pthread_setspecific(key, NULL), 0);
}

static int
setup(void **state)
{
	(void)state;
	return pthread_key_create(&key, release) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return pthread_key_delete(key) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_add),
		cmocka_unit_test(test_buf_thread_made_once),
		cmocka_unit_test(test_buf_thread_setspecific_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
