//! Who holds `supervise/lock`: the running supervisor. runsv, s6-supervise
//! and supervise take it first thing (flock(2); s6 a POSIX record lock),
//! then open `supervise/control`, and only then rewrite
//! `supervise/status`. A supervisor started again after a SIGKILL thus
//! answers on `control` for a moment while `status` is still the killed
//! one's, naming a process that runs on unsupervised. The pid in `status`
//! is the service's only if its parent holds the lock.
//!
//! Two ways to see it, neither of which tries the lock itself (a
//! supervisor starting at that moment would fail to get it and exit):
//!
//! - `held_by`: the one process that matters, the service's parent. Its
//!   descriptors (/proc/PID/fd) are matched to the file by stat(2), and
//!   /proc/PID/fdinfo/FD lists the locks held through that descriptor
//!   (Linux 4.1 and later). Cost: that process's few descriptors. It
//!   needs the right to read the process's descriptors (root, or its
//!   owner), so it can only say yes; anything else goes to `holders`.
//! - `holders`: /proc/locks, every lock on the host with its holder's pid
//!   and the file's device and inode. Any user may read it, but its cost
//!   grows with every lock on the host (20,000 locks: tens of
//!   milliseconds, most in the kernel), and generating it takes a
//!   host-wide lock.

use crate::pid;
use crate::process::proc_path;
use crate::sys::{self, Call, SysError};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::ffi::CStr;
use std::os::fd::AsRawFd;

/// Whether `pid` is seen holding a lock on the file at `lock`, through
/// one of its descriptors. False says nothing: no such descriptor, no
/// right to read them (another user's process), a kernel whose fdinfo
/// shows no locks, or any error; `holders` decides then.
pub fn held_by(lock: &CStr, pid: u32) -> bool {
    let Ok(file) = nix::sys::stat::stat(lock) else {
        return false;
    };
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let fds = proc_path(pid, b"fd");
    let Ok(mut dir) = nix::dir::Dir::open(fds.as_c_str(), flags, Mode::empty()) else {
        return false;
    };
    for entry in dir.iter() {
        let Ok(entry) = entry else {
            return false;
        };
        let fd = entry.file_name().to_bytes();
        if !fd.iter().all(u8::is_ascii_digit) {
            continue;
        }
        let mut link = b"fd/".to_vec();
        link.extend_from_slice(fd);
        // stat follows the descriptor's link to the open file itself:
        // the device stat(2) gives for the path too (btrfs subvolumes
        // included), whatever name the supervisor opened it by.
        let same = nix::sys::stat::stat(proc_path(pid, &link).as_c_str())
            .is_ok_and(|st| st.st_dev == file.st_dev && st.st_ino == file.st_ino);
        if !same {
            continue;
        }
        let mut info = b"fdinfo/".to_vec();
        info.extend_from_slice(fd);
        // `pos:`, `flags:`, `mnt_id:`, `ino:`, then a `lock:` line per lock
        // held through this descriptor (flock's, POSIX or OFD); waiters
        // are not listed.
        let mut buf = [0u8; 1024];
        if sys::read_file(&proc_path(pid, &info), &mut buf)
            .is_ok_and(|text| text.split(|&b| b == b'\n').any(|l| l.starts_with(b"lock:")))
        {
            return true;
        }
    }
    false
}

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
        assert!(held_by(&c, std::process::id()));
        drop(locked);
        assert_eq!(holders(&c), Ok(Vec::new()));
        // Open, not locked: no lock line in its fdinfo.
        assert!(!held_by(&c, std::process::id()));
        assert_eq!(holders(c"/nonexistent/lock"), Ok(Vec::new()));
    }
}
