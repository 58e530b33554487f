//! The shipped recipes (examples/), end to end: real supervisors, real
//! haproxy on 127.0.0.1, steady load, many reloads, in both modes: the
//! handoff (examples/KIND/haproxy) and master-worker (KIND/haproxy-mw).
//! Only paths, the port and the reload's TIMEOUT are rewritten when a
//! recipe is installed. A reload that exits 0 has been verified: what it
//! promises is checked at once, without waiting.

mod common;
use common::haproxy::{
    Client, Install, Load, Mode, assert_a_taken_address_fails_the_reload,
    assert_answered_or_copy_gone, assert_no_orphan, assert_verified, fetch_path, reloaded_copy,
    said_by_pidchain, slow_backend, started,
};
use common::supervisors::{ALL, Kind, under_test};
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const RELOADS: usize = 20;
/// The longest a test's load may run, whatever goes wrong.
const LOAD_LIMIT: Duration = Duration::from_secs(300);
const MODES: [Mode; 2] = [Mode::Handoff, Mode::MasterWorker];

fn reloads_under_load(kind: Kind, mode: Mode) {
    let mut procs = Procs::new();
    let (inst, svc, first) = started(kind, mode, &mut procs);
    // Both kinds of client at once, at the rate the machine allows; none
    // retries a failed request.
    let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
    let kept = Load::start(inst.port, Client::KeepAlive, 2, LOAD_LIMIT);
    // The rate the machine gives: new-connection requests with no reload
    // under way, 200 before each reload. The load must keep half of it
    // through the reloads, so that a connection refused for a moment is
    // likely to be tried (missed with probability e^-(rate x duration)).
    let (mut calm, mut answered) = (Duration::ZERO, 0);
    let (mut reloading, mut tried) = (Duration::ZERO, 0);
    let mut pids = vec![first];
    let mut times = Vec::new();
    let listeners = harness::listening_sockets(inst.port);
    assert!(!listeners.is_empty(), "{kind:?} {mode:?}: nothing listens");
    for i in 1..=RELOADS {
        let version = format!("v{i}");
        inst.set_version(&version);
        let (quiet, before) = (Instant::now(), load.counts().0);
        wait_for("200 requests between two reloads", || {
            load.counts().0 >= before + 200
        });
        (calm, answered) = (calm + quiet.elapsed(), answered + load.counts().0 - before);
        let start = Instant::now();
        let counted = load.counts();
        let before = *pids.last().unwrap();
        // runit: every other handoff through `sv reload` (control/h),
        // which only starts the reload: then the test waits.
        if kind == Kind::Runit && mode == Mode::Handoff && i % 2 == 0 {
            let o = run(Command::new("sv").arg("reload").arg(&svc.dir));
            assert_eq!(o.code(), 0, "{kind:?} sv reload {i}: {o:?}");
        } else {
            let o = inst.reload();
            assert_eq!(o.code(), 0, "{kind:?} {mode:?} reload {i}: {o:?}");
            assert_eq!(said_by_pidchain(&o.stderr), "", "{o:?}");
            assert_verified(
                &inst,
                &svc,
                before,
                &version,
                &format!("{kind:?} {mode:?} {i}"),
                &o,
            );
        }
        pids.push(inst.wait_settled(&svc, &version));
        times.push(start.elapsed());
        let (ok, failed) = load.counts();
        let here = ok + failed - counted.0 - counted.1;
        assert!(
            here > 0,
            "{kind:?} {mode:?} {i}: no request during the reload"
        );
        (reloading, tried) = (reloading + start.elapsed(), tried + here);
        // Handed over, never bound afresh: a new socket beside the old
        // one means the old one's queue is reset when it closes (haproxy
        // 2.4.0's master does that after a probe took its stats socket).
        assert_eq!(
            harness::listening_sockets(inst.port),
            listeners,
            "{kind:?} {mode:?} {i}: the listening socket changed"
        );
    }
    let stats = load.finish();
    assert_eq!(stats.failed, 0, "{kind:?} {mode:?}: {stats:?}");
    let reloading_rate = tried as f64 / reloading.as_secs_f64();
    let calm_rate = answered as f64 / calm.as_secs_f64();
    assert!(
        reloading_rate >= calm_rate / 2.0,
        "{kind:?} {mode:?}: too little load to prove anything: {reloading_rate:.0} requests/s \
         during the reloads, {calm_rate:.0} without: {stats:?}"
    );
    let kept = kept.finish();
    let closing_idle = harness::haproxy_version() >= (2, 6, 0);
    if !closing_idle {
        // Known: haproxy before 2.6 has no `option idle-close-on-response`
        // and closes idle keep-alive connections under the client at each
        // soft stop; a client that does not retry sees it (pidchain(7)).
        eprintln!(
            "{kind:?} {mode:?}: haproxy before 2.6: {} keep-alive requests failed (known, not asserted)",
            kept.failed
        );
    } else {
        assert_eq!(kept.failed, 0, "{kind:?} {mode:?} keep-alive: {kept:?}");
    }
    // Connections were kept across requests, and soft-stopping processes
    // closed some under the client: the case that fails without
    // `option idle-close-on-response` (before 2.6, as a failed request).
    let closed = kept.closed_by_server + if closing_idle { 0 } else { kept.failed };
    assert!(
        kept.ok > 10 * kept.connections && closed >= RELOADS as u64,
        "{kind:?} {mode:?}: keep-alive not exercised: {kept:?}"
    );
    pids.dedup();
    let supervised = match mode {
        Mode::Handoff => RELOADS + 1,
        Mode::MasterWorker => 1,
    };
    assert_eq!(pids.len(), supervised, "{kind:?} {mode:?}: {pids:?}");
    times.sort();
    eprintln!(
        "{kind:?} {mode:?}: {reloading_rate:.0} requests/s during the reloads, {calm_rate:.0} without"
    );
    eprintln!(
        "{kind:?} {mode:?}: {RELOADS} reloads, {} + {} keep-alive requests, {} + {} failed ({} keep-alive reads interrupted and read again); reload to settled: median {:?}, max {:?}",
        stats.ok + stats.failed,
        kept.ok + kept.failed,
        stats.failed,
        kept.failed,
        kept.interrupted,
        times[times.len() / 2],
        times[times.len() - 1]
    );
    assert_no_orphan(&inst, &svc);
}

