//! What README.md and the man pages show still runs as shown: a file
//! they print (`$ cat FILE`) is the shipped one, a link or a path of the
//! tree they name is there, a `make` target they give exists, the packages
//! to install are named with this version, and every
//! option they pass one of the programs is one that program takes.

mod common;
use common::*;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
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

/// The lines of code blocks: README's fenced ones, the pages' `.Bd
/// -literal` and `.Dl` lines (with mdoc's `\e` made a backslash).
fn code_lines(name: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if name.ends_with(".md") {
            if line.starts_with("```") {
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
                .take_while(|l| !l.starts_with("$ "))
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
