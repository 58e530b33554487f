//! Real haproxy for the recipe tests: a shipped example installed in a
//! temporary directory (only paths and the port rewritten), bounded load
//! on 127.0.0.1 with a new connection per request, and the haproxy
//! processes of one configuration found in /proc.

use super::harness::{self, EXAMPLES};
#[allow(unused_imports)]
pub use super::harness::{Client, Load, Stats, fetch, fetch_path, slow_backend};
use super::supervisors::{Kind, Service};
use super::{
    Output, Procs, TAG_VAR, new_tag, path_with_binaries, run, tempdir, wait_for, wait_until,
    writing,
};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The two ways the recipes run haproxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// examples/KIND/haproxy: the supervised process is haproxy itself,
    /// reloaded by handoff through a daemonized copy.
    Handoff,
    /// examples/KIND/haproxy-mw: the supervised process is the master.
    MasterWorker,
}

/// How long a test's reload may wait for the takeover (the recipes' TIMEOUT,
/// set lower than the harness's deadline so that a failure is the recipe's).
pub const RELOAD_TIMEOUT_MS: u32 = 15000;

pub struct Install {
    /// Carried by what the reloads start (a daemonized haproxy outlives
    /// the command), so that it is killed with the Install, pass or fail.
    tag: String,
    pub kind: Kind,
    pub mode: Mode,
    pub root: tempfile::TempDir,
    pub svc: PathBuf,
    pub rundir: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    /// Where the recipe and haproxy.cfg were copied from.
    examples: PathBuf,
    /// PATH for the supervisor and the reload: where they find pidchain.
    path: std::ffi::OsString,
}

pub fn free_port() -> u16 {
    harness::free_port().expect("a free port")
}

