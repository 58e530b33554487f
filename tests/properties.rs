//! Property tests, with a fixed seed so CI runs the same cases every time:
//! no input makes a parser or a program panic, and a pid is handed on only
//! if it is literally in the input and in 2..=pid_max.

mod common;
use common::*;
use pidchain::argv::Argv;
use pidchain::getopt::Getopt;
use pidchain::number;
use pidchain::pid::{self, PidList};
use pidchain::pidfile;
use pidchain::supervise::{self, Observation};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::ffi::{CString, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;

const MAX: u32 = 4_194_304;

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x9e3779b97f4a7c15),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Bytes that look like pidfiles often enough to reach the interesting
/// paths: digits, whitespace, signs, NULs and high bytes.
fn pidfile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        6 => proptest::sample::select(b"0123456789".to_vec()),
        2 => proptest::sample::select(b"\n \r\t\x0b\x0c".to_vec()),
        1 => proptest::sample::select(b"-+x\0\xff".to_vec()),
        1 => any::<u8>(),
    ];
    proptest::collection::vec(byte, 0..64)
}

fn lines_of(input: &[u8]) -> Vec<&[u8]> {
    input
        .split(|&b| b == b'\n')
        .map(number::trim_space)
        .collect()
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn pidfile_parse_only_yields_pids_from_its_lines(input in pidfile_bytes()) {
        if let Ok(pids) = pidfile::parse(&input, MAX) {
            let lines = lines_of(&input);
            for &p in pids.as_slice() {
                prop_assert!((2..=MAX).contains(&p));
                prop_assert!(lines.contains(&number::format(p).as_slice()), "{p} not a line of {input:?}");
            }
            // Every non-blank line became a pid, or the file would be invalid.
            prop_assert!(lines.iter().all(|l| l.is_empty() || pid::parse(l, MAX).is_some()));
        }
    }

    #[test]
    fn pidfile_parse_never_panics_on_any_bytes(input in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let _ = pidfile::parse(&input, MAX);
    }

    #[test]
    fn var_parse_only_yields_its_tokens(input in pidfile_bytes()) {
        if let Some(list) = PidList::parse_var(&input, MAX) {
            let tokens: Vec<&[u8]> = input.split(|&b| b == b' ').collect();
            for &p in list.as_slice() {
                prop_assert!((2..=MAX).contains(&p));
                prop_assert!(tokens.contains(&number::format(p).as_slice()));
            }
            prop_assert_eq!(list.to_bytes().is_empty(), input.is_empty());
        }
    }

    #[test]
    fn status_decoders_only_yield_the_pid_at_their_offset(
        len in proptest::sample::select(vec![18usize, 20, 35, 40, 43]),
        bytes in proptest::collection::vec(any::<u8>(), 43),
        small_pid in 0u32..100_000,
        flags in proptest::sample::select(vec![0u8, 1, 2, 3, 4, 5, 8, 0x40]),
        runit in any::<bool>(),
    ) {
        // Random bytes with a plausible pid and flags often enough to decode.
        let mut b = bytes[..len].to_vec();
        if len == 35 || len == 43 {
            b[24..32].copy_from_slice(&u64::from(small_pid).to_be_bytes());
            b[len - 1] = flags;
        } else {
            b[12..16].copy_from_slice(&small_pid.to_le_bytes());
            b[16] = flags & 1;
            b[17] = if flags & 2 != 0 { b'u' } else { b'd' };
            if len >= 20 {
                b[18] = flags % 6;
            }
            if len == 20 {
                b[19] = if runit { flags % 3 } else { 0 };
            }
        }
        if let Ok(s) = supervise::decode(&b, || runit, MAX) {
            let at_offset = if len == 35 || len == 43 {
                u64::from_be_bytes(b[24..32].try_into().unwrap())
            } else {
                u64::from(u32::from_le_bytes(b[12..16].try_into().unwrap()))
            };
            prop_assert_eq!(u64::from(s.pid), at_offset);
            if let Some(p) = s.service_pid() {
                prop_assert!((2..=MAX).contains(&p));
            }
            // sv-pid -u's decision, for every way it may see this status.
            // Told to keep it down is the supervisor's byte: s6's want-up
            // flag, the others' `d` at byte 17.
            let told_down = if len == 35 || len == 43 {
                b[len - 1] & 0x04 == 0
            } else {
                b[17] == b'd'
            };
            let running = Observation::Status(s).down_for_good();
            let unsupervised = Observation::NotSupervised { status: s, parent: None };
            let exited = Observation::NotRunning(Some(s)).down_for_good();
            prop_assert_eq!(running.is_some(), told_down);
            prop_assert_eq!(unsupervised.down_for_good(), running);
            // A supervisor gone: down for good if it was told so, or if
            // the service was down when it went (never one it left up).
            let down = s.state == supervise::State::Down;
            prop_assert_eq!(exited.is_some(), told_down || down);
            prop_assert!(running.is_none() || exited.is_some());
        }
        // And a truncated copy never decodes as the format it came from.
        let cut = &b[..len - 1];
        if let Ok(s) = supervise::decode(cut, || runit, MAX) {
            prop_assert!(cut.len() == 18 || cut.len() == 42, "{:?}", s);
        }
    }

    #[test]
    fn getopt_never_panics(args in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..6), 0..8)) {
        let owned: Vec<CString> = args.into_iter().map(|a| CString::new(a).unwrap()).collect();
        let mut ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        // SAFETY: ptrs is NULL-terminated and points into `owned`.
        let argv = unsafe { Argv::from_ptrs(&ptrs) };
        let mut g = Getopt::new(argv, b"n:dow:W:ac:");
        for _ in g.by_ref().take(64) {}
        prop_assert!(g.optind() <= argv.len() + 1);
    }
}

