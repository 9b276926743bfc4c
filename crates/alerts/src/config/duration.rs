//! Durations as the configuration writes them: a whole number and a unit, `250ms`, `30s`,
//! `5m`, `2h`, `1d`. No fractions, no compound forms, no bare numbers: `window = 60` could
//! mean seconds or minutes, so it is refused.

use std::time::Duration;

/// Parses `text`, or says what is wrong with it.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let expected = || {
        format!(
            "`{text}` is not a duration: write a whole number and a unit (ms, s, m, h, d), e.g. `30s`"
        )
    };
    if number.is_empty() {
        return Err(expected());
    }
    let n: u64 = number.parse().map_err(|_| expected())?;
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(expected()),
    };
    n.checked_mul(millis_per_unit)
        .filter(|ms| *ms <= MAX_MILLIS)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too long (at most 365d)"))
}

/// A year: longer than anything an alert rule or a delivery needs.
const MAX_MILLIS: u64 = 365 * 86_400_000;

/// `d` written back in the largest unit that is exact, for messages.
pub(crate) fn display(d: Duration) -> String {
    let ms = d.as_millis();
    for (unit, per) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms >= per && ms.is_multiple_of(per) {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_parsed_exactly() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "", "60", "s", "1.5s", "-1s", " 1s", "1 s", "1sec", "1S", "1m30s", "+1s",
        ] {
            let e = parse(bad).err();
            assert!(
                e.is_some_and(|m| m.contains("is not a duration")),
                "{bad:?}"
            );
        }
        assert!(parse("366d").is_err_and(|m| m.contains("too long")));
        assert!(parse("99999999999999999999s").is_err());
    }

    #[test]
    fn display_uses_the_largest_exact_unit() {
        assert_eq!(display(Duration::from_secs(90)), "90s");
        assert_eq!(display(Duration::from_secs(120)), "2m");
        assert_eq!(display(Duration::from_millis(1_500)), "1500ms");
        assert_eq!(display(Duration::from_secs(86_400)), "1d");
    }
}
