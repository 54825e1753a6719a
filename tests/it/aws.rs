//! The `prod` environment end to end: the real binary against the moto AWS emulator
//! (started by this test process, installed into `target/moto-venv` when missing; see
//! `src/provider/aws/moto.rs`, shared with the provider tests). What baton did is
//! checked through the AWS SDK, never through baton's state; changes "made outside
//! baton" are SDK calls too.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::servers::{shop, unique};
use crate::support::{Run, Sandbox};

#[path = "../../src/provider/aws/moto.rs"]
#[allow(dead_code)]
mod moto;

/// The region of the `prod` environments here (examples/shop's default).
const REGION: &str = "eu-west-1";

/// Runs baton in `sb` with AWS pointed at the emulator (the provider block reads
/// `BATON_AWS_ENDPOINT`), with the emulator's credentials.
fn baton(sb: &Sandbox, args: &[&str]) -> Run {
    let out = sb
        .command(args)
        .env("BATON_AWS_ENDPOINT", &moto::moto().endpoint)
        .env_remove("BATON_AWS_REGION")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run baton");
    Run::of(out)
}

/// SDK clients on the emulator, independent of baton.
struct Aws {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    secrets: aws_sdk_secretsmanager::Client,
    rds: aws_sdk_rds::Client,
    elasticache: aws_sdk_elasticache::Client,
    mq: aws_sdk_mq::Client,
}

