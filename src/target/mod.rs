//! Targets: pure renderers from a resolved workload to the files a runtime consumes.
//!
//! The engine resolves every placeholder of a Score workload first; this module only
//! converts. [`kubernetes`] renders one workload to Kubernetes objects; [`compose`] renders
//! all workloads to one Docker Compose project. Both follow the conversions of the Score
//! reference implementations (score-k8s, score-compose).
//!
//! Renderers are pure (no I/O, no clock, no randomness) and deterministic: the same input
//! gives byte-identical output. Marks propagate as everywhere in the engine: a manifest
//! built from anything unknown is [`Value::Unknown`]; secrets go only into dedicated
//! manifests whose content is [`Value::Sensitive`] and whose mode is `0o600`.

use std::collections::BTreeMap;

use crate::score::model::{Container, ServicePort};
use crate::value::Value;

mod compose;
mod kubernetes;
mod marks;
mod order;
mod quantity;
mod yaml;

#[cfg(test)]
mod tests;

pub use compose::{ComposeOptions, compose};
pub use kubernetes::{KubernetesOptions, kubernetes};

/// A workload whose placeholders the engine has already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedWorkload {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// Containers by name.
    pub containers: BTreeMap<String, ResolvedContainer>,
    /// `service.ports` by port name.
    pub service_ports: BTreeMap<String, ServicePort>,
}

/// A container of a [`ResolvedWorkload`].
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedContainer {
    /// The Score container: image, command, args, probes, resources and `before` are used
    /// as written; its (unresolved) variables, files and volumes are ignored in favour of
    /// the resolved fields below.
    pub spec: Container,
    /// Resolved variables; a value may be sensitive or unknown.
    pub variables: crate::value::Map,
    /// Resolved files by target path in the container.
    pub files: BTreeMap<String, ResolvedFile>,
    /// Resolved volumes by target path in the container.
    pub volumes: BTreeMap<String, ResolvedVolume>,
}

/// A file to mount into a container.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedFile {
    /// The content.
    pub content: FileContent,
    /// Octal mode as written in Score, e.g. `"0600"`.
    pub mode: Option<String>,
}

/// The content of a [`ResolvedFile`].
#[derive(Debug, Clone, PartialEq)]
pub enum FileContent {
    /// Text: a string, a sensitive string, or unknown.
    Text(Value),
    /// Bytes (from `binaryContent`).
    Binary(Vec<u8>),
}

/// A volume to mount into a container.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedVolume {
    /// An absolute host path (starts with `/`: a bind mount / `hostPath`), otherwise the
    /// name of a volume (a named volume / a PersistentVolumeClaim).
    pub source: Value,
    /// Sub path inside the volume.
    pub path: Option<String>,
    /// Mount read-only.
    pub read_only: bool,
}

/// One generated file.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Path relative to the output directory, e.g. `web.yaml`, `compose.yaml`,
    /// `mounts/web/main/etc/app.conf`.
    pub path: String,
    /// The text: a string; sensitive when it holds a secret; unknown when any input is.
    pub content: Value,
    /// The file mode to write with; `0o600` for anything sensitive.
    pub mode: Option<u32>,
    /// How `content` encodes the file's bytes.
    pub encoding: Encoding,
}

/// How a [`Manifest`]'s string content maps to the bytes of the file.
///
/// A [`Value`] holds text only, so a binary file travels base64-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The string is the file (UTF-8).
    Text,
    /// The string is the standard base64 of the file's bytes.
    Base64,
}

/// The file mode for anything that holds a secret.
pub const SENSITIVE_MODE: u32 = 0o600;

/// Parses a Score file mode (octal text such as `"0644"` or `"600"`).
fn parse_mode(mode: &str) -> Option<u32> {
    u32::from_str_radix(mode, 8).ok().filter(|m| *m <= 0o7777)
}
