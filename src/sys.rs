//! Thin libc wrappers: every descriptor opened close-on-exec, errors as
//! Errno, no panics. Paths are C strings straight from argv.

use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub fn open(path: &CStr, flags: libc::c_int) -> Result<OwnedFd, Errno> {
    loop {
        // SAFETY: path is a valid C string.
        let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC | libc::O_NOCTTY) };
        if fd >= 0 {
            // SAFETY: fd was just opened and is owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

pub fn fstat(fd: &OwnedFd) -> Result<libc::stat, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: st is written by fstat on success.
    if unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) } == 0 {
        Ok(unsafe { st.assume_init() })
    } else {
        Err(Errno::last())
    }
}

fn stat_with(
    path: &CStr,
    f: unsafe extern "C" fn(*const libc::c_char, *mut libc::stat) -> libc::c_int,
) -> Result<libc::stat, Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: st is written by stat/lstat on success.
    if unsafe { f(path.as_ptr(), st.as_mut_ptr()) } == 0 {
        Ok(unsafe { st.assume_init() })
    } else {
        Err(Errno::last())
    }
}

pub fn stat(path: &CStr) -> Result<libc::stat, Errno> {
    stat_with(path, libc::stat)
}

pub fn lstat(path: &CStr) -> Result<libc::stat, Errno> {
    stat_with(path, libc::lstat)
}

pub fn is_type(st: &libc::stat, kind: libc::mode_t) -> bool {
    st.st_mode & libc::S_IFMT == kind
}

/// Reads a regular or /proc file from offset 0 into `buf`; returns the
/// length. Such files give all they have up to the size asked, so a short
/// read is the end: no second read just to see EOF (every syscall before
/// exec counts).
pub fn pread_full(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: buf is a valid writable buffer of buf.len() bytes.
        let n = unsafe { libc::pread(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// Whole small file (procfs and the like) into `buf`.
pub fn read_file<'b>(path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = open(path, libc::O_RDONLY)?;
    let n = pread_full(&fd, buf)?;
    Ok(&buf[..n])
}

pub fn rename(from: &CStr, to: &CStr) -> Result<(), Errno> {
    // SAFETY: both are valid C strings.
    Errno::result(unsafe { libc::rename(from.as_ptr(), to.as_ptr()) }).map(drop)
}

pub fn unlink(path: &CStr) -> Result<(), Errno> {
    // SAFETY: valid C string.
    Errno::result(unsafe { libc::unlink(path.as_ptr()) }).map(drop)
}

pub fn exists(path: &CStr) -> bool {
    // SAFETY: valid C string.
    unsafe { libc::access(path.as_ptr(), libc::F_OK) == 0 }
}

pub fn geteuid() -> libc::uid_t {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() }
}

pub fn getpid() -> libc::pid_t {
    // SAFETY: cannot fail.
    unsafe { libc::getpid() }
}

/// Writes all of `buf`; false on any error (the caller decides if it matters).
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

/// `dir/name` (or `name` alone) as a C string, for paths built at run time.
pub fn join(dir: &[u8], name: &[u8]) -> Option<std::ffi::CString> {
    let mut p = Vec::with_capacity(dir.len() + name.len() + 2);
    if !dir.is_empty() {
        p.extend_from_slice(dir);
        if !dir.ends_with(b"/") {
            p.push(b'/');
        }
    }
    p.extend_from_slice(name);
    std::ffi::CString::new(p).ok()
}

/// The directory part of a path, as dirname(1) would say it.
pub fn dirname(path: &[u8]) -> &[u8] {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return if path.is_empty() { b"." } else { b"/" },
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        None => b".",
        Some(0) => b"/",
        Some(i) => &trimmed[..i],
    }
}

/// The last component of a path, as basename(1) would say it.
pub fn basename(path: &[u8]) -> &[u8] {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return if path.is_empty() { b"" } else { b"/" },
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        None => trimmed,
        Some(i) => &trimmed[i + 1..],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirname_and_basename() {
        for (p, d, b) in [
            (
                &b"/run/haproxy/h.pid"[..],
                &b"/run/haproxy"[..],
                &b"h.pid"[..],
            ),
            (b"h.pid", b".", b"h.pid"),
            (b"/h.pid", b"/", b"h.pid"),
            (b"a/b/", b"a", b"b"),
            (b"/", b"/", b"/"),
            (b"", b".", b""),
        ] {
            assert_eq!(dirname(p), d, "{p:?}");
            assert_eq!(basename(p), b, "{p:?}");
        }
    }
}
