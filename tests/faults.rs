//! Faults a production host sees, injected into the shipped runit recipe
//! under steady load with real haproxy. After each: one supervised haproxy
//! serving within a bounded time, no orphan, no unrelated process
//! signalled. Each test prints the requests its fault cost (`cargo test
//! --test faults -- --nocapture`) and asserts none where README promises
//! none; the rest are downtime the fault itself causes, measured.

mod common;
use common::gate::Gate;
use common::haproxy::{Client, Install, Load};
use common::supervisors::{ALL, Kind, Service, under_test};
use common::*;
use std::process::Command;
use std::time::Duration;

const LOAD_LIMIT: Duration = Duration::from_secs(120);

fn started(procs: &mut Procs) -> (Install, Service, u32) {
    let inst = Install::new(Kind::Runit, "v0");
    let svc = inst.start(procs);
    let pid = inst.wait_settled(&svc, "v0");
    // Past runsv's one-second throttle, as a service that has been up a while.
    wait_for("the service to have run a second", || {
        svc.status_text().is_some_and(|t| !t.contains(") 0s"))
    });
    (inst, svc, pid)
}

fn kill(pid: u32) {
    // SAFETY: kill(2) on a process of this test's service.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

/// What a fault may cost in requests: README's table says which is which.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lost {
    /// Promised: not one request.
    Nothing,
    /// Downtime the fault causes by nature (a killed haproxy): measured,
    /// printed, not asserted.
    Measured,
}

fn settle_and_report(
    fault: &str,
    lost: Lost,
    inst: &Install,
    svc: &Service,
    load: Load,
    version: &str,
) {
    inst.wait_settled(svc, version);
    let stats = load.finish();
    eprintln!(
        "fault: {fault}: {} of {} requests lost",
        stats.failed,
        stats.ok + stats.failed
    );
    assert!(stats.ok > 0, "{fault}: no request served at all");
    if lost == Lost::Nothing {
        assert_eq!(stats.failed, 0, "{fault}: requests lost");
    }
    svc.command('d');
    svc.wait_down();
    wait_for("every haproxy of this configuration to exit", || {
        inst.haproxies().is_empty()
    });
}

#[test]
fn supervised_haproxy_killed() {
    let mut procs = Procs::new();
    let (inst, svc, pid) = started(&mut procs);
    let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
    // Served before the fault: the report's "no request served at all"
    // must not hang on whether one came between the restart and its end.
    wait_for("the load to be served", || load.counts().0 > 0);
    kill(pid);
    settle_and_report(
        "SIGKILL of the supervised haproxy",
        Lost::Measured,
        &inst,
        &svc,
        load,
        "v0",
    );
}

