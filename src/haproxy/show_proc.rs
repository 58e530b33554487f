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
//! stays: it re-executes itself). `[failed: N]` (2.5+) counts the reloads
//! that failed since the last one that succeeded, so it is 0 right after a
//! success. A worker's `<reloads>` counts the reloads it has lived
//! through: 0 for the workers the latest reload started. A failed reload
//! leaves the former workers in `# workers`, their count one higher.
//! Read only from a whole answer (`answer::whole`) with one master line.

use super::answer::{self, Unreadable};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Master {
    pub pid: u32,
    pub reloads: u64,
    /// None before haproxy 2.5, which does not say.
    pub failed: Option<u64>,
    /// A current worker was started by the latest reload.
    pub new_workers: bool,
    /// Workers of former configurations, soft-stopping or about to.
    pub old_workers: Vec<u32>,
}

impl Master {
    /// The latest reload succeeded: its workers run, and no failure since.
    pub fn latest_succeeded(&self) -> bool {
        self.new_workers && self.failed.unwrap_or(0) == 0
    }
}

pub fn parse(answer: &[u8], pid_max: u32) -> Result<Master, Unreadable> {
    let mut master = None;
    let mut new_workers = false;
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
                let failed = match (fields.next(), fields.next()) {
                    (Some(b"[failed:"), Some(n)) => Some(
                        n.strip_suffix(b"]")
                            .and_then(crate::number::parse)
                            .ok_or(invalid)?,
                    ),
                    _ => None,
                };
                master = Some((pid, reloads, failed));
            }
            b"worker" if section == b"workers" => new_workers |= reloads == b"0",
            b"worker" if section == b"old workers" => {
                old_workers.extend(crate::pid::parse(pid, pid_max));
            }
            _ => {}
        }
    }
    let (pid, reloads, failed) = master.ok_or(Unreadable::Missing)?;
    Ok(Master {
        pid,
        reloads,
        failed,
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
                new_workers: true,
                old_workers: vec![29824],
            }
        );
        assert!(m.latest_succeeded());
    }

    #[test]
    fn as_haproxy_2_4_answers_with_its_relative_pid_column() {
        // Captured from haproxy 2.4.0 after one reload.
        let a = b"#<PID>          <type>          <relative PID>  <reloads>       <uptime>        <version>      \n\
12506           master          0               1               0d00h00m03s     2.4.0-6cbbecf09\n\
# workers\n\
12555           worker          1               0               0d00h00m01s     2.4.0-6cbbecf09\n\
# old workers\n\
12509           worker          [was: 1]        1               0d00h00m03s     2.4.0-6cbbecf09\n\
# programs\n\n";
        let m = parse(a, MAX).unwrap();
        assert_eq!(
            m,
            Master {
                pid: 12506,
                reloads: 1,
                failed: None,
                new_workers: true,
                old_workers: vec![12509],
            }
        );
    }

    #[test]
    fn as_haproxy_3_2_answers() {
        // Captured from haproxy 3.2.0 after one reload (no # programs).
        let a =
            b"#<PID>          <type>          <reloads>       <uptime>        <version>      \n\
12614           master          1 [failed: 0]   0d00h00m03s     3.2.0-e134140d2\n\
# workers\n\
12622           worker          0               0d00h00m01s     3.2.0-e134140d2\n\n";
        let m = parse(a, MAX).unwrap();
        assert_eq!(
            (m.pid, m.reloads, m.failed, m.new_workers),
            (12614, 1, Some(0), true)
        );
        assert!(m.old_workers.is_empty());
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
        assert_eq!((m.reloads, m.failed, m.new_workers), (2, Some(1), false));
        assert!(!m.latest_succeeded());
    }

    #[test]
    fn an_old_worker_of_generation_zero_is_not_new() {
        let a = b"1 x\n100 master 4\n# workers\n# old workers\n200 worker 0 0s v\n\n";
        let m = parse(a, MAX).unwrap();
        assert_eq!((m.reloads, m.failed, m.new_workers), (4, None, false));
    }

    #[test]
    fn no_master_line_or_garbage() {
        for (a, why) in [
            (&b""[..], Unreadable::Incomplete),
            (b"Unknown command.\n\n", Unreadable::Missing),
            (b"1 master 3\n\n", Unreadable::Invalid),
            (b"100 master x\n\n", Unreadable::Invalid),
            (b"100 master 3 [failed: x]\n\n", Unreadable::Invalid),
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
