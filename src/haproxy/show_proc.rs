//! `show proc` on the master CLI of master-worker mode (haproxy 1.9+):
//!
//! ```text
//! #<PID>          <type>          <reloads>       <uptime>        <version>
//! 29090           master          3 [failed: 0]   0d00h10m22s     2.6.12-1+deb12u4
//! # workers
//! 29962           worker          0               0d00h00m01s     2.6.12-1+deb12u4
//! # old workers
//! 29824           worker          1               0d00h00m05s     2.6.12-1+deb12u4
//! # programs
//! ```
//!
//! The master's `<reloads>` counts every reload, failed or not (the pid
//! stays: it re-executes itself). `[failed: N]` (2.5+) is not 0 when the
//! latest reload failed: 2.5 to 3.0 count the failures since the last
//! success, 3.1+ reset it at each reload, so it is 0 or 1 there. A
//! worker's `<reloads>` counts the reloads it has lived through: 0 for the
//! workers the latest reload started. Captured on 2.4.0 to 3.4.0
//! (`tests/data/haproxy/`), the master answers only once it has forked
//! the new workers, and:
//! - up to 3.0 the master parses the configuration, so a worker listed
//!   with 0 reloads has loaded it; from 3.1 the worker parses it, and is
//!   listed with 0 while it still loads (it answers `@!PID` only once
//!   loaded);
//! - a failed reload leaves no worker with 0 reloads: the former workers
//!   serve on, listed in `# workers` (2.5 to 3.0) or `# old workers`
//!   (2.4, 3.1+), their count one higher.
//!
//! Read only from a whole answer (`answer::whole`) with one master line.

use super::answer::{self, Unreadable};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Master {
    pub pid: u32,
    pub reloads: u64,
    /// None before haproxy 2.5, which does not say.
    pub failed: Option<u64>,
    /// The master's `<version>`, its line's last field, as it is.
    pub version: Vec<u8>,
    /// The current workers the latest reload started (3.1+: loaded or
    /// still loading).
    pub new_workers: Vec<u32>,
    /// Workers of former configurations, soft-stopping or about to (or,
    /// on 2.4 and 3.1+ after a failed reload, serving on).
    pub old_workers: Vec<u32>,
}

impl Master {
    /// The latest reload failed: it said so (2.5+), or it left no worker
    /// of its own.
    pub fn latest_failed(&self) -> bool {
        self.failed.unwrap_or(0) > 0 || self.new_workers.is_empty()
    }
}

