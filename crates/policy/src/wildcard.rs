//! Wildcard patterns (`*`, `?`) and `${…}` policy variables, the two things that make a policy
//! string something other than a literal.
//!
//! Substitution and matching are one step because they interact: a `*` written in the policy is
//! a wildcard, but a `*` that arrives inside a substituted request value (a user named `a*`) or
//! through `${*}` is a literal character. A pattern is therefore a sequence of tokens, never a
//! re-scanned string, so request data can never widen what a statement matches.

use crate::context::ConditionKeys;

/// One token of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// A character that must appear as is.
    Literal(char),
    /// `*`: any run of characters, possibly empty.
    Any,
    /// `?`: exactly one character.
    One,
}

/// Tokenizes `text` without substituting variables (2008-10-17 policies, actions).
pub(crate) fn tokens(text: &str) -> Vec<Token> {
    text.chars().map(token).collect()
}

fn token(c: char) -> Token {
    match c {
        '*' => Token::Any,
        '?' => Token::One,
        c => Token::Literal(c),
    }
}

/// Tokenizes `text`, replacing each `${key}` / `${key, 'default'}` with the request's value.
///
/// `None` when a variable names a key the request lacks (and no default is given) or a key with
/// several values: IAM then treats the element as matching nothing, rather than guessing.
/// A `${` without a closing `}` is kept literally, as IAM does.
pub(crate) fn substitute(text: &str, keys: &ConditionKeys) -> Option<Vec<Token>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.extend(rest[..start].chars().map(token));
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.extend(rest[start..].chars().map(token));
            return Some(out);
        };
        let value = resolve(&after[..end], keys)?;
        out.extend(value.chars().map(Token::Literal));
        rest = &after[end + 1..];
    }
    out.extend(rest.chars().map(token));
    Some(out)
}

/// The value of one variable body (the text between `${` and `}`).
fn resolve(body: &str, keys: &ConditionKeys) -> Option<String> {
    match body {
        "*" | "?" | "$" => return Some(body.to_owned()),
        _ => {}
    }
    let (key, default) = match body.split_once(',') {
        Some((key, default)) => (key.trim(), Some(default.trim())),
        None => (body.trim(), None),
    };
    match keys.get(key) {
        Some([single]) => Some(single.clone()),
        Some([_, _, ..]) => None,
        Some([]) | None => {
            let quoted = default?;
            let inner = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
            Some(inner.to_owned())
        }
    }
}

/// The pattern as plain text, wildcards written back as `*` / `?`; for the `…Equals` operators,
/// which do not interpret wildcards.
pub(crate) fn literal_text(pattern: &[Token]) -> String {
    pattern
        .iter()
        .map(|t| match t {
            Token::Literal(c) => *c,
            Token::Any => '*',
            Token::One => '?',
        })
        .collect()
}

/// Whether `text` matches `pattern`, optionally ignoring case.
///
/// The classic linear backtracking matcher: on a mismatch, retry from the last `*` one character
/// further on. Worst case O(pattern × text), no recursion, so hostile patterns cannot blow up.
pub(crate) fn matches(pattern: &[Token], text: &str, ignore_case: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()));
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::Any) => {
                backtrack = Some((p, t));
                p += 1;
                continue;
            }
            Some(Token::One) => {
                p += 1;
                t += 1;
                continue;
            }
            Some(Token::Literal(c)) if same(*c, text[t]) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        let Some((star, from)) = backtrack else {
            return false;
        };
        p = star + 1;
        t = from + 1;
        backtrack = Some((star, from + 1));
    }
    pattern[p..].iter().all(|tok| *tok == Token::Any)
}

/// ARN matching as `ArnLike` and resource elements do it: both sides split into their six
/// colon-separated parts, each part matched on its own, so a wildcard never spans a colon
/// before the resource part. Case-sensitive.
pub(crate) fn arn_matches(pattern: &[Token], arn: &str) -> bool {
    let parts: Vec<&[Token]> = split_pattern(pattern);
    let arn_parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && arn_parts.len() == 6
        && parts
            .iter()
            .zip(&arn_parts)
            .all(|(p, a)| matches(p, a, false))
}

/// Splits a pattern at its first five literal colons.
fn split_pattern(pattern: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    for (i, tok) in pattern.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        if *tok == Token::Literal(':') {
            parts.push(&pattern[start..i]);
            start = i + 1;
        }
    }
    parts.push(&pattern[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ConditionKeys {
        let mut keys = ConditionKeys::default();
        keys.insert("aws:username", ["a*b"]);
        keys.insert("aws:PrincipalTag/team", ["x", "y"]);
        keys
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(matches(
            &tokens("kms:ReEncrypt*"),
            "kms:ReEncryptFrom",
            false
        ));
        assert!(matches(&tokens("a*b*c"), "axxbyyc", false));
        assert!(!matches(&tokens("a*b*c"), "axxbyy", false));
        assert!(matches(&tokens("Get?eyPolicy"), "GetKeyPolicy", false));
        assert!(!matches(&tokens("Get?eyPolicy"), "GeteyPolicy", false));
        assert!(matches(&tokens("ENCRYPT"), "encrypt", true));
        assert!(!matches(&tokens("ENCRYPT"), "encrypt", false));
        assert!(matches(&tokens("*"), "", false));
    }

    #[test]
    fn substituted_values_are_literal_even_when_they_hold_wildcards() {
        let pattern = substitute("home/${aws:username}/*", &keys()).unwrap();
        assert!(matches(&pattern, "home/a*b/x", false));
        assert!(!matches(&pattern, "home/aXb/x", false));
        let star = substitute("${*}", &keys()).unwrap();
        assert!(matches(&star, "*", false) && !matches(&star, "x", false));
    }

    #[test]
    fn missing_or_multivalued_variables_resolve_to_nothing_unless_defaulted() {
        assert_eq!(substitute("${aws:userid}", &keys()), None);
        assert_eq!(substitute("${aws:PrincipalTag/team}", &keys()), None);
        let defaulted = substitute("${aws:userid, 'none'}", &keys()).unwrap();
        assert_eq!(literal_text(&defaulted), "none");
        assert_eq!(
            literal_text(&substitute("${unclosed", &keys()).unwrap()),
            "${unclosed"
        );
    }

    #[test]
    fn arn_wildcards_stay_within_their_part() {
        let p = tokens("arn:aws:kms:*:111122223333:key/*");
        assert!(arn_matches(&p, "arn:aws:kms:us-east-1:111122223333:key/k1"));
        assert!(!arn_matches(
            &p,
            "arn:aws:kms:us-east-1:444455556666:key/k1"
        ));
        let greedy = tokens("arn:aws:kms:*");
        assert!(!arn_matches(
            &greedy,
            "arn:aws:kms:us-east-1:111122223333:key/k1"
        ));
        assert!(!arn_matches(&p, "not-an-arn"));
    }
}