async fn aws() -> Aws {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .http_client(http)
        .endpoint_url(&moto::moto().endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    Aws {
        s3: aws_sdk_s3::Client::from_conf(s3),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        rds: aws_sdk_rds::Client::new(&sdk),
        elasticache: aws_sdk_elasticache::Client::new(&sdk),
        mq: aws_sdk_mq::Client::new(&sdk),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn plan_json(sb: &Sandbox, env: &str) -> Value {
    let run = baton(sb, &["--env", env, "plan", "--format", "json"]);
    assert!(run.code == 0 || run.code == 2, "{}", run.transcript());
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("plan JSON: {e}\n{}", run.stdout))
}

/// Kinds of the plan's changes, with how many of each.
fn kinds(plan: &Value) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for c in plan["changes"].as_array().unwrap() {
        *out.entry(c["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    out
}

/// The outputs of every resource, secrets included.
fn outputs(sb: &Sandbox) -> Value {
    let run = baton(
        sb,
        &["--env", "prod", "output", "--json", "--show-sensitive"],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn shop_plans_for_local_and_prod_from_the_same_score_files_and_applies_on_aws() {
    let suffix = unique("a");
    let sb = shop(&suffix);

    // local: the local servers' kinds only.
    let local = kinds(&plan_json(&sb, "local"));
    assert!(local.keys().all(|k| !k.starts_with("aws_")), "{local:?}");
    assert!(local.contains_key("postgres_database"), "{local:?}");

    // prod: AWS resources (and the passwords generated for them), nothing local.
    let prod = kinds(&plan_json(&sb, "prod"));
    assert!(
        prod.keys().all(|k| k.starts_with("aws_")
            || k.starts_with("random_")
            || k == "workload_manifests"),
        "{prod:?}"
    );
    assert_eq!(prod.get("aws_db_instance"), Some(&1), "one shared database");
    assert_eq!(prod.get("aws_elasticache_replication_group"), Some(&2));
    assert_eq!(prod.get("aws_mq_broker"), Some(&2));
    assert_eq!(prod.get("aws_secretsmanager_secret"), Some(&5));

    let run = baton(&sb, &["--env", "prod", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let again = baton(&sb, &["--env", "prod", "plan", "--detailed-exitcode"]);
    assert_eq!(
        again.code,
        0,
        "no changes after apply\n{}",
        again.transcript()
    );
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);

    // On AWS, seen through the SDK.
    let out = outputs(&sb);
    let db = &out[format!("postgres.default#orders-db-{suffix}")];
    let rt = rt();
    let aws = rt.block_on(aws());
    let id = sb.name_in(
        ".baton/prod.db",
        &format!("postgres.default#orders-db-{suffix}"),
        "-",
        54,
    );
    let instance = rt
        .block_on(
            aws.rds
                .describe_db_instances()
                .db_instance_identifier(&id)
                .send(),
        )
        .unwrap();
    let instance = &instance.db_instances()[0];
    assert_eq!(instance.engine(), Some("postgres"));
    assert_eq!(instance.storage_encrypted(), Some(true));
    assert_eq!(
        instance.endpoint().and_then(|e| e.address()),
        db["host"].as_str()
    );
    assert_eq!(instance.master_username(), db["username"].as_str());
    let secret = rt
        .block_on(
            aws.secrets
                .get_secret_value()
                .secret_id(format!("baton/{id}"))
                .send(),
        )
        .unwrap();
    let secret: Value = serde_json::from_str(secret.secret_string().unwrap()).unwrap();
    assert_eq!(secret["password"], db["password"]);
    assert_eq!(secret["host"], db["host"]);
    for (workload, resource) in [("fulfilment", "cache"), ("storefront", "sessions")] {
        let group = sb.name_in(
            ".baton/prod.db",
            &format!("redis.default#{workload}-{suffix}.{resource}"),
            "-",
            40,
        );
        let g = rt
            .block_on(
                aws.elasticache
                    .describe_replication_groups()
                    .replication_group_id(&group)
                    .send(),
            )
            .unwrap();
        let g = &g.replication_groups()[0];
        assert_eq!(g.transit_encryption_enabled(), Some(true), "{group}");
        assert_eq!(g.auth_token_enabled(), Some(true), "{group}");
        let o = &out[format!("redis.default#{workload}-{suffix}.{resource}")];
        assert_eq!(
            g.node_groups()[0]
                .primary_endpoint()
                .and_then(|e| e.address()),
            o["host"].as_str()
        );
    }
    let brokers = rt.block_on(aws.mq.list_brokers().send()).unwrap();
    let mut mine: Vec<&str> = brokers
        .broker_summaries()
        .iter()
        .filter_map(|b| b.broker_name())
        .filter(|n| n.contains(&suffix))
        .collect();
    mine.sort();
    assert_eq!(
        mine,
        [
            sb.name_in(
                ".baton/prod.db",
                &format!("amqp.default#fulfilment-{suffix}.queue"),
                "-",
                50
            ),
            sb.name_in(
                ".baton/prod.db",
                &format!("amqp.default#orders-{suffix}.events"),
                "-",
                50
            ),
        ]
    );
    let events = &out[format!("amqp.default#orders-{suffix}.events")];
    assert_eq!(events["vhost"], "/");
    assert!(events["port"].as_i64().is_some(), "{events}");

    // The manifests carry the AWS endpoints (in a ConfigMap, or in the Secret for a
    // value holding a password); the passwords only in Secrets.
    let cache = &out[format!("redis.default#fulfilment-{suffix}.cache")];
    let fulfilment = sb.read(&format!("deploy/prod/fulfilment-{suffix}.yaml"));
    assert!(
        fulfilment.contains(&format!(
            "name: CACHE_HOST\n          value: {}\n",
            cache["host"].as_str().unwrap()
        )),
        "{fulfilment}"
    );
    assert!(fulfilment.contains("namespace: shop"), "{fulfilment}");
    for w in ["fulfilment", "orders", "storefront"] {
        let text = sb.read(&format!("deploy/prod/{w}-{suffix}.yaml"));
        assert!(!text.contains(db["password"].as_str().unwrap()), "{w}");
        assert!(!text.contains(cache["password"].as_str().unwrap()), "{w}");
    }

    // local is untouched by all this, and prod goes away with destroy.
    let local = baton(&sb, &["--env", "local", "state", "list"]);
    assert_eq!(local.code, 0, "{}", local.transcript());
    assert!(
        !local.stdout.contains(&suffix),
        "local has its own state: {}",
        local.stdout
    );
    let run = baton(&sb, &["--env", "prod", "destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        rt.block_on(
            aws.rds
                .describe_db_instances()
                .db_instance_identifier(&id)
                .send()
        )
        .is_err()
    );
    let brokers = rt.block_on(aws.mq.list_brokers().send()).unwrap();
    assert!(
        brokers
            .broker_summaries()
            .iter()
            .all(|b| !b.broker_name().unwrap_or_default().contains(&suffix))
    );
}

/// A prod environment like examples/shop's, for Score files of the tests below.
const BATON_HCL: &str = r#"
environment "prod" {
  provider "aws" {
    region   = "eu-west-1"
    endpoint = env("BATON_AWS_ENDPOINT")
  }
}
"#;

fn files_score(name: &str, force_destroy: bool) -> String {
    format!(
        "apiVersion: score.dev/v1b1
metadata:
  name: {name}
containers:
  main:
    image: busybox
    variables:
      BUCKET: ${{resources.files.bucket}}
      QUEUE: ${{resources.jobs.url}}
      DB: ${{resources.db.host}}
resources:
  files:
    type: s3
    params:
      versioning: true
      force_destroy: {force_destroy}
  jobs:
    type: queue
  db:
    type: postgres
    params:
      skip_final_snapshot: true
"
    )
}

#[test]
fn drift_made_outside_baton_is_reported_and_converged() {
    let name = unique("d");
    let sb = Sandbox::new();
    sb.write("baton.hcl", BATON_HCL);
    sb.write("score.yaml", &files_score(&name, true));
    let run = baton(&sb, &["--env", "prod", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        baton(&sb, &["--env", "prod", "drift"]).code,
        0,
        "no drift right after apply"
    );
    let out = outputs(&sb);
    let bucket = out[format!("s3.default#{name}.files")]["bucket"]
        .as_str()
        .unwrap()
        .to_string();
    let queue_url = out[format!("queue.default#{name}.jobs")]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let password = out[format!("postgres.default#{name}.db")]["password"]
        .as_str()
        .unwrap()
        .to_string();
    let secret_id = format!(
        "baton/{}",
        sb.name_in(
            ".baton/prod.db",
            &format!("postgres.default#{name}.db"),
            "-",
            54
        )
    );
    let rt = rt();
    let aws = rt.block_on(aws());

    // Outside baton: a tag removed (the others kept, baton's ownership tag among them),
    // versioning suspended, the queue deleted, the secret's value changed.
    rt.block_on(async {
        let kept = aws
            .s3
            .get_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .tag_set()
            .iter()
            .filter(|t| t.key() == "managed-by" || t.key() == "baton:owner")
            .cloned()
            .collect::<Vec<_>>();
        assert_eq!(kept.len(), 2, "{kept:?}");
        let tagging = aws_sdk_s3::types::Tagging::builder()
            .set_tag_set(Some(kept))
            .build()
            .unwrap();
        aws.s3
            .put_bucket_tagging()
            .bucket(&bucket)
            .tagging(tagging)
            .send()
            .await
            .unwrap();
        aws.s3
            .put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        aws.sqs
            .delete_queue()
            .queue_url(&queue_url)
            .send()
            .await
            .unwrap();
        aws.secrets
            .put_secret_value()
            .secret_id(&secret_id)
            .secret_string("{\"password\":\"changed-by-hand\"}")
            .send()
            .await
            .unwrap();
    });

    let drift = baton(&sb, &["--env", "prod", "drift", "--format", "json"]);
    assert_eq!(drift.code, 2, "{}", drift.transcript());
    let v: Value = serde_json::from_str(&drift.stdout).unwrap();
    let addresses: Vec<&str> = v["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["address"].as_str().unwrap())
        .collect();
    for expected in [
        format!("s3.default#{name}.files/aws_s3_bucket.bucket"),
        format!("queue.default#{name}.jobs/aws_sqs_queue.queue"),
        format!("postgres.default#{name}.db/aws_secretsmanager_secret.credentials"),
    ] {
        assert!(
            addresses.contains(&expected.as_str()),
            "{expected} in {addresses:?}"
        );
    }
    assert!(
        !drift.stdout.contains("changed-by-hand") && !drift.stdout.contains(&password),
        "secrets never shown: {}",
        drift.stdout
    );
    let text = baton(&sb, &["--env", "prod", "drift"]);
    assert_eq!(text.code, 2);
    assert!(
        text.stdout
            .contains(&format!("s3.default#{name}.files/aws_s3_bucket.bucket")),
        "{}",
        text.stdout
    );

    let run = baton(&sb, &["--env", "prod", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(baton(&sb, &["--env", "prod", "drift"]).code, 0, "converged");

    // Converged on AWS, seen through the SDK.
    rt.block_on(async {
        let t = aws
            .s3
            .get_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let tags: BTreeMap<&str, &str> = t.tag_set().iter().map(|t| (t.key(), t.value())).collect();
        assert_eq!(tags.get("baton:resource"), Some(&"files"), "{tags:?}");
        let v = aws
            .s3
            .get_bucket_versioning()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));
        let queue = out[format!("queue.default#{name}.jobs")]["arn"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();
        aws.sqs
            .get_queue_url()
            .queue_name(&queue)
            .send()
            .await
            .expect("the queue is back");
        let s = aws
            .secrets
            .get_secret_value()
            .secret_id(&secret_id)
            .send()
            .await
            .unwrap();
        let value: Value = serde_json::from_str(s.secret_string().unwrap()).unwrap();
        assert_eq!(value["password"], password.as_str());
    });

    let run = baton(&sb, &["--env", "prod", "destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

#[test]
fn a_bucket_holding_objects_is_kept_unless_force_destroy() {
    let name = unique("f");
    let sb = Sandbox::new();
    sb.write("baton.hcl", BATON_HCL);
    sb.write("score.yaml", &files_score(&name, false));
    let run = baton(&sb, &["--env", "prod", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let bucket = outputs(&sb)[format!("s3.default#{name}.files")]["bucket"]
        .as_str()
        .unwrap()
        .to_string();
    let rt = rt();
    let aws = rt.block_on(aws());
    rt.block_on(
        aws.s3
            .put_object()
            .bucket(&bucket)
            .key("invoices/1.pdf")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"%PDF"))
            .send(),
    )
    .unwrap();

    let run = baton(&sb, &["--env", "prod", "destroy", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains(&bucket)
            && run.stderr.contains("not empty")
            && run.stderr.contains("force_destroy = true"),
        "{}",
        run.stderr
    );
    rt.block_on(aws.s3.head_bucket().bucket(&bucket).send())
        .expect("the bucket and its objects are kept");

    // With force_destroy (an in-place change), the bucket goes with its objects.
    sb.write("score.yaml", &files_score(&name, true));
    let run = baton(&sb, &["--env", "prod", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let run = baton(&sb, &["--env", "prod", "destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        rt.block_on(aws.s3.head_bucket().bucket(&bucket).send())
            .is_err()
    );
}
