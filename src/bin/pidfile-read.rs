//! pidfile-read [-n VAR] [-d] [-o] [-w MS | -W MS] [-a] [-c NAME] FILE [prog...]
//!
//! Reads the pids in FILE, strictly, and execs prog with VAR set to them;
//! alone, prints them.
#![no_main]

use pidchain::argv::Argv;
use pidchain::chain;
use pidchain::diag::{EXIT_NO_PID, Prog};
use pidchain::env::Environ;
use pidchain::getopt::{Getopt, Opt};
use pidchain::pid::PidList;
use pidchain::pidfile::{self, Content, Invalid, Wait};
use pidchain::process::{self, IfNameUnknown, Verdict};
use pidchain::usage;

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

pidchain::c_main!(run);

fn run(argv: Argv<'static>, mut env: Environ) -> ! {
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
            Ok(Opt::Value(c @ b'n', v)) => var = usage::var_name(&PROG, c, v),
            Ok(Opt::Flag(b'd')) => read.consume = true,
            Ok(Opt::Flag(b'o')) => optional = true,
            Ok(Opt::Value(c @ b'w', ms)) => {
                read.wait = Wait::ForCompletion(usage::millis(&PROG, c, ms))
            }
            Ok(Opt::Value(c @ b'W', ms)) => read.wait = Wait::ForFile(usage::millis(&PROG, c, ms)),
            Ok(Opt::Flag(b'a')) => alive = true,
            Ok(Opt::Value(b'c', n)) => name = Some(usage::named(&PROG, "name", n).to_bytes()),
            other => PROG.other_option(other),
        }
    }
    let (file, tail) = usage::operand(&PROG, argv, opts.optind(), "file");
    let path = file.to_bytes();

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
        Err(e) => PROG.fail(&e.on(path)),
    };
    if (alive || name.is_some()) && !pids.is_empty() {
        let told = |p, verdict: &Verdict| PROG.warn(&[&verdict.words(p, name)]);
        if let Err(e) = process::vet_all(&mut pids, alive, name, IfNameUnknown::Fail, told) {
            PROG.fail(&e);
        }
        if pids.is_empty() {
            no_pid(&[b"no usable pid in ", path]);
        }
    }
    chain::hand_on(&PROG, &mut env, var, &pids, tail)
}
