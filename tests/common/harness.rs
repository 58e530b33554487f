//! The harness the integration tests and the demonstration share (the
//! demo, `make try` and `make bench-reload`, includes this file by path):
//! a shipped recipe copied and configured through its env/, haproxy's
//! configuration, free ports, tagged processes, the haproxies of one
//! configuration, the state a reload must end in, one HTTP client, a slow
//! backend and the load generator. std and libc only; errors are Strings,
//! and the caller decides whether one is a panic.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The recipes and haproxy.cfg in the source tree.
pub const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

/// Carried in the environment by every process a test or the demo
/// starts, and by whatever those start in turn (a service in its own
/// session, a daemonized haproxy), so that all are found and killed.
pub const TAG_VAR: &str = "PIDCHAIN_TAG";

/// Which recipe: `examples/KIND/haproxy` or `examples/KIND/haproxy-mw`.
pub fn recipe_dir(examples: &Path, kind: &str, master_worker: bool) -> std::path::PathBuf {
    let recipe = if master_worker {
        "haproxy-mw"
    } else {
        "haproxy"
    };
    examples.join(kind).join(recipe)
}

pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

/// What a service said: its supervisor's output (`supervisor_log`, where
/// whatever the service prints goes when no log service runs), then its
/// log service's, `SVC/log/main/current` (the shipped `log/run` writes
/// there; runsv starts `log/` itself, s6-svscan and svscan do, a lone
/// s6-supervise or supervise does not).
pub fn service_output(svc: &Path, supervisor_log: &Path) -> String {
    let mut said = std::fs::read_to_string(supervisor_log).unwrap_or_default();
    said += &std::fs::read_to_string(svc.join("log/main/current")).unwrap_or_default();
    said
}

/// The shipped commands the service directories call (haproxy-handoff,
/// haproxy-master), in the source tree: put in PATH beside the programs.
pub const RECIPES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/recipes");

/// A recipe pointed at `config` and `rundir` (and `$HAPROXY`, when set),
/// and its reloads given `timeout_ms` (None: the default): its site
/// settings, `env/`, are the one place it is configured, as a user would.
pub fn point_recipe(
    svc: &Path,
    config: &Path,
    rundir: &Path,
    timeout_ms: Option<u32>,
) -> Result<(), String> {
    let env = svc.join("env");
    if !env.join("CONFIG").is_file() || !env.join("RUNDIR").is_file() {
        return Err(format!(
            "{} has no env/CONFIG and env/RUNDIR",
            svc.display()
        ));
    }
    let set = |name: &str, value: &str| {
        std::fs::write(env.join(name), format!("{value}\n")).map_err(|e| e.to_string())
    };
    set("CONFIG", &config.to_string_lossy())?;
    set("RUNDIR", &rundir.to_string_lossy())?;
    // The haproxy under test, when one is chosen: `HAPROXY=/path cargo test`.
    if let Some(h) = std::env::var_os("HAPROXY").filter(|h| !h.is_empty()) {
        set("HAPROXY", &h.to_string_lossy())?;
    }
    if let Some(t) = timeout_ms {
        set("TIMEOUT", &t.to_string())?;
    }
    Ok(())
}

/// `examples/haproxy.cfg` from `examples`, with `rundir` for /run/pidchain/haproxy,
/// `port` for the listener, answering `version`.
pub fn config(examples: &Path, rundir: &Path, port: u16, version: &str) -> Result<String, String> {
    let mut cfg =
        std::fs::read_to_string(examples.join("haproxy.cfg")).map_err(|e| e.to_string())?;
    let answer = "string \"served by pidchain\"";
    if !cfg.contains(answer) || !cfg.contains("127.0.0.1:8080") {
        return Err("examples/haproxy.cfg changed: no answer or address to rewrite".into());
    }
    // haproxy before 2.6 refuses the option: the line is removed there,
    // as pidchain(7) tells its users.
    if haproxy_version() < (2, 6, 0) {
        cfg = cfg.replace(IDLE_CLOSE, "");
    }
    Ok(cfg
        .replace("/run/pidchain/haproxy", &rundir.to_string_lossy())
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        .replace("served by pidchain", version))
}

