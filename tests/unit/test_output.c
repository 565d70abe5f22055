/* test_output.c -- the report's queue and writer thread, on real files */
/* SPDX-License-Identifier: ISC */

/*
 * clock_gettime() is wrapped (-Wl,--wrap): CLOCK_REALTIME can be shown to
 * output.c stepped by an hour, which the host's clock cannot be made to
 * do for a test.
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../log.h"
#include "../../output.h"

#define PRODUCERS	8
#define PER_PRODUCER	400
#define BIG		(300 * 1024)	/* more than the queue's soft limit */
#define STUCK_EVENTS	200
#define STUCK_SIZE	1000
/*
 * A slow reader takes SLOW_READ bytes, then pauses SLOW_PAUSE_MS, until
 * it has SLOW_EVENTS events of STUCK_SIZE: about 2.6 s in all, well past
 * output_stop()'s second without progress, while each write of the
 * writer's (64 KiB, eight reads) takes about 80 ms, far from that second
 * even on a loaded machine.  (16 KiB every 250 ms made a write take the
 * whole second.)
 */
#define SLOW_READ	(8 * 1024)
#define SLOW_PAUSE_MS	10
#define SLOW_EVENTS	2000
#define SLOW_IDLE_MS	10000		/* the reader gives up after this */
/*
 * A flood of events while the output is stuck: more than two full
 * queues (the one being written and the one filling) and a pipe hold,
 * so that some must be dropped; then a few once it caught up.
 */
#define FLOOD_SIZE	1000
#define FLOOD_EVENTS	(40 * 1024)
#define AFTER_EVENTS	100

/* What a clock step must not change: how long the writer's waits are. */
#define CLOCK_STEP	3600		/* seconds, either way */
#define STEP_ALARM	10		/* a child still waiting is killed */
#define STEP_EVENTS	1000		/* of STUCK_SIZE: past every buffer */

struct result {
	unsigned long long	 lost;
	unsigned long long	 failed;	/* the child could not run */
	/* In milliseconds, for clock_stepped(): */
	long			 batch_ms;	/* a lone event to the output */
	long			 room_ms;	/* the longest output_event() */
	long			 stop_ms;	/* output_stop(1), output stuck */
	int			 orphaned;	/* calls of on_orphaned() */
};

int	__real_clock_gettime(clockid_t, struct timespec *);
int	__wrap_clock_gettime(clockid_t, struct timespec *);

static void	*produce(void *);
static size_t	 event_size(unsigned int, unsigned int);
static size_t	 make_event(char *, unsigned int, unsigned int);
static struct result run_child(void (*)(const char *, struct result *),
		    const char *);
static void	 many_producers(const char *, struct result *);
static void	 stuck_output(const char *, struct result *);
static void	*slow_reader(void *);
static void	 slow_output(const char *, struct result *);
static char	*read_file(const char *, size_t *);
static void	 flood_event(char *, unsigned int);
static void	*drain(void *);
static void	 flood_output(const char *, struct result *);
static long	 ms_since(const struct timespec *);
static void	 clock_stepped(const char *, struct result *);
static void	 step_clock(long);
static void	 on_orphaned(void);
static void	 reader_gone(const char *, struct result *);
static void	 begun_and_reopened(const char *, struct result *);
static void	 assert_file(const char *, const char *);

/* What drain() reads from the FIFO, and where it copies it. */
struct drain {
	int		 fd;		/* the FIFO, opened before the writer */
	int		 copy;
	atomic_size_t	 got;
	atomic_int	 done;		/* nothing more will be written */
};

static char	 dir[] = "/tmp/inspect-test-output.XXXXXX";
/* Seconds added to CLOCK_REALTIME as output.c reads it. */
static long	 realtime_step;

/*
 * Reading the wall clock an hour ahead and waiting by the real one is
 * what a step back by an hour just after the reading does; an hour
 * behind, a step forward.
 */
int
__wrap_clock_gettime(clockid_t id, struct timespec *ts)
{
	int	 rc = __real_clock_gettime(id, ts);

	if (rc == 0 && id == CLOCK_REALTIME)
		ts->tv_sec += realtime_step;
	return rc;
}

