//! The environment the next program gets: variables set or removed, as bytes.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// A name setenv(3) accepts: not empty, no `=` (argv cannot hold a NUL).
pub fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty() && !name.contains(&b'=') && !name.contains(&0)
}

pub fn get(name: &[u8]) -> Option<OsString> {
    std::env::var_os(OsStr::from_bytes(name))
}

pub fn set(name: &[u8], value: &[u8]) {
    // SAFETY: the programs are single-threaded; nothing reads the
    // environment concurrently.
    unsafe { std::env::set_var(OsStr::from_bytes(name), OsStr::from_bytes(value)) }
}

pub fn remove(name: &[u8]) {
    // SAFETY: as in set().
    unsafe { std::env::remove_var(OsStr::from_bytes(name)) }
}
