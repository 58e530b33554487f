//! Reading a pidfile strictly: never through a symlink, never hanging on
//! a FIFO, only a regular file that root or we own and nobody else can
//! write, at most 4096 bytes, one pid per line. Optionally consumed
//! atomically, and optionally waited for.

use crate::diag::{EXIT_NO_PID, Failure};
use crate::pid::{self, PidList};
use crate::sys;
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
        let token = pid::trim_space(line);
        if token.is_empty() {
            continue;
        }
        pids.push(pid::parse(token, pid_max).ok_or(Invalid::BadLine(n + 1))?);
    }
    Ok(pids)
}

/// An open pidfile and, when consumed, the private name it was renamed to.
struct Opened {
    fd: OwnedFd,
    private: Option<CString>,
}

pub fn read(path: &CStr, opts: &Options) -> Result<Content, Failure> {
    let mut buf = [0u8; MAX_SIZE + 1];
    let (timeout, for_file) = match opts.wait {
        Wait::No => return last_look(path, opts.consume, &mut buf).map(|n| content(&buf, n)),
        Wait::ForCompletion(t) => (t, false),
        Wait::ForFile(t) => (t, true),
    };
    // Subscribed before the first look, as s6 does: a change between that
    // look and the watch is not missed.
    let mut waiter = Waiter::new(timeout, sys::dirname(path.to_bytes()));
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
fn last_look(path: &CStr, consume: bool, buf: &mut [u8]) -> Result<Option<usize>, Failure> {
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
fn look(path: &CStr, consume: bool, buf: &mut [u8]) -> Result<Look, Failure> {
    let Some(opened) = open(path, consume)? else {
        return Ok(Look::Missing);
    };
    let found = check(path, &opened).and_then(|named| match named {
        false => Ok(Look::Replaced),
        true => sys::pread_full(&opened.fd, buf)
            .map(Look::Read)
            .map_err(|e| Failure::sys("read", path.to_bytes(), e)),
    });
    if let Some(private) = &opened.private {
        match sys::unlink(private) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(Failure::sys("remove", private.to_bytes(), e)),
        }
    }
    found
}

fn content(buf: &[u8], len: Option<usize>) -> Content {
    let Some(len) = len else {
        return Content::Missing;
    };
    let bytes = &buf[..len];
    if pid::trim_space(bytes).is_empty() {
        return Content::Empty;
    }
    match parse(bytes, pid::pid_max()) {
        Ok(pids) => Content::Pids(pids),
        Err(invalid) => Content::Invalid(invalid),
    }
}

/// Opens `path` (renamed first to a private name when consuming, so that
/// of two consumers exactly one gets the file). None when it is missing.
fn open(path: &CStr, consume: bool) -> Result<Option<Opened>, Failure> {
    // Look before opening, so that a device or FIFO is never opened at all.
    // What decides is the fstat of the open descriptor, in check().
    match sys::lstat(path) {
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(Failure::sys("stat", path.to_bytes(), e)),
        Ok(st) if !sys::is_type(&st, libc::S_IFREG) => return Err(refuse(path, kind(&st))),
        Ok(_) => {}
    }
    let private = if consume {
        let p = private_name(path)?;
        match sys::rename(path, &p) {
            Ok(()) => Some(p),
            Err(Errno::ENOENT) => return Ok(None), // another consumer won
            Err(e) => return Err(Failure::sys("rename", path.to_bytes(), e)),
        }
    } else {
        None
    };
    let target = private.as_deref().unwrap_or(path);
    match sys::open(target, libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK) {
        Ok(fd) => Ok(Some(Opened { fd, private })),
        Err(e) => {
            if let Some(p) = &private {
                let _ = sys::unlink(p);
            }
            match e {
                Errno::ENOENT => Ok(None),
                Errno::ELOOP => Err(refuse(path, b"it is a symbolic link")),
                e => Err(Failure::sys("open", path.to_bytes(), e)),
            }
        }
    }
}

/// `.NAME.pidfile-read.PID` beside the file: rename(2) is atomic only
/// within one filesystem, and our pid makes the name ours.
fn private_name(path: &CStr) -> Result<CString, Failure> {
    let bytes = path.to_bytes();
    let mut name = b".".to_vec();
    name.extend_from_slice(sys::basename(bytes));
    name.extend_from_slice(b".pidfile-read.");
    pid::push_decimal(&mut name, sys::getpid() as u32);
    sys::join(sys::dirname(bytes), &name)
        .ok_or_else(|| Failure::sys("rename", bytes, Errno::EINVAL))
}

/// The safety rules, on the descriptor (not the path, which may have been
/// swapped since): a regular file with one name, owned by root or the
/// effective user, not writable by group or others.
/// False when the file has no name left (replaced since it was opened).
fn check(path: &CStr, opened: &Opened) -> Result<bool, Failure> {
    let st = sys::fstat(&opened.fd).map_err(|e| Failure::sys("stat", path.to_bytes(), e))?;
    let removed: &[u8] = if opened.private.is_some() {
        b" (removed)"
    } else {
        b""
    };
    if !sys::is_type(&st, libc::S_IFREG) {
        return Err(refuse(path, &[kind(&st), removed].concat()));
    }
    if st.st_nlink == 0 {
        return Ok(false);
    }
    // A second name is a hard link: to another daemon's root-owned
    // pidfile, say, planted where fs.protected_hardlinks is off.
    if st.st_nlink != 1 {
        let why = [
            b"it has ".as_slice(),
            &pid::decimal(st.st_nlink as u32),
            b" hard links",
            removed,
        ]
        .concat();
        return Err(refuse(path, &why));
    }
    let euid = sys::geteuid();
    if st.st_uid != 0 && st.st_uid != euid {
        let why = [
            b"owned by uid ".as_slice(),
            &pid::decimal(st.st_uid),
            b", neither root nor the effective user (uid ",
            &pid::decimal(euid),
            b")",
            removed,
        ]
        .concat();
        return Err(refuse(path, &why));
    }
    if st.st_mode & (libc::S_IWGRP | libc::S_IWOTH) != 0 {
        let why = [
            b"writable by group or others (mode ".as_slice(),
            format!("{:04o}", st.st_mode & 0o7777).as_bytes(),
            b")",
            removed,
        ]
        .concat();
        return Err(refuse(path, &why));
    }
    Ok(true)
}

fn refuse(path: &CStr, why: &[u8]) -> Failure {
    Failure::new(EXIT_NO_PID, &[b"refusing ", path.to_bytes(), b": ", why])
}

fn kind(st: &libc::stat) -> &'static [u8] {
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => b"it is a regular file",
        libc::S_IFLNK => b"it is a symbolic link",
        libc::S_IFDIR => b"it is a directory",
        libc::S_IFIFO => b"it is a FIFO",
        libc::S_IFSOCK => b"it is a socket",
        libc::S_IFCHR | libc::S_IFBLK => b"it is a device",
        _ => b"it is not a regular file",
    }
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
