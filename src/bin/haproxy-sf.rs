//! haproxy-sf [-t] [-k] [-x SOCKET] [-n VAR]... [-c NAME] [-u] [-r] prog...
//!
//! Execs prog with `-sf PID...` appended, the pids taken from SV_PID and
//! PIDFILE_PID (or the -n variables), each checked to be a live process
//! named like prog (or NAME: prog may be a wrapper that execs haproxy).
//! Alone, prints what it would append. With -k, signals them itself as
//! haproxy would (SIGUSR1; SIGTERM with -t), each through the pidfd it was
//! checked under, and appends nothing.
#![no_main]

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::stat::SFlag;
use pidchain::argv::Argv;
use pidchain::diag::{EXIT_NO_PID, EXIT_SYSTEM, Prog, clip};
use pidchain::env::Environ;
use pidchain::getopt::{Getopt, Opt};
use pidchain::pid::{self, PidList};
use pidchain::process::{self, IfNameUnknown, Pidfd, Verdict};
use pidchain::{exec, number, pathname, sys, usage};
use std::ffi::{CString, c_char};

const PROG: Prog = Prog {
    name: "haproxy-sf",
    usage: "haproxy-sf [ -t ] [ -k ] [ -x socket ] [ -n var ]... [ -c name ] [ -u ] [ -r ] [ prog... ]",
    help: "  -t         hard stop: append -st instead of -sf
  -k         kill: send the pids SIGUSR1 (-t: SIGTERM) now, append nothing
  -x socket  also pass -x socket when taking over and socket is a unix socket
  -n var     read pids from var (repeatable; default SV_PID then PIDFILE_PID)
  -c name    keep only pids of processes named name (default: prog's basename)
  -u         unchecked: do not drop dead pids or processes not named like prog
  -r         required: exit 1 when no pid is left, instead of a cold start
",
};

/// The name old processes must have when running alone (no prog to name it).
const DEFAULT_NAME: &[u8] = b"haproxy";

pidchain::c_main!(run);

fn run(argv: Argv<'static>, mut env: Environ) -> ! {
    let mut stop = c"-sf";
    let mut socket = None;
    let mut vars: Vec<&[u8]> = Vec::new();
    let mut checked = true;
    let mut required = false;
    let mut named = None;
    let mut kill_now = false;

    let mut opts = Getopt::new(argv, b"tkx:n:c:ur");
    for opt in opts.by_ref() {
        match opt {
            Ok(Opt::Flag(b't')) => stop = c"-st",
            Ok(Opt::Flag(b'k')) => kill_now = true,
            Ok(Opt::Value(b'x', s)) => socket = Some(usage::named(&PROG, "socket", s)),
            Ok(Opt::Value(c @ b'n', v)) => vars.push(usage::var_name(&PROG, c, v)),
            Ok(Opt::Value(b'c', n)) => named = Some(usage::named(&PROG, "name", n).to_bytes()),
            Ok(Opt::Flag(b'u')) => checked = false,
            Ok(Opt::Flag(b'r')) => required = true,
            other => PROG.other_option(other),
        }
    }
    if vars.is_empty() {
        vars = vec![b"SV_PID", b"PIDFILE_PID"];
    }
    let prog_argv = argv.tail(opts.optind());
    let alone = prog_argv.len() <= 1;
    // A wrapper (chpst, nice, s6-softlimit) execs haproxy but is not
    // named like it: -c names what the old processes are.
    let prog_name = usage::program(&PROG, argv, opts.optind())
        .map_or(DEFAULT_NAME, |p| pathname::basename(p.to_bytes()));
    let name = named.unwrap_or(prog_name);

    let mut pids = PidList::new();
    let mut pid_max = None;
    for var in &vars {
        // A variable present more than once: every copy is read.
        for value in pidchain::env::get_all(var) {
            let value = std::os::unix::ffi::OsStrExt::as_bytes(value.as_os_str());
            match PidList::parse_var(value, *pid_max.get_or_insert_with(pid::pid_max)) {
                Some(list) => list.as_slice().iter().for_each(|&p| pids.push(p)),
                None => PROG.warn(&[b"ignoring ", var, b": not a list of pids: ", &clip(value)]),
            }
        }
        if !alone {
            env.remove(var);
        }
    }
    // The program exec'd has our pid: it must never be told to stop itself.
    let me = if pids.is_empty() {
        0
    } else {
        nix::unistd::getpid().as_raw() as u32
    };
    if pids.as_slice().contains(&me) {
        PROG.warn(&[
            b"dropping pid ",
            &number::format(me),
            b": it is this process",
        ]);
        pids.retain(|&p| p != me);
    }
    // -k: each pid held by a pidfd from before its checks to its signal,
    // so that the process checked is the one signalled (see Pidfd).
    let mut held: Vec<(u32, Pidfd)> = Vec::new();
    let mut pidfds = kill_now && checked;
    if pidfds {
        for &p in pids.as_slice() {
            match Pidfd::open(p) {
                Ok(fd) => held.push((p, fd)),
                // No pidfds here: signalled by number, as haproxy would.
                Err(Errno::ENOSYS | Errno::EPERM) => pidfds = false,
                // No process to hold: the checks below drop it.
                Err(Errno::ESRCH | Errno::EINVAL) => {}
                Err(e) => PROG.die(
                    EXIT_SYSTEM,
                    &[
                        b"unable to open a pidfd for pid ",
                        &number::format(p),
                        b": ",
                        e.desc().as_bytes(),
                    ],
                ),
            }
        }
    }
    if checked {
        let told = |p, verdict: &Verdict| PROG.warn(&[&verdict.words(p, Some(name))]);
        // Skip: never Err.
        let _ = process::vet_all(&mut pids, true, Some(name), IfNameUnknown::Skip, told);
    }
    // A reload's daemonized copy must take over or not start at all: cold,
    // it would run beside the supervised haproxy, unsupervised.
    if required && pids.is_empty() {
        PROG.die(
            EXIT_NO_PID,
            &[b"no process to take over from in ", &vars.join(&b' ')],
        );
    }

    // What haproxy does with -sf (-st) pids, done here: for a step that
    // tells old processes to finish without starting an haproxy.
    if kill_now {
        let signal = if stop == c"-st" {
            Signal::SIGTERM
        } else {
            Signal::SIGUSR1
        };
        for &p in pids.as_slice() {
            let sent = match held.iter().find(|(h, _)| *h == p) {
                Some((_, fd)) => fd.signal(signal),
                // Checked, yet no process was there to hold: a newer one.
                None if pidfds => Err(Errno::ESRCH),
                None => nix::sys::signal::kill(nix::unistd::Pid::from_raw(p as i32), signal),
            };
            match sent {
                Ok(()) => {}
                Err(Errno::ESRCH) => {
                    PROG.warn(&[b"pid ", &number::format(p), b" exited meanwhile"])
                }
                Err(e) => PROG.die(
                    EXIT_SYSTEM,
                    &[
                        b"unable to signal pid ",
                        &number::format(p),
                        b": ",
                        e.desc().as_bytes(),
                    ],
                ),
            }
        }
        if alone {
            std::process::exit(0);
        }
        exec::exec(&PROG, prog_argv)
    }

    let mut appended: Vec<CString> = Vec::new();
    if !pids.is_empty() {
        if let Some(s) = socket {
            match nix::sys::stat::stat(s) {
                Ok(st) if sys::is_type(&st, SFlag::S_IFSOCK) => {
                    appended.push(c"-x".into());
                    appended.push(s.into());
                }
                Ok(_) => PROG.warn(&[b"not passing -x ", s.to_bytes(), b": not a unix socket"]),
                Err(_) => {}
            }
        }
        appended.push(stop.into());
        appended.extend(pids.as_slice().iter().map(|&p| pid::to_cstring(p)));
    }

    if alone {
        let mut line = appended
            .iter()
            .map(|a| a.as_bytes())
            .collect::<Vec<_>>()
            .join(&b' ');
        line.push(b'\n');
        let code = if sys::write_all(1, &line) {
            0
        } else {
            EXIT_SYSTEM
        };
        std::process::exit(code);
    }
    let mut new_argv: Vec<*const c_char> = prog_argv[..prog_argv.len() - 1].to_vec();
    new_argv.extend(appended.iter().map(|a| a.as_ptr()));
    new_argv.push(std::ptr::null());
    exec::exec(&PROG, &new_argv)
}
