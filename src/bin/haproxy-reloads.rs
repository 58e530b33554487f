//! haproxy-reloads [-w MS] [-a COUNT | -r] [-n VAR] SOCKET [prog...]
//!
//! How many times the master of a master-worker haproxy has reloaded, from
//! `show proc` on its master CLI SOCKET; with -a, waits until a reload
//! after COUNT is done and exits 1 if it failed; with -r, asks the master
//! to reload (`reload`), and waits for that reload as -a does. Execs prog
//! with VAR set to the count, or alone prints it.
#![no_main]

use pidchain::argv::Argv;
use pidchain::chain;
use pidchain::diag::{EXIT_NO_PID, EXIT_USAGE, Prog};
use pidchain::env::Environ;
use pidchain::getopt::{Getopt, Opt};
use pidchain::haproxy::reload::{self, Outcome};
use pidchain::haproxy::socket::{self, QueryError};
use pidchain::haproxy::{info, show_proc};
use pidchain::wait::Waiter;
use pidchain::{diag, number, pid, process, sys, usage};

use std::ffi::CStr;
use std::time::{Duration, Instant};

/// What a master reloads on.
const RELOAD_SIGNALS: &[libc::c_int] = &[libc::SIGUSR2, libc::SIGHUP];
/// A master acts on a signal within microseconds (it blocks signals only
/// while it runs its handlers): one held this long is held for good.
const HELD: Duration = Duration::from_millis(500);
/// The longest one question to a worker takes (see ask_worker).
const LOOK: Duration = Duration::from_millis(500);

const PROG: Prog = Prog {
    name: "haproxy-reloads",
    usage: "haproxy-reloads [ -w ms ] [ -a count | -r ] [ -n var ] socket [ prog... ]",
    help: "  -w ms     wait up to ms for the master to answer (with -a, -r: for the reload)
  -a count  after count: wait for a reload after count; exit 1 if it failed
  -r        ask the master to reload, then wait for that reload as -a does
  -n var    put the count in var (default HAPROXY_RELOADS)
",
};

pidchain::c_main!(run);

fn run(argv: Argv<'static>, mut env: Environ) -> ! {
    let mut var: &[u8] = b"HAPROXY_RELOADS";
    let mut wait = Duration::ZERO;
    let mut after = None;
    let mut reload = false;

    let mut opts = Getopt::new(argv, b"w:a:rn:");
    for opt in opts.by_ref() {
        match opt {
            Ok(Opt::Value(c @ b'w', ms)) => wait = usage::millis(&PROG, c, ms),
            Ok(Opt::Value(b'a', n)) => match number::parse(n.to_bytes()) {
                Some(n) => after = Some(n),
                None => PROG.bad_value(b'a', n.to_bytes(), "a reload count"),
            },
            Ok(Opt::Value(c @ b'n', v)) => var = usage::var_name(&PROG, c, v),
            Ok(Opt::Flag(b'r')) => reload = true,
            other => PROG.other_option(other),
        }
    }
    if reload && after.is_some() {
        PROG.die(EXIT_USAGE, &[b"-a and -r: -r waits for its own reload"]);
    }
    let (path, tail) = usage::operand(&PROG, argv, opts.optind(), "socket");
    let shown = path.to_bytes();
    let pid_max = pid::pid_max();

    let mut waiter = socket::waiter(wait);
    let mut answer = Vec::with_capacity(1024);
    if reload {
        let before = observe(path, shown, None, false, &mut waiter, &mut answer, pid_max);
        ask_reload(path, shown, &mut waiter, &mut answer);
        after = Some(before.reloads);
    }
    let master = observe(
        path,
        shown,
        after,
        !reload,
        &mut waiter,
        &mut answer,
        pid_max,
    );
    // The former workers get SIGUSR1 from the master once the new ones
    // run, and stop accepting when they act on it: until then a new
    // connection may still reach the old configuration. Asked of each
    // one through the master (`@!PID`), until it says it is stopping or
    // is gone.
    if after.is_some() {
        for old in &master.old_workers {
            stops(path, shown, *old, &mut answer, &mut waiter);
        }
    }
    let count = number::format(master.reloads);
    chain::hand_on_value(&PROG, &mut env, var, Some(&count), tail)
}

