//! What the demonstration and the reload benchmark share on top of the
//! test harness: a throwaway haproxy service in a temporary directory on
//! a loopback port, and the cleanup of every process started, Ctrl-C
//! included.

use crate::harness::{self, TAG_VAR};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

pub fn catch_interrupts() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn have(tool: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(tool).is_file())
}

/// Puts the built pidchain programs (beside target/*/examples/) and the
/// shipped commands first in PATH, for this process and everything it
/// starts.
pub fn use_built_tools() -> Result<(), String> {
    let tools = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.to_path_buf()))
        .unwrap_or_default();
    if !tools.join("sv-pid").is_file() {
        return Err("build the tools first (make try, make bench-reload)".into());
    }
    let old = std::env::var_os("PATH").unwrap_or_default();
    let mut first = vec![tools.clone(), PathBuf::from(harness::RECIPES)];
    // HAPROXY=/path: that haproxy wherever `haproxy` runs, named haproxy.
    if let Some(h) = std::env::var_os("HAPROXY").filter(|h| !h.is_empty()) {
        let dir = tools.join("haproxy-under-test");
        let link = dir.join("haproxy");
        let made = std::fs::create_dir_all(&dir).and_then(|()| match std::fs::remove_file(&link) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => std::os::unix::fs::symlink(std::path::absolute(&h)?, &link),
        });
        made.map_err(|e| format!("{}: {e}", link.display()))?;
        first.insert(0, dir);
    }
    let path = std::env::join_paths(first.into_iter().chain(std::env::split_paths(&old)))
        .map_err(|e| e.to_string())?;
    // SAFETY: called before any thread is started.
    unsafe { std::env::set_var("PATH", path) };
    Ok(())
}

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A service directory under a supervisor, with its haproxy configuration.
pub struct Service {
    pub dir: PathBuf,
    pub svc: PathBuf,
    pub rundir: PathBuf,
    pub config: PathBuf,
    pub port: u16,
    tag: String,
    supervisor: Option<Child>,
    /// A large configuration: map entries and extra backends.
    large: Option<(usize, usize)>,
    /// A line of examples/haproxy.cfg left out.
    omitted: Option<&'static str>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(c) = &mut self.supervisor {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Every process this service's commands started, daemonized
        // haproxy copies included.
        harness::kill_tagged(&self.tag, Duration::from_secs(2));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Service {
    fn layout(&self) -> harness::Layout<'_> {
        harness::Layout {
            port: self.port,
            config: &self.config,
            rundir: &self.rundir,
        }
    }

    /// An empty service directory named `name`, and a free loopback port.
    pub fn new(name: &str) -> Result<Service, String> {
        let tag = format!("{}-{name}", std::process::id());
        let dir = std::env::temp_dir().join(format!("pidchain-demo.{tag}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let port = harness::free_port().map_err(|e| e.to_string())?;
        Ok(Service {
            svc: dir.join("haproxy"),
            rundir: dir.join("run"),
            config: dir.join("haproxy.cfg"),
            dir,
            port,
            tag,
            supervisor: None,
            large: None,
            omitted: None,
        })
    }

    /// The shipped recipe `examples/FLAVOUR/haproxy`, configured through its env/.
    pub fn install_recipe(&self, flavour: &str) -> Result<(), String> {
        self.install_recipe_from(flavour, "haproxy")
    }

    /// `examples/FLAVOUR/RECIPE` (`haproxy` or `haproxy-mw`), configured
    /// through its env/.
    /// `examples/s6-rc/RECIPE`: copied into an s6-rc.d as `haproxy`,
    /// beside the `user` bundle, as an s6-overlay user does (see `start`).
    pub fn install_recipe_from(&self, flavour: &str, recipe: &str) -> Result<(), String> {
        let examples = Path::new(ROOT).join("examples");
        let to = match flavour {
            "s6-rc" => {
                let user = examples.join("s6-rc/user");
                harness::copy_tree(&user, &self.dir.join("s6-rc.d/user"))
                    .map_err(|e| e.to_string())?;
                self.dir.join("s6-rc.d/haproxy")
            }
            _ => self.svc.clone(),
        };
        harness::copy_tree(&examples.join(flavour).join(recipe), &to).map_err(|e| e.to_string())?;
        harness::point_recipe(&to, &self.config, &self.rundir, None)
    }

    /// A service directory whose run script is `run` (`$CONFIG` in it replaced).
    pub fn install_run(&self, run: &str) -> Result<(), String> {
        std::fs::create_dir_all(&self.svc).map_err(|e| e.to_string())?;
        let p = self.svc.join("run");
        std::fs::write(&p, run.replace("$CONFIG", &self.config.to_string_lossy()))
            .and_then(|()| std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)))
            .map_err(|e| e.to_string())
    }

