//! The s6-rc definitions (examples/s6-rc/) under a real s6-rc, laid out
//! as s6-overlay lays them: the definition copied into an s6-rc.d as
//! `haproxy` beside the shipped `user` bundle, compiled, s6-svscan,
//! `s6-rc-init`, `s6-rc -u change user`; reloaded with `haproxy-handoff
//! reload DIR` / `haproxy-master reload DIR` on the live directory, which
//! has no reload script.
//!
//! s6-rc is not in Debian 12: the tests that run it are ignored by a
//! plain `cargo test`, and `make check-s6-rc` builds it from
//! ../shared/s6-rc and runs them with its directory in PIDCHAIN_S6RC
//! (without it they fail, saying so). With PIDCHAIN_PREFIX set (make
//! check: where the static tarball was unpacked) they run the tarball's
//! programs, commands and definitions, not the tree's. One haproxy (no
//! version matrix): nothing here depends on its version.

mod common;
use common::haproxy::{
    Client, Install, Load, Mode, assert_a_taken_address_fails_the_reload, assert_no_orphan,
    assert_verified, said_by_pidchain,
};
use common::supervisors::{Kind, Service};
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const LOAD_LIMIT: Duration = Duration::from_secs(120);
const MODES: [Mode; 2] = [Mode::Handoff, Mode::MasterWorker];
/// Where the static tarball was unpacked, when its files are under test.
const PREFIX_VAR: &str = "PIDCHAIN_PREFIX";

fn prog(mode: Mode) -> &'static str {
    match mode {
        Mode::Handoff => "haproxy-handoff",
        Mode::MasterWorker => "haproxy-master",
    }
}

/// The definition for `mode` installed, from the tree or the unpacked
/// tarball, serving v0.
fn installed(mode: Mode) -> Install {
    match std::env::var_os(PREFIX_VAR).filter(|p| !p.is_empty()) {
        Some(prefix) => {
            let prefix = PathBuf::from(prefix);
            let bin = prefix.join("bin");
            assert!(
                bin.join("haproxy-handoff").is_file(),
                "{PREFIX_VAR}={}: no bin/haproxy-handoff",
                prefix.display()
            );
            // The tarball's programs and commands, and the system's tools.
            let path = std::env::join_paths(
                std::iter::once(bin).chain(std::env::split_paths("/usr/sbin:/usr/bin:/sbin:/bin")),
            )
            .expect("PATH");
            let examples = prefix.join("share/doc/pidchain/examples");
            Install::from(&examples, path, Kind::S6Rc, mode, "v0")
        }
        None => Install::with_mode(Kind::S6Rc, mode, "v0"),
    }
}

fn started(mode: Mode, procs: &mut Procs) -> (Install, Service, u32) {
    let inst = installed(mode);
    let svc = inst.start(procs);
    let pid = inst.wait_settled(&svc, "v0");
    (inst, svc, pid)
}

/// Verified reloads under both kinds of load, none failed, the listeners
/// handed over each time; then `s6-rc -d change` leaves no haproxy.
#[test]
#[ignore = "needs s6-rc: make check-s6-rc"]
fn reloads_under_load_in_both_modes() {
    const RELOADS: usize = 5;
    for mode in MODES {
        let mut procs = Procs::new();
        let (inst, svc, first) = started(mode, &mut procs);
        let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
        let kept = Load::start(inst.port, Client::KeepAlive, 2, LOAD_LIMIT);
        let listeners = harness::listening_sockets(inst.port);
        assert!(!listeners.is_empty(), "{mode:?}: nothing listens");
        let mut pid = first;
        for i in 1..=RELOADS {
            let version = format!("v{i}");
            inst.set_version(&version);
            let before = load.counts();
            wait_for("requests answered before the reload", || {
                load.counts().0 >= before.0 + 50 && kept.counts().0 > 0
            });
            let counted = load.counts();
            let o = inst.reload();
            assert_eq!(o.code(), 0, "{mode:?} reload {i}: {o:?}\n{}", svc.said());
            assert_eq!(said_by_pidchain(&o.stderr), "", "{o:?}");
            let what = format!("s6-rc {mode:?} {i}");
            assert_verified(&inst, &svc, pid, &version, &what, &o);
            pid = inst.wait_settled(&svc, &version);
            let (ok, failed) = load.counts();
            assert!(
                ok + failed > counted.0 + counted.1,
                "{what}: no request during the reload"
            );
            assert_eq!(
                harness::listening_sockets(inst.port),
                listeners,
                "{what}: the listening socket changed"
            );
        }
        if mode == Mode::Handoff {
            assert_ne!(pid, first);
        }
        let stats = load.finish();
        assert_eq!(stats.failed, 0, "{mode:?}: {stats:?}");
        let kept = kept.finish();
        if harness::haproxy_version() >= (2, 6, 0) {
            assert_eq!(kept.failed, 0, "{mode:?} keep-alive: {kept:?}");
        } else {
            // Known before 2.6: no option idle-close-on-response (pidchain(7)).
            eprintln!("{mode:?}: haproxy before 2.6: {kept:?} (not asserted)");
        }
        assert!(
            kept.ok > 10 * kept.connections,
            "{mode:?}: keep-alive not exercised: {kept:?}"
        );
        eprintln!(
            "s6-rc {mode:?}: {RELOADS} reloads, {} + {} keep-alive requests, none failed",
            stats.ok, kept.ok
        );
        // Down through s6-rc: no haproxy of the service left.
        assert_no_orphan(&inst, &svc);
    }
}

