//! Loading one module file: structure, types, provider schemas, references and the
//! output contract, all checked before any plan is made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body};

use super::{
    Module, Origin, OutputBlock, Param, ParamType, Provisions, ResourceBlock, SCORE_KEYS,
    Validation, contract,
};
use crate::diag::{Diagnostic, FileId, Sources, Span, Stage, did_you_mean};
use crate::hcl;
use crate::schema::{Kinds, Presence};
use crate::value::Value;

const STAGE: Stage = Stage::Load;

/// Loads every `*.hcl` file under `dir` (recursively, sorted) as a project module.
pub fn load_dir(
    dir: &Path,
    registry: &dyn Kinds,
    providers: &[String],
    sources: &mut Sources,
    out: &mut Vec<Diagnostic>,
) -> Vec<Module> {
    let mut files = Vec::new();
    collect_hcl(dir, &mut files);
    files.sort();
    let mut modules = Vec::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                out.push(Diagnostic::error(
                    STAGE,
                    "module/read",
                    format!("cannot read module {}: {e}", path.display()),
                ));
                continue;
            }
        };
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .with_extension("")
            .display()
            .to_string();
        let file = sources.add_file(path.display().to_string(), Some(&path), text);
        if let Some(m) = load_text(
            &name,
            Origin::Project(path.clone()),
            file,
            registry,
            providers,
            sources,
            out,
        ) {
            modules.push(m);
        }
    }
    modules
}

fn collect_hcl(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_hcl(&p, out);
        } else if p.extension().is_some_and(|x| x == "hcl") {
            out.push(p);
        }
    }
}

/// Loads one module from its text (already added to `sources` as `file`).
pub fn load_text(
    name: &str,
    origin: Origin,
    file: FileId,
    registry: &dyn Kinds,
    providers: &[String],
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) -> Option<Module> {
    let body = match hcl::parse(file, sources.text(file), STAGE) {
        Ok(b) => b,
        Err(d) => {
            out.push(d);
            return None;
        }
    };
    let before = out.len();
    hcl::check_keys(
        file,
        &body,
        &[],
        &["provisions", "param", "resource", "output"],
        &format!("module `{name}`"),
        STAGE,
        out,
    );

    let provisions = load_provisions(file, &body, name, out)?;
    let params = load_params(file, &body, out);
    let resources = load_resources(file, &body, registry, out);
    let outputs = load_outputs(file, &body, out);
    let module = Module {
        name: name.to_string(),
        origin,
        file,
        provisions,
        params,
        resources,
        outputs,
    };
    check_references(&module, registry, providers, out);
    check_contract(&module, out);
    if out[before..].iter().any(Diagnostic::is_error) {
        None
    } else {
        Some(module)
    }
}

fn string_attr(file: FileId, body: &Body, key: &str, out: &mut Vec<Diagnostic>) -> Option<String> {
    let attr = body.get_attribute(key)?;
    match hcl::eval_in(
        file,
        &attr.value,
        &hcl::scope(crate::value::Map::new()),
        STAGE,
    ) {
        Ok(Value::String(s)) => Some(s),
        Ok(Value::Null) => None,
        Ok(other) => {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/type",
                    format!("`{key}` must be a string, found {}", other.type_name()),
                )
                .at(hcl::expr_span(file, &attr.value)),
            );
            None
        }
        Err(d) => {
            out.push(d);
            None
        }
    }
}

