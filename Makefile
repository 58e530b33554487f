# pidchain: build, test, install. Packagers: make && make install DESTDIR=... PREFIX=/usr
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/pidchain
CARGO ?= cargo
HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
# make install STATIC=1 installs what make static built.
BUILT = $(if $(STATIC),target/$(HOST)/release,target/release)
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
PROGS = pidfile-read haproxy-sf sv-pid haproxy-pid haproxy-reloads
# The reload logic, one command per mode, that the service directories in
# examples/ call: installed beside the programs, upgraded with them.
RECIPES = haproxy-handoff haproxy-master
# What they share, sourced from PATH: not a command (mode 644).
RECIPES_SHARED = pidchain-reload.sh
MAN1 = $(PROGS:%=man/%.1)
MAN7 = man/pidchain.7
MAN8 = $(RECIPES:%=man/%.8)

all:
	$(CARGO) build --release --locked --bins

# Statically linked (glibc, static-pie): no dynamic loader at each start,
# about half the cost of a chain link. In target/$(HOST)/release/.
static:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --locked --bins --target $(HOST)

# Per-link and alone costs against execline and s6, and binary sizes.
bench:
	benches/bench-links

# The system calls each program makes before it execs (needs strace).
syscalls:
	benches/syscalls

# Coverage-guided fuzzing of every parser and decoder, FUZZ_SECONDS (60)
# per target (cargo install cargo-fuzz first). cargo test runs the same
# invariants with a fixed seed (tests/properties.rs).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = pidfile pid_variable supervisor_status options
fuzz:
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  cargo fuzz run --sanitizer none $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; done

# Reloading a supervised haproxy under load, every method side by side.
bench-reload:
	$(CARGO) build --release --locked --bins --example demo
	PIDCHAIN_S6RC=$$(test -x $(S6RC_SOURCES)/build.sh && $(S6RC_SOURCES)/build.sh) \
	  target/release/examples/demo bench

