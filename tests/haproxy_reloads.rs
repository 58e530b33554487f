//! haproxy-reloads against a real haproxy in master-worker mode.

mod common;
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
        Command::new(which("haproxy"))
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
