//! The Score front end: `score.yaml` files → validated [`Project`] of workloads and the
//! resource requests they make, keyed by Score uid.
//!
//! Per file: read → YAML with positions (`yaml`) → overrides (`overrides`) → JSON schema
//! (`schema`) → list forms upgraded (`upgrade`) → typed [`model::Workload`] → its
//! placeholders parsed, once ([`semantic::Templates`], kept on the [`LoadedWorkload`]) →
//! semantic rules (`semantic`). Across files: duplicate workload names, shared resources defined
//! twice with different params or metadata, and cycles among resource params
//! placeholders. Every problem of every file is collected; nothing stops at the first.

pub mod model;
pub mod overrides;
pub mod placeholder;
pub mod schema;
pub mod semantic;
pub mod upgrade;
pub mod yaml;
mod yaml_fast;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::addr::{Uid, UidScope};
use crate::diag::{Diagnostic, Diagnostics, FileId, Sources, Span, Stage};
use model::{Fields, ResourceRequest, Workload};
use placeholder::Ref;
use yaml::{Kind, Node};

/// The options every command that reads Score files shares.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Image for containers whose image is `.`.
    pub image: Option<String>,
    /// A YAML file deep-merged into the (single) Score file.
    pub overrides_file: Option<PathBuf>,
    /// `path=value` overrides, applied after the overrides file.
    pub override_properties: Vec<String>,
}

impl LoadOptions {
    fn has_overrides(&self) -> bool {
        self.overrides_file.is_some() || !self.override_properties.is_empty()
    }
}

/// One loaded workload.
#[derive(Debug, Clone)]
pub struct LoadedWorkload {
    /// The Score file it came from.
    pub path: PathBuf,
    /// Its source in the run's [`Sources`].
    pub file: FileId,
    /// The document, after overrides and upgrades, with positions.
    pub root: Node,
    /// The typed workload.
    pub workload: Workload,
    /// Its strings where placeholders are expanded, parsed when it was loaded.
    pub templates: semantic::Templates,
    /// The uid of each of its resources, by name (set when the project is resolved).
    pub uids: rustc_hash::FxHashMap<String, Uid>,
}

impl LoadedWorkload {
    /// The uid of its resource `name`, once the project is resolved.
    pub fn uid(&self, name: &str) -> Option<&Uid> {
        self.uids.get(name)
    }

    /// Where param `key` of its resource `resource` is written: the key (`key_only`) or
    /// the value; `None` when this workload does not set it.
    pub fn param_span(&self, resource: &str, key: &str, key_only: bool) -> Option<Span> {
        let pointer = yaml::to_pointer(&["resources", resource, "params", key]);
        if key_only {
            self.root.key_span(&pointer)
        } else {
            self.root.pointer(&pointer).map(|n| n.span)
        }
    }
}

/// The content of a file a Score `files.*.source` names (read by `ops`, beneath the
/// project), parsed once like the workload's own strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceFile {
    /// UTF-8 text, and its placeholders (`Template::Plain` when the file is not
    /// expanded: the text is the content).
    Text(String, placeholder::Template),
    /// Not UTF-8: mounted as it is.
    Binary(Vec<u8>),
}

impl SourceFile {
    /// The file read as `bytes`; its placeholders parsed when `expands`.
    pub fn new(bytes: Vec<u8>, expands: bool) -> SourceFile {
        match String::from_utf8(bytes) {
            Ok(text) => {
                let template = if expands {
                    placeholder::Template::parse(&text)
                } else {
                    placeholder::Template::Plain
                };
                SourceFile::Text(text, template)
            }
            Err(e) => SourceFile::Binary(e.into_bytes()),
        }
    }
}

impl Project {
    /// Where param `key` of the resource `decl` is written, in the first workload that
    /// sets it (see [`LoadedWorkload::param_span`]).
    pub fn param_span(&self, decl: &ResourceDecl, key: &str, key_only: bool) -> Option<Span> {
        decl.requested_by.iter().find_map(|(w, r)| {
            let i = self
                .workloads
                .binary_search_by(|lw| lw.workload.name().cmp(w.as_str()))
                .ok()?;
            self.workloads[i].param_span(r, key, key_only)
        })
    }
}

