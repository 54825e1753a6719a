//! Tests of the `aws` provider against moto's server (see `moto`), one per test
//! process. What the provider did is checked with direct SDK calls, never through the
//! provider; changes "made outside baton" are direct SDK calls too. Each test uses its
//! own names; the emulator and everything in it go away with the test process.
//!
//! The built-in `prod` modules are loaded here as well, against a registry holding this
//! provider, so a module that does not load fails these tests.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;

use super::config::{Clients, Settings};
use super::moto::moto;
use super::*;
use crate::provider::server::list_value;
use crate::value::Value;

pub(super) fn attrs(pairs: &[(&str, Value)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The marker of the test owner, the value of every ownership tag in these tests.
pub(super) fn marker() -> String {
    crate::provider::Owner::for_tests().marker()
}

/// An owner of another state than the tests' own.
pub(super) fn stranger() -> crate::provider::Owner {
    crate::provider::Owner::new("11111111-1111-4111-8111-111111111111", "test")
}

/// Pairs in key order (AWS lists tags in any order).
pub(super) fn sorted<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<_> = pairs.collect();
    v.sort();
    v
}

pub(super) fn s(v: &str) -> Value {
    Value::string(v)
}

pub(super) fn map(pairs: &[(&str, &str)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), s(v))).collect())
}

/// A name no other test (or run) uses: lower-case, as bucket names must be.
pub(super) fn uniq(what: &str) -> String {
    format!("baton-t-{what}-{:08x}", rand::random::<u32>())
}

pub(super) fn config() -> Attrs {
    attrs(&[
        ("endpoint", s(&moto().endpoint)),
        ("region", s("us-east-1")),
        ("access_key_id", s("testing")),
        ("secret_access_key", Value::sensitive(s("testing"))),
    ])
}

/// Short waits: moto is consistent at once, so read-after-create retries only slow
/// down the drift checks.
pub(super) fn quick() -> Backoff {
    Backoff {
        initial: Duration::from_millis(20),
        max_delay: Duration::from_millis(50),
        budget: Duration::from_millis(200),
    }
}

pub(super) fn provider() -> AwsProvider {
    AwsProvider::new(&config()).with_backoff(quick())
}

/// SDK clients for checks, independent of the provider's.
pub(super) async fn direct() -> Clients {
    Clients::build(
        &Settings::from_config(&config()).unwrap(),
        Duration::from_secs(5),
    )
    .await
}

pub(super) fn schema(p: &AwsProvider, kind: &str) -> KindSchema {
    p.kinds().into_iter().find(|k| k.kind == kind).unwrap()
}

pub(super) fn string_map(m: &Value) -> BTreeMap<String, String> {
    m.as_map()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[tokio::test]
async fn s3_bucket_create_read_update_drift_delete() {
    let p = provider();
    let d = direct().await;
    let bucket = uniq("bucket");
    let sch = schema(&p, s3::BUCKET);
    assert!(
        sch.attr("bucket").unwrap().force_new,
        "a new name is a new bucket"
    );
    assert!(!sch.attr("versioning").unwrap().force_new && !sch.attr("tags").unwrap().force_new);

    let cfg = attrs(&[
        ("bucket", s(&bucket)),
        ("versioning", Value::Bool(true)),
        ("tags", map(&[("team", "web"), ("env", "prod")])),
    ]);
    let out = p
        .create(s3::BUCKET, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    assert_eq!(out["arn"], s(&format!("arn:aws:s3:::{bucket}")));
    assert_eq!(out["region"], s("us-east-1"));
    assert_eq!(
        out["block_public_access"],
        Value::Bool(true),
        "defaults are filled in"
    );
    assert_eq!(out["encryption"], s("AES256"));

    let v =
        d.s3.get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));
    let t =
        d.s3.get_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    let tags: BTreeMap<_, _> = t
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(
        tags,
        BTreeMap::from([
            ("env".into(), "prod".into()),
            ("team".into(), "web".into()),
            (OWNER_TAG.into(), marker()),
        ]),
        "the module's tags and the ownership tag, written with the bucket"
    );
    let pab =
        d.s3.get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        [
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
    let enc =
        d.s3.get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    assert_eq!(
        p.read(s3::BUCKET, &out).await.unwrap(),
        Some(out.clone()),
        "no drift right after create"
    );

    // Update in place.
    let mut cfg2 = cfg.clone();
    cfg2.insert("versioning".into(), Value::Bool(false));
    cfg2.insert("tags".into(), map(&[("team", "api")]));
    cfg2.insert("block_public_access".into(), Value::Bool(false));
    cfg2.insert("encryption".into(), s("aws:kms"));
    let out2 = p.update(s3::BUCKET, &out, &cfg2).await.unwrap();
    let v =
        d.s3.get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    assert_eq!(v.status().map(|s| s.as_str()), Some("Suspended"));
    let t =
        d.s3.get_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    assert_eq!(
        sorted(t.tag_set().iter().map(|t| (t.key(), t.value()))),
        [(OWNER_TAG, marker().as_str()), ("team", "api")],
        "an update replaces the module's tags and keeps the ownership tag"
    );
    assert!(
        d.s3.get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .is_err(),
        "the block is removed"
    );
    let enc =
        d.s3.get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "aws:kms"
    );
    assert_eq!(p.read(s3::BUCKET, &out2).await.unwrap(), Some(out2.clone()));

    // Back to the first configuration, then drift: a tag removed, versioning suspended.
    let out3 = p.update(s3::BUCKET, &out2, &cfg).await.unwrap();
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key("team")
                .value("web")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    d.s3.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(tagging)
        .send()
        .await
        .unwrap();
    d.s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let seen = p.read(s3::BUCKET, &out3).await.unwrap().unwrap();
    assert_eq!(seen["versioning"], Value::Bool(false));
    assert_eq!(
        string_map(&seen["tags"]),
        BTreeMap::from([("team".into(), "web".into())])
    );
    // Applying the configuration again converges.
    let fixed = p.update(s3::BUCKET, &seen, &cfg).await.unwrap();
    assert_eq!(
        p.read(s3::BUCKET, &fixed).await.unwrap(),
        Some(fixed.clone())
    );

    p.delete(s3::BUCKET, &fixed).await.unwrap();
    assert!(d.s3.head_bucket().bucket(&bucket).send().await.is_err());
    assert_eq!(p.read(s3::BUCKET, &fixed).await.unwrap(), None);
    p.delete(s3::BUCKET, &fixed).await.unwrap();
}

