//! What the pidchain programs share. Each `src/bin/NAME.rs` is a short
//! `main` over these modules; nothing here forks or spawns. The library
//! returns typed errors, each of which says what it is (its words and
//! exit code, `diag::Failure`) where it is defined; `diag` only shapes,
//! escapes and prints them, and knows no other module.
//!
//! - `argv`, `getopt`, `usage`: the argument vector, options, and the
//!   checks of option values and operands (usage errors);
//! - `number`, `pid`, `pathname`: decimal numbers, pids and pid lists, paths;
//! - `trust`: whether a file may decide which process gets signalled;
//! - `pidfile`: reading (and consuming) a pidfile;
//! - `supervise`: supervisor state on disk, one file per format (`runit`,
//!   `s6`, `daemontools`, `encore`), `control` for a live supervisor;
//! - `process`: whether a pid is a live process of the expected name;
//! - `haproxy`: one question to a stats socket or master CLI, and its answers;
//! - `wait`: waiting for a directory to change, up to a deadline;
//! - `sys`: the system calls nix does not make our way; `env`: the environment;
//! - `diag`: the shape of messages, exit codes; `chain`, `exec`: print or exec, the end.

pub mod argv;
pub mod chain;
pub mod diag;
pub mod env;
pub mod exec;
pub mod getopt;
pub mod haproxy;
pub mod number;
pub mod pathname;
pub mod pid;
pub mod pidfile;
pub mod process;
pub mod supervise;
pub mod sys;
pub mod trust;
pub mod usage;
pub mod wait;
