//! daemontools' `supervise` status, 18 bytes (verified with Debian's
//! daemontools 0.76):
//!
//! | bytes | field |
//! |---|---|
//! | 0-11 | TAI64N of the last change |
//! | 12-15 | pid, u32 little-endian; 0 when down |
//! | 16 | paused flag |
//! | 17 | want: `u`, `d`, or 0 after `svc -o` |
//!
//! There is no finish script: a pid is the service's.

use super::{Invalid, State, Status, Supervisor, daemontools_head, expect_size};

const SUPERVISOR: Supervisor = Supervisor::Daemontools;

pub const SIZE: usize = 18;

pub fn decode(b: &[u8], pid_max: u32) -> Result<Status, Invalid> {
    expect_size(b, "daemontools", &[SIZE])?;
    let (pid, paused, want) = daemontools_head(b, pid_max, true)?;
    let state = if pid == 0 { State::Down } else { State::Up };
    Ok(Status::new(SUPERVISOR, state, pid, paused, want))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::Want;

    /// `sleep` under supervise, as its hexdump showed.
    const UP: [u8; 18] = [
        0x40, 0, 0, 0, 0x6b, 0x05, 0xae, 0x7c, 0x33, 0xf6, 0x44, 0xdc, 0x2e, 0x1d, 0, 0, 0x00, 0x75,
    ];

    #[test]
    fn real_hexdump() {
        let s = decode(&UP, 4_194_304).unwrap();
        assert_eq!(
            s,
            Status {
                supervisor: Supervisor::Daemontools,
                state: State::Up,
                pid: 7470,
                paused: false,
                want: Want::Up
            }
        );
    }

    #[test]
    fn paused_down_once() {
        let mut b = UP;
        b[16] = 1;
        assert_eq!(decode(&b, 4_194_304).unwrap().service_pid(), Some(7470));
        let mut once = UP;
        once[17] = 0;
        assert_eq!(decode(&once, 4_194_304).unwrap().want, Want::Nothing);
        let mut down = UP;
        down[12..16].copy_from_slice(&[0; 4]);
        down[17] = b'd';
        assert_eq!(decode(&down, 4_194_304).unwrap().service_pid(), None);
    }

    #[test]
    fn impossible_contents_and_truncations() {
        for (i, v) in [(16, 2), (17, b'x'), (15, 0x80), (12, 1)] {
            let mut b = UP;
            b[i] = v;
            if i == 12 {
                b[13] = 0;
            }
            assert!(decode(&b, 4_194_304).is_err(), "byte {i} = {v}");
        }
        for n in 0..SIZE {
            assert!(decode(&UP[..n], 4_194_304).is_err());
        }
    }
}
