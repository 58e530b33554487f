//! What makes an answer whole. haproxy's CLI ends its answer to every
//! command with an empty line, on the stats socket, on the master CLI and
//! for a worker asked through the master (`@!PID`). An answer that stops
//! before that line (the peer went away, or the deadline came) is not an
//! answer, whatever it holds so far: `Pid: 42` then EOF may be the first
//! digits of 4242. Nor is one that says a thing twice.

use crate::diag::{EXIT_NO_PID, Failure};

/// Why an answer says nothing that can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// It does not end with an empty line.
    Incomplete,
    /// The line looked for is not there.
    Missing,
    /// The line looked for is there more than once.
    Twice,
    /// The line is there, its value is not what it should be.
    Invalid,
}

impl Unreadable {
    /// The failure of looking for `what` in the answer to `command` on
    /// the socket at `path`.
    pub fn of<'a>(self, what: &'a [u8], command: &'a [u8], path: &'a [u8]) -> Unusable<'a> {
        Unusable {
            what,
            command,
            path,
            why: self,
        }
    }
}

/// An answer that says nothing usable: exit 1.
pub struct Unusable<'a> {
    pub what: &'a [u8],
    pub command: &'a [u8],
    pub path: &'a [u8],
    pub why: Unreadable,
}

impl Failure for Unusable<'_> {
    fn words(&self) -> Vec<u8> {
        let (what, command, path) = (self.what, self.command, self.path);
        let on: &[u8] = b" on ";
        match self.why {
            Unreadable::Incomplete => [
                b"incomplete answer (no empty line at its end) to ",
                command,
                on,
                path,
            ]
            .concat(),
            Unreadable::Missing => {
                [b"no ", what, b" in the answer to ", command, on, path].concat()
            }
            Unreadable::Twice => [
                b"more than one ",
                what,
                b" in the answer to ",
                command,
                on,
                path,
            ]
            .concat(),
            Unreadable::Invalid => {
                [b"no valid ", what, b" in the answer to ", command, on, path].concat()
            }
        }
    }

    fn code(&self) -> i32 {
        EXIT_NO_PID
    }
}

/// The answer without its closing empty line, when it has one.
pub fn whole(answer: &[u8]) -> Result<&[u8], Unreadable> {
    match answer.strip_suffix(b"\n") {
        Some(body) if body.ends_with(b"\n") => Ok(body),
        _ => Err(Unreadable::Incomplete),
    }
}

/// The rest of the one line of `body` that starts with `key`.
pub fn field<'a>(body: &'a [u8], key: &[u8]) -> Result<&'a [u8], Unreadable> {
    let mut found = body
        .split(|&b| b == b'\n')
        .filter_map(|l| l.strip_prefix(key));
    match (found.next(), found.next()) {
        (Some(v), None) => Ok(v),
        (None, _) => Err(Unreadable::Missing),
        (Some(_), Some(_)) => Err(Unreadable::Twice),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_answers_end_with_an_empty_line() {
        assert_eq!(whole(b"Pid: 42\n\n"), Ok(&b"Pid: 42\n"[..]));
        assert_eq!(whole(b"\n\n"), Ok(&b"\n"[..]));
        for cut in [&b""[..], b"\n", b"Pid: 42", b"Pid: 42\n", b"Pid: 4\n\nx"] {
            assert_eq!(whole(cut), Err(Unreadable::Incomplete), "{cut:?}");
        }
    }

    #[test]
    fn a_field_once() {
        assert_eq!(field(b"A: 1\nPid: 2\n", b"Pid:"), Ok(&b" 2"[..]));
        assert_eq!(field(b"A: 1\n", b"Pid:"), Err(Unreadable::Missing));
        assert_eq!(field(b"Pid: 2\nPid: 2\n", b"Pid:"), Err(Unreadable::Twice));
        assert_eq!(field(b"Pid: 2\nPid: 3\n", b"Pid:"), Err(Unreadable::Twice));
    }
}
