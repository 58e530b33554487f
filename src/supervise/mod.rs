//! Supervisor state on disk: what runit, s6, daemontools and
//! daemontools-encore say about the process they run for a service
//! directory, decoded from `SERVICEDIR/supervise/status` and vouched for
//! by a live supervisor. The byte layouts are in each format's file.

pub mod control;
pub mod daemontools;
pub mod encore;
pub mod lock;
pub mod runit;
pub mod s6;

use crate::diag::{EXIT_NO_PID, EXIT_SYSTEM, Failure};
use crate::pathname;
use crate::sys::{self, Call, SysError};
use crate::trust::{self, Distrust};
use nix::errno::Errno;
use std::ffi::{CStr, CString};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervisor {
    Runit,
    S6,
    Daemontools,
    DaemontoolsEncore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The service process runs (paused or not): the pid is its.
    Up,
    Down,
    /// runit's or s6's finish script runs: the pid is the script's.
    Finish,
    /// daemontools-encore's ./start runs: the pid is the script's.
    Starting,
    /// daemontools-encore is stopping the service or running ./stop.
    Stopping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Up,
    Down,
    /// daemontools after `svc -o`, or nothing recorded.
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub supervisor: Supervisor,
    pub state: State,
    /// Whatever the supervisor last started, 0 for none.
    pub pid: u32,
    pub paused: bool,
    pub want: Want,
}

impl Status {
    pub fn new(supervisor: Supervisor, state: State, pid: u32, paused: bool, want: Want) -> Self {
        Status {
            supervisor,
            state,
            pid,
            paused,
            want,
        }
    }

    /// The pid of the service itself: only when it is up.
    pub fn service_pid(&self) -> Option<u32> {
        (self.state == State::Up && self.pid != 0).then_some(self.pid)
    }
}

/// Why a status file is not one a supervisor wrote: its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

/// The largest status file of any known format (daemontools-encore with a
/// logger); one more byte is read to see a larger one.
pub const MAX_SIZE: usize = 43;

/// Recognises the format by size (and, for the 20 bytes runit and
/// daemontools-encore share, by `runit_files`: whether supervise/stat
/// exists) and decodes it.
pub fn decode(
    bytes: &[u8],
    runit_files: impl FnOnce() -> bool,
    pid_max: u32,
) -> Result<Status, Invalid> {
    match bytes.len() {
        daemontools::SIZE => daemontools::decode(bytes, pid_max),
        runit::SIZE if runit_files() => runit::decode(bytes, pid_max),
        encore::SIZE | encore::SIZE_WITH_LOG => encore::decode(bytes, pid_max),
        s6::SIZE | s6::SIZE_2_13 => s6::decode(bytes, pid_max),
        0 => Err(Invalid("it is empty".into())),
        n => Err(Invalid(format!(
            "its size, {n} bytes, is not that of any known supervisor"
        ))),
    }
}

/// A status of one of `sizes` bytes, or an error naming the format.
fn expect_size(b: &[u8], format: &str, sizes: &[usize]) -> Result<(), Invalid> {
    if sizes.contains(&b.len()) {
        return Ok(());
    }
    let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
    Err(Invalid(format!(
        "{format} status is {} bytes, not {}",
        sizes.join(" or "),
        b.len()
    )))
}

/// Bytes 12-17 as daemontools laid them out, and runit and
/// daemontools-encore kept them: pid (u32 little-endian), paused flag,
/// want (`u`, `d`, or 0 where `nothing_wanted` allows it).
fn daemontools_head(
    b: &[u8],
    pid_max: u32,
    nothing_wanted: bool,
) -> Result<(u32, bool, Want), Invalid> {
    let pid = checked_pid(
        u64::from(u32::from_le_bytes([b[12], b[13], b[14], b[15]])),
        pid_max,
    )?;
    let want = match b[17] {
        b'u' => Want::Up,
        b'd' => Want::Down,
        0 if nothing_wanted => Want::Nothing,
        w => return Err(Invalid(format!("want byte is {w:#04x}, not 'u' or 'd'"))),
    };
    Ok((pid, flag(b[16], "paused")?, want))
}

/// 0 (no process) or a pid that fits pid_t and pid_max; never 1.
fn checked_pid(raw: u64, pid_max: u32) -> Result<u32, Invalid> {
    match u32::try_from(raw) {
        Ok(0) => Ok(0),
        Ok(p) if (2..=pid_max).contains(&p) => Ok(p),
        _ => Err(Invalid(format!("pid {raw} is out of range 2..{pid_max}"))),
    }
}

