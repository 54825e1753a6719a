//! A resource request's params: Score params with placeholders substituted, converted
//! to the module's param types, defaults applied, validations checked.

use super::*;

impl Context<'_> {
    /// The typed params of a uid: Score params (placeholders substituted), converted to
    /// the module's param types, defaults applied, validations checked.
    pub fn eval_params(&self, uid: &Uid, values: &Values) -> Result<crate::value::Map, Diagnostic> {
        let m = self.module(uid);
        let (decl, at) = match self.uids.get(uid) {
            Some(info) => (info.decl, info.span),
            None => (
                &self.project.resources[uid],
                self.spans.get(uid).copied().flatten(),
            ),
        };
        let given: Vec<(&String, Value)> = match &decl.params {
            None => Vec::new(),
            Some(params) => {
                // The workload whose definition supplied these params resolves their
                // placeholders, with the strings parsed when it was loaded.
                let only = decl.requested_by.len() == 1;
                let (source, templates) = decl
                    .requested_by
                    .iter()
                    .find_map(|(w, r)| {
                        let lw = self.workload(w)?;
                        let (i, (_, req)) = lw
                            .workload
                            .resources
                            .iter()
                            .enumerate()
                            .find(|(_, (name, _))| *name == r)?;
                        let supplied = only || req.params.as_ref() == Some(params);
                        supplied.then(|| lw.templates.params.get(i).map(|t| (lw, t)))?
                    })
                    .ok_or_else(|| {
                        err(
                            "internal/params",
                            format!("internal error: no workload defines the params of {uid}"),
                            at,
                        )
                    })?;
                let mut templates = templates.iter();
                params
                    .iter()
                    .map(|(k, v)| {
                        self.substitute_json(source, v, &mut templates, values)
                            .map(|x| (k, x))
                            .map_err(|e| {
                                err(
                                    "generate/params",
                                    format!("params of `{uid}`: {e}"),
                                    self.project.param_span(decl, k, false).or(at),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let mut out = crate::value::Map::with_capacity(m.params.len());
        for (k, v) in given {
            // A Score file may carry params meant for another environment's module (the
            // same file plans everywhere); params this module does not declare are ignored.
            // `baton validate` warns about them, with a "did you mean".
            let Some(p) = m.params.iter().find(|p| &p.name == k) else {
                continue;
            };
            let converted = p.ty.convert_owned(v).map_err(|why| {
                err(
                    "generate/param-type",
                    format!("param `{k}` of `{uid}`: {why}"),
                    self.project.param_span(decl, k, false).or(at),
                )
            })?;
            out.insert(
                k.clone(),
                if p.sensitive {
                    Value::sensitive(converted)
                } else {
                    converted
                },
            );
        }
        for p in &m.params {
            if out.contains_key(&p.name) {
                continue;
            }
            match &p.default {
                Some(d) => {
                    out.insert(p.name.clone(), d.clone());
                }
                None => {
                    return Err(err(
                        "generate/missing-param",
                        format!("`{uid}` needs param `{}`", p.name),
                        at,
                    )
                    .detail(format!(
                        "module `{}` declares it without a default{}",
                        m.name,
                        if p.description.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", p.description)
                        }
                    ))
                    .help(format!(
                        "set `params: {{{}: ...}}` on the resource in the Score file",
                        p.name
                    )));
                }
            }
        }
        if m.params.iter().all(|p| p.validations.is_empty()) {
            return Ok(out);
        }
        let mut scope = Scope {
            vars: crate::value::Map::new(),
        };
        scope.vars.insert("param".into(), Value::Map(out.clone()));
        scope.vars.insert("score".into(), self.score_vars(uid));
        let roots = self.module_roots.get(self.module_index(uid));
        if roots.is_none_or(|r| r.resources.contains("environment")) {
            scope
                .vars
                .insert("environment".into(), self.environment_vars.clone());
        }
        if self
            .module_roots
            .get(self.module_index(uid))
            .is_none_or(|r| r.resources.contains("workloads"))
        {
            scope.vars.insert("workloads".into(), self.workloads_var());
        }
        for p in &m.params {
            for v in &p.validations {
                match crate::expr::eval(&v.condition, &scope) {
                    Ok(c) if c.is_unknown() || c.as_bool() == Some(true) => {}
                    Ok(_) => {
                        return Err(err(
                            "generate/param-invalid",
                            format!("param `{}` of `{uid}`: {}", p.name, v.error_message),
                            self.project.param_span(decl, &p.name, false).or(at),
                        )
                        .note(v.span, "checked here"));
                    }
                    Err(e) => {
                        return Err(hcl::eval_diagnostic(
                            m.file,
                            Stage::Generate,
                            "generate/eval",
                            e,
                            v.span,
                        ));
                    }
                }
            }
        }
        Ok(out)
    }
}
