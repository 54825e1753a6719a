//! Tests of the renderers: snapshots of a workload that uses every feature, secrecy,
//! determinism, unknown propagation, and the YAML emitter's round trip.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::json;

use super::*;
use crate::value::Value;

const DB_PASSWORD: &str = "s3cr3t-pw";
const API_TOKEN: &str = "tok-9f8e7d-SECRET";

fn container(spec: serde_json::Value) -> ResolvedContainer {
    ResolvedContainer {
        spec: serde_json::from_value(spec).expect("container spec"),
        variables: crate::value::Map::new(),
        files: BTreeMap::new(),
        volumes: BTreeMap::new(),
    }
}

fn text_file(content: Value, mode: Option<&str>) -> ResolvedFile {
    ResolvedFile {
        content: FileContent::Text(content),
        mode: mode.map(str::to_string),
    }
}

/// Three containers: `migrate` runs to completion and `proxy` must be healthy before
/// `main` starts; `main` has variables (one secret), a text, a binary and a secret file, a
/// host-path and a named volume, probes and resources; two service ports.
fn web() -> ResolvedWorkload {
    let mut migrate = container(json!({
        "image": "ghcr.io/acme/migrate:1.2",
        "command": ["/bin/migrate"],
        "args": ["up"],
        "before": { "main": { "ready": "complete" } },
        "readinessProbe": { "exec": { "command": ["true"] } },
    }));
    migrate.variables.insert(
        "DATABASE_URL".into(),
        Value::sensitive(Value::string(format!(
            "postgres://app:{DB_PASSWORD}@db:5432/app"
        ))),
    );

    let proxy = container(json!({
        "image": "envoyproxy/envoy:v1.31",
        "before": { "main": { "ready": "healthy" } },
        "readinessProbe": { "httpGet": {
            "scheme": "HTTPS", "host": "127.0.0.1", "path": "/ready", "port": 9901,
            "httpHeaders": [{ "name": "X-Probe", "value": "it's me" }],
        } },
    }));

    let mut main = container(json!({
        "image": "ghcr.io/acme/web:2.0",
        "command": ["/app/server"],
        "args": ["--port", "8080", "--home", "$HOME"],
        "livenessProbe": { "httpGet": { "path": "/healthz", "port": 8080 } },
        "readinessProbe": { "exec": { "command": ["/app/ready", "--quick"] } },
        "resources": {
            "limits": { "cpu": "500m", "memory": "256Mi" },
            "requests": { "cpu": "250m", "memory": "128Mi" },
        },
    }));
    main.variables
        .insert("GREETING".into(), Value::string("hello, world"));
    main.variables.insert("PORT".into(), Value::string("8080"));
    main.variables.insert(
        "API_TOKEN".into(),
        Value::sensitive(Value::string(API_TOKEN)),
    );
    main.files.insert(
        "/etc/app/config.yaml".into(),
        text_file(
            Value::string("listen: 8080\nlog:\n  level: info\n"),
            Some("0644"),
        ),
    );
    main.files.insert(
        "/etc/app/logo.png".into(),
        ResolvedFile {
            content: FileContent::Binary(vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255]),
            mode: None,
        },
    );
    main.files.insert(
        "/etc/app/credentials".into(),
        text_file(
            Value::sensitive(Value::string(format!("user=app\npassword={DB_PASSWORD}\n"))),
            Some("0400"),
        ),
    );
    main.volumes.insert(
        "/data".into(),
        ResolvedVolume {
            source: Value::string("/srv/web/data"),
            path: None,
            read_only: false,
        },
    );
    main.volumes.insert(
        "/cache".into(),
        ResolvedVolume {
            source: Value::string("web-cache"),
            path: Some("v1".into()),
            read_only: true,
        },
    );

    ResolvedWorkload {
        name: "web".into(),
        annotations: BTreeMap::from([("example.com/team".into(), "payments".into())]),
        containers: BTreeMap::from([
            ("migrate".into(), migrate),
            ("proxy".into(), proxy),
            ("main".into(), main),
        ]),
        service_ports: BTreeMap::from([
            (
                "http".into(),
                serde_json::from_value(json!({ "port": 80, "targetPort": 8080 })).unwrap(),
            ),
            (
                "metrics".into(),
                serde_json::from_value(json!({ "port": 9090, "protocol": "UDP" })).unwrap(),
            ),
        ]),
    }
}

