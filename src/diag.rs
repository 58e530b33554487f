//! skarnet-style diagnostics (`prog: fatal: ...`), the exit codes README.md
//! lists, and the one rule for printing bytes from outside. Like skalibs'
//! strerr, this knows no domain: each error type says what it is (its
//! words and its exit code, `Failure`) where it is defined, and a program
//! says it here. Each message is one write(2) on fd 2; a failed write is
//! ignored, never a panic (eprintln! would panic on EPIPE).

/// The pid is not available and the program was not told to go on without it.
pub const EXIT_NO_PID: i32 = 1;
/// What is waited for will never come: haproxy-pid -e, the pid expected is
/// gone; sv-pid -u, the service is wanted down (where 1 says: not in time).
pub const EXIT_GONE: i32 = 2;
pub const EXIT_USAGE: i32 = 100;
pub const EXIT_SYSTEM: i32 = 111;
pub const EXIT_CANNOT_EXEC: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// An error that ends a program: what it says after `prog: fatal: `, and
/// the exit code it ends with.
pub trait Failure {
    fn words(&self) -> Vec<u8>;
    fn code(&self) -> i32;
}

/// A program's name (fixed, as skarnet does, not argv[0]) and usage line.
pub struct Prog {
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
}

impl Prog {
    fn say(&self, level: &[u8], parts: &[&[u8]]) {
        crate::sys::write_all(2, &line(self.name, level, parts));
    }

    pub fn warn(&self, parts: &[&[u8]]) {
        self.say(b"warning: ", parts);
    }

    pub fn die(&self, code: i32, parts: &[&[u8]]) -> ! {
        self.say(b"fatal: ", parts);
        std::process::exit(code)
    }

    /// Says what `failure` is, and exits with its code.
    pub fn fail(&self, failure: &dyn Failure) -> ! {
        self.die(failure.code(), &[&failure.words()])
    }

    pub fn usage(&self) -> ! {
        self.say(b"usage: ", &[self.usage.as_bytes()]);
        std::process::exit(EXIT_USAGE)
    }

    pub fn help(&self) -> ! {
        let text = [
            b"usage: ",
            self.usage.as_bytes(),
            b"\n",
            self.help.as_bytes(),
        ]
        .concat();
        self.print(&text)
    }

    pub fn version(&self) -> ! {
        let text = [self.name, " ", env!("CARGO_PKG_VERSION"), "\n"].concat();
        self.print(text.as_bytes())
    }

    fn print(&self, text: &[u8]) -> ! {
        let code = if crate::sys::write_all(1, text) {
            0
        } else {
            EXIT_SYSTEM
        };
        std::process::exit(code)
    }
}

/// One message line. Paths and values come from outside: anything but
/// printable ASCII (a control byte would break the line or drive a
/// terminal), and the backslash that introduces the escape, is shown as
/// `\xNN`, so that every line reads one way.
fn line(name: &str, level: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut line = Vec::with_capacity(128);
    line.extend_from_slice(name.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(level);
    for part in parts {
        escape_into(&mut line, part);
    }
    line.push(b'\n');
    line
}

/// `bytes` onto `out`, printable ASCII as it is, any other byte and the
/// backslash as `\xNN`: the one rule for all that pidchain prints of what
/// came from outside.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
    }
}

/// A value from outside shortened for a message: at most 64 bytes, then
/// `...` (escaped, like the rest, when said).
pub fn clip(bytes: &[u8]) -> Vec<u8> {
    const SHOWN: usize = 64;
    if bytes.len() <= SHOWN {
        return bytes.to_vec();
    }
    [&bytes[..SHOWN], b"..."].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_escaping_rule() {
        assert_eq!(
            line("p", b"fatal: ", &[b"a\x1b[2J", b"\xff\\x1b\n"]),
            b"p: fatal: a\\x1b[2J\\xff\\x5cx1b\\x0a\n"
        );
    }

    #[test]
    fn clipped_at_64() {
        assert_eq!(clip(&[b'7'; 100]).len(), 64 + 3);
        assert_eq!(clip(b"short"), b"short");
    }
}
