//! haproxy-reloads against a real haproxy in master-worker mode.

mod common;
use common::peer::{self, Peer, Reply};
use common::*;
use std::path::Path;
use std::process::Command;

struct Master {
    pid: u32,
    cfg: std::path::PathBuf,
    sock: String,
    port: u16,
}

fn config(port: u16, body: &str) -> Vec<u8> {
    format!(
        "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
         frontend f\n    bind 127.0.0.1:{port}\n    http-request return status 200 content-type text/plain string {body}\n"
    )
    .into_bytes()
}

fn start_master(procs: &mut Procs, dir: &Path) -> Master {
    let cfg = dir.join("haproxy.cfg");
    let port = common::haproxy::free_port();
    write_file(&cfg, &config(port, "v0"), 0o644);
    let sock = dir.join("master.sock").to_str().unwrap().to_owned();
    let pid = procs.start(
        Command::new(haproxy_binary())
            .args(["-W", "-db", "-S", &sock, "-f"])
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    Master {
        pid,
        cfg,
        sock,
        port,
    }
}

/// The master's children: its workers, current and former.
fn workers(master: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn hr(args: &[&str]) -> Output {
    run(cmd(HAPROXY_RELOADS).args(args))
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on the master this test started.
    unsafe { libc::kill(pid as i32, sig) };
}

#[test]
fn counts_reloads_and_says_whether_the_latest_succeeded() {
    let d = tempdir();
    let mut procs = Procs::new();
    let m = start_master(&mut procs, d.path());
    let o = hr(&["-w", "15000", &m.sock]);
    assert_eq!((o.code(), o.out().as_str()), (0, "0\n"), "{o:?}");
    // Chained: the count in HAPROXY_RELOADS (or -n VAR).
    let o = hr(&[&m.sock, "sh", "-c", "echo $HAPROXY_RELOADS"]);
    assert_eq!(o.out(), "0\n", "{o:?}");

    // A reload: SIGUSR2, or SIGHUP (daemontools' svc -h).
    for (n, sig) in [(0, libc::SIGUSR2), (1, libc::SIGHUP)] {
        write_file(&m.cfg, &config(m.port, &format!("v{}", n + 1)), 0o644);
        signal(m.pid, sig);
        let o = hr(&["-w", "15000", "-a", &n.to_string(), &m.sock]);
        assert_eq!((o.code(), o.out()), (0, format!("{}\n", n + 1)), "{o:?}");
        assert_eq!(common::haproxy::fetch(m.port), Ok(format!("v{}", n + 1)));
    }

    // A configuration the master cannot load: it says so, the former
    // workers serve on.
    write_file(&m.cfg, b"global\n    this is not a keyword\n", 0o644);
    signal(m.pid, libc::SIGUSR2);
    let o = hr(&["-w", "15000", "-a", "2", &m.sock]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    assert!(
        o.stderr.contains("reload 3 of the master on")
            && o.stderr.contains("failed: its former workers serve on"),
        "{o:?}"
    );
    assert_eq!(common::haproxy::fetch(m.port), Ok("v2".to_owned()));

    // No reload comes: exit 1 at the deadline, saying how far it got.
    let o = hr(&["-w", "300", "-a", "3", &m.sock]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        o.stderr.contains("no reload after 3 done by the master")
            && o.stderr.contains("(it has done 3)"),
        "{o:?}"
    );
}

#[test]
fn no_master_there() {
    let d = tempdir();
    let s = d.path().join("master.sock");
    let o = hr(&[s.to_str().unwrap()]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(o.stderr.contains("no haproxy answers on"), "{o:?}");
    for args in [
        &[][..],
        &[""],
        &["-a", "x", "s"],
        &["-a", "-1", "s"],
        &["s", ""],
    ] {
        let o = hr(args);
        assert_eq!(o.code(), 100, "{args:?}: {o:?}");
    }
}

#[test]
fn after_a_reload_every_new_connection_gets_the_new_configuration() {
    use std::io::Write;
    let d = tempdir();
    let mut procs = Procs::new();
    let m = start_master(&mut procs, d.path());
    let o = hr(&["-w", "15000", &m.sock]);
    assert_eq!(o.code(), 0, "{o:?}");
    // A request half sent keeps the first worker busy, so that it lives
    // on as a former worker through the reload (up to timeout client).
    let mut held = std::net::TcpStream::connect(("127.0.0.1", m.port)).expect("connect");
    held.write_all(b"GET / HTTP/1.1\r\n").expect("write");
    let children = || workers(m.pid).len();
    wait_for("the first worker", || children() == 1);
    write_file(&m.cfg, &config(m.port, "v1"), 0o644);
    signal(m.pid, libc::SIGUSR2);
    let o = hr(&["-w", "15000", "-a", "0", &m.sock]);
    assert_eq!((o.code(), o.out().as_str()), (0, "1\n"), "{o:?}");
    assert_eq!(children(), 2, "the former worker lives on, draining");
    for i in 0..50 {
        assert_eq!(common::haproxy::fetch(m.port), Ok("v1".to_owned()), "{i}");
    }
    drop(held);
}

#[test]
fn a_former_worker_that_never_stops_accepting_fails_the_wait() {
    let d = tempdir();
    let mut procs = Procs::new();
    let m = start_master(&mut procs, d.path());
    assert_eq!(hr(&["-w", "15000", &m.sock]).code(), 0);
    wait_for("the first worker", || workers(m.pid).len() == 1);
    let first = workers(m.pid)[0];
    // Stopped, it never acts on the master's soft-stop signal: the reload
    // is done, but the former worker would take connections once resumed.
    signal(first, libc::SIGSTOP);
    write_file(&m.cfg, &config(m.port, "v1"), 0o644);
    signal(m.pid, libc::SIGUSR2);
    let o = hr(&["-w", "3000", "-a", "0", &m.sock]);
    signal(first, libc::SIGCONT);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    assert!(
        o.stderr.contains(&format!(
            "a former worker of the master on {}, pid {first}, still accepts connections",
            m.sock
        )),
        "{o:?}"
    );
}

/// `show proc` as haproxy 2.6.12 answered it: three reloads, one current
/// worker, one former.
const SHOW_PROC: &[u8] =
    b"#<PID>          <type>          <reloads>       <uptime>        <version>      \n\
29090           master          3 [failed: 0]   0d00h10m22s     2.6.12-1+deb12u4\n\
# workers\n\
29962           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n\
# old workers\n\
29824           worker          1               0d00h00m05s     2.6.12-1+deb12u4\n\
# programs\n\n";

#[test]
fn a_show_proc_cut_short_or_naming_two_masters_is_not_an_answer() {
    let d = tempdir();
    let in_master_line = SHOW_PROC.iter().position(|&b| b == b'[').unwrap();
    let two = [
        &SHOW_PROC[..SHOW_PROC.len() - 1],
        b"29091 master 4 [failed: 0] 0s v\n\n",
    ]
    .concat();
    for (i, (reply, why)) in [
        (
            &SHOW_PROC[..in_master_line],
            "incomplete answer (no empty line at its end) to show proc",
        ),
        (
            &SHOW_PROC[..SHOW_PROC.len() - 1],
            "incomplete answer (no empty line at its end) to show proc",
        ),
        (&two[..], "more than one master in the answer to show proc"),
    ]
    .into_iter()
    .enumerate()
    {
        let p = Peer::serve(
            &d.path().join(format!("{i}.sock")),
            vec![peer::answer(reply)],
        );
        let o = hr(&[p.path()]);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
        assert!(
            o.stderr
                .contains(&format!("haproxy-reloads: fatal: {why} on {}", p.path())),
            "{o:?}"
        );
        // Waiting, it asks again until the deadline, then says the same.
        let o = hr(&["-w", "200", "-a", "2", p.path()]);
        assert_eq!(o.code(), 1, "{o:?}");
        assert!(o.stderr.contains(why), "{o:?}");
    }
    let p = Peer::serve(
        &d.path().join("whole.sock"),
        vec![peer::answer(SHOW_PROC), peer::answer(NEW_WORKER_LOADED)],
    );
    let o = hr(&["-a", "2", p.path()]);
    assert_eq!(o.code(), 1, "the former worker never said it stops: {o:?}");
    assert!(o.stderr.contains("still accepts connections"), "{o:?}");
}

/// What the new worker of SHOW_PROC answers through the master once it
/// has loaded its configuration.
const NEW_WORKER_LOADED: &[u8] = b"Pid: 29962\nStopping: 0\n\n";

#[test]
fn a_new_worker_counts_only_once_it_answers_with_its_own_pid() {
    // From 3.1 the worker loads the configuration after the master lists
    // it, and answers through the master only once loaded.
    let d = tempdir();
    for (i, new) in [
        Reply::Silent,
        peer::answer(b"Pid: 29962\nStopping: 0\n"),
        peer::answer(b"Pid: 29963\nStopping: 0\n\n"),
        peer::answer(b"Can't find the target PID matching the prefix '@!29962'\n"),
    ]
    .into_iter()
    .enumerate()
    {
        let p = Peer::answer_questions(
            &d.path().join(format!("{i}.sock")),
            vec![
                (b"show proc", peer::answer(SHOW_PROC)),
                (b"@!29962 show info", new),
            ],
        );
        let o = hr(&["-w", "300", "-a", "2", p.path()]);
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{i}: {o:?}");
        assert!(
            o.stderr.contains(&format!(
                "haproxy-reloads: fatal: the new workers of the master on {} did not load their configuration in time",
                p.path()
            )),
            "{i}: {o:?}"
        );
        let q = p.questions();
        assert!(q.contains(&b"@!29962 show info\n".to_vec()), "{i}: {q:?}");
        assert!(!q.contains(&b"@!29824 show info\n".to_vec()), "{i}: {q:?}");
    }
}

#[test]
fn a_former_worker_stops_only_on_a_whole_answer_saying_so() {
    let d = tempdir();
    for (i, (worker, stopped)) in [
        (peer::answer(b"Pid: 29824\nStopping: 1\n\n"), true),
        (
            peer::answer(b"Can't find the target PID matching the prefix '@!29824'\n"),
            true,
        ),
        (peer::answer(b"Pid: 29824\nStopping: 1\n"), false),
        (peer::answer(b"Pid: 29824\nStopping: 1"), false),
        (
            peer::answer(b"Can't find the target PID matching the prefix '@!29"),
            false,
        ),
        (
            peer::answer(b"Pid: 29824\nStopping: 0\nStopping: 1\n\n"),
            false,
        ),
        (peer::answer(b"Pid: 29824\nStopping: 0\n\n"), false),
        (Reply::Silent, false),
    ]
    .into_iter()
    .enumerate()
    {
        let p = Peer::serve(
            &d.path().join(format!("{i}.sock")),
            vec![
                peer::answer(SHOW_PROC),
                peer::answer(NEW_WORKER_LOADED),
                worker,
            ],
        );
        let o = hr(&["-w", "300", "-a", "2", p.path()]);
        if stopped {
            assert_eq!((o.code(), o.out().as_str()), (0, "3\n"), "{i}: {o:?}");
        } else {
            assert_eq!((o.code(), o.out().as_str()), (1, ""), "{i}: {o:?}");
            assert!(
                o.stderr.contains("pid 29824, still accepts connections"),
                "{i}: {o:?}"
            );
        }
        let q = p.questions();
        assert_eq!(q[0], b"show proc\n", "{i}");
        assert_eq!(q[1], b"@!29962 show info\n", "{i}");
        assert_eq!(q[2], b"@!29824 show info\n", "{i}");
    }
}

#[test]
fn a_master_that_accepts_nothing_is_waited_for_as_long_as_asked() {
    let d = tempdir();
    let path = d.path().join("stalled.sock");
    let _stalled = peer::full_backlog(&path);
    for asked in [100u64, 1500] {
        let t = std::time::Instant::now();
        let o = hr(&["-w", &asked.to_string(), "-a", "0", path.to_str().unwrap()]);
        let took = t.elapsed();
        assert_eq!(o.code(), 1, "{o:?}");
        assert!(o.stderr.contains("in time"), "{o:?}");
        let asked = std::time::Duration::from_millis(asked);
        assert!(
            took >= asked && took < asked + std::time::Duration::from_millis(800),
            "-w {asked:?}: took {took:?}"
        );
    }
}

#[test]
fn a_reload_that_fails_while_its_worker_loads_is_said_before_the_deadline() {
    // A configuration slow to load (a large map), then broken at its end: from
    // 3.1 the master lists the new worker while it loads, then drops it.
    let d = tempdir();
    let mut procs = Procs::new();
    let m = start_master(&mut procs, d.path());
    let map = d.path().join("large.map");
    let lines: String = (0..1_000_000).map(|i| format!("/p/{i} v\n")).collect();
    write_file(&map, lines.as_bytes(), 0o644);
    let slow = String::from_utf8(config(m.port, "v1")).unwrap().replace(
        "    http-request return",
        &format!(
            "    http-request set-var(txn.m) path,map({})\n    http-request return",
            map.display()
        ),
    );
    assert_eq!(hr(&["-w", "15000", &m.sock]).out(), "0\n");
    // Whole: done only once the new worker has loaded it.
    write_file(&m.cfg, slow.as_bytes(), 0o644);
    signal(m.pid, libc::SIGUSR2);
    let o = hr(&["-w", "60000", "-a", "0", &m.sock]);
    assert_eq!((o.code(), o.out().as_str()), (0, "1\n"), "{o:?}");
    assert_eq!(common::haproxy::fetch(m.port), Ok("v1".to_owned()));
    // Broken at its end: it fails after a while of loading.
    let broken = format!("{slow}    bogus-keyword\n").replace("string v1", "string v2");
    write_file(&m.cfg, broken.as_bytes(), 0o644);
    signal(m.pid, libc::SIGUSR2);
    let t = std::time::Instant::now();
    let o = hr(&["-w", "60000", "-a", "1", &m.sock]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    assert!(
        o.stderr.contains("reload 2 of the master on")
            && o.stderr.contains("failed: its former workers serve on"),
        "{o:?}"
    );
    // Said when it failed, not at the deadline.
    assert!(t.elapsed() < std::time::Duration::from_secs(30), "{o:?}");
    assert_eq!(common::haproxy::fetch(m.port), Ok("v1".to_owned()));
}

/// After one failed reload, haproxy 3.3.0's master keeps SIGUSR2, SIGHUP
/// and SIGUSR1 blocked (haproxy issue 3229): the next reload signal is
/// never acted on. haproxy-reloads names that at once; on every other
/// version the reload is done.
#[test]
fn a_reload_signal_after_a_failed_reload() {
    let d = tempdir();
    let mut procs = Procs::new();
    let m = start_master(&mut procs, d.path());
    // Up: a reload signal before haproxy handles it would kill it.
    assert_eq!(hr(&["-w", "15000", &m.sock]).out(), "0\n");
    write_file(&m.cfg, b"frontend f\n    bogus-keyword\n", 0o644);
    signal(m.pid, libc::SIGUSR2);
    let o = hr(&["-w", "15000", "-a", "0", &m.sock]);
    assert_eq!(o.code(), 1, "{o:?}");
    assert!(
        o.stderr.contains("failed: its former workers serve on"),
        "{o:?}"
    );
    write_file(&m.cfg, &config(m.port, "v1"), 0o644);
    signal(m.pid, libc::SIGUSR2);
    let o = hr(&["-w", "15000", "-a", "1", &m.sock]);
    if harness::haproxy_version() == (3, 3, 0) {
        assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
        assert!(
            o.stderr.contains(&format!(
                ", pid {}, blocks the reload signal sent to it: haproxy 3.3.0",
                m.pid
            )),
            "{o:?}"
        );
    } else {
        assert_eq!((o.code(), o.out().as_str()), (0, "2\n"), "{o:?}");
        assert_eq!(common::haproxy::fetch(m.port), Ok("v1".to_owned()));
    }
}

#[test]
fn a_master_that_blocks_the_reload_signal_is_named_before_the_deadline() {
    // Any haproxy but 3.3.0 acts on its signals: a process that blocks
    // them stands for the master, a fake peer for its CLI.
    let d = tempdir();
    let mut procs = Procs::new();
    let master = procs.start(&mut sleeper_blocking(&[libc::SIGUSR2, libc::SIGHUP]));
    let show_proc = format!(
        "#<PID>          <type>          <reloads>       <uptime>        <version>      \n\
         {master}           master          1 [failed: 1]   0d00h00m04s     3.3.0-7832fb21f\n\
         # workers\n# old workers\n\
         22083           worker          1               0d00h00m04s     3.3.0-7832fb21f\n\n"
    );
    let p = Peer::serve(
        &d.path().join("master.sock"),
        vec![peer::answer(show_proc.as_bytes())],
    );
    // Not pending yet: nothing to say but that no reload came.
    let o = hr(&["-w", "1000", "-a", "1", p.path()]);
    assert!(o.stderr.contains("no reload after 1 done"), "{o:?}");
    signal(master, libc::SIGUSR2);
    let t = std::time::Instant::now();
    let o = hr(&["-w", "20000", "-a", "1", p.path()]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    assert!(
        o.stderr.contains(&format!(
            "haproxy-reloads: fatal: the master on {}, pid {master}, blocks the reload signal \
             sent to it: haproxy 3.3.0 does after a failed reload (haproxy issue 3229); \
             upgrade haproxy, or restart the service",
            p.path()
        )),
        "{o:?}"
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(10), "{o:?}");
    // Another version is not blamed: the message says what was seen.
    let p = Peer::serve(
        &d.path().join("master-3.2.sock"),
        vec![peer::answer(show_proc.replace("3.3.0", "3.2.9").as_bytes())],
    );
    let o = hr(&["-w", "20000", "-a", "1", p.path()]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    assert_eq!(
        o.stderr,
        format!(
            "haproxy-reloads: fatal: the master on {}, pid {master}, blocks the reload signal \
             sent to it; restart the service\n",
            p.path()
        ),
        "{o:?}"
    );
}

/// -r: the master CLI's `reload`. From 2.7 the master answers whether the
/// load succeeded, with haproxy's own messages; before, it reloads
/// without a word and `show proc` says how it went. Either way the reload
/// is waited for as -a waits for one, and a valid configuration after a
/// failed one is loaded: no signal is involved (haproxy 3.3.0 included).
#[test]
fn r_asks_the_master_to_reload_and_says_how_it_went() {
    let d = tempdir();
    let mut procs = Procs::new();
    let m = start_master(&mut procs, d.path());
    assert_eq!(hr(&["-w", "15000", &m.sock]).out(), "0\n");
    write_file(&m.cfg, &config(m.port, "v1"), 0o644);
    let o = hr(&[
        "-r",
        "-w",
        "15000",
        &m.sock,
        "sh",
        "-c",
        "echo $HAPROXY_RELOADS",
    ]);
    assert_eq!((o.code(), o.out().as_str()), (0, "1\n"), "{o:?}");
    assert_eq!(common::haproxy::fetch(m.port), Ok("v1".to_owned()));

    let broken = String::from_utf8(config(m.port, "v2")).unwrap() + "    bogus-keyword\n";
    write_file(&m.cfg, broken.as_bytes(), 0o644);
    let o = hr(&["-r", "-w", "15000", &m.sock]);
    assert_eq!((o.code(), o.out().as_str()), (1, ""), "{o:?}");
    if harness::haproxy_version() >= (2, 7, 0) {
        // haproxy's own line, whole, naming the file and line.
        let place = format!(
            "parsing [{}:9] : unknown keyword 'bogus-keyword'",
            m.cfg.display()
        );
        assert!(
            o.stderr
                .lines()
                .any(|l| l.starts_with("[ALERT]") && l.contains(&place)),
            "{o:?}"
        );
        assert!(
            o.stderr.ends_with(&format!(
                "haproxy-reloads: fatal: the master on {} failed to load the new \
                 configuration: its former workers serve on\n",
                m.sock
            )),
            "{o:?}"
        );
    } else {
        assert!(
            o.stderr.contains("reload 2 of the master on")
                && o.stderr.contains("failed: its former workers serve on"),
            "{o:?}"
        );
    }
    assert_eq!(common::haproxy::fetch(m.port), Ok("v1".to_owned()));

    write_file(&m.cfg, &config(m.port, "v3"), 0o644);
    let o = hr(&["-r", "-w", "15000", &m.sock]);
    assert_eq!((o.code(), o.out().as_str()), (0, "3\n"), "{o:?}");
    assert_eq!(common::haproxy::fetch(m.port), Ok("v3".to_owned()));

    let o = hr(&["-r", "-a", "3", &m.sock]);
    assert_eq!(o.code(), 100, "{o:?}");
}
