//! Supervisor status files of every format: no panic; a decoded pid is the
//! one at the format's offset, a service pid is in 2..=pid_max, and
//! sv-pid -u's "down for good" follows the want byte or flag.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pidchain::supervise::{self, Observation};
use pidchain::pid;

fuzz_target!(|data: &[u8]| {
    // The first byte says whether runit's other files are there.
    let Some((&runit, status)) = data.split_first() else { return };
    let Ok(s) = supervise::decode(status, || runit & 1 == 1, pid::PID_MAX_FALLBACK) else { return };
    let at_offset = match status.len() {
        35 | 43 => u64::from_be_bytes(status[24..32].try_into().unwrap()),
        _ => u64::from(u32::from_le_bytes(status[12..16].try_into().unwrap())),
    };
    assert_eq!(u64::from(s.pid), at_offset);
    if let Some(p) = s.service_pid() {
        assert!((2..=pid::PID_MAX_FALLBACK).contains(&p));
    }
    // sv-pid -u's decision, for every way it may see this status: told
    // to keep it down is the supervisor's byte (s6's want-up flag, the
    // others' `d` at byte 17); a supervisor gone leaves it down for good
    // if it was told so or the service was down, never one it left up.
    let told_down = match status.len() {
        35 | 43 => status[status.len() - 1] & 0x04 == 0,
        _ => status[17] == b'd',
    };
    let running = Observation::Status(s).down_for_good();
    let unsupervised = Observation::NotSupervised { status: s, parent: None };
    let exited = Observation::NotRunning(Some(s)).down_for_good();
    assert_eq!(running.is_some(), told_down);
    assert_eq!(unsupervised.down_for_good(), running);
    assert_eq!(exited.is_some(), told_down || s.state == supervise::State::Down);
});
