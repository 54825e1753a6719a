//! Hostile neighbours on AWS (the moto emulator): an S3 bucket holding an object and an
//! SQS queue holding a message, made by someone else with exactly the names a module
//! asks for. baton must refuse to take them over, change or delete them, whatever it is
//! asked to do (apply, again, drift, an apply killed mid-way and the next one, destroy),
//! and every refusal names the object and the explicit way to take it over (`baton
//! import`). What the neighbour has is checked through the AWS SDK, never through baton.

use std::collections::BTreeMap;
use std::process::Command;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::servers::unique;
use crate::support::{Run, Sandbox};

#[path = "../../src/provider/aws/moto.rs"]
#[allow(dead_code)]
mod moto;

/// An environment on the emulator.
const BATON_HCL: &str = r#"
environment "local" {
  provider "aws" {
    region   = "eu-west-1"
    endpoint = env("BATON_AWS_ENDPOINT")
  }
}
"#;

/// A project module asking for a bucket and a queue by the exact name given.
const MODULE: &str = r#"
provisions "awsneighbour" {
  environments = ["local"]
  description  = "A bucket and a queue with exact names, for the hostile-neighbours suite"
}

param "name" {
  type = string
}

resource "random_password" "token" {
  length  = 16
  special = false
}

resource "aws_s3_bucket" "bucket" {
  bucket        = param.name
  force_destroy = true
  tags = {
    token = random_password.token.result
  }
}

resource "aws_sqs_queue" "queue" {
  name = "${param.name}-q"
}

output "bucket" {
  value = aws_s3_bucket.bucket.bucket
}
"#;

const CANARY: &str = "still here";

/// baton with AWS pointed at the emulator, with the emulator's credentials.
fn on_moto(mut cmd: Command) -> Command {
    cmd.env("BATON_AWS_ENDPOINT", &moto::moto().endpoint)
        .env_remove("BATON_AWS_REGION")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null());
    cmd
}

fn baton(sb: &Sandbox, args: &[&str]) -> Run {
    Run::of(on_moto(sb.command(args)).output().expect("run baton"))
}

/// The SDK's configuration for the emulator.
fn sdk(rt: &tokio::runtime::Runtime) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .http_client(http)
            .endpoint_url(&moto::moto().endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    )
}

/// The neighbour's view of AWS: SDK clients on the emulator.
struct Neighbour {
    rt: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    bucket: String,
    queue: String,
    queue_url: String,
}

