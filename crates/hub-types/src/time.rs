//! Dates (valid time), timestamps (record time) and quarters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Quoted, Result, ValidationError};

/// Earliest year any date in the hub may carry.
const MIN_YEAR: i32 = 1949;
/// Latest year any date in the hub may carry.
const MAX_YEAR: i32 = 2200;

/// A calendar date (`YYYY-MM-DD`), stored as days since 1970-01-01 so it orders and
/// compares cheaply. Serialized as its text, or as the days in binary formats (`compact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// Builds a date from its parts, rejecting impossible ones (e.g. 2026-02-29).
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Result<Self> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(ValidationError::reason(format!(
                "year {year} is outside {MIN_YEAR}..={MAX_YEAR}"
            )));
        }
        if !(1..=12).contains(&month) {
            return Err(ValidationError::reason(format!(
                "month {month} is not in 1..=12"
            )));
        }
        let last = days_in_month(year, month);
        if day == 0 || day > last {
            return Err(ValidationError::reason(format!(
                "day {day} is not in 1..={last} for {year}-{month:02}"
            )));
        }
        Ok(Self(days_from_civil(year, month, day)))
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// Returns the date `days` since 1970-01-01.
    pub fn from_days_since_epoch(days: i32) -> Self {
        Self(days)
    }

    /// Returns the date `days` since 1970-01-01, refusing one outside the hub's years.
    pub fn from_days_checked(days: i32) -> Result<Self> {
        let lowest = days_from_civil(MIN_YEAR, 1, 1);
        let highest = days_from_civil(MAX_YEAR, 12, 31);
        if !(lowest..=highest).contains(&days) {
            return Err(ValidationError::reason(format!(
                "day {days} since 1970-01-01 is outside the years {MIN_YEAR}..={MAX_YEAR}"
            )));
        }
        Ok(Self(days))
    }

    /// Returns the year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// Returns the quarter this date falls in.
    pub fn period(self) -> Period {
        let (year, month, _) = self.ymd();
        Period {
            year: year as u16,
            quarter: ((month - 1) / 3 + 1) as u8,
        }
    }
}

impl FromStr for Date {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        let bad =
            || ValidationError::reason(format!("expected a date YYYY-MM-DD, got {}", Quoted(s)));
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        Self::from_ymd(num(0..4)? as i32, num(5..7)?, num(8..10)?)
    }
}

impl TryFrom<String> for Date {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's civil-date algorithms; exact for the proleptic Gregorian calendar.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A UTC instant in microseconds since the Unix epoch: when a node accepted an event.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Microseconds since the Unix epoch.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Returns the UTC date of this instant.
    pub fn date(self) -> Date {
        Date(self.0.div_euclid(86_400_000_000) as i32)
    }

    /// Builds a timestamp from seconds and nanoseconds, as protobuf carries it.
    pub fn from_parts(seconds: i64, nanos: i32) -> Result<Self> {
        if !(0..1_000_000_000).contains(&nanos) {
            return Err(ValidationError::reason(format!(
                "nanos {nanos} is not in 0..1000000000"
            )));
        }
        seconds
            .checked_mul(1_000_000)
            .and_then(|us| us.checked_add(i64::from(nanos / 1000)))
            .map(Self)
            .ok_or_else(|| ValidationError::reason(format!("seconds {seconds} is out of range")))
    }

    /// Splits into seconds and nanoseconds, as protobuf carries it.
    pub fn to_parts(self) -> (i64, i32) {
        (
            self.0.div_euclid(1_000_000),
            (self.0.rem_euclid(1_000_000) * 1000) as i32,
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros_of_day = self.0.rem_euclid(86_400_000_000);
        let secs = micros_of_day / 1_000_000;
        write!(
            f,
            "{}T{:02}:{:02}:{:02}.{:06}Z",
            self.date(),
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            micros_of_day % 1_000_000
        )
    }
}

impl FromStr for Timestamp {
    type Err = ValidationError;

    /// Parses `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            ValidationError::reason(format!(
                "expected a UTC time YYYY-MM-DDTHH:MM:SS[.ffffff]Z, got {}",
                Quoted(s)
            ))
        };
        let (date, rest) = match s.split_once('T') {
            Some((d, r)) => (d, Some(r)),
            None => (s, None),
        };
        let date: Date = date.parse()?;
        let mut micros = i64::from(date.0) * 86_400_000_000;
        if let Some(rest) = rest {
            let rest = rest.strip_suffix('Z').ok_or_else(bad)?;
            let (hms, frac) = match rest.split_once('.') {
                Some((h, f)) => (h, Some(f)),
                None => (rest, None),
            };
            let parts: Vec<&str> = hms.split(':').collect();
            if parts.len() != 3 || parts.iter().any(|p| p.len() != 2) {
                return Err(bad());
            }
            let n = |p: &str, max: i64| -> Result<i64> {
                let v: i64 = p.parse().map_err(|_| bad())?;
                if !p.bytes().all(|c| c.is_ascii_digit()) || v > max {
                    return Err(bad());
                }
                Ok(v)
            };
            micros +=
                (n(parts[0], 23)? * 3600 + n(parts[1], 59)? * 60 + n(parts[2], 59)?) * 1_000_000;
            if let Some(frac) = frac {
                if frac.is_empty() || frac.len() > 6 || !frac.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(bad());
                }
                let scale = 10i64.pow(6 - frac.len() as u32);
                micros += frac.parse::<i64>().map_err(|_| bad())? * scale;
            }
        }
        Ok(Self(micros))
    }
}