#[test]
fn runit_reloads_under_load() {
    reloads_under_load(Kind::Runit, Mode::Handoff);
}

#[test]
fn s6_reloads_under_load() {
    reloads_under_load(Kind::S6, Mode::Handoff);
}

#[test]
fn daemontools_reloads_under_load() {
    reloads_under_load(Kind::Daemontools, Mode::Handoff);
}

#[test]
fn runit_master_worker_reloads_under_load() {
    reloads_under_load(Kind::Runit, Mode::MasterWorker);
}

#[test]
fn s6_master_worker_reloads_under_load() {
    reloads_under_load(Kind::S6, Mode::MasterWorker);
}

#[test]
fn daemontools_master_worker_reloads_under_load() {
    reloads_under_load(Kind::Daemontools, Mode::MasterWorker);
}

#[test]
fn ten_reloads_at_once_are_each_applied_in_turn() {
    for mode in MODES {
        for kind in under_test(&ALL) {
            let mut procs = Procs::new();
            let (inst, svc, first) = started(kind, mode, &mut procs);
            let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
            let before = (mode == Mode::MasterWorker).then(|| inst.master_reloads());
            // Each its own configuration, written just before it starts:
            // reload K reads vK or a later one.
            let reloads: Vec<_> = (1..=10)
                .map(|k| {
                    inst.set_version(&format!("v{k}"));
                    procs.spawn(
                        inst.reload_command()
                            .stdout(std::process::Stdio::piped())
                            .stderr(std::process::Stdio::piped()),
                    )
                })
                .collect();
            // Each exit 0, the moment it is seen, is a configuration that
            // serves: vK or a later one, never one before it.
            let port = inst.port;
            // The last waits behind nine reloads, each its copy's start
            // and, a handoff pending, the supervisor's moment between the
            // old haproxy and run (runsv's second between restarts), longer
            // on a busy machine: the bound is a hang guard, each reload's
            // wait being bounded by TIMEOUT.
            let limit = 10 * common::DEADLINE;
            std::thread::scope(|scope| {
                let waits: Vec<_> = reloads
                    .into_iter()
                    .map(|r| {
                        scope.spawn(move || {
                            (
                                common::wait_output_within(r, limit),
                                common::haproxy::fetch(port),
                            )
                        })
                    })
                    .collect();
                for (k, w) in (1..=10).zip(waits) {
                    let (o, served) = w.join().unwrap();
                    assert_eq!(o.code(), 0, "{kind:?} {mode:?} reload {k}: {o:?}");
                    if mode == Mode::Handoff {
                        // Each a copy of its own, replacing the one before.
                        assert!(reloaded_copy(&inst, &o).is_some(), "{kind:?} {k}: {o:?}");
                    }
                    let served = served
                        .ok()
                        .and_then(|v| v.strip_prefix('v')?.parse::<u32>().ok());
                    assert!(
                        served.is_some_and(|v| v >= k),
                        "{kind:?} {mode:?} reload {k} exited 0 with v{served:?} serving: {o:?}"
                    );
                }
            });
            let last = inst.wait_settled(&svc, "v10");
            match before {
                // Not one lost: the master did ten reloads.
                Some(n) => assert_eq!(inst.master_reloads(), n + 10, "{kind:?}"),
                None => assert_ne!(last, first),
            }
            let stats = load.finish();
            assert_eq!(stats.failed, 0, "{kind:?} {mode:?}: {stats:?}");
            assert_no_orphan(&inst, &svc);
        }
    }
}

