//! Pidfile contents: no panic; every pid handed on is one of the file's
//! lines, literally, and in 2..=pid_max.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pidchain::{number, pid, pidfile};

fuzz_target!(|data: &[u8]| {
    for pid_max in [pid::PID_MAX_FALLBACK, 32768, 2] {
        if let Ok(pids) = pidfile::parse(data, pid_max) {
            let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).collect();
            for &p in pids.as_slice() {
                assert!((2..=pid_max).contains(&p));
                assert!(lines.contains(&number::format(p).as_slice()));
            }
        }
    }
});
