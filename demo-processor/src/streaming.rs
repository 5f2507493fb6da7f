//! The Node service's phase 2: contacts stream from the repository (a producer
//! thread) through a bounded crossbeam channel, in chunks, projected to the
//! fields scoring needs, into a bounded top-K; company lookups go through a
//! byte-bounded LRU cache (phase 3).
//!
//! Memory is bounded by the channel (`channel_chunks x chunk_size`
//! projections), the cache bound and K, whatever the contact count.

use std::thread;

use crossbeam_channel::bounded;

use crate::calendar::UserProfile;
use crate::company::CompanyCache;
use crate::contact::ContactSignals;
use crate::generate::{company, contacts, TODAY};
use crate::leak::UnboundedRecordCache;
use crate::scoring::{best_slot, contact_score, Suggestion, MAX_SUGGESTIONS_PER_USER};
use crate::stop::Refused;
use crate::topk::TopK;

/// Sizes of the streaming pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pipeline {
    /// Contacts per chunk.
    pub chunk_size: usize,
    /// Chunks the channel holds before the producer waits.
    pub channel_chunks: usize,
}

/// Streams a user's contacts and returns the 50 best suggestions, calling
/// `check` before each chunk; on a refusal the producer is stopped and the
/// user's partial top-K discarded.
pub(crate) fn suggest(
    seed: u64,
    profile: &UserProfile,
    count: u32,
    pipeline: Pipeline,
    cache: &mut CompanyCache,
    check: &mut dyn FnMut() -> Result<(), Refused>,
    leak: Option<&UnboundedRecordCache>,
) -> Result<Vec<Suggestion>, Refused> {
    let user_id = profile.user_id;
    let chunk_size = pipeline.chunk_size.max(1);
    thread::scope(|scope| {
        let (sender, receiver) = bounded::<Vec<ContactSignals>>(pipeline.channel_chunks.max(1));
        // The producer works for the same user: charge it to the account
        // entered on this thread, if any.
        let account = heapguard_alloc::Account::current();
        scope.spawn(move || {
            let _inside = account.as_ref().map(heapguard_alloc::Account::enter);
            let mut chunk = Vec::with_capacity(chunk_size);
            for contact in contacts(seed, user_id, count) {
                if let Some(leak) = leak {
                    leak.remember(user_id, &contact);
                }
                chunk.push(ContactSignals::project(&contact, TODAY));
                if chunk.len() == chunk_size {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                    if sender.send(full).is_err() {
                        return; // the consumer stopped: stop producing
                    }
                }
            }
            if !chunk.is_empty() {
                // An error means the consumer stopped; nothing left to do.
                let _ = sender.send(chunk);
            }
        });
        let mut top = TopK::new(MAX_SUGGESTIONS_PER_USER);
        for chunk in receiver.iter() {
            check()?; // `receiver` drops on return, which stops the producer
            for signals in chunk {
                let industry = cache.industry(signals.company_id, |id| company(seed, id));
                let base = contact_score(&signals, profile, industry, TODAY);
                let Some((slot_index, score)) = best_slot(&signals, &profile.slots, base) else {
                    continue;
                };
                if top.would_keep(score, signals.id) {
                    top.offer(Suggestion {
                        contact_id: signals.id,
                        contact_name: signals.name,
                        slot_index,
                        slot: profile.slots[usize::from(slot_index)],
                        score,
                    });
                }
            }
        }
        Ok(top.into_sorted())
    })
}
