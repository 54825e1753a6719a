//! State integrity: baton refuses a state file it cannot trust (empty, damaged, rows
//! whose checksum does not match) instead of reading it as something else, and
//! `state rm` clears a leftover intent. Every case runs the real binary on a real file.

use crate::support::{Run, Sandbox};

const STATE: &str = ".baton/state.db";

/// examples/hello, applied: six objects in `.baton/state.db`, no server needed.
fn applied() -> Sandbox {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    sb
}

/// What a user sees of the state: every address and every object's recorded values.
fn everything(sb: &Sandbox) -> Result<String, Run> {
    let list = sb.run(&["state", "list"]);
    if list.code != 0 {
        return Err(list);
    }
    let mut seen = list.stdout.clone();
    for address in list.stdout.lines() {
        let show = sb.run(&["state", "show", address]);
        if show.code != 0 {
            return Err(show);
        }
        seen.push_str(&show.stdout);
    }
    Ok(seen)
}

/// A refusal: exit 1, naming the state file, and no panic.
fn assert_refused(run: &Run, why: &str) {
    assert_eq!(run.code, 1, "{why}: {}", run.transcript());
    assert!(
        run.stderr.contains("state database") && run.stderr.contains("state.db"),
        "{why}: the error names the state file: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{why}: {}", run.stderr);
}

#[test]
fn an_empty_state_file_is_refused_and_left_as_it_is() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    std::fs::create_dir_all(sb.path().join(".baton")).unwrap();
    std::fs::write(sb.path().join(STATE), b"").unwrap();
    for args in [
        &["state", "list"][..],
        &["plan"],
        &["apply", "--auto-approve"],
    ] {
        let run = sb.run(args);
        assert_refused(&run, &format!("{args:?} on a 0-byte state"));
        assert!(
            run.stderr.contains("empty") && run.stderr.contains("restore it from a backup"),
            "says what is wrong and what to do: {}",
            run.stderr
        );
        assert_eq!(
            std::fs::metadata(sb.path().join(STATE)).unwrap().len(),
            0,
            "the file is untouched after {args:?}"
        );
    }
    // Removing it is how a new state is started on purpose: a missing file is a new state.
    std::fs::remove_file(sb.path().join(STATE)).unwrap();
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(sb.run(&["state", "list"]).stdout.lines().count(), 6);
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    sb.write(STATE, "these are not the bytes of a SQLite database\n");
    let run = sb.run(&["state", "list"]);
    assert_refused(&run, "a text file");
    assert!(
        run.stderr.contains("not a SQLite database"),
        "{}",
        run.stderr
    );
}

/// 30 single-bit flips at seeded random places among the file's non-zero bytes (the
/// zero bytes are mostly free space): each copy either reads back exactly as the
/// original or is refused with exit 1 naming the file. Never a different state.
#[test]
fn bit_flips_are_refused_or_harmless_never_a_different_state() {
    let sb = applied();
    let path = sb.path().join(STATE);
    assert!(
        !sb.path().join(".baton/state.db-wal").exists(),
        "the last run checkpointed its log into the file"
    );
    let original = std::fs::read(&path).unwrap();
    let expected = everything(&sb).unwrap_or_else(|r| panic!("{}", r.transcript()));
    let candidates: Vec<usize> = (0..original.len()).filter(|&i| original[i] != 0).collect();
    let mut rng = 0x5eed_ba70_u64;
    let mut next = move || {
        // xorshift64: a fixed sequence, so a failure names a flip that can be replayed.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut same, mut refused) = (0, 0);
    for n in 0..30 {
        let at = candidates[(next() % candidates.len() as u64) as usize];
        let bit = next() % 8;
        let mut bytes = original.clone();
        bytes[at] ^= 1 << bit;
        for side in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{side}", path.display()));
        }
        std::fs::write(&path, &bytes).unwrap();
        match everything(&sb) {
            Ok(seen) => {
                assert_eq!(
                    seen, expected,
                    "flip {n} (byte {at}, bit {bit}) was read as a different state"
                );
                same += 1;
            }
            Err(run) => {
                assert_refused(&run, &format!("flip {n} (byte {at}, bit {bit})"));
                refused += 1;
            }
        }
    }
    eprintln!("30 bit flips: {refused} refused, {same} read back unchanged");
}

