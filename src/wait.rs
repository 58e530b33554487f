//! Waiting for something to change in a directory, up to a deadline:
//! inotify on the directory, with a short tick as a safety net (an event
//! can be missed when the directory itself appears late). Never a busy loop.

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

/// Longest sleep between two looks when inotify is watching.
const TICK_WATCHED: Duration = Duration::from_millis(50);
/// Sleep between two looks when it is not (no inotify, no directory yet).
const TICK_POLLED: Duration = Duration::from_millis(5);

pub struct Waiter {
    /// None: further than the clock can count (`-w` takes any u64), never.
    deadline: Option<Instant>,
    /// A zero timeout: one look, no waiting at all.
    once: bool,
    inotify: Option<Inotify>,
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
            once: timeout.is_zero(),
            inotify: watch(dir),
            tick: TICK_POLLED,
        }
    }

    /// Starts the clock now; looks again every `tick`, for what no
    /// directory event announces (an answer on a socket).
    pub fn ticking(timeout: Duration, tick: Duration) -> Self {
        Waiter {
            deadline: Instant::now().checked_add(timeout),
            once: timeout.is_zero(),
            inotify: None,
            tick,
        }
    }

    /// When the wait ends; None for never.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether this waiter never waits: one look only.
    pub fn once(&self) -> bool {
        self.once
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
            Some(inotify) => {
                let ms = left.min(TICK_WATCHED).as_micros().div_ceil(1000).max(1);
                let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
                // EINTR just means look again.
                let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
                if poll(&mut fds, timeout).is_ok_and(|n| n > 0) {
                    drain(inotify);
                }
            }
            None => std::thread::sleep(left.min(self.tick)),
        }
        true
    }
}

fn watch(dir: &[u8]) -> Option<Inotify> {
    let dir = CString::new(dir).ok()?;
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).ok()?;
    let mask = AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_ATTRIB;
    inotify.add_watch(dir.as_c_str(), mask).ok()?;
    Some(inotify)
}

/// Empties the event queue; which event it was does not matter, the
/// caller looks again at what it waits for. Read into a buffer of our
/// own: nix's read_events would allocate a Vec of them.
fn drain(inotify: &Inotify) {
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(inotify.as_fd().as_raw_fd(), &mut buf) {
            Ok(n) if n > 0 => continue,
            Err(Errno::EINTR) => continue,
            _ => break,
        }
    }
}
