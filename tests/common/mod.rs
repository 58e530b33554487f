//! Helpers shared by the integration tests: run the built binaries as a
//! user would, with deadlines instead of sleeps, and kill every process a
//! test starts when it ends, pass or fail.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const PIDFILE_READ: &str = env!("CARGO_BIN_EXE_pidfile-read");
pub const HAPROXY_SF: &str = env!("CARGO_BIN_EXE_haproxy-sf");
pub const SV_PID: &str = env!("CARGO_BIN_EXE_sv-pid");
pub const HAPROXY_PID: &str = env!("CARGO_BIN_EXE_haproxy-pid");
pub const HAPROXY_RELOADS: &str = env!("CARGO_BIN_EXE_haproxy-reloads");

/// Generous: the machine is shared, and a deadline is a failure, not a pace.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}, stdout {:?}, stderr {:?}",
            self.status,
            self.out(),
            self.stderr
        )
    }
}

/// Runs `cmd` to completion within DEADLINE (killed and failed after it).
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_output(spawn(cmd))
}

pub fn wait_output(child: Child) -> Output {
    wait_output_within(child, DEADLINE)
}

/// As wait_output, for a command that may rightly take longer than
/// DEADLINE (one queued behind others, each bounded on its own).
pub fn wait_output_within(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut v);
        }
        v
    });
    let mut stderr = String::new();
    if let Some(e) = err.as_mut() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {limit:?}; stderr so far: {stderr}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = reader.join().expect("reader");
    assert!(
        !stderr.contains("panicked"),
        "a panic reached the user: {stderr}"
    );
    Output {
        status,
        stdout,
        stderr,
    }
}

pub fn cmd(bin: &str) -> Command {
    let mut c = Command::new(bin);
    c.env_remove("SV_PID").env_remove("PIDFILE_PID");
    c
}

pub mod gate;
pub mod haproxy;
pub mod harness;
pub mod peer;
pub mod supervisors;

/// The haproxy the tests run: `$HAPROXY` when set (any version, e.g. one
/// built by ../shared/haproxy/build.sh), else the one in PATH (Debian's).
pub fn haproxy_binary() -> PathBuf {
    match std::env::var_os("HAPROXY") {
        Some(h) if !h.is_empty() => {
            let h = PathBuf::from(h);
            assert!(h.is_file(), "HAPROXY={}: no such file", h.display());
            h
        }
        _ => which("haproxy"),
    }
}

/// PATH with the directory of the built pidchain programs first, then the
/// shipped commands (haproxy-handoff, haproxy-master), as installed.
pub fn path_with_binaries() -> std::ffi::OsString {
    let bins = Path::new(SV_PID)
        .parent()
        .expect("binary directory")
        .to_path_buf();
    let old = std::env::var_os("PATH").unwrap_or_default();
    let first = [bins, PathBuf::from(harness::RECIPES)];
    std::env::join_paths(first.into_iter().chain(std::env::split_paths(&old))).expect("PATH")
}

/// Processes a test started; every one still running is killed (by pid)
/// and reaped when the test ends, however it ends. Each gets an
/// environment tag, so that what they start in turn (a service in its own
/// session, a daemonized haproxy) is found in /proc and killed too.
pub struct Procs {
    children: Vec<Child>,
    tag: String,
}

pub use harness::{TAG_VAR, tagged};

/// A tag no other set of processes in this run has.
pub fn new_tag() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

/// Kills, by pid, every process that carries `tag`, until none is left
/// (or DEADLINE passes).
pub fn kill_tagged(tag: &str) {
    harness::kill_tagged(tag, DEADLINE)
}

impl Default for Procs {
    fn default() -> Self {
        Procs {
            children: Vec::new(),
            tag: new_tag(),
        }
    }
}

impl Procs {
    pub fn new() -> Self {
        Procs::default()
    }

    /// A process in its own process group, so that it and whatever it
    /// starts can be killed together.
    pub fn start(&mut self, cmd: &mut Command) -> u32 {
        cmd.process_group(0).env(TAG_VAR, &self.tag);
        let child = spawn(cmd);
        let pid = child.id();
        self.children.push(child);
        pid
    }

