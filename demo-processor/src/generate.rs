//! Deterministic test data: every contact, calendar and company is a pure
//! function of the job's seed, so both modes (and every rerun) see the same
//! world.
//!
//! Each user's contacts come from one ChaCha8 stream, read in contact order;
//! a user's calendar and each company have their own streams. Nothing here
//! depends on the mode, the batch size or the thread that generates.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::calendar::{Slot, UserProfile};
use crate::company::{Company, INDUSTRIES};
use crate::contact::{Contact, Interaction, InteractionKind};
use crate::tags::TAGS;

/// "Today" for every generated history, in days since 1970-01-01 (2024-10-04).
pub const TODAY: u32 = 20_000;

/// How many companies the directory holds.
pub const COMPANY_COUNT: u32 = 5_000;

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Margaret",
    "Ken",
    "Radia",
    "Dennis",
    "Shafi",
    "Leslie",
    "Hedy",
    "Tim",
    "Katherine",
    "Linus",
    "Sophie",
    "Niklaus",
    "Anita",
    "Vint",
    "Joan",
    "Bjarne",
    "Mary",
    "Guido",
    "Karen",
    "Robin",
    "Ellen",
    "Butler",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "McCarthy",
    "Hamilton",
    "Thompson",
    "Perlman",
    "Ritchie",
    "Goldwasser",
    "Lamport",
    "Lamarr",
    "Berners-Lee",
    "Johnson",
    "Torvalds",
    "Wilson",
    "Wirth",
    "Borg",
    "Cerf",
    "Clarke",
    "Stroustrup",
    "Keller",
    "van Rossum",
    "Sparck Jones",
    "Milner",
    "Ullman",
    "Lampson",
];
const TITLES: &[&str] = &[
    "Engineer",
    "Senior Engineer",
    "Staff Engineer",
    "Engineering Manager",
    "Product Manager",
    "Designer",
    "Founder",
    "Chief Executive Officer",
    "Account Executive",
    "Recruiter",
    "Data Scientist",
    "Investor",
    "Consultant",
    "Head of Partnerships",
];
const NOTE_WORDS: &[&str] = &[
    "met",
    "at",
    "the",
    "conference",
    "about",
    "their",
    "new",
    "project",
    "follow",
    "up",
    "on",
    "pricing",
    "intro",
    "from",
    "a",
    "mutual",
    "friend",
    "interested",
    "in",
    "hiring",
    "next",
    "quarter",
    "prefers",
    "mornings",
    "coffee",
    "lunch",
    "call",
    "back",
    "after",
    "launch",
    "sent",
    "deck",
    "asked",
    "for",
    "references",
    "kids",
    "travel",
    "renewal",
    "budget",
    "team",
];
const SYLLABLES: &[&str] = &[
    "ac", "be", "cor", "da", "el", "fi", "gra", "hel", "io", "jun", "ka", "lu", "mer", "no", "or",
    "pi", "qua", "ro", "sy", "ta", "ul", "ve", "wi", "xe", "zo",
];
const COMPANY_KINDS: &[&str] = &[
    "Labs",
    "Systems",
    "Partners",
    "Health",
    "Capital",
    "Works",
    "Logistics",
    "Media",
    "Foods",
    "Energy",
];

/// SplitMix64's finaliser: spreads one seed into independent stream seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random stream `stream` of entity `id` under `seed`.
fn stream(seed: u64, stream: u64, id: u32) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed ^ mix(stream << 32 | u64::from(id))))
}

const CONTACTS_STREAM: u64 = 1;
const PROFILE_STREAM: u64 = 2;
const COMPANY_STREAM: u64 = 3;

fn pick<'a>(rng: &mut ChaCha8Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// The name of company `id`: a pure function of the id.
pub fn company_name(id: u32) -> String {
    let n = SYLLABLES.len() as u32;
    let first = SYLLABLES[(id % n) as usize];
    let second = SYLLABLES[((id / n) % n) as usize];
    let kind = COMPANY_KINDS[((id / (n * n)) as usize) % COMPANY_KINDS.len()];
    let mut name = String::with_capacity(first.len() + second.len() + kind.len() + 1);
    let mut letters = first.chars();
    if let Some(initial) = letters.next() {
        name.extend(initial.to_uppercase());
    }
    name.push_str(letters.as_str());
    name.push_str(second);
    name.push(' ');
    name.push_str(kind);
    name
}

/// The directory's full record of company `id` (the "query" a lookup pays for).
pub fn company(seed: u64, id: u32) -> Company {
    let mut rng = stream(seed, COMPANY_STREAM, id);
    let name = company_name(id);
    let domain = format!("{}.example", name.to_lowercase().replace(' ', "-"));
    let industry = rng.random_range(0..INDUSTRIES.len() as u8);
    let employees = rng.random_range(2..50_000);
    let words = rng.random_range(20..40);
    let mut description = String::with_capacity(words * 8);
    for _ in 0..words {
        description.push_str(pick(&mut rng, NOTE_WORDS));
        description.push(' ');
    }
    Company {
        id,
        name,
        domain,
        industry,
        employees,
        description,
    }
}

