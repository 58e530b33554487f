//! `show info` on a stats socket: `Name: value` lines, among them `Pid: N`,
//! the pid of the process that accepted the connection. After a takeover,
//! that is the new process: the old one stops accepting as it soft-stops.

use crate::{number, pid};

/// The `Pid:` line's pid, if the answer has a valid one.
pub fn pid(answer: &[u8], pid_max: u32) -> Option<u32> {
    answer
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Pid:"))
        .and_then(|v| pid::parse(number::trim_space(v), pid_max))
}

/// The `Stopping:` line: true once the process soft-stops, which it does
/// in the same step as it stops accepting connections.
pub fn stopping(answer: &[u8]) -> Option<bool> {
    let value = answer
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Stopping:"))?;
    match number::trim_space(value) {
        b"0" => Some(false),
        b"1" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_line() {
        let a = b"Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nRelease_date: 2026/10/17\nNbthread: 2\nNbproc: 1\nProcess_num: 1\nPid: 29962\nUptime: 0d 0h00m00s\n";
        assert_eq!(pid(a, 4_194_304), Some(29962));
        assert_eq!(pid(b"Pid: 1\n", 4_194_304), None);
        assert_eq!(pid(b"Pid: x\n", 4_194_304), None);
        assert_eq!(pid(b"Name: Pid: 42\n", 4_194_304), None);
        assert_eq!(pid(b"", 4_194_304), None);
        assert_eq!(pid(b"Unknown command.\n", 4_194_304), None);
    }

    #[test]
    fn stopping_line() {
        assert_eq!(stopping(b"Pid: 21085\nStopping: 1\n"), Some(true));
        assert_eq!(stopping(b"Pid: 21085\nStopping: 0\n"), Some(false));
        assert_eq!(stopping(b"Stopping: yes\n"), None);
        assert_eq!(
            stopping(b"Can't find the target PID matching the prefix '@!99'\n"),
            None
        );
    }
}
