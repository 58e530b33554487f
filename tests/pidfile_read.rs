//! pidfile-read run as a user would, on real files and real processes.

mod common;
use common::*;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

fn read(args: &[&str]) -> Output {
    run(cmd(PIDFILE_READ).args(args))
}

fn pidfile(dir: &tempfile::TempDir, content: &[u8]) -> String {
    let p = dir.path().join("x.pid");
    write_file(&p, content, 0o644);
    p.to_str().unwrap().to_owned()
}

#[test]
fn alone_prints_the_pids_on_one_line() {
    let d = tempdir();
    let o = read(&[&pidfile(&d, b"4242\n")]);
    assert_eq!((o.code(), o.out().as_str()), (0, "4242\n"), "{o:?}");
    let o = read(&[&pidfile(&d, b"10\n\n 20 \r\n10\n30")]);
    assert_eq!((o.code(), o.out().as_str()), (0, "10 20 30\n"), "{o:?}");
}

#[test]
fn chained_sets_the_variable_and_execs() {
    let d = tempdir();
    let f = pidfile(&d, b"4242\n4243\n");
    let o = read(&[&f, "sh", "-c", "printf %s \"$PIDFILE_PID\""]);
    assert_eq!((o.code(), o.out().as_str()), (0, "4242 4243"), "{o:?}");
    let o = read(&["-n", "OLD", &f, "sh", "-c", "printf %s \"$OLD\""]);
    assert_eq!(o.out(), "4242 4243");
    let o = read(&["-nOLD", "--", &f, "sh", "-c", "printf %s \"$OLD\""]);
    assert_eq!(o.out(), "4242 4243");
}

#[test]
fn no_pid_is_exit_1_unless_optional() {
    let d = tempdir();
    let missing = d.path().join("none.pid");
    let missing = missing.to_str().unwrap();
    for (content, why) in [
        (None, "No such file"),
        (Some(&b""[..]), "empty"),
        (Some(b"\n\n"), "empty"),
        (Some(b"12\nxx\n"), "line 2"),
    ] {
        let f = match content {
            Some(c) => pidfile(&d, c),
            None => missing.to_owned(),
        };
        let o = read(&[&f]);
        assert_eq!(o.code(), 1, "{o:?}");
        assert!(
            o.stdout.is_empty()
                && o.stderr.contains("pidfile-read: fatal: ")
                && o.stderr.contains(why),
            "{o:?}"
        );
        let o = read(&["-o", &f]);
        assert_eq!((o.code(), o.out().as_str()), (0, ""), "{o:?}");
        // -o chained: the variable is removed, not set empty, and prog runs.
        let o = run(cmd(PIDFILE_READ).env("PIDFILE_PID", "99").args([
            "-o",
            &f,
            "sh",
            "-c",
            "echo ${PIDFILE_PID-unset}",
        ]));
        assert_eq!((o.code(), o.out().as_str()), (0, "unset\n"), "{o:?}");
        assert_eq!(
            o.stderr.contains("warning: ignoring invalid pidfile"),
            why == "line 2",
            "{o:?}"
        );
    }
}

#[test]
fn invalid_contents_are_refused_whole() {
    let d = tempdir();
    let mut big = b"4242\n".to_vec();
    big.resize(4097, b'\n');
    for bad in [
        &b"0\n"[..],
        b"1\n",
        b"-4242\n",
        b"+4242\n",
        b"0x10\n",
        b"4242 4243\n",
        b"42\x0042\n",
        b"4194305\n",
        b"99999999999999999999\n",
        b"\xff\xfe\n",
        b"4242\nhaproxy\n",
        &big,
    ] {
        let o = read(&[&pidfile(&d, bad)]);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{bad:?}: {o:?}");
        assert!(o.stderr.contains("invalid pidfile"), "{o:?}");
    }
    let mut at_limit = b"4242\n".to_vec();
    at_limit.resize(4096, b' ');
    assert_eq!(read(&[&pidfile(&d, &at_limit)]).out(), "4242\n");
}

