# inspect -- a milter that shows everything the MTA sends it

VERSION = 0.1.0

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# Where make install puts the systemd unit, if set (Debian 12:
# /lib/systemd/system); unset, no unit is installed.
SYSTEMDUNITDIR ?=

CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

# libmilter's flags from the system, else from the milter.pc shipped here.
MILTER_CFLAGS != $(PKG_CONFIG) --cflags milter 2>/dev/null || \
	$(PKG_CONFIG) --cflags ./milter.pc
MILTER_LIBS != $(PKG_CONFIG) --libs milter 2>/dev/null || \
	$(PKG_CONFIG) --libs ./milter.pc
# The libmilter release built against, for --version.
MILTER_RELEASE != $(PKG_CONFIG) --modversion milter 2>/dev/null || \
	$(PKG_CONFIG) --modversion ./milter.pc

# What the build needs; the user's CFLAGS, CPPFLAGS and LDFLAGS come after.
IN_CPPFLAGS = -D_GNU_SOURCE -DVERSION=\"$(VERSION)\" \
	-DMILTER_RELEASE=\"$(MILTER_RELEASE)\" $(MILTER_CFLAGS)
IN_CFLAGS = -std=c11 -pthread -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
	-Wformat=2 -Wundef -Wvla -MMD -MP
IN_LDFLAGS = -pthread
ifdef WERROR
IN_CFLAGS += -Werror
endif
ifdef SANITIZER
IN_CFLAGS += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer
IN_LDFLAGS += -fsanitize=$(SANITIZER)
endif

ALL_CFLAGS = $(IN_CPPFLAGS) $(CPPFLAGS) $(IN_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(IN_LDFLAGS) $(LDFLAGS)

OBJS = inspect.o options.o spec.o print.o escape.o reason.o log.o daemon.o \
	ids.o owned.o output.o listen.o ctx.o macros.o serve.o session.o \
	summary.o record.o workers.o buf.o probe.o probe_parse.o noreply.o \
	forward.o wire.o run.o
UNIT = tests/unit/test_options tests/unit/test_print tests/unit/test_output \
	tests/unit/test_ctx tests/unit/test_log tests/unit/test_daemon \
	tests/unit/test_session tests/unit/test_buf tests/unit/test_listen_races \
	tests/unit/test_summary tests/unit/test_record tests/unit/test_listen \
	tests/unit/test_probe tests/unit/test_wire tests/unit/test_run

all: inspect

inspect: $(OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJS) $(ALL_LDFLAGS) $(MILTER_LIBS)

.c.o:
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests/unit/test_options: tests/unit/test_options.o options.o spec.o print.o \
	escape.o reason.o buf.o log.o ids.o owned.o probe.o probe_parse.o \
	noreply.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) -lcmocka $(MILTER_LIBS)

tests/unit/test_print: tests/unit/test_print.o print.o escape.o reason.o buf.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) -lcmocka

# The wall clock is wrapped, so that a test can step it.
tests/unit/test_output: tests/unit/test_output.o output.o log.o reason.o \
	escape.o buf.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) \
	    -Wl,--wrap=clock_gettime -lcmocka

# pthread_setspecific is wrapped, so that a test can make it fail, and the
# allocator, so that it sees what is freed.
tests/unit/test_buf: tests/unit/test_buf.o buf.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) \
	    -Wl,--wrap=pthread_setspecific,--wrap=calloc,--wrap=free -lcmocka

tests/unit/test_log: tests/unit/test_log.o log.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) -lcmocka

# libmilter's calls that reach the MTA are wrapped, so that a test can
# see what they were asked and make them refuse.
PROBE_WRAP = -Wl,--wrap=smfi_addheader,--wrap=smfi_insheader \
	-Wl,--wrap=smfi_chgheader,--wrap=smfi_chgfrom,--wrap=smfi_addrcpt \
	-Wl,--wrap=smfi_addrcpt_par,--wrap=smfi_delrcpt \
	-Wl,--wrap=smfi_quarantine,--wrap=smfi_setreply \
	-Wl,--wrap=smfi_setmlreply,--wrap=smfi_progress,--wrap=setsockopt

tests/unit/test_probe: tests/unit/test_probe.o tests/unit/said.o probe.o \
	probe_parse.o noreply.o print.o escape.o reason.o buf.o log.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(PROBE_WRAP) -lcmocka \
	    $(MILTER_LIBS)

# Real sockets, and the real libmilter opening one in a child per case.
tests/unit/test_listen: tests/unit/test_listen.o tests/unit/said.o listen.o \
	options.o spec.o print.o escape.o reason.o buf.o log.o ids.o owned.o \
	probe.o probe_parse.o noreply.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) -lcmocka $(MILTER_LIBS)