proptest! {
    // Each case runs a real process: fewer cases.
    #![proptest_config(config(96))]

    #[test]
    fn pidfile_read_hands_on_only_pids_from_the_file(input in pidfile_bytes()) {
        let d = tempdir();
        let f = d.path().join("p.pid");
        write_file(&f, &input, 0o644);
        let o = run(cmd(PIDFILE_READ).arg(&f));
        prop_assert!(o.code() == 0 || o.code() == 1, "{o:?}");
        let lines = lines_of(&input);
        for tok in o.out().split_whitespace() {
            prop_assert!(lines.contains(&tok.as_bytes()), "{tok} not in {input:?}");
            prop_assert!(pid::parse(tok.as_bytes(), MAX).is_some());
        }
    }

    #[test]
    fn haproxy_sf_appends_only_pids_from_its_variables(a in pidfile_bytes(), b in pidfile_bytes()) {
        let (a, b) = (a.into_iter().filter(|&c| c != 0).collect::<Vec<_>>(), b.into_iter().filter(|&c| c != 0).collect::<Vec<_>>());
        let o = run(cmd(HAPROXY_SF).arg("-u").env(OsStr::new("SV_PID"), OsStr::from_bytes(&a)).env(OsStr::new("PIDFILE_PID"), OsStr::from_bytes(&b)));
        prop_assert_eq!(o.code(), 0, "{:?}", o);
        let out = o.out();
        let mut words = out.split_whitespace();
        if let Some(first) = words.next() {
            prop_assert_eq!(first, "-sf");
            let tokens: Vec<&[u8]> = a.split(|&c| c == b' ').chain(b.split(|&c| c == b' ')).collect();
            for w in words {
                prop_assert!(tokens.contains(&w.as_bytes()), "{w} not in the variables");
                prop_assert!(pid::parse(w.as_bytes(), MAX).is_some());
            }
        }
    }

    #[test]
    fn no_argv_makes_a_program_panic(args in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..5), 0..5), which in 0..3usize) {
        let bin = [PIDFILE_READ, HAPROXY_SF, SV_PID][which];
        let mut c = cmd(bin);
        // Never let a random argv run a real program: the first operand
        // either is an option or names nothing in PATH.
        let cwd = tempdir();
        c.env("PATH", "/nonexistent").current_dir(cwd.path());
        for a in &args {
            c.arg(OsStr::from_bytes(a));
        }
        let o = run(&mut c);
        prop_assert!([0, 1, 100, 111, 126, 127].contains(&o.code()), "{:?} {:?}", args, o);
    }
}
