//! The reload benchmark: each way of reloading a supervised haproxy, run
//! side by side under the same steady load (a new connection per
//! request, then keep-alive), RELOADS times (20) each. For each: failed
//! requests per 100 reloads, time from the reload command to its exit and
//! to the new configuration answering (median and p99), and haproxy
//! processes left over once it has settled. Then the drain: slow requests
//! kept in flight through back-to-back reloads, time per reload.

use crate::harness::{Client, Load, slow_backend};
use crate::service::{Service, interrupted, median_p99, wait, without_socket_transfer};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Method {
    /// `sv restart`: stop, then start with the new configuration.
    Restart,
    /// The shipped recipe, with or without -x socket transfer.
    Handoff {
        flavour: &'static str,
        supervisor: &'static str,
        seamless: bool,
    },
    /// pidchain 0.1's runit reload: fire and forget, the reload lock held
    /// by the daemonized copy until it exits.
    OldHandoff,
    /// haproxy -W under runit, reloaded with SIGUSR2 (`sv 2`).
    MasterWorker,
    /// examples/runit/haproxy-mw: the verified master-worker reload.
    MasterWorkerVerified,
}

/// pidchain 0.1's runit reload, for comparison (paths set as in the recipe).
const OLD_RELOAD: &str = r#"#!/bin/sh
SERVICE=@SVC@
HAPROXY=/usr/sbin/haproxy
CONFIG=@CONFIG@
RUNDIR=@RUNDIR@
HANDOFF=$RUNDIR/handoff.pid
SOCKET=$RUNDIR/admin.sock
LOCK=$RUNDIR/reload.lock
"$HAPROXY" -c -f "$CONFIG" >/dev/null || exit 1
[ "$(stat -f -c %f "$RUNDIR")" -gt 0 ] || { echo "reload: $RUNDIR is full" >&2; exit 1; }
exec chpst -l "$LOCK" \
  sv-pid "$SERVICE" \
  haproxy-sf -r -x "$SOCKET" \
  "$HAPROXY" -D -p "$HANDOFF" -f "$CONFIG"
"#;

impl Method {
    fn name(self) -> String {
        match self {
            Method::Restart => "sv restart (naive), runit".into(),
            Method::Handoff {
                flavour, seamless, ..
            } => {
                format!(
                    "pidchain 0.2 handoff{}, {flavour}",
                    if seamless { " -x" } else { "" }
                )
            }
            Method::OldHandoff => "pidchain 0.1 handoff -x, runit".into(),
            Method::MasterWorker => "master-worker, bare sv 2, runit".into(),
            Method::MasterWorkerVerified => "pidchain 0.2 master-worker, runit".into(),
        }
    }

    /// haproxy processes of one configuration once it has settled.
    fn expected(self) -> usize {
        match self {
            Method::MasterWorker | Method::MasterWorkerVerified => 2,
            _ => 1,
        }
    }
}

const METHODS: [Method; 8] = [
    Method::Restart,
    Method::OldHandoff,
    Method::Handoff {
        flavour: "runit",
        supervisor: "runsv",
        seamless: false,
    },
    Method::Handoff {
        flavour: "s6",
        supervisor: "s6-supervise",
        seamless: false,
    },
    Method::Handoff {
        flavour: "runit",
        supervisor: "runsv",
        seamless: true,
    },
    Method::Handoff {
        flavour: "s6",
        supervisor: "s6-supervise",
        seamless: true,
    },
    Method::MasterWorker,
    Method::MasterWorkerVerified,
];

struct Row {
    method: String,
    load: &'static str,
    reloads: usize,
    requests: u64,
    failed: u64,
    exit: Vec<Duration>,
    serving: Vec<Duration>,
    lost: usize,
    unsettled: usize,
    left_over: usize,
}