tests/unit/test_summary: tests/unit/test_summary.o summary.o print.o \
	escape.o buf.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) -lcmocka

# The bytes alone: no descriptor, no libmilter call.
tests/unit/test_wire: tests/unit/test_wire.o wire.o buf.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) -lcmocka

# The wall clock is wrapped, so that a test can set it.
tests/unit/test_run: tests/unit/test_run.o run.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) \
	    -Wl,--wrap=clock_gettime -lcmocka

# Lua's own parser reads what the recorder writes, as miltertest's does.
LUA_CFLAGS != $(PKG_CONFIG) --cflags lua5.3 2>/dev/null || echo -I/usr/include/lua5.3
LUA_LIBS != $(PKG_CONFIG) --libs lua5.3 2>/dev/null || echo -llua5.3

tests/unit/test_record.o: tests/unit/test_record.c
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) -c -o $@ tests/unit/test_record.c

tests/unit/test_record: tests/unit/test_record.o record.o ctx.o print.o \
	escape.o reason.o buf.o log.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) -lcmocka $(LUA_LIBS) \
	    $(MILTER_LIBS)

# The identity calls are wrapped, so that a test can make them fail.
DAEMON_WRAP = -Wl,--wrap=setresuid,--wrap=getresuid,--wrap=setuid \
	-Wl,--wrap=geteuid,--wrap=getegid

tests/unit/test_daemon: tests/unit/test_daemon.o ids.o owned.o reason.o \
	escape.o buf.o log.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(DAEMON_WRAP) -lcmocka

# The real libmilter reads and writes the contexts these tests lay out;
# calloc is wrapped, so that a test can make it fail, and smfi_getsymval,
# so that it can disagree with ctx.h.
tests/unit/test_ctx: tests/unit/test_ctx.o ctx.o macros.o log.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) \
	    -Wl,--wrap=calloc,--wrap=smfi_getsymval -lcmocka $(MILTER_LIBS)

# Sessions on contexts laid out like libmilter's, kept by the real one.
tests/unit/test_session: tests/unit/test_session.o session.o ctx.o macros.o \
	log.o record.o summary.o listen.o ids.o owned.o print.o escape.o \
	reason.o buf.o forward.o wire.o noreply.o probe_parse.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) -lcmocka $(MILTER_LIBS)

# The real libmilter opens the sockets; smfi_opensocket is wrapped, so
# that a test can swap what it made.
tests/unit/test_listen_races: tests/unit/test_listen_races.o listen.o \
	ids.o owned.o log.o reason.o escape.o buf.o
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) \
	    -Wl,--wrap=smfi_opensocket -lcmocka $(MILTER_LIBS)

# What needs root runs through sudo unless make runs as root.
AS_ROOT != [ "$$(id -u)" -eq 0 ] || ! command -v sudo >/dev/null || \
	echo sudo -E

# Builds and runs inspect on its default socket, installing first what that
# needs if anything is missing.
run:
	tests/install-deps.sh --run
	$(MAKE) inspect
	./inspect

# Every test, after installing what they need if anything is missing: unit
# (cmocka), command line, integration (miltertest), end to end (Postfix,
# real milters behind inspect, Sendmail), service, hostile, the Debian
# package.
# All but the unit and integration tests need root, and run as root
# (AS_ROOT).
check:
	tests/install-deps.sh
	$(MAKE) unit-check cli-check milter-check e2e-check forward-check \
	    sendmail-check service-check hostile-check package-check

# Every test binary runs, whatever the ones before it did; the failed
# ones are named at the end, and make fails if any did.
# test_daemon drops root for real: it runs as root (AS_ROOT), and as
# another user it fails, never skips.  A test binary that hangs fails
# after UNIT_WAIT seconds (the slowest takes a few).
UNIT_WAIT ?= 300

unit-check: $(UNIT)
	@bad=; for t in $(UNIT); do \
		case $$t in */test_daemon) as="$(AS_ROOT)" ;; *) as= ;; esac; \
		$$as timeout -k 5 $(UNIT_WAIT) ./$$t || bad="$$bad $$t"; \
	done; \
	if [ -n "$$bad" ]; then echo "unit-check: failed:$$bad"; exit 1; fi

cli-check: inspect
	$(AS_ROOT) tests/cli/run.sh
	$(AS_ROOT) tests/cli/terminal.sh
	$(AS_ROOT) tests/cli/setup.sh
	tests/cli/docs.sh

milter-check: inspect
	tests/milter/run.sh
	tests/milter/record.sh
	tests/milter/forward.sh

