//! The shipped recipes (examples/), end to end: real supervisors, real
//! haproxy on 127.0.0.1, steady load, many reloads. Only paths and the
//! port are rewritten when a recipe is installed.

mod common;
use common::haproxy::{Install, Load};
use common::supervisors::{ALL, Kind, Service};
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const RELOADS: usize = 20;
/// The longest a test's load may run, whatever goes wrong.
const LOAD_LIMIT: Duration = Duration::from_secs(300);

fn started(kind: Kind, procs: &mut Procs) -> (Install, Service, u32) {
    let inst = Install::new(kind, "v0");
    let svc = inst.start(procs);
    let pid = inst.wait_settled(&svc, "v0");
    (inst, svc, pid)
}

/// The service taken down through its supervisor: a haproxy of this
/// configuration still running after that is an orphan.
fn assert_no_orphan(inst: &Install, svc: &Service) {
    svc.command('d');
    svc.wait_down();
    wait_for("every haproxy of this configuration to exit", || {
        inst.haproxies().is_empty()
    });
}

fn reloads_under_load(kind: Kind) {
    let mut procs = Procs::new();
    let (inst, svc, first) = started(kind, &mut procs);
    let load = Load::start(inst.port, 2, LOAD_LIMIT);
    let mut pids = vec![first];
    let mut times = Vec::new();
    for i in 1..=RELOADS {
        let version = format!("v{i}");
        inst.set_version(&version);
        let start = Instant::now();
        // runit: every other reload through `sv reload` (control/h).
        let o = if kind == Kind::Runit && i % 2 == 0 {
            run(Command::new("sv").arg("reload").arg(&svc.dir))
        } else {
            inst.reload()
        };
        assert_eq!(o.code(), 0, "{kind:?} reload {i}: {o:?}");
        pids.push(inst.wait_settled(&svc, &version));
        times.push(start.elapsed());
    }
    let stats = load.finish();
    assert_eq!(stats.failed, 0, "{kind:?}: {stats:?}");
    assert!(
        stats.ok > RELOADS as u64,
        "{kind:?}: too little load to prove anything: {stats:?}"
    );
    pids.dedup();
    assert_eq!(
        pids.len(),
        RELOADS + 1,
        "{kind:?}: every reload is a new supervised haproxy: {pids:?}"
    );
    times.sort();
    eprintln!(
        "{kind:?}: {RELOADS} reloads, {} requests, {} failed; reload to settled: median {:?}, max {:?}",
        stats.ok + stats.failed,
        stats.failed,
        times[times.len() / 2],
        times[times.len() - 1]
    );
    assert_no_orphan(&inst, &svc);
}

#[test]
fn runit_reloads_under_load() {
    reloads_under_load(Kind::Runit);
}

#[test]
fn s6_reloads_under_load() {
    reloads_under_load(Kind::S6);
}

#[test]
fn daemontools_reloads_under_load() {
    reloads_under_load(Kind::Daemontools);
}

#[test]
fn five_reloads_at_once_settle_to_one_supervised_haproxy() {
    for kind in ALL {
        let mut procs = Procs::new();
        let (inst, svc, first) = started(kind, &mut procs);
        let load = Load::start(inst.port, 2, LOAD_LIMIT);
        inst.set_version("v1");
        let reloads: Vec<_> = (0..5)
            .map(|_| {
                procs.spawn(
                    inst.reload_command()
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped()),
                )
            })
            .collect();
        for r in reloads {
            let o = wait_output(r);
            assert_eq!(o.code(), 0, "{kind:?}: {o:?}");
        }
        let last = inst.wait_settled(&svc, "v1");
        assert_ne!(last, first);
        let stats = load.finish();
        assert_eq!(stats.failed, 0, "{kind:?}: {stats:?}");
        assert_no_orphan(&inst, &svc);
    }
}

#[test]
fn a_broken_configuration_fails_the_reload_and_the_old_process_serves_on() {
    for kind in ALL {
        let mut procs = Procs::new();
        let (inst, svc, pid) = started(kind, &mut procs);
        inst.write_config(b"global\n    this is not a keyword\n");
        let o = inst.reload();
        assert_ne!(o.code(), 0, "{kind:?}: {o:?}");
        assert_eq!(
            inst.settled(&svc, "v0"),
            Ok(pid),
            "{kind:?}: the old process serves on"
        );
        assert_eq!(inst.haproxies(), [pid]);
        inst.set_version("v1");
        assert_eq!(inst.reload().code(), 0);
        inst.wait_settled(&svc, "v1");
        assert_no_orphan(&inst, &svc);
    }
}

#[test]
fn a_stale_handoff_pidfile_never_gets_an_unrelated_process_signalled() {
    for kind in ALL {
        let mut procs = Procs::new();
        let (inst, svc, _) = started(kind, &mut procs);
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
        let log = std::fs::read_to_string(&svc.log).unwrap();
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
    for kind in ALL {
        let mut procs = Procs::new();
        let (inst, svc, first) = started(kind, &mut procs);
        inst.set_version("v1");
        assert_eq!(inst.reload().code(), 0);
        let copy = inst.daemonized_copy();
        // SAFETY: kill(2) on the haproxy this test's reload started.
        unsafe { libc::kill(copy as i32, libc::SIGKILL) };
        let last = inst.wait_settled(&svc, "v1");
        assert_ne!(last, first, "{kind:?}");
        assert_no_orphan(&inst, &svc);
    }
}
