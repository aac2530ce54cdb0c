//! Human units in plan files: durations (`90s`, `5m`, `1h30m`, `250ms`) and sizes (`16MiB`, `512KB`, `0`).

use std::time::Duration;

/// Parse a duration such as `30m`, `1h30m`, `2s`, `250ms`. A bare `0` is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    if t.is_empty() {
        return Err("an empty duration; expected e.g. `30s`, `5m`, `1h30m`".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return Err(format!(
                "`{s}` is not a duration; expected e.g. `30s`, `5m`, `1h30m`"
            ));
        }
        let num: f64 = rest[..num_end]
            .parse()
            .map_err(|_| format!("`{s}` is not a duration; expected e.g. `30s`, `5m`, `1h30m`"))?;
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
                return Err(format!(
                    "`{s}` needs a unit (ms, s, m, h, d), e.g. `{num}s`"
                ));
            }
            other => {
                return Err(format!(
                    "unknown duration unit `{other}` in `{s}`; use ms, s, m, h or d"
                ));
            }
        };
        total += Duration::from_secs_f64(secs);
    }
    Ok(total)
}

/// Parse a size such as `16MiB`, `512 KB`, `1GiB`, `0`, `1024` (bytes).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    if num_end == 0 {
        return Err(format!(
            "`{s}` is not a size; expected e.g. `16MiB`, `512KB`, `0`"
        ));
    }
    let num: f64 = t[..num_end]
        .parse()
        .map_err(|_| format!("`{s}` is not a size; expected e.g. `16MiB`"))?;
    let mult: f64 = match t[num_end..].trim() {
        "" | "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{s}`; use B, KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    Ok((num * mult).round() as u64)
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
