//! What the pidchain programs share. Each `src/bin/NAME.rs` is a short
//! `main` over these modules; nothing here forks or spawns.

pub mod argv;
pub mod chain;
pub mod diag;
pub mod env;
pub mod exec;
pub mod getopt;
pub mod haproxy;
pub mod pid;
pub mod pidfile;
pub mod process;
pub mod supervise;
pub mod sys;
pub mod wait;
