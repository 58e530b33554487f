//! The step every pid-reading program ends with: alone, print the pids;
//! chained, put them in VAR (or remove VAR) and exec the rest of argv.
//! Also the checks that decide whether a pid may be handed on.

use crate::argv::Argv;
use crate::diag::{EXIT_SYSTEM, Prog};
use crate::pid::{self, PidList};
use crate::process::{self, Verdict};
use crate::{env, exec, sys};
use std::ffi::{CStr, c_char};

/// Ends the program. `tail` is the NULL-terminated rest of argv; empty
/// (only the NULL) means the program runs alone.
pub fn hand_on(prog: &Prog, var: &[u8], pids: &PidList, tail: &[*const c_char]) -> ! {
    let value = (!pids.is_empty()).then(|| pids.to_bytes());
    hand_on_value(prog, var, value.as_deref(), tail)
}

/// The same for any value: printed alone, or VAR set to it (removed for
/// None) for the rest of argv.
pub fn hand_on_value(prog: &Prog, var: &[u8], value: Option<&[u8]>, tail: &[*const c_char]) -> ! {
    if tail.len() <= 1 {
        let Some(value) = value else {
            std::process::exit(0)
        };
        let line = [value, b"\n"].concat();
        if !sys::write_all(1, &line) {
            prog.die(EXIT_SYSTEM, &[b"unable to write to stdout"]);
        }
        std::process::exit(0);
    }
    match value {
        Some(v) => env::set(var, v),
        None => env::remove(var),
    }
    exec::exec(prog, tail)
}

/// What to do when the name of a process cannot be known (/proc missing).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum IfNameUnknown {
    /// The caller asked for the check: fail (exit 111).
    Fail,
    /// Warn once and go on without the name check.
    Skip,
}

/// Drops, with a warning each, the pids that are dead (if `alive`) or not
/// named `name`.
pub fn vet_all(
    prog: &Prog,
    pids: &mut PidList,
    alive: bool,
    name: Option<&[u8]>,
    unknown: IfNameUnknown,
) {
    let mut name = name;
    let mut kept = PidList::new();
    for &p in pids.as_slice() {
        let mut verdict = process::vet(p, alive, name);
        if verdict == Verdict::NameUnknown {
            if unknown == IfNameUnknown::Fail {
                prog.die(
                    EXIT_SYSTEM,
                    &[
                        b"unable to check the name of pid ",
                        &pid::decimal(p),
                        b": /proc is not mounted",
                    ],
                );
            }
            prog.warn(&[b"/proc is not mounted: not checking process names"]);
            name = None;
            verdict = process::vet(p, alive, None);
        }
        match verdict {
            Verdict::Keep => kept.push(p),
            Verdict::NoSuchProcess => {
                prog.warn(&[b"dropping pid ", &pid::decimal(p), b": no such process"])
            }
            Verdict::Thread { tgid } => prog.warn(&[
                b"dropping pid ",
                &pid::decimal(p),
                b": it is a thread of process ",
                &pid::decimal(tgid),
                b", not a process",
            ]),
            Verdict::Zombie => prog.warn(&[
                b"dropping pid ",
                &pid::decimal(p),
                b": the process has exited (zombie)",
            ]),
            Verdict::OtherName => prog.warn(&[
                b"dropping pid ",
                &pid::decimal(p),
                b": process is not ",
                process::comm_of(name.unwrap_or_default()),
            ]),
            Verdict::NameUnknown => {}
            Verdict::NameUnreadable(e) => prog.warn(&[
                b"dropping pid ",
                &pid::decimal(p),
                b": unable to read its name: ",
                e.desc().as_bytes(),
            ]),
        }
    }
    *pids = kept;
}

/// A VAR given with -n: a name setenv accepts, or a usage error.
pub fn var_name<'a>(prog: &Prog, opt: u8, v: &'a CStr) -> &'a [u8] {
    let name = v.to_bytes();
    if !env::is_valid_name(name) {
        prog.bad_value(opt, name, "a variable name");
    }
    name
}

/// An operand or option value that names something: never empty. An
/// unset variable in a script (`sv-pid "$SERVICE"`) must not become the
/// current directory, nor an empty program name.
pub fn named<'a>(prog: &Prog, what: &str, v: &'a CStr) -> &'a CStr {
    if v.is_empty() {
        prog.warn(&[b"empty ", what.as_bytes()]);
        prog.usage()
    }
    v
}

/// The program to exec, if any, checked before the step does anything.
pub fn program<'a>(prog: &Prog, argv: Argv<'a>, i: usize) -> Option<&'a CStr> {
    argv.get(i).map(|p| named(prog, "program name", p))
}

/// An MS given with -w/-W: decimal milliseconds, 0 to 2^64-1.
pub fn millis(prog: &Prog, opt: u8, v: &CStr) -> std::time::Duration {
    let digits = v.to_bytes();
    match pid::parse_decimal(digits) {
        Some(ms) => std::time::Duration::from_millis(ms),
        None => prog.bad_value(opt, digits, "a number of milliseconds"),
    }
}
