# pidchain: build, test, install. Packagers: make && make install DESTDIR=... PREFIX=/usr
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
CARGO ?= cargo
PROGS = pidfile-read haproxy-sf sv-pid
MAN1 = $(PROGS:%=man/%.1)
MAN7 = man/pidchain.7

all:
	$(CARGO) build --release --locked

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

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	for p in $(PROGS); do install -m 755 target/release/$$p $(DESTDIR)$(BINDIR)/$$p; done
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p $(DESTDIR)$(MANDIR)/man1/$$p.1; done
	rm -f $(DESTDIR)$(MANDIR)/man7/pidchain.7

clean:
	$(CARGO) clean

.PHONY: all check try install uninstall clean
