//! Real haproxy for the recipe tests: a shipped example installed in a
//! temporary directory (only paths and the port rewritten), bounded load
//! on 127.0.0.1 with a new connection per request, and the haproxy
//! processes of one configuration found in /proc.

use super::supervisors::{Kind, Service};
use super::{
    Output, Procs, TAG_VAR, kill_tagged, new_tag, path_with_binaries, run, tempdir, wait_for,
    write_file,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The recipes in the source tree; `Install::from` takes others (an
/// installed package's).
pub const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

/// The two ways the recipes run haproxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// examples/KIND/haproxy: the supervised process is haproxy itself,
    /// reloaded by handoff through a daemonized copy.
    Handoff,
    /// examples/KIND/haproxy-mw: the supervised process is the master.
    MasterWorker,
}

/// How long a test's reload may wait for the takeover (the recipes' TIMEOUT,
/// set lower than the harness's deadline so that a failure is the recipe's).
pub const RELOAD_TIMEOUT_MS: u32 = 15000;

pub struct Install {
    /// Carried by what the reloads start (a daemonized haproxy outlives
    /// the command), so that it is killed with the Install, pass or fail.
    tag: String,
    pub kind: Kind,
    pub mode: Mode,
    pub root: tempfile::TempDir,
    pub svc: PathBuf,
    pub rundir: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    /// Where the recipe and haproxy.cfg were copied from.
    examples: PathBuf,
    /// PATH for the supervisor and the reload: where they find pidchain.
    path: std::ffi::OsString,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            super::writing(|| std::fs::copy(e.path(), &dest)).unwrap();
        }
    }
}

