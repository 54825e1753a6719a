//! The Docker Compose renderer: all workloads → one `compose.yaml`, plus the files it
//! bind-mounts and one env file per container that has secrets.
//!
//! The conversion follows score-compose: one service `<workload>-<container>`; `image`,
//! `entrypoint` (Score `command`), `command` (Score `args`), `environment`; the first
//! container without `before` entries owns the network (`hostname: <workload>`, the
//! published ports) and the others join it with `network_mode: service:…`; `before`
//! becomes `depends_on` on the later container; a readiness (else liveness) probe becomes a
//! `healthcheck`. Beyond score-compose: secrets go to `secrets/<service>.env` (sensitive,
//! `0o600`) referenced by `env_file`, never into `compose.yaml`; CPU and memory limits
//! become `deploy.resources.limits`; an HTTP probe becomes a `wget`/`curl` health check.
//!
//! Compose interpolates `$` in every value of `compose.yaml`, so every string is written
//! with `$` doubled: what the workload says is what the container gets. In `command` and
//! `args`, which Score does not expand, Score's escape `$$` is a `$` first (score-compose
//! writes it through to Compose, which reads it as one `$`): `ls $${DIR}` reaches the
//! container as `ls ${DIR}`, for its shell to expand.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::{Map, Value as Json, json};

use crate::score::model::{self, HttpProbe};
use crate::value::Value;

use super::marks::Marks;
use super::order::{COMPLETE, HEALTHY, Role, ancestors, role};
use super::{
    Encoding, FileContent, Manifest, ResolvedContainer, ResolvedWorkload, SENSITIVE_MODE,
    parse_mode, quantity, yaml,
};

/// Options of the Compose renderer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComposeOptions {
    /// The Compose project name (top-level `name`); none lets Compose use the directory's.
    pub project: Option<String>,
}

