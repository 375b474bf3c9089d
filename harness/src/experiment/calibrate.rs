//! A machine-speed reference measured in the same run, on the CPUs of the system under test,
//! while nothing of the CRM runs there: `crm-bench compare` uses the ratio of two runs'
//! references to put a baseline measured on one machine beside a run on another (or on the
//! same machine while a neighbour takes its CPU).
//!
//! Two fixed pieces of work:
//! - **JSON round trips**: a page of 20 company records encoded and decoded with serde_json,
//!   the CPU work a CRM request does most of (allocation, formatting, parsing);
//! - **loopback round trips**: 128 bytes to and fro over a 127.0.0.1 TCP connection between
//!   two threads on the same CPU, the system-call, scheduler and network-stack cost of every
//!   hop (client → gateway → service → PostgreSQL).
//!
//! Each is done the way the CRM works under the CI's load, **in short bursts after idling**
//! (1 ms asleep, then a fraction of a millisecond of work), and only the time of the bursts
//! counts. A slower CPU lengthens the bursts as it lengthens requests; a CPU-bound neighbour
//! on the same CPU hardly does, because the scheduler lets a thread that wakes from sleep
//! run first — the same favour the mostly idle CRM gets. (A busy loop would read half the
//! speed beside such a neighbour while the CRM's latency moved far less.) Rates are counted
//! over windows and the median window is kept.
//!
//! The speed index of a run is the geometric mean of the two medians; two runs' indexes give
//! their speed ratio. The reference is not the CRM: a change of the CRM's own code does not
//! move it, which is what lets a comparison subtract the machine and keep the code.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::results::{Calibration, median};

/// One measuring window of each piece of work (wall time, idling included).
const WINDOW: Duration = Duration::from_millis(250);
/// Windows per piece of work; the median is kept.
const WINDOWS: usize = 5;
/// Idle time before each burst.
const IDLE: Duration = Duration::from_millis(1);
/// Round trips per burst: JSON pages, loopback messages.
const JSON_BURST: u64 = 4;
const LOOPBACK_BURST: u64 = 8;
const MESSAGE: usize = 128;

/// Runs both references on the first CPU of `cpus` (all CPUs when `None`) and appends the
/// medians to `into`. A reference that cannot run (no loopback socket, say) is skipped with
/// a warning: the run's measurements stand without it, only `compare` cannot adjust.
pub fn measure(cpus: &[usize], into: &mut Calibration) {
    let cpu = cpus.first().copied();
    let result = std::thread::scope(|s| {
        s.spawn(move || {
            pin(cpu);
            let page = page();
            let json = median_of(WINDOWS, || {
                bursts(WINDOW, JSON_BURST, || {
                    let text = serde_json::to_string(&page).expect("encode");
                    let back: Vec<Company> = serde_json::from_str(&text).expect("decode");
                    std::hint::black_box(back);
                    Ok(())
                })
                .expect("JSON work cannot fail")
            });
            let loopback = loopback_round_trips(cpu);
            (json, loopback)
        })
        .join()
    });
    match result {
        Ok((json, Ok(loopback))) => {
            into.json_round_trips_per_s.push(json);
            into.loopback_round_trips_per_s.push(loopback);
            into.cpu = cpu;
        }
        Ok((_, Err(e))) => tracing::warn!("machine-speed reference skipped: {e:#}"),
        Err(_) => tracing::warn!("machine-speed reference panicked; skipped"),
    }
}

/// A short reference taken before each measured point (about 0.4 s: two windows of each
/// piece of work): the speed index of that moment, `None` if it could not run. Noisier than
/// the run's reference, and only for seeing a machine that slowed during a run.
pub fn quick(cpus: &[usize]) -> Option<f64> {
    const QUICK: Duration = Duration::from_millis(100);
    let cpu = cpus.first().copied();
    std::thread::scope(|s| {
        s.spawn(move || {
            pin(cpu);
            let page = page();
            let json = median_of(2, || {
                bursts(QUICK, JSON_BURST, || {
                    let text = serde_json::to_string(&page).expect("encode");
                    let back: Vec<Company> = serde_json::from_str(&text).expect("decode");
                    std::hint::black_box(back);
                    Ok(())
                })
                .unwrap_or(0.0)
            });
            let loopback = loopback_round_trips_for(cpu, 2, QUICK).ok()?;
            (json > 0.0 && loopback > 0.0).then(|| (json * loopback).sqrt())
        })
        .join()
        .ok()
        .flatten()
    })
}

