//! A reload held at one of its steps: a shim first in its PATH stops it
//! at the nth call of a command until the test lets it go on.

use super::haproxy::Install;
use super::{tempdir, wait_for, write_file};
use std::os::unix::fs::OpenOptionsExt;

/// Holds a reload at the `nth` call of `command`: a shim of that name,
/// first in the reload's PATH, marks the gate reached and waits until the
/// test opens it (a FIFO), then execs the real command.
pub struct Gate {
    pub dir: tempfile::TempDir,
}

impl Gate {
    pub fn new(inst: &Install, command: &str, nth: u32) -> Gate {
        let dir = tempdir();
        let fifo = dir.path().join("gate");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .expect("mkfifo");
        let d = dir.path().display();
        // The watcher a handed-over copy step starts (haproxy-handoff
        // watch) runs beside the reload: its calls are not the reload's,
        // and are not counted.
        let shim = format!(
            "#!/bin/sh\n\
             case $(tr '\\0' ' ' </proc/$PPID/cmdline 2>/dev/null) in *' watch ') exec '{real}' \"$@\" ;; esac\n\
             n=$(( $(cat '{d}/count' 2>/dev/null || echo 0) + 1 ))\n\
             echo \"$n\" > '{d}/count'\n\
             if [ \"$n\" -eq {nth} ]; then : > '{d}/reached'; : < '{d}/gate'; fi\n\
             exec '{real}' \"$@\"\n",
            real = inst.which(command).display()
        );
        write_file(&dir.path().join(command), shim.as_bytes(), 0o755);
        Gate { dir }
    }

    pub fn reached(&self) -> bool {
        self.dir.path().join("reached").exists()
    }

    /// Lets the held command go on. The shim marks the gate reached just
    /// before it opens the FIFO for reading: a non-blocking open for
    /// writing finds it there once it is, and not a moment before.
    pub fn open(&self) {
        wait_for("the gate's shim to wait on its FIFO", || self.release());
    }

    /// Lets the held command go on if it still waits (it may have been
    /// killed meanwhile); whether it did.
    pub fn release(&self) -> bool {
        let fifo = self.dir.path().join("gate");
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .is_ok()
    }
}
