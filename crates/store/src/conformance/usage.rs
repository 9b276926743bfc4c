//! Cases about key usage tracking (GetKeyLastUsage): a key is tracked from its creation, the
//! newest recorded use wins whatever order records arrive in, a record for a missing key is
//! skipped without failing its transaction, and the usage goes with the key.

use super::fixtures::{Scope, T0, commit1, create_key, must_get_key, new_key_id};
use super::{Failure, Outcome, expect_conflict};
use crate::{Expect, KeyUsage, KeyUsageRecord, Store, Transaction, Write};
use strongroom_core::ids::KeyId;
use strongroom_core::operation::Operation;
use strongroom_core::time::Timestamp;

/// A use of `key` at `T0 + offset`.
fn used(key: KeyId, operation: Operation, offset: i64, request_id: &str) -> KeyUsageRecord {
    KeyUsageRecord {
        key_id: key,
        operation,
        at: Timestamp(T0.0 + offset),
        request_id: request_id.to_owned(),
    }
}

/// Reads the usage of a key that must exist.
fn must_get_usage(store: &dyn Store, id: &KeyId) -> Result<KeyUsage, Failure> {
    store
        .get_key_usage(id)?
        .ok_or_else(|| Failure::new(format!("usage of key {id} is missing")))
}

/// A new key is tracked from its creation date and has no recorded use.
pub fn created_key_is_tracked_from_its_creation(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let mut key = scope.key();
    key.created_at = Timestamp(T0.0 + 4_242);
    create_key(store, &key)?;
    ensure_eq!(
        must_get_usage(store, &key.id)?,
        KeyUsage {
            tracking_start: key.created_at,
            last: None,
        },
        "usage of a new key"
    );
    Ok(())
}

/// A recorded use is read back; an older or equally old record keeps the stored one, a newer
/// one replaces it. Neither recording nor updating the key disturbs the other: the key keeps
/// its revision, and the usage survives a key update.
pub fn newest_recorded_use_wins(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;

    let first = used(key.id, Operation::Decrypt, 1_000, "req-1000");
    commit1(store, Write::RecordKeyUsage(first.clone()))?;
    let want = |last: &KeyUsageRecord| KeyUsage {
        tracking_start: key.created_at,
        last: Some(last.clone()),
    };
    ensure_eq!(must_get_usage(store, &key.id)?, want(&first), "first use");

    for stale in [
        used(key.id, Operation::Encrypt, 999, "req-older"),
        used(key.id, Operation::Sign, 1_000, "req-same-instant"),
    ] {
        commit1(store, Write::RecordKeyUsage(stale.clone()))?;
        ensure_eq!(
            must_get_usage(store, &key.id)?,
            want(&first),
            "after recording {stale:?}"
        );
    }

    let newer = used(key.id, Operation::GenerateDataKey, 1_001, "req-1001");
    commit1(store, Write::RecordKeyUsage(newer.clone()))?;
    ensure_eq!(must_get_usage(store, &key.id)?, want(&newer), "newer use");

    let got = must_get_key(store, &key.id)?;
    ensure_eq!(
        (got.revision, &got.value),
        (1, &key),
        "key after recording uses"
    );
    let mut changed = key.clone();
    changed.description = "updated after use".to_owned();
    commit1(
        store,
        Write::PutKey {
            key: changed,
            expect: Expect::Revision(1),
        },
    )?;
    ensure_eq!(
        must_get_usage(store, &key.id)?,
        want(&newer),
        "usage after a key update"
    );
    Ok(())
}

/// Records of one transaction arriving out of order, as a batched flush from several nodes
/// may, leave the newest; a key created earlier in the same transaction can be recorded.
pub fn out_of_order_records_in_one_transaction_keep_the_newest(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    let newest = used(key.id, Operation::ReEncrypt, 30, "req-30");
    let mut txn = Transaction::new();
    txn.push(Write::PutKey {
        key: key.clone(),
        expect: Expect::Absent,
    })
    .push(Write::RecordKeyUsage(used(
        key.id,
        Operation::Encrypt,
        10,
        "req-10",
    )))
    .push(Write::RecordKeyUsage(newest.clone()))
    .push(Write::RecordKeyUsage(used(
        key.id,
        Operation::Decrypt,
        20,
        "req-20",
    )))
    .push(Write::RecordKeyUsage(used(
        key.id,
        Operation::Verify,
        30,
        "req-30b",
    )));
    store.commit(txn)?;
    ensure_eq!(
        must_get_usage(store, &key.id)?.last,
        Some(newest),
        "last use after out-of-order records"
    );
    Ok(())
}

