//! sv-pid [-n VAR] [-o] [-w MS] [-N PID] SERVICEDIR [prog...]
//!
//! Reads the pid of the process a supervisor (runit, s6, daemontools,
//! daemontools-encore) runs for SERVICEDIR, from its own status file,
//! trusted only while the supervisor is alive; execs prog with VAR set to
//! it, or alone prints it.
#![no_main]

use pidchain::argv::Argv;
use pidchain::chain;
use pidchain::diag::{EXIT_NO_PID, Prog};
use pidchain::getopt::{Getopt, Opt};
use pidchain::pid::{self, PidList};
use pidchain::supervise::{self, Observation, State};
use pidchain::sys;
use pidchain::wait::Waiter;
use std::ffi::{c_char, c_int};

const PROG: Prog = Prog {
    name: "sv-pid",
    usage: "sv-pid [ -n var ] [ -o ] [ -w ms ] [ -N pid ] servicedir [ prog... ]",
    help: "  -n var   put the pid in var (default SV_PID)
  -o       optional: no pid is not an error; var is removed and prog runs
  -w ms    wait up to ms for the service to be up
  -N pid   new: the service up as pid counts as not up (with -w: wait for a new pid)
",
};

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: the arguments of the C main.
    let argv = unsafe { Argv::from_main(argc, argv) };
    let mut var: &[u8] = b"SV_PID";
    let mut optional = false;
    let mut wait = None;
    let mut old = None;

    let mut opts = Getopt::new(argv, b"n:ow:N:");
    for opt in opts.by_ref() {
        match opt {
            Ok(Opt::Value(c @ b'n', v)) => var = chain::var_name(&PROG, c, v),
            Ok(Opt::Flag(b'o')) => optional = true,
            Ok(Opt::Value(c @ b'w', ms)) => wait = Some(chain::millis(&PROG, c, ms)),
            Ok(Opt::Value(b'N', p)) => old = Some(p),
            Ok(Opt::Help) => PROG.help(),
            Ok(Opt::Version) => PROG.version(),
            Ok(Opt::Flag(_) | Opt::Value(..)) => PROG.usage(),
            Err(m) => PROG.misuse(m),
        }
    }
    let Some(dir) = argv.get(opts.optind()) else {
        PROG.usage()
    };
    let dir = chain::named(&PROG, "servicedir", dir);
    let shown = dir.to_bytes();
    chain::program(&PROG, argv, opts.optind() + 1);
    let tail = argv.tail(opts.optind() + 1);
    let pid_max = pid::pid_max();
    let old = old.map(|p| {
        pid::parse(p.to_bytes(), pid_max)
            .unwrap_or_else(|| PROG.bad_value(b'N', p.to_bytes(), "a pid"))
    });
    let still = old.map(|p| [b" is still up as pid ".as_slice(), &pid::decimal(p)].concat());

    let mut waiter = None;
    let pids = loop {
        // Why there is no pid, around the directory's name; and whether -o
        // still warns about it.
        let (before, after, warn): (&[u8], &[u8], bool) = match supervise::observe(dir, pid_max) {
            Ok(Observation::Status(s)) => match (s.service_pid(), s.state) {
                (Some(p), _) if Some(p) != old => break PidList::from_pid(p),
                (Some(_), _) => (b"service ", still.as_deref().unwrap_or_default(), false),
                (None, State::Finish) => (
                    b"service ",
                    b" is down: its finish script is running",
                    false,
                ),
                (None, State::Starting) => (
                    b"service ",
                    b" is starting: its start script is running",
                    false,
                ),
                (None, State::Stopping) => (b"service ", b" is stopping", false),
                (None, _) => (b"service ", b" is down", false),
            },
            Ok(Observation::NotRunning) => (
                b"supervisor not running for ",
                b": its status is not trusted",
                true,
            ),
            Ok(Observation::NoStatus) => (b"service ", b" has no status yet", false),
            // An untrustworthy status file: exit 1, or a warning with -o.
            Err(f) if f.code == EXIT_NO_PID && optional => {
                PROG.warn(&[b"ignoring ", &f.msg]);
                break PidList::new();
            }
            Err(f) => PROG.fail(f),
        };
        if let Some(t) = wait {
            let watched = sys::join(shown, b"supervise")
                .map(|p| p.into_bytes())
                .unwrap_or_default();
            if waiter
                .get_or_insert_with(|| Waiter::new(t, &watched))
                .pause()
            {
                continue;
            }
        }
        let why = [before, shown, after];
        if !optional {
            PROG.die(EXIT_NO_PID, &why);
        }
        if warn {
            PROG.warn(&why);
        }
        break PidList::new();
    };
    chain::hand_on(&PROG, var, &pids, tail)
}
