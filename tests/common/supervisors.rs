//! Real supervisors for the tests: runit's runsv, s6-supervise and
//! daemontools' supervise, started on service directories in temporary
//! directories, driven and asked with their own tools (`sv`, `s6-svc`,
//! `s6-svstat`, `svc`, `svstat`) as the independent word on their state.

use super::{Procs, run, wait_for, wait_until, write_file};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Runit,
    S6,
    Daemontools,
    /// s6-rc over s6-svscan: s6's supervisor, the service compiled from a
    /// source definition and brought up and down by `s6-rc`.
    S6Rc,
}

pub const ALL: [Kind; 3] = [Kind::Runit, Kind::S6, Kind::Daemontools];

/// Of `kinds`, those a test runs under: all of them, unless
/// PIDCHAIN_SUPERVISORS names some (`runit`, `s6`, `daemontools`,
/// comma-separated), and then the first of `kinds` when it names none of
/// them. `make check-versions` names one supervisor per haproxy version,
/// in turn: what a supervisor does does not depend on haproxy's version,
/// and `cargo test` runs every test under every supervisor.
pub fn under_test(kinds: &[Kind]) -> Vec<Kind> {
    let Some(named) = std::env::var_os("PIDCHAIN_SUPERVISORS") else {
        return kinds.to_vec();
    };
    let named = named.to_str().expect("PIDCHAIN_SUPERVISORS: not UTF-8");
    let named: Vec<Kind> = named
        .split(',')
        .map(|n| match n {
            "runit" => Kind::Runit,
            "s6" => Kind::S6,
            "daemontools" => Kind::Daemontools,
            _ => panic!("PIDCHAIN_SUPERVISORS: unknown supervisor {n:?}"),
        })
        .collect();
    let picked: Vec<Kind> = kinds
        .iter()
        .copied()
        .filter(|k| named.contains(k))
        .collect();
    if picked.is_empty() {
        kinds[..1].to_vec()
    } else {
        picked
    }
}

impl Kind {
    /// Whether s6's tools (s6-svstat, s6-svc) drive the supervisor.
    pub fn is_s6(self) -> bool {
        matches!(self, Kind::S6 | Kind::S6Rc)
    }
}

/// Where the s6-rc programs are (s6-rc is not in Debian 12): the
/// directory `../shared/s6-rc/build.sh` prints, set by `make check-s6-rc`.
pub const S6RC_VAR: &str = "PIDCHAIN_S6RC";

/// The s6-rc program `prog`; fails, saying why, when S6RC_VAR is unset.
pub fn s6_rc_program(prog: &str) -> PathBuf {
    let dir = std::env::var_os(S6RC_VAR).filter(|d| !d.is_empty());
    let dir = dir.unwrap_or_else(|| {
        panic!("{S6RC_VAR} is not set: the directory of the s6-rc programs (make check-s6-rc builds them)")
    });
    let p = Path::new(&dir).join(prog);
    assert!(p.is_file(), "{S6RC_VAR}: no {}", p.display());
    p
}

/// What each needs from Debian, said when a tool is missing.
pub fn require(tool: &str, package: &str) {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(tool).is_file());
    assert!(found, "{tool} not found: apt-get install {package}");
}

pub struct Service {
    pub kind: Kind,
    pub dir: PathBuf,
    pub supervisor: u32,
    /// What the supervisor and the service print, beside the service directory.
    pub log: PathBuf,
    /// s6-rc: its live state directory, which `s6-rc -l` takes.
    pub live: Option<PathBuf>,
}

/// A service directory `root/name` with these scripts (and a `down` file
/// when it should start down).
pub fn service_dir(
    root: &Path,
    name: &str,
    run: &str,
    finish: Option<&str>,
    down: bool,
) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    write_file(&dir.join("run"), run.as_bytes(), 0o755);
    if let Some(f) = finish {
        write_file(&dir.join("finish"), f.as_bytes(), 0o755);
    }
    if down {
        write_file(&dir.join("down"), b"", 0o644);
    }
    dir
}

