//! The reload benchmark: each way of reloading a supervised haproxy, run
//! side by side under the same load from wrk, the independent client (50
//! connections, as fast as answers come, no retry: every error it counts
//! is a failed request), with a new connection per request and then
//! keep-alive, RELOADS times (20) each, beside a run with no reload. For
//! each: failed requests per 100 reloads, time from the reload command to
//! its exit and to the new configuration answering (median and p99), and
//! haproxy processes left over. Then the same with a large configuration,
//! where parsing dominates; then the handoff without -x, with and without
//! net.ipv4.tcp_migrate_req; then the drain: slow requests kept in flight
//! through back-to-back reloads, time per reload.

use crate::harness::slow_backend;
use crate::service::{Service, interrupted, median_p99, wait, without_socket_transfer};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Method {
    /// No reload: the load alone, for as long as the reloads of a row take.
    Baseline,
    /// `sv restart`: stop, then start with the new configuration.
    Restart,
    /// The shipped recipe, with or without -x socket transfer.
    Handoff {
        flavour: &'static str,
        supervisor: &'static str,
        seamless: bool,
    },
    /// The runit recipe as it was before `haproxy -c` left the path:
    /// the configuration checked first, then parsed again by the copy.
    HandoffCheckFirst,
    /// The runit recipe's reload followed by `haproxy-handoff wait`: the
    /// answer a reload gave before 0.7, once the old haproxy had drained
    /// and run had taken over.
    HandoffWait,
    /// pidchain 0.1's runit reload: fire and forget, the reload lock held
    /// by the daemonized copy until it exits.
    OldHandoff,
    /// haproxy -W under runit, reloaded with SIGUSR2 (`sv 2`).
    MasterWorker,
    /// examples/runit/haproxy-mw: the verified master-worker reload.
    MasterWorkerVerified,
    /// The same, without its probe: the master asked on its CLI alone
    /// (`haproxy-reloads -r`), to weigh what the probe costs.
    MasterWorkerNoProbe,
}

/// pidchain 0.1's runit run, which took over without the reload lock: the
/// lock 0.1's copy holds until it exits would hold up today's run.
const OLD_RUN: &str = r#"#!/bin/sh
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
CONFIG=@CONFIG@
RUNDIR=@RUNDIR@
HANDOFF=$RUNDIR/handoff.pid
SOCKET=$RUNDIR/admin.sock
exec 2>&1
install -d -m 0700 "$RUNDIR" || exit 111
exec pidfile-read -d -o -w 2000 "$HANDOFF" \
  haproxy-sf -x "$SOCKET" \
  "$HAPROXY" -db -f "$CONFIG"
"#;

/// pidchain 0.1's runit reload, for comparison (paths set as in the recipe).
const OLD_RELOAD: &str = r#"#!/bin/sh
SERVICE=@SVC@
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
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
            Method::Baseline => "no reload (baseline), runit".into(),
            Method::Restart => "sv restart (naive), runit".into(),
            Method::Handoff {
                flavour, seamless, ..
            } => {
                format!(
                    "pidchain handoff{}, {flavour}",
                    if seamless { "" } else { " without -x" }
                )
            }
            Method::HandoffCheckFirst => "handoff, -c first as 0.2, runit".into(),
            Method::HandoffWait => "pidchain handoff, reload + wait, runit".into(),
            Method::OldHandoff => "pidchain 0.1 handoff -x, runit".into(),
            Method::MasterWorker => "master-worker, bare sv 2, runit".into(),
            Method::MasterWorkerVerified => "pidchain master-worker, runit".into(),
            Method::MasterWorkerNoProbe => "master-worker, haproxy-reloads -r alone, runit".into(),
        }
    }

    /// haproxy processes of one configuration once it has settled.
    fn expected(self) -> usize {
        match self {
            Method::MasterWorker | Method::MasterWorkerVerified | Method::MasterWorkerNoProbe => 2,
            _ => 1,
        }
    }
}

const fn handoff(flavour: &'static str, supervisor: &'static str, seamless: bool) -> Method {
    Method::Handoff {
        flavour,
        supervisor,
        seamless,
    }
}

