//! The outcome of a reload asked through the supervisor lands in the
//! service's log: each shipped service directory run as a system runs it,
//! its `log/` (svlogd, s6-log, multilog) started by runsv, s6-svscan or
//! svscan, and what that log wrote read back. Independent of the haproxy
//! version (make check runs it once, not in the per-version matrix).

mod common;
use common::haproxy::{Install, Mode, assert_verified, reloaded_copy};
use common::supervisors::{Kind, Service};
use common::*;
use std::process::Command;

/// What the service's log service wrote.
fn logged(svc: &Service) -> String {
    std::fs::read_to_string(svc.dir.join("log/main/current")).unwrap_or_default()
}

/// A reload asked through the supervisor. runit: `sv reload` runs
/// ./control/h, which starts ./reload with the log as its output, in
/// both modes. s6 and daemontools have no such hook; master-worker: the
/// signal goes to the master itself (`s6-svc -2`, `svc -h`), once its CLI
/// answers, as the recipe waits for it (a 2.6 master ignores a reload
/// signal while it is still starting or reloading).
fn ask_reload(inst: &Install, svc: &Service) {
    let o = match svc.kind {
        Kind::Runit => run(Command::new("sv").arg("reload").arg(&svc.dir)),
        Kind::S6 | Kind::S6Rc => {
            inst.master_reloads();
            run(Command::new("s6-svc").arg("-2").arg(&svc.dir))
        }
        Kind::Daemontools => {
            inst.master_reloads();
            run(Command::new("svc").arg("-h").arg(&svc.dir))
        }
    };
    assert_eq!(o.code(), 0, "{:?}: {o:?}", svc.kind);
}

/// Until a line of the log satisfies `line`: the log then.
fn wait_logged(svc: &Service, what: &str, line: impl Fn(&str) -> bool) -> String {
    let mut log = String::new();
    wait_until(&format!("{:?}'s log to say {what}", svc.kind), || {
        log = logged(svc);
        if log.lines().any(&line) {
            Ok(())
        } else {
            Err(format!("log: {log}"))
        }
    });
    log
}

/// A success, then a failure with haproxy's own alert lines, both read
/// back from the log; the haproxy that served serves on after the
/// failure. runit runs ./reload, which says each in its own words. s6
/// and daemontools signal the master, whose words differ between haproxy
/// versions (2.4 "New worker #1 (PID) forked", 2.6 "Loading success.",
/// 3.2 "Initializing new worker (PID)"): there the success is the
/// master's line naming the new worker.
fn reload_outcomes_are_logged(kind: Kind, mode: Mode) {
    let mut procs = Procs::new();
    let inst = Install::with_mode(kind, mode, "v0");
    let svc = inst.start_with_log(&mut procs);
    let first = inst.wait_settled(&svc, "v0");
    let config = inst.config.display().to_string();
    let recipe = match mode {
        Mode::Handoff => "haproxy-handoff",
        Mode::MasterWorker => "haproxy-master",
    };
    let alert = |l: &str| l.contains("[ALERT]") && l.contains("unknown keyword 'this'");

    inst.set_version("v1");
    ask_reload(&inst, &svc);
    let now = if kind == Kind::Runit {
        let said = format!("{recipe}: info: reloaded: ");
        let log = wait_logged(&svc, &said, |l| l.contains(&said));
        let now = inst.wait_settled(&svc, "v1");
        let said = match mode {
            // The copy that served when the reload answered, the old
            // haproxy draining; run has taken it over since.
            Mode::Handoff => {
                let copy = log
                    .split(&said)
                    .nth(1)
                    .and_then(|l| l.strip_prefix("haproxy ")?.split(' ').next()?.parse().ok())
                    .unwrap_or(0);
                assert!(copy != 0 && copy != first && copy != now, "{log}");
                format!("{said}haproxy {copy} serves {config}; draining: {first}")
            }
            Mode::MasterWorker => format!("{said}the workers of {config} serve"),
        };
        let lines = log
            .lines()
            .filter(|l| l.contains(&format!("{recipe}: info:")));
        assert_eq!(
            lines.collect::<Vec<_>>().len(),
            1,
            "{kind:?} {mode:?}: {log}"
        );
        assert!(
            log.contains(&said),
            "{kind:?} {mode:?}: not {said:?} in {log}"
        );
        now
    } else {
        assert_eq!(mode, Mode::MasterWorker, "no reload through {kind:?}");
        let master = inst.wait_settled(&svc, "v1");
        let worker = inst.haproxies().into_iter().find(|&w| w != master);
        let worker = format!("({})", worker.expect("a worker"));
        wait_logged(&svc, &format!("new worker {worker}"), |l| {
            l.contains("[NOTICE]") && l.contains("worker") && l.contains(&worker)
        });
        master
    };

    assert!(!logged(&svc).contains("[ALERT]"), "{}", logged(&svc));
    let cfg = std::fs::read_to_string(&inst.config).unwrap();
    inst.write_config(format!("{cfg}    this is not a keyword\n").as_bytes());
    ask_reload(&inst, &svc);
    if kind == Kind::Runit {
        let fatal = format!("{recipe}: fatal: invalid configuration {config}");
        let log = wait_logged(&svc, &fatal, |l| l.ends_with(&fatal));
        let before = log.lines().take_while(|l| !l.ends_with(&fatal));
        assert!(
            before.filter(|l| alert(l)).count() == 1,
            "{kind:?} {mode:?}: {log}"
        );
    } else {
        wait_logged(&svc, "haproxy's alert", alert);
    }
    assert_eq!(inst.fetch(), Ok("v1".to_owned()), "{kind:?} {mode:?}");
    assert_eq!(svc.reported_pid(), Some(now), "{kind:?} {mode:?}");
}

