//! The handoff reload during long drains (haproxy-handoff(8)): a reload
//! answers once its copy serves, not once the old haproxy has drained; a
//! second one during the drain replaces the copy by its own; down, exit
//! and a killed supervisor during the drains leave no haproxy of the
//! service unaccounted for; and once the drains end, one supervised
//! haproxy runs. Real runit, s6 and daemontools, Debian's haproxy, steady
//! load of both client kinds. Nothing here depends on haproxy's version:
//! not in the per-version matrix (Makefile HAPROXY_TESTS).

mod common;
use common::haproxy::{
    Client, Install, Load, Mode, answering, draining_records, fetch_path, reloaded_copy,
    slow_backend,
};
use common::harness::SlowBackend;
use common::supervisors::{ALL, Kind, Service};
use common::*;
use std::process::Command;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest a slow request is held (the drain of the haproxy it is in
/// flight on), whatever goes wrong: each test ends the drains itself
/// (SlowBackend::release), so that no reload answers in time by luck.
const LOAD_LIMIT: Duration = Duration::from_secs(120);

fn verb(inst: &Install, verb: &str) -> Output {
    inst.handoff_verb(verb)
}

/// A slow request sent now, in flight (held by the backend) when this
/// returns.
fn slow_request(inst: &Install, backend: &SlowBackend) -> JoinHandle<Result<String, String>> {
    let held = backend.received();
    let port = inst.port;
    let slow = std::thread::spawn(move || fetch_path(port, "/slow", Duration::from_secs(30)));
    wait_for("the slow request to reach the backend", || {
        backend.received() > held
    });
    slow
}

/// A reload to `version` that answers 0 while the drain under way (`slow`
/// in flight on haproxy `draining`) goes on, after which `version` alone
/// answers: returns the copy serving it.
fn reload_during_the_drain(
    inst: &Install,
    backend: &SlowBackend,
    version: &str,
    (slow, draining): (&JoinHandle<Result<String, String>>, u32),
    what: &str,
) -> u32 {
    inst.set_version_with_slow_backend(version, backend.port);
    let start = Instant::now();
    let o = inst.reload();
    let took = start.elapsed();
    assert_eq!(o.code(), 0, "{what}: {o:?}");
    // Answered before the drain's end, not after it: the request still in
    // flight, the haproxy that holds it still there.
    assert!(
        !slow.is_finished() && inst.haproxies().contains(&draining),
        "{what}: the reload answered in {took:?}, after the drain"
    );
    // The old haproxy was told to finish: new connections reach the copy
    // alone, from the first.
    for _ in 0..20 {
        assert_eq!(inst.fetch(), Ok(version.to_owned()), "{what}");
    }
    let copy = reloaded_copy(inst, &o).unwrap_or_else(|| panic!("{what}: {o:?}"));
    assert_eq!(
        std::fs::read_to_string(inst.handoff())
            .map(|p| p.trim().to_owned())
            .ok(),
        Some(copy.to_string()),
        "{what}: the handoff pidfile"
    );
    assert_eq!(answering(inst), Ok(copy), "{what}");
    eprintln!("{what}: reload answered in {took:?}, the drain going on");
    copy
}

/// A service serving v0 with a slow request in flight, reloaded to v1,
/// another slow request in flight on v1's copy, reloaded to v2: two
/// drains under way (the supervised haproxy's and the first copy's).
struct TwoDrains {
    inst: Install,
    svc: Service,
    backend: SlowBackend,
    supervised: u32,
    copies: [u32; 2],
    slow: Vec<JoinHandle<Result<String, String>>>,
    loads: [Load; 2],
}

fn two_drains(kind: Kind, procs: &mut Procs) -> TwoDrains {
    let backend = slow_backend(LOAD_LIMIT).expect("a backend");
    let inst = Install::with_mode(kind, Mode::Handoff, "v0");
    inst.set_version_with_slow_backend("v0", backend.port);
    let svc = inst.start(procs);
    let supervised = inst.wait_settled(&svc, "v0");
    let loads = [
        Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT),
        Load::start(inst.port, Client::KeepAlive, 2, LOAD_LIMIT),
    ];
    let mut slow = vec![slow_request(&inst, &backend)];
    let first = reload_during_the_drain(
        &inst,
        &backend,
        "v1",
        (&slow[0], supervised),
        &format!("{kind:?} v1"),
    );
    assert_eq!(draining_records(&inst), [supervised], "{kind:?}");
    slow.push(slow_request(&inst, &backend));
    let second = reload_during_the_drain(
        &inst,
        &backend,
        "v2",
        (&slow[1], first),
        &format!("{kind:?} v2"),
    );
    assert_eq!(
        svc.reported_pid(),
        Some(supervised),
        "{kind:?}: still draining"
    );
    let mut want = vec![supervised, first];
    want.sort();
    assert_eq!(draining_records(&inst), want, "{kind:?}");
    let mut running = want.clone();
    running.push(second);
    running.sort();
    assert_eq!(inst.haproxies(), running, "{kind:?}: a copy lost");
    // What is pending, as status says it.
    let o = verb(&inst, "status");
    assert_eq!(o.code(), 2, "{kind:?}: {o:?}");
    // Each pending line ends with SINCE, seconds since the epoch; drains
    // in no promised order.
    let out = o.out();
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(format!("supervised {supervised}").as_str()),
        "{kind:?}: {o:?}"
    );
    let mut pending: Vec<(String, u32)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert!(
                f.len() == 3 && f[2].parse::<u64>().is_ok(),
                "{kind:?}: {o:?}"
            );
            (f[0].to_owned(), f[1].parse().expect("a pid"))
        })
        .collect();
    pending[1..].sort();
    assert_eq!(
        pending,
        [
            ("copy".to_owned(), second),
            ("draining".to_owned(), want[0]),
            ("draining".to_owned(), want[1]),
        ],
        "{kind:?}: {o:?}"
    );
    TwoDrains {
        inst,
        svc,
        backend,
        supervised,
        copies: [first, second],
        slow,
        loads,
    }
}