fn load_provisions(
    file: FileId,
    body: &Body,
    name: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<Provisions> {
    let blocks: Vec<&Block> = body
        .blocks()
        .filter(|b| b.ident.as_str() == "provisions")
        .collect();
    let Some(block) = blocks.first() else {
        out.push(
            Diagnostic::error(STAGE, "module/no-provisions", format!("module `{name}` has no `provisions` block"))
                .at(Some(Span::new(file, 0, 0)))
                .help("start the module with `provisions \"TYPE\" { }`, naming the Score resource type it provisions"),
        );
        return None;
    };
    for extra in blocks.iter().skip(1) {
        out.push(
            Diagnostic::error(
                STAGE,
                "module/provisions-twice",
                "a module has exactly one `provisions` block",
            )
            .at(hcl::block_span(file, extra))
            .note(hcl::block_span(file, block), "first one here")
            .help("put each variant in its own file"),
        );
    }
    let labels = hcl::labels(block);
    if labels.len() != 1 {
        out.push(
            Diagnostic::error(
                STAGE,
                "module/provisions-label",
                "`provisions` takes one label: the Score resource type",
            )
            .at(hcl::block_span(file, block)),
        );
        return None;
    }
    hcl::check_keys(
        file,
        &block.body,
        &["class", "id", "environments", "description", "stateful"],
        &[],
        "`provisions`",
        STAGE,
        out,
    );
    let environments = match block.body.get_attribute("environments") {
        None => None,
        Some(attr) => match hcl::eval_in(
            file,
            &attr.value,
            &hcl::scope(crate::value::Map::new()),
            STAGE,
        ) {
            Ok(Value::List(items)) if items.iter().all(|i| i.as_str().is_some()) => Some(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
            ),
            Ok(_) => {
                out.push(
                    Diagnostic::error(
                        STAGE,
                        "module/type",
                        "`environments` must be a list of environment names",
                    )
                    .at(hcl::expr_span(file, &attr.value)),
                );
                None
            }
            Err(d) => {
                out.push(d);
                None
            }
        },
    };
    let stateful = match block.body.get_attribute("stateful") {
        None => false,
        Some(attr) => match hcl::eval_in(
            file,
            &attr.value,
            &hcl::scope(crate::value::Map::new()),
            STAGE,
        ) {
            Ok(Value::Bool(b)) => b,
            Ok(_) => {
                out.push(
                    Diagnostic::error(STAGE, "module/type", "`stateful` must be true or false")
                        .at(hcl::expr_span(file, &attr.value)),
                );
                false
            }
            Err(d) => {
                out.push(d);
                false
            }
        },
    };
    Some(Provisions {
        kind: labels[0].clone(),
        stateful,
        class: string_attr(file, &block.body, "class", out),
        id: string_attr(file, &block.body, "id", out),
        environments,
        description: string_attr(file, &block.body, "description", out).unwrap_or_default(),
        span: hcl::block_span(file, block),
    })
}

fn param_type(e: &Expression) -> Option<ParamType> {
    let name = match e {
        Expression::Variable(v) => v.as_str().to_string(),
        Expression::FuncCall(f) => f.name.name.as_str().to_string(),
        _ => return None,
    };
    Some(match name.as_str() {
        "string" => ParamType::String,
        "number" => ParamType::Number,
        "bool" => ParamType::Bool,
        "list" | "set" | "tuple" => ParamType::List,
        "map" | "object" => ParamType::Map,
        "any" => ParamType::Any,
        _ => return None,
    })
}

fn load_params(file: FileId, body: &Body, out: &mut Vec<Diagnostic>) -> Vec<Param> {
    let mut params: Vec<Param> = Vec::new();
    for block in body.blocks().filter(|b| b.ident.as_str() == "param") {
        let labels = hcl::labels(block);
        let span = hcl::block_span(file, block);
        if labels.len() != 1 {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/param-label",
                    "`param` takes one label: its name",
                )
                .at(span),
            );
            continue;
        }
        let name = labels[0].clone();
        if let Some(first) = params.iter().find(|p| p.name == name) {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/duplicate",
                    format!("param `{name}` is declared twice"),
                )
                .at(span)
                .note(first.span, "first declared here"),
            );
            continue;
        }
        hcl::check_keys(
            file,
            &block.body,
            &["type", "default", "description", "sensitive"],
            &["validation"],
            &format!("param `{name}`"),
            STAGE,
            out,
        );
        let ty = match block.body.get_attribute("type") {
            None => ParamType::Any,
            Some(a) => match param_type(&a.value) {
                Some(t) => t,
                None => {
                    out.push(
                        Diagnostic::error(
                            STAGE,
                            "module/param-type",
                            format!("unknown type for param `{name}`"),
                        )
                        .at(hcl::expr_span(file, &a.value))
                        .help("use string, number, bool, list, map or any"),
                    );
                    ParamType::Any
                }
            },
        };
        let default = match block.body.get_attribute("default") {
            None => None,
            Some(a) => {
                match hcl::eval_in(file, &a.value, &hcl::scope(crate::value::Map::new()), STAGE) {
                    Ok(v) => match ty.convert(&v) {
                        Ok(v) => Some(v),
                        Err(why) => {
                            out.push(
                                Diagnostic::error(
                                    STAGE,
                                    "module/param-default",
                                    format!("default of param `{name}`: {why}"),
                                )
                                .at(hcl::expr_span(file, &a.value)),
                            );
                            None
                        }
                    },
                    Err(d) => {
                        out.push(d);
                        None
                    }
                }
            }
        };
        let sensitive = block.body.get_attribute("sensitive").is_some_and(|a| {
            matches!(
                hcl::eval_in(file, &a.value, &hcl::scope(crate::value::Map::new()), STAGE),
                Ok(Value::Bool(true))
            )
        });
        let mut validations = Vec::new();
        for v in block
            .body
            .blocks()
            .filter(|b| b.ident.as_str() == "validation")
        {
            hcl::check_keys(
                file,
                &v.body,
                &["condition", "error_message"],
                &[],
                "`validation`",
                STAGE,
                out,
            );
            let Some(cond) = v.body.get_attribute("condition") else {
                out.push(
                    Diagnostic::error(
                        STAGE,
                        "module/validation",
                        "`validation` needs a `condition`",
                    )
                    .at(hcl::block_span(file, v)),
                );
                continue;
            };
            let error_message = string_attr(file, &v.body, "error_message", out)
                .unwrap_or_else(|| format!("invalid value for param `{name}`"));
            validations.push(Validation {
                condition: cond.value.clone(),
                error_message,
                span: hcl::expr_span(file, &cond.value),
            });
        }
        params.push(Param {
            name,
            ty,
            default,
            description: string_attr(file, &block.body, "description", out).unwrap_or_default(),
            sensitive,
            validations,
            span,
        });
    }
    params
}