const METHODS: [Method; 9] = [
    Method::Baseline,
    Method::Restart,
    Method::OldHandoff,
    handoff("runit", "runsv", true),
    handoff("s6", "s6-supervise", true),
    handoff("s6-rc", "s6-rc", true),
    handoff("daemontools", "supervise", true),
    Method::MasterWorker,
    Method::MasterWorkerVerified,
];

/// The large configuration: 3000 backends and a 200,000-line map.
const LARGE: (usize, usize) = (200_000, 3000);
const LARGE_METHODS: [Method; 5] = [
    Method::HandoffCheckFirst,
    handoff("runit", "runsv", true),
    Method::MasterWorker,
    Method::MasterWorkerVerified,
    Method::MasterWorkerNoProbe,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Client {
    NewConnection,
    KeepAlive,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::NewConnection => "new conn",
            Client::KeepAlive => "keep-alive",
        }
    }
}

/// What a row runs on besides its method.
#[derive(Clone, Copy, Default)]
struct Setup {
    large: bool,
    /// net.ipv4.tcp_migrate_req for the row, restored after.
    migrate: Option<bool>,
    /// Without `option idle-close-on-response`.
    closing_idle: bool,
}

struct Row {
    method: String,
    load: String,
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
        ("supervise", "daemontools"),
        ("execlineb", "execline"),
        ("flock", "util-linux"),
        ("wrk", "wrk"),
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
    // ONLY=text: the sections and methods whose name contains it
    // (`large`, `migrate`, `drain` pick a section alone).
    let only = std::env::var("ONLY").unwrap_or_default();
    let section = |name: &str| only.is_empty() || only == name;
    let s6_rc = crate::service::s6_rc_dir();
    if let Err(e) = &s6_rc {
        eprintln!("bench: skipping the s6-rc rows: {e}");
    }
    let picked = |m: &Method| {
        let runs = s6_rc.is_ok()
            || !matches!(
                m,
                Method::Handoff {
                    flavour: "s6-rc",
                    ..
                }
            );
        runs && (["large", "migrate", "drain"].contains(&only.as_str())
            || m.name().contains(only.as_str()))
    };
    let mut rows = Vec::new();
    if !["large", "migrate", "drain"].contains(&only.as_str()) {
        for client in [Client::NewConnection, Client::KeepAlive] {
            for method in METHODS.into_iter().filter(picked) {
                rows.push(run(method, client, reloads, Setup::default())?);
            }
        }
    }
    let mut idle = Vec::new();
    if section("idle") {
        for method in [handoff("runit", "runsv", true), Method::MasterWorker] {
            let setup = Setup {
                closing_idle: true,
                ..Setup::default()
            };
            let mut row = run(method, Client::KeepAlive, reloads, setup)?;
            row.method += ", no idle-close";
            idle.push(row);
        }
    }
    let large_reloads = reloads.min(10);
    let mut large = Vec::new();
    if section("large") {
        for method in LARGE_METHODS {
            let setup = Setup {
                large: true,
                ..Setup::default()
            };
            large.push(run(method, Client::KeepAlive, large_reloads, setup)?);
        }
    }
    let mut migrate = Vec::new();
    if section("migrate") {
        for on in [false, true] {
            let setup = Setup {
                migrate: Some(on),
                ..Setup::default()
            };
            let mut row = run(
                handoff("runit", "runsv", false),
                Client::NewConnection,
                reloads,
                setup,
            )?;
            row.method += &format!(", tcp_migrate_req={}", u8::from(on));
            migrate.push(row);
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
    let mut command = format!("make bench-reload RELOADS={reloads}");
    for var in ["ONLY", "HAPROXY"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            command = format!("{var}={} {command}", v.to_string_lossy());
        }
    }
    println!("command: {command}");
    if !rows.is_empty() {
        println!("\nLoad: wrk, 50 connections, one thread, as fast as answers come.");
        print_rows(rows);
        println!("\nexit: from the reload command to its exit (ms); new: to the new configuration");
        println!(
            "answering (ms). A pidchain reload exits once verified; 0.1's and bare sv 2 at once."
        );
        println!("failed: every error wrk counted (connect, read, write, timeout, non-2xx); wrk");
        println!("never retries. lost: reloads whose new configuration never answered (within");
        println!("20 s). unsettled: reloads after which the service was not back to its steady");
        println!(
            "state (one supervised haproxy, or master and one worker) within 20 s; left over:"
        );
        println!("processes of the configuration beyond that steady state at the end.");
    }
    if !idle.is_empty() {
        println!("\nWithout `option idle-close-on-response` (as in haproxy.cfg before 0.3):");
        print_rows(idle);
    }
    if !large.is_empty() {
        println!(
            "\nLarge configuration: {} backends, a {}-line map; {large_reloads} reloads each, keep-alive load.",
            LARGE.1, LARGE.0
        );
        let ratio = |a: &Row, b: &Row| {
            median_p99(a.serving.clone()).0 / median_p99(b.serving.clone()).0.max(0.001)
        };
        let (before, after, bare) = (&large[0], &large[1], &large[2]);
        let (r_before, r_after) = (ratio(before, bare), ratio(after, bare));
        let exit = |r: &Row| median_p99(r.exit.clone()).0;
        let probe = exit(&large[3]) / exit(&large[4]).max(0.001);
        print_rows(large);
        println!(
            "new med against bare sv 2: handoff with -c first (0.2) {r_before:.2}x, without (0.3+) {r_after:.2}x"
        );
        println!(
            "exit med of the verified master-worker reload, with its probe against without: {probe:.2}x"
        );
    }
    if !migrate.is_empty() {
        println!(
            "\nWithout -x (each haproxy binds its own SO_REUSEPORT listener), new connections:"
        );
        print_rows(migrate);
    }
    if section("drain") {
        drain(reloads.min(5))?;
    }
    Ok(())
}

fn print_rows(rows: Vec<Row>) {
    println!(
        "{:<44} {:<10} {:>9} {:>7} {:>11} {:>9} {:>9} {:>9} {:>9} {:>4} {:>9} {:>9}",
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
            "{:<44} {:<10} {:>9} {:>7} {:>11.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>4} {:>9} {:>9}",
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
}

/// wrk against the service's port: 50 connections from one thread, until
/// stopped (SIGINT, on which it prints its summary).
struct Wrk {
    child: Child,
}

impl Wrk {
    fn start(port: u16, client: Client) -> Result<Wrk, String> {
        let mut cmd = Command::new("wrk");
        cmd.args(["-t1", "-c50", "-d3600s", "--timeout", "5s"]);
        if client == Client::NewConnection {
            cmd.args(["-H", "Connection: close"]);
        }
        let child = cmd
            .arg(format!("http://127.0.0.1:{port}/"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("unable to start wrk: {e}"))?;
        Ok(Wrk { child })
    }

    /// Whether wrk holds its 50 connections' sockets: it has started.
    fn connected(&self) -> bool {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.child.id()));
        let sockets = fds.map_or(0, |d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|l| l.to_string_lossy().starts_with("socket:"))
                .count()
        });
        sockets >= 50
    }

    /// Requests made and failed, as wrk counts them.
    fn finish(mut self) -> Result<(u64, u64), String> {
        // SAFETY: kill(2) on the wrk this run started.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let mut out = String::new();
        if let Some(mut o) = self.child.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut out);
        }
        let status = self.child.wait().map_err(|e| e.to_string())?;
        wrk_counts(&out).ok_or_else(|| format!("wrk {status}, and no counts in its output: {out}"))
    }
}

