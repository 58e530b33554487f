//! May a file be believed? A pidfile or a supervisor's status decides
//! which process gets signalled, usually by root, so it is read only when
//! nobody but root or the effective user could have written it: a
//! regular file (never through a symlink, never a FIFO that would block
//! the read), with one name, owned by root or the effective user, not
//! writable by group or others. The one check both readers use.

use crate::sys::{self, Call, SysError};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{FileStat, SFlag};
use std::ffi::CStr;
use std::os::fd::OwnedFd;

/// What a file is, when it is not what was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    SymbolicLink,
    Directory,
    Fifo,
    Socket,
    Device,
    Other,
}

pub fn kind(st: &FileStat) -> FileKind {
    match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFREG => FileKind::Regular,
        SFlag::S_IFLNK => FileKind::SymbolicLink,
        SFlag::S_IFDIR => FileKind::Directory,
        SFlag::S_IFIFO => FileKind::Fifo,
        SFlag::S_IFSOCK => FileKind::Socket,
        SFlag::S_IFCHR | SFlag::S_IFBLK => FileKind::Device,
        _ => FileKind::Other,
    }
}

/// Why a file is not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distrust {
    NotRegular(FileKind),
    /// A second name is a hard link: to another daemon's root-owned file,
    /// say, planted where fs.protected_hardlinks is off.
    HardLinks(u64),
    Owner {
        uid: u32,
        euid: u32,
    },
    /// Writable by group or others: the permission bits.
    Writable {
        mode: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Distrusted(Distrust),
    Sys(SysError),
}

/// Whether `path` exists, looked at without opening it, so that a device
/// or a FIFO is never opened at all. What decides is `check` on the
/// descriptor: the path may be swapped in between.
pub fn look(path: &CStr) -> Result<bool, Error> {
    match nix::sys::stat::lstat(path) {
        Err(Errno::ENOENT) => Ok(false),
        Err(e) => Err(Error::Sys(SysError::new(Call::Stat, path.to_bytes(), e))),
        Ok(st) => match kind(&st) {
            FileKind::Regular => Ok(true),
            other => Err(Error::Distrusted(Distrust::NotRegular(other))),
        },
    }
}

/// Opens `path` for reading, never following a symlink nor blocking on a
/// FIFO: None when it does not exist.
pub fn open(path: &CStr) -> Result<Option<OwnedFd>, Error> {
    match sys::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) => Ok(None),
        Err(Errno::ELOOP) => Err(Error::Distrusted(Distrust::NotRegular(
            FileKind::SymbolicLink,
        ))),
        Err(e) => Err(Error::Sys(SysError::new(Call::Open, path.to_bytes(), e))),
    }
}

/// What the descriptor says of the file it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Trusted,
    /// No name left: replaced (by rename) or removed since it was opened.
    /// Its content is a version that was once trusted there.
    Unlinked,
}

/// The rules, on the open descriptor (`path` names it in errors).
pub fn check(fd: &OwnedFd, path: &CStr) -> Result<Checked, Error> {
    let st =
        sys::fstat(fd).map_err(|e| Error::Sys(SysError::new(Call::Stat, path.to_bytes(), e)))?;
    let distrust = |d| Err(Error::Distrusted(d));
    match kind(&st) {
        FileKind::Regular => {}
        other => return distrust(Distrust::NotRegular(other)),
    }
    if st.st_nlink == 0 {
        return Ok(Checked::Unlinked);
    }
    if st.st_nlink != 1 {
        return distrust(Distrust::HardLinks(st.st_nlink));
    }
    // Root's own file needs no geteuid(2): every call before exec counts.
    if st.st_uid != 0 {
        let euid = nix::unistd::geteuid().as_raw();
        if st.st_uid != euid {
            return distrust(Distrust::Owner {
                uid: st.st_uid,
                euid,
            });
        }
    }
    if st.st_mode & (libc::S_IWGRP | libc::S_IWOTH) != 0 {
        return distrust(Distrust::Writable {
            mode: st.st_mode & 0o7777,
        });
    }
    Ok(Checked::Trusted)
}