/// The master as `show proc` shows it; with `after`, once a reload after
/// that count is done and its workers have loaded (exit 1 when it failed
/// or not in time). `signalled`: the reload was asked by a signal, which
/// the master may hold blocked.
fn observe(
    path: &CStr,
    shown: &[u8],
    after: Option<u64>,
    signalled: bool,
    waiter: &mut Waiter,
    answer: &mut Vec<u8>,
    pid_max: u32,
) -> show_proc::Master {
    // What the last answer said: the question the deadline cuts short
    // says nothing new.
    let mut last = None;
    // Since when the master has held a reload signal, pending and blocked.
    let mut held_since: Option<Instant> = None;
    loop {
        // A 2.6 master re-executes itself to reload: its CLI is gone for
        // a moment, and ask() asks again.
        let asked = socket::ask(path, b"show proc", answer, waiter)
            .map(|()| show_proc::parse(answer, pid_max));
        let seen = match socket::or_before(asked, last.take().map(Ok)) {
            Ok(seen) => seen,
            Err(e) => PROG.fail(&e.on(shown)),
        };
        let m = match seen {
            Ok(m) => m,
            Err(why) if waiter.pause() => {
                last = Some(Err(why));
                continue;
            }
            Err(why) => PROG.fail(&why.of(b"master", b"show proc", shown)),
        };
        let Some(after) = after else { return m };
        if m.reloads > after {
            if m.latest_failed() {
                PROG.die(
                    EXIT_NO_PID,
                    &[
                        b"reload ",
                        &number::format(m.reloads),
                        b" of the master on ",
                        shown,
                        b" failed: its former workers serve on",
                    ],
                );
            }
            if loaded(path, shown, &m.new_workers, answer, waiter, pid_max) {
                return m;
            }
            held_since = None;
        } else {
            let held = signalled && process::signals(m.pid).is_some_and(|s| s.held(RELOAD_SIGNALS));
            held_since = held.then(|| held_since.unwrap_or_else(Instant::now));
            if held_since.is_some_and(|t| t.elapsed() >= HELD) {
                signals_held(shown, &m);
            }
        }
        if !waiter.pause() {
            if m.reloads > after {
                PROG.die(
                    EXIT_NO_PID,
                    &[
                        b"the new workers of the master on ",
                        shown,
                        b" did not load their configuration in time",
                    ],
                );
            }
            if held_since.is_some() {
                signals_held(shown, &m);
            }
            PROG.die(
                EXIT_NO_PID,
                &[
                    b"no reload after ",
                    &number::format(after),
                    b" done by the master on ",
                    shown,
                    b" in time (it has done ",
                    &number::format(m.reloads),
                    b")",
                ],
            );
        }
        last = Some(Ok(m));
    }
}

/// Until the former worker `old` says it is stopping, or is gone (exit 1
/// when it does not in time).
fn stops(path: &CStr, shown: &[u8], old: u32, answer: &mut Vec<u8>, waiter: &mut Waiter) {
    loop {
        if ask_worker(path, shown, old, answer, waiter)
            && (info::no_such_worker(answer) || info::stopping(answer) == Ok(true))
        {
            return;
        }
        // Not stopping, or no whole answer: a worker too busy (or
        // stopped) to answer has not acted on the master's signal
        // either.
        if !waiter.pause() {
            PROG.die(
                EXIT_NO_PID,
                &[
                    b"a former worker of the master on ",
                    shown,
                    b", pid ",
                    &number::format(old),
                    b", still accepts connections",
                ],
            );
        }
    }
}

