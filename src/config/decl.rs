//! The shape of `baton.hcl`, checked before anything is evaluated: the `environment`
//! blocks, every key in them (an unknown one is a located error with "did you mean"),
//! the providers and their settings, and the `extends` chains (unknown parents and
//! cycles are located errors). Every environment of the file is checked, not only the
//! one a run uses, so a mistake in `prod` is found while working on `local`.

use hcl_edit::expr::Expression;
use hcl_edit::structure::Block;

use super::STAGE;
use crate::diag::{Diagnostic, FileId, Span, did_you_mean};
use crate::hcl;

/// The environment that exists without being declared (a block of that name overrides
/// its settings).
pub const BUILTIN: &str = "local";

/// The settings of the `aws` provider block.
pub const AWS_SETTINGS: &[&str] = &[
    "region",
    "endpoint",
    "access_key_id",
    "secret_access_key",
    "profile",
    "zone_id",
    "domain",
    "dns_target",
];

/// Every provider and the settings its `provider "NAME" { … }` block takes. A unit test
/// keeps the names equal to the registry's.
pub const PROVIDER_SETTINGS: &[(&str, &[&str])] = &[
    ("amqp", &["url", "management_url"]),
    ("aws", AWS_SETTINGS),
    ("baton", &[]),
    ("local", &["roots"]),
    ("mysql", &["url"]),
    ("postgres", &["url"]),
    ("random", &[]),
    ("redis", &["url"]),
    ("target", &[]),
    ("time", &[]),
];

/// Attributes of an `environment` block.
const ENV_ATTRS: &[&str] = &["extends", "modules", "environment_variables"];
/// Blocks of an `environment` block.
const ENV_BLOCKS: &[&str] = &["state", "provider", "target", "settings"];

/// One `environment "NAME" { … }` block.
pub struct Decl<'a> {
    /// Its name.
    pub name: String,
    /// The block.
    pub block: &'a Block,
    /// Where its header is.
    pub span: Option<Span>,
    /// The environment it extends and where that is written.
    pub extends: Option<(String, Option<Span>)>,
}

/// The environments declared in a file's body, each checked; `None` when the file's
/// shape is wrong (every problem is in `out`).
pub fn declarations<'a>(
    file: FileId,
    body: &'a hcl_edit::structure::Body,
    out: &mut Vec<Diagnostic>,
) -> Option<Vec<Decl<'a>>> {
    let before = out.len();
    hcl::check_keys(
        file,
        body,
        &[],
        &["environment", "moved", "serve"],
        "baton.hcl",
        STAGE,
        out,
    );
    super::serve::check(file, body, out);
    let mut decls: Vec<Decl<'a>> = Vec::new();
    for block in body.blocks().filter(|b| b.ident.as_str() == "environment") {
        let span = hcl::block_span(file, block);
        let labels = hcl::labels(block);
        let [name] = labels.as_slice() else {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/environment-label",
                    "`environment` takes one label: its name",
                )
                .at(span)
                .help("write e.g. `environment \"staging\" { extends = \"local\" }`"),
            );
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/environment-name",
                    format!("environment name {name:?} is not usable"),
                )
                .at(span)
                .detail("the name is part of file names (`.baton/NAME.db`, `deploy/NAME`) and of state keys")
                .help("use letters, digits, `-` and `_`, e.g. `staging` or `prod-eu`"),
            );
            continue;
        }
        if let Some(first) = decls.iter().find(|d| d.name == *name) {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/duplicate",
                    format!("environment `{name}` is declared twice"),
                )
                .at(span)
                .note(first.span, "first declared here")
                .help("merge the two blocks, or rename one"),
            );
            continue;
        }
        check_environment(file, block, name, out);
        let extends = block.body.get_attribute("extends").and_then(|a| {
            let at = hcl::expr_span(file, &a.value);
            match &a.value {
                Expression::String(s) => Some((s.as_str().to_string(), at)),
                _ => {
                    out.push(
                        Diagnostic::error(
                            STAGE,
                            "config/extends",
                            "`extends` takes the name of another environment, in quotes",
                        )
                        .at(at)
                        .help("write e.g. `extends = \"local\"`"),
                    );
                    None
                }
            }
        });
        decls.push(Decl {
            name: name.clone(),
            block,
            span,
            extends,
        });
    }
    for d in &decls {
        chain(&decls, &d.name, out);
    }
    (!out[before..].iter().any(Diagnostic::is_error)).then_some(decls)
}

