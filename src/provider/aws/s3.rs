//! `aws_s3_bucket`: a bucket with versioning, tags, public access blocked and default
//! encryption. Deleting a bucket that holds objects is refused unless `force_destroy`,
//! which first deletes every object version, delete marker and unfinished upload.
//!
//! CreateBucket takes no tags, so the ownership tag is written by the PutBucketTagging
//! that follows it, before any other setting. A bucket left untagged by a run killed in
//! between proves nothing and is refused like anyone else's (`baton import` takes it).

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};

use super::common::{OWNER_TAG, Tags, exists, optional, put_tags, required, tags, with_owner};
use super::config::Clients;
use super::error::{Named, build_error};
use crate::provider::{AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, bool_attr};
use crate::value::Value;

/// The kind served.
pub const BUCKET: &str = "aws_s3_bucket";

fn yes() -> Value {
    Value::Bool(true)
}
fn no() -> Value {
    Value::Bool(false)
}
fn aes256() -> Value {
    Value::string("AES256")
}

/// The schema of `aws_s3_bucket`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: BUCKET,
        provider: "aws",
        description: "An S3 bucket; tags, versioning, public access and encryption changed outside baton show as drift.",
        attributes: vec![
            AttrSchema::required("bucket", AttrType::String, "Bucket name (globally unique).").force_new(),
            AttrSchema::optional("versioning", AttrType::Bool, "Keep every version of each object (false suspends it).")
                .default(no),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::optional(
                "block_public_access",
                AttrType::Bool,
                "Block every form of public access (all four public access block settings).",
            )
            .default(yes),
            AttrSchema::optional("encryption", AttrType::String, "Default encryption: \"AES256\" or \"aws:kms\".")
                .default(aes256),
            AttrSchema::optional(
                "force_destroy",
                AttrType::Bool,
                "Delete the objects (all versions) when the bucket is deleted; otherwise a non-empty bucket is kept and the delete fails.",
            )
            .default(no),
            AttrSchema::computed("arn", AttrType::String, "The bucket's ARN."),
            AttrSchema::computed("region", AttrType::String, "The bucket's region."),
        ],
        create_before_destroy: false,
    }
}

fn what(bucket: &str) -> String {
    format!("{BUCKET} {bucket:?}")
}

/// The validated configuration.
struct Spec {
    bucket: String,
    versioning: bool,
    tags: Tags,
    block_public_access: bool,
    encryption: ServerSideEncryption,
}

impl Spec {
    fn from(config: &Attrs) -> Result<Spec, ProviderError> {
        let bucket = required(config, "bucket", BUCKET)?.to_string();
        let w = what(&bucket);
        let encryption = match optional(config, "encryption").unwrap_or("AES256") {
            "AES256" => ServerSideEncryption::Aes256,
            "aws:kms" => ServerSideEncryption::AwsKms,
            other => {
                return Err(ProviderError::Invalid(format!(
                    "{w}: encryption {other:?} is not \"AES256\" or \"aws:kms\""
                )));
            }
        };
        Ok(Spec {
            versioning: bool_attr(config, "versioning").unwrap_or(false),
            tags: tags(config, &w)?,
            block_public_access: bool_attr(config, "block_public_access").unwrap_or(true),
            encryption,
            bucket,
        })
    }
}

fn arn(c: &Clients, bucket: &str) -> String {
    format!("arn:{}:s3:::{bucket}", c.partition)
}

/// Creates the bucket, tags it with the module's tags and the owner's marker, then
/// applies every other setting.
pub async fn create(c: &Clients, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
    let spec = Spec::from(config)?;
    let w = what(&spec.bucket);
    // In us-east-1, creating a bucket one already owns succeeds (a legacy of S3), so
    // existence is checked first: taking over a bucket would silently adopt its contents.
    if c.s3
        .head_bucket()
        .bucket(&spec.bucket)
        .send()
        .await
        .or_missing(&w, &["NotFound", "NoSuchBucket"])?
        .is_some()
    {
        return Err(exists(&w));
    }
    let mut req = c.s3.create_bucket().bucket(&spec.bucket);
    // us-east-1 is the one region that refuses a location constraint.
    if c.region != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(c.region.as_str()))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) => {
            let f = super::error::Fault::from(e);
            if f.is(&["BucketAlreadyOwnedByYou", "BucketAlreadyExists"]) {
                return Err(exists(&w));
            }
            return Err(f.error(&w, &[]));
        }
    }
    put_tagging(c, &spec.bucket, &with_owner(spec.tags.clone(), owner)).await?;
    apply(c, &spec, None).await?;
    Ok(result(c, &spec, config))
}