fn load_resources(
    file: FileId,
    body: &Body,
    registry: &dyn Kinds,
    out: &mut Vec<Diagnostic>,
) -> Vec<ResourceBlock> {
    let mut resources: Vec<ResourceBlock> = Vec::new();
    for block in body.blocks().filter(|b| b.ident.as_str() == "resource") {
        let labels = hcl::labels(block);
        let span = hcl::block_span(file, block);
        if labels.len() != 2 {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/resource-label",
                    "`resource` takes two labels: the kind and a name",
                )
                .at(span)
                .help("e.g. `resource \"random_password\" \"password\" { ... }`"),
            );
            continue;
        }
        let (kind, name) = (labels[0].clone(), labels[1].clone());
        if let Some(first) = resources.iter().find(|r| r.kind == kind && r.name == name) {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/duplicate",
                    format!("resource `{kind}.{name}` is declared twice"),
                )
                .at(span)
                .note(first.span, "first declared here"),
            );
            continue;
        }
        let Some(schema) = registry.schema(&kind) else {
            let kinds = registry.kind_names();
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/unknown-kind",
                    format!("unknown resource kind `{kind}`"),
                )
                .at(span)
                .detail(format!("built-in kinds: {}", kinds.join(", ")))
                .maybe_help(
                    did_you_mean(&kind, kinds.iter().copied())
                        .map(|s| format!("did you mean `{s}`?")),
                ),
            );
            continue;
        };
        let settable: Vec<&str> = schema
            .attributes
            .iter()
            .filter(|a| a.presence != Presence::Computed)
            .map(|a| a.name)
            .collect();
        let mut allowed = settable.clone();
        allowed.push("depends_on");
        hcl::check_keys(
            file,
            &block.body,
            &allowed,
            &["lifecycle"],
            &format!("resource `{kind}.{name}`"),
            STAGE,
            out,
        );
        let lifecycle = load_lifecycle(file, &block.body, schema, &kind, &name, out);
        for a in &schema.attributes {
            if a.presence == Presence::Required && block.body.get_attribute(a.name).is_none() {
                out.push(
                    Diagnostic::error(
                        STAGE,
                        "module/missing-attribute",
                        format!("resource `{kind}.{name}` needs `{}`", a.name),
                    )
                    .at(span)
                    .detail(a.description.to_string()),
                );
            }
        }
        let mut attributes = BTreeMap::new();
        let mut depends_on = Vec::new();
        for attr in block.body.attributes() {
            let key = attr.key.as_str();
            if key == "depends_on" {
                for r in crate::expr::references(&attr.value) {
                    if r.path.len() >= 2 {
                        depends_on.push((r.path[0].clone(), r.path[1].clone()));
                    }
                }
                continue;
            }
            if settable.contains(&key) {
                attributes.insert(
                    key.to_string(),
                    (attr.value.clone(), hcl::expr_span(file, &attr.value)),
                );
            }
        }
        resources.push(ResourceBlock {
            kind,
            name,
            attributes,
            depends_on,
            lifecycle,
            span,
        });
    }
    resources
}