#[test]
fn a_broken_configuration_fails_the_reload_and_the_old_process_serves_on() {
    for mode in MODES {
        for kind in under_test(&ALL) {
            let mut procs = Procs::new();
            let (inst, svc, pid) = started(kind, mode, &mut procs);
            let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
            inst.write_config(b"global\n    this is not a keyword\n");
            let o = inst.reload();
            assert_eq!(o.code(), 1, "{kind:?} {mode:?}: {o:?}");
            assert!(o.stderr.contains(": fatal: invalid configuration"), "{o:?}");
            // haproxy's own alert, naming the file and line, before it.
            let at = format!("parsing [{}:2]", inst.config.display());
            assert!(
                o.stderr
                    .lines()
                    .any(|l| l.starts_with("[ALERT]") && l.contains(&at)),
                "{kind:?} {mode:?}: {o:?}"
            );
            assert_eq!(
                inst.settled(&svc, "v0"),
                Ok(pid),
                "{kind:?}: the old process serves on"
            );
            inst.set_version("v1");
            let o = inst.reload();
            assert_eq!(o.code(), 0, "{o:?}");
            assert_verified(&inst, &svc, pid, "v1", &format!("{kind:?} {mode:?}"), &o);
            inst.wait_settled(&svc, "v1");
            let stats = load.finish();
            assert_eq!(stats.failed, 0, "{kind:?} {mode:?}: {stats:?}");
            assert_no_orphan(&inst, &svc);
        }
    }
}

#[test]
fn a_configuration_that_fails_at_start_up_fails_the_reload() {
    // haproxy -c accepts it; only binding shows the address is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    for mode in MODES {
        for kind in under_test(&ALL) {
            let mut procs = Procs::new();
            let (inst, svc, pid) = started(kind, mode, &mut procs);
            let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
            let what = format!("{kind:?} {mode:?}");
            assert_a_taken_address_fails_the_reload(&inst, &svc, pid, taken_port, &what);
            inst.set_version("v2");
            assert_eq!(inst.reload().code(), 0, "{kind:?} {mode:?}");
            inst.wait_settled(&svc, "v2");
            let stats = load.finish();
            assert_eq!(stats.failed, 0, "{kind:?} {mode:?}: {stats:?}");
            assert_no_orphan(&inst, &svc);
        }
    }
}

/// The handoff's copy takes the listeners over the stats socket, and
/// answers there: without it, the reload says so at once and starts
/// nothing.
#[test]
fn a_handoff_needs_the_stats_socket() {
    let mut procs = Procs::new();
    let (inst, svc, pid) = started(Kind::Runit, Mode::Handoff, &mut procs);
    std::fs::remove_file(inst.rundir.join("admin.sock")).unwrap();
    inst.set_version("v1");
    let o = inst.reload();
    assert_eq!(o.code(), 1, "{o:?}");
    assert_eq!(
        o.stderr,
        format!(
            "haproxy-handoff: fatal: no stats socket at {}: haproxy.cfg must put it there\n",
            inst.rundir.join("admin.sock").display()
        ),
        "{o:?}"
    );
    assert_eq!(inst.haproxies(), [pid], "a copy was started");
    assert_eq!(inst.settled(&svc, "v0"), Ok(pid));
    assert_no_orphan(&inst, &svc);
}