impl Install {
    fn layout(&self) -> harness::Layout<'_> {
        harness::Layout {
            port: self.port,
            config: &self.config,
            rundir: &self.rundir,
        }
    }

    /// examples/KIND/haproxy and examples/haproxy.cfg, with only the
    /// paths and the port rewritten; the response says `version`.
    pub fn new(kind: Kind, version: &str) -> Install {
        Install::with_mode(kind, Mode::Handoff, version)
    }

    pub fn with_mode(kind: Kind, mode: Mode, version: &str) -> Install {
        Install::from(
            Path::new(EXAMPLES),
            path_with_binaries(),
            kind,
            mode,
            version,
        )
    }

    /// The recipe from `examples`, run with `path` as PATH.
    pub fn from(
        examples: &Path,
        path: std::ffi::OsString,
        kind: Kind,
        mode: Mode,
        version: &str,
    ) -> Install {
        let root = tempdir();
        let dir = match kind {
            Kind::Runit => "runit",
            Kind::S6 => "s6",
            Kind::Daemontools => "daemontools",
            Kind::S6Rc => "s6-rc",
        };
        let recipe = harness::recipe_dir(examples, dir, mode == Mode::MasterWorker);
        // s6-rc: the definition copied into an s6-rc.d, as `haproxy` in
        // either mode, beside the shipped `user` bundle that names it, as
        // an s6-overlay user does; the service is `scan/haproxy`, the live
        // directory (s6-overlay's /run/service/haproxy).
        let (definition, svc) = match kind {
            Kind::S6Rc => (
                root.path().join("s6-rc.d/haproxy"),
                root.path().join("scan/haproxy"),
            ),
            _ => (root.path().join("haproxy"), root.path().join("haproxy")),
        };
        let inst = Install {
            tag: new_tag(),
            kind,
            mode,
            rundir: root.path().join("run"),
            config: root.path().join("haproxy.cfg"),
            svc,
            port: free_port(),
            root,
            examples: examples.to_owned(),
            path,
        };
        writing(|| {
            harness::copy_tree(&recipe, &definition).expect("the recipe copied");
            if kind == Kind::S6Rc {
                let user = definition.with_file_name("user");
                harness::copy_tree(&recipe.with_file_name("user"), &user).expect("the bundle");
            }
            let timeout = Some(RELOAD_TIMEOUT_MS);
            harness::point_recipe(&definition, &inst.config, &inst.rundir, timeout)
        })
        .expect("the recipe's variables");
        inst.set_version(version);
        inst
    }

    /// The shipped configuration, answering `version`.
    pub fn set_version(&self, version: &str) {
        self.write_config(self.shipped_config(version).as_bytes());
    }

    fn shipped_config(&self, version: &str) -> String {
        harness::config(&self.examples, &self.rundir, self.port, version).expect("haproxy.cfg")
    }

    /// Replaced by rename, as an editor or a deploy tool would.
    pub fn write_config(&self, text: &[u8]) {
        writing(|| harness::write_by_rename(&self.config, text)).expect("config written");
    }

    pub fn start(&self, procs: &mut Procs) -> Service {
        self.start_on_path(procs, &self.path)
    }

    /// The supervisor started with `path` as PATH. s6-rc: compiled,
    /// started, and the `user` bundle brought up, as s6-overlay does.
    fn start_on_path(&self, procs: &mut Procs, path: &std::ffi::OsStr) -> Service {
        if self.kind != Kind::S6Rc {
            return Service::start_with_path(procs, self.kind, &self.svc, path);
        }
        let source = self.root.path().join("s6-rc.d");
        let svc = Service::start_s6_rc(procs, &source, "haproxy", path);
        let o = svc.s6_rc_change(true, "user");
        assert_eq!(o.code(), 0, "s6-rc -u change user: {o:?}\n{}", svc.said());
        svc
    }

    /// The supervisor as a system runs it, starting the service's `log/`
    /// too: runsv (which starts it itself), s6-svscan or svscan.
    pub fn start_with_log(&self, procs: &mut Procs) -> Service {
        match self.kind {
            Kind::Runit | Kind::S6Rc => self.start(procs),
            _ => Service::start_scanned(procs, self.kind, &self.svc, &self.path),
        }
    }

    /// The supervisor, and so `run` and `finish`, with `dir` first in PATH.
    pub fn start_with_first_in_path(&self, procs: &mut Procs, dir: &Path) -> Service {
        let mut path = std::ffi::OsString::from(dir);
        path.push(":");
        path.push(&self.path);
        self.start_on_path(procs, &path)
    }

    pub fn handoff(&self) -> PathBuf {
        self.rundir.join("handoff.pid")
    }

    /// The shipped reload script, as root would run it; under s6-rc,
    /// whose live directory has none, the command on that directory
    /// (`haproxy-handoff reload /run/service/haproxy`).
    pub fn reload_command(&self) -> Command {
        let mut c = match self.kind {
            Kind::S6Rc => {
                let recipe = match self.mode {
                    Mode::Handoff => "haproxy-handoff",
                    Mode::MasterWorker => "haproxy-master",
                };
                let mut c = Command::new(self.which(recipe));
                c.arg("reload").arg(&self.svc);
                c
            }
            _ => Command::new(self.svc.join("reload")),
        };
        c.env("PATH", &self.path).env(TAG_VAR, &self.tag);
        c
    }

    /// The reload, with `dir` first in its PATH (the supervisor's is
    /// untouched).
    pub fn reload_command_with_first_in_path(&self, dir: &Path) -> Command {
        let mut path = std::ffi::OsString::from(dir);
        path.push(":");
        path.push(&self.path);
        let mut c = self.reload_command();
        c.env("PATH", path);
        c
    }

    /// Where the reload finds `prog` in its PATH.
    pub fn which(&self, prog: &str) -> PathBuf {
        std::env::split_paths(&self.path)
            .map(|d| d.join(prog))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{prog} not found in the reload's PATH"))
    }

    /// What this Install's reload commands started that still runs and is
    /// not an haproxy of this configuration: a killed reload's children
    /// (a check, the subshell starting the copy) finish their work.
    pub fn reload_leftovers(&self) -> Vec<i32> {
        let haproxies = self.haproxies();
        super::tagged(&self.tag)
            .into_iter()
            .filter(|&p| !haproxies.contains(&(p as u32)))
            // Zombies have done their work.
            .filter(|&p| !super::is_zombie(p))
            .collect()
    }

    /// `haproxy-handoff VERB DIR` (wait, status) on this service
    /// directory, as an operator would ask from anywhere.
    pub fn handoff_verb_command(&self, verb: &str) -> Command {
        let mut c = Command::new(self.which("haproxy-handoff"));
        c.arg(verb)
            .arg(&self.svc)
            .env("PATH", &self.path)
            .env(TAG_VAR, &self.tag);
        c
    }

    pub fn handoff_verb(&self, verb: &str) -> Output {
        run(&mut self.handoff_verb_command(verb))
    }

    pub fn reload(&self) -> Output {
        run(&mut self.reload_command())
    }

    /// Live (not zombie) haproxy processes running this configuration.
    pub fn haproxies(&self) -> Vec<u32> {
        harness::haproxies(&self.config)
    }

    /// The daemonized copy a reload started: the haproxy of this
    /// configuration started with -D, once the process that launched it
    /// has exited (until then there are two: `haproxy -D` forks the copy,
    /// which may serve before its launcher is gone). It runs when reload
    /// returns, and until the restarted supervised haproxy takes over from
    /// it, at least a second later (each supervisor waits that long to
    /// restart a service that ran for less than a second).
    pub fn daemonized_copy(&self) -> u32 {
        let daemonized = || -> Vec<u32> {
            self.haproxies()
                .into_iter()
                .filter(|p| {
                    std::fs::read(format!("/proc/{p}/cmdline"))
                        .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == b"-D"))
                })
                .collect()
        };
        let mut copy = vec![];
        wait_for("one daemonized copy, its launcher gone", || {
            copy = daemonized();
            copy.len() == 1
        });
        copy[0]
    }

    /// One request on a new connection: the body, or why it failed.
    pub fn fetch(&self) -> Result<String, String> {
        fetch(self.port)
    }

    /// The state every reload must end in (see `harness::settled`), with
    /// the supervised pid as the supervisor's own tool reports it.
    pub fn settled(&self, svc: &Service, version: &str) -> Result<u32, String> {
        let master_worker = self.mode == Mode::MasterWorker;
        let supervised = svc.reported_pid();
        harness::settled(&self.layout(), version, supervised, master_worker)
    }

    /// Settled, and still so on a second look.
    pub fn wait_settled(&self, svc: &Service, version: &str) -> u32 {
        let mut pid = 0;
        wait_until(&format!("{:?} to settle on {version}", self.kind), || {
            let first = self.settled(svc, version)?;
            match self.settled(svc, version)? {
                again if again == first => {
                    pid = first;
                    Ok(())
                }
                again => Err(format!("settled on {first}, then on {again}")),
            }
        });
        pid
    }
}
impl Drop for Install {
    fn drop(&mut self) {
        super::kill_tagged(&self.tag);
    }
}

