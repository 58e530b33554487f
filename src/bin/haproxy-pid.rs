//! haproxy-pid [-w MS] [-e PID] [-n VAR] SOCKET [prog...]
//!
//! The pid of the haproxy process that answers `show info` on the stats
//! socket SOCKET; with -e, waits until it is PID: the new haproxy of a
//! reload has taken the listeners over. Execs prog with VAR set to it, or
//! alone prints it.
#![no_main]

use pidchain::argv::Argv;
use pidchain::chain;
use pidchain::diag::{EXIT_NO_PID, Prog};
use pidchain::getopt::{Getopt, Opt};
use pidchain::haproxy::{info, socket};
use pidchain::pid::{self, PidList};
use pidchain::{number, usage};

use std::time::Duration;

const PROG: Prog = Prog {
    name: "haproxy-pid",
    usage: "haproxy-pid [ -w ms ] [ -e pid ] [ -n var ] socket [ prog... ]",
    help: "  -w ms    wait up to ms for an haproxy to answer (with -e: for pid to)
  -e pid   expect pid: exit 1 unless the haproxy answering is pid
  -n var   put the pid in var (default HAPROXY_PID)
",
};

pidchain::c_main!(run);

fn run(argv: Argv<'static>) -> ! {
    let mut var: &[u8] = b"HAPROXY_PID";
    let mut wait = Duration::ZERO;
    let mut expected = None;

    let mut opts = Getopt::new(argv, b"w:e:n:");
    for opt in opts.by_ref() {
        match opt {
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
    let answering = loop {
        let seen = match socket::ask(path, b"show info", &mut answer, &mut waiter) {
            Ok(()) => info::pid(&answer, pid_max),
            Err(e) => PROG.socket_failed(shown, &e),
        };
        match (seen, expected) {
            (Some(p), None) => break p,
            (Some(p), Some(e)) if p == e => break p,
            _ if waiter.pause() => continue,
            (Some(p), Some(e)) => PROG.die(
                EXIT_NO_PID,
                &[
                    shown,
                    b" is answered by pid ",
                    &number::format(p),
                    b", not ",
                    &number::format(e),
                ],
            ),
            (None, _) => PROG.die(
                EXIT_NO_PID,
                &[b"no pid in the answer to show info on ", shown],
            ),
        }
    };
    chain::hand_on(&PROG, var, &PidList::from_pid(answering), tail)
}