/// The master-worker reload's probe takes the workers' listeners over the
/// stats socket: with no worker answering there, the reload says so and
/// signals nothing (the probe would bind its own, and take the path).
#[test]
fn a_master_worker_reload_needs_the_workers_stats_socket() {
    let mut procs = Procs::new();
    let (inst, svc, master) = started(Kind::Runit, Mode::MasterWorker, &mut procs);
    inst.set_version("v1");
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    // The socket's path removed: the workers still listen, unreachable.
    std::fs::remove_file(inst.rundir.join("admin.sock")).unwrap();
    inst.set_version("v2");
    let o = inst.reload();
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        o.stderr.contains(&format!(
            "haproxy-master: fatal: no worker answers on {}, which the probe takes the listeners from",
            inst.rundir.join("admin.sock").display()
        )),
        "{o:?}"
    );
    assert_eq!(inst.settled(&svc, "v1"), Ok(master));
    assert_no_orphan(&inst, &svc);
}

#[test]
fn a_reload_while_the_service_is_down_fails_and_starts_nothing() {
    for mode in MODES {
        for kind in under_test(&ALL) {
            let mut procs = Procs::new();
            let (inst, svc, _) = started(kind, mode, &mut procs);
            svc.command('d');
            svc.wait_down();
            wait_for("haproxy to exit", || inst.haproxies().is_empty());
            inst.set_version("v1");
            let o = inst.reload();
            assert_eq!(o.code(), 1, "{kind:?} {mode:?}: {o:?}");
            assert!(o.stderr.contains("sv-pid: fatal: service "), "{o:?}");
            // The handoff asks whether it is wanted up (sv-pid -u).
            let why = match mode {
                Mode::Handoff => " is wanted down\n",
                Mode::MasterWorker => " is down\n",
            };
            assert!(o.stderr.ends_with(why), "{kind:?} {mode:?}: {o:?}");
            assert_eq!(
                inst.haproxies(),
                [] as [u32; 0],
                "{kind:?} {mode:?}: started"
            );
        }
    }
}

#[test]
fn slow_requests_in_flight_across_back_to_back_reloads() {
    let backend = slow_backend(Duration::from_secs(2)).expect("a backend");
    for mode in MODES {
        for kind in under_test(&ALL) {
            let mut procs = Procs::new();
            let inst = Install::with_mode(kind, mode, "v0");
            inst.set_version_with_slow_backend("v0", backend.port);
            let svc = inst.start(&mut procs);
            let first = inst.wait_settled(&svc, "v0");
            let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
            let port = inst.port;
            let held = backend.received();
            let slow: Vec<_> = (0..3)
                .map(|_| {
                    std::thread::spawn(move || fetch_path(port, "/slow", Duration::from_secs(30)))
                })
                .collect();
            // In flight before the first reload: the backend holds them.
            wait_for("the slow requests to reach the backend", || {
                backend.received() >= held + 3
            });
            let mut before = first;
            for version in ["v1", "v2"] {
                inst.set_version_with_slow_backend(version, backend.port);
                let o = inst.reload();
                assert_eq!(o.code(), 0, "{kind:?} {mode:?} {version}: {o:?}");
                before = assert_verified(
                    &inst,
                    &svc,
                    before,
                    version,
                    &format!("{kind:?} {mode:?}"),
                    &o,
                );
            }
            for s in slow {
                assert_eq!(
                    s.join().unwrap(),
                    Ok("slow".to_owned()),
                    "{kind:?} {mode:?}"
                );
            }
            inst.wait_settled(&svc, "v2");
            let stats = load.finish();
            assert_eq!(stats.failed, 0, "{kind:?} {mode:?}: {stats:?}");
            assert_no_orphan(&inst, &svc);
        }
    }
}

