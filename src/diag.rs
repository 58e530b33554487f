//! skarnet-style diagnostics (`prog: fatal: unable to ...`) and the exit
//! codes README.md lists. Each message is one write(2) on fd 2; a failed write
//! is ignored, never a panic (eprintln! would panic on EPIPE).

use crate::getopt::Misuse;
use crate::haproxy::socket::QueryError;
use nix::errno::Errno;

/// The pid is not available and the program was not told to go on without it.
pub const EXIT_NO_PID: i32 = 1;
pub const EXIT_USAGE: i32 = 100;
pub const EXIT_SYSTEM: i32 = 111;
pub const EXIT_CANNOT_EXEC: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

/// Why a step failed: the exit code and the text that follows `fatal: `.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub msg: Vec<u8>,
}

impl Failure {
    pub fn new(code: i32, parts: &[&[u8]]) -> Self {
        Failure {
            code,
            msg: parts.concat(),
        }
    }

    /// `unable to ACTION WHAT: strerror`, exit 111.
    pub fn sys(action: &str, what: &[u8], errno: Errno) -> Self {
        Self::new(
            EXIT_SYSTEM,
            &[
                b"unable to ",
                action.as_bytes(),
                b" ",
                what,
                b": ",
                errno.desc().as_bytes(),
            ],
        )
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A program's name (fixed, as skarnet does, not argv[0]) and usage line.
pub struct Prog {
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
}

impl Prog {
    fn say(&self, fd: i32, level: &[u8], parts: &[&[u8]]) {
        let mut line = Vec::with_capacity(128);
        line.extend_from_slice(self.name.as_bytes());
        line.extend_from_slice(b": ");
        line.extend_from_slice(level);
        // Paths and values come from outside: a control byte in one would
        // break the message's one line, or drive a terminal.
        for &b in parts.iter().flat_map(|p| p.iter()) {
            if b < 0x20 || b == 0x7f {
                line.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                ]);
            } else {
                line.push(b);
            }
        }
        line.push(b'\n');
        crate::sys::write_all(fd, &line);
    }

    pub fn warn(&self, parts: &[&[u8]]) {
        self.say(2, b"warning: ", parts);
    }

    pub fn die(&self, code: i32, parts: &[&[u8]]) -> ! {
        self.say(2, b"fatal: ", parts);
        std::process::exit(code)
    }

    pub fn fail(&self, f: Failure) -> ! {
        self.die(f.code, &[&f.msg])
    }

    pub fn usage(&self) -> ! {
        self.say(2, b"usage: ", &[self.usage.as_bytes()]);
        std::process::exit(EXIT_USAGE)
    }

    pub fn misuse(&self, m: Misuse) -> ! {
        match m {
            Misuse::Unknown(o) if o.starts_with(b"--") => {
                self.warn(&[b"unknown option ", o]);
            }
            Misuse::Unknown(o) => self.warn(&[b"unknown option -", o]),
            Misuse::MissingValue(c) => self.warn(&[b"option -", &[c], b" needs an argument"]),
        }
        self.usage()
    }

    /// A bad option value: name the option and what it takes.
    pub fn bad_value(&self, opt: u8, value: &[u8], wants: &str) -> ! {
        self.warn(&[
            b"option -",
            &[opt],
            b": ",
            &escape(value),
            b" is not ",
            wants.as_bytes(),
        ]);
        self.usage()
    }

    pub fn help(&self) -> ! {
        let text = [
            b"usage: ",
            self.usage.as_bytes(),
            b"\n",
            self.help.as_bytes(),
        ]
        .concat();
        let code = if crate::sys::write_all(1, &text) {
            0
        } else {
            EXIT_SYSTEM
        };
        std::process::exit(code)
    }

    pub fn version(&self) -> ! {
        let text = [self.name, " ", env!("CARGO_PKG_VERSION"), "\n"].concat();
        let code = if crate::sys::write_all(1, text.as_bytes()) {
            0
        } else {
            EXIT_SYSTEM
        };
        std::process::exit(code)
    }
}

impl Prog {
    /// Ends the program on a failed question to an haproxy socket: 1 when
    /// no haproxy answers (or the socket is not to be trusted), 111 when a
    /// call failed.
    pub fn socket_failed(&self, path: &[u8], e: &QueryError) -> ! {
        use QueryError::*;
        let uid;
        let (code, parts): (i32, &[&[u8]]) = match e {
            NotAnswering(Errno::ENOENT) => (
                EXIT_NO_PID,
                &[b"no haproxy answers on ", path, b": no such socket"],
            ),
            NotAnswering(e) => (
                EXIT_NO_PID,
                &[b"no haproxy answers on ", path, b": ", e.desc().as_bytes()],
            ),
            NotASocket => (
                EXIT_NO_PID,
                &[b"refusing ", path, b": it is not a unix socket"],
            ),
            Owner(u) => {
                uid = crate::pid::decimal(*u);
                (
                    EXIT_NO_PID,
                    &[
                        b"refusing ",
                        path,
                        b": owned by uid ",
                        &uid,
                        b", neither root nor the effective user",
                    ],
                )
            }
            TimedOut => (EXIT_NO_PID, &[b"no whole answer from ", path, b" in time"]),
            TooLong => (
                EXIT_NO_PID,
                &[b"refusing the answer from ", path, b": more than 64 KiB"],
            ),
            Sys(call, e) => (
                EXIT_SYSTEM,
                &[
                    b"unable to ",
                    call.as_bytes(),
                    b" ",
                    path,
                    b": ",
                    e.desc().as_bytes(),
                ],
            ),
        };
        self.die(code, parts)
    }
}

/// Untrusted bytes made safe to print: at most 64 shown, anything but
/// printable ASCII as `\xNN`, so a hostile value cannot drive a terminal.
pub fn escape(bytes: &[u8]) -> Vec<u8> {
    const SHOWN: usize = 64;
    let mut out = Vec::with_capacity(bytes.len().min(SHOWN) + 2);
    for &b in bytes.iter().take(SHOWN) {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
    }
    if bytes.len() > SHOWN {
        out.extend_from_slice(b"...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_hides_control_bytes_and_truncates() {
        assert_eq!(escape(b"ab\x1b[2J\xff\\"), b"ab\\x1b[2J\\xff\\x5c");
        assert_eq!(escape(&[b'7'; 100]).len(), 64 + 3);
    }

    #[test]
    fn sys_failure_shape() {
        let f = Failure::sys("open", b"/run/x.pid", Errno::EACCES);
        assert_eq!(f.code, 111);
        assert_eq!(f.msg, b"unable to open /run/x.pid: Permission denied");
    }
}
