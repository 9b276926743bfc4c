//! The form of a Query request: strict, bounded parsing of an
//! `application/x-www-form-urlencoded` body into named parameters, and reading its scalars,
//! integers, lists and lists of structures (see the parent module's docs for the rules).

use super::{MAX_LIST_INDEX, MAX_NAME_LEN, MAX_PARAMS, QueryError};
use crate::error::ApiError;
use std::collections::BTreeMap;

/// The decoded parameters of a request, by name.
#[derive(Debug, Default)]
pub(crate) struct Params {
    map: BTreeMap<String, String>,
}

fn malformed(msg: String) -> QueryError {
    QueryError::Malformed(msg)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Checks one `name=value` part at byte `offset` of the body: printable ASCII, every `%`
/// followed by two hex digits, and each side decoding to UTF-8 (`form_urlencoded` would
/// replace bad sequences silently).
fn check_part(part: &[u8], offset: usize) -> Result<(), QueryError> {
    let mut decoded = Vec::with_capacity(part.len());
    let mut side_start = offset;
    let mut seen_eq = false;
    let mut i = 0;
    while let Some(&b) = part.get(i) {
        match b {
            b'%' => {
                let (Some(h), Some(l)) = (
                    part.get(i + 1).copied().and_then(hex),
                    part.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(malformed(format!(
                        "Invalid percent-encoding at byte {} of the request body.",
                        offset + i
                    )));
                };
                decoded.push(h << 4 | l);
                i += 3;
                continue;
            }
            b'=' if !seen_eq => {
                seen_eq = true;
                check_utf8(&decoded, side_start)?;
                decoded.clear();
                side_start = offset + i + 1;
            }
            b'+' => decoded.push(b' '),
            0x21..=0x7e => decoded.push(b),
            _ => {
                return Err(malformed(format!(
                    "Byte {} of the request body is not printable ASCII; the body must be \
                     application/x-www-form-urlencoded.",
                    offset + i
                )));
            }
        }
        i += 1;
    }
    check_utf8(&decoded, side_start)
}

fn check_utf8(decoded: &[u8], at: usize) -> Result<(), QueryError> {
    if std::str::from_utf8(decoded).is_err() {
        return Err(malformed(format!(
            "The parameter at byte {at} of the request body is not UTF-8 once percent-decoded."
        )));
    }
    Ok(())
}

impl Params {
    /// Parses a form body (see the module docs for the rules).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, QueryError> {
        let mut offset = 0;
        let mut count = 0usize;
        for part in body.split(|b| *b == b'&') {
            if !part.is_empty() {
                count += 1;
                if count > MAX_PARAMS {
                    return Err(malformed(format!(
                        "The request has more than {MAX_PARAMS} parameters."
                    )));
                }
                check_part(part, offset)?;
            }
            offset += part.len() + 1;
        }
        let mut map = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if name.is_empty() {
                return Err(malformed("A parameter has an empty name.".to_owned()));
            }
            if name.len() > MAX_NAME_LEN {
                return Err(malformed(format!(
                    "A parameter name is longer than {MAX_NAME_LEN} bytes."
                )));
            }
            let name = name.into_owned();
            if map.contains_key(&name) {
                return Err(malformed(format!(
                    "The parameter {name} appears more than once."
                )));
            }
            map.insert(name, value.into_owned());
        }
        Ok(Self { map })
    }

    /// A scalar parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Whether member `name` was sent at all (as a scalar, or as a list or structure).
    pub(crate) fn has(&self, name: &str) -> bool {
        let nested = format!("{name}.");
        self.map.contains_key(name)
            || self
                .map
                .range(nested.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&nested))
    }

    /// An owned scalar parameter.
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// An integer parameter; `member` is its lowerCamel name for the message.
    pub(crate) fn int(&self, name: &str, member: &str) -> Result<Option<i64>, QueryError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                QueryError::Api(ApiError::Kms(strongroom_core::KmsError::Validation(
                    format!(
                        "1 validation error detected: Value '{}' at '{member}' failed to satisfy \
                     constraint: Member must be an integer",
                        v.chars().take(64).collect::<String>()
                    ),
                )))
            }),
        }
    }

    /// The members of list `prefix` (`prefix.member.N[.Field]`), numbered `1..=n`:
    /// `None` if the list is absent, empty if sent as `prefix=` (how SDKs send `[]`).
    fn members<'a>(&'a self, prefix: &str) -> Result<Option<Members<'a>>, QueryError> {
        let head = format!("{prefix}.member.");
        let mut found: Members<'a> = BTreeMap::new();
        for (name, value) in self.map.range(head.clone()..) {
            let Some(rest) = name.strip_prefix(head.as_str()) else {
                break;
            };
            let (index, field) = match rest.split_once('.') {
                Some((i, f)) => (i, f),
                None => (rest, ""),
            };
            let n = parse_index(index)
                .ok_or_else(|| malformed(format!("{name} is not a valid list member name.")))?;
            found.entry(n).or_default().push((field, value.as_str()));
        }
        if found.is_empty() {
            return Ok(self.map.contains_key(prefix).then(BTreeMap::new));
        }
        if found.keys().copied().ne(1..=found.len()) {
            return Err(malformed(format!(
                "The members of {prefix} must be numbered 1, 2, 3… without gaps."
            )));
        }
        Ok(Some(found))
    }

    /// A list of strings (`prefix.member.N`).
    pub(crate) fn list(&self, prefix: &str) -> Result<Option<Vec<String>>, QueryError> {
        let Some(members) = self.members(prefix)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(members.len());
        for (n, fields) in members {
            match fields.as_slice() {
                [("", v)] => out.push((*v).to_owned()),
                _ => {
                    return Err(malformed(format!(
                        "{prefix}.member.{n} must be a single value."
                    )));
                }
            }
        }
        Ok(Some(out))
    }

    /// A list of structures (`prefix.member.N.Field`), each as its fields by name.
    pub(crate) fn struct_list(
        &self,
        prefix: &str,
    ) -> Result<Option<Vec<BTreeMap<String, String>>>, QueryError> {
        let Some(members) = self.members(prefix)? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(members.len());
        for (n, fields) in members {
            let mut m = BTreeMap::new();
            for (field, value) in fields {
                if field.is_empty() || field.contains('.') {
                    return Err(malformed(format!(
                        "{prefix}.member.{n} must be a structure (name its fields)."
                    )));
                }
                m.insert(field.to_owned(), value.to_owned());
            }
            out.push(m);
        }
        Ok(Some(out))
    }
}

/// The members of a list by number, each as its `(field, value)` pairs (`field` empty for a
/// scalar member).
type Members<'a> = BTreeMap<usize, Vec<(&'a str, &'a str)>>;

/// A list member number: decimal, no leading zero, `1..=MAX_LIST_INDEX`.
fn parse_index(s: &str) -> Option<usize> {
    if s.is_empty() || s.len() > 4 || s.starts_with('0') || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_LIST_INDEX).contains(n))
}