/// Applies versioning, tags, public access block and encryption; `prior` (the
/// recorded attributes) lets unchanged settings be skipped on update.
async fn apply(c: &Clients, spec: &Spec, prior: Option<&Spec>) -> Result<(), ProviderError> {
    let w = what(&spec.bucket);
    let b = spec.bucket.as_str();
    let changed = |f: fn(&Spec) -> String| prior.is_none_or(|p| f(p) != f(spec));

    // A new bucket is unversioned (and then cannot be "suspended"), so without a record
    // only enabling is needed.
    if prior.map_or(spec.versioning, |p| p.versioning != spec.versioning) {
        let status = if spec.versioning {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        c.s3.put_bucket_versioning()
            .bucket(b)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .named(&w)?;
    }
    // Without a record (a create, an unusable record) the caller has set the tags.
    if prior.is_some_and(|p| p.tags != spec.tags) {
        set_module_tags(c, b, &spec.tags).await?;
    }
    if changed(|s| s.block_public_access.to_string()) {
        if spec.block_public_access {
            let all = PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build();
            c.s3.put_public_access_block()
                .bucket(b)
                .public_access_block_configuration(all)
                .send()
                .await
                .named(&w)?;
        } else {
            c.s3.delete_public_access_block()
                .bucket(b)
                .send()
                .await
                .named(&w)?;
        }
    }
    if changed(|s| s.encryption.as_str().to_string()) {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(spec.encryption.clone())
            .build()
            .map_err(|e| build_error(&w, e))?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(by_default)
            .build();
        let sse = ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|e| build_error(&w, e))?;
        c.s3.put_bucket_encryption()
            .bucket(b)
            .server_side_encryption_configuration(sse)
            .send()
            .await
            .named(&w)?;
    }
    Ok(())
}

/// Sets the bucket's whole tag set to `tags` (none: deletes the tag set).
async fn put_tagging(c: &Clients, b: &str, tags: &Tags) -> Result<(), ProviderError> {
    let w = what(b);
    if tags.is_empty() {
        c.s3.delete_bucket_tagging()
            .bucket(b)
            .send()
            .await
            .named(&w)?;
        return Ok(());
    }
    let tag_set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_error(&w, e))?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(tag_set))
        .build()
        .map_err(|e| build_error(&w, e))?;
    c.s3.put_bucket_tagging()
        .bucket(b)
        .tagging(tagging)
        .send()
        .await
        .named(&w)?;
    Ok(())
}

/// Sets the tags the module gives, keeping the ownership tag the bucket has
/// (PutBucketTagging replaces the whole set).
async fn set_module_tags(c: &Clients, b: &str, tags: &Tags) -> Result<(), ProviderError> {
    let mut all = tags.clone();
    if let Some(marker) = bucket_tags(c, b)
        .await?
        .and_then(|mut t| t.remove(OWNER_TAG))
    {
        all.insert(OWNER_TAG.to_string(), marker);
    }
    put_tagging(c, b, &all).await
}

/// The bucket's tags, the ownership tag included (`None`: no such bucket).
async fn bucket_tags(c: &Clients, b: &str) -> Result<Option<Tags>, ProviderError> {
    let w = what(b);
    match c.s3.get_bucket_tagging().bucket(b).send().await {
        Ok(t) => Ok(Some(
            t.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        )),
        Err(e) => {
            let f = super::error::Fault::from(e);
            if f.is(&["NoSuchTagSet", "NoSuchTagSetError"]) {
                Ok(Some(Tags::new()))
            } else if f.is(&["NoSuchBucket", "NotFound"]) {
                Ok(None)
            } else {
                Err(f.error(&w, &[]))
            }
        }
    }
}

/// The tags of the bucket `found` names, the ownership tag included (`None`: no such
/// bucket).
pub async fn owner_tags(c: &Clients, found: &Attrs) -> Result<Option<Tags>, ProviderError> {
    bucket_tags(c, required(found, "bucket", BUCKET)?).await
}

/// Adds `extra` to the tags of the bucket `found` names, keeping the others.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let b = required(found, "bucket", BUCKET)?;
    let mut all = bucket_tags(c, b)
        .await?
        .ok_or_else(|| ProviderError::Failed(format!("{} does not exist", what(b))))?;
    all.extend(extra.clone());
    put_tagging(c, b, &all).await
}

fn result(c: &Clients, spec: &Spec, config: &Attrs) -> Attrs {
    let mut out = config.clone();
    out.insert("arn".into(), Value::string(arn(c, &spec.bucket)));
    out.insert("region".into(), Value::string(&c.region));
    out
}

/// Applies what changed since the recorded attributes (after a refresh: since what
/// AWS has).
pub async fn update(c: &Clients, prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let spec = Spec::from(config)?;
    let before = Spec::from(prior).ok().filter(|p| p.bucket == spec.bucket);
    if before.is_none() {
        // Without a usable record every setting is applied, tags included.
        set_module_tags(c, &spec.bucket, &spec.tags).await?;
    }
    apply(c, &spec, before.as_ref()).await?;
    Ok(result(c, &spec, config))
}

