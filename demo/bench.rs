//! The reload benchmark: each way of reloading a supervised haproxy, run
//! side by side under the same steady load (a new connection per
//! request, then keep-alive), RELOADS times (20) each. For each: failed
//! requests per 100 reloads, time from the reload command to the new
//! configuration answering (median and p99), and haproxy processes left
//! over once it has settled.

use crate::harness::{LoadKind, Service, interrupted, median_p99, wait, without_socket_transfer};
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
    /// haproxy -W under runit, reloaded with SIGUSR2 (`sv 2`).
    MasterWorker,
}

impl Method {
    fn name(self) -> String {
        match self {
            Method::Restart => "sv restart (naive), runit".into(),
            Method::Handoff {
                flavour, seamless, ..
            } => {
                format!(
                    "pidchain handoff{}, {flavour}",
                    if seamless { " -x" } else { "" }
                )
            }
            Method::MasterWorker => "master-worker -W, SIGUSR2, runit".into(),
        }
    }

    /// haproxy processes of one configuration once it has settled.
    fn expected(self) -> usize {
        if let Method::MasterWorker = self {
            2
        } else {
            1
        }
    }
}

const METHODS: [Method; 6] = [
    Method::Restart,
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
];

struct Row {
    method: String,
    load: &'static str,
    reloads: usize,
    requests: u64,
    failed: u64,
    retried: u64,
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
    for load in [LoadKind::NewConnection, LoadKind::KeepAlive] {
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
        "{:<34} {:<10} {:>9} {:>7} {:>12} {:>8} {:>10} {:>10} {:>5} {:>9} {:>10}",
        "method",
        "load",
        "requests",
        "failed",
        "failed/100r",
        "retried",
        "median ms",
        "p99 ms",
        "lost",
        "unsettled",
        "left over"
    );
    for r in rows {
        let (median, p99) = median_p99(r.serving);
        println!(
            "{:<34} {:<10} {:>9} {:>7} {:>12.1} {:>8} {:>10.1} {:>10.1} {:>5} {:>9} {:>10}",
            r.method,
            r.load,
            r.requests,
            r.failed,
            r.failed as f64 * 100.0 / r.reloads.max(1) as f64,
            r.retried,
            median,
            p99,
            r.lost,
            r.unsettled,
            r.left_over
        );
    }
    println!("\nmedian, p99: from the reload command to the new configuration answering.");
    println!("retried: keep-alive requests whose connection the server closed first, retried");
    println!("once on a new connection as HTTP clients do; failed counts those that failed again.");
    println!("lost: reloads whose new configuration never answered (within 20 s).");
    println!("unsettled: reloads after which the service was not back to its steady state (one");
    println!("supervised haproxy, or master and one worker) within 20 s; left over: processes");
    println!("of the configuration beyond that steady state at the end.");
    Ok(())
}

fn run(method: Method, load_kind: LoadKind, reloads: usize) -> Result<Row, String> {
    let load_name = match load_kind {
        LoadKind::NewConnection => "new conn",
        LoadKind::KeepAlive => "keep-alive",
    };
    let mut s = Service::new("bench")?;
    s.write_config("v0")?;
    let supervisor = match method {
        Method::Restart => {
            s.install_run("#!/bin/sh\nexec 2>&1\nexec haproxy -db -f $CONFIG\n")?;
            "runsv"
        }
        Method::MasterWorker => {
            s.install_run("#!/bin/sh\nexec 2>&1\nexec haproxy -W -db -f $CONFIG\n")?;
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
    };
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
    let load = crate::harness::Load::start(s.port, load_kind);
    let (mut serving, mut lost, mut unsettled) = (Vec::new(), 0, 0);
    let sv = |args: &[&str]| -> Result<(), String> {
        let mut a: Vec<&Path> = args.iter().map(Path::new).collect();
        a.push(&s.svc);
        s.command(Path::new("sv"), &a)
    };
    for i in 1..=reloads {
        let version = format!("v{i}");
        s.write_config(&version)?;
        let start = Instant::now();
        match method {
            Method::Restart => sv(&["restart"])?,
            Method::MasterWorker => sv(&["2"])?,
            Method::Handoff { .. } => s.command(&s.svc.join("reload"), &[])?,
        }
        // A reload whose configuration never answers is lost, not fatal.
        match wait("the new configuration", limit, || {
            s.serves(&version).then_some(())
        }) {
            Ok(()) => serving.push(start.elapsed()),
            Err(_) if interrupted() => return Err("interrupted".into()),
            Err(_) => lost += 1,
        }
        // A haproxy 2.6 master drops a SIGUSR2 that comes while it is still
        // reloading (seen here at 50 ms, not at 200 ms, and even after it
        // logged "Loading success"): wait, as an operator would, until it
        // logs that the former worker has exited.
        let settled = |s: &Service| match method {
            Method::Handoff { .. } => s.handed_over(&version).is_some(),
            Method::Restart => s.supervised_pid().is_some_and(|p| s.haproxies() == [p]),
            Method::MasterWorker => s.haproxies().len() == 2 && s.log_count("Former worker") >= i,
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
            load.requests(),
            load.failed()
        );
        let _ = std::io::stdout().flush();
    }
    let (ok, failed, retried) = load.finish();
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
        retried,
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
