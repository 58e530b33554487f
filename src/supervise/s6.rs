//! s6's `s6-supervise` status (s6 2.9 and later; Debian 12 ships 2.11.3.2):
//!
//! | bytes | field |
//! |---|---|
//! | 0-11 | TAI64N stamp of the last change |
//! | 12-23 | TAI64N stamp of readiness |
//! | 24-31 | pid, u64 big-endian; 0 when down |
//! | 32-33 | wait status, u16 big-endian (2.13: at 40-41, after the pgid at 32-39) |
//! | last | flags: 0x01 paused, 0x02 finishing (the pid is the finish script's) |
//!
//! 35 bytes, except 43 in s6 2.13.x. The other flag bits moved between
//! versions (2.9-2.10: 0x04 want, 0x08 want up, 0x10 ready, 0x20 throttled;
//! 2.11 on: 0x04 want up, 0x08 ready); "want" is read the 2.11 way.

use super::{Invalid, State, Status, Supervisor, Want, checked_pid, expect_size};

const SUPERVISOR: Supervisor = Supervisor::S6;

pub const SIZE: usize = 35;
pub const SIZE_2_13: usize = 43;

const PAUSED: u8 = 0x01;
const FINISHING: u8 = 0x02;
const WANT_UP: u8 = 0x04;
/// No version of s6 sets the two high bits.
const KNOWN: u8 = 0x3f;

pub fn decode(b: &[u8], pid_max: u32) -> Result<Status, Invalid> {
    expect_size(b, "s6", &[SIZE, SIZE_2_13])?;
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&b[24..32]);
    let pid = checked_pid(u64::from_be_bytes(raw), pid_max)?;
    let flags = b[b.len() - 1];
    if flags & !KNOWN != 0 {
        return Err(Invalid(format!(
            "flags byte {flags:#04x} has bits no s6 sets"
        )));
    }
    let state = match (pid, flags & FINISHING != 0) {
        (0, _) => State::Down,
        (_, true) => State::Finish,
        (_, false) => State::Up,
    };
    let want = if flags & WANT_UP != 0 {
        Want::Up
    } else {
        Want::Down
    };
    let paused = flags & PAUSED != 0;
    Ok(Status::new(SUPERVISOR, state, pid, paused, want))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sleep` under s6-supervise, as its hexdump showed (stamps made up).
    fn up() -> [u8; 35] {
        let mut b = [0u8; 35];
        b[0] = 0x40;
        b[12] = 0x40;
        b[24..32].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0x54, 0x43]);
        b[34] = 0x04;
        b
    }

    #[test]
    fn real_hexdump() {
        let s = decode(&up(), 4_194_304).unwrap();
        assert_eq!(
            s,
            Status {
                supervisor: Supervisor::S6,
                state: State::Up,
                pid: 21571,
                paused: false,
                want: Want::Up
            }
        );
    }

    #[test]
    fn paused_finishing_down() {
        let mut b = up();
        b[34] = 0x05;
        assert_eq!(decode(&b, 4_194_304).unwrap().service_pid(), Some(21571));
        // Seen here: a finish script running after `s6-svc -d`.
        b[34] = 0x02;
        let f = decode(&b, 4_194_304).unwrap();
        assert_eq!((f.state, f.service_pid()), (State::Finish, None));
        b[24..32].copy_from_slice(&[0; 8]);
        b[34] = 0x08;
        assert_eq!(decode(&b, 4_194_304).unwrap().state, State::Down);
    }

    #[test]
    fn s6_2_13_has_43_bytes_and_the_flags_last() {
        let mut b = [0u8; 43];
        b[24..32].copy_from_slice(&up()[24..32]);
        b[32..40].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0x54, 0x43]);
        b[42] = 0x02;
        assert_eq!(decode(&b, 4_194_304).unwrap().state, State::Finish);
        b[42] = 0x04;
        assert_eq!(decode(&b, 4_194_304).unwrap().service_pid(), Some(21571));
    }

    #[test]
    fn impossible_contents_and_truncations() {
        let mut b = up();
        b[24] = 1; // pid beyond pid_t
        assert!(decode(&b, 4_194_304).is_err());
        let mut b = up();
        b[31] = 1;
        b[30] = 0;
        assert!(decode(&b, 4_194_304).is_err(), "pid 1");
        let mut b = up();
        b[34] = 0x80;
        assert!(decode(&b, 4_194_304).is_err());
        assert!(decode(&up(), 21570).is_err(), "above pid_max");
        for n in 0..SIZE {
            assert!(decode(&up()[..n], 4_194_304).is_err());
        }
    }
}