fn load_lifecycle(
    file: FileId,
    body: &Body,
    schema: &crate::schema::KindSchema,
    kind: &str,
    name: &str,
    out: &mut Vec<Diagnostic>,
) -> super::Lifecycle {
    let mut lc = super::Lifecycle::default();
    for block in body.blocks().filter(|b| b.ident.as_str() == "lifecycle") {
        hcl::check_keys(
            file,
            &block.body,
            &[
                "prevent_destroy",
                "ignore_changes",
                "create_before_destroy",
                "replace_triggered_by",
            ],
            &[],
            &format!("the lifecycle of `{kind}.{name}`"),
            STAGE,
            out,
        );
        let expr = |key: &str| {
            block
                .body
                .get_attribute(key)
                .map(|a| (a.value.clone(), hcl::expr_span(file, &a.value)))
        };
        lc.prevent_destroy = expr("prevent_destroy");
        lc.create_before_destroy = expr("create_before_destroy");
        lc.replace_triggered_by = expr("replace_triggered_by");
        if let Some(a) = block.body.get_attribute("ignore_changes") {
            // A list of attribute names, written bare (`[password]`) or quoted.
            let names: Vec<String> = match &a.value {
                Expression::Array(items) => items
                    .iter()
                    .filter_map(|e| match e {
                        Expression::Variable(v) => Some(v.as_str().to_string()),
                        Expression::String(s) => Some(s.as_str().to_string()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for n in &names {
                if schema.attr(n).is_none() {
                    let known: Vec<&str> = schema.attributes.iter().map(|x| x.name).collect();
                    out.push(
                        Diagnostic::error(STAGE, "module/ignore-changes", format!("`ignore_changes` of `{kind}.{name}` names `{n}`, which `{kind}` does not have"))
                            .at(hcl::expr_span(file, &a.value))
                            .maybe_help(did_you_mean(n, known.iter().copied()).map(|s| format!("did you mean `{s}`?"))),
                    );
                }
            }
            if names.is_empty() && !matches!(&a.value, Expression::Array(items) if items.is_empty())
            {
                out.push(
                    Diagnostic::error(
                        STAGE,
                        "module/ignore-changes",
                        "`ignore_changes` takes a list of attribute names, e.g. `[password]`",
                    )
                    .at(hcl::expr_span(file, &a.value)),
                );
            }
            lc.ignore_changes = names;
        }
    }
    lc
}

fn load_outputs(file: FileId, body: &Body, out: &mut Vec<Diagnostic>) -> Vec<OutputBlock> {
    let mut outputs: Vec<OutputBlock> = Vec::new();
    for block in body.blocks().filter(|b| b.ident.as_str() == "output") {
        let labels = hcl::labels(block);
        let span = hcl::block_span(file, block);
        if labels.len() != 1 {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/output-label",
                    "`output` takes one label: its name",
                )
                .at(span),
            );
            continue;
        }
        let name = labels[0].clone();
        if let Some(first) = outputs.iter().find(|o| o.name == name) {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/duplicate",
                    format!("output `{name}` is declared twice"),
                )
                .at(span)
                .note(first.span, "first declared here"),
            );
            continue;
        }
        hcl::check_keys(
            file,
            &block.body,
            &["value", "sensitive", "description"],
            &[],
            &format!("output `{name}`"),
            STAGE,
            out,
        );
        let Some(value) = block.body.get_attribute("value") else {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/output-value",
                    format!("output `{name}` needs a `value`"),
                )
                .at(span),
            );
            continue;
        };
        let sensitive = block.body.get_attribute("sensitive").is_some_and(|a| {
            matches!(
                hcl::eval_in(file, &a.value, &hcl::scope(crate::value::Map::new()), STAGE),
                Ok(Value::Bool(true))
            )
        });
        outputs.push(OutputBlock {
            name,
            value: value.value.clone(),
            sensitive,
            span,
        });
    }
    outputs
}

