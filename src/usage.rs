//! Option values and operands, checked as getopt hands them over, before
//! a program reads or consumes anything: a bad one is a usage error
//! (exit 100) that names the option and what it takes. Usage errors are
//! worded here, for every program.

use crate::argv::Argv;
use crate::diag::{self, Prog};
use crate::getopt::{Misuse, Opt};
use crate::{env, number};
use std::ffi::{CStr, c_char};
use std::time::Duration;

impl Prog {
    /// Every option a program does not handle itself: -h, -V, one it
    /// does not know, one without its value.
    pub fn other_option(&self, opt: Result<Opt, Misuse>) -> ! {
        match opt {
            Ok(Opt::Help) => self.help(),
            Ok(Opt::Version) => self.version(),
            Ok(Opt::Flag(_) | Opt::Value(..)) => self.usage(),
            Err(m) => self.misuse(m),
        }
    }

    pub fn misuse(&self, m: Misuse) -> ! {
        match m {
            Misuse::Unknown(o) if o.starts_with(b"--") => {
                self.warn(&[b"unknown option ", o]);
            }
            Misuse::Unknown(o) => self.warn(&[b"unknown option -", o]),
            Misuse::MissingValue(c) => self.warn(&[b"option -", &[c], b" needs an argument"]),
        }
        self.usage()
    }

    /// A bad option value: name the option and what it takes.
    pub fn bad_value(&self, opt: u8, value: &[u8], wants: &str) -> ! {
        self.warn(&[
            b"option -",
            &[opt],
            b": ",
            &diag::clip(value),
            b" is not ",
            wants.as_bytes(),
        ]);
        self.usage()
    }
}

/// A VAR given with -n: a name setenv accepts.
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

/// The program to exec, if any.
pub fn program<'a>(prog: &Prog, argv: Argv<'a>, i: usize) -> Option<&'a CStr> {
    argv.get(i).map(|p| named(prog, "program name", p))
}

/// The operand at `i` (a `what`: file, servicedir, socket), and the rest
/// of argv after it, the program to exec: both there and not empty, or a
/// usage error.
pub fn operand<'a>(
    prog: &Prog,
    argv: Argv<'a>,
    i: usize,
    what: &str,
) -> (&'a CStr, &'a [*const c_char]) {
    let Some(operand) = argv.get(i) else {
        prog.usage()
    };
    let operand = named(prog, what, operand);
    program(prog, argv, i + 1);
    (operand, argv.tail(i + 1))
}

/// An MS given with -w/-W: decimal milliseconds, 0 to 2^64-1.
pub fn millis(prog: &Prog, opt: u8, v: &CStr) -> Duration {
    let digits = v.to_bytes();
    match number::parse(digits) {
        Some(ms) => Duration::from_millis(ms),
        None => prog.bad_value(opt, digits, "a number of milliseconds"),
    }
}

/// A PID given with an option (-e, -N): a valid pid.
pub fn pid(prog: &Prog, opt: u8, v: &CStr, pid_max: u32) -> u32 {
    crate::pid::parse(v.to_bytes(), pid_max)
        .unwrap_or_else(|| prog.bad_value(opt, v.to_bytes(), "a pid"))
}
