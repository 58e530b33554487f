//! May a file be believed? A pidfile or a supervisor's status decides
//! which process gets signalled, usually by root, so it is read only when
//! nobody but root or the effective user could have written it: a
//! regular file (never through a symlink, never a FIFO that would block
//! the read), with one name, owned by root or the effective user, not
//! writable by group or others. The one check both readers use.

use crate::number;
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

impl Distrust {
    /// Why the file is not believed, after `PATH: `.
    pub fn words(&self) -> Vec<u8> {
        let kind: &[u8] = match *self {
            Distrust::NotRegular(kind) => match kind {
                FileKind::Regular => b"it is a regular file",
                FileKind::SymbolicLink => b"it is a symbolic link",
                FileKind::Directory => b"it is a directory",
                FileKind::Fifo => b"it is a FIFO",
                FileKind::Socket => b"it is a socket",
                FileKind::Device => b"it is a device",
                FileKind::Other => b"it is not a regular file",
            },
            Distrust::HardLinks(n) => {
                return [b"it has ".as_slice(), &number::format(n), b" hard links"].concat();
            }
            Distrust::Owner { uid, euid } => return owner_words(uid, euid),
            Distrust::Writable { mode } => {
                return [
                    b"writable by group or others (mode ".as_slice(),
                    format!("{mode:04o}").as_bytes(),
                    b")",
                ]
                .concat();
            }
        };
        kind.to_vec()
    }
}

/// A file or socket owned by `uid`, neither root nor `euid`, in words.
pub fn owner_words(uid: u32, euid: u32) -> Vec<u8> {
    [
        b"owned by uid ".as_slice(),
        &number::format(uid),
        b", neither root nor the effective user (uid ",
        &number::format(euid),
        b")",
    ]
    .concat()
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
    /// Type, owner and mode passed; the links cannot be counted.
    Unlinked,
}

/// The rules, on the open descriptor (`path` names it in errors): type,
/// owner and mode always, whatever became of the name since it was
/// opened; then the links.
pub fn check(fd: &OwnedFd, path: &CStr) -> Result<Checked, Error> {
    let st =
        sys::fstat(fd).map_err(|e| Error::Sys(SysError::new(Call::Stat, path.to_bytes(), e)))?;
    let distrust = |d| Err(Error::Distrusted(d));
    match kind(&st) {
        FileKind::Regular => {}
        other => return distrust(Distrust::NotRegular(other)),
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
    // Unlinked only now: a file planted and removed between open and
    // fstat must still pass owner and mode.
    match st.st_nlink {
        0 => Ok(Checked::Unlinked),
        1 => Ok(Checked::Trusted),
        n => distrust(Distrust::HardLinks(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    /// A file with `mode` (and `owner`), opened, then given `links` names.
    fn opened(mode: u32, owner: Option<u32>, links: u32) -> (OwnedFd, CString, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("status");
        std::fs::write(&path, b"x").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        if let Some(uid) = owner {
            std::os::unix::fs::chown(&path, Some(uid), None).expect("chown (needs root)");
        }
        let c = CString::new(path.as_os_str().as_bytes()).expect("path");
        let fd = open(&c).expect("open").expect("there");
        for n in 1..links {
            std::fs::hard_link(&path, dir.path().join(n.to_string())).expect("link");
        }
        if links == 0 {
            std::fs::remove_file(&path).expect("unlink");
        }
        (fd, c, dir)
    }

    #[test]
    fn unlinked_still_passes_owner_and_mode_first() {
        let (fd, c, _d) = opened(0o644, None, 0);
        assert_eq!(check(&fd, &c), Ok(Checked::Unlinked));
        let (fd, c, _d) = opened(0o644, None, 1);
        assert_eq!(check(&fd, &c), Ok(Checked::Trusted));
        for mode in [0o666, 0o664, 0o646] {
            let (fd, c, _d) = opened(mode, None, 0);
            assert_eq!(
                check(&fd, &c),
                Err(Error::Distrusted(Distrust::Writable { mode })),
                "{mode:o}"
            );
        }
        let (fd, c, _d) = opened(0o644, None, 2);
        assert_eq!(
            check(&fd, &c),
            Err(Error::Distrusted(Distrust::HardLinks(2)))
        );
    }

    #[test]
    fn distrust_in_words() {
        assert_eq!(Distrust::HardLinks(2).words(), b"it has 2 hard links");
        assert_eq!(
            Distrust::Writable { mode: 0o664 }.words(),
            b"writable by group or others (mode 0664)"
        );
        assert_eq!(
            Distrust::Owner { uid: 1000, euid: 0 }.words(),
            b"owned by uid 1000, neither root nor the effective user (uid 0)"
        );
    }

    #[test]
    fn unlinked_file_of_another_user_is_distrusted() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "needs root to chown: run the suite as root (CI does)"
        );
        for links in [0, 1, 2] {
            let (fd, c, _d) = opened(0o644, Some(65534), links);
            assert_eq!(
                check(&fd, &c),
                Err(Error::Distrusted(Distrust::Owner {
                    uid: 65534,
                    euid: 0
                })),
                "{links} links"
            );
        }
    }
}
