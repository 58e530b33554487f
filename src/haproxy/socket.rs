//! One command to an haproxy stats socket or master CLI, and its whole
//! answer. haproxy answers a command, then closes the connection once the
//! client has shut its side down (the master CLI waits for that; without
//! it, it keeps the connection open for more commands). The answer is read
//! to the end: a client that stops early (socat's 0.5 s default) can
//! take a half answer for a whole one.
//!
//! Every step of a question ends by its deadline: connect(2) too, which
//! on a unix socket whose backlog is full (an haproxy stalled, swapping or
//! stopped) waits for a place with no end but SO_SNDTIMEO.

use crate::diag::{EXIT_NO_PID, EXIT_SYSTEM, Failure};
use crate::sys::{self, Call};
use crate::wait::Waiter;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::sockopt;
use nix::sys::socket::{self, AddressFamily, MsgFlags, Shutdown, SockFlag, SockType, UnixAddr};
use nix::sys::stat::SFlag;
use nix::sys::time::{TimeVal, TimeValLike};
use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How often a waiting question is asked again.
pub const TICK: Duration = Duration::from_millis(20);
/// The longest one question may take when not waiting.
pub const ANSWER_TIME: Duration = Duration::from_secs(10);

/// A waiter for questions: `timeout` in all, asking every TICK.
pub fn waiter(timeout: Duration) -> Waiter {
    Waiter::ticking(timeout, TICK)
}

/// `query`, asked again while nothing answers or the answer is cut
/// (between two haproxy processes, or while a master re-executes itself)
/// and `waiter` allows.
pub fn ask(
    path: &CStr,
    command: &[u8],
    answer: &mut Vec<u8>,
    waiter: &mut Waiter,
) -> Result<(), QueryError> {
    loop {
        match query(path, command, answer, answer_deadline(waiter)) {
            Err(e) if e.ask_again() && waiter.pause() => continue,
            r => return r,
        }
    }
}

/// What a question said, where the deadline cut it short: what the one
/// before it said, if any. The question the deadline ends says nothing
/// new, and the one before is the last word.
pub fn or_before<T>(
    now: Result<T, QueryError>,
    before: Option<Result<T, QueryError>>,
) -> Result<T, QueryError> {
    match (now, before) {
        (Err(QueryError::TimedOut), Some(before)) => before,
        (now, _) => now,
    }
}

/// Until when one question asked now may wait for its answer: the
/// waiter's deadline, exactly; ANSWER_TIME when there is no waiting (one
/// question) or no end to it.
pub fn answer_deadline(waiter: &Waiter) -> Instant {
    match waiter.deadline() {
        Some(d) if !waiter.once() => d,
        _ => Instant::now() + ANSWER_TIME,
    }
}

/// `show info` is about 2 KiB; `show proc` grows by a line per old worker.
pub const MAX_ANSWER: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryError {
    /// Nothing listens there (yet): no socket, or refused. A reloading
    /// haproxy gives this for a moment; a stopped one for good.
    NotAnswering(Errno),
    /// Something accepted the question, then reset the connection or
    /// hung up before the whole of it was sent: a reloading or stopping
    /// haproxy, or not haproxy at all. Not the same as no listener: it
    /// may still hold the listeners.
    Cut(Errno),
    /// The path is there but not to be trusted or not a socket at all.
    NotASocket,
    /// Owned by `uid`, neither root nor the effective user `euid`:
    /// whoever owns it decides what it answers.
    Owner {
        uid: u32,
        euid: u32,
    },
    /// The deadline came first: connecting (a full backlog), sending, or
    /// before the answer ended.
    TimedOut,
    TooLong,
    /// A call failed for another reason: the call and errno.
    Sys(Call, Errno),
}

impl QueryError {
    /// Whether the same question, asked again, may be answered: nothing
    /// listened, the peer went away, or the deadline came (a reloading
    /// haproxy gives each of these for a moment).
    pub fn ask_again(&self) -> bool {
        matches!(
            self,
            QueryError::NotAnswering(_) | QueryError::Cut(_) | QueryError::TimedOut
        )
    }

    /// The error as the failure of a question to `path`.
    pub fn on(self, path: &[u8]) -> Failed<'_> {
        Failed { path, error: self }
    }
}

/// A question to the socket at `path` that failed: exit 1 when no
/// haproxy answers (or the socket is not to be trusted), 111 when a call
/// failed.
pub struct Failed<'a> {
    pub path: &'a [u8],
    pub error: QueryError,
}

