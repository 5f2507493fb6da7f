//! jemalloc built with its profiler but started without `prof:true` (this
//! binary exports no `_rjem_malloc_conf`): asking for a profile is an
//! error, never an empty profile.

use heapguard_alloc::profile::{self, ProfileError};
use heapguard_alloc::{CountingAlloc, Jemalloc};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

#[test]
fn a_profile_without_prof_true_is_an_error() {
    assert!(profile::is_compiled_in());
    assert!(!profile::is_enabled());
    assert!(matches!(profile::take(), Err(ProfileError::NotEnabled)));
    assert!(matches!(profile::activate(), Err(ProfileError::NotEnabled)));
    assert!(!profile::is_active());
    let message = profile::take().unwrap_err().to_string();
    assert!(message.contains("_rjem_malloc_conf"), "{message}");
}