#[test]
fn hostile_files_are_refused_without_hanging() {
    let d = tempdir();
    let good = pidfile(&d, b"4242\n");
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_owned();
    std::os::unix::fs::symlink(&good, p("link.pid")).unwrap();
    nix::unistd::mkfifo(
        p("fifo.pid").as_str(),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    std::fs::create_dir(p("dir.pid")).unwrap();
    write_file(&d.path().join("ww.pid"), b"4242\n", 0o666);
    write_file(&d.path().join("gw.pid"), b"4242\n", 0o664);
    let _sock = std::os::unix::net::UnixListener::bind(p("sock.pid")).unwrap();
    for (file, why) in [
        ("link.pid", "symbolic link"),
        ("fifo.pid", "FIFO"),
        ("dir.pid", "directory"),
        ("ww.pid", "writable by group or others (mode 0666)"),
        ("gw.pid", "writable by group or others (mode 0664)"),
        ("sock.pid", "socket"),
    ] {
        for opts in [&[][..], &["-o"], &["-d", "-o", "-w", "100"]] {
            let mut args = opts.to_vec();
            let f = p(file);
            args.push(&f);
            let o = read(&args);
            assert_eq!(
                (o.code(), o.out().as_str()),
                (1, ""),
                "{file} {opts:?}: {o:?}"
            );
            assert!(
                o.stderr
                    .contains(&format!("pidfile-read: fatal: refusing {f}: "))
                    && o.stderr.contains(why),
                "{o:?}"
            );
        }
    }
    // The target of the link was never the one read, and is still there.
    assert!(std::path::Path::new(&good).exists());
    assert!(d.path().join("fifo.pid").exists() && d.path().join("dir.pid").exists());
}

#[test]
fn file_owned_by_another_user_is_refused() {
    assert!(
        is_root(),
        "needs root to chown: run the suite as root (CI does)"
    );
    let d = tempdir();
    let f = pidfile(&d, b"4242\n");
    std::os::unix::fs::chown(&f, Some(65534), None).unwrap();
    let o = read(&[&f]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        o.stderr
            .contains("owned by uid 65534, neither root nor the effective user (uid 0)"),
        "{o:?}"
    );
    // Consumed: refused, and removed all the same so the next start is clean.
    let o = read(&["-d", "-o", &f]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("(removed)"), "{o:?}");
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn a_hard_linked_pidfile_is_refused() {
    // Another daemon's root-owned pidfile, linked in under the expected name.
    let d = tempdir();
    let theirs = d.path().join("sshd.pid");
    write_file(&theirs, b"4242\n", 0o644);
    let f = d.path().join("x.pid");
    std::fs::hard_link(&theirs, &f).unwrap();
    for opts in [&[][..], &["-o"], &["-d", "-o"]] {
        let o = read(&[opts, &[f.to_str().unwrap()]].concat());
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{opts:?}: {o:?}");
        assert!(o.stderr.contains("it has 2 hard links"), "{o:?}");
    }
    // Consumed: the planted name is gone, the other daemon's file is not.
    assert!(!f.exists() && theirs.exists());
}

#[test]
fn consume_removes_the_file_and_invalid_ones_too() {
    let d = tempdir();
    let f = pidfile(&d, b"4242\n");
    assert_eq!(read(&["-d", &f]).out(), "4242\n");
    assert_eq!(
        std::fs::read_dir(d.path()).unwrap().count(),
        0,
        "file and private name gone"
    );
    let o = read(&["-d", &f]);
    assert_eq!(o.code(), 1, "{o:?}");
    let f = pidfile(&d, b"garbage\n");
    let o = read(&["-do", &f]);
    assert_eq!(o.code(), 0, "{o:?}");
    assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
}

#[test]
fn concurrent_consumers_exactly_one_wins() {
    let d = tempdir();
    let f = d.path().join("x.pid");
    for round in 0..40 {
        write_file(&f, format!("{}\n", 1000 + round).as_bytes(), 0o644);
        let mut procs = Procs::new();
        let children: Vec<_> = (0..6)
            .map(|_| {
                procs.spawn(
                    cmd(PIDFILE_READ)
                        .args(["-d".as_ref(), f.as_os_str()])
                        .stdout(std::process::Stdio::piped())
                        .stderr(std::process::Stdio::piped()),
                )
            })
            .collect();
        let outs: Vec<Output> = children.into_iter().map(wait_output).collect();
        let winners: Vec<_> = outs.iter().filter(|o| o.code() == 0).collect();
        assert_eq!(winners.len(), 1, "round {round}: {outs:?}");
        assert_eq!(winners[0].out(), format!("{}\n", 1000 + round));
        assert!(
            outs.iter()
                .all(|o| o.code() == 0 || o.code() == 1 && o.stdout.is_empty()),
            "{outs:?}"
        );
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            0,
            "round {round}: litter left"
        );
    }
}

#[test]
fn w_waits_for_a_file_created_empty_and_written_later() {
    let d = tempdir();
    let f = d.path().join("x.pid");
    write_file(&f, b"", 0o644);
    for consume in [false, true] {
        write_file(&f, b"", 0o644);
        // haproxy's order: file created and truncated, pid written later,
        // through the descriptor it already holds (the name may be gone).
        // Opened before pidfile-read starts, so that -d cannot have taken
        // the name first.
        let mut held = writing(|| std::fs::OpenOptions::new().write(true).open(&f).unwrap());
        let mut procs = Procs::new();
        let mut args = vec!["-w", "15000"];
        if consume {
            args.push("-d");
        }
        let mut child = procs.spawn(
            cmd(PIDFILE_READ)
                .args(&args)
                .arg(&f)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped()),
        );
        wait_watching(child.id());
        assert!(
            child.try_wait().unwrap().is_none(),
            "gave up on an empty file"
        );
        std::io::Write::write_all(&mut held, b"4242").unwrap();
        wait_looked_again(child.id());
        assert!(
            child.try_wait().unwrap().is_none(),
            "took a line without its newline"
        );
        std::io::Write::write_all(&mut held, b"\n").unwrap();
        let o = wait_output(child);
        assert_eq!((o.code(), o.out().as_str()), (0, "4242\n"), "{o:?}");
        assert_eq!(f.exists(), !consume);
    }
}

