//! Tests of the managed-service kinds (RDS, ElastiCache, Amazon MQ) against moto, in
//! the style of `tests`: what the provider did is checked with direct SDK calls, and
//! changes "made outside baton" are direct SDK calls too.

use std::collections::BTreeMap;

use super::tests::{attrs, direct, map, marker, provider, s, schema, stranger, string_map, uniq};
use super::*;
use crate::value::Value;

fn int(n: i64) -> Value {
    Value::int(n)
}

fn yes() -> Value {
    Value::Bool(true)
}

#[tokio::test]
async fn rds_instance_create_read_update_replace_drift_delete() {
    let p = provider();
    let d = direct().await;
    let sch = schema(&p, rds::INSTANCE);
    for a in [
        "identifier",
        "engine",
        "db_name",
        "username",
        "storage_encrypted",
        "db_subnet_group_name",
    ] {
        assert!(sch.attr(a).unwrap().force_new, "{a} forces a new instance");
    }
    for a in [
        "instance_class",
        "allocated_storage",
        "engine_version",
        "password",
        "backup_retention_period",
        "multi_az",
        "tags",
    ] {
        assert!(!sch.attr(a).unwrap().force_new, "{a} changes in place");
    }
    assert!(sch.attr("password").unwrap().sensitive);

    let id = uniq("db");
    let cfg = attrs(&[
        ("identifier", s(&id)),
        ("engine", s("postgres")),
        ("engine_version", s("16.3")),
        ("instance_class", s("db.t4g.micro")),
        ("allocated_storage", int(20)),
        ("db_name", s("orders")),
        ("username", s("orders")),
        ("password", Value::sensitive(s("first-password-1234"))),
        ("port", int(5432)),
        ("backup_retention_period", int(7)),
        ("storage_encrypted", yes()),
        ("skip_final_snapshot", yes()),
        ("apply_immediately", yes()),
        ("tags", map(&[("team", "orders"), ("env", "prod")])),
    ]);
    let out = p
        .create(rds::INSTANCE, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let address = out["address"].as_str().unwrap().to_string();
    assert!(!address.is_empty(), "{out:?}");
    assert_eq!(out["endpoint"], s(&format!("{address}:5432")));
    assert_eq!(out["storage_type"], s("gp3"), "defaults are filled in");

    let seen = d
        .rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .unwrap();
    let i = &seen.db_instances()[0];
    assert_eq!(i.engine(), Some("postgres"));
    assert_eq!(i.engine_version(), Some("16.3"));
    assert_eq!(i.db_instance_class(), Some("db.t4g.micro"));
    assert_eq!(i.allocated_storage(), Some(20));
    assert_eq!(i.db_name(), Some("orders"));
    assert_eq!(i.master_username(), Some("orders"));
    assert_eq!(i.backup_retention_period(), Some(7));
    assert_eq!(i.storage_encrypted(), Some(true));
    assert_eq!(i.endpoint().and_then(|e| e.port()), Some(5432));
    let arn = i.db_instance_arn().unwrap().to_string();
    let tags = |d: &super::config::Clients, arn: String| {
        let rds = d.rds.clone();
        async move {
            rds.list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await
                .unwrap()
                .tag_list()
                .iter()
                .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
                .collect::<BTreeMap<String, String>>()
        }
    };
    assert_eq!(
        tags(&d, arn.clone()).await,
        BTreeMap::from([
            ("env".into(), "prod".into()),
            ("team".into(), "orders".into()),
            (OWNER_TAG.into(), marker()),
        ])
    );
    assert_eq!(
        p.read(rds::INSTANCE, &out).await.unwrap(),
        Some(out.clone()),
        "no drift right after create"
    );

    // Update in place: size, storage, backups, password, tags.
    let mut cfg2 = cfg.clone();
    cfg2.insert("instance_class".into(), s("db.t4g.small"));
    cfg2.insert("allocated_storage".into(), int(30));
    cfg2.insert("backup_retention_period".into(), int(3));
    cfg2.insert(
        "password".into(),
        Value::sensitive(s("second-password-5678")),
    );
    cfg2.insert("tags".into(), map(&[("team", "shop")]));
    let out2 = p.update(rds::INSTANCE, &out, &cfg2).await.unwrap();
    let seen = d
        .rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .unwrap();
    let i = &seen.db_instances()[0];
    assert_eq!(i.db_instance_class(), Some("db.t4g.small"));
    assert_eq!(i.allocated_storage(), Some(30));
    assert_eq!(i.backup_retention_period(), Some(3));
    assert_eq!(
        tags(&d, arn.clone()).await,
        BTreeMap::from([("team".into(), "shop".into()), (OWNER_TAG.into(), marker())]),
        "an update keeps the ownership tag"
    );
    assert_eq!(
        p.read(rds::INSTANCE, &out2).await.unwrap(),
        Some(out2.clone())
    );

    // Drift: backups turned off and a tag removed outside baton.
    d.rds
        .modify_db_instance()
        .db_instance_identifier(&id)
        .backup_retention_period(0)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    d.rds
        .remove_tags_from_resource()
        .resource_name(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let drifted = p.read(rds::INSTANCE, &out2).await.unwrap().unwrap();
    assert_eq!(drifted["backup_retention_period"], int(0));
    assert_eq!(drifted["tags"], Value::Map(crate::value::Map::new()));
    let fixed = p.update(rds::INSTANCE, &drifted, &cfg2).await.unwrap();
    assert_eq!(
        p.read(rds::INSTANCE, &fixed).await.unwrap(),
        Some(fixed.clone()),
        "converged"
    );

    // A delete that would lose the data without a name for the final snapshot is
    // refused before anything is touched.
    let mut keep = fixed.clone();
    keep.insert("skip_final_snapshot".into(), Value::Bool(false));
    let e = p.delete(rds::INSTANCE, &keep).await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::Invalid(m) if m.contains("final_snapshot_identifier")),
        "{e:?}"
    );
    assert!(p.read(rds::INSTANCE, &fixed).await.unwrap().is_some());

    // Replace (a force-new attribute changed): delete, then create under the same
    // identifier, which the delete's wait made free.
    keep.insert(
        "final_snapshot_identifier".into(),
        s(&format!("{id}-final")),
    );
    p.delete(rds::INSTANCE, &keep).await.unwrap();
    let snap = d
        .rds
        .describe_db_snapshots()
        .db_snapshot_identifier(format!("{id}-final"))
        .send()
        .await
        .unwrap();
    assert_eq!(snap.db_snapshots().len(), 1, "the final snapshot was taken");
    let mut cfg3 = cfg2.clone();
    cfg3.insert("db_name".into(), s("orders2"));
    let out3 = p
        .create(rds::INSTANCE, &cfg3, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let seen = d
        .rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.db_instances()[0].db_name(), Some("orders2"));

    // Deleted outside baton: gone.
    d.rds
        .delete_db_instance()
        .db_instance_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await
        .unwrap();
    assert_eq!(p.read(rds::INSTANCE, &out3).await.unwrap(), None);
    p.delete(rds::INSTANCE, &out3).await.unwrap();

    // Taking over an existing instance is refused; AWS's errors name the instance and
    // never carry the password.
    let e = p
        .create(rds::INSTANCE, &cfg3, &crate::provider::Owner::for_tests())
        .await;
    assert!(e.is_ok(), "{e:?}");
    let e = p
        .create(rds::INSTANCE, &cfg3, &stranger())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ProviderError::NotOurs(m) if m.contains("already exists")),
        "{e}"
    );
    assert!(!e.to_string().contains("second-password"), "{e}");
    p.delete(rds::INSTANCE, &out3).await.unwrap();
    assert!(
        d.rds
            .describe_db_instances()
            .db_instance_identifier(&id)
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn elasticache_group_create_read_update_replace_drift_delete() {
    let p = provider();
    let d = direct().await;
    let sch = schema(&p, elasticache::GROUP);
    for a in [
        "replication_group_id",
        "engine",
        "port",
        "transit_encryption_enabled",
        "at_rest_encryption_enabled",
        "subnet_group_name",
    ] {
        assert!(sch.attr(a).unwrap().force_new, "{a} forces a new group");
    }
    for a in [
        "node_type",
        "description",
        "auth_token",
        "snapshot_retention_limit",
        "num_cache_clusters",
        "tags",
    ] {
        assert!(!sch.attr(a).unwrap().force_new, "{a} changes in place");
    }
    assert!(sch.attr("auth_token").unwrap().sensitive);

    let id = uniq("rg").chars().take(40).collect::<String>();
    let cfg = attrs(&[
        ("replication_group_id", s(&id)),
        ("node_type", s("cache.t4g.micro")),
        (
            "auth_token",
            Value::sensitive(s("first-token-abcdefghijklmnop")),
        ),
        ("snapshot_retention_limit", int(5)),
        ("apply_immediately", yes()),
        ("tags", map(&[("team", "web"), ("env", "prod")])),
    ]);
    let out = p
        .create(
            elasticache::GROUP,
            &cfg,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    assert!(
        !out["primary_endpoint_address"].as_str().unwrap().is_empty(),
        "{out:?}"
    );
    assert_eq!(out["port"], int(6379), "defaults are filled in");
    let describe = || async {
        d.elasticache
            .describe_replication_groups()
            .replication_group_id(&id)
            .send()
            .await
            .map(|o| o.replication_groups()[0].clone())
    };
    let g = describe().await.unwrap();
    assert_eq!(g.cache_node_type(), Some("cache.t4g.micro"));
    assert_eq!(g.description(), Some("Managed by baton"));
    assert_eq!(g.transit_encryption_enabled(), Some(true));
    assert_eq!(g.at_rest_encryption_enabled(), Some(true));
    assert_eq!(g.auth_token_enabled(), Some(true));
    assert_eq!(g.snapshot_retention_limit(), Some(5));
    assert_eq!(
        g.node_groups()[0]
            .primary_endpoint()
            .and_then(|e| e.address()),
        out["primary_endpoint_address"].as_str()
    );
    let arn = g.arn().unwrap().to_string();
    let tags = || async {
        d.elasticache
            .list_tags_for_resource()
            .resource_name(&arn)
            .send()
            .await
            .unwrap()
            .tag_list()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect::<BTreeMap<String, String>>()
    };
    assert_eq!(
        tags().await,
        BTreeMap::from([
            ("env".into(), "prod".into()),
            ("team".into(), "web".into()),
            (OWNER_TAG.into(), marker()),
        ])
    );
    assert_eq!(
        p.read(elasticache::GROUP, &out).await.unwrap(),
        Some(out.clone()),
        "no drift right after create"
    );

    // Update in place: node type, description, backups, a new token, tags.
    let mut cfg2 = cfg.clone();
    cfg2.insert("node_type".into(), s("cache.m7g.large"));
    cfg2.insert("description".into(), s("sessions"));
    cfg2.insert("snapshot_retention_limit".into(), int(1));
    cfg2.insert(
        "auth_token".into(),
        Value::sensitive(s("second-token-abcdefghijklmnop")),
    );
    cfg2.insert("tags".into(), map(&[("team", "shop")]));
    let out2 = p.update(elasticache::GROUP, &out, &cfg2).await.unwrap();
    let g = describe().await.unwrap();
    assert_eq!(g.cache_node_type(), Some("cache.m7g.large"));
    assert_eq!(g.description(), Some("sessions"));
    assert_eq!(g.snapshot_retention_limit(), Some(1));
    assert_eq!(
        tags().await,
        BTreeMap::from([("team".into(), "shop".into()), (OWNER_TAG.into(), marker())]),
        "an update keeps the ownership tag"
    );
    assert_eq!(
        p.read(elasticache::GROUP, &out2).await.unwrap(),
        Some(out2.clone())
    );

    // Drift: the node type changed and a tag removed outside baton.
    d.elasticache
        .modify_replication_group()
        .replication_group_id(&id)
        .cache_node_type("cache.t4g.small")
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    d.elasticache
        .remove_tags_from_resource()
        .resource_name(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let drifted = p.read(elasticache::GROUP, &out2).await.unwrap().unwrap();
    assert_eq!(drifted["node_type"], s("cache.t4g.small"));
    assert_eq!(drifted["tags"], Value::Map(crate::value::Map::new()));
    let fixed = p.update(elasticache::GROUP, &drifted, &cfg2).await.unwrap();
    assert_eq!(
        describe().await.unwrap().cache_node_type(),
        Some("cache.m7g.large")
    );
    assert_eq!(
        p.read(elasticache::GROUP, &fixed).await.unwrap(),
        Some(fixed.clone()),
        "converged"
    );

    // Replace: delete (waits until it is gone), then create under the same id.
    p.delete(elasticache::GROUP, &fixed).await.unwrap();
    assert!(describe().await.is_err(), "deleted");
    let mut cfg3 = cfg2.clone();
    cfg3.insert("port".into(), int(6380));
    let out3 = p
        .create(
            elasticache::GROUP,
            &cfg3,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap();
    let g = describe().await.unwrap();
    assert_eq!(
        g.node_groups()[0].primary_endpoint().and_then(|e| e.port()),
        Some(6380)
    );

    // Deleted outside baton: gone.
    d.elasticache
        .delete_replication_group()
        .replication_group_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(p.read(elasticache::GROUP, &out3).await.unwrap(), None);
    p.delete(elasticache::GROUP, &out3).await.unwrap();

    // A token AWS would refuse is refused here, without showing it.
    let mut bad = cfg.clone();
    bad.insert("auth_token".into(), Value::sensitive(s("short@secret")));
    let e = p
        .create(
            elasticache::GROUP,
            &bad,
            &crate::provider::Owner::for_tests(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ProviderError::Invalid(m) if m.contains("auth_token") && !m.contains("short@secret")),
        "{e:?}"
    );
}

#[tokio::test]
async fn mq_broker_create_read_update_replace_drift_delete() {
    let p = provider();
    let d = direct().await;
    let sch = schema(&p, mq::BROKER);
    for a in [
        "broker_name",
        "engine_type",
        "deployment_mode",
        "publicly_accessible",
        "subnet_ids",
        "username",
    ] {
        assert!(sch.attr(a).unwrap().force_new, "{a} forces a new broker");
    }
    for a in [
        "engine_version",
        "host_instance_type",
        "password",
        "auto_minor_version_upgrade",
        "tags",
    ] {
        assert!(!sch.attr(a).unwrap().force_new, "{a} changes in place");
    }
    assert!(sch.attr("password").unwrap().sensitive);

    let name = uniq("mq");
    let cfg = attrs(&[
        ("broker_name", s(&name)),
        ("engine_version", s("3.13")),
        ("username", s("orders")),
        ("password", Value::sensitive(s("rabbit-password-1234"))),
        ("apply_immediately", yes()),
        ("tags", map(&[("team", "orders")])),
    ]);
    let out = p
        .create(mq::BROKER, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let id = out["broker_id"].as_str().unwrap().to_string();
    assert_eq!(out["engine_type"], s("RabbitMQ"), "defaults are filled in");
    let b = d.mq.describe_broker().broker_id(&id).send().await.unwrap();
    assert_eq!(b.broker_name(), Some(name.as_str()));
    assert_eq!(b.engine_type().map(|e| e.as_str()), Some("RABBITMQ"));
    assert_eq!(b.engine_version(), Some("3.13"));
    assert_eq!(b.host_instance_type(), Some("mq.t3.micro"));
    assert_eq!(
        b.deployment_mode().map(|m| m.as_str()),
        Some("SINGLE_INSTANCE")
    );
    assert_eq!(b.publicly_accessible(), Some(false));
    let endpoint = &b.broker_instances()[0].endpoints()[0];
    assert_eq!(out["endpoint"], s(endpoint));
    let u = url::Url::parse(endpoint).unwrap();
    assert_eq!(out["host"], s(u.host_str().unwrap()));
    assert_eq!(out["port"], int(u.port().unwrap().into()));
    assert_eq!(
        b.tags().unwrap().clone(),
        std::collections::HashMap::from([
            ("team".to_string(), "orders".to_string()),
            (OWNER_TAG.to_string(), marker()),
        ])
    );
    assert_eq!(
        p.read(mq::BROKER, &out).await.unwrap(),
        Some(out.clone()),
        "no drift right after create"
    );

    // Update in place: version, instance type, tags (with a reboot: apply_immediately).
    let mut cfg2 = cfg.clone();
    cfg2.insert("engine_version".into(), s("4.2"));
    cfg2.insert("host_instance_type".into(), s("mq.m5.large"));
    cfg2.insert("tags".into(), map(&[("team", "shop"), ("env", "prod")]));
    let out2 = p.update(mq::BROKER, &out, &cfg2).await.unwrap();
    let b = d.mq.describe_broker().broker_id(&id).send().await.unwrap();
    assert_eq!(b.engine_version(), Some("4.2"));
    assert_eq!(b.host_instance_type(), Some("mq.m5.large"));
    assert_eq!(b.tags().unwrap().len(), 3, "two tags and the ownership tag");
    assert_eq!(b.tags().unwrap()["team"], "shop");
    assert_eq!(p.read(mq::BROKER, &out2).await.unwrap(), Some(out2.clone()));

    // Amazon MQ cannot change a RabbitMQ user's password: refused with why, and the
    // password is not in the message.
    let mut cfg3 = cfg2.clone();
    cfg3.insert(
        "password".into(),
        Value::sensitive(s("another-password-99")),
    );
    let e = p.update(mq::BROKER, &out2, &cfg3).await.unwrap_err();
    assert!(
        e.to_string().contains("cannot change the password")
            && !e.to_string().contains("another-password"),
        "{e}"
    );

    // Drift: the instance type changed and a tag removed outside baton.
    d.mq.update_broker()
        .broker_id(&id)
        .host_instance_type("mq.m5.xlarge")
        .send()
        .await
        .unwrap();
    d.mq.delete_tags()
        .resource_arn(out2["arn"].as_str().unwrap())
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let drifted = p.read(mq::BROKER, &out2).await.unwrap().unwrap();
    assert_eq!(drifted["host_instance_type"], s("mq.m5.xlarge"));
    assert_eq!(
        string_map(&drifted["tags"]),
        BTreeMap::from([("team".into(), "shop".into())])
    );
    let fixed = p.update(mq::BROKER, &drifted, &cfg2).await.unwrap();
    let b = d.mq.describe_broker().broker_id(&id).send().await.unwrap();
    assert_eq!(b.host_instance_type(), Some("mq.m5.large"));
    assert_eq!(
        p.read(mq::BROKER, &fixed).await.unwrap(),
        Some(fixed.clone())
    );

    // Replace: delete (waits until gone), then create under the same name.
    p.delete(mq::BROKER, &fixed).await.unwrap();
    assert!(d.mq.describe_broker().broker_id(&id).send().await.is_err());
    assert_eq!(p.read(mq::BROKER, &fixed).await.unwrap(), None);
    let out3 = p
        .create(mq::BROKER, &cfg2, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    assert_ne!(out3["broker_id"], fixed["broker_id"]);
    // Found by name when no id is recorded (an import), and a second one is refused.
    let by_name = attrs(&[("broker_name", s(&name))]);
    let imported = p.read(mq::BROKER, &by_name).await.unwrap().unwrap();
    assert_eq!(imported["broker_id"], out3["broker_id"]);
    assert_eq!(imported["engine_version"], s("4.2"));
    // An imported RabbitMQ broker has no recorded password to compare: the configured
    // one is recorded, not refused.
    let adopted = p.update(mq::BROKER, &imported, &cfg2).await.unwrap();
    assert_eq!(adopted["broker_id"], out3["broker_id"]);
    let e = p.create(mq::BROKER, &cfg2, &stranger()).await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::NotOurs(m) if m.contains("already exists")),
        "{e}"
    );

    // Deleted outside baton: gone.
    d.mq.delete_broker()
        .broker_id(out3["broker_id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(p.read(mq::BROKER, &out3).await.unwrap(), None);
    p.delete(mq::BROKER, &out3).await.unwrap();
}

#[tokio::test]
async fn mq_activemq_user_password_and_drift() {
    let p = provider();
    let d = direct().await;
    let cfg = attrs(&[
        ("broker_name", s(&uniq("amq"))),
        ("engine_type", s("ActiveMQ")),
        ("engine_version", s("5.18")),
        ("username", s("app")),
        ("password", Value::sensitive(s("active-password-1234"))),
    ]);
    let out = p
        .create(mq::BROKER, &cfg, &crate::provider::Owner::for_tests())
        .await
        .unwrap();
    let id = out["broker_id"].as_str().unwrap().to_string();
    assert!(
        d.mq.describe_user()
            .broker_id(&id)
            .username("app")
            .send()
            .await
            .is_ok()
    );
    assert_eq!(p.read(mq::BROKER, &out).await.unwrap(), Some(out.clone()));

    // A new password is set in place.
    let mut cfg2 = cfg.clone();
    cfg2.insert(
        "password".into(),
        Value::sensitive(s("active-password-5678")),
    );
    let out2 = p.update(mq::BROKER, &out, &cfg2).await.unwrap();
    assert_eq!(out2["broker_id"], out["broker_id"]);

    // The user deleted outside baton: its password reads as gone, and an apply makes
    // the user again.
    d.mq.delete_user()
        .broker_id(&id)
        .username("app")
        .send()
        .await
        .unwrap();
    let drifted = p.read(mq::BROKER, &out2).await.unwrap().unwrap();
    assert!(!drifted.contains_key("password"), "{drifted:?}");
    let fixed = p.update(mq::BROKER, &drifted, &cfg2).await.unwrap();
    assert!(
        d.mq.describe_user()
            .broker_id(&id)
            .username("app")
            .send()
            .await
            .is_ok(),
        "the user is back"
    );
    assert_eq!(
        p.read(mq::BROKER, &fixed).await.unwrap(),
        Some(fixed.clone())
    );
    p.delete(mq::BROKER, &fixed).await.unwrap();
    assert!(d.mq.describe_broker().broker_id(&id).send().await.is_err());
}
