//! Timestamps and durations as nanoseconds: parsing (`timestamp("RFC3339")`,
//! `duration("1h30m")`), formatting and calendar getters. No clock: `now` is
//! always passed in by the caller.

use wiremap_wire::json::{civil_from_days, days_from_civil, format_rfc3339, parse_rfc3339};

pub const NANOS: i128 = 1_000_000_000;
/// 0001-01-01T00:00:00Z, the earliest CEL timestamp, in seconds.
pub const MIN_TS_SECS: i128 = -62_135_596_800;
/// 9999-12-31T23:59:59Z, the latest CEL timestamp (plus fraction), in seconds.
pub const MAX_TS_SECS: i128 = 253_402_300_799;
/// Durations are bounded like cel-go's: an i64 of nanoseconds (about ±292 years).
pub const MAX_DUR_NANOS: i128 = i64::MAX as i128;

pub fn ts_in_range(ns: i128) -> bool {
    (MIN_TS_SECS * NANOS..(MAX_TS_SECS + 1) * NANOS).contains(&ns)
}

pub fn dur_in_range(ns: i128) -> bool {
    (-MAX_DUR_NANOS..=MAX_DUR_NANOS).contains(&ns)
}

pub fn parse_timestamp(s: &str) -> Option<i128> {
    let (secs, nanos) = parse_rfc3339(s)?;
    let ns = i128::from(secs) * NANOS + i128::from(nanos);
    ts_in_range(ns).then_some(ns)
}

pub fn format_timestamp(ns: i128) -> String {
    let secs = ns.div_euclid(NANOS);
    let nanos = ns.rem_euclid(NANOS) as u32;
    format_rfc3339(secs.clamp(i64::MIN as i128, i64::MAX as i128) as i64, nanos)
}

/// Go-style duration: `-1.5h`, `1h30m`, `100ms`, `0`; units h m s ms us µs ns.
pub fn parse_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." {
            return None;
        }
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let scale: i128 = match unit {
            "h" => 3600 * NANOS,
            "m" => 60 * NANOS,
            "s" => NANOS,
            "ms" => 1_000_000,
            "us" | "µs" | "μs" => 1_000,
            "ns" => 1,
            _ => return None,
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if int.len() > 20 || frac.contains('.') {
            return None;
        }
        let iv: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut part = iv.checked_mul(scale)?;
        let mut div = 1i128;
        for c in frac.bytes().take(18) {
            div *= 10;
            part = part.checked_add(i128::from(c - b'0') * scale / div)?;
        }
        total = total.checked_add(part)?;
        if total > MAX_DUR_NANOS * 2 {
            return None;
        }
    }
    let v = if neg { -total } else { total };
    dur_in_range(v).then_some(v)
}

/// CEL's duration text: seconds with the fraction needed (`5400s`, `1.5s`).
pub fn format_duration(ns: i128) -> String {
    let neg = ns < 0;
    let a = ns.unsigned_abs();
    let secs = a / NANOS as u128;
    let frac = (a % NANOS as u128) as u32;
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&secs.to_string());
    if frac > 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('s');
    s
}

/// A timezone argument: "UTC", "Z" or a fixed offset "+05:30" / "-08:00" /
/// "02:00". Named IANA zones are not carried (no tz database in the browser).
pub fn parse_tz(tz: &str) -> Option<i128> {
    if tz.eq_ignore_ascii_case("utc") || tz == "Z" {
        return Some(0);
    }
    let (sign, rest) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => (1, tz),
    };
    let (h, m) = rest.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: i128 = h.parse().ok()?;
    let m: i128 = m.parse().ok()?;
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60) * NANOS)
}

/// Calendar fields of a timestamp in a fixed offset.
pub struct Civil {
    pub year: i64,
    /// 0-based, as CEL's getMonth.
    pub month0: i64,
    /// 1-based day of month.
    pub day: i64,
    /// 0 = Sunday.
    pub weekday: i64,
    /// 0-based day of year.
    pub yday: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub millis: i64,
}

pub fn civil(ns: i128, offset_ns: i128) -> Civil {
    let t = ns + offset_ns;
    let secs = t.div_euclid(NANOS) as i64;
    let sub = t.rem_euclid(NANOS) as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    Civil {
        year: y,
        month0: i64::from(m) - 1,
        day: i64::from(d),
        weekday: (days + 4).rem_euclid(7),
        yday: days - days_from_civil(y, 1, 1),
        hour: sod / 3600,
        minute: sod / 60 % 60,
        second: sod % 60,
        millis: sub / 1_000_000,
    }
}