/// A second, minimal workload for the Compose project.
fn worker() -> ResolvedWorkload {
    let mut c = container(json!({ "image": "ghcr.io/acme/worker:2.0" }));
    c.variables.insert("QUEUE".into(), Value::string("jobs"));
    ResolvedWorkload {
        name: "worker".into(),
        annotations: BTreeMap::new(),
        containers: BTreeMap::from([("main".into(), c)]),
        service_ports: BTreeMap::new(),
    }
}

fn find<'a>(ms: &'a [Manifest], path: &str) -> &'a Manifest {
    ms.iter()
        .find(|m| m.path == path)
        .unwrap_or_else(|| panic!("no manifest {path}"))
}

fn text(m: &Manifest) -> &str {
    m.content
        .as_str()
        .unwrap_or_else(|| panic!("{} is not text: {}", m.path, m.content))
}

/// One line per manifest: path, mode, encoding and marks (content redacted).
fn listing(ms: &[Manifest]) -> String {
    ms.iter()
        .map(|m| {
            let marks = if m.content.is_unknown() {
                "unknown"
            } else if m.content.is_sensitive() {
                "sensitive"
            } else {
                "plain"
            };
            format!(
                "{} mode={:?} {:?} {marks}\n",
                m.path,
                m.mode.map(|m| format!("{m:o}")),
                m.encoding
            )
        })
        .collect()
}

fn secrets() -> Vec<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let file = format!("user=app\npassword={DB_PASSWORD}\n");
    let url = format!("postgres://app:{DB_PASSWORD}@db:5432/app");
    vec![
        DB_PASSWORD.into(),
        API_TOKEN.into(),
        b64(API_TOKEN),
        b64(&file),
        b64(&url),
    ]
}

#[test]
fn kubernetes_snapshot() {
    let ms = kubernetes(
        &web(),
        &KubernetesOptions {
            namespace: Some("shop".into()),
        },
    );
    insta::assert_snapshot!("kubernetes_listing", listing(&ms));
    insta::assert_snapshot!("kubernetes_web_yaml", text(find(&ms, "web.yaml")));
    insta::assert_snapshot!(
        "kubernetes_web_secrets_yaml",
        text(find(&ms, "web.secrets.yaml"))
    );
}

#[test]
fn compose_snapshot() {
    let ms = compose(
        &[web(), worker()],
        &ComposeOptions {
            project: Some("shop".into()),
        },
    );
    insta::assert_snapshot!("compose_listing", listing(&ms));
    insta::assert_snapshot!("compose_yaml", text(find(&ms, "compose.yaml")));
    insta::assert_snapshot!("compose_main_env", text(find(&ms, "secrets/web-main.env")));
    assert_eq!(
        text(find(&ms, "mounts/web/main/etc/app/config.yaml")),
        "listen: 8080\nlog:\n  level: info\n"
    );
    let logo = find(&ms, "mounts/web/main/etc/app/logo.png");
    assert_eq!(logo.encoding, Encoding::Base64);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(text(logo))
            .unwrap(),
        vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255]
    );
}

