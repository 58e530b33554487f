//! Supervisor status files of every format: no panic; a decoded pid is the
//! one at the format's offset, a service pid is in 2..=pid_max, and
//! "wanted down" (sv-pid -u) comes from the want byte or flag alone.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pidchain::{pid, supervise};

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
    let wanted_down = match status.len() {
        35 | 43 => status[status.len() - 1] & 0x04 == 0,
        _ => status[17] == b'd',
    };
    assert_eq!(s.want == supervise::Want::Down, wanted_down);
});
