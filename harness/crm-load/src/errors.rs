//! Failed operations by class: no connection, timeout, broken connection, 429, other 4xx and
//! 5xx by status, and requests the schedule wanted but that were never sent.

use std::collections::BTreeMap;

use http::StatusCode;
use serde::{Deserialize, Serialize};

/// Why an operation counts as failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The TCP connection (or the HTTP handshake on it) could not be made.
    Connect,
    /// No whole response within the request timeout.
    Timeout,
    /// The connection broke mid-exchange (closed, reset, malformed response).
    Io,
    /// HTTP 429 Too Many Requests.
    RateLimited,
    /// Any other HTTP 4xx.
    Client(u16),
    /// HTTP 5xx.
    Server(u16),
    /// Due before the end of the run but still waiting for a free connection when the run's
    /// drain time ran out.
    NotSent,
}

impl ErrorClass {
    /// The class of a response status; `None` for 1xx–3xx.
    pub fn of_status(status: StatusCode) -> Option<Self> {
        let code = status.as_u16();
        match code {
            429 => Some(Self::RateLimited),
            400..=499 => Some(Self::Client(code)),
            500..=599 => Some(Self::Server(code)),
            _ => None,
        }
    }
}

/// Counts of failed operations by class.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// [`ErrorClass::Connect`].
    pub connect: u64,
    /// [`ErrorClass::Timeout`].
    pub timeout: u64,
    /// [`ErrorClass::Io`].
    pub io: u64,
    /// [`ErrorClass::NotSent`].
    pub not_sent: u64,
    /// HTTP 429.
    pub rate_limited: u64,
    /// Other 4xx, by status.
    pub client: BTreeMap<u16, u64>,
    /// 5xx, by status.
    pub server: BTreeMap<u16, u64>,
}

impl ErrorCounts {
    /// Counts one failure.
    pub fn add(&mut self, class: ErrorClass) {
        self.add_n(class, 1);
    }

    /// Counts `n` failures of one class.
    pub fn add_n(&mut self, class: ErrorClass, n: u64) {
        match class {
            ErrorClass::Connect => self.connect += n,
            ErrorClass::Timeout => self.timeout += n,
            ErrorClass::Io => self.io += n,
            ErrorClass::NotSent => self.not_sent += n,
            ErrorClass::RateLimited => self.rate_limited += n,
            ErrorClass::Client(code) => *self.client.entry(code).or_default() += n,
            ErrorClass::Server(code) => *self.server.entry(code).or_default() += n,
        }
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.timeout += other.timeout;
        self.io += other.io;
        self.not_sent += other.not_sent;
        self.rate_limited += other.rate_limited;
        for (code, n) in &other.client {
            *self.client.entry(*code).or_default() += n;
        }
        for (code, n) in &other.server {
            *self.server.entry(*code).or_default() += n;
        }
    }

    /// All failures.
    pub fn total(&self) -> u64 {
        self.connect
            + self.timeout
            + self.io
            + self.not_sent
            + self.rate_limited
            + self.client.values().sum::<u64>()
            + self.server.values().sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classed_by_family_with_429_apart() {
        let class = |c| ErrorClass::of_status(StatusCode::from_u16(c).unwrap());
        assert_eq!(class(200), None);
        assert_eq!(class(302), None);
        assert_eq!(class(429), Some(ErrorClass::RateLimited));
        assert_eq!(class(404), Some(ErrorClass::Client(404)));
        assert_eq!(class(503), Some(ErrorClass::Server(503)));
    }

    #[test]
    fn counts_merge_and_survive_json() {
        let mut a = ErrorCounts::default();
        a.add(ErrorClass::Server(500));
        a.add(ErrorClass::Timeout);
        let mut b = ErrorCounts::default();
        b.add(ErrorClass::Server(500));
        b.add(ErrorClass::Client(404));
        a.merge(&b);
        assert_eq!(a.server[&500], 2);
        assert_eq!(a.total(), 4);
        let back: ErrorCounts = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }
}