/// A resource as the project requests it: one per uid, however many workloads use it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDecl {
    /// Its identity.
    pub uid: Uid,
    /// `params` (placeholders not yet substituted); `None` when no definition sets them.
    /// The map of the workload's request that set them, shared.
    pub params: Option<Arc<Fields>>,
    /// `metadata`, as the first definition that sets it.
    pub metadata: Option<Arc<Fields>>,
    /// `(workload, resource name)` of every request of it, in order.
    pub requested_by: Vec<(String, String)>,
    /// Uids its params placeholders reference (edges of the resource graph).
    pub depends_on: Vec<Uid>,
}

/// All workloads of a run and the resources they request.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Workloads, sorted by name (independent of the order of `-f`).
    pub workloads: Vec<LoadedWorkload>,
    /// Resources by uid.
    pub resources: BTreeMap<Uid, ResourceDecl>,
}

impl Project {
    /// The uid of resource `name` of workload `workload`.
    pub fn uid_of(&self, workload: &Workload, name: &str) -> Option<Uid> {
        workload
            .resources
            .get(name)
            .map(|r| uid_for(workload.name(), name, r))
    }
}

/// Refuses a shared id whose uid reads exactly as a workload's resource: `id: u.data`
/// and resource `data` of workload `u`, of one type and class, would share an address,
/// so one's objects would be taken for the other's. Only ids with a dot can collide.
fn ambiguous_ids(workloads: &[LoadedWorkload], decls: &[ResourceDecl], diags: &mut Diagnostics) {
    if !decls
        .iter()
        .any(|d| matches!(&d.uid.scope, UidScope::Shared(id) if id.contains('.')))
    {
        return;
    }
    let private: std::collections::HashSet<String> = decls
        .iter()
        .filter(|d| !d.uid.is_shared())
        .map(|d| d.uid.text())
        .collect();
    for d in decls {
        let UidScope::Shared(id) = &d.uid.scope else {
            continue;
        };
        if !id.contains('.') || !private.contains(&d.uid.text()) {
            continue;
        }
        let (w, r) = &d.requested_by[0];
        let pointer = yaml::to_pointer(&["resources", r, "id"]);
        let span = workloads
            .iter()
            .find(|lw| lw.workload.name() == w)
            .and_then(|lw| lw.root.pointer(&pointer).map(|n| n.span));
        let (owner, resource) = id.split_once('.').unwrap_or((id.as_str(), ""));
        diags.push(
            Diagnostic::error(
                Stage::Generate,
                "generate/ambiguous-id",
                format!("shared id `{id}` names the same resource as workload `{owner}`'s resource `{resource}`"),
            )
            .at(span)
            .label("reads as a workload's resource")
            .detail(format!("both would be `{}`, one address for two resources", d.uid))
            .help("choose an id that no `workload.resource` of the project spells, e.g. with `-` instead of `.`"),
        );
    }
}

fn uid_for(workload: &str, name: &str, r: &ResourceRequest) -> Uid {
    Uid::new(&r.kind, r.class.as_deref(), r.id.as_deref(), workload, name)
}

/// Reads, checks and resolves the given Score files.
pub fn load(
    paths: &[PathBuf],
    opts: &LoadOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Project {
    if opts.has_overrides() && paths.len() != 1 {
        diags.push(
            Diagnostic::error(
                Stage::Options,
                "options/overrides-multiple",
                "--overrides-file and --override-property need exactly one Score file",
            )
            .detail(format!("{} files were given", paths.len()))
            .help(
                "run the command once per Score file, or move the change into the files themselves",
            ),
        );
        return Project::default();
    }
    let mut files = Vec::new();
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                let mut d = Diagnostic::error(
                    Stage::Load,
                    "load/read",
                    format!("cannot read {}: {}", path.display(), io_reason(&e)),
                );
                if e.kind() == std::io::ErrorKind::NotFound {
                    d = d.help("pass the Score file with -f FILE, or run `baton init` to write a starter score.yaml");
                }
                diags.push(d);
                continue;
            }
        };
        let file = sources.add_file(path.display().to_string(), Some(path), text);
        files.push((path.as_path(), file));
    }
    let loaded = if opts.has_overrides() || files.len() < 2 {
        let mut loaded = Vec::new();
        for (path, file) in files {
            if let Some(w) = load_one(path, file, opts, sources, diags) {
                loaded.push(w);
            }
        }
        loaded
    } else {
        load_parallel(&files, opts, sources, diags)
    };
    crate::timings::stage("score resolve", || resolve(loaded, sources, diags))
}

