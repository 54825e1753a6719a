//! The web portal of `baton serve` in a real browser: Debian's Chromium, headless,
//! driven over WebDriver (chromedriver, `fantoccini`) against the real binary serving a
//! copy of `examples/shop` (SQLite state, the real PostgreSQL, Redis and RabbitMQ of
//! `.ci/services`). A newcomer logs in as operator, finds `local` and its workloads
//! (listed from the Score files, "not applied yet", before the first apply),
//! opens a workload, requests a redis for it through the form, reviews the plan
//! (verdict, reasons), applies it, watches the log reach success and finds the new
//! history entry, compares the two latest applies' configurations (the redis added to
//! the Score file) and plans a rollback to the first (a plan that deletes the redis).
//! A viewer sees no Apply or rollback button and is refused (403) when posting one;
//! a form without the session's CSRF token is refused; a generated password appears in
//! no page. Each page is kept as `target/portal-screenshots/NAME.png`.
//!
//! Without chromium and chromedriver the test fails when `CI` is set (`.ci/run`
//! installs them), and says how to install them otherwise.

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use support::Sandbox;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// `baton serve` on a free port of the sandbox's project: the process and its URL.
fn serve(sb: &Sandbox) -> (Killed, String) {
    let mut child = sb
        .command(&["serve", "--listen", "127.0.0.1:0"])
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
    (Killed(child), url)
}

/// chromedriver on a free port, answering.
fn chromedriver() -> (Killed, String) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {url} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (Killed(child), url)
}

/// Whether the browser is installed: a clear failure in CI without it.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "the portal's browser test needs {} (Debian: `apt-get install -y chromium chromium-driver`; .ci/run installs them)",
        missing.join(" and ")
    );
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("SKIPPED outside CI: {message}");
    false
}

/// The browser session and what the test keeps from it.
struct Browser {
    c: Client,
    base: String,
    shots: PathBuf,
    /// The HTML of every page seen (searched for secrets at the end).
    pages: Vec<(String, String)>,
}

impl Browser {
    async fn open(&mut self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// Keeps the page's HTML and a screenshot named `name`; returns the HTML.
    async fn keep(&mut self, name: &str) -> String {
        let html = self.c.source().await.expect("page source");
        let png = self.c.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
        self.pages.push((name.to_string(), html.clone()));
        html
    }

    async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    async fn wait_for(&self, css: &str, secs: u64) {
        if let Err(e) = self
            .c
            .wait()
            .at_most(Duration::from_secs(secs))
            .for_element(Locator::Css(css))
            .await
        {
            let html = self.c.source().await.unwrap_or_default();
            panic!("no {css} within {secs} s: {e}\n{html}");
        }
    }

    async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// The text of every element `css` finds, in page order.
    async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.c.find_all(Locator::Css(css)).await.unwrap() {
            out.push(e.text().await.unwrap());
        }
        out
    }

    async fn login(&mut self, token: &str) {
        self.open("/portal/").await;
        self.wait_for("#token", 10).await;
        let field = self.c.find(Locator::Css("#token")).await.unwrap();
        field.send_keys(token).await.unwrap();
        self.click("#login").await;
        self.wait_for("header form button", 10).await;
    }

    async fn logout(&mut self) {
        self.click("header form button").await;
        self.wait_for("#token", 10).await;
    }

    /// Posts a form from the page (same origin, the session's cookie) and answers the
    /// status, redirects not followed.
    async fn post(&self, path: &str, fields: Value) -> u64 {
        let script = r#"
            const [path, fields, done] = arguments;
            fetch(path, {method: 'POST', body: new URLSearchParams(fields), redirect: 'manual'})
              .then(r => done(r.type === 'opaqueredirect' ? 303 : r.status), e => done(String(e)));
        "#;
        let v = self
            .c
            .execute_async(script, vec![json!(path), fields])
            .await
            .expect("post from the page");
        v.as_u64().unwrap_or_else(|| panic!("POST {path}: {v}"))
    }