/// An invalid configuration and one whose address is taken fail the
/// reload (1) and the old haproxy serves on, under load, none failed; a
/// good one then reloads. Taken down with `s6-rc -d change`, a reload
/// fails and starts nothing.
#[test]
#[ignore = "needs s6-rc: make check-s6-rc"]
fn failed_reloads_and_a_reload_while_down() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    for mode in MODES {
        let mut procs = Procs::new();
        let (inst, svc, pid) = started(mode, &mut procs);
        let load = Load::start(inst.port, Client::NewConnection, 2, LOAD_LIMIT);
        inst.write_config(b"global\n    this is not a keyword\n");
        let o = inst.reload();
        assert_eq!(o.code(), 1, "{mode:?}: {o:?}");
        assert!(o.stderr.contains(": fatal: invalid configuration"), "{o:?}");
        assert_eq!(inst.settled(&svc, "v0"), Ok(pid), "{mode:?}");
        assert_a_taken_address_fails_the_reload(&inst, &svc, pid, taken_port, &format!("{mode:?}"));
        inst.set_version("v2");
        let o = inst.reload();
        assert_eq!(o.code(), 0, "{mode:?}: {o:?}");
        assert_verified(&inst, &svc, pid, "v2", &format!("s6-rc {mode:?}"), &o);
        inst.wait_settled(&svc, "v2");
        let stats = load.finish();
        assert_eq!(stats.failed, 0, "{mode:?}: {stats:?}");

        assert_no_orphan(&inst, &svc);
        inst.set_version("v3");
        let o = inst.reload();
        assert_eq!(o.code(), 1, "{mode:?}: {o:?}");
        let why = match mode {
            Mode::Handoff => " is wanted down\n",
            Mode::MasterWorker => " is down\n",
        };
        assert!(
            o.stderr.contains("sv-pid: fatal: service ") && o.stderr.ends_with(why),
            "{mode:?}: {o:?}"
        );
        assert_eq!(inst.haproxies(), [] as [u32; 0], "{mode:?}: started");
    }
}

/// `s6-rc -d change` during the old haproxy's drain (a slow request holds
/// it), after the reload answered: down means down, at once: no haproxy
/// of the service is left (the copy and the drain stopped by finish), and
/// the next start is cold.
#[test]
#[ignore = "needs s6-rc: make check-s6-rc"]
fn down_in_the_middle_of_a_handoff_stops_every_haproxy() {
    let backend = common::haproxy::slow_backend(Duration::from_secs(25)).expect("a backend");
    let mut procs = Procs::new();
    let inst = installed(Mode::Handoff);
    inst.set_version_with_slow_backend("v0", backend.port);
    let svc = inst.start(&mut procs);
    let old = inst.wait_settled(&svc, "v0");
    let held = backend.received();
    let port = inst.port;
    // Its answer does not matter: it only keeps the old haproxy draining.
    std::thread::spawn(move || common::haproxy::fetch_path(port, "/slow", Duration::from_secs(40)));
    wait_for("the slow request to reach the backend", || {
        backend.received() > held
    });
    inst.set_version_with_slow_backend("v1", backend.port);
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    // The copy handed over and serving, the old haproxy draining.
    let copy = assert_verified(&inst, &svc, old, "v1", "reload", &o);
    assert_eq!(svc.reported_pid(), Some(old), "still draining");
    let mut both = vec![old, copy];
    both.sort();
    assert_eq!(inst.haproxies(), both);
    let o = svc.s6_rc_change(false, "haproxy");
    assert_eq!(o.code(), 0, "s6-rc -d change: {o:?}");
    wait_for("every haproxy of the service to exit", || {
        inst.haproxies().is_empty()
    });
    assert!(!inst.handoff().exists(), "the handoff pidfile is left");
    // Up again: a cold start, nothing taken over.
    let o = svc.s6_rc_change(true, "haproxy");
    assert_eq!(o.code(), 0, "s6-rc -u change: {o:?}");
    let new = inst.wait_settled(&svc, "v1");
    assert_ne!(new, old);
    let cmdline = std::fs::read(format!("/proc/{new}/cmdline")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains("-sf"),
        "took something over"
    );
    backend.release();
    assert_no_orphan(&inst, &svc);
}