/// The bucket as it is: `None` when it does not exist.
pub async fn read(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let b = required(prior, "bucket", BUCKET)?;
    let w = what(b);
    if c.s3
        .head_bucket()
        .bucket(b)
        .send()
        .await
        .or_missing(&w, &["NotFound", "NoSuchBucket"])?
        .is_none()
    {
        return Ok(None);
    }
    let mut out = prior.clone();

    let versioning =
        c.s3.get_bucket_versioning()
            .bucket(b)
            .send()
            .await
            .named(&w)?;
    out.insert(
        "versioning".into(),
        Value::Bool(versioning.status() == Some(&BucketVersioningStatus::Enabled)),
    );

    let Some(actual) = bucket_tags(c, b).await? else {
        return Ok(None);
    };
    put_tags(&mut out, actual, prior);

    let pab =
        c.s3.get_public_access_block()
            .bucket(b)
            .send()
            .await
            .or_missing(&w, &["NoSuchPublicAccessBlockConfiguration"])?;
    let blocked = pab
        .and_then(|p| p.public_access_block_configuration().cloned())
        .is_some_and(|p| {
            [
                p.block_public_acls(),
                p.ignore_public_acls(),
                p.block_public_policy(),
                p.restrict_public_buckets(),
            ]
            .iter()
            .all(|v| *v == Some(true))
        });
    out.insert("block_public_access".into(), Value::Bool(blocked));

    let sse =
        c.s3.get_bucket_encryption()
            .bucket(b)
            .send()
            .await
            .or_missing(&w, &["ServerSideEncryptionConfigurationNotFoundError"])?;
    let algorithm = sse
        .and_then(|s| s.server_side_encryption_configuration().cloned())
        .and_then(|s| s.rules().first().cloned())
        .and_then(|r| {
            r.apply_server_side_encryption_by_default()
                .map(|d| d.sse_algorithm().as_str().to_string())
        });
    // No rule means AWS's default, which is AES256 for every bucket since 2023.
    out.insert(
        "encryption".into(),
        Value::string(algorithm.unwrap_or_else(|| "AES256".into())),
    );

    let location =
        c.s3.get_bucket_location()
            .bucket(b)
            .send()
            .await
            .named(&w)?;
    let region = match location.location_constraint().map(|l| l.as_str()) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    };
    out.insert("region".into(), Value::string(region));
    out.insert("arn".into(), Value::string(arn(c, b)));
    Ok(Some(out))
}

/// Deletes the bucket; with `force_destroy`, everything in it first.
pub async fn delete(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let b = required(prior, "bucket", BUCKET)?;
    let w = what(b);
    if bool_attr(prior, "force_destroy").unwrap_or(false) {
        empty(c, b).await?;
    }
    match c.s3.delete_bucket().bucket(b).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let f = super::error::Fault::from(e);
            if f.is(&["NoSuchBucket", "NotFound"]) {
                Ok(())
            } else if f.is(&["BucketNotEmpty"]) {
                Err(ProviderError::Failed(format!(
                    "{w} is not empty, so it was kept; set force_destroy = true to delete it with all its objects"
                )))
            } else {
                Err(f.error(&w, &[]))
            }
        }
    }
}

/// Deletes every object version, delete marker and unfinished multipart upload.
async fn empty(c: &Clients, b: &str) -> Result<(), ProviderError> {
    let w = what(b);
    loop {
        let page =
            c.s3.list_object_versions()
                .bucket(b)
                .max_keys(1000)
                .send()
                .await
                .or_missing(&w, &["NoSuchBucket"])?;
        let Some(page) = page else { return Ok(()) };
        let mut ids = Vec::new();
        for v in page.versions() {
            ids.push((
                v.key().unwrap_or_default().to_string(),
                v.version_id().map(str::to_string),
            ));
        }
        for m in page.delete_markers() {
            ids.push((
                m.key().unwrap_or_default().to_string(),
                m.version_id().map(str::to_string),
            ));
        }
        if ids.is_empty() {
            break;
        }
        let objects = ids
            .into_iter()
            .map(|(k, v)| ObjectIdentifier::builder().key(k).set_version_id(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| build_error(&w, e))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| build_error(&w, e))?;
        let out =
            c.s3.delete_objects()
                .bucket(b)
                .delete(delete)
                .send()
                .await
                .named(&w)?;
        if let Some(err) = out.errors().first() {
            return Err(ProviderError::Failed(format!(
                "{w}: cannot delete object {:?}: {}: {}",
                err.key().unwrap_or_default(),
                err.code().unwrap_or_default(),
                err.message().unwrap_or_default()
            )));
        }
        // Deleting changes the listing, so each round starts from the beginning.
    }
    let uploads =
        c.s3.list_multipart_uploads()
            .bucket(b)
            .send()
            .await
            .named(&w)?;
    for u in uploads.uploads() {
        c.s3.abort_multipart_upload()
            .bucket(b)
            .key(u.key().unwrap_or_default())
            .upload_id(u.upload_id().unwrap_or_default())
            .send()
            .await
            .or_missing(&w, &["NoSuchUpload"])?;
    }
    Ok(())
}
