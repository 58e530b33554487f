//! Is a pid a live process, and is it the program we expect? Both asked
//! of the kernel just before the pid is handed on, so a reused pid is not.
//!
//! A pid is handed on only if it names a process: a thread-group leader.
//! `/proc/TID` exists for every thread (though `ls /proc` hides it) and
//! kill(2) on a thread id signals the whole process, so a thread that a
//! bystander named `haproxy` would otherwise pass for one, and haproxy's
//! SIGUSR1 would kill the bystander.

use crate::diag::{EXIT_SYSTEM, Failure};
use crate::number;
use crate::pid::{self, PidList};
use crate::sys;
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// The kernel keeps the first 15 bytes of a process's name in comm.
pub const COMM_LEN: usize = 15;

/// What comm would hold for a program of this name.
pub fn comm_of(name: &[u8]) -> &[u8] {
    &name[..name.len().min(COMM_LEN)]
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    NoSuchProcess,
    /// A thread of process `tgid`, not a process.
    Thread {
        tgid: u32,
    },
    /// Exited, not yet reaped: kill(2) still finds it, but it will never
    /// act on a signal, nor hand over its sockets.
    Zombie,
    OtherName,
    /// /proc is not mounted: the name cannot be known.
    NameUnknown,
    /// /proc/PID/stat could not be read for another reason.
    NameUnreadable(Errno),
}

impl Verdict {
    /// The warning for `pid` dropped with this verdict (`name`: the one
    /// asked for), or for names that cannot be checked; empty for Keep.
    pub fn words(&self, pid: u32, name: Option<&[u8]>) -> Vec<u8> {
        let dropping = [b"dropping pid ".as_slice(), &number::format(pid)].concat();
        let why: &[&[u8]] = match self {
            Verdict::Keep => return Vec::new(),
            Verdict::NameUnknown => return NamesUnchecked.words(),
            Verdict::NoSuchProcess => &[b": no such process"],
            Verdict::Thread { tgid } => &[
                b": it is a thread of process ",
                &number::format(*tgid),
                b", not a process",
            ],
            Verdict::Zombie => &[b": the process has exited (zombie)"],
            Verdict::OtherName => &[b": process is not ", comm_of(name.unwrap_or_default())],
            Verdict::NameUnreadable(e) => &[b": unable to read its name: ", e.desc().as_bytes()],
        };
        [&[dropping.as_slice()], why].concat().concat()
    }
}

/// Vetting told to go on without names (IfNameUnknown::Skip) when /proc
/// cannot give them: said once.
pub struct NamesUnchecked;

impl NamesUnchecked {
    pub fn words(&self) -> Vec<u8> {
        b"/proc is not mounted: not checking process names".to_vec()
    }
}

/// Whether no process has this pid (nor any thread).
pub fn gone(pid: u32) -> bool {
    vet(pid, true, None) == Verdict::NoSuchProcess
}

/// Vetting that needed a name /proc cannot give, for the pid: exit 111.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameUnknown(pub u32);

impl Failure for NameUnknown {
    fn words(&self) -> Vec<u8> {
        [
            b"unable to check the name of pid ".as_slice(),
            &number::format(self.0),
            b": /proc is not mounted",
        ]
        .concat()
    }

    fn code(&self) -> i32 {
        EXIT_SYSTEM
    }
}

/// What to do when the name of a process cannot be known (/proc missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfNameUnknown {
    /// The caller asked for the check: vetting fails.
    Fail,
    /// Go on without the name check.
    Skip,
}

/// Keeps the pids that `vet` keeps. `told` hears of each pid dropped,
/// with its verdict, and, with Skip, once of `NameUnknown` (names are not
/// checked from then on). With Fail, an unknown name is an error.
pub fn vet_all(
    pids: &mut PidList,
    alive: bool,
    name: Option<&[u8]>,
    unknown: IfNameUnknown,
    mut told: impl FnMut(u32, &Verdict),
) -> Result<(), NameUnknown> {
    let mut name = name;
    let mut kept = PidList::new();
    for &p in pids.as_slice() {
        let mut verdict = vet(p, alive, name);
        if verdict == Verdict::NameUnknown {
            if unknown == IfNameUnknown::Fail {
                return Err(NameUnknown(p));
            }
            told(p, &verdict);
            name = None;
            verdict = vet(p, alive, None);
        }
        match verdict {
            Verdict::Keep => kept.push(p),
            other => told(p, &other),
        }
    }
    *pids = kept;
    Ok(())
}

