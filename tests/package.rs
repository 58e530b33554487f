//! The packages, as users get them: the .deb of `make deb` installed with
//! dpkg, its programs and a shipped recipe run from the installed paths,
//! then removed without a trace; the static tarball of `make dist` checked
//! against its SHA-256 sum and run unpacked.
//!
//! Ignored by a plain `cargo test`: they need what `make deb dist` built,
//! and the .deb test installs a package on this machine (root). `make
//! check` builds both and runs them (`cargo test --test package --
//! --ignored`).

mod common;
use common::haproxy::{Client, Install, Load, Mode, assert_verified};
use common::supervisors::Kind;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TARGET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const PROGRAMS: [&str; 5] = [
    "pidfile-read",
    "sv-pid",
    "haproxy-sf",
    "haproxy-pid",
    "haproxy-reloads",
];
/// Where the Debian package puts the recipes.
const INSTALLED_EXAMPLES: &str = "/usr/share/doc/pidchain/examples";
/// A system PATH: the scripts find the installed programs, no other.
const SYSTEM_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// The one file in target/ whose name starts with `prefix` and ends with
/// `suffix`: what make built.
fn built(prefix: &str, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(TARGET)
        .expect("target/")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {prefix}*{suffix} in target/ (make deb dist): {found:?}"
    );
    found.into_iter().next().unwrap_or_default()
}

fn dpkg_status() -> String {
    run(Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev}"])
        .arg("pidchain"))
    .out()
    .trim()
    .to_owned()
}

/// Removes the package when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg")
            .args(["-r", "pidchain"])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

#[test]
#[ignore = "needs make deb, installs a package: make check runs it"]
fn the_deb_installs_serves_a_reload_and_removes_cleanly() {
    assert!(is_root(), "installing a package needs root");
    assert_eq!(
        dpkg_status(),
        "",
        "pidchain is already installed here: remove it first (dpkg -r pidchain)"
    );
    let deb = built(&format!("pidchain_{VERSION}-1_"), ".deb");
    let o = run(Command::new("dpkg").arg("-i").arg(&deb));
    let installed = Installed;
    assert_eq!(o.code(), 0, "{o:?}");
    assert_eq!(dpkg_status(), "ii", "{o:?}");

    for p in PROGRAMS {
        let o = run(Command::new(format!("/usr/bin/{p}")).arg("--version"));
        assert_eq!(o.code(), 0, "{p} --version: {o:?}");
        assert!(o.out().contains(VERSION), "{p} --version: {o:?}");
        let man = format!("/usr/share/man/man1/{p}.1.gz");
        assert!(Path::new(&man).is_file(), "{man}");
    }
    assert!(Path::new("/usr/share/man/man7/pidchain.7.gz").is_file());
    // The reload logic the installed service directories call.
    for r in RECIPES {
        assert_executable(Path::new(&format!("/usr/bin/{r}")));
        let man = format!("/usr/share/man/man8/{r}.8.gz");
        assert!(Path::new(&man).is_file(), "{man}");
    }
    assert_sourced_only(Path::new(&format!("/usr/bin/{SHARED}")));

    installed_runit_recipe_reloads_under_load();
    installed_s6_recipe_is_ready_once_haproxy_answers();

    let files = run(Command::new("dpkg").args(["-L", "pidchain"])).out();
    let paths: Vec<&str> = files.lines().filter(|l| l.starts_with('/')).collect();
    let kept_dirs: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| Path::new(p).is_dir() && !p.starts_with("/usr/share/doc/pidchain"))
        .collect();
    std::mem::forget(installed);
    let o = run(Command::new("dpkg").args(["-r", "pidchain"]));
    assert_eq!(o.code(), 0, "{o:?}");
    // Not even "rc": there is no configuration file to keep.
    assert!(
        ["", "un", "pn"].contains(&dpkg_status().as_str()),
        "after dpkg -r: {}",
        dpkg_status()
    );
    let left: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| !kept_dirs.contains(p) && Path::new(p).symlink_metadata().is_ok())
        .collect();
    assert!(left.is_empty(), "left behind by dpkg -r: {left:?}");
    assert!(kept_dirs.contains(&"/usr/bin"), "{kept_dirs:?}");
}

/// The installed handoff recipe for `kind`, copied as a user would, run
/// with the installed programs only, serving "v0".
fn installed(kind: Kind) -> Install {
    let examples = Path::new(INSTALLED_EXAMPLES);
    Install::from(examples, SYSTEM_PATH.into(), kind, Mode::Handoff, "v0")
}