#[test]
fn daemonized_copy_killed_during_the_handoff() {
    let mut procs = Procs::new();
    let (inst, svc, _) = started(&mut procs);
    let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
    inst.set_version("v1");
    let reload = procs.spawn(
        inst.reload_command()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    // Handed over: it answered on the stats socket, the old haproxy is
    // told to finish. (Killed before, the reload fails and the old one
    // serves on, as when the copy cannot start.)
    wait_for("the handoff pidfile", || inst.handoff().exists());
    let copy = inst.daemonized_copy();
    kill(copy);
    let o = wait_output(reload);
    common::haproxy::assert_answered_or_copy_gone(&inst, &o, copy, "");
    settle_and_report(
        "SIGKILL of the daemonized copy",
        Lost::Measured,
        &inst,
        &svc,
        load,
        "v1",
    );
}

#[test]
fn reload_killed_midway() {
    // Killed (the script's own pid, as a timeout or an impatient operator
    // would) at each phase of a handoff reload, held there by a gate on
    // the command that starts the next phase. Its children go on (the
    // subshell that starts the copy and tells the old haproxy to finish
    // is one of them, so that a kill never leaves the copy beside the old
    // haproxy): the configuration the service ends on follows from the
    // phase.
    for (phase, command, nth, ends_on) in [
        (
            "checking the service is up, before the lock",
            "flock",
            1,
            "v0",
        ),
        (
            "holding the lock, checking the run directory",
            "df",
            1,
            "v0",
        ),
        (
            "the old pid read, before it is checked",
            "haproxy-sf",
            1,
            "v0",
        ),
        (
            "the copy running, before the handoff pidfile",
            "mv",
            1,
            "v1",
        ),
        (
            "the copy started, asked whether it answers",
            "haproxy-pid",
            1,
            "v1",
        ),
        (
            // The reload's check that the old one is haproxy, then the
            // step's signal (its record of it as draining made).
            "the handoff pidfile made, before the old haproxy is told",
            "haproxy-sf",
            2,
            "v1",
        ),
        (
            "the old haproxy told to finish, before the reload checks the service is wanted up",
            "sv-pid",
            3,
            "v1",
        ),
    ] {
        let mut procs = Procs::new();
        let (inst, svc, _) = started(&mut procs);
        let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
        inst.set_version("v1");
        let gate = Gate::new(&inst, command, nth);
        let said = gate.dir.path().join("stderr");
        // Not procs.spawn, whose tag would replace the Install's: by that
        // tag the reload's children are found (and killed with the Install).
        let mut reload = spawn(
            inst.reload_command_with_first_in_path(gate.dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(&said).expect("the reload's stderr")),
        );
        wait_until(&format!("the reload to reach: {phase}"), || {
            if gate.reached() {
                return Ok(());
            }
            let text = std::fs::read_to_string(&said).unwrap_or_default();
            let running: Vec<String> = inst
                .reload_leftovers()
                .iter()
                .map(|p| {
                    let c = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                    String::from_utf8_lossy(&c).replace('\0', " ")
                })
                .collect();
            let calls = std::fs::read_to_string(gate.dir.path().join("count")).unwrap_or_default();
            let status = reload.try_wait();
            Err(format!(
                "the reload said {text:?}, runs {running:?}, {calls:?} calls, {status:?}"
            ))
        });
        kill(reload.id());
        let _ = reload.wait();
        gate.open();
        // Its children go on (that is the point): the outcome is known
        // once they are done.
        wait_until("the killed reload's children to finish", || {
            let left = inst.reload_leftovers();
            let cmdlines: Vec<String> = left
                .iter()
                .map(|p| {
                    let c = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                    String::from_utf8_lossy(&c).replace('\0', " ")
                })
                .collect();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{phase}: {cmdlines:?}"))
            }
        });
        wait_until(&format!("the service to settle on {ends_on}"), || {
            inst.settled(&svc, ends_on)
                .map(drop)
                .map_err(|e| format!("{phase}: {e}"))
        });
        settle_and_report(
            &format!("SIGKILL of the reload: {phase} (ended on {ends_on})"),
            Lost::Nothing,
            &inst,
            &svc,
            load,
            ends_on,
        );
    }
}

#[test]
fn down_after_a_reload_killed_once_its_copy_serves_leaves_no_haproxy() {
    // The reload killed (SIGKILL) once its step has handed the copy over
    // and told the old haproxy to finish, before the reload answers (held
    // at its check that the service is still wanted up). Then down, the
    // old haproxy still draining: the copy serves unsupervised, and the
    // watcher the step started, not the dead reload, stops it
    // (daemontools runs no finish).
    for kind in under_test(&ALL) {
        let backend = common::haproxy::slow_backend(Duration::from_secs(25)).expect("a backend");
        let mut procs = Procs::new();
        let inst = Install::new(kind, "v0");
        inst.set_version_with_slow_backend("v0", backend.port);
        let svc = inst.start(&mut procs);
        let old = inst.wait_settled(&svc, "v0");
        // Keeps the old haproxy draining, and so supervised, through the
        // down: no run takes the copy over first.
        let held = backend.received();
        let port = inst.port;
        std::thread::spawn(move || {
            common::haproxy::fetch_path(port, "/slow", Duration::from_secs(40))
        });
        wait_for("the slow request to reach the backend", || {
            backend.received() > held
        });
        inst.set_version_with_slow_backend("v1", backend.port);
        // The reload's sv-pid calls: up and wanted up (1), the old pid
        // (2), taken down meanwhile (3, after the step).
        let gate = Gate::new(&inst, "sv-pid", 3);
        // Not procs.spawn: the reload keeps the Install's tag, by which
        // its step and watcher are found (and killed with the Install).
        let mut reload = spawn(
            inst.reload_command_with_first_in_path(gate.dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null()),
        );
        wait_for(&format!("{kind:?}: the reload to be held"), || {
            gate.reached()
        });
        let copy = std::fs::read_to_string(inst.handoff()).expect("the handoff pidfile");
        assert_ne!(copy.trim(), old.to_string(), "{kind:?}");
        kill(reload.id());
        let _ = reload.wait();
        // The held shim, orphaned, goes on and exits.
        gate.open();
        assert_eq!(
            inst.fetch(),
            Ok("v1".to_owned()),
            "{kind:?}: the copy serves"
        );
        svc.command('d');
        svc.wait_down();
        wait_for(
            &format!("{kind:?}: every haproxy of the service to exit"),
            || inst.haproxies().is_empty(),
        );
        assert!(
            !inst.handoff().exists(),
            "{kind:?}: the handoff pidfile is left"
        );
        backend.release();
    }
}