pub fn main(reloads: usize) -> Result<(), String> {
    let missing = crate::missing(&[
        ("haproxy", "haproxy"),
        ("runsv", "runit"),
        ("s6-supervise", "s6"),
        ("execlineb", "execline"),
        ("flock", "util-linux"),
    ]);
    if !missing.is_empty() {
        return Err(format!("missing: apt-get install {}", missing.join(" ")));
    }
    let version = Command::new("haproxy").arg("-v").output().map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    });
    let started = Instant::now();
    let mut rows = Vec::new();
    // ONLY=text: just the methods whose name contains it.
    let only = std::env::var("ONLY").unwrap_or_default();
    for load in [Client::NewConnection, Client::KeepAlive] {
        for method in METHODS
            .into_iter()
            .filter(|m| m.name().contains(only.as_str()))
        {
            if interrupted() {
                return Err("interrupted".into());
            }
            rows.push(run(method, load, reloads)?);
        }
    }
    println!("\r{:<100}", "");
    println!(
        "{}, {} cores, {}, {reloads} reloads per row, {:.0} s",
        version.unwrap_or_default(),
        num_cores(),
        today(),
        started.elapsed().as_secs_f64()
    );
    println!("command: make bench-reload RELOADS={reloads}\n");
    println!(
        "{:<36} {:<10} {:>9} {:>7} {:>11} {:>9} {:>9} {:>9} {:>9} {:>4} {:>9} {:>9}",
        "method",
        "load",
        "requests",
        "failed",
        "failed/100r",
        "exit med",
        "exit p99",
        "new med",
        "new p99",
        "lost",
        "unsettled",
        "left over"
    );
    for r in rows {
        let (exit_median, exit_p99) = median_p99(r.exit);
        let (median, p99) = median_p99(r.serving);
        println!(
            "{:<36} {:<10} {:>9} {:>7} {:>11.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>4} {:>9} {:>9}",
            r.method,
            r.load,
            r.requests,
            r.failed,
            r.failed as f64 * 100.0 / r.reloads.max(1) as f64,
            exit_median,
            exit_p99,
            median,
            p99,
            r.lost,
            r.unsettled,
            r.left_over
        );
    }
    println!("\nexit: from the reload command to its exit (ms); new: to the new configuration");
    println!("answering (ms). A 0.2 reload exits once verified; 0.1's and bare sv 2 at once.");
    println!("failed: every request that did not get its whole 200 response; no client retries.");
    println!("lost: reloads whose new configuration never answered (within 20 s).");
    println!("unsettled: reloads after which the service was not back to its steady state (one");
    println!("supervised haproxy, or master and one worker) within 20 s; left over: processes");
    println!("of the configuration beyond that steady state at the end.");
    if only.is_empty() || only == "drain" {
        drain(reloads.min(5))?;
    }
    Ok(())
}