/// Every reference in the module must name something that exists.
fn check_references(
    m: &Module,
    registry: &dyn Kinds,
    providers: &[String],
    out: &mut Vec<Diagnostic>,
) {
    let params: BTreeSet<&str> = m.params.iter().map(|p| p.name.as_str()).collect();
    let mut by_kind: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &m.resources {
        by_kind
            .entry(r.kind.as_str())
            .or_default()
            .insert(r.name.as_str());
    }
    let mut exprs: Vec<(&Expression, String)> = Vec::new();
    for r in &m.resources {
        for (rule, e) in [
            ("prevent_destroy", &r.lifecycle.prevent_destroy),
            ("create_before_destroy", &r.lifecycle.create_before_destroy),
            ("replace_triggered_by", &r.lifecycle.replace_triggered_by),
        ] {
            if let Some((e, _)) = e {
                exprs.push((e, format!("`{rule}` of resource `{}.{}`", r.kind, r.name)));
            }
        }
        for (k, (e, _)) in &r.attributes {
            exprs.push((e, format!("`{}` of resource `{}.{}`", k, r.kind, r.name)));
        }
        for (kind, name) in &r.depends_on {
            if !by_kind
                .get(kind.as_str())
                .is_some_and(|n| n.contains(name.as_str()))
            {
                out.push(Diagnostic::error(STAGE, "module/unknown-reference", format!("`depends_on` of `{}.{}` names `{kind}.{name}`, which this module does not declare", r.kind, r.name)).at(r.span));
            }
        }
    }
    for o in &m.outputs {
        exprs.push((&o.value, format!("output `{}`", o.name)));
    }
    for p in &m.params {
        for v in &p.validations {
            exprs.push((&v.condition, format!("validation of param `{}`", p.name)));
        }
    }
    let mut roots: Vec<&str> = vec![
        "param",
        "score",
        "env",
        "provider",
        "environment",
        "workloads",
    ];
    roots.extend(by_kind.keys().copied());
    for (e, context) in exprs {
        for r in crate::expr::references(e) {
            let span = hcl::span(m.file, r.span.clone());
            let root = r.path[0].as_str();
            let second = r.path.get(1).map(String::as_str);
            let problem: Option<(String, Option<String>)> = match root {
                "param" => match second {
                    Some(p) if params.contains(p) => None,
                    Some(p) => Some((format!("{context} reads `param.{p}`, which this module does not declare"), did_you_mean(p, params.iter().copied()).map(|s| format!("did you mean `param.{s}`?")).or(Some(format!("declare it: `param \"{p}\" {{ type = string }}`"))))),
                    None => None,
                },
                "score" => match second {
                    Some(k) if SCORE_KEYS.contains(&k) => None,
                    Some(k) => Some((format!("{context} reads `score.{k}`, which does not exist"), Some(did_you_mean(k, SCORE_KEYS.iter().copied()).map(|s| format!("did you mean `score.{s}`?")).unwrap_or_else(|| format!("`score` has: {}", SCORE_KEYS.join(", ")))))),
                    None => None,
                },
                "env" | "workloads" => None,
                "environment" => match second {
                    Some("name" | "settings") | None => None,
                    Some(k) => Some((format!("{context} reads `environment.{k}`, which does not exist"), Some(did_you_mean(k, ["name", "settings"]).map(|s| format!("did you mean `environment.{s}`?")).unwrap_or_else(|| "`environment` has `name` and `settings` (the `settings { … }` of baton.hcl, e.g. `environment.settings.name_prefix`)".into())))),
                },
                "provider" => match second {
                    Some(p) if providers.iter().any(|x| x == p) => None,
                    Some(p) => Some((format!("{context} reads `provider.{p}`, which is not a configured provider"), Some(format!("configured providers: {}", providers.join(", "))))),
                    None => None,
                },
                kind if by_kind.contains_key(kind) => match second {
                    Some(n) if by_kind[kind].contains(n) => {
                        let attr = r.path.get(2).map(String::as_str);
                        match (attr, registry.schema(kind)) {
                            (Some(a), Some(s)) if s.attr(a).is_none() => {
                                let names: Vec<&str> = s.attributes.iter().map(|x| x.name).collect();
                                Some((format!("{context} reads `{kind}.{n}.{a}`, but `{kind}` has no attribute `{a}`"), did_you_mean(a, names.iter().copied()).map(|s| format!("did you mean `{s}`?")).or(Some(format!("`{kind}` has: {}", names.join(", "))))))
                            }
                            _ => None,
                        }
                    }
                    Some(n) => Some((format!("{context} reads `{kind}.{n}`, which this module does not declare"), did_you_mean(n, by_kind[kind].iter().copied()).map(|s| format!("did you mean `{kind}.{s}`?")))),
                    None => None,
                },
                other => Some((format!("{context} reads `{other}`, which is not defined here"), did_you_mean(other, roots.iter().copied()).map(|s| format!("did you mean `{s}`?")).or(Some("modules can read param.*, score.*, env.*, provider.*, environment.*, workloads.* and their own resources".into())))),
            };
            if let Some((summary, help)) = problem {
                out.push(
                    Diagnostic::error(STAGE, "module/unknown-reference", summary)
                        .at(span)
                        .maybe_help(help),
                );
            }
        }
    }
}

