//! A progress bar over users, on a terminal only.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use crate::job::Progress;

/// A bar on stderr when it is a terminal and not `--quiet`; otherwise none.
pub(crate) fn bar(users: u32, label: &str, quiet: bool) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(u64::from(users));
    let style = ProgressStyle::with_template(
        "{prefix:>10} [{elapsed_precise}] {bar:40.cyan/blue} {pos}/{len} users {msg}",
    )
    .map(|style| style.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    Some(bar)
}

/// Moves the bar to the job's progress, with the live heap as its message.
pub(crate) fn update(bar: &ProgressBar, progress: Progress) {
    bar.set_position(u64::from(progress.users_seen));
    bar.set_message(format!(
        "({} done, heap {})",
        progress.users_done,
        bytesize::ByteSize(heapguard_alloc::live_bytes())
    ));
}
