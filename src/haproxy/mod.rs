//! Asking a running haproxy, over its unix sockets, what a reload needs to
//! know: which process answers on the stats socket (`show info`), and how
//! far the master of master-worker mode has got with its reloads (`show
//! proc` on the master CLI); and, asked for (`haproxy-reloads -r`), a
//! `reload` to the master CLI. Nothing else is ever sent.

pub mod answer;
pub mod info;
pub mod reload;
pub mod show_proc;
pub mod socket;
