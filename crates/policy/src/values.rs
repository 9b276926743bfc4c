//! Typed readings of condition values: numbers, dates, IP addresses and CIDR blocks.
//!
//! The parser (`syntax`) already refused policy values of the wrong form; these functions read
//! both policy and request values into comparable form, and return `None` for request values
//! that cannot be read, which the operators treat as "does not match".

use std::net::IpAddr;

/// A decimal number. `f64` is exact for every integer IAM compares in practice (up to 2^53).
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    crate::syntax::is_decimal(s)
        .then(|| s.parse().ok())
        .flatten()
}

/// A point in time as (seconds since the epoch, nanoseconds). ISO 8601 without a zone is read
/// as UTC; missing month, day or time parts are their first value.
pub(crate) fn parse_date(s: &str) -> Option<(i64, u32)> {
    if !crate::syntax::is_date(s) {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && s.len() != 4 {
        return Some((s.parse().ok()?, 0));
    }
    let (date, time) = s.split_once(['T', 't']).unwrap_or((s, ""));
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let year = parts.next().flatten()?;
    let month = parts.next().flatten().unwrap_or(1);
    let day = parts.next().flatten().unwrap_or(1);
    let (clock, offset) = split_zone(time)?;
    let mut hms = clock.split(':');
    let hours: i64 = hms
        .next()
        .filter(|h| !h.is_empty())
        .map_or(Some(0), |h| h.parse().ok())?;
    let minutes: i64 = hms.next().map_or(Some(0), |m| m.parse().ok())?;
    let (seconds, nanos) = match hms.next() {
        None => (0, 0),
        Some(sec) => match sec.split_once('.') {
            None => (sec.parse().ok()?, 0),
            Some((whole, frac)) => {
                // At most nine digits (the syntax check says so): scale to nanoseconds.
                let digits = u32::try_from(frac.len()).ok()?;
                let scale = 10u32.checked_pow(9u32.checked_sub(digits)?)?;
                (
                    whole.parse().ok()?,
                    frac.parse::<u32>().ok()?.checked_mul(scale)?,
                )
            }
        },
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hours * 3_600 + minutes * 60 + seconds - offset;
    Some((secs, nanos))
}

/// Splits `hh:mm:ss±hh:mm` into the clock and the zone offset in seconds east of UTC.
fn split_zone(time: &str) -> Option<(&str, i64)> {
    let Some(i) = time.find(['Z', 'z', '+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(i);
    let sign = match zone.as_bytes().first() {
        Some(b'-') => -1,
        Some(b'+') => 1,
        _ => return Some((clock, 0)),
    };
    // `±hh`, `±hhmm` or `±hh:mm`: the digits in order, the colon skipped.
    let mut digits = zone
        .get(1..)?
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| i64::from(b - b'0'));
    let hours = digits.next()? * 10 + digits.next()?;
    let minutes = match digits.next() {
        Some(tens) => tens * 10 + digits.next()?,
        None => 0,
    };
    Some((clock, sign * (hours * 3_600 + minutes * 60)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An IP address; a request value may carry a `/32` or `/128` suffix, which is ignored.
pub(crate) fn parse_ip(s: &str) -> Option<IpAddr> {
    s.split('/').next()?.parse().ok()
}

/// A CIDR block; a bare address is a block of one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u32,
}

pub(crate) fn parse_cidr(s: &str) -> Option<Cidr> {
    if !crate::syntax::is_ip_or_cidr(s) {
        return None;
    }
    let (addr, prefix) = s.split_once('/').unwrap_or((s, ""));
    let network: IpAddr = addr.parse().ok()?;
    let max = if network.is_ipv4() { 32 } else { 128 };
    let prefix = if prefix.is_empty() {
        max
    } else {
        prefix.parse().ok()?
    };
    Some(Cidr { network, prefix })
}

impl Cidr {
    /// Whether `addr` lies in the block; an IPv4 address is never in an IPv6 block or back.
    pub(crate) fn contains(self, addr: IpAddr) -> bool {
        let (net, addr, bits) = match (self.network, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                (u128::from(u32::from(n)), u128::from(u32::from(a)), 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
            _ => return false,
        };
        let host_bits = bits - self.prefix;
        let mask = if host_bits >= 128 {
            0
        } else {
            u128::MAX << host_bits
        };
        (net & mask) == (addr & mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_form_land_on_the_same_instant() {
        let t = parse_date("2024-01-31T12:00:00Z").unwrap();
        assert_eq!(t, (1_706_702_400, 0));
        assert_eq!(parse_date("1706702400"), Some(t));
        assert_eq!(parse_date("2024-01-31T13:00:00+01:00"), Some(t));
        assert_eq!(parse_date("2024-01-31T04:00:00-0800"), Some(t));
        assert_eq!(parse_date("2024-01-31"), Some((1_706_659_200, 0)));
        assert_eq!(parse_date("1970"), Some((0, 0)));
        assert_eq!(
            parse_date("2024-01-31T12:00:00.5Z"),
            Some((1_706_702_400, 500_000_000))
        );
        assert_eq!(parse_date("not a date"), None);
    }

    #[test]
    fn cidr_blocks_contain_their_addresses_only() {
        let block = parse_cidr("203.0.113.0/24").unwrap();
        assert!(block.contains(parse_ip("203.0.113.7").unwrap()));
        assert!(!block.contains(parse_ip("203.0.114.7").unwrap()));
        assert!(
            parse_cidr("0.0.0.0/0")
                .unwrap()
                .contains(parse_ip("8.8.8.8").unwrap())
        );
        let v6 = parse_cidr("2001:db8::/32").unwrap();
        assert!(v6.contains(parse_ip("2001:db8:1::1").unwrap()));
        assert!(!v6.contains(parse_ip("203.0.113.7").unwrap()));
        assert!(
            parse_cidr("10.0.0.1")
                .unwrap()
                .contains(parse_ip("10.0.0.1/32").unwrap())
        );
    }
}
