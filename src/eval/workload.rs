//! A workload's manifests node: its containers' files, variables and the target's
//! manifests.

use super::*;

impl Context<'_> {
    /// The desired attributes of a workload's manifests node.
    pub fn eval_workload(&self, name: &str, values: &Values) -> Result<Attrs, Diagnostic> {
        let lw = self
            .workload(name)
            .expect("workload nodes come from the project");
        let w = &lw.workload;
        let at = lw.root.pointer("/metadata/name").map(|n| n.span);
        // A failed placeholder is underlined where it is written in its string.
        let fail = |pointer: String, e: Unresolved| {
            let span = crate::score::semantic::span_within(
                &lw.root,
                self.sources,
                &pointer,
                &e.placeholder(),
            )
            .or(at);
            err(
                "generate/placeholder",
                format!("workload `{name}`: {e}"),
                span,
            )
            .pointer(pointer)
        };
        let mut containers = BTreeMap::new();
        // The strings were parsed when the workload was loaded, in the order of its maps.
        for ((cname, c), parsed) in w.containers.iter().zip(&lw.templates.containers) {
            let mut variables = crate::value::Map::new();
            for ((k, v), t) in c.variables.iter().zip(&parsed.variables) {
                let ptr = crate::score::yaml::to_pointer(&["containers", cname, "variables", k]);
                let val = self
                    .substitute(lw, v, t, values, "")
                    .map_err(|e| fail(ptr, e))?;
                variables.insert(k.clone(), stringify(val));
            }
            let mut files = BTreeMap::new();
            for ((target_path, f), t) in c.files.iter().zip(&parsed.files) {
                let ptr =
                    crate::score::yaml::to_pointer(&["containers", cname, "files", target_path]);
                let content = if let Some(b64) = &f.binary_content {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|e| {
                            let span = lw.root.pointer(&ptr).map(|n| n.span).or(at);
                            err(
                                "generate/placeholder",
                                format!("workload `{name}`: binaryContent is not base64: {e}"),
                                span,
                            )
                            .pointer(ptr.clone())
                        })?;
                    target::FileContent::Binary(bytes)
                } else {
                    let plain = Template::Plain;
                    let (text, template) = match (&f.content, &f.source) {
                        (Some(text), _) => (text.as_str(), t.as_ref().unwrap_or(&plain)),
                        (None, Some(_)) => match self.file_sources.get(&(
                            name.to_string(),
                            cname.clone(),
                            target_path.clone(),
                        )) {
                            Some(SourceFile::Text(text, template)) => (text.as_str(), template),
                            Some(SourceFile::Binary(bytes)) => {
                                files.insert(
                                    target_path.clone(),
                                    target::ResolvedFile {
                                        content: target::FileContent::Binary(bytes.clone()),
                                        mode: f.mode.clone(),
                                    },
                                );
                                continue;
                            }
                            None => ("", &plain),
                        },
                        (None, None) => ("", &plain),
                    };
                    target::FileContent::Text(stringify(
                        self.substitute(lw, text, template, values, "")
                            .map_err(|e| fail(ptr, e))?,
                    ))
                };
                files.insert(
                    target_path.clone(),
                    target::ResolvedFile {
                        content,
                        mode: f.mode.clone(),
                    },
                );
            }
            let mut volumes = BTreeMap::new();
            for ((target_path, v), t) in c.volumes.iter().zip(&parsed.volumes) {
                let ptr = crate::score::yaml::to_pointer(&[
                    "containers",
                    cname,
                    "volumes",
                    target_path,
                    "source",
                ]);
                let source = self
                    .substitute(lw, &v.source, t, values, "source")
                    .map_err(|e| fail(ptr, e))?;
                volumes.insert(
                    target_path.clone(),
                    target::ResolvedVolume {
                        source: stringify(source),
                        path: v.path.clone(),
                        read_only: v.read_only.unwrap_or(false),
                    },
                );
            }
            containers.insert(
                cname.clone(),
                target::ResolvedContainer {
                    spec: c.clone(),
                    variables,
                    files,
                    volumes,
                },
            );
        }
        let annotations = w
            .metadata
            .get("annotations")
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let resolved = target::ResolvedWorkload {
            name: name.to_string(),
            annotations,
            containers,
            service_ports: w
                .service
                .as_ref()
                .map(|s| s.ports.clone())
                .unwrap_or_default(),
        };
        let (dir, manifests) = match &self.env.target {
            Target::Kubernetes { dir, namespace } => {
                let opts = target::KubernetesOptions {
                    namespace: namespace.clone(),
                };
                (dir.clone(), target::kubernetes(&resolved, &opts))
            }
            Target::Compose { dir } => {
                let opts = target::ComposeOptions {
                    project: Some(name.to_string()),
                };
                let ms = target::compose(std::slice::from_ref(&resolved), &opts);
                (format!("{dir}/{name}"), ms)
            }
        };
        let mut files = crate::value::Map::new();
        let mut secret_files = crate::value::Map::new();
        let mut base64_paths = Vec::new();
        for m in manifests {
            if m.encoding == target::Encoding::Base64 {
                base64_paths.push(Value::string(m.path.clone()));
            }
            if m.content.contains_sensitive() || m.mode == Some(target::SENSITIVE_MODE) {
                secret_files.insert(m.path, m.content.reveal());
            } else {
                files.insert(m.path, m.content);
            }
        }
        let mut attrs = Attrs::new();
        attrs.insert("dir".into(), Value::string(dir));
        attrs.insert("files".into(), Value::Map(files));
        attrs.insert(
            "secret_files".into(),
            Value::sensitive(Value::Map(secret_files)),
        );
        if !base64_paths.is_empty() {
            attrs.insert("base64_paths".into(), Value::List(base64_paths));
        }
        Ok(attrs)
    }
}
