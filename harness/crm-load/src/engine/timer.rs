//! A sub-millisecond timer for intended send times. Tokio's timers round up to whole
//! milliseconds, which at tens of thousands of requests per second would send requests in
//! bursts and add up to 1 ms to every corrected latency; a `timerfd` armed at an absolute
//! CLOCK_MONOTONIC time (the clock `Instant` reads on Linux) fires within microseconds, and
//! sits in tokio's epoll set like any socket, so waiting costs no thread and no spinning.

use std::io;
use std::os::fd::{AsFd as _, AsRawFd, RawFd};
use std::time::Instant;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use nix::time::{ClockId as TimeClock, clock_gettime};
use tokio::io::unix::AsyncFd;

/// Converts `Instant`s to CLOCK_MONOTONIC time stamps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    base: Instant,
    base_mono: TimeSpec,
}

impl Clock {
    pub(crate) fn new() -> io::Result<Self> {
        let base_mono = clock_gettime(TimeClock::CLOCK_MONOTONIC)?;
        Ok(Self {
            base: Instant::now(),
            base_mono,
        })
    }

    fn timespec(&self, at: Instant) -> TimeSpec {
        // Only future instants are armed, and those are after `base`.
        self.base_mono + TimeSpec::from(at.saturating_duration_since(self.base))
    }
}

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// One connection's timer: waits until an instant, or until [`wake`](Self::wake)d.
pub(crate) struct PreciseTimer {
    fd: AsyncFd<Fd>,
    clock: Clock,
}

impl PreciseTimer {
    /// Must be called inside a tokio runtime with I/O enabled.
    pub(crate) fn new(clock: Clock) -> io::Result<Self> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // `AsyncFd::new` is deprecated for wrappers whose `as_raw_fd` could change or close
        // the descriptor behind tokio's back; `Fd` owns its timerfd for its whole life and
        // always returns it, which is the contract tokio's `unsafe` replacement asks for,
        // and this crate forbids `unsafe`.
        #[allow(deprecated)]
        let fd = AsyncFd::new(Fd(fd))?;
        Ok(Self { fd, clock })
    }

    /// Returns at `at` (within the kernel's timer precision), early if woken.
    pub(crate) async fn sleep_until(&self, at: Instant) -> io::Result<()> {
        if at <= Instant::now() {
            return Ok(());
        }
        let when = Expiration::OneShot(self.clock.timespec(at));
        self.fd
            .get_ref()
            .0
            .set(when, TimerSetTimeFlags::TFD_TIMER_ABSTIME)?;
        loop {
            let mut ready = self.fd.readable().await?;
            // A stale readiness from an earlier expiry reads as WouldBlock and is cleared.
            match ready.try_io(|fd| fd.get_ref().0.wait().map_err(io::Error::from)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Makes a pending (or the next) `sleep_until` return now.
    pub(crate) fn wake(&self) {
        // A zero expiry would disarm the timer; one nanosecond fires at once.
        let _ = self.fd.get_ref().0.set(
            Expiration::OneShot(TimeSpec::new(0, 1)),
            TimerSetTimeFlags::empty(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "current_thread")]
    async fn the_timer_fires_at_the_instant_and_not_before() {
        let timer = PreciseTimer::new(Clock::new().unwrap()).unwrap();
        for _ in 0..20 {
            let at = Instant::now() + Duration::from_micros(300);
            timer.sleep_until(at).await.unwrap();
            assert!(Instant::now() >= at);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn waking_ends_a_long_sleep() {
        let timer = PreciseTimer::new(Clock::new().unwrap()).unwrap();
        let sleeper = timer.sleep_until(Instant::now() + Duration::from_secs(600));
        let waker = async {
            tokio::task::yield_now().await;
            timer.wake();
        };
        let both = async { tokio::join!(sleeper, waker).0 };
        // The bound only keeps a broken wake from hanging the test.
        tokio::time::timeout(Duration::from_secs(60), both)
            .await
            .expect("woken long before 600 s")
            .unwrap();
    }
}