/// Renders all workloads: `compose.yaml`, `mounts/<workload>/<container>/<target>` for each
/// file, and `secrets/<workload>-<container>.env` for each container with sensitive
/// variables. Sorted by path.
pub fn compose(ws: &[ResolvedWorkload], opts: &ComposeOptions) -> Vec<Manifest> {
    let mut r = Renderer::default();
    for w in ws {
        r.workload(w);
    }
    let mut doc = Map::new();
    if let Some(project) = &opts.project {
        doc.insert("name".into(), project.as_str().into());
    }
    doc.insert(
        "services".into(),
        Json::Object(std::mem::take(&mut r.services)),
    );
    if !r.named_volumes.is_empty() {
        let volumes = r
            .named_volumes
            .iter()
            .map(|v| (v.clone(), json!({ "name": v })))
            .collect();
        doc.insert("volumes".into(), Json::Object(volumes));
    }
    let mut doc = Json::Object(doc);
    escape_interpolation(&mut doc);
    let mut out = r.files;
    out.push(Manifest {
        path: "compose.yaml".into(),
        content: r.marks.content(yaml::document(&doc)),
        mode: r.marks.mode(None),
        encoding: Encoding::Text,
    });
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// State of one rendering.
#[derive(Default)]
struct Renderer {
    /// Marks of `compose.yaml`.
    marks: Marks,
    services: Map<String, Json>,
    /// Named volumes, declared at the top level with their own name so Compose does not
    /// prefix them with the project name (the volume is the one the resource names).
    named_volumes: BTreeSet<String>,
    /// Mount files and env files.
    files: Vec<Manifest>,
}

impl Renderer {
    fn workload(&mut self, w: &ResolvedWorkload) {
        let Some(first) = w.containers.keys().next() else {
            return;
        };
        // The network owner: the first container that waits for nothing (score-compose).
        let primary = w
            .containers
            .iter()
            .find(|(_, c)| c.spec.before.is_empty())
            .map_or(first, |(n, _)| n);
        // Containers the primary waits for cannot share its network: that would make them
        // wait for it in turn.
        let primary_waits_for = ancestors(&w.containers, primary);

        // `D.before = {T: R}` → T depends on D reaching R.
        let mut depends_on: BTreeMap<&str, Map<String, Json>> = BTreeMap::new();
        for (d, c) in &w.containers {
            for (t, b) in &c.spec.before {
                if t != d && w.containers.contains_key(t) {
                    let condition = match b.ready.as_str() {
                        COMPLETE => "service_completed_successfully",
                        HEALTHY => "service_healthy",
                        _ => "service_started",
                    };
                    depends_on.entry(t.as_str()).or_default().insert(
                        service_name(w, d),
                        json!({ "condition": condition, "required": true }),
                    );
                }
            }
        }

        for (name, c) in &w.containers {
            let mut svc = self.service(w, name, c);
            if let Some(deps) = depends_on.remove(name.as_str()) {
                svc.insert("depends_on".into(), Json::Object(deps));
            }
            if name == primary {
                svc.insert("hostname".into(), w.name.as_str().into());
                if !w.service_ports.is_empty() {
                    svc.insert("ports".into(), ports(&w.service_ports));
                }
            } else if role(&c.spec) != Role::Init && !primary_waits_for.contains(name.as_str()) {
                svc.insert(
                    "network_mode".into(),
                    format!("service:{}", service_name(w, primary)).into(),
                );
            }
            self.services
                .insert(service_name(w, name), Json::Object(svc));
        }
    }

    fn service(
        &mut self,
        w: &ResolvedWorkload,
        name: &str,
        c: &ResolvedContainer,
    ) -> Map<String, Json> {
        let spec = &c.spec;
        let mut svc = Map::new();
        svc.insert("image".into(), spec.image.as_str().into());
        if let Some(command) = &spec.command {
            svc.insert("entrypoint".into(), json!(unescape_all(command)));
        }
        if let Some(args) = &spec.args {
            svc.insert("command".into(), json!(unescape_all(args)));
        }
        if !w.annotations.is_empty() {
            svc.insert("annotations".into(), json!(w.annotations));
        }
        self.environment(w, name, c, &mut svc);
        let volumes = self.volumes(w, name, c);
        if !volumes.is_empty() {
            svc.insert("volumes".into(), Json::Array(volumes));
        }
        if let Some(hc) = spec
            .readiness_probe
            .as_ref()
            .or(spec.liveness_probe.as_ref())
            .and_then(healthcheck)
        {
            svc.insert("healthcheck".into(), hc);
        }
        if let Some(limits) = spec
            .resources
            .as_ref()
            .and_then(|r| r.limits.as_ref())
            .and_then(limits)
        {
            svc.insert(
                "deploy".into(),
                json!({ "resources": { "limits": limits } }),
            );
        }
        svc
    }

    /// Plain variables in `environment`; sensitive ones in an env file of their own.
    fn environment(
        &mut self,
        w: &ResolvedWorkload,
        name: &str,
        c: &ResolvedContainer,
        svc: &mut Map<String, Json>,
    ) {
        let mut env = Map::new();
        let mut secret = Marks::secret();
        let mut lines = String::new();
        for (var, value) in &c.variables {
            if value.contains_sensitive() {
                let text = secret.text(value);
                lines.push_str(&format!("{var}={}\n", env_file_value(&text)));
            } else {
                env.insert(var.clone(), self.marks.text(value).into());
            }
        }
        if !env.is_empty() {
            svc.insert("environment".into(), Json::Object(env));
        }
        if !lines.is_empty() {
            let path = format!("secrets/{}.env", service_name(w, name));
            svc.insert("env_file".into(), json!([path]));
            self.files.push(Manifest {
                path,
                content: secret.content(lines),
                mode: Some(SENSITIVE_MODE),
                encoding: Encoding::Text,
            });
        }
    }

    /// Volumes and files as long-syntax mounts, sorted by target.
    fn volumes(&mut self, w: &ResolvedWorkload, name: &str, c: &ResolvedContainer) -> Vec<Json> {
        let mut mounts: Vec<(String, Json)> = Vec::new();
        for (target, vol) in &c.volumes {
            let source = self.marks.text(&vol.source);
            let sub = vol
                .path
                .as_deref()
                .map(|p| p.trim_matches('/'))
                .filter(|p| !p.is_empty());
            let mut m = Map::new();
            if source.starts_with('/') {
                m.insert("type".into(), "bind".into());
                let source = match sub {
                    Some(sub) => format!("{}/{sub}", source.trim_end_matches('/')),
                    None => source,
                };
                m.insert("source".into(), source.into());
            } else {
                m.insert("type".into(), "volume".into());
                m.insert("source".into(), source.as_str().into());
                if let Some(sub) = sub {
                    m.insert("volume".into(), json!({ "subpath": sub }));
                }
                self.named_volumes.insert(source);
            }
            m.insert("target".into(), target.as_str().into());
            if vol.read_only {
                m.insert("read_only".into(), true.into());
            }
            mounts.push((target.clone(), Json::Object(m)));
        }
        for (target, file) in &c.files {
            let path = format!("mounts/{}/{name}/{}", w.name, relative(target));
            let mount = json!({ "type": "bind", "source": format!("./{path}"), "target": target, "read_only": true });
            mounts.push((target.clone(), mount));
            self.files.push(mount_file(path, file));
        }
        mounts.sort_by(|a, b| a.0.cmp(&b.0));
        mounts.into_iter().map(|(_, m)| m).collect()
    }
}

/// The manifest of one mounted file. Its own marks: an unknown or secret file does not
/// make `compose.yaml` unknown or sensitive, since that only names the file.
fn mount_file(path: String, file: &super::ResolvedFile) -> Manifest {
    let mode = file.mode.as_deref().and_then(parse_mode);
    match &file.content {
        FileContent::Text(v) => {
            let mut marks = Marks::default();
            let text = marks.text(v);
            Manifest {
                path,
                content: marks.content(text),
                mode: marks.mode(mode),
                encoding: Encoding::Text,
            }
        }
        FileContent::Binary(bytes) => Manifest {
            path,
            content: Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
            mode,
            encoding: Encoding::Base64,
        },
    }
}

fn service_name(w: &ResolvedWorkload, container: &str) -> String {
    format!("{}-{container}", w.name)
}

/// A container path as a path under the container's mounts directory: lexically
/// normalized, so `..` in a target can never reach outside the output directory.
fn relative(target: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        "_".into()
    } else {
        parts.join("/")
    }
}

