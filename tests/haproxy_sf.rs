//! haproxy-sf with a stand-in program whose name matches the running
//! process it takes over from (real processes, real /proc).

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// `DIR/bin/NAME`: a script that prints its arguments, one per line, and
/// which pid variables it got; named like the old process.
fn stand_in(dir: &Path, name: &str) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let p = bin.join(name);
    write_file(&p, b"#!/bin/sh\nfor a; do echo \"$a\"; done\necho \"env:${SV_PID-unset}:${PIDFILE_PID-unset}:${OTHER-unset}\"\n", 0o755);
    p.to_str().unwrap().to_owned()
}

fn sf(env: &[(&str, String)], args: &[&str]) -> Output {
    let mut c = cmd(HAPROXY_SF);
    for (k, v) in env {
        c.env(k, v);
    }
    run(c.args(args))
}

fn lines(o: &Output) -> Vec<String> {
    o.out().lines().map(str::to_owned).collect()
}

#[test]
fn appends_sf_with_pids_from_sv_pid_then_pidfile_pid() {
    let d = tempdir();
    let mut procs = Procs::new();
    let a = start_named(&mut procs, d.path(), "fakeproxy");
    let b = {
        let sub = d.path().join("sub");
        std::fs::create_dir_all(&sub).unwrap();
        start_named(&mut procs, &sub, "fakeproxy")
    };
    let prog = stand_in(d.path(), "fakeproxy");
    let o = sf(
        &[
            ("SV_PID", format!("{a}")),
            ("PIDFILE_PID", format!("{b} {a}")),
        ],
        &[&prog, "-f", "cfg", "-db"],
    );
    assert_eq!(o.code(), 0, "{o:?}");
    assert_eq!(
        lines(&o),
        [
            "-f",
            "cfg",
            "-db",
            "-sf",
            &a.to_string(),
            &b.to_string(),
            "env:unset:unset:unset"
        ],
        "{o:?}"
    );
    assert!(o.stderr.is_empty(), "{o:?}");
}

#[test]
fn n_replaces_the_list_in_order_and_only_those_are_removed() {
    let d = tempdir();
    let mut procs = Procs::new();
    let a = start_named(&mut procs, d.path(), "fakeproxy");
    let sub = d.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let b = start_named(&mut procs, &sub, "fakeproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    let env = [
        ("OTHER", format!("{b}")),
        ("SV_PID", format!("{a}")),
        ("PIDFILE_PID", format!("{a}")),
    ];
    let o = sf(&env, &["-n", "OTHER", "-nSV_PID", &prog]);
    assert_eq!(
        lines(&o),
        [
            "-sf",
            &b.to_string(),
            &a.to_string(),
            &format!("env:unset:{a}:unset")
        ],
        "{o:?}"
    );
}