#[test]
fn w_gives_up_after_its_time_and_takes_what_is_there() {
    let d = tempdir();
    let f = pidfile(&d, b"");
    let start = Instant::now();
    let o = read(&["-w", "300", &f]);
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(o.code(), 1, "{o:?}");
    let f = pidfile(&d, b"4242");
    let o = read(&["-w", "200", &f]);
    assert_eq!((o.code(), o.out().as_str()), (0, "4242\n"), "{o:?}");
}

#[test]
fn w_does_not_wait_for_a_missing_file_but_big_w_does() {
    let d = tempdir();
    let f = d.path().join("late.pid");
    let start = Instant::now();
    let o = read(&["-w", "60000", f.to_str().unwrap()]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "waited for a missing file"
    );

    let mut procs = Procs::new();
    let child = procs.spawn(
        cmd(PIDFILE_READ)
            .args(["-W", "15000"])
            .arg(&f)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    wait_watching(child.id());
    let tmp = d.path().join("late.tmp");
    write_file(&tmp, b"4343\n", 0o644);
    std::fs::rename(&tmp, &f).unwrap();
    let o = wait_output(child);
    assert_eq!((o.code(), o.out().as_str()), (0, "4343\n"), "{o:?}");
}

#[test]
fn a_and_c_check_real_processes() {
    let d = tempdir();
    let mut procs = Procs::new();
    let live = start_named(&mut procs, d.path(), "pidchain-live");
    let other = start_named(&mut procs, d.path(), "pidchain-other");
    let dead = dead_pid(&mut procs);
    let f = pidfile(&d, format!("{dead}\n{live}\n{other}\n").as_bytes());
    assert_eq!(read(&[&f]).out(), format!("{dead} {live} {other}\n"));

    let o = read(&["-a", &f]);
    assert_eq!(o.out(), format!("{live} {other}\n"), "{o:?}");
    assert!(
        o.stderr
            .contains(&format!("warning: dropping pid {dead}: no such process")),
        "{o:?}"
    );

    let o = read(&["-a", "-c", "pidchain-live", &f]);
    assert_eq!(o.out(), format!("{live}\n"), "{o:?}");
    assert!(
        o.stderr.contains(&format!(
            "dropping pid {other}: process is not pidchain-live"
        )),
        "{o:?}"
    );

    // Compared on the 15 bytes comm keeps.
    let long = start_named(&mut procs, d.path(), "pidchain-a-long-name");
    let f2 = pidfile(&d, format!("{long}\n").as_bytes());
    assert_eq!(
        read(&["-c", "pidchain-a-long-name-indeed", &f2]).out(),
        format!("{long}\n")
    );

    let f = pidfile(&d, format!("{dead}\n").as_bytes());
    let o = read(&["-a", &f]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    let o = read(&["-a", "-o", &f, "sh", "-c", "echo ${PIDFILE_PID-unset}"]);
    assert_eq!((o.code(), o.out().as_str()), (0, "unset\n"), "{o:?}");
}

#[test]
fn exit_codes() {
    let d = tempdir();
    let f = pidfile(&d, b"4242\n");
    assert_eq!(read(&[&f]).code(), 0);
    assert_eq!(read(&[&format!("{f}.missing")]).code(), 1);
    for usage in [
        &[][..],
        &["-x", &f],
        &["-w"],
        &["-w", "soon", &f],
        &["-n", "A=B", &f],
        &["-n", "", &f],
        &["--frobnicate", &f],
    ] {
        let o = read(usage);
        assert_eq!(o.code(), 100, "{usage:?}: {o:?}");
        assert!(
            o.stderr
                .contains("pidfile-read: usage: pidfile-read [ -n var ]"),
            "{o:?}"
        );
    }
    // A path through a regular file: a system error, not a missing pid.
    let o = read(&[&format!("{f}/x.pid")]);
    assert_eq!(o.code(), 111, "{o:?}");
    assert!(o.stderr.contains("Not a directory"), "{o:?}");
    write_file(&d.path().join("noexec"), b"#!/bin/sh\n", 0o644);
    let o = read(&[&f, d.path().join("noexec").to_str().unwrap()]);
    assert_eq!(o.code(), 126, "{o:?}");
    assert!(o.stderr.contains("unable to exec"), "{o:?}");
    let o = read(&[&f, "pidchain-no-such-program"]);
    assert_eq!(o.code(), 127, "{o:?}");
    assert!(o.stderr.contains("pidfile-read: fatal: unable to exec pidchain-no-such-program: No such file or directory"), "{o:?}");
    let o = read(&["-h"]);
    assert_eq!(o.code(), 0);
    assert!(o.out().starts_with("usage: pidfile-read"));
    let o = read(&["--version"]);
    assert_eq!(
        (o.code(), o.out()),
        (0, format!("pidfile-read {}\n", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn argv_is_passed_byte_for_byte() {
    let d = tempdir();
    let f = pidfile(&d, b"4242\n");
    let odd: &[&[u8]] = &[
        b"",
        b" two words ",
        b"\xff\xfe not utf-8",
        b"-n",
        b"--",
        b"*",
        b"$HOME",
    ];
    let mut c = cmd(PIDFILE_READ);
    c.arg(&f).args(argv_dumper());
    for a in odd {
        c.arg(std::ffi::OsStr::from_bytes(a));
    }
    let o = run(&mut c);
    assert_eq!(o.code(), 0, "{o:?}");
    let got = split_nul(&o.stdout);
    let mut want: Vec<Vec<u8>> = [&b"sh"[..], b"-c", b"cat /proc/$$/cmdline", b"dump"]
        .map(<[u8]>::to_vec)
        .to_vec();
    want.extend(odd.iter().map(|a| a.to_vec()));
    assert_eq!(got, want);
}

/// Lines of `tr '\0' '\n' < /proc/$$/environ` that set `name`.
fn copies_of(o: &Output, name: &str) -> Vec<String> {
    let prefix = format!("{name}=");
    o.out()
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

const SHOW_ENVIRON: &[&[u8]] = &[b"/bin/sh", b"-c", b"tr '\\0' '\\n' < /proc/$$/environ"];

#[test]
fn a_thread_id_is_not_a_process() {
    let d = tempdir();
    let mut procs = Procs::new();
    let thread = NamedThread::start("pidchain-thr");
    let live = start_named(&mut procs, d.path(), "pidchain-thr");
    let me = std::process::id();
    let f = pidfile(&d, format!("{}\n", thread.tid).as_bytes());
    let why = format!(
        "dropping pid {}: it is a thread of process {me}, not a process",
        thread.tid
    );
    for args in [
        &["-a"][..],
        &["-c", "pidchain-thr"],
        &["-a", "-c", "pidchain-thr"],
    ] {
        let o = read(&[args, &[&f]].concat());
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{args:?}: {o:?}");
        assert!(o.stderr.contains(&why), "{args:?}: {o:?}");
        let o = read(&[args, &["-o", &f]].concat());
        assert_eq!((o.code(), o.out().as_str()), (0, ""), "{args:?}: {o:?}");
    }
    // Beside a real process of that name, only the process is kept.
    let f = pidfile(&d, format!("{}\n{live}\n{me}\n", thread.tid).as_bytes());
    let o = read(&["-c", "pidchain-thr", &f]);
    assert_eq!((o.code(), o.out()), (0, format!("{live}\n")), "{o:?}");
    // Without -a or -c nothing is checked: a plain pid scraper.
    let o = read(&[&f]);
    assert_eq!(o.out(), format!("{} {live} {me}\n", thread.tid), "{o:?}");
}

/// Waits until `pid` has read again (its read bytes grew, so it has seen
/// what was written before this call) and sleeps again: it waits on.
/// A program that took what it read would be running or gone instead
/// (returns then too).
fn wait_looked_again(pid: u32) {
    let read_bytes = || -> Option<u64> {
        let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
        io.lines()
            .find_map(|l| l.strip_prefix("rchar:"))?
            .trim()
            .parse()
            .ok()
    };
    let state = || -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat[stat.rfind(')')? + 2..].chars().next()
    };
    let before = read_bytes().expect("/proc/PID/io (needs root, as CI runs)");
    wait_until("pidfile-read to look again and wait on", || {
        match (read_bytes(), state()) {
            (Some(now), Some('S')) if now > before => Ok(()),
            // Exited: the caller's check says what it took.
            (_, Some('Z') | None) => Ok(()),
            seen => Err(format!("read bytes and state {seen:?}, {before} before")),
        }
    });
}

/// Waits until `pid` holds an inotify descriptor: it has subscribed.
fn wait_watching(pid: u32) {
    wait_for("pidfile-read to watch the directory", || {
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.filter_map(Result::ok).any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|l| l.as_os_str().as_bytes() == b"anon_inode:inotify")
            })
        })
    });
}

#[test]
fn w_follows_a_pidfile_replaced_by_rename() {
    for (consume, first) in [
        (false, &b""[..]),
        (true, b""),
        (false, b"77"),
        (true, b"77"),
    ] {
        let d = tempdir();
        let f = d.path().join("x.pid");
        write_file(&f, first, 0o644);
        let mut procs = Procs::new();
        let mut args = vec!["-w", "15000"];
        if consume {
            args.push("-d");
        }
        let child = procs.spawn(
            cmd(PIDFILE_READ)
                .args(&args)
                .arg(&f)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped()),
        );
        wait_watching(child.id());
        // How many daemons and tools write a pidfile: elsewhere, then renamed.
        let tmp = d.path().join("x.pid.tmp");
        write_file(&tmp, b"5555\n", 0o644);
        std::fs::rename(&tmp, &f).unwrap();
        let o = wait_output(child);
        assert_eq!(
            (o.code(), o.out().as_str()),
            (0, "5555\n"),
            "{consume} {first:?}: {o:?}"
        );
        assert_eq!(f.exists(), !consume, "{consume} {first:?}");
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(left.len(), usize::from(!consume), "{left:?}");
    }
}