impl Service {
    /// Starts the supervisor on `dir` and waits until it reports a state.
    /// Its scripts find the built pidchain programs first.
    pub fn start(procs: &mut Procs, kind: Kind, dir: &Path) -> Service {
        Service::start_with_path(procs, kind, dir, &super::path_with_binaries())
    }

    pub fn start_with_path(procs: &mut Procs, kind: Kind, dir: &Path, path: &OsStr) -> Service {
        let dir = dir.canonicalize().unwrap();
        let (program, package) = match kind {
            Kind::Runit => ("runsv", "runit"),
            Kind::S6 => ("s6-supervise", "s6"),
            Kind::Daemontools => ("supervise", "daemontools"),
            Kind::S6Rc => panic!("s6-rc runs compiled definitions: Service::start_s6_rc"),
        };
        Service::supervised_by(procs, kind, (program, package), &dir.clone(), dir, path)
    }

    /// s6-svscan or svscan on a scan directory beside `dir` that links to
    /// it, as a system runs services: they also start `dir/log`, with a
    /// pipe from the service to it. (runsv starts `log/` itself.)
    pub fn start_scanned(procs: &mut Procs, kind: Kind, dir: &Path, path: &OsStr) -> Service {
        let dir = dir.canonicalize().unwrap();
        let scan = dir.with_extension("scan");
        std::fs::create_dir_all(&scan).unwrap();
        let name = dir.file_name().unwrap();
        std::os::unix::fs::symlink(&dir, scan.join(name)).unwrap();
        let scanner = match kind {
            Kind::Runit => panic!("runsv starts log/ itself: Service::start"),
            Kind::S6 | Kind::S6Rc => ("s6-svscan", "s6"),
            Kind::Daemontools => ("svscan", "daemontools"),
        };
        Service::supervised_by(procs, kind, scanner, &scan, dir, path)
    }

    /// `program` (from `package`) started on `arg`, its output beside
    /// `dir`, until the supervisor of `dir` reports a state.
    fn supervised_by(
        procs: &mut Procs,
        kind: Kind,
        (program, package): (&str, &str),
        arg: &Path,
        dir: PathBuf,
        path: &OsStr,
    ) -> Service {
        let log = dir.with_extension("log");
        let out = std::fs::File::create(&log).unwrap();
        let stdio = || std::process::Stdio::from(out.try_clone().unwrap());
        require(program, package);
        let supervisor = procs.start(
            Command::new(program)
                .arg(arg)
                .env("PATH", path)
                .stdout(stdio())
                .stderr(stdio()),
        );
        let s = Service {
            kind,
            dir,
            supervisor,
            log,
            live: None,
        };
        wait_for("the supervisor to report a state", || {
            s.status_text().is_some()
        });
        s
    }

    /// As s6-overlay runs services: the definitions in `source` (an
    /// s6-rc.d, one directory per service) compiled, s6-svscan on a scan
    /// directory beside it, `s6-rc-init` linking `scan/NAME` to the live
    /// service directory; the service `name` stays down until `s6-rc -u
    /// change` (Service::command('u')). `path`: the scanner's, so the
    /// service's, PATH, with the s6-rc programs after it.
    pub fn start_s6_rc(procs: &mut Procs, source: &Path, name: &str, path: &OsStr) -> Service {
        let source = source.canonicalize().unwrap();
        let root = source.parent().expect("beside the definitions");
        let (compiled, scan, live) = (root.join("compiled"), root.join("scan"), root.join("live"));
        let o = run(Command::new(s6_rc_program("s6-rc-compile"))
            .arg(&compiled)
            .arg(&source));
        assert_eq!(o.code(), 0, "s6-rc-compile: {o:?}");
        std::fs::create_dir_all(&scan).unwrap();
        let s6rc = s6_rc_program("s6-rc");
        let mut path = path.to_owned();
        path.push(":");
        path.push(s6rc.parent().unwrap());
        let log = scan.with_extension("log");
        let out = std::fs::File::create(&log).unwrap();
        let stdio = || std::process::Stdio::from(out.try_clone().unwrap());
        require("s6-svscan", "s6");
        let supervisor = procs.start(
            Command::new("s6-svscan")
                .arg(&scan)
                .env("PATH", &path)
                .stdout(stdio())
                .stderr(stdio()),
        );
        wait_for("s6-svscan to read its control FIFO", || {
            fifo_read(&scan.join(".s6-svscan/control"))
        });
        let o = run(Command::new(s6_rc_program("s6-rc-init"))
            .arg("-c")
            .arg(&compiled)
            .arg("-l")
            .arg(&live)
            .arg(&scan));
        assert_eq!(o.code(), 0, "s6-rc-init: {o:?}");
        let s = Service {
            kind: Kind::S6Rc,
            dir: scan.join(name),
            supervisor,
            log,
            live: Some(live),
        };
        wait_for("the supervisor to report a state", || {
            s.status_text().is_some()
        });
        s
    }

