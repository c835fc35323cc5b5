//! Duration literals: `500ms`, `30s`, `10m`, `2h`, `1d`.
//!
//! The grammar accepts any digits-then-letters token so that a wrong unit is
//! reported as a bad duration rather than as a syntax error.

/// Milliseconds of a duration literal, or why it is not one.
pub fn parse_ms(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` has no number"))?;
    let factor: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "" => return Err(format!("`{text}` has no unit")),
        other => return Err(format!("`{other}` is not a duration unit")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// The shortest literal for a number of milliseconds (`90000` → `90s`).
#[allow(clippy::manual_is_multiple_of)] // `is_multiple_of` is newer than the workspace MSRV
pub fn format_ms(ms: u64) -> String {
    Ms(ms).to_string()
}

/// A duration in milliseconds, displayed in the largest whole unit
/// (`90s`, `30m`, `1500ms`): writes into a renderer's buffer without
/// building a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ms(pub u64);

impl std::fmt::Display for Ms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0;
        for (factor, unit) in [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ] {
            if ms >= factor && ms.is_multiple_of(factor) {
                return write!(f, "{}{unit}", ms / factor);
            }
        }
        write!(f, "{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_ms("30s"), Ok(30_000));
        assert_eq!(parse_ms("10m"), Ok(600_000));
        assert_eq!(parse_ms("2h"), Ok(7_200_000));
        assert_eq!(parse_ms("250ms"), Ok(250));
        assert!(parse_ms("3x").unwrap_err().contains("not a duration unit"));
        assert!(parse_ms("99999999999999999999d").is_err());
        assert_eq!(format_ms(90_000), "90s");
        assert_eq!(format_ms(1_800_000), "30m");
        assert_eq!(format_ms(1500), "1500ms");
    }
}
