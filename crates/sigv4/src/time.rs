//! The SigV4 timestamp, `YYYYMMDD'T'HHMMSS'Z'`, to and from Unix seconds.
//!
//! AWS accepts only this ISO 8601 "basic format" in `X-Amz-Date`, and also in `Date` when that
//! header is the fallback (an RFC 1123 `Date` is rejected with the same "basic format" error), so
//! one strict parser serves both. The calendar arithmetic is the proleptic Gregorian
//! days-from-civil conversion, done here so the crate needs no date library and reads no clock.

/// Seconds in a day.
const DAY: i64 = 86_400;

/// Parses a `YYYYMMDDTHHMMSSZ` timestamp into Unix seconds. Anything else, including fractional
/// seconds, offsets, separators or an impossible date such as February 30, gives `None`.
pub(crate) fn parse_amz_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 4, 2)?;
    let day = digits(b, 6, 2)?;
    let hour = digits(b, 9, 2)?;
    let minute = digits(b, 11, 2)?;
    let second = digits(b, 13, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * DAY + hour * 3_600 + minute * 60 + second)
}

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ`. Years outside 0..=9999 still format (with more
/// or fewer digits) rather than fail, because the only callers format the server's own clock
/// into error messages.
pub(crate) fn format_amz_date(unix: i64) -> String {
    let days = unix.div_euclid(DAY);
    let secs = unix.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

/// Reads `len` ASCII digits starting at `start` as a number.
fn digits(b: &[u8], start: usize, len: usize) -> Option<i64> {
    let slice = b.get(start..start.checked_add(len)?)?;
    slice.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]. `days` comes from `i64 / 86400`, so nothing overflows.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_test_suite_timestamp() {
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
    }

    #[test]
    fn rejects_everything_but_the_basic_format() {
        for bad in [
            "",
            "20150830T123600",
            "2015-08-30T12:36:00Z",
            "20150830T123600.000Z",
            "Sun, 30 Aug 2015 12:36:00 GMT",
            "20150230T123600Z",
            "20151330T123600Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "2015083OT123600Z",
            "+0150830T123600Z",
            "20150830t123600Z",
            "20150830T123600z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn leap_days_follow_the_gregorian_rules() {
        assert!(parse_amz_date("20160229T000000Z").is_some());
        assert!(parse_amz_date("20000229T000000Z").is_some());
        assert!(parse_amz_date("21000229T000000Z").is_none());
        assert!(parse_amz_date("20150229T000000Z").is_none());
    }

    #[test]
    fn format_inverts_parse_over_a_wide_range() {
        for unix in [
            0,
            1_440_938_160,
            -1,
            951_782_400,
            4_102_444_799,
            -62_167_219_200,
        ] {
            let s = format_amz_date(unix);
            assert_eq!(parse_amz_date(&s), Some(unix), "{s}");
        }
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
    }

    #[test]
    fn format_never_panics_at_the_extremes() {
        assert!(!format_amz_date(i64::MAX).is_empty());
        assert!(!format_amz_date(i64::MIN).is_empty());
    }
}
