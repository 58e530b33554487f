//! haproxy-pid [-o] [-w MS] [-e PID] [-n VAR] SOCKET [prog...]
//!
//! The pid of the haproxy process that answers `show info` on the stats
//! socket SOCKET; with -e, waits until it is PID: the new haproxy of a
//! reload has taken the listeners over. Execs prog with VAR set to it, or
//! alone prints it; with -o, none answering leaves VAR unset.
#![no_main]

use pidchain::argv::Argv;
use pidchain::chain;
use pidchain::diag::{EXIT_GONE, EXIT_NO_PID, Prog};
use pidchain::env::Environ;
use pidchain::getopt::{Getopt, Opt};
use pidchain::haproxy::info;
use pidchain::haproxy::socket::{self, QueryError};
use pidchain::pid::{self, PidList};
use pidchain::process;
use pidchain::{number, usage};

use std::time::Duration;

const PROG: Prog = Prog {
    name: "haproxy-pid",
    usage: "haproxy-pid [ -o ] [ -w ms ] [ -e pid ] [ -n var ] socket [ prog... ]",
    help: "  -o       optional: no haproxy answering is not an error (var unset)
  -w ms    wait up to ms for an haproxy to answer (with -e: for pid to)
  -e pid   expect pid: exit 1 unless the haproxy answering is pid
  -n var   put the pid in var (default HAPROXY_PID)
",
};

pidchain::c_main!(run);

fn run(argv: Argv<'static>, mut env: Environ) -> ! {
    let mut var: &[u8] = b"HAPROXY_PID";
    let mut wait = Duration::ZERO;
    let mut expected = None;
    let mut optional = false;

    let mut opts = Getopt::new(argv, b"ow:e:n:");
    for opt in opts.by_ref() {
        match opt {
            Ok(Opt::Flag(b'o')) => optional = true,
            Ok(Opt::Value(c @ b'w', ms)) => wait = usage::millis(&PROG, c, ms),
            Ok(Opt::Value(b'e', p)) => expected = Some(p),
            Ok(Opt::Value(c @ b'n', v)) => var = usage::var_name(&PROG, c, v),
            other => PROG.other_option(other),
        }
    }
    let (path, tail) = usage::operand(&PROG, argv, opts.optind(), "socket");
    let shown = path.to_bytes();
    let pid_max = pid::pid_max();
    let expected = expected.map(|p| usage::pid(&PROG, b'e', p, pid_max));

    let mut waiter = socket::waiter(wait);
    let mut answer = Vec::with_capacity(4096);
    let mut last = None;
    let answering = loop {
        let until = socket::answer_deadline(&waiter);
        let seen = match socket::query(path, b"show info", &mut answer, until) {
            Ok(()) => Ok(info::pid(&answer, pid_max)),
            Err(e) if e.ask_again() => Err(e),
            Err(e) => PROG.fail(&e.on(shown)),
        };
        let seen = socket::or_before(seen, last);
        match (seen, expected) {
            (Ok(Ok(p)), None) => break p,
            (Ok(Ok(p)), Some(e)) if p == e => break p,
            // An exited pid never answers: no use waiting for it.
            (_, Some(e)) if process::gone(e) => gone(e, shown),
            _ if waiter.pause() => last = Some(seen),
            // Only no listener at all: whatever accepted the question may
            // hold the listeners, and a cold start would run beside it.
            (Err(QueryError::NotAnswering(_)), _) if optional => {
                chain::hand_on(&PROG, &mut env, var, &PidList::new(), tail)
            }
            (Err(e), _) => PROG.fail(&e.on(shown)),
            (Ok(Ok(p)), Some(e)) => PROG.die(
                EXIT_NO_PID,
                &[
                    shown,
                    b" is answered by pid ",
                    &number::format(p),
                    b", not ",
                    &number::format(e),
                ],
            ),
            (Ok(Err(why)), _) => PROG.fail(&why.of(b"pid", b"show info", shown)),
        }
    };
    chain::hand_on(&PROG, &mut env, var, &PidList::from_pid(answering), tail)
}

fn gone(pid: u32, socket: &[u8]) -> ! {
    PROG.die(
        EXIT_GONE,
        &[
            b"pid ",
            &number::format(pid),
            b" is gone: it never answered on ",
            socket,
        ],
    )
}
