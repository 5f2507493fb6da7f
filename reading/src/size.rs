//! Human sizes: `"512MiB"`, `"1.5 GiB"`, `"2GB"`, `"1048576"`.
//!
//! Decimal units are powers of 1000 (`KB`, `MB`, `GB`, `TB`, `PB`, `EB`, and
//! `K`, `M`, ... alone), binary units powers of 1024 (`KiB`, `MiB`, `GiB`,
//! `TiB`, `PiB`, `EiB`, and `Ki`, `Mi`, ...); case is ignored. Computed in
//! 128 bits: a size of 16 EiB or more does not fit in a `u64` and is refused,
//! never saturated.

/// Units, lowercase, with their factors.
const UNITS: [(&str, u128); 20] = [
    ("b", 1),
    ("k", 1_000),
    ("kb", 1_000),
    ("ki", 1 << 10),
    ("kib", 1 << 10),
    ("m", 1_000_000),
    ("mb", 1_000_000),
    ("mi", 1 << 20),
    ("mib", 1 << 20),
    ("g", 1_000_000_000),
    ("gb", 1_000_000_000),
    ("gi", 1 << 30),
    ("gib", 1 << 30),
    ("tb", 1_000_000_000_000),
    ("tib", 1 << 40),
    ("pb", 1_000_000_000_000_000),
    ("pib", 1 << 50),
    ("eb", 1_000_000_000_000_000_000),
    ("eib", 1 << 60),
    ("t", 1_000_000_000_000),
];

const EXPECTED_UNITS: &str = "B, KB, KiB, MB, MiB, GB, GiB, TB, TiB, PB, PiB, EB or EiB";

/// Bytes in `text`, or why it is no size (a sentence for the error message).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    let unit = unit.trim();
    if number.is_empty() {
        return Err("a size starts with a number".to_owned());
    }
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let digits_only = |part: &str| part.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty()
        || !digits_only(whole)
        || fraction.is_some_and(|f| f.is_empty() || !digits_only(f))
    {
        return Err(format!("{number:?} is not a number"));
    }
    let factor = if unit.is_empty() {
        1
    } else {
        let lower = unit.to_ascii_lowercase();
        UNITS
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|&(_, factor)| factor)
            .ok_or_else(|| format!("unknown unit {unit:?}; expected {EXPECTED_UNITS}"))?
    };
    if factor == 1 && fraction.is_some() {
        return Err(format!(
            "{number:?} is a fraction of a byte; write whole bytes, or a unit after the \
             fraction (\"{number}GiB\")"
        ));
    }
    let too_large = || "it does not fit in 64 bits: sizes must be below 16 EiB".to_owned();
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let mut bytes = whole.checked_mul(factor).ok_or_else(too_large)?;
    if let Some(fraction) = fraction {
        // Up to 19 digits keep 10^digits inside u128 with any factor here.
        let digits = &fraction[..fraction.len().min(19)];
        let scale = 10u128.pow(digits.len() as u32);
        let numerator: u128 = digits.parse().map_err(|_| too_large())?;
        bytes = bytes
            .checked_add(numerator * factor / scale)
            .ok_or_else(too_large)?;
    }
    u64::try_from(bytes).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("1.5 gib"), Ok(3 << 29));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("2 G"), Ok(2_000_000_000));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("0.5 KiB"), Ok(512));
        assert_eq!(parse_size("15.999 EiB"), Ok(18_445_591_152_204_944_769));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn refusals_say_why() {
        for (input, reason) in [
            ("16 EiB", "below 16 EiB"),
            ("16EiB", "below 16 EiB"),
            ("18446744073709551616", "below 16 EiB"),
            ("99999999999999999999 B", "below 16 EiB"),
            (
                "999999999999999999999999999999999999999999 B",
                "below 16 EiB",
            ),
            ("1.5", "fraction of a byte"),
            ("1.5 B", "fraction of a byte"),
            ("12 parsecs", "unknown unit \"parsecs\""),
            ("5 GiBs", "unknown unit"),
            ("MiB", "starts with a number"),
            ("-5MB", "starts with a number"),
            ("1.2.3 GB", "is not a number"),
            (".5 GiB", "is not a number"),
            ("", "starts with a number"),
        ] {
            let error = parse_size(input).unwrap_err();
            assert!(error.contains(reason), "{input:?}: {error}");
        }
    }
}
