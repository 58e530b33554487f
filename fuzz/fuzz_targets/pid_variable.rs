//! SV_PID / PIDFILE_PID values: no panic; every pid is one of the
//! space-separated tokens, literally, and in 2..=pid_max.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pidchain::number;
use pidchain::pid::{self, PidList};

fuzz_target!(|data: &[u8]| {
    if let Some(list) = PidList::parse_var(data, pid::PID_MAX_FALLBACK) {
        let tokens: Vec<&[u8]> = data.split(|&b| b == b' ').collect();
        for &p in list.as_slice() {
            assert!((2..=pid::PID_MAX_FALLBACK).contains(&p));
            assert!(tokens.contains(&number::format(p).as_slice()));
        }
    }
});
