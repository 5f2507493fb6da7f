//! Polls a future `N` times, bare or inside a memory account, for a
//! deterministic instruction count of what an account costs per poll
//! (`benches/account_instructions.sh` runs it under cachegrind with `N` and
//! `2N` polls; the difference over `N` is the instructions of one poll).
//!
//! ```text
//! account_polls MODE K N
//! ```
//! - `MODE`: `bare` (the future alone), `scoped` (`Account::scope`, the way
//!   a service runs a request's task) or `entered` (`Account::enter` around
//!   each poll, the way a response body is polled);
//! - `K`: 64-byte blocks each poll allocates and frees;
//! - `N`: polls.
//!
//! Prints one tab-separated line: mode, k, polls, and the allocations the
//! account was charged (0 for `bare`), which must be `K * N`.
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};

use heapguard_alloc::{Account, CountingAlloc, Jemalloc};

#[global_allocator]
static GLOBAL: CountingAlloc<Jemalloc> = CountingAlloc::new(Jemalloc);

/// A future that never completes; each poll allocates and frees `k` blocks.
struct Work {
    k: usize,
}

impl Future for Work {
    type Output = ();

    #[inline(never)]
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..self.k {
            drop(black_box(Box::new([0u8; 64])));
        }
        Poll::Pending
    }
}

#[inline(never)]
fn poll_n<F: Future + Unpin>(future: &mut F, polls: u64) {
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        let _ = black_box(Pin::new(&mut *future).poll(&mut cx));
    }
}

/// Polls `work` inside `account`, entering it around each poll.
struct Entered<'a> {
    account: &'a Account,
    work: Work,
}

impl Future for Entered<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _inside = self.account.enter();
        Pin::new(&mut self.work).poll(cx)
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: account_polls bare|scoped|entered K N");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, k, n] = args.as_slice() else {
        return usage();
    };
    let (Ok(k), Ok(polls)) = (k.parse::<usize>(), n.parse::<u64>()) else {
        return usage();
    };
    let account = Account::new("request");
    match mode.as_str() {
        "bare" => poll_n(&mut Work { k }, polls),
        "scoped" => poll_n(&mut account.scope(Work { k }), polls),
        "entered" => poll_n(
            &mut Entered {
                account: &account,
                work: Work { k },
            },
            polls,
        ),
        _ => return usage(),
    }
    println!("{mode}\t{k}\t{polls}\t{}", account.usage().allocations);
    ExitCode::SUCCESS
}