#[test]
fn supervisor_killed_then_restarted() {
    for kind in under_test(&ALL) {
        let mut procs = Procs::new();
        let inst = Install::new(kind, "v0");
        let svc = inst.start(&mut procs);
        let pid = inst.wait_settled(&svc, "v0");
        let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
        svc.kill_supervisor();
        // Its status is stale now: a reload refuses it, changes nothing.
        inst.set_version("v1");
        let o = inst.reload();
        assert_eq!(o.code(), 1, "{kind:?}: {o:?}");
        assert!(
            o.stderr
                .contains("sv-pid: fatal: supervisor not running for"),
            "{o:?}"
        );
        assert_eq!(inst.haproxies(), [pid], "{kind:?}: nothing started");
        assert_eq!(inst.fetch(), Ok("v0".to_owned()));
        // Restarted, as runsvdir, s6-svscan or svscan would: run takes over
        // from the haproxy that ran on unsupervised (runit and s6 recorded
        // its pid; daemontools runs no finish script, and run finds it
        // answering on the stats socket), instead of starting beside it.
        let svc = inst.start(&mut procs);
        let new = inst.wait_settled(&svc, "v1");
        assert_ne!(new, pid, "{kind:?}");
        settle_and_report(
            &format!("SIGKILL of the {kind:?} supervisor, a reload, the supervisor restarted"),
            Lost::Nothing,
            &inst,
            &svc,
            load,
            "v1",
        );
    }
}

#[test]
fn handoff_pidfile_left_empty_incomplete_or_dead() {
    let mut procs = Procs::new();
    let bystander = procs.start(Command::new("sleep").arg("1000"));
    wait_for("sleep to run", || {
        std::fs::read_to_string(format!("/proc/{bystander}/comm")).is_ok_and(|c| c == "sleep\n")
    });
    let dead = dead_pid(&mut procs);
    for (what, content) in [
        ("empty", String::new()),
        ("incomplete, naming a live bystander", bystander.to_string()),
        ("naming a dead pid", format!("{dead}\n")),
    ] {
        let (inst, svc, pid) = started(&mut procs);
        let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
        std::fs::create_dir_all(&inst.rundir).unwrap();
        write_file(&inst.handoff(), content.as_bytes(), 0o644);
        // The supervised haproxy dies: the restarted run finds the pidfile.
        kill(pid);
        settle_and_report(
            &format!("handoff pidfile {what}, then SIGKILL of haproxy"),
            Lost::Measured,
            &inst,
            &svc,
            load,
            "v0",
        );
        let stat = std::fs::read_to_string(format!("/proc/{bystander}/stat")).unwrap_or_default();
        assert!(
            stat.contains(") S ") || stat.contains(") R "),
            "the bystander was signalled: {stat:?}"
        );
    }
}

