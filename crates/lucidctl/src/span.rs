//! Parsing spans of time written like `90m`, `24h` or `1d12h`.

use chrono::TimeDelta;

/// Parses a span: one or more `<number><unit>` parts, units `s`, `m`, `h` and `d`.
pub fn parse(text: &str) -> Result<TimeDelta, String> {
    let invalid = || format!("invalid span {text:?}; write for example 90m, 24h or 1d12h");
    let mut total = TimeDelta::zero();
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }

    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let amount: i64 = rest[..digits].parse().map_err(|_| invalid())?;
        let unit = rest[digits..].chars().next().ok_or_else(invalid)?;
        let part = match unit {
            's' => TimeDelta::try_seconds(amount),
            'm' => TimeDelta::try_minutes(amount),
            'h' => TimeDelta::try_hours(amount),
            'd' => TimeDelta::try_days(amount),
            _ => None,
        };
        total = part
            .and_then(|part| total.checked_add(&part))
            .ok_or_else(invalid)?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_single_and_combined_units() {
        assert_eq!(parse("24h"), Ok(TimeDelta::hours(24)));
        assert_eq!(parse("90m"), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse("1d12h"), Ok(TimeDelta::hours(36)));
        assert_eq!(parse("45s"), Ok(TimeDelta::seconds(45)));
        assert_eq!(parse(" 6d "), Ok(TimeDelta::days(6)));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for text in ["", "24", "h", "1.5h", "24x", "-3h", "1d 2h"] {
            assert!(parse(text).is_err(), "{text:?} parsed");
        }
        assert_eq!(
            parse("24").expect_err("no unit"),
            "invalid span \"24\"; write for example 90m, 24h or 1d12h"
        );
    }
}
