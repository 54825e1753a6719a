//! Deployment history through the binary, on `examples/shop` and the real servers: every
//! apply records the configuration it applied, `state history` marks those entries,
//! `state history diff A B` shows what changed (text, Markdown, JSON), and `plan --at
//! SERIAL` plans a return to an earlier configuration with its rollback notes; applied,
//! the state is the first one again. No secret reaches a deployment or a diff.

use crate::servers::{rabbit, shop, unique};
use crate::support::{Run, Sandbox, redis};

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}", run.transcript());
}

fn json(run: &Run) -> serde_json::Value {
    ok(run);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}", run.transcript()))
}

/// The recorded addresses, one per line (`state list`).
fn objects(sb: &Sandbox) -> String {
    let run = sb.run(&["state", "list"]);
    ok(&run);
    run.stdout
}

/// The serial of the last apply (`state history`).
fn last_serial(sb: &Sandbox) -> u64 {
    let run = sb.run(&["state", "history"]);
    ok(&run);
    let line = run
        .stdout
        .lines()
        .rfind(|l| l.starts_with("serial "))
        .unwrap_or_else(|| panic!("{}", run.transcript()));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// examples/shop whose `local` reaches PostgreSQL with a password in its URL (the
/// server trusts local connections, so any password works): a secret of baton.hcl.
fn shop_with_secret(suffix: &str, secret: &str) -> Sandbox {
    let sb = shop(suffix);
    let hcl = sb.read("baton.hcl").replacen(
        "  target \"kubernetes\" { dir = \"deploy/local\" }",
        &format!(
            "  target \"kubernetes\" {{ dir = \"deploy/local\" }}\n  provider \"postgres\" {{ url = \"postgres://postgres:{secret}@127.0.0.1:5432/postgres\" }}"
        ),
        1,
    );
    assert!(hcl.contains(secret));
    sb.write("baton.hcl", &hcl);
    sb
}

/// The second configuration: fulfilment's queue (a RabbitMQ vhost, which holds data)
/// removed, a param of storefront's sessions changed, a cache added to orders, and a
/// setting of the environment's own added.
fn second_configuration(sb: &Sandbox) {
    let f = sb.read("fulfilment.score.yaml");
    let f = f
        .replace("      AMQP_URL: amqp://${resources.queue.username}:${resources.queue.password}@${resources.queue.host}:${resources.queue.port}/${resources.queue.vhost}\n", "")
        .replace("  queue:\n    type: amqp\n", "");
    assert!(
        !f.contains("resources.queue") && !f.contains("  queue:"),
        "{f}"
    );
    sb.write("fulfilment.score.yaml", &f);
    let s = sb.read("storefront.score.yaml");
    let s = s.replace(
        "  sessions:\n    type: redis\n",
        "  sessions:\n    type: redis\n    params:\n      key_prefix: \"sess:\"\n",
    );
    assert!(s.contains("key_prefix"));
    sb.write("storefront.score.yaml", &s);
    let o = sb.read("orders.score.yaml") + "  cache:\n    type: redis\n";
    sb.write("orders.score.yaml", &o);
    let hcl = sb.read("baton.hcl").replacen(
        "  target \"kubernetes\" { dir = \"deploy/local\" }",
        "  target \"kubernetes\" { dir = \"deploy/local\" }\n  settings {\n    team = \"shop\"\n  }",
        1,
    );
    sb.write("baton.hcl", &hcl);
}

#[test]
fn plan_at_an_earlier_serial_restores_its_configuration_on_the_shop() {
    let suffix = unique("h");
    let secret = format!("pgCanary{suffix}");
    let sb = shop_with_secret(&suffix, &secret);
    ok(&sb.run(&["apply", "--auto-approve"]));
    let first = last_serial(&sb);
    let first_objects = objects(&sb);
    let vhost_addr = format!("amqp.default#fulfilment-{suffix}.queue/rabbitmq_vhost.vhost");
    let acl_addr = format!("redis.default#storefront-{suffix}.sessions/redis_acl_user.user");
    let cache_addr = format!("redis.default#orders-{suffix}.cache/redis_acl_user.user");
    assert!(first_objects.contains(&vhost_addr), "{first_objects}");
    let vhost = sb.name(&format!("amqp.default#fulfilment-{suffix}.queue"), "-", 100);
    let sessions = sb.name(
        &format!("redis.default#storefront-{suffix}.sessions"),
        "-",
        100,
    );
    assert_eq!(rabbit(&format!("vhosts/{vhost}")).0, 200);

    second_configuration(&sb);
    ok(&sb.run(&["apply", "--auto-approve"]));
    let second = last_serial(&sb);
    assert!(second > first);
    assert_eq!(
        rabbit(&format!("vhosts/{vhost}")).0,
        404,
        "the queue was deleted"
    );
    assert!(redis(&["ACL", "GETUSER", &sessions]).contains("~sess:*"));

    // Both applies carry their configuration.
    let history = sb.run(&["state", "history"]);
    ok(&history);
    for serial in [first, second] {
        assert!(
            history
                .stdout
                .lines()
                .any(|l| l.starts_with(&format!("serial {serial:>4}")) && l.ends_with("[config]")),
            "{}",
            history.transcript()
        );
    }

    // What changed, as text: the Score files with unified diffs, the setting.
    let (a, b) = (first.to_string(), second.to_string());
    let diff = sb.run(&["state", "history", "diff", &a, &b]);
    ok(&diff);
    let text = &diff.stdout;
    assert!(text.contains(&format!("Configuration changes from serial {first} to serial {second}: 3 Score files, 0 modules, 1 settings.")), "{text}");
    assert!(
        text.contains("  ~ fulfilment.score.yaml (changed)"),
        "{text}"
    );
    assert!(
        text.contains("      -  queue:\n      -    type: amqp\n"),
        "{text}"
    );
    assert!(
        text.contains("      +    params:\n      +      key_prefix: \"sess:\"\n"),
        "{text}"
    );
    assert!(
        text.contains("  ~ settings.team: (not set) -> \"shop\""),
        "{text}"
    );
    // Placeholders stay placeholders.
    assert!(text.contains("${resources.queue.password}"), "{text}");
    // As JSON.
    let j = json(&sb.run(&["state", "history", "diff", &a, &b, "--format", "json"]));
    assert_eq!(j["from"], first);
    assert_eq!(j["to"], second);
    let names: Vec<(&str, &str)> = j["score"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["change"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("fulfilment.score.yaml", "changed"),
            ("orders.score.yaml", "changed"),
            ("storefront.score.yaml", "changed")
        ]
    );
    assert_eq!(j["modules"], serde_json::json!([]));
    assert_eq!(
        j["settings"],
        serde_json::json!([{"name": "settings.team", "before": null, "after": "shop"}])
    );
    let md = sb.run(&["state", "history", "diff", &a, &b, "--format", "markdown"]);
    ok(&md);
    assert!(
        md.stdout.contains("```diff\n--- storefront.score.yaml"),
        "{}",
        md.stdout
    );

    // Unknown serials are errors that name the known ones.
    for args in [
        &["state", "history", "diff", &a, "999"][..],
        &["plan", "--at", "999"],
    ] {
        let run = sb.run(args);
        assert_eq!(run.code, 1, "{args:?}\n{}", run.transcript());
        assert!(
            run.stderr.contains(&format!(
                "no deployment is recorded for serial 999; serials with one: {first}, {second}"
            )),
            "{}",
            run.transcript()
        );
    }

    // The plan back: the removed queue comes back (empty), the param returns, the
    // cache made since is deleted.
    let plan = json(&sb.run(&["plan", "--at", &a, "--format", "json"]));
    let action = |address: &str| {
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .map(|c| c["action"].as_str().unwrap().to_string())
    };
    assert_eq!(action(&vhost_addr).as_deref(), Some("create"), "{plan:#}");
    assert_eq!(action(&acl_addr).as_deref(), Some("update"), "{plan:#}");
    assert_eq!(action(&cache_addr).as_deref(), Some("delete"), "{plan:#}");
    let rollback = &plan["rollback"];
    assert_eq!(rollback["serial"], first);
    let listed = |key: &str| -> Vec<String> {
        rollback[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["address"].as_str().unwrap().to_string())
            .collect()
    };
    let queue = format!("amqp.default#fulfilment-{suffix}.queue/");
    let emptied = listed("recreated_empty");
    assert!(emptied.contains(&vhost_addr), "{rollback:#}");
    assert!(
        emptied.iter().all(|a| a.starts_with(&queue)),
        "{rollback:#}"
    );
    assert!(
        listed("created_since").contains(&cache_addr),
        "{rollback:#}"
    );
    assert!(!listed("created_since").contains(&acl_addr), "{rollback:#}");
    let text = sb.run(&["plan", "--at", &a]);
    ok(&text);
    assert!(
        text.stdout
            .contains(&format!("Rollback to serial {first} ")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!("  - ⚠️ holds data, made again EMPTY (the data it held is not restored): {vhost_addr} (rabbitmq_vhost, create)")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains(&format!(
            "  - made since serial {first}, deleted: {cache_addr} (redis_acl_user, delete)"
        )),
        "{}",
        text.stdout
    );

    // Saved and applied as any plan: the state is the first one again.
    let md = sb.run(&[
        "plan",
        "--at",
        &a,
        "--format",
        "markdown",
        "--out",
        "back.plan",
    ]);
    ok(&md);
    assert!(
        md.stdout
            .contains(&format!("### Rollback to serial {first}")),
        "{}",
        md.stdout
    );
    ok(&sb.run(&["apply", "back.plan"]));
    assert_eq!(objects(&sb), first_objects);
    assert_eq!(
        rabbit(&format!("vhosts/{vhost}")).0,
        200,
        "the queue is back"
    );
    let acl = redis(&["ACL", "GETUSER", &sessions]);
    assert!(acl.contains("~*") && !acl.contains("~sess:*"), "{acl}");
    let third = last_serial(&sb);
    let same = sb.run(&["state", "history", "diff", &a, &third.to_string()]);
    ok(&same);
    assert_eq!(
        same.stdout,
        format!("No configuration changes from serial {first} to serial {third}.\n")
    );
    let again = sb.run(&["plan", "--at", &a, "--detailed-exitcode"]);
    assert_eq!(
        again.code,
        0,
        "nothing left to roll back\n{}",
        again.transcript()
    );

    // No secret in any deployment or diff: neither the password in baton.hcl nor a
    // generated one.
    let outputs = json(&sb.run(&["output", "--json", "--show-sensitive"]));
    let generated = outputs[format!("postgres.default#orders-db-{suffix}")]["password"]
        .as_str()
        .unwrap()
        .to_string();
    let mut shown = vec![sb.read("back.plan")];
    for args in [
        &["state", "history"][..],
        &["state", "history", "diff", &a, &b],
        &["state", "history", "diff", &a, &b, "--format", "json"],
        &["state", "history", "diff", &a, &b, "--format", "markdown"],
        &["plan", "--at", &b, "--format", "json"],
        &["plan", "--at", &b],
    ] {
        let run = sb.run(args);
        shown.push(run.stdout + &run.stderr);
    }
    let db = rusqlite::Connection::open(sb.path().join(".baton/state.db")).unwrap();
    for sql in [
        "SELECT document FROM deployments",
        "SELECT content FROM blobs",
    ] {
        let mut stmt = db.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        shown.extend(rows.map(Result::unwrap));
    }
    let documents = shown.len();
    assert!(documents > 10, "{documents}");
    assert!(
        shown
            .iter()
            .any(|s| s.contains("postgres://postgres:(sensitive)@127.0.0.1:5432/postgres")),
        "the URL is recorded, without its password"
    );
    for s in &shown {
        assert!(!s.contains(&secret), "{s}");
        assert!(!s.contains(&generated), "{s}");
    }
}

#[test]
fn overrides_and_destroy_are_recorded_and_a_destroyed_environment_comes_back() {
    let sb = Sandbox::new();
    ok(&sb.run(&["init"]));
    let none = sb.run(&["state", "history", "diff", "1", "2"]);
    assert_eq!(none.code, 1, "{}", none.transcript());
    assert!(
        none.stderr
            .contains("no state yet: environment `local` has recorded nothing"),
        "{}",
        none.transcript()
    );
    let greeting = "containers.main.variables.GREETING=hello";
    ok(&sb.run(&["apply", "--auto-approve", "--override-property", greeting]));
    let first = last_serial(&sb);
    ok(&sb.run(&["destroy", "--auto-approve"]));
    let second = last_serial(&sb);
    assert!(!sb.path().join("deploy/local/hello.yaml").exists());

    // The destroy recorded an empty configuration; the apply, its Score file after
    // the override, and the module it used.
    let (a, b) = (first.to_string(), second.to_string());
    let j = json(&sb.run(&["state", "history", "diff", &a, &b, "--format", "json"]));
    let changes = |key: &str| -> Vec<(String, String)> {
        j[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().into(),
                    f["change"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(
        changes("score"),
        [("score.yaml".to_string(), "removed".to_string())]
    );
    assert_eq!(
        changes("modules"),
        [("dns/local".to_string(), "removed".to_string())]
    );
    let removed = j["score"][0]["diff"].as_str().unwrap();
    assert!(removed.contains("\"GREETING\": \"hello\""), "{removed}");

    // Back at the first serial, from the recorded configuration (the override
    // included), in one step.
    let plan = json(&sb.run(&["plan", "--at", &a, "--format", "json"]));
    assert_eq!(plan["changes"][0]["address"], "workload.hello", "{plan:#}");
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "create"),
        "{plan:#}"
    );
    ok(&sb.run(&["apply", "--at", &a, "--auto-approve"]));
    assert!(sb.read("deploy/local/hello.yaml").contains("GREETING"));
    let third = last_serial(&sb).to_string();
    let same = sb.run(&["state", "history", "diff", &a, &third]);
    assert!(
        same.stdout.starts_with("No configuration changes"),
        "{}",
        same.transcript()
    );
    // The library API the server calls: values, not text.
    let ws = baton::ops::Workspace {
        root: sb.path().to_path_buf(),
        env: "local".into(),
        lock_timeout: std::time::Duration::ZERO,
        who: None,
    };
    let serials: Vec<u64> = baton::ops::deployments(&ws)
        .unwrap()
        .iter()
        .map(|d| d.serial)
        .collect();
    assert_eq!(serials, [first, second, third.parse().unwrap()]);
    let c = baton::ops::deployment(&ws, first).unwrap();
    assert!(c.score_text("score.yaml").unwrap().contains("GREETING"));
    assert!(c.deployment.modules.contains_key("dns/local"));
    assert!(baton::ops::deployment(&ws, 999).is_err());
    let d = baton::ops::history_diff(&ws, first, second).unwrap();
    assert_eq!((d.from, d.to, d.score.len()), (first, second, 1));
    // -f and --at do not go together: --at is the whole environment's configuration.
    let narrowed = sb.run(&["plan", "--at", &a, "-f", "score.yaml"]);
    assert_eq!(narrowed.code, 1, "{}", narrowed.transcript());
    assert!(
        narrowed.stderr.contains("it takes no Score files (-f)"),
        "{}",
        narrowed.transcript()
    );
}

#[test]
fn a_postgresql_state_keeps_deployments_and_plans_back_to_one() {
    let db = crate::support::PgDb::new();
    let sb = Sandbox::new();
    ok(&sb.run(&["init"]));
    sb.write(
        "baton.hcl",
        &format!(
            "environment \"local\" {{\n  state {{\n    postgres {{ url = \"{}\" }}\n  }}\n}}\n",
            db.url()
        ),
    );
    ok(&sb.run(&["apply", "--auto-approve"]));
    let first = last_serial(&sb).to_string();
    let text = sb.read("score.yaml");
    assert!(text.contains("image: nginx:1.27"), "{text}");
    sb.write("score.yaml", &text.replace("nginx:1.27", "nginx:1.28"));
    ok(&sb.run(&["apply", "--auto-approve"]));
    let second = last_serial(&sb).to_string();
    let diff = sb.run(&["state", "history", "diff", &first, &second]);
    ok(&diff);
    assert!(
        diff.stdout
            .contains("      -    image: nginx:1.27\n      +    image: nginx:1.28\n"),
        "{}",
        diff.transcript()
    );
    let plan = sb.run(&["plan", "--at", &first]);
    ok(&plan);
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy."),
        "{}",
        plan.stdout
    );
    ok(&sb.run(&["apply", "--at", &first, "--auto-approve"]));
    assert!(
        sb.read("deploy/local/hello.yaml")
            .contains("image: nginx:1.27")
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM baton.deployments WHERE environment = 'local'")
            .trim(),
        "3"
    );
}
