//! One command to an haproxy stats socket or master CLI, and its whole
//! answer. haproxy answers a command, then closes the connection once the
//! client has shut its side down (the master CLI waits for that; without
//! it, it keeps the connection open for more commands). The answer is read
//! to the end: a client that stops early (socat's 0.5 s default) can
//! take a half answer for a whole one.

use crate::sys;
use crate::wait::Waiter;
use nix::errno::Errno;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How often a waiting question is asked again.
pub const TICK: Duration = Duration::from_millis(20);
/// The longest one question may take when not waiting; and the least a
/// question started near the deadline still gets for its whole answer.
pub const ANSWER_TIME: Duration = Duration::from_secs(10);
const LAST_ANSWER_TIME: Duration = Duration::from_secs(1);

/// A waiter for questions: `timeout` in all, asking every TICK.
pub fn waiter(timeout: Duration) -> Waiter {
    Waiter::ticking(timeout, TICK)
}

/// `query`, asked again while nothing answers (between two haproxy
/// processes, or while a master re-executes itself) and `waiter` allows.
pub fn ask(
    path: &CStr,
    command: &[u8],
    answer: &mut Vec<u8>,
    waiter: &mut Waiter,
) -> Result<(), QueryError> {
    loop {
        let now = Instant::now();
        let until = waiter
            .deadline()
            .map_or(now + ANSWER_TIME, |d| d.max(now + LAST_ANSWER_TIME));
        match query(path, command, answer, until) {
            Err(QueryError::NotAnswering(_)) if waiter.pause() => continue,
            r => return r,
        }
    }
}

/// `show info` is about 2 KiB; `show proc` grows by a line per old worker.
pub const MAX_ANSWER: usize = 64 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum QueryError {
    /// Nothing listens there (yet): no socket, or refused. A reloading
    /// haproxy gives this for a moment; a stopped one for good.
    NotAnswering(Errno),
    /// The path is there but not to be trusted or not a socket at all.
    NotASocket,
    /// Owned by this uid, neither root nor the effective user: whoever
    /// owns it decides what it answers.
    Owner(u32),
    TimedOut,
    TooLong,
    /// A call failed for another reason: the call and errno.
    Sys(&'static str, Errno),
}

/// Sends `command` and a newline to the socket at `path`, shuts the
/// sending side down and reads the answer into `answer` until haproxy
/// closes, or until `deadline`.
pub fn query(
    path: &CStr,
    command: &[u8],
    answer: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(), QueryError> {
    answer.clear();
    let st = match sys::lstat(path) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Err(QueryError::NotAnswering(Errno::ENOENT)),
        Err(e) => return Err(QueryError::Sys("stat", e)),
    };
    if !sys::is_type(&st, libc::S_IFSOCK) {
        return Err(QueryError::NotASocket);
    }
    if st.st_uid != 0 && st.st_uid != sys::geteuid() {
        return Err(QueryError::Owner(st.st_uid));
    }
    let fd = connect(path)?;
    let mut line = Vec::with_capacity(command.len() + 1);
    line.extend_from_slice(command);
    line.push(b'\n');
    send_all(&fd, &line)?;
    // SAFETY: shutdown on a socket we own.
    if unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_WR) } < 0 {
        return Err(lost(Errno::last(), "shutdown"));
    }
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(QueryError::TimedOut);
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        match unsafe { libc::poll(&mut pfd, 1, ms) } {
            0 => return Err(QueryError::TimedOut),
            n if n < 0 && Errno::last() == Errno::EINTR => continue,
            n if n < 0 => return Err(QueryError::Sys("poll", Errno::last())),
            _ => {}
        }
        // SAFETY: chunk is valid for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
        match n {
            0 => return Ok(()),
            n if n > 0 => {
                if answer.len() + n as usize > MAX_ANSWER {
                    return Err(QueryError::TooLong);
                }
                answer.extend_from_slice(&chunk[..n as usize]);
            }
            _ if Errno::last() == Errno::EINTR => {}
            _ => return Err(lost(Errno::last(), "read")),
        }
    }
}

/// send(2) with MSG_NOSIGNAL: a master that closes the connection as it
/// re-executes itself must give EPIPE, not a SIGPIPE that kills us (the
/// disposition is the caller's, passed through untouched).
fn send_all(fd: &OwnedFd, mut buf: &[u8]) -> Result<(), QueryError> {
    while !buf.is_empty() {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n > 0 {
            buf = &buf[n as usize..];
        } else if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        } else {
            return Err(lost(Errno::last(), "write to"));
        }
    }
    Ok(())
}

fn connect(path: &CStr) -> Result<OwnedFd, QueryError> {
    let bytes = path.to_bytes();
    // SAFETY: a zeroed sockaddr_un is valid; sun_path is filled below.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(QueryError::Sys("connect to", Errno::ENAMETOOLONG));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, &s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = s as libc::c_char;
    }
    // SAFETY: plain socket(2).
    let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(QueryError::Sys("create a socket for", Errno::last()));
    }
    // SAFETY: raw was just created and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    loop {
        // SAFETY: addr is a valid sockaddr_un of `len` bytes.
        let rc = unsafe { libc::connect(raw, (&raw const addr).cast(), len) };
        if rc == 0 {
            return Ok(fd);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e @ (Errno::ECONNREFUSED | Errno::ENOENT | Errno::EAGAIN) => {
                return Err(QueryError::NotAnswering(e));
            }
            e => return Err(QueryError::Sys("connect to", e)),
        }
    }
}

/// The peer went away mid-answer: a reloading or stopping haproxy.
fn lost(e: Errno, call: &'static str) -> QueryError {
    match e {
        Errno::EPIPE | Errno::ECONNRESET => QueryError::NotAnswering(e),
        e => QueryError::Sys(call, e),
    }
}