#[test]
fn a_stale_handoff_pidfile_never_gets_an_unrelated_process_signalled() {
    for kind in under_test(&ALL) {
        let mut procs = Procs::new();
        let (inst, svc, _) = started(kind, Mode::Handoff, &mut procs);
        // A live process that is not haproxy, whose pid a stale pidfile names.
        // SIGUSR1 (-sf) or SIGTERM (-st) would kill it.
        let bystander = procs.start(Command::new("sleep").arg("1000"));
        wait_for("sleep to run", || {
            std::fs::read_to_string(format!("/proc/{bystander}/comm")).is_ok_and(|c| c == "sleep\n")
        });
        write_file(&inst.handoff(), format!("{bystander}\n").as_bytes(), 0o644);
        // The supervised haproxy dies; the restarted run script finds the pidfile.
        // SAFETY: kill(2) on the haproxy this test started.
        unsafe { libc::kill(svc.wait_up() as i32, libc::SIGKILL) };
        inst.wait_settled(&svc, "v0");
        let log = svc.said();
        assert!(
            log.contains(&format!(
                "haproxy-sf: warning: dropping pid {bystander}: process is not haproxy"
            )),
            "{kind:?}: {log}"
        );
        let stat = std::fs::read_to_string(format!("/proc/{bystander}/stat")).unwrap_or_default();
        assert!(
            stat.contains(") S ") || stat.contains(") R "),
            "{kind:?}: the bystander was signalled: {stat:?}"
        );
        assert_no_orphan(&inst, &svc);
    }
}

#[test]
fn the_daemonized_copy_killed_mid_handoff_still_ends_with_one_supervised_haproxy() {
    for kind in under_test(&ALL) {
        let mut procs = Procs::new();
        let (inst, svc, first) = started(kind, Mode::Handoff, &mut procs);
        inst.set_version("v1");
        let reload = procs.spawn(
            inst.reload_command()
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped()),
        );
        // The copy answered on the stats socket and was handed over: the
        // old haproxy is told to finish. (Killed before that, the reload
        // fails and the old one serves on: a_configuration_that_fails_...)
        wait_for("the handoff pidfile", || inst.handoff().exists());
        let copy = inst.daemonized_copy();
        // SAFETY: kill(2) on the haproxy this test's reload started.
        unsafe { libc::kill(copy as i32, libc::SIGKILL) };
        // The service still ends with a new supervised haproxy serving v1.
        let o = wait_output(reload);
        assert_answered_or_copy_gone(&inst, &o, copy, &format!("{kind:?}"));
        let last = inst.wait_settled(&svc, "v1");
        assert_ne!(last, first, "{kind:?}");
        assert_no_orphan(&inst, &svc);
    }
}

