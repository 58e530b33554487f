//! A chainloader hands the process on untouched: the program at the end
//! of the chain sees the same ignored signals, signal mask and open
//! descriptors as the caller had, with SIGPIPE default and with it
//! ignored, and with fd 0 closed. std's runtime would set SIGPIPE to
//! ignored before main, and Command::exec resets signals: a run script
//! would then start haproxy with a different process than it was given.

mod common;
use common::*;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// What the exec'd program sees. Not a shell: dash clears the signal mask.
const PROBES: [&[&str]; 2] = [
    &["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"],
    &[
        "find",
        "/proc/self/fd",
        "-mindepth",
        "1",
        "-printf",
        "%f %l\\n",
    ],
];

fn probe(chain: &[&str], probe: &[&str], ignore_sigpipe: bool, close_stdin: bool) -> String {
    let d = tempdir();
    let f = d.path().join("x.pid");
    write_file(&f, b"4242\n", 0o644);
    let extra = std::fs::File::open(&f).unwrap();
    let extra_fd = extra.as_raw_fd();
    let argv: Vec<String> = chain
        .iter()
        .chain(probe)
        .map(|a| a.replace("FILE", f.to_str().unwrap()))
        .collect();
    let mut c = Command::new(&argv[0]);
    c.args(&argv[1..])
        .env_remove("SV_PID")
        .env_remove("PIDFILE_PID");
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        c.pre_exec(move || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR2);
            libc::sigaddset(&mut set, libc::SIGHUP);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            libc::signal(
                libc::SIGPIPE,
                if ignore_sigpipe {
                    libc::SIG_IGN
                } else {
                    libc::SIG_DFL
                },
            );
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            // Inherited, not close-on-exec: the chain must pass it on.
            let flags = libc::fcntl(extra_fd, libc::F_GETFD);
            libc::fcntl(extra_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            if close_stdin {
                libc::close(0);
            }
            Ok(())
        });
    }
    let o = run(&mut c);
    // find, with fd 0 closed, trips on a descriptor of its own that comes
    // and goes: the same directly and chained, so that alone is allowed.
    let own_fd_gone = probe[0] == "find"
        && o.code() == 1
        && o.stderr
            .lines()
            .filter(|l| l.starts_with("find:"))
            .all(|l| l.contains("No such file"));
    assert!(o.code() == 0 || own_fd_gone, "{chain:?}: {o:?}");
    drop(extra);
    // The probe's own handle on /proc/self/fd names its pid: leave it out.
    // Pipe inodes and the temporary directory differ from run to run.
    let mut lines: Vec<String> = o
        .out()
        .lines()
        .filter(|l| !l.contains(" /proc/"))
        .map(|l| match l.split_once(' ') {
            Some((fd, t)) if t.starts_with("pipe:") => format!("{fd} pipe"),
            Some((fd, t)) if t.contains("/pidchain-test.") => {
                format!("{fd} {}", t.rsplit('/').next().unwrap_or(t))
            }
            _ => l.to_owned(),
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn signals_and_descriptors_reach_the_program_untouched() {
    let chains: [&[&str]; 6] = [
        &[SV_PID, "-o", "FILE.no-service"],
        &[PIDFILE_READ, "FILE"],
        &[PIDFILE_READ, "-d", "-o", "-w", "100", "FILE.missing"],
        &[HAPROXY_SF, "-u"],
        &[PIDFILE_READ, "-o", "FILE.missing", HAPROXY_SF],
        &[HAPROXY_SF, PIDFILE_READ, "-o", "FILE"],
    ];
    for ignore_sigpipe in [false, true] {
        for close_stdin in [false, true] {
            let [signals, fds] = PROBES.map(|p| probe(&[], p, ignore_sigpipe, close_stdin));
            // The probes see what the test set up, or they prove nothing.
            // Only the bits the test set: the rest of SigIgn is whatever
            // the caller of cargo test ignored (a background job: SIGQUIT).
            let mask = |name: &str| {
                signals
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .expect(name)
            };
            let bit = |mask: u64, sig: i32| mask >> (sig - 1) & 1 == 1;
            let (blocked, ignored) = (mask("SigBlk:\t"), mask("SigIgn:\t"));
            assert!(
                bit(blocked, libc::SIGHUP) && bit(blocked, libc::SIGUSR2),
                "{signals}"
            );
            assert!(bit(ignored, libc::SIGINT), "{signals}");
            assert_eq!(bit(ignored, libc::SIGPIPE), ignore_sigpipe, "{signals}");
            assert_eq!(
                fds.lines().any(|l| l == "0 /dev/null"),
                !close_stdin,
                "{fds}"
            );
            assert!(
                fds.contains("x.pid"),
                "the extra descriptor is not seen: {fds}"
            );
            for chain in chains {
                let what = format!(
                    "{chain:?} sigpipe ignored {ignore_sigpipe}, stdin closed {close_stdin}"
                );
                assert_eq!(
                    probe(chain, PROBES[0], ignore_sigpipe, close_stdin),
                    signals,
                    "{what}"
                );
                assert_eq!(
                    probe(chain, PROBES[1], ignore_sigpipe, close_stdin),
                    fds,
                    "{what}"
                );
            }
        }
    }
}

/// pidchain::process::signals reads a real process's mask and pending
/// signals: a child that blocks SIGUSR2 holds it once sent, and only it.
#[test]
fn signals_of_a_process_that_blocks_one() {
    use pidchain::process::signals;
    let mut procs = Procs::new();
    let pid = procs.start(&mut sleeper_blocking(&[libc::SIGUSR2]));
    let held = |s: &[libc::c_int]| signals(pid).is_some_and(|x| x.held(s));
    wait_for("the sleeper to exec", || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == "sleep")
    });
    // Blocked, not yet pending: not held.
    assert!(!held(&[libc::SIGUSR2]), "held before it was sent");
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(pid as i32, libc::SIGUSR2) };
    wait_for("SIGUSR2 held", || held(&[libc::SIGUSR2]));
    assert!(!held(&[libc::SIGHUP]), "SIGHUP was not sent");
}
