//! The `--json` report of `run`, with its per-user entries streamed out as
//! the users finish: each entry goes to an unnamed temporary file (in the
//! output's directory; for stdout, in the temporary directory) while the job
//! runs, and the report is assembled from it at the end. The job keeps no
//! entry, so its heap does not grow with the number of users; the report is
//! byte for byte what `serde_json::to_string_pretty` gives for the whole
//! report, plus a newline.

use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};

use super::output::JsonTarget;
use crate::exit::CliError;
use crate::report::{JobReport, UserResult};

/// How many finished users the summary lists (highest peak first).
pub(crate) const TOP_USERS: usize = 3;

/// Takes each finished user: spills its JSON entry (when there is a
/// `--json`) and keeps the [`TOP_USERS`] with the highest peaks.
#[derive(Debug)]
pub(crate) struct UserSink {
    spill: Option<Spill>,
    top: Vec<UserResult>,
}

#[derive(Debug)]
struct Spill {
    file: BufWriter<File>,
    entries: u64,
    /// One entry's pretty JSON, reused.
    entry: Vec<u8>,
    /// The first write error; later entries are not written.
    error: Option<io::Error>,
}

/// `a` ranks before `b` among the top users: higher peak, then lower id.
fn ranks_before(a: &UserResult, b: &UserResult) -> bool {
    (a.peak_bytes, std::cmp::Reverse(a.user_id)) > (b.peak_bytes, std::cmp::Reverse(b.user_id))
}

impl UserSink {
    /// A sink for the report going to `json`, if any.
    pub(crate) fn new(json: Option<&JsonTarget>) -> Result<Self, CliError> {
        let spill = match json {
            None => None,
            Some(target) => {
                let file = match target {
                    JsonTarget::Stdout => tempfile::tempfile(),
                    JsonTarget::File(file) => tempfile::tempfile_in(&file.dir),
                }
                .map_err(|e| {
                    CliError::BadInput(format!(
                        "--json: cannot create the report's temporary file: {e}"
                    ))
                })?;
                Some(Spill {
                    file: BufWriter::new(file),
                    entries: 0,
                    entry: Vec::with_capacity(512),
                    error: None,
                })
            }
        };
        Ok(Self {
            spill,
            top: Vec::with_capacity(TOP_USERS + 1),
        })
    }

    /// Takes one finished user.
    pub(crate) fn take(&mut self, user: &UserResult) {
        if let Some(spill) = &mut self.spill {
            spill.push(user);
        }
        let at = self
            .top
            .iter()
            .position(|other| ranks_before(user, other))
            .unwrap_or(self.top.len());
        if at < TOP_USERS {
            self.top.insert(at, user.clone());
            self.top.truncate(TOP_USERS);
        }
    }

    /// The finished users with the highest peaks, highest first.
    pub(crate) fn top_users(&self) -> &[UserResult] {
        &self.top
    }

    /// Writes `report` (whose `users` the job left empty) with the entries
    /// taken, as pretty JSON and a newline.
    pub(crate) fn write_report(self, report: &JobReport, out: &mut dyn Write) -> io::Result<()> {
        let text = serde_json::to_string_pretty(report)?;
        let Some(spill) = self.spill else {
            return writeln!(out, "{text}");
        };
        if let Some(error) = spill.error {
            return Err(error);
        }
        const EMPTY: &str = "\n  \"users\": []";
        match text.split_once(EMPTY) {
            Some((head, tail)) if spill.entries > 0 && report.users.is_empty() => {
                let mut entries = spill.file.into_inner().map_err(|e| e.into_error())?;
                entries.rewind()?;
                out.write_all(head.as_bytes())?;
                out.write_all(b"\n  \"users\": [\n")?;
                io::copy(&mut entries, out)?;
                out.write_all(b"\n  ]")?;
                out.write_all(tail.as_bytes())?;
                out.write_all(b"\n")
            }
            _ => writeln!(out, "{text}"),
        }
    }
}

impl Spill {
    fn push(&mut self, user: &UserResult) {
        if self.error.is_some() {
            return;
        }
        self.entry.clear();
        if let Err(error) = serde_json::to_writer_pretty(&mut self.entry, user) {
            self.error = Some(error.into());
            return;
        }
        let written = (|| {
            if self.entries > 0 {
                self.file.write_all(b",\n")?;
            }
            for (i, line) in self.entry.split(|&b| b == b'\n').enumerate() {
                if i > 0 {
                    self.file.write_all(b"\n")?;
                }
                self.file.write_all(b"    ")?;
                self.file.write_all(line)?;
            }
            Ok(())
        })();
        match written {
            Ok(()) => self.entries += 1,
            Err(error) => self.error = Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{JobConfig, Mode};

    fn user(user_id: u32, peak_bytes: u64) -> UserResult {
        UserResult {
            user_id,
            suggestions: 50,
            digest: format!("{user_id:016x}"),
            peak_bytes,
            allocated_bytes: peak_bytes * 2,
        }
    }

    #[test]
    fn the_streamed_report_is_the_pretty_report() {
        let config = JobConfig::new(40, 5).unwrap().with_mode(Mode::Streaming);
        let full = crate::run_job(&config).unwrap().report;
        assert_eq!(full.users.len(), 5);
        let mut sink = UserSink::new(Some(&JsonTarget::Stdout)).unwrap();
        for user in &full.users {
            sink.take(user);
        }
        let mut emptied = full.clone();
        emptied.users.clear();
        let mut out = Vec::new();
        sink.write_report(&emptied, &mut out).unwrap();
        let expected = serde_json::to_string_pretty(&full).unwrap() + "\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn no_users_gives_the_empty_list() {
        let config = JobConfig::new(10, 1).unwrap();
        let mut report = crate::run_job(&config).unwrap().report;
        report.users.clear();
        let mut out = Vec::new();
        UserSink::new(Some(&JsonTarget::Stdout))
            .unwrap()
            .write_report(&report, &mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string_pretty(&report).unwrap() + "\n"
        );
    }

    #[test]
    fn keeps_the_three_highest_peaks_first_ties_by_id() {
        let mut sink = UserSink::new(None).unwrap();
        for (id, peak) in [(0, 5), (1, 9), (2, 5), (3, 1), (4, 9), (5, 7)] {
            sink.take(&user(id, peak));
        }
        let ids: Vec<u32> = sink.top_users().iter().map(|u| u.user_id).collect();
        assert_eq!(ids, [1, 4, 5]);
    }
}