#[test]
fn setting_or_removing_the_variable_leaves_no_other_copy() {
    let d = tempdir();
    let f = pidfile(&d, b"4242\n");
    let missing = format!("{f}.missing");
    let pr = PIDFILE_READ.as_bytes();
    for (args, var, want) in [
        (
            &[f.as_bytes()][..],
            "PIDFILE_PID",
            &["PIDFILE_PID=4242"][..],
        ),
        (&[b"-n", b"OTHER", f.as_bytes()], "OTHER", &["OTHER=4242"]),
        (&[b"-o", missing.as_bytes()], "PIDFILE_PID", &[]),
        (&[b"-o", b"-n", b"OTHER", missing.as_bytes()], "OTHER", &[]),
    ] {
        let argv = [&[pr][..], args, SHOW_ENVIRON].concat();
        let envp: Vec<Vec<u8>> = ["999", "998", "997"]
            .iter()
            .map(|v| format!("{var}={v}").into_bytes())
            .chain([b"PATH=/usr/bin:/bin".to_vec()])
            .collect();
        let envp: Vec<&[u8]> = envp.iter().map(Vec::as_slice).collect();
        let o = run_with_envp(&argv, &envp);
        assert_eq!(o.code(), 0, "{o:?}");
        assert_eq!(copies_of(&o, var), want, "{args:?}: {o:?}");
    }
}