    /// From now on, configurations without `line` (which must be there).
    pub fn omit(&mut self, line: &'static str) {
        self.omitted = Some(line);
    }

    /// From now on, configurations made large (see `harness::made_large`).
    pub fn make_large(&mut self, map_lines: usize, backends: usize) {
        self.large = Some((map_lines, backends));
    }

    /// examples/haproxy.cfg with this service's paths and port, answering `version`.
    pub fn write_config(&self, version: &str) -> Result<(), String> {
        self.write_config_with(version, None)
    }

    /// The same, and with a backend on `slow` port, `/slow` sent to it.
    pub fn write_config_with(&self, version: &str, slow: Option<u16>) -> Result<(), String> {
        let examples = Path::new(ROOT).join("examples");
        let mut text = harness::config(&examples, &self.rundir, self.port, version)?;
        if let Some(port) = slow {
            text = harness::with_slow_backend(&text, version, port);
        }
        if let Some(line) = self.omitted {
            let without = text.replacen(&format!("{line}\n"), "", 1);
            if without == text {
                return Err(format!("examples/haproxy.cfg has no line {line:?}"));
            }
            text = without;
        }
        if let Some((lines, backends)) = self.large {
            let map = self.dir.join("large.map");
            text = harness::made_large(&text, &map, lines, backends).map_err(|e| e.to_string())?;
        }
        std::fs::create_dir_all(&self.rundir).map_err(|e| e.to_string())?;
        harness::write_by_rename(&self.config, text.as_bytes()).map_err(|e| e.to_string())
    }

    /// `supervisor` on the service directory; `s6-rc`: the s6-rc.d
    /// compiled, s6-svscan on a scan directory, `s6-rc-init`, and the
    /// `user` bundle brought up, as s6-overlay does: the service is then
    /// the live directory, which has no reload script (see `spawn_reload`).
    pub fn start(&mut self, supervisor: &str) -> Result<(), String> {
        if supervisor == "s6-rc" {
            return self.start_s6_rc();
        }
        self.start_on(supervisor, &self.svc.clone())
    }