/// Sets `name` in a shipped script: `NAME=value` in sh, `define NAME value`
/// in execline. Fails if the script does not have it where expected.
fn set_variable(script: &Path, name: &str, value: &str) {
    let text = std::fs::read_to_string(script).unwrap();
    let (sh, el) = (format!("{name}="), format!("define {name} "));
    let mut found = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&sh) {
                found = true;
                format!("{sh}{value}")
            } else if l.starts_with(&el) {
                found = true;
                format!("{el}{value}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(found, "{} sets no {name}", script.display());
    super::writing(|| std::fs::write(script, out.join("\n") + "\n")).unwrap();
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Install {
    /// examples/KIND/haproxy and examples/haproxy.cfg, with only the
    /// paths and the port rewritten; the response says `version`.
    pub fn new(kind: Kind, version: &str) -> Install {
        Install::with_mode(kind, Mode::Handoff, version)
    }

    pub fn with_mode(kind: Kind, mode: Mode, version: &str) -> Install {
        Install::from(
            Path::new(EXAMPLES),
            path_with_binaries(),
            kind,
            mode,
            version,
        )
    }

    /// The recipe from `examples`, run with `path` as PATH.
    pub fn from(
        examples: &Path,
        path: std::ffi::OsString,
        kind: Kind,
        mode: Mode,
        version: &str,
    ) -> Install {
        let root = tempdir();
        let dir = match kind {
            Kind::Runit => "runit",
            Kind::S6 => "s6",
            Kind::Daemontools => "daemontools",
        };
        let recipe = match mode {
            Mode::Handoff => "haproxy",
            Mode::MasterWorker => "haproxy-mw",
        };
        let svc = root.path().join("haproxy");
        copy_tree(&examples.join(dir).join(recipe), &svc);
        let rundir = root.path().join("run");
        let config = root.path().join("haproxy.cfg");
        let inst = Install {
            tag: new_tag(),
            kind,
            mode,
            svc,
            rundir,
            config,
            port: free_port(),
            root,
            examples: examples.to_owned(),
            path,
        };
        inst.set_version(version);
        for script in ["run", "reload"] {
            let p = inst.svc.join(script);
            set_variable(&p, "CONFIG", inst.config.to_str().unwrap());
            set_variable(&p, "RUNDIR", inst.rundir.to_str().unwrap());
            if script == "reload" {
                set_variable(&p, "SERVICE", inst.svc.to_str().unwrap());
                set_variable(&p, "TIMEOUT", &RELOAD_TIMEOUT_MS.to_string());
            }
        }
        if inst.svc.join("finish").exists() {
            set_variable(
                &inst.svc.join("finish"),
                "RUNDIR",
                inst.rundir.to_str().unwrap(),
            );
        }
        inst
    }

    pub fn set_version(&self, version: &str) {
        let cfg = std::fs::read_to_string(self.examples.join("haproxy.cfg")).unwrap();
        let cfg = cfg
            .replace("/run/haproxy", self.rundir.to_str().unwrap())
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", self.port))
            .replace("served by pidchain", version);
        self.write_config(cfg.as_bytes());
    }

    /// Replaced by rename, as an editor or a deploy tool would.
    pub fn write_config(&self, text: &[u8]) {
        let tmp = self.config.with_extension("new");
        write_file(&tmp, text, 0o644);
        std::fs::rename(&tmp, &self.config).unwrap();
    }

    pub fn start(&self, procs: &mut Procs) -> Service {
        Service::start_with_path(procs, self.kind, &self.svc, &self.path)
    }

    pub fn handoff(&self) -> PathBuf {
        self.rundir.join("handoff.pid")
    }

    /// The shipped reload script, as root would run it.
    pub fn reload_command(&self) -> Command {
        let mut c = Command::new(self.svc.join("reload"));
        c.env("PATH", &self.path).env(TAG_VAR, &self.tag);
        c
    }

    /// What this Install's reload commands started that still runs and is
    /// not an haproxy of this configuration: a killed reload's children
    /// (a check, the subshell starting the copy) finish their work.
    pub fn reload_leftovers(&self) -> Vec<i32> {
        let haproxies = self.haproxies();
        super::tagged(&self.tag)
            .into_iter()
            .filter(|&p| !haproxies.contains(&(p as u32)))
            .filter(|p| {
                // Zombies have done their work.
                !std::fs::read_to_string(format!("/proc/{p}/stat"))
                    .is_ok_and(|s| s.contains(") Z "))
            })
            .collect()
    }

    pub fn reload(&self) -> Output {
        run(&mut self.reload_command())
    }

    /// Live (not zombie) haproxy processes running this configuration.
    pub fn haproxies(&self) -> Vec<u32> {
        let config = self.config.to_str().unwrap();
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

    /// The daemonized copy a reload started: the haproxy of this
    /// configuration started with -D. It runs when reload returns, and
    /// until the restarted supervised haproxy takes over from it, at least
    /// a second later (each supervisor waits that long to restart a
    /// service that ran for less than a second).
    pub fn daemonized_copy(&self) -> u32 {
        self.haproxies()
            .into_iter()
            .find(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == b"-D"))
            })
            .expect("the daemonized copy runs when reload returns")
    }

    /// One request on a new connection: the body, or why it failed.
    pub fn fetch(&self) -> Result<String, String> {
        fetch(self.port)
    }

    /// The state every reload must end in: the handoff pidfile consumed,
    /// exactly one haproxy for this configuration, the one the supervisor
    /// runs, serving `version`. The request comes first: a daemonized copy
    /// that answered it is then either gone (a new supervised haproxy took
    /// over from it) or seen as a second haproxy, never mistaken for done.
    pub fn settled(&self, svc: &Service, version: &str) -> Result<u32, String> {
        match self.fetch() {
            Ok(body) if body == version => {}
            other => return Err(format!("serving {other:?}, not {version}")),
        }
        if self.mode == Mode::MasterWorker {
            // The supervised master and one worker, its child.
            let hs = self.haproxies();
            let master = svc.reported_pid();
            let workers: Vec<u32> = hs
                .iter()
                .copied()
                .filter(|&p| Some(p) != master && parent_of(p) == master)
                .collect();
            if hs.len() != 2 || master.is_none_or(|m| !hs.contains(&m)) || workers.len() != 1 {
                return Err(format!("haproxies {hs:?}, supervised {master:?}"));
            }
            return Ok(master.unwrap_or_default());
        }
        if self.handoff().exists() {
            return Err("handoff pidfile still there".into());
        }
        let hs = self.haproxies();
        let supervised = svc.reported_pid();
        if hs.len() != 1 || supervised != Some(hs[0]) {
            return Err(format!("haproxies {hs:?}, supervised {supervised:?}"));
        }
        let litter: Vec<_> = std::fs::read_dir(&self.rundir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().contains("pidfile-read"))
                    .collect()
            })
            .unwrap_or_default();
        if !litter.is_empty() {
            return Err(format!("consumed pidfiles left behind: {litter:?}"));
        }
        Ok(hs[0])
    }

    /// Settled, and still so on a second look.
    pub fn wait_settled(&self, svc: &Service, version: &str) -> u32 {
        let mut last = Err(String::new());
        wait_for(&format!("{:?} to settle on {version}", self.kind), || {
            last = self.settled(svc, version);
            last.is_ok() && self.settled(svc, version) == last
        });
        last.unwrap_or_default()
    }
}
/// The parent pid of `pid`, from /proc/PID/stat.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()
}

impl Drop for Install {
    fn drop(&mut self) {
        kill_tagged(&self.tag);
    }
}

pub fn fetch(port: u16) -> Result<String, String> {
    fetch_path(port, "/", Duration::from_secs(5))
}

