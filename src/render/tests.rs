//! Snapshots of every plan rendering (text, Markdown, JSON) for the situations a reviewer
//! meets: a first apply, an update, a replace, a delete, drift and its correction, a plan
//! with a secret (whose value must appear nowhere), and a huge plan cut under GitHub's
//! limit. Plans are built by hand: rendering is pure.

use super::markdown::{self, MarkdownOptions};
use super::{Color, plan as plan_render};
use crate::plan::{Action, Change, Drift, Plan, Reason};
use crate::provider::Attrs;
use crate::value::Value;

const SECRET: &str = "s3cr3t-canary-value-9f8e7d";

fn attrs(pairs: &[(&str, Value)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn change(
    address: &str,
    kind: &str,
    action: Action,
    reason: Reason,
    before: Option<Attrs>,
    after: Option<Attrs>,
) -> Change {
    let uid = address
        .split('/')
        .next()
        .filter(|u| u.contains('#'))
        .unwrap_or("")
        .to_string();
    Change {
        address: address.into(),
        uid,
        kind: kind.into(),
        provider: "local".into(),
        module: "m".into(),
        workloads: vec!["web".into()],
        action,
        reason,
        before: before.map(std::sync::Arc::new),
        after: after.map(std::sync::Arc::new),
        desired: None,
        depends_on: Vec::new(),
        create_before_destroy: false,
        protected: false,
        triggers: None,
        stateful: false,
        moved_from: None,
    }
}

fn plan(changes: Vec<Change>, drift: Vec<Drift>) -> Plan {
    Plan {
        environment: "local".into(),
        lineage: "00000000-0000-4000-8000-00000000e0e0".into(),
        serial: 3,
        changes,
        drift,
        destroy: false,
        settled: Default::default(),
        schedule: Default::default(),
    }
}

fn manifest(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - image: {image}\n        name: main\n"
    )
}

fn first_apply() -> Plan {
    let mut file = change(
        "route.default#web.route/local_file.route",
        "local_file",
        Action::Create,
        Reason::New,
        None,
        Some(attrs(&[
            ("path", Value::string(".baton/routes/r.json")),
            ("content", Value::string("{\"port\":80}")),
            ("content_sha256", Value::Unknown),
        ])),
    );
    file.depends_on = vec![];
    let mut w = change(
        "workload.web",
        "workload_manifests",
        Action::Create,
        Reason::New,
        None,
        Some(attrs(&[
            ("dir", Value::string("deploy/local")),
            (
                "files",
                Value::Map(crate::value::Map::from([(
                    "web.yaml".to_string(),
                    Value::Unknown,
                )])),
            ),
        ])),
    );
    w.uid = String::new();
    w.depends_on = vec!["route.default#web.route/local_file.route".into()];
    plan(vec![file, w], vec![])
}

fn update() -> Plan {
    let before = attrs(&[
        ("dir", Value::string("deploy/local")),
        (
            "files",
            Value::Map(crate::value::Map::from([(
                "web.yaml".to_string(),
                Value::string(manifest("nginx:1.26")),
            )])),
        ),
    ]);
    let after = attrs(&[
        ("dir", Value::string("deploy/local")),
        (
            "files",
            Value::Map(crate::value::Map::from([(
                "web.yaml".to_string(),
                Value::string(manifest("nginx:1.27")),
            )])),
        ),
    ]);
    let mut w = change(
        "workload.web",
        "workload_manifests",
        Action::Update,
        Reason::Changed(vec!["files".into()]),
        Some(before),
        Some(after),
    );
    w.uid = String::new();
    plan(vec![w], vec![])
}

fn replace() -> Plan {
    let before = attrs(&[
        ("length", Value::int(32)),
        ("result", Value::sensitive(Value::string(SECRET))),
    ]);
    let after = attrs(&[
        ("length", Value::int(40)),
        ("result", Value::sensitive(Value::Unknown)),
    ]);
    plan(
        vec![change(
            "secret.default#web.session/random_password.value",
            "random_password",
            Action::Replace,
            Reason::ForceNew("length".into()),
            Some(before),
            Some(after),
        )],
        vec![],
    )
}

fn delete() -> Plan {
    let before = attrs(&[
        ("path", Value::string(".baton/volumes/v")),
        ("absolute_path", Value::string("/p/.baton/volumes/v")),
    ]);
    let mut c = change(
        "volume.default#web.uploads/local_directory.data",
        "local_directory",
        Action::Delete,
        Reason::NoLongerReferenced,
        Some(before),
        None,
    );
    c.workloads = vec![];
    plan(vec![c], vec![])
}

fn drift() -> Plan {
    let recorded = attrs(&[
        ("path", Value::string("a.txt")),
        ("content", Value::string("line 1\nline 2\n")),
    ]);
    let now = attrs(&[
        ("path", Value::string("a.txt")),
        ("content", Value::string("line 1\nedited\n")),
    ]);
    let d = Drift {
        address: "site.default#web.site/local_file.index".into(),
        kind: "local_file".into(),
        before: recorded.clone(),
        after: Some(now.clone()),
    };
    let gone = Drift {
        address: "volume.default#web.data/local_directory.data".into(),
        kind: "local_directory".into(),
        before: attrs(&[("path", Value::string("v"))]),
        after: None,
    };
    let fix = change(
        "site.default#web.site/local_file.index",
        "local_file",
        Action::Update,
        Reason::Drift,
        Some(now),
        Some(recorded),
    );
    let recreate = change(
        "volume.default#web.data/local_directory.data",
        "local_directory",
        Action::Create,
        Reason::Drift,
        None,
        Some(attrs(&[
            ("path", Value::string("v")),
            ("absolute_path", Value::Unknown),
        ])),
    );
    plan(vec![fix, recreate], vec![d, gone])
}

fn with_secret() -> Plan {
    let before = attrs(&[
        ("files", Value::Map(crate::value::Map::new())),
        (
            "secret_files",
            Value::sensitive(Value::Map(crate::value::Map::from([(
                "web.secrets.yaml".to_string(),
                Value::string(format!("password: {SECRET}\n")),
            )]))),
        ),
    ]);
    let after = attrs(&[
        ("files", Value::Map(crate::value::Map::new())),
        (
            "secret_files",
            Value::sensitive(Value::Map(crate::value::Map::from([(
                "web.secrets.yaml".to_string(),
                Value::string(format!("password: {SECRET}-2\n")),
            )]))),
        ),
    ]);
    let mut w = change(
        "workload.web",
        "workload_manifests",
        Action::Update,
        Reason::Changed(vec!["secret_files".into()]),
        Some(before),
        Some(after),
    );
    w.uid = String::new();
    let role = change(
        "postgres.default#web.db/postgres_role.owner",
        "postgres_role",
        Action::Update,
        Reason::Changed(vec!["password".into()]),
        Some(attrs(&[
            ("name", Value::string("web_db")),
            ("password", Value::sensitive(Value::string(SECRET))),
        ])),
        Some(attrs(&[
            ("name", Value::string("web_db")),
            (
                "password",
                Value::sensitive(Value::string(format!("{SECRET}-2"))),
            ),
        ])),
    );
    plan(vec![role, w], vec![])
}

fn all_renderings(p: &Plan) -> String {
    format!(
        "=== text\n{}\n=== compact\n{}\n=== markdown\n{}\n=== json\n{}\n",
        plan_render::text(p, Color::Never),
        plan_render::compact(p, Color::Never),
        markdown::render(p, &MarkdownOptions::default()),
        serde_json::to_string_pretty(&plan_render::json(p)).unwrap()
    )
}

#[test]
fn first_apply_renders() {
    insta::assert_snapshot!(all_renderings(&first_apply()));
}

#[test]
fn update_renders_manifest_diffs() {
    let out = all_renderings(&update());
    assert!(
        out.contains("-        image: nginx:1.26") || out.contains("-      - image: nginx:1.26"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn replace_renders_loudly() {
    let out = all_renderings(&replace());
    assert!(out.contains("🟠 **1 to replace**"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn delete_renders_loudly() {
    let out = all_renderings(&delete());
    assert!(out.contains("🔴 **1 to destroy**"), "{out}");
    insta::assert_snapshot!(out);
}

/// A `moved` block's plan: a volume moved (only its address changes), and the
/// workload's manifests moved and updated.
fn moved() -> Plan {
    let dir = attrs(&[("path", Value::string(".baton/volumes/api-data-0a1b2c3d"))]);
    let mut volume = change(
        "volume.default#backend.data/local_directory.data",
        "local_directory",
        Action::Move,
        Reason::Moved,
        Some(dir.clone()),
        Some(dir),
    );
    volume.moved_from = Some("volume.default#api.data/local_directory.data".into());
    volume.workloads = vec!["backend".into()];
    let mut w = update().changes.remove(0);
    w.address = "workload.backend".into();
    w.workloads = vec!["backend".into()];
    w.moved_from = Some("workload.api".into());
    plan(vec![volume, w], vec![])
}

/// What a rename without a `moved` block plans: the old workload's objects deleted, the
/// same created for the new one.
fn renamed() -> Plan {
    let dir = |w: &str| attrs(&[("path", Value::string(format!(".baton/volumes/{w}-data")))]);
    let object = |w: &str, action, reason: Reason| {
        let (before, after) = match action {
            Action::Delete => (Some(dir(w)), None),
            _ => (None, Some(dir(w))),
        };
        let mut c = change(
            &format!("volume.default#{w}.data/local_directory.data"),
            "local_directory",
            action,
            reason,
            before,
            after,
        );
        c.workloads = vec![w.to_string()];
        c
    };
    let manifests = |w: &str, action, reason: Reason| {
        let mut c = object(w, action, reason);
        c.address = format!("workload.{w}");
        c.uid = String::new();
        c.kind = "workload_manifests".into();
        c
    };
    plan(
        vec![
            object("backend", Action::Create, Reason::New),
            manifests("backend", Action::Create, Reason::New),
            manifests("api", Action::Delete, Reason::NoLongerReferenced),
            object("api", Action::Delete, Reason::NoLongerReferenced),
        ],
        vec![],
    )
}

#[test]
fn moves_render_as_moves_and_count() {
    let p = moved();
    let out = all_renderings(&p);
    assert!(out.contains("0 to destroy, 2 to move"), "{out}");
    assert!(out.contains("\"moved_from\": \"workload.api\""), "{out}");
    assert!(!out.contains("looks like a rename"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn a_rename_without_a_moved_block_shows_the_block() {
    let out = all_renderings(&renamed());
    let block = "moved {\n  from = \"workload.api\"\n  to   = \"workload.backend\"\n}\n";
    assert!(out.contains(block), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn drift_comes_before_its_correction() {
    let out = all_renderings(&drift());
    let md = markdown::render(&drift(), &MarkdownOptions::default());
    let drift_at = md.find("Changed outside baton").unwrap();
    let details_at = md.find("<details><summary>🟡 update").unwrap();
    assert!(drift_at < details_at, "{md}");
    insta::assert_snapshot!(out);
}

#[test]
fn a_secret_appears_in_no_rendering() {
    let p = with_secret();
    let out = all_renderings(&p);
    assert!(!out.contains(SECRET), "{out}");
    assert!(!out.contains("s3cr3t"), "{out}");
    assert!(out.contains("(sensitive)"));
    insta::assert_snapshot!(out);
}

#[test]
fn a_huge_plan_is_cut_under_the_limit_saying_what_was_cut() {
    let changes: Vec<Change> = (0..10_000)
        .map(|i| {
            change(
                &format!("dns.default#w{i:05}.dns/local_file.f"),
                "local_file",
                Action::Create,
                Reason::New,
                None,
                Some(attrs(&[
                    ("path", Value::string(format!("f{i}.txt"))),
                    (
                        "content",
                        Value::string(format!("content of file {i}\nsecond line\n")),
                    ),
                ])),
            )
        })
        .collect();
    let p = plan(changes, vec![]);
    let md = markdown::render(&p, &MarkdownOptions::default());
    assert!(
        md.chars().count() <= markdown::GITHUB_LIMIT,
        "{} characters",
        md.chars().count()
    );
    assert!(
        md.starts_with("### 📋 baton plan `local`: 10000 to add"),
        "{}",
        &md[..200]
    );
    let note = md.lines().last().unwrap();
    assert!(
        note.starts_with("_Cut to stay under GitHub's 65536 character limit: details of "),
        "{note}"
    );
    assert!(note.contains("the graph"), "{note}");
    assert!(
        md.contains("rows of the table"),
        "the table itself had to be shortened"
    );
    // The text and JSON renderings are never cut.
    assert_eq!(
        plan_render::json(&p)["changes"].as_array().unwrap().len(),
        10_000
    );
    let tail: String = md
        .chars()
        .skip(md.chars().count().saturating_sub(300))
        .collect();
    insta::assert_snapshot!(tail);
}

/// The shape of plan JSON version 1. Changing the format means changing this list *and*
/// `format_version` (and docs/plan-json.md): the test fails if only one moves.
const SHAPE_V1: &[&str] = &[
    "changes[].action",
    "changes[].address",
    "changes[].after",
    "changes[].after_unknown",
    "changes[].before",
    "changes[].changed_attributes",
    "changes[].depends_on",
    "changes[].forced_by",
    "changes[].kind",
    "changes[].module",
    "changes[].provider",
    "changes[].reason",
    "changes[].uid",
    "changes[].workloads",
    "destroy",
    "drift[].address",
    "drift[].after",
    "drift[].before",
    "drift[].kind",
    "environment",
    "format_version",
    "lineage",
    "serial",
    "summary.create",
    "summary.delete",
    "summary.no_op",
    "summary.replace",
    "summary.update",
];

fn shape(v: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m)
            if prefix.is_empty() || prefix == "summary" || prefix.ends_with("[]") =>
        {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if matches!(x, serde_json::Value::Array(_)) && (k == "changes" || k == "drift") {
                    for item in x.as_array().unwrap() {
                        shape(item, &format!("{k}[]"), out);
                    }
                } else if k == "summary" {
                    shape(x, "summary", out);
                } else {
                    out.insert(p);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn plan_json_shape_is_versioned() {
    let mut seen = std::collections::BTreeSet::new();
    for p in [
        first_apply(),
        update(),
        replace(),
        delete(),
        drift(),
        with_secret(),
    ] {
        let j = plan_render::json(&p);
        assert_eq!(j["format_version"], "1");
        shape(&j, "", &mut seen);
    }
    let expected: std::collections::BTreeSet<String> =
        SHAPE_V1.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        seen, expected,
        "the plan JSON changed shape: bump format_version, update SHAPE_V1 and docs/plan-json.md"
    );
}

#[test]
fn a_rollback_and_a_history_diff_render_what_returns_and_what_cannot() {
    use crate::plan::rollback::{Noted, Rollback};
    use crate::state::deployment::{DeploymentDiff, FileChange, SettingChange};
    let configuration = DeploymentDiff {
        from: 5,
        to: 2,
        score: vec![FileChange {
            name: "web.score.yaml".into(),
            change: "changed",
            diff: "--- web.score.yaml (serial 5)\n+++ web.score.yaml (serial 2)\n@@ -1,2 +1,4 @@\n resources:\n+  db:\n+    type: postgres\n".into(),
        }],
        modules: vec![],
        settings: vec![SettingChange {
            name: "providers.postgres.url".into(),
            before: Some(serde_json::json!("postgres://u:(sensitive)@h/db")),
            after: None,
        }],
    };
    let noted = |address: &str, kind: &str, action| Noted {
        address: address.into(),
        kind: kind.into(),
        action,
    };
    let rollback = Rollback {
        serial: 2,
        at: "2026-12-06T01:00:00Z".into(),
        who: "dev@host".into(),
        configuration: configuration.clone(),
        settings_kept: vec!["providers.postgres.url".into()],
        recreated_empty: vec![noted(
            "postgres.default#web.db/postgres_database.db",
            "postgres_database",
            "create",
        )],
        data_lost: vec![],
        created_since: vec![noted(
            "redis.default#web.cache/redis_acl_user.user",
            "redis_acl_user",
            "delete",
        )],
    };
    let plan = plan(vec![], vec![]);
    let mut out = String::new();
    for format in [
        super::Format::Text,
        super::Format::Markdown,
        super::Format::Json,
    ] {
        out.push_str(&format!("==== plan {format:?}\n"));
        out.push_str(&plan_render::formatted(
            &plan,
            format,
            false,
            Color::Never,
            Some(&rollback),
        ));
        out.push_str(&format!("==== history diff {format:?}\n"));
        out.push_str(&super::history::diff(&configuration, format));
    }
    assert!(out.contains("made again EMPTY"), "{out}");
    insta::assert_snapshot!(out);
}