#[test]
fn secrets_only_in_sensitive_manifests() {
    let mut all = kubernetes(&web(), &KubernetesOptions::default());
    all.extend(compose(&[web(), worker()], &ComposeOptions::default()));
    let mut sensitive = 0;
    for m in &all {
        if m.content.is_sensitive() {
            sensitive += 1;
            assert_eq!(m.mode, Some(SENSITIVE_MODE), "{}", m.path);
            continue;
        }
        let body = text(m);
        for secret in secrets() {
            assert!(!body.contains(&secret), "{} leaks {secret}", m.path);
        }
    }
    // web.secrets.yaml, two env files, the credentials mount.
    assert_eq!(sensitive, 4, "{}", listing(&all));
    // The secrets did reach their own manifests.
    let k = kubernetes(&web(), &KubernetesOptions::default());
    assert!(text(find(&k, "web.secrets.yaml")).contains(&secrets()[2]));
    let c = compose(&[web()], &ComposeOptions::default());
    assert!(text(find(&c, "secrets/web-main.env")).contains(API_TOKEN));
    assert!(text(find(&c, "mounts/web/main/etc/app/credentials")).contains(DB_PASSWORD));
}

#[test]
fn rendering_is_deterministic() {
    let opts = KubernetesOptions::default();
    assert_eq!(kubernetes(&web(), &opts), kubernetes(&web(), &opts));
    let a = compose(&[web(), worker()], &ComposeOptions::default());
    assert_eq!(a, compose(&[web(), worker()], &ComposeOptions::default()));
    // Input order of workloads does not matter either.
    assert_eq!(a, compose(&[worker(), web()], &ComposeOptions::default()));
}

#[test]
fn unknown_inputs_make_their_manifest_unknown() {
    // A plain unknown variable: the main manifest is unknown, the Secret is not.
    let mut w = web();
    w.containers
        .get_mut("main")
        .unwrap()
        .variables
        .insert("LATER".into(), Value::Unknown);
    let k = kubernetes(&w, &KubernetesOptions::default());
    assert!(find(&k, "web.yaml").content.is_unknown());
    assert!(find(&k, "web.secrets.yaml").content.is_sensitive());
    let c = compose(&[w], &ComposeOptions::default());
    assert!(find(&c, "compose.yaml").content.is_unknown());
    assert!(!find(&c, "secrets/web-main.env").content.is_unknown());

    // An unknown secret: only the secret-holding manifests are unknown.
    let mut w = web();
    w.containers
        .get_mut("main")
        .unwrap()
        .variables
        .insert("API_TOKEN".into(), Value::sensitive(Value::Unknown));
    let k = kubernetes(&w, &KubernetesOptions::default());
    assert!(find(&k, "web.secrets.yaml").content.is_unknown());
    assert!(!find(&k, "web.yaml").content.is_unknown());
    let c = compose(&[w], &ComposeOptions::default());
    assert!(find(&c, "secrets/web-main.env").content.is_unknown());
    assert!(!find(&c, "compose.yaml").content.is_unknown());

    // An unknown volume source: the whole workload manifest and compose.yaml.
    let mut w = web();
    w.containers
        .get_mut("main")
        .unwrap()
        .volumes
        .get_mut("/data")
        .unwrap()
        .source = Value::Unknown;
    assert!(
        find(&kubernetes(&w, &KubernetesOptions::default()), "web.yaml")
            .content
            .is_unknown()
    );
    assert!(
        find(&compose(&[w], &ComposeOptions::default()), "compose.yaml")
            .content
            .is_unknown()
    );

    // An unknown file: in Compose only that file.
    let mut w = web();
    w.containers
        .get_mut("main")
        .unwrap()
        .files
        .get_mut("/etc/app/config.yaml")
        .unwrap()
        .content = FileContent::Text(Value::Unknown);
    let c = compose(&[w], &ComposeOptions::default());
    assert!(
        find(&c, "mounts/web/main/etc/app/config.yaml")
            .content
            .is_unknown()
    );
    assert!(!find(&c, "compose.yaml").content.is_unknown());
}