impl Neighbour {
    /// Makes the bucket (tagged, holding the canary object) and the queue (tagged, with
    /// its own timeout, holding the canary message).
    fn make(name: &str) -> Neighbour {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sdk = sdk(&rt);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let (bucket, queue) = (name.to_string(), format!("{name}-q"));
        rt.block_on(async {
            use aws_sdk_s3::types::{
                BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging,
            };
            s3.create_bucket()
                .bucket(&bucket)
                .create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::EuWest1)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let tagging = Tagging::builder()
                .tag_set(
                    Tag::builder()
                        .key("owner")
                        .value("neighbour")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap();
            s3.put_bucket_tagging()
                .bucket(&bucket)
                .tagging(tagging)
                .send()
                .await
                .unwrap();
            s3.put_object()
                .bucket(&bucket)
                .key("canary.txt")
                .body(CANARY.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap();
        });
        let queue_url = rt.block_on(async {
            let url = sqs
                .create_queue()
                .queue_name(&queue)
                .attributes(QueueAttributeName::VisibilityTimeout, "17")
                .tags("owner", "neighbour")
                .send()
                .await
                .unwrap()
                .queue_url()
                .unwrap()
                .to_string();
            sqs.send_message()
                .queue_url(&url)
                .message_body(CANARY)
                .send()
                .await
                .unwrap();
            url
        });
        Neighbour {
            rt,
            s3,
            sqs,
            bucket,
            queue,
            queue_url,
        }
    }

    /// The canaries are alive and both objects are as the neighbour left them.
    fn check(&self, when: &str) {
        self.rt.block_on(async {
            let body = self
                .s3
                .get_object()
                .bucket(&self.bucket)
                .key("canary.txt")
                .send()
                .await
                .unwrap_or_else(|e| panic!("{when}: the canary object is gone: {e:?}"))
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
            assert_eq!(&body[..], CANARY.as_bytes(), "{when}: the canary object");
            let tags: BTreeMap<String, String> = self
                .s3
                .get_bucket_tagging()
                .bucket(&self.bucket)
                .send()
                .await
                .unwrap()
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            assert_eq!(
                tags,
                BTreeMap::from([("owner".to_string(), "neighbour".to_string())]),
                "{when}: the bucket's tags changed (taken over or marked)"
            );
            let versioning = self
                .s3
                .get_bucket_versioning()
                .bucket(&self.bucket)
                .send()
                .await
                .unwrap();
            assert_eq!(
                versioning.status(),
                None,
                "{when}: the bucket's versioning changed"
            );

            let url = self
                .sqs
                .get_queue_url()
                .queue_name(&self.queue)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{when}: the queue is gone: {e:?}"));
            assert_eq!(
                url.queue_url(),
                Some(self.queue_url.as_str()),
                "{when}: the queue was made again"
            );
            let attrs = self
                .sqs
                .get_queue_attributes()
                .queue_url(&self.queue_url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .unwrap();
            let attrs = attrs.attributes().unwrap();
            assert_eq!(
                attrs[&QueueAttributeName::VisibilityTimeout],
                "17",
                "{when}: the queue's timeout changed"
            );
            assert_eq!(
                attrs[&QueueAttributeName::ApproximateNumberOfMessages],
                "1",
                "{when}: the canary message"
            );
            let tags = self
                .sqs
                .list_queue_tags()
                .queue_url(&self.queue_url)
                .send()
                .await
                .unwrap();
            assert_eq!(
                tags.tags().cloned().unwrap_or_default(),
                std::collections::HashMap::from([("owner".to_string(), "neighbour".to_string())]),
                "{when}: the queue's tags changed (taken over or marked)"
            );
        });
    }

    /// The canary message itself, read without taking it (visibility timeout 0).
    fn message(&self) -> String {
        self.rt.block_on(async {
            let got = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
            got.messages()
                .first()
                .and_then(|m| m.body())
                .unwrap_or_default()
                .to_string()
        })
    }
}

/// The neighbour's objects go when the test ends, also when an assertion fails.
impl Drop for Neighbour {
    fn drop(&mut self) {
        self.rt.block_on(async {
            let _ = self
                .s3
                .delete_object()
                .bucket(&self.bucket)
                .key("canary.txt")
                .send()
                .await;
            let _ = self.s3.delete_bucket().bucket(&self.bucket).send().await;
            let _ = self
                .sqs
                .delete_queue()
                .queue_url(&self.queue_url)
                .send()
                .await;
        });
    }
}

/// A refusal names both objects and says how to take them over, exits 1, and leaves no
/// AWS object recorded.
fn assert_refused(sb: &Sandbox, run: &Run, what: &str, n: &Neighbour) {
    assert_eq!(run.code, 1, "{what}: {}", run.transcript());
    let err = &run.stderr;
    assert!(
        err.contains(&format!("aws_s3_bucket \"{}\"", n.bucket)),
        "{what}: names the bucket\n{}",
        run.transcript()
    );
    assert!(
        err.contains(&format!("aws_sqs_queue \"{}\"", n.queue)),
        "{what}: names the queue\n{}",
        run.transcript()
    );
    assert!(
        err.contains("baton import"),
        "{what}: says how to take it over\n{}",
        run.transcript()
    );
    let listed = baton(sb, &["state", "list"]);
    assert!(
        !listed.stdout.contains("aws_s3_bucket") && !listed.stdout.contains("aws_sqs_queue"),
        "{what}: a foreign object was recorded\n{}",
        listed.transcript()
    );
}

#[test]
fn a_foreign_bucket_and_queue_with_the_configured_names_are_never_taken_changed_or_deleted() {
    let name = unique("nbaws");
    let neighbour = Neighbour::make(&name);
    let sb = Sandbox::new();
    sb.write("baton.hcl", BATON_HCL);
    sb.write("modules/awsneighbour.hcl", MODULE);
    sb.write(
        "score.yaml",
        &format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: busybox\nresources:\n  store:\n    type: awsneighbour\n    params:\n      name: {name}\n"
        ),
    );
    neighbour.check("before baton");

    crate::support::hostile_session(
        &|args| on_moto(sb.command(args)),
        &["aws_"],
        &|run, what| assert_refused(&sb, run, what, &neighbour),
        &|when| neighbour.check(when),
    );
    assert_eq!(neighbour.message(), CANARY, "the canary message's text");

    // The explicit door: `baton import` takes the queue over on purpose and marks it,
    // keeping the neighbour's tag and message.
    let address = "awsneighbour.default#app.store/aws_sqs_queue.queue";
    let import = baton(&sb, &["import", address, &neighbour.queue]);
    assert_eq!(import.code, 0, "{}", import.transcript());
    let tags = neighbour.rt.block_on(async {
        neighbour
            .sqs
            .list_queue_tags()
            .queue_url(&neighbour.queue_url)
            .send()
            .await
            .unwrap()
            .tags()
            .cloned()
            .unwrap_or_default()
    });
    assert_eq!(
        tags.get("owner").map(String::as_str),
        Some("neighbour"),
        "{tags:?}"
    );
    assert!(
        tags.get("baton:owner")
            .is_some_and(|m| m.starts_with("baton:")),
        "import marked the queue: {tags:?}"
    );
    assert_eq!(
        neighbour.message(),
        CANARY,
        "the canary message after import"
    );
}

/// The names of a zone's record sets other than its own SOA and NS, with their values.
fn zone_records(
    rt: &tokio::runtime::Runtime,
    r53: &aws_sdk_route53::Client,
    zone_id: &str,
) -> BTreeMap<String, Vec<String>> {
    let out = rt
        .block_on(
            r53.list_resource_record_sets()
                .hosted_zone_id(zone_id)
                .send(),
        )
        .unwrap();
    out.resource_record_sets()
        .iter()
        .filter(|s| !matches!(s.r#type().as_str(), "SOA" | "NS"))
        .map(|s| {
            (
                format!("{} {}", s.name().trim_end_matches('.'), s.r#type().as_str()),
                s.resource_records()
                    .iter()
                    .map(|r| r.value().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// The `dns` and `route` modules put their records into the team's own zone
/// (`zone_id` of `provider "aws"`, a zone baton did not make): each record carries its
/// ownership marker beside it, the next plan and `drift` are quiet, and `destroy`
/// removes exactly baton's records; the zone's other records are untouched.
#[test]
fn records_go_into_a_team_zone_and_leave_its_other_records_alone() {
    let name = unique("dz");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r53 = aws_sdk_route53::Client::new(&sdk(&rt));
    let domain = format!("{name}.example.com");
    let zone = rt
        .block_on(
            r53.create_hosted_zone()
                .name(&domain)
                .caller_reference(&name)
                .send(),
        )
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let canary = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name(format!("canary.{domain}"))
        .r#type(aws_sdk_route53::types::RrType::A)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder()
                .value("192.0.2.55")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    rt.block_on(
        r53.change_resource_record_sets()
            .hosted_zone_id(&zone_id)
            .change_batch(
                aws_sdk_route53::types::ChangeBatch::builder()
                    .changes(
                        aws_sdk_route53::types::Change::builder()
                            .action(aws_sdk_route53::types::ChangeAction::Create)
                            .resource_record_set(canary)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    let before = zone_records(&rt, &r53, &zone_id);

    let sb = Sandbox::new();
    sb.write(
        "baton.hcl",
        &format!(
            "environment \"prod\" {{\n  provider \"aws\" {{\n    region     = \"eu-west-1\"\n    endpoint   = env(\"BATON_AWS_ENDPOINT\")\n    zone_id    = \"{zone_id}\"\n    domain     = \"{domain}\"\n    dns_target = \"192.0.2.10\"\n  }}\n}}\n"
        ),
    );
    sb.write(
        "score.yaml",
        &format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: busybox\nservice:\n  ports:\n    web: {{port: 80}}\nresources:\n  dns:\n    type: dns\n  route:\n    type: route\n    params:\n      host: ${{resources.dns.host}}\n      port: 80\n"
        ),
    );
    let run = baton(&sb, &["--env", "prod", "apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let after = zone_records(&rt, &r53, &zone_id);
    let added: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    // The owner TXT of `dns`, the route's A record, and a marker beside each.
    assert_eq!(added.len(), 4, "{after:#?}");
    assert_eq!(
        added
            .iter()
            .filter(|k| k.starts_with("_baton-owner.txt.") || k.starts_with("_baton-owner.a."))
            .count(),
        2,
        "{added:?}"
    );
    let plan = baton(&sb, &["--env", "prod", "plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.transcript());
    let drift = baton(&sb, &["--env", "prod", "drift"]);
    assert_eq!(drift.code, 0, "{}", drift.transcript());

    let run = baton(&sb, &["--env", "prod", "destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        zone_records(&rt, &r53, &zone_id),
        before,
        "only baton's records went"
    );
}
