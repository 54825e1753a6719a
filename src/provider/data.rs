//! `baton`: `baton_data`, with the semantics of Terraform's `terraform_data`: a value
//! kept in state (`input` → `output`), and `triggers_replace` to force replacement.
//! Useful in modules to pass values along and to tie a replacement to something else,
//! and the fair unit of an engine benchmark (no system behind it).

use super::{AttrSchema, AttrType, Attrs, KindSchema, Provider, ProviderError};
use crate::value::Value;

/// The `baton` provider.
pub struct DataProvider;

fn schema() -> KindSchema {
    KindSchema {
        kind: "baton_data",
        provider: "baton",
        description: "A value stored in state: `output` is `input`; `triggers_replace` forces replacement.",
        attributes: vec![
            AttrSchema::optional(
                "input",
                AttrType::Any,
                "Any value; copied to `output` on apply.",
            ),
            AttrSchema::optional(
                "triggers_replace",
                AttrType::Any,
                "Any value; a change replaces the object.",
            )
            .force_new(),
            AttrSchema::computed("output", AttrType::Any, "`input` as of the last apply.")
                .volatile(),
            AttrSchema::computed("id", AttrType::String, "A unique id, fixed at create."),
        ],
        create_before_destroy: false,
    }
}

#[async_trait::async_trait]
impl Provider for DataProvider {
    fn name(&self) -> &'static str {
        "baton"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![schema()]
    }

    fn proof(&self, _kind: &str) -> crate::provider::Proof {
        crate::provider::Proof::Intrinsic
    }

    fn read_recorded(&self, _kind: &str, prior: &Attrs) -> Option<bool> {
        // State is the only home of this value; without `id` it was never made.
        Some(prior.contains_key("id"))
    }

    async fn read(&self, _kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        // State is the only home of this value; without `id` it was never made.
        Ok(prior.contains_key("id").then(|| prior.clone()))
    }

    async fn create(
        &self,
        _kind: &str,
        config: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        let mut out = config.clone();
        out.insert(
            "output".into(),
            config.get("input").cloned().unwrap_or(Value::Null),
        );
        out.insert("id".into(), Value::string(uuid::Uuid::new_v4().to_string()));
        Ok(out)
    }

    async fn update(
        &self,
        _kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let mut out = config.clone();
        out.insert(
            "output".into(),
            config.get("input").cloned().unwrap_or(Value::Null),
        );
        out.insert("id".into(), prior.get("id").cloned().unwrap_or(Value::Null));
        Ok(out)
    }

    async fn delete(&self, _kind: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        Ok(())
    }
}