e2e-check: inspect
	$(AS_ROOT) tests/e2e/run.sh
	$(AS_ROOT) tests/e2e/probe.sh
	$(AS_ROOT) tests/e2e/record.sh
	$(AS_ROOT) tests/e2e/protocol.sh

# Real milters from Debian (OpenDKIM, a pymilter test milter, rspamd)
# behind a private Postfix, and OpenDKIM behind Sendmail, directly and
# through inspect --forward; needs root.
forward-check: inspect
	$(AS_ROOT) tests/forward/run.sh
	$(AS_ROOT) tests/forward/rspamd.sh

# A private Sendmail, unpacked by tests/install-deps.sh (or fetched then).
sendmail-check: inspect
	$(AS_ROOT) tests/e2e/sendmail.sh

# inspect as a service, alone and behind Postfix; needs root.
service-check: inspect
	$(AS_ROOT) tests/service/run.sh
	$(AS_ROOT) tests/e2e/service.sh

# Hostile MTAs, a thousand sessions at once, signals and failing outputs
# (tests/hostile/run.sh); needs root.
hostile-check: inspect
	$(AS_ROOT) tests/hostile/run.sh

# The Debian package, built from a copy of the tree, installed, run as its
# unit runs it and by a private systemd, and purged; needs root and a
# machine without it installed.
package-check:
	$(AS_ROOT) tests/package/run.sh

# Fuzzing with libFuzzer (fuzz/run.sh), each target for FUZZ_SECONDS;
# needs clang.  Not part of check.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS = -g -O1 -pthread -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
FUZZ = fuzz/fuzz_print fuzz/fuzz_options fuzz/fuzz_escape fuzz/fuzz_wire
FUZZ_SRCS = print.c escape.c reason.c buf.c options.c spec.c log.c ids.c \
	output.c probe.c probe_parse.c noreply.c wire.c

fuzz: $(FUZZ)
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ)

$(FUZZ): %: %.c $(FUZZ_SRCS) fuzz/check_escape.c $(wildcard *.h fuzz/*.h)
	$(FUZZ_CC) $(IN_CPPFLAGS) -std=c11 -Wall -Wextra $(FUZZ_FLAGS) \
	    -o $@ $< $(FUZZ_SRCS) fuzz/check_escape.c $(MILTER_LIBS)

.PHONY: hostile-check fuzz

# The benchmark (bench/README): not a test, and slow; needs root.  It
# installs what it needs first, if anything is missing.
BENCH = bench/null-milter bench/driver

bench:
	tests/install-deps.sh
	$(MAKE) inspect $(BENCH)
	bench/run.sh

bench/null-milter: bench/null-milter.o
	$(CC) $(ALL_CFLAGS) -o $@ bench/null-milter.o $(ALL_LDFLAGS) $(MILTER_LIBS)

bench/driver: bench/driver.o
	$(CC) $(ALL_CFLAGS) -o $@ bench/driver.o $(ALL_LDFLAGS)

.PHONY: bench
-include bench/*.d

# An admin's daemon: sbin, and its manual in sections 5 (the report), 7
# (the macros) and 8.  The unit names the binary where the default prefix
# puts it; its copy names where this one does.
MAN = inspect-report.5 inspect-macros.7 inspect.8

install: inspect
	mkdir -p $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	install -m 755 inspect $(DESTDIR)$(SBINDIR)/inspect
	for page in $(MAN); do \
		install -m 644 $$page \
		    $(DESTDIR)$(MANDIR)/man$${page##*.}/$$page || exit 1; \
	done
	if [ -n "$(SYSTEMDUNITDIR)" ]; then \
		mkdir -p $(DESTDIR)$(SYSTEMDUNITDIR) && \
		sed 's|/usr/local/sbin/inspect|$(SBINDIR)/inspect|' \
		    contrib/inspect.service \
		    >$(DESTDIR)$(SYSTEMDUNITDIR)/inspect.service && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/inspect.service; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/inspect
	for page in $(MAN); do \
		rm -f $(DESTDIR)$(MANDIR)/man$${page##*.}/$$page; \
	done
	if [ -n "$(SYSTEMDUNITDIR)" ]; then \
		rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/inspect.service; \
	fi

clean:
	rm -f inspect $(OBJS) $(UNIT) tests/unit/*.o *.d tests/unit/*.d
	rm -f $(BENCH) bench/*.o bench/*.d
	rm -f $(FUZZ)

.PHONY: all run check unit-check cli-check milter-check e2e-check install \
	forward-check sendmail-check service-check package-check \
	uninstall clean

-include *.d tests/unit/*.d