#[tokio::test]
async fn s3_non_empty_buckets_are_kept_unless_force_destroy() {
    let p = provider();
    let d = direct().await;
    let bucket = uniq("full");
    let cfg = attrs(&[("bucket", s(&bucket)), ("versioning", Value::Bool(true))]);
    let out = p
        .create(s3::BUCKET, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    // Two versions of one object, a deleted one (a delete marker), and a plain one.
    for (key, body) in [
        ("a.txt", "one"),
        ("a.txt", "two"),
        ("b.txt", "b"),
        ("dir/c.txt", "c"),
    ] {
        d.s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .unwrap();
    }
    d.s3.delete_object()
        .bucket(&bucket)
        .key("b.txt")
        .send()
        .await
        .unwrap();

    let e = p.delete(s3::BUCKET, &out).await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Failed(m) if m.contains("force_destroy") && m.contains(&bucket)),
        "{e:?}"
    );
    d.s3.head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the bucket was kept");

    let mut cfg2 = cfg.clone();
    cfg2.insert("force_destroy".into(), Value::Bool(true));
    let out2 = p.update(s3::BUCKET, &out, &cfg2).await.unwrap();
    p.delete(s3::BUCKET, &out2).await.unwrap();
    assert!(
        d.s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "deleted with everything in it"
    );

    // Taking over an existing bucket is refused.
    let other = uniq("taken");
    d.s3.create_bucket().bucket(&other).send().await.unwrap();
    let e = p
        .create(
            s3::BUCKET,
            &attrs(&[("bucket", s(&other))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ProviderError::NotOurs(m) if m.contains("already exists") && m.contains(&other)),
        "{e}"
    );
    assert!(
        d.s3.get_bucket_tagging()
            .bucket(&other)
            .send()
            .await
            .is_err(),
        "the refused bucket was not tagged"
    );
}