/// User `user_id`'s calendar and preferences.
pub fn user_profile(seed: u64, user_id: u32) -> UserProfile {
    let mut rng = stream(seed, PROFILE_STREAM, user_id);
    let slot_count = rng.random_range(6..=14);
    let mut slots: Vec<Slot> = (0..slot_count)
        .map(|_| Slot {
            day_offset: rng.random_range(0..14),
            start_minute: rng.random_range(16..38) * 30,
            duration_minutes: [30, 45, 60, 90][rng.random_range(0..4)],
        })
        .collect();
    slots.sort_by_key(|slot| (slot.day_offset, slot.start_minute));
    slots.dedup_by_key(|slot| (slot.day_offset, slot.start_minute));
    let mut priority_tags = 0;
    for _ in 0..3 {
        priority_tags |= 1 << rng.random_range(0..TAGS.len());
    }
    let mut focus_industries = 0;
    for _ in 0..2 {
        focus_industries |= 1 << rng.random_range(0..INDUSTRIES.len());
    }
    UserProfile {
        user_id,
        slots,
        priority_tags,
        focus_industries,
    }
}

/// User `user_id`'s contacts, generated one at a time in id order.
pub fn contacts(seed: u64, user_id: u32, count: u32) -> ContactStream {
    ContactStream {
        rng: stream(seed, CONTACTS_STREAM, user_id),
        next_id: 0,
        end: count,
    }
}

/// An iterator over one user's contacts (see [`contacts`]).
#[derive(Debug)]
pub struct ContactStream {
    rng: ChaCha8Rng,
    next_id: u32,
    end: u32,
}

impl Iterator for ContactStream {
    type Item = Contact;

    fn next(&mut self) -> Option<Contact> {
        if self.next_id >= self.end {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        Some(generate_contact(&mut self.rng, id))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.end - self.next_id) as usize;
        (left, Some(left))
    }
}

impl ExactSizeIterator for ContactStream {}

fn generate_contact(rng: &mut ChaCha8Rng, id: u32) -> Contact {
    let first_name = pick(rng, FIRST_NAMES).to_owned();
    let last_name = pick(rng, LAST_NAMES).to_owned();
    // Popular companies are shared by many contacts (a cube skews toward 0).
    let company_id = (rng.random::<f64>().powi(3) * f64::from(COMPANY_COUNT)) as u32;
    let company = company_name(company_id);
    let domain = company.to_lowercase().replace(' ', "-");
    let login = format!("{}.{}", first_name, last_name)
        .to_lowercase()
        .replace(' ', "");
    let mut emails = vec![format!("{login}@{domain}.example")];
    for n in 0..rng.random_range(0..3) {
        emails.push(format!("{login}{n}@mail{}.example", rng.random_range(1..9)));
    }
    let phones = (0..rng.random_range(0..4))
        .map(|_| {
            format!(
                "+1-555-{:03}-{:04}",
                rng.random_range(0..1000),
                rng.random_range(0..10_000)
            )
        })
        .collect();
    let title = pick(rng, TITLES).to_owned();
    let mut tags: Vec<String> = Vec::new();
    for _ in 0..rng.random_range(0..7) {
        let tag = pick(rng, &TAGS);
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    let note_words = rng.random_range(0..140);
    let mut notes = String::with_capacity(note_words * 7);
    for _ in 0..note_words {
        notes.push_str(pick(rng, NOTE_WORDS));
        notes.push(' ');
    }
    let interaction_count = rng.random_range(0..=40);
    let mut interactions: Vec<Interaction> = (0..interaction_count)
        .map(|_| Interaction {
            day: TODAY - rng.random_range(0..730),
            minute_of_day: rng.random_range(7 * 60..20 * 60),
            duration_minutes: rng.random_range(5..=120),
            kind: match rng.random_range(0..4) {
                0 => InteractionKind::Email,
                1 => InteractionKind::Call,
                2 => InteractionKind::Meeting,
                _ => InteractionKind::Message,
            },
        })
        .collect();
    interactions.sort_by_key(|i| (i.day, i.minute_of_day));
    Contact {
        id,
        first_name,
        last_name,
        emails,
        phones,
        company_id,
        company,
        title,
        tags,
        notes,
        interactions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_world_other_seed_other_world() {
        let a: Vec<Contact> = contacts(7, 3, 50).collect();
        let b: Vec<Contact> = contacts(7, 3, 50).collect();
        let c: Vec<Contact> = contacts(8, 3, 50).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(user_profile(7, 3), user_profile(7, 3));
        assert_eq!(company(7, 11), company(7, 11));
    }

    #[test]
    fn contacts_are_numbered_and_complete() {
        let all: Vec<Contact> = contacts(1, 0, 200).collect();
        assert_eq!(all.len(), 200);
        for (index, contact) in all.iter().enumerate() {
            assert_eq!(contact.id, index as u32);
            assert!(!contact.emails.is_empty());
            assert!(contact.company_id < COMPANY_COUNT);
            assert!(contact
                .interactions
                .windows(2)
                .all(|w| w[0].day <= w[1].day));
        }
    }

    #[test]
    fn calendars_have_sorted_distinct_slots() {
        for user in 0..20 {
            let profile = user_profile(5, user);
            assert!((1..=14).contains(&profile.slots.len()));
            assert!(profile.slots.windows(2).all(
                |w| (w[0].day_offset, w[0].start_minute) < (w[1].day_offset, w[1].start_minute)
            ));
        }
    }

    #[test]
    fn company_names_are_distinct() {
        let names: std::collections::HashSet<String> =
            (0..COMPANY_COUNT).map(company_name).collect();
        assert_eq!(names.len(), COMPANY_COUNT as usize);
    }
}