#[test]
fn configuration_broken_between_the_check_and_the_restart() {
    let mut procs = Procs::new();
    let (inst, svc, old) = started(&mut procs);
    let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
    // Hold runsv still so that the restart comes after the configuration
    // is broken: the reload's check passed, the restarted run's does not.
    // SAFETY: signals to the supervisor this test started.
    unsafe { libc::kill(svc.supervisor as i32, libc::SIGSTOP) };
    // SAFETY: as above.
    let resume = || unsafe { libc::kill(svc.supervisor as i32, libc::SIGCONT) };
    inst.set_version("v1");
    // (SIGKILL, when the test ends, reaches a stopped runsv too.)
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    common::haproxy::assert_verified(&inst, &svc, old, "v1", "reload", &o);
    // Whoever waits for the takeover.
    let waiting = procs.spawn(
        inst.handoff_verb_command("wait")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    inst.write_config(b"global\n    this is not a keyword\n");
    resume();
    // run fails its check every second and keeps the handoff pidfile; the
    // copy serves meanwhile.
    wait_for("run to fail on the broken configuration", || {
        svc.said().contains("unknown keyword 'this'")
    });
    assert!(
        inst.handoff().exists(),
        "the handoff pidfile was consumed by a run that could not start"
    );
    assert_eq!(inst.fetch(), Ok("v1".to_owned()));
    // `wait` says that the takeover did not happen: the runs it waited
    // for (RUNS of them) exited, without waiting out its WAIT.
    let o = wait_output(waiting);
    assert_eq!(o.code(), 1, "{o:?}");
    assert_eq!(
        o.stderr
            .matches(" exited before it took over; waiting for the next run\n")
            .count(),
        2,
        "{o:?}"
    );
    assert!(
        o.stderr.lines().count() == 3 && o.stderr.ends_with(" did not take over\n"),
        "{o:?}"
    );
    // Fixed: the next restart takes over from the copy.
    inst.set_version("v2");
    settle_and_report(
        "configuration broken between check and restart",
        Lost::Nothing,
        &inst,
        &svc,
        load,
        "v2",
    );
}

#[test]
fn disk_full_where_the_pidfile_goes() {
    assert!(
        is_root(),
        "needs root to mount a tmpfs: run the suite as root (CI does)"
    );
    let mut procs = Procs::new();
    let inst = Install::new(Kind::Runit, "v0");
    std::fs::create_dir_all(&inst.rundir).unwrap();
    let mount = run(Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
        .arg(&inst.rundir));
    assert_eq!(mount.code(), 0, "mount tmpfs: {mount:?}");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            run(Command::new("umount").arg("-l").arg(&self.0));
        }
    }
    let _unmount = Unmount(inst.rundir.clone());
    let svc = inst.start(&mut procs);
    let pid = inst.wait_settled(&svc, "v0");
    let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
    // Fill it: haproxy 2.6 would signal the old process and then fail,
    // silently, to write its pid.
    // dd stops at the end of the space, with an error: that is the point.
    run(Command::new("dd")
        .args(["if=/dev/zero", "bs=4k", "count=64"])
        .arg(format!("of={}", inst.rundir.join("fill").display())));
    inst.set_version("v1");
    let o = inst.reload();
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("is full"), "{o:?}");
    assert_eq!(inst.haproxies(), [pid], "nothing started");
    assert_eq!(inst.fetch(), Ok("v0".to_owned()));
    std::fs::remove_file(inst.rundir.join("fill")).unwrap();
    assert_eq!(inst.reload().code(), 0);
    settle_and_report(
        "disk full where the pidfile goes, reload refused, then retried",
        Lost::Nothing,
        &inst,
        &svc,
        load,
        "v1",
    );
}

#[test]
fn a_reload_while_run_is_still_starting_starts_no_copy() {
    let mut procs = Procs::new();
    let inst = Install::new(Kind::Runit, "v0");
    // The restarted run held before it takes the reload lock (the first
    // run's flock is the first call): the supervised process is not
    // haproxy yet, and holds nothing a reload waits for.
    let gate = Gate::new(&inst, "flock", 2);
    let svc = inst.start_with_first_in_path(&mut procs, gate.dir.path());
    let pid = inst.wait_settled(&svc, "v0");
    kill(pid);
    wait_for("the restarted run to reach its lock", || gate.reached());
    let starting = svc.reported_pid().unwrap_or(0);
    assert!(starting != 0 && starting != pid, "{starting}");
    inst.set_version("v1");
    let o = inst.reload();
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        o.stderr
            .contains("haproxy-sf: fatal: no process to take over from"),
        "{o:?}"
    );
    assert!(inst.haproxies().is_empty(), "a copy was started");
    // No copy was started: once run is haproxy, it is the only one.
    gate.open();
    let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
    settle_and_report(
        "a reload while run is still starting (refused)",
        Lost::Measured,
        &inst,
        &svc,
        load,
        "v1",
    );
}

/// Where in a handoff a command comes: the reload held at the `nth` call
/// of a command (a gate).
#[derive(Clone, Copy, Debug)]
enum Point {
    /// The old pid read and about to be checked: no copy yet.
    BeforeTheCopy,
    /// The copy runs beside the old haproxy, not yet told to finish.
    CopyBesideTheOld,
    /// The reload has answered (0): the old haproxy told to finish,
    /// draining (a slow request holds it), the copy serving.
    Drain,
    /// The old haproxy has exited; the supervisor's new `run` has not
    /// taken over yet (held at its first read, a gate in the
    /// supervisor's PATH).
    BeforeTheTakeover,
}