/// Checks `pid` when asked (`alive` or a `name`): a live process, not a
/// thread; then, with a name, named `name` (compared as comm is) and not
/// a zombie. The name is checked last so that a dead pid says so.
pub fn vet(pid: u32, alive: bool, name: Option<&[u8]>) -> Verdict {
    if !alive && name.is_none() {
        return Verdict::Keep;
    }
    match leader(pid) {
        Leader::Yes => {}
        Leader::Gone => return Verdict::NoSuchProcess,
        Leader::No { tgid } => return Verdict::Thread { tgid },
    }
    let Some(name) = name else {
        return Verdict::Keep;
    };
    // `PID (COMM) STATE ...`: comm is at most 15 bytes, so 64 hold it all.
    let mut buf = [0u8; 64];
    match sys::read_file(&proc_path(pid, b"stat"), &mut buf) {
        Ok(stat) => match parse_stat(stat) {
            Some((_, b'Z')) => Verdict::Zombie,
            Some((comm, _)) if comm == comm_of(name) => Verdict::Keep,
            Some(_) => Verdict::OtherName,
            None => Verdict::NameUnreadable(Errno::EINVAL),
        },
        Err(Errno::ENOENT | Errno::ESRCH) if !proc_is_mounted() => Verdict::NameUnknown,
        Err(Errno::ENOENT | Errno::ESRCH) => Verdict::NoSuchProcess,
        Err(e) => Verdict::NameUnreadable(e),
    }
}

enum Leader {
    Yes,
    Gone,
    No { tgid: u32 },
}

/// pidfd_open(2) answers in one call, without /proc: ESRCH for no such
/// pid, EINVAL for a thread that is not its group's leader (Linux 5.3+).
/// Where it is missing or filtered, /proc/PID/status's Tgid decides; with
/// neither, kill(2) can only say that the id is in use.
fn leader(pid: u32) -> Leader {
    // SAFETY: pidfd_open takes a pid and flags; the fd it returns is ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd >= 0 {
        // SAFETY: closing the descriptor just opened.
        unsafe { libc::close(fd as libc::c_int) };
        return Leader::Yes;
    }
    match Errno::last() {
        Errno::ESRCH => return Leader::Gone,
        Errno::EINVAL => {
            return match tgid(pid) {
                Some(tgid) if tgid != pid => Leader::No { tgid },
                // Not a leader, yet no other group: gone meanwhile.
                _ => Leader::Gone,
            };
        }
        _ => {}
    }
    if matches!(kill(Pid::from_raw(pid as i32), None), Err(Errno::ESRCH)) {
        return Leader::Gone;
    }
    match tgid(pid) {
        Some(tgid) if tgid != pid => Leader::No { tgid },
        _ => Leader::Yes,
    }
}

/// The `Tgid:` line of /proc/PID/status, if it can be read.
fn tgid(pid: u32) -> Option<u32> {
    // Tgid is the fourth line, after Name (at most 64 bytes escaped),
    // Umask and State: 256 bytes hold it.
    let mut buf = [0u8; 256];
    let status = sys::read_file(&proc_path(pid, b"status"), &mut buf).ok()?;
    parse_tgid(status)
}

fn parse_tgid(status: &[u8]) -> Option<u32> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Tgid:"))?;
    pid::parse(number::trim_space(line), u32::MAX)
}

pub(crate) fn proc_path(pid: u32, file: &[u8]) -> std::ffi::CString {
    let mut path = b"/proc/".to_vec();
    number::push(&mut path, pid);
    path.push(b'/');
    path.extend_from_slice(file);
    // Digits and a fixed name hold no NUL.
    std::ffi::CString::new(path).unwrap_or_default()
}

/// Name and state from /proc/PID/stat. The name may hold spaces and
/// parentheses, so it ends at the last `)`.
fn parse_stat(stat: &[u8]) -> Option<(&[u8], u8)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let state = *stat.get(close + 2)?;
    (open < close).then(|| (&stat[open + 1..close], state))
}

