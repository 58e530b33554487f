//! The step every pid-reading program ends with: alone, print the pids;
//! chained, put them in VAR (or remove VAR) and exec the rest of argv.

use crate::diag::{EXIT_SYSTEM, Prog};
use crate::env::Environ;
use crate::pid::PidList;
use crate::{exec, sys};
use std::ffi::c_char;

/// Ends the program. `tail` is the NULL-terminated rest of argv; empty
/// (only the NULL) means the program runs alone.
pub fn hand_on(
    prog: &Prog,
    env: &mut Environ,
    var: &[u8],
    pids: &PidList,
    tail: &[*const c_char],
) -> ! {
    let value = (!pids.is_empty()).then(|| pids.to_bytes());
    hand_on_value(prog, env, var, value.as_deref(), tail)
}

/// The same for any value: printed alone, or VAR set to it (removed for
/// None) for the rest of argv.
pub fn hand_on_value(
    prog: &Prog,
    env: &mut Environ,
    var: &[u8],
    value: Option<&[u8]>,
    tail: &[*const c_char],
) -> ! {
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
        Some(v) => env.set(var, v),
        None => env.remove(var),
    }
    exec::exec(prog, tail)
}