/// Both client kinds: not one request failed.
fn no_request_failed(loads: [Load; 2], what: &str) {
    for load in loads {
        let stats = load.finish();
        assert_eq!(stats.failed, 0, "{what}: {stats:?}");
        assert!(stats.ok > 0, "{what}: {stats:?}");
    }
}

#[test]
fn reloads_during_long_drains_answer_at_once_and_end_with_one_supervised_haproxy() {
    for kind in ALL {
        let mut procs = Procs::new();
        let d = two_drains(kind, &mut procs);
        // The old answer, for whoever wants it: once the drains end, the
        // supervisor runs a new haproxy that took the last copy over.
        d.backend.release();
        let o = verb(&d.inst, "wait");
        assert_eq!(o.code(), 0, "{kind:?}: {o:?}");
        let now = d.svc.reported_pid().expect("supervised");
        assert_ne!(now, d.supervised, "{kind:?}");
        assert_eq!(
            o.out(),
            format!("haproxy-handoff: info: haproxy {now} serves, supervised\n"),
            "{kind:?}"
        );
        assert!(!d.inst.handoff().exists(), "{kind:?}");
        assert_eq!(d.inst.fetch(), Ok("v2".to_owned()), "{kind:?}");
        for s in d.slow {
            assert_eq!(s.join().unwrap(), Ok("slow".to_owned()), "{kind:?}");
        }
        // The drains over: the supervised haproxy alone, nothing recorded.
        assert_eq!(d.inst.wait_settled(&d.svc, "v2"), now, "{kind:?}");
        for copy in d.copies {
            assert!(!d.inst.haproxies().contains(&copy), "{kind:?}");
        }
        let o = verb(&d.inst, "status");
        assert_eq!(o.code(), 0, "{kind:?}: {o:?}");
        assert_eq!(o.out(), format!("supervised {now}\n"), "{kind:?}");
        assert_eq!(draining_records(&d.inst), [] as [u32; 0], "{kind:?}");
        no_request_failed(d.loads, &format!("{kind:?}"));
        d.svc.command('d');
        d.svc.wait_down();
        wait_for("every haproxy of the service to exit", || {
            d.inst.haproxies().is_empty()
        });
    }
}

/// How the service is taken down during the drains.
fn take_down(svc: &Service, how: &str) {
    let o = match (svc.kind, how) {
        (_, "down") => return svc.command('d'),
        (Kind::Runit, "exit") => run(Command::new("sv").arg("exit").arg(&svc.dir)),
        (Kind::S6, "exit") => run(Command::new("s6-svc").arg("-x").arg(&svc.dir)),
        (Kind::Daemontools, "exit") => run(Command::new("svc").arg("-dx").arg(&svc.dir)),
        _ => unreachable!(),
    };
    assert_eq!(o.code(), 0, "{o:?}");
}

#[test]
fn down_or_exit_during_the_drains_leaves_no_haproxy_of_the_service() {
    for (kind, how) in ALL
        .map(|k| (k, "down"))
        .into_iter()
        .chain(ALL.map(|k| (k, "exit")))
    {
        let what = format!("{kind:?} {how}");
        let mut procs = Procs::new();
        let d = two_drains(kind, &mut procs);
        let sent = Instant::now();
        take_down(&d.svc, how);
        // s6-svc -x alone takes nothing down: the supervisor exits once
        // the supervised haproxy has drained.
        if how == "exit" && kind == Kind::S6 {
            d.backend.release();
        }
        wait_for(
            &format!("{what}: every haproxy of the service to exit"),
            || d.inst.haproxies().is_empty(),
        );
        let took = sent.elapsed();
        if how == "exit" {
            d.svc.wait_supervisor_gone();
        } else {
            d.svc.wait_down();
        }
        assert!(
            !d.inst.handoff().exists(),
            "{what}: the handoff pidfile is left"
        );
        // Removed once what they name is stopped.
        wait_for(&format!("{what}: the drains' records to go"), || {
            draining_records(&d.inst).is_empty()
        });
        eprintln!("{what}: no haproxy of the service {took:?} after");
        // What failed after the down is the down itself: not asserted.
        for load in d.loads {
            eprintln!("{what}: {:?}", load.finish());
        }
    }
}

#[test]
fn a_supervisor_killed_during_the_drains_ends_with_one_supervised_haproxy() {
    for kind in ALL {
        let mut procs = Procs::new();
        let d = two_drains(kind, &mut procs);
        d.svc.kill_supervisor();
        // Started again, as runsvdir, s6-svscan or svscan would: run takes
        // over from the last copy, and the old supervised haproxy is told
        // to finish again, harmless.
        let svc = d.inst.start(&mut procs);
        d.backend.release();
        for s in d.slow {
            assert_eq!(s.join().unwrap(), Ok("slow".to_owned()), "{kind:?}");
        }
        let now = d.inst.wait_settled(&svc, "v2");
        assert!(
            ![d.supervised, d.copies[0], d.copies[1]].contains(&now),
            "{kind:?}"
        );
        wait_for("the drains' records to be pruned", || {
            verb(&d.inst, "status").code() == 0
        });
        assert_eq!(draining_records(&d.inst), [] as [u32; 0], "{kind:?}");
        no_request_failed(d.loads, &format!("{kind:?}"));
        svc.command('d');
        svc.wait_down();
        wait_for("every haproxy of the service to exit", || {
            d.inst.haproxies().is_empty()
        });
    }
}
