//! Grants in SQLite (`grants`, schema version 6): the row codec, and the encodings of a
//! grant's operations and constraints, each stored in one column.
//!
//! Operations are their wire names joined by `,`, in the order given (the empty string for
//! none): readable, and unambiguous because no name contains a comma (a test checks).
//!
//! Constraints are `NULL` for none, else a BLOB: a format byte ([`CONSTRAINTS_FORMAT`]), then
//! `equals` and `subset` in turn, each a byte 0 (absent) or 1 (present) followed by the map:
//! a count, then per entry (in key order) the key and the value, each its length and its
//! UTF-8 bytes; counts and lengths are big-endian `u32`. Encryption-context keys and values
//! may contain any character, which rules out separators; the encoding is canonical (one
//! encoding per value), and decoding refuses anything else as corrupt rather than guess.

use super::codec::{account_id, key_id, parse};
use crate::StoreError;
use rusqlite::Row;
use std::collections::BTreeMap;
use strongroom_core::grant::{Grant, GrantConstraints, GrantOperation};
use strongroom_core::time::Timestamp;

/// The first byte of every encoded constraints value.
pub(crate) const CONSTRAINTS_FORMAT: u8 = 1;

/// Separates operation names in the `operations` column.
const OPERATION_SEPARATOR: char = ',';

/// The `operations` column of `operations`.
pub(crate) fn encode_operations(operations: &[GrantOperation]) -> String {
    let names: Vec<&str> = operations.iter().map(|o| o.as_str()).collect();
    names.join(&OPERATION_SEPARATOR.to_string())
}

/// The operations of an `operations` column; an unknown name is corrupt.
pub(crate) fn decode_operations(value: &str) -> Result<Vec<GrantOperation>, StoreError> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(OPERATION_SEPARATOR)
        .map(|name| parse("grant operation", name, GrantOperation::parse))
        .collect()
}

/// The `constraints` column of `constraints`. Fails only for a key or value longer than
/// 4 GiB, which SQLite could not store anyway.
pub(crate) fn encode_constraints(c: &GrantConstraints) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![CONSTRAINTS_FORMAT];
    for map in [&c.equals, &c.subset] {
        match map {
            None => out.push(0),
            Some(map) => {
                out.push(1);
                put_len(&mut out, map.len())?;
                for (k, v) in map {
                    put_len(&mut out, k.len())?;
                    out.extend_from_slice(k.as_bytes());
                    put_len(&mut out, v.len())?;
                    out.extend_from_slice(v.as_bytes());
                }
            }
        }
    }
    Ok(out)
}

fn put_len(out: &mut Vec<u8>, n: usize) -> Result<(), StoreError> {
    let n = u32::try_from(n)
        .map_err(|_| StoreError::Unavailable("a grant constraint is too long to store".into()))?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

/// The constraints of a `constraints` column; anything but an encoding
/// [`encode_constraints`] makes is corrupt.
pub(crate) fn decode_constraints(bytes: &[u8]) -> Result<GrantConstraints, StoreError> {
    let mut r = Reader(bytes);
    let format = r.byte()?;
    if format != CONSTRAINTS_FORMAT {
        return Err(bad_constraints(&format!("unknown format {format}")));
    }
    let equals = r.optional_map()?;
    let subset = r.optional_map()?;
    if !r.0.is_empty() {
        return Err(bad_constraints("trailing bytes"));
    }
    Ok(GrantConstraints { equals, subset })
}

fn bad_constraints(why: &str) -> StoreError {
    StoreError::Corrupt(format!("invalid grant constraints: {why}"))
}

/// The bytes of an encoded constraints value not read yet.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if n > self.0.len() {
            return Err(bad_constraints("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, StoreError> {
        let [b] = self.take(1)? else {
            return Err(bad_constraints("truncated"));
        };
        Ok(*b)
    }

    fn len(&mut self) -> Result<usize, StoreError> {
        let bytes: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| bad_constraints("truncated"))?;
        usize::try_from(u32::from_be_bytes(bytes)).map_err(|_| bad_constraints("length"))
    }

    fn string(&mut self) -> Result<String, StoreError> {
        let n = self.len()?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| bad_constraints("invalid UTF-8"))
    }

    fn optional_map(&mut self) -> Result<Option<BTreeMap<String, String>>, StoreError> {
        match self.byte()? {
            0 => Ok(None),
            1 => {
                let n = self.len()?;
                let mut map = BTreeMap::new();
                for _ in 0..n {
                    let k = self.string()?;
                    let v = self.string()?;
                    // Strictly ascending keys: no duplicate, and the one encoding of the map.
                    if map.last_key_value().is_some_and(|(last, _)| *last >= k) {
                        return Err(bad_constraints("keys out of order"));
                    }
                    map.insert(k, v);
                }
                Ok(Some(map))
            }
            other => Err(bad_constraints(&format!("presence flag {other}"))),
        }
    }
}

/// A row of `grants`, in [`GrantRow::COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct GrantRow {
    key_id: String,
    grant_id: String,
    name: Option<String>,
    account_id: String,
    grantee_principal: String,
    retiring_principal: Option<String>,
    issuing_account: String,
    operations: String,
    constraints: Option<Vec<u8>>,
    created_at_ms: i64,
}

