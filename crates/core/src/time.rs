//! Time, injected: every component asks a [`Clock`], so tests move time instead of sleeping.

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Whole seconds since the epoch (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Seconds since the epoch with the millisecond fraction, as AWS JSON timestamps carry.
    pub fn unix_seconds_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that stands still until told to move; for tests.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(std::sync::atomic::AtomicI64::new(at.0))
    }

    /// Moves the clock forward by `millis`.
    pub fn advance(&self, millis: i64) {
        self.0
            .fetch_add(millis, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// The system clock plus an offset that only moves forward: the dev server's test-only clock
/// control (`--dev-clock-control`) advances it so that rotation periods, deletion windows and
/// expiries can be tested without waiting. Production servers use [`SystemClock`].
#[derive(Debug, Default)]
pub struct OffsetClock(std::sync::atomic::AtomicI64);

impl OffsetClock {
    /// A clock showing the system time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `millis` (negative values are ignored: time never goes back).
    pub fn advance(&self, millis: i64) {
        if millis > 0 {
            self.0
                .fetch_add(millis, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        let offset = self.0.load(std::sync::atomic::Ordering::SeqCst);
        Timestamp(SystemClock.now().0.saturating_add(offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Timestamp(1_000));
        assert_eq!(c.now(), Timestamp(1_000));
        c.advance(2_500);
        assert_eq!(c.now().unix_seconds(), 3);
        assert!((c.now().unix_seconds_f64() - 3.5).abs() < 1e-9);
    }

    #[test]
    fn offset_clock_only_moves_forward() {
        let c = OffsetClock::new();
        let before = SystemClock.now();
        c.advance(86_400_000);
        c.advance(-10_000_000_000);
        let now = c.now();
        assert!(now.0 >= before.0 + 86_400_000);
        assert!(now.0 < before.0 + 2 * 86_400_000);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now().unix_seconds() > 1_704_067_200);
    }
}