#[test]
fn empty_operands_are_usage_errors() {
    let d = tempdir();
    let f = pidfile(&d, b"4242\n");
    // Run from a directory holding a pidfile named like nothing at all.
    for args in [
        &[""][..],
        &["-d", ""],
        &["-c", "", &f],
        &["-d", &f, ""],
        &["-o", "-d", &f, "", "x"],
    ] {
        let o = run(cmd(PIDFILE_READ).args(args).current_dir(d.path()));
        assert_eq!(o.code(), 100, "{args:?}: {o:?}");
        assert!(
            o.stderr.starts_with("pidfile-read: warning: empty "),
            "{o:?}"
        );
        assert!(std::path::Path::new(&f).exists(), "{args:?}: consumed");
    }
}

#[test]
fn whitespace_around_a_pid_is_what_isspace_says() {
    let d = tempdir();
    for content in [
        &b"\x0b4242\x0b\n"[..],
        b"\x0c4242\x0c\n",
        b" \t4242\r\n",
        b"\x0b\n4242\n\x0c\n",
    ] {
        let f = pidfile(&d, content);
        let o = read(&[&f]);
        assert_eq!(
            (o.code(), o.out().as_str()),
            (0, "4242\n"),
            "{content:?}: {o:?}"
        );
    }
    for content in [&b"\x1c4242\n"[..], b"\xa04242\n", b"42\x0b42\n"] {
        let f = pidfile(&d, content);
        let o = read(&[&f]);
        assert_eq!(o.code(), 1, "{content:?}: {o:?}");
    }
    let f = pidfile(&d, b"\x0b\x0c\n");
    let o = read(&[&f]);
    assert!(o.stderr.contains("the file is empty"), "{o:?}");
}