/// The copy stalls (SIGSTOP) during the handoff, so the restarted ./run,
/// which has consumed the handoff pidfile, cannot take over from it and
/// fails. The next ./run must still find the copy, by its stats socket,
/// and take it over: no haproxy left running unsupervised beside the new
/// one. The reload answered once the copy served; `haproxy-handoff wait`
/// warns that the first run did not take over, waits for the next, and
/// says which haproxy serves.
#[test]
fn a_copy_that_stalls_mid_handoff_is_taken_over_by_the_next_run() {
    for kind in under_test(&ALL) {
        // Holds /slow until released (LOAD_LIMIT at most, whatever goes
        // wrong): the old haproxy drains it until the copy is stopped.
        let backend = slow_backend(LOAD_LIMIT).expect("a backend");
        let mut procs = Procs::new();
        let inst = Install::with_mode(kind, Mode::Handoff, "v0");
        inst.set_version_with_slow_backend("v0", backend.port);
        let svc = inst.start(&mut procs);
        let first = inst.wait_settled(&svc, "v0");
        // A request the old haproxy drains, so that it exits, and ./run
        // starts again, only once the copy is stopped.
        let held = backend.received();
        let port = inst.port;
        let slow = std::thread::spawn(move || fetch_path(port, "/slow", LOAD_LIMIT));
        wait_for("the slow request to reach the backend", || {
            backend.received() > held
        });
        inst.set_version_with_slow_backend("v1", backend.port);
        // The reload answers once its copy serves, the old haproxy draining.
        let o = inst.reload();
        assert_eq!(o.code(), 0, "{kind:?}: {o:?}");
        let copy = assert_verified(&inst, &svc, first, "v1", &format!("{kind:?}"), &o);
        assert_eq!(inst.daemonized_copy(), copy, "{kind:?}");
        // Whoever waits for the takeover: waits through the drain, the run
        // that gives up, and the next.
        let waiting = procs.spawn(
            inst.handoff_verb_command("wait")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped()),
        );
        // SAFETY: kill(2) on the haproxy this test's reload started.
        unsafe { libc::kill(copy as i32, libc::SIGSTOP) };
        wait_for("the copy to stop", || {
            std::fs::read_to_string(format!("/proc/{copy}/stat"))
                .is_ok_and(|s| s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('T')))
        });
        // The old haproxy's last request answered: it exits, and ./run
        // starts again.
        backend.release();
        // A ./run gave up on the copy: its question on the stats socket
        // went unanswered (or, had it been asked before the stop, the new
        // haproxy's -x did).
        wait_until("a ./run to give up on the stopped copy", || {
            let log = svc.said();
            if log.contains("haproxy-pid: fatal: no whole answer from")
                || log.contains("Failed to get the sockets from the old process")
            {
                Ok(())
            } else {
                Err(format!("log: {log}"))
            }
        });
        // SAFETY: as above.
        unsafe { libc::kill(copy as i32, libc::SIGCONT) };
        let o = wait_output(waiting);
        assert_eq!(o.code(), 0, "{kind:?}: {o:?}");
        // One warning per run that gave up: the first, and the next too
        // if the supervisor restarted it before the log showed the first
        // (daemontools' log comes later); fewer than RUNS (3), or wait
        // would have failed.
        let said = said_by_pidchain(&o.stderr);
        assert!(
            (1..=2).contains(&said.lines().count())
                && said.lines().all(|l| {
                    l.starts_with("haproxy-handoff: warning: haproxy ")
                        && l.ends_with(" exited before it took over; waiting for the next run")
                }),
            "{kind:?}: {o:?}"
        );
        let now = svc.reported_pid().expect("supervised");
        assert_eq!(
            o.out(),
            format!("haproxy-handoff: info: haproxy {now} serves, supervised\n"),
            "{kind:?}"
        );
        assert!(!inst.handoff().exists(), "{kind:?}");
        assert_eq!(slow.join().unwrap(), Ok("slow".to_owned()), "{kind:?}");
        // One supervised haproxy, serving v1; the copy was told to finish.
        let last = inst.wait_settled(&svc, "v1");
        assert_ne!(last, first, "{kind:?}");
        wait_for("the copy to exit", || {
            !std::path::Path::new(&format!("/proc/{copy}")).exists()
        });
        assert_no_orphan(&inst, &svc);
    }
}

/// s6: `s6-svwait -U` returns only once haproxy serves, not when it has
/// merely been started: the configuration loads a large map, so haproxy
/// runs a while before it answers. The request right after must succeed.
fn s6_ready_once_haproxy_answers(mode: Mode) {
    let mut procs = Procs::new();
    let inst = Install::with_mode(Kind::S6, mode, "v0");
    inst.set_version_with_large_map("v0", 200_000);
    let svc = inst.start(&mut procs);
    inst.assert_ready_and_serving(&svc, "v0");
    let ready = run(Command::new("s6-svstat")
        .args(["-o", "up,ready"])
        .arg(&svc.dir));
    assert_eq!(ready.out().trim(), "true true", "{ready:?}");
    inst.wait_settled(&svc, "v0");
    if mode == Mode::Handoff {
        // A handoff restarts ./run: ready again only once the new
        // supervised haproxy answers, not the copy.
        let before = svc.reported_pid().expect("supervised");
        inst.set_version_with_large_map("v1", 200_000);
        let o = inst.reload();
        assert_eq!(o.code(), 0, "{o:?}");
        assert_verified(&inst, &svc, before, "v1", "reload", &o);
        let w = inst.handoff_verb("wait");
        assert_eq!(w.code(), 0, "{w:?}");
        let after = svc.reported_pid().expect("supervised");
        assert_eq!(
            w.out(),
            format!("haproxy-handoff: info: haproxy {after} serves, supervised\n")
        );
        inst.assert_ready_and_serving(&svc, "v1");
        let answering = run(Command::new(HAPROXY_PID).arg(inst.rundir.join("admin.sock")));
        assert_eq!(answering.out().trim(), after.to_string(), "{answering:?}");
    }
    assert_no_orphan(&inst, &svc);
}

#[test]
fn s6_is_ready_once_haproxy_answers() {
    s6_ready_once_haproxy_answers(Mode::Handoff);
}

#[test]
fn s6_master_worker_is_ready_once_haproxy_answers() {
    s6_ready_once_haproxy_answers(Mode::MasterWorker);
}