/// A record for a key that does not exist, or no longer does, is skipped: it neither fails
/// its transaction nor creates anything, and the transaction's other writes commit.
pub fn usage_of_a_missing_key_is_skipped(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let (never, deleted, fresh) = (new_key_id(), scope.key(), scope.key());
    create_key(store, &deleted)?;
    commit1(
        store,
        Write::DeleteKey {
            id: deleted.id,
            revision: 1,
        },
    )?;

    let fresh_use = used(
        fresh.id,
        Operation::GenerateDataKeyWithoutPlaintext,
        7,
        "r7",
    );
    let mut txn = Transaction::new();
    txn.push(Write::RecordKeyUsage(used(
        never,
        Operation::Encrypt,
        5,
        "r5",
    )))
    .push(Write::RecordKeyUsage(used(
        deleted.id,
        Operation::Decrypt,
        6,
        "r6",
    )))
    .push(Write::PutKey {
        key: fresh.clone(),
        expect: Expect::Absent,
    })
    .push(Write::RecordKeyUsage(fresh_use.clone()))
    .push(Write::AddAccount(scope.account_record()));
    store.commit(txn)?;

    ensure_eq!(
        (store.get_key(&never)?, store.get_key_usage(&never)?),
        (None, None),
        "key that never existed"
    );
    ensure_eq!(
        (
            store.get_key(&deleted.id)?,
            store.get_key_usage(&deleted.id)?
        ),
        (None, None),
        "deleted key"
    );
    ensure_eq!(
        must_get_key(store, &fresh.id)?.value,
        fresh,
        "key created beside the skipped records"
    );
    ensure_eq!(
        must_get_usage(store, &fresh.id)?.last,
        Some(fresh_use),
        "use recorded beside the skipped records"
    );
    ensure!(
        store.get_account(&scope.account)?.is_some(),
        "account created beside the skipped records"
    );
    Ok(())
}

/// A record in a transaction that fails is not applied either.
pub fn failed_transaction_records_no_usage(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    let mut txn = Transaction::new();
    txn.push(Write::RecordKeyUsage(used(
        key.id,
        Operation::Encrypt,
        1,
        "r1",
    )))
    .push(Write::PutKey {
        key: key.clone(),
        expect: Expect::Absent,
    });
    expect_conflict(store.commit(txn), "recording with a conflicting write")?;
    ensure_eq!(
        must_get_usage(store, &key.id)?.last,
        None,
        "use recorded by a failed transaction"
    );
    Ok(())
}

/// `DeleteKey` removes the usage with the key; a key made again under the same id starts
/// afresh.
pub fn delete_key_removes_its_usage(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    commit1(
        store,
        Write::RecordKeyUsage(used(key.id, Operation::Encrypt, 1, "r1")),
    )?;
    commit1(
        store,
        Write::DeleteKey {
            id: key.id,
            revision: 1,
        },
    )?;
    ensure_eq!(
        store.get_key_usage(&key.id)?,
        None,
        "usage of the deleted key"
    );

    let mut again = key.clone();
    again.created_at = Timestamp(T0.0 + 99);
    create_key(store, &again)?;
    ensure_eq!(
        must_get_usage(store, &key.id)?,
        KeyUsage {
            tracking_start: again.created_at,
            last: None,
        },
        "usage of the key made again"
    );
    Ok(())
}

/// A key that does not exist has no usage to read.
pub fn usage_of_a_missing_key_reads_as_none(store: &dyn Store) -> Outcome {
    ensure_eq!(
        store.get_key_usage(&new_key_id())?,
        None,
        "usage of a missing key"
    );
    Ok(())
}

/// Every operation is stored under a name it is read back from, request ids verbatim (any
/// text a backend's string type holds), and each key's use stays its own. GetKeyLastUsage reports these operations in particular.
pub fn every_operation_round_trips(store: &dyn Store) -> Outcome {
    for op in [
        Operation::Decrypt,
        Operation::Encrypt,
        Operation::GenerateDataKey,
        Operation::GenerateDataKeyWithoutPlaintext,
        Operation::GenerateDataKeyPair,
        Operation::GenerateDataKeyPairWithoutPlaintext,
        Operation::GenerateMac,
        Operation::VerifyMac,
        Operation::ReEncrypt,
        Operation::Sign,
        Operation::Verify,
        Operation::DeriveSharedSecret,
    ] {
        ensure!(
            Operation::ALL.contains(&op),
            "{op:?} is not in Operation::ALL"
        );
    }
    let scope = Scope::new("us-east-1")?;
    let mut txn = Transaction::new();
    let mut want = Vec::new();
    for (offset, op) in (1..).zip(Operation::ALL) {
        let key = scope.key();
        let record = used(key.id, *op, offset, &format!("req-{}-\u{e9}'", op.name()));
        txn.push(Write::PutKey {
            key,
            expect: Expect::Absent,
        })
        .push(Write::RecordKeyUsage(record.clone()));
        want.push(record);
    }
    store.commit(txn)?;
    for record in want {
        ensure_eq!(
            must_get_usage(store, &record.key_id)?.last,
            Some(record.clone()),
            "last use by {}",
            record.operation.name()
        );
    }
    Ok(())
}
