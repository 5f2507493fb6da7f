//! Which loaded object a code address lies in, and the name of a frame in
//! another object from that object's dynamic symbols.
//!
//! The symboliser reads DWARF for one object only: the one this crate is
//! linked into (the executable, as Rust links it). Debug information of a
//! shared library can cost far more heap than the executable's: Debian's
//! `libc6-dbg` keeps libc's in a separate file with compressed sections,
//! and naming one address in libc through it held 32.5 MB of heap on the
//! build VM, three times the sections' uncompressed 10.4 MB, where the
//! observer's estimate covers the executable alone. A frame in another
//! object is named by `dladdr(3)` from its dynamic symbol table instead,
//! which the loader already holds: no file is read and nothing is
//! allocated. An address no exported symbol covers (glibc's
//! `start_thread` is local) gives no frame. Such frames are never a site
//! anyway: the global allocator serves only Rust code, so a shared
//! library's frames in a sampled stack are the outer ones, and C code's own
//! `malloc` is not sampled.

use core::ffi::c_void;

/// Where a code address lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Object {
    /// In the object this crate is linked into: symbolise it with DWARF.
    Own,
    /// In another loaded object (a shared library, the vDSO), or in none
    /// the loader knows.
    Other,
}

/// The object `pc` lies in.
#[cfg(unix)]
pub(crate) fn object_of(pc: *const c_void) -> Object {
    match (base_of(pc), own_base()) {
        (Some(base), Some(own)) if base == own => Object::Own,
        // Without an answer for this crate's own code (no `dladdr` result),
        // everything is symbolised as before.
        (_, None) => Object::Own,
        _ => Object::Other,
    }
}

/// Every address is symbolised with DWARF where `dladdr` is missing.
#[cfg(not(unix))]
pub(crate) fn object_of(_pc: *const c_void) -> Object {
    Object::Own
}

/// The demangled name of the exported symbol covering `pc` in its object,
/// if there is one (`dladdr` looks at the dynamic symbol table only).
#[cfg(unix)]
pub(crate) fn dynamic_symbol(pc: *const c_void) -> Option<String> {
    let info = dladdr(pc)?;
    if info.dli_sname.is_null() {
        return None;
    }
    // SAFETY: a non-null `dli_sname` points to a NUL-terminated string in
    // the object's dynamic string table, which stays mapped while the
    // object is loaded; the bytes are copied out before returning.
    let name = unsafe { core::ffi::CStr::from_ptr(info.dli_sname) };
    Some(format!("{:#}", backtrace::SymbolName::new(name.to_bytes())))
}

#[cfg(not(unix))]
pub(crate) fn dynamic_symbol(_pc: *const c_void) -> Option<String> {
    None
}

/// The load address of the object this crate's code lies in.
#[cfg(unix)]
fn own_base() -> Option<usize> {
    use std::sync::OnceLock;
    static OWN: OnceLock<Option<usize>> = OnceLock::new();
    *OWN.get_or_init(|| base_of(own_base as fn() -> Option<usize> as *const c_void))
}

#[cfg(unix)]
fn base_of(pc: *const c_void) -> Option<usize> {
    dladdr(pc).map(|info| info.dli_fbase as usize)
}

#[cfg(unix)]
fn dladdr(pc: *const c_void) -> Option<libc::Dl_info> {
    let mut info = libc::Dl_info {
        dli_fname: core::ptr::null(),
        dli_fbase: core::ptr::null_mut(),
        dli_sname: core::ptr::null(),
        dli_saddr: core::ptr::null_mut(),
    };
    // SAFETY: `dladdr` only reads the loader's tables for `pc` (any value
    // is allowed) and writes `info`, a valid, exclusive `Dl_info`.
    let found = unsafe { libc::dladdr(pc, &mut info) };
    (found != 0).then_some(info)
}

/// Rust links executables as position-independent code, so `malloc`'s
/// address is libc's; in a non-PIE build it would be the executable's PLT
/// entry.
#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn this_crates_code_is_its_own_object_and_libcs_is_another() {
        assert_eq!(
            object_of(object_of as fn(_) -> _ as *const c_void),
            Object::Own
        );
        assert_eq!(object_of(libc::malloc as *const c_void), Object::Other);
    }

    #[test]
    fn a_frame_in_libc_is_named_from_its_dynamic_symbols() {
        // glibc exports `malloc` beside its internal alias `__libc_malloc`.
        let name = dynamic_symbol(libc::malloc as *const c_void).expect("malloc is exported");
        assert!(name.ends_with("malloc"), "{name}");
    }
}