/// Pins the calling thread to `cpu` (no-op for `None` or when the kernel refuses).
fn pin(cpu: Option<usize>) {
    let Some(cpu) = cpu else { return };
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok()
        && let Err(e) = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
    {
        tracing::warn!("pin the machine-speed reference to CPU {cpu}: {e}");
    }
}

/// The median of `n` runs of `f` (0 when none was positive).
fn median_of(n: usize, mut f: impl FnMut() -> f64) -> f64 {
    let xs: Vec<f64> = (0..n).map(|_| f()).collect();
    median(&xs).unwrap_or(0.0)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Company {
    id: String,
    name: String,
    domain: String,
    industry: String,
    employees: u32,
    annual_revenue: f64,
    tags: Vec<String>,
    version: u32,
}

fn page() -> Vec<Company> {
    (0..20u32)
        .map(|i| Company {
            id: format!("0190a1b2-c3d4-7e5f-8a9b-{i:012x}"),
            name: format!("Company number {i} Holdings"),
            domain: format!("company-{i}.example"),
            industry: ["software", "retail", "energy"][i as usize % 3].to_owned(),
            employees: 10 + i * 37,
            annual_revenue: 1.0e6 + f64::from(i) * 12_345.5,
            tags: vec!["key-account".into(), format!("region-{}", i % 4)],
            version: i,
        })
        .collect()
}

/// Round trips of `work` per second of working time: bursts of `per_burst` round trips,
/// each after [`IDLE`] asleep, until `window` of wall time has passed.
fn bursts(
    window: Duration,
    per_burst: u64,
    mut work: impl FnMut() -> std::io::Result<()>,
) -> std::io::Result<f64> {
    let start = Instant::now();
    let (mut busy, mut n) = (Duration::ZERO, 0u64);
    while start.elapsed() < window {
        std::thread::sleep(IDLE);
        let t = Instant::now();
        for _ in 0..per_burst {
            work()?;
        }
        busy += t.elapsed();
        n += per_burst;
    }
    Ok(n as f64 / busy.as_secs_f64().max(1e-9))
}

/// Loopback request/response round trips per second of working time between this thread
/// and an echo thread pinned to the same CPU; the median of [`WINDOWS`] windows.
fn loopback_round_trips(cpu: Option<usize>) -> anyhow::Result<f64> {
    loopback_round_trips_for(cpu, WINDOWS, WINDOW)
}

/// As [`loopback_round_trips`], over `windows` windows of `window`.
fn loopback_round_trips_for(
    cpu: Option<usize>,
    windows: usize,
    window: Duration,
) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        pin(cpu);
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; MESSAGE];
        loop {
            match s.read_exact(&mut buf) {
                Ok(()) => s.write_all(&buf)?,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    });
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [7u8; MESSAGE];
    let mut rates = Vec::with_capacity(windows);
    for _ in 0..windows {
        rates.push(bursts(window, LOOPBACK_BURST, || {
            s.write_all(&buf)?;
            s.read_exact(&mut buf)
        })?);
    }
    drop(s);
    echo.join()
        .map_err(|_| anyhow::anyhow!("the echo thread panicked"))??;
    Ok(median(&rates).unwrap_or(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_references_count_work_and_a_run_keeps_every_measurement() {
        let mut c = Calibration::default();
        measure(&[], &mut c);
        measure(&[], &mut c);
        assert_eq!(c.json_round_trips_per_s.len(), 2);
        assert_eq!(c.loopback_round_trips_per_s.len(), 2);
        assert!(c.json_round_trips_per_s.iter().all(|&x| x > 0.0));
        assert!(c.loopback_round_trips_per_s.iter().all(|&x| x > 0.0));
        assert!(c.speed().is_some_and(|s| s > 0.0));
        assert!(quick(&[]).is_some_and(|s| s > 0.0));
    }

    #[test]
    fn the_speed_ratio_is_the_geometric_mean_of_the_two_references_ratios() {
        let base = Calibration {
            json_round_trips_per_s: vec![1000.0, 1200.0, 1100.0],
            loopback_round_trips_per_s: vec![20_000.0],
            cpu: Some(1),
        };
        // Twice as fast at JSON, half as fast at loopback: the same speed.
        let even = Calibration {
            json_round_trips_per_s: vec![2200.0],
            loopback_round_trips_per_s: vec![10_000.0],
            cpu: Some(1),
        };
        assert!((even.speed().unwrap() / base.speed().unwrap() - 1.0).abs() < 1e-9);
        let slower = Calibration {
            json_round_trips_per_s: vec![550.0],
            loopback_round_trips_per_s: vec![10_000.0],
            cpu: Some(1),
        };
        assert!((slower.speed().unwrap() / base.speed().unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(Calibration::default().speed(), None);
    }
}