/// The names of `name`'s environment and of those it extends, nearest first (the
/// built-in `local` when a chain ends there undeclared); `None` after reporting an
/// unknown parent or a cycle.
pub fn chain(decls: &[Decl], name: &str, out: &mut Vec<Diagnostic>) -> Option<Vec<String>> {
    let mut names = vec![name.to_string()];
    let mut current = decls.iter().find(|d| d.name == name);
    while let Some((parent, at)) = current.and_then(|d| d.extends.as_ref()) {
        if let Some(i) = names.iter().position(|n| n == parent) {
            // Reported once per cycle: by its first name in sorted order.
            if i == 0 && names.iter().all(|n| n.as_str() >= name) {
                let mut cycle = names.clone();
                cycle.push(parent.clone());
                let summary = if names.len() == 1 {
                    format!("environment `{name}` extends itself")
                } else {
                    format!("`extends` makes a cycle: {}", cycle.join(" → "))
                };
                let first = decls.iter().find(|d| d.name == name);
                out.push(
                    Diagnostic::error(STAGE, "config/extends-cycle", summary)
                    .at(first.and_then(|d| d.extends.as_ref()?.1).or(*at))
                    .help("an environment extends one that does not extend it back; remove one `extends`"),
                );
            }
            return None;
        }
        let next = decls.iter().find(|d| d.name == *parent);
        if next.is_none() && parent != BUILTIN {
            let known: Vec<&str> = decls
                .iter()
                .map(|d| d.name.as_str())
                .chain([BUILTIN])
                .collect();
            // Reported by the environment whose `extends` names it.
            if names.len() == 1 {
                out.push(
                    Diagnostic::error(
                        STAGE,
                        "config/extends-unknown",
                        format!("environment `{name}` extends `{parent}`, which is not defined"),
                    )
                    .at(*at)
                    .detail(format!(
                        "environments: {}",
                        sorted(known.clone()).join(", ")
                    ))
                    .help(
                        did_you_mean(parent, known.iter().copied())
                            .map(|s| format!("did you mean `{s}`?"))
                            .unwrap_or_else(|| {
                                format!("declare it: `environment \"{parent}\" {{ … }}`")
                            }),
                    ),
                );
            }
            return None;
        }
        names.push(parent.clone());
        current = next;
    }
    Some(names)
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Checks every key of one `environment` block and of the blocks in it.
fn check_environment(file: FileId, block: &Block, name: &str, out: &mut Vec<Diagnostic>) {
    let b = &block.body;
    hcl::check_keys(
        file,
        b,
        ENV_ATTRS,
        ENV_BLOCKS,
        &format!("environment `{name}`"),
        STAGE,
        out,
    );
    for kind in ["state", "target", "settings"] {
        once(file, block, kind, |_| true, out);
    }
    for s in b.blocks().filter(|x| x.ident.as_str() == "state") {
        no_labels(file, s, out);
        hcl::check_keys(
            file,
            &s.body,
            &[],
            &["sqlite", "postgres"],
            "`state`",
            STAGE,
            out,
        );
        let backends: Vec<&Block> = s.body.blocks().collect();
        if let [_, second, ..] = backends.as_slice() {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/state-backends",
                    "`state` holds one backend: `sqlite` or `postgres`",
                )
                .at(hcl::block_span(file, second))
                .note(hcl::block_span(file, backends[0]), "the first one"),
            );
        }
        for backend in backends {
            no_labels(file, backend, out);
            let key: &[&str] = match backend.ident.as_str() {
                "sqlite" => &["path"],
                "postgres" => &["url"],
                _ => continue,
            };
            let what = format!("`{}`", backend.ident.as_str());
            hcl::check_keys(file, &backend.body, key, &[], &what, STAGE, out);
        }
    }
    for p in b.blocks().filter(|x| x.ident.as_str() == "provider") {
        check_provider(file, block, p, out);
    }
    for t in b.blocks().filter(|x| x.ident.as_str() == "target") {
        let labels = hcl::labels(t);
        let keys: &[&str] = match labels.as_slice() {
            [k] if k == "kubernetes" => &["dir", "namespace"],
            [k] if k == "compose" => &["dir"],
            _ => {
                let got = labels.first().map(String::as_str).unwrap_or("");
                out.push(
                    Diagnostic::error(STAGE, "config/target", format!("unknown target `{got}`"))
                        .at(hcl::block_span(file, t))
                        .detail("targets: kubernetes, compose")
                        .help(
                            did_you_mean(got, ["kubernetes", "compose"])
                                .map(|s| format!("did you mean `target \"{s}\"`?"))
                                .unwrap_or_else(|| "use `target \"kubernetes\" { dir = \"…\" }` or `target \"compose\" { dir = \"…\" }`".into()),
                        ),
                );
                continue;
            }
        };
        let what = format!("`target \"{}\"`", labels[0]);
        hcl::check_keys(file, &t.body, keys, &[], &what, STAGE, out);
    }
    for s in b.blocks().filter(|x| x.ident.as_str() == "settings") {
        no_labels(file, s, out);
        // Any attribute name is a setting; nested blocks are not.
        hcl::check_keys(
            file,
            &s.body,
            &s.body
                .attributes()
                .map(|a| a.key.as_str())
                .collect::<Vec<_>>(),
            &[],
            "`settings` (values are attributes: `name_prefix = \"stg\"`)",
            STAGE,
            out,
        );
    }
}