/// The installed runit handoff recipe, copied as a user would, with only
/// paths and port rewritten: one reload under load, none failed.
fn installed_runit_recipe_reloads_under_load() {
    let mut procs = Procs::new();
    let inst = installed(Kind::Runit);
    let svc = inst.start(&mut procs);
    let before = inst.wait_settled(&svc, "v0");
    let limit = Duration::from_secs(120);
    let load = Load::start(inst.port, Client::NewConnection, 2, limit);
    let kept = Load::start(inst.port, Client::KeepAlive, 2, limit);
    wait_for("both loads to get answers", || {
        load.counts().0 > 0 && kept.counts().0 > 0
    });
    inst.set_version("v1");
    let o = inst.reload();
    assert_eq!(o.code(), 0, "{o:?}");
    assert_verified(&inst, &svc, before, "v1", "installed", &o);
    // The installed `wait`: until run has taken the copy over.
    let w = inst.handoff_verb("wait");
    assert_eq!(w.code(), 0, "{w:?}");
    let after = inst.wait_settled(&svc, "v1");
    assert_ne!(after, before, "the supervised haproxy was not replaced");
    assert_eq!(
        w.out(),
        format!("haproxy-handoff: info: haproxy {after} serves, supervised\n")
    );
    for stats in [load.finish(), kept.finish()] {
        assert!(stats.ok > 0, "{stats:?}");
        assert_eq!(stats.failed, 0, "{stats:?}");
    }
    svc.command('d');
    svc.wait_down();
    wait_for("haproxy to exit", || inst.haproxies().is_empty());
}

/// The installed s6 recipe declares readiness: s6-svwait -U returns once
/// haproxy answers, though the configuration takes a while to load.
fn installed_s6_recipe_is_ready_once_haproxy_answers() {
    let mut procs = Procs::new();
    let inst = installed(Kind::S6);
    inst.set_version_with_large_map("v0", 200_000);
    let svc = inst.start(&mut procs);
    inst.assert_ready_and_serving(&svc, "v0");
    inst.wait_settled(&svc, "v0");
    svc.command('d');
    svc.wait_down();
    wait_for("haproxy to exit", || inst.haproxies().is_empty());
}

/// Whether an ELF file asks for a program interpreter (PT_INTERP): a
/// statically linked program does not.
fn has_interpreter(elf: &[u8]) -> bool {
    assert!(elf.starts_with(b"\x7fELF\x02\x01"), "a 64-bit LE ELF file");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| {
        let at = phoff + i * size;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3
    })
}

#[test]
#[ignore = "needs make dist: make check runs it"]
fn the_static_tarball_matches_its_sum_and_runs_unpacked() {
    let tarball = built(&format!("pidchain-{VERSION}-"), "-linux-static.tar.gz");
    let sum = tarball.with_extension("gz.sha256");
    let o = run(Command::new("sha256sum")
        .arg("-c")
        .arg(sum.file_name().unwrap())
        .current_dir(TARGET));
    assert_eq!(o.code(), 0, "{o:?}");

    // Files only, under a prefix: no directory entry that unpacking at /
    // would put over /bin -> usr/bin.
    let list = run(Command::new("tar").arg("-tzf").arg(&tarball)).out();
    for entry in list.lines() {
        assert!(
            !entry.ends_with('/') && !entry.starts_with('/') && !entry.starts_with('.'),
            "entry {entry:?}"
        );
        assert!(
            entry.starts_with("bin/") || entry.starts_with("share/"),
            "entry {entry:?}"
        );
    }

    let prefix = tempdir();
    let o = run(Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(prefix.path()));
    assert_eq!(o.code(), 0, "{o:?}");
    for p in PROGRAMS {
        let bin = prefix.path().join("bin").join(p);
        let elf = std::fs::read(&bin).expect("the program");
        assert!(!has_interpreter(&elf), "{p} is not statically linked");
        let o = run(Command::new(&bin).arg("--version"));
        assert_eq!(o.code(), 0, "{p} --version: {o:?}");
        assert!(o.out().contains(VERSION), "{p} --version: {o:?}");
        assert!(
            prefix
                .path()
                .join(format!("share/man/man1/{p}.1"))
                .is_file()
        );
    }
    assert!(prefix.path().join("share/man/man7/pidchain.7").is_file());
    for r in RECIPES {
        assert_executable(&prefix.path().join("bin").join(r));
        let man = prefix.path().join(format!("share/man/man8/{r}.8"));
        assert!(man.is_file(), "{}", man.display());
    }
    assert_sourced_only(&prefix.path().join("bin").join(SHARED));
    let run_script = prefix
        .path()
        .join("share/doc/pidchain/examples/runit/haproxy/run");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&run_script)
        .expect("recipes")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o111,
        0o111,
        "{} keeps its run bits",
        run_script.display()
    );
    // The dynamically linked build, for contrast: the check can fail.
    let dynamic = std::fs::read(SV_PID).expect("the test build");
    assert!(has_interpreter(&dynamic));
}

/// The shell commands installed beside the programs.
const RECIPES: [&str; 2] = ["haproxy-handoff", "haproxy-master"];
/// What they share, sourced from PATH beside them: not a command.
const SHARED: &str = "pidchain-reload.sh";

fn assert_sourced_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(meta.is_file(), "{}", path.display());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o644,
        "{}",
        path.display()
    );
}

fn assert_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "{} is not executable", path.display());
}
