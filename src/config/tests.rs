//! Unit tests of `baton.hcl` loading: environments, `extends` chains, settings and the
//! located errors for keys and values baton does not know.

use super::*;

fn load_in(hcl: &str, name: &str) -> (Option<Environment>, Vec<Diagnostic>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("baton.hcl"), hcl).unwrap();
    let mut sources = Sources::new();
    let mut out = Vec::new();
    let env = load(dir.path(), name, &mut sources, &mut out);
    (env, out)
}

fn env(hcl: &str, name: &str) -> Environment {
    let (env, out) = load_in(hcl, name);
    assert!(out.is_empty(), "{out:#?}");
    env.unwrap()
}

fn codes(hcl: &str, name: &str) -> Vec<&'static str> {
    let (env, out) = load_in(hcl, name);
    assert!(env.is_none());
    out.iter().map(|d| d.code).collect()
}

const CHAIN: &str = r#"
environment "local" {
  provider "aws" {
    region   = "eu-west-1"
    endpoint = "http://127.0.0.1:5000"
  }
  settings {
    name_prefix = "loc"
    tier        = "dev"
  }
  environment_variables = ["API_URL"]
}

environment "staging" {
  extends = "local"
  provider "aws" {
    region = "eu-central-1"
  }
  settings {
    name_prefix = "stg"
  }
}

environment "preview" {
  extends = "staging"
  state {
    postgres { url = "postgres://u@db/baton" }
  }
  target "compose" {}
}

environment "review" {
  extends = "preview"
}
"#;

#[test]
fn a_child_inherits_what_it_does_not_set_and_merges_providers_and_settings_by_key() {
    let e = env(CHAIN, "preview");
    assert_eq!(e.parents, ["staging", "local"]);
    assert_eq!(
        e.lineage().collect::<Vec<_>>(),
        ["preview", "staging", "local"]
    );
    let aws = &e.providers["aws"];
    assert_eq!(
        aws["region"],
        Value::string("eu-central-1"),
        "the child's key"
    );
    assert_eq!(
        aws["endpoint"],
        Value::string("http://127.0.0.1:5000"),
        "the parent's key"
    );
    assert_eq!(e.settings["name_prefix"], Value::string("stg"));
    assert_eq!(e.settings["tier"], Value::string("dev"));
    assert_eq!(e.variables, ["API_URL"]);
    assert_eq!(
        e.state,
        StateBackend::Postgres("postgres://u@db/baton".into())
    );
    assert_eq!(
        e.target,
        Target::Compose {
            dir: "deploy/preview".into()
        }
    );
    // A PostgreSQL state is keyed by environment: review shares preview's URL safely,
    // and the folder of an inherited target without `dir` is its own.
    let r = env(CHAIN, "review");
    assert_eq!(r.state, e.state);
    assert_eq!(
        r.target,
        Target::Compose {
            dir: "deploy/review".into()
        }
    );
    // Without a state block anywhere, each environment has its own file.
    assert_eq!(
        env(CHAIN, "staging").state,
        StateBackend::Sqlite(".baton/staging.db".into())
    );
    assert_eq!(
        env(CHAIN, "local").state,
        StateBackend::Sqlite(".baton/state.db".into())
    );
    assert_eq!(
        env(CHAIN, "local").module_value(),
        Value::Map(crate::value::Map::from([
            ("name".to_string(), Value::string("local")),
            (
                "settings".to_string(),
                Value::Map(crate::value::Map::from([
                    ("name_prefix".to_string(), Value::string("loc")),
                    ("tier".to_string(), Value::string("dev")),
                ]))
            ),
        ]))
    );
}

#[test]
fn environment_name_in_a_parent_is_the_name_of_the_environment_used() {
    let hcl = r#"
environment "base" {
  state {
    sqlite { path = ".baton/${environment.name}.db" }
  }
  target "kubernetes" {
    dir       = "out/${environment.name}"
    namespace = "shop-${environment.name}"
  }
}
environment "qa" { extends = "base" }
environment "uat" { extends = "base" }
"#;
    for name in ["qa", "uat"] {
        let e = env(hcl, name);
        assert_eq!(
            e.state,
            StateBackend::Sqlite(format!(".baton/{name}.db").into())
        );
        assert_eq!(
            e.target,
            Target::Kubernetes {
                dir: format!("out/{name}"),
                namespace: Some(format!("shop-{name}"))
            }
        );
    }
}