/// One `provider "NAME"` block: a known provider, once per environment, and only its
/// settings.
fn check_provider(file: FileId, env: &Block, p: &Block, out: &mut Vec<Diagnostic>) {
    let span = hcl::block_span(file, p);
    let labels = hcl::labels(p);
    let names: Vec<&str> = PROVIDER_SETTINGS.iter().map(|(n, _)| *n).collect();
    let [name] = labels.as_slice() else {
        out.push(
            Diagnostic::error(
                STAGE,
                "config/provider-label",
                "`provider` takes one label: the provider name",
            )
            .at(span)
            .detail(format!("providers: {}", names.join(", "))),
        );
        return;
    };
    let Some((_, settings)) = PROVIDER_SETTINGS.iter().find(|(n, _)| n == name) else {
        out.push(
            Diagnostic::error(
                STAGE,
                "config/unknown-provider",
                format!("unknown provider `{name}`"),
            )
            .at(span)
            .detail(format!("providers: {}", names.join(", ")))
            .maybe_help(
                did_you_mean(name, names.iter().copied()).map(|s| format!("did you mean `{s}`?")),
            ),
        );
        return;
    };
    // Reported by the first block of the name.
    let first = env
        .body
        .blocks()
        .find(|b| b.ident.as_str() == "provider" && hcl::labels(b).first() == Some(name));
    if first.is_some_and(|f| std::ptr::eq(f, p)) {
        once(
            file,
            env,
            "provider",
            |b| hcl::labels(b).first() == Some(name),
            out,
        );
    }
    let before = out.len();
    let what = format!("`provider \"{name}\"`");
    hcl::check_keys(file, &p.body, settings, &[], &what, STAGE, out);
    // Values of the environment's own go in `settings`, which modules can read.
    for d in &mut out[before..] {
        if d.code == "hcl/unknown-attribute" && d.help.is_none() {
            d.help = Some(format!(
                "{} settings of your own go in the environment's `settings {{ … }}` block, which modules read as `environment.settings.NAME`",
                if settings.is_empty() {
                    format!("provider `{name}` takes no settings;")
                } else {
                    format!("provider `{name}` takes: {};", settings.join(", "))
                }
            ));
        }
    }
}

/// A block of kind `ident` (among those `filter` accepts) appears at most once in `env`.
fn once(
    file: FileId,
    env: &Block,
    ident: &str,
    filter: impl Fn(&Block) -> bool,
    out: &mut Vec<Diagnostic>,
) {
    let mut found = env
        .body
        .blocks()
        .filter(|b| b.ident.as_str() == ident && filter(b));
    let Some(first) = found.next() else {
        return;
    };
    for extra in found {
        out.push(
            Diagnostic::error(
                STAGE,
                "config/duplicate",
                format!(
                    "`{}` appears twice in one environment",
                    header(extra).trim_end()
                ),
            )
            .at(hcl::block_span(file, extra))
            .note(hcl::block_span(file, first), "first one here")
            .help("merge the two blocks"),
        );
    }
}

/// `ident "label" …` of a block, for messages.
fn header(b: &Block) -> String {
    let mut s = b.ident.as_str().to_string();
    for l in hcl::labels(b) {
        s.push_str(&format!(" \"{l}\""));
    }
    s
}

fn no_labels(file: FileId, b: &Block, out: &mut Vec<Diagnostic>) {
    if !b.labels.is_empty() {
        out.push(
            Diagnostic::error(
                STAGE,
                "config/label",
                format!("`{}` takes no label", b.ident.as_str()),
            )
            .at(hcl::block_span(file, b))
            .help(format!("write `{} {{ … }}`", b.ident.as_str())),
        );
    }
}