/// `reload DIR` refuses a DIR that is not the absolute path of a
/// directory with run and env/, with 100, before anything happens: a run
/// directory its env/ names is not even created. (No s6-rc needed.)
#[test]
fn reload_refuses_a_directory_that_is_no_service_directory() {
    let d = tempdir();
    let root = d.path();
    // A directory with env/ (naming a run directory) and no run.
    let no_run = root.join("no-run");
    std::fs::create_dir_all(no_run.join("env")).unwrap();
    let rundir = root.join("rundir");
    let env_rundir = format!("{}\n", rundir.display());
    write_file(&no_run.join("env/RUNDIR"), env_rundir.as_bytes(), 0o644);
    // One with run and no env/.
    let no_env = root.join("no-env");
    std::fs::create_dir(&no_env).unwrap();
    write_file(&no_env.join("run"), b"#!/bin/sh\n", 0o755);
    let missing = root.join("missing");
    for mode in MODES {
        for dir in [
            no_run.as_os_str(),
            no_env.as_os_str(),
            missing.as_os_str(),
            // Relative, though it would be found from here.
            "no-run".as_ref(),
            "".as_ref(),
        ] {
            let o = run(Command::new(Path::new(harness::RECIPES).join(prog(mode)))
                .arg("reload")
                .arg(dir)
                .current_dir(root)
                .env("PATH", path_with_binaries()));
            let shown = dir.to_string_lossy();
            assert_eq!(
                (o.code(), o.out(), o.stderr.as_str()),
                (
                    100,
                    String::new(),
                    format!(
                        "{}: fatal: DIR={shown}: not the absolute path of a service directory with ./run and ./env\n",
                        prog(mode)
                    )
                    .as_str()
                ),
                "{mode:?} reload {shown:?}"
            );
            assert!(!rundir.exists(), "{mode:?} reload {shown:?}: ran");
        }
    }
}

/// `reload DIR` from a command named by a relative path: it runs again,
/// in DIR with DIR/env loaded, as itself. Here DIR is supervised by no
/// one: the settings are checked (the run directory made) and sv-pid
/// says why there is no reload.
#[test]
fn reload_with_a_directory_runs_there_with_its_env() {
    let d = tempdir();
    let svc = d.path().join("svc");
    std::fs::create_dir_all(svc.join("env")).unwrap();
    write_file(&svc.join("run"), b"#!/bin/sh\n", 0o755);
    let rundir = d.path().join("rundir");
    let config = d.path().join("haproxy.cfg");
    write_file(&config, b"global\n", 0o644);
    for (name, value) in [
        ("RUNDIR", rundir.as_os_str()),
        ("CONFIG", config.as_os_str()),
        ("HAPROXY", which("true").as_os_str()),
    ] {
        let line = [value.as_encoded_bytes(), b"\n"].concat();
        write_file(&svc.join("env").join(name), &line, 0o644);
    }
    for mode in MODES {
        let o = run(Command::new(format!("./{}", prog(mode)))
            .arg("reload")
            .arg(&svc)
            .current_dir(harness::RECIPES)
            .env("PATH", path_with_binaries()));
        assert_eq!(o.code(), 1, "{mode:?}: {o:?}");
        assert!(
            o.stderr.starts_with("sv-pid: fatal: ") && o.stderr.contains(&*svc.to_string_lossy()),
            "{mode:?}: {o:?}"
        );
        assert!(rundir.is_dir(), "{mode:?}: env/RUNDIR not used");
    }
}
