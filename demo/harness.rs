//! What the demonstration and the reload benchmark share: a throwaway
//! haproxy service in a temporary directory on a loopback port, load on
//! it, and the cleanup of every process started, Ctrl-C included.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn catch_interrupts() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn have(tool: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(tool).is_file())
}

/// Puts the built pidchain programs (beside target/*/examples/) first in
/// PATH, for this process and everything it starts.
pub fn use_built_tools() -> Result<(), String> {
    let tools = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.to_path_buf()))
        .unwrap_or_default();
    if !tools.join("sv-pid").is_file() {
        return Err("build the tools first (make try, make bench-reload)".into());
    }
    let old = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(tools).chain(std::env::split_paths(&old)))
        .map_err(|e| e.to_string())?;
    // SAFETY: called before any thread is started.
    unsafe { std::env::set_var("PATH", path) };
    Ok(())
}

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Tags every process started, so that all of them, daemonized haproxy
/// copies included, are found in /proc and killed at the end.
const TAG: &str = "PIDCHAIN_DEMO_TAG";

/// A service directory under a supervisor, with its haproxy configuration.
pub struct Service {
    pub dir: PathBuf,
    pub svc: PathBuf,
    pub rundir: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    tag: String,
    supervisor: Option<Child>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(c) = &mut self.supervisor {
            let _ = c.kill();
            let _ = c.wait();
        }
        let needle = format!("{TAG}={}\0", self.tag).into_bytes();
        for _ in 0..100 {
            let left = tagged(&needle);
            if left.is_empty() {
                break;
            }
            for p in left {
                // SAFETY: kill(2) on a process this program started.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tagged(needle: &[u8]) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/environ"))
                .is_ok_and(|e| e.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

impl Service {
    /// An empty service directory named `name`, and a free loopback port.
    pub fn new(name: &str) -> Result<Service, String> {
        let tag = format!("{}-{name}", std::process::id());
        let dir = std::env::temp_dir().join(format!("pidchain-demo.{tag}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        Ok(Service {
            svc: dir.join("haproxy"),
            rundir: dir.join("run"),
            config: dir.join("haproxy.cfg"),
            dir,
            port,
            tag,
            supervisor: None,
        })
    }

    /// The shipped recipe `examples/FLAVOUR/haproxy`, paths rewritten.
    pub fn install_recipe(&self, flavour: &str) -> Result<(), String> {
        self.install_recipe_from(flavour, "haproxy")
    }

    /// `examples/FLAVOUR/RECIPE` (`haproxy` or `haproxy-mw`), paths rewritten.
    pub fn install_recipe_from(&self, flavour: &str, recipe: &str) -> Result<(), String> {
        copy_tree(
            &Path::new(ROOT).join("examples").join(flavour).join(recipe),
            &self.svc,
        )
        .map_err(|e| e.to_string())?;
        for script in ["run", "reload"] {
            let p = self.svc.join(script);
            set_variable(&p, "CONFIG", &self.config.to_string_lossy())?;
            set_variable(&p, "RUNDIR", &self.rundir.to_string_lossy())?;
            if script == "reload" {
                set_variable(&p, "SERVICE", &self.svc.to_string_lossy())?;
            }
        }
        if self.svc.join("finish").exists() {
            set_variable(
                &self.svc.join("finish"),
                "RUNDIR",
                &self.rundir.to_string_lossy(),
            )?;
        }
        Ok(())
    }

    /// A service directory whose run script is `run` (`$CONFIG` in it replaced).
    pub fn install_run(&self, run: &str) -> Result<(), String> {
        std::fs::create_dir_all(&self.svc).map_err(|e| e.to_string())?;
        let p = self.svc.join("run");
        std::fs::write(&p, run.replace("$CONFIG", &self.config.to_string_lossy()))
            .map_err(|e| e.to_string())?;
        Command::new("chmod")
            .arg("+x")
            .arg(&p)
            .status()
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    /// examples/haproxy.cfg with this service's paths and port, answering `version`.
    pub fn write_config(&self, version: &str) -> Result<(), String> {
        self.write_config_with(version, None)
    }

    /// The same, and with a backend on `slow` port, `/slow` sent to it.
    pub fn write_config_with(&self, version: &str, slow: Option<u16>) -> Result<(), String> {
        let template = std::fs::read_to_string(Path::new(ROOT).join("examples/haproxy.cfg"))
            .map_err(|e| e.to_string())?;
        let mut text = template
            .replace("/run/haproxy", &self.rundir.to_string_lossy())
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", self.port));
        text = match slow {
            None => text.replace("served by pidchain", version),
            Some(port) => {
                text.replace(
                    "string \"served by pidchain\"",
                    &format!("string \"{version}\" if !{{ path_beg /slow }}\n    use_backend slow if {{ path_beg /slow }}"),
                ) + &format!("\nbackend slow\n    server s 127.0.0.1:{port}\n")
            }
        };
        std::fs::create_dir_all(&self.rundir).map_err(|e| e.to_string())?;
        let tmp = self.config.with_extension("new");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.config))
            .map_err(|e| e.to_string())
    }

    pub fn start(&mut self, supervisor: &str) -> Result<(), String> {
        let log =
            std::fs::File::create(self.dir.join("supervisor.log")).map_err(|e| e.to_string())?;
        let child = Command::new(supervisor)
            .arg(&self.svc)
            .env(TAG, &self.tag)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("unable to start {supervisor}: {e}"))?;
        self.supervisor = Some(child);
        Ok(())
    }

    /// Starts a command (a reload) tagged as this service's.
    pub fn spawn_command(&self, program: &Path) -> Result<std::process::Child, String> {
        Command::new(program)
            .env(TAG, &self.tag)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())
    }

    /// Runs a command (a reload) tagged as this service's, to completion.
    pub fn command(&self, program: &Path, args: &[&Path]) -> Result<(), String> {
        let out = Command::new(program)
            .args(args)
            .env(TAG, &self.tag)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// How many lines the supervisor and haproxy printed contain `text`.
    pub fn log_count(&self, text: &str) -> usize {
        std::fs::read_to_string(self.dir.join("supervisor.log"))
            .unwrap_or_default()
            .matches(text)
            .count()
    }

    /// The last lines the supervisor and haproxy printed, for an error.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("supervisor.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    pub fn supervised_pid(&self) -> Option<u32> {
        let o = Command::new("sv-pid")
            .arg("-o")
            .arg(&self.svc)
            .output()
            .ok()?;
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    }

    /// Live haproxy processes running this configuration.
    pub fn haproxies(&self) -> Vec<u32> {
        let config = self.config.to_string_lossy();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return vec![];
        };
        dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|p| {
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                stat.contains("(haproxy) ")
                    && !stat.contains(") Z ")
                    && cmd.split(|&b| b == 0).any(|a| a == config.as_bytes())
            })
            .collect()
    }

    pub fn serves(&self, version: &str) -> bool {
        fetch(self.port).is_ok_and(|b| b == version)
    }

    /// After a handoff: the new version served, the handoff pidfile
    /// consumed, one haproxy, and it is the supervised one.
    pub fn handed_over(&self, version: &str) -> Option<u32> {
        (self.serves(version) && !self.rundir.join("handoff.pid").exists()).then_some(())?;
        let s = self.supervised_pid()?;
        (self.haproxies() == [s]).then_some(s)
    }
}

