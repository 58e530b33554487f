//! daemontools-encore's `supervise` status (from its supervise.c; not
//! packaged by Debian, so checked on bytes made from that source only):
//!
//! | bytes | field |
//! |---|---|
//! | 0-11 | TAI64N of the last change |
//! | 12-15 | pid, u32 little-endian |
//! | 16 | paused flag |
//! | 17 | want: `u`, `d`, or 0 |
//! | 18 | state: 0 stopped, 1 starting (./start runs), 2 started, 3 running (./run runs), 4 stopping, 5 failed |
//! | 19 | 0 |
//!
//! 40 bytes when a logger runs under the same supervise: the second 20
//! are the logger's. Unlike the others it rewrites the file in place, so
//! the reader takes two equal reads (see `super::observe`).

use super::{Invalid, State, Status, Supervisor, daemontools_head, expect_size};

const SUPERVISOR: Supervisor = Supervisor::DaemontoolsEncore;

pub const SIZE: usize = 20;
pub const SIZE_WITH_LOG: usize = 40;

pub fn decode(b: &[u8], pid_max: u32) -> Result<Status, Invalid> {
    expect_size(b, "daemontools-encore", &[SIZE, SIZE_WITH_LOG])?;
    if b.len() == SIZE_WITH_LOG {
        // The logger's half must make sense too, or the file is not encore's.
        decode(&b[SIZE..], pid_max)?;
    }
    let (pid, paused, want) = daemontools_head(b, pid_max, true)?;
    let state = match b[18] {
        0 | 2 | 5 => State::Down,
        1 => State::Starting,
        3 => State::Up,
        4 => State::Stopping,
        s => return Err(Invalid(format!("state byte is {s}, not 0 to 5"))),
    };
    if b[19] != 0 {
        return Err(Invalid(format!("byte 19 is {}, not 0", b[19])));
    }
    if state == State::Up && pid == 0 {
        return Err(Invalid("running with pid 0 is impossible".into()));
    }
    Ok(Status::new(SUPERVISOR, state, pid, paused, want))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As make_status() in encore's supervise.c writes a running service.
    fn running() -> [u8; 20] {
        let mut b = [0u8; 20];
        b[0] = 0x40;
        b[12..16].copy_from_slice(&4242u32.to_le_bytes());
        b[17] = b'u';
        b[18] = 3;
        b
    }

    #[test]
    fn states() {
        assert_eq!(
            decode(&running(), 4_194_304).unwrap().service_pid(),
            Some(4242)
        );
        for (s, state) in [
            (0, State::Down),
            (1, State::Starting),
            (2, State::Down),
            (4, State::Stopping),
            (5, State::Down),
        ] {
            let mut b = running();
            b[18] = s;
            let d = decode(&b, 4_194_304).unwrap();
            assert_eq!((d.state, d.service_pid()), (state, None), "state {s}");
        }
    }

    #[test]
    fn with_a_logger_the_first_half_is_the_service() {
        let mut b = [0u8; 40];
        b[..20].copy_from_slice(&running());
        b[20..].copy_from_slice(&running());
        b[32..36].copy_from_slice(&4343u32.to_le_bytes());
        assert_eq!(decode(&b, 4_194_304).unwrap().service_pid(), Some(4242));
        b[39] = 9;
        assert!(decode(&b, 4_194_304).is_err());
    }

    #[test]
    fn impossible_contents_and_truncations() {
        for (i, v) in [(16, 2), (17, b'x'), (18, 6), (19, 1)] {
            let mut b = running();
            b[i] = v;
            assert!(decode(&b, 4_194_304).is_err(), "byte {i} = {v}");
        }
        let mut b = running();
        b[12..16].copy_from_slice(&[0; 4]);
        assert!(decode(&b, 4_194_304).is_err());
        for n in 0..SIZE {
            assert!(decode(&running()[..n], 4_194_304).is_err());
        }
    }
}