impl Failure for Failed<'_> {
    fn words(&self) -> Vec<u8> {
        let path = self.path;
        match self.error {
            QueryError::NotAnswering(Errno::ENOENT) => {
                [b"no haproxy answers on ", path, b": no such socket"].concat()
            }
            QueryError::NotAnswering(e) => {
                [b"no haproxy answers on ", path, b": ", e.desc().as_bytes()].concat()
            }
            QueryError::Cut(e) => {
                [b"no whole answer from ", path, b": ", e.desc().as_bytes()].concat()
            }
            QueryError::NotASocket => [b"refusing ", path, b": it is not a unix socket"].concat(),
            QueryError::Owner { uid, euid } => [
                b"refusing ",
                path,
                b": ",
                &crate::trust::owner_words(uid, euid),
            ]
            .concat(),
            QueryError::TimedOut => [b"no whole answer from ", path, b" in time"].concat(),
            QueryError::TooLong => {
                [b"refusing the answer from ", path, b": more than 64 KiB"].concat()
            }
            QueryError::Sys(call, e) => crate::sys::SysError::new(call, path, e).words(),
        }
    }

    fn code(&self) -> i32 {
        match self.error {
            QueryError::Sys(..) => EXIT_SYSTEM,
            _ => EXIT_NO_PID,
        }
    }
}

/// Sends `command` and a newline to the socket at `path`, shuts the
/// sending side down and reads the answer into `answer` until haproxy
/// closes, or until `deadline`. Whether what was read is a whole answer
/// is for the reader of that command (`info`, `show_proc`) to say.
pub fn query(
    path: &CStr,
    command: &[u8],
    answer: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(), QueryError> {
    answer.clear();
    let st = match nix::sys::stat::lstat(path) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Err(QueryError::NotAnswering(Errno::ENOENT)),
        Err(e) => return Err(QueryError::Sys(Call::Stat, e)),
    };
    if !sys::is_type(&st, SFlag::S_IFSOCK) {
        return Err(QueryError::NotASocket);
    }
    let euid = nix::unistd::geteuid().as_raw();
    if st.st_uid != 0 && st.st_uid != euid {
        return Err(QueryError::Owner {
            uid: st.st_uid,
            euid,
        });
    }
    let fd = connect(path, deadline)?;
    let mut line = Vec::with_capacity(command.len() + 1);
    line.extend_from_slice(command);
    line.push(b'\n');
    send_all(&fd, &line, deadline)?;
    socket::shutdown(fd.as_raw_fd(), Shutdown::Write).map_err(|e| lost(e, Call::Shutdown))?;
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(QueryError::TimedOut);
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => return Err(QueryError::TimedOut),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(QueryError::Sys(Call::Poll, e)),
        }
        match nix::unistd::read(fd.as_raw_fd(), &mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                if answer.len() + n > MAX_ANSWER {
                    return Err(QueryError::TooLong);
                }
                answer.extend_from_slice(&chunk[..n]);
            }
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(lost(e, Call::Read)),
        }
    }
}

/// send(2) with MSG_NOSIGNAL: a master that closes the connection as it
/// re-executes itself must give EPIPE, not a SIGPIPE that kills us (the
/// disposition is the caller's, passed through untouched).
fn send_all(fd: &OwnedFd, mut buf: &[u8], deadline: Instant) -> Result<(), QueryError> {
    while !buf.is_empty() {
        bound_sends(fd, deadline)?;
        match socket::send(fd.as_raw_fd(), buf, MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => buf = &buf[n..],
            Err(Errno::EINTR) => {}
            // SO_SNDTIMEO ran out: bound_sends says whether the deadline did.
            Err(Errno::EAGAIN) => {}
            Err(e) => return Err(lost(e, Call::Write)),
        }
    }
    Ok(())
}

/// SO_SNDTIMEO to the time left (at most an hour: connect and send
/// look at the deadline again when it runs out), which bounds connect(2)
/// on a unix socket as well as send(2). Never 0: that means no bound.
fn bound_sends(fd: &OwnedFd, deadline: Instant) -> Result<(), QueryError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(QueryError::TimedOut);
    }
    let micros = left.min(Duration::from_secs(3600)).as_micros().max(1);
    let tv = TimeVal::microseconds(micros as i64);
    socket::setsockopt(fd, sockopt::SendTimeout, &tv).map_err(|e| QueryError::Sys(Call::Socket, e))
}

fn connect(path: &CStr, deadline: Instant) -> Result<OwnedFd, QueryError> {
    // ENAMETOOLONG for a path that does not fit sun_path.
    let addr = UnixAddr::new(path).map_err(|e| QueryError::Sys(Call::Connect, e))?;
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| QueryError::Sys(Call::Socket, e))?;
    loop {
        bound_sends(&fd, deadline)?;
        match socket::connect(fd.as_raw_fd(), &addr) {
            Ok(()) => return Ok(fd),
            Err(Errno::EINTR) => continue,
            Err(e @ (Errno::ECONNREFUSED | Errno::ENOENT)) => {
                return Err(QueryError::NotAnswering(e));
            }
            // SO_SNDTIMEO ran out with the backlog still full: something
            // listens there and accepts nothing. bound_sends says whether
            // the deadline has come.
            Err(Errno::EAGAIN) => continue,
            Err(e) => return Err(QueryError::Sys(Call::Connect, e)),
        }
    }
}

/// The peer went away mid-question: a reloading or stopping haproxy, or
/// something else.
fn lost(e: Errno, call: Call) -> QueryError {
    match e {
        Errno::EPIPE | Errno::ECONNRESET => QueryError::Cut(e),
        e => QueryError::Sys(call, e),
    }
}
