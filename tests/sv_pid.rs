//! sv-pid against real runsv, s6-supervise and supervise, started in
//! temporary directories; their own tools (sv, s6-svstat, svstat) are the
//! independent word on what the pid is.

mod common;
use common::supervisors::{ALL, Kind, Service, require, service_dir};
use common::*;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const RUN: &str = "#!/bin/sh\nexec sleep 1000\n";

/// A service running `RUN` under `kind`, in `root/svc`.
fn supervised(procs: &mut Procs, kind: Kind, root: &Path) -> Service {
    Service::start(procs, kind, &service_dir(root, "svc", RUN, None, false))
}

fn sv_pid(args: &[&str], dir: &Path) -> Output {
    run(cmd(SV_PID).args(args).arg(dir))
}

/// sv-pid started, for a wait to be ended from the test.
fn sv_pid_spawned(procs: &mut Procs, args: &[&str], dir: &Path) -> std::process::Child {
    procs.spawn(
        cmd(SV_PID)
            .args(args)
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    )
}

/// Exit 1, no pid: the status names `pid`, which has exited.
fn assert_exited(o: &Output, pid: u32, kind: Kind) {
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{kind:?}: {o:?}");
    assert!(
        o.stderr
            .ends_with(&format!(" names pid {pid}, which has exited\n")),
        "{kind:?}: {o:?}"
    );
}

fn sv_pid_chained(args: &[&str], dir: &Path) -> Output {
    run(cmd(SV_PID).env("SV_PID", "99").args(args).arg(dir).args([
        "sh",
        "-c",
        "echo ${SV_PID-unset}",
    ]))
}

#[test]
fn up_paused_down_for_every_supervisor() {
    for kind in ALL {
        let root = tempdir();
        let mut procs = Procs::new();
        let svc = supervised(&mut procs, kind, root.path());
        let pid = svc.wait_up();

        let o = sv_pid(&[], &svc.dir);
        assert_eq!(
            (o.code(), o.out()),
            (0, format!("{pid}\n")),
            "{kind:?} up: {o:?}"
        );
        let o = sv_pid_chained(&[], &svc.dir);
        assert_eq!(o.out(), format!("{pid}\n"), "{kind:?} chained: {o:?}");
        let o = run(cmd(SV_PID).args(["-n", "HAPROXY"]).arg(&svc.dir).args([
            "sh",
            "-c",
            "echo $HAPROXY",
        ]));
        assert_eq!(o.out(), format!("{pid}\n"), "{kind:?} -n: {o:?}");

        svc.command('p');
        wait_for("the service to be paused", || svc.reported_paused());
        let o = sv_pid(&[], &svc.dir);
        assert_eq!(
            (o.code(), o.out()),
            (0, format!("{pid}\n")),
            "{kind:?} paused: {o:?}"
        );
        svc.command('c');

        svc.command('d');
        svc.wait_down();
        let o = sv_pid(&[], &svc.dir);
        assert_eq!(
            (o.code(), o.out().as_str()),
            (1, ""),
            "{kind:?} down: {o:?}"
        );
        assert!(
            o.stderr.contains(&format!(
                "sv-pid: fatal: service {} is down",
                svc.dir.display()
            )),
            "{o:?}"
        );
        let o = sv_pid(&["-o"], &svc.dir);
        assert_eq!(
            (o.code(), o.out().as_str(), o.stderr.as_str()),
            (0, "", ""),
            "{kind:?} -o: {o:?}"
        );
        let o = sv_pid_chained(&["-o"], &svc.dir);
        assert_eq!(
            (o.code(), o.out().as_str()),
            (0, "unset\n"),
            "{kind:?} -o chained: {o:?}"
        );
        let o = sv_pid_chained(&[], &svc.dir);
        assert_eq!(
            (o.code(), o.out().as_str()),
            (1, ""),
            "{kind:?} chained, down: {o:?}"
        );
    }
}

#[test]
fn w_waits_for_the_service_to_come_up() {
    for kind in ALL {
        let root = tempdir();
        let mut procs = Procs::new();
        let svc = Service::start(
            &mut procs,
            kind,
            &service_dir(root.path(), "svc", RUN, None, true),
        );
        svc.wait_down();
        let waiting = sv_pid_spawned(&mut procs, &["-w", "15000"], &svc.dir);
        svc.command('u');
        let o = wait_output(waiting);
        let pid = svc.wait_up();
        assert_eq!(
            (o.code(), o.out()),
            (0, format!("{pid}\n")),
            "{kind:?}: {o:?}"
        );
    }
}

