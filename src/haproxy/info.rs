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
}
