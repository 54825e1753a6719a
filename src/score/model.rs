//! The typed Score workload (v1b1), decoded from a document that passed the schema.
//!
//! Maps are `BTreeMap`s so that every walk over a workload is in a stable order.
//! Files and volumes are always in the map form here: the deprecated array forms are
//! upgraded by `score::upgrade` before decoding.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

/// A Score workload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    /// Always `score.dev/v1b1`.
    pub api_version: String,
    /// `metadata`, free-form apart from `name` and `annotations`.
    pub metadata: serde_json::Map<String, Value>,
    /// The published ports.
    #[serde(default)]
    pub service: Option<Service>,
    /// Containers by name.
    pub containers: BTreeMap<String, Container>,
    /// Resource requests by name.
    #[serde(default, deserialize_with = "in_bulk")]
    pub resources: BTreeMap<String, ResourceRequest>,
}

impl Workload {
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// `service`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct Service {
    /// Ports by name.
    #[serde(default)]
    pub ports: BTreeMap<String, ServicePort>,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePort {
    /// The public port.
    pub port: u16,
    /// `TCP` (default) or `UDP`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// The container port; defaults to `port`.
    #[serde(default)]
    pub target_port: Option<u16>,
}

/// A container.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// Image reference; `.` means "the image given with `--image`".
    pub image: String,
    /// Entrypoint override.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Arguments override.
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// Environment variables (placeholders allowed).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Files by target path.
    #[serde(default)]
    pub files: BTreeMap<String, File>,
    /// Volumes by target path.
    #[serde(default)]
    pub volumes: BTreeMap<String, Volume>,
    /// Compute limits and requests.
    #[serde(default)]
    pub resources: Option<ContainerResources>,
    /// Liveness probe.
    #[serde(default)]
    pub liveness_probe: Option<Probe>,
    /// Readiness probe.
    #[serde(default)]
    pub readiness_probe: Option<Probe>,
    /// Containers that must reach a state before this one starts.
    #[serde(default)]
    pub before: BTreeMap<String, Before>,
}

/// A file mounted into a container.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct File {
    /// Octal mode, e.g. `0600`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Path of a file with the content, relative to the Score file.
    #[serde(default)]
    pub source: Option<String>,
    /// Inline UTF-8 content (placeholders expanded unless `no_expand`).
    #[serde(default)]
    pub content: Option<String>,
    /// Inline base64 content.
    #[serde(default)]
    pub binary_content: Option<String>,
    /// Do not expand placeholders in the content.
    #[serde(default)]
    pub no_expand: Option<bool>,
}

impl File {
    /// True when placeholders in this file's content are expanded.
    pub fn expands(&self) -> bool {
        !self.no_expand.unwrap_or(false)
    }
}

/// A volume mounted into a container.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// The volume, usually `${resources.NAME}`.
    pub source: String,
    /// Sub path in the volume.
    #[serde(default)]
    pub path: Option<String>,
    /// Mount read-only.
    #[serde(default)]
    pub read_only: Option<bool>,
}

/// Limits and requests.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct ContainerResources {
    /// Upper bounds.
    #[serde(default)]
    pub limits: Option<ResourceAmounts>,
    /// Guaranteed amounts.
    #[serde(default)]
    pub requests: Option<ResourceAmounts>,
}

/// CPU and memory amounts, as Kubernetes quantities.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct ResourceAmounts {
    /// e.g. `250m`.
    #[serde(default)]
    pub cpu: Option<String>,
    /// e.g. `128Mi`.
    #[serde(default)]
    pub memory: Option<String>,
}

/// A probe: HTTP GET or exec.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// HTTP GET probe.
    #[serde(default)]
    pub http_get: Option<HttpProbe>,
    /// Command probe.
    #[serde(default)]
    pub exec: Option<ExecProbe>,
}

/// An HTTP GET probe.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpProbe {
    /// Host header / host to connect to.
    #[serde(default)]
    pub host: Option<String>,
    /// `HTTP` or `HTTPS`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// Path to request.
    pub path: String,
    /// Port on the workload.
    pub port: u16,
    /// Extra headers.
    #[serde(default)]
    pub http_headers: Vec<HttpHeader>,
}

/// One HTTP header of a probe.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HttpHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// A command probe.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExecProbe {
    /// Command and arguments.
    pub command: Vec<String>,
}

/// A `before` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Before {
    /// `started`, `healthy` or `complete`.
    pub ready: String,
}

/// An entry of `resources`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResourceRequest {
    /// Resource type, e.g. `postgres`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Class; `default` when absent.
    #[serde(default)]
    pub class: Option<String>,
    /// Shared-resource id.
    #[serde(default)]
    pub id: Option<String>,
    /// Free-form metadata (annotations, …).
    #[serde(default)]
    pub metadata: Option<Arc<Fields>>,
    /// Parameters for the module (placeholders allowed). Shared with the project's
    /// [`ResourceDecl`](super::ResourceDecl), not copied.
    #[serde(default)]
    pub params: Option<Arc<Fields>>,
}

/// A map read whole (litemap's reader: a vector of entries, sorted once), then built in
/// one pass: inserted entry by entry, a `BTreeMap`'s nodes stay about half full (a
/// workload may request a hundred resources).
fn in_bulk<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    litemap::LiteMap::<String, V>::deserialize(d).map(|m| m.into_iter().collect())
}

/// The free-form fields of a resource request (`params`, `metadata`), in key order: a
/// sorted vector of the few entries they hold (a `BTreeMap`, as `serde_json::Map` is,
/// takes a 630-byte node for a map of up to eleven keys; a project of 10,000 resources
/// holds 10,000 of them).
pub type Fields = litemap::LiteMap<String, Value>;

impl ResourceRequest {
    /// The class, `default` when absent.
    pub fn class(&self) -> &str {
        self.class.as_deref().unwrap_or("default")
    }
}
