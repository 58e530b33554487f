//! `show info` on a stats socket: `Name: value` lines, among them `Pid: N`,
//! the pid of the process that accepted the connection. After a takeover,
//! that is the new process: the old one stops accepting as it soft-stops.
//! Read only from a whole answer, and only from the one such line.

use super::answer::{self, Unreadable};
use crate::{number, pid};

/// The `Pid:` line's pid.
pub fn pid(answer: &[u8], pid_max: u32) -> Result<u32, Unreadable> {
    let value = answer::field(answer::whole(answer)?, b"Pid:")?;
    pid::parse(number::trim_space(value), pid_max).ok_or(Unreadable::Invalid)
}

/// The `Stopping:` line: true once the process soft-stops, which it does
/// in the same step as it stops accepting connections.
pub fn stopping(answer: &[u8]) -> Result<bool, Unreadable> {
    match number::trim_space(answer::field(answer::whole(answer)?, b"Stopping:")?) {
        b"0" => Ok(false),
        b"1" => Ok(true),
        _ => Err(Unreadable::Invalid),
    }
}

/// The master's whole answer when asked for a worker (`@!PID`) that is no
/// longer there: one line, no empty line after it (haproxy 2.4 to 3.4).
pub fn no_such_worker(answer: &[u8]) -> bool {
    answer.starts_with(b"Can't find the target PID matching the prefix '@!")
        && answer.ends_with(b"'\n")
        && answer.iter().filter(|&&b| b == b'\n').count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    const MAX: u32 = 4_194_304;

    #[test]
    fn pid_line() {
        // Captured from haproxy 2.6.12 (cut in the middle).
        let a = b"Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nRelease_date: 2026/10/17\nNbthread: 2\nNbproc: 1\nProcess_num: 1\nPid: 29962\nUptime: 0d 0h00m00s\nTainted: 0\n\n";
        assert_eq!(pid(a, MAX), Ok(29962));
        assert_eq!(pid(b"Pid: 1\n\n", MAX), Err(Unreadable::Invalid));
        assert_eq!(pid(b"Pid: x\n\n", MAX), Err(Unreadable::Invalid));
        assert_eq!(pid(b"Name: Pid: 42\n\n", MAX), Err(Unreadable::Missing));
        assert_eq!(pid(b"", MAX), Err(Unreadable::Incomplete));
        assert_eq!(pid(b"Unknown command.\n\n", MAX), Err(Unreadable::Missing));
    }

    #[test]
    fn a_cut_or_double_answer_has_no_pid() {
        assert_eq!(pid(b"Pid: 42", MAX), Err(Unreadable::Incomplete));
        assert_eq!(pid(b"Pid: 42\n", MAX), Err(Unreadable::Incomplete));
        assert_eq!(
            pid(b"Pid: 42\nUptime: 0\n", MAX),
            Err(Unreadable::Incomplete)
        );
        assert_eq!(pid(b"Pid: 42\nPid: 43\n\n", MAX), Err(Unreadable::Twice));
        assert_eq!(pid(b"Pid: 42\n\nPid: 43\n\n", MAX), Err(Unreadable::Twice));
    }

    #[test]
    fn stopping_line() {
        assert_eq!(stopping(b"Pid: 21085\nStopping: 1\n\n"), Ok(true));
        assert_eq!(stopping(b"Pid: 21085\nStopping: 0\n\n"), Ok(false));
        assert_eq!(stopping(b"Stopping: 0\n"), Err(Unreadable::Incomplete));
        assert_eq!(stopping(b"Stopping: yes\n\n"), Err(Unreadable::Invalid));
        assert_eq!(
            stopping(b"Stopping: 0\nStopping: 1\n\n"),
            Err(Unreadable::Twice)
        );
        let gone = b"Can't find the target PID matching the prefix '@!99'\n";
        assert_eq!(stopping(gone), Err(Unreadable::Incomplete));
        assert!(no_such_worker(gone));
        assert!(!no_such_worker(
            b"Can't find the target PID matching the prefix '@!99"
        ));
        assert!(!no_such_worker(b"Stopping: 0\n\n"));
    }
}
