//! Checks for `schedule "CRON" tz "Area/City"`.
//!
//! A cron expression is five fields — minute, hour, day of month, month, day
//! of week — each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a
//! comma list of those; months and week days may be spelled (`jan`, `mon`).
//! The executor's scheduler interprets it; the compiler only rejects what
//! cannot be one.

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// `Ok` or a sentence saying what is wrong.
pub fn check_cron(expr: &str) -> Result<(), String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "a cron expression has 5 fields (minute hour day month weekday), this one has {}",
            fields.len()
        ));
    }
    for (i, (field, (what, lo, hi))) in fields.iter().zip(FIELDS).enumerate() {
        for part in field.split(',') {
            check_part(part, i, lo, hi).map_err(|e| format!("{what} field `{field}`: {e}"))?;
        }
    }
    Ok(())
}

fn check_part(part: &str, field: usize, lo: u32, hi: u32) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (part, None),
    };
    if let Some(s) = step {
        match s.parse::<u32>() {
            Ok(n) if n >= 1 && n <= hi.max(1) => {}
            _ => return Err(format!("step `{s}` must be a number from 1 to {hi}")),
        }
    }
    if range == "*" {
        return Ok(());
    }
    let (a, b) = match range.split_once('-') {
        Some((a, b)) => (value(a, field, lo, hi)?, Some(value(b, field, lo, hi)?)),
        None => (value(range, field, lo, hi)?, None),
    };
    if let Some(b) = b {
        if b < a {
            return Err(format!("range `{range}` runs backwards"));
        }
    }
    Ok(())
}

fn value(text: &str, field: usize, lo: u32, hi: u32) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    let named = match field {
        3 => MONTHS
            .iter()
            .position(|m| *m == lower)
            .map(|i| i as u32 + 1),
        4 => DAYS.iter().position(|d| *d == lower).map(|i| i as u32),
        _ => None,
    };
    if let Some(n) = named {
        return Ok(n);
    }
    match text.parse::<u32>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is outside {lo}-{hi}")),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}

/// A name of the IANA time zone database (`UTC`, `Europe/Paris`,
/// `America/Argentina/Buenos_Aires`), the one the daemon schedules with.
pub fn check_timezone(tz: &str) -> Result<(), String> {
    match tz.parse::<chrono_tz::Tz>() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!("`{tz}` is not in the IANA time zone database")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crons() {
        assert!(check_cron("0 */4 * * *").is_ok());
        assert!(check_cron("30 2 * * mon-fri").is_ok());
        assert!(check_cron("0 0 1,15 jan,jul *").is_ok());
        assert!(check_cron("0 */4 * *").unwrap_err().contains("5 fields"));
        assert!(check_cron("61 * * * *").unwrap_err().contains("outside"));
        assert!(check_cron("* * * * 9-2").is_err());
        assert!(check_cron("*/0 * * * *").is_err());
    }

    #[test]
    fn zones() {
        assert!(check_timezone("Europe/Paris").is_ok());
        assert!(check_timezone("America/Argentina/Buenos_Aires").is_ok());
        assert!(check_timezone("UTC").is_ok());
        assert!(check_timezone("Paris").is_err());
        assert!(check_timezone("europe/paris").is_err());
        assert!(check_timezone("Mars/Olympus_Mons")
            .unwrap_err()
            .contains("IANA"));
        assert!(check_timezone("Asia/Kolkata").is_ok());
    }
}
