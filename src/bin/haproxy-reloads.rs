//! haproxy-reloads [-w MS] [-a COUNT] [-n VAR] SOCKET [prog...]
//!
//! How many times the master of a master-worker haproxy has reloaded, from
//! `show proc` on its master CLI SOCKET; with -a, waits until a reload
//! after COUNT is done and exits 1 if it failed. Execs prog with VAR set
//! to the count, or alone prints it.
#![no_main]

use pidchain::argv::Argv;
use pidchain::chain;
use pidchain::diag::{EXIT_NO_PID, Prog};
use pidchain::env::Environ;
use pidchain::getopt::{Getopt, Opt};
use pidchain::haproxy::socket::{self, QueryError};
use pidchain::haproxy::{info, show_proc};
use pidchain::pid;
use pidchain::{number, usage};

use std::time::Duration;

const PROG: Prog = Prog {
    name: "haproxy-reloads",
    usage: "haproxy-reloads [ -w ms ] [ -a count ] [ -n var ] socket [ prog... ]",
    help: "  -w ms     wait up to ms for the master to answer (with -a: for the reload)
  -a count  after count: wait for a reload after count; exit 1 if it failed
  -n var    put the count in var (default HAPROXY_RELOADS)
",
};

pidchain::c_main!(run);

fn run(argv: Argv<'static>, mut env: Environ) -> ! {
    let mut var: &[u8] = b"HAPROXY_RELOADS";
    let mut wait = Duration::ZERO;
    let mut after = None;

    let mut opts = Getopt::new(argv, b"w:a:n:");
    for opt in opts.by_ref() {
        match opt {
            Ok(Opt::Value(c @ b'w', ms)) => wait = usage::millis(&PROG, c, ms),
            Ok(Opt::Value(b'a', n)) => match number::parse(n.to_bytes()) {
                Some(n) => after = Some(n),
                None => PROG.bad_value(b'a', n.to_bytes(), "a reload count"),
            },
            Ok(Opt::Value(c @ b'n', v)) => var = usage::var_name(&PROG, c, v),
            other => PROG.other_option(other),
        }
    }
    let (path, tail) = usage::operand(&PROG, argv, opts.optind(), "socket");
    let shown = path.to_bytes();
    let pid_max = pid::pid_max();

    let mut waiter = socket::waiter(wait);
    let mut answer = Vec::with_capacity(1024);
    // What the last answer said: the question the deadline cuts short
    // says nothing new.
    let mut last = None;
    let master = loop {
        // A 2.6 master re-executes itself to reload: its CLI is gone for
        // a moment, and ask() asks again.
        let seen = match socket::ask(path, b"show proc", &mut answer, &mut waiter) {
            Ok(()) => show_proc::parse(&answer, pid_max),
            Err(e) => match (e, last.take()) {
                (QueryError::TimedOut, Some(before)) => before,
                _ => PROG.socket_failed(shown, &e),
            },
        };
        let m = match seen {
            Ok(m) => m,
            Err(why) if waiter.pause() => {
                last = Some(Err(why));
                continue;
            }
            Err(why) => PROG.unreadable(b"master", b"show proc", shown, why),
        };
        let Some(after) = after else { break m };
        // Done once the reload has started workers or has failed.
        let done = m.reloads > after && (m.new_workers || m.failed.unwrap_or(0) > 0);
        if done {
            if !m.latest_succeeded() {
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
            break m;
        }
        if !waiter.pause() {
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
    };
    // The former workers get SIGUSR1 from the master once the new ones
    // run, and stop accepting when they act on it: until then a new
    // connection may still reach the old configuration. Asked of each
    // one through the master (`@!PID`), until it says it is stopping or
    // is gone.
    if after.is_some() {
        for old in &master.old_workers {
            let command = [b"@!".as_slice(), &number::format(*old), b" show info"].concat();
            loop {
                match socket::ask(path, &command, &mut answer, &mut waiter) {
                    Ok(()) if info::no_such_worker(&answer) => break,
                    Ok(()) if info::stopping(&answer) == Ok(true) => break,
                    // Not stopping, or no whole answer: a worker too busy
                    // (or stopped) to answer has not acted on the master's
                    // signal either.
                    Ok(()) | Err(QueryError::TimedOut) => {}
                    Err(e) => PROG.socket_failed(shown, &e),
                }
                if !waiter.pause() {
                    PROG.die(
                        EXIT_NO_PID,
                        &[
                            b"a former worker of the master on ",
                            shown,
                            b", pid ",
                            &number::format(*old),
                            b", still accepts connections",
                        ],
                    );
                }
            }
        }
    }
    let count = number::format(master.reloads);
    chain::hand_on_value(&PROG, &mut env, var, Some(&count), tail)
}
