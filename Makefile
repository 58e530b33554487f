# pidchain: build, test, install. Packagers: make && make install DESTDIR=... PREFIX=/usr
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
CARGO ?= cargo
PROGS = pidfile-read haproxy-sf sv-pid
MAN1 = $(PROGS:%=man/%.1)

all:
	$(CARGO) build --release --locked

# The whole test suite, as CI runs it (needs the Debian packages in README.md).
check:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	mandoc -Tlint -Wwarning man/*.[1-8]
	$(CARGO) test --locked

# Build, then show the tools doing their job on throwaway processes.
try: all
	./scripts/try

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	for p in $(PROGS); do install -m 755 target/release/$$p $(DESTDIR)$(BINDIR)/$$p; done
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p $(DESTDIR)$(MANDIR)/man1/$$p.1; done

clean:
	$(CARGO) clean

.PHONY: all check try install uninstall clean
