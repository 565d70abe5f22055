/* log.c -- inspect's diagnostics: levels, a file or stream, syslog */
/* SPDX-License-Identifier: ISC */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct name {
	const char	*name;
	int		 value;
};

static void	put_line(int, int, unsigned int, const char *, va_list)
		    __attribute__((format(printf, 4, 0)));
static int	to_syslog_priority(unsigned int);
static const char *level_name(unsigned int);
static int	take_file(int);
static int	read_memory(long *, long *);

static const struct name level_names[] = {
	{ "critical",	LEVEL_CRITICAL },
	{ "error",	LEVEL_ERROR },
	{ "warning",	LEVEL_WARNING },
	{ "message",	LEVEL_MESSAGE },
	{ "info",	LEVEL_INFO },
	{ "debug",	LEVEL_DEBUG },
	{ "statistics",	LEVEL_STATISTICS },
	{ "profile",	LEVEL_PROFILE },
	{ "all",	LEVEL_ALL },
	{ "default",	LEVELS_DEFAULT },
	{ "none",	0 },
	{ NULL,		0 }
};

static const struct name facility_names[] = {
	{ "auth",	LOG_AUTH },
	{ "authpriv",	LOG_AUTHPRIV },
	{ "cron",	LOG_CRON },
	{ "daemon",	LOG_DAEMON },
	{ "ftp",	LOG_FTP },
	{ "kern",	LOG_KERN },
	{ "local0",	LOG_LOCAL0 },
	{ "local1",	LOG_LOCAL1 },
	{ "local2",	LOG_LOCAL2 },
	{ "local3",	LOG_LOCAL3 },
	{ "local4",	LOG_LOCAL4 },
	{ "local5",	LOG_LOCAL5 },
	{ "local6",	LOG_LOCAL6 },
	{ "local7",	LOG_LOCAL7 },
	{ "lpr",	LOG_LPR },
	{ "mail",	LOG_MAIL },
	{ "news",	LOG_NEWS },
	{ "syslog",	LOG_SYSLOG },
	{ "user",	LOG_USER },
	{ "uucp",	LOG_UUCP },
	{ NULL,		0 }
};

/*
 * Set in log_init() before any thread starts, then read-only; the file
 * descriptor's target changes only through dup2(), which is atomic for
 * the threads writing to it.
 */
static unsigned int	 levels = LEVELS_INSPECT;
static int		 logfd = STDERR_FILENO;
static char		*logpath;		/* a file, reopened on HUP */
static int		 use_syslog;
static int		 syslog_facility = LOG_MAIL;
static int		 starting = 1;

