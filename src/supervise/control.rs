//! Is a supervisor running? Every supported supervisor keeps
//! `supervise/control`, a FIFO, open for reading while it runs. Opening it
//! write-only and non-blocking succeeds when one is there and fails with
//! ENXIO when none is: the check runit's `sv` and daemontools' `svok` make.
//! Never by taking `supervise/lock`: a supervisor starting at that moment
//! would fail to get it and exit.

use crate::diag::{EXIT_NO_PID, Failure};
use crate::sys;
use nix::errno::Errno;
use std::ffi::CStr;

pub fn supervisor_listening(control: &CStr) -> Result<bool, Failure> {
    let shown = control.to_bytes();
    // Nothing is written; the descriptor is closed when `fd` drops.
    let fd = match sys::open(
        control,
        libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW,
    ) {
        Ok(fd) => fd,
        Err(Errno::ENXIO | Errno::ENOENT) => return Ok(false),
        Err(e) => return Err(Failure::sys("open", shown, e)),
    };
    let st = sys::fstat(&fd).map_err(|e| Failure::sys("stat", shown, e))?;
    if !sys::is_type(&st, libc::S_IFIFO) {
        return Err(Failure::new(
            EXIT_NO_PID,
            &[b"invalid control ", shown, b": it is not a FIFO"],
        ));
    }
    Ok(true)
}
