//! RFC 3339 UTC timestamps without a date-time dependency.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC). Times before 1970 clamp to the epoch.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs();
    let millis = d.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// The current time as [`rfc3339_utc`].
pub fn now_rfc3339() -> String {
    rfc3339_utc(SystemTime::now())
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Turns a `--since` argument into a timestamp prefix that compares
/// lexicographically with record `ts` values.
///
/// Accepts an RFC 3339 UTC time or any prefix of one (`2025-01-02`,
/// `2025-01-02T03:04`, `2025-01-02T03:04:05Z`), a space instead of `T`, or a
/// relative age `N` followed by `s`, `m`, `h`, `d` or `w` (e.g. `90m`, `2d`),
/// meaning that long before `now`. Returns `None` for anything else.
pub fn parse_since(arg: &str, now: SystemTime) -> Option<String> {
    let arg = arg.trim();
    if let Some(unit) = arg.chars().last().filter(|c| "smhdw".contains(*c)) {
        let num = &arg[..arg.len() - 1];
        if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) {
            let n: u64 = num.parse().ok()?;
            let mult = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => 604_800,
            };
            let back = Duration::from_secs(n.checked_mul(mult)?);
            return Some(rfc3339_utc(now.checked_sub(back).unwrap_or(UNIX_EPOCH)));
        }
    }
    let s = arg.replacen(' ', "T", 1);
    let s = s.strip_suffix('Z').unwrap_or(&s).to_string();
    // Shape check against the template; digits where the template has digits.
    let template = b"0000-00-00T00:00:00.000";
    let bytes = s.as_bytes();
    if bytes.len() < 4 || bytes.len() > template.len() {
        return None;
    }
    for (b, t) in bytes.iter().zip(template) {
        let ok = if *t == b'0' {
            b.is_ascii_digit()
        } else {
            b == t
        };
        if !ok {
            return None;
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2000-02-29T12:34:56.789Z (leap day) = 951827696.789
        let t = UNIX_EPOCH + Duration::from_millis(951_827_696_789);
        assert_eq!(rfc3339_utc(t), "2000-02-29T12:34:56.789Z");
        // 2024-12-31T23:59:59Z = 1735689599
        let t = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        assert_eq!(rfc3339_utc(t), "2024-12-31T23:59:59.000Z");
        // 2100-03-01T00:00:00Z = 4107542400 (2100 is not a leap year)
        let t = UNIX_EPOCH + Duration::from_secs(4_107_542_400);
        assert_eq!(rfc3339_utc(t), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn since_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        assert_eq!(
            parse_since("2025-01-02", now).as_deref(),
            Some("2025-01-02")
        );
        assert_eq!(
            parse_since("2025-01-02 03:04:05Z", now).as_deref(),
            Some("2025-01-02T03:04:05")
        );
        assert_eq!(
            parse_since("1h", now).as_deref(),
            Some("2024-12-31T22:59:59.000Z")
        );
        assert_eq!(
            parse_since("2d", now).as_deref(),
            Some("2024-12-29T23:59:59.000Z")
        );
        assert_eq!(parse_since("yesterday", now), None);
        assert_eq!(parse_since("2025-13", now).as_deref(), Some("2025-13"));
        assert_eq!(parse_since("20x5", now), None);
        // Prefixes compare correctly against full timestamps.
        assert!("2025-01-02T00:00:00.000Z" >= "2025-01-02");
        assert!("2025-01-01T23:59:59.999Z" < "2025-01-02");
    }
}