#[tokio::test]
async fn sqs_queue_create_read_update_drift_delete() {
    let p = provider();
    let d = direct().await;
    let sch = schema(&p, sqs::QUEUE);
    assert!(sch.attr("name").unwrap().force_new && sch.attr("fifo").unwrap().force_new);
    assert!(!sch.attr("visibility_timeout").unwrap().force_new);

    let dlq = p
        .create(
            sqs::QUEUE,
            &attrs(&[("name", s(&uniq("dlq")))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let dlq_arn = dlq["arn"].as_str().unwrap().to_string();
    assert!(dlq_arn.starts_with("arn:aws:sqs:us-east-1:"), "{dlq_arn}");
    let name = uniq("queue");
    let cfg = attrs(&[
        ("name", s(&name)),
        ("visibility_timeout", Value::int(45)),
        ("dead_letter_queue_arn", s(&dlq_arn)),
        ("max_receive_count", Value::int(3)),
        ("tags", map(&[("team", "web")])),
    ]);
    let out = p
        .create(sqs::QUEUE, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let url = out["url"].as_str().unwrap().to_string();
    let a = d
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let a = a.attributes().unwrap();
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    assert_eq!(a[&Q::VisibilityTimeout], "45");
    assert_eq!(a[&Q::MessageRetentionPeriod], "345600");
    let redrive: serde_json::Value = serde_json::from_str(&a[&Q::RedrivePolicy]).unwrap();
    assert_eq!(redrive["deadLetterTargetArn"], dlq_arn.as_str());
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "3"
    );
    let t = d
        .sqs
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(t.tags().unwrap()["team"], "web");
    assert_eq!(
        p.read(sqs::QUEUE, &out).await.unwrap(),
        Some(out.clone()),
        "no drift right after create"
    );

    // Update in place: timeout, no redrive, other tags.
    let cfg2 = attrs(&[
        ("name", s(&name)),
        ("visibility_timeout", Value::int(60)),
        ("tags", map(&[("owner", "ops")])),
    ]);
    let out2 = p.update(sqs::QUEUE, &out, &cfg2).await.unwrap();
    let a = d
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(Q::All)
        .send()
        .await
        .unwrap();
    let a = a.attributes().unwrap();
    assert_eq!(a[&Q::VisibilityTimeout], "60");
    assert!(
        a.get(&Q::RedrivePolicy).is_none_or(|r| r.is_empty()),
        "{a:?}"
    );
    let t = d
        .sqs
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(
        t.tags().unwrap().len(),
        2,
        "the ownership tag is kept by an update"
    );
    assert_eq!(t.tags().unwrap()["owner"], "ops");
    assert_eq!(t.tags().unwrap()[OWNER_TAG], marker());
    assert_eq!(p.read(sqs::QUEUE, &out2).await.unwrap(), Some(out2.clone()));

    // Drift: a timeout changed, then the queue deleted.
    d.sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(Q::VisibilityTimeout, "7")
        .send()
        .await
        .unwrap();
    let seen = p.read(sqs::QUEUE, &out2).await.unwrap().unwrap();
    assert_eq!(seen["visibility_timeout"], Value::int(7));
    d.sqs.delete_queue().queue_url(&url).send().await.unwrap();
    assert_eq!(p.read(sqs::QUEUE, &out2).await.unwrap(), None);
    p.delete(sqs::QUEUE, &out2).await.unwrap();

    // FIFO queues need the suffix, and are FIFO.
    let bad = p
        .create(
            sqs::QUEUE,
            &attrs(&[("name", s(&uniq("nofifo"))), ("fifo", Value::Bool(true))]),
            &crate::provider::Owner::for_tests(),
        )
        .await;
    assert!(matches!(bad, Err(ProviderError::Invalid(_))), "{bad:?}");
    let fifo = p
        .create(
            sqs::QUEUE,
            &attrs(&[
                ("name", s(&format!("{}.fifo", uniq("f")))),
                ("fifo", Value::Bool(true)),
            ]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let a = d
        .sqs
        .get_queue_attributes()
        .queue_url(fifo["url"].as_str().unwrap())
        .attribute_names(Q::FifoQueue)
        .send()
        .await
        .unwrap();
    assert_eq!(a.attributes().unwrap()[&Q::FifoQueue], "true");
    assert_eq!(p.read(sqs::QUEUE, &fifo).await.unwrap(), Some(fifo.clone()));
    p.delete(sqs::QUEUE, &fifo).await.unwrap();
    p.delete(sqs::QUEUE, &dlq).await.unwrap();
    assert!(
        d.sqs
            .get_queue_url()
            .queue_name(dlq["name"].as_str().unwrap())
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn dynamodb_table_create_read_update_drift_delete() {
    let p = provider();
    let d = direct().await;
    let sch = schema(&p, dynamodb::TABLE);
    for f in [
        "name",
        "hash_key",
        "hash_key_type",
        "range_key",
        "range_key_type",
    ] {
        assert!(sch.attr(f).unwrap().force_new, "{f}");
    }
    assert!(!sch.attr("billing_mode").unwrap().force_new);

    let name = uniq("table");
    let cfg = attrs(&[
        ("name", s(&name)),
        ("hash_key", s("pk")),
        ("range_key", s("sk")),
        ("range_key_type", s("N")),
        ("ttl_attribute", s("expires")),
        ("tags", map(&[("team", "web"), ("env", "prod")])),
    ]);
    let out = p
        .create(dynamodb::TABLE, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let t = d
        .dynamodb
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let t = t.table().unwrap();
    assert_eq!(out["arn"].as_str(), t.table_arn());
    let keys: Vec<(&str, &str)> = t
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
    let mut defs: Vec<(&str, &str)> = t
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    defs.sort();
    assert_eq!(defs, [("pk", "S"), ("sk", "N")]);
    assert_eq!(
        t.billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str()),
        Some("PAY_PER_REQUEST")
    );
    let ttl = d
        .dynamodb
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("expires")
    );
    let tags = d
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(t.table_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 3, "two tags and the ownership tag");
    assert_eq!(
        p.read(dynamodb::TABLE, &out).await.unwrap(),
        Some(out.clone()),
        "no drift right after create"
    );

    // Update in place: provisioned capacity, another TTL attribute, one tag.
    let mut cfg2 = cfg.clone();
    cfg2.insert("billing_mode".into(), s("PROVISIONED"));
    cfg2.insert("read_capacity".into(), Value::int(5));
    cfg2.insert("write_capacity".into(), Value::int(2));
    cfg2.insert("ttl_attribute".into(), s("gone_at"));
    cfg2.insert("tags".into(), map(&[("team", "api")]));
    let out2 = p.update(dynamodb::TABLE, &out, &cfg2).await.unwrap();
    let t = d
        .dynamodb
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let t = t.table().unwrap();
    let pt = t.provisioned_throughput().unwrap();
    assert_eq!(
        (pt.read_capacity_units(), pt.write_capacity_units()),
        (Some(5), Some(2))
    );
    let ttl = d
        .dynamodb
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some("gone_at")
    );
    let tags = d
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(t.table_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted(tags.tags().iter().map(|t| (t.key(), t.value()))),
        [(OWNER_TAG, marker().as_str()), ("team", "api")]
    );
    assert_eq!(
        p.read(dynamodb::TABLE, &out2).await.unwrap(),
        Some(out2.clone())
    );

    // Drift: a tag removed outside baton.
    d.dynamodb
        .untag_resource()
        .resource_arn(t.table_arn().unwrap())
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let seen = p.read(dynamodb::TABLE, &out2).await.unwrap().unwrap();
    assert_eq!(seen["tags"], Value::Map(crate::value::Map::new()));
    let fixed = p.update(dynamodb::TABLE, &seen, &cfg2).await.unwrap();
    assert_eq!(
        p.read(dynamodb::TABLE, &fixed).await.unwrap(),
        Some(fixed.clone())
    );

    p.delete(dynamodb::TABLE, &fixed).await.unwrap();
    assert!(
        d.dynamodb
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .is_err()
    );
    assert_eq!(p.read(dynamodb::TABLE, &fixed).await.unwrap(), None);
}

#[tokio::test]
async fn secrets_manager_secret_create_read_update_drift_delete() {
    let p = provider();
    let d = direct().await;
    let sch = schema(&p, secretsmanager::SECRET);
    assert!(sch.attr("name").unwrap().force_new && sch.attr("value").unwrap().sensitive);
    assert!(!sch.attr("value").unwrap().force_new);

    let name = uniq("secret");
    let cfg = attrs(&[
        ("name", s(&name)),
        ("description", s("db password")),
        ("value", Value::sensitive(s("first value"))),
        ("tags", map(&[("team", "web")])),
    ]);
    let out = p
        .create(
            secretsmanager::SECRET,
            &cfg,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    assert!(
        out["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:secretsmanager:us-east-1:")
    );
    let v = d
        .secrets
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(v.secret_string(), Some("first value"));
    let desc = d
        .secrets
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(desc.description(), Some("db password"));
    assert_eq!(desc.tags().len(), 2, "one tag and the ownership tag");
    let read = p.read(secretsmanager::SECRET, &out).await.unwrap().unwrap();
    assert_eq!(
        read["value"].as_str(),
        Some("first value"),
        "no drift right after create"
    );
    assert_eq!(read["description"], out["description"]);

    // Update in place: value, description, tags.
    let mut cfg2 = cfg.clone();
    cfg2.insert("value".into(), s("second value"));
    cfg2.insert("description".into(), s("rotated"));
    cfg2.insert("tags".into(), map(&[("owner", "ops")]));
    let out2 = p.update(secretsmanager::SECRET, &out, &cfg2).await.unwrap();
    let v = d
        .secrets
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(v.secret_string(), Some("second value"));
    let desc = d
        .secrets
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(desc.description(), Some("rotated"));
    assert_eq!(
        sorted(
            desc.tags()
                .iter()
                .map(|t| (t.key().unwrap(), t.value().unwrap()))
        ),
        [(OWNER_TAG, marker().as_str()), ("owner", "ops")]
    );

    // Drift: the value changed outside baton; read reports it, update puts it back.
    d.secrets
        .put_secret_value()
        .secret_id(&name)
        .secret_string("changed outside")
        .send()
        .await
        .unwrap();
    let seen = p
        .read(secretsmanager::SECRET, &out2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen["value"].as_str(), Some("changed outside"));
    let fixed = p
        .update(secretsmanager::SECRET, &seen, &cfg2)
        .await
        .unwrap();
    let v = d
        .secrets
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(v.secret_string(), Some("second value"));

    // Another state's create is refused, and the error never shows the value.
    let e = p
        .create(secretsmanager::SECRET, &cfg2, &stranger())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ProviderError::NotOurs(m) if m.contains("already exists") && m.contains("another baton state"))
            && !e.to_string().contains("second value"),
        "{e}"
    );
    // The same owner's create (a retry whose first attempt made it) gets it back as it is.
    let back = p
        .create(
            secretsmanager::SECRET,
            &cfg2,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    assert_eq!(back["value"], s("second value"));

    p.delete(secretsmanager::SECRET, &fixed).await.unwrap();
    assert!(
        d.secrets
            .describe_secret()
            .secret_id(&name)
            .send()
            .await
            .is_err(),
        "deleted without a recovery window"
    );
    assert_eq!(p.read(secretsmanager::SECRET, &fixed).await.unwrap(), None);
    // The name is free again at once.
    let again = p
        .create(
            secretsmanager::SECRET,
            &cfg,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    p.delete(secretsmanager::SECRET, &again).await.unwrap();
}

#[tokio::test]
async fn ssm_parameter_create_read_update_drift_delete() {
    let p = provider();
    let d = direct().await;
    let sch = schema(&p, ssm::PARAMETER);
    assert!(sch.attr("name").unwrap().force_new && sch.attr("type").unwrap().force_new);
    assert!(sch.attr("value").unwrap().sensitive && !sch.attr("value").unwrap().force_new);

    let name = format!("/{}/db-url", uniq("app"));
    let cfg = attrs(&[
        ("name", s(&name)),
        ("type", s("SecureString")),
        ("value", s("postgres://u:p@h/db\nsecond line")),
        ("description", s("the database")),
        ("tags", map(&[("team", "web"), ("env", "prod")])),
    ]);
    let out = p
        .create(ssm::PARAMETER, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    assert!(
        out["arn"].as_str().unwrap().contains("parameter/"),
        "{:?}",
        out["arn"]
    );
    let got = d
        .ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let param = got.parameter().unwrap();
    assert_eq!(param.value(), Some("postgres://u:p@h/db\nsecond line"));
    assert_eq!(param.r#type().map(|t| t.as_str()), Some("SecureString"));
    assert_eq!(
        p.read(ssm::PARAMETER, &out).await.unwrap(),
        Some(out.clone()),
        "no drift right after create"
    );

    let mut cfg2 = cfg.clone();
    cfg2.insert("value".into(), s("postgres://other"));
    cfg2.insert("description".into(), s("moved"));
    cfg2.insert("tags".into(), map(&[("team", "api")]));
    let out2 = p.update(ssm::PARAMETER, &out, &cfg2).await.unwrap();
    let got = d
        .ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(got.parameter().unwrap().value(), Some("postgres://other"));
    let tags = d
        .ssm
        .list_tags_for_resource()
        .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
        .resource_id(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted(tags.tag_list().iter().map(|t| (t.key(), t.value()))),
        [(OWNER_TAG, marker().as_str()), ("team", "api")]
    );
    assert_eq!(
        p.read(ssm::PARAMETER, &out2).await.unwrap(),
        Some(out2.clone())
    );

    // Drift: the value overwritten outside baton.
    d.ssm
        .put_parameter()
        .name(&name)
        .value("edited")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let seen = p.read(ssm::PARAMETER, &out2).await.unwrap().unwrap();
    assert_eq!(seen["value"].as_str(), Some("edited"));
    let fixed = p.update(ssm::PARAMETER, &seen, &cfg2).await.unwrap();
    assert_eq!(
        p.read(ssm::PARAMETER, &fixed).await.unwrap(),
        Some(fixed.clone())
    );

    p.delete(ssm::PARAMETER, &fixed).await.unwrap();
    assert!(d.ssm.get_parameter().name(&name).send().await.is_err());
    assert_eq!(p.read(ssm::PARAMETER, &fixed).await.unwrap(), None);
}

#[tokio::test]
async fn route53_zone_and_record_create_read_update_drift_delete() {
    let p = provider();
    let d = direct().await;
    assert!(schema(&p, route53::ZONE).attr("name").unwrap().force_new);
    let rec = schema(&p, route53::RECORD);
    assert!(
        ["zone_id", "name", "type"]
            .iter()
            .all(|f| rec.attr(f).unwrap().force_new)
    );
    assert!(!rec.attr("records").unwrap().force_new && !rec.attr("ttl").unwrap().force_new);

    let domain = format!("{}.example.com", uniq("z"));
    let zone = p
        .create(
            route53::ZONE,
            &attrs(&[("name", s(&domain)), ("comment", s("first"))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let zone_id = zone["zone_id"].as_str().unwrap().to_string();
    assert!(!zone_id.starts_with('/'), "{zone_id}");
    assert!(!zone["name_servers"].as_list().unwrap().is_empty());
    let z = d
        .route53
        .get_hosted_zone()
        .id(&zone_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        z.hosted_zone().unwrap().name().trim_end_matches('.'),
        domain
    );
    assert_eq!(
        z.hosted_zone().unwrap().config().and_then(|c| c.comment()),
        Some("first")
    );
    assert_eq!(
        p.read(route53::ZONE, &zone).await.unwrap(),
        Some(zone.clone()),
        "no drift right after create"
    );
    let zone2 = p
        .update(
            route53::ZONE,
            &zone,
            &attrs(&[("name", s(&domain)), ("comment", s("second"))]),
        )
        .await
        .unwrap();
    let z = d
        .route53
        .get_hosted_zone()
        .id(&zone_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        z.hosted_zone().unwrap().config().and_then(|c| c.comment()),
        Some("second")
    );
    assert_eq!(
        p.read(route53::ZONE, &zone2).await.unwrap(),
        Some(zone2.clone())
    );

    let host = format!("www.{domain}");
    let cfg = attrs(&[
        ("zone_id", s(&zone_id)),
        ("name", s(&host)),
        ("type", s("A")),
        ("records", list_value(&["192.0.2.1", "192.0.2.2"])),
    ]);
    let out = p
        .create(route53::RECORD, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let list = |name: String| {
        let d = d.clone();
        let zone_id = zone_id.clone();
        async move {
            let out = d
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .start_record_name(&name)
                .start_record_type(aws_sdk_route53::types::RrType::A)
                .max_items(1)
                .send()
                .await
                .unwrap();
            out.resource_record_sets()
                .iter()
                .find(|s| s.name().trim_end_matches('.') == name && s.r#type().as_str() == "A")
                .map(|s| {
                    let mut v: Vec<String> = s
                        .resource_records()
                        .iter()
                        .map(|r| r.value().to_string())
                        .collect();
                    v.sort();
                    (s.ttl(), v)
                })
        }
    };
    assert_eq!(
        list(host.clone()).await,
        Some((Some(300), vec!["192.0.2.1".into(), "192.0.2.2".into()]))
    );
    assert_eq!(
        p.read(route53::RECORD, &out).await.unwrap(),
        Some(out.clone()),
        "no drift right after create"
    );

    let mut cfg2 = cfg.clone();
    cfg2.insert("ttl".into(), Value::int(60));
    cfg2.insert("records".into(), list_value(&["192.0.2.9"]));
    let out2 = p.update(route53::RECORD, &out, &cfg2).await.unwrap();
    assert_eq!(
        list(host.clone()).await,
        Some((Some(60), vec!["192.0.2.9".into()]))
    );
    assert_eq!(
        p.read(route53::RECORD, &out2).await.unwrap(),
        Some(out2.clone())
    );

    // Drift: the record changed outside baton.
    let set = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name(&host)
        .r#type(aws_sdk_route53::types::RrType::A)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder()
                .value("198.51.100.7")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let change = aws_sdk_route53::types::Change::builder()
        .action(aws_sdk_route53::types::ChangeAction::Upsert)
        .resource_record_set(set)
        .build()
        .unwrap();
    d.route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(change)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let seen = p.read(route53::RECORD, &out2).await.unwrap().unwrap();
    assert_eq!(seen["records"], list_value(&["198.51.100.7"]));
    let fixed = p.update(route53::RECORD, &seen, &cfg2).await.unwrap();
    assert_eq!(
        list(host.clone()).await,
        Some((Some(60), vec!["192.0.2.9".into()]))
    );

    p.delete(route53::RECORD, &fixed).await.unwrap();
    assert_eq!(list(host.clone()).await, None);
    assert_eq!(p.read(route53::RECORD, &fixed).await.unwrap(), None);
    p.delete(route53::ZONE, &zone2).await.unwrap();
    assert!(
        d.route53
            .get_hosted_zone()
            .id(&zone_id)
            .send()
            .await
            .is_err()
    );
    assert_eq!(p.read(route53::ZONE, &zone2).await.unwrap(), None);
}

/// One record set made by hand in a zone baton did not make (`direct`), for the tests.
async fn put_record(d: &Clients, zone_id: &str, name: &str, rtype: &str, value: &str) {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(rtype))
        .ttl(300)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap();
    let change = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(set)
        .build()
        .unwrap();
    d.route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// The values of record set `name`/`rtype`, sorted (`None`: no such set).
async fn record_values(d: &Clients, zone_id: &str, name: &str, rtype: &str) -> Option<Vec<String>> {
    let out = d
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .send()
        .await
        .unwrap();
    out.resource_record_sets()
        .iter()
        .find(|s| s.name().trim_end_matches('.') == name && s.r#type().as_str() == rtype)
        .map(|s| {
            let mut v: Vec<String> = s
                .resource_records()
                .iter()
                .map(|r| r.value().to_string())
                .collect();
            v.sort();
            v
        })
}

/// Records go into zones that are not baton's (a team's own zone, `zone_id` of
/// `provider "aws"`): each carries its ownership marker in a TXT record of its own, made
/// and deleted in the same change batch; a record someone else made is never taken, and
/// the zone's other records are never touched.
#[tokio::test]
async fn route53_records_in_a_zone_baton_did_not_make_carry_their_own_marker() {
    let p = provider();
    let d = direct().await;
    let domain = format!("{}.example.com", uniq("uz"));
    let zone = d
        .route53
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(uniq("ref"))
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let canary = format!("canary.{domain}");
    put_record(&d, &zone_id, &canary, "A", "192.0.2.55").await;
    let foreign = format!("api.{domain}");
    put_record(&d, &zone_id, &foreign, "A", "192.0.2.66").await;
    let owner = crate::provider::Owner::for_tests();

    let host = format!("www.{domain}");
    let cfg = attrs(&[
        ("zone_id", s(&zone_id)),
        ("name", s(&host)),
        ("type", s("A")),
        ("records", list_value(&["192.0.2.1"])),
    ]);
    let made = p.create(route53::RECORD, &cfg, &owner).await.unwrap();
    let marker_name = format!("_baton-owner.a.{host}");
    assert_eq!(
        record_values(&d, &zone_id, &marker_name, "TXT").await,
        Some(vec![format!("\"{}\"", owner.marker())])
    );
    assert_eq!(
        p.claim(route53::RECORD, &made, &owner).await.unwrap(),
        Claim::Ours
    );
    let other = crate::provider::Owner::new("11111111-0000-4000-8000-000000000000", "test");
    assert!(matches!(
        p.claim(route53::RECORD, &made, &other).await.unwrap(),
        Claim::Foreign(_)
    ));

    // The record someone else made under the name a module asks for: refused, unchanged.
    let theirs = attrs(&[
        ("zone_id", s(&zone_id)),
        ("name", s(&foreign)),
        ("type", s("A")),
        ("records", list_value(&["192.0.2.99"])),
    ]);
    assert_eq!(
        p.claim(route53::RECORD, &theirs, &owner).await.unwrap(),
        Claim::Unproven
    );
    let refused = p
        .create(route53::RECORD, &theirs, &owner)
        .await
        .unwrap_err();
    assert!(matches!(refused, ProviderError::NotOurs(_)), "{refused}");
    assert_eq!(
        record_values(&d, &zone_id, &foreign, "A").await,
        Some(vec!["192.0.2.66".into()])
    );
    assert_eq!(
        record_values(&d, &zone_id, &format!("_baton-owner.a.{foreign}"), "TXT").await,
        None
    );

    // An existing record baton is told is its own (an earlier baton made it): marked.
    p.mark(route53::RECORD, &theirs, &owner).await.unwrap();
    assert_eq!(
        p.claim(route53::RECORD, &theirs, &owner).await.unwrap(),
        Claim::Ours
    );

    // Delete takes the record and its marker, nothing else.
    p.delete(route53::RECORD, &made).await.unwrap();
    assert_eq!(record_values(&d, &zone_id, &host, "A").await, None);
    assert_eq!(record_values(&d, &zone_id, &marker_name, "TXT").await, None);
    assert_eq!(
        record_values(&d, &zone_id, &canary, "A").await,
        Some(vec!["192.0.2.55".into()])
    );
    p.delete(route53::RECORD, &theirs).await.unwrap();
    assert_eq!(record_values(&d, &zone_id, &foreign, "A").await, None);
}

#[tokio::test]
async fn iam_user_access_key_and_policy_create_read_update_drift_delete() {
    let p = provider();
    let d = direct().await;
    assert!(schema(&p, iam::USER).attr("name").unwrap().force_new);
    let key_schema = schema(&p, iam::ACCESS_KEY);
    assert!(
        key_schema.attr("user").unwrap().force_new
            && key_schema.attr("secret_access_key").unwrap().sensitive
    );
    let pol = schema(&p, iam::USER_POLICY);
    assert!(
        pol.attr("user").unwrap().force_new
            && pol.attr("name").unwrap().force_new
            && !pol.attr("policy").unwrap().force_new
    );

    let name = uniq("user");
    let cfg = attrs(&[
        ("name", s(&name)),
        ("path", s("/baton/")),
        ("tags", map(&[("team", "web"), ("env", "prod")])),
    ]);
    let user = p
        .create(iam::USER, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    assert_eq!(
        user["arn"].as_str().unwrap(),
        format!("arn:aws:iam::123456789012:user/baton/{name}")
    );
    let u = d.iam.get_user().user_name(&name).send().await.unwrap();
    assert_eq!(u.user().unwrap().path(), "/baton/");
    assert_eq!(
        d.iam
            .list_user_tags()
            .user_name(&name)
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        3,
        "two tags and the ownership tag"
    );
    assert_eq!(
        p.read(iam::USER, &user).await.unwrap(),
        Some(user.clone()),
        "no drift right after create"
    );

    let cfg2 = attrs(&[
        ("name", s(&name)),
        ("path", s("/apps/")),
        ("tags", map(&[("team", "api")])),
    ]);
    let user2 = p.update(iam::USER, &user, &cfg2).await.unwrap();
    let u = d.iam.get_user().user_name(&name).send().await.unwrap();
    assert_eq!(u.user().unwrap().path(), "/apps/");
    let tags = d
        .iam
        .list_user_tags()
        .user_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sorted(tags.tags().iter().map(|t| (t.key(), t.value()))),
        [(OWNER_TAG, marker().as_str()), ("team", "api")]
    );
    assert_eq!(
        p.read(iam::USER, &user2).await.unwrap(),
        Some(user2.clone())
    );
    // Drift: a tag removed outside baton.
    d.iam
        .untag_user()
        .user_name(&name)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let seen = p.read(iam::USER, &user2).await.unwrap().unwrap();
    assert_eq!(seen["tags"], Value::Map(crate::value::Map::new()));
    let user3 = p.update(iam::USER, &seen, &cfg2).await.unwrap();

    // An access key: listed by IAM, gone from reads once deleted outside baton.
    let key = p
        .create(
            iam::ACCESS_KEY,
            &attrs(&[("user", s(&name))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let id = key["access_key_id"].as_str().unwrap().to_string();
    assert!(!key["secret_access_key"].as_str().unwrap().is_empty());
    let keys = d
        .iam
        .list_access_keys()
        .user_name(&name)
        .send()
        .await
        .unwrap();
    assert!(
        keys.access_key_metadata()
            .iter()
            .any(|k| k.access_key_id() == Some(id.as_str()))
    );
    assert_eq!(
        p.read(iam::ACCESS_KEY, &key).await.unwrap(),
        Some(key.clone())
    );
    d.iam
        .delete_access_key()
        .user_name(&name)
        .access_key_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(p.read(iam::ACCESS_KEY, &key).await.unwrap(), None);
    p.delete(iam::ACCESS_KEY, &key).await.unwrap();
    let key2 = p
        .create(
            iam::ACCESS_KEY,
            &attrs(&[("user", s(&name))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    assert_ne!(key2["access_key_id"], key["access_key_id"]);

    // An inline policy, compared as JSON.
    let doc = |action: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [action], "Resource": "*"}]})
            .to_string()
    };
    let pcfg = attrs(&[
        ("user", s(&name)),
        ("name", s("access")),
        ("policy", s(&doc("s3:GetObject"))),
    ]);
    let pol = p
        .create(
            iam::USER_POLICY,
            &pcfg,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let got = d
        .iam
        .get_user_policy()
        .user_name(&name)
        .policy_name("access")
        .send()
        .await
        .unwrap();
    let text = iam::decode_policy(got.policy_document());
    assert!(common::same_json(&text, &doc("s3:GetObject")), "{text}");
    // The same policy spelt differently is no change.
    let mut spaced = pol.clone();
    spaced.insert(
        "policy".into(),
        s(&serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&doc("s3:GetObject")).unwrap(),
        )
        .unwrap()),
    );
    assert_eq!(
        p.read(iam::USER_POLICY, &spaced).await.unwrap(),
        Some(spaced.clone())
    );
    let mut pcfg2 = pcfg.clone();
    pcfg2.insert("policy".into(), s(&doc("s3:PutObject")));
    let pol2 = p.update(iam::USER_POLICY, &pol, &pcfg2).await.unwrap();
    let got = d
        .iam
        .get_user_policy()
        .user_name(&name)
        .policy_name("access")
        .send()
        .await
        .unwrap();
    assert!(common::same_json(
        &iam::decode_policy(got.policy_document()),
        &doc("s3:PutObject")
    ));
    // Drift: the policy replaced outside baton.
    d.iam
        .put_user_policy()
        .user_name(&name)
        .policy_name("access")
        .policy_document(doc("s3:*"))
        .send()
        .await
        .unwrap();
    let seen = p.read(iam::USER_POLICY, &pol2).await.unwrap().unwrap();
    assert!(common::same_json(
        seen["policy"].as_str().unwrap(),
        &doc("s3:*")
    ));

    p.delete(iam::USER_POLICY, &pol2).await.unwrap();
    assert!(
        d.iam
            .get_user_policy()
            .user_name(&name)
            .policy_name("access")
            .send()
            .await
            .is_err()
    );
    assert_eq!(p.read(iam::USER_POLICY, &pol2).await.unwrap(), None);
    p.delete(iam::ACCESS_KEY, &key2).await.unwrap();
    p.delete(iam::USER, &user3).await.unwrap();
    assert!(d.iam.get_user().user_name(&name).send().await.is_err());
    assert_eq!(p.read(iam::USER, &user3).await.unwrap(), None);
    assert_eq!(
        p.read(iam::ACCESS_KEY, &key2).await.unwrap(),
        None,
        "the user is gone, so is the key"
    );
}

#[tokio::test]
async fn reads_right_after_create_wait_for_the_object() {
    let d = direct().await;
    // A budget as long as "recently created" lasts: the queue comes back long before
    // it runs out, however loaded the machine.
    let p = AwsProvider::new(&config()).with_backoff(Backoff {
        initial: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        budget: Duration::from_secs(60),
    });
    let name = uniq("late");
    let q = p
        .create(
            sqs::QUEUE,
            &attrs(&[("name", s(&name))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let url = q["url"].as_str().unwrap().to_string();
    // Stands in for a queue not yet visible: deleted now, back shortly.
    d.sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let d2 = d.clone();
    let n2 = name.clone();
    let back = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        d2.sqs.create_queue().queue_name(n2).send().await.unwrap();
    });
    let seen = p.read(sqs::QUEUE, &q).await.unwrap();
    back.await.unwrap();
    assert!(
        seen.is_some(),
        "a read just after create retried until the queue was there"
    );

    // An object this provider did not just create is reported gone at once: without a
    // retry. Its first wait would be 50 s, so a read that retried could not end within
    // the generous 30 s this one is given (one request takes milliseconds).
    let other = AwsProvider::new(&config()).with_backoff(Backoff {
        initial: Duration::from_secs(50),
        max_delay: Duration::from_secs(50),
        budget: Duration::from_secs(60),
    });
    d.sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(30), other.read(sqs::QUEUE, &q))
        .await
        .expect("a read of an object this provider did not create must not wait for it");
    assert_eq!(read.unwrap(), None);
}

#[tokio::test]
async fn configuration_errors_and_unreachable_endpoints() {
    // Nothing listens on port 1: connection refused, after the SDK's retries.
    let p = AwsProvider::new(&attrs(&[
        ("endpoint", s("http://127.0.0.1:1")),
        ("access_key_id", s("AKIDEXAMPLE")),
        ("secret_access_key", s("hunter2-secret")),
    ]))
    .with_backoff(quick());
    let e = p
        .read(s3::BUCKET, &attrs(&[("bucket", s("some-bucket"))]))
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Transient(_)), "{e:?}");
    assert!(
        e.to_string().contains("\"some-bucket\"") && !e.to_string().contains("hunter2"),
        "{e}"
    );

    for bad in [
        attrs(&[("region", s("Not A Region"))]),
        attrs(&[("endpoint", s("ftp://x"))]),
        attrs(&[("access_key_id", s("AKID"))]),
        attrs(&[("regoin", s("eu-west-1"))]),
    ] {
        let p = AwsProvider::new(&bad);
        let e = p
            .read(s3::BUCKET, &attrs(&[("bucket", s("b"))]))
            .await
            .unwrap_err();
        assert!(matches!(e, ProviderError::Invalid(_)), "{bad:?}: {e:?}");
    }
    let e = provider()
        .create(
            "aws_nothing",
            &Attrs::new(),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, ProviderError::Invalid(_)));
    let e = provider()
        .create(
            s3::BUCKET,
            &attrs(&[("bucket", s(&uniq("enc"))), ("encryption", s("rot13"))]),
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, ProviderError::Invalid(ref m) if m.contains("rot13")),
        "{e:?}"
    );

    let vars = AwsProvider::new(&Attrs::new()).vars();
    assert_eq!(vars["region"], s("us-east-1"));
    assert_eq!(vars["endpoint"], s("https://s3.us-east-1.amazonaws.com"));
    assert_eq!(vars["zone_id"], Value::Null);
    let vars = AwsProvider::new(&attrs(&[
        ("region", s("eu-west-1")),
        ("endpoint", s("http://127.0.0.1:5000/")),
    ]))
    .vars();
    assert_eq!(
        (vars["region"].as_str(), vars["endpoint"].as_str()),
        (Some("eu-west-1"), Some("http://127.0.0.1:5000"))
    );
    assert!(
        vars.values().all(|v| !v.contains_sensitive()),
        "no credential among the vars"
    );
}

#[test]
fn prod_modules_load() {
    use crate::diag::Sources;
    use crate::module::Origin;
    use crate::module::load::load_text;

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let reg = crate::provider::Registry::builtin(root);
    assert!(reg.provider_names().contains(&"aws".to_string()));
    let mut sources = Sources::new();
    for path in [
        "s3/aws.hcl",
        "queue/aws.hcl",
        "dns/aws.hcl",
        "route/aws.hcl",
        "postgres/aws.hcl",
        "redis/aws.hcl",
        "amqp/aws.hcl",
        "service-port/aws.hcl",
    ] {
        let text = std::fs::read_to_string(root.join("modules").join(path)).unwrap();
        let file = sources.add_file(format!("modules/{path}"), None, text);
        let mut out = Vec::new();
        let name = path.trim_end_matches(".hcl");
        let m = load_text(
            name,
            Origin::Builtin("aws"),
            file,
            &reg,
            &reg.provider_names(),
            &sources,
            &mut out,
        );
        assert!(out.is_empty(), "{path}: {out:#?}");
        let m = m.unwrap();
        assert_eq!(
            m.provisions.environments.as_deref(),
            Some(&["prod".to_string()][..]),
            "{path}"
        );
    }
}