fn flag(byte: u8, what: &str) -> Result<bool, Invalid> {
    match byte {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(Invalid(format!("{what} flag is {b}, not 0 or 1"))),
    }
}

/// What sv-pid learned from a service directory.
#[derive(Debug, PartialEq, Eq)]
pub enum Observation {
    /// No supervisor holds `supervise/control`: whatever status is on
    /// disk is stale. It is given only to say what that supervisor was
    /// last told (`sv exit` leaves it wanted down), never for its pid.
    NotRunning(Option<Status>),
    /// A supervisor runs but has not written its status yet.
    NoStatus,
    Status(Status),
    /// The status says the service is up as its pid, but the running
    /// supervisor does not run it: the pid has exited (`parent` None) and
    /// the status is not rewritten yet, or its parent is not the process
    /// holding `supervise/lock` (the status of a supervisor killed since,
    /// which the one started after it has not rewritten yet).
    NotSupervised {
        status: Status,
        parent: Option<u32>,
    },
}

/// Why no waiting can bring a service up (sv-pid -u): its supervisor was
/// told to keep it down, or exited with it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    /// Wanted down by the supervisor that runs, or one that exited (sv
    /// exit leaves it so): it starts the service no more.
    Wanted,
    WantedAndExited,
    /// Down when its supervisor exited (`s6-svc -x`, `svc -x`: exit once
    /// the service is down), which wrote that last.
    Exited,
}

impl Down {
    /// What is said after the directory's name.
    pub fn words(self) -> &'static [u8] {
        match self {
            Down::Wanted => b" is wanted down",
            Down::WantedAndExited => b" is wanted down, and its supervisor has exited",
            Down::Exited => b" is down, and its supervisor has exited",
        }
    }
}

impl Observation {
    /// Whether the service stays down whatever is waited for. A
    /// supervisor killed while the service ran left it up, and one started
    /// again takes over: not down for good.
    pub fn down_for_good(&self) -> Option<Down> {
        match self {
            Observation::Status(s) | Observation::NotSupervised { status: s, .. }
                if s.want == Want::Down =>
            {
                Some(Down::Wanted)
            }
            Observation::NotRunning(Some(s)) if s.want == Want::Down => Some(Down::WantedAndExited),
            Observation::NotRunning(Some(s)) if s.state == State::Down => Some(Down::Exited),
            _ => None,
        }
    }
}

/// Why a service directory's state was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// supervise/status, at `path`, is not to be believed.
    Distrusted {
        path: Vec<u8>,
        why: Distrust,
    },
    /// supervise/status, at `path`, is not a status any supervisor writes.
    Invalid {
        path: Vec<u8>,
        why: Invalid,
    },
    /// daemontools-encore's status kept changing while being read.
    Unsteady {
        path: Vec<u8>,
    },
    /// supervise/control, at `path`, is not the FIFO a supervisor keeps.
    ControlNotFifo {
        path: Vec<u8>,
    },
    Sys(SysError),
}

/// What is wrong with a service directory's state: exit 1; a failed call
/// is not the state's fault: 111.
impl Failure for Error {
    fn words(&self) -> Vec<u8> {
        let (what, path, why): (&[u8], &[u8], Vec<u8>) = match self {
            Error::Distrusted { path, why } => (b"status file ", path, why.words()),
            Error::Invalid { path, why } => (b"status file ", path, why.0.as_bytes().to_vec()),
            Error::Unsteady { path } => (
                b"status file ",
                path,
                b"it keeps changing while being read".to_vec(),
            ),
            Error::ControlNotFifo { path } => (b"control ", path, b"it is not a FIFO".to_vec()),
            Error::Sys(e) => return e.words(),
        };
        [b"invalid ".as_slice(), what, path, b": ", &why].concat()
    }

    fn code(&self) -> i32 {
        match self {
            Error::Sys(_) => EXIT_SYSTEM,
            _ => EXIT_NO_PID,
        }
    }
}

