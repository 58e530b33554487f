//! The one exec at the end of every chain. A plain execvp, not
//! Command::exec, which would reset SIGPIPE and empty the signal mask:
//! the next program gets the process exactly as we got it.

use crate::diag::{EXIT_CANNOT_EXEC, EXIT_NOT_FOUND, EXIT_USAGE, Prog};
use nix::errno::Errno;
use std::ffi::{CStr, c_char};

/// `argv` must be NULL-terminated; argv[0] is the program, looked up in PATH.
pub fn exec(prog: &Prog, argv: &[*const c_char]) -> ! {
    let file = match argv.first() {
        Some(&p) if !p.is_null() && argv.last().is_some_and(|l| l.is_null()) => p,
        _ => prog.die(EXIT_USAGE, &[b"no program to exec"]),
    };
    // SAFETY: argv is a NULL-terminated array of C strings.
    unsafe { libc::execvp(file, argv.as_ptr()) };
    let err = Errno::last();
    // SAFETY: file is a C string (checked non-null above).
    let name = unsafe { CStr::from_ptr(file) }.to_bytes();
    let code = if err == Errno::ENOENT {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_EXEC
    };
    prog.die(
        code,
        &[b"unable to exec ", name, b": ", err.desc().as_bytes()],
    )
}
