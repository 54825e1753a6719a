//! A module's resources, their lifecycle rules, and the request's outputs.

use super::*;

impl Context<'_> {
    /// The desired attributes of primitive resource `ri` of `uid`'s module: expressions
    /// evaluated, defaults applied, computed attributes absent; sensitive ones marked.
    pub fn eval_resource(
        &self,
        uid: &Uid,
        ri: usize,
        values: &Values,
    ) -> Result<Attrs, Diagnostic> {
        let m = self.module(uid);
        let r = &m.resources[ri];
        let schema = self
            .registry
            .schema(&r.kind)
            .expect("kinds are checked when modules load");
        let scope = self.scope(uid, values, false);
        let mut out = Attrs::new();
        for a in &schema.attributes {
            if a.presence == Presence::Computed {
                continue;
            }
            let v = match r.attributes.get(a.name) {
                Some((e, span)) => {
                    let v = crate::expr::eval(e, &scope).map_err(|e| {
                        hcl::eval_diagnostic(m.file, Stage::Generate, "generate/eval", e, *span)
                    })?;
                    if !a.ty.accepts(&v) {
                        return Err(err(
                            "generate/attribute-type",
                            format!(
                                "`{}` of `{}.{}` must be {}, found {}",
                                a.name,
                                r.kind,
                                r.name,
                                a.ty.name(),
                                v.type_name()
                            ),
                            *span,
                        ));
                    }
                    if v.is_null() {
                        match a.default {
                            Some(d) => d(),
                            None => continue,
                        }
                    } else {
                        v
                    }
                }
                None => match a.default {
                    Some(d) => d(),
                    None => continue,
                },
            };
            out.insert(
                a.name.to_string(),
                if a.sensitive { Value::sensitive(v) } else { v },
            );
        }
        Ok(out)
    }

    /// The lifecycle rules of resource `ri` of `uid`, evaluated for this environment,
    /// with the Score annotation `baton.dev/prevent-destroy: "true"` folded in.
    pub fn eval_lifecycle(
        &self,
        uid: &Uid,
        ri: usize,
        values: &Values,
    ) -> Result<LifecycleValues, Diagnostic> {
        let m = self.module(uid);
        let r = &m.resources[ri];
        let has_rules = r.lifecycle.prevent_destroy.is_some()
            || r.lifecycle.create_before_destroy.is_some()
            || r.lifecycle.replace_triggered_by.is_some();
        // Most resources have no lifecycle expressions: build their scope only when needed.
        let scope = if has_rules {
            self.scope(uid, values, false)
        } else {
            Scope {
                vars: crate::value::Map::new(),
            }
        };
        let eval = |e: &Option<(hcl_edit::expr::Expression, Option<Span>)>| -> Result<Option<Value>, Diagnostic> {
            match e {
                None => Ok(None),
                Some((e, span)) => crate::expr::eval(e, &scope).map(Some).map_err(|err| hcl::eval_diagnostic(m.file, Stage::Generate, "generate/eval", err, *span)),
            }
        };
        let flag = |v: Option<Value>, what: &str, span: Option<Span>| -> Result<bool, Diagnostic> {
            match v {
                None => Ok(false),
                Some(v) if v.is_unknown() => Err(err(
                    "generate/lifecycle",
                    format!(
                        "`{what}` of `{}.{}` must be known when planning",
                        r.kind, r.name
                    ),
                    span,
                )),
                Some(v) => v.as_bool().ok_or_else(|| {
                    err(
                        "generate/lifecycle",
                        format!("`{what}` of `{}.{}` must be true or false", r.kind, r.name),
                        span,
                    )
                }),
            }
        };
        let mut prevent = flag(
            eval(&r.lifecycle.prevent_destroy)?,
            "prevent_destroy",
            r.lifecycle.prevent_destroy.as_ref().and_then(|x| x.1),
        )?;
        let mut rule = if prevent {
            format!(
                "`prevent_destroy` of `{}.{}` in module `{}` (environment `{}`)",
                r.kind, r.name, m.name, self.env.name
            )
        } else {
            String::new()
        };
        let decl = self.decl(uid);
        let annotated = decl
            .metadata
            .as_ref()
            .and_then(|md| md.get("annotations"))
            .and_then(|a| a.get("baton.dev/prevent-destroy"))
            .and_then(Json::as_str)
            .is_some_and(|v| v == "true");
        if annotated && !prevent {
            prevent = true;
            let (w, res) = decl.requested_by.first().cloned().unwrap_or_default();
            rule = format!(
                "the Score annotation `baton.dev/prevent-destroy: \"true\"` on resource `{res}` of workload `{w}`"
            );
        }
        let cbd = flag(
            eval(&r.lifecycle.create_before_destroy)?,
            "create_before_destroy",
            r.lifecycle.create_before_destroy.as_ref().and_then(|x| x.1),
        )?;
        let triggers = eval(&r.lifecycle.replace_triggered_by)?.map(|v| v.to_json_revealed());
        Ok(LifecycleValues {
            prevent_destroy: prevent,
            rule,
            create_before_destroy: cbd,
            triggers,
            ignore_changes: r.lifecycle.ignore_changes.clone(),
        })
    }

    /// The outputs of `uid`.
    pub fn eval_outputs(
        &self,
        uid: &Uid,
        values: &Values,
    ) -> Result<crate::value::Map, Diagnostic> {
        let m = self.module(uid);
        // Most outputs are one attribute of one of the module's resources: read in place.
        // The scope (copies of what the outputs read) is built for the others only.
        let mut scope: Option<Scope> = None;
        let mut out = crate::value::Map::with_capacity(m.outputs.len());
        for o in &m.outputs {
            let direct = crate::expr::resource_attribute(&o.value, |kind, name| {
                let r = m
                    .resources
                    .iter()
                    .find(|r| r.kind == kind && r.name == name)?;
                values
                    .resources
                    .get(resource_address(uid, &r.kind, &r.name).as_str())
                    .map(|a| &**a)
            });
            let v = match direct {
                Some(v) => v,
                None => {
                    let scope = scope.get_or_insert_with(|| self.scope(uid, values, true));
                    crate::expr::eval(&o.value, scope).map_err(|e| {
                        hcl::eval_diagnostic(m.file, Stage::Generate, "generate/eval", e, o.span)
                    })?
                }
            };
            let v = if o.sensitive { Value::sensitive(v) } else { v };
            if o.name == "*" {
                let (inner, sensitive) = v.unmark();
                match inner {
                    Value::Map(entries) => {
                        for (k, x) in entries {
                            out.insert(
                                k.clone(),
                                if sensitive {
                                    Value::sensitive(x.clone())
                                } else {
                                    x.clone()
                                },
                            );
                        }
                    }
                    Value::Unknown => {}
                    other => {
                        return Err(err(
                            "generate/output-star",
                            format!(
                                "output `*` of module `{}` must be a map, found {}",
                                m.name,
                                other.type_name()
                            ),
                            o.span,
                        ));
                    }
                }
            } else {
                out.insert(o.name.clone(), v);
            }
        }
        Ok(out)
    }
}
