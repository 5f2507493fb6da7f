//! Set-up shared by the test binaries.

pub mod traces;