/// `N requests in`, and the sum of `Socket errors: connect A, read B,
/// write C, timeout D` and `Non-2xx or 3xx responses: E`.
fn wrk_counts(out: &str) -> Option<(u64, u64)> {
    let number = |s: &str| s.trim().trim_end_matches(',').parse::<u64>().ok();
    let requests = out
        .lines()
        .find_map(|l| l.trim().split_once(" requests in"))
        .and_then(|(n, _)| number(n))?;
    let mut failed = 0;
    for l in out.lines().map(str::trim) {
        if let Some(errors) = l.strip_prefix("Socket errors:") {
            failed += errors
                .split(',')
                .filter_map(|e| number(e.split_whitespace().last()?))
                .sum::<u64>();
        } else if let Some(n) = l.strip_prefix("Non-2xx or 3xx responses:") {
            failed += number(n)?;
        }
    }
    Some((requests, failed))
}

/// Installs what `method` runs; the supervisor to start it with.
fn install(s: &Service, method: Method) -> Result<&'static str, String> {
    Ok(match method {
        Method::Baseline | Method::Restart => {
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
        Method::MasterWorkerNoProbe => {
            s.install_recipe_from("runit", "haproxy-mw")?;
            let master = s.rundir.join("master.sock");
            let p = s.svc.join("reload");
            let script = format!(
                "#!/bin/sh\nexec haproxy-reloads -r -w 30000 '{}' >/dev/null\n",
                master.display()
            );
            std::fs::write(&p, script)
                .and_then(|()| std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)))
                .map_err(|e| e.to_string())?;
            "runsv"
        }
        Method::OldHandoff => {
            s.install_recipe("runit")?;
            let paths = |text: &str| {
                text.replace("@SVC@", &s.svc.to_string_lossy())
                    .replace("@CONFIG@", &s.config.to_string_lossy())
                    .replace("@RUNDIR@", &s.rundir.to_string_lossy())
            };
            s.install_run(&paths(OLD_RUN))?;
            std::fs::write(s.svc.join("reload"), paths(OLD_RELOAD)).map_err(|e| e.to_string())?;
            "runsv"
        }
        Method::HandoffCheckFirst => {
            s.install_recipe("runit")?;
            s.with_handoff_variant(|text| {
                let locked = "  lock\n";
                let check = "  \"$HAPROXY\" -c -f \"$CONFIG\" >/dev/null || fail \"invalid configuration $CONFIG\"\n";
                if !text.contains(locked) {
                    return Err("haproxy-handoff takes no lock".into());
                }
                Ok(text.replacen(locked, &format!("{locked}{check}"), 1))
            })?;
            "runsv"
        }
        Method::HandoffWait => {
            s.install_recipe("runit")?;
            let p = s.svc.join("reload");
            let script = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
            let reload = "exec chpst -e ./env haproxy-handoff reload\n";
            if !script.contains(reload) {
                return Err("examples/runit/haproxy/reload: no haproxy-handoff reload".into());
            }
            let script = script.replace(
                reload,
                "chpst -e ./env haproxy-handoff reload && exec chpst -e ./env haproxy-handoff wait\n",
            );
            std::fs::write(&p, script).map_err(|e| e.to_string())?;
            "runsv"
        }
        Method::Handoff {
            flavour,
            supervisor,
            seamless,
        } => {
            s.install_recipe(flavour)?;
            if !seamless {
                s.with_handoff_variant(without_socket_transfer)?;
            }
            supervisor
        }
    })
}

