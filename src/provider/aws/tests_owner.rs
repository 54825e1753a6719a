//! Ownership on moto: the `baton:owner` tag proves an object is baton's, `mark` adds it
//! without dropping anyone's tags, reads never show it, and records, keys and policies
//! are baton's only through a zone or user that carries a marker of the same state.

use aws_sdk_s3::types::{Tag, Tagging};

use super::tests::{attrs, direct, marker, provider, s, sorted, stranger, uniq};
use super::*;
use crate::provider::{Claim, Owner, Proof};

#[tokio::test]
async fn a_foreign_bucket_is_unproven_until_marked_and_marking_keeps_its_tags() {
    let p = provider();
    let d = direct().await;
    let me = Owner::for_tests();
    let b = uniq("own");
    d.s3.create_bucket().bucket(&b).send().await.unwrap();
    let tagging = Tagging::builder()
        .tag_set(Tag::builder().key("team").value("x").build().unwrap())
        .build()
        .unwrap();
    d.s3.put_bucket_tagging()
        .bucket(&b)
        .tagging(tagging)
        .send()
        .await
        .unwrap();
    let found = attrs(&[("bucket", s(&b))]);
    assert_eq!(p.proof(s3::BUCKET), Proof::Marker);
    assert_eq!(
        p.claim(s3::BUCKET, &found, &me).await.unwrap(),
        Claim::Unproven
    );
    let e = p.create(s3::BUCKET, &found, &me).await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::NotOurs(m) if m.contains(&b) && m.contains("no ownership marker")),
        "{e}"
    );

    p.mark(s3::BUCKET, &found, &me).await.unwrap();
    let tags = d.s3.get_bucket_tagging().bucket(&b).send().await.unwrap();
    assert_eq!(
        sorted(tags.tag_set().iter().map(|t| (t.key(), t.value()))),
        [(OWNER_TAG, marker().as_str()), ("team", "x")],
        "the marker is added, the neighbour's tag kept"
    );
    assert_eq!(p.claim(s3::BUCKET, &found, &me).await.unwrap(), Claim::Ours);
    assert_eq!(
        p.claim(s3::BUCKET, &found, &stranger()).await.unwrap(),
        Claim::Foreign(marker()),
        "another state sees someone else's marker"
    );
    // Now baton's: a create (a retry) gets it back, and its tags read without the marker.
    let got = p.create(s3::BUCKET, &found, &me).await.unwrap();
    assert_eq!(
        tests::string_map(&got["tags"]),
        [("team".to_string(), "x".to_string())].into()
    );
    p.delete(s3::BUCKET, &got).await.unwrap();
}

#[tokio::test]
async fn keys_and_policies_follow_their_user_and_records_carry_their_marker() {
    let p = provider();
    let d = direct().await;
    let me = Owner::for_tests();
    for kind in [iam::ACCESS_KEY, iam::USER_POLICY] {
        assert_eq!(p.proof(kind), Proof::Relation, "{kind}");
    }
    // Records carry a marker of their own, beside them (tests.rs: in a zone baton did
    // not make).
    assert_eq!(p.proof(route53::RECORD), Proof::Marker);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#;

    // A user made by hand: baton adds no key and no policy to it.
    let theirs = uniq("their-user");
    d.iam.create_user().user_name(&theirs).send().await.unwrap();
    let e = p
        .create(iam::ACCESS_KEY, &attrs(&[("user", s(&theirs))]), &me)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ProviderError::NotOurs(m) if m.contains(&theirs)),
        "{e}"
    );
    let pol = attrs(&[
        ("user", s(&theirs)),
        ("name", s("p")),
        ("policy", s(policy)),
    ]);
    let e = p.create(iam::USER_POLICY, &pol, &me).await.unwrap_err();
    assert!(matches!(&e, ProviderError::NotOurs(_)), "{e}");
    let keys = d
        .iam
        .list_access_keys()
        .user_name(&theirs)
        .send()
        .await
        .unwrap();
    assert!(keys.access_key_metadata().is_empty(), "no key was made");
    assert!(
        d.iam
            .get_user_policy()
            .user_name(&theirs)
            .policy_name("p")
            .send()
            .await
            .is_err(),
        "no policy was put"
    );

    // baton's user: its key is baton's for this state only.
    let mine = uniq("my-user");
    let user = p
        .create(iam::USER, &attrs(&[("name", s(&mine))]), &me)
        .await
        .unwrap();
    let key = p
        .create(iam::ACCESS_KEY, &attrs(&[("user", s(&mine))]), &me)
        .await
        .unwrap();
    assert_eq!(
        p.claim(iam::ACCESS_KEY, &key, &me).await.unwrap(),
        Claim::Ours
    );
    assert_eq!(
        p.claim(iam::ACCESS_KEY, &key, &stranger()).await.unwrap(),
        Claim::Unproven
    );
    p.delete(iam::ACCESS_KEY, &key).await.unwrap();
    p.delete(iam::USER, &user).await.unwrap();

    // A record baton made in a zone baton made is baton's (by its own marker).
    let zone = p
        .create(
            route53::ZONE,
            &attrs(&[("name", s(&format!("{}.example", uniq("z"))))]),
            &me,
        )
        .await
        .unwrap();
    let zone_id = zone["zone_id"].as_str().unwrap().to_string();
    assert_eq!(
        p.claim(route53::ZONE, &zone, &me).await.unwrap(),
        Claim::Ours
    );
    let rec = |zone_id: &str, name: &str| {
        attrs(&[
            ("zone_id", s(zone_id)),
            ("name", s(name)),
            ("type", s("A")),
            (
                "records",
                crate::provider::server::list_value(&["192.0.2.1".to_string()]),
            ),
        ])
    };
    let zone_name = zone["name"].as_str().unwrap().to_string();
    let made = p
        .create(
            route53::RECORD,
            &rec(&zone_id, &format!("www.{zone_name}")),
            &me,
        )
        .await
        .unwrap();
    assert_eq!(
        p.claim(route53::RECORD, &made, &me).await.unwrap(),
        Claim::Ours
    );
    p.delete(route53::RECORD, &made).await.unwrap();
    p.delete(route53::ZONE, &zone).await.unwrap();
}