    /// `s6-rc -l LIVE -u|-d change what`, which waits for the service to
    /// be up and ready, or down.
    pub fn s6_rc_change(&self, up: bool, what: &str) -> super::Output {
        let live = self.live.as_ref().expect("a service of s6-rc");
        run(Command::new(s6_rc_program("s6-rc"))
            .arg("-l")
            .arg(live)
            .arg(if up { "-u" } else { "-d" })
            .arg("change")
            .arg(what))
    }

    /// What the service, its supervisor and its log service (if any) said.
    pub fn said(&self) -> String {
        super::harness::service_output(&self.dir, &self.log)
    }

    /// The supervisor's own tool's report, None while it has none.
    pub fn status_text(&self) -> Option<String> {
        let o = match self.kind {
            Kind::Runit => run(Command::new("sv").arg("status").arg(&self.dir)),
            Kind::S6 | Kind::S6Rc => run(Command::new("s6-svstat").arg(&self.dir)),
            Kind::Daemontools => run(Command::new("svstat").arg(&self.dir)),
        };
        let text = o.out();
        let known = [
            "run:", "down:", "finish:", "up ", "down ", ": up ", ": down ",
        ];
        (o.code() == 0 && known.iter().any(|k| text.contains(k)) && !text.contains("unable"))
            .then_some(text)
    }