    fn start_on(&mut self, supervisor: &str, dir: &Path) -> Result<(), String> {
        let log =
            std::fs::File::create(self.dir.join("supervisor.log")).map_err(|e| e.to_string())?;
        let child = Command::new(supervisor)
            .arg(dir)
            .env(TAG_VAR, &self.tag)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("unable to start {supervisor}: {e}"))?;
        self.supervisor = Some(child);
        Ok(())
    }

    fn start_s6_rc(&mut self) -> Result<(), String> {
        let bin = s6_rc_dir()?;
        let (compiled, scan, live) = (
            self.dir.join("compiled"),
            self.dir.join("scan"),
            self.dir.join("live"),
        );
        let source = self.dir.join("s6-rc.d");
        self.command(&bin.join("s6-rc-compile"), &[&compiled, &source])?;
        std::fs::create_dir_all(&scan).map_err(|e| e.to_string())?;
        self.start_on("s6-svscan", &scan)?;
        wait("s6-svscan", Duration::from_secs(10), || {
            std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(scan.join(".s6-svscan/control"))
                .ok()
        })?;
        let c = Path::new("-c");
        let l = Path::new("-l");
        self.command(&bin.join("s6-rc-init"), &[c, &compiled, l, &live, &scan])?;
        self.svc = scan.join("haproxy");
        let (up, change, user) = (Path::new("-u"), Path::new("change"), Path::new("user"));
        self.command(&bin.join("s6-rc"), &[l, &live, up, change, user])
    }

    /// The reload: the service directory's `reload`, or under s6-rc the
    /// command on the live directory.
    pub fn spawn_reload(&self) -> Result<std::process::Child, String> {
        let reload = self.svc.join("reload");
        if reload.is_file() {
            return self.spawn_command(&reload, &[]);
        }
        self.spawn_command(
            Path::new("haproxy-handoff"),
            &[Path::new("reload"), &self.svc],
        )
    }

    /// Starts a command (a reload) tagged as this service's.
    pub fn spawn_command(&self, program: &Path, args: &[&Path]) -> Result<Child, String> {
        Command::new(program)
            .args(args)
            .env(TAG_VAR, &self.tag)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())
    }

    /// Runs a command (a reload) tagged as this service's, to completion.
    pub fn command(&self, program: &Path, args: &[&Path]) -> Result<(), String> {
        let out = Command::new(program)
            .args(args)
            .env(TAG_VAR, &self.tag)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// How many lines the supervisor and haproxy printed contain `text`.
    pub fn log_count(&self, text: &str) -> usize {
        self.said().matches(text).count()
    }

    /// What the supervisor, haproxy and the service's log service said.
    fn said(&self) -> String {
        harness::service_output(&self.svc, &self.dir.join("supervisor.log"))
    }

    /// The last lines the supervisor and haproxy printed, for an error.
    pub fn log_tail(&self) -> String {
        let log = self.said();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    pub fn supervised_pid(&self) -> Option<u32> {
        let o = Command::new("sv-pid")
            .arg("-o")
            .arg(&self.svc)
            .output()
            .ok()?;
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    }

    /// Live haproxy processes running this configuration.
    pub fn haproxies(&self) -> Vec<u32> {
        harness::haproxies(&self.config)
    }

    pub fn serves(&self, version: &str) -> bool {
        harness::fetch(self.port).is_ok_and(|b| b == version)
    }

    /// After a handoff, what the tests check too (`harness::settled`): the
    /// new version served, the handoff pidfile consumed and nothing left of
    /// it, one haproxy, the supervised one.
    pub fn handed_over(&self, version: &str) -> Option<u32> {
        let supervised = self.supervised_pid();
        harness::settled(&self.layout(), version, supervised, false).ok()
    }
}

/// The s6-rc programs: `$PIDCHAIN_S6RC` (make bench-reload sets it from
/// ../shared/s6-rc/build.sh; Debian 12 has no s6-rc).
pub fn s6_rc_dir() -> Result<PathBuf, String> {
    std::env::var_os("PIDCHAIN_S6RC")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .filter(|d| d.join("s6-rc").is_file())
        .ok_or_else(|| "PIDCHAIN_S6RC: not the directory of the s6-rc programs".to_owned())
}

/// Polls `f` until it gives a value, the time runs out, or Ctrl-C.
pub fn wait<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T, String> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if interrupted() {
            return Err("interrupted".into());
        }
        if Instant::now() > end {
            return Err(format!("timed out waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Removes `-x "$SOCKET"` (sh) or `-x ${SOCKET}` (execline) from a recipe.
/// haproxy-handoff without `-x`: each haproxy binds its own listeners.
pub fn without_socket_transfer(text: &str) -> Result<String, String> {
    let out = text.replace(" -x \"$SOCKET\"", "");
    if out == text {
        return Err("haproxy-handoff passes no -x".into());
    }
    Ok(out)
}

impl Service {
    /// For a method the benchmark compares with the shipped one: this
    /// service's run, finish and reload call `edit`'s version of
    /// haproxy-handoff, written beside the service directory.
    pub fn with_handoff_variant(
        &self,
        edit: impl Fn(&str) -> Result<String, String>,
    ) -> Result<(), String> {
        let shipped = Path::new(harness::RECIPES).join("haproxy-handoff");
        let text = std::fs::read_to_string(&shipped).map_err(|e| e.to_string())?;
        let variant = self.dir.join("haproxy-handoff-variant");
        std::fs::write(&variant, edit(&text)?).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&variant, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        for script in ["run", "finish", "reload"] {
            let p = self.svc.join(script);
            let text = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
            let out = text.replace(" haproxy-handoff ", &format!(" {} ", variant.display()));
            if out == text {
                return Err(format!("{} does not call haproxy-handoff", p.display()));
            }
            std::fs::write(&p, out).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

pub fn median_p99(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    (at(0.5), at(0.99))
}