/// Loads many files (no overrides) on every core: each file is parsed and checked on
/// its own, and the results are put back in the order of `files`, so the diagnostics
/// and the project are the same as loading one after another.
fn load_parallel(
    files: &[(&Path, FileId)],
    opts: &LoadOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Vec<LoadedWorkload> {
    let image = opts
        .image
        .as_ref()
        .map(|i| (i.as_str(), sources.add_file("--image", None, i.clone())));
    let sources: &Sources = sources;
    let results: Vec<(Option<LoadedWorkload>, Vec<Diagnostic>)> =
        crate::par::map(files, 2, |&(path, file)| {
            let mut out = Vec::new();
            let w = parse_one(path, file, sources, &mut out).and_then(|mut root| {
                if let Some((image, image_file)) = image {
                    overrides::apply_image(&mut root, image, Span::new(image_file, 0, image.len()));
                }
                check_one(path, file, root, opts, sources, &mut out)
            });
            (w, out)
        });
    let mut loaded = Vec::new();
    for (w, out) in results {
        diags.extend(out);
        loaded.extend(w);
    }
    loaded
}

/// Loads Score documents given as text (for tests, benchmarks and fuzzing).
pub fn load_texts(
    texts: &[(&str, &str)],
    opts: &LoadOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Project {
    let mut loaded = Vec::new();
    for (name, text) in texts {
        let file = sources.add_file(*name, None, text.to_string());
        if let Some(w) = load_one(Path::new(name), file, opts, sources, diags) {
            loaded.push(w);
        }
    }
    resolve(loaded, sources, diags)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

fn load_one(
    path: &Path,
    file: FileId,
    opts: &LoadOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<LoadedWorkload> {
    let mut out = Vec::new();
    let parsed = parse_one(path, file, sources, &mut out);
    diags.extend(out.drain(..));
    let mut root = parsed?;
    if !apply_overrides(&mut root, opts, sources, diags) {
        return None;
    }
    let w = check_one(path, file, root, opts, sources, &mut out);
    diags.extend(out);
    w
}

/// Parses one Score file into a positioned tree; `None` (with diagnostics) when it is
/// not YAML or not a mapping.
fn parse_one(
    path: &Path,
    file: FileId,
    sources: &Sources,
    diags: &mut Vec<Diagnostic>,
) -> Option<Node> {
    let doc = yaml::parse(file, sources.text(file));
    let load_failed = doc.diagnostics.iter().any(Diagnostic::is_error);
    diags.extend(doc.diagnostics);
    let root = match doc.root {
        Some(r) if !load_failed => r,
        Some(_) => return None,
        None => {
            if !load_failed {
                diags.push(
                    Diagnostic::error(Stage::Load, "load/empty", format!("{} is empty", path.display()))
                        .at(Some(Span::new(file, 0, 0)))
                        .help("a Score file needs `apiVersion: score.dev/v1b1`, `metadata.name` and `containers`; `baton init` writes one"),
                );
            }
            return None;
        }
    };
    if !matches!(root.kind, Kind::Map(_)) {
        diags.push(
            Diagnostic::error(
                Stage::Load,
                "load/not-a-mapping",
                format!(
                    "expected a Score workload (a mapping), found {}",
                    root.type_name()
                ),
            )
            .at(Some(root.span))
            .label("the document should be a mapping with apiVersion, metadata and containers"),
        );
        return None;
    }
    Some(root)
}

/// Checks one parsed Score file (schema, upgrade, decode, semantic rules).
fn check_one(
    path: &Path,
    file: FileId,
    mut root: Node,
    opts: &LoadOptions,
    sources: &Sources,
    diags: &mut Vec<Diagnostic>,
) -> Option<LoadedWorkload> {
    let instance = root.to_json();
    let schema_errors = schema::check(&root, &instance);
    if !schema_errors.is_empty() {
        diags.extend(schema_errors);
        return None;
    }
    let mut upgrade_diags = Vec::new();
    upgrade::upgrade(&mut root, &mut upgrade_diags);
    let upgrade_failed = upgrade_diags.iter().any(Diagnostic::is_error);
    // The upgrade rewrites the document only where it says so (a deprecated list form).
    let instance = if upgrade_diags.is_empty() {
        instance
    } else {
        root.to_json()
    };
    diags.extend(upgrade_diags);
    if upgrade_failed {
        return None;
    }
    let workload: Workload = match serde_json::from_value(instance) {
        Ok(w) => w,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    Stage::Schema,
                    "internal/decode",
                    format!("internal error: a schema-valid workload did not decode: {e}"),
                )
                .at(Some(root.span))
                .help("this is a bug in baton; please report it with the Score file"),
            );
            return None;
        }
    };
    let templates = semantic::Templates::of(&workload);
    diags.extend(semantic::check(&workload, &templates, &root, sources));
    if opts.image.is_none() {
        for (cname, c) in &workload.containers {
            if c.image == "." {
                let pointer = yaml::to_pointer(&["containers", cname, "image"]);
                diags.push(
                    Diagnostic::warning(
                        Stage::Options,
                        "options/image-dot",
                        format!("container `{cname}` has image `.`, which needs --image"),
                    )
                    .at(root.pointer(&pointer).map(|n| n.span))
                    .pointer(pointer)
                    .label("replaced by the --image value")
                    .help("pass --image IMAGE to plan or apply this workload"),
                );
            }
        }
    }
    Some(LoadedWorkload {
        path: path.to_path_buf(),
        file,
        root,
        workload,
        templates,
        uids: Default::default(),
    })
}

/// Applies `--overrides-file`, `--override-property` and `--image`; false when one failed.
fn apply_overrides(
    root: &mut Node,
    opts: &LoadOptions,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    if let Some(path) = &opts.overrides_file {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let file = sources.add_file(path.display().to_string(), Some(path), text);
                let doc = yaml::parse(file, sources.text(file));
                let failed = doc.diagnostics.iter().any(Diagnostic::is_error);
                diags.extend(doc.diagnostics);
                match doc.root {
                    Some(patch) if !failed && matches!(patch.kind, Kind::Map(_)) => {
                        overrides::merge(root, patch)
                    }
                    Some(patch) if !failed => {
                        diags.push(
                            Diagnostic::error(
                                Stage::Options,
                                "options/overrides-file",
                                format!(
                                    "the overrides file must be a mapping, found {}",
                                    patch.type_name()
                                ),
                            )
                            .at(Some(patch.span)),
                        );
                        ok = false;
                    }
                    Some(_) => ok = false,
                    None => {}
                }
            }
            Err(e) => {
                diags.push(Diagnostic::error(
                    Stage::Options,
                    "options/overrides-file",
                    format!(
                        "cannot read overrides file {}: {}",
                        path.display(),
                        io_reason(&e)
                    ),
                ));
                ok = false;
            }
        }
    }
    for arg in &opts.override_properties {
        let Some((path, value)) = arg.split_once('=') else {
            diags.push(overrides::bad_property(arg));
            ok = false;
            continue;
        };
        if path.is_empty() {
            diags.push(overrides::bad_property(arg));
            ok = false;
            continue;
        }
        let file = sources.add_file(
            format!("--override-property {path}"),
            None,
            value.to_string(),
        );
        let span = Span::new(file, 0, value.len());
        let value_node = if value.is_empty() {
            None
        } else {
            let doc = yaml::parse(file, sources.text(file));
            let failed = doc.diagnostics.iter().any(Diagnostic::is_error);
            diags.extend(doc.diagnostics);
            if failed {
                ok = false;
                continue;
            }
            Some(doc.root.unwrap_or(Node::new(Kind::Null, span)))
        };
        let parts = overrides::split_path(path);
        if let Err(why) = overrides::set_path(root, &parts, value_node, span) {
            diags.push(
                Diagnostic::error(
                    Stage::Options,
                    "options/override-property",
                    format!("cannot apply --override-property `{path}`: {why}"),
                )
                .help("paths are dot-separated keys and list indexes, e.g. containers.main.args.0"),
            );
            ok = false;
        }
    }
    if let Some(image) = &opts.image {
        let file = sources.add_file("--image", None, image.clone());
        overrides::apply_image(root, image, Span::new(file, 0, image.len()));
    }
    ok
}