#[test]
fn runit_sv_reload_of_a_handoff_is_logged() {
    reload_outcomes_are_logged(Kind::Runit, Mode::Handoff);
}

#[test]
fn runit_sv_reload_of_master_worker_is_logged() {
    reload_outcomes_are_logged(Kind::Runit, Mode::MasterWorker);
}

#[test]
fn s6_svc_reload_of_master_worker_is_logged() {
    reload_outcomes_are_logged(Kind::S6, Mode::MasterWorker);
}

#[test]
fn daemontools_svc_reload_of_master_worker_is_logged() {
    reload_outcomes_are_logged(Kind::Daemontools, Mode::MasterWorker);
}

/// Where the supervisor has no reload to ask for (a handoff under s6 or
/// daemontools: s6-svc -h and svc -h would send haproxy SIGHUP, which is
/// no reload to it), ./reload is run by hand: its outcome goes to its
/// caller, the success in one line on standard output. The same line
/// everywhere ./reload runs.
#[test]
fn a_reload_by_hand_says_its_success_in_one_line() {
    for kind in [Kind::S6, Kind::Daemontools] {
        for mode in [Mode::Handoff, Mode::MasterWorker] {
            let mut procs = Procs::new();
            let inst = Install::with_mode(kind, mode, "v0");
            let svc = inst.start_with_log(&mut procs);
            let before = inst.wait_settled(&svc, "v0");
            inst.set_version("v1");
            let o = inst.reload();
            assert_eq!(o.code(), 0, "{kind:?} {mode:?}: {o:?}");
            assert_verified(&inst, &svc, before, "v1", "reload", &o);
            let now = inst.wait_settled(&svc, "v1");
            let config = inst.config.display();
            let said = match mode {
                Mode::Handoff => {
                    assert_ne!(now, before);
                    let copy = reloaded_copy(&inst, &o).expect("the copy");
                    format!(
                        "haproxy-handoff: info: reloaded: haproxy {copy} serves {config}; draining: {before}\n"
                    )
                }
                Mode::MasterWorker => {
                    format!("haproxy-master: info: reloaded: the workers of {config} serve\n")
                }
            };
            assert_eq!(o.out(), said, "{kind:?} {mode:?}");
        }
    }
}
