//! Who holds `supervise/lock`: the running supervisor. runsv, s6-supervise
//! and supervise take it first thing (flock(2); s6 a POSIX record lock),
//! then open `supervise/control`, and only then rewrite
//! `supervise/status`. A supervisor started again after a SIGKILL thus
//! answers on `control` for a moment while `status` is still the killed
//! one's, naming a process that runs on unsupervised. The pid in `status`
//! is the service's only if its parent holds the lock.
//!
//! /proc/locks lists every lock with its holder's pid and the locked
//! file's device and inode. Any user may read it, and reading takes
//! nothing: the lock itself is never tried (a supervisor starting at that
//! moment would fail to get it and exit).

use crate::pid;
use crate::sys::{self, Call, SysError};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use std::ffi::CStr;
use std::os::fd::AsRawFd;

/// The pids holding a lock on the file at `lock`; empty when /proc/locks
/// names none (no /proc, no lock, or only open file description locks,
/// whose holder it shows as -1).
pub fn holders(lock: &CStr) -> Result<Vec<u32>, SysError> {
    let st = match nix::sys::stat::stat(lock) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(Vec::new()),
        Err(e) => return Err(SysError::new(Call::Stat, lock.to_bytes(), e)),
    };
    let file = LockedFile {
        major: libc::major(st.st_dev),
        minor: libc::minor(st.st_dev),
        ino: st.st_ino,
    };
    let shown = b"/proc/locks";
    let fd = match sys::open(c"/proc/locks", OFlag::O_RDONLY) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(Vec::new()),
        Err(e) => return Err(SysError::new(Call::Open, shown, e)),
    };
    // One pass over the lines, whatever their number: a line never
    // straddles what is kept between two reads.
    let (mut same_device, mut same_inode) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 16 * 1024];
    let mut kept = 0;
    loop {
        let n = match nix::unistd::read(fd.as_raw_fd(), &mut buf[kept..]) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(SysError::new(Call::Read, shown, e)),
        };
        let filled = kept + n;
        let complete = if n == 0 {
            filled
        } else {
            buf[..filled]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
        };
        for line in buf[..complete].split(|&b| b == b'\n') {
            match file.holder(line) {
                Some((pid, true)) => same_device.push(pid),
                Some((pid, false)) => same_inode.push(pid),
                None => {}
            }
        }
        if n == 0 {
            break;
        }
        buf.copy_within(complete..filled, 0);
        kept = filled - complete;
        if kept == buf.len() {
            // A line longer than the buffer is no line of /proc/locks.
            return Err(SysError::new(Call::Read, shown, Errno::EOVERFLOW));
        }
    }
    // btrfs shows its superblock's device in /proc/locks, where stat(2)
    // gives a subvolume's: the inode alone, when nothing matches both.
    Ok(if same_device.is_empty() {
        same_inode
    } else {
        same_device
    })
}

struct LockedFile {
    major: u32,
    minor: u32,
    ino: u64,
}

impl LockedFile {
    /// `ID: CLASS MODE TYPE PID MAJ:MIN:INODE START END`, the device in hex:
    /// the holder's pid, and whether the device matched too. Blocked
    /// waiters (`ID: -> ...`) hold nothing.
    fn holder(&self, line: &[u8]) -> Option<(u32, bool)> {
        let mut fields = line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|f| !f.is_empty());
        let _id = fields.next()?;
        let class = fields.next()?;
        if class == b"->" {
            return None;
        }
        let (_mode, _type, pid, file) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        let mut parts = file.split(|&b| b == b':');
        let (major, minor, ino) = (parts.next()?, parts.next()?, parts.next()?);
        if crate::number::parse(ino)? != self.ino {
            return None;
        }
        let pid = pid::parse(pid, u32::MAX)?;
        let same_device = hex(major) == Some(self.major) && hex(minor) == Some(self.minor);
        Some((pid, same_device))
    }
}

fn hex(digits: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: LockedFile = LockedFile {
        major: 0xfe,
        minor: 0,
        ino: 10010901,
    };

    #[test]
    fn lines_of_proc_locks() {
        // As Linux 6.1 wrote them for runsv, supervise and s6-supervise.
        assert_eq!(
            FILE.holder(b"1: FLOCK  ADVISORY  WRITE 5933 fe:00:10010901 0 EOF"),
            Some((5933, true))
        );
        assert_eq!(
            FILE.holder(b"3: POSIX  ADVISORY  WRITE 5936 fe:00:10010901 0 EOF"),
            Some((5936, true))
        );
        assert_eq!(
            FILE.holder(b"2: FLOCK  ADVISORY  WRITE 5938 fe:00:10010914 0 EOF"),
            None
        );
        assert_eq!(
            FILE.holder(b"2: FLOCK  ADVISORY  WRITE 5938 00:2f:10010901 0 EOF"),
            Some((5938, false))
        );
        // Open file description locks have no holder; waiters hold nothing.
        assert_eq!(
            FILE.holder(b"4: OFDLCK ADVISORY  WRITE -1 fe:00:10010901 0 EOF"),
            None
        );
        assert_eq!(
            FILE.holder(b"1: -> FLOCK  ADVISORY  WRITE 6000 fe:00:10010901 0 EOF"),
            None
        );
        for junk in [
            &b""[..],
            b"1:",
            b"1: FLOCK ADVISORY WRITE 1x fe:00:10010901 0 EOF",
        ] {
            assert_eq!(FILE.holder(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn a_lock_this_process_holds_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let f = std::fs::File::create(&path).expect("create");
        let c = std::ffi::CString::new(path.to_str().expect("utf-8")).expect("path");
        assert_eq!(holders(&c), Ok(Vec::new()));
        let locked =
            nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).expect("flock");
        assert_eq!(holders(&c), Ok(vec![std::process::id()]));
        drop(locked);
        assert_eq!(holders(&c), Ok(Vec::new()));
        assert_eq!(holders(c"/nonexistent/lock"), Ok(Vec::new()));
    }
}
