//! Wildcard patterns (`*`, `?`) and `${…}` policy variables, the two things that make a policy
//! string something other than a literal.
//!
//! Substitution and matching are one step because they interact: a `*` written in the policy is
//! a wildcard, but a `*` that arrives inside a substituted request value (a user named `a*`) or
//! through `${*}` is a literal character. A substituted pattern is therefore a sequence of
//! tokens, never a re-scanned string, so request data can never widen what a statement matches.
//!
//! A pattern without variables is matched as written ([`Written`]), without building tokens:
//! evaluation of such patterns allocates nothing.

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

fn token(c: char) -> Token {
    match c {
        '*' => Token::Any,
        '?' => Token::One,
        c => Token::Literal(c),
    }
}

/// Where condition key values come from, for substitution.
pub(crate) trait KeySource {
    /// The values of `key`, if the request has it.
    fn values(&self, key: &str) -> Option<&[String]>;
}

impl KeySource for crate::context::ConditionKeys {
    fn values(&self, key: &str) -> Option<&[String]> {
        self.get(key)
    }
}

impl KeySource for crate::context::RequestContext {
    fn values(&self, key: &str) -> Option<&[String]> {
        self.get(key)
    }
}

/// A sequence of tokens addressed by position; positions only grow.
pub(crate) trait Tokens {
    /// The token at `pos` and the position after it; `None` at the end.
    fn next_token(&self, pos: usize) -> Option<(Token, usize)>;
}

impl Tokens for [Token] {
    fn next_token(&self, pos: usize) -> Option<(Token, usize)> {
        self.get(pos).map(|t| (*t, pos + 1))
    }
}

impl Tokens for Vec<Token> {
    fn next_token(&self, pos: usize) -> Option<(Token, usize)> {
        self.as_slice().next_token(pos)
    }
}

/// A pattern as written in a policy: `*` and `?` are wildcards, every other character is
/// literal; positions are byte offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written<'a>(pub(crate) &'a str);

impl Tokens for Written<'_> {
    fn next_token(&self, pos: usize) -> Option<(Token, usize)> {
        let c = self.0.get(pos..)?.chars().next()?;
        Some((token(c), pos + c.len_utf8()))
    }
}

/// A pattern cut off at `end`.
struct Bounded<'a, P: ?Sized> {
    inner: &'a P,
    end: usize,
}

impl<P: Tokens + ?Sized> Tokens for Bounded<'_, P> {
    fn next_token(&self, pos: usize) -> Option<(Token, usize)> {
        if pos >= self.end {
            return None;
        }
        self.inner.next_token(pos)
    }
}

/// Whether `text` contains a policy variable.
pub(crate) fn has_variable(text: &str) -> bool {
    text.contains("${")
}

/// The condition keys named by the policy variables in `text` (`${key}` or
/// `${key, 'default'}`); `${*}`, `${?}` and `${$}` name none.
pub(crate) fn variable_keys(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        loop {
            let start = rest.find("${")?;
            let after = rest.get(start + 2..)?;
            let end = after.find('}')?;
            let body = after.get(..end)?;
            rest = after.get(end + 1..)?;
            if matches!(body, "*" | "?" | "$") {
                continue;
            }
            let key = body.split_once(',').map_or(body, |(key, _)| key).trim();
            return Some(key);
        }
    })
}

/// Tokenizes `text`, replacing each `${key}` / `${key, 'default'}` with the request's value.
///
/// `None` when a variable names a key the request lacks (and no default is given) or a key with
/// several values: IAM then treats the element as matching nothing, rather than guessing.
/// A `${` without a closing `}` is kept literally, as IAM does.
pub(crate) fn substitute<K: KeySource + ?Sized>(text: &str, keys: &K) -> Option<Vec<Token>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.extend(rest.get(..start)?.chars().map(token));
        let after = rest.get(start + 2..)?;
        let Some(end) = after.find('}') else {
            out.extend(rest.get(start..)?.chars().map(token));
            return Some(out);
        };
        let value = resolve(after.get(..end)?, keys)?;
        out.extend(value.chars().map(Token::Literal));
        rest = after.get(end + 1..)?;
    }
    out.extend(rest.chars().map(token));
    Some(out)
}

