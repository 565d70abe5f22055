/* output.c -- where the report goes, without ever holding up the MTA */
/* SPDX-License-Identifier: ISC */

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "output.h"
#include "reason.h"

/*
 * The writer gathers events for up to BATCH_MS, or until BATCH_BYTES are
 * waiting, and writes them with one write: a system call and a wake-up
 * per batch rather than per event.
 */
#define BATCH_MS	20
#define BATCH_BYTES	(64 * 1024)
/*
 * Past SOFT_BYTES waiting, a callback waits for the writer, which takes
 * a millisecond or two when the output keeps up, for at most WAIT_MS: so
 * a burst (a large message, no replies to wait for) is written as it
 * comes instead of piling up in memory.  An output too slow for that is
 * not waited for again until it catches up; the queue then takes up to
 * OUTPUT_QUEUE_SIZE, and drops what is more.
 */
#define SOFT_BYTES	(256 * 1024)
#define WAIT_MS		10
#define WRITE_CHUNK	(64 * 1024)

/*
 * Shared by the processes that serve one socket: a lock that keeps their
 * events whole on a common output, and the count of lost events.
 */
struct shared {
	pthread_mutex_t	 lock;
	atomic_ullong	 lost;
	/* Standard output, once its reader went away: never written again. */
	atomic_int	 gone[OUTPUT_MAX];
};

/* A buffer of whole events, mapped by itself so it can be given back. */
struct queue {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

static int	queue_reserve(struct queue *, size_t);
static void	queue_release(struct queue *);
static void	deadline(struct timespec *, long);
static void	*writer(void *);
static void	write_out(const char *, size_t, size_t);
static int	write_chunked(int, const char *, size_t);
static void	unlock_shared(void *);
static int	take_output(size_t, int);
static int	reader_gone(size_t);
static int	write_head(size_t, int);
static int	same_file(int, int);

static struct shared	*shared;
static const char	*outpaths[OUTPUT_MAX];
static int		 fds[OUTPUT_MAX];
/* Set by the writer when an output fails, cleared by output_reopen(). */
static atomic_int	 failed[OUTPUT_MAX];
static size_t		 nfds;
/* What begins each output (output_begin()); the supervisor's. */
static char		*head;
static size_t		 headlen;

/*
 * Two queues: the callbacks append their events to the one filling; the
 * writer takes it, leaving the other, emptied, in its place, and writes
 * it out with no lock held.  qlock guards everything from here to
 * thread; shared->lock only keeps the processes' writes apart.
 */
static pthread_mutex_t	 qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 qcond;		/* to write; see output_open() */
static pthread_cond_t	 qroom;		/* taken */
static struct queue	 queues[2];
static struct queue	*filling = &queues[0];
static size_t		 events;	/* in filling */
static size_t		 inflight;	/* in the queue being written */
static int		 waiters;	/* callbacks waiting for room */
static int		 running, stopping, dropping, slow;
static unsigned long long dropped;
static pthread_t	 thread;
static atomic_ullong	 progress;	/* bytes the outputs took */
static void		(*orphaned)(void);	/* see output_start() */

int
output_open(const char *const *paths, size_t n, int own_stdout, char *err,
    size_t errlen)
{
	pthread_mutexattr_t	 attr;
	pthread_condattr_t	 cattr;
	size_t			 i;
	int			 fd;

	/* Waits go by a clock that is never stepped (deadline()). */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&qcond, &cattr);
	pthread_cond_init(&qroom, &cattr);
	pthread_condattr_destroy(&cattr);

	shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return reason(err, errlen, "mmap: %s", strerror(errno));
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	/* A worker that dies holding the lock must not stop the others. */
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&shared->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	atomic_init(&shared->lost, 0);
	for (i = 0; i < OUTPUT_MAX; i++)
		atomic_init(&shared->gone[i], 0);

	if (n > OUTPUT_MAX)
		return reason(err, errlen,
		    "more than %d outputs", OUTPUT_MAX);
	for (i = 0; i < n; i++) {
		if (strcmp(paths[i], "-") != 0)
			fd = log_open_file(paths[i], 0);
		else if (own_stdout)
			fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		else
			fd = STDOUT_FILENO;
		/* Said as --record says it, with the way out. */
		if (fd == -1 && errno == ELOOP)
			return reason(err, errlen, "--output %s: a symbolic "
			    "link; give the file itself", paths[i]);
		if (fd == -1)
			return reason(err, errlen,
			    "--output %s: %s", paths[i],
			    log_open_reason(errno));
		outpaths[nfds] = paths[i];
		fds[nfds++] = fd;
	}
	return 0;
}