/// Polls `f` until it gives a value, the time runs out, or Ctrl-C.
pub fn wait<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T, String> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if interrupted() {
            return Err("interrupted".into());
        }
        if Instant::now() > end {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: pidchain\r\n\r\n";

/// One request on a new connection: the body.
/// A backend that answers every request after `delay`, on a free port:
/// requests kept in flight across reloads. Its threads end with the demo.
pub fn slow_backend(delay: Duration) -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                std::thread::sleep(delay);
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow",
                );
            });
        }
    });
    Ok(port)
}

pub fn fetch(port: u16) -> Result<String, String> {
    fetch_path(port, "/")
}

/// One request for `path` on a new connection (answered within 60 s for
/// /slow, 5 s otherwise): the body, or why it failed.
pub fn fetch_path(port: u16, path: &str) -> Result<String, String> {
    let mut s = connect(port)?;
    if path != "/" {
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
    }
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).map_err(|e| e.to_string())?;
    body(&resp)
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )
    .map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

fn body(resp: &[u8]) -> Result<String, String> {
    let resp = String::from_utf8_lossy(resp);
    if !resp.starts_with("HTTP/1.1 200") {
        return Err(format!("response {:?}", resp.lines().next().unwrap_or("")));
    }
    Ok(resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default())
}