    pub fn spawn(&mut self, cmd: &mut Command) -> Child {
        spawn(cmd.env(TAG_VAR, &self.tag))
    }

    /// Kills and reaps one child now: its pid is then free, a dead pid.
    pub fn reap(&mut self, pid: u32) {
        if let Some(i) = self.children.iter().position(|c| c.id() == pid) {
            let mut c = self.children.remove(i);
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.children {
            // SAFETY: kill on a pid we started and have not reaped yet.
            unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
            let _ = c.kill();
            let _ = c.wait();
        }
        // Supervisors are gone now, so nothing restarts what is left.
        kill_tagged(&self.tag);
    }
}

/// Polls `cond` until it holds or DEADLINE passes; fails with `what`.
/// Whether `pid` has exited and its parent has not reaped it yet.
pub fn is_zombie(pid: impl std::fmt::Display) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    wait_until(what, || if cond() { Ok(()) } else { Err(String::new()) })
}

/// The same for a condition that says why it does not hold yet: the
/// last reason is in the failure.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let why = match cond() {
            Ok(()) => return,
            Err(why) => why,
        };
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {why}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub fn is_root() -> bool {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Forks and writes of files must not overlap. A child forked while a file
/// is open for writing holds that descriptor until it execs, and an exec of
/// the file meanwhile fails with ETXTBSY ("Text file busy"): tests write
/// scripts and programs and run them at once, from many threads.
static FORKS_VS_WRITES: std::sync::RwLock<()> = std::sync::RwLock::new(());

pub fn spawn(cmd: &mut Command) -> Child {
    let _forking = FORKS_VS_WRITES.read().unwrap_or_else(|e| e.into_inner());
    cmd.spawn().expect("spawn")
}

/// Runs `write` with no fork under way in this process.
pub fn writing<T>(write: impl FnOnce() -> T) -> T {
    let _writing = FORKS_VS_WRITES.write().unwrap_or_else(|e| e.into_inner());
    write()
}

pub fn write_file(path: &Path, content: &[u8], mode: u32) {
    writing(|| write_file_now(path, content, mode))
}

fn write_file_now(path: &Path, content: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pidchain-test.")
        .tempdir()
        .expect("tempdir")
}

/// A long-lived process named `name` (a symlink to sleep, so that its
/// comm is `name`), for the name checks.
pub fn start_named(procs: &mut Procs, dir: &Path, name: &str) -> u32 {
    let link = dir.join(name);
    if !link.exists() {
        std::os::unix::fs::symlink(which("sleep"), &link).expect("symlink");
    }
    let pid = procs.start(Command::new(&link).arg("1000"));
    let comm = format!("/proc/{pid}/comm");
    let want = &name[..name.len().min(15)];
    wait_for("the process to exec", || {
        std::fs::read_to_string(&comm).is_ok_and(|c| c.trim_end() == want)
    });
    pid
}

/// A pid that was a real process and has been reaped.
pub fn dead_pid(procs: &mut Procs) -> u32 {
    let pid = procs.start(&mut Command::new("true"));
    procs.reap(pid);
    pid
}

pub fn which(prog: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{prog} not found in PATH"))
}

/// `sh -c 'printf ...' sh` that prints its arguments NUL-separated, so a
/// test can check argv byte for byte.
pub fn argv_dumper() -> Vec<&'static OsStr> {
    vec![
        OsStr::new("sh"),
        OsStr::new("-c"),
        OsStr::new("cat /proc/$$/cmdline"),
        OsStr::new("dump"),
    ]
}

/// Splits /proc/PID/cmdline output back into arguments.
pub fn split_nul(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = bytes.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    if v.last().is_some_and(Vec::is_empty) {
        v.pop();
    }
    v
}