#[test]
fn every_diagnostic_is_one_line() {
    let d = tempdir();
    let dir = d.path().join("evil\ndir\x1b[2J");
    std::fs::create_dir(&dir).unwrap();
    let bad = dir.join("x\n.pid");
    write_file(&bad, b"4242\n", 0o666);
    let bad = bad.to_str().unwrap();
    let missing = dir.join("gone\r.pid");
    let missing = missing.to_str().unwrap();
    for args in [
        &[bad][..],
        &[missing],
        &["-W", "10", missing],
        &["-c", "x\ny", bad],
    ] {
        let o = read(args);
        assert_ne!(o.code(), 0, "{args:?}: {o:?}");
        assert_eq!(o.stderr.lines().count(), 1, "{args:?}: {o:?}");
        assert!(
            !o.stderr.contains('\x1b') && !o.stderr.contains('\r'),
            "{o:?}"
        );
        assert!(o.stderr.contains("evil\\x0adir\\x1b[2J"), "{o:?}");
    }
}

#[test]
fn a_diagnostic_reads_one_way() {
    // A backslash and a byte past ASCII are escaped like a control byte:
    // `\x1b` written out in a name is not the escape byte it reads as.
    let d = tempdir();
    let dir = d
        .path()
        .join(std::ffi::OsStr::from_bytes(b"a\\x1b\x1b\xc3\xa9"));
    std::fs::create_dir(&dir).unwrap();
    let missing = dir.join("gone.pid");
    let o = read(&[missing.to_str().unwrap()]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        o.stderr.contains("a\\x5cx1b\\x1b\\xc3\\xa9/gone.pid"),
        "{o:?}"
    );
}

