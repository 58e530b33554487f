//! The pidchain demonstration, and the reload benchmark.
//!
//! `demo` (make try): a throwaway haproxy service under runit (and s6,
//! where installed) on a loopback port, reloaded RELOADS times (10) under
//! steady load through the shipped recipes, with progress and a report.
//! `demo bench` (make bench-reload): each way of reloading a supervised
//! haproxy, under load, side by side (see bench.rs).
//! Every process either starts is killed when it ends, Ctrl-C included.

mod bench;
#[allow(dead_code)]
#[path = "../tests/common/harness.rs"]
mod harness;
mod service;

use harness::{Client, Load};
use service::{Service, have, interrupted, median_p99, wait};
use std::io::Write;
use std::time::{Duration, Instant};

fn main() {
    service::catch_interrupts();
    if let Err(e) = service::use_built_tools() {
        eprintln!("demo: {e}");
        std::process::exit(100);
    }
    let reloads: usize = std::env::var("RELOADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let result = match std::env::args().nth(1).as_deref() {
        None => demo(reloads),
        Some("bench") => bench::main(reloads),
        Some(_) => {
            eprintln!("usage: demo [bench]");
            std::process::exit(100);
        }
    };
    match result {
        _ if interrupted() => {
            println!("\ninterrupted: every process started was stopped");
            std::process::exit(130);
        }
        Ok(()) => {}
        Err(e) => {
            eprintln!("\ndemo: {e}");
            std::process::exit(1);
        }
    }
}

/// What each recipe needs, and which Debian package has it.
const NEEDS: [(&str, &[(&str, &str)]); 2] = [
    (
        "runit",
        &[
            ("haproxy", "haproxy"),
            ("runsv", "runit"),
            ("chpst", "runit"),
        ],
    ),
    (
        "s6",
        &[
            ("haproxy", "haproxy"),
            ("s6-supervise", "s6"),
            ("execlineb", "execline"),
            ("flock", "util-linux"),
        ],
    ),
];

pub fn missing(needs: &[(&str, &'static str)]) -> Vec<&'static str> {
    let mut m: Vec<&'static str> = needs
        .iter()
        .filter(|(t, _)| !have(t))
        .map(|(_, p)| *p)
        .collect();
    m.dedup();
    m
}

struct Report {
    name: &'static str,
    reloads: usize,
    requests: u64,
    failed: u64,
    kept_requests: u64,
    kept_failed: u64,
    serving: Vec<Duration>,
    settled: Vec<Duration>,
    pid_before: u32,
    pid_after: u32,
}

fn demo(reloads: usize) -> Result<(), String> {
    let runit_missing = missing(NEEDS[0].1);
    if !runit_missing.is_empty() {
        eprintln!("demo: missing: apt-get install {}", runit_missing.join(" "));
        std::process::exit(100);
    }
    let mut flavours = vec![("runit", "runsv")];
    match missing(NEEDS[1].1) {
        m if m.is_empty() => flavours.push(("s6", "s6-supervise")),
        m => println!(
            "(s6 skipped: apt-get install {} to see it too)",
            m.join(" ")
        ),
    }
    println!(
        "pidchain demo: haproxy under a supervisor, {reloads} reloads under load, no connection refused\n"
    );
    let mut reports = Vec::new();
    for (name, supervisor) in flavours {
        reports.push(demo_one(name, supervisor, reloads)?);
    }
    println!();
    println!(
        "{:<7} {:>8} {:>9} {:>7} {:>11} {:>7} {:>14} {:>14} {:>18}",
        "",
        "reloads",
        "requests",
        "failed",
        "keep-alive",
        "failed",
        "new config in",
        "verified in",
        "supervised pid"
    );
    for r in reports {
        let (serving, _) = median_p99(r.serving);
        let (settled, _) = median_p99(r.settled);
        println!(
            "{:<7} {:>8} {:>9} {:>7} {:>11} {:>7} {:>11.1} ms {:>11.1} ms {:>8} -> {:<8}",
            r.name,
            r.reloads,
            r.requests,
            r.failed,
            r.kept_requests,
            r.kept_failed,
            serving,
            settled,
            r.pid_before,
            r.pid_after
        );
    }
    println!("\nrequests: a new connection each; keep-alive: HTTP/1.1 on kept connections;");
    println!("two clients of each, as fast as answers come, none retrying a failed request.");
    println!("medians per reload: \"new config in\" is until the new configuration answers;");
    println!("\"verified in\" until the reload command exits 0, having seen a new supervised");
    println!("haproxy take over (a supervisor waits 1 s before restarting a service that ran");
    println!("less than a second, as each does here).");
    Ok(())
}

fn demo_one(name: &'static str, supervisor: &str, reloads: usize) -> Result<Report, String> {
    let mut s = Service::new(name)?;
    s.install_recipe(name)?;
    s.write_config("v0")?;
    s.start(supervisor)?;
    let limit = Duration::from_secs(20);
    let pid_before = wait("haproxy to start", limit, || s.handed_over("v0"))?;
    // Two clients of each kind, as fast as answers come; none retries.
    let load = Load::start(s.port, Client::NewConnection, 2, Duration::from_secs(1800));
    let kept = Load::start(s.port, Client::KeepAlive, 2, Duration::from_secs(1800));
    let mut r = Report {
        name,
        reloads: 0,
        requests: 0,
        failed: 0,
        kept_requests: 0,
        kept_failed: 0,
        serving: vec![],
        settled: vec![],
        pid_before,
        pid_after: pid_before,
    };
    for i in 1..=reloads {
        let version = format!("v{i}");
        s.write_config(&version)?;
        let start = Instant::now();
        let mut reload = s.spawn_command(&s.svc.join("reload"), &[])?;
        wait("the new configuration", limit, || {
            s.serves(&version).then_some(())
        })?;
        r.serving.push(start.elapsed());
        let status = reload.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("reload {i} exited {status}"));
        }
        r.settled.push(start.elapsed());
        r.pid_after = wait("the supervised haproxy", limit, || s.handed_over(&version))?;
        r.reloads = i;
        print!(
            "\r{name:<6} reload {i}/{reloads}: {} + {} keep-alive requests, {} + {} failed, supervised pid {}   ",
            load.counts().0 + load.counts().1,
            kept.counts().0 + kept.counts().1,
            load.counts().1,
            kept.counts().1,
            r.pid_after
        );
        let _ = std::io::stdout().flush();
    }
    println!();
    let stats = load.finish();
    r.requests = stats.ok + stats.failed;
    r.failed = stats.failed;
    let stats = kept.finish();
    r.kept_requests = stats.ok + stats.failed;
    r.kept_failed = stats.failed;
    Ok(r)
}
