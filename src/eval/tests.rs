//! Evaluation on plain values: placeholders read as they were parsed at load, and the
//! typed reasons a placeholder has no value.

use super::*;
use crate::diag::{Diagnostics, Sources};
use crate::schema::{KindSchema, Proof};
use crate::score::LoadOptions;
use crate::score::placeholder::PARSED;

/// No kinds: the workloads here request no module.
struct NoKinds;

impl Kinds for NoKinds {
    fn schema(&self, _: &str) -> Option<&KindSchema> {
        None
    }
    fn kind_names(&self) -> Vec<&'static str> {
        Vec::new()
    }
    fn proof(&self, _: &str) -> Option<Proof> {
        None
    }
    fn check(&self, _: &str, _: &Attrs) -> Result<(), String> {
        Ok(())
    }
}

fn load(text: &str) -> (Project, Sources) {
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let project = crate::score::load_texts(
        &[("score.yaml", text)],
        &LoadOptions::default(),
        &mut sources,
        &mut diags,
    );
    assert!(!diags.has_errors(), "{diags:?}");
    (project, sources)
}

/// Runs `f` with a context over `project` (which requests no resource).
fn with_context<T>(project: &Project, sources: &Sources, f: impl FnOnce(&Context) -> T) -> T {
    let spans = BTreeMap::new();
    let graph = Graph::build(project, &[], BTreeMap::new(), &spans).unwrap();
    let env = Environment::builtin_local(std::path::Path::new("/nonexistent"));
    let file_sources = BTreeMap::new();
    let ctx = Context {
        project,
        modules: &[],
        graph: &graph,
        env: &env,
        registry: &NoKinds,
        env_vars: Value::Map(crate::value::Map::new()),
        provider_vars: Value::Map(crate::value::Map::new()),
        environment_vars: Value::Map(crate::value::Map::new()),
        module_roots: Vec::new(),
        file_sources: &file_sources,
        spans: &spans,
        sources,
        workloads: std::sync::OnceLock::new(),
        uids: FxHashMap::default(),
        lineage: "lineage".into(),
    };
    f(&ctx)
}

const WEB: &str = r#"apiVersion: score.dev/v1b1
metadata:
  name: web
  team: blue
containers:
  main:
    image: nginx
    variables:
      GREETING: "hello ${metadata.name} of ${metadata.team}, $$5"
      PLAIN: plain
    files:
      /etc/motd:
        content: "team ${metadata.team}"
"#;

#[test]
fn evaluation_reads_the_placeholders_parsed_at_load() {
    PARSED.with(|n| n.set(0));
    let (project, sources) = load(WEB);
    assert!(
        PARSED.with(|n| n.get()) > 0,
        "loading parses the strings with placeholders"
    );
    let parsed = &project.workloads[0].templates.containers[0];
    assert!(matches!(&parsed.variables[0], Template::Parts(p) if p.len() == 5));
    assert_eq!(parsed.variables[1], Template::Plain);
    assert!(matches!(&parsed.files[0], Some(Template::Parts(_))));

    PARSED.with(|n| n.set(0));
    let attrs = with_context(&project, &sources, |ctx| {
        ctx.eval_workload("web", &Values::default()).unwrap()
    });
    assert_eq!(
        PARSED.with(|n| n.get()),
        0,
        "evaluation parsed a placeholder again"
    );
    let text = format!("{attrs:?}");
    assert!(text.contains("hello web of blue, $5"), "{text}");
    assert!(text.contains("team blue"), "{text}");
}

const DB: &str = r#"apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: api
    variables:
      DB: "${resources.db.prot}"
resources:
  db:
    type: postgres
"#;

#[test]
fn a_placeholder_without_a_value_says_why_in_a_typed_error() {
    let (project, _sources) = load(DB);
    let (empty, empty_sources) = load(WEB);
    let lw = &project.workloads[0];
    let uid = lw.uid("db").unwrap().clone();
    let db = |output: &[&str]| Ref::Resource {
        name: "db".into(),
        output: output.iter().map(|s| s.to_string()).collect(),
    };
    with_context(&empty, &empty_sources, |ctx| {
        let none = Values::default();
        let e = ctx.resolve_ref(lw, &db(&["host"]), &none, "").unwrap_err();
        assert_eq!(e, RefError::NoOutputsYet { name: "db".into() });
        assert_eq!(e.to_string(), "resource `db` has no outputs yet");

        let mut values = Values::default();
        values.outputs.insert(
            uid.clone(),
            crate::value::Map::from([
                ("host".to_string(), Value::string("localhost")),
                ("port".to_string(), Value::int(5432)),
            ]),
        );
        let e = ctx
            .resolve_ref(lw, &db(&["prot"]), &values, "")
            .unwrap_err();
        assert_eq!(
            e,
            RefError::UnknownOutput {
                key: "prot".into(),
                name: "db".into(),
                kind: "postgres".into(),
                known: vec!["host".into(), "port".into()],
                suggestion: Some("port".into()),
            }
        );
        assert_eq!(
            e.to_string(),
            "key 'prot' not found (resource `db` of type `postgres` has outputs: host, port); did you mean `port`?"
        );
        let e = ctx
            .resolve_ref(lw, &db(&["port", "x"]), &values, "")
            .unwrap_err();
        assert_eq!(e.to_string(), "cannot lookup key 'x', context is not a map");
        let e = ctx
            .resolve_ref(lw, &Ref::Metadata(vec!["nope".into()]), &values, "")
            .unwrap_err();
        assert_eq!(
            e,
            RefError::Metadata(placeholder::LookupError::NotFound("nope".into()))
        );

        // Through the parsed variable, the message names the placeholder.
        let t = &lw.templates.containers[0].variables[0];
        let u = ctx
            .substitute(lw, "${resources.db.prot}", t, &values, "")
            .unwrap_err();
        assert_eq!(u.placeholder(), "${resources.db.prot}");
        assert_eq!(
            u.to_string(),
            "invalid ref 'resources.db.prot': key 'prot' not found (resource `db` of type `postgres` has outputs: host, port); did you mean `port`?"
        );
    });
}

#[test]
fn a_missing_environment_variable_says_which_rule_it_breaks() {
    let mut env = Environment::builtin_local(std::path::Path::new("/nonexistent"));
    env.variables = vec!["LISTED".into()];
    assert_eq!(
        VariableMissing::of(&env, "BATON_KEY"),
        VariableMissing::BatonOwn("BATON_KEY".into())
    );
    assert_eq!(
        VariableMissing::of(&env, "LISTED").to_string(),
        "the environment variable LISTED is not set (export it before running baton)"
    );
    assert_eq!(
        VariableMissing::of(&env, "OTHER").to_string(),
        "the environment variable OTHER is not listed in `environment_variables` of environment `local`: add it there (`environment \"local\" { environment_variables = [\"OTHER\"] }` in baton.hcl)"
    );
}