#[test]
fn the_builtin_local_exists_beside_declared_environments_and_can_be_extended() {
    let hcl = "environment \"staging\" {\n  extends = \"local\"\n}\n";
    assert_eq!(env(hcl, "local").name, "local");
    let s = env(hcl, "staging");
    assert_eq!(s.parents, ["local"]);
    assert_eq!(
        s.target,
        Target::Kubernetes {
            dir: "deploy/staging".into(),
            namespace: None
        }
    );
    assert_eq!(codes(hcl, "stagin"), ["config/no-environment"]);
}

#[test]
fn two_environments_on_one_state_file_or_manifest_folder_are_refused() {
    let shared = r#"
environment "local" {}
environment "qa" {
  state {
    sqlite { path = ".baton/state.db" }
  }
  target "kubernetes" { dir = "./deploy/local" }
}
"#;
    assert_eq!(
        codes(shared, "qa"),
        ["config/shared-state", "config/shared-target"]
    );
    // Also when the other environment is the one used.
    assert_eq!(
        codes(shared, "local"),
        ["config/shared-state", "config/shared-target"]
    );
    // An environment that cannot be evaluated here (a variable unset) is not compared.
    let unset = "environment \"qa\" {\n  state {\n    postgres { url = env(\"BATON_T_UNSET_URL\") }\n  }\n}\n";
    assert_eq!(env(unset, "local").name, "local");
    assert_eq!(codes(unset, "qa"), ["config/env"]);
}

#[test]
fn the_shape_of_every_environment_is_checked_even_unused_ones() {
    let hcl = r#"
environment "local" {}
environment "prod" {
  provider "aws" {
    regoin = "eu-west-1"
  }
}
"#;
    let (env, out) = load_in(hcl, "local");
    assert!(env.is_none());
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].help.as_deref(), Some("did you mean `region`?"));
    assert_eq!(
        codes("environment \"a b\" {}\n", "local"),
        ["config/environment-name"]
    );
    assert_eq!(
        codes("environment \"x\" {\n  extends = local\n}\n", "x"),
        ["config/extends"]
    );
    assert_eq!(
        codes(
            "environment \"x\" {\n  state {\n    sqlite {}\n    postgres { url = \"u\" }\n  }\n}\n",
            "x"
        ),
        ["config/state-backends"]
    );
    assert_eq!(
        codes(
            "environment \"x\" {\n  provider \"random\" { length = 3 }\n}\n",
            "x"
        ),
        ["hcl/unknown-attribute"]
    );
    assert_eq!(
        codes(
            "environment \"x\" {\n  provider \"redis\" {}\n  provider \"redis\" {}\n}\n",
            "x"
        ),
        ["config/duplicate"]
    );
}

#[test]
fn the_serve_block_sets_the_token_file_and_drift_interval_and_its_mistakes_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let read = |hcl: &str| {
        std::fs::write(dir.path().join("baton.hcl"), hcl).unwrap();
        let (mut sources, mut out) = (Sources::new(), Vec::new());
        let config = serve(dir.path(), &mut sources, &mut out);
        let located: Vec<_> = out.iter().map(|d| (d.code, d.span.is_some())).collect();
        (config, located)
    };
    let (config, out) = read(
        "serve {\n  tokens = \"/etc/baton/tokens\"\n  drift_interval = \"10m\"\n}\nenvironment \"staging\" {}\n",
    );
    assert!(out.is_empty(), "{out:?}");
    let config = config.unwrap();
    assert_eq!(config.tokens, Some(PathBuf::from("/etc/baton/tokens")));
    assert_eq!(
        config.drift_interval,
        Some(std::time::Duration::from_secs(600))
    );
    let (config, out) = read("serve {\n  tokenz = \"x\"\n  drift_interval = \"soon\"\n}\n");
    assert!(config.is_none());
    assert_eq!(
        out,
        [("hcl/unknown-attribute", true), ("config/serve", true)]
    );
    // The same mistakes fail every run that loads the file, not only `serve`.
    let (env, out) = load_in("serve {\n  tokenz = \"x\"\n}\n", "local");
    assert!(env.is_none());
    assert_eq!(
        out.iter().map(|d| d.code).collect::<Vec<_>>(),
        ["hcl/unknown-attribute"]
    );
    let mut sources = Sources::new();
    let names = environment_names(dir.path(), &mut sources, &mut Vec::new());
    assert_eq!(
        names, None,
        "the broken file of the last case names no environment"
    );
}
