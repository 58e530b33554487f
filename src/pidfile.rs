//! Reading a pidfile strictly: never through a symlink, never hanging on
//! a FIFO, only a regular file that root or we own and nobody else can
//! write, at most 4096 bytes, one pid per line. Optionally consumed
//! atomically, and optionally waited for.

use crate::diag::{EXIT_NO_PID, Failure};
use crate::number;
use crate::pathname;
use crate::pid::{self, PidList};
use crate::sys::{self, Call, SysError};
use crate::trust::{self, Checked, Distrust};
use crate::wait::Waiter;
use nix::errno::Errno;
use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;
use std::time::Duration;

pub const MAX_SIZE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    No,
    /// `-w`: an existing but incomplete file is waited for.
    ForCompletion(Duration),
    /// `-W`: a missing file too.
    ForFile(Duration),
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub consume: bool,
    pub wait: Wait,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Content {
    Pids(PidList),
    Missing,
    Empty,
    Invalid(Invalid),
}

#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    TooLarge,
    /// 1-based number of the first line that is not a pid.
    BadLine(usize),
}

/// One pid per line; blank lines and surrounding isspace(3) bytes (CRLF too) are
/// ignored; anything else, or more than MAX_SIZE bytes, is invalid.
pub fn parse(bytes: &[u8], pid_max: u32) -> Result<PidList, Invalid> {
    if bytes.len() > MAX_SIZE {
        return Err(Invalid::TooLarge);
    }
    let mut pids = PidList::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let token = number::trim_space(line);
        if token.is_empty() {
            continue;
        }
        pids.push(pid::parse(token, pid_max).ok_or(Invalid::BadLine(n + 1))?);
    }
    Ok(pids)
}

/// Why a pidfile was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The trust check refused it; `removed`: it had been consumed (renamed
    /// away) by then, and is gone.
    Refused {
        why: Distrust,
        removed: bool,
    },
    Sys(SysError),
}

impl From<trust::Error> for Error {
    fn from(e: trust::Error) -> Self {
        match e {
            trust::Error::Distrusted(why) => Error::Refused {
                why,
                removed: false,
            },
            trust::Error::Sys(e) => Error::Sys(e),
        }
    }
}

impl Error {
    /// The error as the failure to read the pidfile at `path`.
    pub fn on(self, path: &[u8]) -> Failed<'_> {
        Failed { path, error: self }
    }
}

/// A pidfile not read: refused (exit 1), or a call failed (111).
pub struct Failed<'a> {
    pub path: &'a [u8],
    pub error: Error,
}

impl Failure for Failed<'_> {
    fn words(&self) -> Vec<u8> {
        match &self.error {
            Error::Refused { why, removed } => {
                let removed: &[u8] = if *removed { b" (removed)" } else { b"" };
                [b"refusing ", self.path, b": ", &why.words(), removed].concat()
            }
            Error::Sys(e) => e.words(),
        }
    }

    fn code(&self) -> i32 {
        match &self.error {
            Error::Refused { .. } => EXIT_NO_PID,
            Error::Sys(e) => e.code(),
        }
    }
}

/// An open pidfile and, when consumed, the private name it was renamed to.
struct Opened {
    fd: OwnedFd,
    private: Option<CString>,
}

pub fn read(path: &CStr, opts: &Options) -> Result<Content, Error> {
    let mut buf = [0u8; MAX_SIZE + 1];
    let (timeout, for_file) = match opts.wait {
        Wait::No => return last_look(path, opts.consume, &mut buf).map(|n| content(&buf, n)),
        Wait::ForCompletion(t) => (t, false),
        Wait::ForFile(t) => (t, true),
    };
    // Subscribed before the first look, as s6 does: a change between that
    // look and the watch is not missed.
    let mut waiter = Waiter::new(timeout, pathname::dirname(path.to_bytes()));
    // Each look opens the path afresh: a pidfile replaced by rename is
    // another inode. It is consumed only once complete (or out of time),
    // so that a writer never loses the name it writes to.
    loop {
        match look(path, false, &mut buf) {
            Ok(Look::Missing) if for_file && waiter.pause() => continue,
            Ok(Look::Missing) => return Ok(Content::Missing),
            // The writer's rename is an event: no sleep before the next look.
            Ok(Look::Replaced) if waiter.pause() => continue,
            Ok(Look::Replaced) => break,
            Ok(Look::Read(len)) if !is_complete(&buf[..len]) && waiter.pause() => continue,
            Ok(Look::Read(len)) if !opts.consume => return Ok(content(&buf, Some(len))),
            Ok(Look::Read(_)) => break,
            // Consuming, the last look says it again, and removes a
            // refused regular file.
            Err(_) if opts.consume => break,
            Err(f) => return Err(f),
        }
    }
    last_look(path, opts.consume, &mut buf).map(|n| content(&buf, n))
}

/// What one look found.
enum Look {
    Missing,
    /// The file opened had no name left by the time it was checked: a
    /// writer renamed a new one over it (or removed it). Look again.
    Replaced,
    Read(usize),
}

/// Looks that replacements would make fruitless, before giving up.
const REPLACED_LOOKS: usize = 8;

/// A look that is final: a replaced file is looked at again, a few times;
/// the length read, or None when there is no file.
fn last_look(path: &CStr, consume: bool, buf: &mut [u8]) -> Result<Option<usize>, Error> {
    for _ in 0..REPLACED_LOOKS {
        match look(path, consume, buf)? {
            Look::Missing => return Ok(None),
            Look::Replaced => continue,
            Look::Read(len) => return Ok(Some(len)),
        }
    }
    Ok(None)
}