/* Event seq of producer t: "t seq size\n", filler, '\n'. */
static size_t
event_size(unsigned int t, unsigned int seq)
{
	if (seq % 97 == 13)
		return BIG;
	return 32 + (t * 7919 + seq * 104729) % 3000;
}

static size_t
make_event(char *p, unsigned int t, unsigned int seq)
{
	size_t	 size = event_size(t, seq), n, i;

	n = (size_t)snprintf(p, size, "%u %u %zu\n", t, seq, size);
	for (i = n; i < size - 1; i++)
		p[i] = 'a' + (t + seq + i) % 26;
	p[size - 1] = '\n';
	return size;
}

static void *
produce(void *arg)
{
	unsigned int	 t = (unsigned int)(uintptr_t)arg, seq;
	char		*p;

	if ((p = malloc(BIG)) == NULL)
		return NULL;
	for (seq = 0; seq < PER_PRODUCER; seq++)
		output_event(p, make_event(p, t, seq));
	free(p);
	return NULL;
}

/*
 * output.c keeps its state for the life of a process: each case runs in
 * a child of its own and sends back what it saw.
 */
static struct result
run_child(void (*fn)(const char *, struct result *), const char *path)
{
	struct result	 r = { 0, 1, 0, 0, 0, 0 };
	int		 fd[2], status;
	pid_t		 pid;

	assert_int_equal(pipe(fd), 0);
	if ((pid = fork()) == 0) {
		close(fd[0]);
		fn(path, &r);
		if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r)
			_exit(1);
		_exit(0);
	}
	assert_true(pid > 0);
	close(fd[1]);
	if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r)
		r.failed = 1;
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return r;
}

static void
many_producers(const char *path, struct result *r)
{
	const char	*paths[] = { path };
	pthread_t	 th[PRODUCERS];
	char		 err[256];
	uintptr_t	 t;

	if (output_open(paths, 1, 0, err, sizeof err) == -1 ||
	    output_start(NULL) != 0)
		return;
	for (t = 0; t < PRODUCERS; t++)
		if (pthread_create(&th[t], NULL, produce, (void *)t) != 0)
			return;
	for (t = 0; t < PRODUCERS; t++)
		pthread_join(th[t], NULL);
	output_stop(10);
	r->lost = output_lost();
	r->failed = 0;
}

/* Eight threads at once, big events among small: all written, whole. */
static void
test_output_events_whole_and_in_order(void **state)
{
	struct result	 r;
	char		 path[PATH_MAX], head[64], *data, *p, *end, *want;
	unsigned int	 next[PRODUCERS] = { 0 }, t, seq;
	size_t		 len = 0, size, n = 0;

	(void)state;
	snprintf(path, sizeof path, "%s/report", dir);
	r = run_child(many_producers, path);
	assert_false(r.failed);
	assert_int_equal(r.lost, 0);

	assert_non_null(data = read_file(path, &len));
	assert_non_null(want = malloc(BIG));
	for (p = data, end = data + len; p < end; p += size, n++) {
		/* The first line of an event: "t seq size". */
		size = end - p < (ptrdiff_t)sizeof head ? (size_t)(end - p) :
		    sizeof head - 1;
		memcpy(head, p, size);
		head[size] = '\0';
		assert_int_equal(sscanf(head, "%u %u %zu", &t, &seq, &size),
		    3);
		assert_true(t < PRODUCERS);
		/* Each producer's events in the order it queued them. */
		assert_int_equal(seq, next[t]);
		next[t]++;
		assert_true(size <= (size_t)(end - p));
		assert_int_equal(make_event(want, t, seq), size);
		assert_memory_equal(p, want, size);
	}
	assert_int_equal(n, PRODUCERS * PER_PRODUCER);
	free(want);
	free(data);
	unlink(path);
}

static void
stuck_output(const char *path, struct result *r)
{
	const char	*paths[] = { path };
	char		 err[256], event[STUCK_SIZE];
	int		 reader, i;

	/* A reader that never reads: the pipe fills and the writer blocks. */
	if ((reader = open(path, O_RDONLY | O_NONBLOCK)) == -1 ||
	    output_open(paths, 1, 0, err, sizeof err) == -1 ||
	    output_start(NULL) != 0)
		return;
	memset(event, 'x', sizeof event);
	event[sizeof event - 1] = '\n';
	for (i = 0; i < STUCK_EVENTS; i++)
		output_event(event, sizeof event);
	output_stop(1);
	r->lost = output_lost();
	r->failed = 0;
	close(reader);
}