pub const IDLE_CLOSE: &str = "    option idle-close-on-response\n";

/// The haproxy under test: `$HAPROXY` (any version, e.g. one built from
/// ../shared/haproxy), else the first haproxy in PATH.
pub fn haproxy() -> std::ffi::OsString {
    std::env::var_os("HAPROXY")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "haproxy".into())
}

/// Its version, from `haproxy -v` ("HAProxy version 3.3.0-7832fb21f
/// ..."): (3, 3, 0); zeros where it cannot be read.
pub fn haproxy_version() -> (u32, u32, u32) {
    static VERSION: std::sync::OnceLock<(u32, u32, u32)> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let out = std::process::Command::new(haproxy())
            .arg("-v")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let word = out.split_whitespace().nth(2).unwrap_or_default();
        let mut n = word.split(['.', '-', '+']).map(|n| n.parse().unwrap_or(0));
        let mut next = || n.next().unwrap_or(0);
        (next(), next(), next())
    })
}

/// A configuration from `config`, with `/slow` sent to a backend on
/// `backend_port`.
pub fn with_slow_backend(cfg: &str, version: &str, backend_port: u16) -> String {
    let answer = format!("string \"{version}\"");
    cfg.replace(
        &answer,
        &format!("{answer} if !{{ path_beg /slow }}\n    use_backend slow if {{ path_beg /slow }}"),
    ) + &format!("\nbackend slow\n    server s 127.0.0.1:{backend_port}\n")
}

/// A configuration from `config` made large: a map of `lines` entries
/// (written to `map`) looked up on every request, and `backends` more
/// backends. haproxy takes a while to check it and to start with it.
pub fn made_large(cfg: &str, map: &Path, lines: usize, backends: usize) -> std::io::Result<String> {
    let entries: String = (0..lines)
        .map(|i| format!("/path/{i} value{i}\n"))
        .collect();
    std::fs::write(map, entries)?;
    let answer = "    http-request return";
    let lookup = format!(
        "    http-request set-var(txn.mapped) path,map({})\n{answer}",
        map.display()
    );
    let mut cfg = cfg.replacen(answer, &lookup, 1);
    for b in 0..backends {
        cfg += &format!("\nbackend b{b}\n    server s 127.0.0.1:9 disabled\n");
    }
    Ok(cfg)
}

/// Replaced by rename, as an editor or a deploy tool would.
pub fn write_by_rename(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Pids of live processes that carry `tag`.
pub fn tagged(tag: &str) -> Vec<i32> {
    let needle = format!("{TAG_VAR}={tag}\0").into_bytes();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.windows(needle.len()).any(|w| w == needle.as_slice()))
        })
        .collect()
}

/// Kills, by pid, every process that carries `tag`, until none is left
/// or `patience` has passed.
pub fn kill_tagged(tag: &str, patience: Duration) {
    let deadline = Instant::now() + patience;
    loop {
        let left = tagged(tag);
        if left.is_empty() || Instant::now() > deadline {
            break;
        }
        for p in left {
            // SAFETY: kill(2) on a process this run started.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Live (not zombie) haproxy processes running `config`.
pub fn haproxies(config: &Path) -> Vec<u32> {
    let config = config.to_string_lossy();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    let mut pids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            stat.contains("(haproxy) ")
                && !stat.contains(") Z ")
                && cmdline.split(|&b| b == 0).any(|a| a == config.as_bytes())
        })
        .collect();
    pids.sort();
    pids
}

/// The parent pid of `pid`, from /proc/PID/stat.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()
}

/// The inodes of the TCP sockets listening on 127.0.0.1:`port`, from
/// /proc/net/tcp. A listener handed over from one haproxy to the next
/// (-x, or a master's own) keeps its inode; one bound afresh does not.
pub fn listening_sockets(port: u16) -> Vec<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!("0100007F:{port:04X}");
    let mut inodes: Vec<u64> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local address, remote, state (0A: LISTEN), ..., inode
            (f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A"))
                .then(|| f.get(9)?.parse().ok())?
        })
        .collect();
    inodes.sort();
    inodes
}