/// The value of one variable body (the text between `${` and `}`).
fn resolve<'a, K: KeySource + ?Sized>(body: &'a str, keys: &'a K) -> Option<&'a str> {
    if matches!(body, "*" | "?" | "$") {
        return Some(body);
    }
    let (key, default) = match body.split_once(',') {
        Some((key, default)) => (key.trim(), Some(default.trim())),
        None => (body.trim(), None),
    };
    match keys.values(key) {
        Some([single]) => Some(single.as_str()),
        Some([_, _, ..]) => None,
        Some([]) | None => default?.strip_prefix('\'')?.strip_suffix('\''),
    }
}

/// Whether `text` equals the pattern read literally, wildcards as the characters `*` and `?`;
/// for the `…Equals` operators, which do not interpret wildcards.
pub(crate) fn equals_literally<P: Tokens + ?Sized>(
    pattern: &P,
    text: &str,
    ignore_case: bool,
) -> bool {
    let mut pos = 0;
    let mut chars = text.chars();
    loop {
        match (pattern.next_token(pos), chars.next()) {
            (None, None) => return true,
            (Some((tok, next)), Some(c)) => {
                let p = match tok {
                    Token::Literal(l) => l,
                    Token::Any => '*',
                    Token::One => '?',
                };
                if !same_char(p, c, ignore_case) {
                    return false;
                }
                pos = next;
            }
            _ => return false,
        }
    }
}

fn same_char(a: char, b: char, ignore_case: bool) -> bool {
    a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()))
}

/// Whether `text` matches `pattern`, optionally ignoring case.
///
/// The classic linear backtracking matcher: on a mismatch, retry from the last `*` one character
/// further on. Worst case O(pattern × text), no recursion and no allocation, so hostile patterns
/// cannot blow up.
pub(crate) fn matches<P: Tokens + ?Sized>(pattern: &P, text: &str, ignore_case: bool) -> bool {
    matches_from(pattern, 0, text, ignore_case)
}

fn matches_from<P: Tokens + ?Sized>(
    pattern: &P,
    start: usize,
    text: &str,
    ignore_case: bool,
) -> bool {
    let (mut p, mut t) = (start, 0);
    // (position after the last `*`, text position that `*` has consumed up to)
    let mut backtrack: Option<(usize, usize)> = None;
    while let Some(c) = text.get(t..).and_then(|rest| rest.chars().next()) {
        match pattern.next_token(p) {
            Some((Token::Any, next)) => {
                backtrack = Some((next, t));
                p = next;
                continue;
            }
            Some((Token::One, next)) => {
                p = next;
                t += c.len_utf8();
                continue;
            }
            Some((Token::Literal(l), next)) if same_char(l, c, ignore_case) => {
                p = next;
                t += c.len_utf8();
                continue;
            }
            _ => {}
        }
        let Some((after_star, from)) = backtrack else {
            return false;
        };
        let Some(skipped) = text.get(from..).and_then(|rest| rest.chars().next()) else {
            return false;
        };
        let from = from + skipped.len_utf8();
        p = after_star;
        t = from;
        backtrack = Some((after_star, from));
    }
    while let Some((tok, next)) = pattern.next_token(p) {
        if tok != Token::Any {
            return false;
        }
        p = next;
    }
    true
}

/// ARN matching as `ArnLike` and resource elements do it: both sides split into their six
/// colon-separated parts, each part matched on its own, so a wildcard never spans a colon
/// before the resource part. Case-sensitive.
pub(crate) fn arn_matches<P: Tokens + ?Sized>(pattern: &P, arn: &str) -> bool {
    let mut arn_parts = arn.splitn(6, ':');
    let mut start = 0;
    for part in 0..6 {
        let Some(text) = arn_parts.next() else {
            return false;
        };
        let (end, next_start) = if part < 5 {
            match next_colon(pattern, start) {
                Some(bounds) => bounds,
                None => return false,
            }
        } else {
            (usize::MAX, usize::MAX)
        };
        let bounded = Bounded {
            inner: pattern,
            end,
        };
        if !matches_from(&bounded, start, text, false) {
            return false;
        }
        start = next_start;
    }
    true
}

