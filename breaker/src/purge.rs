//! The default purge hook: give freed memory back to the operating system
//! before refusing, so pages the allocator keeps cannot hold a breaker on
//! resident memory tripped.

use std::sync::Arc;

use crate::config::{PurgeHook, PurgeSetting};

/// The hook a breaker calls before refusing, from its configuration.
///
/// The default does what applies to the running process, whatever the
/// features: `malloc_trim(0)` on glibc (what systemd's memory-pressure
/// handler does: glibc keeps freed memory in its arenas and at the top of
/// the heap), and jemalloc's purge of every arena when the `jemalloc`
/// feature is on. Each is harmless when that allocator is not the one in
/// use: the installed global allocator cannot be inferred from the features
/// a build happens to have.
pub(crate) fn default_purge(setting: &PurgeSetting) -> Option<PurgeHook> {
    match setting {
        PurgeSetting::Hook(hook) => Some(hook.clone()),
        PurgeSetting::None => None,
        PurgeSetting::Default => Some(Arc::new(purge_allocators)),
    }
}

fn purge_allocators() {
    trim_glibc();
    #[cfg(feature = "jemalloc")]
    if let Err(error) = heapguard_alloc::jemalloc::purge() {
        tracing::debug!(%error, "jemalloc purge failed");
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_glibc() {
    // SAFETY: `malloc_trim` takes no pointers; it locks glibc's arenas itself
    // and returns free memory at their tops and in whole free pages to the
    // kernel. It is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_glibc() {}
