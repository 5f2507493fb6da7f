//! `service_load`, the service benchmark's driver.
//!
//! ```text
//! service_load bench [--rounds 5] [--requests 3000] [--warmup 500] [--connections 4]
//!                    [--items 24] [--workers 2] [--configs jemalloc,counting,stack]
//!                    [--bin-dir DIR] [--json FILE] [--timeout-s 60]
//! service_load once [--requests N] [--warmup W] [--connections 1] [--items 24]
//!                   [--config LABEL [--workers 2] [--bin-dir DIR]] [-- COMMAND...]
//! service_load idle --config LABEL [--seconds 10] [--workers 2] [--bin-dir DIR]
//! ```
//!
//! `bench` runs every configuration once per round, each its own server
//! process, the order rotating round by round, and prints the markdown
//! table of [`report::table`]; with `--json` it writes one line per run
//! ([`report::json_line`]). A configuration is `jemalloc`
//! (`service_jemalloc`), `counting` (`service_counting`), `stack`
//! (`service_stack`, every part) or `counting+PART+...` (`service_stack
//! --parts PART,...`, parts `layer`, `accounts`, `refresher`, `monitor`); the servers
//! are taken from `--bin-dir`, by default the driver's own directory.
//!
//! `once` runs one server (a configuration's, after COMMAND if given, for
//! instance valgrind; or COMMAND alone), sends the warm-up and the measured
//! requests, stops it and prints the run's JSON line:
//! `benches/service_instructions.sh` runs it twice with different request
//! counts under cachegrind.
//!
//! `idle` runs one configuration's server with no requests and prints its
//! CPU time per second as a JSON line: the refresher's and the monitor's
//! cost, which is per second, not per request.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use super::app::Parts;
use super::load::{measure, Load, LoadError, Server};
use super::report::{self, Run, BASELINE};

