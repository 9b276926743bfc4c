//! Cases about leases: one holder at a time until the lease expires, renewal by the holder,
//! and exactly one winner when nodes race for a free lease.

use super::fixtures::T0;
use super::{Failure, Outcome};
use crate::{Store, StoreError};
use std::sync::Barrier;
use strongroom_core::time::Timestamp;

/// Threads racing for one lease.
const RACERS: usize = 8;
/// Races run, each for a fresh lease.
const RACES: usize = 5;

/// A lease name no other case uses.
fn lease_name(purpose: &str) -> String {
    format!("conformance/{purpose}/{}", uuid::Uuid::new_v4())
}

/// `T0` plus `ms` milliseconds.
fn at(ms: i64) -> Timestamp {
    Timestamp(T0.0 + ms)
}

/// A lease is taken when free, refused to others until it expires (`expires_at <= now`),
/// renewed by its holder (moving the expiry), taken over once expired, and independent of
/// other leases.
pub fn lease_is_held_by_one_holder_until_it_expires(store: &dyn Store) -> Outcome {
    let name = lease_name("exclusive");
    let lease =
        |holder: &str, now: i64, until: i64| store.try_lease(&name, holder, at(now), at(until));

    ensure!(lease("node-a", 0, 10_000)?, "a free lease was refused");
    ensure!(
        !lease("node-b", 1, 20_000)?,
        "a held lease was given to another"
    );
    ensure!(
        !lease("node-b", 9_999, 20_000)?,
        "a lease was given away a millisecond before it expired"
    );
    ensure!(
        lease("node-a", 5_000, 15_000)?,
        "the holder could not renew"
    );
    ensure!(
        !lease("node-b", 10_000, 20_000)?,
        "a renewed lease expired at its old expiry"
    );
    ensure!(
        lease("node-a", 12_000, 15_000)?,
        "the holder could not renew again"
    );
    ensure!(
        lease("node-b", 15_000, 25_000)?,
        "a lease was not given away at its expiry"
    );
    ensure!(
        !lease("node-a", 15_000, 30_000)?,
        "the former holder took back a lease held by another"
    );
    ensure!(
        lease("node-b", 20_000, 30_000)?,
        "the new holder could not renew"
    );

    let other = lease_name("independent");
    ensure!(
        store.try_lease(&other, "node-a", at(20_000), at(30_000))?,
        "a free lease was refused while another lease is held"
    );
    ensure!(
        !lease("node-a", 29_999, 40_000)?,
        "holding one lease gave another"
    );
    ensure!(
        lease("node-a", 31_000, 40_000)?,
        "an expired lease was not given to its former holder"
    );
    Ok(())
}

/// Threads racing for a free lease at the same instant: exactly one gets it, and afterwards
/// only the winner renews it.
pub fn concurrent_lease_takers_admit_exactly_one(store: &dyn Store) -> Outcome {
    for race in 0..RACES {
        let name = lease_name("race");
        let barrier = Barrier::new(RACERS);
        let results: Vec<Result<bool, StoreError>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..RACERS)
                .map(|i| {
                    let (name, barrier) = (&name, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        store.try_lease(name, &format!("node-{i}"), at(0), at(60_000))
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(StoreError::Unavailable("panicked".into())))
                })
                .collect()
        });
        let mut winners = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            if r? {
                winners.push(i);
            }
        }
        let [winner] = winners[..] else {
            return Err(Failure::new(format!(
                "race {race}: {} winners ({winners:?}), expected one",
                winners.len()
            )));
        };
        for i in 0..RACERS {
            let held = store.try_lease(&name, &format!("node-{i}"), at(1), at(60_000))?;
            ensure_eq!(
                held,
                i == winner,
                "race {race}: node-{i} after node-{winner} won"
            );
        }
    }
    Ok(())
}