/// Where one haproxy service lives: its port, configuration and run
/// directory.
#[derive(Clone, Copy)]
pub struct Layout<'a> {
    pub port: u16,
    pub config: &'a Path,
    pub rundir: &'a Path,
}

/// The state every reload must end in, seen from outside: `version`
/// served, and, for a handoff, the handoff pidfile consumed (no
/// `pidfile-read` leftovers either, nor a copy's pidfile) and exactly one
/// haproxy of `config`, the `supervised` one; for master-worker, the
/// supervised master and one worker, its child, and no probe's pidfile. The request comes first: a daemonized copy that
/// answered it is then either gone or seen as a second haproxy.
pub fn settled(
    at: &Layout,
    version: &str,
    supervised: Option<u32>,
    master_worker: bool,
) -> Result<u32, String> {
    let Layout {
        port,
        config,
        rundir,
    } = *at;
    match fetch(port) {
        Ok(body) if body == version => {}
        other => return Err(format!("serving {other:?}, not {version}")),
    }
    let hs = haproxies(config);
    let Some(supervised) = supervised.filter(|s| hs.contains(s)) else {
        return Err(format!("haproxies {hs:?}, supervised {supervised:?}"));
    };
    if master_worker {
        let workers = hs.iter().filter(|&&p| parent_of(p) == Some(supervised));
        if hs.len() != 2 || workers.count() != 1 {
            return Err(format!("haproxies {hs:?}, master {supervised}"));
        }
        if rundir.join("probe.pid").exists() {
            return Err("the probe's pidfile still there".into());
        }
        return Ok(supervised);
    }
    // A copy's pidfile is renamed to the handoff pidfile once the copy
    // runs, or removed when it failed.
    for left in ["handoff.pid", "copy.pid"] {
        if rundir.join(left).exists() {
            return Err(format!("{left} still there"));
        }
    }
    if hs.len() != 1 {
        return Err(format!("haproxies {hs:?}, supervised {supervised}"));
    }
    let litter: Vec<_> = std::fs::read_dir(rundir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .filter(|n| n.to_string_lossy().contains("pidfile-read"))
                .collect()
        })
        .unwrap_or_default();
    if !litter.is_empty() {
        return Err(format!("consumed pidfiles left behind: {litter:?}"));
    }
    Ok(supervised)
}

pub fn connect(port: u16) -> Result<TcpStream, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    Ok(s)
}

/// One request for / on a new connection: the body, or why it failed.
pub fn fetch(port: u16) -> Result<String, String> {
    fetch_path(port, "/", Duration::from_secs(5))
}

/// One request for `path` on a new connection, answered within
/// `patience`: the body, or why it failed.
pub fn fetch_path(port: u16, path: &str, patience: Duration) -> Result<String, String> {
    let mut s = connect(port)?;
    s.set_read_timeout(Some(patience)).ok();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: pidchain\r\n\r\n").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).map_err(|e| format!("read: {e}"))?;
    body(&resp).map(|(b, _)| b)
}

/// The body of a whole `200` response (HTTP/1.0 or 1.1), and whether the
/// server closes the connection after it.
fn body(resp: &[u8]) -> Result<(String, bool), String> {
    let text = String::from_utf8_lossy(resp);
    if !text.starts_with("HTTP/1.1 200") && !text.starts_with("HTTP/1.0 200") {
        return Err(format!("response: {:?}", text.lines().next().unwrap_or("")));
    }
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let close = head.to_ascii_lowercase().contains("connection: close");
    Ok((body.to_owned(), close))
}

/// One request on a kept-alive connection; Ok(true) when the server
/// closes the connection after this response. Counts reads interrupted
/// and read again in `interrupted`.
fn keep_alive_request(s: &mut TcpStream, interrupted: &mut u64) -> Result<bool, String> {
    s.write_all(b"GET / HTTP/1.1\r\nHost: pidchain\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        // EINTR is no failure: the client was stopped and continued (SIGSTOP,
        // a cgroup freeze, seen in CI) in a read with SO_RCVTIMEO, which
        // Linux does not restart. The request is still in flight; read on,
        // as read_to_end does for the new-connection client.
        let n = match s.read(&mut chunk) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {
                *interrupted += 1;
                continue;
            }
            r => r.map_err(|e| format!("read: {e}"))?,
        };
        if n == 0 {
            return Err("closed before a whole response".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            return body(&buf).map(|(_, close)| close);
        }
    }
}

