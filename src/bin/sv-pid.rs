//! sv-pid [-n VAR] [-o] [-w MS] [-N PID] [-u] SERVICEDIR [prog...]
//!
//! Reads the pid of the process a supervisor (runit, s6, daemontools,
//! daemontools-encore) runs for SERVICEDIR, from its own status file,
//! trusted only while the supervisor is alive; execs prog with VAR set to
//! it, or alone prints it.
#![no_main]

use pidchain::argv::Argv;
use pidchain::chain;
use pidchain::diag::{EXIT_GONE, EXIT_NO_PID, Failure, Prog};
use pidchain::env::Environ;
use pidchain::getopt::{Getopt, Opt};
use pidchain::pid::{self, PidList};
use pidchain::supervise::{self, Error, Observation, State};
use pidchain::wait::Waiter;
use pidchain::{number, pathname, usage};

const PROG: Prog = Prog {
    name: "sv-pid",
    usage: "sv-pid [ -n var ] [ -o ] [ -w ms ] [ -N pid ] [ -u ] servicedir [ prog... ]",
    help: "  -n var   put the pid in var (default SV_PID)
  -o       optional: no pid is not an error; var is removed and prog runs
  -w ms    wait up to ms for the service to be up
  -N pid   new: the service up as pid counts as not up (with -w: wait for a new pid)
  -u       up wanted: a service its supervisor was told to keep down has no pid (exit 2)
",
};

pidchain::c_main!(run);

fn run(argv: Argv<'static>, mut env: Environ) -> ! {
    let mut var: &[u8] = b"SV_PID";
    let mut optional = false;
    let mut wait = None;
    let mut old = None;
    let mut wanted_up = false;

    let mut opts = Getopt::new(argv, b"n:ow:N:u");
    for opt in opts.by_ref() {
        match opt {
            Ok(Opt::Value(c @ b'n', v)) => var = usage::var_name(&PROG, c, v),
            Ok(Opt::Flag(b'o')) => optional = true,
            Ok(Opt::Value(c @ b'w', ms)) => wait = Some(usage::millis(&PROG, c, ms)),
            Ok(Opt::Value(b'N', p)) => old = Some(p),
            Ok(Opt::Flag(b'u')) => wanted_up = true,
            other => PROG.other_option(other),
        }
    }
    let (dir, tail) = usage::operand(&PROG, argv, opts.optind(), "servicedir");
    let shown = dir.to_bytes();
    let pid_max = pid::pid_max();
    let old = old.map(|p| usage::pid(&PROG, b'N', p, pid_max));
    let still = old.map(|p| [b" is still up as pid ".as_slice(), &number::format(p)].concat());

    let mut waiter = None;
    let pids = loop {
        // Why there is no pid, around the directory's name; and whether -o
        // still warns about it.
        let observed = supervise::observe(dir, pid_max);
        // Taken down (or told to exit): no waiting can bring it up.
        let down = observed.as_ref().ok().and_then(Observation::down_for_good);
        if let Some(down) = down.filter(|_| wanted_up) {
            if optional {
                break PidList::new();
            }
            PROG.die(EXIT_GONE, &[b"service ", shown, down.words()])
        }
        let not_supervised;
        let (before, after, warn): (&[u8], &[u8], bool) = match observed {
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
            Ok(Observation::NotRunning(_)) => (
                b"supervisor not running for ",
                b": its status is not trusted",
                true,
            ),
            Ok(Observation::NoStatus) => (b"service ", b" has no status yet", false),
            Ok(Observation::NotSupervised { status, parent }) => {
                not_supervised = not_supervised_by_it(status.pid, parent);
                (b"status of ", &not_supervised, true)
            }
            // An untrustworthy status file: exit 1, or a warning with -o.
            Err(e) => {
                if !optional || matches!(e, Error::Sys(_)) {
                    PROG.fail(&e);
                }
                PROG.warn(&[b"ignoring ", &e.words()]);
                break PidList::new();
            }
        };
        if let Some(t) = wait {
            let watched = pathname::join(shown, b"supervise")
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
    chain::hand_on(&PROG, &mut env, var, &pids, tail)
}

/// Why the pid in a status is not the supervised process, after the
/// directory's name.
fn not_supervised_by_it(pid: u32, parent: Option<u32>) -> Vec<u8> {
    let pid = number::format(pid);
    match parent {
        None => [b" names pid ".as_slice(), &pid, b", which has exited"].concat(),
        Some(p) => [
            b" names pid ".as_slice(),
            &pid,
            b", whose parent, pid ",
            &number::format(p),
            b", is not the running supervisor: the status is not its yet",
        ]
        .concat(),
    }
}
