//! Waiting for something to change in a directory, up to a deadline:
//! inotify on the directory, with a short tick as a safety net (an event
//! can be missed when the directory itself appears late). Never a busy loop.

use nix::errno::Errno;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Longest sleep between two looks when inotify is watching.
const TICK_WATCHED: Duration = Duration::from_millis(50);
/// Sleep between two looks when it is not (no inotify, no directory yet).
const TICK_POLLED: Duration = Duration::from_millis(5);

pub struct Waiter {
    /// None: further than the clock can count (`-w` takes any u64), never.
    deadline: Option<Instant>,
    inotify: Option<OwnedFd>,
    /// Sleep between two looks when nothing is watched.
    tick: Duration,
}

impl Waiter {
    /// Starts the clock now; watches `dir` for entries created, renamed
    /// in, written or closed.
    pub fn new(timeout: Duration, dir: &[u8]) -> Self {
        let deadline = Instant::now().checked_add(timeout);
        Waiter {
            deadline,
            inotify: watch(dir),
            tick: TICK_POLLED,
        }
    }

    /// Starts the clock now; looks again every `tick`, for what no
    /// directory event announces (an answer on a socket).
    pub fn ticking(timeout: Duration, tick: Duration) -> Self {
        Waiter {
            deadline: Instant::now().checked_add(timeout),
            inotify: None,
            tick,
        }
    }

    /// When the wait ends; None for never.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Sleeps until the directory changes, a tick passes or the deadline
    /// comes. Returns false, without sleeping, once the deadline has passed:
    /// the caller then takes what is there.
    pub fn pause(&mut self) -> bool {
        let left = match self.deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left,
                _ => return false,
            },
            None => Duration::MAX,
        };
        match &self.inotify {
            Some(fd) => {
                let ms = left.min(TICK_WATCHED).as_micros().div_ceil(1000).max(1);
                let mut pfd = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd. EINTR just means look again.
                let ready = unsafe { libc::poll(&mut pfd, 1, ms as libc::c_int) };
                if ready > 0 {
                    drain(fd);
                }
            }
            None => std::thread::sleep(left.min(self.tick)),
        }
        true
    }
}

fn watch(dir: &[u8]) -> Option<OwnedFd> {
    let dir = CString::new(dir).ok()?;
    // SAFETY: plain syscalls on valid arguments.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is ours.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mask = libc::IN_CREATE
        | libc::IN_MOVED_TO
        | libc::IN_MODIFY
        | libc::IN_CLOSE_WRITE
        | libc::IN_ATTRIB;
    // SAFETY: valid fd and C string.
    let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), dir.as_ptr(), mask) };
    (wd >= 0).then_some(fd)
}

/// Empties the event queue; which event it was does not matter, the
/// caller looks again at what it waits for.
fn drain(fd: &OwnedFd) {
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 && Errno::last() != Errno::EINTR {
            break;
        }
    }
}