/// One request on a kept-alive connection. Ok(true) when the server
/// will close it after this response.
fn keep_alive_request(s: &mut TcpStream) -> Result<bool, String> {
    s.write_all(REQUEST).map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
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
            body(&buf)?;
            return Ok(head.contains("connection: close"));
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LoadKind {
    /// A new connection per request.
    NewConnection,
    /// HTTP/1.1 keep-alive; a request that finds its connection closed
    /// by the server is retried once on a new one, as clients do.
    KeepAlive,
}

/// Steady load from two clients, a millisecond between requests, bounded
/// in time whatever happens.
pub struct Load {
    pub ok: Arc<AtomicU64>,
    pub failed: Arc<AtomicU64>,
    pub retried: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16, kind: LoadKind) -> Load {
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let retried = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..2)
            .map(|_| {
                let (ok, failed, retried, stop) =
                    (ok.clone(), failed.clone(), retried.clone(), stop.clone());
                std::thread::spawn(move || {
                    let end = Instant::now() + Duration::from_secs(1800);
                    let mut conn: Option<TcpStream> = None;
                    while !stop.load(Ordering::Relaxed) && !interrupted() && Instant::now() < end {
                        let result = match kind {
                            LoadKind::NewConnection => fetch(port).map(drop),
                            LoadKind::KeepAlive => {
                                let fresh = conn.is_none();
                                let attempt = |conn: &mut Option<TcpStream>| -> Result<(), String> {
                                    let s = match conn {
                                        Some(s) => s,
                                        None => conn.insert(connect(port)?),
                                    };
                                    match keep_alive_request(s) {
                                        Ok(close) => {
                                            if close {
                                                *conn = None;
                                            }
                                            Ok(())
                                        }
                                        Err(e) => {
                                            *conn = None;
                                            Err(e)
                                        }
                                    }
                                };
                                match attempt(&mut conn) {
                                    Err(_) if !fresh => {
                                        retried.fetch_add(1, Ordering::Relaxed);
                                        attempt(&mut conn)
                                    }
                                    r => r,
                                }
                            }
                        };
                        match result {
                            Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                            Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                        };
                        std::thread::sleep(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        Load {
            ok,
            failed,
            retried,
            stop,
            threads,
        }
    }

    pub fn requests(&self) -> u64 {
        self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    pub fn finish(self) -> (u64, u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.retried.load(Ordering::Relaxed),
        )
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// `NAME=value` in sh, `define NAME value` in execline.
fn set_variable(script: &Path, name: &str, value: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(script).map_err(|e| e.to_string())?;
    let (sh, el) = (format!("{name}="), format!("define {name} "));
    let mut found = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&sh) || l.starts_with(&el) {
                found = true;
                format!("{}{value}", if l.starts_with(&sh) { &sh } else { &el })
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !found {
        return Err(format!("{} sets no {name}", script.display()));
    }
    std::fs::write(script, out.join("\n") + "\n").map_err(|e| e.to_string())
}

/// Removes `-x "$SOCKET"` (sh) or `-x ${SOCKET}` (execline) from a recipe.
pub fn without_socket_transfer(script: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(script).map_err(|e| e.to_string())?;
    let out = text
        .replace(" -x \"$SOCKET\"", "")
        .replace(" -x ${SOCKET}", "");
    if out == text {
        return Err(format!("{} passes no -x", script.display()));
    }
    std::fs::write(script, out).map_err(|e| e.to_string())
}

pub fn median_p99(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (at(0.5), at(0.99))
}