/// Slow requests (a backend answering after 3 s) kept in flight, four at
/// a time, through `reloads` back-to-back reload commands: each starts as
/// soon as the previous one has exited. The time per reload is what a
/// queue of reloads costs: a handoff cannot be done before the old
/// supervised haproxy has drained; 0.1's next reload also waited for the
/// daemonized copy to drain; master-worker waits for no drain.
fn drain(reloads: usize) -> Result<(), String> {
    let delay = Duration::from_secs(3);
    let backend = slow_backend(delay).map_err(|e| e.to_string())?;
    println!(
        "\nDrain: {reloads} back-to-back reloads, four requests of {} s always in flight",
        delay.as_secs()
    );
    println!(
        "{:<36} {:>12} {:>14} {:>12} {:>7}",
        "method", "per reload", "all settled", "slow ok", "failed"
    );
    for method in [
        Method::OldHandoff,
        Method::Handoff {
            flavour: "runit",
            supervisor: "runsv",
            seamless: true,
        },
        Method::MasterWorkerVerified,
    ] {
        if interrupted() {
            return Err("interrupted".into());
        }
        let mut s = Service::new("drain")?;
        s.write_config_with("v0", Some(backend))?;
        let supervisor = install(&s, method)?;
        s.start(supervisor)?;
        let limit = Duration::from_secs(20);
        wait("haproxy to start", limit, || {
            (s.serves("v0") && s.haproxies().len() == method.expected()).then_some(())
        })?;
        std::thread::sleep(Duration::from_millis(1100));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let port = s.port;
        let clients: Vec<_> = (0..4)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let (mut ok, mut failed) = (0u64, 0u64);
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match crate::harness::fetch_path(port, "/slow", Duration::from_secs(60)) {
                            Ok(b) if b == "slow" => ok += 1,
                            _ => failed += 1,
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        // All four in flight before the first reload.
        std::thread::sleep(Duration::from_millis(500));
        let start = Instant::now();
        for i in 1..=reloads {
            let version = format!("v{i}");
            s.write_config_with(&version, Some(backend))?;
            s.command(&s.svc.join("reload"), &[])?;
            print!("\r{:<36} reload {i}/{reloads}   ", method.name());
            let _ = std::io::stdout().flush();
        }
        let commands = start.elapsed();
        let last = format!("v{reloads}");
        let settled = |s: &Service| match method {
            Method::MasterWorkerVerified => s.serves(&last) && s.haproxies().len() == 2,
            _ => s.handed_over(&last).is_some(),
        };
        wait("steady state", Duration::from_secs(60), || {
            settled(&s).then_some(())
        })?;
        let all = start.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (ok, failed) = clients
            .into_iter()
            .map(|c| c.join().unwrap_or((0, 1)))
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
        println!(
            "\r{:<36} {:>10.2} s {:>12.2} s {:>12} {:>7}",
            method.name(),
            commands.as_secs_f64() / reloads as f64,
            all.as_secs_f64(),
            ok,
            failed
        );
    }
    println!("per reload: the commands' total time / {reloads}, each started when the one");
    println!("before exited (0.1's exits at once, and the next waits for the lock its copy");
    println!("holds); all settled: until one supervised haproxy (or master and one worker)");
    println!("serves the last configuration.");
    Ok(())
}

/// Installs what `method` runs; the supervisor to start it with.
fn install(s: &Service, method: Method) -> Result<&'static str, String> {
    Ok(match method {
        Method::Restart => {
            s.install_run("#!/bin/sh\nexec 2>&1\nexec haproxy -db -f $CONFIG\n")?;
            "runsv"
        }
        Method::MasterWorker => {
            s.install_run("#!/bin/sh\nexec 2>&1\nexec haproxy -W -db -f $CONFIG\n")?;
            "runsv"
        }
        Method::MasterWorkerVerified => {
            s.install_recipe_from("runit", "haproxy-mw")?;
            "runsv"
        }
        Method::OldHandoff => {
            s.install_recipe("runit")?;
            let script = OLD_RELOAD
                .replace("@SVC@", &s.svc.to_string_lossy())
                .replace("@CONFIG@", &s.config.to_string_lossy())
                .replace("@RUNDIR@", &s.rundir.to_string_lossy());
            std::fs::write(s.svc.join("reload"), script).map_err(|e| e.to_string())?;
            "runsv"
        }
        Method::Handoff {
            flavour,
            supervisor,
            seamless,
        } => {
            s.install_recipe(flavour)?;
            if !seamless {
                without_socket_transfer(&s.svc.join("run"))?;
                without_socket_transfer(&s.svc.join("reload"))?;
            }
            supervisor
        }
    })
}

