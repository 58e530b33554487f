//! Paths built at run time from paths given as bytes: `dir/name`, and
//! dirname(1) and basename(1) as the shell says them.

use std::ffi::CString;

/// `dir/name` (or `name` alone) as a C string; None if either holds a NUL.
pub fn join(dir: &[u8], name: &[u8]) -> Option<CString> {
    let mut p = Vec::with_capacity(dir.len() + name.len() + 2);
    if !dir.is_empty() {
        p.extend_from_slice(dir);
        if !dir.ends_with(b"/") {
            p.push(b'/');
        }
    }
    p.extend_from_slice(name);
    CString::new(p).ok()
}

/// The directory part of a path, as dirname(1) would say it.
pub fn dirname(path: &[u8]) -> &[u8] {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return if path.is_empty() { b"." } else { b"/" },
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        None => b".",
        Some(0) => b"/",
        Some(i) => &trimmed[..i],
    }
}

/// The last component of a path, as basename(1) would say it.
pub fn basename(path: &[u8]) -> &[u8] {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return if path.is_empty() { b"" } else { b"/" },
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        None => trimmed,
        Some(i) => &trimmed[i + 1..],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirname_and_basename() {
        for (p, d, b) in [
            (
                &b"/run/haproxy/h.pid"[..],
                &b"/run/haproxy"[..],
                &b"h.pid"[..],
            ),
            (b"h.pid", b".", b"h.pid"),
            (b"/h.pid", b"/", b"h.pid"),
            (b"a/b/", b"a", b"b"),
            (b"/", b"/", b"/"),
            (b"", b".", b""),
        ] {
            assert_eq!(dirname(p), d, "{p:?}");
            assert_eq!(basename(p), b, "{p:?}");
        }
    }

    #[test]
    fn join_adds_one_slash() {
        assert_eq!(join(b"a", b"b").unwrap().as_bytes(), b"a/b");
        assert_eq!(join(b"a/", b"b").unwrap().as_bytes(), b"a/b");
        assert_eq!(join(b"", b"b").unwrap().as_bytes(), b"b");
        assert!(join(b"a\0", b"b").is_none());
    }
}
