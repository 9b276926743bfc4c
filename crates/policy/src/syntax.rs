//! Lexical checks for the scalar forms a policy holds: vendor prefixes, numbers, dates, base64
//! and IP addresses. Pure functions over `&str`, shared by the action and condition parsers.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A service prefix (`kms`, `execute-api`, `aws-marketplace`), as IAM accepts it: letters,
/// digits, `-` and `.`.
pub(crate) fn is_vendor(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `-?digits(.digits)?`, the numbers a Numeric operator compares.
pub(crate) fn is_decimal(s: &str) -> bool {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    all_digits(int) && frac.is_none_or(all_digits)
}

/// Non-negative whole seconds since the epoch that fit an `i64`, as IAM parses them.
pub(crate) fn is_epoch_seconds(s: &str) -> bool {
    all_digits(s) && s.parse::<i64>().is_ok()
}

/// An ISO 8601 date or date-time as IAM's date operators read it, or epoch seconds:
/// `YYYY[-MM[-DD]][Thh[:mm[:ss[.fff]]][Z|±hh[:mm]]]`.
pub(crate) fn is_date(s: &str) -> bool {
    if is_epoch_seconds(s) {
        return true;
    }
    match s.split_once(['T', 't']) {
        Some((date, time)) => is_calendar_date(date) && is_time_of_day(time),
        None => is_calendar_date(s),
    }
}

fn is_calendar_date(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(year), month, day, None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(year) = fixed_number(year, 4) else {
        return false;
    };
    let Some(month) = month else {
        return true;
    };
    let Some(month) = fixed_number(month, 2).filter(|m| (1..=12).contains(m)) else {
        return false;
    };
    day.is_none_or(|day| {
        fixed_number(day, 2).is_some_and(|d| d >= 1 && d <= days_in_month(year, month))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_time_of_day(s: &str) -> bool {
    let (clock, zone) = match s.find(['Z', 'z', '+', '-']) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    is_clock(clock) && is_zone(zone)
}

/// `hh[:mm[:ss[.fraction]]]`.
fn is_clock(s: &str) -> bool {
    let mut parts = s.split(':');
    let (Some(hours), minutes, seconds, None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let hours_ok = fixed_number(hours, 2).is_some_and(|h| h <= 23);
    let minutes_ok = minutes.is_none_or(|m| fixed_number(m, 2).is_some_and(|m| m <= 59));
    let seconds_ok = seconds.is_none_or(|sec| {
        let (whole, fraction) = match sec.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (sec, None),
        };
        fixed_number(whole, 2).is_some_and(|s| s <= 59)
            && fraction.is_none_or(|f| f.len() <= 9 && all_digits(f))
    });
    hours_ok && minutes_ok && seconds_ok
}

/// Empty (local time), `Z`, or `±hh`, `±hhmm`, `±hh:mm`.
fn is_zone(s: &str) -> bool {
    if s.is_empty() || s == "Z" || s == "z" {
        return true;
    }
    let Some(offset) = s.strip_prefix(['+', '-']) else {
        return false;
    };
    let (hours, minutes) = match offset.split_once(':') {
        Some((h, m)) => (h, Some(m)),
        None => match offset.split_at_checked(2) {
            Some((h, m)) if offset.len() == 4 => (h, Some(m)),
            _ => (offset, None),
        },
    };
    fixed_number(hours, 2).is_some_and(|h| h <= 23)
        && minutes.is_none_or(|m| fixed_number(m, 2).is_some_and(|m| m <= 59))
}

/// Standard base64 with padding, as BinaryEquals values are written.
pub(crate) fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let padding = s.len() - body.len();
    s.len().is_multiple_of(4)
        && padding <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// An IPv4 or IPv6 address, optionally with a `/prefix` no longer than the address.
pub(crate) fn is_ip_or_cidr(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (s, None),
    };
    let max_prefix = if addr.parse::<Ipv4Addr>().is_ok() {
        32
    } else if addr.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return false;
    };
    prefix.is_none_or(|p| {
        p.len() <= 3 && all_digits(p) && p.parse::<u32>().is_ok_and(|p| p <= max_prefix)
    })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Exactly `len` ASCII digits, as a number.
fn fixed_number(s: &str, len: usize) -> Option<u32> {
    (s.len() == len && all_digits(s))
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors() {
        for ok in ["kms", "execute-api", "aws-marketplace", "a.b"] {
            assert!(is_vendor(ok), "{ok}");
        }
        for bad in ["", "*", "km s", "kms*", "k:s"] {
            assert!(!is_vendor(bad), "{bad}");
        }
    }

    #[test]
    fn decimals() {
        for ok in ["0", "10", "-2", "3.25", "-0.5"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in [
            "", "-", "1.", ".5", "1e3", "NaN", "inf", "1,000", "+1", " 1",
        ] {
            assert!(!is_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn dates() {
        for ok in [
            "2024",
            "1700000000",
            "2024-02",
            "2024-02-29",
            "2024-01-31T12:00:00Z",
            "2024-01-31T12:00Z",
            "2024-01-31T12",
            "2024-01-31T12:00:00.123456789Z",
            "2024-01-31T12:00:00+05:30",
            "2024-01-31T12:00:00-0800",
            "2024-01-31t12:00:00z",
            "2024-01-31T12:00:00",
        ] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "",
            "yesterday",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-5",
            "24-01-01",
            "2024-01-31T24:00:00Z",
            "2024-01-31T12:60Z",
            "2024-01-31T12:00:00+25:00",
            "2024-01-31T12:00:00Q",
            "2024-01-31T",
            "-1",
            "99999999999999999999",
            "2024-01-31T12:00:00.Z",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn base64() {
        for ok in ["", "QQ==", "QUI=", "QUJD", "QmluYXJ5VmFsdWU="] {
            assert!(is_base64(ok), "{ok}");
        }
        for bad in ["Q", "QQ=", "Q===", "QU I=", "QQ==QQ==", "QU-_"] {
            assert!(!is_base64(bad), "{bad}");
        }
    }

    #[test]
    fn ip_addresses_and_cidrs() {
        for ok in [
            "10.0.0.1",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "2001:db8::/32",
            "::1",
            "203.0.113.0/24",
        ] {
            assert!(is_ip_or_cidr(ok), "{ok}");
        }
        for bad in [
            "",
            "10.0.0",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "2001:db8::/129",
            "host",
            "10.0.0.0/8/8",
        ] {
            assert!(!is_ip_or_cidr(bad), "{bad}");
        }
    }
}
