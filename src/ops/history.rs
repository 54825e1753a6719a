//! Deployments: after an apply or destroy changes the state, the configuration it
//! applied is recorded under the serial it produced ([`record`]): the Score files after
//! overrides, the modules used with their content hashes, and the environment's
//! settings, redacted. They are read back ([`deployments`], [`deployment`]), compared
//! ([`history_diff`]) and planned back to (`plan --at SERIAL`: [`stored`], [`rollback`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::pipeline::{Prepared, Stored};
use super::{Error, ScoreInputs, Workspace};
use crate::config::Environment;
use crate::plan::Plan;
use crate::plan::diff::PlanOptions;
use crate::plan::rollback::Rollback;
use crate::state::deployment::{self, Blob, Configuration, Deployment, DeploymentDiff, ModuleUse};
use crate::state::{StateError, Store};
use crate::value::{SENSITIVE_TEXT, Value};

/// Every recorded deployment, oldest first (their settings redacted when recorded).
pub fn deployments(ws: &Workspace) -> Result<Vec<Deployment>, Error> {
    Ok(super::inspect::open(ws)?.deployments()?)
}

/// The serials that have a deployment, oldest first (reads no document).
pub fn deployment_serials(ws: &Workspace) -> Result<Vec<u64>, Error> {
    Ok(super::inspect::open(ws)?.deployment_serials()?)
}

/// The configuration the apply of `serial` recorded, with the texts it refers to.
/// An unknown serial is an error naming the serials that have one.
pub fn deployment(ws: &Workspace, serial: u64) -> Result<Configuration, Error> {
    Ok(configuration(&super::inspect::open(ws)?, serial)?)
}

/// What changed in the configuration from the apply of `a` to that of `b`: Score
/// files and modules (with unified diffs of their texts) and settings.
pub fn history_diff(ws: &Workspace, a: u64, b: u64) -> Result<DeploymentDiff, Error> {
    let store = super::inspect::open(ws)?;
    let (a, b) = (configuration(&store, a)?, configuration(&store, b)?);
    let texts = |d: &str| a.texts.get(d).or_else(|| b.texts.get(d)).cloned();
    Ok(deployment::diff(&a.deployment, &b.deployment, &texts))
}

/// The deployment of `serial` with its texts, read from `store`.
fn configuration(store: &Store, serial: u64) -> anyhow::Result<Configuration> {
    let Some(d) = store.deployment(serial)? else {
        let known: Vec<String> = store
            .deployment_serials()?
            .iter()
            .map(u64::to_string)
            .collect();
        anyhow::bail!(
            "no deployment is recorded for serial {serial}; {}",
            if known.is_empty() {
                "none is recorded yet (an apply records one when it changes something)".to_string()
            } else {
                format!(
                    "serials with one: {} (see `baton state history`)",
                    known.join(", ")
                )
            }
        );
    };
    let mut texts = BTreeMap::new();
    for digest in d
        .score
        .values()
        .chain(d.modules.values().map(|m| &m.sha256))
    {
        if let Some(b) = store.blob(digest)? {
            texts.insert(b.digest, b.text);
        }
    }
    Ok(Configuration {
        deployment: d,
        texts,
    })
}

/// The inputs of a plan back to the deployment of `serial`, from `store`, the state of
/// `env`.
pub(super) fn stored(store: &Store, env: &Environment, serial: u64) -> Result<Stored, Error> {
    let c = configuration(store, serial)?;
    let text = |digest: &String, what: &str| {
        c.texts.get(digest).cloned().ok_or_else(|| {
            anyhow::anyhow!("the text of {what} of serial {serial} is not in the state")
        })
    };
    let mut score = Vec::new();
    for (path, digest) in &c.deployment.score {
        score.push((path.clone(), text(digest, path)?));
    }
    let mut modules = Vec::new();
    for (name, m) in &c.deployment.modules {
        modules.push((
            name.clone(),
            m.origin.clone(),
            text(&m.sha256, &format!("module `{name}`"))?,
        ));
    }
    Ok(Stored {
        score,
        modules,
        settings: restored_settings(env, &c.deployment),
        serial,
    })
}