impl Install {
    /// The shipped configuration, plus `/slow` sent to a backend on
    /// `backend_port`.
    pub fn set_version_with_slow_backend(&self, version: &str, backend_port: u16) {
        let cfg = harness::with_slow_backend(&self.shipped_config(version), version, backend_port);
        self.write_config(cfg.as_bytes());
    }

    /// The shipped configuration, plus a second address that `haproxy -c`
    /// accepts but a start cannot bind (the test holds it).
    pub fn set_version_with_taken_address(&self, version: &str, taken: u16) {
        self.set_version(version);
        let cfg = std::fs::read_to_string(&self.config).unwrap();
        let bind = format!("    bind 127.0.0.1:{}\n", self.port);
        assert!(cfg.contains(&bind));
        let cfg = cfg.replace(&bind, &format!("{bind}    bind 127.0.0.1:{taken}\n"));
        self.write_config(cfg.as_bytes());
    }

    /// The shipped configuration, plus a map of `lines` entries looked up
    /// on every request: an haproxy that takes a while to load and start.
    pub fn set_version_with_large_map(&self, version: &str, lines: usize) {
        let map = self.root.path().join("large.map");
        let cfg = writing(|| harness::made_large(&self.shipped_config(version), &map, lines, 0))
            .expect("a large configuration");
        self.write_config(cfg.as_bytes());
    }

    /// s6: `s6-svwait -U` returns, and `version` is served at once, by
    /// the first request after it.
    pub fn assert_ready_and_serving(&self, svc: &Service, version: &str) {
        let o = run(Command::new("s6-svwait")
            .args(["-U", "-t", "30000"])
            .arg(&svc.dir));
        assert_eq!(o.code(), 0, "{o:?}");
        assert_eq!(
            self.fetch(),
            Ok(version.to_owned()),
            "ready, but not serving"
        );
    }

    /// The master's reload count, as its CLI says (master-worker mode).
    /// Its CLI can refuse a connection for a moment, as the recipes' own
    /// first question allows for too.
    pub fn master_reloads(&self) -> u64 {
        let o = run(Command::new(super::HAPROXY_RELOADS)
            .args(["-w", "10000"])
            .arg(self.rundir.join("master.sock")));
        assert_eq!(o.code(), 0, "{o:?}");
        o.out().trim().parse().expect("a count")
    }
}

/// Installed as shipped, started, and settled on `v0`.
pub fn started(kind: Kind, mode: Mode, procs: &mut Procs) -> (Install, Service, u32) {
    let inst = Install::with_mode(kind, mode, "v0");
    let svc = inst.start(procs);
    let pid = inst.wait_settled(&svc, "v0");
    (inst, svc, pid)
}

/// A configuration haproxy -c accepts but that cannot bind (`taken_port`
/// is held): the reload fails saying so, and haproxy `pid` serves on.
pub fn assert_a_taken_address_fails_the_reload(
    inst: &Install,
    svc: &Service,
    pid: u32,
    taken_port: u16,
    what: &str,
) {
    inst.set_version_with_taken_address("v1", taken_port);
    let o = inst.reload();
    assert_eq!(o.code(), 1, "{what}: {o:?}");
    let why = match inst.mode {
        Mode::Handoff => "haproxy-handoff: fatal: the new haproxy did not start",
        Mode::MasterWorker => "haproxy-master: fatal: haproxy cannot start with",
    };
    assert!(o.stderr.contains(why), "{what}: {o:?}");
    assert_eq!(inst.settled(svc, "v0"), Ok(pid), "{what}");
}

