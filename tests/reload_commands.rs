//! The reload commands themselves (haproxy-handoff, haproxy-master), as a
//! new user and an adversary meet them: the run directory and every
//! setting checked before anything starts, no inherited variable aiming a
//! signal, the lock's waits and exit codes, a reload killed with its whole
//! process group, a retry while a handoff is pending, and the s6 and
//! daemontools details. Real supervisors and Debian's haproxy; none of
//! this depends on haproxy's version, so the per-version matrix (Makefile
//! HAPROXY_TESTS) does not run this file.

mod common;
use common::gate::Gate;
use common::haproxy::{
    Install, Mode, assert_no_orphan, assert_verified, fetch_path, slow_backend, started,
};
use common::supervisors::{Kind, Service};
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MODES: [Mode; 2] = [Mode::Handoff, Mode::MasterWorker];
/// A user who is neither root nor the one the commands run as.
const NOBODY: u32 = 65534;

fn prog(mode: Mode) -> &'static str {
    match mode {
        Mode::Handoff => "haproxy-handoff",
        Mode::MasterWorker => "haproxy-master",
    }
}

/// A setting in the service directory's env/, as an operator writes it;
/// None removes it.
fn set(inst: &Install, name: &str, value: Option<&[u8]>) {
    let file = inst.svc.join("env").join(name);
    match value {
        Some(v) => write_file(&file, &[v, b"\n"].concat(), 0o644),
        None => {
            let _ = std::fs::remove_file(file);
        }
    }
}

fn setting(inst: &Install, name: &str) -> Option<Vec<u8>> {
    let v = std::fs::read(inst.svc.join("env").join(name)).ok()?;
    Some(v.strip_suffix(b"\n").unwrap_or(&v).to_vec())
}

/// `haproxy-handoff VERB` (or haproxy-master) run in the service
/// directory with its env/, as its run and finish scripts do.
fn verb(inst: &Install, verb: &str) -> Output {
    run(Command::new("chpst")
        .args(["-e", "./env", prog(inst.mode), verb])
        .current_dir(&inst.svc)
        .env("PATH", path_with_binaries()))
}

/// A reload to `version` that works, then the service taken down.
fn reload_works_then_down(inst: &Install, svc: &Service, version: &str, what: &str) {
    inst.set_version(version);
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{what}: {o:?}");
    inst.wait_settled(svc, version);
    assert!(
        !inst.rundir.join("admin.sock.serving").exists(),
        "{what}: the socket's second name left"
    );
    assert_no_orphan(inst, svc);
}