/// The environment's settings as the deployment recorded them, where they were stored
/// in clear; one redacted (in whole or in part) keeps its current value.
fn restored_settings(env: &Environment, d: &Deployment) -> crate::value::Map {
    let mut out = crate::value::Map::new();
    for (key, v) in &d.settings {
        let Some(name) = key.strip_prefix("settings.") else {
            continue;
        };
        let value = match env.settings.get(name) {
            Some(now) if redacted(v) => now.clone(),
            None if redacted(v) => continue,
            _ => Value::from_json(v),
        };
        out.insert(name.to_string(), value);
    }
    out
}

/// Whether a recorded setting had a secret taken out of it.
fn redacted(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains(SENSITIVE_TEXT),
        serde_json::Value::Array(a) => a.iter().any(redacted),
        serde_json::Value::Object(o) => o.values().any(redacted),
        _ => false,
    }
}

/// The rollback notes of `plan`, a plan back to the deployment of `serial`.
pub(super) fn rollback(store: &Store, plan: &Plan, serial: u64) -> anyhow::Result<Rollback> {
    let target = configuration(store, serial)?;
    let latest = store
        .deployment_serials()?
        .last()
        .copied()
        .unwrap_or(serial);
    let latest = configuration(store, latest)?;
    let texts = |d: &str| target.texts.get(d).or_else(|| latest.texts.get(d)).cloned();
    let configuration = deployment::diff(&latest.deployment, &target.deployment, &texts);
    let settings_kept = configuration
        .settings
        .iter()
        .filter(|s| {
            !s.name.starts_with("settings.")
                || [&s.before, &s.after]
                    .iter()
                    .any(|v| v.as_ref().is_some_and(redacted))
        })
        .map(|s| s.name.clone())
        .collect();
    let history = store.history()?;
    let (recreated_empty, data_lost, created_since) =
        crate::plan::rollback::notes(plan, serial, &history);
    Ok(Rollback {
        serial,
        at: target.deployment.at.clone(),
        who: target.deployment.who.clone(),
        configuration,
        settings_kept,
        recreated_empty,
        data_lost,
        created_since,
    })
}

/// Records the configuration `prepared` applied (with `opts`, from `inputs`) under
/// `serial`. A run narrowed to some workloads (`-f`) changes only their Score files in
/// the environment's configuration: the others stay as the last deployment had them.
pub(super) fn record(
    prepared: &Prepared,
    inputs: &ScoreInputs,
    opts: &PlanOptions,
    store: &mut Store,
    serial: u64,
) -> Result<(), StateError> {
    let mut blobs = Vec::new();
    let mut keep = |text: String| {
        let b = Blob::of(text);
        let digest = b.digest.clone();
        blobs.push(b);
        digest
    };
    let narrowed = inputs.narrowed || !opts.targets.is_empty();
    let previous = match store.deployment_serials()?.last() {
        Some(&last) if narrowed => store.deployment(last)?,
        _ => None,
    };
    let (mut score, mut modules) = previous.map(|p| (p.score, p.modules)).unwrap_or_default();
    let overridden = inputs.load.image.is_some()
        || inputs.load.overrides_file.is_some()
        || !inputs.load.override_properties.is_empty();
    let destroyed = opts.destroy && opts.targets.is_empty();
    for lw in &prepared.project.workloads {
        let path = posted_as(relative(&prepared.root, &lw.path));
        if destroyed {
            score.remove(&path);
            continue;
        }
        // After overrides: the document as planned, as JSON (which YAML reads).
        let text = if overridden {
            let mut t = serde_json::to_string_pretty(&lw.root.to_json()).unwrap_or_default();
            t.push('\n');
            t
        } else {
            prepared.sources.text(lw.file).to_string()
        };
        score.insert(path, keep(text));
    }
    if !destroyed {
        let used: std::collections::BTreeSet<usize> =
            prepared.graph.module_of.values().copied().collect();
        for i in used {
            let m = &prepared.modules[i];
            let origin = match &m.origin {
                crate::module::Origin::Builtin(_) => "builtin".to_string(),
                crate::module::Origin::Project(p) => relative(&prepared.root, p),
            };
            let sha256 = keep(prepared.sources.text(m.file).to_string());
            modules.insert(m.name.clone(), ModuleUse { origin, sha256 });
        }
    } else if !narrowed {
        modules.clear();
    }
    let d = Deployment {
        serial,
        at: crate::state::now(),
        who: store.who(),
        environment: prepared.env.name.clone(),
        score,
        modules,
        settings: settings(&prepared.env, &store.location()),
    };
    store.put_deployment(&d, &blobs)
}

