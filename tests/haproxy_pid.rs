//! haproxy-pid against real haproxy processes on 127.0.0.1, and against
//! sockets that are not haproxy's.

mod common;
use common::peer::{self, Peer, Reply};
use common::*;
use std::path::Path;
use std::process::Command;

/// A foreground haproxy with a stats socket at `dir/stats.sock`.
fn start_haproxy(procs: &mut Procs, dir: &Path, extra: &[&str]) -> u32 {
    let cfg = dir.join("haproxy.cfg");
    let port = common::haproxy::free_port();
    write_file(
        &cfg,
        format!(
            "global\n    stats socket {}/stats.sock mode 600 level admin expose-fd listeners\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
             frontend f\n    bind 127.0.0.1:{port}\n    http-request return status 200 content-type text/plain string ok\n",
            dir.display()
        )
        .as_bytes(),
        0o644,
    );
    procs.start(
        Command::new(haproxy_binary())
            .args(extra)
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )
}

fn hp(args: &[&str]) -> Output {
    run(cmd(HAPROXY_PID).args(args))
}

#[test]
fn the_pid_that_answers_and_waiting_for_an_expected_one() {
    let d = tempdir();
    let mut procs = Procs::new();
    let sock = d.path().join("stats.sock");
    let sock = sock.to_str().unwrap();
    // Not there yet: -w waits for haproxy to answer.
    let waiting = procs.spawn(
        cmd(HAPROXY_PID)
            .args(["-w", "15000", sock])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    let pid = start_haproxy(&mut procs, d.path(), &[]);
    let o = wait_output(waiting);
    assert_eq!((o.code(), o.out()), (0, format!("{pid}\n")), "{o:?}");
    assert_eq!(hp(&[sock]).out(), format!("{pid}\n"));
    let o = hp(&["-e", &pid.to_string(), sock]);
    assert_eq!((o.code(), o.out()), (0, format!("{pid}\n")), "{o:?}");
    // Chained: the pid in HAPROXY_PID (or -n VAR).
    let o = hp(&["-n", "P", sock, "sh", "-c", "echo $P ${HAPROXY_PID-unset}"]);
    assert_eq!(o.out(), format!("{pid} unset\n"), "{o:?}");
    let o = hp(&[sock, "sh", "-c", "echo $HAPROXY_PID"]);
    assert_eq!(o.out(), format!("{pid}\n"), "{o:?}");
    // Another live pid expected (this test's): exit 1 after the wait,
    // saying who answers.
    let me = std::process::id();
    let o = hp(&["-w", "200", "-e", &me.to_string(), sock]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    assert!(
        o.stderr
            .contains(&format!("is answered by pid {pid}, not {me}")),
        "{o:?}"
    );
    // An exited pid expected: it can never answer, so no waiting for it.
    let mut exited = Command::new("true").spawn().unwrap();
    let gone = exited.id();
    exited.wait().unwrap();
    // Exit 2, not 1: gone for good, not late.
    let o = hp(&["-w", "600000", "-e", &gone.to_string(), sock]);
    assert_eq!((o.code(), o.out().as_str()), (2, ""), "{o:?}");
    assert!(
        o.stderr.contains(&format!(
            "haproxy-pid: fatal: pid {gone} is gone: it never answered on {sock}"
        )),
        "{o:?}"
    );
}

#[test]
fn optional_no_haproxy_answering_is_a_cold_start() {
    let d = tempdir();
    let mut procs = Procs::new();
    let missing = d.path().join("none.sock");
    let stale = d.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    for nobody in [&missing, &stale] {
        let nobody = nobody.to_str().unwrap();
        let o = hp(&["-o", nobody]);
        assert_eq!(
            (o.code(), o.out().as_str(), o.stderr.as_str()),
            (0, "", ""),
            "{o:?}"
        );
        // Chained: the variable is removed, not left as it came.
        let o = run(cmd(HAPROXY_PID).env("HAPROXY_PID", "4242").args([
            "-o",
            nobody,
            "sh",
            "-c",
            "echo ${HAPROXY_PID-unset}",
        ]));
        assert_eq!((o.code(), o.out().as_str()), (0, "unset\n"), "{o:?}");
    }
    // A path that is not to be trusted is still an error.
    let file = d.path().join("plain");
    write_file(&file, b"", 0o600);
    let o = hp(&["-o", file.to_str().unwrap(), "true"]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("it is not a unix socket"), "{o:?}");
    // So is an answer without a pid: something listens there.
    let liar = peer::Peer::serve(
        &d.path().join("liar.sock"),
        vec![peer::answer(b"Name: HAProxy\n\n")],
    );
    let o = hp(&["-o", liar.path(), "true"]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("no pid in the answer"), "{o:?}");
    // An haproxy that answers is passed on.
    let pid = start_haproxy(&mut procs, d.path(), &[]);
    let sock = d.path().join("stats.sock");
    let sock = sock.to_str().unwrap();
    wait_for("haproxy to answer", || hp(&[sock]).code() == 0);
    let o = hp(&["-o", sock, "sh", "-c", "echo $HAPROXY_PID"]);
    assert_eq!((o.code(), o.out()), (0, format!("{pid}\n")), "{o:?}");
}

#[test]
fn waits_for_the_takeover_by_a_new_process() {
    let d = tempdir();
    let mut procs = Procs::new();
    let old = start_haproxy(&mut procs, d.path(), &[]);
    let sock = d.path().join("stats.sock");
    let sock = sock.to_str().unwrap();
    wait_for("haproxy to answer", || hp(&[sock]).code() == 0);
    let new = start_haproxy(&mut procs, d.path(), &["-x", sock, "-sf", &old.to_string()]);
    let o = hp(&["-w", "15000", "-e", &new.to_string(), sock]);
    assert_eq!((o.code(), o.out()), (0, format!("{new}\n")), "{o:?}");
}

#[test]
fn what_is_not_a_live_haproxy_socket() {
    let d = tempdir();
    let missing = d.path().join("none.sock");
    let o = hp(&[missing.to_str().unwrap()]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        o.stderr.contains("no haproxy answers on") && o.stderr.contains("no such socket"),
        "{o:?}"
    );
    let file = d.path().join("plain");
    write_file(&file, b"", 0o600);
    let o = hp(&[file.to_str().unwrap()]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("it is not a unix socket"), "{o:?}");
    // A socket nobody listens on any more.
    let stale = d.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let o = hp(&[stale.to_str().unwrap()]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("Connection refused"), "{o:?}");
    // A peer that hangs up at once: EPIPE, never death by SIGPIPE (whose
    // default disposition haproxy-pid keeps, as every chainloader does).
    let rude = d.path().join("rude.sock");
    let l = std::os::unix::net::UnixListener::bind(&rude).unwrap();
    let t = std::thread::spawn(move || {
        for c in l.incoming().take(1) {
            drop(c);
        }
    });
    let o = hp(&[rude.to_str().unwrap()]);
    t.join().unwrap();
    assert_eq!(o.code(), 1, "{o:?}");
    // A peer that answers something else.
    let liar = peer::Peer::serve(
        &d.path().join("liar.sock"),
        vec![peer::answer(b"Name: HAProxy\nPid: 1\n\n")],
    );
    let o = hp(&[liar.path()]);
    assert_eq!(liar.questions(), [b"show info\n"]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("no valid pid in the answer"), "{o:?}");
}

#[test]
fn without_w_one_question_waits_for_a_slow_answer() {
    let d = tempdir();
    // An haproxy busy for 2 s before it answers (as one loading a large
    // configuration, or stopped and continued): longer than the second
    // that a question asked near the end of a -w wait gets.
    let slow = d.path().join("slow.sock");
    let l = std::os::unix::net::UnixListener::bind(&slow).unwrap();
    let t = std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Some(Ok(mut c)) = l.incoming().next() {
            let mut cmd = Vec::new();
            let _ = c.read_to_end(&mut cmd);
            std::thread::sleep(std::time::Duration::from_secs(2));
            let _ = c.write_all(b"Name: HAProxy\nPid: 4242\n\n");
        }
    });
    let o = hp(&[slow.to_str().unwrap()]);
    t.join().unwrap();
    assert_eq!((o.code(), o.out().as_str()), (0, "4242\n"), "{o:?}");
}

