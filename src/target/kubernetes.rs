//! The Kubernetes renderer: one workload → a Deployment, its Service, a ConfigMap of its
//! files, and a separate Secret for everything sensitive.
//!
//! The conversion follows score-k8s: labels `app.kubernetes.io/name` and
//! `app.kubernetes.io/managed-by`, workload annotations on the Deployment and its pods,
//! service ports with `targetPort` defaulting to `port`, probes and resources as written.
//! Where score-k8s leaves gaps (secrets, `before`), baton fills them the Kubernetes way:
//! sensitive variables are `secretKeyRef`s, `before` becomes init and native sidecar
//! containers.
//!
//! Two manifests come out: `<name>.yaml` (ConfigMap, Deployment, Service) never holds a
//! secret; `<name>.secrets.yaml` (the Secret) exists only when there are secrets and is
//! sensitive.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapProjection, Container, EnvVar, EnvVarSource, ExecAction, HTTPGetAction,
    HTTPHeader, HostPathVolumeSource, KeyToPath, PersistentVolumeClaimVolumeSource, PodSpec,
    PodTemplateSpec, Probe, ProjectedVolumeSource, ResourceRequirements, Secret, SecretKeySelector,
    SecretProjection, Service, ServicePort, ServiceSpec, Volume, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::score::model::{self, ResourceAmounts};

use super::marks::Marks;
use super::order::{Role, role, start_order};
use super::{
    Encoding, FileContent, Manifest, ResolvedContainer, ResolvedWorkload, SENSITIVE_MODE,
    parse_mode, yaml,
};

/// Label with the workload name; also the selector of the Deployment and the Service.
const NAME_LABEL: &str = "app.kubernetes.io/name";
/// Label naming the tool that owns the objects.
const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The pod volume that projects every file of the workload.
const FILES_VOLUME: &str = "files";

/// Options of the Kubernetes renderer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubernetesOptions {
    /// Namespace to set on every object; none leaves it to `kubectl apply -n`.
    pub namespace: Option<String>,
}

/// Renders one workload: `<name>.yaml` with the ConfigMap (when there are non-sensitive
/// files), the Deployment and the Service (when there are ports), and `<name>.secrets.yaml`
/// with the Secret (when there are sensitive variables or files). Sorted by path.
pub fn kubernetes(w: &ResolvedWorkload, opts: &KubernetesOptions) -> Vec<Manifest> {
    let mut r = Renderer::new(w, opts);
    let order = start_order(&w.containers);
    let mut init = Vec::new();
    let mut main = Vec::new();
    for name in order {
        let c = &w.containers[name];
        let container = r.container(name, c);
        match role(&c.spec) {
            Role::Main => main.push(container),
            // Kubernetes rejects probes on init containers that run to completion.
            Role::Init => init.push(Container {
                liveness_probe: None,
                readiness_probe: None,
                ..container
            }),
            Role::Sidecar { healthy } => init.push(sidecar(container, &c.spec, healthy)),
        }
    }
    // Main containers in name order; init containers in start order (it matters there).
    main.sort_by(|a, b| a.name.cmp(&b.name));
    r.finish(init, main)
}

/// A `started`/`healthy` container as a native sidecar: an init container that keeps
/// running (`restartPolicy: Always`). For `healthy`, its readiness probe becomes a startup
/// probe, which the kubelet waits for before starting the next containers.
fn sidecar(mut c: Container, spec: &model::Container, healthy: bool) -> Container {
    c.restart_policy = Some("Always".into());
    if healthy {
        c.startup_probe = spec
            .readiness_probe
            .as_ref()
            .or(spec.liveness_probe.as_ref())
            .map(probe);
    }
    c
}

/// State of one rendering: the objects' shared data and the marks of both manifests.
struct Renderer<'a> {
    w: &'a ResolvedWorkload,
    opts: &'a KubernetesOptions,
    /// Marks of `<name>.yaml`.
    main: Marks,
    /// Marks of `<name>.secrets.yaml`.
    secret: Marks,
    config_text: BTreeMap<String, String>,
    config_binary: BTreeMap<String, ByteString>,
    secret_data: BTreeMap<String, ByteString>,
    /// Projected items from the ConfigMap and from the Secret.
    config_items: Vec<KeyToPath>,
    secret_items: Vec<KeyToPath>,
    volumes: Vec<Volume>,
}