/// The position of the next literal `:` at or after `from`, and the position after it.
fn next_colon<P: Tokens + ?Sized>(pattern: &P, from: usize) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some((tok, next)) = pattern.next_token(pos) {
        if tok == Token::Literal(':') {
            return Some((pos, next));
        }
        pos = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ConditionKeys;

    fn keys() -> ConditionKeys {
        let mut keys = ConditionKeys::default();
        keys.insert("aws:username", ["a*b"]);
        keys.insert("aws:PrincipalTag/team", ["x", "y"]);
        keys
    }

    fn w(s: &str) -> Written<'_> {
        Written(s)
    }

    fn literal_text(tokens: &[Token]) -> String {
        tokens
            .iter()
            .map(|t| match t {
                Token::Literal(c) => *c,
                Token::Any => '*',
                Token::One => '?',
            })
            .collect()
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(matches(&w("kms:ReEncrypt*"), "kms:ReEncryptFrom", false));
        assert!(matches(&w("a*b*c"), "axxbyyc", false));
        assert!(!matches(&w("a*b*c"), "axxbyy", false));
        assert!(matches(&w("Get?eyPolicy"), "GetKeyPolicy", false));
        assert!(!matches(&w("Get?eyPolicy"), "GeteyPolicy", false));
        assert!(matches(&w("ENCRYPT"), "encrypt", true));
        assert!(!matches(&w("ENCRYPT"), "encrypt", false));
        assert!(matches(&w("*"), "", false));
        assert!(matches(&w("é?*ß"), "éxyzß", false));
        assert!(!matches(&w("a"), "", false));
        assert!(matches(&w("**a**"), "xxa", false));
    }

    #[test]
    fn written_and_tokenized_patterns_agree() {
        for (pattern, text) in [
            ("a*b?c", "aXXbYc"),
            ("*x*", "axb"),
            ("??", "é1"),
            ("a*", "b"),
            ("", ""),
        ] {
            let tokens: Vec<Token> = pattern.chars().map(token).collect();
            assert_eq!(
                matches(&w(pattern), text, false),
                matches(&tokens, text, false),
                "{pattern} {text}"
            );
        }
    }

    #[test]
    fn substituted_values_are_literal_even_when_they_hold_wildcards() {
        let pattern = substitute("home/${aws:username}/*", &keys()).unwrap();
        assert!(matches(&pattern, "home/a*b/x", false));
        assert!(!matches(&pattern, "home/aXb/x", false));
        let star = substitute("${*}", &keys()).unwrap();
        assert!(matches(&star, "*", false) && !matches(&star, "x", false));
        assert!(equals_literally(&star, "*", false));
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
    fn variable_keys_name_what_substitution_reads() {
        let keys: Vec<&str> =
            variable_keys("a${aws:username}b${*}${ aws:PrincipalTag/Team , 'x'}${?}${$}${unclosed")
                .collect();
        assert_eq!(keys, ["aws:username", "aws:PrincipalTag/Team"]);
        assert_eq!(variable_keys("no variables").count(), 0);
    }

    #[test]
    fn arn_wildcards_stay_within_their_part() {
        let p = w("arn:aws:kms:*:111122223333:key/*");
        assert!(arn_matches(&p, "arn:aws:kms:us-east-1:111122223333:key/k1"));
        assert!(!arn_matches(
            &p,
            "arn:aws:kms:us-east-1:444455556666:key/k1"
        ));
        let greedy = w("arn:aws:kms:*");
        assert!(!arn_matches(
            &greedy,
            "arn:aws:kms:us-east-1:111122223333:key/k1"
        ));
        assert!(!arn_matches(&p, "not-an-arn"));
        assert!(!arn_matches(&p, "*"));
        let colons = w("arn:aws:kms:*:*:key/a:*");
        assert!(arn_matches(&colons, "arn:aws:kms:r:1:key/a:b:c"));
        let tokens = substitute("arn:aws:kms:*:${aws:username}:key/*", &keys()).unwrap();
        assert!(arn_matches(&tokens, "arn:aws:kms:r:a*b:key/x"));
        assert!(!arn_matches(&tokens, "arn:aws:kms:r:aXb:key/x"));
    }
}