/// The parent of `pid`, from /proc/PID/stat, while `pid` runs: None when
/// there is no such process (or no /proc), and when it has exited but its
/// parent has not reaped it yet (a zombie): a supervisor about to reap its
/// service runs it no more, and has not yet rewritten its status.
pub fn parent(pid: u32) -> Result<Option<u32>, Errno> {
    // `PID (COMM) STATE PPID ...`: comm is at most 15 bytes, the numbers
    // at most 10 digits: 64 bytes hold the parent.
    let mut buf = [0u8; 64];
    match sys::read_file(&proc_path(pid, b"stat"), &mut buf) {
        Ok(stat) => match parse_parent(stat) {
            Some((b'Z', _)) => Ok(None),
            Some((_, ppid)) => Ok(Some(ppid)),
            None => Err(Errno::EINVAL),
        },
        Err(Errno::ENOENT | Errno::ESRCH) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The state and the parent.
fn parse_parent(stat: &[u8]) -> Option<(u8, u32)> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = stat[close + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let (state, ppid) = (fields.next()?, fields.next()?);
    let &[state] = state else { return None };
    // 0: a process of another pid namespace, or the kernel's.
    let ppid = crate::number::parse(ppid).and_then(|p| u32::try_from(p).ok())?;
    Some((state, ppid))
}

/// A process's signal mask and the signals pending for it (for the
/// process, or for its main thread): bit N-1 stands for signal N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    pub blocked: u64,
    pub pending: u64,
}

impl Signals {
    /// One of `signals` is pending and blocked: the process will not act
    /// on it until it unblocks it.
    pub fn held(&self, signals: &[libc::c_int]) -> bool {
        let mask = signals.iter().fold(0u64, |m, &s| {
            m | 1u64.checked_shl((s as u32).wrapping_sub(1)).unwrap_or(0)
        });
        self.blocked & self.pending & mask != 0
    }
}

/// From /proc/PID/status (`SigPnd`, `ShdPnd`, `SigBlk`, in hexadecimal):
/// None when it cannot be read or says no such thing.
pub fn signals(pid: u32) -> Option<Signals> {
    // About 1.5 KiB on Linux 6; the lines needed come before `Cpus_allowed`.
    let mut buf = [0u8; 4096];
    parse_signals(sys::read_file(&proc_path(pid, b"status"), &mut buf).ok()?)
}

fn parse_signals(status: &[u8]) -> Option<Signals> {
    let hex = |key: &[u8]| {
        let line = status
            .split(|&b| b == b'\n')
            .find_map(|l| l.strip_prefix(key))?;
        let digits = crate::number::trim_space(line);
        let text = std::str::from_utf8(digits).ok()?;
        u64::from_str_radix(text, 16).ok()
    };
    Some(Signals {
        blocked: hex(b"SigBlk:")?,
        pending: hex(b"SigPnd:")? | hex(b"ShdPnd:")?,
    })
}

/// A process held by a pidfd (pidfd_open(2), Linux 5.3+): a signal sent
/// through it reaches that process or none, never one that took its pid
/// since. Held from before a pid is vetted to its signal, a delivered
/// signal proves the process was alive throughout, so the vetting was of it.
pub struct Pidfd(std::os::fd::OwnedFd);

impl Pidfd {
    /// ESRCH: no such process; EINVAL: a thread, not a process; ENOSYS
    /// (or EPERM from a seccomp filter): no pidfds here.
    pub fn open(pid: u32) -> Result<Pidfd, Errno> {
        // SAFETY: pidfd_open takes a pid and flags; the fd it returns is ours.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd < 0 {
            return Err(Errno::last());
        }
        // SAFETY: a descriptor just opened, owned by nothing else.
        Ok(Pidfd(unsafe {
            std::os::fd::FromRawFd::from_raw_fd(fd as libc::c_int)
        }))
    }

    /// pidfd_send_signal(2) (Linux 5.1+; nix has no wrapper): ESRCH once
    /// the process has been reaped.
    pub fn signal(&self, signal: nix::sys::signal::Signal) -> Result<(), Errno> {
        use std::os::fd::AsRawFd;
        // SAFETY: our descriptor, a valid signal, no siginfo, no flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        Errno::result(r).map(drop)
    }
}