#[test]
fn a_row_changed_behind_batons_back_is_named_and_an_old_row_without_checksum_is_read() {
    let sb = applied();
    let address = "secret.default#web.session/random_password.value";
    let conn = rusqlite::Connection::open(sb.path().join(STATE)).unwrap();
    // A row written by a baton before checksums existed has none, and is read.
    conn.execute(
        "UPDATE objects SET checksum = NULL WHERE address = ?1",
        [address],
    )
    .unwrap();
    let list = sb.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{}", list.transcript());
    assert_eq!(list.stdout.lines().count(), 6);
    // The next write gives it one: a change to its row is then caught.
    let checksum = || -> Option<String> {
        conn.query_row(
            "SELECT checksum FROM objects WHERE address = ?1",
            [address],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(checksum().is_none());
    let run = sb.run(&["apply", "--auto-approve", "--replace", address]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(checksum().map(|c| c.len()), Some(64));
    conn.execute(
        "UPDATE objects SET attributes = replace(attributes, '\"length\":', '\"length\": 1') WHERE address = ?1",
        [address],
    )
    .unwrap();
    let run = sb.run(&["state", "list"]);
    assert_refused(&run, "an edited row");
    assert!(
        run.stderr.contains(address) && run.stderr.contains("checksum"),
        "names the row: {}",
        run.stderr
    );
    let plan = sb.run(&["plan"]);
    assert_refused(&plan, "plan on an edited row");
}

#[test]
fn state_rm_clears_a_leftover_intent_and_state_list_shows_it() {
    let sb = Sandbox::new();
    sb.copy_from_repo("examples/hello");
    // The process dies right after the first password is made, before it is recorded.
    let run = sb
        .command(&["apply", "--auto-approve"])
        .env("BATON_CHAOS", "seed=1,abort_after=1,kinds=random_password")
        .output()
        .unwrap();
    assert_ne!(run.status.code(), Some(0));
    let conn = rusqlite::Connection::open(sb.path().join(STATE)).unwrap();
    let intents: Vec<String> = conn
        .prepare("SELECT address FROM intents")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let address = intents
        .iter()
        .find(|a| a.contains("random_password"))
        .unwrap_or_else(|| panic!("a leftover intent: {intents:?}"))
        .clone();
    let list = sb.run(&["state", "list"]);
    assert_eq!(list.code, 0, "{}", list.transcript());
    assert!(!list.stdout.contains(&address), "not a recorded object");
    assert!(
        list.stderr
            .contains(&format!("leftover intent: create {address}")),
        "{}",
        list.stderr
    );

    let rm = sb.run(&["state", "rm", &address]);
    assert_eq!(rm.code, 0, "{}", rm.transcript());
    assert!(
        rm.stdout.contains("Removed the leftover create intent") && rm.stdout.contains(&address),
        "{}",
        rm.stdout
    );
    let left: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM intents WHERE address = ?1",
            [&address],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    assert!(!sb.run(&["state", "list"]).stderr.contains(&address));
    let again = sb.run(&["state", "rm", &address]);
    assert_eq!(
        again.code,
        1,
        "nothing left to remove: {}",
        again.transcript()
    );
    // The state goes on: the next apply makes what is missing.
    let run = sb.run(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(sb.run(&["state", "list"]).stdout.lines().count(), 6);
}

#[test]
fn a_lost_row_is_noticed() {
    let sb = applied();
    let conn = rusqlite::Connection::open(sb.path().join(STATE)).unwrap();
    conn.execute("DELETE FROM objects WHERE address = 'workload.worker'", [])
        .unwrap();
    let run = sb.run(&["state", "list"]);
    assert_refused(&run, "a state missing a row");
    assert!(
        run.stderr
            .contains("records 6 objects but 5 rows were read"),
        "{}",
        run.stderr
    );
}

/// History rows carry a checksum too: one changed behind baton's back is named when the
/// history is read (and by `state migrate`, which would copy it); one written before
/// checksums existed is read.
#[test]
fn a_history_row_changed_behind_batons_back_is_named() {
    let sb = applied();
    let history = sb.run(&["state", "history"]);
    assert_eq!(history.code, 0, "{}", history.transcript());
    let conn = rusqlite::Connection::open(sb.path().join(STATE)).unwrap();
    let sums: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM history WHERE length(checksum) = 64",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sums, 6, "every row of the first apply has its checksum");
    conn.execute(
        "UPDATE history SET checksum = NULL WHERE id = (SELECT MIN(id) FROM history)",
        [],
    )
    .unwrap();
    let run = sb.run(&["state", "history"]);
    assert_eq!(
        run.code,
        0,
        "a row without checksum is read: {}",
        run.transcript()
    );
    conn.execute(
        "UPDATE history SET who = 'someone@else' WHERE id = (SELECT MAX(id) FROM history)",
        [],
    )
    .unwrap();
    let run = sb.run(&["state", "history"]);
    assert_refused(&run, "an edited history row");
    assert!(
        run.stderr.contains("history row's checksum does not match"),
        "{}",
        run.stderr
    );
    let migrate = sb.run(&["state", "migrate", "--to", ".baton/copy.db"]);
    assert_refused(&migrate, "migrating an edited history row");
}
