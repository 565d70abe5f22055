/* daemon.c -- process work: users, files, privileges, detaching */
/* SPDX-License-Identifier: ISC */

#include <sys/types.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "print.h"

static int	parse_id(const char *, unsigned long *);
static int	read_memory(long *, long *);

/*
 * The largest user or group id: a bigger one does not fit in uid_t and
 * would wrap round (4294967296 to root), and (uid_t)-1 means "unchanged"
 * to setresuid().
 */
#define ID_MAX	((unsigned long)(uid_t)-2)
_Static_assert((uid_t)-1 == (gid_t)-1, "user and group ids differ in size");

int
daemon_id_range(const char *s, enum idkind kind, const char *what,
    char *err, size_t errlen)
{
	unsigned long	 n;

	if (kind != ID_NAME && parse_id(s, &n) == -2)
		return print_reason(err, errlen, "%s id %s is out of range "
		    "(the largest is %lu)", what, s, ID_MAX);
	return 0;
}

int
daemon_user(const char *s, enum idkind kind, uid_t *uid, gid_t *gid,
    char *err, size_t errlen)
{
	struct passwd	*pw = NULL;
	unsigned long	 n;
	int		 numeric = parse_id(s, &n) == 0;

	if (daemon_id_range(s, kind, "user", err, errlen) == -1)
		return -1;
	if (kind == ID_NUMBER && !numeric)
		return print_reason(err, errlen, "'%s' is not a user id", s);
	if (kind != ID_NUMBER)
		pw = getpwnam(s);
	if (pw == NULL && kind != ID_NAME && numeric)
		pw = getpwuid((uid_t)n);
	if (pw == NULL)
		return print_reason(err, errlen, "unknown user '%s'", s);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
daemon_group(const char *s, enum idkind kind, gid_t *gid, char *err,
    size_t errlen)
{
	struct group	*gr = NULL;
	unsigned long	 n;
	int		 numeric = parse_id(s, &n) == 0;

	if (daemon_id_range(s, kind, "group", err, errlen) == -1)
		return -1;
	if (kind == ID_NUMBER && !numeric)
		return print_reason(err, errlen, "'%s' is not a group id", s);
	if (kind != ID_NUMBER)
		gr = getgrnam(s);
	if (gr == NULL && kind != ID_NAME && numeric)
		gr = getgrgid((gid_t)n);
	if (gr == NULL)
		return print_reason(err, errlen, "unknown group '%s'", s);
	*gid = gr->gr_gid;
	return 0;
}

int
daemon_ids(const char *user, enum idkind user_kind, const char *group,
    enum idkind group_kind, const char *socket_group, struct ids *ids,
    char *err, size_t errlen)
{
	char	 why[256];

	ids->uid = getuid();
	ids->gid = getgid();
	ids->socket_gid = (gid_t)-1;
	if (user != NULL && daemon_user(user, user_kind, &ids->uid, &ids->gid,
	    why, sizeof why) == -1)
		return print_reason(err, errlen, "-u: %s", why);
	if (group != NULL && daemon_group(group, group_kind, &ids->gid, why,
	    sizeof why) == -1)
		return print_reason(err, errlen, "-g: %s", why);
	if (socket_group != NULL && daemon_group(socket_group,
	    ID_NAME_OR_NUMBER, &ids->socket_gid, why, sizeof why) == -1)
		return print_reason(err, errlen, "--unix-socket-group: %s",
		    why);
	ids->drop = 0;
	if (user == NULL && group == NULL)
		return 0;
	if (geteuid() == 0) {
		ids->drop = 1;
		return 0;
	}
	/* Not root: already that user and group, or it cannot be done. */
	if (ids->uid != geteuid() || ids->gid != getegid())
		return print_reason(err, errlen, "%s: serving as another user "
		    "or group needs root", user != NULL ? user : group);
	return 0;
}

int
owned_init(struct owned *o, const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;

	o->dirfd = -1;
	o->path = o->name = NULL;
	if (slash != NULL && slash[1] == '\0') {
		errno = EISDIR;
		return -1;
	}
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, slash - path);
	if (dir == NULL)
		return -1;
	o->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (o->dirfd == -1)
		return -1;
	if ((o->name = strdup(slash != NULL ? slash + 1 : path)) == NULL ||
	    (o->path = strdup(path)) == NULL) {
		owned_forget(o);
		return -1;
	}
	return 0;
}