/// `ports`: `"<port>:<targetPort>"`, with `/udp` for UDP, in port-name order.
fn ports(ports: &BTreeMap<String, model::ServicePort>) -> Json {
    let list = ports
        .values()
        .map(|p| {
            let mut s = format!("{}:{}", p.port, p.target_port.unwrap_or(p.port));
            if p.protocol
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case("udp"))
            {
                s.push_str("/udp");
            }
            Json::String(s)
        })
        .collect();
    Json::Array(list)
}

/// A probe as a health check, with score-compose's 5s interval and timeout.
fn healthcheck(p: &model::Probe) -> Option<Json> {
    let test = if let Some(h) = &p.http_get {
        json!(["CMD-SHELL", http_check(h)])
    } else {
        let exec = p.exec.as_ref().filter(|e| !e.command.is_empty())?;
        let mut test = vec!["CMD".to_string()];
        test.extend(exec.command.iter().cloned());
        json!(test)
    };
    Some(json!({ "test": test, "interval": "5s", "timeout": "5s" }))
}

/// A shell line that performs an HTTP GET probe from inside the container with whichever
/// of `wget` or `curl` the image has. Like the kubelet, it does not verify certificates
/// and treats any 2xx/3xx as success; the host defaults to the container itself.
fn http_check(h: &HttpProbe) -> String {
    let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
    let host = h
        .host
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("localhost");
    let path = if h.path.starts_with('/') {
        h.path.clone()
    } else {
        format!("/{}", h.path)
    };
    let url = shell_quote(&format!("{scheme}://{host}:{}{path}", h.port));
    let headers: Vec<String> = h
        .http_headers
        .iter()
        .map(|x| shell_quote(&format!("{}: {}", x.name, x.value)))
        .collect();
    let insecure = scheme == "https";
    let mut wget = String::from("wget -q -O /dev/null");
    let mut curl = String::from("curl -fsS -o /dev/null");
    if insecure {
        wget.push_str(" --no-check-certificate");
        curl.push_str(" -k");
    }
    for hdr in &headers {
        wget.push_str(&format!(" --header {hdr}"));
        curl.push_str(&format!(" -H {hdr}"));
    }
    format!("{wget} {url} || {curl} {url}")
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `deploy.resources.limits` in Compose units. Requests are dropped: without Swarm, Compose
/// has no scheduler to reserve for.
fn limits(l: &model::ResourceAmounts) -> Option<Json> {
    let mut m = Map::new();
    if let Some(cpu) = &l.cpu {
        m.insert("cpus".into(), quantity::cpus(cpu).into());
    }
    if let Some(mem) = &l.memory {
        m.insert("memory".into(), quantity::memory(mem).into());
    }
    (!m.is_empty()).then_some(Json::Object(m))
}

/// A value for an env file. Single quotes are literal in Compose env files (no escapes,
/// no interpolation), so they are used whenever the value allows; otherwise double quotes
/// with the escapes Compose reads back and `$` doubled against interpolation.
fn env_file_value(v: &str) -> String {
    if !v.contains(['\'', '\n', '\r']) {
        return format!("'{v}'");
    }
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Score's `$$` escape applied to `command` or `args`: the container gets `$` (as from
/// score-compose, and as the kubelet makes of `$$` in a Kubernetes manifest).
/// Placeholders are not expanded there; every other `$` stays as written.
fn unescape_all(items: &[String]) -> Vec<String> {
    items.iter().map(|s| s.replace("$$", "$")).collect()
}

/// Doubles `$` in every string value, so Compose interpolation leaves the text as written.
fn escape_interpolation(v: &mut Json) {
    match v {
        Json::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Json::Array(items) => items.iter_mut().for_each(escape_interpolation),
        Json::Object(m) => m.values_mut().for_each(escape_interpolation),
        _ => {}
    }
}
