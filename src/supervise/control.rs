//! Is a supervisor running? Every supported supervisor keeps
//! `supervise/control`, a FIFO, open for reading while it runs. Opening it
//! write-only and non-blocking succeeds when one is there and fails with
//! ENXIO when none is: the check runit's `sv` and daemontools' `svok` make.
//! Never by taking `supervise/lock`: a supervisor starting at that moment
//! would fail to get it and exit.

use super::Error;
use crate::sys::{self, Call, SysError};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::SFlag;
use std::ffi::CStr;

pub fn supervisor_listening(control: &CStr) -> Result<bool, Error> {
    let shown = control.to_bytes();
    // Nothing is written; the descriptor is closed when `fd` drops.
    let fd = match sys::open(
        control,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW,
    ) {
        Ok(fd) => fd,
        Err(Errno::ENXIO | Errno::ENOENT) => return Ok(false),
        Err(e) => return Err(Error::Sys(SysError::new(Call::Open, shown, e))),
    };
    let st = sys::fstat(&fd).map_err(|e| Error::Sys(SysError::new(Call::Stat, shown, e)))?;
    if !sys::is_type(&st, SFlag::S_IFIFO) {
        return Err(Error::ControlNotFifo {
            path: shown.to_vec(),
        });
    }
    Ok(true)
}