/// Cross-file rules, and the uid of every resource request.
fn resolve(mut loaded: Vec<LoadedWorkload>, sources: &Sources, diags: &mut Diagnostics) -> Project {
    // Duplicate workload names: keep the first, report the others.
    loaded.sort_by(|a, b| {
        a.workload
            .name()
            .cmp(b.workload.name())
            .then_with(|| a.path.cmp(&b.path))
    });
    let mut workloads: Vec<LoadedWorkload> = Vec::new();
    for w in loaded {
        if let Some(first) = workloads
            .iter()
            .find(|x| x.workload.name() == w.workload.name())
        {
            let name_span = |lw: &LoadedWorkload| lw.root.pointer("/metadata/name").map(|n| n.span);
            diags.push(
                Diagnostic::error(
                    Stage::Load,
                    "load/duplicate-workload",
                    format!("duplicate workload name `{}`", w.workload.name()),
                )
                .at(name_span(&w))
                .label("defined again here")
                .note(name_span(first), "first defined here")
                .help("every Score file of a project needs its own `metadata.name`"),
            );
            continue;
        }
        workloads.push(w);
    }

    for lw in workloads.iter_mut() {
        let w = &lw.workload;
        lw.uids = w
            .resources
            .iter()
            .map(|(rname, r)| (rname.clone(), uid_for(w.name(), rname, r)))
            .collect();
    }
    // Declarations by uid: found by hash (a uid's hash is computed once), sorted once at
    // the end; a search of an ordered map compares the uids' strings at every step.
    // Sized for the requests: large projects grow these to tens of thousands.
    let requests: usize = workloads.iter().map(|lw| lw.workload.resources.len()).sum();
    let mut decls: Vec<ResourceDecl> = Vec::with_capacity(requests);
    let mut decl_of: rustc_hash::FxHashMap<Uid, usize> = rustc_hash::FxHashMap::default();
    decl_of.reserve(requests);
    // Positions are looked up only when there is a conflict to report.
    let resource_pointer = |rname: &str| yaml::to_pointer(&["resources", rname]);
    for lw in workloads.iter() {
        let w = &lw.workload;
        for (rname, r) in &w.resources {
            let uid = lw.uids[rname].clone();
            match decl_of.entry(uid) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    let uid = e.key().clone();
                    e.insert(decls.len());
                    decls.push(ResourceDecl {
                        uid,
                        params: r.params.clone(),
                        metadata: r.metadata.clone(),
                        requested_by: vec![(w.name().to_string(), rname.clone())],
                        depends_on: Vec::new(),
                    });
                }
                std::collections::hash_map::Entry::Occupied(e) => {
                    let decl = &mut decls[*e.get()];
                    let uid = &decl.uid;
                    let (first_w, first_r) = decl.requested_by[0].clone();
                    decl.requested_by
                        .push((w.name().to_string(), rname.clone()));
                    let first_name = || format!("{first_w}.{first_r}");
                    // Workloads are sorted by name.
                    let first_span = || {
                        workloads
                            .binary_search_by(|x| x.workload.name().cmp(first_w.as_str()))
                            .ok()
                            .and_then(|i| workloads[i].root.key_span(&resource_pointer(&first_r)))
                    };
                    let pointer = resource_pointer(rname);
                    let here = || lw.root.key_span(&pointer);
                    for (what, theirs, ours) in [
                        ("params", &mut decl.params, &r.params),
                        ("metadata", &mut decl.metadata, &r.metadata),
                    ] {
                        match (theirs.as_ref(), ours) {
                            (Some(a), Some(b)) if a != b => diags.push(
                                Diagnostic::error(Stage::Generate, "generate/shared-conflict", format!("resource '{uid}': multiple definitions with different {what}"))
                                    .at(lw.root.key_span(&format!("{pointer}/{what}")).or_else(here))
                                    .pointer(format!("{pointer}/{what}"))
                                    .label(format!("{what} differ from `{}`", first_name()))
                                    .note(first_span(), format!("first defined by `{}` here", first_name()))
                                    .help(format!("a shared resource (same type, class and id) must have the same {what} everywhere, or set them in one workload only")),
                            ),
                            (None, Some(b)) => *theirs = Some(b.clone()),
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    drop(decl_of);
    ambiguous_ids(&workloads, &decls, diags);
    crate::par::sort_unstable_by(&mut decls, |a, b| a.uid.cmp(&b.uid));
    let mut resources: BTreeMap<Uid, ResourceDecl> =
        decls.into_iter().map(|d| (d.uid.clone(), d)).collect();

    // Resource → resource edges from params placeholders, and their cycles. Only the
    // strings inside params can name another resource; a project of 10,000 resources
    // has as many edges, so they are found without building pointers, and checked for a
    // cycle by index. The string-keyed search that names the cycle (and the placeholder
    // that closes it) runs only when there is one to report.
    let mut found: Vec<(Uid, Uid)> = Vec::with_capacity(requests);
    for lw in workloads.iter() {
        let w = &lw.workload;
        for (rname, params) in w.resources.keys().zip(&lw.templates.params) {
            let mut uid: Option<Uid> = None;
            for t in params {
                for p in t.placeholders() {
                    let Ok(Ref::Resource { name, .. }) = &p.reference else {
                        continue;
                    };
                    let Some(target) = lw.uid(name) else {
                        continue;
                    };
                    let from = uid.get_or_insert_with(|| lw.uids[rname].clone());
                    found.push((from.clone(), target.clone()));
                }
            }
        }
    }
    let index: rustc_hash::FxHashMap<&Uid, usize> =
        resources.keys().enumerate().map(|(i, u)| (u, i)).collect();
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); resources.len()];
    for (from, to) in &found {
        if let (Some(&f), Some(&t)) = (index.get(from), index.get(to)) {
            out_edges[f].push(t);
        }
    }
    let cyclic = has_cycle(&out_edges);
    let mut depends_on: Vec<Vec<Uid>> = vec![Vec::new(); resources.len()];
    for (from, to) in found {
        let deps = &mut depends_on[index[&from]];
        if !deps.contains(&to) {
            deps.push(to);
        }
    }
    drop(index);
    for (decl, mut deps) in resources.values_mut().zip(depends_on) {
        deps.sort();
        decl.depends_on = deps;
    }
    if cyclic {
        report_params_cycle(&workloads, &resources, sources, diags);
    }
    Project {
        workloads,
        resources,
    }
}

/// Whether a graph given by out-edges has a cycle (Kahn's algorithm).
fn has_cycle(out_edges: &[Vec<usize>]) -> bool {
    let mut incoming = vec![0usize; out_edges.len()];
    for targets in out_edges {
        for &t in targets {
            incoming[t] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..out_edges.len()).filter(|&i| incoming[i] == 0).collect();
    let mut seen = 0;
    while let Some(i) = ready.pop() {
        seen += 1;
        for &t in &out_edges[i] {
            incoming[t] -= 1;
            if incoming[t] == 0 {
                ready.push(t);
            }
        }
    }
    seen < out_edges.len()
}

/// Reports a cycle among params placeholders: which resources, and the placeholder that
/// closes it, located in its Score file.
fn report_params_cycle(
    workloads: &[LoadedWorkload],
    resources: &BTreeMap<Uid, ResourceDecl>,
    sources: &Sources,
    diags: &mut Diagnostics,
) {
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Where each edge comes from (workload index, pointer, placeholder), for the message.
    let mut spans: BTreeMap<String, (usize, String, String)> = BTreeMap::new();
    for (wi, lw) in workloads.iter().enumerate() {
        let w = &lw.workload;
        for (e, t) in semantic::expandables(w).iter().zip(lw.templates.iter()) {
            let segs = yaml::pointer_segments(&e.pointer);
            if segs.len() < 3 || segs[0] != "resources" || segs[2] != "params" {
                continue;
            }
            let rname = &segs[1];
            let Some(r) = w.resources.get(rname) else {
                continue;
            };
            let uid = uid_for(w.name(), rname, r);
            for p in t.placeholders() {
                let Ok(Ref::Resource { name, .. }) = &p.reference else {
                    continue;
                };
                let Some(target) = w.resources.get(name) else {
                    continue;
                };
                let to = uid_for(w.name(), name, target);
                let from_key = uid.to_string();
                edges
                    .entry(from_key.clone())
                    .or_default()
                    .push(to.to_string());
                spans
                    .entry(from_key)
                    .or_insert_with(|| (wi, e.pointer.clone(), p.text()));
            }
        }
    }
    let names: Vec<String> = resources.keys().map(Uid::to_string).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let edge_refs: BTreeMap<&str, Vec<&str>> = edges
        .iter()
        .map(|(k, v)| (k.as_str(), v.iter().map(String::as_str).collect()))
        .collect();
    if let Some(cycle) = semantic::find_cycle(&name_refs, &edge_refs) {
        let (span, text) = spans
            .get(cycle[0])
            .map(|(wi, pointer, text)| {
                (
                    semantic::span_within(&workloads[*wi].root, sources, pointer, text),
                    text.clone(),
                )
            })
            .unwrap_or((None, String::new()));
        diags.push(
            Diagnostic::error(
                Stage::Generate,
                "generate/params-cycle",
                format!(
                    "a cycle exists involving resource param placeholders: {}",
                    cycle.join(" -> ")
                ),
            )
            .at(span)
            .label(format!("{text} closes the cycle"))
            .help(
                "a resource's params cannot depend, directly or through others, on its own outputs",
            ),
        );
    }
}
