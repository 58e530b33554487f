//! Real answers of every haproxy pidchain supports, replayed: what
//! `tests/data/haproxy/capture.py` recorded of each version's master CLI
//! and stats socket (tests/data/haproxy/README.md), read by the same code
//! the programs use.

use pidchain::haproxy::{info, show_proc};
use std::path::Path;

const MAX: u32 = 4_194_304;
const VERSIONS: &[&str] = &[
    "2.4.0", "2.6.12", "2.8.0", "3.0.0", "3.1.0", "3.2.0", "3.3.0", "3.4.0",
];

fn capture(version: &str, state: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/haproxy");
    let path = dir.join(format!("{version}-{state}.txt"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn show_proc(version: &str, state: &str) -> show_proc::Master {
    show_proc::parse(&capture(version, state), MAX)
        .unwrap_or_else(|e| panic!("{version} {state}: {e:?}"))
}

#[test]
fn every_version_is_captured_and_nothing_else() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/haproxy");
    let mut seen: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.ends_with(".txt")
                .then(|| name.split('-').next().unwrap().to_owned())
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, VERSIONS, "versions captured in {}", dir.display());
}

#[test]
fn a_started_master_has_loaded_workers_and_no_reload() {
    for v in VERSIONS {
        let m = show_proc(v, "show-proc-started");
        assert_eq!(m.reloads, 0, "{v}");
        assert_eq!(m.new_workers.len(), 1, "{v}");
        assert!(m.old_workers.is_empty(), "{v}");
        assert!(!m.latest_failed(), "{v}");
        // 2.5+ say [failed: N]; 2.4 does not.
        assert_eq!(m.failed, (*v != "2.4.0").then_some(0), "{v}");
        // The master's version, whatever comes before it on its line.
        for state in ["show-proc-started", "show-proc-failed"] {
            let version = show_proc(v, state).version;
            assert!(
                version.starts_with(v.as_bytes()),
                "{v} {state}: {version:?}"
            );
        }
    }
}

#[test]
fn the_first_answer_after_a_reload_lists_a_new_worker_and_the_old_one() {
    // Up to 3.0 the new worker has loaded by then (the master parsed the
    // configuration before it answered); from 3.1 it may still be
    // loading, which show proc does not tell.
    for v in VERSIONS {
        let m = show_proc(v, "show-proc-loading");
        assert_eq!(m.reloads, 1, "{v}");
        assert_eq!(m.new_workers.len(), 1, "{v}");
        assert_eq!(m.old_workers.len(), 1, "{v}");
        assert!(!m.latest_failed(), "{v}");
        let loaded = show_proc(v, "show-proc-reloaded");
        assert_eq!(loaded.new_workers, m.new_workers, "{v}");
        assert!(!loaded.latest_failed(), "{v}");
    }
}

#[test]
fn a_failed_reload_leaves_no_new_worker_on_any_version() {
    for v in VERSIONS {
        let m = show_proc(v, "show-proc-failed");
        assert_eq!(m.reloads, 2, "{v}");
        assert!(m.new_workers.is_empty(), "{v}");
        assert!(m.latest_failed(), "{v}");
        // The workers that serve on: listed as current up to 3.0 (but
        // 2.4), as old from 3.1; the failure itself said from 2.5 on.
        let as_old = matches!(*v, "2.4.0" | "3.1.0" | "3.2.0" | "3.3.0" | "3.4.0");
        assert_eq!(m.old_workers.len(), usize::from(as_old), "{v}");
        assert_eq!(m.failed, (*v != "2.4.0").then_some(1), "{v}");
    }
}

#[test]
fn show_info_gives_the_pid_and_the_soft_stop() {
    for v in VERSIONS {
        let a = capture(v, "show-info");
        assert!(info::pid(&a, MAX).is_ok(), "{v}");
        assert_eq!(info::stopping(&a), Ok(false), "{v}");
        let old = capture(v, "old-worker-stopping");
        assert!(info::pid(&old, MAX).is_ok(), "{v}");
        assert_eq!(info::stopping(&old), Ok(true), "{v}");
    }
}

#[test]
fn the_master_says_when_a_worker_is_gone() {
    for v in VERSIONS {
        let a = capture(v, "no-such-worker");
        assert!(info::no_such_worker(&a), "{v}: {a:?}");
        assert!(!info::no_such_worker(&capture(v, "show-info")), "{v}");
    }
}
