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
use std::ffi::{c_char, c_int};
use std::time::Duration;

const PROG: Prog = Prog {
    name: "haproxy-pid",
    usage: "haproxy-pid [ -w ms ] [ -e pid ] [ -n var ] socket [ prog... ]",
    help: "  -w ms    wait up to ms for an haproxy to answer (with -e: for pid to)
  -e pid   expect pid: exit 1 unless the haproxy answering is pid
  -n var   put the pid in var (default HAPROXY_PID)
",
};

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: the arguments of the C main.
    let argv = unsafe { Argv::from_main(argc, argv) };
    let mut var: &[u8] = b"HAPROXY_PID";
    let mut wait = Duration::ZERO;
    let mut expected = None;

    let mut opts = Getopt::new(argv, b"w:e:n:");
    for opt in opts.by_ref() {
        match opt {
            Ok(Opt::Value(c @ b'w', ms)) => wait = chain::millis(&PROG, c, ms),
            Ok(Opt::Value(b'e', p)) => expected = Some(p),
            Ok(Opt::Value(c @ b'n', v)) => var = chain::var_name(&PROG, c, v),
            Ok(Opt::Help) => PROG.help(),
            Ok(Opt::Version) => PROG.version(),
            Ok(Opt::Flag(_) | Opt::Value(..)) => PROG.usage(),
            Err(m) => PROG.misuse(m),
        }
    }
    let Some(path) = argv.get(opts.optind()) else {
        PROG.usage()
    };
    let path = chain::named(&PROG, "socket", path);
    chain::program(&PROG, argv, opts.optind() + 1);
    let tail = argv.tail(opts.optind() + 1);
    let shown = path.to_bytes();
    let pid_max = pid::pid_max();
    let expected = expected.map(|p| {
        pid::parse(p.to_bytes(), pid_max)
            .unwrap_or_else(|| PROG.bad_value(b'e', p.to_bytes(), "a pid"))
    });

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
                    &pid::decimal(p),
                    b", not ",
                    &pid::decimal(e),
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