int
output_terminal(void)
{
	size_t	 i;

	for (i = 0; i < nfds; i++)
		if (!isatty(fds[i]))
			return 0;
	return nfds > 0;
}

int
output_chown(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct stat	 st;
	size_t		 i;

	for (i = 0; i < nfds; i++)
		if (strcmp(outpaths[i], "-") != 0 && fstat(fds[i], &st) == 0 &&
		    S_ISREG(st.st_mode) && fchown(fds[i], uid, gid) == -1)
			return reason(err, errlen,
			    "chown --output %s: %s",
			    outpaths[i], strerror(errno));
	return 0;
}

int
output_begin(const char *p, size_t len)
{
	size_t	 i;
	int	 rc = 0;

	if ((head = malloc(len)) == NULL) {
		log_err("cannot keep the report's first line: out of memory");
		rc = -1;
	} else {
		memcpy(head, p, len);
		headlen = len;
	}
	/*
	 * Told as the writer tells it, and once: the workers, forked
	 * later, know it failed, and tell again only after it worked.
	 */
	for (i = 0; i < nfds; i++)
		if (write_chunked(fds[i], p, len) == -1) {
			if (errno == EPIPE && strcmp(outpaths[i], "-") == 0) {
				reader_gone(i);
				continue;
			}
			atomic_store(&failed[i], 1);
			log_err("cannot write the report to %s: %s; events "
			    "are lost until it can", outpaths[i],
			    strerror(errno));
			rc = -1;
		}
	return rc;
}

int
output_reopen(void)
{
	size_t	 i;
	int	 fd, rc = 0;

	for (i = 0; i < nfds; i++) {
		if (strcmp(outpaths[i], "-") == 0)
			continue;
		if ((fd = log_open_again(outpaths[i], fds[i])) == -1) {
			log_err("cannot reopen --output %s: %s", outpaths[i],
			    log_open_reason(errno));
			rc = -1;
			continue;
		}
		/* Taken even if its first line failed: it may work. */
		if (write_head(i, fd) == -1)
			rc = -1;
		if (take_output(i, fd) == -1)
			rc = -1;
		close(fd);
	}
	return rc;
}

/*
 * Begin fd, output i reopened, as output_begin() began the outputs,
 * unless it is the file before: the workers write there still, and it
 * has begun.  Returns 0, or -1 (logged).
 */