/// `path` relative to the project `root` (a relative path is from the working
/// directory).
fn relative(root: &Path, path: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let strip = |p: &Path, r: &Path| p.strip_prefix(r).ok().map(PathBuf::from);
    strip(&absolute, root)
        .or_else(|| {
            let (p, r) = (absolute.canonicalize().ok()?, root.canonicalize().ok()?);
            strip(&p, &r)
        })
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// A Score file posted to `baton serve` is written to `.baton/serve/RUN/NAME`
/// ([`super::runs::run_dir`]) and takes the place of the project's file `NAME`: the
/// deployment names it `NAME`, so that applies through the server and the command line
/// compare file by file.
fn posted_as(path: String) -> String {
    let Some(rest) = path.strip_prefix(".baton/serve/") else {
        return path;
    };
    match rest.split_once('/') {
        Some((_, name)) if !name.contains('/') => name.to_string(),
        _ => path,
    }
}

/// The environment's settings, one entry per setting, secrets redacted: a value marked
/// sensitive, a provider setting that names a secret, and the password of a URL.
fn settings(env: &Environment, location: &str) -> BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let mut out = BTreeMap::new();
    out.insert("state".to_string(), json!(location));
    if !env.parents.is_empty() {
        out.insert("extends".to_string(), json!(env.parents));
    }
    let dirs: Vec<String> = env
        .module_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    out.insert("modules".to_string(), json!(dirs));
    let target = match &env.target {
        crate::config::Target::Kubernetes { dir, namespace } => {
            json!({"kind": "kubernetes", "dir": dir, "namespace": namespace})
        }
        crate::config::Target::Compose { dir } => json!({"kind": "compose", "dir": dir}),
    };
    out.insert("target".to_string(), target);
    if !env.variables.is_empty() {
        out.insert("environment_variables".to_string(), json!(env.variables));
    }
    let redacted = |key: &str, v: &Value| {
        let secret = ["password", "secret", "token", "access_key"]
            .iter()
            .any(|s| key.contains(s));
        if secret {
            json!(SENSITIVE_TEXT)
        } else {
            redact_urls(v.to_json_redacted())
        }
    };
    for (provider, config) in &env.providers {
        for (key, v) in config {
            out.insert(format!("providers.{provider}.{key}"), redacted(key, v));
        }
    }
    for (key, v) in &env.settings {
        out.insert(format!("settings.{key}"), redacted(key, v));
    }
    out
}

/// `v` with the password of every URL in it replaced by `(sensitive)`.
fn redact_urls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::String(s) => serde_json::Value::String(redact_url(&s)),
        serde_json::Value::Array(a) => a.into_iter().map(redact_urls).collect(),
        serde_json::Value::Object(o) => o.into_iter().map(|(k, v)| (k, redact_urls(v))).collect(),
        other => other,
    }
}

