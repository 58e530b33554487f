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
}

pub const ALL: [Kind; 3] = [Kind::Runit, Kind::S6, Kind::Daemontools];

/// What each needs from Debian, said when a tool is missing.
fn require(tool: &str, package: &str) {
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
        let log = dir.with_extension("log");
        let out = std::fs::File::create(&log).unwrap();
        let stdio = || std::process::Stdio::from(out.try_clone().unwrap());
        let (program, package) = match kind {
            Kind::Runit => ("runsv", "runit"),
            Kind::S6 => ("s6-supervise", "s6"),
            Kind::Daemontools => ("supervise", "daemontools"),
        };
        require(program, package);
        let supervisor = procs.start(
            Command::new(program)
                .arg(&dir)
                .env("PATH", path)
                .stdout(stdio())
                .stderr(stdio()),
        );
        let s = Service {
            kind,
            dir,
            supervisor,
            log,
        };
        wait_for("the supervisor to report a state", || {
            s.status_text().is_some()
        });
        s
    }

    /// The supervisor's own tool's report, None while it has none.
    pub fn status_text(&self) -> Option<String> {
        let o = match self.kind {
            Kind::Runit => run(Command::new("sv").arg("status").arg(&self.dir)),
            Kind::S6 => run(Command::new("s6-svstat").arg(&self.dir)),
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
        if self.kind == Kind::S6 {
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
        if self.kind == Kind::S6 {
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
            Kind::S6 => run(Command::new("s6-svc").arg(format!("-{c}")).arg(&self.dir)),
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
        wait_until(
            &format!("{:?} to report the service down", self.kind),
            || {
                if self.reported_pid().is_none() && self.status_text().is_some() {
                    return Ok(());
                }
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                Err(format!("{:?}; log ends: {tail:?}", self.status_text()))
            },
        );
    }

    pub fn kill_supervisor(&self) {
        // SAFETY: kill(2) on the supervisor this test started.
        unsafe { libc::kill(self.supervisor as i32, libc::SIGKILL) };
        let proc_dir = format!("/proc/{}", self.supervisor);
        // Reaped by Procs later; a zombie is gone enough: its FIFO is closed.
        wait_for("the supervisor to die", || {
            std::fs::read_to_string(format!("{proc_dir}/stat")).map_or(true, |s| s.contains(") Z "))
        });
    }
}
