//! The company directory's records, and a byte-bounded cache of them.

use std::collections::{BTreeMap, HashMap};
use std::mem::size_of;

/// The industries a company can be in; a company's `industry` indexes this.
pub const INDUSTRIES: [&str; 12] = [
    "software",
    "finance",
    "health",
    "retail",
    "energy",
    "media",
    "education",
    "logistics",
    "manufacturing",
    "government",
    "hospitality",
    "research",
];

/// A company as the directory stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Company {
    /// Identifier in the directory.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Web domain.
    pub domain: String,
    /// Index into [`INDUSTRIES`].
    pub industry: u8,
    /// Head count.
    pub employees: u32,
    /// Free-form description.
    pub description: String,
}

impl Company {
    /// Heap and inline bytes this record holds (what a cache entry costs).
    pub fn footprint(&self) -> usize {
        size_of::<Self>()
            + self.name.capacity()
            + self.domain.capacity()
            + self.description.capacity()
    }
}

/// A least-recently-used cache of companies whose total [`Company::footprint`]
/// never exceeds a byte bound (the Node service's phase 3: "LRU caches with size
/// limits").
#[derive(Debug)]
pub struct CompanyCache {
    max_bytes: usize,
    bytes: usize,
    tick: u64,
    entries: HashMap<u32, (Company, u64)>,
    by_age: BTreeMap<u64, u32>,
    hits: u64,
    misses: u64,
}

impl CompanyCache {
    /// An empty cache holding at most `max_bytes` of companies.
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            bytes: 0,
            tick: 0,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
            hits: 0,
            misses: 0,
        }
    }

    /// The industry of company `id`, fetched with `load` on a miss.
    pub fn industry(&mut self, id: u32, load: impl FnOnce(u32) -> Company) -> u8 {
        self.tick += 1;
        let tick = self.tick;
        if let Some((company, last_used)) = self.entries.get_mut(&id) {
            self.by_age.remove(last_used);
            *last_used = tick;
            self.by_age.insert(tick, id);
            self.hits += 1;
            return company.industry;
        }
        self.misses += 1;
        let company = load(id);
        let industry = company.industry;
        let cost = company.footprint();
        if cost > self.max_bytes {
            return industry;
        }
        while self.bytes + cost > self.max_bytes {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            if let Some((evicted, _)) = self.entries.remove(&oldest) {
                self.bytes -= evicted.footprint();
            }
        }
        self.bytes += cost;
        self.entries.insert(id, (company, tick));
        self.by_age.insert(tick, id);
        industry
    }

    /// Bytes of companies held now (never more than the bound).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups that had to load the company.
    pub fn misses(&self) -> u64 {
        self.misses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of the shape the directory returns: its footprint is the same
    /// for every `id`, and `industry` depends on `seed` and `id`.
    fn company(seed: u64, id: u32) -> Company {
        Company {
            id,
            name: format!("Company {id:05}"),
            domain: format!("company-{id:05}.example"),
            industry: ((seed as u32).wrapping_mul(7).wrapping_add(id) % INDUSTRIES.len() as u32)
                as u8,
            employees: 100 + id,
            description: "a company that makes things for other companies".repeat(4),
        }
    }

    #[test]
    fn stays_under_its_bound_and_evicts_the_least_recently_used() {
        let one = company(1, 0).footprint();
        let bound = one * 3 + one / 2;
        let mut cache = CompanyCache::new(bound);
        for id in 0..3 {
            cache.industry(id, |id| company(1, id));
        }
        assert_eq!(cache.misses(), 3);
        cache.industry(0, |id| company(1, id)); // 0 is now the most recent
        assert_eq!(cache.hits(), 1);
        for id in 3..40 {
            cache.industry(id, |id| company(1, id));
            assert!(cache.bytes() <= bound, "{} bytes", cache.bytes());
        }
        let misses = cache.misses();
        cache.industry(39, |id| company(1, id));
        assert_eq!(cache.misses(), misses, "the newest entry is still cached");
        cache.industry(1, |id| company(1, id));
        assert_eq!(cache.misses(), misses + 1, "an old entry was evicted");
    }

    #[test]
    fn returns_the_directory_industry() {
        let mut cache = CompanyCache::new(1 << 20);
        for id in 0..50 {
            assert_eq!(
                cache.industry(id, |id| company(9, id)),
                company(9, id).industry
            );
            assert_eq!(
                cache.industry(id, |id| company(9, id)),
                company(9, id).industry
            );
        }
        assert_eq!(cache.hits(), 50);
    }
}