fn redact_url(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let Some((userinfo, host)) = rest.split_once('@').filter(|(u, _)| !u.contains('/')) else {
        return s.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:{SENSITIVE_TEXT}@{host}"),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{Value, posted_as, redact_url, restored_settings, settings};

    #[test]
    fn a_file_posted_to_the_server_is_named_as_posted() {
        for (written, named) in [
            (".baton/serve/4f2a/orders.score.yaml", "orders.score.yaml"),
            ("orders.score.yaml", "orders.score.yaml"),
            ("apps/orders.score.yaml", "apps/orders.score.yaml"),
            (".baton/serve/4f2a/x/y.yaml", ".baton/serve/4f2a/x/y.yaml"),
        ] {
            assert_eq!(posted_as(written.to_string()), named);
        }
    }

    #[test]
    fn settings_come_back_as_recorded_unless_a_secret_was_taken_out_of_them() {
        let mut env = crate::config::Environment::defaults(std::path::Path::new("/p"), "ci");
        let s = |t: &str| Value::string(t.to_string());
        env.settings
            .insert("db_url".into(), s("postgres://u:now@h/x"));
        env.settings.insert("team".into(), s("b"));
        let d = crate::state::deployment::Deployment {
            serial: 1,
            at: String::new(),
            who: String::new(),
            environment: "ci".into(),
            score: Default::default(),
            modules: Default::default(),
            settings: [
                (
                    "settings.db_url",
                    serde_json::json!("postgres://u:(sensitive)@h/x"),
                ),
                ("settings.team", serde_json::json!("a")),
                ("settings.token", serde_json::json!("(sensitive)")),
                ("settings.replicas", serde_json::json!([1, 2])),
                ("target", serde_json::json!({"kind": "compose"})),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        };
        let restored = restored_settings(&env, &d);
        let shown: Vec<String> = restored.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        assert_eq!(
            restored.keys().collect::<Vec<_>>(),
            ["db_url", "replicas", "team"],
            "{shown:?}"
        );
        assert_eq!(
            restored.get("db_url"),
            env.settings.get("db_url"),
            "{shown:?}"
        );
        assert_eq!(restored.get("team"), Some(&s("a")), "{shown:?}");
    }

    #[test]
    fn settings_are_recorded_one_each_with_every_secret_redacted() {
        let mut env = crate::config::Environment::defaults(std::path::Path::new("/p"), "ci");
        let s = |t: &str| Value::string(t.to_string());
        env.providers.insert(
            "postgres".into(),
            [("url".to_string(), s("postgres://u:hunter2@db/x"))]
                .into_iter()
                .collect(),
        );
        env.settings.insert("api_token".into(), s("hunter2"));
        env.settings
            .insert("vault".into(), Value::sensitive(s("hunter2")));
        env.settings.insert("name_prefix".into(), s("ci"));
        env.variables = vec!["HOME".into()];
        let recorded = serde_json::to_string(&settings(&env, "/p/.baton/ci.db")).unwrap();
        assert!(!recorded.contains("hunter2"), "{recorded}");
        assert_eq!(
            recorded,
            r#"{"environment_variables":["HOME"],"modules":[],"providers.postgres.url":"postgres://u:(sensitive)@db/x","settings.api_token":"(sensitive)","settings.name_prefix":"ci","settings.vault":"(sensitive)","state":"/p/.baton/ci.db","target":{"dir":"deploy/ci","kind":"kubernetes","namespace":null}}"#
        );
    }

    #[test]
    fn a_url_keeps_everything_but_its_password() {
        for (given, kept) in [
            (
                "postgres://u:hunter2@db:5432/x",
                "postgres://u:(sensitive)@db:5432/x",
            ),
            ("redis://db:6379", "redis://db:6379"),
            ("amqp://guest@h/v", "amqp://guest@h/v"),
            ("plain", "plain"),
        ] {
            assert_eq!(redact_url(given), kept);
        }
    }
}
