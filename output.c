/* output.c -- where the report goes, without ever holding up the MTA */
/* SPDX-License-Identifier: ISC */

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

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

#define MAX_OUTPUTS	8
/*
 * The writer gathers events for up to BATCH_MS, or until BATCH_BYTES are
 * waiting, and writes them with one writev: a system call and a wake-up
 * per batch rather than per event.
 */
#define BATCH_MS	20
#define BATCH_BYTES	(64 * 1024)
/* Room of the queue kept resident once used; the rest is given back. */
#define KEEP_BYTES	(1024 * 1024)

/*
 * Shared by the processes that serve one socket: a lock that keeps their
 * events whole on a common output, and the count of lost events.
 */
struct shared {
	pthread_mutex_t	 lock;
	atomic_ullong	 lost;
};

static int	fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	open_file(const char *);
static void	*writer(void *);
static void	write_out(size_t, size_t, size_t);
static int	writev_all(int, struct iovec *, int);
static void	unlock_shared(void *);

static struct shared	*shared;
static const char	*paths[MAX_OUTPUTS];
static int		 fds[MAX_OUTPUTS];
static int		 failed[MAX_OUTPUTS];
static size_t		 nfds;

/*
 * The queue: a ring of bytes holding whole events, filled by the
 * callbacks, emptied by the writer thread.
 */
static pthread_mutex_t	 qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 qcond = PTHREAD_COND_INITIALIZER;
static char		*ring;
static size_t		 head, used, events;
static size_t		 touched;	/* bytes of the ring made resident */
static int		 running, stopping, dropping;
static unsigned long long dropped;
static pthread_t	 thread;

int
output_open(const char *const *p, size_t n, int own_stdout, char *err,
    size_t errlen)
{
	pthread_mutexattr_t	 attr;
	size_t			 i;
	int			 fd;

	shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return fail(err, errlen, "mmap: %s", strerror(errno));
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	/* A worker that dies holding the lock must not stop the others. */
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&shared->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	atomic_init(&shared->lost, 0);

	for (i = 0; i < n && i < MAX_OUTPUTS; i++) {
		if (strcmp(p[i], "-") != 0)
			fd = open_file(p[i]);
		else if (own_stdout)
			fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		else
			fd = STDOUT_FILENO;
		if (fd == -1)
			return fail(err, errlen, "--output %s: %s", p[i],
			    strerror(errno));
		paths[nfds] = p[i];
		fds[nfds++] = fd;
	}
	return 0;
}

int
output_chown(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct stat	 st;
	size_t		 i;

	for (i = 0; i < nfds; i++)
		if (strcmp(paths[i], "-") != 0 && fstat(fds[i], &st) == 0 &&
		    S_ISREG(st.st_mode) && fchown(fds[i], uid, gid) == -1)
			return fail(err, errlen, "chown --output %s: %s",
			    paths[i], strerror(errno));
	return 0;
}

int
output_reopen(void)
{
	size_t	 i;
	int	 fd, rc = 0;

	for (i = 0; i < nfds; i++) {
		if (strcmp(paths[i], "-") == 0)
			continue;
		if ((fd = open_file(paths[i])) == -1) {
			log_err("cannot reopen --output %s: %s", paths[i],
			    strerror(errno));
			rc = -1;
			continue;
		}
		/* Atomic for the writer, which may be writing right now. */
		dup2(fd, fds[i]);
		close(fd);
		failed[i] = 0;
	}
	return rc;
}

int
output_start(void)
{
	ring = mmap(NULL, OUTPUT_QUEUE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ring == MAP_FAILED) {
		ring = NULL;
		return -1;
	}
	if (pthread_create(&thread, NULL, writer, NULL) != 0) {
		munmap(ring, OUTPUT_QUEUE_SIZE);
		ring = NULL;
		return -1;
	}
	running = 1;
	return 0;
}