    /// The pid the supervisor's own tool reports for the service.
    pub fn reported_pid(&self) -> Option<u32> {
        if self.kind.is_s6() {
            let o = run(Command::new("s6-svstat").args(["-o", "pid"]).arg(&self.dir));
            return o
                .out()
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|&p| p > 0)
                .map(|p| p as u32);
        }
        let text = self.status_text()?;
        let up = match self.kind {
            Kind::Runit => text.starts_with("run:"),
            _ => text.contains(": up (pid "),
        };
        let after = text.split_once("(pid ")?.1;
        up.then(|| after.split(')').next()?.parse().ok()).flatten()
    }

    pub fn reported_paused(&self) -> bool {
        if self.kind.is_s6() {
            return run(Command::new("s6-svstat")
                .args(["-o", "paused"])
                .arg(&self.dir))
            .out()
            .trim()
                == "true";
        }
        self.status_text().is_some_and(|t| t.contains("paused"))
    }

    /// `u`, `d`, `p`, `c`, `t` or `x`, through the supervisor's own tool.
    pub fn command(&self, c: char) {
        let o = match self.kind {
            Kind::Runit => {
                let verb = match c {
                    'u' => "up",
                    'd' => "down",
                    'p' => "pause",
                    'c' => "cont",
                    't' => "term",
                    'x' => "exit",
                    _ => panic!("no such command {c}"),
                };
                run(Command::new("sv").arg(verb).arg(&self.dir))
            }
            // s6-rc brings services up and down itself, waiting for them.
            Kind::S6Rc if "ud".contains(c) => {
                let name = self.dir.file_name().unwrap().to_string_lossy();
                self.s6_rc_change(c == 'u', &name)
            }
            Kind::S6 | Kind::S6Rc => {
                run(Command::new("s6-svc").arg(format!("-{c}")).arg(&self.dir))
            }
            Kind::Daemontools => run(Command::new("svc").arg(format!("-{c}")).arg(&self.dir)),
        };
        assert_eq!(o.code(), 0, "{c}: {o:?}");
    }

    /// Waits for the service to be up and returns the pid its tool reports.
    pub fn wait_up(&self) -> u32 {
        let mut pid = None;
        wait_for(&format!("{:?} to report the service up", self.kind), || {
            pid = self.reported_pid();
            pid.is_some()
        });
        pid.unwrap_or_default()
    }

    pub fn wait_down(&self) {
        let mut stuck_since = None;
        wait_until(
            &format!("{:?} to report the service down", self.kind),
            || {
                if self.reported_pid().is_none() && self.status_text().is_some() {
                    return Ok(());
                }
                if let Some(master) = self.reported_pid().filter(|&p| missed_its_workers_exit(p)) {
                    let since = *stuck_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() > std::time::Duration::from_secs(2) {
                        eprintln!(
                            "known: haproxy before 2.6: master {master} missed its last worker's exit after SIGTERM; killed (SIGKILL), as `sv kill` would"
                        );
                        // SAFETY: kill(2) on the service's own process, which the supervisor reports.
                        unsafe { libc::kill(master as i32, libc::SIGKILL) };
                    }
                }
                let log = self.said();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                Err(format!(
                    "{:?}; signals of the service's processes: {:?}; log ends: {tail:?}",
                    self.status_text(),
                    self.reported_pid().map(signal_state)
                ))
            },
        );
    }

    /// Until the supervisor has read every command written to
    /// supervise/control (FIONREAD: the bytes still in the FIFO), so that
    /// one sent before an event the test then causes is taken first.
    /// (supervise, seeing its service exit and a command in the same turn,
    /// handles the exit first.)
    pub fn wait_commands_read(&self) {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        let fifo = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(self.dir.join("supervise/control"))
            .expect("a supervisor reading supervise/control");
        wait_for("the supervisor to read its commands", || {
            let mut unread: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int, to `unread`.
            let r = unsafe { libc::ioctl(fifo.as_raw_fd(), libc::FIONREAD, &mut unread) };
            r == 0 && unread == 0
        });
    }

    pub fn kill_supervisor(&self) {
        // SAFETY: kill(2) on the supervisor this test started.
        unsafe { libc::kill(self.supervisor as i32, libc::SIGKILL) };
        self.wait_supervisor_gone();
    }

    /// Until the supervisor has exited. Reaped by Procs later; a zombie is
    /// gone enough: its FIFO is closed.
    pub fn wait_supervisor_gone(&self) {
        let stat = format!("/proc/{}/stat", self.supervisor);
        wait_for(&format!("the {:?} supervisor to exit", self.kind), || {
            std::fs::read_to_string(&stat).map_or(true, |s| s.contains(") Z "))
        });
    }
}

/// What `pid` and its children block, have pending and ignore, from
/// /proc: why a process does not die of the signal its supervisor sent.
fn signal_state(pid: u32) -> Vec<String> {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    std::iter::once(pid.to_string())
        .chain(children.split_whitespace().map(str::to_owned))
        .map(|p| {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
            let wanted: Vec<&str> = status
                .lines()
                .filter(|l| {
                    ["State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn"]
                        .iter()
                        .any(|k| l.starts_with(&format!("{k}:")))
                })
                .collect();
            format!("{p}: {}", wanted.join(" "))
        })
        .collect()
}

/// haproxy 2.4.0's master, told to stop (SIGTERM) after a reload under
/// load, now and then misses the exit of the worker it stopped: the worker
/// is a zombie and the master sleeps on, signals neither blocked nor
/// pending. Seen without pidchain: 1 of 15 times with `kill -USR2` then
/// `kill -TERM` by hand. Only that state, on haproxy before 2.6, is excused.
fn missed_its_workers_exit(master: u32) -> bool {
    if super::harness::haproxy_version() >= (2, 6, 0) {
        return false;
    }
    let children = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children"))
        .unwrap_or_default();
    !children.trim().is_empty()
        && children.split_whitespace().all(super::is_zombie)
        && pidchain::process::signals(master).is_some_and(|s| s.blocked == 0 && s.pending == 0)
}

/// Whether a process has the FIFO `fifo` open for reading: a non-blocking
/// open for writing succeeds only then.
fn fifo_read(fifo: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
        .is_ok()
}
