//! The tidy test (as rust-analyzer has one): rules of the source tree that a reviewer
//! should not have to check by eye. Every source file opens with a `//!` comment saying
//! what it owns; nothing prints outside the faces (`cli/`, the server's `serve/` and the
//! binary's `main.rs`); every `unsafe` carries a `// SAFETY:` line saying why it holds;
//! no address syntax (`workload.`, `/params`, `workload:` …) is written outside
//! `addr.rs`; the rooms of `src/` import only rooms below them in the data flow ([`ROOMS`]), so the
//! import graph has no circle and nothing runs back up.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The printing macros and handles that write to the terminal.
const PRINTS: &[&str] = &[
    "println!",
    "eprintln!",
    "print!(",
    "eprint!(",
    "io::stdout()",
    "io::stderr()",
];

/// Where printing is the job: the two faces and the binary's entry point.
const MAY_PRINT: &[&str] = &["src/cli/", "src/serve/", "src/main.rs"];

/// The rooms of `src/` in the order data flows through them, lowest first: a room may
/// import only rooms listed before it. `lib.rs` and `main.rs` assemble them and are
/// not rooms.
const ROOMS: &[&str] = &[
    "timings", "par", "value", "diag", "addr", "naming", "expr", "hcl", "schema", "config",
    "score", "module", "graph", "target", "eval", "provider", "state", "refresh", "plan", "apply",
    "render", "ops", "cli", "serve",
];

fn sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.push((rel, text));
            }
        }
    }
    out.sort();
    out
}

/// Files compiled only for tests: declared `#[cfg(test)] mod NAME;` in their parent, or
/// named `tests.rs`.
fn test_only_files(files: &[(PathBuf, String)]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for (path, text) in files {
        if path.file_name().is_some_and(|n| n == "tests.rs") {
            out.insert(path.clone());
        }
        let dir = match path.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs" | "main.rs") => path.parent().unwrap().to_path_buf(),
            _ => path.with_extension(""),
        };
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            if pair[0] == "#[cfg(test)]"
                && let Some(name) = pair[1]
                    .strip_prefix("mod ")
                    .and_then(|rest| rest.strip_suffix(';'))
            {
                out.insert(dir.join(format!("{name}.rs")));
                out.insert(dir.join(name).join("mod.rs"));
            }
        }
    }
    out
}

/// The lines of a file that are compiled outside tests: everything before an inline
/// `#[cfg(test)] mod … {` (the test module sits at the end of a file, by convention),
/// comments left out.
fn production_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| {
            w[0].trim() == "#[cfg(test)]"
                && w[1].trim().starts_with("mod ")
                && w[1].trim().ends_with('{')
        })
        .unwrap_or(lines.len());
    lines
        .into_iter()
        .take(end)
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

#[test]
fn every_source_file_opens_with_a_doc_comment_saying_what_it_owns() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` comment: {missing:#?}"
    );
}

#[test]
fn nothing_prints_outside_the_faces() {
    let files = sources();
    let tests = test_only_files(&files);
    let mut found = Vec::new();
    for (path, text) in &files {
        let p = path.to_string_lossy();
        if tests.contains(path) || MAY_PRINT.iter().any(|m| p.starts_with(m)) {
            continue;
        }
        for (line, code) in production_lines(text) {
            if PRINTS.iter().any(|m| code.contains(m)) {
                found.push(format!("{p}:{line}: {}", code.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "only cli/, serve/ and main.rs print; return text (render/) or send an Event instead:\n{}",
        found.join("\n")
    );
}

/// Pieces of address syntax ([`baton::addr`] owns them): building or matching an
/// address by hand with one of these is a second owner of the syntax.
const ADDRESS_SYNTAX: &[&str] = &[
    "\"workload.",
    "\"workload:",
    "\"resource:",
    "\"/params\"",
    "\"/outputs\"",
    "\"{t}/\"",
    "\"{}/{}\"",
];

#[test]
fn addresses_are_written_and_read_only_in_addr_rs() {
    let files = sources();
    let tests = test_only_files(&files);
    let mut found = Vec::new();
    for (path, text) in &files {
        if tests.contains(path) || path.ends_with("src/addr.rs") {
            continue;
        }
        for (line, code) in production_lines(text) {
            if ADDRESS_SYNTAX.iter().any(|m| code.contains(m)) {
                found.push(format!("{}:{line}: {}", path.display(), code.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "address syntax outside src/addr.rs; use its builders and matchers:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_unsafe_says_why_it_is_sound() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let uses_unsafe = code.contains("unsafe {")
                || code.contains("unsafe fn")
                || code.contains("unsafe impl");
            if !uses_unsafe {
                continue;
            }
            // The reason sits on one of the lines just above (a statement may spread
            // over a few lines before its `unsafe` block), or at the end of this one.
            let from = i.saturating_sub(4);
            let explained = lines[from..=i].iter().any(|l| l.contains("SAFETY:"));
            if !explained {
                found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "each `unsafe` needs a `// SAFETY:` comment just above it saying why it holds:\n{}",
        found.join("\n")
    );
}

