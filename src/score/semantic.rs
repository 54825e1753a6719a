//! Score's semantic rules for one workload, beyond the schema: placeholder grammar and
//! roots, placeholders that name undeclared resources or missing metadata keys, and the
//! `before` relations (self references, unknown containers, cycles). Messages keep
//! score-go's wording so users can search for them, with a location and a hint added.
//! The strings where placeholders are expanded ([`expandables`]) are parsed here once,
//! when the file loads ([`Templates`]); everything after reads that form.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::Workload;
use super::placeholder::{self, PlaceholderError, Ref, Template, lookup};
use super::yaml::{Node, to_pointer};
use crate::diag::{Diagnostic, Sources, Span, Stage, did_you_mean};

/// A string of the workload where placeholders are expanded, with its location.
pub struct Expandable<'w> {
    /// JSON pointer of the string.
    pub pointer: String,
    /// The string.
    pub text: &'w str,
}

/// Every string of a workload where Score expands placeholders: variables, file content
/// (unless `noExpand`), volume sources and resource params (recursively). Command and
/// args are never expanded.
pub fn expandables(w: &Workload) -> Vec<Expandable<'_>> {
    let mut out = Vec::new();
    for (cname, c) in &w.containers {
        for (k, v) in &c.variables {
            out.push(Expandable {
                pointer: to_pointer(&["containers", cname, "variables", k]),
                text: v,
            });
        }
        for (target, f) in &c.files {
            if let (Some(content), true) = (&f.content, f.expands()) {
                out.push(Expandable {
                    pointer: to_pointer(&["containers", cname, "files", target, "content"]),
                    text: content,
                });
            }
        }
        for (target, v) in &c.volumes {
            out.push(Expandable {
                pointer: to_pointer(&["containers", cname, "volumes", target, "source"]),
                text: &v.source,
            });
        }
    }
    for (rname, r) in &w.resources {
        if let Some(params) = &r.params {
            let base = vec!["resources".to_string(), rname.clone(), "params".to_string()];
            for (k, v) in params.iter() {
                let mut path = base.clone();
                path.push(k.clone());
                collect_strings(v, &mut path, &mut out);
            }
        }
    }
    out
}

/// The parsed form ([`Template`]) of every string [`expandables`] lists, made once when
/// the Score file is loaded and kept beside its workload: the checks here, the
/// project's resolution and evaluation read these, so a string's placeholders are
/// parsed once per run. Each list follows the order of the workload's maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Templates {
    /// Per container, in name order.
    pub containers: Vec<ContainerTemplates>,
    /// Per resource request, in name order: the strings of its params, depth first in
    /// map and list order (empty without params).
    pub params: Vec<Vec<Template>>,
}

/// The parsed strings of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerTemplates {
    /// Its variables, in name order.
    pub variables: Vec<Template>,
    /// Its files, in target order: the inline `content`, when it is expanded.
    pub files: Vec<Option<Template>>,
    /// Its volumes' `source`, in target order.
    pub volumes: Vec<Template>,
}

impl Templates {
    /// Parses every string of `w` where placeholders are expanded.
    pub fn of(w: &Workload) -> Templates {
        let containers = w
            .containers
            .values()
            .map(|c| ContainerTemplates {
                variables: c.variables.values().map(|v| Template::parse(v)).collect(),
                files: c
                    .files
                    .values()
                    .map(|f| match (&f.content, f.expands()) {
                        (Some(content), true) => Some(Template::parse(content)),
                        _ => None,
                    })
                    .collect(),
                volumes: c
                    .volumes
                    .values()
                    .map(|v| Template::parse(&v.source))
                    .collect(),
            })
            .collect();
        let params = w
            .resources
            .values()
            .map(|r| {
                let mut out = Vec::new();
                for v in r.params.iter().flat_map(|p| p.values()) {
                    parse_strings(v, &mut out);
                }
                out
            })
            .collect();
        Templates { containers, params }
    }