# The whole test suite, as CI runs it (needs the Debian packages in README.md).
check:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	mandoc -Tlint -Wwarning man/*.[1-8]
	shellcheck -s sh -x recipes/* tests/check-versions tests/check-s6-rc $$(grep -rlE '^#!/bin/sh' examples)
	$(CARGO) test --locked
	# The .deb and the static tarball, installed and unpacked (root: dpkg).
	$(MAKE) deb dist
	$(CARGO) test --locked --test package -- --ignored
	$(MAKE) check-s6-rc
	$(MAKE) check-versions

# The haproxy-facing tests against every haproxy in HAPROXY_SOURCES (built
# there by its build.sh and cached), one version after another; without
# that directory, a plain clone tests Debian's haproxy alone (make check).
HAPROXY_SOURCES ?= ../shared/haproxy
HAPROXY_TESTS = --test haproxy_pid --test haproxy_reloads --test recipes --test faults
check-versions:
	tests/check-versions $(HAPROXY_SOURCES) $(CARGO) $(HAPROXY_TESTS)

# The s6-rc definitions under a real s6-rc, which S6RC_SOURCES/build.sh
# builds (not in Debian 12), run by the static tarball's programs and
# commands, unpacked: what an s6-overlay image copies in. Skipped, saying
# so, without that directory or the -dev packages (README.md).
S6RC_SOURCES ?= ../shared/s6-rc
check-s6-rc: dist
	rm -rf target/dist-unpacked && mkdir -p target/dist-unpacked
	tar -xzf target/$(DIST).tar.gz -C target/dist-unpacked
	tests/check-s6-rc $(S6RC_SOURCES) $(CARGO) $(CURDIR)/target/dist-unpacked

# Build, then reload a throwaway supervised haproxy under load (RELOADS=10).
try:
	$(CARGO) build --release --locked --bins --example demo
	target/release/examples/demo

install:
	(for p in $(PROGS); do test -x $(BUILT)/$$p || exit 1; done) || $(MAKE) $(if $(STATIC),static,all)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	for p in $(PROGS); do install -m 755 $(BUILT)/$$p $(DESTDIR)$(BINDIR)/$$p; done
	for r in $(RECIPES); do install -m 755 recipes/$$r $(DESTDIR)$(BINDIR)/$$r; done
	install -m 644 recipes/$(RECIPES_SHARED) $(DESTDIR)$(BINDIR)/
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	install -m 644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	# The recipes, scripts keeping their run bits.
	install -d $(DESTDIR)$(DOCDIR)
	cp -R examples $(DESTDIR)$(DOCDIR)/
	chmod -R u=rwX,go=rX $(DESTDIR)$(DOCDIR)/examples
	install -m 644 README.md SECURITY.md BENCHMARKS.md $(DESTDIR)$(DOCDIR)/

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p $(DESTDIR)$(MANDIR)/man1/$$p.1; done
	for r in $(RECIPES); do rm -f $(DESTDIR)$(BINDIR)/$$r $(DESTDIR)$(MANDIR)/man8/$$r.8; done
	rm -f $(DESTDIR)$(BINDIR)/$(RECIPES_SHARED)
	rm -f $(DESTDIR)$(MANDIR)/man7/pidchain.7
	rm -rf $(DESTDIR)$(DOCDIR)

# A Debian package from make install: target/pidchain_VERSION-1_ARCH.deb.
# Needs dpkg-dev (dpkg-shlibdeps writes the libc dependency).
DEB_ARCH = $(shell dpkg --print-architecture)
DEB = target/pidchain_$(VERSION)-1_$(DEB_ARCH).deb
DEB_ROOT = target/deb/root
deb: all
	rm -rf target/deb
	$(MAKE) install DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr
	gzip -9n $(DEB_ROOT)/usr/share/man/man*/*
	# As dh_strip does: the compiler's notes are of no use installed.
	strip --remove-section=.comment --remove-section=.note $(PROGS:%=$(DEB_ROOT)/usr/bin/%)
	install -m 644 packaging/debian/copyright $(DEB_ROOT)/usr/share/doc/pidchain/
	install -D -m 644 packaging/debian/lintian-overrides $(DEB_ROOT)/usr/share/lintian/overrides/pidchain
	gzip -9n <packaging/debian/changelog >$(DEB_ROOT)/usr/share/doc/pidchain/changelog.Debian.gz
	chmod 644 $(DEB_ROOT)/usr/share/doc/pidchain/changelog.Debian.gz
	# dpkg-shlibdeps wants a source package's control file: a stub.
	mkdir -p target/deb/debian $(DEB_ROOT)/DEBIAN
	printf 'Source: pidchain\n\nPackage: pidchain\nArchitecture: any\n' >target/deb/debian/control
	cd target/deb && dpkg-shlibdeps -O $(PROGS:%=root/usr/bin/%) | sed -n 's/^shlibs:Depends=//p' >depends
	sed -e 's/@VERSION@/$(VERSION)-1/' -e 's/@ARCH@/$(DEB_ARCH)/' \
	  -e "s/@SIZE@/$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)/" \
	  -e "s/@DEPENDS@/$$(cat target/deb/depends)/" \
	  packaging/debian/control.in >$(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find usr -type f | sort | xargs md5sum >DEBIAN/md5sums
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB)

# Static binaries, man pages and recipes, laid out under a prefix
# (bin/, share/man/, share/doc/pidchain/): unpack at /usr/local or /.
# Files only, no directory entries: unpacking at / never replaces a
# directory symlink such as /bin -> usr/bin.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
DIST = pidchain-$(VERSION)-$(firstword $(subst -, ,$(HOST)))-linux-static
dist: static
	rm -rf target/dist
	$(MAKE) install STATIC=1 DESTDIR=$(CURDIR)/target/dist PREFIX=
	install -m 644 LICENSE target/dist/share/doc/pidchain/
	cd target/dist && find . -type f | sed 's|^\./||' | LC_ALL=C sort >../dist.files && \
	  tar --owner=0 --group=0 --numeric-owner --mtime=@$(SOURCE_DATE_EPOCH) --no-recursion \
	    -czf ../$(DIST).tar.gz -T ../dist.files
	cd target && sha256sum $(DIST).tar.gz >$(DIST).tar.gz.sha256

clean:
	$(CARGO) clean

.PHONY: check-versions check-s6-rc all static deb dist bench bench-reload syscalls fuzz check try install uninstall clean