static int
write_head(size_t i, int fd)
{
	if (headlen == 0 || same_file(fd, fds[i]))
		return 0;
	if (write_chunked(fd, head, headlen) == -1) {
		log_err("cannot write the report to the reopened %s: %s",
		    outpaths[i], strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether descriptors a and b are the same file. */
static int
same_file(int a, int b)
{
	struct stat	 sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

size_t
output_fds(int *fd, size_t max)
{
	size_t	 i;

	for (i = 0; i < nfds && i < max; i++)
		fd[i] = fds[i];
	return i;
}

void
output_adopt(const int *fd, size_t n)
{
	size_t	 i;

	for (i = 0; i < nfds && i < n; i++)
		take_output(i, fd[i]);
}

/* Put fd in output i's place.  Returns 0, or -1 (logged). */
static int
take_output(size_t i, int fd)
{
	/* Atomic for the writer, which may be writing right now. */
	if (dup2(fd, fds[i]) == -1) {
		log_err("cannot take the reopened --output %s: %s", outpaths[i],
		    strerror(errno));
		return -1;
	}
	atomic_store(&failed[i], 0);
	return 0;
}

int
output_start(void (*on_orphaned)(void))
{
	int	 rc;

	orphaned = on_orphaned;
	if ((rc = pthread_create(&thread, NULL, writer, NULL)) != 0)
		return rc;
	running = 1;
	return 0;
}

void
output_event(const char *p, size_t len)
{
	struct timespec		 until;
	unsigned long long	 caught_up = 0;
	int			 started_dropping = 0;

	if (len == 0)		/* an event not reported (--stages) */
		return;
	pthread_mutex_lock(&qlock);
	if (running && !slow && filling->len > 0 &&
	    filling->len + len > SOFT_BYTES) {
		deadline(&until, WAIT_MS);
		/* The writer may be gathering a batch: have it write now. */
		waiters++;
		pthread_cond_signal(&qcond);
		while (running && filling->len > 0 &&
		    filling->len + len > SOFT_BYTES)
			if (pthread_cond_timedwait(&qroom, &qlock, &until) ==
			    ETIMEDOUT) {
				slow = 1;
				break;
			}
		waiters--;
	}
	if (!running || OUTPUT_QUEUE_SIZE - filling->len < len ||
	    queue_reserve(filling, len) == -1) {
		atomic_fetch_add(&shared->lost, 1);
		dropped++;
		if (!dropping)
			started_dropping = dropping = 1;
		pthread_mutex_unlock(&qlock);
		if (started_dropping)
			log_warn("the report's outputs fall behind: events are "
			    "dropped until they catch up");
		return;
	}
	if (dropping) {
		caught_up = dropped;
		dropping = 0;
		dropped = 0;
	}
	memcpy(filling->data + filling->len, p, len);
	/* Wake the writer to start a batch, or to write a full one. */
	if (filling->len == 0 || (filling->len < BATCH_BYTES &&
	    filling->len + len >= BATCH_BYTES))
		pthread_cond_signal(&qcond);
	filling->len += len;
	events++;
	pthread_mutex_unlock(&qlock);
	if (caught_up > 0)
		log_warn("the report's outputs caught up; %llu event%s "
		    "dropped", caught_up, LOG_S(caught_up));
}

void
output_stop(int stall)
{
	struct timespec		 until;
	unsigned long long	 seen = 0, now;
	size_t			 unwritten;
	int			 idle = 0, cancelled = 0;

	if (!running)
		return;
	pthread_mutex_lock(&qlock);
	stopping = 1;
	pthread_cond_signal(&qcond);
	pthread_mutex_unlock(&qlock);
	/*
	 * A slow output is waited for as long as it takes something; one
	 * that takes nothing for stall seconds is nobody's: what is left
	 * is lost.
	 */
	for (;;) {
		deadline(&until, 1000);
		if (pthread_clockjoin_np(thread, NULL, CLOCK_MONOTONIC,
		    &until) == 0)
			break;
		if ((now = atomic_load(&progress)) != seen) {
			seen = now;
			idle = 0;
		} else if (++idle >= stall) {
			pthread_cancel(thread);
			pthread_join(thread, NULL);
			cancelled = 1;
			break;
		}
	}
	pthread_mutex_lock(&qlock);
	running = 0;
	/* Left: the batch being written, and what came after the writer. */
	unwritten = events + inflight;
	events = inflight = 0;
	/* Let a callback waiting for room give up. */
	pthread_cond_broadcast(&qroom);
	pthread_mutex_unlock(&qlock);
	if (unwritten > 0) {
		atomic_fetch_add(&shared->lost, unwritten);
		if (cancelled)
			log_warn("%zu event%s not written: the outputs took "
			    "nothing for %d s", unwritten, LOG_S(unwritten),
			    stall);
		else
			log_warn("%zu event%s not written: they came after "
			    "the report was closed", unwritten,
			    LOG_S(unwritten));
	}
}

size_t
output_abandon(void)
{
	size_t	 n;

	pthread_mutex_lock(&qlock);
	n = events + inflight;
	events = inflight = 0;
	pthread_mutex_unlock(&qlock);
	if (n > 0)
		atomic_fetch_add(&shared->lost, n);
	return n;
}

unsigned long long
output_lost(void)
{
	return shared != NULL ? atomic_load(&shared->lost) : 0;
}

/*
 * Room for len more bytes in q, mapped to the next power of two from
 * 64 KiB.  Returns 0, or -1 if there is no memory for it.
 */
static int
queue_reserve(struct queue *q, size_t len)
{
	size_t	 cap;
	void	*p;

	if (q->cap - q->len >= len)
		return 0;
	for (cap = q->cap > 0 ? q->cap : BATCH_BYTES; cap - q->len < len;
	    cap *= 2)
		;
	if (q->cap == 0)
		p = mmap(NULL, cap, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		p = mremap(q->data, q->cap, cap, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -1;
	q->data = p;
	q->cap = cap;
	return 0;
}

/* Give q's memory back, if a burst made it larger than it usually is. */
static void
queue_release(struct queue *q)
{
	q->len = 0;
	if (q->cap > 2 * SOFT_BYTES) {
		munmap(q->data, q->cap);
		q->data = NULL;
		q->cap = 0;
	}
}

/*
 * The time ms milliseconds from now, for the timed waits: by the
 * monotonic clock, so that a step of the wall clock neither stalls a
 * wait (back) nor cuts it short (forward).
 */
static void
deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += ms % 1000 * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Take the queue that is filling, leave the empty one in its place, and
 * write it out with no lock held.  Only whole events are ever queued, so
 * a batch ends on an event's end.
 */
static void *
writer(void *arg)
{
	struct timespec	 until;
	struct queue	*q;
	size_t		 n;

	(void)arg;
	/* output_stop() may cancel it, but only where write_out() allows. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&qlock);
	for (;;) {
		while (filling->len == 0 && !stopping)
			pthread_cond_wait(&qcond, &qlock);
		if (filling->len == 0)
			break;
		if (filling->len < BATCH_BYTES && !stopping) {
			deadline(&until, BATCH_MS);
			while (filling->len < BATCH_BYTES && !stopping &&
			    waiters == 0 && pthread_cond_timedwait(&qcond,
			    &qlock, &until) == 0)
				;
		}
		q = filling;
		filling = q == &queues[0] ? &queues[1] : &queues[0];
		inflight = n = events;
		events = 0;
		pthread_cond_broadcast(&qroom);
		pthread_mutex_unlock(&qlock);
		write_out(q->data, q->len, n);
		queue_release(q);
		pthread_mutex_lock(&qlock);
		inflight = 0;
		/* Caught up: worth waiting for again. */
		if (filling->len == 0)
			slow = 0;
	}
	pthread_mutex_unlock(&qlock);
	return NULL;
}

/*
 * One write per output for the whole batch, under the lock shared with
 * the other processes, so that no event of theirs comes in between.  An
 * output that fails loses the batch's n events, and says so once.
 */
static void
write_out(const char *p, size_t len, size_t n)
{
	size_t		 i;
	int		 oldstate;

	if (pthread_mutex_lock(&shared->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&shared->lock);
	/* A write blocked on an output nobody reads can be cancelled. */
	pthread_cleanup_push(unlock_shared, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &oldstate);
	for (i = 0; i < nfds; i++) {
		if (atomic_load(&shared->gone[i]))
			continue;
		if (write_chunked(fds[i], p, len) == 0) {
			atomic_store(&failed[i], 0);
			continue;
		}
		if (errno == EPIPE && strcmp(outpaths[i], "-") == 0) {
			if (reader_gone(i) && orphaned != NULL)
				orphaned();
			continue;
		}
		atomic_fetch_add(&shared->lost, n);
		if (atomic_exchange(&failed[i], 1) == 0) {
			log_err("cannot write the report to %s: %s; events "
			    "are lost until it can", outpaths[i],
			    strerror(errno));
		}
	}
	pthread_setcancelstate(oldstate, NULL);
	pthread_cleanup_pop(1);
}

/*
 * Standard output's reader went away (inspect | head): no one can ever
 * read it again, unlike a FIFO named by --output, which a new reader
 * may open.  Stop writing it, and say where the report goes on.  Told
 * once, by whichever process of those that share it saw it first.
 * Returns 1 if that was the last output, else 0.
 */
static int
reader_gone(size_t i)
{
	size_t	 j;

	if (atomic_exchange(&shared->gone[i], 1) != 0)
		return 0;
	for (j = 0; j < nfds; j++)
		if (!atomic_load(&shared->gone[j]))
			break;
	if (j == nfds)
		return 1;
	log_warn("standard output's reader went away; the report goes on "
	    "in %s", outpaths[j]);
	return 0;
}

int
output_orphaned(void)
{
	size_t	 i;

	for (i = 0; i < nfds; i++)
		if (!atomic_load(&shared->gone[i]))
			return 0;
	return nfds > 0;
}

static void
unlock_shared(void *arg)
{
	(void)arg;
	pthread_mutex_unlock(&shared->lock);
}

/*
 * At most WRITE_CHUNK bytes a write, so that a reader that is slow but
 * reading shows as progress to output_stop(): one large write to a pipe
 * returns only when all of it has been read.
 */
static int
write_chunked(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len < WRITE_CHUNK ? len :
		    WRITE_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		atomic_fetch_add(&progress, n);
		p += n;
		len -= n;
	}
	return 0;
}