impl Point {
    /// The reload held at the `nth` call of a command; none at the drain,
    /// which the reload does not wait for.
    fn gate(self) -> Option<(&'static str, u32)> {
        match self {
            Point::BeforeTheCopy => Some(("haproxy-sf", 1)),
            // After the reload's check that the old one is haproxy: the
            // step's signal, the copy answering, the handoff pidfile made.
            Point::CopyBesideTheOld => Some(("haproxy-sf", 2)),
            Point::Drain => None,
            // The first run read two pidfiles: the third read is the next run's.
            Point::BeforeTheTakeover => Some(("pidfile-read", 3)),
        }
    }
}

fn command_during_the_drain(
    kind: Kind,
    command: impl FnOnce(&Service, &common::harness::SlowBackend),
) -> (Install, Service, Procs, Load, Output, u32, Duration) {
    command_at(kind, Point::Drain, command)
}

/// A handoff reload held at `point`, under load, when the operator sends
/// `command` to the supervisor; then the reload goes on. (At
/// BeforeTheTakeover the command must take the service down.)
fn command_at(
    kind: Kind,
    point: Point,
    command: impl FnOnce(&Service, &common::harness::SlowBackend),
) -> (Install, Service, Procs, Load, Output, u32, Duration) {
    let backend = common::haproxy::slow_backend(Duration::from_secs(25)).expect("a backend");
    let mut procs = Procs::new();
    let inst = Install::new(kind, "v0");
    inst.set_version_with_slow_backend("v0", backend.port);
    let gate = point.gate().map(|(at, nth)| Gate::new(&inst, at, nth));
    let in_run = matches!(point, Point::BeforeTheTakeover);
    let svc = match &gate {
        Some(gate) if in_run => inst.start_with_first_in_path(&mut procs, gate.dir.path()),
        _ => inst.start(&mut procs),
    };
    let old = inst.wait_settled(&svc, "v0");
    let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
    if !in_run {
        let held = backend.received();
        let port = inst.port;
        // Its answer does not matter: it only keeps the old haproxy draining.
        std::thread::spawn(move || {
            common::haproxy::fetch_path(port, "/slow", Duration::from_secs(40))
        });
        wait_for("the slow request to reach the backend", || {
            backend.received() > held
        });
    }
    inst.set_version_with_slow_backend("v1", backend.port);
    let mut reload_command = match &gate {
        Some(gate) if !in_run => inst.reload_command_with_first_in_path(gate.dir.path()),
        _ => inst.reload_command(),
    };
    let mut reload = Some(
        procs.spawn(
            reload_command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped()),
        ),
    );
    // At the drain, the reload has answered.
    let answered = match &gate {
        Some(gate) => {
            wait_for(&format!("{kind:?} to reach {point:?}"), || gate.reached());
            None
        }
        None => reload.take().map(wait_output),
    };
    if let Some(o) = &answered {
        assert_eq!(o.code(), 0, "{kind:?} {point:?}: {o:?}");
        common::haproxy::assert_verified(&inst, &svc, old, "v1", &format!("{kind:?}"), o);
    }
    // Before the copy, one haproxy; beside the old, two (both accept on
    // the same listeners); at the drain, only the copy answers; before
    // the takeover, the copy alone runs.
    let expected = match point {
        Point::BeforeTheCopy | Point::BeforeTheTakeover => 1,
        Point::CopyBesideTheOld | Point::Drain => 2,
    };
    assert_eq!(inst.haproxies().len(), expected, "{kind:?} {point:?}");
    if matches!(point, Point::Drain | Point::BeforeTheTakeover) {
        assert_eq!(
            inst.fetch(),
            Ok("v1".to_owned()),
            "{kind:?}: the copy serves"
        );
    }
    if in_run {
        assert!(
            !std::path::Path::new(&format!("/proc/{old}")).exists()
                || svc.reported_pid() != Some(old)
        );
    } else {
        assert_eq!(
            svc.reported_pid(),
            Some(old),
            "{kind:?}: the old haproxy runs"
        );
    }
    let sent = std::time::Instant::now();
    command(&svc, &backend);
    // The held run may have been stopped by the command: then nothing
    // waits. (daemontools' supervise reads commands only a second after it
    // started run: the command is taken before run goes on.)
    match &gate {
        Some(gate) if in_run => {
            wait_for("the supervisor to take the command", || {
                run(cmd(SV_PID).arg("-u").arg(&svc.dir)).code() == 2
            });
            gate.release();
        }
        Some(gate) => gate.open(),
        None => {}
    }
    let o = match (reload, answered) {
        (Some(reload), _) => wait_output(reload),
        (None, Some(o)) => o,
        (None, None) => unreachable!("the reload is waited for once"),
    };
    let took = sent.elapsed();
    (inst, svc, procs, load, o, old, took)
}

