//! The argument vector exactly as the C runtime handed it to `main`.

use std::ffi::{CStr, c_char, c_int};

/// Borrowed argv, never copied: a tail of it is already the
/// NULL-terminated array that `execvp` wants.
#[derive(Clone, Copy)]
pub struct Argv<'a> {
    /// argc pointers followed by the terminating NULL.
    ptrs: &'a [*const c_char],
}

const EMPTY: &[*const c_char] = &[std::ptr::null()];

/// Defines the C `main` of a program (`#![no_main]`), which runs `$run`
/// on the argv the C runtime passed and the one `Environ`. Not std's main: it would set SIGPIPE
/// to ignored and touch the descriptors before the program sees them.
#[macro_export]
macro_rules! c_main {
    ($run:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn main(
            argc: ::std::ffi::c_int,
            argv: *const *const ::std::ffi::c_char,
        ) -> ::std::ffi::c_int {
            // SAFETY: the arguments of the C main.
            let argv = unsafe { $crate::argv::Argv::from_main(argc, argv) };
            // SAFETY: the programs never start a thread.
            let env = unsafe { $crate::env::Environ::single_threaded() };
            $run(argv, env)
        }
    };
}

impl Argv<'static> {
    /// # Safety
    /// `argc` and `argv` must be the values the C runtime passed to `main`.
    pub unsafe fn from_main(argc: c_int, argv: *const *const c_char) -> Self {
        if argv.is_null() || argc < 0 {
            return Argv { ptrs: EMPTY };
        }
        // SAFETY: the kernel lays out argc pointers and a NULL.
        let ptrs = unsafe { std::slice::from_raw_parts(argv, argc as usize + 1) };
        Argv { ptrs }
    }
}

impl<'a> Argv<'a> {
    /// # Safety
    /// `ptrs` must end with a NULL and every other entry must point to a
    /// NUL-terminated string that lives as long as `'a`.
    pub unsafe fn from_ptrs(ptrs: &'a [*const c_char]) -> Self {
        Argv { ptrs }
    }

    pub fn len(&self) -> usize {
        self.ptrs.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<&'a CStr> {
        if i >= self.len() || self.ptrs[i].is_null() {
            return None;
        }
        // SAFETY: entries before the NULL are C strings (constructor contract).
        Some(unsafe { CStr::from_ptr(self.ptrs[i]) })
    }

    /// Arguments from `i` on, still NULL-terminated: ready for `execvp`.
    pub fn tail(&self, i: usize) -> &'a [*const c_char] {
        &self.ptrs[i.min(self.len())..]
    }
}