int
log_parse_levels(const char *s, unsigned int *mask, size_t *bad)
{
	const struct name	*n;
	const char		*p = s;
	size_t			 len;

	*mask = 0;
	for (;;) {
		len = strcspn(p, "|");
		for (n = level_names; n->name != NULL; n++)
			if (strlen(n->name) == len &&
			    strncmp(n->name, p, len) == 0)
				break;
		if (n->name == NULL) {
			*bad = p - s;
			return -1;
		}
		*mask |= n->value;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

int
log_parse_facility(const char *s, int *facility)
{
	const struct name	*n;

	for (n = facility_names; n->name != NULL; n++)
		if (strcmp(n->name, s) == 0) {
			*facility = n->value;
			return 0;
		}
	return -1;
}

int
log_init(unsigned int mask, const char *path, int syslog_on, int facility)
{
	char	*newpath = NULL;
	int	 fd = STDERR_FILENO;

	if (path != NULL && strcmp(path, "-") == 0)
		fd = STDOUT_FILENO;
	else if (path != NULL) {
		if ((fd = log_open_file(path, 0)) == -1)
			return -1;
		if ((newpath = strdup(path)) == NULL) {
			close(fd);
			return -1;
		}
	} else if (syslog_on)
		fd = -1;
	/* Called again (the unit tests): the file before is done with. */
	if (logpath != NULL) {
		close(logfd);
		free(logpath);
	}
	logpath = newpath;
	levels = mask;
	logfd = fd;
	use_syslog = syslog_on;
	syslog_facility = facility;
	/* Until started, inspect says itself why libmilter failed. */
	openlog("inspect", LOG_PID, facility);
	return 0;
}

/*
 * syslog(3) drops every line, and says nothing, when it cannot reach the
 * syslog daemon's socket (none runs, as in many containers).  Tried as
 * syslog(3) tries it, a datagram socket and then a stream one.
 */
void
log_check_syslog(void)
{
	static const int	 types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un	 sun;
	size_t			 i;
	int			 fd, rc, saved = 0;

	if (!use_syslog)
		return;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", _PATH_LOG);
	for (i = 0; i < sizeof types / sizeof types[0]; i++) {
		if ((fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0)) == -1) {
			saved = errno;
			break;
		}
		rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
		saved = errno;
		close(fd);
		if (rc == 0)
			return;
		if (saved != EPROTOTYPE)
			break;
	}
	log_warn("cannot reach syslog at %s: %s; lines sent to syslog are "
	    "lost", _PATH_LOG, strerror(saved));
}

void
log_started(void)
{
	starting = 0;
	if (logfd != -1 && logfd != STDERR_FILENO)
		dup2(logfd, STDERR_FILENO);
	/*
	 * libmilter reports through syslog(3) alone.  LOG_PERROR copies its
	 * lines to standard error, which is now the log.
	 */
	if (!use_syslog)
		openlog("inspect", LOG_PID | LOG_PERROR, syslog_facility);
}

void
log_stopping(void)
{
	openlog("inspect", LOG_PID, syslog_facility);
}

int
log_open_file(const char *path, int how)
{
	struct stat	 st;
	int		 fd, flags, saved;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_NOCTTY | O_CLOEXEC | ((how & LOG_OPEN_NOWAIT) ? O_NONBLOCK : 0),
	    0640)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || (flags = fcntl(fd, F_GETFL)) == -1)
		goto fail;
	if ((how & LOG_OPEN_REGULAR) && !S_ISREG(st.st_mode)) {
		errno = ENOTSUP;
		goto fail;
	}
	if (S_ISREG(st.st_mode) && st.st_nlink != 1) {
		errno = EMLINK;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
log_open_again(const char *path, int old)
{
	struct stat	 st;

	return log_open_file(path, LOG_OPEN_NOWAIT |
	    (fstat(old, &st) == 0 && S_ISREG(st.st_mode) ?
	    LOG_OPEN_REGULAR : 0));
}

const char *
log_open_reason(int e)
{
	switch (e) {
	case ELOOP:
		return "is a symbolic link";
	case ENXIO:
		return "is a FIFO that no one reads";
	case ENOTSUP:
		return "is no longer a regular file";
	case EMLINK:
		return "has another hard link";
	default:
		return strerror(e);
	}
}

int
log_reopen(void)
{
	int	 fd, rc;

	if (logpath == NULL)
		return 0;
	if ((fd = log_open_again(logpath, logfd)) == -1) {
		log_err("cannot reopen the log %s: %s", logpath,
		    log_open_reason(errno));
		return -1;
	}
	rc = take_file(fd);
	close(fd);
	return rc;
}

size_t
log_fds(int *fds, size_t max)
{
	if (logpath == NULL || max == 0)
		return 0;
	fds[0] = logfd;
	return 1;
}

size_t
log_adopt(const int *fds, size_t n)
{
	if (logpath == NULL || n == 0)
		return 0;
	take_file(fds[0]);
	return 1;
}

/* Put fd in the log's place.  Returns 0, or -1 (logged). */
static int
take_file(int fd)
{
	/* Atomic for the other threads, which may be logging right now. */
	if (dup2(fd, logfd) == -1 ||
	    (!starting && dup2(fd, STDERR_FILENO) == -1)) {
		log_err("cannot take the reopened log: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
log_chown(uid_t uid, gid_t gid)
{
	struct stat	 st;

	if (logpath == NULL)
		return 0;
	if (fstat(logfd, &st) == -1)
		return -1;
	/* Only a file of inspect's own: not a device, nor a FIFO. */
	return S_ISREG(st.st_mode) ? fchown(logfd, uid, gid) : 0;
}

void
log_msg(unsigned int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
log_vmsg(unsigned int level, const char *fmt, va_list ap)
{
	va_list	 aq;
	int	 saved = errno;

	if ((levels & level) == 0)
		return;
	if (use_syslog) {
		va_copy(aq, ap);
		vsyslog(to_syslog_priority(level), fmt, aq);
		va_end(aq);
	}
	/* Until started, what matters is seen where inspect was started. */
	if (starting && level <= LEVEL_MESSAGE && logfd != STDERR_FILENO) {
		va_copy(aq, ap);
		put_line(STDERR_FILENO, 0, level, fmt, aq);
		va_end(aq);
	}
	if (logfd != -1)
		put_line(logfd, logpath != NULL, level, fmt, ap);
	errno = saved;
}

/*
 * A line is formatted whole and written with one write(2), so that lines
 * of concurrent threads and processes do not mix.  A file's lines carry
 * the time, the process and the level.
 */
static void
put_line(int fd, int stamped, unsigned int level, const char *fmt,
    va_list ap)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 line[2048];
	size_t		 room;
	int		 n = 0, m;

	if (stamped) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d."
		    "%06ldZ inspect[%ld]: %s: ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, ts.tv_nsec / 1000, (long)getpid(),
		    level_name(level));
	} else
		n = snprintf(line, sizeof line, "inspect: ");
	room = sizeof line - n - 1;
	m = vsnprintf(line + n, room, fmt, ap);
	if (m < 0)
		m = 0;
	n += (size_t)m < room ? (size_t)m : room - 1;
	line[n++] = '\n';
	/* Nowhere is left to say that the log cannot be written. */
	if (write(fd, line, n) == -1)
		return;
}

static int
to_syslog_priority(unsigned int level)
{
	switch (level) {
	case LEVEL_CRITICAL:
		return LOG_CRIT;
	case LEVEL_ERROR:
		return LOG_ERR;
	case LEVEL_WARNING:
		return LOG_WARNING;
	case LEVEL_MESSAGE:
		return LOG_NOTICE;
	case LEVEL_DEBUG:
		return LOG_DEBUG;
	default:
		return LOG_INFO;
	}
}

static const char *
level_name(unsigned int level)
{
	const struct name	*n;

	for (n = level_names; n->name != NULL; n++)
		if ((unsigned int)n->value == level)
			return n->name;
	return "log";
}

static int
read_memory(long *rss_kb, long *hwm_kb)
{
	char	 buf[4096], *p;
	ssize_t	 n;
	int	 fd;

	if ((fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*rss_kb = *hwm_kb = -1;
	if ((p = strstr(buf, "\nVmRSS:")) != NULL)
		*rss_kb = strtol(p + 7, NULL, 10);
	if ((p = strstr(buf, "\nVmHWM:")) != NULL)
		*hwm_kb = strtol(p + 7, NULL, 10);
	return *rss_kb >= 0 && *hwm_kb >= 0 ? 0 : -1;
}

void
log_memory(uint64_t id)
{
	struct mallinfo2	 mi;
	const char		*env = getenv("MILTER_MEMORY_PROFILE");
	long			 rss, hwm;

	if (read_memory(&rss, &hwm) == -1) {
		log_msg(LEVEL_PROFILE, "session %llu: cannot read "
		    "/proc/self/status", (unsigned long long)id);
		return;
	}
	if (env == NULL || strcmp(env, "yes") != 0) {
		log_msg(LEVEL_PROFILE, "session %llu: memory: resident %ld kB,"
		    " peak %ld kB", (unsigned long long)id, rss, hwm);
		return;
	}
	mi = mallinfo2();
	log_msg(LEVEL_PROFILE, "session %llu: memory: resident %ld kB, peak "
	    "%ld kB; heap %zu bytes in use, %zu free, %zu mapped",
	    (unsigned long long)id, rss, hwm, mi.uordblks, mi.fordblks,
	    mi.hblkhd);
}