/// A backend that answers every request after `delay`: requests kept in
/// flight across reloads. Its threads end with the process.
pub struct SlowBackend {
    pub port: u16,
    received: Arc<AtomicUsize>,
    released: Arc<(Mutex<bool>, std::sync::Condvar)>,
}

impl SlowBackend {
    /// Answers every request held, and each later one at once.
    pub fn release(&self) {
        let (lock, freed) = &*self.released;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        freed.notify_all();
    }

    /// Requests received so far (each then held for `delay`): how a test
    /// knows that a request is in flight.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}

pub fn slow_backend(delay: Duration) -> std::io::Result<SlowBackend> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let released = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let release = released.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let counter = counter.clone();
            let release = release.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let (lock, freed) = &*release;
                let held = lock.lock().unwrap_or_else(|e| e.into_inner());
                drop(freed.wait_timeout_while(held, delay, |released| !*released));
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow",
                );
            });
        }
    });
    Ok(SlowBackend {
        port,
        received,
        released,
    })
}

/// How a load client talks to haproxy. Neither ever retries: a request
/// that fails is counted failed, as wrk and most non-browser clients do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// A new connection per request.
    NewConnection,
    /// HTTP/1.1 requests on one connection, until the server closes it
    /// (`Connection: close`); then a new connection for the next request.
    KeepAlive,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub ok: u64,
    pub failed: u64,
    /// Connections opened: one per request, or for keep-alive far fewer.
    pub connections: u64,
    /// Keep-alive: responses after which the server closed the connection
    /// (`Connection: close`), as a soft-stopping haproxy does.
    pub closed_by_server: u64,
    /// Keep-alive: reads interrupted (EINTR: the client was stopped and
    /// continued) and read again. No request was sent again.
    pub interrupted: u64,
    /// The first few failures, with their reasons.
    pub failures: Vec<String>,
}

/// Load on 127.0.0.1:PORT from `connections` threads, each a `client`,
/// sending as fast as answers come (no pause between requests: the rate is
/// what the machine gives), bounded to `limit` in time whatever happens.
pub struct Load {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<Stats>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16, client: Client, connections: usize, limit: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(Stats::default()));
        let threads = (0..connections)
            .map(|_| {
                let (stop, stats) = (stop.clone(), stats.clone());
                std::thread::spawn(move || {
                    let end = Instant::now() + limit;
                    let mut conn: Option<TcpStream> = None;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                        let fresh = client == Client::NewConnection || conn.is_none();
                        let mut interrupted = 0;
                        let r = match client {
                            Client::NewConnection => fetch(port).map(|_| false),
                            Client::KeepAlive => one_kept_alive(port, &mut conn, &mut interrupted),
                        };
                        let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                        s.connections += u64::from(fresh);
                        s.interrupted += interrupted;
                        match r {
                            Ok(closed) => {
                                s.ok += 1;
                                s.closed_by_server +=
                                    u64::from(closed && client == Client::KeepAlive);
                            }
                            Err(e) => {
                                s.failed += 1;
                                if s.failures.len() < 10 {
                                    s.failures.push(e);
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            stats,
            threads,
        }
    }

    /// Requests answered and failed so far.
    pub fn counts(&self) -> (u64, u64) {
        let s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        (s.ok, s.failed)
    }

    pub fn finish(self) -> Stats {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        std::mem::take(&mut *self.stats.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// One request on `conn`, opened first if there is none; the connection
/// is dropped after a failure or when the server closes it (Ok(true)).
fn one_kept_alive(
    port: u16,
    conn: &mut Option<TcpStream>,
    interrupted: &mut u64,
) -> Result<bool, String> {
    let s = match conn {
        Some(s) => s,
        None => conn.insert(connect(port)?),
    };
    match keep_alive_request(s, interrupted) {
        Ok(false) => Ok(false),
        Ok(true) => {
            *conn = None;
            Ok(true)
        }
        Err(e) => {
            *conn = None;
            Err(e)
        }
    }
}
