//! What README.md and the man pages show still runs as shown: a file
//! they print (`$ cat FILE`) is the shipped one, a link or a path of the
//! tree they name is there, a `make` target they give exists, the packages
//! to install are named with this version, and every option they pass one
//! of the programs is one that program takes. And
//! each page says what its program does: every message the program or
//! recipe prints is in DIAGNOSTICS, every exit code in EXIT STATUS, and
//! SYNOPSIS is the usage it gives; read from the sources, not listed here.

mod common;
use common::*;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A program's source, with what it sources (the recipes' shared
/// pidchain-reload.sh): what it says and how it exits.
fn source_text(source: &str) -> String {
    let text = read(source);
    let shared = "pidchain-reload.sh";
    if text.contains(&format!("command . {shared}")) {
        text + &read(&format!("recipes/{shared}"))
    } else {
        text
    }
}

/// The man pages and README, by name.
fn documents() -> Vec<(String, String)> {
    let mut docs = vec![("README.md".to_owned(), read("README.md"))];
    let mut pages: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    for p in pages {
        let rel = format!("man/{p}");
        docs.push((rel.clone(), read(&rel)));
    }
    docs
}

/// The lines of code blocks: README's fenced ones (each closed by a
/// line "```"), the pages' `.Bd -literal` and `.Dl` lines (with mdoc's
/// `\e` made a backslash).
fn code_lines(name: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if name.ends_with(".md") {
            if line.starts_with("```") {
                if inside {
                    out.push("```".to_owned());
                }
                inside = !inside;
            } else if inside {
                out.push(line.to_owned());
            }
        } else if line.starts_with(".Bd -literal") {
            inside = true;
        } else if line.starts_with(".Ed") {
            inside = false;
        } else if let Some(l) = line.strip_prefix(".Dl ") {
            out.push(l.replace("\\e", "\\"));
        } else if inside {
            out.push(line.replace("\\e", "\\"));
        }
    }
    out
}

/// Where a file shown installed is in the tree.
fn shipped(shown: &str) -> Option<String> {
    for (installed, tree) in [
        ("/etc/sv/haproxy/", "examples/runit/haproxy/"),
        ("/etc/service/haproxy/", "examples/runit/haproxy/"),
        ("/run/service/haproxy/", "examples/s6/haproxy-mw/"),
        ("examples/", "examples/"),
    ] {
        if let Some(rest) = shown.strip_prefix(installed) {
            return Some(format!("{tree}{rest}"));
        }
    }
    None
}