/// The module's outputs must cover the contract of its Score type.
fn check_contract(m: &Module, out: &mut Vec<Diagnostic>) {
    if m.outputs.iter().any(|o| o.name == "*") {
        return;
    }
    let kind = &m.provisions.kind;
    let missing: Vec<&str> = contract::required_outputs(kind)
        .iter()
        .copied()
        .filter(|o| !m.outputs.iter().any(|x| x.name == *o))
        .collect();
    if !missing.is_empty() {
        out.push(
            Diagnostic::error(
                STAGE,
                "module/contract",
                format!(
                    "module `{}` provisions `{kind}` but lacks the output{} {}",
                    m.name,
                    if missing.len() == 1 { "" } else { "s" },
                    missing
                        .iter()
                        .map(|s| format!("`{s}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .at(m.provisions.span)
            .detail(format!(
                "Score workloads expect a `{kind}` resource to provide: {}",
                contract::required_outputs(kind).join(", ")
            ))
            .help("add an `output` block for each"),
        );
    }
    for s in contract::sensitive_outputs(kind) {
        if let Some(o) = m.outputs.iter().find(|o| o.name == *s && !o.sensitive) {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "module/contract-sensitive",
                    format!("output `{s}` of a `{kind}` module must be sensitive"),
                )
                .at(o.span)
                .help("add `sensitive = true` so it is never shown and goes into a Secret"),
            );
        }
    }
}
