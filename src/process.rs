//! Is a pid a live process, and is it the program we expect? Both asked
//! of the kernel just before the pid is handed on, so a reused pid is not.

use crate::pid;
use crate::sys;
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// The kernel keeps the first 15 bytes of a process's name in comm.
pub const COMM_LEN: usize = 15;

/// `kill(pid, 0)`: ESRCH is dead; EPERM means someone else's live process.
pub fn is_alive(pid: u32) -> bool {
    !matches!(kill(Pid::from_raw(pid as i32), None), Err(Errno::ESRCH))
}

/// What comm would hold for a program of this name.
pub fn comm_of(name: &[u8]) -> &[u8] {
    &name[..name.len().min(COMM_LEN)]
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    NoSuchProcess,
    OtherName,
    /// /proc is not mounted: the name cannot be known.
    NameUnknown,
    /// /proc/PID/comm could not be read for another reason.
    NameUnreadable(Errno),
}

/// Checks `pid`: alive if asked, then named `name` (compared as comm is).
/// A name is checked after liveness so that a dead pid says so.
pub fn vet(pid: u32, alive: bool, name: Option<&[u8]>) -> Verdict {
    if alive && !is_alive(pid) {
        return Verdict::NoSuchProcess;
    }
    let Some(name) = name else {
        return Verdict::Keep;
    };
    let mut path = b"/proc/".to_vec();
    pid::push_decimal(&mut path, pid);
    path.extend_from_slice(b"/comm\0");
    let Ok(path) = std::ffi::CStr::from_bytes_with_nul(&path) else {
        return Verdict::NameUnreadable(Errno::EINVAL);
    };
    let mut buf = [0u8; 64];
    match sys::read_file(path, &mut buf) {
        Ok(comm) => {
            let comm = comm.strip_suffix(b"\n").unwrap_or(comm);
            if comm == comm_of(name) {
                Verdict::Keep
            } else {
                Verdict::OtherName
            }
        }
        Err(Errno::ENOENT | Errno::ESRCH) if !proc_is_mounted() => Verdict::NameUnknown,
        Err(Errno::ENOENT | Errno::ESRCH) => Verdict::NoSuchProcess,
        Err(e) => Verdict::NameUnreadable(e),
    }
}

pub fn proc_is_mounted() -> bool {
    sys::exists(c"/proc/self/comm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_is_alive_and_named() {
        let me = std::process::id();
        assert!(is_alive(me));
        let mut comm = [0u8; 64];
        let c = sys::read_file(c"/proc/self/comm", &mut comm)
            .unwrap()
            .trim_ascii_end()
            .to_vec();
        assert_eq!(vet(me, true, Some(&c)), Verdict::Keep);
        assert_eq!(vet(me, true, Some(b"surely-not-this")), Verdict::OtherName);
    }

    #[test]
    fn comm_is_truncated_to_15() {
        assert_eq!(comm_of(b"a-very-long-program-name"), b"a-very-long-pro");
        assert_eq!(comm_of(b"haproxy"), b"haproxy");
    }
}