fn run(method: Method, load_kind: Client, reloads: usize) -> Result<Row, String> {
    let load_name = match load_kind {
        Client::NewConnection => "new conn",
        Client::KeepAlive => "keep-alive",
    };
    let mut s = Service::new("bench")?;
    s.write_config("v0")?;
    let supervisor = install(&s, method)?;
    s.start(supervisor)?;
    let limit = Duration::from_secs(20);
    wait("haproxy to start", limit, || {
        (s.serves("v0") && s.haproxies().len() == method.expected()).then_some(())
    })
    .map_err(|e| {
        format!(
            "{}: {e}; its log ends with:\n{}",
            method.name(),
            s.log_tail()
        )
    })?;
    // Past the supervisors' one-second restart throttle.
    std::thread::sleep(Duration::from_millis(1100));
    let load = Load::start(s.port, load_kind, 2, Duration::from_secs(1800));
    let (mut exit, mut serving, mut lost, mut unsettled) = (Vec::new(), Vec::new(), 0, 0);
    let sv = |args: &[&str]| -> Result<(), String> {
        let mut a: Vec<&Path> = args.iter().map(Path::new).collect();
        a.push(&s.svc);
        s.command(Path::new("sv"), &a)
    };
    for i in 1..=reloads {
        let version = format!("v{i}");
        s.write_config(&version)?;
        let start = Instant::now();
        // The command runs while the new configuration is watched for: a
        // verified reload answers before it exits.
        let mut command = match method {
            Method::Restart | Method::MasterWorker => None,
            _ => Some(s.spawn_command(&s.svc.join("reload"))?),
        };
        match method {
            Method::Restart => sv(&["restart"])?,
            Method::MasterWorker => sv(&["2"])?,
            _ => {}
        }
        if command.is_none() {
            exit.push(start.elapsed());
        }
        // A reload whose configuration never answers is lost, not fatal.
        match wait("the new configuration", limit, || {
            if let Some(c) = command.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                exit.push(start.elapsed());
                command = None;
                if !status.success() {
                    return Some(Err(format!(
                        "{}: reload {i} exited {status}",
                        method.name()
                    )));
                }
            }
            s.serves(&version).then_some(Ok(()))
        }) {
            Ok(Ok(())) => serving.push(start.elapsed()),
            Ok(Err(e)) => return Err(e),
            Err(_) if interrupted() => return Err("interrupted".into()),
            Err(_) => lost += 1,
        }
        if let Some(mut c) = command {
            let status = c.wait().map_err(|e| e.to_string())?;
            exit.push(start.elapsed());
            if !status.success() {
                return Err(format!("{}: reload {i} exited {status}", method.name()));
            }
        }
        // A haproxy 2.6 master drops a SIGUSR2 that comes while it is still
        // reloading (seen here at 50 ms, not at 200 ms, and even after it
        // logged "Loading success"): wait, as an operator would, until it
        // logs that the former worker has exited.
        let settled = |s: &Service| match method {
            Method::Handoff { .. } | Method::OldHandoff => s.handed_over(&version).is_some(),
            Method::Restart => s.supervised_pid().is_some_and(|p| s.haproxies() == [p]),
            Method::MasterWorker => s.haproxies().len() == 2 && s.log_count("Former worker") >= i,
            Method::MasterWorkerVerified => s.haproxies().len() == 2,
        };
        if wait("steady state", limit, || settled(&s).then_some(())).is_err() {
            if interrupted() {
                return Err("interrupted".into());
            }
            unsettled += 1;
        }
        print!(
            "\r{:<34} {load_name:<10} reload {i}/{reloads}: {} requests, {} failed   ",
            method.name(),
            load.counts().0 + load.counts().1,
            load.counts().1
        );
        let _ = std::io::stdout().flush();
    }
    let stats = load.finish();
    let (ok, failed) = (stats.ok, stats.failed);
    // Whatever is still soft-stopping gets the time to finish.
    let _ = wait("the old processes to exit", Duration::from_secs(5), || {
        (s.haproxies().len() <= method.expected()).then_some(())
    });
    let left_over = s.haproxies().len().saturating_sub(method.expected());
    Ok(Row {
        method: method.name(),
        load: load_name,
        reloads,
        requests: ok + failed,
        failed,
        exit,
        serving,
        lost,
        unsettled,
        left_over,
    })
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
