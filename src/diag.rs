//! skarnet-style diagnostics (`prog: fatal: unable to ...`) and the exit
//! codes README.md lists. Each message is one write(2) on fd 2; a failed write
//! is ignored, never a panic (eprintln! would panic on EPIPE).

use crate::getopt::{Misuse, Opt};
use crate::haproxy::answer::Unreadable;
use crate::haproxy::socket::QueryError;
use crate::number;
use crate::process::{self, Verdict};
use crate::sys::{Call, SysError};
use crate::trust::{Distrust, FileKind};
use nix::errno::Errno;

/// The pid is not available and the program was not told to go on without it.
pub const EXIT_NO_PID: i32 = 1;
/// What is waited for will never come: haproxy-pid -e, the pid expected is
/// gone; sv-pid -u, the service is wanted down (where 1 says: not in time).
pub const EXIT_GONE: i32 = 2;
pub const EXIT_USAGE: i32 = 100;
pub const EXIT_SYSTEM: i32 = 111;
pub const EXIT_CANNOT_EXEC: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

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

    /// `unable to CALL PATH: strerror`, exit 111.
    pub fn sys_failed(&self, e: &SysError) -> ! {
        self.die(
            EXIT_SYSTEM,
            &[
                b"unable to ",
                verb(e.call),
                b" ",
                &e.path,
                b": ",
                e.errno.desc().as_bytes(),
            ],
        )
    }

    /// The warning for a pid that vetting dropped (`name`: the one asked
    /// for), or for names that cannot be checked.
    pub fn vetted(&self, p: u32, verdict: &Verdict, name: Option<&[u8]>) {
        let p = number::format(p);
        let dropping: &[u8] = b"dropping pid ";
        match verdict {
            Verdict::Keep => {}
            Verdict::NameUnknown => {
                self.warn(&[b"/proc is not mounted: not checking process names"])
            }
            Verdict::NoSuchProcess => self.warn(&[dropping, &p, b": no such process"]),
            Verdict::Thread { tgid } => self.warn(&[
                dropping,
                &p,
                b": it is a thread of process ",
                &number::format(*tgid),
                b", not a process",
            ]),
            Verdict::Zombie => self.warn(&[dropping, &p, b": the process has exited (zombie)"]),
            Verdict::OtherName => self.warn(&[
                dropping,
                &p,
                b": process is not ",
                process::comm_of(name.unwrap_or_default()),
            ]),
            Verdict::NameUnreadable(e) => self.warn(&[
                dropping,
                &p,
                b": unable to read its name: ",
                e.desc().as_bytes(),
            ]),
        }
    }

    /// Vetting that needed a name /proc cannot give: exit 111.
    pub fn name_unknown(&self, p: u32) -> ! {
        self.die(
            EXIT_SYSTEM,
            &[
                b"unable to check the name of pid ",
                &number::format(p),
                b": /proc is not mounted",
            ],
        )
    }

    pub fn usage(&self) -> ! {
        self.say(2, b"usage: ", &[self.usage.as_bytes()]);
        std::process::exit(EXIT_USAGE)
    }

    /// Every option a program does not handle itself: -h, -V, one it
    /// does not know, one without its value.
    pub fn other_option(&self, opt: Result<Opt, Misuse>) -> ! {
        match opt {
            Ok(Opt::Help) => self.help(),
            Ok(Opt::Version) => self.version(),
            Ok(Opt::Flag(_) | Opt::Value(..)) => self.usage(),
            Err(m) => self.misuse(m),
        }
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
            Cut(e) => (
                EXIT_NO_PID,
                &[b"no whole answer from ", path, b": ", e.desc().as_bytes()],
            ),
            NotASocket => (
                EXIT_NO_PID,
                &[b"refusing ", path, b": it is not a unix socket"],
            ),
            Owner(u) => {
                uid = crate::number::format(*u);
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
                    verb(*call),
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

impl Prog {
    /// Ends the program on an answer that says nothing usable: exit 1.
    /// `what` is what was looked for in the answer to `command`.
    pub fn unreadable(&self, what: &[u8], command: &[u8], path: &[u8], why: Unreadable) -> ! {
        let (before, after): (&[u8], &[u8]) = match why {
            Unreadable::Incomplete => (b"incomplete answer (no empty line at its end) to ", b""),
            Unreadable::Missing => (b"no ", b" in the answer to "),
            Unreadable::Twice => (b"more than one ", b" in the answer to "),
            Unreadable::Invalid => (b"no valid ", b" in the answer to "),
        };
        let what = if why == Unreadable::Incomplete {
            &[][..]
        } else {
            what
        };
        self.die(EXIT_NO_PID, &[before, what, after, command, b" on ", path])
    }
}

/// What `unable to ...` says was being done.
fn verb(call: Call) -> &'static [u8] {
    match call {
        Call::Open => b"open",
        Call::Stat => b"stat",
        Call::Read => b"read",
        Call::Rename => b"rename",
        Call::Remove => b"remove",
        Call::Use => b"use",
        Call::Socket => b"create a socket for",
        Call::Connect => b"connect to",
        Call::Write => b"write to",
        Call::Shutdown => b"shutdown",
        Call::Poll => b"poll",
    }
}

/// Why a file is not believed, after `PATH: `.
pub fn distrust(why: &Distrust) -> Vec<u8> {
    match *why {
        Distrust::NotRegular(kind) => match kind {
            FileKind::Regular => b"it is a regular file".to_vec(),
            FileKind::SymbolicLink => b"it is a symbolic link".to_vec(),
            FileKind::Directory => b"it is a directory".to_vec(),
            FileKind::Fifo => b"it is a FIFO".to_vec(),
            FileKind::Socket => b"it is a socket".to_vec(),
            FileKind::Device => b"it is a device".to_vec(),
            FileKind::Other => b"it is not a regular file".to_vec(),
        },
        Distrust::HardLinks(n) => {
            [b"it has ".as_slice(), &number::format(n), b" hard links"].concat()
        }
        Distrust::Owner { uid, euid } => [
            b"owned by uid ".as_slice(),
            &number::format(uid),
            b", neither root nor the effective user (uid ",
            &number::format(euid),
            b")",
        ]
        .concat(),
        Distrust::Writable { mode } => [
            b"writable by group or others (mode ".as_slice(),
            format!("{mode:04o}").as_bytes(),
            b")",
        ]
        .concat(),
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
    fn distrust_in_words() {
        assert_eq!(distrust(&Distrust::HardLinks(2)), b"it has 2 hard links");
        assert_eq!(
            distrust(&Distrust::Writable { mode: 0o664 }),
            b"writable by group or others (mode 0664)"
        );
        assert_eq!(
            distrust(&Distrust::Owner { uid: 1000, euid: 0 }),
            b"owned by uid 1000, neither root nor the effective user (uid 0)"
        );
    }
}
