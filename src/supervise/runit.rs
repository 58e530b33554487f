//! runit's `runsv` status, 20 bytes (verified with Debian's runit 2.1.2):
//!
//! | bytes | field |
//! |---|---|
//! | 0-11 | TAI64N of the last change |
//! | 12-15 | pid, u32 little-endian |
//! | 16 | paused flag |
//! | 17 | want, `u` or `d` |
//! | 18 | TERM-sent flag |
//! | 19 | state: 0 down, 1 run, 2 finish (the pid is then the finish script's) |
//!
//! When ./run exits, runsv writes state 2 with pid 0 before it forks
//! ./finish: a service between its run and its finish script.

use super::{Invalid, State, Status, Supervisor, daemontools_head, expect_size, flag};

const SUPERVISOR: Supervisor = Supervisor::Runit;

pub const SIZE: usize = 20;

pub fn decode(b: &[u8], pid_max: u32) -> Result<Status, Invalid> {
    expect_size(b, "runit", &[SIZE])?;
    let (pid, paused, want) = daemontools_head(b, pid_max, false)?;
    flag(b[18], "term-sent")?;
    let state = match (b[19], pid) {
        (0, 0) => State::Down,
        (1, p) if p != 0 => State::Up,
        (2, _) => State::Finish,
        (s @ 0..=1, p) => return Err(Invalid(format!("state {s} with pid {p} is impossible"))),
        (s, _) => return Err(Invalid(format!("state byte is {s}, not 0, 1 or 2"))),
    };
    Ok(Status::new(SUPERVISOR, state, pid, paused, want))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::Want;

    /// `sleep` under runsv, as its hexdump showed.
    const UP: [u8; 20] = [
        0x40, 0, 0, 0, 0x6b, 0x05, 0xa2, 0x30, 0x3a, 0xff, 0x6a, 0x9c, 0x41, 0x54, 0, 0, 0x00,
        0x75, 0x00, 0x01,
    ];

    fn with(i: usize, v: u8) -> [u8; 20] {
        let mut b = UP;
        b[i] = v;
        b
    }

    #[test]
    fn real_hexdump() {
        let s = decode(&UP, 4_194_304).unwrap();
        assert_eq!(
            s,
            Status {
                supervisor: Supervisor::Runit,
                state: State::Up,
                pid: 21569,
                paused: false,
                want: Want::Up
            }
        );
        assert_eq!(s.service_pid(), Some(21569));
    }

    #[test]
    fn paused_down_and_finish() {
        let paused = decode(&with(16, 1), 4_194_304).unwrap();
        assert!(paused.paused);
        assert_eq!(paused.service_pid(), Some(21569));
        let mut down = with(19, 0);
        down[12..16].copy_from_slice(&[0; 4]);
        down[17] = b'd';
        assert_eq!(decode(&down, 4_194_304).unwrap().state, State::Down);
        let finish = decode(&with(19, 2), 4_194_304).unwrap();
        assert_eq!((finish.state, finish.service_pid()), (State::Finish, None));
        // `sv once`: want down, still running.
        assert_eq!(
            decode(&with(17, b'd'), 4_194_304).unwrap().service_pid(),
            Some(21569)
        );
    }

    #[test]
    fn impossible_contents() {
        for (i, v) in [
            (16, 2),
            (17, b'x'),
            (17, 0),
            (18, 7),
            (19, 3),
            (19, 0),
            (15, 0x80),
            (14, 0xff),
        ] {
            assert!(decode(&with(i, v), 4_194_304).is_err(), "byte {i} = {v}");
        }
        let mut run_without_pid = UP;
        run_without_pid[12..16].copy_from_slice(&[0; 4]);
        assert!(decode(&run_without_pid, 4_194_304).is_err());
        let mut pid_one = UP;
        pid_one[12..16].copy_from_slice(&[1, 0, 0, 0]);
        assert!(decode(&pid_one, 4_194_304).is_err());
        assert!(decode(&UP, 21568).is_err(), "above pid_max");
    }

    #[test]
    fn finish_before_its_script_starts_has_no_pid() {
        let mut b = with(19, 2);
        b[12..16].copy_from_slice(&[0; 4]);
        let s = decode(&b, 4_194_304).unwrap();
        assert_eq!((s.state, s.service_pid()), (State::Finish, None));
    }

    #[test]
    fn every_truncation_is_refused() {
        for n in 0..SIZE {
            assert!(decode(&UP[..n], 4_194_304).is_err());
        }
    }
}
