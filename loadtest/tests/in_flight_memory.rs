//! Memory per request in flight in the open model, measured in bytes allocated (a counting
//! allocator), never as RSS or time: the engine's thread is counted, the target's is not.
//! Its own test binary, so no other test allocates while it measures.

use fargate_loadtest::target::{start, Behaviour};
use fargate_loadtest::{run, Config, Model};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
thread_local! {
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

fn grow(n: usize) {
    let now = LIVE.fetch_add(n as isize, Ordering::Relaxed) + n as isize;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() && counted() {
            grow(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        if counted() {
            LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() && counted() {
            LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
            grow(new);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One open-model run at 10x overload on the calling thread, counted: (peak live bytes above
/// the start, most requests in flight).
fn measure(url: &str, max_connections: usize) -> (isize, u64) {
    let url = url.to_string();
    std::thread::spawn(move || {
        COUNTED.with(|c| c.set(true));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = Config::new(&url, Model::Rate(4000.0), Duration::from_millis(400));
        cfg.timeout = Duration::from_secs(3);
        cfg.max_connections = max_connections;
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let r = rt.block_on(run(&cfg, Arc::default())).unwrap();
        let peak = PEAK.load(Ordering::Relaxed) - base;
        assert_eq!(r.completed(), r.sent, "every sent request ended: {r:?}");
        COUNTED.with(|c| c.set(false));
        (peak, r.max_in_flight)
    })
    .join()
    .unwrap()
}

/// Issue 22: a request in flight costs at most MAX_PER_IN_FLIGHT bytes of heap, from the
/// difference between two caps (the run's fixed costs cancel out). A task per request cost
/// 18.7 KB (this test's figure on the debug build); the pool of connection tasks over hyper
/// 14.4-15.6 KB, most of it hyper's per-connection channel block and buffers; the engine's own
/// HTTP/1.1 client (a 1 KiB buffer per connection, no second task) 922 bytes
/// (docs/benchmarks.md).
#[test]
fn memory_per_request_in_flight_is_bounded() {
    const MAX_PER_IN_FLIGHT: isize = 1536;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // Every request is held 1.5 s: at 4,000 req/s the cap (2 x connections) fills at once.
    let server = rt
        .block_on(start(
            Behaviour {
                delay: Duration::from_millis(1500),
                ..Default::default()
            },
            0,
        ))
        .unwrap();
    let url = server.url("/");
    let runs: Vec<(usize, isize, u64)> = [50, 250]
        .into_iter()
        .map(|conns| {
            let (peak, in_flight) = measure(&url, conns);
            assert_eq!(in_flight, 2 * conns as u64, "the cap filled");
            (conns, peak, in_flight)
        })
        .collect();
    let (small, large) = (runs[0], runs[1]);
    let per = (large.1 - small.1) / (large.2 - small.2) as isize;
    eprintln!("runs {runs:?}: {per} bytes per request in flight");
    assert!(
        per <= MAX_PER_IN_FLIGHT,
        "{per} bytes per request in flight (runs {runs:?})"
    );
}
