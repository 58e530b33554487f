//! Fake peers on unix sockets, for what no real haproxy does on demand:
//! answers cut short, said twice, reset, never given, and a listener whose
//! backlog is full. Each connection gets the next reply, the last one
//! repeating, or the reply to its question. Stopped (and every connection
//! closed) when dropped.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone)]
pub enum Reply {
    /// Reads the question to its end, writes these bytes, closes.
    Answer(Vec<u8>),
    /// Writes these bytes without reading the question, then closes: the
    /// unread question makes the client's next read fail with ECONNRESET.
    Reset(Vec<u8>),
    /// Reads the question and holds the connection, answering nothing.
    Silent,
}

pub fn answer(bytes: &[u8]) -> Reply {
    Reply::Answer(bytes.to_vec())
}

enum Replies {
    InTurn(Vec<Reply>),
    ByQuestion(Vec<(Vec<u8>, Reply)>),
}

pub struct Peer {
    pub path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Vec<u8>>>>,
}

impl Peer {
    pub fn serve(path: &Path, replies: Vec<Reply>) -> Peer {
        Peer::serving(path, Replies::InTurn(replies))
    }

    /// Answers each question with the reply paired with it (a master
    /// CLI asked `show proc`, then of each worker); one not listed gets
    /// no answer. Every reply must read the question: Answer or Silent.
    pub fn answer_questions(path: &Path, replies: Vec<(&[u8], Reply)>) -> Peer {
        let replies = replies
            .into_iter()
            .map(|(q, r)| ([q, b"\n"].concat(), r))
            .collect();
        Peer::serving(path, Replies::ByQuestion(replies))
    }

    fn serving(path: &Path, replies: Replies) -> Peer {
        let listener = UnixListener::bind(path).expect("bind a fake peer");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            let mut questions = Vec::new();
            for (n, c) in listener.incoming().enumerate() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut c) = c else { continue };
                let reply = match &replies {
                    Replies::InTurn(r) => r.get(n).or(r.last()).cloned(),
                    Replies::ByQuestion(r) => {
                        let mut q = Vec::new();
                        let _ = c.read_to_end(&mut q);
                        let reply = r
                            .iter()
                            .find(|(asked, _)| *asked == q)
                            .map(|(_, r)| r.clone());
                        questions.push(q);
                        match reply {
                            Some(Reply::Answer(bytes)) => {
                                let _ = c.write_all(&bytes);
                            }
                            _ => held.push(c),
                        }
                        continue;
                    }
                };
                match reply {
                    Some(Reply::Answer(bytes)) => {
                        let mut q = Vec::new();
                        let _ = c.read_to_end(&mut q);
                        questions.push(q);
                        let _ = c.write_all(&bytes);
                    }
                    Some(Reply::Reset(bytes)) => {
                        let _ = c.write_all(&bytes);
                    }
                    Some(Reply::Silent) | None => {
                        let mut q = Vec::new();
                        let _ = c.read_to_end(&mut q);
                        questions.push(q);
                        held.push(c);
                    }
                }
            }
            questions
        });
        Peer {
            path: path.to_owned(),
            stop,
            thread: Some(thread),
        }
    }

    pub fn path(&self) -> &str {
        self.path.to_str().expect("a UTF-8 path")
    }

    /// Stops the peer: the questions it was asked, in order.
    pub fn questions(mut self) -> Vec<Vec<u8>> {
        self.stop_thread()
    }

    fn stop_thread(&mut self) -> Vec<Vec<u8>> {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept; the thread then sees the flag.
        drop(UnixStream::connect(&self.path));
        self.thread
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop_thread();
        }
    }
}

/// A listener at `path` that accepts nothing and whose backlog is full:
/// connect(2) to it waits (an haproxy stalled, swapping or stopped).
/// Both descriptors must live as long as the test needs the state.
pub fn full_backlog(path: &Path) -> (std::os::fd::OwnedFd, UnixStream) {
    use nix::sys::socket::{AddressFamily, Backlog, SockFlag, SockType, UnixAddr};
    let fd = nix::sys::socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    let addr = UnixAddr::new(path).expect("a socket path");
    nix::sys::socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &addr).expect("bind");
    // A backlog of 0 holds one connection not yet accepted: this one.
    nix::sys::socket::listen(&fd, Backlog::new(0).expect("backlog")).expect("listen");
    let filler = UnixStream::connect(path).expect("the one connection the backlog holds");
    (fd, filler)
}
