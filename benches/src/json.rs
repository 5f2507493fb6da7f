//! A real program's allocation pattern: a large JSON document parsed into
//! `serde_json::Value` (maps, vectors, strings of every size) and dropped.

use std::fmt::Write;

/// Records in the document the end-to-end `json` workload parses (about
/// 2.5 MB of JSON).
pub const JSON_RECORDS: usize = 10_000;

/// A deterministic JSON document of `records` contact records: an array of
/// objects with strings, numbers, booleans, a nested object and an array of
/// tags, the shape of a typical API response. The same `records` always
/// gives the same text (a fixed linear congruential generator, no clock, no
/// random seed).
///
/// ```
/// let text = heapguard_benches::json::document(3);
/// let value: serde_json::Value = serde_json::from_str(&text).unwrap();
/// assert_eq!(value["contacts"].as_array().unwrap().len(), 3);
/// assert_eq!(text, heapguard_benches::json::document(3));
/// ```
pub fn document(records: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // Knuth's MMIX LCG constants.
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    const WORDS: [&str; 12] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima",
    ];
    let mut text = String::with_capacity(records * 260 + 64);
    text.push_str("{\"version\":3,\"contacts\":[");
    for index in 0..records {
        if index > 0 {
            text.push(',');
        }
        let word = WORDS[(next() % 12) as usize];
        let tags = 1 + next() % 5;
        let _ = write!(
            text,
            "{{\"id\":{index},\"name\":\"{word} {index}\",\"email\":\"{word}.{index}@example.com\",\
             \"active\":{},\"score\":{}.{:02},\"address\":{{\"street\":\"{} {word} street\",\
             \"city\":\"{}\",\"zip\":\"{:05}\"}},\"tags\":[",
            next() % 2 == 0,
            next() % 1000,
            next() % 100,
            next() % 999 + 1,
            WORDS[(next() % 12) as usize],
            next() % 100_000,
        );
        for tag in 0..tags {
            if tag > 0 {
                text.push(',');
            }
            let _ = write!(
                text,
                "\"{}-{}\"",
                WORDS[(next() % 12) as usize],
                next() % 50
            );
        }
        let _ = write!(
            text,
            "],\"notes\":\"{}\"}}",
            WORDS[(next() % 12) as usize].repeat(1 + (next() % 24) as usize)
        );
    }
    text.push_str("]}");
    text
}

/// Parses `text` into a `serde_json::Value`, walks it and drops it; returns
/// the number of values in the tree, so the parse cannot be optimised away.
///
/// # Errors
/// The parser's error when `text` is not JSON.
pub fn parse_and_drop(text: &str) -> Result<u64, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(std::hint::black_box(text))?;
    Ok(count_values(&value))
}

fn count_values(value: &serde_json::Value) -> u64 {
    1 + match value {
        serde_json::Value::Array(items) => items.iter().map(count_values).sum(),
        serde_json::Value::Object(fields) => fields.values().map(count_values).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_parses_with_all_its_fields() {
        let text = document(200);
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let contacts = value["contacts"].as_array().expect("an array");
        assert_eq!(contacts.len(), 200);
        for (index, contact) in contacts.iter().enumerate() {
            assert_eq!(contact["id"], index as u64);
            let tags = contact["tags"].as_array().expect("tags");
            assert!((1..=5).contains(&tags.len()));
            assert_eq!(contact["address"].as_object().expect("address").len(), 3);
        }
        // The root object, `version` and the array; per record the object,
        // six scalars, the address object and its three fields, the tags
        // array and its tags.
        let per_record = |c: &serde_json::Value| {
            1 + 6 + (1 + 3) + 1 + c["tags"].as_array().map_or(0, Vec::len) as u64
        };
        let expected: u64 = 3 + contacts.iter().map(per_record).sum::<u64>();
        assert_eq!(parse_and_drop(&text).expect("parses"), expected);
    }

    #[test]
    fn the_document_is_deterministic_and_about_the_stated_size() {
        assert_eq!(document(50), document(50));
        let size = document(JSON_RECORDS).len();
        assert!((2_000_000..3_500_000).contains(&size), "{size} bytes");
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(parse_and_drop("{\"open\":").is_err());
    }
}