/*
 * An output nobody reads: stopping gives up after its time, and every
 * event that did not get out whole is counted as lost.  A pipe holds at
 * most 64 KiB, so at least the rest of the 200 kB is lost.
 */
static void
test_output_stuck_counts_lost(void **state)
{
	struct result	 r;
	char		 path[PATH_MAX];
	long		 fit = 65536 / STUCK_SIZE;

	(void)state;
	snprintf(path, sizeof path, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	r = run_child(stuck_output, path);
	assert_false(r.failed);
	assert_true(r.lost >= (unsigned long long)(STUCK_EVENTS - fit));
	assert_true(r.lost <= STUCK_EVENTS);
	unlink(path);
}

/*
 * Reads the FIFO at arg a little at a time until it has every event, or
 * nothing more comes for SLOW_IDLE_MS.  Returns the bytes read.
 */
static void *
slow_reader(void *arg)
{
	const struct timespec	 pause = { 0, SLOW_PAUSE_MS * 1000000L };
	static char		 buf[SLOW_READ];
	struct pollfd		 pfd = { -1, POLLIN, 0 };
	size_t			 want = SLOW_EVENTS * STUCK_SIZE, got = 0;
	ssize_t			 n;
	int			 fd;

	if ((fd = open(arg, O_RDONLY)) == -1)
		return NULL;
	pfd.fd = fd;
	while (got < want && poll(&pfd, 1, SLOW_IDLE_MS) == 1 &&
	    (n = read(fd, buf, sizeof buf)) > 0) {
		got += n;
		nanosleep(&pause, NULL);
	}
	close(fd);
	return (void *)(uintptr_t)got;
}

static void
slow_output(const char *path, struct result *r)
{
	const char	*paths[] = { path };
	char		 err[256], event[STUCK_SIZE];
	pthread_t	 th;
	void		*got;
	int		 i;

	if (pthread_create(&th, NULL, slow_reader, (void *)(uintptr_t)path)
	    != 0)
		return;
	if (output_open(paths, 1, 0, err, sizeof err) == -1 ||
	    output_start(NULL) != 0)
		return;
	memset(event, 'x', sizeof event);
	event[sizeof event - 1] = '\n';
	for (i = 0; i < SLOW_EVENTS; i++)
		output_event(event, sizeof event);
	/* Reading takes seconds, but never a whole second without a write. */
	output_stop(1);
	pthread_join(th, &got);
	r->lost = output_lost();
	r->failed = (uintptr_t)got != SLOW_EVENTS * STUCK_SIZE;
}

/*
 * An output that is slow but reads: stopping waits for it, however long
 * the whole takes, and nothing is lost.
 */
static void
test_output_slow_reader_gets_all(void **state)
{
	struct result	 r;
	char		 path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof path, "%s/slow", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	r = run_child(slow_output, path);
	assert_false(r.failed);
	assert_int_equal(r.lost, 0);
	unlink(path);
}

/* Event seq of a flood: "seq\n", filler that depends on seq, '\n'. */
static void
flood_event(char *p, unsigned int seq)
{
	size_t	 n, i;

	n = (size_t)snprintf(p, FLOOD_SIZE, "%u\n", seq);
	for (i = n; i < FLOOD_SIZE - 1; i++)
		p[i] = 'a' + (seq * 31 + i) % 26;
	p[FLOOD_SIZE - 1] = '\n';
}

/*
 * Copies what comes from the FIFO until it is empty once nothing more
 * will be written: output_stop() has returned, so every byte the writer
 * wrote is in the pipe.
 */
static void *
drain(void *arg)
{
	static char	 buf[64 * 1024];
	struct drain	*d = arg;
	struct pollfd	 pfd = { d->fd, POLLIN, 0 };
	ssize_t		 n;
	int		 done;

	for (;;) {
		done = atomic_load(&d->done);
		if (poll(&pfd, 1, 100) != 1) {
			if (done)
				break;
			continue;
		}
		if ((n = read(d->fd, buf, sizeof buf)) == -1 &&
		    errno == EAGAIN)
			continue;
		if (n <= 0 || write(d->copy, buf, n) != n)
			break;
		atomic_fetch_add(&d->got, n);
	}
	return NULL;
}

static void
flood_output(const char *path, struct result *r)
{
	const char	*paths[] = { path };
	char		 err[256], copy[PATH_MAX + 8], event[FLOOD_SIZE];
	struct drain	 d;
	pthread_t	 th;
	size_t		 written;
	unsigned int	 seq;
	int		 i;

	snprintf(copy, sizeof copy, "%s.copy", path);
	atomic_init(&d.got, 0);
	atomic_init(&d.done, 0);
	/* Opened, but not read yet: the writer is stuck after 64 KiB. */
	if ((d.fd = open(path, O_RDONLY | O_NONBLOCK)) == -1 ||
	    (d.copy = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
	    -1 || output_open(paths, 1, 0, err, sizeof err) == -1 ||
	    output_start(NULL) != 0)
		return;
	for (seq = 0; seq < FLOOD_EVENTS; seq++) {
		flood_event(event, seq);
		output_event(event, sizeof event);
	}
	/* Read after the fact: every event not dropped gets out. */
	written = (FLOOD_EVENTS - output_lost()) * FLOOD_SIZE;
	if (pthread_create(&th, NULL, drain, &d) != 0)
		return;
	for (i = 0; i < 1000 && atomic_load(&d.got) < written; i++)
		poll(NULL, 0, 10);
	/* Caught up: events are taken again. */
	for (; seq < FLOOD_EVENTS + AFTER_EVENTS; seq++) {
		flood_event(event, seq);
		output_event(event, sizeof event);
	}
	output_stop(5);
	r->lost = output_lost();
	atomic_store(&d.done, 1);
	pthread_join(th, NULL);
	close(d.fd);
	close(d.copy);
	r->failed = 0;
}

/*
 * An output that cannot keep up for long enough that the queue fills:
 * the events that do not fit are dropped, and output_lost() counts
 * exactly those.  What gets out is whole events, in the order queued,
 * with none missing but as many as were counted, all from the flood,
 * and the events queued once the output caught up are all there.
 */
static void
test_output_overflow_counts_drops(void **state)
{
	struct result	 r;
	char		 path[PATH_MAX], copy[PATH_MAX + 8], want[FLOOD_SIZE];
	char		*data, *p, *end, head[16];
	unsigned int	 seq, next = 0, missing = 0;
	size_t		 len = 0, n = 0;

	(void)state;
	snprintf(path, sizeof path, "%s/flood", dir);
	snprintf(copy, sizeof copy, "%s.copy", path);
	assert_int_equal(mkfifo(path, 0600), 0);
	r = run_child(flood_output, path);
	data = read_file(copy, &len);
	unlink(copy);
	unlink(path);
	assert_false(r.failed);
	/* More than the queue holds: some were dropped. */
	assert_true(r.lost > 0);
	assert_true(r.lost < FLOOD_EVENTS);

	assert_non_null(data);
	assert_int_equal(len % FLOOD_SIZE, 0);
	for (p = data, end = data + len; p < end; p += FLOOD_SIZE, n++) {
		/* The first line of an event: "seq". */
		memcpy(head, p, sizeof head - 1);
		head[sizeof head - 1] = '\0';
		assert_int_equal(sscanf(head, "%u\n", &seq), 1);
		/* In order; a gap only in the flood, where drops are. */
		assert_true(seq >= next);
		if (seq > next)
			assert_true(seq <= FLOOD_EVENTS);
		missing += seq - next;
		next = seq + 1;
		flood_event(want, seq);
		assert_memory_equal(p, want, FLOOD_SIZE);
	}
	/* The last one came: those after the flood all did. */
	assert_int_equal(next, FLOOD_EVENTS + AFTER_EVENTS);
	assert_int_equal(missing, r.lost);
	assert_int_equal(n + r.lost, FLOOD_EVENTS + AFTER_EVENTS);
	free(data);
}

/* Milliseconds since *t0, by the clock that does not step. */
static long
ms_since(const struct timespec *t0)
{
	struct timespec	 t;

	__real_clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * The writer's three timed waits, with the wall clock stepped: a lone
 * event waits for a batch to gather (20 ms), a callback for room (10
 * ms), and stopping for an output that takes nothing (a second at a
 * time).
 */
static void
clock_stepped(const char *path, struct result *r)
{
	const char	*paths[] = { path };
	struct pollfd	 pfd = { -1, POLLIN, 0 };
	struct timespec	 t0;
	char		 err[256], event[STUCK_SIZE], buf[STUCK_SIZE];
	long		 ms;
	int		 i;

	/* Waiting by the stepped clock would take an hour. */
	alarm(STEP_ALARM);
	if ((pfd.fd = open(path, O_RDONLY | O_NONBLOCK)) == -1 ||
	    output_open(paths, 1, 0, err, sizeof err) == -1 ||
	    output_start(NULL) != 0)
		return;
	memset(event, 'x', sizeof event);
	event[sizeof event - 1] = '\n';

	__real_clock_gettime(CLOCK_MONOTONIC, &t0);
	output_event(event, sizeof event);
	if (poll(&pfd, 1, 3000) != 1) {
		/* Stalled: the rest would be too. */
		r->batch_ms = 3000;
		r->failed = 0;
		return;
	}
	r->batch_ms = ms_since(&t0);
	if (read(pfd.fd, buf, sizeof buf) != (ssize_t)sizeof buf)
		return;

	/* The reader stops reading: the writer blocks, the queue fills. */
	for (i = 0; i < STEP_EVENTS; i++) {
		__real_clock_gettime(CLOCK_MONOTONIC, &t0);
		output_event(event, sizeof event);
		if ((ms = ms_since(&t0)) > r->room_ms)
			r->room_ms = ms;
	}

	__real_clock_gettime(CLOCK_MONOTONIC, &t0);
	output_stop(1);
	r->stop_ms = ms_since(&t0);
	r->lost = output_lost();
	r->failed = 0;
	close(pfd.fd);
}

/*
 * Each wait lasts what it should, by a clock that does not step, whatever
 * the wall clock does: not an hour longer (the report stalls), not cut
 * short (events are not gathered, a callback does not wait for room, a
 * slow output is given up on at once).
 */
static void
step_clock(long step)
{
	struct result	 r;
	char		 path[PATH_MAX];

	snprintf(path, sizeof path, "%s/stepped", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	realtime_step = step;
	r = run_child(clock_stepped, path);
	realtime_step = 0;
	unlink(path);
	assert_false(r.failed);
	print_message("clock stepped %+ld s: batch %ld ms, room %ld ms, "
	    "stop %ld ms\n", -step, r.batch_ms, r.room_ms, r.stop_ms);
	/* The batch waits 20 ms for more; waiting for room, 10 ms. */
	assert_in_range(r.batch_ms, 19, 1000);
	assert_in_range(r.room_ms, 9, 1000);
	/* Progress is looked at every second: a second without, at least. */
	assert_in_range(r.stop_ms, 999, 5000);
	assert_true(r.lost > 0);
}

static void
test_output_clock_stepped_back(void **state)
{
	(void)state;
	step_clock(CLOCK_STEP);
}

static void
test_output_clock_stepped_forward(void **state)
{
	(void)state;
	step_clock(-CLOCK_STEP);
}

static atomic_int	 orphaned_calls;

static void
on_orphaned(void)
{
	atomic_fetch_add(&orphaned_calls, 1);
}

/*
 * Standard output a pipe whose reader is gone, and path (if not NULL) a
 * second output: a few events, each in a batch of its own.
 */
static void
reader_gone(const char *path, struct result *r)
{
	const char		*paths[] = { "-", path };
	const struct timespec	 pause = { 0, 100 * 1000000 };
	char			 err[256];
	int			 fd[2], i;

	signal(SIGPIPE, SIG_IGN);	/* as in a worker */
	if (pipe(fd) == -1 || dup2(fd[1], STDOUT_FILENO) == -1)
		return;
	close(fd[0]);
	close(fd[1]);
	if (output_open(paths, path != NULL ? 2 : 1, 0, err, sizeof err) ==
	    -1 || output_start(on_orphaned) != 0)
		return;
	for (i = 0; i < 3; i++) {
		output_event("event\n", 6);
		nanosleep(&pause, NULL);
	}
	output_stop(1);
	r->lost = output_lost();
	r->orphaned = atomic_load(&orphaned_calls);
	r->failed = 0;
}

/* inspect | head: told once that the report has no reader; none lost. */
static void
test_output_reader_gone_alone(void **state)
{
	struct result	 r;

	(void)state;
	r = run_child(reader_gone, NULL);
	assert_false(r.failed);
	assert_int_equal(r.orphaned, 1);
	assert_int_equal(r.lost, 0);
}

/* With a file beside standard output, the report goes on in the file. */
static void
test_output_reader_gone_file_goes_on(void **state)
{
	struct result	 r;
	char		 path[PATH_MAX], *data;
	size_t		 len = 0;

	(void)state;
	snprintf(path, sizeof path, "%s/beside", dir);
	r = run_child(reader_gone, path);
	assert_false(r.failed);
	assert_int_equal(r.orphaned, 0);
	assert_int_equal(r.lost, 0);
	assert_non_null(data = read_file(path, &len));
	assert_int_equal(len, 18);
	assert_memory_equal(data, "event\nevent\nevent\n", 18);
	free(data);
	unlink(path);
}

/*
 * Two outputs, path and path.b, begun; path is rotated (renamed to
 * path.1) and both reopened, then reopened again; then one event.
 */
static void
begun_and_reopened(const char *path, struct result *r)
{
	char		 b[PATH_MAX + 2], old[PATH_MAX + 2], err[256];
	const char	*paths[] = { path, b };

	snprintf(b, sizeof b, "%s.b", path);
	snprintf(old, sizeof old, "%s.1", path);
	if (output_open(paths, 2, 0, err, sizeof err) == -1 ||
	    output_begin("[0] start\n", 10) == -1 ||
	    rename(path, old) == -1 || output_reopen() == -1 ||
	    output_reopen() == -1 || output_start(NULL) != 0)
		return;
	output_event("[1] close\n", 10);
	output_stop(10);
	r->lost = output_lost();
	r->failed = 0;
}

/*
 * What output_begin() writes begins every output, and again a new file
 * after a reopening, before the events that go there; a file that was
 * not rotated is still the same, and does not have it twice.
 */
static void
test_output_begin_and_reopen(void **state)
{
	struct result	 r;
	char		 path[PATH_MAX], other[PATH_MAX + 2];

	(void)state;
	snprintf(path, sizeof path, "%s/report", dir);
	r = run_child(begun_and_reopened, path);
	assert_false(r.failed);
	assert_int_equal(r.lost, 0);
	assert_file(path, "[0] start\n[1] close\n");
	snprintf(other, sizeof other, "%s.1", path);
	assert_file(other, "[0] start\n");
	snprintf(other, sizeof other, "%s.b", path);
	assert_file(other, "[0] start\n[1] close\n");
}

/* Whether path holds want, and nothing else; then it is removed. */
static void
assert_file(const char *path, const char *want)
{
	char	*data;
	size_t	 len;

	assert_non_null(data = read_file(path, &len));
	data[len] = '\0';
	assert_string_equal(data, want);
	free(data);
	unlink(path);
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat	 st;
	char		*p;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || (p = malloc(st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	if (read(fd, p, st.st_size) != st.st_size) {
		free(p);
		p = NULL;
	}
	close(fd);
	*len = st.st_size;
	return p;
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	/* Only what goes wrong, on standard error. */
	return log_init(LEVEL_CRITICAL | LEVEL_ERROR, NULL, 0, 0);
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_events_whole_and_in_order),
		cmocka_unit_test(test_output_stuck_counts_lost),
		cmocka_unit_test(test_output_slow_reader_gets_all),
		cmocka_unit_test(test_output_overflow_counts_drops),
		cmocka_unit_test(test_output_clock_stepped_back),
		cmocka_unit_test(test_output_clock_stepped_forward),
		cmocka_unit_test(test_output_reader_gone_alone),
		cmocka_unit_test(test_output_reader_gone_file_goes_on),
		cmocka_unit_test(test_output_begin_and_reopen),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
