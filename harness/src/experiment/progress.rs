//! Progress while a scenario runs: an overall bar (experiments done) and a bar per load run
//! (seconds, requests, failures), on stderr. Without a terminal (CI) the bars stay hidden
//! and each step is logged as a line instead.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    bars: MultiProgress,
    overall: ProgressBar,
    tty: bool,
}

impl Progress {
    /// `total`: the number of steps (experiments × architectures, plus set-up steps).
    pub fn new(total: u64) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bars = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let overall = bars.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        overall.enable_steady_tick(Duration::from_millis(250));
        Progress { bars, overall, tty }
    }

    /// A hidden progress, for tests and library use.
    pub fn hidden() -> Progress {
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        let overall = bars.add(ProgressBar::hidden());
        Progress {
            bars,
            overall,
            tty: true,
        }
    }

    /// Announces what happens now.
    pub fn step(&self, msg: impl Into<String>) {
        let msg = msg.into();
        if !self.tty {
            eprintln!("[{:>6.1} s] {msg}", self.overall.elapsed().as_secs_f64());
        }
        self.overall.set_message(msg);
    }

    /// One more step done.
    pub fn done(&self) {
        self.overall.inc(1);
    }

    /// A line above the bars (or on stderr without a terminal).
    pub fn note(&self, msg: impl AsRef<str>) {
        if self.tty {
            let _ = self.bars.println(msg.as_ref());
        } else {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// A bar for one load run of `secs` seconds.
    pub fn run_bar(&self, label: &str, secs: f64) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new((secs * 10.0).ceil() as u64));
        bar.set_style(
            ProgressStyle::with_template("  {prefix:.bold} [{bar:30}] {msg}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_owned());
        bar
    }

    pub fn finish(&self) {
        self.overall.finish_and_clear();
    }
}
