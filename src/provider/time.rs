//! `time`: `time_sleep`, which waits on create (and optionally on destroy). Useful to
//! order things that need time to settle, and as the unit of scheduler benchmarks.

use std::time::Duration;

use super::{AttrSchema, AttrType, Attrs, KindSchema, Provider, ProviderError, str_attr};
use crate::value::Value;

/// The `time` provider.
pub struct TimeProvider;

fn schema() -> KindSchema {
    KindSchema {
        kind: "time_sleep",
        provider: "time",
        description: "Waits for a duration when created (and optionally when destroyed).",
        attributes: vec![
            AttrSchema::optional(
                "create_duration",
                AttrType::String,
                "How long to wait on create, e.g. \"30s\", \"50ms\".",
            )
            .force_new(),
            AttrSchema::optional(
                "destroy_duration",
                AttrType::String,
                "How long to wait on destroy.",
            ),
            AttrSchema::optional(
                "triggers",
                AttrType::Map,
                "Arbitrary values; changing them re-creates (and waits again).",
            )
            .force_new(),
            AttrSchema::computed("id", AttrType::String, "When the wait finished (RFC 3339)."),
        ],
        create_before_destroy: false,
    }
}

fn duration(attrs: &Attrs, name: &str) -> Result<Option<Duration>, ProviderError> {
    match str_attr(attrs, name) {
        None => Ok(None),
        Some(s) => humantime::parse_duration(s).map(Some).map_err(|e| {
            ProviderError::Invalid(format!(
                "`{name}` = {s:?} is not a duration like \"30s\" or \"50ms\": {e}"
            ))
        }),
    }
}

#[async_trait::async_trait]
impl Provider for TimeProvider {
    fn name(&self) -> &'static str {
        "time"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![schema()]
    }

    fn proof(&self, _kind: &str) -> crate::provider::Proof {
        crate::provider::Proof::Intrinsic
    }

    async fn read(&self, _kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        // Without `id` (an interrupted create) the wait never finished.
        Ok(prior.contains_key("id").then(|| prior.clone()))
    }

    async fn create(
        &self,
        _kind: &str,
        config: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        if let Some(d) = duration(config, "create_duration")? {
            tokio::time::sleep(d).await;
        }
        let mut out = config.clone();
        out.insert(
            "id".into(),
            Value::string(
                humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            ),
        );
        Ok(out)
    }

    async fn update(
        &self,
        _kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        duration(config, "destroy_duration")?;
        let mut out = config.clone();
        out.insert("id".into(), prior.get("id").cloned().unwrap_or(Value::Null));
        Ok(out)
    }

    async fn delete(&self, _kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        if let Some(d) = duration(prior, "destroy_duration")? {
            tokio::time::sleep(d).await;
        }
        Ok(())
    }
}
