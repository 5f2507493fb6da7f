//! `replay_prometheus` holds the series it replays, not the document: the
//! peak of the bytes it allocates, counted exactly by the counting
//! allocator (this binary's global allocator, `measure` on the replaying
//! thread), for a response generated on the fly (so the input itself is
//! never in memory).
//!
//! The document's size is 8 MiB by default; `HEAPGUARD_REPLAY_MIB` asks for
//! another (the crate docs quote a 250 MiB run in release).

use heapguard_alloc::{measure, CountingAlloc};
use heapguard_monitor::replay::{replay_prometheus, ReplayError};
use heapguard_monitor::MonitorConfig;
use std::alloc::System;
use std::io::Read;

#[global_allocator]
static GLOBAL: CountingAlloc<System> = CountingAlloc::new(System);

/// A `query_range` response written as it is read: `series` series of
/// `samples` samples each, one a minute from 1,700,000,000, around 300 MB.
struct Response {
    series: usize,
    samples: usize,
    /// Next series and sample to write.
    at: (usize, usize),
    pending: Vec<u8>,
    done: bool,
    written: u64,
}

impl Response {
    fn new(series: usize, samples: usize) -> Self {
        Self {
            series,
            samples,
            at: (0, 0),
            pending: br#"{"status":"success","data":{"resultType":"matrix","result":["#.to_vec(),
            done: false,
            written: 0,
        }
    }

    /// Appends the next piece of the document to `pending`.
    fn refill(&mut self) {
        let (series, sample) = self.at;
        if series == self.series {
            self.pending.extend_from_slice(b"]}}");
            self.done = true;
            return;
        }
        if sample == 0 {
            let comma = if series > 0 { "," } else { "" };
            self.pending.extend_from_slice(
                format!(r#"{comma}{{"metric":{{"instance":"host-{series}:9100"}},"values":["#)
                    .as_bytes(),
            );
        }
        let comma = if sample > 0 { "," } else { "" };
        let bytes = 300_000_000 + (sample * 7_919 % 1_000) * 1_000;
        self.pending.extend_from_slice(
            format!(r#"{comma}[{},"{bytes}"]"#, 1_700_000_000 + sample * 60).as_bytes(),
        );
        self.at = if sample + 1 == self.samples {
            self.pending.extend_from_slice(b"]}");
            (series + 1, 0)
        } else {
            (series, sample + 1)
        };
    }
}

impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pending.len() < buf.len() && !self.done {
            self.refill();
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.written += n as u64;
        Ok(n)
    }
}

/// Replays `response`; returns (bytes read, samples replayed, peak bytes
/// allocated by the replay, reader included).
fn replay_peak(response: Response) -> (u64, u64, u64) {
    let mut response = response;
    let (stats, usage) = measure(|| {
        replay_prometheus(&mut response, &MonitorConfig::default(), &[], |_, _| Ok(())).unwrap()
    });
    (response.written, stats.readings, usage.peak_bytes)
}

const MIB: u64 = 1 << 20;

/// The whole replay's working set, whatever the document: buffers, one
/// series' labels and detector, the generator's pending piece.
const CONSTANT: u64 = MIB;

#[test]
fn one_large_series_costs_a_constant() {
    let mib: u64 = std::env::var("HEAPGUARD_REPLAY_MIB")
        .ok()
        .and_then(|mib| mib.parse().ok())
        .unwrap_or(8);
    // About 26 bytes a sample.
    let samples = (mib * MIB / 26) as usize;
    let (read, readings, peak) = replay_peak(Response::new(1, samples));
    println!(
        "one series of {samples} samples, {:.1} MiB: peak {:.2} MiB",
        read as f64 / MIB as f64,
        peak as f64 / MIB as f64
    );
    assert_eq!(readings, samples as u64);
    assert!(read >= mib * MIB * 9 / 10, "{read}");
    // Under 2x the largest series plus a constant, and in fact under the
    // constant alone: the series streams through.
    assert!(peak < CONSTANT, "peak {peak} bytes for {read} bytes read");
}

#[test]
fn many_small_series_cost_what_one_holds() {
    // 100,000 one-sample series, about 5.6 MiB.
    let (read, readings, peak) = replay_peak(Response::new(100_000, 1));
    println!(
        "100,000 series, {:.1} MiB: peak {:.2} MiB",
        read as f64 / MIB as f64,
        peak as f64 / MIB as f64
    );
    assert_eq!(readings, 100_000);
    assert!(read > 5 * MIB, "{read}");
    assert!(peak < CONSTANT, "peak {peak} bytes for {read} bytes read");
}

#[test]
fn errors_quote_a_short_prefix_of_what_they_reject() {
    let label = "l".repeat(10 << 20);
    let value = "v".repeat(10 << 20);
    let json = format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[
        {{"metric":{{"job":"{label}"}},"values":[[1700000000,"{value}"]]}}]}}}}"#
    );
    let error = replay_prometheus(json.as_bytes(), &MonitorConfig::default(), &[], |_, _| {
        Ok(())
    })
    .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ReplayError::Prometheus(_)),
        "{message:.300}"
    );
    assert!(
        message.len() < 400,
        "{} bytes: {message:.300}",
        message.len()
    );
    assert!(message.contains("is not a number"), "{message:.300}");
    // A malformed document: serde's message, cut.
    let broken = format!(r#"{{"status":"{value}"#);
    let error = replay_prometheus(broken.as_bytes(), &MonitorConfig::default(), &[], |_, _| {
        Ok(())
    })
    .unwrap_err();
    assert!(error.to_string().len() < 400, "{:.300}", error.to_string());
}