#[test]
fn t_hard_stops() {
    let d = tempdir();
    let mut procs = Procs::new();
    let a = start_named(&mut procs, d.path(), "fakeproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    let o = sf(&[("SV_PID", a.to_string())], &["-t", &prog]);
    assert_eq!(lines(&o)[..2], ["-st".to_string(), a.to_string()], "{o:?}");
}

#[test]
fn cold_start_appends_nothing() {
    let d = tempdir();
    let prog = stand_in(d.path(), "fakeproxy");
    let sock = d.path().join("stats.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    for env in [
        vec![],
        vec![("SV_PID", String::new())],
        vec![("SV_PID", String::new()), ("PIDFILE_PID", String::new())],
    ] {
        let o = sf(&env, &["-x", sock.to_str().unwrap(), &prog, "-f", "cfg"]);
        assert_eq!(lines(&o), ["-f", "cfg", "env:unset:unset:unset"], "{o:?}");
    }
}

#[test]
fn dead_and_misnamed_and_own_pids_are_dropped_unless_u() {
    let d = tempdir();
    let mut procs = Procs::new();
    let good = start_named(&mut procs, d.path(), "fakeproxy");
    let other = start_named(&mut procs, d.path(), "notproxy");
    let dead = dead_pid(&mut procs);
    let prog = stand_in(d.path(), "fakeproxy");
    let env = [
        ("SV_PID", format!("{dead} {other}")),
        ("PIDFILE_PID", format!("{good}")),
    ];
    let o = sf(&env, &[&prog]);
    assert_eq!(
        lines(&o),
        ["-sf", &good.to_string(), "env:unset:unset:unset"],
        "{o:?}"
    );
    assert!(
        o.stderr.contains(&format!(
            "haproxy-sf: warning: dropping pid {dead}: no such process"
        )),
        "{o:?}"
    );
    assert!(
        o.stderr.contains(&format!(
            "haproxy-sf: warning: dropping pid {other}: process is not fakeproxy"
        )),
        "{o:?}"
    );

    let o = sf(&env, &["-u", &prog]);
    assert_eq!(
        lines(&o),
        [
            "-sf",
            &dead.to_string(),
            &other.to_string(),
            &good.to_string(),
            "env:unset:unset:unset"
        ],
        "{o:?}"
    );

    // Nothing left: a cold start, not a dangling -sf.
    let o = sf(&[("SV_PID", format!("{dead} {other}"))], &[&prog]);
    assert_eq!(lines(&o), ["env:unset:unset:unset"], "{o:?}");

    // The process exec'd has haproxy-sf's pid: never tell it to stop itself.
    let o = run(cmd("sh").args(["-c", "SV_PID=$$ exec \"$0\" \"$1\"", HAPROXY_SF, &prog]));
    assert_eq!(lines(&o), ["env:unset:unset:unset"], "{o:?}");
    assert!(o.stderr.contains("it is this process"), "{o:?}");
}

#[test]
fn an_exited_process_not_yet_reaped_is_dropped() {
    // A zombie: kill(pid, 0) still finds it and its name is right, but it
    // will act on no signal, and -x to its socket would fail haproxy.
    let d = tempdir();
    let link = d.path().join("fakeproxy");
    std::os::unix::fs::symlink(which("true"), &link).unwrap();
    let mut procs = Procs::new();
    let zombie = procs.start(&mut Command::new(&link));
    wait_for("the child to exit unreaped", || {
        std::fs::read_to_string(format!("/proc/{zombie}/stat"))
            .is_ok_and(|s| s.contains("(fakeproxy) Z"))
    });
    let prog = stand_in(d.path(), "fakeproxy");
    let o = sf(&[("SV_PID", zombie.to_string())], &[&prog]);
    assert_eq!(lines(&o), ["env:unset:unset:unset"], "{o:?}");
    assert!(
        o.stderr.contains(&format!(
            "dropping pid {zombie}: the process has exited (zombie)"
        )),
        "{o:?}"
    );
}

#[test]
fn r_refuses_a_cold_start() {
    let d = tempdir();
    let mut procs = Procs::new();
    let good = start_named(&mut procs, d.path(), "fakeproxy");
    let other = start_named(&mut procs, d.path(), "notproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    let o = sf(&[("SV_PID", other.to_string())], &["-r", &prog]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    assert!(
        o.stderr
            .contains("haproxy-sf: fatal: no process to take over from in SV_PID PIDFILE_PID"),
        "{o:?}"
    );
    let o = sf(&[], &["-r", "-n", "X", &prog]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        o.stderr.contains("no process to take over from in X"),
        "{o:?}"
    );
    let o = sf(&[("SV_PID", format!("{other} {good}"))], &["-r", &prog]);
    assert_eq!(
        lines(&o),
        ["-sf", &good.to_string(), "env:unset:unset:unset"],
        "{o:?}"
    );
}

#[test]
fn the_old_executable_may_be_deleted() {
    // After a package upgrade the old haproxy runs a deleted file; the name
    // is what counts.
    let d = tempdir();
    let exe = d.path().join("fakeproxy");
    writing(|| std::fs::copy(which("sleep"), &exe)).unwrap();
    let mut procs = Procs::new();
    let old = procs.start(Command::new(&exe).arg("1000"));
    wait_for("the copy to run", || {
        std::fs::read_to_string(format!("/proc/{old}/comm")).is_ok_and(|c| c == "fakeproxy\n")
    });
    std::fs::remove_file(&exe).unwrap();
    assert!(
        std::fs::read_link(format!("/proc/{old}/exe"))
            .unwrap()
            .to_string_lossy()
            .ends_with("(deleted)")
    );
    let prog = stand_in(d.path(), "fakeproxy");
    let o = sf(&[("SV_PID", old.to_string())], &[&prog]);
    assert_eq!(
        lines(&o)[..2],
        ["-sf".to_string(), old.to_string()],
        "{o:?}"
    );
}

#[test]
fn garbage_in_a_variable_is_ignored_with_a_warning() {
    let d = tempdir();
    let mut procs = Procs::new();
    let good = start_named(&mut procs, d.path(), "fakeproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    for junk in [
        "1",
        "0",
        "abc",
        "12 ",
        " 12",
        "12  13",
        "-5",
        "0x10",
        "4194305",
        "1\u{1b}[2J",
    ] {
        let o = sf(
            &[
                ("SV_PID", junk.to_owned()),
                ("PIDFILE_PID", good.to_string()),
            ],
            &[&prog],
        );
        assert_eq!(
            lines(&o),
            ["-sf", &good.to_string(), "env:unset:unset:unset"],
            "{junk:?}: {o:?}"
        );
        assert!(
            o.stderr
                .contains("warning: ignoring SV_PID: not a list of pids"),
            "{o:?}"
        );
        assert!(
            !o.stderr.contains('\u{1b}'),
            "escape sequence echoed: {o:?}"
        );
    }
}

#[test]
fn x_passes_the_socket_only_when_taking_over_from_a_unix_socket() {
    let d = tempdir();
    let mut procs = Procs::new();
    let old = start_named(&mut procs, d.path(), "fakeproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    let sock = d.path().join("stats.sock");
    let sock = sock.to_str().unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(sock).unwrap();
    let o = sf(
        &[("SV_PID", old.to_string())],
        &["-x", sock, &prog, "-f", "cfg"],
    );
    assert_eq!(
        lines(&o),
        [
            "-f",
            "cfg",
            "-x",
            sock,
            "-sf",
            &old.to_string(),
            "env:unset:unset:unset"
        ],
        "{o:?}"
    );

    let missing = format!("{sock}.missing");
    let o = sf(&[("SV_PID", old.to_string())], &["-x", &missing, &prog]);
    assert_eq!(
        lines(&o),
        ["-sf", &old.to_string(), "env:unset:unset:unset"],
        "{o:?}"
    );

    let plain = d.path().join("plain");
    write_file(&plain, b"", 0o644);
    let o = sf(
        &[("SV_PID", old.to_string())],
        &["-x", plain.to_str().unwrap(), &prog],
    );
    assert_eq!(
        lines(&o),
        ["-sf", &old.to_string(), "env:unset:unset:unset"],
        "{o:?}"
    );
    assert!(o.stderr.contains("not a unix socket"), "{o:?}");
}

#[test]
fn alone_prints_what_it_would_append() {
    let d = tempdir();
    let mut procs = Procs::new();
    let old = start_named(&mut procs, d.path(), "haproxy");
    let other = start_named(&mut procs, d.path(), "fakeproxy");
    let sock = d.path().join("s.sock");
    let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let o = sf(
        &[("SV_PID", format!("{old} {other}"))],
        &["-x", sock.to_str().unwrap()],
    );
    assert_eq!(
        (o.code(), o.out()),
        (0, format!("-x {} -sf {old}\n", sock.display())),
        "{o:?}"
    );
    let o = sf(&[], &[]);
    assert_eq!((o.code(), o.out().as_str()), (0, "\n"), "{o:?}");
}

#[test]
fn exit_codes() {
    let d = tempdir();
    for usage in [
        &["-x"][..],
        &["-n"],
        &["-n", "A=B", "true"],
        &["-q", "true"],
        &["--nope"],
    ] {
        let o = sf(&[], usage);
        assert_eq!(o.code(), 100, "{usage:?}: {o:?}");
        assert!(
            o.stderr.contains("haproxy-sf: usage: haproxy-sf [ -t ]"),
            "{o:?}"
        );
    }
    let o = sf(&[], &["pidchain-no-such-program"]);
    assert_eq!(o.code(), 127, "{o:?}");
    write_file(&d.path().join("noexec"), b"#!/bin/sh\n", 0o644);
    let o = sf(&[], &[d.path().join("noexec").to_str().unwrap()]);
    assert_eq!(o.code(), 126, "{o:?}");
    assert_eq!(sf(&[], &["true"]).code(), 0);
    assert_eq!(sf(&[], &["false"]).code(), 1);
    assert!(sf(&[], &["--help"]).out().starts_with("usage: haproxy-sf"));
}

#[test]
fn a_thread_id_is_not_a_process() {
    let d = tempdir();
    let mut procs = Procs::new();
    let prog = stand_in(d.path(), "fakeproxy");
    let me = std::process::id();
    for name in ["fakeproxy", "haproxy"] {
        let thread = NamedThread::start(name);
        let tid = thread.tid.to_string();
        let why = format!("dropping pid {tid}: it is a thread of process {me}, not a process");
        // Chained, alone, and as a reload (-r) would run it.
        let (o, want) = if name == "haproxy" {
            (sf(&[("SV_PID", tid.clone())], &[]), vec![""])
        } else {
            (
                sf(&[("PIDFILE_PID", tid.clone())], &[&prog]),
                vec!["env:unset:unset:unset"],
            )
        };
        assert_eq!(o.code(), 0, "{name}: {o:?}");
        assert_eq!(lines(&o), want, "{name}: {o:?}");
        assert!(o.stderr.contains(&why), "{name}: {o:?}");
        let o = sf(&[("SV_PID", tid.clone())], &["-r", &prog]);
        assert_eq!(o.code(), 1, "{o:?}");
    }
    // Beside the real process of that name, only the process is taken over.
    let thread = NamedThread::start("fakeproxy");
    let live = start_named(&mut procs, d.path(), "fakeproxy");
    let o = sf(&[("SV_PID", format!("{} {live}", thread.tid))], &[&prog]);
    assert_eq!(
        lines(&o),
        ["-sf", &live.to_string(), "env:unset:unset:unset"],
        "{o:?}"
    );
}

#[test]
fn every_copy_of_a_variable_is_read_and_removed() {
    let d = tempdir();
    let mut procs = Procs::new();
    let a = start_named(&mut procs, d.path(), "fakeproxy");
    let sub = d.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let b = start_named(&mut procs, &sub, "fakeproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    let env = |pairs: &[String]| -> Vec<Vec<u8>> {
        pairs
            .iter()
            .map(|p| p.clone().into_bytes())
            .chain([b"PATH=/usr/bin:/bin".to_vec()])
            .collect()
    };
    for (pairs, want, warns) in [
        (
            vec![format!("SV_PID={a}"), format!("SV_PID={b}")],
            vec![a, b],
            false,
        ),
        (
            vec![
                format!("PIDFILE_PID={b}"),
                format!("SV_PID={a}"),
                format!("PIDFILE_PID={a}"),
            ],
            vec![a, b],
            false,
        ),
        (
            vec!["SV_PID=junk".into(), format!("SV_PID={b}")],
            vec![b],
            true,
        ),
    ] {
        let envp = env(&pairs);
        let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
        let o = run_with_envp(&[HAPROXY_SF.as_bytes(), prog.as_bytes()], &envp);
        let mut expect = vec!["-sf".to_owned()];
        expect.extend(want.iter().map(u32::to_string));
        expect.push("env:unset:unset:unset".into());
        assert_eq!(o.code(), 0, "{pairs:?}: {o:?}");
        assert_eq!(lines(&o), expect, "{pairs:?}: {o:?}");
        assert_eq!(o.stderr.contains("ignoring SV_PID"), warns, "{o:?}");
    }
}

#[test]
fn empty_operands_are_usage_errors() {
    for args in [&["-x", ""][..], &[""], &["-x", "/s", ""], &["-r", ""]] {
        let o = sf(&[("SV_PID", std::process::id().to_string())], args);
        assert_eq!(o.code(), 100, "{args:?}: {o:?}");
        assert!(o.stderr.starts_with("haproxy-sf: warning: empty "), "{o:?}");
    }
}

#[test]
fn every_diagnostic_is_one_line() {
    let d = tempdir();
    let mut procs = Procs::new();
    let old = start_named(&mut procs, d.path(), "fakeproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    let plain = d.path().join("not\na socket\x1b]0;x\x07");
    write_file(&plain, b"", 0o644);
    let o = sf(
        &[("SV_PID", old.to_string())],
        &["-x", plain.to_str().unwrap(), &prog],
    );
    assert_eq!(o.code(), 0, "{o:?}");
    assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
    assert!(
        o.stderr
            .contains("not\\x0aa socket\\x1b]0;x\\x07: not a unix socket"),
        "{o:?}"
    );
    let o = sf(&[("SV_PID", "12\n13".into())], &["-n", "SV_PID", &prog]);
    assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
}

#[test]
fn c_names_the_old_processes_when_prog_is_a_wrapper() {
    let d = tempdir();
    let mut procs = Procs::new();
    let old = start_named(&mut procs, d.path(), "fakeproxy");
    let other = start_named(&mut procs, d.path(), "notproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    let env = [("SV_PID", format!("{old} {other}"))];
    // nice stands for chpst, s6-softlimit and the like: it execs prog.
    let o = sf(&env, &["-c", "fakeproxy", "nice", "-n", "0", &prog, "-db"]);
    assert_eq!(o.code(), 0, "{o:?}");
    assert_eq!(
        lines(&o),
        ["-db", "-sf", &old.to_string(), "env:unset:unset:unset"],
        "{o:?}"
    );
    assert_eq!(
        o.stderr,
        format!("haproxy-sf: warning: dropping pid {other}: process is not fakeproxy\n")
    );
    // Without -c the wrapper's name is the one asked for: every pid is
    // dropped, and haproxy would start cold beside them.
    let o = sf(&env, &["nice", "-n", "0", &prog, "-db"]);
    assert_eq!(lines(&o), ["-db", "env:unset:unset:unset"], "{o:?}");
    assert!(
        o.stderr
            .contains(&format!("dropping pid {old}: process is not nice")),
        "{o:?}"
    );
    // -r makes that an error instead.
    let o = sf(&env, &["-r", "nice", "-n", "0", &prog, "-db"]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    // Alone, -c replaces the default name, haproxy.
    let o = sf(&env, &["-c", "fakeproxy"]);
    assert_eq!((o.code(), o.out()), (0, format!("-sf {old}\n")), "{o:?}");
    let o = sf(&env, &["-c", "", &prog]);
    assert_eq!(o.code(), 100, "{o:?}");
}

/// Whether `pid` has died (a zombie until the test reaps it).
fn died(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
}

#[test]
fn k_signals_the_checked_pids_itself() {
    let d = tempdir();
    let mut procs = Procs::new();
    let other = start_named(&mut procs, d.path(), "notproxy");
    let prog = stand_in(d.path(), "fakeproxy");
    for (args, signal) in [(&["-k"][..], "USR1"), (&["-k", "-t"], "TERM")] {
        let old = start_named(&mut procs, d.path(), "fakeproxy");
        // Alone: signals, prints nothing.
        let env = [("SV_PID", format!("{other} {old}"))];
        let mut alone = args.to_vec();
        alone.extend(["-c", "fakeproxy"]);
        let o = sf(&env, &alone);
        assert_eq!((o.code(), o.out().as_str()), (0, ""), "{o:?}");
        wait_for(&format!("fakeproxy to die of SIG{signal}"), || died(old));
        let stat = std::fs::read_to_string(format!("/proc/{other}/stat")).unwrap();
        assert!(
            stat.contains(") S "),
            "the other process was signalled: {stat}"
        );
        assert!(
            o.stderr
                .contains(&format!("dropping pid {other}: process is not fakeproxy")),
            "{o:?}"
        );
    }
    // Chained: prog runs with its arguments unchanged, the variables gone.
    let old = start_named(&mut procs, d.path(), "fakeproxy");
    let o = sf(&[("SV_PID", old.to_string())], &["-k", &prog, "-db"]);
    assert_eq!(lines(&o), ["-db", "env:unset:unset:unset"], "{o:?}");
    wait_for("fakeproxy to die", || died(old));
    // -r: no pid left is still an error, and nothing runs.
    let o = sf(&[("SV_PID", other.to_string())], &["-k", "-r", &prog]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
}

/// -k signals through the pidfd it opened before it checked the pid, never
/// by number: seen in its system calls. A pidfd reaches its process or
/// none (`src/process.rs: a_pidfd_never_signals_the_process_that_took_its_pid`),
/// so the process checked is the one signalled.
#[test]
fn k_signals_through_the_pidfd_it_checked_the_pid_under() {
    let d = tempdir();
    let mut procs = Procs::new();
    let trace = d.path().join("trace");
    let strace = |old: u32, args: &[&str]| {
        let mut c = cmd(&which("strace").to_string_lossy());
        c.args([
            "-qq",
            "-e",
            "trace=pidfd_open,pidfd_send_signal,kill,?open,openat",
        ]);
        c.arg("-o").arg(&trace).arg(HAPROXY_SF).args(args);
        let o = run(c.env("SV_PID", old.to_string()));
        assert_eq!((o.code(), o.out().as_str()), (0, ""), "{o:?}");
        wait_for("fakeproxy to die", || died(old));
        std::fs::read_to_string(&trace).unwrap()
    };
    let old = start_named(&mut procs, d.path(), "fakeproxy");
    let calls = strace(old, &["-k", "-c", "fakeproxy"]);
    let lines: Vec<&str> = calls.lines().collect();
    let at = |what: &str| lines.iter().position(|l| l.starts_with(what));
    let opened = at(&format!("pidfd_open({old}, ")).expect(&calls);
    let fd = lines[opened].rsplit("= ").next().unwrap();
    let checked = lines
        .iter()
        .rposition(|l| l.contains(&format!("\"/proc/{old}/stat\"")))
        .expect(&calls);
    let sent = at(&format!("pidfd_send_signal({fd}, SIGUSR1, NULL, 0)")).expect(&calls);
    assert!(lines[sent].ends_with("= 0"), "{calls}");
    assert!(opened < checked && checked < sent, "{calls}");
    assert_eq!(at("kill("), None, "{calls}");
    // Unchecked (-u), nothing was vetted: signalled by number, as haproxy does.
    let old = start_named(&mut procs, d.path(), "fakeproxy");
    let calls = strace(old, &["-k", "-u"]);
    assert!(
        calls
            .lines()
            .any(|l| l.starts_with(&format!("kill({old}, SIGUSR1)"))),
        "{calls}"
    );
    assert!(!calls.contains("pidfd_send_signal"), "{calls}");
}
