//! `baton serve` through the real binary over HTTP: every route × every role (401
//! without a valid token, 403 below the route's role, 2xx at it); bad bodies (too big,
//! not JSON, unknown fields, bad names, invalid Score YAML) answered with a located 4xx
//! and nothing changed; a generated password of a real PostgreSQL and Redis resource in
//! no answer to any role, nor a password of `baton.hcl` (deployments and diffs
//! included); plan → apply → history on a copy of `examples/shop`; a plan `at` an
//! earlier serial through the API restoring its configuration on the shop (a removed
//! queue back, a changed param returned, the diff and the deployment on the way); two
//! nodes on one PostgreSQL state sharing 50 runs, each executed exactly once; `kill -9`
//! of a node mid-run reported as abandoned by the other, and the next apply converging;
//! SIGTERM mid-run: the listener closed, the run finished, the queued run kept for the
//! next node, exit status 0 (and Ctrl-C of an idle node); the workloads of the Score
//! files listed before the first apply.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::servers::rabbit;
use crate::support::{PgDb, Sandbox, redis, wait_for};

/// A running `baton serve` (killed when dropped).
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(sb: &Sandbox, env: &[(&str, String)]) -> Server {
        let mut c = sb.command(&["serve", "--listen", "127.0.0.1:0"]);
        for (k, v) in env {
            c.env(k, v);
        }
        let mut child = c
            .env_remove("BATON_STATE_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start baton serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Server { child, url }
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        call(&format!("{}{path}", self.url), method, token, body)
    }

    fn json(&self, method: &str, path: &str, token: &str, body: Option<&str>) -> Value {
        let (status, text) = self.call(method, path, Some(token), body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    }

    /// Waits until run `id` finished and returns it.
    fn finished(&self, id: &str, token: &str) -> Value {
        let mut run = Value::Null;
        wait_for(
            &format!("run {id} to finish"),
            Duration::from_secs(120),
            || {
                run = self.json("GET", &format!("/api/v1/runs/{id}"), token, None);
                !matches!(run["status"].as_str(), Some("queued" | "running"))
            },
        );
        run
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn call(url: &str, method: &str, token: Option<&str>, body: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(280)))
        .build()
        .into();
    let auth = token.map(|t| format!("Bearer {t}"));
    let r = match method {
        "GET" => {
            let mut rq = agent.get(url);
            if let Some(a) = &auth {
                rq = rq.header("Authorization", a);
            }
            rq.call()
        }
        _ => {
            let mut rq = agent.post(url).header("Content-Type", "application/json");
            if let Some(a) = &auth {
                rq = rq.header("Authorization", a);
            }
            match body {
                Some(b) => rq.send(b.as_bytes()),
                None => rq.send_empty(),
            }
        }
    };
    let mut r = r.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

/// A token with `role` for the project of `sb`.
fn token(sb: &Sandbox, name: &str, role: &str) -> String {
    let out = sb.run(&["token", "add", name, "--role", role]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    out.stdout
        .split_whitespace()
        .find(|w| w.starts_with("baton_"))
        .expect("the token is printed")
        .to_string()
}

struct Tokens {
    viewer: String,
    developer: String,
    operator: String,
}

fn tokens(sb: &Sandbox) -> Tokens {
    Tokens {
        viewer: token(sb, "vera", "viewer"),
        developer: token(sb, "dev", "developer"),
        operator: token(sb, "ops", "operator"),
    }
}

/// Puts a lock into the SQLite state of `local` (as a run gone for good would leave).
fn plant_lock(sb: &Sandbox, id: &str) {
    let c = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    c.execute(
        "INSERT INTO locks (scope, lock_id, mode, holder, host, pid, operation, since) VALUES ('env', ?1, 'exclusive', 'gone@elsewhere', 'elsewhere', 1, 'apply', '2026-01-01T00:00:00Z')",
        [id],
    )
    .unwrap();
}

#[test]
fn every_route_answers_401_without_a_token_403_below_its_role_and_2xx_at_it() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    let t = tokens(&sb);
    let server = Server::start(&sb, &[]);
    // A plan to apply, and a lock to release.
    let planned = server.json(
        "POST",
        "/api/v1/environments/local/plans",
        &t.developer,
        Some("{}"),
    );
    let plan_id = planned["id"].as_str().unwrap().to_string();
    let applied = server.json(
        "POST",
        &format!("/api/v1/plans/{plan_id}/apply"),
        &t.operator,
        None,
    );
    assert_eq!(applied["status"], "succeeded", "{applied}");
    let run = server.json(
        "POST",
        "/api/v1/environments/local/drift",
        &t.developer,
        None,
    );
    let run_id = run["id"].as_str().unwrap().to_string();
    let routes: Vec<(&str, String, Option<String>, &str)> = vec![
        ("GET", "/metrics".into(), None, "viewer"),
        ("GET", "/api/v1/environments".into(), None, "viewer"),
        ("GET", "/api/v1/environments/local".into(), None, "viewer"),
        (
            "GET",
            "/api/v1/environments/local/workloads/web".into(),
            None,
            "viewer",
        ),
        (
            "GET",
            "/api/v1/environments/local/objects".into(),
            None,
            "viewer",
        ),
        (
            "GET",
            "/api/v1/environments/local/graph".into(),
            None,
            "viewer",
        ),
        (
            "GET",
            "/api/v1/environments/local/history".into(),
            None,
            "viewer",
        ),
        (
            "GET",
            "/api/v1/environments/local/modules".into(),
            None,
            "viewer",
        ),
        (
            "GET",
            "/api/v1/environments/local/deployments/1".into(),
            None,
            "viewer",
        ),
        (
            "GET",
            "/api/v1/environments/local/history/diff?a=1&b=1".into(),
            None,
            "viewer",
        ),
        ("GET", format!("/api/v1/runs/{run_id}"), None, "viewer"),
        (
            "GET",
            format!("/api/v1/runs/{run_id}/events"),
            None,
            "viewer",
        ),
        (
            "POST",
            "/api/v1/environments/local/plans?wait=false".into(),
            Some("{}".into()),
            "developer",
        ),
        (
            "POST",
            "/api/v1/environments/local/plans?wait=false".into(),
            Some(r#"{"at": 1}"#.into()),
            "developer",
        ),
        (
            "POST",
            "/api/v1/environments/local/drift?wait=false".into(),
            None,
            "developer",
        ),
        (
            "POST",
            format!("/api/v1/plans/{plan_id}/apply?wait=false"),
            None,
            "operator",
        ),
        (
            "POST",
            "/api/v1/environments/local/destroy?wait=false".into(),
            None,
            "operator",
        ),
        (
            "POST",
            "/api/v1/environments/local/unlock".into(),
            Some(r#"{"lock_id": "LOCK"}"#.into()),
            "operator",
        ),
    ];
    let roles = [
        ("viewer", &t.viewer),
        ("developer", &t.developer),
        ("operator", &t.operator),
    ];
    let rank = |r: &str| {
        ["viewer", "developer", "operator"]
            .iter()
            .position(|x| *x == r)
            .unwrap()
    };
    let mut locks = 0;
    for (method, path, body, need) in &routes {
        let body = body.as_deref();
        let (status, text) = server.call(method, path, None, body);
        assert_eq!(status, 401, "{method} {path} without a token: {text}");
        let (status, _) = server.call(method, path, Some("baton_0000"), body);
        assert_eq!(status, 401, "{method} {path} with a made-up token");
        for (role, tok) in &roles {
            if rank(role) < rank(need) {
                let (status, text) = server.call(method, path, Some(tok), body);
                assert_eq!(status, 403, "{method} {path} as {role}: {text}");
                continue;
            }
            // Each allowed unlock releases a lock of its own.
            let body = body.map(|b| {
                if b.contains("LOCK") {
                    locks += 1;
                    plant_lock(&sb, &format!("lock-{locks}"));
                }
                b.replace("LOCK", &format!("lock-{locks}"))
            });
            let (status, text) = server.call(method, path, Some(tok), body.as_deref());
            assert!(
                (200..300).contains(&status),
                "{method} {path} as {role}: {status} {text}"
            );
        }
    }
    // Health needs no token.
    assert_eq!(server.call("GET", "/healthz", None, None).0, 200);
}

#[test]
fn bad_bodies_get_a_located_4xx_and_change_nothing() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    let t = tokens(&sb);
    let server = Server::start(&sb, &[]);
    let before = server.json("GET", "/api/v1/environments/local", &t.viewer, None);
    let plans = "/api/v1/environments/local/plans";
    let dev = Some(t.developer.as_str());
    // Too big.
    let big = format!(r#"{{"files": {{"web.yaml": "{}"}}}}"#, "a".repeat(2 << 20));
    let (status, text) = server.call("POST", plans, dev, Some(&big));
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("over 1048576 bytes"), "{text}");
    // Not JSON: where it breaks.
    let (status, text) = server.call("POST", plans, dev, Some("{\n  \"files\": {,\n}"));
    assert_eq!(status, 400, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["line"].as_u64(), v["column"].as_u64()),
        (Some(2), Some(13)),
        "{text}"
    );
    // Unknown field, bad file name.
    let (status, text) = server.call("POST", plans, dev, Some(r#"{"filez": {}}"#));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("unknown field `filez`"), "{text}");
    let (status, text) = server.call(
        "POST",
        plans,
        dev,
        Some(r#"{"files": {"../etc/passwd.yaml": "x"}}"#),
    );
    assert_eq!(status, 400, "{text}");
    // Invalid Score YAML: located in the posted file, as the CLI locates it.
    let score = "apiVersion: score.dev/v1b1\nmetadata:\n  name: extra\ncontainers:\n  main:\n    image: busybox\n    imagez: x\n";
    let body = serde_json::json!({"files": {"extra.yaml": score}}).to_string();
    let (status, text) = server.call("POST", plans, dev, Some(&body));
    assert_eq!(status, 422, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["file"], "extra.yaml", "{text}");
    assert_eq!(
        (d["start"]["line"].as_u64(), d["start"]["column"].as_u64()),
        (Some(7), Some(5)),
        "{text}"
    );
    // A query or method the route does not take: JSON errors too.
    let (status, text) = server.call("POST", &format!("{plans}?wait=maybe"), dev, Some("{}"));
    assert_eq!(status, 400, "{text}");
    assert!(
        serde_json::from_str::<Value>(&text).unwrap()["error"].is_string(),
        "{text}"
    );
    let (status, text) = server.call("GET", plans, dev, None);
    assert_eq!(status, 405, "{text}");
    assert!(
        serde_json::from_str::<Value>(&text).unwrap()["error"].is_string(),
        "{text}"
    );
    // A rollback plan: `at` not a serial (located), with files, or without a recorded
    // configuration (none yet: nothing was applied).
    let (status, text) = server.call("POST", plans, dev, Some("{\"at\": \"one\"}"));
    assert_eq!(status, 400, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["line"].as_u64(), Some(1), "{text}");
    assert!(text.contains("invalid type"), "{text}");
    let (status, text) = server.call(
        "POST",
        plans,
        dev,
        Some(r#"{"at": 1, "files": {"web.yaml": "x"}}"#),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("it takes no `files`"), "{text}");
    let (status, text) = server.call("POST", plans, dev, Some(r#"{"at": 7}"#));
    assert_eq!(status, 404, "{text}");
    assert!(
        text.contains("no deployment is recorded for serial 7; none is recorded yet"),
        "{text}"
    );
    // The diff's and the deployment's serials: missing, not a number, not recorded.
    let viewer = Some(t.viewer.as_str());
    for (query, named) in [
        ("?b=1", "`a` is missing"),
        ("?a=1", "`b` is missing"),
        ("?a=1&b=two", "`b` is \"two\", not a serial"),
        ("?a=-1&b=1", "`a` is \"-1\", not a serial"),
        ("?a=1&b=1&c=3", "unknown query parameter `c`"),
    ] {
        let path = format!("/api/v1/environments/local/history/diff{query}");
        let (status, text) = server.call("GET", &path, viewer, None);
        assert_eq!(status, 400, "{path}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(
            v["error"].as_str().unwrap().contains(named),
            "{path}: {text}"
        );
    }
    let (status, text) = server.call(
        "GET",
        "/api/v1/environments/local/history/diff?a=1&b=2",
        viewer,
        None,
    );
    assert_eq!(status, 404, "{text}");
    assert!(
        text.contains("no deployment is recorded for serial 1"),
        "{text}"
    );
    let (status, text) = server.call(
        "GET",
        "/api/v1/environments/local/deployments/first",
        viewer,
        None,
    );
    assert_eq!(status, 400, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("`serial` is \"first\""),
        "{text}"
    );
    let (status, text) = server.call(
        "GET",
        "/api/v1/environments/local/deployments/3",
        viewer,
        None,
    );
    assert_eq!(status, 404, "{text}");
    // Unlock without a lock id; nothing queued, nothing written.
    let (status, _) = server.call(
        "POST",
        "/api/v1/environments/local/unlock",
        Some(&t.operator),
        Some("{}"),
    );
    assert_eq!(status, 400);
    let after = server.json("GET", "/api/v1/environments/local", &t.viewer, None);
    assert_eq!(before, after, "the environment changed");
    assert_eq!(
        after["recent_runs"].as_array().map(Vec::len),
        Some(0),
        "{after}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(sb.path().join(".baton/serve"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_workloads_of_the_score_files_are_listed_before_the_first_apply() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    let t = tokens(&sb);
    let server = Server::start(&sb, &[]);
    let listed = |key: &str| {
        let all = server.json("GET", "/api/v1/environments", &t.viewer, None);
        let local = &all["environments"][0];
        assert_eq!(local["name"], "local", "{all}");
        local[key].clone()
    };
    assert_eq!(listed("workloads"), serde_json::json!(["web", "worker"]));
    assert_eq!(listed("not_applied"), serde_json::json!(["web", "worker"]));
    // A workload not applied yet has a page of its own, with nothing in it yet.
    let web = server.json(
        "GET",
        "/api/v1/environments/local/workloads/web",
        &t.viewer,
        None,
    );
    assert_eq!(web["resources"], serde_json::json!([]), "{web}");
    assert!(web["manifests"].is_null(), "{web}");
    let (status, text) = server.call(
        "GET",
        "/api/v1/environments/local/workloads/nobody",
        Some(&t.viewer),
        None,
    );
    assert_eq!(status, 404, "{text}");
    plan_and_apply(&server, &t, "{}");
    assert_eq!(listed("workloads"), serde_json::json!(["web", "worker"]));
    assert_eq!(listed("not_applied"), serde_json::json!([]));
}

/// A copy of `examples/shop` applied through the API by an operator: the plan's id.
fn shop_applied(server: &Server, t: &Tokens) -> String {
    let (planned, _) = plan_and_apply(server, t, "{}");
    planned["id"].as_str().unwrap().to_string()
}

#[test]
fn no_answer_to_any_role_holds_a_generated_password() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/shop");
    // A password of baton.hcl's own (PostgreSQL trusts local connections, so any will
    // do), recorded redacted with every deployment's settings.
    let secret = format!("pgCanary{}", std::process::id());
    let hcl = sb.read("baton.hcl").replacen(
        "  target \"kubernetes\" { dir = \"deploy/local\" }",
        &format!("  target \"kubernetes\" {{ dir = \"deploy/local\" }}\n  provider \"postgres\" {{ url = \"postgres://postgres:{secret}@127.0.0.1:5432/postgres\" }}"),
        1,
    );
    assert!(hcl.contains(&secret));
    sb.write("baton.hcl", &hcl);
    let t = tokens(&sb);
    let server = Server::start(&sb, &[]);
    let plan_id = shop_applied(&server, &t);
    let history = server.json("GET", "/api/v1/environments/local/history", &t.viewer, None);
    let serial = history["applies"][0]["serial"].as_u64().unwrap();
    let out = sb.run(&["output", "--json", "--show-sensitive"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let outputs: Value = serde_json::from_str(&out.stdout).unwrap();
    let mut canaries = vec![secret.clone()];
    for uid in [
        "postgres.default#orders-db",
        "redis.default#fulfilment.cache",
    ] {
        let p = outputs[uid]["password"]
            .as_str()
            .unwrap_or_else(|| panic!("{uid}: {}", out.stdout));
        assert!(p.len() >= 16);
        canaries.push(p.to_string());
    }
    let drift = server.json(
        "POST",
        "/api/v1/environments/local/drift",
        &t.developer,
        None,
    );
    let drift_id = drift["id"].as_str().unwrap();
    let mut paths: Vec<String> = [
        "/metrics",
        "/api/v1/environments",
        "/api/v1/environments/local",
        "/api/v1/environments/local/objects",
        "/api/v1/environments/local/graph",
        "/api/v1/environments/local/history",
        "/api/v1/environments/local/modules",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for w in ["orders", "fulfilment", "storefront"] {
        paths.push(format!("/api/v1/environments/local/workloads/{w}"));
    }
    paths.push(format!("/api/v1/environments/local/deployments/{serial}"));
    paths.push(format!(
        "/api/v1/environments/local/history/diff?a={serial}&b={serial}"
    ));
    // A rollback plan to the apply (nothing to change), with its notes.
    let back = server.json(
        "POST",
        "/api/v1/environments/local/plans",
        &t.developer,
        Some(&format!(r#"{{"at": {serial}}}"#)),
    );
    assert_eq!(
        back["result"]["plan"]["rollback"]["serial"], serial,
        "{back}"
    );
    for id in [plan_id.as_str(), drift_id] {
        paths.push(format!("/api/v1/runs/{id}"));
        paths.push(format!("/api/v1/runs/{id}/events"));
    }
    paths.push(format!("/api/v1/runs/{}", back["id"].as_str().unwrap()));
    let mut answers = vec![drift.to_string(), back.to_string()];
    for tok in [&t.viewer, &t.developer, &t.operator] {
        for p in &paths {
            let (status, text) = server.call("GET", p, Some(tok), None);
            assert_eq!(status, 200, "{p}: {text}");
            answers.push(text);
        }
    }
    for c in &canaries {
        for a in &answers {
            assert!(
                !a.contains(c.as_str()),
                "a generated password is in an answer: {a}"
            );
        }
    }
    // The workload answer does show outputs (redacted), so the search is not vacuous.
    let orders = server.json(
        "GET",
        "/api/v1/environments/local/workloads/orders",
        &t.viewer,
        None,
    );
    assert_eq!(
        orders["outputs"]["amqp.default#orders.events"]["password"], "(sensitive)",
        "{orders}"
    );
    // And the deployment shows the setting that holds the password (redacted).
    let deployment = server.json(
        "GET",
        &format!("/api/v1/environments/local/deployments/{serial}"),
        &t.viewer,
        None,
    );
    assert_eq!(
        deployment["settings"]["providers.postgres.url"],
        "postgres://postgres:(sensitive)@127.0.0.1:5432/postgres",
        "{deployment}"
    );
    let _ = server.json(
        "POST",
        "/api/v1/environments/local/destroy",
        &t.operator,
        None,
    );
}

#[test]
fn a_requested_resource_is_planned_applied_and_in_the_history() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/shop");
    let t = tokens(&sb);
    let server = Server::start(&sb, &[]);
    shop_applied(&server, &t);
    // The self-service request: storefront with a redis added.
    let storefront = sb.read("storefront.score.yaml");
    let asked = storefront.replace("resources:\n", "resources:\n  recent:\n    type: redis\n");
    assert_ne!(asked, storefront, "storefront has a resources section");
    let body = serde_json::json!({"files": {"storefront.score.yaml": asked}}).to_string();
    let planned = server.json(
        "POST",
        "/api/v1/environments/local/plans",
        &t.developer,
        Some(&body),
    );
    assert_eq!(planned["result"]["changes"], true, "{planned}");
    let markdown = planned["result"]["markdown"].as_str().unwrap();
    assert!(
        markdown.contains("redis.default#storefront.recent"),
        "{markdown}"
    );
    let creates: Vec<&str> = planned["result"]["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .filter_map(|c| c["address"].as_str())
        .collect();
    assert!(
        creates
            .iter()
            .all(|a| a.starts_with("redis.default#storefront.recent/")),
        "{creates:?}"
    );
    let id = planned["id"].as_str().unwrap();
    // A developer may not apply; an operator may, once.
    assert_eq!(
        server
            .call(
                "POST",
                &format!("/api/v1/plans/{id}/apply"),
                Some(&t.developer),
                None
            )
            .0,
        403
    );
    let applied = server.json(
        "POST",
        &format!("/api/v1/plans/{id}/apply"),
        &t.operator,
        None,
    );
    assert_eq!(applied["requested_by"], "ops", "{applied}");
    let (status, text) = server.call(
        "POST",
        &format!("/api/v1/plans/{id}/apply"),
        Some(&t.operator),
        None,
    );
    assert_eq!(status, 409, "a plan applied twice is stale: {text}");
    assert!(text.contains("stale"), "{text}");
    let history = server.json("GET", "/api/v1/environments/local/history", &t.viewer, None);
    let applies = history["applies"].as_array().unwrap();
    assert_eq!(applies.len(), 2, "{history}");
    let last = &applies[1];
    assert!(
        last["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["address"]
                .as_str()
                .unwrap()
                .starts_with("redis.default#storefront.recent/")),
        "{last}"
    );
    let env = server.json("GET", "/api/v1/environments/local", &t.viewer, None);
    assert_eq!(env["serial"], last["serial"], "{env}");
    let events = server
        .call(
            "GET",
            &format!("/api/v1/runs/{}/events", applied["id"].as_str().unwrap()),
            Some(&t.viewer),
            None,
        )
        .1;
    assert!(
        events.contains("event: end") && events.contains("apply succeeded"),
        "{events}"
    );
    let _ = server.json(
        "POST",
        "/api/v1/environments/local/destroy",
        &t.operator,
        None,
    );
}

/// The addresses in the state of `local` (`GET …/objects`), sorted.
fn addresses(server: &Server, t: &Tokens) -> Vec<String> {
    let state = server.json("GET", "/api/v1/environments/local/objects", &t.viewer, None);
    let mut all: Vec<String> = state["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["address"].as_str().unwrap().to_string())
        .collect();
    all.sort();
    all
}

/// The plan through the API (a developer's), then its apply (an operator's): both runs.
fn plan_and_apply(server: &Server, t: &Tokens, body: &str) -> (Value, Value) {
    let planned = server.json(
        "POST",
        "/api/v1/environments/local/plans",
        &t.developer,
        Some(body),
    );
    assert_eq!(planned["status"], "succeeded", "{planned}");
    let id = planned["id"].as_str().unwrap();
    let applied = server.json(
        "POST",
        &format!("/api/v1/plans/{id}/apply"),
        &t.operator,
        None,
    );
    assert_eq!(applied["status"], "succeeded", "{applied}");
    (planned, applied)
}

/// The serial of the last apply (`GET …/environments/local`).
fn last_serial(server: &Server, t: &Tokens) -> u64 {
    let env = server.json("GET", "/api/v1/environments/local", &t.viewer, None);
    env["last_apply"]["serial"].as_u64().unwrap()
}

#[test]
fn a_plan_at_an_earlier_serial_through_the_api_restores_its_configuration_on_the_shop() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/shop");
    let t = tokens(&sb);
    let server = Server::start(&sb, &[]);
    shop_applied(&server, &t);
    let first = last_serial(&server, &t);
    let first_objects = addresses(&server, &t);
    let vhost_addr = "amqp.default#fulfilment.queue/rabbitmq_vhost.vhost";
    let acl_addr = "redis.default#storefront.sessions/redis_acl_user.user";
    assert!(
        first_objects.iter().any(|a| a == vhost_addr),
        "{first_objects:?}"
    );
    let vhost = sb.name("amqp.default#fulfilment.queue", "-", 100);
    let sessions = sb.name("redis.default#storefront.sessions", "-", 100);
    assert_eq!(rabbit(&format!("vhosts/{vhost}")).0, 200);

    // The second configuration, applied through the API: fulfilment's queue removed (a
    // RabbitMQ vhost), a param of storefront's sessions set.
    let f = sb.read("fulfilment.score.yaml");
    let f = f
        .lines()
        .filter(|l| {
            !l.contains("resources.queue") && !l.starts_with("  queue:") && *l != "    type: amqp"
        })
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    assert!(!f.contains("amqp"), "{f}");
    sb.write("fulfilment.score.yaml", &f);
    let s = sb.read("storefront.score.yaml").replace(
        "  sessions:\n    type: redis\n",
        "  sessions:\n    type: redis\n    params:\n      key_prefix: \"sess:\"\n",
    );
    assert!(s.contains("key_prefix"));
    sb.write("storefront.score.yaml", &s);
    plan_and_apply(&server, &t, "{}");
    let second = last_serial(&server, &t);
    assert!(second > first);
    assert_eq!(
        rabbit(&format!("vhosts/{vhost}")).0,
        404,
        "the queue is gone"
    );
    assert!(redis(&["ACL", "GETUSER", &sessions]).contains("~sess:*"));

    // What changed between the two applies, structured and as the CLI prints it.
    let diff = server.json(
        "GET",
        &format!("/api/v1/environments/local/history/diff?a={first}&b={second}"),
        &t.viewer,
        None,
    );
    assert_eq!(
        (diff["from"].as_u64(), diff["to"].as_u64()),
        (Some(first), Some(second))
    );
    let score = diff["score"].as_array().unwrap();
    assert_eq!(score.len(), 2, "{diff:#}");
    for (f, name) in score
        .iter()
        .zip(["fulfilment.score.yaml", "storefront.score.yaml"])
    {
        assert_eq!(
            (&f["name"], &f["change"]),
            (&name.into(), &"changed".into())
        );
    }
    let text = diff["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "Configuration changes from serial {first} to serial {second}: 2 Score files, 0 modules, 0 settings."
        )),
        "{text}"
    );
    assert!(
        text.contains("      +      key_prefix: \"sess:\"\n"),
        "{text}"
    );
    assert!(text.contains("      -  queue:\n"), "{text}");
    // The first apply's configuration, with its texts.
    let config = server.json(
        "GET",
        &format!("/api/v1/environments/local/deployments/{first}"),
        &t.viewer,
        None,
    );
    assert_eq!(config["serial"], first);
    let fulfilment = &config["score"]["fulfilment.score.yaml"];
    assert!(
        fulfilment["text"]
            .as_str()
            .unwrap()
            .contains("  queue:\n    type: amqp\n"),
        "{config:#}"
    );
    assert_eq!(
        fulfilment["sha256"].as_str().map(str::len),
        Some(64),
        "{config:#}"
    );
    assert!(
        config["modules"]["redis/local"]["text"].is_string(),
        "{config:#}"
    );

    // The plan back: the queue comes back (empty: a call-out), the param returns.
    let (planned, applied) = plan_and_apply(&server, &t, &format!(r#"{{"at": {first}}}"#));
    assert_eq!(planned["at"], first, "{planned}");
    let plan = &planned["result"]["plan"];
    let action = |address: &str| {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .map(|c| c["action"].as_str().unwrap().to_string())
    };
    assert_eq!(action(vhost_addr).as_deref(), Some("create"), "{plan:#}");
    assert_eq!(action(acl_addr).as_deref(), Some("update"), "{plan:#}");
    let rollback = &plan["rollback"];
    assert_eq!(rollback["serial"], first, "{plan:#}");
    let emptied: Vec<&str> = rollback["recreated_empty"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["address"].as_str())
        .collect();
    assert!(emptied.contains(&vhost_addr), "{rollback:#}");
    let markdown = planned["result"]["markdown"].as_str().unwrap();
    assert!(
        markdown.contains(&format!("### Rollback to serial {first} ")),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!(
            "made again **empty**: `{vhost_addr}` (rabbitmq_vhost, create)"
        )),
        "{markdown}"
    );
    assert!(applied["result"]["summary"].is_string(), "{applied}");

    // Applied: the state and the servers are as after the first apply.
    assert_eq!(addresses(&server, &t), first_objects);
    assert_eq!(
        rabbit(&format!("vhosts/{vhost}")).0,
        200,
        "the queue is back"
    );
    let acl = redis(&["ACL", "GETUSER", &sessions]);
    assert!(acl.contains("~*") && !acl.contains("~sess:*"), "{acl}");
    let third = last_serial(&server, &t);
    let same = server.json(
        "GET",
        &format!("/api/v1/environments/local/history/diff?a={first}&b={third}"),
        &t.viewer,
        None,
    );
    assert_eq!(
        same["text"],
        format!("No configuration changes from serial {first} to serial {third}.\n")
    );
    let again = server.json(
        "POST",
        "/api/v1/environments/local/plans",
        &t.developer,
        Some(&format!(r#"{{"at": {first}}}"#)),
    );
    assert_eq!(again["result"]["changes"], false, "{again}");
    let _ = server.json(
        "POST",
        "/api/v1/environments/local/destroy",
        &t.operator,
        None,
    );
}

const NAP_MODULE: &str = r#"
provisions "nap" {}
param "seconds" {
  type    = string
  default = "1s"
}
resource "time_sleep" "wait" {
  create_duration = param.seconds
}
output "id" {
  value = time_sleep.wait.id
}
"#;

/// A project whose state is `db`, with one workload that naps for `nap`.
fn team(db: &PgDb, nap: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("modules/nap.hcl", NAP_MODULE);
    sb.write(
        "baton.hcl",
        &format!("environment \"local\" {{\n  state {{\n    postgres {{ url = \"{}\" }}\n  }}\n  modules = [\"./modules\"]\n}}\n", db.url()),
    );
    sb.write(
        "napper.score.yaml",
        &format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: napper\ncontainers:\n  main:\n    image: busybox\nresources:\n  nap:\n    type: nap\n    params:\n      seconds: {nap}\n"),
    );
    sb
}

#[test]
fn two_nodes_on_one_postgres_state_run_each_of_50_runs_exactly_once() {
    let db = PgDb::new();
    let sb = team(&db, "1ms");
    let t = tokens(&sb);
    let (a, b) = (Server::start(&sb, &[]), Server::start(&sb, &[]));
    let mut ids = Vec::new();
    for i in 0..50 {
        let node = if i % 2 == 0 { &a } else { &b };
        let (path, body) = if i % 5 == 0 {
            ("/api/v1/environments/local/plans?wait=false", Some("{}"))
        } else {
            ("/api/v1/environments/local/drift?wait=false", None)
        };
        let (status, text) = node.call("POST", path, Some(&t.developer), body);
        assert_eq!(status, 202, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let run = a.finished(id, &t.viewer);
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    // Each run executed once: one closing line in its log, one node, and both nodes
    // took a share.
    let rows = db.sql("SELECT run_id, count(*) FROM baton.run_events WHERE text LIKE '% succeeded' OR text LIKE '% failed' GROUP BY run_id");
    let counted: Vec<&str> = rows.lines().collect();
    assert_eq!(counted.len(), 50, "{rows}");
    assert!(
        counted.iter().all(|l| l.ends_with("|1")),
        "a run ran twice: {rows}"
    );
    let nodes = db.sql("SELECT node, count(*) FROM baton.runs GROUP BY node");
    assert_eq!(nodes.lines().count(), 2, "both nodes run: {nodes}");
    // The share of each node, for the record (`--nocapture`).
    eprintln!("50 runs through two nodes, runs per node:\n{nodes}");
    assert_eq!(
        db.sql("SELECT count(*) FROM baton.runs WHERE status <> 'succeeded'")
            .trim(),
        "0"
    );
}

/// A node of a team project applying a nap of `nap`, caught mid-run (its intent
/// written, the sleep under way).
struct Napping {
    db: PgDb,
    sb: Sandbox,
    t: Tokens,
    server: Server,
    /// The apply run.
    run: String,
}

fn napping(nap: &str) -> Napping {
    let db = PgDb::new();
    let sb = team(&db, nap);
    let t = tokens(&sb);
    let server = Server::start(&sb, &[]);
    let planned = server.json(
        "POST",
        "/api/v1/environments/local/plans",
        &t.developer,
        Some("{}"),
    );
    let plan_id = planned["id"].as_str().unwrap();
    let (status, text) = server.call(
        "POST",
        &format!("/api/v1/plans/{plan_id}/apply?wait=false"),
        Some(&t.operator),
        None,
    );
    assert_eq!(status, 202, "{text}");
    let run = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(
        "the apply to start its nap",
        Duration::from_secs(60),
        || db.sql("SELECT count(*) FROM baton.intents").trim() == "1",
    );
    Napping {
        db,
        sb,
        t,
        server,
        run,
    }
}

#[test]
fn kill_9_of_a_node_mid_run_is_reported_abandoned_and_the_next_apply_converges() {
    let Napping {
        db,
        sb,
        t,
        server: mut a,
        run: run_id,
    } = napping("12s");
    let _ = a.child.kill();
    let _ = a.child.wait();
    let killed = std::time::Instant::now();
    let b = Server::start(&sb, &[]);
    let run = b.finished(&run_id, &t.viewer);
    assert_eq!(run["status"], "abandoned", "{run}");
    eprintln!(
        "a node killed mid-run: its run reported abandoned by the other {:.1} s after the kill",
        killed.elapsed().as_secs_f64()
    );
    assert!(
        run["result"]["error"]
            .as_str()
            .unwrap()
            .contains("heartbeat lapsed"),
        "{run}"
    );
    // The next apply (a fresh plan through the other node) settles the leftover intent.
    plan_and_apply(&b, &t, "{}");
    assert_eq!(db.sql("SELECT count(*) FROM baton.intents").trim(), "0");
    let again = b.json(
        "POST",
        "/api/v1/environments/local/plans",
        &t.developer,
        Some("{}"),
    );
    assert_eq!(again["result"]["changes"], false, "not converged: {again}");
    drop(a);
}

/// Sends `signal` (`TERM`, `INT`) to the server.
fn signal(server: &Server, signal: &str) {
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} {pid}");
}

/// Waits (up to 40 s: the 30 s of grace and some) for the server to exit.
fn exit_status(server: &mut Server) -> std::process::ExitStatus {
    let mut exited = None;
    wait_for("baton serve to exit", Duration::from_secs(40), || {
        exited = server.child.try_wait().unwrap();
        exited.is_some()
    });
    exited.unwrap()
}

#[test]
fn sigterm_stops_listening_lets_the_running_run_finish_keeps_queued_ones_and_exits_0() {
    let Napping {
        db,
        sb,
        t,
        server: mut a,
        run: applying,
    } = napping("5s");
    // A drift check queued behind the apply.
    let (status, text) = a.call(
        "POST",
        "/api/v1/environments/local/drift?wait=false",
        Some(&t.developer),
        None,
    );
    assert_eq!(status, 202, "{text}");
    let waiting = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let status_of = |id: &str| db.sql(&format!("SELECT status FROM baton.runs WHERE id = '{id}'"));
    assert_eq!(status_of(&waiting).trim(), "queued");
    signal(&a, "TERM");
    // It stops listening at once, while the run goes on.
    let addr = a.url.trim_start_matches("http://").to_string();
    wait_for("the listener to close", Duration::from_secs(3), || {
        std::net::TcpStream::connect(&addr).is_err()
    });
    assert!(
        a.child.try_wait().unwrap().is_none(),
        "the server exited before its run finished"
    );
    assert_eq!(status_of(&applying).trim(), "running");
    let exited = exit_status(&mut a);
    assert_eq!(exited.code(), Some(0), "{exited:?}");
    // The run it was carrying out finished; the queued one waits for the next node.
    assert_eq!(status_of(&applying).trim(), "succeeded");
    assert_eq!(db.sql("SELECT count(*) FROM baton.intents").trim(), "0");
    assert_eq!(
        status_of(&waiting).trim(),
        "queued",
        "the queued run was taken"
    );
    let mut b = Server::start(&sb, &[]);
    let run = b.finished(&waiting, &t.viewer);
    assert_eq!(run["status"], "succeeded", "{run}");
    // Ctrl-C stops an idle server the same way.
    signal(&b, "INT");
    assert_eq!(exit_status(&mut b).code(), Some(0));
}

#[test]
fn a_scheduled_drift_check_finds_a_change_made_behind_batons_back() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    sb.write("baton.hcl", "serve {\n  drift_interval = \"1s\"\n}\n");
    let applied = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(applied.code, 0, "{}", applied.transcript());
    let t = tokens(&sb);
    let server = Server::start(&sb, &[]);
    let drift = |want: &str| {
        let mut env = Value::Null;
        wait_for(
            &format!("a scheduled drift check saying {want}"),
            Duration::from_secs(60),
            || {
                env = server.json("GET", "/api/v1/environments/local", &t.viewer, None);
                env["drift"]["status"] == want
            },
        );
        env
    };
    let env = drift("clean");
    assert_eq!(env["drift"]["requested_by"], "schedule", "{env}");
    assert_eq!(env["drift_interval_seconds"], 1, "{env}");
    // A manifest edited by hand.
    let manifest = std::fs::read_dir(sb.path().join("deploy/local"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "yaml"))
        .expect("a manifest");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}# edited by hand\n")).unwrap();
    let env = drift("drifted");
    assert_eq!(env["drift"]["exit_status"], 2, "{env}");
    assert!(
        env["drift"]["markdown"]
            .as_str()
            .unwrap()
            .contains("workload."),
        "{env}"
    );
    let (status, metrics) = server.call("GET", "/metrics", Some(&t.viewer), None);
    assert_eq!(status, 200);
    let line = metrics
        .lines()
        .find(|l| l.starts_with("baton_drift_objects{environment=\"local\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(!line.ends_with(" 0") && !line.ends_with(" -1"), "{line}");
    assert!(
        metrics.contains(
            "baton_runs_total{environment=\"local\",kind=\"drift\",result=\"succeeded\"}"
        ),
        "{metrics}"
    );
}