fn mkdir(path: &Path, mode: u32, owner: u32) {
    std::fs::create_dir(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    std::os::unix::fs::chown(path, Some(owner), None).unwrap();
}

#[test]
fn a_run_directory_not_the_users_alone_is_refused_before_anything_starts() {
    assert!(is_root(), "needs root to give files to another user");
    for mode in MODES {
        let mut procs = Procs::new();
        let (inst, svc, _) = started(Kind::Runit, mode, &mut procs);
        let running = inst.haproxies();
        let root = inst.root.path();
        let good = root.join("good");
        mkdir(&good, 0o700, 0);
        let theirs = root.join("theirs");
        mkdir(&theirs, 0o700, NOBODY);
        let shared = root.join("shared");
        mkdir(&shared, 0o770, 0);
        let open = root.join("open");
        mkdir(&open, 0o777, 0);
        mkdir(&open.join("run"), 0o700, 0);
        let their_link = root.join("their-link");
        std::os::unix::fs::symlink(&good, &their_link).unwrap();
        std::os::unix::fs::lchown(&their_link, Some(NOBODY), None).unwrap();
        let link_to_theirs = root.join("link-to-theirs");
        std::os::unix::fs::symlink(&theirs, &link_to_theirs).unwrap();
        let planted = root.join("planted");
        for dir in [&theirs, &shared] {
            // Followed, root would create a file where the link says.
            std::os::unix::fs::symlink(&planted, dir.join("reload.lock")).unwrap();
        }
        let cases = [
            (theirs.clone(), format!("owned by user {NOBODY}, not 0")),
            (
                shared.clone(),
                "writable by group or others, or with an access control list (mode drwxrwx---)"
                    .to_owned(),
            ),
            (
                their_link.clone(),
                format!("{} is a symlink of user {NOBODY}", their_link.display()),
            ),
            (
                link_to_theirs.clone(),
                format!("owned by user {NOBODY}, not 0"),
            ),
            (
                open.join("run"),
                format!(
                    "{} is writable by group or others (mode drwxrwxrwx)",
                    open.display()
                ),
            ),
        ];
        for (dir, why) in cases {
            let what = format!("{mode:?} RUNDIR={}", dir.display());
            set(&inst, "RUNDIR", Some(dir.as_os_str().as_encoded_bytes()));
            inst.set_version("v1");
            let o = inst.reload();
            assert_eq!(o.code(), 100, "{what}: {o:?}");
            assert_eq!(
                o.stderr,
                format!("{}: fatal: RUNDIR={}: {why}\n", prog(mode), dir.display()),
                "{what}"
            );
            // run too refuses it, and says so in the service's log.
            let o = verb(&inst, "run");
            assert_eq!(o.code(), 100, "{what}: run: {o:?}");
            assert_eq!(
                o.out(),
                format!("{}: fatal: RUNDIR={}: {why}\n", prog(mode), dir.display()),
                "{what}: run"
            );
            assert!(!planted.exists(), "{what}: a planted link was followed");
            assert_eq!(inst.haproxies(), running, "{what}: something started");
            assert_eq!(inst.fetch(), Ok("v0".to_owned()), "{what}");
        }
        // Made when missing, and its missing parents: mode 0700.
        let fresh = root.join("fresh").join("run");
        set(&inst, "RUNDIR", Some(fresh.as_os_str().as_encoded_bytes()));
        if mode == Mode::Handoff {
            let o = verb(&inst, "finish");
            assert_eq!(o.code(), 0, "{o:?}");
            for d in [&fresh, &root.join("fresh")] {
                let m = std::fs::metadata(d).unwrap();
                assert_eq!(m.permissions().mode() & 0o7777, 0o700, "{}", d.display());
            }
        }
        set(
            &inst,
            "RUNDIR",
            Some(inst.rundir.as_os_str().as_encoded_bytes()),
        );
        reload_works_then_down(&inst, &svc, "v2", &format!("{mode:?}"));
    }
}

#[test]
fn every_bad_setting_is_refused_naming_it_before_anything_starts() {
    for mode in MODES {
        let mut procs = Procs::new();
        let (inst, svc, _) = started(Kind::Runit, mode, &mut procs);
        let running = inst.haproxies();
        let config = inst.config.to_string_lossy().into_owned();
        let mut cases: Vec<(&str, String, &str)> = vec![
            (
                "HAPROXY",
                "/nonexistent/haproxy".into(),
                "not the absolute path of an executable file",
            ),
            (
                "HAPROXY",
                "haproxy".into(),
                "not the absolute path of an executable file",
            ),
            (
                "HAPROXY",
                config.clone(),
                "not the absolute path of an executable file",
            ),
            (
                "CONFIG",
                "/nonexistent/haproxy.cfg".into(),
                "not the absolute path of a readable file or directory",
            ),
            (
                "CONFIG",
                "haproxy.cfg".into(),
                "not the absolute path of a readable file or directory",
            ),
            ("RUNDIR", "run".into(), "not an absolute path"),
        ];
        for t in ["abc", "0", "010", "-5", "1e3", "1000000000", "5 s"] {
            cases.push((
                "TIMEOUT",
                t.into(),
                "not a number of milliseconds from 1 to 999999999",
            ));
        }
        if mode == Mode::Handoff {
            for r in ["abc", "0", "100", "03"] {
                cases.push(("RUNS", r.into(), "not a count from 1 to 99"));
            }
        }
        inst.set_version("v1");
        for (name, value, why) in cases {
            let what = format!("{mode:?} {name}={value}");
            let was = setting(&inst, name);
            set(&inst, name, Some(value.as_bytes()));
            let o = inst.reload();
            assert_eq!(o.code(), 100, "{what}: {o:?}");
            assert_eq!(
                o.stderr,
                format!("{}: fatal: {name}={value}: {why}\n", prog(mode)),
                "{what}"
            );
            assert_eq!(inst.haproxies(), running, "{what}: something started");
            assert!(!inst.rundir.join("copy.pid").exists(), "{what}");
            assert!(!inst.rundir.join("probe.pid").exists(), "{what}");
            set(&inst, name, was.as_deref());
        }
        // What a value shows of bytes that are not printable.
        set(&inst, "TIMEOUT", Some(b"1\x1b[2J"));
        let o = inst.reload();
        assert_eq!(o.code(), 100, "{o:?}");
        assert_eq!(
            o.stderr,
            format!(
                "{}: fatal: TIMEOUT=1?[2J: not a number of milliseconds from 1 to 999999999\n",
                prog(mode)
            )
        );
        set(&inst, "TIMEOUT", Some(b"15000"));
        reload_works_then_down(&inst, &svc, "v2", &format!("{mode:?}"));
    }
}

/// A real haproxy of another configuration, on a port of its own.
fn bystander(procs: &mut Procs, dir: &Path) -> u32 {
    let port = common::haproxy::free_port();
    let cfg = dir.join("bystander.cfg");
    write_file(
        &cfg,
        format!(
            "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\
             frontend f\n    bind 127.0.0.1:{port}\n    http-request return status 200 content-type text/plain string bystander\n"
        )
        .as_bytes(),
        0o644,
    );
    let pid = procs.start(
        Command::new(haproxy_binary())
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for("the bystander to serve", || {
        common::harness::fetch(port).is_ok_and(|b| b == "bystander")
    });
    pid
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !s.contains(") Z ") && !s.contains(") X "))
}

/// A drain's record whose pid another haproxy has taken since (the drain
/// over, the pid reused; here a bystander of another configuration, the
/// record's start time not its own) names no process to signal: a reload,
/// which tells every recorded drain to finish, and down, which stops them,
/// leave it alone; the record is pruned.
#[test]
fn a_drain_record_whose_pid_was_taken_since_reaches_no_signal() {
    let mut procs = Procs::new();
    let (inst, svc, first) = started(Kind::Runit, Mode::Handoff, &mut procs);
    let by = bystander(&mut procs, inst.root.path());
    let draining = inst.rundir.join("draining");
    let forge = || {
        std::fs::create_dir_all(&draining).unwrap();
        write_file(&draining.join(by.to_string()), b"1\n", 0o600);
    };
    forge();
    inst.set_version("v1");
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    assert_verified(&inst, &svc, first, "v1", "reload", &o);
    assert!(alive(by), "the bystander was signalled");
    assert!(!draining.join(by.to_string()).exists(), "not pruned");
    let now = inst.wait_settled(&svc, "v1");
    let o = inst.handoff_verb("status");
    assert_eq!(
        (o.code(), o.out()),
        (0, format!("supervised {now}\n")),
        "{o:?}"
    );
    forge();
    assert_no_orphan(&inst, &svc);
    assert!(alive(by), "the bystander was stopped");
}

#[test]
fn a_pid_variable_inherited_from_the_caller_reaches_no_signal() {
    for mode in MODES {
        let mut procs = Procs::new();
        let (inst, svc, _) = started(Kind::Runit, mode, &mut procs);
        let by = bystander(&mut procs, inst.root.path());
        for (i, var) in ["PIDFILE_PID", "SV_PID", "HAPROXY_PID"].iter().enumerate() {
            let version = format!("v{}", i + 1);
            inst.set_version(&version);
            let o = run(inst.reload_command().env(var, by.to_string()));
            assert_eq!(o.code(), 0, "{mode:?} {var}: {o:?}");
            inst.wait_settled(&svc, &version);
            assert!(
                alive(by),
                "{mode:?} {var}={by}: the bystander was signalled"
            );
        }
        assert_no_orphan(&inst, &svc);
        assert!(alive(by), "{mode:?}: the bystander was signalled");
    }
}

#[test]
fn the_lock_fails_as_documented_and_its_wait_is_bounded() {
    for mode in MODES {
        let mut procs = Procs::new();
        let (inst, svc, _) = started(Kind::Runit, mode, &mut procs);
        let running = inst.haproxies();
        let lock = inst.rundir.join("reload.lock");
        inst.set_version("v1");
        // Cannot be opened: a system error, said in pidchain's words.
        let _ = std::fs::remove_file(&lock);
        std::fs::create_dir(&lock).unwrap();
        let o = inst.reload();
        assert_eq!(o.code(), 111, "{mode:?}: {o:?}");
        assert_eq!(
            o.stderr,
            format!("{}: fatal: unable to open {}\n", prog(mode), lock.display())
        );
        std::fs::remove_dir(&lock).unwrap();
        // Held by a reload that does not end: the wait ends at TIMEOUT,
        // naming the holder.
        let holder = procs.start(Command::new("flock").arg(&lock).args(["sleep", "1000"]));
        wait_for("the lock to be held", || {
            run(Command::new("flock").args(["-n"]).arg(&lock).arg("true")).code() == 1
        });
        write_file(
            &inst.rundir.join("reload.pid"),
            format!("{holder}\n").as_bytes(),
            0o600,
        );
        set(&inst, "TIMEOUT", Some(b"1500"));
        let start = Instant::now();
        let o = inst.reload();
        let took = start.elapsed();
        assert_eq!(o.code(), 1, "{mode:?}: {o:?}");
        assert_eq!(
            o.stderr,
            format!(
                "{}: fatal: {} is still held after TIMEOUT (1500 ms), by reload {holder}\n",
                prog(mode),
                lock.display()
            )
        );
        assert!(took < Duration::from_secs(5), "{mode:?}: {took:?}");
        assert_eq!(inst.haproxies(), running, "{mode:?}: something started");
        // SAFETY: kill(2) on the process group this test started: flock
        // and the sleep holding the lock.
        unsafe { libc::kill(-(holder as i32), libc::SIGKILL) };
        procs.reap(holder);
        set(&inst, "TIMEOUT", Some(b"15000"));
        reload_works_then_down(&inst, &svc, "v2", &format!("{mode:?}"));
    }
}

/// s6 gives finish 5 s: a stats socket whose peer never answers must not
/// hold it that long.
#[test]
fn finish_asks_the_stats_socket_well_within_s6s_five_seconds() {
    let mut procs = Procs::new();
    let (inst, svc, _) = started(Kind::Runit, Mode::Handoff, &mut procs);
    svc.command('d');
    svc.wait_down();
    wait_for("haproxy to exit", || inst.haproxies().is_empty());
    let socket = inst.rundir.join("admin.sock");
    let _ = std::fs::remove_file(&socket);
    let _peer = common::peer::Peer::serve(&socket, vec![common::peer::Reply::Silent]);
    let start = Instant::now();
    let o = verb(&inst, "finish");
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "finish took {took:?}: {o:?}");
}