#[test]
fn w_gives_up_on_a_service_that_stays_down() {
    let root = tempdir();
    let mut procs = Procs::new();
    let svc = Service::start(
        &mut procs,
        Kind::Runit,
        &service_dir(root.path(), "svc", RUN, None, true),
    );
    svc.wait_down();
    let start = std::time::Instant::now();
    let o = sv_pid(&["-w", "300"], &svc.dir);
    assert!(start.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(o.code(), 1, "{o:?}");
}

#[test]
fn a_supervisor_killed_leaves_a_stale_status_that_is_not_trusted() {
    for kind in ALL {
        let root = tempdir();
        let mut procs = Procs::new();
        let svc = supervised(&mut procs, kind, root.path());
        let pid = svc.wait_up();
        svc.kill_supervisor();
        // The service and its status file outlive the supervisor: tempting.
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
        assert!(
            std::fs::metadata(svc.dir.join("supervise/status"))
                .unwrap()
                .len()
                > 0
        );
        let o = sv_pid(&[], &svc.dir);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{kind:?}: {o:?}");
        assert!(o.stderr.contains("supervisor not running for"), "{o:?}");
        let o = sv_pid_chained(&["-o"], &svc.dir);
        assert_eq!(
            (o.code(), o.out().as_str()),
            (0, "unset\n"),
            "{kind:?}: {o:?}"
        );
        assert!(
            o.stderr.contains("warning: supervisor not running"),
            "{o:?}"
        );
    }
}

#[test]
fn no_pid_while_the_finish_script_runs() {
    for kind in [Kind::Runit, Kind::S6] {
        let root = tempdir();
        let mut procs = Procs::new();
        let finish = "#!/bin/sh\n: > finishing\nexec sleep 1000\n";
        let svc = Service::start(
            &mut procs,
            kind,
            &service_dir(root.path(), "svc", RUN, Some(finish), false),
        );
        svc.wait_up();
        svc.command('d');
        wait_for("the finish script to run", || {
            svc.dir.join("finishing").exists()
                && match kind {
                    Kind::Runit => svc.status_text().is_some_and(|t| t.starts_with("finish:")),
                    _ => svc.reported_pid().is_none(),
                }
        });
        let o = sv_pid(&[], &svc.dir);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{kind:?}: {o:?}");
        assert!(
            o.stderr.contains("is down: its finish script is running"),
            "{kind:?}: {o:?}"
        );
    }
}

#[test]
fn supervise_may_be_a_symlink_as_debian_makes_it() {
    let root = tempdir();
    let dir = service_dir(root.path(), "svc", RUN, None, false);
    let real = root.path().join("run-runit-supervise-svc");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, dir.join("supervise")).unwrap();
    let mut procs = Procs::new();
    let svc = Service::start(&mut procs, Kind::Runit, &dir);
    let pid = svc.wait_up();
    assert!(real.join("status").exists(), "runsv wrote through the link");
    let o = sv_pid(&[], &svc.dir);
    assert_eq!((o.code(), o.out()), (0, format!("{pid}\n")), "{o:?}");
}

#[test]
fn a_service_never_supervised_has_no_pid() {
    let root = tempdir();
    let dir = service_dir(root.path(), "svc", RUN, None, false);
    let o = sv_pid(&[], &dir);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("supervisor not running for"), "{o:?}");
    let o = sv_pid(&[], &root.path().join("nonexistent"));
    assert_eq!(o.code(), 1, "{o:?}");
}