/// The rooms a piece of code names through `crate::…` paths, grouped imports included.
fn imported_rooms(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b}`: the first name of every top-level item.
            let (mut depth, mut item_start, mut end) = (0usize, 0usize, group.len());
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(first_name(&group[item_start..i]));
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
            out.push(first_name(&group[item_start..end]));
        } else {
            out.push(first_name(rest));
        }
    }
    out.retain(|n| !n.is_empty());
    out
}

fn first_name(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
        .collect()
}

#[test]
fn rooms_import_only_rooms_below_them() {
    let files = sources();
    let tests = test_only_files(&files);
    let rank = |room: &str| ROOMS.iter().position(|r| *r == room);
    let (mut upward, mut unknown, mut edges) = (Vec::new(), BTreeSet::new(), BTreeSet::new());
    for (path, text) in &files {
        let Ok(rel) = path.strip_prefix("src") else {
            continue;
        };
        let first = rel.iter().next().unwrap().to_string_lossy();
        let room = first.trim_end_matches(".rs").to_string();
        if tests.contains(path) || room == "lib" || room == "main" {
            continue;
        }
        let Some(own) = rank(&room) else {
            unknown.insert(room);
            continue;
        };
        for (line, code) in production_lines(text) {
            for to in imported_rooms(code) {
                if to == room {
                    continue;
                }
                match rank(&to) {
                    None => {
                        unknown.insert(to);
                    }
                    Some(r) if r > own => {
                        upward.push(format!("{}:{line}: {room} imports {to}", path.display()))
                    }
                    Some(_) => {
                        edges.insert((room.clone(), to));
                    }
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "rooms missing from ROOMS (place each at its stage of the data flow): {unknown:?}"
    );
    assert!(
        upward.is_empty(),
        "imports running up the data flow (ROOMS, lowest first):\n{}",
        upward.join("\n")
    );
    assert!(
        edges.len() > 40,
        "only {} imports between rooms seen",
        edges.len()
    );
}

#[test]
fn the_rules_see_what_they_look_for() {
    // The checks above pass vacuously if they read nothing: make sure they read the tree.
    let files = sources();
    assert!(files.len() > 50, "only {} source files found", files.len());
    assert!(
        test_only_files(&files).contains(Path::new("src/provider/aws/moto.rs")),
        "moto.rs is declared `#[cfg(test)] mod moto;` and must count as test code"
    );
    let prints = "fn f() {\n    println!(\"x\");\n}\n#[cfg(test)]\nmod tests {\n    fn g() { println!(\"y\"); }\n}\n";
    let seen: Vec<usize> = production_lines(prints)
        .filter(|(_, l)| l.contains("println!"))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(seen, vec![2]);
    assert_eq!(
        imported_rooms("use crate::{diag::{A, B}, value::Value};\nlet x = crate::plan::eval::f();"),
        ["diag", "value", "plan"]
    );
    // The address rule sees the syntax it forbids.
    let hand_made = "let a = format!(\"workload.{w}\");";
    assert!(ADDRESS_SYNTAX.iter().any(|m| hand_made.contains(m)));
}