/// Sets net.ipv4.tcp_migrate_req; the value it had.
fn set_migrate(on: bool) -> Result<String, String> {
    let path = "/proc/sys/net/ipv4/tcp_migrate_req";
    let was = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e} (Linux 5.14+)"))?;
    std::fs::write(path, if on { "1" } else { "0" }).map_err(|e| format!("{path}: {e}"))?;
    Ok(was.trim().to_owned())
}

fn run(method: Method, client: Client, reloads: usize, setup: Setup) -> Result<Row, String> {
    let restore = match setup.migrate {
        Some(on) => Some(set_migrate(on)?),
        None => None,
    };
    let row = run_one(method, client, reloads, setup);
    if let Some(was) = restore {
        let _ = std::fs::write("/proc/sys/net/ipv4/tcp_migrate_req", was);
    }
    row
}

fn run_one(method: Method, client: Client, reloads: usize, setup: Setup) -> Result<Row, String> {
    let load_name = client.name();
    let mut s = Service::new("bench")?;
    if setup.large {
        s.make_large(LARGE.0, LARGE.1);
    }
    if setup.closing_idle {
        s.omit("    option idle-close-on-response");
    }
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
    let load = Wrk::start(s.port, client)?;
    // wrk connects once before it starts: not during a restart.
    wait("wrk to connect", limit, || load.connected().then_some(()))?;
    let (mut exit, mut serving, mut lost, mut unsettled) = (Vec::new(), Vec::new(), 0, 0);
    let sv = |args: &[&str]| -> Result<(), String> {
        let mut a: Vec<&Path> = args.iter().map(Path::new).collect();
        a.push(&s.svc);
        s.command(Path::new("sv"), &a)
    };
    if let Method::Baseline = method {
        // As long as reloads about 1.5 s apart would take.
        let end = Instant::now() + Duration::from_millis(1500) * reloads as u32;
        while Instant::now() < end && !interrupted() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let reloads_run = if let Method::Baseline = method {
        0
    } else {
        reloads
    };
    for i in 1..=reloads_run {
        let version = format!("v{i}");
        s.write_config(&version)?;
        let start = Instant::now();
        // The command runs while the new configuration is watched for: a
        // verified reload answers before it exits.
        let mut command = match method {
            Method::Restart | Method::MasterWorker => None,
            _ => Some(s.spawn_reload()?),
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
            Method::Handoff { .. } | Method::OldHandoff | Method::HandoffWait => {
                s.handed_over(&version).is_some()
            }
            Method::Restart | Method::Baseline => {
                s.supervised_pid().is_some_and(|p| s.haproxies() == [p])
            }
            Method::HandoffCheckFirst => s.handed_over(&version).is_some(),
            Method::MasterWorker => s.haproxies().len() == 2 && s.log_count("Former worker") >= i,
            Method::MasterWorkerVerified | Method::MasterWorkerNoProbe => s.haproxies().len() == 2,
        };
        if wait("steady state", limit, || settled(&s).then_some(())).is_err() {
            if interrupted() {
                return Err("interrupted".into());
            }
            unsettled += 1;
        }
        print!(
            "\r{:<44} {load_name:<10} reload {i}/{reloads}   ",
            method.name()
        );
        let _ = std::io::stdout().flush();
    }
    let (requests, failed) = load.finish()?;
    // Whatever is still soft-stopping gets the time to finish.
    let _ = wait("the old processes to exit", Duration::from_secs(5), || {
        (s.haproxies().len() <= method.expected()).then_some(())
    });
    let left_over = s.haproxies().len().saturating_sub(method.expected());
    Ok(Row {
        method: method.name(),
        load: load_name.into(),
        reloads,
        requests,
        failed,
        exit,
        serving,
        lost,
        unsettled,
        left_over,
    })
}

/// Slow requests (a backend answering after 3 s) kept in flight, four at
/// a time, through `reloads` back-to-back reload commands: each starts as
/// soon as the previous one has exited. "Answered in" is how long each
/// reload command took with requests in flight: a handoff reload answers
/// once its copy serves alone (before 0.7, once the old supervised haproxy
/// had drained and run had taken over); master-worker waits for no drain;
/// 0.1's exited at once, but its next reload waited for the daemonized
/// copy to drain. "All settled" is until the drains are over.
fn drain(reloads: usize) -> Result<(), String> {
    let delay = Duration::from_secs(3);
    let backend = slow_backend(delay).map_err(|e| e.to_string())?.port;
    println!(
        "\nDrain: {reloads} back-to-back reloads, four requests of {} s always in flight",
        delay.as_secs()
    );
    println!(
        "{:<40} {:>12} {:>12} {:>14} {:>8} {:>7}",
        "method", "answered med", "answered max", "all settled", "slow ok", "failed"
    );
    for method in [
        Method::OldHandoff,
        Method::Handoff {
            flavour: "runit",
            supervisor: "runsv",
            seamless: true,
        },
        Method::HandoffWait,
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
        let mut answered = Vec::with_capacity(reloads);
        for i in 1..=reloads {
            let version = format!("v{i}");
            s.write_config_with(&version, Some(backend))?;
            let sent = Instant::now();
            s.command(&s.svc.join("reload"), &[])?;
            answered.push(sent.elapsed().as_secs_f64());
            print!("\r{:<40} reload {i}/{reloads}   ", method.name());
            let _ = std::io::stdout().flush();
        }
        answered.sort_by(f64::total_cmp);
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
            "\r{:<40} {:>10.2} s {:>10.2} s {:>12.2} s {:>8} {:>7}",
            method.name(),
            answered.get(answered.len() / 2).copied().unwrap_or(0.0),
            answered.last().copied().unwrap_or(0.0),
            all.as_secs_f64(),
            ok,
            failed
        );
    }
    println!("answered: from each reload command to its exit, the next started then (0.1's");
    println!("exits at once, and the next waits for the lock its copy holds); all settled:");
    println!("from the first reload until one supervised haproxy (or master and one worker)");
    println!("serves the last configuration.");
    Ok(())
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