impl GrantRow {
    /// The columns [`GrantRow::from_row`] reads, in order.
    pub(crate) const COLUMNS: &'static str = "key_id, grant_id, name, account_id, \
        grantee_principal, retiring_principal, issuing_account, operations, constraints, \
        created_at_ms";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key_id: row.get(0)?,
            grant_id: row.get(1)?,
            name: row.get(2)?,
            account_id: row.get(3)?,
            grantee_principal: row.get(4)?,
            retiring_principal: row.get(5)?,
            issuing_account: row.get(6)?,
            operations: row.get(7)?,
            constraints: row.get(8)?,
            created_at_ms: row.get(9)?,
        })
    }

    pub(crate) fn decode(self) -> Result<Grant, StoreError> {
        Ok(Grant {
            key_id: key_id(&self.key_id)?,
            account: account_id(&self.account_id)?,
            id: self.grant_id,
            name: self.name,
            grantee_principal: self.grantee_principal,
            retiring_principal: self.retiring_principal,
            issuing_account: self.issuing_account,
            operations: decode_operations(&self.operations)?,
            constraints: self
                .constraints
                .as_deref()
                .map(decode_constraints)
                .transpose()?,
            created_at: Timestamp(self.created_at_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::corrupt;
    use super::*;
    use proptest::prelude::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn operation_names_are_nonempty_and_never_contain_the_separator() {
        for op in GrantOperation::ALL {
            assert!(!op.as_str().is_empty());
            assert!(!op.as_str().contains(OPERATION_SEPARATOR), "{op:?}");
        }
    }

    #[test]
    fn operations_round_trip_in_order_with_repeats() {
        let mut all = GrantOperation::ALL.to_vec();
        all.reverse();
        all.push(GrantOperation::Decrypt);
        for ops in [Vec::new(), vec![GrantOperation::Sign], all] {
            assert_eq!(decode_operations(&encode_operations(&ops)).unwrap(), ops);
        }
        assert_eq!(encode_operations(&[]), "");
        assert_eq!(
            encode_operations(&[GrantOperation::Encrypt, GrantOperation::Decrypt]),
            "Encrypt,Decrypt"
        );
    }

    #[test]
    fn unknown_or_empty_operation_names_are_corrupt() {
        for (stored, name) in [
            ("Encrypt,Melt", "Melt"),
            ("Encrypt,", ""),
            (",Encrypt", ""),
            ("encrypt", "encrypt"),
            ("Encrypt Decrypt", "Encrypt Decrypt"),
        ] {
            match decode_operations(stored) {
                Err(StoreError::Corrupt(m)) => {
                    let StoreError::Corrupt(want) = corrupt("grant operation", name) else {
                        panic!("not corrupt");
                    };
                    assert_eq!(m, want, "{stored}");
                }
                other => panic!("{stored}: {other:?}"),
            }
        }
    }

    #[test]
    fn constraints_have_one_encoding_which_round_trips() {
        let tricky = map(&[
            ("", ""),
            ("a,b", "c=d"),
            ("\u{0}", "\u{1F511}"),
            ("ключ", "\n"),
        ]);
        let cases = [
            GrantConstraints::default(),
            GrantConstraints {
                equals: Some(tricky.clone()),
                subset: None,
            },
            GrantConstraints {
                equals: None,
                subset: Some(tricky.clone()),
            },
            GrantConstraints {
                equals: Some(BTreeMap::new()),
                subset: Some(map(&[("k", "v")])),
            },
        ];
        for c in cases {
            let bytes = encode_constraints(&c).unwrap();
            assert_eq!(decode_constraints(&bytes).unwrap(), c);
        }
        assert_eq!(
            encode_constraints(&GrantConstraints {
                equals: Some(map(&[("a", "bc")])),
                subset: None,
            })
            .unwrap(),
            [
                1, 1, 0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 2, b'b', b'c', 0
            ]
        );
    }

    #[test]
    fn malformed_constraints_are_corrupt() {
        let good = encode_constraints(&GrantConstraints {
            equals: None,
            subset: Some(map(&[("a", "1"), ("b", "2")])),
        })
        .unwrap();
        let mut trailing = good.clone();
        trailing.push(0);
        let mut format = good.clone();
        format[0] = 2;
        let mut flag = good.clone();
        flag[1] = 2;
        let unordered = [
            1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, b'b', 0, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 0, 0,
        ];
        let duplicate = [
            1, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, b'a', 0, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 0, 0,
        ];
        let not_utf8 = [1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0, 0, 0, 0, 0];
        let huge = [1, 1, 0xff, 0xff, 0xff, 0xff];
        let mut cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "truncated"),
            (trailing, "trailing bytes"),
            (format, "unknown format 2"),
            (flag, "presence flag 2"),
            (unordered.to_vec(), "out of order"),
            (duplicate.to_vec(), "out of order"),
            (not_utf8.to_vec(), "UTF-8"),
            (huge.to_vec(), "truncated"),
        ];
        for n in 1..good.len() {
            cases.push((good[..n].to_vec(), "truncated"));
        }
        for (bytes, want) in cases {
            match decode_constraints(&bytes) {
                Err(StoreError::Corrupt(m)) => assert!(m.contains(want), "{bytes:?}: {m}"),
                other => panic!("{bytes:?}: {other:?}"),
            }
        }
    }

    fn arbitrary_map() -> impl Strategy<Value = Option<BTreeMap<String, String>>> {
        prop::option::of(prop::collection::btree_map(
            any::<String>(),
            any::<String>(),
            0..6,
        ))
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn arbitrary_constraints_round_trip(equals in arbitrary_map(), subset in arbitrary_map()) {
            let c = GrantConstraints { equals, subset };
            prop_assert_eq!(decode_constraints(&encode_constraints(&c).unwrap()).unwrap(), c);
        }

        #[test]
        fn arbitrary_bytes_decode_or_are_corrupt(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            match decode_constraints(&bytes) {
                // Whatever decodes is canonical: it encodes back to the same bytes.
                Ok(c) => prop_assert_eq!(encode_constraints(&c).unwrap(), bytes),
                Err(e) => prop_assert!(matches!(e, StoreError::Corrupt(_))),
            }
        }
    }
}