#[test]
fn w_takes_any_millisecond_count_that_fits_64_bits() {
    let d = tempdir();
    let f = pidfile(&d, b"4242\n");
    for ms in ["0", "4294967296", "18446744073709551615"] {
        for opt in ["-w", "-W"] {
            let o = read(&[opt, ms, &f]);
            assert_eq!(
                (o.code(), o.out().as_str()),
                (0, "4242\n"),
                "{opt} {ms}: {o:?}"
            );
        }
    }
    for ms in ["18446744073709551616", "-1", "1e3", "010", ""] {
        let o = read(&["-w", ms, &f]);
        assert_eq!(o.code(), 100, "{ms}: {o:?}");
    }
    // A deadline past what the clock counts is no deadline: still waiting.
    let mut procs = Procs::new();
    let e = pidfile(&d, b"");
    let mut child = procs.spawn(
        cmd(PIDFILE_READ)
            .args(["-w", "18446744073709551615", &e])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    wait_watching(child.id());
    assert!(child.try_wait().unwrap().is_none(), "gave up at once");
    write_file(std::path::Path::new(&e), b"4343\n", 0o644);
    let o = wait_output(child);
    assert_eq!((o.code(), o.out().as_str()), (0, "4343\n"), "{o:?}");
}

#[test]
fn a_pidfile_replaced_while_it_is_read_is_read_again() {
    // A writer renaming new pidfiles over the path as fast as it can: the
    // file pidfile-read opened may have no name left when it checks it.
    // That is a replacement, not a hostile link count.
    let d = tempdir();
    let f = d.path().join("x.pid");
    std::fs::write(&f, b"5555\n").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, dir, f) = (stop.clone(), d.path().to_owned(), f.clone());
        std::thread::spawn(move || {
            let tmp = dir.join("x.pid.tmp");
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::fs::write(&tmp, b"5555\n").unwrap();
                std::fs::rename(&tmp, &f).unwrap();
                n += 1;
            }
            n
        })
    };
    let mut runs = Vec::new();
    for args in [&[][..], &["-w", "1000"]] {
        for _ in 0..100 {
            let o = read(&[args, &[f.to_str().unwrap()]].concat());
            runs.push((args, o));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let renames = writer.join().unwrap();
    assert!(renames > 100, "the writer hardly ran: {renames} renames");
    for (args, o) in runs {
        assert_eq!(
            (o.code(), o.out().as_str()),
            (0, "5555\n"),
            "{args:?}: {o:?}"
        );
    }
}
