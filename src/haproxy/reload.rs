//! The master CLI's `reload` command. From haproxy 2.7 the master
//! re-executes itself and answers on the same connection once the new
//! load is done (2.7 to 3.0: configuration parsed, listeners bound,
//! workers forked; 3.1+: the new worker ready, or dead), then closes it:
//!
//! ```text
//! Success=1
//! --
//! [NOTICE]   (4167) : New worker (4302) forked
//! [NOTICE]   (4167) : Loading success.
//!
//! ```
//!
//! `--` and the start-up messages (with `[ALERT]` lines naming file and
//! line when the load failed) come only where haproxy kept them. While a
//! worker of an earlier reload still loads, 3.1+ answers at once
//! `Success=0`, `--`, `Another reload is still in progress.` and reloads
//! nothing. Before 2.7 (2.4, 2.6, seen) the master reloads all the same
//! (as on SIGUSR2) but closes the connection at once with no answer: the
//! reload is then seen in `show proc` only.

use super::answer::{self, Unreadable};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// `Success=1`, with the start-up messages.
    Loaded(&'a [u8]),
    /// `Success=0`: the former workers serve on. The start-up messages
    /// say why.
    Failed(&'a [u8]),
    /// `Success=0` because a reload asked earlier is still loading: this
    /// one was not done.
    Busy,
    /// Closed with nothing said: a master before 2.7, which reloads
    /// without answering.
    Unanswered,
}

const BUSY: &[u8] = b"Another reload is still in progress.";

pub fn parse(answer: &[u8]) -> Result<Outcome<'_>, Unreadable> {
    if answer.is_empty() {
        return Ok(Outcome::Unanswered);
    }
    let body = answer::whole(answer)?;
    let (first, rest) = match body.iter().position(|&b| b == b'\n') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &b""[..]),
    };
    // The messages follow a `--` line; nothing else may.
    let messages = match rest.strip_prefix(b"--\n") {
        Some(m) => m,
        None if rest.is_empty() => rest,
        None => return Err(Unreadable::Invalid),
    };
    match first {
        b"Success=1" => Ok(Outcome::Loaded(messages)),
        b"Success=0" if messages.strip_suffix(b"\n") == Some(BUSY) => Ok(Outcome::Busy),
        b"Success=0" => Ok(Outcome::Failed(messages)),
        _ if body
            .split(|&b| b == b'\n')
            .any(|l| l.starts_with(b"Success=")) =>
        {
            Err(Unreadable::Invalid)
        }
        _ => Err(Unreadable::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_of_each_kind() {
        // haproxy 2.8.0, reloading a valid configuration.
        let loaded = b"Success=1\n--\n[NOTICE]   (4167) : New worker (4302) forked\n\
[NOTICE]   (4167) : Loading success.\n\n";
        assert_eq!(
            parse(loaded),
            Ok(Outcome::Loaded(
                &b"[NOTICE]   (4167) : New worker (4302) forked\n\
[NOTICE]   (4167) : Loading success.\n"[..]
            ))
        );
        assert_eq!(parse(b"Success=1\n\n"), Ok(Outcome::Loaded(b"")));
        let failed = b"Success=0\n--\n[ALERT]    (9) : config : parsing [/x.cfg:3] : unknown keyword 'x'\n\n";
        assert_eq!(
            parse(failed),
            Ok(Outcome::Failed(
                &b"[ALERT]    (9) : config : parsing [/x.cfg:3] : unknown keyword 'x'\n"[..]
            ))
        );
        assert_eq!(
            parse(b"Success=0\n--\nAnother reload is still in progress.\n\n"),
            Ok(Outcome::Busy)
        );
        assert_eq!(parse(b""), Ok(Outcome::Unanswered));
    }

    #[test]
    fn cut_or_foreign_answers_say_nothing() {
        for cut in [
            &b"Success=1"[..],
            b"Success=1\n",
            b"Success=1\n--\n[NOTICE] (1) : New wor",
            b"Success=0\n--\nAnother reload is still in progress.\n",
        ] {
            assert_eq!(parse(cut), Err(Unreadable::Incomplete), "{cut:?}");
        }
        // A master before 2.7 asked something it does not know.
        assert_eq!(
            parse(b"Unknown command, but maybe one of the following ones is a better match:\n\n"),
            Err(Unreadable::Missing)
        );
        for junk in [
            &b"Success=2\n\n"[..],
            b"Success=1\nmore\n\n",
            b"x\nSuccess=1\n\n",
        ] {
            assert_eq!(parse(junk), Err(Unreadable::Invalid), "{junk:?}");
        }
    }
}
