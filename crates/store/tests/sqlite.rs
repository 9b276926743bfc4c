//! The SQLite backend against the conformance suite, and its durability under SIGKILL.
//!
//! Every store here is a real file in a temporary directory (not `:memory:`), so WAL, the
//! reader pool and crash recovery behave as in production.

use std::io::{BufRead, BufReader};
use std::ops::Deref;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use strongroom_core::alias::Alias;
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{Key, KeyManager, KeySpec, KeyUsage, KeyVersion, Origin};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;
use strongroom_store::conformance::Failure;
use strongroom_store::sqlite::SqliteStore;
use strongroom_store::{Expect, Store, Transaction, Write};
use tempfile::TempDir;

/// A store on a file that is deleted with it.
struct TempStore {
    // Declared first so the store closes before its directory is removed.
    store: SqliteStore,
    _dir: TempDir,
}

impl Deref for TempStore {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

fn fresh() -> Result<TempStore, Failure> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("strongroom.db"))?;
    Ok(TempStore { store, _dir: dir })
}

strongroom_store::conformance_tests!(fresh);

// --- Crash safety -------------------------------------------------------------------------

/// Set in the child process to the database path it writes to.
const CHILD_ENV: &str = "STRONGROOM_STORE_CRASH_CHILD_DB";
/// This test's name, which the child is started with.
const CRASH_TEST: &str = "acknowledged_commits_survive_sigkill";
/// Acknowledgements the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 100;
/// Kill-and-recover rounds on the same file.
const ROUNDS: usize = 3;
/// How long a child writes at most if nobody kills it, and how long the parent waits.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

fn crash_scope() -> Result<(AccountId, Region), Failure> {
    let account = AccountId::parse("111122223333").ok_or_else(|| Failure::new("account"))?;
    let region = Region::parse("us-east-1").ok_or_else(|| Failure::new("region"))?;
    Ok((account, region))
}

fn crash_alias_name(id: &KeyId) -> Result<AliasName, Failure> {
    Ok(AliasName::parse(&format!("alias/crash-{id}"))?)
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(what()))
    }
}

/// One transaction of three writes, so that recovery can be checked for atomicity too.
fn crash_transaction(n: u64) -> Result<(KeyId, Transaction), Failure> {
    let (account, region) = crash_scope()?;
    let id = KeyId::from_random(*uuid::Uuid::new_v4().as_bytes());
    let key = Key {
        id,
        arn: format!("arn:aws:kms:{region}:{account}:key/{id}"),
        account: account.clone(),
        region: region.clone(),
        created_at: Timestamp(1_700_000_000_000),
        description: format!("crash record {n}"),
        spec: KeySpec::SymmetricDefault,
        usage: KeyUsage::EncryptDecrypt,
        origin: Origin::AwsKms,
        manager: KeyManager::Customer,
        state: KeyState::Enabled,
        current_version: 1,
        tags: [("n".to_owned(), n.to_string())].into(),
        policy: "{}".to_owned(),
        policy_updated_at: Timestamp(1_700_000_000_000),
        rotation: None,
        on_demand_rotations: 0,
        deletion: None,
        imported: Vec::new(),
    };
    let version = KeyVersion {
        key_id: id,
        version: 1,
        created_at: key.created_at,
        wrapped_material: vec![0xa5; 60],
        rotation_type: None,
    };
    let alias = Alias {
        account,
        region,
        name: crash_alias_name(&id)?,
        target: id,
        created_at: key.created_at,
        updated_at: key.created_at,
    };
    let mut txn = Transaction::new();
    txn.push(Write::PutKey {
        key,
        expect: Expect::Absent,
    })
    .push(Write::AddKeyVersion(version))
    .push(Write::PutAlias {
        alias,
        expect: Expect::Absent,
    });
    Ok((id, txn))
}

/// The child: commit transactions and print each acknowledged key id, until killed (or,
/// if nobody does, until the time limit).
fn child_writes_until_killed(path: &Path) -> Result<(), Failure> {
    let store = SqliteStore::open(path)?;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < CHILD_LIMIT {
        let (id, txn) = crash_transaction(n)?;
        store.commit(txn)?;
        println!("ACK {id}");
        n += 1;
    }
    Ok(())
}

/// Starts a child on `path`, collects its acknowledgements, SIGKILLs it mid-stream and
/// answers every id it acknowledged.
fn run_child_and_kill(path: &Path) -> Result<Vec<KeyId>, Failure> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            CRASH_TEST,
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Failure::new("no stdout"))?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest's own output may share a line; only a whole id counts.
            let id = line.split_once("ACK ").and_then(|(_, id)| KeyId::parse(id));
            if let Some(id) = id
                && tx.send(id).is_err()
            {
                return;
            }
        }
    });
    let mut acked = Vec::new();
    while acked.len() < ACKS_BEFORE_KILL {
        match rx.recv_timeout(CHILD_LIMIT) {
            Ok(id) => acked.push(id),
            Err(e) => {
                let _ = child.kill();
                let n = acked.len();
                return Err(Failure::new(format!(
                    "child stopped acknowledging after {n}: {e}"
                )));
            }
        }
    }
    child.kill()?; // SIGKILL on Unix: no destructor, no checkpoint, no flush.
    let status = child.wait()?;
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        check(status.signal() == Some(9), || {
            format!("child was not killed: {status}")
        })?;
    }
    reader
        .join()
        .map_err(|_| Failure::new("reader thread panicked"))?;
    acked.extend(rx.try_iter());
    Ok(acked)
}

/// Every acknowledged transaction is there in full, and no transaction is there in part.
fn verify_after_crash(path: &Path, acked: &[KeyId]) -> Result<(), Failure> {
    let store = SqliteStore::open(path)?;
    let (account, region) = crash_scope()?;
    for id in acked {
        check(store.get_key(id)?.is_some(), || {
            format!("acknowledged key {id} lost")
        })?;
    }
    let keys = store.list_keys(&account, &region, None, usize::MAX)?;
    check(keys.len() >= acked.len(), || {
        format!("{} keys for {} acknowledgements", keys.len(), acked.len())
    })?;
    for k in &keys {
        let version = store.get_key_version(&k.id, 1)?;
        check(version.is_some(), || format!("{} lacks its version", k.id))?;
        let alias = store.get_alias(&account, &region, &crash_alias_name(&k.id)?)?;
        check(alias.is_some(), || format!("{} lacks its alias", k.id))?;
    }
    Ok(())
}

#[test]
fn acknowledged_commits_survive_sigkill() -> Result<(), Failure> {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        return child_writes_until_killed(Path::new(&path));
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("crash.db");
    let mut acked = Vec::new();
    for _ in 0..ROUNDS {
        acked.extend(run_child_and_kill(&path)?);
        verify_after_crash(&path, &acked)?;
    }
    check(acked.len() >= ROUNDS * ACKS_BEFORE_KILL, || {
        format!("only {} acknowledgements", acked.len())
    })
}