/// Reads the status of the service in `dir`, then checks that a
/// supervisor is still there to vouch for it and, when the service is up,
/// that its pid is that supervisor's child.
pub fn observe(dir: &CStr, pid_max: u32) -> Result<Observation, Error> {
    let dir = dir.to_bytes();
    let status_path = path(dir, b"status")?;
    let status = read_status(&status_path, dir, pid_max)?;
    if !control::supervisor_listening(&path(dir, b"control")?)? {
        return Ok(Observation::NotRunning(status));
    }
    let Some(status) = status else {
        return Ok(Observation::NoStatus);
    };
    let Some(pid) = status.service_pid() else {
        return Ok(Observation::Status(status));
    };
    let lock = path(dir, b"lock")?;
    // The cheap way first, scoped to the parent: it can only say yes. A
    // supervisor that exits orphans its children before its pid can be
    // reused, so the same parent read again means the process that holds
    // the lock was pid's parent all along.
    if let Some(p) = parent(pid)?
        && lock::held_by(&lock, p)
        && parent(pid)? == Some(p)
    {
        return Ok(Observation::Status(status));
    }
    // No holder listed (no /proc, or a supervisor that takes no lock
    // /proc/locks can attribute): the check cannot be made.
    let holders = lock::holders(&lock).map_err(Error::Sys)?;
    if holders.is_empty() {
        return Ok(Observation::Status(status));
    }
    Ok(match parent(pid)? {
        Some(p) if holders.contains(&p) => Observation::Status(status),
        parent => Observation::NotSupervised { status, parent },
    })
}

fn parent(pid: u32) -> Result<Option<u32>, Error> {
    crate::process::parent(pid).map_err(|e| {
        Error::Sys(SysError::new(
            Call::Read,
            &[b"/proc/".as_slice(), &crate::number::format(pid), b"/stat"].concat(),
            e,
        ))
    })
}

fn path(dir: &[u8], name: &[u8]) -> Result<CString, Error> {
    let mut rel = b"supervise/".to_vec();
    rel.extend_from_slice(name);
    pathname::join(dir, &rel)
        .ok_or_else(|| Error::Sys(SysError::new(Call::Use, dir, Errno::EINVAL)))
}

/// One read of the whole file. runit, s6 and daemontools replace it by
/// rename, so one read sees one version (a file replaced since it was
/// opened is the version that was there a moment ago); daemontools-encore
/// rewrites it in place, so for it two equal reads in a row are needed.
fn read_status(status_path: &CStr, dir: &[u8], pid_max: u32) -> Result<Option<Status>, Error> {
    let shown = status_path.to_bytes();
    let trusted = trust::open(status_path).and_then(|fd| match fd {
        Some(fd) => trust::check(&fd, status_path).map(|_| Some(fd)),
        None => Ok(None),
    });
    let fd = match trusted {
        Ok(Some(fd)) => fd,
        Ok(None) => return Ok(None),
        Err(trust::Error::Distrusted(why)) => {
            return Err(Error::Distrusted {
                path: shown.to_vec(),
                why,
            });
        }
        Err(trust::Error::Sys(e)) => return Err(Error::Sys(e)),
    };
    let runit_files = || {
        path(dir, b"stat").is_ok_and(|p| {
            nix::unistd::access(p.as_c_str(), nix::unistd::AccessFlags::F_OK).is_ok()
        })
    };
    let mut buf = [0u8; MAX_SIZE + 1];
    let mut previous: Option<([u8; MAX_SIZE + 1], usize)> = None;
    for _ in 0..ENCORE_READS {
        let len = sys::pread_full(&fd, &mut buf)
            .map_err(|e| Error::Sys(SysError::new(Call::Read, shown, e)))?;
        let status = decode(&buf[..len], runit_files, pid_max).map_err(|why| Error::Invalid {
            path: shown.to_vec(),
            why,
        })?;
        if status.supervisor != Supervisor::DaemontoolsEncore || previous == Some((buf, len)) {
            return Ok(Some(status));
        }
        previous = Some((buf, len));
    }
    Err(Error::Unsteady {
        path: shown.to_vec(),
    })
}

/// Reads of a daemontools-encore status before giving up on two equal ones.
const ENCORE_READS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_sizes_are_refused() {
        for n in [0, 1, 12, 17, 19, 21, 34, 36, 39, 41, 42, 44, 87] {
            let bytes = vec![0u8; n];
            assert!(decode(&bytes, || true, 4_194_304).is_err(), "{n}");
            assert!(decode(&bytes, || false, 4_194_304).is_err(), "{n}");
        }
    }

    #[test]
    fn twenty_bytes_are_runit_only_with_its_files() {
        let mut b = [0u8; 20];
        b[12] = 0x41;
        b[13] = 0x54;
        b[17] = b'u';
        b[18] = 3;
        // encore: state 3, running.
        assert_eq!(
            decode(&b, || false, 4_194_304).unwrap().supervisor,
            Supervisor::DaemontoolsEncore
        );
        // runit: byte 18 is a flag, 3 is impossible.
        assert!(decode(&b, || true, 4_194_304).is_err());
    }
}