/// A calendar quarter, written `YYYY-Qn` (in binary formats: year and quarter, `compact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: u16,
    quarter: u8,
}

impl Period {
    /// Builds a quarter, rejecting years outside the hub's range and quarters outside 1..=4.
    pub fn new(year: u16, quarter: u8) -> Result<Self> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&i32::from(year)) {
            return Err(ValidationError::reason(format!(
                "year {year} is outside {MIN_YEAR}..={MAX_YEAR}"
            )));
        }
        if !(1..=4).contains(&quarter) {
            return Err(ValidationError::reason(format!(
                "quarter {quarter} is not in 1..=4"
            )));
        }
        Ok(Self { year, quarter })
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The quarter, 1..=4.
    pub fn quarter(self) -> u8 {
        self.quarter
    }

    /// Quarters since year 0, so that consecutive quarters differ by one.
    pub fn index(self) -> i64 {
        i64::from(self.year) * 4 + i64::from(self.quarter) - 1
    }

    /// Returns the quarter after this one.
    pub fn next(self) -> Self {
        Self::from_index(self.index() + 1)
    }

    /// Inverse of [`Self::index`].
    pub fn from_index(index: i64) -> Self {
        Self {
            year: index.div_euclid(4) as u16,
            quarter: (index.rem_euclid(4) + 1) as u8,
        }
    }

    /// First day of the quarter.
    pub fn first_day(self) -> Date {
        Date(days_from_civil(
            i32::from(self.year),
            u32::from(self.quarter) * 3 - 2,
            1,
        ))
    }
}

impl FromStr for Period {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        let bad =
            || ValidationError::reason(format!("expected a quarter YYYY-Qn, got {}", Quoted(s)));
        let b = s.as_bytes();
        // `get` rather than indexing: a multi-byte character across byte 4 or 6 must be
        // rejected, not panic.
        if b.len() != 7 || s.get(4..6) != Some("-Q") || !s[..4].bytes().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let year: u16 = s[..4].parse().map_err(|_| bad())?;
        let quarter = b[6].wrapping_sub(b'0');
        Self::new(year, quarter)
    }
}

impl TryFrom<String> for Period {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.quarter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dates_parse_and_print() {
        let d: Date = "2024-02-29".parse().unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!("1970-01-01".parse::<Date>().unwrap().days_since_epoch(), 0);
        assert_eq!(d.period().to_string(), "2024-Q1");
    }

    #[test]
    fn impossible_dates_are_rejected() {
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-4-1",
            "20260401",
            "",
            "1900-01-01",
            "2026-01-0a",
            "+026-01-01",
        ] {
            let err = bad.parse::<Date>().unwrap_err();
            assert!(!err.reason.is_empty(), "{bad}");
        }
    }

    #[test]
    fn timestamps_parse_and_print() {
        let t: Timestamp = "2026-03-01T08:30:00.25Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-03-01T08:30:00.250000Z");
        assert_eq!(t.date().to_string(), "2026-03-01");
        let (s, n) = t.to_parts();
        assert_eq!(Timestamp::from_parts(s, n).unwrap(), t);
        assert_eq!("2026-03-01".parse::<Timestamp>().unwrap().date(), t.date());
        for bad in [
            "2026-03-01T25:00:00Z",
            "2026-03-01T08:30:00",
            "2026-03-01T8:30:00Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
        assert!(Timestamp::from_parts(0, -1).is_err());
        assert!(Timestamp::from_parts(i64::MAX, 0).is_err());
    }

    #[test]
    fn periods_parse_order_and_step() {
        let p: Period = "2026-Q4".parse().unwrap();
        assert_eq!(p.next().to_string(), "2027-Q1");
        assert!(p < p.next());
        assert_eq!(p.first_day().to_string(), "2026-10-01");
        for bad in [
            "2026-Q5", "2026-Q0", "2026Q1", "2026-q1", "26-Q1", "2026-Q12",
        ] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn civil_conversion_round_trips(days in -7000i32..84000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