/// An haproxy configuration with `master-worker` in its global section.
fn with_master_worker(inst: &Install, version: &str) {
    inst.set_version(version);
    let cfg = std::fs::read_to_string(&inst.config).unwrap();
    assert!(cfg.contains("global\n"));
    inst.write_config(
        cfg.replacen("global\n", "global\n    master-worker\n", 1)
            .as_bytes(),
    );
}

#[test]
fn a_handoff_refuses_a_master_worker_configuration_at_once() {
    let mut procs = Procs::new();
    let (inst, svc, pid) = started(Kind::Runit, Mode::Handoff, &mut procs);
    with_master_worker(&inst, "v1");
    let start = Instant::now();
    let o = inst.reload();
    assert_eq!(o.code(), 100, "{o:?}");
    assert_eq!(
        o.stderr,
        format!(
            "haproxy-handoff: fatal: CONFIG={}: master-worker: a handoff runs haproxy itself; use haproxy-master(8)\n",
            inst.config.display()
        )
    );
    assert!(start.elapsed() < Duration::from_secs(5), "not at once");
    assert_eq!(inst.haproxies(), [pid], "something started");
    reload_works_then_down(&inst, &svc, "v2", "master-worker refused");
}

/// A reload run in its own process group, as a shell, `timeout` or a
/// service manager runs it, killed there with `signal` sent to the whole
/// group while held at a step; `stop_copy`: the copy (or probe) that has
/// daemonized is stopped first (SIGSTOP), so that it cannot answer, and
/// continued after the kill. `step_too`: the reload's own step, in its
/// session, is killed too (SIGKILL), as if it died: the next reload must
/// clean up what it left.
struct Kill {
    phase: &'static str,
    command: &'static str,
    nth: u32,
    signal: i32,
    stop_copy: bool,
    step_too: bool,
}