pub fn proc_is_mounted() -> bool {
    nix::unistd::access(c"/proc/self/comm", nix::unistd::AccessFlags::F_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_from_status() {
        // From a haproxy 3.3.0 master after a failed reload, one SIGUSR2 sent.
        let status = b"Name:\thaproxy\nSigQ:\t1/95863\nSigPnd:\t0000000000000000\n\
ShdPnd:\t0000000000000800\nSigBlk:\t0000000000300a01\nSigIgn:\t0000000000001000\n";
        let s = parse_signals(status).unwrap();
        assert_eq!((s.blocked, s.pending), (0x300a01, 0x800));
        assert!(s.held(&[libc::SIGUSR2, libc::SIGHUP]));
        assert!(!s.held(&[libc::SIGHUP]));
        assert!(!s.held(&[libc::SIGTERM]));
        assert_eq!(
            parse_signals(b"SigBlk:\tzz\nSigPnd:\t0\nShdPnd:\t0\n"),
            None
        );
        assert_eq!(parse_signals(b"SigBlk:\t0\n"), None);
    }

    fn own_comm() -> Vec<u8> {
        let mut comm = [0u8; 64];
        sys::read_file(c"/proc/thread-self/comm", &mut comm)
            .unwrap()
            .trim_ascii_end()
            .to_vec()
    }

    #[test]
    fn self_is_alive_and_named() {
        let me = std::process::id();
        let mut comm = [0u8; 64];
        let c = sys::read_file(c"/proc/self/comm", &mut comm)
            .unwrap()
            .trim_ascii_end()
            .to_vec();
        assert_eq!(vet(me, true, None), Verdict::Keep);
        assert_eq!(vet(me, true, Some(&c)), Verdict::Keep);
        assert_eq!(vet(me, true, Some(b"surely-not-this")), Verdict::OtherName);
        assert_eq!(vet(me, false, None), Verdict::Keep);
    }

    #[test]
    fn a_thread_is_not_a_process() {
        let me = std::process::id();
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            // SAFETY: gettid cannot fail.
            let tid = unsafe { libc::gettid() } as u32;
            tx.send((tid, own_comm())).unwrap();
            let _ = done_rx.recv();
        });
        let (tid, comm) = rx.recv().unwrap();
        assert_ne!(tid, me);
        assert_eq!(vet(tid, true, None), Verdict::Thread { tgid: me });
        assert_eq!(vet(tid, false, Some(&comm)), Verdict::Thread { tgid: me });
        assert_eq!(vet(tid, true, Some(&comm)), Verdict::Thread { tgid: me });
        assert_eq!(tgid(tid), Some(me));
        assert_eq!(tgid(me), Some(me));
        drop(done_tx);
        t.join().unwrap();
    }

    /// Kills and reaps its child however the test ends.
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn sleeper() -> Child {
        Child(
            std::process::Command::new("sleep")
                .arg("1000")
                .spawn()
                .unwrap(),
        )
    }

    #[test]
    fn a_pidfd_never_signals_the_process_that_took_its_pid() {
        // ns_last_pid chooses the next pid: root only.
        // SAFETY: cannot fail.
        assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
        let signal = nix::sys::signal::Signal::SIGTERM;
        let mut old = sleeper();
        let pid = old.0.id();
        let fd = Pidfd::open(pid).unwrap();
        old.0.kill().unwrap();
        old.0.wait().unwrap();
        // Other processes on the host fork too: try until the pid is ours.
        let new = (0..1000)
            .find_map(|_| {
                std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
                let c = sleeper();
                (c.0.id() == pid).then_some(c)
            })
            .expect("the pid reused");
        assert_eq!(fd.signal(signal), Err(Errno::ESRCH));
        // The number names the new process: kill(2) would have reached it.
        assert_eq!(kill(Pid::from_raw(pid as i32), None), Ok(()));
        let mut new = new;
        assert!(
            new.0.try_wait().unwrap().is_none(),
            "the new process was signalled"
        );
        // Held on the new process, the pidfd reaches it.
        Pidfd::open(pid).unwrap().signal(signal).unwrap();
        let status = new.0.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGTERM)
        );
    }

    #[test]
    fn tgid_from_status() {
        let status = b"Name:\thaproxy\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4243\n";
        assert_eq!(parse_tgid(status), Some(4242));
        assert_eq!(parse_tgid(b"Name:\tx\nTgid:\tx\n"), None);
        assert_eq!(parse_tgid(b"Name:\tTgid:\t7\n"), None);
    }

    #[test]
    fn stat_names_may_hold_parentheses_and_spaces() {
        assert_eq!(
            parse_stat(b"42 (haproxy) S 1 42"),
            Some((&b"haproxy"[..], b'S'))
        );
        assert_eq!(
            parse_stat(b"42 (a) b) (c) Z 1"),
            Some((&b"a) b) (c"[..], b'Z'))
        );
        assert_eq!(parse_stat(b"42 (x"), None);
        assert_eq!(parse_stat(b"42 (x)"), None);
    }

    #[test]
    fn the_parent_from_stat() {
        assert_eq!(parse_parent(b"42 (haproxy) S 17 42 42 0"), Some((b'S', 17)));
        assert_eq!(parse_parent(b"42 (a) b) 7) Z 1 0"), Some((b'Z', 1)));
        assert_eq!(parse_parent(b"42 (x) S"), None);
        assert_eq!(parse_parent(b"42 (x) S x"), None);
        assert_eq!(parse_parent(b"42 (x) SZ 1"), None);
        let me = std::process::id();
        let parent = std::os::unix::process::parent_id();
        assert_eq!(super::parent(me), Ok(Some(parent)));
    }

    #[test]
    fn a_zombie_has_no_parent_to_run_it() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !std::fs::read(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.windows(3).any(|w| w == b") Z"))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{pid} never became a zombie"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(super::parent(pid), Ok(None));
        let _ = child.wait();
        assert_eq!(super::parent(pid), Ok(None));
    }

    #[test]
    fn comm_is_truncated_to_15() {
        assert_eq!(comm_of(b"a-very-long-program-name"), b"a-very-long-pro");
        assert_eq!(comm_of(b"haproxy"), b"haproxy");
    }
}