/// Runs `argv` with exactly `envp`, duplicates and all (execve(2) allows a
/// name twice; Command cannot say it), within DEADLINE. posix_spawn, not
/// fork: this process has threads.
pub fn run_with_envp(argv: &[&[u8]], envp: &[&[u8]]) -> Output {
    use std::ffi::CString;
    let d = tempdir();
    let out = d.path().join("out");
    let err = d.path().join("err");
    let cstrings = |v: &[&[u8]]| -> Vec<CString> {
        v.iter()
            .map(|s| CString::new(*s).expect("no NUL"))
            .collect()
    };
    let args = cstrings(argv);
    let envs = cstrings(envp);
    let mut arg_ptrs: Vec<*mut libc::c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
    arg_ptrs.push(std::ptr::null_mut());
    let mut env_ptrs: Vec<*mut libc::c_char> = envs.iter().map(|e| e.as_ptr().cast_mut()).collect();
    env_ptrs.push(std::ptr::null_mut());
    let out_c = CString::new(out.as_os_str().as_encoded_bytes()).unwrap();
    let err_c = CString::new(err.as_os_str().as_encoded_bytes()).unwrap();
    let mut pid: libc::pid_t = 0;
    let _forking = FORKS_VS_WRITES.read().unwrap_or_else(|e| e.into_inner());
    // SAFETY: every pointer is to a live NUL-terminated string or array.
    let rc = unsafe {
        let mut fa: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        libc::posix_spawn_file_actions_init(&mut fa);
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
        libc::posix_spawn_file_actions_addopen(
            &mut fa,
            0,
            c"/dev/null".as_ptr(),
            libc::O_RDONLY,
            0,
        );
        libc::posix_spawn_file_actions_addopen(&mut fa, 1, out_c.as_ptr(), flags, 0o600);
        libc::posix_spawn_file_actions_addopen(&mut fa, 2, err_c.as_ptr(), flags, 0o600);
        let rc = libc::posix_spawn(
            &mut pid,
            args[0].as_ptr(),
            &fa,
            std::ptr::null(),
            arg_ptrs.as_ptr(),
            env_ptrs.as_ptr(),
        );
        libc::posix_spawn_file_actions_destroy(&mut fa);
        rc
    };
    drop(_forking);
    assert_eq!(rc, 0, "posix_spawn {:?}", args[0]);
    let deadline = Instant::now() + DEADLINE;
    let mut status = 0;
    loop {
        // SAFETY: waiting for the child just spawned.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if Instant::now() > deadline {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("timed out after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        stdout: std::fs::read(&out).unwrap_or_default(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err).unwrap_or_default()).into_owned(),
    }
}

/// A thread of this test process renamed `name` (prctl PR_SET_NAME), as
/// a bystander could name one: its id is in /proc, and kill(2) on it
/// would signal this whole process. Drop the guard to end the thread.
pub struct NamedThread {
    pub tid: u32,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NamedThread {
    pub fn start(name: &str) -> Self {
        let cname = std::ffi::CString::new(name).unwrap();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: prctl on this thread with a NUL-terminated name.
            unsafe {
                libc::prctl(libc::PR_SET_NAME, cname.as_ptr());
            }
            // SAFETY: cannot fail.
            tid_tx.send(unsafe { libc::gettid() } as u32).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = tid_rx.recv().unwrap();
        let comm = format!("/proc/{}/task/{tid}/comm", std::process::id());
        assert_eq!(
            std::fs::read_to_string(comm).unwrap().trim_end(),
            &name[..name.len().min(15)]
        );
        NamedThread {
            tid,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for NamedThread {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `sleep 1000` with `signals` blocked: a process that holds them pending
/// once sent, as a master that blocks its reload signals does.
pub fn sleeper_blocking(signals: &[libc::c_int]) -> Command {
    use std::os::unix::process::CommandExt;
    let mut sleeper = Command::new("sleep");
    sleeper.arg("1000");
    let signals = signals.to_vec();
    // SAFETY: sigemptyset, sigaddset and sigprocmask(2) only, between
    // fork and exec.
    unsafe {
        sleeper.pre_exec(move || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &s in &signals {
                libc::sigaddset(&mut set, s);
            }
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        })
    };
    sleeper
}
