//! pidfile-read [-n VAR] [-d] [-o] [-w MS | -W MS] [-a] [-c NAME] FILE [prog...]
//!
//! Reads the pids in FILE, strictly, and execs prog with VAR set to them;
//! alone, prints them.
#![no_main]

use pidchain::argv::Argv;
use pidchain::chain::{self, IfNameUnknown};
use pidchain::diag::{EXIT_NO_PID, Prog};
use pidchain::getopt::{Getopt, Opt};
use pidchain::pid::PidList;
use pidchain::pidfile::{self, Content, Invalid, Wait};
use std::ffi::{c_char, c_int};

const PROG: Prog = Prog {
    name: "pidfile-read",
    usage: "pidfile-read [ -n var ] [ -d ] [ -o ] [ -w ms | -W ms ] [ -a ] [ -c name ] file [ prog... ]",
    help: "  -n var   put the pids in var (default PIDFILE_PID)
  -d       consume: remove file once read (atomic against other readers)
  -o       optional: no pid is not an error; var is removed and prog runs
  -w ms    wait up to ms for an existing file to be complete
  -W ms    wait up to ms for the file to appear and be complete
  -a       drop pids with no such process
  -c name  drop pids whose process is not named name
",
};

#[unsafe(no_mangle)]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: the arguments of the C main.
    let argv = unsafe { Argv::from_main(argc, argv) };
    let mut var: &[u8] = b"PIDFILE_PID";
    let mut read = pidfile::Options {
        consume: false,
        wait: Wait::No,
    };
    let mut optional = false;
    let mut alive = false;
    let mut name = None;

    let mut opts = Getopt::new(argv, b"n:dow:W:ac:");
    for opt in opts.by_ref() {
        match opt {
            Ok(Opt::Value(c @ b'n', v)) => var = chain::var_name(&PROG, c, v),
            Ok(Opt::Flag(b'd')) => read.consume = true,
            Ok(Opt::Flag(b'o')) => optional = true,
            Ok(Opt::Value(c @ b'w', ms)) => {
                read.wait = Wait::ForCompletion(chain::millis(&PROG, c, ms))
            }
            Ok(Opt::Value(c @ b'W', ms)) => read.wait = Wait::ForFile(chain::millis(&PROG, c, ms)),
            Ok(Opt::Flag(b'a')) => alive = true,
            Ok(Opt::Value(_, n)) => name = Some(chain::named(&PROG, "name", n).to_bytes()),
            Ok(Opt::Help) => PROG.help(),
            Ok(Opt::Version) => PROG.version(),
            Ok(Opt::Flag(_)) => PROG.usage(),
            Err(m) => PROG.misuse(m),
        }
    }
    let Some(file) = argv.get(opts.optind()) else {
        PROG.usage()
    };
    let file = chain::named(&PROG, "file", file);
    let path = file.to_bytes();
    chain::program(&PROG, argv, opts.optind() + 1);
    let tail = argv.tail(opts.optind() + 1);

    let no_pid = |why: &[&[u8]]| -> PidList {
        if !optional {
            PROG.die(EXIT_NO_PID, why);
        }
        PidList::new()
    };
    let mut pids = match pidfile::read(file, &read) {
        Ok(Content::Pids(pids)) => pids,
        Ok(Content::Missing) => no_pid(&[b"unable to read ", path, b": No such file or directory"]),
        Ok(Content::Empty) => no_pid(&[b"no pid in ", path, b": the file is empty"]),
        Ok(Content::Invalid(why)) => {
            let why = match why {
                Invalid::TooLarge => b"it is larger than 4096 bytes".to_vec(),
                Invalid::BadLine(n) => format!("line {n} is not a pid").into_bytes(),
            };
            let msg: &[&[u8]] = &[b"invalid pidfile ", path, b": ", &why];
            if optional {
                PROG.warn(&[b"ignoring ", &msg.concat()]);
            }
            no_pid(msg)
        }
        Err(failure) => PROG.fail(failure),
    };
    if (alive || name.is_some()) && !pids.is_empty() {
        chain::vet_all(&PROG, &mut pids, alive, name, IfNameUnknown::Fail);
        if pids.is_empty() {
            no_pid(&[b"no usable pid in ", path]);
        }
    }
    chain::hand_on(&PROG, var, &pids, tail)
}
