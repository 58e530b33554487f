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
    /// Exited, not yet reaped: kill(2) still finds it, but it will never
    /// act on a signal, nor hand over its sockets.
    Zombie,
    OtherName,
    /// /proc is not mounted: the name cannot be known.
    NameUnknown,
    /// /proc/PID/comm could not be read for another reason.
    NameUnreadable(Errno),
}

/// Checks `pid`: alive if asked, then named `name` (compared as comm is)
/// and not a zombie. A name is checked after liveness so that a dead pid
/// says so.
pub fn vet(pid: u32, alive: bool, name: Option<&[u8]>) -> Verdict {
    if alive && !is_alive(pid) {
        return Verdict::NoSuchProcess;
    }
    let Some(name) = name else {
        return Verdict::Keep;
    };
    let mut path = b"/proc/".to_vec();
    pid::push_decimal(&mut path, pid);
    path.extend_from_slice(b"/stat\0");
    let Ok(path) = std::ffi::CStr::from_bytes_with_nul(&path) else {
        return Verdict::NameUnreadable(Errno::EINVAL);
    };
    // `PID (COMM) STATE ...`: comm is at most 15 bytes, so 64 hold it all.
    let mut buf = [0u8; 64];
    match sys::read_file(path, &mut buf) {
        Ok(stat) => match parse_stat(stat) {
            Some((_, b'Z')) => Verdict::Zombie,
            Some((comm, _)) if comm == comm_of(name) => Verdict::Keep,
            Some(_) => Verdict::OtherName,
            None => Verdict::NameUnreadable(Errno::EINVAL),
        },
        Err(Errno::ENOENT | Errno::ESRCH) if !proc_is_mounted() => Verdict::NameUnknown,
        Err(Errno::ENOENT | Errno::ESRCH) => Verdict::NoSuchProcess,
        Err(e) => Verdict::NameUnreadable(e),
    }
}

/// Name and state from /proc/PID/stat. The name may hold spaces and
/// parentheses, so it ends at the last `)`.
fn parse_stat(stat: &[u8]) -> Option<(&[u8], u8)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let state = *stat.get(close + 2)?;
    (open < close).then(|| (&stat[open + 1..close], state))
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
    fn stat_names_may_hold_parentheses_and_spaces() {
        assert_eq!(
            parse_stat(b"42 (haproxy) S 1 42"),
            Some((&b"haproxy"[..], b'S'))
        );
        assert_eq!(
            parse_stat(b"42 (a) b) (c) Z 1"),
            Some((&b"a) b) (c"[..], b'Z'))
        );
        assert_eq!(parse_stat(b"42 (x"), None);
        assert_eq!(parse_stat(b"42 (x)"), None);
    }

    #[test]
    fn comm_is_truncated_to_15() {
        assert_eq!(comm_of(b"a-very-long-program-name"), b"a-very-long-pro");
        assert_eq!(comm_of(b"haproxy"), b"haproxy");
    }
}
