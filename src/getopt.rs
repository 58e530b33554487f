//! getopt-style options over a borrowed argv: clustered short options,
//! values attached or separate, `--` or the first non-option ends them.
//! `-h`/`--help` and `-V`/`--version` are understood by every program.

use crate::argv::Argv;
use std::ffi::CStr;

#[derive(Debug, PartialEq, Eq)]
pub enum Opt<'a> {
    Flag(u8),
    Value(u8, &'a CStr),
    Help,
    Version,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Misuse<'a> {
    /// The option as written: `x` for `-x`, `--foo` for a long one.
    Unknown(&'a [u8]),
    MissingValue(u8),
}

pub struct Getopt<'a> {
    argv: Argv<'a>,
    /// Like getopt(3)'s optstring: a letter, `:` after it if it takes a value.
    spec: &'static [u8],
    index: usize,
    /// The cluster being read and the position in it; `None` between arguments.
    cluster: Option<(&'a CStr, usize)>,
}

impl<'a> Getopt<'a> {
    /// Options start after argv[0].
    pub fn new(argv: Argv<'a>, spec: &'static [u8]) -> Self {
        Getopt {
            argv,
            spec,
            index: 1,
            cluster: None,
        }
    }

    /// Index of the first argument that is not an option (valid once
    /// iteration has returned `None`).
    pub fn optind(&self) -> usize {
        self.index
    }

    fn takes_value(&self, c: u8) -> Option<bool> {
        if c == b':' {
            return None;
        }
        let at = self.spec.iter().position(|&b| b == c)?;
        Some(self.spec.get(at + 1) == Some(&b':'))
    }
}

impl<'a> Iterator for Getopt<'a> {
    type Item = Result<Opt<'a>, Misuse<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let (arg, pos) = match self.cluster {
            Some(c) => c,
            None => {
                let arg = self.argv.get(self.index)?;
                let bytes = arg.to_bytes();
                if bytes.len() < 2 || bytes[0] != b'-' {
                    return None;
                }
                if bytes == b"--" {
                    self.index += 1;
                    return None;
                }
                if bytes[1] == b'-' {
                    self.index += 1;
                    return Some(match &bytes[2..] {
                        b"help" => Ok(Opt::Help),
                        b"version" => Ok(Opt::Version),
                        _ => Err(Misuse::Unknown(bytes)),
                    });
                }
                (arg, 1)
            }
        };
        let bytes = arg.to_bytes();
        let c = bytes[pos];
        let next = pos + 1;
        let cluster_done = next == bytes.len();
        self.cluster = if cluster_done {
            None
        } else {
            Some((arg, next))
        };
        if cluster_done {
            self.index += 1;
        }
        match self.takes_value(c) {
            Some(true) => {
                let value = if cluster_done {
                    let Some(v) = self.argv.get(self.index) else {
                        return Some(Err(Misuse::MissingValue(c)));
                    };
                    self.index += 1;
                    v
                } else {
                    self.cluster = None;
                    self.index += 1;
                    let rest = &arg.to_bytes_with_nul()[next..];
                    // SAFETY: a suffix of a C string is a C string.
                    unsafe { CStr::from_bytes_with_nul_unchecked(rest) }
                };
                Some(Ok(Opt::Value(c, value)))
            }
            Some(false) => Some(Ok(Opt::Flag(c))),
            None => Some(match c {
                b'h' => Ok(Opt::Help),
                b'V' => Ok(Opt::Version),
                _ => Err(Misuse::Unknown(&bytes[pos..next])),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CString, c_char};

    fn run(args: &[&str], spec: &'static [u8]) -> (Vec<String>, usize) {
        let owned: Vec<CString> = args.iter().map(|a| CString::new(*a).unwrap()).collect();
        let mut ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let argv = unsafe { Argv::from_ptrs(&ptrs) };
        let mut g = Getopt::new(argv, spec);
        let mut seen = Vec::new();
        for o in g.by_ref() {
            seen.push(match o {
                Ok(Opt::Flag(c)) => format!("{}", c as char),
                Ok(Opt::Value(c, v)) => format!("{}={}", c as char, v.to_str().unwrap()),
                Ok(Opt::Help) => "help".into(),
                Ok(Opt::Version) => "version".into(),
                Err(Misuse::Unknown(u)) => format!("?{}", String::from_utf8_lossy(u)),
                Err(Misuse::MissingValue(c)) => format!("missing {}", c as char),
            });
            if seen.last().unwrap().starts_with('?') || seen.last().unwrap().starts_with("missing")
            {
                break;
            }
        }
        (seen, g.optind())
    }

    #[test]
    fn clusters_and_values() {
        let (o, i) = run(&["p", "-do", "-w500", "-n", "X", "file", "prog"], b"n:dow:");
        assert_eq!(o, ["d", "o", "w=500", "n=X"]);
        assert_eq!(i, 5);
        let (o, i) = run(&["p", "-dw", "7", "f"], b"dw:");
        assert_eq!(o, ["d", "w=7"]);
        assert_eq!(i, 3);
    }

    #[test]
    fn stops_at_first_non_option_and_double_dash() {
        assert_eq!(run(&["p", "f", "-d"], b"d"), (vec![], 1));
        assert_eq!(run(&["p", "-d", "--", "-o"], b"do"), (vec!["d".into()], 3));
        assert_eq!(run(&["p", "-", "-d"], b"d"), (vec![], 1));
        assert_eq!(run(&["p"], b"d"), (vec![], 1));
    }

    #[test]
    fn value_may_look_like_an_option() {
        assert_eq!(
            run(&["p", "-n", "-d", "f"], b"n:d"),
            (vec!["n=-d".into()], 3)
        );
    }

    #[test]
    fn misuse() {
        assert_eq!(run(&["p", "-x"], b"d").0, ["?x"]);
        assert_eq!(run(&["p", "-d:"], b"d").0, ["d", "?:"]);
        assert_eq!(run(&["p", "--nope"], b"d").0, ["?--nope"]);
        assert_eq!(run(&["p", "-n"], b"n:").0, ["missing n"]);
    }

    #[test]
    fn help_and_version() {
        assert_eq!(run(&["p", "-h"], b"d").0, ["help"]);
        assert_eq!(run(&["p", "--version"], b"d").0, ["version"]);
        assert_eq!(run(&["p", "-dV"], b"d").0, ["d", "version"]);
    }
}
