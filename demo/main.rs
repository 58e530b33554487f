//! The pidchain demonstration: a throwaway haproxy service under runit
//! (and s6, where installed) on a loopback port, reloaded N times under
//! steady load through the shipped recipes, with a report at the end.
//! Run with `make try`; `make try RELOADS=30` for more. Every process it
//! starts is killed when it ends, Ctrl-C included.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Tags every process the demo starts, so that all of them, daemonized
/// haproxy copies included, are found in /proc and killed at the end.
const TAG: &str = "PIDCHAIN_DEMO_TAG";

struct Workspace {
    dir: PathBuf,
    tag: String,
    supervisors: Vec<Child>,
}

impl Drop for Workspace {
    fn drop(&mut self) {
        for c in &mut self.supervisors {
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
                // SAFETY: kill(2) on a process this demo started.
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

fn have(tool: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(tool).is_file())
}

struct Flavour {
    name: &'static str,
    supervisor: &'static str,
    needs: &'static [(&'static str, &'static str)],
}

const RUNIT: Flavour = Flavour {
    name: "runit",
    supervisor: "runsv",
    needs: &[("runsv", "runit"), ("chpst", "runit")],
};
const S6: Flavour = Flavour {
    name: "s6",
    supervisor: "s6-supervise",
    needs: &[
        ("s6-supervise", "s6"),
        ("execlineb", "execline"),
        ("flock", "util-linux"),
    ],
};

fn main() {
    // SAFETY: installs a handler that only stores to an atomic.
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
    let reloads: usize = std::env::var("RELOADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tools = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.to_path_buf()))
        .unwrap_or_default();
    if !tools.join("sv-pid").is_file() {
        eprintln!("demo: build the tools first: make try");
        std::process::exit(100);
    }
    let path = std::env::join_paths(std::iter::once(tools.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap_or_default();
    // SAFETY: single-threaded here; the children inherit this PATH.
    unsafe { std::env::set_var("PATH", &path) };

    let mut missing: Vec<&str> = [("haproxy", "haproxy")]
        .iter()
        .chain(RUNIT.needs)
        .filter(|(t, _)| !have(t))
        .map(|(_, p)| *p)
        .collect();
    missing.dedup();
    if !missing.is_empty() {
        eprintln!("demo: missing: apt-get install {}", missing.join(" "));
        std::process::exit(100);
    }
    let mut flavours = vec![RUNIT];
    match S6
        .needs
        .iter()
        .filter(|(t, _)| !have(t))
        .map(|(_, p)| *p)
        .collect::<Vec<_>>()
    {
        m if m.is_empty() => flavours.push(S6),
        m => println!(
            "(s6 skipped: apt-get install {} to see it too)",
            m.join(" ")
        ),
    }

    println!(
        "pidchain demo: haproxy under a supervisor, {reloads} reloads under load, no connection refused\n"
    );
    let mut reports = Vec::new();
    for f in flavours {
        if interrupted() {
            break;
        }
        match run(&f, root, reloads) {
            Ok(r) => reports.push(r),
            Err(_) if interrupted() => break,
            Err(e) => {
                eprintln!("\ndemo: {}: {e}", f.name);
                std::process::exit(1);
            }
        }
    }
    if interrupted() {
        println!("\ninterrupted: every process the demo started was stopped");
        std::process::exit(130);
    }
    println!();
    println!(
        "{:<7} {:>8} {:>9} {:>7} {:>14} {:>14} {:>18}",
        "", "reloads", "requests", "failed", "new config in", "supervised in", "supervised pid"
    );
    for r in &reports {
        println!(
            "{:<7} {:>8} {:>9} {:>7} {:>11.1} ms {:>11.1} ms {:>8} -> {:<8}",
            r.name,
            r.reloads,
            r.requests,
            r.failed,
            r.serving_ms,
            r.settled_ms,
            r.pid_before,
            r.pid_after
        );
    }
    println!("\nmedians per reload: \"new config in\" is until the new configuration answers;");
    println!("\"supervised in\" until the supervisor runs it again (a supervisor waits 1 s");
    println!("before restarting a service that ran less than a second).");
}

struct Report {
    name: &'static str,
    reloads: usize,
    requests: u64,
    failed: u64,
    serving_ms: f64,
    settled_ms: f64,
    pid_before: u32,
    pid_after: u32,
}

fn run(f: &Flavour, root: &Path, reloads: usize) -> Result<Report, String> {
    let dir = std::env::temp_dir().join(format!("pidchain-demo.{}.{}", std::process::id(), f.name));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut ws = Workspace {
        dir: dir.clone(),
        tag: format!("{}-{}", std::process::id(), f.name),
        supervisors: vec![],
    };
    let svc = dir.join("haproxy");
    let rundir = dir.join("run");
    let config = dir.join("haproxy.cfg");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    copy_tree(&root.join("examples").join(f.name).join("haproxy"), &svc)
        .map_err(|e| e.to_string())?;
    for script in ["run", "reload"] {
        let p = svc.join(script);
        set_variable(&p, "CONFIG", &config.to_string_lossy())?;
        set_variable(&p, "RUNDIR", &rundir.to_string_lossy())?;
        if script == "reload" {
            set_variable(&p, "SERVICE", &svc.to_string_lossy())?;
        }
    }
    let template =
        std::fs::read_to_string(root.join("examples/haproxy.cfg")).map_err(|e| e.to_string())?;
    let write_config = |version: &str| {
        let text = template
            .replace("/run/haproxy", &rundir.to_string_lossy())
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
            .replace("served by pidchain", version);
        let tmp = config.with_extension("new");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &config))
            .map_err(|e| e.to_string())
    };
    write_config("v0")?;

    let log = std::fs::File::create(dir.join("supervisor.log")).map_err(|e| e.to_string())?;
    let child = Command::new(f.supervisor)
        .arg(&svc)
        .env(TAG, &ws.tag)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("unable to start {}: {e}", f.supervisor))?;
    ws.supervisors.push(child);
    let sv_pid = || -> Option<u32> {
        let o = Command::new("sv-pid").arg("-o").arg(&svc).output().ok()?;
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    };
    let settled = |version: &str| -> Option<u32> {
        (fetch(port).ok()? == version && !rundir.join("handoff.pid").exists()).then_some(())?;
        let hs = haproxies(&config);
        let s = sv_pid()?;
        (hs == [s]).then_some(s)
    };
    let pid_before = wait("haproxy to start", Duration::from_secs(20), || {
        settled("v0")
    })?;

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..2)
        .map(|_| {
            let (ok, failed, stop) = (ok.clone(), failed.clone(), stop.clone());
            std::thread::spawn(move || {
                let end = Instant::now() + Duration::from_secs(600);
                while !stop.load(Ordering::Relaxed) && !interrupted() && Instant::now() < end {
                    match fetch(port) {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();

    let (mut serving, mut settled_times) = (Vec::new(), Vec::new());
    let mut pid_after = pid_before;
    for i in 1..=reloads {
        if interrupted() {
            break;
        }
        let version = format!("v{i}");
        write_config(&version)?;
        let start = Instant::now();
        let out = Command::new(svc.join("reload"))
            .env(TAG, &ws.tag)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "reload failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        wait("the new configuration", Duration::from_secs(20), || {
            (fetch(port).ok()? == version).then_some(())
        })?;
        serving.push(start.elapsed());
        pid_after = wait("the supervised haproxy", Duration::from_secs(20), || {
            settled(&version)
        })?;
        settled_times.push(start.elapsed());
        print!(
            "\r{:<6} reload {i}/{reloads}: {} requests, {} failed, supervised pid {pid_after}   ",
            f.name,
            ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed)
        );
        let _ = std::io::stdout().flush();
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        let _ = t.join();
    }
    println!();
    let median_ms = |v: &mut Vec<Duration>| {
        v.sort();
        v.get(v.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Report {
        name: f.name,
        reloads: serving.len(),
        requests: ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        serving_ms: median_ms(&mut serving),
        settled_ms: median_ms(&mut settled_times),
        pid_before,
        pid_after,
    })
}

/// Polls `f` until it gives a value, the time runs out, or Ctrl-C.
fn wait<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T, String> {
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
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn fetch(port: u16) -> Result<String, String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).map_err(|e| e.to_string())?;
    let resp = String::from_utf8_lossy(&resp);
    if !resp.starts_with("HTTP/1.1 200") {
        return Err("bad response".into());
    }
    Ok(resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default())
}

/// Live haproxy processes running this configuration.
fn haproxies(config: &Path) -> Vec<u32> {
    let config = config.to_string_lossy();
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
    let out: Vec<String> = text
        .lines()
        .map(|l| match () {
            () if l.starts_with(&sh) => format!("{sh}{value}"),
            () if l.starts_with(&el) => format!("{el}{value}"),
            () => l.to_owned(),
        })
        .collect();
    std::fs::write(script, out.join("\n") + "\n").map_err(|e| e.to_string())
}
