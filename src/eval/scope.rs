//! The variables an expression of a module sees (`score`, `provider`, `environment`,
//! `workloads`, params, resources), and Score placeholders substituted.

use super::*;

impl Context<'_> {
    pub(super) fn provider_vars(&self) -> Value {
        self.provider_vars.clone()
    }

    /// `workloads.*`: every workload of the run by name, with the ports it publishes
    /// under `service.ports` (`workloads.NAME.ports.PORT.{port, target_port, protocol}`),
    /// each by its name and by its port number as text, as score-compose's
    /// provisioners see them, so a module can take either.
    pub(super) fn workloads_var(&self) -> Value {
        self.workloads
            .get_or_init(|| {
                let mut all = crate::value::Map::new();
                for lw in &self.project.workloads {
                    let mut ports = crate::value::Map::new();
                    let published = lw.workload.service.as_ref().map(|s| &s.ports);
                    for (name, p) in published.into_iter().flatten() {
                        let port = Value::Map(crate::value::Map::from([
                            ("port".to_string(), Value::int(i64::from(p.port))),
                            (
                                "target_port".to_string(),
                                Value::int(i64::from(p.target_port.unwrap_or(p.port))),
                            ),
                            (
                                "protocol".to_string(),
                                Value::string(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                            ),
                        ]));
                        ports
                            .entry(p.port.to_string())
                            .or_insert_with(|| port.clone());
                        ports.insert(name.clone(), port);
                    }
                    all.insert(
                        lw.workload.name().to_string(),
                        Value::Map(crate::value::Map::from([(
                            "ports".to_string(),
                            Value::Map(ports),
                        )])),
                    );
                }
                Value::Map(all)
            })
            .clone()
    }

    /// The scope of expressions in a uid's module.
    pub(super) fn scope(&self, uid: &Uid, values: &Values, for_outputs: bool) -> Scope {
        let m = self.module(uid);
        let mut vars = crate::value::Map::new();
        // Only the roots the module reads: a scope is built for every evaluation, and
        // cloning what no expression reads (the environment and provider maps are large)
        // was most of its cost.
        let roots = self.module_roots.get(self.module_index(uid)).map(|r| {
            if for_outputs {
                &r.outputs
            } else {
                &r.resources
            }
        });
        let reads = |root: &str| roots.is_none_or(|r| r.contains(root));
        if reads("param") {
            vars.insert(
                "param".into(),
                Value::Map(values.params.get(uid).cloned().unwrap_or_default()),
            );
        }
        if reads("score") {
            vars.insert("score".into(), self.score_vars(uid));
        }
        if reads("env") {
            vars.insert("env".into(), self.env_vars.clone());
        }
        if reads("provider") {
            vars.insert("provider".into(), self.provider_vars());
        }
        if reads("environment") {
            vars.insert("environment".into(), self.environment_vars.clone());
        }
        if reads("workloads") {
            vars.insert("workloads".into(), self.workloads_var());
        }
        let mut address = String::new();
        for r in m.resources.iter().filter(|r| reads(&r.kind)) {
            write_resource_address(&mut address, uid, &r.kind, &r.name);
            let attrs = values
                .resources
                .get(address.as_str())
                .map(|a| Attrs::clone(a))
                .unwrap_or_default();
            let entry = vars
                .entry(r.kind.clone())
                .or_insert_with(|| Value::Map(crate::value::Map::new()));
            if let Value::Map(by_name) = entry {
                by_name.insert(r.name.clone(), Value::Map(attrs));
            }
        }
        Scope { vars }
    }

    /// Resolves a Score placeholder of workload `w` to a value.
    pub(super) fn resolve_ref(
        &self,
        w: &LoadedWorkload,
        r: &Ref,
        values: &Values,
        whole_resource: &str,
    ) -> Result<Value, RefError> {
        match r {
            Ref::Metadata(keys) => {
                let meta = Json::Object(w.workload.metadata.clone());
                placeholder::lookup(&meta, keys)
                    .map(Value::from_json)
                    .map_err(RefError::Metadata)
            }
            Ref::Resource { name, output } => {
                let uid = w
                    .uid(name)
                    .ok_or_else(|| RefError::NoSuchResource { name: name.clone() })?;
                let outs = values
                    .outputs
                    .get(uid)
                    .ok_or_else(|| RefError::NoOutputsYet { name: name.clone() })?;
                if output.is_empty() {
                    // `${resources.NAME}`: the resource itself; for volumes its `source`.
                    return Ok(match whole_resource {
                        "source" => outs
                            .get("source")
                            .cloned()
                            .unwrap_or_else(|| Value::string(name.clone())),
                        _ => Value::string(name.clone()),
                    });
                }
                let key = &output[0];
                let mut v = outs.get(key).cloned().ok_or_else(|| {
                    if uid.kind == "environment" {
                        return RefError::VariableMissing {
                            name: key.clone(),
                            why: VariableMissing::of(self.env, key),
                        };
                    }
                    let known: Vec<String> = outs.keys().cloned().collect();
                    RefError::UnknownOutput {
                        key: key.clone(),
                        name: name.clone(),
                        kind: uid.kind.clone(),
                        suggestion: did_you_mean(key, known.iter().map(String::as_str))
                            .map(str::to_string),
                        known,
                    }
                })?;
                for k in &output[1..] {
                    let (inner, sensitive) = v.unmark();
                    let next = match inner {
                        Value::Unknown => Value::Unknown,
                        Value::Map(m) => m.get(k).cloned().ok_or_else(|| {
                            RefError::OutputPath(placeholder::LookupError::NotFound(k.clone()))
                        })?,
                        _ => {
                            return Err(RefError::OutputPath(placeholder::LookupError::NotAMap(
                                k.clone(),
                            )));
                        }
                    };
                    v = if sensitive {
                        Value::sensitive(next)
                    } else {
                        next
                    };
                }
                Ok(v)
            }
        }
    }

    /// Substitutes the placeholders of a Score string `text`, parsed when it was loaded
    /// as `template`. A string that is exactly one placeholder keeps the referenced
    /// value's type; otherwise the parts are joined as text (non-strings JSON-encoded).
    /// Unknown and sensitive marks propagate.
    pub fn substitute(
        &self,
        w: &LoadedWorkload,
        text: &str,
        template: &Template,
        values: &Values,
        whole_resource: &str,
    ) -> Result<Value, Unresolved> {
        let segments = match template {
            Template::Plain => return Ok(Value::String(text.to_string())),
            Template::Parts(segments) => segments,
        };
        if let [Segment::Placeholder(p)] = segments.as_slice() {
            let r = p.reference.as_ref().map_err(|_| Unresolved::new(p, None))?;
            return self
                .resolve_ref(w, r, values, whole_resource)
                .map_err(|e| Unresolved::new(p, Some(e)));
        }
        let mut out = String::new();
        let mut unknown = false;
        let mut sensitive = false;
        for seg in segments {
            match seg {
                Segment::Literal(l) => out.push_str(l),
                Segment::Placeholder(p) => {
                    let r = p.reference.as_ref().map_err(|_| Unresolved::new(p, None))?;
                    let v = self
                        .resolve_ref(w, r, values, whole_resource)
                        .map_err(|e| Unresolved::new(p, Some(e)))?;
                    sensitive |= v.contains_sensitive();
                    if v.contains_unknown() {
                        unknown = true;
                        continue;
                    }
                    let revealed = v.reveal();
                    match revealed.to_template_string() {
                        Some(t) => out.push_str(&t),
                        None => out.push_str(
                            &revealed
                                .to_json_revealed()
                                .unwrap_or(Json::Null)
                                .to_string(),
                        ),
                    }
                }
            }
        }
        let v = if unknown {
            Value::Unknown
        } else {
            Value::String(out)
        };
        Ok(if sensitive { Value::sensitive(v) } else { v })
    }

    /// Substitutes the placeholders of a params value `j`, whose strings were parsed
    /// when it was loaded: `templates` yields them depth first, in map and list order
    /// (see [`crate::score::semantic::Templates`]).
    pub(super) fn substitute_json<'t>(
        &self,
        w: &LoadedWorkload,
        j: &Json,
        templates: &mut impl Iterator<Item = &'t Template>,
        values: &Values,
    ) -> Result<Value, Unresolved> {
        Ok(match j {
            Json::String(s) => {
                let t = templates
                    .next()
                    .expect("every params string is parsed when its file loads");
                self.substitute(w, s, t, values, "")?
            }
            Json::Array(a) => Value::List(
                a.iter()
                    .map(|x| self.substitute_json(w, x, templates, values))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| {
                        self.substitute_json(w, v, templates, values)
                            .map(|x| (k.clone(), x))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => Value::from_json(other),
        })
    }
}