#[test]
fn down_during_a_handoff_stops_every_haproxy_and_the_reload() {
    for (kind, point) in under_test(&ALL).into_iter().flat_map(|k| {
        [
            Point::BeforeTheCopy,
            Point::CopyBesideTheOld,
            Point::Drain,
            Point::BeforeTheTakeover,
        ]
        .map(|p| (k, p))
    }) {
        let what = format!("{kind:?} {point:?}");
        // Taken (the supervisor says the service is wanted down) before the
        // held reload goes on.
        let (inst, svc, _procs, load, o, old, took) = command_at(kind, point, |svc, _| {
            svc.command('d');
            wait_for("the supervisor to take the down", || {
                run(cmd(SV_PID).arg("-u").arg(&svc.dir)).code() == 2
            });
        });
        if matches!(point, Point::Drain | Point::BeforeTheTakeover) {
            // The reload answered once its copy served, before the down:
            // finish, or the reload's watcher, stops the copy and the
            // drains.
            assert_eq!(o.code(), 0, "{what}: {o:?}");
        } else {
            // At once (the reload's TIMEOUT here is 15 s), with the reason.
            assert_eq!(o.code(), 1, "{what}: {o:?}");
            assert!(took < Duration::from_secs(10), "{what}: took {took:?}");
            assert!(
                o.stderr
                    .ends_with("haproxy-handoff: fatal: service taken down\n"),
                "{what}: {o:?}"
            );
        }
        // No haproxy of the service, supervised or not (within 20 s, well
        // inside hard-stop-after: the copy gets SIGTERM, as the supervisor
        // sends the old one).
        wait_for(
            &format!("{what}: every haproxy of the service to exit"),
            || inst.haproxies().is_empty(),
        );
        svc.wait_down();
        // What failed after the down is the down itself: measured.
        let stats = load.finish();
        eprintln!("{what}: down: {stats:?}");
        assert!(stats.ok > 0, "{what}: {stats:?}");
        assert!(
            !inst.handoff().exists(),
            "{what}: the handoff pidfile is left"
        );
        let o = run(cmd(SV_PID).arg(&svc.dir));
        assert_eq!(o.code(), 1, "{what}: {o:?}");
        // Up again: a cold start, not a copy taken over.
        svc.command('u');
        let new = inst.wait_settled(&svc, "v1");
        assert_ne!(new, old);
        let cmdline = std::fs::read(format!("/proc/{new}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            !cmdline.contains("-sf"),
            "{what}: took something over: {cmdline}"
        );
        svc.command('d');
        svc.wait_down();
    }
}

/// Told to take the service down and exit: runit's `sv exit`; s6's and
/// daemontools' `-x` only exits once the service is down, so `-dx`.
fn down_and_exit(svc: &Service) {
    let o = match svc.kind {
        Kind::Runit => run(Command::new("sv").arg("exit").arg(&svc.dir)),
        Kind::S6 | Kind::S6Rc => run(Command::new("s6-svc").arg("-dx").arg(&svc.dir)),
        Kind::Daemontools => run(Command::new("svc").arg("-dx").arg(&svc.dir)),
    };
    assert_eq!(o.code(), 0, "{o:?}");
}

#[test]
fn exit_during_the_drain_stops_every_haproxy_and_the_reload() {
    for kind in under_test(&ALL) {
        let (inst, svc, _procs, load, o, _, _) =
            command_during_the_drain(kind, |svc, _| down_and_exit(svc));
        // Answered before the command; finish, or the reload's watcher,
        // stops the copy and the drains.
        assert_eq!(o.code(), 0, "{kind:?}: {o:?}");
        wait_for(
            &format!("{kind:?}: every haproxy of the service to exit"),
            || inst.haproxies().is_empty(),
        );
        svc.wait_supervisor_gone();
        assert!(
            !inst.handoff().exists(),
            "{kind:?}: the handoff pidfile is left"
        );
        let stats = load.finish();
        eprintln!("{kind:?} exit during the drain: {stats:?}");
        assert!(stats.ok > 0, "{kind:?}: {stats:?}");
    }
}

/// `s6-svc -x` and `svc -x` alone: the supervisor exits once the service
/// is down, and takes nothing down. The old haproxy drains and exits, and
/// its supervisor with it: the copy must not serve on unsupervised. (runit
/// has no exit without a down.)
#[test]
fn exit_alone_during_the_drain_stops_the_copy_once_the_old_haproxy_is_gone() {
    for kind in under_test(&[Kind::S6, Kind::Daemontools]) {
        let (inst, svc, mut procs, load, o, old, _) =
            command_during_the_drain(kind, |svc, backend| {
                let tool = if svc.kind == Kind::S6 {
                    "s6-svc"
                } else {
                    "svc"
                };
                let o = run(Command::new(tool).arg("-x").arg(&svc.dir));
                assert_eq!(o.code(), 0, "{o:?}");
                // Then the drain ends.
                svc.wait_commands_read();
                backend.release();
            });
        // Answered before the command: the reload's watcher stops the copy
        // once the supervisor has exited.
        assert_eq!(o.code(), 0, "{kind:?}: {o:?}");
        let returned = std::time::Instant::now();
        wait_for(&format!("{kind:?}: the old haproxy to exit"), || {
            !std::path::Path::new(&format!("/proc/{old}")).exists()
        });
        wait_for(
            &format!("{kind:?}: every haproxy of the service to exit"),
            || inst.haproxies().is_empty(),
        );
        eprintln!(
            "{kind:?} -x during the drain: no haproxy {:?} after the command",
            returned.elapsed()
        );
        svc.wait_supervisor_gone();
        assert!(
            !inst.handoff().exists(),
            "{kind:?}: the handoff pidfile is left"
        );
        let o = run(cmd(SV_PID).arg("-u").arg(&svc.dir));
        assert_eq!(o.code(), 2, "{kind:?}: {o:?}");
        // The supervisor started again, as svscan or s6-svscan would: a
        // cold start, not a copy taken over.
        let svc = inst.start(&mut procs);
        let new = inst.wait_settled(&svc, "v1");
        let cmdline = std::fs::read(format!("/proc/{new}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        assert!(
            !cmdline.contains("-sf"),
            "{kind:?}: took something over: {cmdline}"
        );
        let stats = load.finish();
        eprintln!("{kind:?} -x during the drain, then started again: {stats:?}");
        assert!(stats.ok > 0, "{kind:?}: {stats:?}");
        svc.command('d');
        svc.wait_down();
    }
}

/// TERM through the supervisor (`sv term`, `s6-svc -t`, `svc -t`), or a
/// restart (`sv restart`, `s6-svc -r`; daemontools has none).
fn term_or_restart(svc: &Service, restart: bool) {
    let o = match (svc.kind, restart) {
        (_, false) => return svc.command('t'),
        (Kind::Runit, true) => run(Command::new("sv").arg("restart").arg(&svc.dir)),
        (_, true) => run(Command::new("s6-svc").arg("-r").arg(&svc.dir)),
    };
    assert_eq!(o.code(), 0, "{o:?}");
}

#[test]
fn term_or_restart_during_the_drain_still_ends_with_one_supervised_haproxy() {
    let cases = under_test(&ALL).into_iter().map(|k| (k, false)).chain(
        under_test(&[Kind::Runit, Kind::S6])
            .into_iter()
            .map(|k| (k, true)),
    );
    for (kind, restart) in cases {
        let (inst, svc, _procs, load, o, old, _) =
            command_during_the_drain(kind, |svc, _| term_or_restart(svc, restart));
        // The supervisor restarts run, which takes over from the copy: the
        // reload is verified, and the copy held the listeners throughout.
        let what = format!("{kind:?} restart: {restart}");
        assert_eq!(o.code(), 0, "{what}: {o:?}");
        let new = inst.wait_settled(&svc, "v1");
        assert_ne!(new, old);
        let stats = load.finish();
        assert_eq!(stats.failed, 0, "{what}: {stats:?}");
        svc.command('d');
        svc.wait_down();
        wait_for("every haproxy of the service to exit", || {
            inst.haproxies().is_empty()
        });
    }
}
