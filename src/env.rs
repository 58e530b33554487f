//! The environment the next program gets: variables set or removed, as bytes.
//!
//! execve(2) allows a name to be present more than once, and programs
//! disagree on which copy counts (getenv(3) takes the first, sh the
//! last), so setting or removing a variable deals with every copy.

use std::ffi::{OsStr, OsString};
use std::marker::PhantomData;
use std::os::unix::ffi::OsStrExt;

/// A name setenv(3) accepts: not empty, no `=` (argv cannot hold a NUL).
pub fn is_valid_name(name: &[u8]) -> bool {
    !name.is_empty() && !name.contains(&b'=') && !name.contains(&0)
}

/// Every value `name` has, in the order of the environment.
pub fn get_all(name: &[u8]) -> Vec<OsString> {
    // getenv first: the usual absent variable costs no copy of environ.
    if std::env::var_os(OsStr::from_bytes(name)).is_none() {
        return Vec::new();
    }
    std::env::vars_os()
        .filter(|(k, _)| k.as_bytes() == name)
        .map(|(_, v)| v)
        .collect()
}

/// The right to change the environment. `setenv(3)` and `unsetenv(3)` are
/// sound only while no other thread reads or writes it (libc's getenv
/// included). The one value of a program is made in its C main
/// (`c_main!`), before anything could start a thread; it is neither Send
/// nor Sync, so no other thread can use it.
pub struct Environ {
    _one_thread: PhantomData<*const ()>,
}

impl Environ {
    /// # Safety
    /// The process has one thread, and starts no other while this lives.
    pub unsafe fn single_threaded() -> Self {
        Environ {
            _one_thread: PhantomData,
        }
    }

    /// Leaves exactly one copy of `name`, holding `value`.
    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        self.remove(name);
        // SAFETY: one thread (the constructor's contract).
        unsafe { std::env::set_var(OsStr::from_bytes(name), OsStr::from_bytes(value)) }
    }

    /// Leaves no copy of `name`.
    pub fn remove(&mut self, name: &[u8]) {
        let name = OsStr::from_bytes(name);
        // glibc's and musl's unsetenv(3) remove every copy; the loop makes
        // sure of it where one removes only the first.
        while std::env::var_os(name).is_some() {
            // SAFETY: as in set().
            unsafe { std::env::remove_var(name) }
        }
    }
}

// Compile-time proof that Environ is neither Send nor Sync: were it
// either, the call below would match two impls and fail to compile.
const _: fn() = || {
    trait AmbiguousIfSend<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    trait AmbiguousIfSync<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}
    <Environ as AmbiguousIfSend<_>>::check();
    <Environ as AmbiguousIfSync<_>>::check();
};
