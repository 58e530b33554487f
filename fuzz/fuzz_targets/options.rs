//! Option parsing with each program's option string: no panic, and the
//! first operand is never past the end of argv.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pidchain::argv::Argv;
use pidchain::getopt::Getopt;
use std::ffi::{CString, c_char};

fuzz_target!(|data: &[u8]| {
    let args: Vec<CString> = data.split(|&b| b == 0).filter_map(|a| CString::new(a).ok()).collect();
    let mut ptrs: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: NULL-terminated, pointing into `args`, which outlives argv.
    let argv = unsafe { Argv::from_ptrs(&ptrs) };
    for spec in [&b"n:dow:W:ac:"[..], b"n:ow:", b"tx:n:ur"] {
        let mut g = Getopt::new(argv, spec);
        for _ in g.by_ref().take(4096) {}
        assert!(g.optind() <= argv.len() + 1);
    }
});