fn killed_with_its_group(mode: Mode, k: &Kill) {
    let mut procs = Procs::new();
    let (inst, svc, first) = started(Kind::Runit, mode, &mut procs);
    let what = format!("{mode:?} {}", k.phase);
    inst.set_version("v1");
    let gate = Gate::new(&inst, k.command, k.nth);
    // Not procs.spawn: the reload keeps the Install's tag, by which its
    // step is found (and killed with the Install).
    let reload = spawn(
        inst.reload_command_with_first_in_path(gate.dir.path())
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for(&format!("the reload to reach: {what}"), || gate.reached());
    let copy = k.stop_copy.then(|| {
        let copy = inst.daemonized_copy();
        // SAFETY: kill(2) on the haproxy this test's reload started.
        unsafe { libc::kill(copy as i32, libc::SIGSTOP) };
        gate.open();
        copy
    });
    let step: Vec<i32> = inst
        .reload_leftovers()
        .into_iter()
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                let args = split_nul(&c);
                args.iter().any(|a| a == b"copy" || a == b"probe")
            })
        })
        .collect();
    // SAFETY: kill(2) on the process group of the reload this test started.
    unsafe { libc::kill(-(reload.id() as i32), k.signal) };
    if k.step_too {
        // The step, and what it runs but haproxy, as if it died there.
        assert!(!step.is_empty(), "{what}: no step found");
        for p in inst.reload_leftovers() {
            // SAFETY: kill(2) on a process of the reload this test started,
            // found by its tag.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
    if let Some(copy) = copy {
        // SAFETY: as above.
        unsafe { libc::kill(copy as i32, libc::SIGCONT) };
    } else if !k.step_too {
        gate.open();
    }
    // Dead, or (a shell waiting for a child when SIGINT comes) done once
    // its step is.
    let _ = wait_output(reload);
    wait_until(
        &format!("{what}: the killed reload's step to finish"),
        || {
            let left = inst.reload_leftovers();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    );
    if k.step_too {
        // The copy left serving unsupervised, its pidfile and the
        // socket's second name: the next reload cleans them up.
        inst.set_version("v2");
        let o = inst.reload();
        assert_eq!(o.code(), 0, "{what}: the next reload: {o:?}");
        inst.wait_settled(&svc, "v2");
    } else {
        // At most the service's haproxy: the handoff was seen through,
        // or the probe told to finish (the master was never signalled).
        let ends_on = match mode {
            Mode::Handoff => "v1",
            Mode::MasterWorker => "v0",
        };
        let mut last = Err(String::new());
        wait_for(&format!("{what}: settled on {ends_on}"), || {
            last = inst.settled(&svc, ends_on);
            last.is_ok()
        });
        if mode == Mode::MasterWorker {
            assert_eq!(last, Ok(first), "{what}");
        }
    }
    assert!(
        !inst.rundir.join("admin.sock.serving").exists(),
        "{what}: the socket's second name left"
    );
    reload_works_then_down(&inst, &svc, "v3", &what);
}

#[test]
fn a_handoff_reload_killed_with_its_process_group_leaves_only_the_service() {
    for k in [
        Kill {
            phase: "the copy daemonized and held stopped, asked whether it answers",
            command: "haproxy-pid",
            nth: 1,
            signal: libc::SIGKILL,
            stop_copy: true,
            step_too: false,
        },
        Kill {
            phase: "the copy answered, before its pidfile is the handoff's",
            command: "mv",
            nth: 1,
            signal: libc::SIGTERM,
            stop_copy: false,
            step_too: false,
        },
        Kill {
            phase: "the handoff pidfile made, before the old haproxy is told",
            // The reload's check that the old one is haproxy, then the
            // step's signal (its record of it as draining made).
            command: "haproxy-sf",
            nth: 2,
            signal: libc::SIGINT,
            stop_copy: false,
            step_too: false,
        },
        Kill {
            phase: "the copy answered, and its step killed too",
            command: "mv",
            nth: 1,
            signal: libc::SIGKILL,
            stop_copy: false,
            step_too: true,
        },
    ] {
        killed_with_its_group(Mode::Handoff, &k);
    }
}

#[test]
fn a_master_worker_reload_killed_with_its_process_group_leaves_only_the_service() {
    for k in [
        Kill {
            phase: "the probe daemonized and held stopped, asked whether it answers",
            command: "haproxy-pid",
            nth: 2,
            signal: libc::SIGKILL,
            stop_copy: true,
            step_too: false,
        },
        Kill {
            phase: "the probe answered, before it is told to finish",
            command: "pidfile-read",
            nth: 2,
            signal: libc::SIGTERM,
            stop_copy: false,
            step_too: false,
        },
        Kill {
            phase: "the probe answered, and its step killed too",
            command: "pidfile-read",
            nth: 2,
            signal: libc::SIGHUP,
            stop_copy: false,
            step_too: true,
        },
    ] {
        killed_with_its_group(Mode::MasterWorker, &k);
    }
}

/// The old haproxy drains longer than TIMEOUT: the reload answers all the
/// same, once its copy serves. Retried during the drain, a reload replaces
/// the copy by its own, the former one told to finish: never two copies
/// serving, every haproxy accounted for; `wait` then waits out the drain.
#[test]
fn a_reload_retried_while_a_handoff_is_pending_replaces_the_copy() {
    let backend = slow_backend(Duration::from_secs(10)).expect("a backend");
    let mut procs = Procs::new();
    let inst = Install::with_mode(Kind::Runit, Mode::Handoff, "v0");
    set(&inst, "TIMEOUT", Some(b"2000"));
    inst.set_version_with_slow_backend("v0", backend.port);
    let svc = inst.start(&mut procs);
    let first = inst.wait_settled(&svc, "v0");
    let held = backend.received();
    let port = inst.port;
    let slow = std::thread::spawn(move || fetch_path(port, "/slow", Duration::from_secs(30)));
    wait_for("the slow request to reach the backend", || {
        backend.received() > held
    });
    inst.set_version_with_slow_backend("v1", backend.port);
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    let copy = assert_verified(&inst, &svc, first, "v1", "v1", &o);
    assert_eq!(inst.daemonized_copy(), copy);
    inst.set_version_with_slow_backend("v2", backend.port);
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    let second = assert_verified(&inst, &svc, copy, "v2", "v2", &o);
    assert_ne!(second, copy, "{o:?}");
    // The former copy held no request: its drain ends at once. The first
    // haproxy's goes on, supervised.
    wait_for("the former copy to exit", || {
        !inst.haproxies().contains(&copy)
    });
    let mut running = inst.haproxies();
    running.sort();
    let mut want = vec![first, second];
    want.sort();
    assert_eq!(running, want, "a copy not accounted for");
    assert_eq!(svc.reported_pid(), Some(first));
    // The drain ends: run takes over the last copy.
    backend.release();
    assert_eq!(slow.join().unwrap(), Ok("slow".to_owned()));
    let w = inst.handoff_verb("wait");
    assert_eq!(w.code(), 0, "{w:?}");
    let last = inst.wait_settled(&svc, "v2");
    assert_eq!(
        w.out(),
        format!("haproxy-handoff: info: haproxy {last} serves, supervised\n")
    );
    inst.set_version_with_slow_backend("v3", backend.port);
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    assert_verified(&inst, &svc, last, "v3", "v3", &o);
    inst.wait_settled(&svc, "v3");
    assert_no_orphan(&inst, &svc);
}

/// A run directory whose path holds a space, quotes and braces: under
/// s6 the service becomes ready all the same, in both modes.
#[test]
fn s6_readiness_takes_any_path() {
    for mode in MODES {
        let mut procs = Procs::new();
        let inst = Install::with_mode(Kind::S6, mode, "v0");
        let odd = inst.root.path().join("a b'c\"d{e}\\n");
        // haproxy.cfg reaches it through inst.rundir, a link.
        std::os::unix::fs::symlink(&odd, &inst.rundir).unwrap();
        set(&inst, "RUNDIR", Some(odd.as_os_str().as_encoded_bytes()));
        let svc = inst.start(&mut procs);
        inst.assert_ready_and_serving(&svc, "v0");
        inst.wait_settled(&svc, "v0");
        inst.set_version("v1");
        let o = inst.reload();
        assert_eq!(o.code(), 0, "{mode:?}: {o:?}");
        inst.assert_ready_and_serving(&svc, "v1");
        inst.wait_settled(&svc, "v1");
        assert_no_orphan(&inst, &svc);
    }
}

/// daemontools runs no finish: the handoff keeps no haproxy.pid there,
/// which would name a dead pid after `svc -d` and at every restart.
#[test]
fn daemontools_keeps_no_stale_haproxy_pid() {
    let mut procs = Procs::new();
    let (inst, svc, _) = started(Kind::Daemontools, Mode::Handoff, &mut procs);
    let supervised = inst.rundir.join("haproxy.pid");
    assert!(!supervised.exists(), "haproxy.pid kept");
    inst.set_version("v1");
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    inst.wait_settled(&svc, "v1");
    assert!(!supervised.exists(), "haproxy.pid kept");
    svc.command('d');
    svc.wait_down();
    wait_for("haproxy to exit", || inst.haproxies().is_empty());
    assert!(!supervised.exists(), "haproxy.pid left naming a dead pid");
    let log = std::fs::read_to_string(&svc.log).unwrap();
    assert!(!log.contains("dropping pid"), "{log}");
}