impl<'a> Renderer<'a> {
    fn new(w: &'a ResolvedWorkload, opts: &'a KubernetesOptions) -> Self {
        Renderer {
            w,
            opts,
            main: Marks::default(),
            secret: Marks::secret(),
            config_text: BTreeMap::new(),
            config_binary: BTreeMap::new(),
            secret_data: BTreeMap::new(),
            config_items: Vec::new(),
            secret_items: Vec::new(),
            volumes: Vec::new(),
        }
    }

    fn config_map_name(&self) -> String {
        format!("{}-files", self.w.name)
    }

    fn secret_name(&self) -> String {
        format!("{}-secrets", self.w.name)
    }

    fn container(&mut self, name: &str, c: &ResolvedContainer) -> Container {
        let spec = &c.spec;
        let mut mounts = self.files(name, c);
        mounts.extend(self.volumes(c));
        mounts.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));
        Container {
            name: name.to_string(),
            image: Some(spec.image.clone()),
            // As written (as score-k8s does): the kubelet reduces `$$` to `$` and expands
            // `$(VAR)`, so Score's `$$` escape reaches the container as one `$`.
            command: spec.command.clone(),
            args: spec.args.clone(),
            env: non_empty(self.env(name, c)),
            volume_mounts: non_empty(mounts),
            resources: spec.resources.as_ref().and_then(resources),
            liveness_probe: spec.liveness_probe.as_ref().map(probe),
            readiness_probe: spec.readiness_probe.as_ref().map(probe),
            ..Container::default()
        }
    }

    /// Environment variables; a sensitive one is a key of the Secret, referenced.
    fn env(&mut self, container: &str, c: &ResolvedContainer) -> Vec<EnvVar> {
        let mut out = Vec::new();
        for (i, (var, value)) in c.variables.iter().enumerate() {
            if value.contains_sensitive() {
                let key = env_key(container, var, i);
                let text = self.secret.text(value);
                self.secret_data
                    .insert(key.clone(), ByteString(text.into_bytes()));
                out.push(EnvVar {
                    name: var.clone(),
                    value_from: Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: self.secret_name(),
                            key,
                            optional: None,
                        }),
                        ..EnvVarSource::default()
                    }),
                    ..EnvVar::default()
                });
            } else {
                out.push(EnvVar {
                    name: var.clone(),
                    value: Some(self.main.text(value)),
                    value_from: None,
                });
            }
        }
        out
    }

    /// Files: each a key of the ConfigMap (text in `data`, bytes in `binaryData`) or of the
    /// Secret, projected into the shared files volume and mounted with `subPath` at its
    /// target (so the rest of the target directory stays as the image has it).
    fn files(&mut self, container: &str, c: &ResolvedContainer) -> Vec<VolumeMount> {
        let mut mounts = Vec::new();
        for (i, (target, file)) in c.files.iter().enumerate() {
            let key = file_key(container, target, i);
            let item = KeyToPath {
                key: key.clone(),
                path: key.clone(),
                mode: file.mode.as_deref().and_then(parse_mode).map(|m| m as i32),
            };
            match &file.content {
                FileContent::Text(v) if v.contains_sensitive() => {
                    let text = self.secret.text(v);
                    self.secret_data
                        .insert(key.clone(), ByteString(text.into_bytes()));
                    self.secret_items.push(item);
                }
                FileContent::Text(v) => {
                    let text = self.main.text(v);
                    self.config_text.insert(key.clone(), text);
                    self.config_items.push(item);
                }
                FileContent::Binary(bytes) => {
                    self.config_binary
                        .insert(key.clone(), ByteString(bytes.clone()));
                    self.config_items.push(item);
                }
            }
            mounts.push(VolumeMount {
                name: FILES_VOLUME.into(),
                mount_path: target.clone(),
                sub_path: Some(key),
                read_only: Some(true),
                ..VolumeMount::default()
            });
        }
        mounts
    }

    /// Volumes: an absolute host path is a `hostPath`, anything else names a PVC.
    fn volumes(&mut self, c: &ResolvedContainer) -> Vec<VolumeMount> {
        let mut mounts = Vec::new();
        for (target, vol) in &c.volumes {
            // Pod-wide unique names, in the stable order containers and targets are visited.
            let name = format!("vol-{}", self.volumes.len());
            // A secret source (unusual) cannot move to the Secret: it marks this manifest
            // sensitive instead of being hidden.
            let source = self.main.text(&vol.source);
            let mut volume = Volume {
                name: name.clone(),
                ..Volume::default()
            };
            if source.starts_with('/') {
                volume.host_path = Some(HostPathVolumeSource {
                    path: source,
                    type_: None,
                });
            } else {
                volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                    claim_name: source,
                    read_only: vol.read_only.then_some(true),
                });
            }
            self.volumes.push(volume);
            mounts.push(VolumeMount {
                name,
                mount_path: target.clone(),
                sub_path: vol.path.clone().filter(|p| !p.is_empty()),
                read_only: vol.read_only.then_some(true),
                ..VolumeMount::default()
            });
        }
        mounts
    }

    /// Object metadata; workload annotations go on the Deployment and Service only (the
    /// objects they describe), not on the ConfigMap and Secret.
    fn metadata(&self, name: String, annotated: bool) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: self.opts.namespace.clone(),
            labels: Some(self.labels()),
            annotations: if annotated {
                non_empty_map(self.w.annotations.clone())
            } else {
                None
            },
            ..ObjectMeta::default()
        }
    }

    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (NAME_LABEL.into(), self.w.name.clone()),
            (MANAGED_BY_LABEL.into(), "baton".into()),
        ])
    }

    fn selector(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(NAME_LABEL.into(), self.w.name.clone())])
    }

    fn finish(mut self, init: Vec<Container>, main: Vec<Container>) -> Vec<Manifest> {
        let mut docs = Vec::new();
        let mut sources = Vec::new();
        if !self.config_items.is_empty() {
            docs.push(to_json(&ConfigMap {
                metadata: self.metadata(self.config_map_name(), false),
                data: non_empty_map(std::mem::take(&mut self.config_text)),
                binary_data: non_empty_map(std::mem::take(&mut self.config_binary)),
                ..ConfigMap::default()
            }));
            sources.push(VolumeProjection {
                config_map: Some(ConfigMapProjection {
                    name: self.config_map_name(),
                    items: Some(std::mem::take(&mut self.config_items)),
                    optional: None,
                }),
                ..VolumeProjection::default()
            });
        }
        if !self.secret_items.is_empty() {
            sources.push(VolumeProjection {
                secret: Some(SecretProjection {
                    name: self.secret_name(),
                    items: Some(std::mem::take(&mut self.secret_items)),
                    optional: None,
                }),
                ..VolumeProjection::default()
            });
        }
        let mut volumes = std::mem::take(&mut self.volumes);
        if !sources.is_empty() {
            volumes.insert(
                0,
                Volume {
                    name: FILES_VOLUME.into(),
                    projected: Some(ProjectedVolumeSource {
                        sources: Some(sources),
                        default_mode: None,
                    }),
                    ..Volume::default()
                },
            );
        }
        docs.push(to_json(&self.deployment(init, main, volumes)));
        if let Some(service) = self.service() {
            docs.push(to_json(&service));
        }

        let mut out = Vec::new();
        if !self.secret_data.is_empty() {
            let secret = Secret {
                metadata: self.metadata(self.secret_name(), false),
                type_: Some("Opaque".into()),
                data: Some(std::mem::take(&mut self.secret_data)),
                ..Secret::default()
            };
            out.push(Manifest {
                path: format!("{}.secrets.yaml", self.w.name),
                content: self.secret.content(yaml::document(&to_json(&secret))),
                mode: Some(SENSITIVE_MODE),
                encoding: Encoding::Text,
            });
        }
        out.push(Manifest {
            path: format!("{}.yaml", self.w.name),
            content: self.main.content(yaml::documents(&docs)),
            mode: self.main.mode(None),
            encoding: Encoding::Text,
        });
        out
    }

    fn deployment(
        &self,
        init: Vec<Container>,
        containers: Vec<Container>,
        volumes: Vec<Volume>,
    ) -> Deployment {
        // Annotations on the pods too: that is where most tools read them (score-k8s).
        let pod_meta = ObjectMeta {
            labels: Some(self.labels()),
            annotations: non_empty_map(self.w.annotations.clone()),
            ..ObjectMeta::default()
        };
        Deployment {
            metadata: self.metadata(self.w.name.clone(), true),
            spec: Some(DeploymentSpec {
                selector: LabelSelector {
                    match_labels: Some(self.selector()),
                    match_expressions: None,
                },
                template: PodTemplateSpec {
                    metadata: Some(pod_meta),
                    spec: Some(PodSpec {
                        init_containers: non_empty(init),
                        containers,
                        volumes: non_empty(volumes),
                        ..PodSpec::default()
                    }),
                },
                ..DeploymentSpec::default()
            }),
            status: None,
        }
    }

    fn service(&self) -> Option<Service> {
        if self.w.service_ports.is_empty() {
            return None;
        }
        let ports = self
            .w
            .service_ports
            .iter()
            .map(|(name, p)| ServicePort {
                name: Some(name.clone()),
                port: i32::from(p.port),
                target_port: Some(IntOrString::Int(i32::from(p.target_port.unwrap_or(p.port)))),
                protocol: Some(p.protocol.as_deref().unwrap_or("TCP").to_ascii_uppercase()),
                ..ServicePort::default()
            })
            .collect();
        Some(Service {
            metadata: self.metadata(self.w.name.clone(), true),
            spec: Some(ServiceSpec {
                selector: Some(self.selector()),
                ports: Some(ports),
                ..ServiceSpec::default()
            }),
            status: None,
        })
    }
}