/// A stand-in supervisor where no real one can make the state: the test
/// holds supervise/control open for reading, as a supervisor does.
fn fake_supervised(root: &Path, status: &[u8], mode: u32) -> (std::path::PathBuf, std::fs::File) {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = service_dir(root, "svc", RUN, None, false);
    let sup = dir.join("supervise");
    std::fs::create_dir(&sup).unwrap();
    nix::unistd::mkfifo(
        &sup.join("control"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(sup.join("control"))
        .unwrap();
    write_file(&sup.join("status"), status, mode);
    (dir, reader)
}

#[test]
fn untrustworthy_status_files_are_refused() {
    let runit_up = [
        0x40, 0, 0, 0, 0x6b, 0x05, 0xa2, 0x30, 0x3a, 0xff, 0x6a, 0x9c, 0x41, 0x54, 0, 0, 0x00,
        0x75, 0x00, 0x01,
    ];
    let cases: [(&[u8], u32, &str); 5] = [
        (
            &[0u8; 27],
            0o644,
            "27 bytes, is not that of any known supervisor",
        ),
        (&runit_up[..19], 0o644, "19 bytes"),
        (b"", 0o644, "it is empty"),
        (&[0x42u8; 18], 0o644, "out of range"),
        (
            &runit_up[..18],
            0o666,
            "writable by group or others (mode 0666)",
        ),
    ];
    for (status, mode, why) in cases {
        let root = tempdir();
        let (dir, _control) = fake_supervised(root.path(), status, mode);
        let o = sv_pid(&[], &dir);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{why}: {o:?}");
        assert!(
            o.stderr.contains("sv-pid: fatal: invalid status file ") && o.stderr.contains(why),
            "{o:?}"
        );
        let o = sv_pid_chained(&["-o", "-w", "100"], &dir);
        assert_eq!((o.code(), o.out().as_str()), (0, "unset\n"), "{why}: {o:?}");
        assert!(
            o.stderr.contains("warning: ignoring invalid status file"),
            "{o:?}"
        );
    }
    // The trust check a pidfile gets: a second name (a hard link to some
    // other root-owned file) is refused, where the same status alone is read.
    let root = tempdir();
    let (dir, _control) = fake_supervised(root.path(), &runit_up[..18], 0o644);
    assert_eq!(sv_pid(&[], &dir).out(), "21569\n");
    std::fs::hard_link(dir.join("supervise/status"), root.path().join("other")).unwrap();
    let o = sv_pid(&[], &dir);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    assert!(
        o.stderr.contains("invalid status file ") && o.stderr.contains(": it has 2 hard links"),
        "{o:?}"
    );
    // Without runit's stat file, 20 bytes are daemontools-encore's: and the
    // same bytes then mean something else entirely (state byte 0: stopped).
    let root = tempdir();
    let (dir, _control) = fake_supervised(root.path(), &runit_up, 0o644);
    let o = sv_pid(&[], &dir);
    assert_eq!(o.code(), 1, "{o:?}");
    write_file(&dir.join("supervise/stat"), b"run\n", 0o644);
    assert_eq!(sv_pid(&[], &dir).out(), "21569\n");
}

#[test]
fn exit_codes() {
    let root = tempdir();
    for usage in [
        &[][..],
        &["-w"],
        &["-w", "x", "d"],
        &["-n", "=", "d"],
        &["-z", "d"],
    ] {
        let o = run(cmd(SV_PID).args(usage));
        assert_eq!(o.code(), 100, "{usage:?}: {o:?}");
        assert!(
            o.stderr.contains("sv-pid: usage: sv-pid [ -n var ]"),
            "{o:?}"
        );
    }
    let mut procs = Procs::new();
    let svc = Service::start(
        &mut procs,
        Kind::S6,
        &service_dir(root.path(), "svc", RUN, None, false),
    );
    svc.wait_up();
    let o = run(cmd(SV_PID).arg(&svc.dir).arg("pidchain-no-such-program"));
    assert_eq!(o.code(), 127, "{o:?}");
    // A path through a regular file: a system error.
    let o = sv_pid(&[], &svc.dir.join("run"));
    assert_eq!(o.code(), 111, "{o:?}");
    assert!(o.stderr.contains("Not a directory"), "{o:?}");
    assert_eq!(
        run(cmd(SV_PID).arg("-V")).out(),
        format!("sv-pid {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_empty_servicedir_is_a_usage_error_even_inside_a_service() {
    let root = tempdir();
    let mut procs = Procs::new();
    let svc = Service::start(
        &mut procs,
        Kind::S6,
        &service_dir(root.path(), "svc", RUN, None, false),
    );
    svc.wait_up();
    // run, finish and control scripts run in the service directory: an
    // unset SERVICE must not target it.
    let o = run(cmd(SV_PID).arg(".").current_dir(&svc.dir));
    assert_eq!(o.code(), 0, "{o:?}");
    for args in [&[""][..], &["-o", ""], &["-w", "100", ""], &[".", ""]] {
        let o = run(cmd(SV_PID).args(args).current_dir(&svc.dir));
        assert_eq!((o.code(), o.out().as_str()), (100, ""), "{args:?}: {o:?}");
        assert!(o.stderr.starts_with("sv-pid: warning: empty "), "{o:?}");
    }
}

#[test]
fn setting_or_removing_the_variable_leaves_no_other_copy() {
    let root = tempdir();
    let mut procs = Procs::new();
    let svc = Service::start(
        &mut procs,
        Kind::Runit,
        &service_dir(root.path(), "svc", RUN, None, false),
    );
    let pid = svc.wait_up();
    let down = service_dir(root.path(), "down", RUN, None, false);
    let show: &[&[u8]] = &[
        b"/bin/sh",
        b"-c",
        b"tr '\\0' '\\n' < /proc/$$/environ | grep ^SV_PID= || true",
    ];
    for (args, want) in [
        (
            vec![svc.dir.as_os_str().as_bytes()],
            format!("SV_PID={pid}\n"),
        ),
        (
            vec![b"-o".as_slice(), down.as_os_str().as_bytes()],
            String::new(),
        ),
    ] {
        let argv = [&[SV_PID.as_bytes()][..], &args, show].concat();
        let o = run_with_envp(&argv, &[b"SV_PID=2", b"SV_PID=3", b"PATH=/usr/bin:/bin"]);
        assert_eq!((o.code(), o.out()), (0, want), "{o:?}");
    }
}

#[test]
fn every_diagnostic_is_one_line() {
    let root = tempdir();
    let dir = service_dir(root.path(), "evil\nsvc\x1b[2J", RUN, None, false);
    for args in [&[][..], &["-w", "10"], &["-o"]] {
        let o = run(cmd(SV_PID).args(args).arg(&dir));
        assert_eq!(o.stderr.lines().count(), 1, "{args:?}: {o:?}");
        assert!(o.stderr.contains("evil\\x0asvc\\x1b[2J"), "{o:?}");
    }
}

#[test]
fn w_takes_any_millisecond_count_that_fits_64_bits() {
    let root = tempdir();
    let mut procs = Procs::new();
    let svc = Service::start(
        &mut procs,
        Kind::S6,
        &service_dir(root.path(), "svc", RUN, None, false),
    );
    let pid = svc.wait_up();
    for ms in ["0", "4294967296", "18446744073709551615"] {
        let o = sv_pid(&["-w", ms], &svc.dir);
        assert_eq!((o.code(), o.out()), (0, format!("{pid}\n")), "{ms}: {o:?}");
    }
    let o = sv_pid(&["-w", "18446744073709551616"], &svc.dir);
    assert_eq!(o.code(), 100, "{o:?}");
}

#[test]
fn big_n_waits_for_a_new_pid() {
    let root = tempdir();
    let mut procs = Procs::new();
    for kind in ALL {
        let svc = Service::start(
            &mut procs,
            kind,
            &service_dir(root.path(), &format!("{kind:?}"), RUN, None, false),
        );
        let old = svc.wait_up();
        let o = sv_pid(&["-N", &old.to_string()], &svc.dir);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{kind:?}: {o:?}");
        assert!(
            o.stderr.contains(&format!("is still up as pid {old}")),
            "{o:?}"
        );
        let o = sv_pid(&["-N", "4242"], &svc.dir);
        assert_eq!(o.out(), format!("{old}\n"), "{kind:?}: {o:?}");
        // The service restarted: -w -N waits through the restart (runit
        // writes a finish state without a pid on the way) for the new pid.
        let waiting = sv_pid_spawned(
            &mut procs,
            &["-w", "15000", "-N", &old.to_string()],
            &svc.dir,
        );
        // SAFETY: kill(2) on the service this test started.
        unsafe { libc::kill(old as i32, libc::SIGKILL) };
        let o = wait_output(waiting);
        let new = svc.wait_up();
        assert_ne!(new, old);
        assert_eq!(
            (o.code(), o.out()),
            (0, format!("{new}\n")),
            "{kind:?}: {o:?}"
        );
    }
    for bad in ["1", "0", "x", ""] {
        let o = run(cmd(SV_PID).args(["-N", bad, "."]));
        assert_eq!(o.code(), 100, "{bad:?}: {o:?}");
    }
}

/// The supervisor's lock is looked for in its own descriptors, not in
/// /proc/locks, whose cost grows with every lock on the host.
#[test]
fn the_lock_is_seen_in_the_supervisors_descriptors_not_in_proc_locks() {
    require("strace", "strace");
    for kind in ALL {
        let root = tempdir();
        let mut procs = Procs::new();
        let svc = supervised(&mut procs, kind, root.path());
        let pid = svc.wait_up();
        for args in [&[][..], &["-u"]] {
            let trace = root.path().join("trace");
            let o = run(std::process::Command::new("strace")
                .args(["-qq", "-e", "trace=open,openat", "-o"])
                .arg(&trace)
                .arg(SV_PID)
                .args(args)
                .arg(&svc.dir));
            assert_eq!(
                (o.code(), o.out()),
                (0, format!("{pid}\n")),
                "{kind:?}: {o:?}"
            );
            let opened = std::fs::read_to_string(&trace).unwrap();
            assert!(
                opened.contains(&format!("\"/proc/{}/fdinfo/", svc.supervisor)),
                "{kind:?} {args:?}: {opened}"
            );
            assert!(
                !opened.contains("\"/proc/locks\""),
                "{kind:?} {args:?}: {opened}"
            );
        }
    }
}

#[test]
fn a_supervisor_started_again_does_not_vouch_for_the_killed_ones_status() {
    for kind in ALL {
        let root = tempdir();
        let mut procs = Procs::new();
        let dir = service_dir(root.path(), "svc", RUN, None, false);
        let first = Service::start(&mut procs, kind, &dir);
        let orphan = first.wait_up();
        let status = first.dir.join("supervise/status");
        let stale = std::fs::read(&status).unwrap();
        first.kill_supervisor();
        // Started again, as runsvdir, s6-svscan or svscan would: it runs a
        // service process of its own; the first one's runs on, unsupervised.
        let second = Service::start(&mut procs, kind, &dir);
        let mut new = 0;
        wait_for("the second supervisor's service", || {
            new = second.reported_pid().unwrap_or(0);
            new != 0 && new != orphan
        });
        assert!(Path::new(&format!("/proc/{orphan}")).exists());
        // The window: each of them takes supervise/lock and opens
        // supervise/control before it rewrites supervise/status. Held open
        // here by putting the killed one's status back, by rename, as the
        // supervisors write it.
        // The second may still be writing its own status as it starts:
        // the answers count only if the stale status was there throughout,
        // and they are asked again (a bounded number of times) when not.
        let put_back = first.dir.join("supervise/status.test");
        let mut tries = 0;
        let (o, chained) = loop {
            tries += 1;
            assert!(
                tries <= 50,
                "{kind:?}: the supervisor kept rewriting its status"
            );
            write_file(&put_back, &stale, 0o644);
            std::fs::rename(&put_back, &status).unwrap();
            let o = sv_pid(&[], &second.dir);
            let chained = sv_pid_chained(&["-o"], &second.dir);
            if std::fs::read(&status).unwrap() == stale {
                break (o, chained);
            }
        };
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{kind:?}: {o:?}");
        assert!(
            o.stderr.contains(&format!(
                "sv-pid: fatal: status of {} names pid {orphan}, whose parent, pid ",
                second.dir.display()
            )) && o
                .stderr
                .ends_with(", is not the running supervisor: the status is not its yet\n"),
            "{kind:?}: {o:?}"
        );
        let o = chained;
        assert_eq!(
            (o.code(), o.out().as_str()),
            (0, "unset\n"),
            "{kind:?}: {o:?}"
        );
        assert!(o.stderr.contains("sv-pid: warning: status of "), "{o:?}");
        // -w waits for the supervisor to write its own: pausing and
        // continuing the service makes it.
        let waiting = procs.spawn(
            cmd(SV_PID)
                .args(["-w", "20000"])
                .arg(&second.dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped()),
        );
        second.command('p');
        second.command('c');
        let o = wait_output(waiting);
        assert_eq!(
            (o.code(), o.out()),
            (0, format!("{new}\n")),
            "{kind:?}: {o:?}"
        );
        assert_eq!(sv_pid(&[], &second.dir).out(), format!("{new}\n"));
        // A status naming a process that has exited (and been reaped) is
        // not up either.
        let dead = dead_pid(&mut procs);
        let mut naming_dead = stale.clone();
        match kind {
            Kind::S6 => naming_dead[24..32].copy_from_slice(&u64::from(dead).to_be_bytes()),
            _ => naming_dead[12..16].copy_from_slice(&dead.to_le_bytes()),
        }
        write_file(&put_back, &naming_dead, 0o644);
        std::fs::rename(&put_back, &status).unwrap();
        let o = sv_pid(&[], &second.dir);
        assert_exited(&o, dead, kind);
    }
}

#[test]
fn a_service_process_not_reaped_yet_has_exited() {
    for kind in ALL {
        let root = tempdir();
        let mut procs = Procs::new();
        let svc = supervised(&mut procs, kind, root.path());
        let pid = svc.wait_up();
        // The supervisor stopped before it can reap the service: its status
        // still says up as pid, whose process is a zombie.
        let status = std::fs::read(svc.dir.join("supervise/status")).unwrap();
        // SAFETY: signals to processes this test started.
        unsafe { libc::kill(svc.supervisor as i32, libc::SIGSTOP) };
        // SAFETY: as above.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        wait_for("the service to be a zombie", || is_zombie(pid));
        // A zombie has exited: no pid, as for a status the supervisor has
        // not rewritten yet; -w waits for it to.
        let o = sv_pid(&[], &svc.dir);
        assert_exited(&o, pid, kind);
        assert_eq!(
            std::fs::read(svc.dir.join("supervise/status")).unwrap(),
            status
        );
        let waiting = sv_pid_spawned(&mut procs, &["-w", "20000"], &svc.dir);
        // SAFETY: as above.
        unsafe { libc::kill(svc.supervisor as i32, libc::SIGCONT) };
        let o = wait_output(waiting);
        assert_eq!(o.code(), 0, "{kind:?}: {o:?}");
        assert_ne!(o.out(), format!("{pid}\n"), "{kind:?}");
    }
}

/// Taken down, the service's process exits before its supervisor has
/// reaped it: s6-supervise may signal it before it rewrites its status
/// (want down). Here the process stops its supervisor as it exits, to
/// hold that moment open when it comes first. -u -w waits through it for
/// the supervisor's word: wanted down.
#[test]
fn u_w_waits_through_a_down_whose_process_is_not_reaped_yet() {
    const STOPS_ITS_SUPERVISOR: &str = "#!/bin/sh\n\
        exec sh -c 'trap \"kill \\$!; kill -STOP \\$PPID; exit 0\" TERM; sleep 1000 & wait'\n";
    for kind in ALL {
        let root = tempdir();
        let mut procs = Procs::new();
        let dir = service_dir(root.path(), "svc", STOPS_ITS_SUPERVISOR, None, false);
        let svc = Service::start(&mut procs, kind, &dir);
        let pid = svc.wait_up();
        // Told down: the process stops the supervisor and exits.
        svc.command('d');
        wait_for("the service to be a zombie", || is_zombie(pid));
        // No zombie's pid is given: 1 while the status still wants it up
        // (s6, when the supervisor was stopped before it wrote; most runs
        // here), 2 once it says wanted down (runit and daemontools write
        // that before they signal).
        let o = sv_pid(&["-u"], &svc.dir);
        assert!([1, 2].contains(&o.code()), "{kind:?}: {o:?}");
        assert_eq!(o.out(), "", "{kind:?}: {o:?}");
        let waiting = sv_pid_spawned(&mut procs, &["-u", "-w", "20000"], &svc.dir);
        // SAFETY: a signal to a process this test started.
        unsafe { libc::kill(svc.supervisor as i32, libc::SIGCONT) };
        let o = wait_output(waiting);
        assert_eq!((o.code(), o.out().as_str()), (2, ""), "{kind:?}: {o:?}");
        assert!(o.stderr.ends_with(" is wanted down\n"), "{kind:?}: {o:?}");
        svc.wait_down();
    }
}

#[test]
fn u_tells_a_service_wanted_down_from_one_not_up_yet() {
    for kind in ALL {
        let root = tempdir();
        let mut procs = Procs::new();
        let svc = supervised(&mut procs, kind, root.path());
        let pid = svc.wait_up();
        // Up, and paused: wanted up, the pid as without -u, as the
        // supervisor's own tool says.
        assert_eq!(
            sv_pid(&["-u"], &svc.dir).out(),
            format!("{pid}\n"),
            "{kind:?}"
        );
        svc.command('p');
        wait_for("paused", || svc.reported_paused());
        assert_eq!(
            sv_pid(&["-u"], &svc.dir).out(),
            format!("{pid}\n"),
            "{kind:?}"
        );
        svc.command('c');
        // Taken down: exit 2, not waited for, whatever -w says.
        svc.command('d');
        svc.wait_down();
        let t = std::time::Instant::now();
        let o = sv_pid(&["-u", "-w", "20000"], &svc.dir);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{kind:?}: waited"
        );
        assert_eq!((o.code(), o.out().as_str()), (2, ""), "{kind:?}: {o:?}");
        assert!(
            o.stderr.ends_with(&format!(
                "sv-pid: fatal: service {} is wanted down\n",
                svc.dir.display()
            )),
            "{o:?}"
        );
        // Without -u it is just down (1); with -o, no pid and prog runs.
        assert_eq!(sv_pid(&[], &svc.dir).code(), 1, "{kind:?}");
        let o = sv_pid_chained(&["-u", "-o"], &svc.dir);
        assert_eq!(
            (o.code(), o.out().as_str()),
            (0, "unset\n"),
            "{kind:?}: {o:?}"
        );
        // Up again: wanted up.
        svc.command('u');
        let again = svc.wait_up();
        assert_eq!(
            sv_pid(&["-u"], &svc.dir).out(),
            format!("{again}\n"),
            "{kind:?}"
        );
    }
}

#[test]
fn u_after_the_supervisor_exited() {
    // sv exit: runsv takes the service down, records it wanted down, and
    // exits: -u says so. Killed while it wanted the service up, a
    // supervisor may be started again: its status is just not trusted.
    let root = tempdir();
    let mut procs = Procs::new();
    let svc = Service::start(
        &mut procs,
        Kind::Runit,
        &service_dir(root.path(), "exited", RUN, None, false),
    );
    svc.wait_up();
    assert_eq!(
        run(std::process::Command::new("sv").arg("exit").arg(&svc.dir)).code(),
        0
    );
    svc.wait_supervisor_gone();
    let o = sv_pid(&["-u"], &svc.dir);
    assert_eq!((o.code(), o.out().as_str()), (2, ""), "{o:?}");
    assert!(
        o.stderr
            .ends_with(" is wanted down, and its supervisor has exited\n"),
        "{o:?}"
    );
    let killed = Service::start(
        &mut procs,
        Kind::Runit,
        &service_dir(root.path(), "killed", RUN, None, false),
    );
    killed.wait_up();
    killed.kill_supervisor();
    let o = sv_pid(&["-u"], &killed.dir);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("supervisor not running for"), "{o:?}");
}

#[test]
fn u_after_the_supervisor_exited_once_the_service_went_down() {
    // s6-svc -x, svc -x: the supervisor exits once the service is down,
    // still wanting it up; its last word is that the service is down, and
    // no one starts it again: -u says so, with or without -w.
    for kind in [Kind::S6, Kind::Daemontools] {
        let root = tempdir();
        let mut procs = Procs::new();
        let svc = supervised(&mut procs, kind, root.path());
        let pid = svc.wait_up();
        let tool = if kind == Kind::S6 { "s6-svc" } else { "svc" };
        assert_eq!(
            run(std::process::Command::new(tool).arg("-x").arg(&svc.dir)).code(),
            0
        );
        svc.wait_commands_read();
        // Told to exit, not to take the service down: it runs on.
        assert_eq!(
            sv_pid(&["-u"], &svc.dir).out(),
            format!("{pid}\n"),
            "{kind:?}"
        );
        // SAFETY: kill(2) on the service this test started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        svc.wait_supervisor_gone();
        let o = sv_pid(&["-u", "-w", "20000"], &svc.dir);
        assert_eq!((o.code(), o.out().as_str()), (2, ""), "{kind:?}: {o:?}");
        assert!(
            o.stderr.ends_with(&format!(
                "sv-pid: fatal: service {} is down, and its supervisor has exited\n",
                svc.dir.display()
            )),
            "{kind:?}: {o:?}"
        );
        // Without -u: no supervisor, as the supervisor's own tool says.
        let o = sv_pid(&[], &svc.dir);
        assert_eq!(o.code(), 1, "{kind:?}: {o:?}");
        assert!(o.stderr.contains("supervisor not running for"), "{o:?}");
        assert_eq!(svc.status_text(), None, "{kind:?}");
    }
}
