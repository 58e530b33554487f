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
PROGS = pidfile-read haproxy-sf sv-pid haproxy-pid haproxy-reloads
MAN1 = $(PROGS:%=man/%.1)
MAN7 = man/pidchain.7

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
	target/release/examples/demo bench

# The whole test suite, as CI runs it (needs the Debian packages in README.md).
check:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	mandoc -Tlint -Wwarning man/*.[1-8]
	$(CARGO) test --locked

# Build, then reload a throwaway supervised haproxy under load (RELOADS=10).
try:
	$(CARGO) build --release --locked --bins --example demo
	target/release/examples/demo

install:
	(for p in $(PROGS); do test -x $(BUILT)/$$p || exit 1; done) || $(MAKE) $(if $(STATIC),static,all)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	for p in $(PROGS); do install -m 755 $(BUILT)/$$p $(DESTDIR)$(BINDIR)/$$p; done
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	# The recipes, scripts keeping their run bits.
	install -d $(DESTDIR)$(DOCDIR)
	cp -R examples $(DESTDIR)$(DOCDIR)/
	chmod -R u=rwX,go=rX $(DESTDIR)$(DOCDIR)/examples
	install -m 644 README.md SECURITY.md $(DESTDIR)$(DOCDIR)/

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p $(DESTDIR)$(MANDIR)/man1/$$p.1; done
	rm -f $(DESTDIR)$(MANDIR)/man7/pidchain.7
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	$(CARGO) clean

.PHONY: all static bench bench-reload syscalls fuzz check try install uninstall clean