int
owned_stat(struct owned *o)
{
	struct stat	 st;

	if (fstatat(o->dirfd, o->name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return 0;
}

void
owned_remove(struct owned *o)
{
	struct stat	 st;

	if (o->dirfd == -1)
		return;
	if (fstatat(o->dirfd, o->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == o->dev && st.st_ino == o->ino &&
	    unlinkat(o->dirfd, o->name, 0) == -1)
		log_warn("cannot remove %s: %s", o->path, strerror(errno));
	owned_forget(o);
}

int
pidfile_open(const char *path, struct owned *o, char *err, size_t errlen)
{
	char	 pid[32];
	ssize_t	 n;
	int	 fd;

	if (owned_init(o, path) == -1)
		return print_reason(err, errlen, "--pid-file %s: %s", path,
		    strerror(errno));
	fd = openat(o->dirfd, o->name, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1) {
		print_reason(err, errlen, "--pid-file %s: %s", path,
		    errno == ELOOP ? "is a symbolic link" : strerror(errno));
		owned_forget(o);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = errno == EWOULDBLOCK ?
		    pread(fd, pid, sizeof pid - 1, 0) : -1;
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (n > 0)
			print_reason(err, errlen, "--pid-file %s: held by "
			    "process %s, an inspect still running", path, pid);
		else
			print_reason(err, errlen, "--pid-file %s: %s", path,
			    strerror(errno));
		close(fd);
		owned_forget(o);
		return -1;
	}
	if (owned_stat(o) == -1) {
		print_reason(err, errlen, "--pid-file %s: %s", path,
		    strerror(errno));
		close(fd);
		owned_forget(o);
		return -1;
	}
	return fd;
}

int
pidfile_write(int fd)
{
	char	 s[32];
	int	 n;

	n = snprintf(s, sizeof s, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, s, n, 0) != n)
		return -1;
	return 0;
}

int
priv_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg;

	if (setgroups(1, &gid) == -1)
		return print_reason(err, errlen, "setgroups: %s",
		    strerror(errno));
	if (setresgid(gid, gid, gid) == -1)
		return print_reason(err, errlen, "setresgid %ld: %s", (long)gid,
		    strerror(errno));
	if (setresuid(uid, uid, uid) == -1)
		return print_reason(err, errlen, "setresuid %ld: %s", (long)uid,
		    strerror(errno));
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid)
		return print_reason(err, errlen, "the user and group ids did "
		    "not change as asked");
	/* Being able to go back would mean the drop did not happen. */
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		return print_reason(err, errlen, "still root after dropping "
		    "privileges");
	return 0;
}

int
daemon_detach(char *err, size_t errlen)
{
	char	 msg[1024];
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 p[2], fd = 0;

	if (pipe2(p, O_CLOEXEC) == -1)
		return print_reason(err, errlen, "pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		return print_reason(err, errlen, "fork: %s", strerror(errno));
	if (pid > 0) {
		/* The launcher: its exit status says whether it serves. */
		close(p[1]);
		while (len < sizeof msg - 1 &&
		    (n = read(p[0], msg + len, sizeof msg - 1 - len)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				break;
			len += n;
		}
		msg[len] = '\0';
		waitpid(pid, NULL, 0);
		if (strcmp(msg, "ok") == 0)
			_exit(0);
		fprintf(stderr, "inspect: %s\n", len > 0 ? msg :
		    "the daemon exited before it was ready");
		_exit(1);
	}
	close(p[0]);
	/* Not a session leader, so no terminal can be acquired again. */
	if (setsid() == -1 || (pid = fork()) == -1) {
		print_reason(err, errlen, "cannot detach: %s: %s",
		    errno == EPERM ? "setsid" : "fork", strerror(errno));
		daemon_ready(p[1], err);
		return DAEMON_TOLD;
	}
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1 ||
	    (fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		print_reason(err, errlen, "cannot detach: %s: %s",
		    fd == -1 ? "/dev/null" : "chdir /", strerror(errno));
		daemon_ready(p[1], err);
		return DAEMON_TOLD;
	}
	/* Never closed: a libmilter socket must not land on 0, 1 or 2. */
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return p[1];
}

void
daemon_ready(int fd, const char *why)
{
	const char	*s = why != NULL ? why : "ok";
	size_t		 len = strlen(s);

	if (fd == -1)
		return;
	if (write(fd, s, len) != (ssize_t)len)
		log_err("cannot tell the launcher: %s", strerror(errno));
	close(fd);
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

/*
 * s, digits only, into *v.  Returns 0, -1 if s is not a number, or -2 if
 * it is one beyond ID_MAX.
 */
static int
parse_id(const char *s, unsigned long *v)
{
	char	*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (*end != '\0')
		return -1;
	return errno == ERANGE || *v > ID_MAX ? -2 : 0;
}

void
owned_forget(struct owned *o)
{
	if (o->dirfd != -1)
		close(o->dirfd);
	free(o->name);
	free(o->path);
	o->dirfd = -1;
	o->path = o->name = NULL;
}

void
daemon_report_memory(uint64_t id)
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
