//! What a pid is: plain decimal digits, 2..=pid_max. Pid 1 is never handed on.

use crate::number;
use crate::sys;

/// The kernel's ceiling when /proc/sys/kernel/pid_max cannot be read.
pub const PID_MAX_FALLBACK: u32 = 4_194_304;

pub fn pid_max() -> u32 {
    let mut buf = [0u8; 32];
    match sys::read_file(c"/proc/sys/kernel/pid_max", &mut buf) {
        Ok(text) => number::parse(number::trim_space(text))
            .filter(|&m| m >= 2)
            .map_or(PID_MAX_FALLBACK, |m| m.min(i32::MAX as u64) as u32),
        Err(_) => PID_MAX_FALLBACK,
    }
    .min(i32::MAX as u32)
}

/// A valid pid, or None: `0`, `1`, signs, hex, spaces, overflow, garbage
/// and anything above `pid_max` are all refused.
pub fn parse(token: &[u8], pid_max: u32) -> Option<u32> {
    number::parse(token)
        .filter(|&p| (2..=u64::from(pid_max)).contains(&p))
        .map(|p| p as u32)
}

/// Pids in the order found, without duplicates.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PidList(Vec<u32>);

impl PidList {
    pub fn new() -> Self {
        PidList(Vec::new())
    }

    pub fn from_pid(pid: u32) -> Self {
        PidList(vec![pid])
    }

    /// Adds a pid unless it is there already. Lists hold a handful of
    /// pids, so a linear look beats any set.
    pub fn push(&mut self, pid: u32) {
        if !self.0.contains(&pid) {
            self.0.push(pid);
        }
    }

    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn retain(&mut self, keep: impl FnMut(&u32) -> bool) {
        self.0.retain(keep)
    }

    /// The value of a pid variable: pids separated by single spaces.
    /// Anything else (empty tokens, tabs, garbage, pid 1) makes it invalid.
    pub fn parse_var(value: &[u8], pid_max: u32) -> Option<PidList> {
        let mut list = PidList::new();
        if value.is_empty() {
            return Some(list);
        }
        for token in value.split(|&b| b == b' ') {
            list.push(parse(token, pid_max)?);
        }
        Some(list)
    }

    /// `2 3 4`, as a variable holds them and as alone mode prints them.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 8);
        for (i, &pid) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            number::push(&mut out, pid);
        }
        out
    }
}

/// A pid as a C string, for a path or an argument: digits hold no NUL.
pub fn to_cstring(n: u32) -> std::ffi::CString {
    std::ffi::CString::new(number::format(n)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    const MAX: u32 = 4_194_304;

    #[test]
    fn accepts_plain_pids_in_range() {
        assert_eq!(parse(b"2", MAX), Some(2));
        assert_eq!(parse(b"4242", MAX), Some(4242));
        assert_eq!(parse(b"4194304", MAX), Some(MAX));
        assert_eq!(parse(b"32768", 32768), Some(32768));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            &b""[..],
            b"0",
            b"1",
            b"00",
            b"01",
            b"007",
            b"-5",
            b"+5",
            b"0x10",
            b"1f",
            b"12 3",
            b" 12",
            b"12 ",
            b"12\n",
            b"12\0",
            b"12a",
            b"\xff",
            b"\xd9\xa3", // Arabic-Indic three
            b"4194305",
            b"4294967295",
            b"4294967296",
            b"99999999999999999999",
        ] {
            assert_eq!(parse(bad, MAX), None, "{bad:?}");
        }
        assert_eq!(parse(b"32769", 32768), None);
    }

    #[test]
    fn lists_dedup_in_order() {
        let l = PidList::parse_var(b"30 20 30 40 20", MAX).unwrap();
        assert_eq!(l.as_slice(), [30, 20, 40]);
        assert_eq!(l.to_bytes(), b"30 20 40");
        assert_eq!(PidList::parse_var(b"", MAX), Some(PidList::new()));
        for bad in [" 2", "2 ", "2  3", "2\t3", "2,3", "1", "2 1", "2 x"] {
            let bad = bad.as_bytes();
            assert_eq!(PidList::parse_var(bad, MAX), None, "{bad:?}");
        }
    }

    #[test]
    fn pid_max_is_sane() {
        let m = pid_max();
        assert!((2..=i32::MAX as u32).contains(&m));
    }
}
