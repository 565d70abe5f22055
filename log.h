/* log.h -- inspect's diagnostics: levels, a file or stream, syslog */
/* SPDX-License-Identifier: ISC */

#ifndef INSPECT_LOG_H
#define INSPECT_LOG_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Levels, named as milter-test-client names them; a mask of them is set. */
#define LEVEL_CRITICAL	0x01
#define LEVEL_ERROR	0x02
#define LEVEL_WARNING	0x04
#define LEVEL_MESSAGE	0x08
#define LEVEL_INFO	0x10
#define LEVEL_DEBUG	0x20
#define LEVEL_STATISTICS	0x40
#define LEVEL_PROFILE	0x80
#define LEVEL_ALL		0xff
/*
 * What inspect logs unless told otherwise, and what "default" names: the
 * problems, and start and stop (message).
 */
#define LEVELS_DEFAULT	(LEVEL_CRITICAL | LEVEL_ERROR | LEVEL_WARNING | \
			LEVEL_MESSAGE)
#define LEVELS_INSPECT	LEVELS_DEFAULT

#define LEVEL_NAMES	"critical, error, warning, message, info, debug, " \
			"statistics, profile, all, default, none"

/*
 * Parse levels joined by '|', such as "error|warning|message", "all",
 * "default" (critical|error|warning|message, what inspect logs unless
 * told otherwise) or "none", into *mask.  Returns 0, or
 * -1 with the first unknown name's offset in *bad.
 */
int	log_parse_levels(const char *s, unsigned int *mask, size_t *bad);

/*
 * Parse a syslog facility name (mail, daemon, user, local0 to local7...)
 * into *facility.  Returns 0, or -1 for an unknown name.
 */
int	log_parse_facility(const char *s, int *facility);

/*
 * Start logging at the levels in mask: to path ("-" for standard output,
 * NULL for standard error), or to syslog with facility if syslog_on.
 * libmilter logs through syslog(3) only; its lines are copied to the
 * chosen file or stream too.  Returns 0, or -1 with errno set if the file
 * cannot be opened (nothing has changed then).
 */
int	log_init(unsigned int mask, const char *path, int syslog_on,
	    int facility);

/*
 * With syslog, say at level warning if no syslog daemon can be reached,
 * so that lines are not lost unseen.  Call once, at the end of start-up
 * while standard error is still where inspect was started (before
 * detaching), so that a start that fails says only why.
 */
void	log_check_syslog(void);

/*
 * Start-up is over: lines no longer go to standard error as well when
 * they go to syslog or a file.
 */
void	log_started(void);

/*
 * Stopping: libmilter's complaints about being stopped (say, before it
 * got to listen) are no longer copied to the log.
 */
void	log_stopping(void);

/* How log_open_file() opens, or-ed together. */
#define LOG_OPEN_NOWAIT		0x1	/* a FIFO no one reads: refused */
#define LOG_OPEN_REGULAR	0x2	/* nothing but a regular file */

/*
 * Open path to append to, as the log and the report files are: created
 * with mode 0640 (they hold mail), never through a symbolic link, a
 * regular file only if it has no other hard link, and as how says.
 * Reopening (SIGHUP, log_open_again()) is done with both flags, where a
 * file may have been planted by the user inspect serves as.  Returns the descriptor, or -1
 * with errno set: log_open_reason() says why.
 */
int	log_open_file(const char *path, int how);

/*
 * Open path again, for the file open at old (logrotate moved it away):
 * never waiting, and a regular file only if old is one.  Returns the new
 * descriptor, or -1 with errno set.
 */
int	log_open_again(const char *path, int old);

/* Why log_open_file() failed with errno e, in a few words. */
const char *log_open_reason(int e);

/*
 * Open the log file again, for logrotate: what was a regular file must
 * still be one.  On failure the old one is kept and the failure is
 * logged there.  Returns 0 or -1.
 */
int	log_reopen(void);

/*
 * The descriptors a worker takes at a reopening: the log file's, if
 * there is one, put in fds (room for max).  Returns how many.
 */
size_t	log_fds(int *fds, size_t max);

/*
 * In a worker: take the first of the n descriptors that log_fds() gave
 * in the supervisor, if there was one, in the log file's place.  Returns
 * how many of them it took.
 */
size_t	log_adopt(const int *fds, size_t n);

/* Give a log file (a regular one; not a device) to uid and gid. */
int	log_chown(uid_t uid, gid_t gid);

/*
 * --report-memory-profile: log the process's memory after session id,
 * read from /proc; with MILTER_MEMORY_PROFILE=yes, the allocator's view
 * too.
 */
void	log_memory(uint64_t id);

/* A log line at level; errno is kept. */
void	log_msg(unsigned int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(unsigned int level, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

/* The "s" of a noun after the count n: "1 macro", "2 macros". */
#define LOG_S(n)	((n) == 1 ? "" : "s")

#define log_crit(...)	log_msg(LEVEL_CRITICAL, __VA_ARGS__)
#define log_err(...)	log_msg(LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LEVEL_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LEVEL_MESSAGE, __VA_ARGS__)
#define log_info(...)	log_msg(LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LEVEL_DEBUG, __VA_ARGS__)

#endif
