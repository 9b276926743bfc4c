//! The imported materials of a key (`key_imported_materials`, schema version 5): one row per
//! material version, read with the key in its snapshot and replaced with it on every write.

use super::codec::version;
use crate::StoreError;
use rusqlite::Row;
use strongroom_core::key::ImportedMaterial;
use strongroom_core::time::Timestamp;

/// A row of `key_imported_materials`, in [`MaterialRow::COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct MaterialRow {
    key_id: String,
    version: i64,
    fingerprint: Vec<u8>,
    valid_to_ms: Option<i64>,
    present: i64,
    rotated_at_ms: Option<i64>,
}

impl MaterialRow {
    /// The columns [`MaterialRow::from_row`] reads, in order.
    pub(crate) const COLUMNS: &'static str =
        "key_id, version, fingerprint, valid_to_ms, present, rotated_at_ms";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key_id: row.get(0)?,
            version: row.get(1)?,
            fingerprint: row.get(2)?,
            valid_to_ms: row.get(3)?,
            present: row.get(4)?,
            rotated_at_ms: row.get(5)?,
        })
    }

    /// The stored key id text.
    pub(crate) fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The material; a flag other than 0 or 1 is corrupt (the schema's CHECK refuses it, so
    /// only a damaged file has it).
    pub(crate) fn decode(self) -> Result<ImportedMaterial, StoreError> {
        let present = match self.present {
            0 => false,
            1 => true,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "invalid imported material present flag {other}"
                )));
            }
        };
        Ok(ImportedMaterial {
            version: version(self.version)?,
            fingerprint: self.fingerprint,
            valid_to: self.valid_to_ms.map(Timestamp),
            present,
            rotated_at: self.rotated_at_ms.map(Timestamp),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(version: i64, present: i64) -> MaterialRow {
        MaterialRow {
            key_id: "k".into(),
            version,
            fingerprint: vec![7; 32],
            valid_to_ms: Some(-5),
            present,
            rotated_at_ms: Some(9),
        }
    }

    #[test]
    fn rows_decode_and_invalid_values_are_corrupt() {
        assert_eq!(
            row(3, 0).decode().unwrap(),
            ImportedMaterial {
                version: 3,
                fingerprint: vec![7; 32],
                valid_to: Some(Timestamp(-5)),
                present: false,
                rotated_at: Some(Timestamp(9)),
            }
        );
        assert!(row(1, 1).decode().unwrap().present);
        match row(1, 2).decode() {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("present flag 2"), "{m}"),
            other => panic!("{other:?}"),
        }
        match row(-1, 1).decode() {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("key version -1"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