/// A file is complete when it ends in a newline (haproxy creates and
/// truncates its pidfile well before it writes `PID\n` into it).
fn is_complete(bytes: &[u8]) -> bool {
    bytes.len() > MAX_SIZE || bytes.ends_with(b"\n")
}

/// One look: opens (consuming if asked), checks and reads the file into
/// `buf`.
fn look(path: &CStr, consume: bool, buf: &mut [u8]) -> Result<Look, Error> {
    let Some(opened) = open(path, consume)? else {
        return Ok(Look::Missing);
    };
    let removed = opened.private.is_some();
    let found = match trust::check(&opened.fd, path) {
        Ok(Checked::Unlinked) => Ok(Look::Replaced),
        Ok(Checked::Trusted) => sys::pread_full(&opened.fd, buf)
            .map(Look::Read)
            .map_err(|e| Error::Sys(SysError::new(Call::Read, path.to_bytes(), e))),
        Err(trust::Error::Distrusted(why)) => Err(Error::Refused { why, removed }),
        Err(trust::Error::Sys(e)) => Err(Error::Sys(e)),
    };
    if let Some(private) = &opened.private {
        match nix::unistd::unlink(private.as_c_str()) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => {
                return Err(Error::Sys(SysError::new(
                    Call::Remove,
                    private.to_bytes(),
                    e,
                )));
            }
        }
    }
    found
}

fn content(buf: &[u8], len: Option<usize>) -> Content {
    let Some(len) = len else {
        return Content::Missing;
    };
    let bytes = &buf[..len];
    if number::trim_space(bytes).is_empty() {
        return Content::Empty;
    }
    match parse(bytes, pid::pid_max()) {
        Ok(pids) => Content::Pids(pids),
        Err(invalid) => Content::Invalid(invalid),
    }
}

/// Opens `path` (renamed first to a private name when consuming, so that
/// of two consumers exactly one gets the file). None when it is missing.
fn open(path: &CStr, consume: bool) -> Result<Option<Opened>, Error> {
    if !trust::look(path)? {
        return Ok(None);
    }
    let private = if consume {
        let p = private_name(path)?;
        match nix::fcntl::renameat(None, path, None, p.as_c_str()) {
            Ok(()) => Some(p),
            Err(Errno::ENOENT) => return Ok(None), // another consumer won
            Err(e) => return Err(Error::Sys(SysError::new(Call::Rename, path.to_bytes(), e))),
        }
    } else {
        None
    };
    let opened = trust::open(private.as_deref().unwrap_or(path));
    if let (Some(p), Ok(None) | Err(_)) = (&private, &opened) {
        let _ = nix::unistd::unlink(p.as_c_str());
    }
    match opened {
        Ok(fd) => Ok(fd.map(|fd| Opened { fd, private })),
        // Errors name the path asked for, not the private name.
        Err(trust::Error::Sys(e)) => {
            Err(Error::Sys(SysError::new(e.call, path.to_bytes(), e.errno)))
        }
        Err(e) => Err(e.into()),
    }
}

/// `.NAME.pidfile-read.PID` beside the file: rename(2) is atomic only
/// within one filesystem, and our pid makes the name ours.
fn private_name(path: &CStr) -> Result<CString, Error> {
    let bytes = path.to_bytes();
    let mut name = b".".to_vec();
    name.extend_from_slice(pathname::basename(bytes));
    name.extend_from_slice(b".pidfile-read.");
    number::push(&mut name, nix::unistd::getpid().as_raw() as u32);
    pathname::join(pathname::dirname(bytes), &name)
        .ok_or_else(|| Error::Sys(SysError::new(Call::Rename, bytes, Errno::EINVAL)))
}

#[cfg(test)]
mod tests {
    use super::*;
    const MAX: u32 = 4_194_304;

    fn pids(bytes: &[u8]) -> Result<Vec<u32>, Invalid> {
        parse(bytes, MAX).map(|l| l.as_slice().to_vec())
    }

    #[test]
    fn one_pid_per_line() {
        assert_eq!(pids(b"4242\n"), Ok(vec![4242]));
        assert_eq!(pids(b"4242"), Ok(vec![4242]));
        assert_eq!(pids(b"10\n20\n30\n"), Ok(vec![10, 20, 30]));
        assert_eq!(pids(b"\n\n  10 \r\n\t20\t\n\n"), Ok(vec![10, 20]));
        assert_eq!(pids(b"10\r\n20\r\n"), Ok(vec![10, 20]));
        assert_eq!(pids(b"\x0b10\x0c\n\x0b\n"), Ok(vec![10]));
        assert_eq!(pids(b"10\n20\n10\n"), Ok(vec![10, 20]));
        assert_eq!(pids(b""), Ok(vec![]));
        assert_eq!(pids(b"\n \n"), Ok(vec![]));
    }

    #[test]
    fn anything_else_is_invalid() {
        assert_eq!(pids(b"0\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"10\n1\n"), Err(Invalid::BadLine(2)));
        assert_eq!(pids(b"10\n-3\n"), Err(Invalid::BadLine(2)));
        assert_eq!(pids(b"+10\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"0x10\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"10 20\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"10\0\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"1\x0020\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"4194305\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"99999999999999999999\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"\xff\xfe\n"), Err(Invalid::BadLine(1)));
        assert_eq!(pids(b"12\n\n\nhaproxy\n"), Err(Invalid::BadLine(4)));
    }

    #[test]
    fn size_limit() {
        let mut at_limit = b"42\n".to_vec();
        at_limit.resize(MAX_SIZE, b'\n');
        assert_eq!(pids(&at_limit), Ok(vec![42]));
        at_limit.push(b'\n');
        assert_eq!(pids(&at_limit), Err(Invalid::TooLarge));
    }
}