#[derive(Debug, Parser)]
#[command(
    name = "service_load",
    about = "Drives the service benchmark's servers on 127.0.0.1"
)]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Every configuration once per round, alternating; prints the table.
    Bench {
        #[command(flatten)]
        load: LoadArgs,
        /// Rounds (each runs every configuration once).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
        rounds: u32,
        /// Configurations, comma-separated.
        #[arg(long, default_value = "jemalloc,counting,stack")]
        configs: String,
        /// Tokio worker threads of each server.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
        workers: u16,
        /// Where the `service_*` binaries are (default: beside this one).
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// Also write one JSON line per run to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// One server, one measured run; prints its JSON line.
    Once {
        #[command(flatten)]
        load: LoadArgs,
        /// The configuration whose server to run (as in `bench`); COMMAND,
        /// if any, is put before it (`-- valgrind --tool=cachegrind`).
        #[arg(long)]
        config: Option<String>,
        /// Tokio worker threads of the server, with `--config`.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
        workers: u16,
        /// Where the `service_*` binaries are (default: beside this one).
        #[arg(long)]
        bin_dir: Option<PathBuf>,
        /// The server's command line; with `--config`, what runs it.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// One server left idle: its CPU time per second with no requests
    /// (what the clock-driven parts, the refresher and the monitor, cost).
    Idle {
        /// The configuration whose server to run (as in `bench`).
        #[arg(long)]
        config: String,
        /// Seconds measured, after one second to settle.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
        seconds: u64,
        /// Tokio worker threads of the server.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
        workers: u16,
        /// Where the `service_*` binaries are (default: beside this one).
        #[arg(long)]
        bin_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct LoadArgs {
    /// Requests measured per run.
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    requests: u64,
    /// Requests sent first, not measured.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    warmup: u64,
    /// Keep-alive connections sending at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    connections: u16,
    /// Records per answer (about 150 bytes of JSON each).
    #[arg(long, default_value_t = super::DEFAULT_ITEMS, value_parser = clap::value_parser!(u32).range(0..=super::MAX_ITEMS as i64))]
    items: u32,
    /// Longest wait for a server's port line, one answer, or an exit.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout_s: u64,
}

impl LoadArgs {
    fn load(&self) -> Load {
        Load {
            requests: self.requests,
            warmup: self.warmup,
            connections: usize::from(self.connections),
            items: self.items,
            timeout: Duration::from_secs(self.timeout_s),
        }
    }
}

/// A configuration's server command, from its label.
///
/// ```
/// use heapguard_benches::service::driver::command;
/// use std::path::Path;
/// let dir = Path::new("/bin-dir");
/// assert_eq!(command("stack", dir, 2)?, ["/bin-dir/service_stack", "--workers", "2", "--parts", "layer+accounts+refresher+monitor"]);
/// assert_eq!(command("counting+layer", dir, 1)?[4], "layer");
/// assert!(command("counting+cache", dir, 2).is_err());
/// assert!(command("system", dir, 2).is_err());
/// # Ok::<(), String>(())
/// ```
pub fn command(label: &str, bin_dir: &Path, workers: u16) -> Result<Vec<String>, String> {
    let bin = |name: &str| bin_dir.join(name).to_string_lossy().into_owned();
    let workers = ["--workers".to_owned(), workers.to_string()];
    let (binary, parts) = match label {
        "jemalloc" => ("service_jemalloc", None),
        "counting" => ("service_counting", None),
        "stack" => ("service_stack", Some(Parts::ALL)),
        other => match other.strip_prefix("counting+") {
            Some(list) => (
                "service_stack",
                Some(Parts::parse(list).map_err(|error| format!("{label}: {error}"))?),
            ),
            None => {
                return Err(format!(
                    "unknown configuration {label:?} (expected jemalloc, counting, stack or counting+PART+...)"
                ))
            }
        },
    };
    let mut command = vec![bin(binary)];
    command.extend(workers);
    if let Some(parts) = parts {
        command.extend(["--parts".to_owned(), parts.to_string()]);
    }
    Ok(command)
}

/// The driver's `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("service_load: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Mode::Bench {
            load,
            rounds,
            configs,
            workers,
            bin_dir,
            json,
        } => runtime.block_on(bench(
            &load.load(),
            rounds,
            &configs,
            workers,
            bin_dir,
            json,
        )),
        Mode::Idle {
            config,
            seconds,
            workers,
            bin_dir,
        } => match bin_dir_or_own(bin_dir).and_then(|dir| command(&config, &dir, workers)) {
            Ok(server) => runtime.block_on(idle(&config, &server, seconds)),
            Err(error) => Err(error),
        },
        Mode::Once {
            load,
            config,
            workers,
            bin_dir,
            mut command,
        } => match config {
            Some(label) => {
                match bin_dir_or_own(bin_dir).and_then(|dir| self::command(&label, &dir, workers)) {
                    Ok(server) => {
                        command.extend(server);
                        runtime.block_on(once(&load.load(), &label, &command))
                    }
                    Err(error) => Err(error),
                }
            }
            None if command.is_empty() => {
                Err("once: give --config LABEL or the server's command after --".to_owned())
            }
            None => {
                let label = command.join(" ");
                runtime.block_on(once(&load.load(), &label, &command))
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("service_load: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Prints `{"bench":"service_idle","config":..,"seconds":..,"cpu_us_per_s":..,
/// "user_us_per_s":..,"sys_us_per_s":..,"allocator_calls_per_s":..}`.
async fn idle(label: &str, command: &[String], seconds: u64) -> Result<(), String> {
    let timeout = Duration::from_secs(60);
    let failed = |error: LoadError| error.to_string();
    let server = Server::start(command, timeout).await.map_err(failed)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (user0, sys0, calls0) = server.cpu(timeout).await.map_err(failed)?;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (user1, sys1, calls1) = server.cpu(timeout).await.map_err(failed)?;
    let elapsed = started.elapsed().as_secs_f64();
    server.stop(timeout).await.map_err(failed)?;
    let per_s = |before: u64, after: u64| after.saturating_sub(before) as f64 / elapsed;
    println!(
        "{}",
        serde_json::json!({
            "bench": "service_idle",
            "config": label,
            "seconds": elapsed,
            "cpu_us_per_s": (per_s(user0, user1) + per_s(sys0, sys1)) / 1000.0,
            "user_us_per_s": per_s(user0, user1) / 1000.0,
            "sys_us_per_s": per_s(sys0, sys1) / 1000.0,
            "allocator_calls_per_s": per_s(calls0, calls1),
        })
    );
    Ok(())
}

async fn once(load: &Load, label: &str, command: &[String]) -> Result<(), String> {
    let figures = measure(command, load)
        .await
        .map_err(|error| error.to_string())?;
    let run = Run {
        round: 1,
        config: label.to_owned(),
        figures,
    };
    println!("{}", report::json_line(&run, load));
    Ok(())
}

async fn bench(
    load: &Load,
    rounds: u32,
    configs: &str,
    workers: u16,
    bin_dir: Option<PathBuf>,
    json: Option<PathBuf>,
) -> Result<(), String> {
    let bin_dir = bin_dir_or_own(bin_dir)?;
    let labels: Vec<String> = configs
        .split(',')
        .filter(|label| !label.is_empty())
        .map(str::to_owned)
        .collect();
    if labels.is_empty() {
        return Err("--configs names no configuration".to_owned());
    }
    let commands = labels
        .iter()
        .map(|label| command(label, &bin_dir, workers))
        .collect::<Result<Vec<_>, _>>()?;
    let mut json = match json {
        Some(path) => Some(
            std::fs::File::create(&path)
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?,
        ),
        None => None,
    };
    let load_before = load_average();
    let mut runs = Vec::new();
    for round in 1..=rounds {
        // The order rotates, so no configuration always runs first (on a
        // machine the previous one just left warm, or busy).
        let start = (round as usize - 1) % labels.len();
        for k in 0..labels.len() {
            let i = (start + k) % labels.len();
            let figures = measure(&commands[i], load)
                .await
                .map_err(|error: LoadError| format!("round {round}, {}: {error}", labels[i]))?;
            let run = Run {
                round,
                config: labels[i].clone(),
                figures,
            };
            if let Some(file) = json.as_mut() {
                writeln!(file, "{}", report::json_line(&run, load))
                    .map_err(|error| format!("cannot write the JSON lines: {error}"))?;
            }
            runs.push(run);
        }
        eprintln!("service_load: round {round} of {rounds} done");
    }
    println!(
        "Service benchmark: {rounds} rounds, each configuration its own server process, order rotating; \
         per run {} requests measured after {} of warm-up, {} keep-alive connections, {} records \
         ({} bytes) per answer, servers on {workers} tokio workers. Machine: {} vCPU, {}; load average \
         (1/5/15 min) {load_before} before, {} after. Median (lowest-highest) over rounds; the ratio \
         is to {BASELINE} in the same round.",
        load.requests,
        load.warmup,
        load.connections,
        load.items,
        runs.first().map_or(0, |run| run.figures.body_bytes),
        std::thread::available_parallelism().map_or(0, usize::from),
        cpu_model(),
        load_average(),
    );
    println!();
    print!("{}", report::table(&runs, &labels));
    Ok(())
}

/// `dir`, or this binary's own directory.
fn bin_dir_or_own(dir: Option<PathBuf>) -> Result<PathBuf, String> {
    match dir {
        Some(dir) => Ok(dir),
        None => std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .ok_or_else(|| "cannot tell this binary's directory: give --bin-dir".to_owned()),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}