#[test]
fn a_socket_owned_by_another_user_is_refused() {
    assert!(
        is_root(),
        "needs root to chown: run the suite as root (CI does)"
    );
    let d = tempdir();
    let s = d.path().join("other.sock");
    let _l = std::os::unix::net::UnixListener::bind(&s).unwrap();
    std::os::unix::fs::chown(&s, Some(65534), Some(65534)).unwrap();
    let o = hp(&[s.to_str().unwrap()]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert_eq!(
        o.stderr,
        format!(
            "haproxy-pid: fatal: refusing {}: owned by uid 65534, neither root nor the \
             effective user (uid 0)\n",
            s.display()
        ),
        "{o:?}"
    );
}

#[test]
fn usage_errors() {
    for args in [
        &[][..],
        &[""],
        &["-e", "1", "s"],
        &["-e", "x", "s"],
        &["-w", "x", "s"],
        &["-n", "A=B", "s"],
        &["-z", "s"],
        &["s", ""],
    ] {
        let o = hp(args);
        assert_eq!(o.code(), 100, "{args:?}: {o:?}");
        assert!(o.stderr.contains("usage: haproxy-pid"), "{o:?}");
    }
}

fn ms(n: u64) -> std::time::Duration {
    std::time::Duration::from_millis(n)
}

/// Runs haproxy-pid; how long it took.
fn timed(args: &[&str]) -> (Output, std::time::Duration) {
    let t = std::time::Instant::now();
    let o = hp(args);
    (o, t.elapsed())
}

/// What the machine may add to a bound: process start, scheduling.
const SLACK: u64 = 800;

#[test]
fn a_listener_that_accepts_nothing_is_waited_for_as_long_as_asked() {
    let d = tempdir();
    let path = d.path().join("stalled.sock");
    let _stalled = peer::full_backlog(&path);
    let sock = path.to_str().unwrap();
    let me = std::process::id().to_string();
    for (args, asked) in [
        (&["-w", "100", sock][..], 100),
        (&["-w", "1500", "-e", &me, sock], 1500),
        // Without -w: one question, up to 10 s.
        (&[sock], 10_000),
    ] {
        let (o, took) = timed(args);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{args:?}: {o:?}");
        assert!(
            o.stderr
                .ends_with(&format!("no whole answer from {sock} in time\n")),
            "{o:?}"
        );
        assert!(
            took >= ms(asked) && took < ms(asked + SLACK),
            "{args:?}: took {took:?}"
        );
    }
    // Something listens there: not a cold start, even with -o.
    let o = hp(&["-o", "-w", "100", sock, "echo", "ran"]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
}

#[test]
fn a_wait_below_a_second_is_honoured() {
    let d = tempdir();
    // Accepts, reads the question, never answers.
    let silent = Peer::serve(&d.path().join("silent.sock"), vec![Reply::Silent]);
    for asked in [0u64, 50, 300] {
        let (o, took) = timed(&["-w", &asked.to_string(), silent.path()]);
        assert_eq!(o.code(), 1, "{o:?}");
        assert!(o.stderr.contains("in time"), "{o:?}");
        // -w 0 is one question: its 10 s are the next test's.
        if asked > 0 {
            assert!(
                took >= ms(asked) && took < ms(asked + SLACK),
                "-w {asked}: took {took:?}"
            );
        }
    }
}

#[test]
fn an_answer_cut_short_or_saying_two_things_is_not_an_answer() {
    let d = tempdir();
    for (i, (reply, why)) in [
        (
            &b"Pid: 42"[..],
            "incomplete answer (no empty line at its end) to show info",
        ),
        (
            b"Name: HAProxy\nPid: 42\n",
            "incomplete answer (no empty line at its end) to show info",
        ),
        (
            b"Pid: 42\nUptime: 0d 0h00m01s\n",
            "incomplete answer (no empty line at its end) to show info",
        ),
        (
            b"Pid: 42\nPid: 43\n\n",
            "more than one pid in the answer to show info",
        ),
        (
            b"Pid: 42\n\nPid: 43\n\n",
            "more than one pid in the answer to show info",
        ),
        (
            b"Pid: 42\nPid: 42\n\n",
            "more than one pid in the answer to show info",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let p = Peer::serve(
            &d.path().join(format!("{i}.sock")),
            vec![peer::answer(reply)],
        );
        let o = hp(&[p.path(), "echo", "ran"]);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{reply:?}: {o:?}");
        assert!(
            o.stderr
                .contains(&format!("haproxy-pid: fatal: {why} on {}", p.path())),
            "{reply:?}: {o:?}"
        );
        // -o excuses none of them.
        assert_eq!(hp(&["-o", p.path(), "echo", "ran"]).code(), 1);
    }
    // With -w, a cut answer is asked again: the whole one counts.
    let p = Peer::serve(
        &d.path().join("late.sock"),
        vec![peer::answer(b"Pid: 4"), peer::answer(b"Pid: 4242\n\n")],
    );
    let o = hp(&["-w", "5000", p.path()]);
    assert_eq!((o.code(), o.out().as_str()), (0, "4242\n"), "{o:?}");
    assert_eq!(p.questions().len(), 2);
}

#[test]
fn optional_does_not_excuse_a_peer_that_resets() {
    let d = tempdir();
    for (i, reply) in [&b""[..], b"Name: HAProxy\n", b"Name: HAProxy\nPid: 42\n"]
        .into_iter()
        .enumerate()
    {
        let p = Peer::serve(
            &d.path().join(format!("{i}.sock")),
            vec![Reply::Reset(reply.to_vec())],
        );
        let o = run(cmd(HAPROXY_PID).env("HAPROXY_PID", "4242").args([
            "-o",
            p.path(),
            "sh",
            "-c",
            "echo ran ${HAPROXY_PID-unset}",
        ]));
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{reply:?}: {o:?}");
        assert!(
            o.stderr
                .contains(&format!("no whole answer from {}: ", p.path())),
            "{reply:?}: {o:?}"
        );
    }
}
