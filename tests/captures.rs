//! Real answers of every haproxy pidchain supports, replayed: what
//! `tests/data/haproxy/capture.py` recorded of each version's master CLI
//! and stats socket (tests/data/haproxy/README.md), read by the same code
//! the programs use.

use pidchain::haproxy::reload::{self, Outcome};
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

/// The versions whose master answers `reload` (2.7+).
fn answers_reload(version: &str) -> bool {
    !matches!(version, "2.4.0" | "2.6.12")
}

/// The versions that refuse a reload while one still loads (3.1+).
fn refuses_a_second_reload(version: &str) -> bool {
    matches!(version, "3.1.0" | "3.2.0" | "3.3.0" | "3.4.0")
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
fn every_version_has_every_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/haproxy");
    for v in VERSIONS {
        let mut seen: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                let state = name.strip_prefix(&format!("{v}-"))?.strip_suffix(".txt")?;
                Some(state.to_owned())
            })
            .collect();
        seen.sort();
        let mut want = vec![
            "no-such-worker",
            "old-worker-stopping",
            "reload-failed",
            "reload-loaded",
            "show-info",
            "show-proc-failed",
            "show-proc-failed-twice",
            "show-proc-loading",
            "show-proc-reloaded",
            "show-proc-started",
        ];
        if refuses_a_second_reload(v) {
            want.push("reload-busy");
        }
        want.sort();
        assert_eq!(seen, want, "{v}");
    }
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

#[test]
fn from_2_7_a_reload_that_loaded_is_answered_success() {
    for v in VERSIONS.iter().filter(|v| answers_reload(v)) {
        let a = capture(v, "reload-loaded");
        // Every 2.7+ answer ends with an empty line, then the master
        // closes (what capture.py read until).
        assert!(a.ends_with(b"\n\n"), "{v}");
        match reload::parse(&a) {
            Ok(Outcome::Loaded(messages)) => assert!(
                messages.ends_with(b" : Loading success.\n"),
                "{v}: {messages:?}"
            ),
            other => panic!("{v}: {other:?}"),
        }
    }
}

#[test]
fn from_2_7_a_failed_reload_is_answered_with_the_alert_naming_file_and_line() {
    for v in VERSIONS.iter().filter(|v| answers_reload(v)) {
        let a = capture(v, "reload-failed");
        assert!(a.ends_with(b"\n\n"), "{v}");
        let Ok(Outcome::Failed(messages)) = reload::parse(&a) else {
            panic!("{v}: {:?}", reload::parse(&a));
        };
        // The line that says what is wrong, and where: what
        // haproxy-reloads -r copies to stderr.
        let alert = messages
            .split(|&b| b == b'\n')
            .find(|l| l.starts_with(b"[ALERT]") && l.windows(7).any(|w| w == b"parsing"));
        let alert = alert.unwrap_or_else(|| panic!("{v}: no parsing alert: {messages:?}"));
        let wanted: &[u8] = b"/haproxy.cfg:11] : unknown keyword 'bogus-keyword'";
        assert!(
            alert.windows(wanted.len()).any(|w| w == wanted),
            "{v}: {alert:?}"
        );
    }
}

#[test]
fn from_3_1_a_reload_asked_while_one_loads_is_refused_at_once() {
    for v in VERSIONS.iter().filter(|v| refuses_a_second_reload(v)) {
        let a = capture(v, "reload-busy");
        assert_eq!(reload::parse(&a), Ok(Outcome::Busy), "{v}");
    }
}

#[test]
fn before_2_7_the_master_reloads_without_a_word() {
    for v in VERSIONS.iter().filter(|v| !answers_reload(v)) {
        for state in ["reload-loaded", "reload-failed"] {
            let a = capture(v, state);
            assert_eq!(reload::parse(&a), Ok(Outcome::Unanswered), "{v} {state}");
        }
    }
}

#[test]
fn two_failed_reloads_in_a_row_both_show_as_failed() {
    for v in VERSIONS {
        let m = show_proc(v, "show-proc-failed-twice");
        assert_eq!(m.reloads, 3, "{v}");
        assert!(m.new_workers.is_empty(), "{v}");
        assert!(m.latest_failed(), "{v}");
        // 2.5 to 3.0 count the failures since the last success; 3.1+
        // reset the count at each master start, so the second failure
        // shows 1 as the first did; 2.4 does not say.
        let failed = match *v {
            "2.4.0" => None,
            "2.6.12" | "2.8.0" | "3.0.0" => Some(2),
            _ => Some(1),
        };
        assert_eq!(m.failed, failed, "{v}");
    }
}