    /// The body of a GET from the page (same origin, the session's cookie).
    async fn fetch(&self, path: &str) -> String {
        let script = r#"
            const [path, done] = arguments;
            fetch(path).then(r => r.text()).then(done, e => done(String(e)));
        "#;
        let v = self
            .c
            .execute_async(script, vec![json!(path)])
            .await
            .expect("fetch from the page");
        v.as_str().unwrap_or_default().to_string()
    }

    /// The CSRF token of the page's forms.
    async fn csrf(&self) -> String {
        self.c
            .find(Locator::Css("input[name=csrf]"))
            .await
            .expect("a form with a CSRF token")
            .attr("value")
            .await
            .unwrap()
            .expect("a value")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_requests_a_redis_through_the_portal_and_applies_it() {
    if !browser_installed() {
        return;
    }
    let started = Instant::now();
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/shop");
    let operator = token(&sb, "ops", "operator");
    let viewer = token(&sb, "vera", "viewer");
    let (_server, base) = serve(&sb);
    let (_driver, driver_url) = chromedriver();

    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--window-size=1280,1000"]}),
    );
    // WebDriver is plain HTTP here; fantoccini's client still wants a TLS provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = ClientBuilder::rustls()
        .expect("a TLS connector")
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("a WebDriver session of chromium");
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/portal-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut b = Browser {
        c,
        base: base.clone(),
        shots,
        pages: Vec::new(),
    };

    // Every page but login needs a session.
    b.open("/portal/env/local/history").await;
    b.wait_for("#token", 10).await;
    b.keep("login").await;
    b.login(&operator).await;

    // Before the first apply, the overview lists the workloads of the Score files.
    let html = b.keep("overview-before-apply").await;
    let pending = b.texts("#env-local ul.workloads li").await;
    assert_eq!(
        pending,
        [
            "fulfilment not applied yet",
            "orders not applied yet",
            "storefront not applied yet"
        ],
        "{html}"
    );

    // The first apply, from the command line.
    let out = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    // The canaries: generated passwords of real resources.
    let out = sb.run(&["output", "--json", "--show-sensitive"]);
    assert_eq!(out.code, 0, "{}", out.transcript());
    let outputs: Value = serde_json::from_str(&out.stdout).unwrap();
    let canaries: Vec<String> = [
        "postgres.default#orders-db",
        "redis.default#fulfilment.cache",
    ]
    .iter()
    .map(|uid| {
        let p = outputs[*uid]["password"]
            .as_str()
            .unwrap_or_else(|| panic!("{uid}: {}", out.stdout));
        assert!(p.len() >= 16, "{uid}: {p}");
        p.to_string()
    })
    .collect();
    // The overview: `local` with its workloads, applied.
    b.open("/portal/").await;
    let html = b.keep("overview").await;
    let applied = b.texts("#env-local ul.workloads li").await;
    assert_eq!(applied, ["fulfilment", "orders", "storefront"], "{html}");
    for w in ["fulfilment", "orders", "storefront"] {
        assert!(
            html.contains(&format!("/portal/env/local/workloads/{w}\"")),
            "workload {w} on the overview: {html}"
        );
    }
    b.open("/portal/env/local").await;
    b.keep("environment").await;

    // A workload: resources, outputs (redacted), manifests, the graph as SVG.
    b.open("/portal/").await;
    b.click("#env-local a.workload[href$='/orders']").await;
    b.wait_for("svg.graph", 20).await;
    let html = b.keep("workload").await;
    assert!(html.contains("postgres.default#orders-db"), "{html}");
    assert!(html.contains("(sensitive)"), "outputs redacted: {html}");
    assert!(html.contains("orders.yaml"), "manifests: {html}");

    // The request form: a redis for `orders`, with a param from the module's schema.
    b.click("#request").await;
    b.wait_for("#module", 10).await;
    b.c.find(Locator::Css("#module"))
        .await
        .unwrap()
        .select_by_value("redis/local")
        .await
        .expect("redis/local in the catalog");
    b.click("#choose").await;
    b.wait_for("#request-form", 10).await;
    let name = b.c.find(Locator::Css("#name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("Bad_Name").await.unwrap();
    b.c.find(Locator::Css("input[name='param.key_prefix']"))
        .await
        .expect("the module's param in the form")
        .send_keys("orders:")
        .await
        .unwrap();
    b.keep("request").await;
    // A name the Score schema refuses: the CLI's located diagnostic, nothing queued.
    b.click("#plan").await;
    b.wait_for("#problem", 30).await;
    b.keep("request-invalid").await;
    let problem = b.text("#problem").await;
    assert!(
        problem.contains("orders.score.yaml:") && problem.contains("Bad_Name"),
        "{problem}"
    );
    let runs = sb.path().join(".baton/serve");
    let queued = std::fs::read_dir(&runs).map(|d| d.count()).unwrap_or(0);
    assert_eq!(queued, 0, "a run was queued for an invalid request");
    let name = b.c.find(Locator::Css("#name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("cache").await.unwrap();
    b.click("#plan").await;

    // The plan: verdict first, the reasons, the Apply button for an operator.
    b.wait_for("#verdict", 120).await;
    let html = b.keep("plan").await;
    let plan_url = b.c.current_url().await.unwrap().to_string();
    let verdict = b.text("#verdict").await;
    assert!(verdict.contains("to add"), "{verdict}");
    let reasons = b.text("#reasons").await;
    assert!(
        reasons.contains("redis.default#orders.cache") && reasons.contains("new"),
        "{reasons}"
    );
    assert!(html.contains("<details"), "collapsible diffs: {html}");
    b.click("#apply").await;

    // The run: its log streamed until it succeeds.
    b.wait_for("#log", 10).await;
    b.keep("run-live").await;
    b.wait_for("#to-history", 120).await;
    let html = b.keep("run").await;
    // The log as the page's script reads it: the run's SSE through the session.
    let events = b
        .fetch(&format!(
            "{}/events",
            b.c.current_url().await.unwrap().path()
        ))
        .await;
    assert!(
        events.contains("event: log")
            && events.contains("apply succeeded")
            && events.contains("event: end"),
        "{events}"
    );
    assert_eq!(b.text("#run-status").await, "succeeded", "{html}");
    let log = b.text("#log").await;
    assert!(
        log.contains("redis.default#orders.cache") && log.contains("apply succeeded"),
        "{log}"
    );

    // The history: the new apply (serial 2) with the redis.
    b.click("#to-history").await;
    b.wait_for("#history", 10).await;
    let html = b.keep("history").await;
    let row = b.text("tr.apply[data-serial='2']").await;
    assert!(row.contains("2 create"), "{row}");
    assert!(html.contains("redis.default#orders.cache"), "{html}");

    // The diff between the two latest applies (the form offers them): the redis added
    // to orders' Score file, its lines marked as added.
    let offered = (
        b.text("#a option[selected]").await,
        b.text("#b option[selected]").await,
    );
    assert_eq!(offered, ("1".to_string(), "2".to_string()));
    b.click("#compare").await;
    b.wait_for("#diff", 20).await;
    b.keep("history-diff").await;
    let url = b.c.current_url().await.unwrap();
    assert_eq!(url.query(), Some("a=1&b=2"), "{url}");
    let diff = b.text("#diff").await;
    assert!(
        diff.contains("Configuration changes from serial 1 to serial 2")
            && diff.contains("orders.score.yaml"),
        "{diff}"
    );
    let added = b.texts("#diff pre.udiff span.add").await;
    for want in [
        "+  cache:",
        "+    type: redis",
        "+      key_prefix: \"orders:\"",
    ] {
        assert!(
            added.iter().any(|l| l == want),
            "{want:?} not added in {added:?}"
        );
    }

    // A rollback to the first apply: a plan that deletes the redis, for an operator to
    // apply.
    b.click("tr.apply[data-serial='1'] button.rollback").await;
    b.wait_for("#verdict", 120).await;
    let html = b.keep("rollback-plan").await;
    assert!(b.text("#rollback-to").await.contains("serial 1"), "{html}");
    let rows = b.texts("#reasons tbody tr").await;
    let cache: Vec<&String> = rows
        .iter()
        .filter(|r| r.contains("redis.default#orders.cache/"))
        .collect();
    assert!(
        !cache.is_empty() && cache.iter().all(|r| r.starts_with("delete")),
        "{rows:?}"
    );
    let notes = b.text("#rollback-notes").await;
    assert!(
        notes.contains("Rollback to serial 1")
            && notes.contains("made since serial 1, deleted: `redis.default#orders.cache/"),
        "the rollback notes: {notes}"
    );
    assert!(html.contains("id=\"apply\""), "an operator may apply it");

    // Drift: a manifest edited by hand, a manual check, its result on the drift page.
    let manifest = sb.path().join("deploy/local/storefront.yaml");
    let text = std::fs::read_to_string(&manifest).expect("the storefront manifest");
    std::fs::write(&manifest, format!("{text}# edited by hand\n")).unwrap();
    b.open("/portal/env/local/drift").await;
    b.click("main form button").await;
    b.wait_for("#run-status.status-succeeded", 120).await;
    b.open("/portal/env/local/drift").await;
    b.wait_for("#drift-report", 10).await;
    b.keep("drift").await;
    assert!(b.text("h1").await.contains("drifted"), "the drift badge");
    let report = b.text("#drift-report").await;
    assert!(report.contains("storefront"), "{report}");
    b.open("/portal/env/local/modules").await;
    let html = b.keep("modules").await;
    assert!(
        html.contains("redis/local") && html.contains("key_prefix"),
        "{html}"
    );

    // A form without the session's CSRF token is refused, and one with a wrong token.
    let apply_path = format!(
        "{}/apply",
        plan_url.trim_start_matches(&base).trim_end_matches('/')
    );
    assert_eq!(b.post(&apply_path, json!({})).await, 403, "no CSRF token");
    assert_eq!(
        b.post(&apply_path, json!({"csrf": "0".repeat(64)})).await,
        403,
        "a wrong CSRF token"
    );
    assert_eq!(b.post("/portal/env/local/drift", json!({})).await, 403);
    let rollback = "/portal/env/local/history/rollback";
    assert_eq!(b.post(rollback, json!({"at": "1"})).await, 403);

    // A viewer: no Apply button, and a posted apply (with a valid CSRF token) is 403.
    b.logout().await;
    b.login(&viewer).await;
    b.open(plan_url.trim_start_matches(&base)).await;
    b.wait_for("#verdict", 10).await;
    let html = b.keep("plan-viewer").await;
    assert!(
        !html.contains("id=\"apply\""),
        "a viewer sees no Apply: {html}"
    );
    assert!(html.contains("id=\"no-apply\""), "{html}");
    let csrf = b.csrf().await;
    assert_eq!(b.post(&apply_path, json!({"csrf": csrf})).await, 403);
    let request =
        json!({"csrf": csrf, "workload": "orders", "module": "redis/local", "name": "cache2"});
    assert_eq!(b.post("/portal/env/local/request", request).await, 403);
    // Nor a rollback: no button, and a posted one is refused.
    b.open("/portal/env/local/history").await;
    b.wait_for("#history", 10).await;
    let html = b.keep("history-viewer").await;
    assert!(!html.contains("class=\"rollback\""), "{html}");
    assert!(
        html.contains("id=\"compare\""),
        "a viewer may compare: {html}"
    );
    let posted = json!({"csrf": csrf, "at": "1"});
    assert_eq!(b.post(rollback, posted).await, 403);
    let html = b.c.source().await.unwrap();
    b.pages.push(("viewer".into(), html));

    // No page held a generated password.
    for (name, html) in &b.pages {
        for canary in &canaries {
            assert!(
                !html.contains(canary.as_str()),
                "page {name} holds a generated password"
            );
        }
    }
    b.c.close().await.unwrap();
    eprintln!(
        "portal browser session: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
