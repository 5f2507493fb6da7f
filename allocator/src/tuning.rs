//! How the counting is sized: the per-thread flush threshold behind every
//! error bound, the registry's slot count and occupancy, and how often a
//! thread without a slot charges its account. Nothing here needs setting;
//! it explains the bounds the readings document.

pub use crate::account::ACCOUNT_FLUSH_CALLS;
pub use crate::global::FLUSH_THRESHOLD;
pub use crate::slots::MAX_SLOTS;
pub use crate::stats::{slot_usage, SlotUsage};