/// `reload` asked of the master, asked again while a reload asked
/// earlier still loads (3.1+ then does nothing and says so). Returns once
/// the master has reloaded (2.7+: `Success=1`), or has closed the
/// connection without a word (before 2.7: it reloads all the same; the
/// caller sees it in `show proc`). Exit 1 when the master says the load
/// failed, its start-up messages, haproxy's own, on stderr first.
fn ask_reload(path: &CStr, shown: &[u8], waiter: &mut Waiter, answer: &mut Vec<u8>) {
    loop {
        // Asked again only where nothing was sent (no listener: a master
        // re-executing itself): a second reload is not this one's to ask.
        let asked = loop {
            match socket::query(path, b"reload", answer, socket::answer_deadline(waiter)) {
                Err(QueryError::NotAnswering(_)) if waiter.pause() => continue,
                r => break r,
            }
        };
        if let Err(e) = asked {
            PROG.fail(&e.on(shown));
        }
        match reload::parse(answer) {
            Ok(Outcome::Loaded(_) | Outcome::Unanswered) => return,
            Ok(Outcome::Failed(messages)) => {
                relay(messages);
                PROG.die(
                    EXIT_NO_PID,
                    &[
                        b"the master on ",
                        shown,
                        b" failed to load the new configuration: its former workers serve on",
                    ],
                );
            }
            Ok(Outcome::Busy) if waiter.pause() => {}
            Ok(Outcome::Busy) => PROG.die(
                EXIT_NO_PID,
                &[
                    b"the master on ",
                    shown,
                    b" was still loading a reload asked before this one: nothing reloaded",
                ],
            ),
            Err(why) => PROG.fail(&why.of(b"Success=", b"reload", shown)),
        }
    }
}

/// haproxy's start-up messages on stderr, a line each as haproxy wrote
/// it, whole (an `[ALERT]` line names the file and line at its end),
/// escaped as every message is.
fn relay(messages: &[u8]) {
    let mut out = Vec::with_capacity(messages.len() + 16);
    for line in messages.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        diag::escape_into(&mut out, line);
        out.push(b'\n');
    }
    sys::write_all(2, &out);
}

/// Whether each of `workers` has loaded its configuration: it answers
/// `show info`, through the master, with its own pid. Up to 3.0 the master
/// loads the configuration before it starts them, and they answer at
/// once; from 3.1 each loads it itself, and answers only once loaded.
fn loaded(
    path: &CStr,
    shown: &[u8],
    workers: &[u32],
    answer: &mut Vec<u8>,
    waiter: &Waiter,
    pid_max: u32,
) -> bool {
    workers.iter().all(|&worker| {
        ask_worker(path, shown, worker, answer, waiter) && info::pid(answer, pid_max) == Ok(worker)
    })
}

/// `show info` asked of `worker` through the master: whether a whole
/// read came back (into `answer`). Each question ends within LOOK, to
/// be asked again: the master hands it to the worker over a socketpair,
/// and a worker that soft-stops as it arrives may never read it (seen on
/// 3.1 and 3.4 under load), nor one that still loads.
fn ask_worker(
    path: &CStr,
    shown: &[u8],
    worker: u32,
    answer: &mut Vec<u8>,
    waiter: &Waiter,
) -> bool {
    let command = [b"@!".as_slice(), &number::format(worker), b" show info"].concat();
    let deadline = socket::answer_deadline(waiter).min(Instant::now() + LOOK);
    match socket::query(path, &command, answer, deadline) {
        Ok(()) => true,
        Err(e) if e.ask_again() => false,
        Err(e) => PROG.fail(&e.on(shown)),
    }
}

/// haproxy 3.3.0 (and some 3.2.x) keeps the reload signals blocked in
/// the master after one failed reload (haproxy issue 3229): no reload
/// signal reaches it again. The version is named only when it is 3.3.0.
fn signals_held(shown: &[u8], master: &show_proc::Master) -> ! {
    let base = master
        .version
        .split(|b| !(b.is_ascii_digit() || *b == b'.'))
        .next()
        .unwrap_or_default();
    let why: &[u8] = if base == b"3.3.0" {
        b": haproxy 3.3.0 does after a failed reload (haproxy issue 3229); \
upgrade haproxy, or restart the service"
    } else {
        b"; restart the service"
    };
    PROG.die(
        EXIT_NO_PID,
        &[
            b"the master on ",
            shown,
            b", pid ",
            &number::format(master.pid),
            b", blocks the reload signal sent to it",
            why,
        ],
    )
}
