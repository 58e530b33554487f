//! The few system calls nix leaves to us, or that need a policy nix does
//! not have: every descriptor opened close-on-exec and never as a
//! controlling terminal, EINTR retried, errors as Errno, no panics.
//! Paths are C strings straight from argv (nix's NixPath takes a `&CStr`
//! without copying it).

use crate::diag::{EXIT_SYSTEM, Failure};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{FileStat, Mode, SFlag};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub fn open(path: &CStr, flags: OFlag) -> Result<OwnedFd, Errno> {
    loop {
        match nix::fcntl::open(
            path,
            flags | OFlag::O_CLOEXEC | OFlag::O_NOCTTY,
            Mode::empty(),
        ) {
            // SAFETY: fd was just opened and is owned by nobody else.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

pub fn fstat(fd: &OwnedFd) -> Result<FileStat, Errno> {
    nix::sys::stat::fstat(fd.as_raw_fd())
}

pub fn is_type(st: &FileStat, kind: SFlag) -> bool {
    SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == kind
}

/// Reads a regular or /proc file from offset 0 into `buf`; returns the
/// length. Such files give all they have up to the size asked, so a short
/// read is the end: no second read just to see EOF (every syscall before
/// exec counts).
pub fn pread_full(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        match nix::sys::uio::pread(fd, buf, 0) {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// Whole small file (procfs and the like) into `buf`.
pub fn read_file<'b>(path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = open(path, OFlag::O_RDONLY)?;
    let n = pread_full(&fd, buf)?;
    Ok(&buf[..n])
}

/// Writes all of `buf`; false on any error (the caller decides if it
/// matters). On a raw descriptor: stdout and stderr are not ours to own.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n > 0 {
            buf = &buf[n as usize..];
        } else if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        } else {
            return false;
        }
    }
    true
}

/// The call that failed, for the caller's message (`unable to open ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Open,
    Stat,
    Read,
    Rename,
    Remove,
    /// A path that cannot be a C string, or a socket path too long.
    Use,
    Socket,
    Connect,
    Write,
    Shutdown,
    Poll,
}

impl Call {
    /// What `unable to ...` says was being done.
    pub fn verb(self) -> &'static [u8] {
        match self {
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
}

/// A system call that failed, on what, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysError {
    pub call: Call,
    pub path: Vec<u8>,
    pub errno: Errno,
}

impl SysError {
    pub fn new(call: Call, path: &[u8], errno: Errno) -> Self {
        SysError {
            call,
            path: path.to_vec(),
            errno,
        }
    }
}

/// `unable to CALL PATH: strerror`, exit 111.
impl Failure for SysError {
    fn words(&self) -> Vec<u8> {
        [
            b"unable to ",
            self.call.verb(),
            b" ",
            &self.path,
            b": ",
            self.errno.desc().as_bytes(),
        ]
        .concat()
    }

    fn code(&self) -> i32 {
        EXIT_SYSTEM
    }
}
