//! The tag vocabulary, and tag sets as bit masks.

/// Every tag a contact can carry; a tag's bit in a mask is its index here.
pub const TAGS: [&str; 16] = [
    "vip",
    "investor",
    "customer",
    "prospect",
    "partner",
    "friend",
    "family",
    "mentor",
    "alumni",
    "press",
    "recruiter",
    "engineer",
    "designer",
    "founder",
    "board",
    "speaker",
];

/// The bit of the `vip` tag.
pub const VIP: u32 = 1;

/// The bit set of the given tags; tags outside [`TAGS`] are ignored.
pub fn tag_mask<'a>(tags: impl IntoIterator<Item = &'a str>) -> u32 {
    tags.into_iter()
        .filter_map(|tag| TAGS.iter().position(|known| *known == tag))
        .fold(0, |mask, index| mask | (1 << index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_known_tags_and_ignores_others() {
        assert_eq!(tag_mask(["vip", "friend", "unknown"]), VIP | 1 << 5);
        assert_eq!(tag_mask([]), 0);
    }
}