#[derive(Debug, Default)]
pub struct Stats {
    pub ok: u64,
    pub failed: u64,
    /// The first few failures, with their reasons.
    pub failures: Vec<String>,
}

/// Steady load: `clients` threads, each a new connection per request, a
/// millisecond apart; bounded to `limit` in time whatever happens.
pub struct Load {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<Stats>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16, clients: usize, limit: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(Stats::default()));
        let threads = (0..clients)
            .map(|_| {
                let (stop, stats) = (stop.clone(), stats.clone());
                std::thread::spawn(move || {
                    let end = Instant::now() + limit;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                        let r = fetch(port);
                        let mut s = stats.lock().unwrap();
                        match r {
                            Ok(_) => s.ok += 1,
                            Err(e) => {
                                s.failed += 1;
                                if s.failures.len() < 10 {
                                    s.failures.push(e);
                                }
                            }
                        }
                        drop(s);
                        std::thread::sleep(Duration::from_millis(1));
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

    pub fn finish(self) -> Stats {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        std::mem::take(&mut *self.stats.lock().unwrap())
    }
}

/// A backend that answers every request after `delay`: requests kept in
/// flight across reloads. Its threads end with the test process.
pub fn slow_backend(delay: Duration) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
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
    port
}

impl Install {
    /// The shipped configuration, plus `/slow` sent to a backend on
    /// `backend_port`.
    pub fn set_version_with_slow_backend(&self, version: &str, backend_port: u16) {
        let cfg = std::fs::read_to_string(self.examples.join("haproxy.cfg")).unwrap();
        let answer = "string \"served by pidchain\"";
        assert!(cfg.contains(answer), "examples/haproxy.cfg changed");
        let cfg = cfg
            .replace("/run/haproxy", self.rundir.to_str().unwrap())
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", self.port))
            .replace(
                answer,
                &format!("string \"{version}\" if !{{ path_beg /slow }}\n    use_backend slow if {{ path_beg /slow }}"),
            )
            + &format!("\nbackend slow\n    server s 127.0.0.1:{backend_port}\n");
        self.write_config(cfg.as_bytes());
    }

    /// The shipped configuration, plus a second address that `haproxy -c`
    /// accepts but a start cannot bind (the test holds it).
    pub fn set_version_with_taken_address(&self, version: &str, taken: u16) {
        self.set_version(version);
        let cfg = std::fs::read_to_string(&self.config).unwrap();
        let bind = format!("    bind 127.0.0.1:{}\n", self.port);
        assert!(cfg.contains(&bind));
        let cfg = cfg.replace(&bind, &format!("{bind}    bind 127.0.0.1:{taken}\n"));
        self.write_config(cfg.as_bytes());
    }

    /// The shipped configuration, plus a map of `lines` entries looked up
    /// on every request: an haproxy that takes a while to load and start.
    pub fn set_version_with_large_map(&self, version: &str, lines: usize) {
        let map = self.root.path().join("large.map");
        let text: String = (0..lines)
            .map(|i| format!("/path/{i} value{i}\n"))
            .collect();
        write_file(&map, text.as_bytes(), 0o644);
        self.set_version(version);
        let cfg = std::fs::read_to_string(&self.config).unwrap();
        let answer = "    http-request return";
        assert!(cfg.contains(answer), "examples/haproxy.cfg changed");
        let lookup = format!(
            "    http-request set-var(txn.mapped) path,map({})\n{answer}",
            map.display()
        );
        self.write_config(cfg.replacen(answer, &lookup, 1).as_bytes());
    }

    /// The master's reload count, as its CLI says (master-worker mode).
    /// Its CLI can refuse a connection for a moment, as the recipes' own
    /// first question allows for too.
    pub fn master_reloads(&self) -> u64 {
        let o = run(Command::new(super::HAPROXY_RELOADS)
            .args(["-w", "10000"])
            .arg(self.rundir.join("master.sock")));
        assert_eq!(o.code(), 0, "{o:?}");
        o.out().trim().parse().expect("a count")
    }
}

/// One request for `path` on a new connection, answered within
/// `patience`: the body, or why it failed.
pub fn fetch_path(port: u16, path: &str, patience: Duration) -> Result<String, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(patience)).ok();
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: pidchain\r\n\r\n").as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).map_err(|e| format!("read: {e}"))?;
    let resp = String::from_utf8_lossy(&resp);
    if !resp.starts_with("HTTP/1.1 200") && !resp.starts_with("HTTP/1.0 200") {
        return Err(format!("response: {:?}", resp.lines().next().unwrap_or("")));
    }
    Ok(resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default())
}