/// The service taken down through its supervisor: a haproxy of this
/// configuration still running after that is an orphan.
pub fn assert_no_orphan(inst: &Install, svc: &Service) {
    svc.command('d');
    svc.wait_down();
    wait_for("every haproxy of this configuration to exit", || {
        inst.haproxies().is_empty()
    });
}

/// A reload's standard error without what the haproxy it started said
/// of its own start: haproxy 3.3 prints its notices and warnings (never
/// an alert, on a start that works) even when it daemonizes.
pub fn said_by_pidchain(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("[NOTICE]") && !l.starts_with("[WARNING]"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// What a reload that exited 0 (`said`) promises, checked the moment it
/// returns: the new configuration answers, and (handoff) the copy it
/// names answers on the stats socket with its own pid, the haproxy
/// before it told to finish and recorded as draining while it lives (or,
/// its drain short, already replaced by a supervised haproxy that took
/// the copy over), or (master-worker) the supervised master is the same
/// and has one more reload done. Returns the haproxy that serves: the
/// copy, or the supervised haproxy that took it over.
pub fn assert_verified(
    inst: &Install,
    svc: &Service,
    before: u32,
    version: &str,
    what: &str,
    said: &Output,
) -> u32 {
    assert_eq!(inst.fetch(), Ok(version.to_owned()), "{what}");
    let serving = match inst.mode {
        Mode::Handoff => {
            let copy = reloaded_copy(inst, said).unwrap_or_else(|| panic!("{what}: {said:?}"));
            let answering = answering(inst).unwrap_or_else(|e| panic!("{what}: {e}"));
            let now = svc.reported_pid();
            if answering != copy {
                // Taken over since: only from the copy, once it answered.
                assert!(
                    now == Some(answering) && answering != before,
                    "{what}: haproxy {answering} answers, not the copy {copy} nor a new \
                     supervised haproxy (supervised {now:?}, before {before})"
                );
                assert!(!inst.handoff().exists(), "{what}: handoff pidfile left");
            } else if let Ok(pending) = std::fs::read_to_string(inst.handoff()) {
                // Else run has consumed it, and takes over from the copy.
                assert_eq!(pending.trim(), copy.to_string(), "{what}: handoff pidfile");
            }
            assert_ne!(copy, before, "{what}");
            assert!(
                !inst.haproxies().contains(&before) || draining_records(inst).contains(&before),
                "{what}: haproxy {before} runs on, not recorded as draining: {:?}",
                draining_records(inst)
            );
            answering
        }
        Mode::MasterWorker => {
            let now = svc.reported_pid().expect("supervised");
            assert_eq!(now, before, "{what}: the master changed");
            now
        }
    };
    assert!(
        !inst.rundir.join("admin.sock.serving").exists(),
        "{what}: the stats socket's second name left"
    );
    serving
}

/// The copy a handoff reload that exited 0 says serves.
pub fn reloaded_copy(inst: &Install, said: &Output) -> Option<u32> {
    let line = said.out();
    let rest = line.strip_prefix("haproxy-handoff: info: reloaded: haproxy ")?;
    let (pid, rest) = rest.split_once(' ')?;
    let config = format!("serves {}; draining: ", inst.config.display());
    rest.starts_with(&config).then_some(())?;
    pid.parse().ok()
}

/// The pid of the haproxy answering on the service's stats socket.
pub fn answering(inst: &Install) -> Result<u32, String> {
    let o = run(super::cmd(super::HAPROXY_PID).arg(inst.rundir.join("admin.sock")));
    o.out()
        .trim()
        .parse()
        .map_err(|_| format!("no haproxy answers: {o:?}"))
}

/// The pids recorded in RUNDIR/draining, in order.
pub fn draining_records(inst: &Install) -> Vec<u32> {
    let mut pids: Vec<u32> = std::fs::read_dir(inst.rundir.join("draining"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort();
    pids
}

/// The reload whose copy was killed once handed over: killed before the
/// reload's last look, it says so (1); after, the reload had answered 0.
/// Either way run, once the old haproxy has drained, finds the copy dead
/// and starts cold with the new configuration. (The copy's own notices,
/// haproxy 3's, come before.)
pub fn assert_answered_or_copy_gone(inst: &Install, o: &Output, copy: u32, what: &str) {
    match o.code() {
        0 => {}
        1 => assert_eq!(
            said_by_pidchain(&o.stderr),
            format!(
                "haproxy-handoff: fatal: haproxy {copy} no longer answers on {}\n",
                inst.rundir.join("admin.sock").display()
            ),
            "{what}: {o:?}"
        ),
        _ => panic!("{what}: {o:?}"),
    }
}
