//! Decimal numbers in text, the one parser and the one formatter for all
//! of them (pids, pid_max, uids, link counts, milliseconds, reload
//! counts), and isspace(3), which decides what surrounds them.

/// isspace(3) in the C locale: space, \t, \n, \v, \f, \r.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `bytes` without the isspace(3) bytes around it.
pub fn trim_space(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// Digits only, no sign, no leading zero (a pidfile never has one, and
/// `010` means 8 to some shells), no overflow.
pub fn parse(token: &[u8]) -> Option<u64> {
    if token.is_empty() || token[0] == b'0' && token.len() > 1 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in token {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

/// Appends `n` in decimal, without allocating more than `out` needs.
pub fn push(out: &mut Vec<u8>, n: impl Into<u64>) {
    let mut n = n.into();
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

pub fn format(n: impl Into<u64>) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    push(&mut v, n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_is_what_isspace_says() {
        assert_eq!(trim_space(b" \t\n\x0b\x0c\r42\r\x0c\x0b\n\t "), b"42");
        assert_eq!(trim_space(b"\x0b"), b"");
        assert_eq!(trim_space(b""), b"");
        assert_eq!(trim_space(b"\xa042\x85"), b"\xa042\x85");
        assert_eq!(trim_space(b"\x1c42"), b"\x1c42");
    }

    #[test]
    fn format_round_trips() {
        for n in [0, 2, 9, 10, 4242, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(format(n), n.to_string().as_bytes());
            assert_eq!(parse(&format(n)), Some(n));
        }
    }

    #[test]
    fn parse_refuses_what_is_not_plain_digits() {
        for bad in [
            "",
            "00",
            "01",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1a",
            "18446744073709551616",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