void
output_event(const char *p, size_t len)
{
	unsigned long long	 caught_up = 0;
	size_t			 tail, first;
	int			 started_dropping = 0;

	pthread_mutex_lock(&qlock);
	if (!running || OUTPUT_QUEUE_SIZE - used < len) {
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
	tail = (head + used) % OUTPUT_QUEUE_SIZE;
	first = len < OUTPUT_QUEUE_SIZE - tail ? len : OUTPUT_QUEUE_SIZE - tail;
	memcpy(ring + tail, p, first);
	memcpy(ring, p + first, len - first);
	if (len > first)
		touched = OUTPUT_QUEUE_SIZE;
	else if (tail + len > touched)
		touched = tail + len;
	/* Wake the writer to start a batch, or to write a full one. */
	if (used == 0 || (used < BATCH_BYTES && used + len >= BATCH_BYTES))
		pthread_cond_signal(&qcond);
	used += len;
	events++;
	pthread_mutex_unlock(&qlock);
	if (caught_up > 0)
		log_warn("the report's outputs caught up; %llu events were "
		    "dropped", caught_up);
}

void
output_stop(int seconds)
{
	struct timespec	 until;

	if (!running)
		return;
	pthread_mutex_lock(&qlock);
	stopping = 1;
	pthread_cond_signal(&qcond);
	pthread_mutex_unlock(&qlock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	if (pthread_timedjoin_np(thread, NULL, &until) != 0) {
		/* An output nobody reads: what is left is lost. */
		pthread_cancel(thread);
		pthread_join(thread, NULL);
		atomic_fetch_add(&shared->lost, events);
		log_warn("%zu events not written: the outputs did not take "
		    "them in %d s", events, seconds);
	}
	running = 0;
	munmap(ring, OUTPUT_QUEUE_SIZE);
	ring = NULL;
}

unsigned long long
output_lost(void)
{
	return shared != NULL ? atomic_load(&shared->lost) : 0;
}

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Appended to, never through a symbolic link; it holds mail: 0640. */
static int
open_file(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
}

/*
 * Take what is queued, write it out with the queue unlocked, and give
 * the room back.  Only whole events are ever queued, so a batch ends on
 * an event's end.
 */
static void *
writer(void *arg)
{
	struct timespec	 until;
	size_t		 start, len, n;

	(void)arg;
	/* output_stop() may cancel it, but only where write_out() allows. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&qlock);
	for (;;) {
		while (used == 0 && !stopping)
			pthread_cond_wait(&qcond, &qlock);
		if (used == 0)
			break;
		if (used < BATCH_BYTES && !stopping) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += BATCH_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			while (used < BATCH_BYTES && !stopping &&
			    pthread_cond_timedwait(&qcond, &qlock,
			    &until) == 0)
				;
		}
		start = head;
		len = used;
		n = events;
		pthread_mutex_unlock(&qlock);
		write_out(start, len, n);
		pthread_mutex_lock(&qlock);
		head = (head + len) % OUTPUT_QUEUE_SIZE;
		used -= len;
		events -= n;
		/*
		 * Start over at the front, so that only the room in use is
		 * touched, and give back what a burst made resident.
		 */
		if (used == 0) {
			head = 0;
			if (touched > KEEP_BYTES) {
				madvise(ring + KEEP_BYTES, touched - KEEP_BYTES,
				    MADV_DONTNEED);
				touched = KEEP_BYTES;
			}
		}
	}
	pthread_mutex_unlock(&qlock);
	return NULL;
}

/*
 * One writev per output for the whole batch, under the lock shared with
 * the other processes, so that no event of theirs comes in between.  An
 * output that fails loses the batch's n events, and says so once.
 */
static void
write_out(size_t start, size_t len, size_t n)
{
	struct iovec	 iov[2];
	size_t		 i, first;
	int		 oldstate;

	first = len < OUTPUT_QUEUE_SIZE - start ? len :
	    OUTPUT_QUEUE_SIZE - start;
	if (pthread_mutex_lock(&shared->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&shared->lock);
	/* A writev blocked on an output nobody reads can be cancelled. */
	pthread_cleanup_push(unlock_shared, NULL);
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &oldstate);
	for (i = 0; i < nfds; i++) {
		iov[0].iov_base = ring + start;
		iov[0].iov_len = first;
		iov[1].iov_base = ring;
		iov[1].iov_len = len - first;
		if (writev_all(fds[i], iov, len > first ? 2 : 1) == 0) {
			failed[i] = 0;
			continue;
		}
		atomic_fetch_add(&shared->lost, n);
		if (!failed[i]) {
			failed[i] = 1;
			log_err("cannot write the report to %s: %s; events "
			    "are lost until it can", paths[i],
			    strerror(errno));
		}
	}
	pthread_setcancelstate(oldstate, NULL);
	pthread_cleanup_pop(1);
}

static void
unlock_shared(void *arg)
{
	(void)arg;
	pthread_mutex_unlock(&shared->lock);
}

static int
writev_all(int fd, struct iovec *iov, int cnt)
{
	ssize_t	 n;

	while (cnt > 0) {
		if ((n = writev(fd, iov, cnt)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= n;
		}
	}
	return 0;
}