    /// Every template, in the order of [`expandables`].
    pub fn iter(&self) -> impl Iterator<Item = &Template> {
        self.containers
            .iter()
            .flat_map(|c| {
                c.variables
                    .iter()
                    .chain(c.files.iter().flatten())
                    .chain(&c.volumes)
            })
            .chain(self.params.iter().flatten())
    }
}

/// The strings of a params value, parsed, depth first.
fn parse_strings(v: &Value, out: &mut Vec<Template>) {
    match v {
        Value::String(s) => out.push(Template::parse(s)),
        Value::Array(items) => items.iter().for_each(|x| parse_strings(x, out)),
        Value::Object(map) => map.values().for_each(|x| parse_strings(x, out)),
        _ => {}
    }
}

fn collect_strings<'v>(v: &'v Value, path: &mut Vec<String>, out: &mut Vec<Expandable<'v>>) {
    match v {
        Value::String(s) => out.push(Expandable {
            pointer: to_pointer(path),
            text: s,
        }),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                collect_strings(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(k.clone());
                collect_strings(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The span of `needle` inside the scalar at `pointer`, or of the scalar.
pub fn span_within(root: &Node, sources: &Sources, pointer: &str, needle: &str) -> Option<Span> {
    let node = root.pointer(pointer)?;
    let span = node.span;
    let text = sources.text(span.file);
    let line_end = text[span.start.min(text.len())..]
        .find('\n')
        .map(|i| span.start + i)
        .unwrap_or(text.len());
    // Block scalars start on a later line than their indicator; search a little further.
    let end = text.len().min(line_end.max(span.end) + 4096);
    if let Some(i) = text.get(span.start..end).and_then(|s| s.find(needle)) {
        return Some(Span::new(
            span.file,
            span.start + i,
            span.start + i + needle.len(),
        ));
    }
    Some(span)
}

/// Finds where placeholders are written, for diagnostics, in time linear in the file:
/// the node of a string is found in an index of the tree's strings built on first use
/// (a pointer lookup searches each mapping from its start, and 200,000 of them in one
/// mapping took minutes), and the placeholders of one string are searched for one after
/// the other, each from where the previous one was found.
pub struct Locator<'a> {
    root: &'a Node,
    sources: &'a Sources,
    index: std::cell::OnceCell<rustc_hash::FxHashMap<String, Span>>,
    /// The string searched last: its pointer, where the next search starts (`None`
    /// once a search failed: the rest of its placeholders point at the whole string),
    /// and the end of the text searched.
    current: Option<(String, Option<usize>, usize)>,
}

impl<'a> Locator<'a> {
    /// A locator in the tree `root` of a file of `sources`.
    pub fn new(root: &'a Node, sources: &'a Sources) -> Locator<'a> {
        Locator {
            root,
            sources,
            index: std::cell::OnceCell::new(),
            current: None,
        }
    }

    /// The span of `needle` (a placeholder as written) inside the string `value` at
    /// `pointer`, after the one found before in the same string; else of the string.
    pub fn find(&mut self, pointer: &str, value: &str, needle: &str) -> Option<Span> {
        let span = *self
            .index
            .get_or_init(|| {
                let mut index = rustc_hash::FxHashMap::default();
                index_strings(self.root, &mut String::new(), &mut index);
                index
            })
            .get(pointer)?;
        let text = self.sources.text(span.file);
        if self.current.as_ref().is_none_or(|(p, _, _)| p != pointer) {
            // Block scalars start on a later line than their indicator, and escapes
            // make a quoted string longer than its value: search a little further.
            let end = text.len().min(span.end + 2 * value.len() + 4096);
            self.current = Some((pointer.to_string(), Some(span.start), end));
        }
        let Some((_, from, end)) = &mut self.current else {
            return Some(span);
        };
        let Some(start) = *from else {
            return Some(span);
        };
        match text.get(start..*end).and_then(|s| s.find(needle)) {
            Some(i) => {
                let at = start + i;
                *from = Some(at + needle.len());
                Some(Span::new(span.file, at, at + needle.len()))
            }
            None => {
                *from = None;
                Some(span)
            }
        }
    }
}

/// Records the span of every string of `node` by its JSON pointer (`path`).
fn index_strings(node: &Node, path: &mut String, out: &mut rustc_hash::FxHashMap<String, Span>) {
    match &node.kind {
        super::yaml::Kind::Str(_) => {
            out.insert(path.clone(), node.span);
        }
        super::yaml::Kind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                index_strings(item, path, out);
                path.truncate(len);
            }
        }
        super::yaml::Kind::Map(entries) => {
            for (k, v) in entries {
                let len = path.len();
                path.push_str(&to_pointer(&[&k.name]));
                index_strings(v, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Checks one workload's placeholders and `before` relations.
pub fn check(
    w: &Workload,
    templates: &Templates,
    root: &Node,
    sources: &Sources,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let metadata = std::cell::OnceCell::new();
    let metadata = || metadata.get_or_init(|| Value::Object(w.metadata.clone()));
    let resource_names: Vec<&str> = w.resources.keys().map(String::as_str).collect();
    let mut locator = Locator::new(root, sources);
    let strings: Vec<(Expandable, &Template)> =
        expandables(w).into_iter().zip(templates.iter()).collect();

    // Too many placeholders: that one error, at the first past the limit, and none of
    // the checks below (each would be an error of its own).
    let mut count = 0;
    for (e, t) in &strings {
        let found: Vec<_> = t.placeholders().collect();
        for i in 0..found.len() {
            count += 1;
            if count > placeholder::MAX_PER_FILE {
                // Its place: the string's placeholders are found one after the other.
                let mut at = None;
                for before in &found[..=i] {
                    at = locator.find(&e.pointer, e.text, &before.text());
                }
                out.push(
                    Diagnostic::error(Stage::Semantic, "semantic/placeholder-limit", format!("more than {} placeholders in one Score file", placeholder::MAX_PER_FILE))
                        .at(at)
                        .pointer(e.pointer.clone())
                        .label(format!("placeholder number {count}"))
                        .detail("every placeholder is resolved and checked; the limit bounds that work")
                        .help("split the workload into several Score files, or write a literal `${` as `$${`"),
                );
                return out;
            }
        }
    }

    for (e, t) in strings {
        for p in t.placeholders() {
            let text = p.text();
            // Where the placeholder is written: looked up only for a diagnostic.
            let mut d = |code: &'static str, summary: String| {
                Diagnostic::error(Stage::Semantic, code, summary)
                    .at(locator.find(&e.pointer, e.text, &text))
                    .pointer(e.pointer.clone())
            };
            match &p.reference {
                Err(PlaceholderError::Malformed) => out.push(
                    d("semantic/placeholder-malformed", format!("placeholder {text} is malformed"))
                        .label("not a valid placeholder")
                        .detail("a placeholder must contain at least two elements separated by \".\", each element must be alphanumeric or contain \"_\" or \"-\"")
                        .help("write `${metadata.KEY}` or `${resources.NAME.OUTPUT}`; use `$${` for a literal `${`"),
                ),
                Err(PlaceholderError::UnknownRoot(root_name)) => {
                    let hint = did_you_mean(root_name, ["metadata", "resources"])
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("placeholders start with `metadata` or `resources`; write `$${{{}}}` for a literal text", p.content));
                    out.push(
                        d("semantic/placeholder-root", format!("placeholder {text} has unsupported first element of \"{root_name}\""))
                            .label("unknown root")
                            .help(hint),
                    );
                }
                Ok(Ref::Resource { name, .. }) => {
                    if !w.resources.contains_key(name) {
                        let hint = did_you_mean(name, resource_names.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| format!("declare it under `resources:`, e.g. `{name}: {{type: ...}}`"));
                        out.push(
                            d("semantic/unknown-resource", format!("placeholder {text} does not resolve to a resource, no resource with name \"{name}\""))
                                .label(format!("no resource `{name}` in this workload"))
                                .help(hint),
                        );
                    }
                }
                Ok(Ref::Metadata(keys)) => {
                    if let Err(msg) = lookup(metadata(), keys) {
                        let known: Vec<&str> = w.metadata.keys().map(String::as_str).collect();
                        let hint = did_you_mean(&keys[0], known.iter().copied()).map(|s| format!("did you mean `{s}`?"));
                        let mut diag = d("generate/unknown-metadata", format!("invalid ref '{}': {msg}", p.content));
                        diag.stage = Stage::Generate;
                        out.push(
                            diag
                                .label("not in this workload's metadata")
                                .maybe_help(hint),
                        );
                    }
                }
            }
        }
    }

    out.extend(check_before(w, root));
    out
}

fn check_before(w: &Workload, root: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let names: Vec<&str> = w.containers.keys().map(String::as_str).collect();
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (cname, c) in &w.containers {
        for dep in c.before.keys() {
            let pointer = to_pointer(&["containers", cname, "before", dep]);
            // Looked up only for an error: each lookup walks the containers mapping.
            let span = || root.key_span(&pointer);
            if dep == cname {
                out.push(
                    Diagnostic::error(
                        Stage::Semantic,
                        "semantic/before-self",
                        format!("container \"{cname}\" has a self-referencing before entry"),
                    )
                    .at(span())
                    .pointer(pointer)
                    .label("a container cannot wait for itself")
                    .help(format!("remove `{dep}` from the `before` of `{cname}`")),
                );
            } else if !w.containers.contains_key(dep) {
                let hint = did_you_mean(dep, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"));
                out.push(
                    Diagnostic::error(
                        Stage::Semantic,
                        "semantic/before-unknown",
                        format!(
                            "container \"{cname}\" before refers to unknown container \"{dep}\""
                        ),
                    )
                    .at(span())
                    .pointer(pointer)
                    .label("no such container in this workload")
                    .maybe_help(hint),
                );
            } else {
                edges.entry(cname.as_str()).or_default().push(dep.as_str());
            }
        }
        // `healthy` needs a probe that says so: without one, Kubernetes would wait for
        // the container to start only and compose would wait for a health check that
        // does not exist, so the promise would silently be weaker (or never kept).
        if c.readiness_probe.is_none() && c.liveness_probe.is_none() {
            for (dep, b) in c.before.iter().filter(|(_, b)| b.ready == "healthy") {
                let pointer = to_pointer(&["containers", cname, "before", dep, "ready"]);
                out.push(
                    Diagnostic::error(
                        Stage::Semantic,
                        "semantic/before-healthy-without-probe",
                        format!(
                            "container \"{cname}\" must be healthy before \"{dep}\" starts, but has no probe to tell when it is"
                        ),
                    )
                    .at(root.pointer(&pointer).map(|n| n.span))
                    .pointer(pointer)
                    .label(format!("`{}` needs a readinessProbe or livenessProbe of `{cname}`", b.ready))
                    .help(format!("add a `readinessProbe` to container `{cname}`, or wait for `ready: started`")),
                );
            }
        }
    }
    if let Some(cycle) = find_cycle(&names, &edges) {
        let first = cycle[0];
        let second = cycle.get(1).copied().unwrap_or(first);
        let pointer = to_pointer(&["containers", first, "before", second]);
        out.push(
            Diagnostic::error(
                Stage::Semantic,
                "semantic/before-cycle",
                format!(
                    "containers before relationships contain a cycle: {}",
                    cycle.join(" -> ")
                ),
            )
            .at(root.key_span(&pointer))
            .pointer(pointer)
            .label("this entry closes the cycle")
            .help("remove one of the `before` entries on the cycle"),
        );
    }
    out
}

/// The first cycle (as a path that returns to its start) in a directed graph: a depth
/// first search with a stack of its own, so a chain of 100,000 `before` entries or
/// params placeholders does not overflow the thread's stack.
pub fn find_cycle<'a>(
    nodes: &[&'a str],
    edges: &BTreeMap<&'a str, Vec<&'a str>>,
) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    let mut color: BTreeMap<&'a str, Color> = BTreeMap::new();
    let targets = |n: &str| edges.get(n).map(Vec::as_slice).unwrap_or(&[]);
    for &start in nodes {
        if color.get(start).copied().unwrap_or(Color::White) != Color::White {
            continue;
        }
        // The path from `start`, each node with the index of its next edge to follow.
        let mut path: Vec<(&'a str, usize)> = vec![(start, 0)];
        color.insert(start, Color::Gray);
        while let Some((n, next)) = path.last_mut() {
            let Some(&m) = targets(n).get(*next) else {
                color.insert(n, Color::Black);
                path.pop();
                continue;
            };
            *next += 1;
            match color.get(m).copied().unwrap_or(Color::White) {
                Color::Gray => {
                    let from = path.iter().position(|(x, _)| *x == m).unwrap_or(0);
                    let mut cycle: Vec<&str> = path[from..].iter().map(|(x, _)| *x).collect();
                    cycle.push(m);
                    return Some(cycle);
                }
                Color::White => {
                    color.insert(m, Color::Gray);
                    path.push((m, 0));
                }
                Color::Black => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_as_paths() {
        let nodes = ["a", "b", "c"];
        let mut edges = BTreeMap::new();
        edges.insert("a", vec!["b"]);
        edges.insert("b", vec!["c"]);
        assert_eq!(find_cycle(&nodes, &edges), None);
        edges.insert("c", vec!["a"]);
        assert_eq!(find_cycle(&nodes, &edges), Some(vec!["a", "b", "c", "a"]));
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let names: Vec<String> = (0..200_000).map(|i| format!("c{i}")).collect();
        let nodes: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut edges: BTreeMap<&str, Vec<&str>> =
            nodes.windows(2).map(|w| (w[0], vec![w[1]])).collect();
        assert_eq!(find_cycle(&nodes, &edges), None);
        edges.insert(nodes[nodes.len() - 1], vec![nodes[0]]);
        assert_eq!(find_cycle(&nodes, &edges).map(|c| c.len()), Some(200_001));
    }

    #[test]
    fn templates_follow_the_expandable_strings_one_for_one() {
        let w: Workload = serde_json::from_value(serde_json::json!({
            "apiVersion": "score.dev/v1b1",
            "metadata": {"name": "web"},
            "containers": {
                "b": {
                    "image": "x",
                    "variables": {"Z": "${metadata.name}", "A": "plain", "M": "$$x"},
                    "files": {
                        "/one": {"content": "${resources.db.host}"},
                        "/two": {"content": "${x}", "noExpand": true},
                        "/three": {"source": "three.txt"},
                        "/four": {"content": "four"}
                    },
                    "volumes": {"/data": {"source": "${resources.vol}"}}
                },
                "a": {"image": "y", "variables": {"K": "a ${metadata.name} b"}}
            },
            "resources": {
                "vol": {"type": "volume"},
                "db": {"type": "postgres", "params": {
                    "z": "${resources.vol}",
                    "list": ["1", {"deep": "${metadata.name}", "n": 5}, "$$"],
                    "a": 7
                }}
            }
        }))
        .unwrap();
        let strings = expandables(&w);
        let templates = Templates::of(&w);
        let parsed: Vec<&Template> = templates.iter().collect();
        assert_eq!(parsed.len(), strings.len());
        assert_eq!(strings.len(), 11);
        for (e, t) in strings.iter().zip(parsed) {
            assert_eq!(*t, Template::parse(e.text), "{}", e.pointer);
        }
    }
}