pub fn parse(answer: &[u8], pid_max: u32) -> Result<Master, Unreadable> {
    let mut master = None;
    let mut new_workers = Vec::new();
    let mut old_workers = Vec::new();
    let mut section: &[u8] = b"";
    // Which column holds <reloads>: the third, but the fourth before 2.5,
    // whose header has a <relative PID> column before it.
    let mut column = 2;
    for line in answer::whole(answer)?.split(|&b| b == b'\n') {
        if line.starts_with(b"#<") {
            column = reloads_column(line).ok_or(Unreadable::Invalid)?;
            continue;
        }
        if let Some(name) = line.strip_prefix(b"# ") {
            section = crate::number::trim_space(name);
            continue;
        }
        let mut fields = line
            .split(|&b| crate::number::is_space(b))
            .filter(|f| !f.is_empty());
        let (Some(pid), Some(kind)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(reloads) = fields.nth(column - 2) else {
            continue;
        };
        match kind {
            b"master" if master.is_some() => return Err(Unreadable::Twice),
            b"master" => {
                let invalid = Unreadable::Invalid;
                let pid = crate::pid::parse(pid, pid_max).ok_or(invalid)?;
                let reloads = crate::number::parse(reloads).ok_or(invalid)?;
                // `[failed: N]` (2.5+), `<uptime>`, `<version>`.
                let rest: Vec<&[u8]> = fields.collect();
                let failed = match rest.as_slice() {
                    [b"[failed:", n, ..] => Some(
                        n.strip_suffix(b"]")
                            .and_then(crate::number::parse)
                            .ok_or(invalid)?,
                    ),
                    _ => None,
                };
                let shown = if failed.is_some() { 4 } else { 2 };
                let version = match rest.as_slice() {
                    [.., v] if rest.len() >= shown => v.to_vec(),
                    _ => Vec::new(),
                };
                master = Some((pid, reloads, failed, version));
            }
            b"worker" if section == b"workers" && reloads == b"0" => {
                new_workers.push(crate::pid::parse(pid, pid_max).ok_or(Unreadable::Invalid)?);
            }
            b"worker" if section == b"old workers" => {
                old_workers.push(crate::pid::parse(pid, pid_max).ok_or(Unreadable::Invalid)?);
            }
            _ => {}
        }
    }
    let (pid, reloads, failed, version) = master.ok_or(Unreadable::Missing)?;
    Ok(Master {
        pid,
        reloads,
        failed,
        version,
        new_workers,
        old_workers,
    })
}

/// The place of `<reloads>` among the header's `<...>` names.
fn reloads_column(header: &[u8]) -> Option<usize> {
    header
        .split(|&b| b == b'<')
        .skip(1)
        .map(|name| name.split(|&b| b == b'>').next().unwrap_or_default())
        .position(|name| name == b"reloads")
        .filter(|&c| c >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    const MAX: u32 = 4_194_304;

    const OK: &[u8] =
        b"#<PID>          <type>          <reloads>       <uptime>        <version>      \n\
29090           master          3 [failed: 0]   0d00h10m22s     2.6.12-1+deb12u4\n\
# workers\n\
29962           worker          0               0d00h00m01s     2.6.12-1+deb12u4\n\
# old workers\n\
29824           worker          1               0d00h00m05s     2.6.12-1+deb12u4\n\
# programs\n\n";

    const FAILED: &[u8] =
        b"#<PID>          <type>          <reloads>       <uptime>        <version>      \n\
29090           master          2 [failed: 1]   0d00h10m21s     2.6.12-1+deb12u4\n\
# workers\n\
29824           worker          1               0d00h00m01s     2.6.12-1+deb12u4\n\
# programs\n\n";

    #[test]
    fn a_reload_that_succeeded() {
        let m = parse(OK, MAX).unwrap();
        assert_eq!(
            m,
            Master {
                pid: 29090,
                reloads: 3,
                failed: Some(0),
                version: b"2.6.12-1+deb12u4".to_vec(),
                new_workers: vec![29962],
                old_workers: vec![29824],
            }
        );
        assert!(!m.latest_failed());
    }

    #[test]
    fn a_header_without_reloads_is_not_read() {
        assert_eq!(
            parse(b"#<PID> <type> <uptime>\n100 master 3\n\n", MAX),
            Err(Unreadable::Invalid)
        );
    }

    #[test]
    fn a_reload_that_failed() {
        let m = parse(FAILED, MAX).unwrap();
        assert_eq!((m.reloads, m.failed), (2, Some(1)));
        assert!(m.new_workers.is_empty());
        assert!(m.latest_failed());
    }

    #[test]
    fn an_old_worker_of_generation_zero_is_not_new() {
        let a = b"1 x\n100 master 4\n# workers\n# old workers\n200 worker 0 0s v\n\n";
        let m = parse(a, MAX).unwrap();
        assert_eq!((m.reloads, m.failed), (4, None));
        assert!(m.new_workers.is_empty() && m.latest_failed());
    }

    #[test]
    fn no_master_line_or_garbage() {
        for (a, why) in [
            (&b""[..], Unreadable::Incomplete),
            (b"Unknown command.\n\n", Unreadable::Missing),
            (b"1 master 3\n\n", Unreadable::Invalid),
            (b"100 master x\n\n", Unreadable::Invalid),
            (b"100 master 3 [failed: x]\n\n", Unreadable::Invalid),
            // A former worker is asked whether it stops: never one unread.
            (
                b"100 master 3\n# old workers\n1 worker 1 0s v\n\n",
                Unreadable::Invalid,
            ),
        ] {
            assert_eq!(parse(a, MAX), Err(why), "{a:?}");
        }
    }

    #[test]
    fn a_cut_or_double_answer_is_not_read() {
        // Cut in the master's line, or before the end.
        for n in [1, 70, 100, OK.len() - 1] {
            assert_eq!(parse(&OK[..n], MAX), Err(Unreadable::Incomplete), "{n}");
        }
        let twice = [&OK[..OK.len() - 1], b"29091 master 4 [failed: 0] 0s v\n\n"].concat();
        assert_eq!(parse(&twice, MAX), Err(Unreadable::Twice));
    }
}