#[test]
fn before_becomes_init_and_sidecar_containers() {
    let k = kubernetes(&web(), &KubernetesOptions::default());
    let doc = text(find(&k, "web.yaml"));
    let docs: Vec<_> = yaml_rust2::YamlLoader::load_from_str(doc).unwrap();
    let deployment = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Deployment"))
        .unwrap();
    let spec = &deployment["spec"]["template"]["spec"];
    let init = spec["initContainers"].as_vec().unwrap();
    let names: Vec<_> = init.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["migrate", "proxy"]);
    // Run-to-completion init containers may not have probes.
    assert!(init[0]["readinessProbe"].is_badvalue());
    assert!(init[0]["restartPolicy"].is_badvalue());
    assert_eq!(init[1]["restartPolicy"].as_str(), Some("Always"));
    assert_eq!(
        init[1]["startupProbe"]["httpGet"]["port"].as_i64(),
        Some(9901)
    );
    let main = spec["containers"].as_vec().unwrap();
    assert_eq!(main.len(), 1);
    assert_eq!(main[0]["name"].as_str(), Some("main"));
}

#[test]
fn mount_paths_stay_inside_the_output() {
    let mut w = worker();
    w.containers.get_mut("main").unwrap().files.insert(
        "/../../etc/./passwd".into(),
        text_file(Value::string("x"), None),
    );
    let c = compose(&[w], &ComposeOptions::default());
    assert!(
        c.iter().any(|m| m.path == "mounts/worker/main/etc/passwd"),
        "{}",
        listing(&c)
    );
}

#[test]
fn yaml_round_trips_awkward_strings() {
    let awkward = [
        "",
        " ",
        "true",
        "no",
        "Y",
        "null",
        "~",
        "0755",
        "1e3",
        "0x1F",
        "1_000",
        "12:30",
        "2024-01-02",
        "-",
        "- x",
        "a: b",
        "a:b",
        "#x",
        "a #b",
        "x:",
        "'q'",
        "\"q\"",
        "{a}",
        "[a]",
        "*a",
        "&a",
        "!a",
        "%a",
        "@a",
        "`a`",
        "nginx:1.25",
        "héllo wörld",
        "tab\there",
        "cr\r\nlf",
        "multi\nline\n",
        "multi\nline",
        "two\n\n",
        "  indented\nsecond\n",
        "\nleading newline",
        "\n  leading newline then spaces",
        "trailing space \nx",
        "x\n\n\ny\n",
        "bell\u{7}",
        "\u{feff}bom",
        ".inf",
        "-.inf",
        ".NaN",
        ".5",
        "+1",
        "-1",
        "-0x1F",
        "+.5",
        "$HOME",
        "a\u{2028}b",
        "--port",
        "---",
        "-- x",
        "...",
        "./mounts/a",
        "it's",
        "a, b",
        "a,b",
        "-",
        "-x:",
        "-:",
    ];
    let doc = json!({
        "map": awkward.iter().enumerate().map(|(i, s)| (format!("k{i}"), json!(s))).collect::<serde_json::Map<_, _>>(),
        "list": awkward.as_slice(),
        "keys": awkward.iter().map(|s| (s.to_string(), json!(1))).collect::<serde_json::Map<_, _>>(),
        "nested": [[1, [2, "x"]], { "a": [] , "b": {} }, [], {}],
    });
    let text = yaml::document(&doc);
    let parsed =
        yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed.len(), 1);
    assert_eq!(to_json(&parsed[0]), doc, "{text}");
}

/// yaml-rust2's tree as JSON, for comparing a round trip.
fn to_json(y: &yaml_rust2::Yaml) -> serde_json::Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::String(s) => json!(s),
        Yaml::Integer(i) => json!(i),
        Yaml::Real(r) => json!(r.parse::<f64>().unwrap()),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => serde_json::Value::Object(
            h.iter()
                .map(|(k, v)| {
                    (
                        k.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("{k:?}")),
                        to_json(v),
                    )
                })
                .collect(),
        ),
        other => panic!("unexpected {other:?}"),
    }
}