#[test]
fn a_file_shown_is_the_shipped_one() {
    let mut checked = 0;
    for (name, text) in documents() {
        let lines = code_lines(&name, &text);
        for (i, line) in lines.iter().enumerate() {
            let Some(shown) = line.strip_prefix("$ cat ") else {
                continue;
            };
            let file = shipped(shown).unwrap_or_else(|| panic!("{name}: where is {shown}?"));
            let printed: Vec<&str> = lines[i + 1..]
                .iter()
                .take_while(|l| !l.starts_with("$ ") && *l != "```")
                .map(String::as_str)
                .collect();
            // A page may leave out the comments; never anything else.
            let real = read(&file);
            let real: Vec<&str> = if name.ends_with(".md") {
                real.lines().collect()
            } else {
                real.lines()
                    .enumerate()
                    .filter(|(n, l)| *n == 0 || !l.starts_with('#'))
                    .map(|(_, l)| l)
                    .collect()
            };
            assert_eq!(printed, real, "{name}: `cat {shown}` is not {file}");
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} files shown");
}

#[test]
fn links_and_paths_of_the_tree_exist() {
    let readme = read("README.md");
    let mut checked = 0;
    for part in readme.split("](").skip(1) {
        let target = part.split(')').next().unwrap();
        if target.starts_with("http") || target.starts_with('#') {
            continue;
        }
        assert!(
            Path::new(ROOT).join(target).exists(),
            "README links to {target}, which is not there"
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} links");
}

#[test]
fn every_make_target_given_exists() {
    let makefile = read("Makefile");
    let targets: Vec<&str> = makefile
        .lines()
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .filter(|t| !t.contains(' ') && !t.contains('=') && !t.starts_with('\t'))
        .collect();
    let mut checked = 0;
    for (name, text) in documents() {
        // A package list (`apt-get install ... make dpkg-dev`) is no command.
        for line in text.lines().filter(|l| !l.contains("apt-get")) {
            for (i, _) in line.match_indices("make ") {
                let word = line[i + 5..]
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .next()
                    .unwrap_or_default();
                let before = line[..i].chars().last();
                if word.is_empty()
                    || word.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    || before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
                    || ["install", "check"].contains(&word) && !targets.contains(&word)
                {
                    continue;
                }
                if ["it", "a", "the", "each", "sure"].contains(&word) {
                    continue;
                }
                assert!(
                    targets.contains(&word),
                    "{name}: `make {word}`: no such target"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "only {checked} make commands");
}

/// The option letters a program takes, from its own --help, and whether
/// each takes a value (`-w ms` there, not `-o  text`).
fn options_of(bin: &str) -> Vec<(char, bool)> {
    let o = run(cmd(bin).arg("--help"));
    assert_eq!(o.code(), 0, "{o:?}");
    o.out()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('-'))
        .filter_map(|l| {
            let mut chars = l.chars();
            let c = chars.next()?;
            let rest = chars.as_str();
            let value = rest.starts_with(' ') && !rest[1..].starts_with(' ');
            Some((c, value))
        })
        .collect()
}

#[test]
fn every_option_given_a_program_is_one_it_takes() {
    let programs = [
        ("pidfile-read", PIDFILE_READ),
        ("sv-pid", SV_PID),
        ("haproxy-sf", HAPROXY_SF),
        ("haproxy-pid", HAPROXY_PID),
        ("haproxy-reloads", HAPROXY_RELOADS),
    ];
    let mut checked = 0;
    for (name, text) in documents() {
        for line in code_lines(&name, &text) {
            let words: Vec<&str> = line.split_whitespace().collect();
            for (i, w) in words.iter().enumerate() {
                let Some((prog, bin)) = programs.iter().find(|(p, _)| p == w) else {
                    continue;
                };
                let takes = options_of(bin);
                let mut rest = words[i + 1..].iter();
                while let Some(opt) = rest.next().filter(|a| a.len() > 1 && a.starts_with('-')) {
                    // Clustered flags, or one option and its attached value.
                    for c in opt.chars().skip(1).take_while(char::is_ascii_alphanumeric) {
                        let Some(&(_, value)) = takes.iter().find(|(t, _)| *t == c) else {
                            panic!("{name}: `{line}`: {prog} has no -{c}");
                        };
                        checked += 1;
                        if value {
                            if opt.len() == 2 {
                                rest.next();
                            }
                            break;
                        }
                    }
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} options");
}

/// The programs and recipes, each with its page.
const PAGES: [(&str, &str); 7] = [
    ("src/bin/pidfile-read.rs", "man/pidfile-read.1"),
    ("src/bin/sv-pid.rs", "man/sv-pid.1"),
    ("src/bin/haproxy-sf.rs", "man/haproxy-sf.1"),
    ("src/bin/haproxy-pid.rs", "man/haproxy-pid.1"),
    ("src/bin/haproxy-reloads.rs", "man/haproxy-reloads.1"),
    ("recipes/haproxy-handoff", "man/haproxy-handoff.8"),
    ("recipes/haproxy-master", "man/haproxy-master.8"),
];

/// The lines of section `name` of a page.
fn section<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
    page.lines()
        .skip_while(|l| *l != format!(".Sh {name}"))
        .skip(1)
        .take_while(|l| !l.starts_with(".Sh "))
        .collect()
}

/// An mdoc line as it reads: macros dropped (`Fl x` is `-x`, `Ns` joins),
/// closing punctuation joined to the word before it, quotes left out.
fn rendered(line: &str) -> String {
    let line = line
        .trim_start_matches('.')
        .replace("\\(dq", "\"")
        .replace("\\e", "\\")
        .replace("\\-", "-");
    let mut out = String::new();
    let mut join = false;
    let mut flag = false;
    for word in line.split_whitespace() {
        match word {
            "Ns" => join = true,
            "Fl" => flag = true,
            // A word that would be a macro, escaped as text.
            w if w.starts_with("\\&") && w.len() > 2 => {
                out.push(' ');
                out.push_str(&w[2..]);
            }
            w if w.len() == 2
                && w.starts_with(|c: char| c.is_ascii_uppercase())
                && w.ends_with(|c: char| c.is_ascii_lowercase()) => {}
            w => {
                let closing = w != "..." && w.chars().all(|c| ".,:;)]?!".contains(c));
                if !(out.is_empty() || join || closing || out.ends_with(['(', '['])) {
                    out.push(' ');
                }
                if flag {
                    out.push('-');
                }
                out.push_str(w);
                (join, flag) = (false, false);
            }
        }
    }
    out
}

/// The heads of DIAGNOSTICS' entries, as they read.
fn diagnostics(page: &str) -> Vec<String> {
    section(page, "DIAGNOSTICS")
        .into_iter()
        .filter_map(|l| l.strip_prefix(".It "))
        .map(rendered)
        .collect()
}

/// The text of a message a program prints, as the parts written between
/// what comes from outside. From Rust: every byte-string literal with a
/// word and a space in it (one part each: how they join is the code's).
/// From sh: each `fail "..."` and `echo "PROG: LEVEL: ..." >&2`, split at
/// each `$`.
fn messages(source: &str, text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if source.ends_with(".rs") {
        let mut rest = text;
        while let Some(at) = rest.find("b\"") {
            let body = &rest[at + 2..];
            let mut end = 0;
            let mut escaped = false;
            for (i, c) in body.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = i;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let literal = body[..end].replace("\\\n", " ");
            let literal: String = literal.split_whitespace().collect::<Vec<_>>().join(" ");
            let worded = literal.contains(' ') && literal.contains(|c: char| c.is_alphabetic());
            // What is asked of haproxy, not said.
            let start = text.len() - rest.len() + at;
            let line = text[..start].rsplit('\n').next().unwrap_or_default();
            let asked = ["query(", "ask(", "@!"].iter().any(|q| line.contains(q));
            if worded && !asked {
                out.push(vec![literal]);
            }
            rest = &body[end + 1..];
        }
        return out;
    }
    for line in text.lines().map(str::trim) {
        let called = line
            .match_indices("fail \"")
            .find(|(at, _)| line[..*at].ends_with([' ', '|', ')', '&']) || *at == 0);
        let said = if let Some((at, f)) = called {
            line[at + f.len()..].split('"').next()
        } else if line.starts_with("echo \"")
            && line.ends_with(">&2")
            && line.contains(": warning: ")
        {
            line.split(": warning: ")
                .nth(1)
                .and_then(|m| m.split('"').next())
        } else {
            None
        };
        let Some(said) = said else { continue };
        let parts = said
            .split('$')
            .enumerate()
            .map(|(i, p)| {
                // After `$`: the variable's name, or `{...}`, ends first.
                let p = if i == 0 {
                    p
                } else if let Some(braced) = p.strip_prefix('{') {
                    braced.split_once('}').map_or("", |(_, r)| r)
                } else {
                    p.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
                };
                p.trim().to_owned()
            })
            .filter(|p| p.contains(|c: char| c.is_alphabetic()))
            .collect();
        out.push(parts);
    }
    out
}

/// The parts, in order, in one of the heads.
fn listed(heads: &[String], parts: &[String]) -> bool {
    heads.iter().any(|head| {
        let mut rest = head.as_str();
        parts.iter().all(|p| match rest.find(p.as_str()) {
            Some(at) => {
                rest = &rest[at + p.len()..];
                true
            }
            None => false,
        })
    })
}

/// The library's error types that word themselves: each type's module
/// and name, the body of its `fn words`, and the functions that return it.
fn worded_types() -> Vec<(String, String, String, Vec<String>)> {
    let mut files = vec![];
    let mut dirs = vec![Path::new(ROOT).join("src")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() && !path.ends_with("bin") {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let stem = path.file_stem().unwrap().to_str().unwrap();
                let module = if stem == "mod" {
                    path.parent()
                        .unwrap()
                        .file_name()
                        .unwrap()
                        .to_str()
                        .unwrap()
                } else {
                    stem
                };
                files.push((module.to_owned(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut types = vec![];
    for (module, text) in files {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.trim_start().starts_with("fn words(") && !line.contains(" fn words(") {
                continue;
            }
            let owner = lines[..i]
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("impl "))
                .map(|l| l.rsplit(" for ").next().unwrap_or(l))
                .map(|l| {
                    l.split(['<', ' ', '{'])
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                })
                .unwrap_or_default();
            let indent = line.len() - line.trim_start().len();
            let close = format!("{}}}", " ".repeat(indent));
            let end = lines[i..]
                .iter()
                .position(|l| l.starts_with(&close))
                .map_or(lines.len(), |n| i + n);
            let body = lines[i..end].join("\n");
            let returning: Vec<String> = text
                .split("pub fn ")
                .skip(1)
                .filter_map(|f| {
                    let signature = f.split('{').next()?;
                    let returned = signature.split("-> ").nth(1)?.trim();
                    let named = returned == owner
                        || returned.starts_with(&format!("{owner}<"))
                        || returned == format!("Option<{owner}>");
                    named.then(|| f.split(['(', '<']).next().unwrap_or_default().to_owned())
                })
                .collect();
            types.push((module.clone(), owner, body, returning));
        }
    }
    types
}

/// Whether `source` names `word` as a whole identifier.
fn names(source: &str, word: &str) -> bool {
    source.match_indices(word).any(|(at, _)| {
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        !source[..at].ends_with(ident) && !source[at + word.len()..].starts_with(ident)
    })
}

#[test]
fn every_message_a_program_prints_is_in_its_diagnostics() {
    let mut checked = 0;
    let mut missing = Vec::new();
    for (source, page) in PAGES {
        let heads = diagnostics(&read(page));
        assert!(!heads.is_empty(), "{page}: no DIAGNOSTICS");
        let text = source_text(source);
        let mut said = messages(source, &text);
        // The words of each library error the program names, or gets from
        // a function it calls, in a module it names.
        let library = if source.ends_with(".rs") {
            worded_types()
        } else {
            vec![]
        };
        for (module, owner, body, returning) in library {
            let calls = returning
                .iter()
                .any(|f| text.contains(&format!(".{f}(")) || text.contains(&format!("::{f}")));
            if names(&text, &module) && (names(&text, &owner) || calls) {
                said.extend(messages(".rs", &body));
            }
        }
        for parts in said {
            if !listed(&heads, &parts) {
                missing.push(format!(
                    "{source} prints {parts:?}, not in {page}'s DIAGNOSTICS"
                ));
            }
            checked += 1;
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    assert!(checked >= 60, "only {checked} messages");
}

/// The exit codes a program's source may end with: the diag constants it
/// names (100 for usage is everyone's), `exit N` in a recipe outside its
/// subshells, 1 for each `fail`.
fn exit_codes(source: &str, text: &str) -> Vec<u32> {
    let mut codes = vec![100];
    if source.ends_with(".rs") {
        for line in read("src/diag.rs").lines() {
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            let (name, value) = rest.split_once(": i32 = ").unwrap();
            if names(text, name) {
                codes.push(value.trim_end_matches(';').parse().unwrap());
            }
        }
        // Every failure of a library call, and the exec at the end.
        codes.push(111);
        if text.contains("exec::") || text.contains("chain::") {
            codes.extend([126, 127]);
        }
    } else {
        // A subshell's exits, and those of a step run apart (a function
        // whose comment ends "Not for use by hand."), are their caller's
        // to read, not the command's.
        let (mut subshell, mut step, mut apart) = (false, false, false);
        for line in text.lines().map(str::trim) {
            match line {
                "(" => subshell = true,
                ")" => subshell = false,
                _ if line.ends_with("Not for use by hand.") => apart = true,
                _ if apart && line.ends_with("() {") => (step, apart) = (true, false),
                "}" if step => step = false,
                _ if subshell || step || line.starts_with('#') => {}
                _ => {
                    for (at, _) in line.match_indices("exit ") {
                        let n = line[at + 5..].split(|c: char| !c.is_ascii_digit()).next();
                        codes.extend(n.and_then(|n| n.parse::<u32>().ok()));
                    }
                    if line.contains("fail \"") {
                        codes.push(1);
                    }
                }
            }
        }
    }
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn every_exit_code_is_in_exit_status() {
    for (source, page) in PAGES {
        let listed: Vec<u32> = section(&read(page), "EXIT STATUS")
            .iter()
            .filter_map(|l| l.strip_prefix(".It ")?.parse().ok())
            .collect();
        for code in exit_codes(source, &source_text(source)) {
            assert!(
                listed.contains(&code),
                "{source} may exit {code}, which {page}'s EXIT STATUS does not list ({listed:?})"
            );
        }
    }
}

/// A usage line in one form: the options as a sorted list of groups
/// (`-x socket`, `-n var ...`, `-w ms | -W ms`, each flag alone), then
/// the operands in order (`[prog ...]` when optional).
fn usage_form(groups: Vec<(bool, Vec<String>)>) -> (Vec<String>, Vec<String>) {
    let mut options = vec![];
    let mut operands = vec![];
    for (optional, words) in groups {
        if words.first().is_some_and(|w| w.starts_with('-')) {
            let with_value = words.len() > 1 && !words[1].starts_with('-');
            if !with_value && words.iter().all(|w| w.starts_with('-')) {
                // A cluster (`-doa`) or flags one by one.
                for w in &words {
                    options.extend(w[1..].chars().map(|c| format!("-{c}")));
                }
            } else {
                options.push(words.join(" "));
            }
        } else if optional {
            operands.push(format!("[{}]", words.join(" ")));
        } else {
            operands.extend(words);
        }
    }
    options.sort();
    (options, operands)
}

/// From what follows `usage: `: `prog [ -o ] [ -n var ]... file [ prog... ]`.
fn usage_of_help(usage: &str) -> (Vec<String>, Vec<String>) {
    let mut groups: Vec<(bool, Vec<String>)> = vec![];
    let mut group: Option<Vec<String>> = None;
    let spaced = usage.replace("...", " ...").replace('|', " | ");
    for w in spaced.split_whitespace().skip(1) {
        match (w, group.as_mut()) {
            ("[", _) => group = Some(vec![]),
            ("]", _) => groups.push((true, group.take().unwrap_or_default())),
            // `]...`: the group before repeats.
            ("...", None) => groups.iter_mut().last().into_iter().for_each(|(_, g)| {
                g.push(w.to_owned());
            }),
            (w, Some(g)) => g.push(w.to_owned()),
            (w, None) => groups.push((false, vec![w.to_owned()])),
        }
    }
    usage_form(groups)
}

/// From SYNOPSIS: `.Op Fl n Ar var ...`, `.Ar file`, `.Cm run | reload`.
fn usage_of_synopsis(page: &str) -> (Vec<String>, Vec<String>) {
    let groups = section(page, "SYNOPSIS")
        .into_iter()
        .filter(|l| *l != ".Nm")
        .map(|l| {
            let optional = l.starts_with(".Op ");
            let text = rendered(l.strip_prefix(".Op ").unwrap_or(l));
            (
                optional,
                text.split_whitespace().map(str::to_owned).collect(),
            )
        })
        .collect();
    usage_form(groups)
}

#[test]
fn every_synopsis_is_the_usage_the_program_gives() {
    let bins = [
        ("pidfile-read", PIDFILE_READ),
        ("sv-pid", SV_PID),
        ("haproxy-sf", HAPROXY_SF),
        ("haproxy-pid", HAPROXY_PID),
        ("haproxy-reloads", HAPROXY_RELOADS),
    ];
    for (source, page) in PAGES {
        let name = source.rsplit('/').next().unwrap().trim_end_matches(".rs");
        let said = match bins.iter().find(|(n, _)| *n == name) {
            Some((_, bin)) => run(cmd(bin).arg("--help")).out(),
            None => {
                // Installed, it finds what it sources beside it in PATH.
                let mut path = std::ffi::OsString::from(Path::new(ROOT).join("recipes"));
                path.push(":");
                path.push(std::env::var_os("PATH").unwrap_or_default());
                let o =
                    run(std::process::Command::new(Path::new(ROOT).join(source)).env("PATH", path));
                assert_eq!(o.code(), 100, "{o:?}");
                o.stderr
            }
        };
        let usage = said
            .lines()
            .find_map(|l| l.split_once("usage: ").map(|(_, u)| u))
            .unwrap_or_else(|| panic!("{source}: no usage in {said:?}"));
        assert_eq!(
            usage_of_synopsis(&read(page)),
            usage_of_help(usage),
            "{page}'s SYNOPSIS is not `{usage}`"
        );
    }
}

/// The files README's Install section has a reader install are the ones
/// `make deb` and `make dist` build: named with Cargo.toml's version.
#[test]
fn the_packages_to_install_are_named_with_this_version() {
    let readme = read("README.md");
    let version = env!("CARGO_PKG_VERSION");
    let lines = code_lines("README.md", &readme);
    let names: Vec<&str> = lines
        .iter()
        .flat_map(|l| l.split(|c: char| c.is_whitespace() || "()/".contains(c)))
        .filter(|w| {
            let rest = w.strip_prefix("pidchain");
            rest.is_some_and(|r| r.len() > 1 && r.as_bytes()[1].is_ascii_digit())
        })
        .collect();
    for want in [
        format!("pidchain_{version}-1_amd64.deb"),
        format!("pidchain-{version}-x86_64-linux-static.tar.gz"),
        format!("pidchain-{version}-x86_64-linux-static.tar.gz.sha256"),
    ] {
        assert!(
            names.contains(&want.as_str()),
            "README names {names:?}, not {want}"
        );
    }
    for name in &names {
        assert!(
            name.starts_with(&format!("pidchain_{version}-"))
                || name.starts_with(&format!("pidchain-{version}-")),
            "README names {name}; this is {version}"
        );
    }
}