/// A Score probe as a Kubernetes probe (score-k8s `buildProbe`).
fn probe(p: &model::Probe) -> Probe {
    let http_get = p.http_get.as_ref().map(|h| HTTPGetAction {
        path: Some(h.path.clone()),
        port: IntOrString::Int(i32::from(h.port)),
        host: h.host.clone(),
        scheme: h.scheme.clone(),
        http_headers: non_empty(
            h.http_headers
                .iter()
                .map(|x| HTTPHeader {
                    name: x.name.clone(),
                    value: x.value.clone(),
                })
                .collect(),
        ),
    });
    let exec = match http_get {
        Some(_) => None,
        None => p.exec.as_ref().map(|e| ExecAction {
            command: Some(e.command.clone()),
        }),
    };
    Probe {
        http_get,
        exec,
        ..Probe::default()
    }
}

fn resources(r: &model::ContainerResources) -> Option<ResourceRequirements> {
    fn list(a: &Option<ResourceAmounts>) -> Option<BTreeMap<String, Quantity>> {
        let a = a.as_ref()?;
        let m: BTreeMap<String, Quantity> = [("cpu", &a.cpu), ("memory", &a.memory)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), Quantity(v.clone()))))
            .collect();
        non_empty_map(m)
    }
    let out = ResourceRequirements {
        limits: list(&r.limits),
        requests: list(&r.requests),
        claims: None,
    };
    (out.limits.is_some() || out.requests.is_some()).then_some(out)
}

/// Secret key of a variable: `<container>.env.<VAR>`, or by index when the name has
/// characters a key cannot (keys are `[-._a-zA-Z0-9]+`).
fn env_key(container: &str, var: &str, index: usize) -> String {
    if var
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        format!("{container}.env.{var}")
    } else {
        format!("{container}.env-{index}")
    }
}

/// ConfigMap/Secret key of a file: unique by container and index, readable by the file's
/// base name (sanitized to the key alphabet).
fn file_key(container: &str, target: &str, index: usize) -> String {
    let base: String = target
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if base.is_empty() {
        format!("{container}.file-{index}")
    } else {
        format!("{container}.file-{index}.{base}")
    }
}

fn to_json<T: Serialize>(object: &T) -> serde_json::Value {
    // k8s-openapi objects always serialize (string keys, no non-finite floats).
    serde_json::to_value(object).unwrap_or_default()
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn non_empty_map<K, V>(m: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    (!m.is_empty()).then_some(m)
}
