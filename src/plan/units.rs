//! Human units in plan files: durations (`90s`, `5m`, `1h30m`, `250ms`) and sizes (`16MiB`, `512KB`, `0`).
//!
//! Both have a ceiling ([`MAX_DURATION`], [`MAX_BYTES`]): a value past it is refused here, with
//! a message, rather than overflowing later where it meets the clock (`Instant + Duration`,
//! chrono) and panicking in the middle of a failover. No plan needs more: a probe, a timeout or
//! a backup age beyond 30 days is a typo.

use std::time::Duration;

/// The longest duration a plan, a condition or the command line may give: 30 days.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// The largest size a plan or a condition may give: 1 TiB.
pub const MAX_BYTES: u64 = 1 << 40;

/// Why a duration or size was refused: not one at all, or one past its ceiling.
#[derive(Debug, Clone, PartialEq)]
pub enum UnitError {
    Syntax(String),
    Range(String),
}

impl From<UnitError> for String {
    fn from(e: UnitError) -> String {
        match e {
            UnitError::Syntax(m) | UnitError::Range(m) => m,
        }
    }
}

/// Parse a duration such as `30m`, `1h30m`, `2s`, `250ms`. A bare `0` is zero. At most
/// [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    duration(s).map_err(String::from)
}

/// [`parse_duration`], telling a value past the ceiling from one that is not a duration.
pub fn duration(s: &str) -> Result<Duration, UnitError> {
    use UnitError::Syntax;
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err(Syntax(
            "an empty duration; expected e.g. `30s`, `5m`, `1h30m`".into(),
        ));
    }
    let too_long = || {
        UnitError::Range(format!(
            "`{s}` is too long; durations go up to 30 days (`30d`)"
        ))
    };
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return Err(Syntax(format!(
                "`{s}` is not a duration; expected e.g. `30s`, `5m`, `1h30m`"
            )));
        }
        let num: f64 = rest[..num_end].parse().map_err(|_| {
            Syntax(format!(
                "`{s}` is not a duration; expected e.g. `30s`, `5m`, `1h30m`"
            ))
        })?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest[..unit_end].trim();
        rest = &rest[unit_end..];
        let secs = match unit {
            "ms" => num / 1000.0,
            "s" | "sec" => num,
            "m" | "min" => num * 60.0,
            "h" => num * 3600.0,
            "d" => num * 86400.0,
            "" => {
                return Err(Syntax(format!(
                    "`{s}` needs a unit (ms, s, m, h, d), e.g. `{num}s`"
                )));
            }
            other => {
                return Err(Syntax(format!(
                    "unknown duration unit `{other}` in `{s}`; use ms, s, m, h or d"
                )));
            }
        };
        // `from_secs_f64` and `+=` panic past `Duration::MAX`: compare while still a float.
        if !secs.is_finite() || secs > MAX_DURATION.as_secs_f64() {
            return Err(too_long());
        }
        total = total
            .checked_add(Duration::from_secs_f64(secs))
            .filter(|t| *t <= MAX_DURATION)
            .ok_or_else(too_long)?;
    }
    Ok(total)
}

/// Parse a size such as `16MiB`, `512 KB`, `1GiB`, `0`, `1024` (bytes). At most [`MAX_BYTES`].
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    bytes(s).map_err(String::from)
}

/// [`parse_bytes`], telling a value past the ceiling from one that is not a size.
pub fn bytes(s: &str) -> Result<u64, UnitError> {
    use UnitError::Syntax;
    let t = s.trim();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    if num_end == 0 {
        return Err(Syntax(format!(
            "`{s}` is not a size; expected e.g. `16MiB`, `512KB`, `0`"
        )));
    }
    let num: f64 = t[..num_end]
        .parse()
        .map_err(|_| Syntax(format!("`{s}` is not a size; expected e.g. `16MiB`")))?;
    let mult: f64 = match t[num_end..].trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(Syntax(format!(
                "unknown size unit `{other}` in `{s}`; use B, KB, MB, GB, KiB, MiB or GiB"
            )));
        }
    };
    let n = (num * mult).round();
    if !n.is_finite() || n > MAX_BYTES as f64 {
        return Err(UnitError::Range(format!(
            "`{s}` is too large; sizes go up to 1 TiB (`1024GiB`)"
        )));
    }
    Ok(n as u64)
}

/// A condition's literal that is written as a duration or a size but is past its ceiling
/// (`99999999999999999999d`), so `check` refuses it instead of every evaluation failing. A
/// literal that is neither (a plain number, which may be compared with a number, or a word) is
/// not judged here.
pub fn literal_out_of_range(lit: &str) -> Option<String> {
    if lit.trim().chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    match (duration(lit), bytes(lit)) {
        (Ok(_), _) | (_, Ok(_)) => None,
        (Err(UnitError::Range(m)), _) | (_, Err(UnitError::Range(m))) => Some(m),
        _ => None,
    }
}

/// Format a duration compactly for the screen: `42s`, `7m05s`, `1h02m`.
pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        if d.as_millis() < 10_000 && d.subsec_millis() != 0 && s < 10 {
            return format!("{:.1}s", d.as_secs_f64());
        }
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86400, (s % 86400) / 3600)
    }
}

/// Format a target like `30m`, `5m`, `2s` (plan-file style, shortest form).
pub fn fmt_target(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        return format!("{}ms", d.as_millis());
    }
    if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Format bytes with binary units: `0 B`, `12 KiB`, `3.4 MiB`.
pub fn fmt_bytes(b: u64) -> String {
    const K: f64 = 1024.0;
    let f = b as f64;
    if f < K {
        format!("{b} B")
    } else if f < K * K {
        format!("{:.0} KiB", f / K)
    } else if f < K * K * K {
        format!("{:.1} MiB", f / K / K)
    } else {
        format!("{:.1} GiB", f / K / K / K)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("30").unwrap_err().contains("needs a unit"));
        assert!(
            parse_duration("5y")
                .unwrap_err()
                .contains("unknown duration unit")
        );
    }

    #[test]
    fn durations_past_the_ceiling_are_refused_not_panicking() {
        for s in [
            "99999999999999999999d",
            "18446744073709551615s",
            "2562047788015215h",
            "31d",
            "30d1ms",
            "20d20d",
        ] {
            assert!(
                matches!(duration(s), Err(UnitError::Range(_))),
                "{s}: {:?}",
                duration(s)
            );
        }
        assert_eq!(parse_duration("30d").unwrap(), MAX_DURATION);
        assert_eq!(
            literal_out_of_range("99999999999999999999d").as_deref(),
            Some("`99999999999999999999d` is too long; durations go up to 30 days (`30d`)")
        );
        assert!(literal_out_of_range("16MiB").is_none());
        assert!(literal_out_of_range("DEPLOYED").is_none());
        assert!(literal_out_of_range("2048GiB").is_some());
        // A plain number may be compared with a number (a serial, a timestamp): not a size.
        assert!(literal_out_of_range("99999999999999999999").is_none());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("16MiB").unwrap(), 16 * 1024 * 1024);
        assert_eq!(parse_bytes("512 KB").unwrap(), 512_000);
        assert_eq!(parse_bytes("0").unwrap(), 0);
        assert!(parse_bytes("3 parsecs").is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_duration(Duration::from_secs(462)), "7m42s");
        assert_eq!(fmt_bytes(16 * 1024 * 1024), "16.0 MiB");
        assert_eq!(fmt_target(Duration::from_secs(1800)), "30m");
    }
}
