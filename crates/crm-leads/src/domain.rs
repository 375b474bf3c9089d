//! The lead's rules, without I/O: its status machine and its explainable score.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crm_core::{Error, Money, Result};

/// Where a lead stands. `converted` is reached only through conversion and is final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Assigned,
    Working,
    Converted,
    Disqualified,
    Recycled,
}

pub const STATUSES: &[&str] = &[
    "new",
    "assigned",
    "working",
    "converted",
    "disqualified",
    "recycled",
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Assigned => "assigned",
            Status::Working => "working",
            Status::Converted => "converted",
            Status::Disqualified => "disqualified",
            Status::Recycled => "recycled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::New,
            Status::Assigned,
            Status::Working,
            Status::Converted,
            Status::Disqualified,
            Status::Recycled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Open leads can still be worked, disqualified, recycled or converted.
    pub fn is_open(self) -> bool {
        matches!(self, Status::New | Status::Assigned | Status::Working)
    }

    /// `new → assigned → working`; any open state → `disqualified` or `recycled`;
    /// `recycled → assigned`. `converted` only through [`Status::convert`].
    pub fn transition(self, to: Status) -> Result<Status> {
        use Status::*;
        let ok = match (self, to) {
            (New, Assigned) | (Assigned, Working) | (Recycled, Assigned) => true,
            (from, Disqualified | Recycled) => from.is_open(),
            _ => false,
        };
        if ok {
            Ok(to)
        } else if to == Converted {
            Err(Error::conflict(
                "invalid-transition",
                "a lead becomes converted only through POST /leads/{id}/convert",
            ))
        } else {
            Err(Error::conflict(
                "invalid-transition",
                format!("a lead cannot go from {} to {}", self.as_str(), to.as_str()),
            ))
        }
    }

    /// Conversion is allowed from any open state.
    pub fn convert(self) -> Result<Status> {
        if self.is_open() {
            Ok(Status::Converted)
        } else if self == Status::Converted {
            Err(Error::conflict(
                "already-converted",
                "this lead was already converted",
            ))
        } else {
            Err(Error::conflict(
                "invalid-transition",
                format!(
                    "a {} lead cannot be converted; recycle and assign it first",
                    self.as_str()
                ),
            ))
        }
    }
}

/// One reason a lead scored points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScoreReason {
    pub reason: String,
    pub points: i32,
}

/// What the score looks at.
pub struct ScoreInput<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub company_name: Option<&'a str>,
    pub title: Option<&'a str>,
    pub source: &'a str,
    pub estimated_value: Option<&'a Money>,
}

const SENIOR: [&str; 11] = [
    "ceo",
    "cto",
    "cfo",
    "coo",
    "cio",
    "founder",
    "owner",
    "president",
    "vp",
    "head",
    "director",
];

/// A simple, explainable score from 0 to 100: contact details, seniority, source and
/// deal size each add named points.
pub fn score(input: &ScoreInput<'_>) -> (i32, Vec<ScoreReason>) {
    let mut reasons = Vec::new();
    let mut add = |reason: &str, points: i32| {
        reasons.push(ScoreReason {
            reason: reason.to_owned(),
            points,
        })
    };
    if input.email.is_some() {
        add("has e-mail", 10);
    }
    if input.phone.is_some() {
        add("has phone", 10);
    }
    if input.company_name.is_some() {
        add("names a company", 10);
    }
    if let Some(t) = input.title {
        let lower = t.to_lowercase();
        let senior = lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| SENIOR.contains(&w));
        add(
            if senior { "senior title" } else { "has title" },
            if senior { 20 } else { 5 },
        );
    }
    let source_points = match input.source {
        "referral" => 20,
        "partner" => 15,
        "event" | "web" | "call" => 10,
        "campaign" | "email" => 5,
        _ => 0,
    };
    if source_points > 0 {
        add(&format!("source {}", input.source), source_points);
    }
    if let Some(m) = input.estimated_value {
        // Thresholds in whole currency units; currencies are not converted.
        let units = m.amount_micros / 1_000_000;
        let points = if units >= 1_000_000 {
            30
        } else if units >= 100_000 {
            20
        } else if units >= 10_000 {
            10
        } else {
            0
        };
        if points > 0 {
            add("deal size", points);
        }
    }
    let total = reasons.iter().map(|r| r.points).sum::<i32>().min(100);
    (total, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_status() -> impl Strategy<Value = Status> {
        prop_oneof![
            Just(Status::New),
            Just(Status::Assigned),
            Just(Status::Working),
            Just(Status::Converted),
            Just(Status::Disqualified),
            Just(Status::Recycled),
        ]
    }

    #[test]
    fn the_happy_path_and_the_recycling_loop() {
        let s = Status::New.transition(Status::Assigned).unwrap();
        let s = s.transition(Status::Working).unwrap();
        let s = s.transition(Status::Recycled).unwrap();
        let s = s.transition(Status::Assigned).unwrap();
        assert_eq!(s.convert().unwrap(), Status::Converted);
    }

    #[test]
    fn shortcuts_are_refused() {
        assert!(Status::New.transition(Status::Working).is_err());
        assert!(Status::Disqualified.transition(Status::Assigned).is_err());
        assert!(Status::Recycled.transition(Status::Working).is_err());
        assert!(Status::Working.transition(Status::Converted).is_err());
        assert!(Status::Disqualified.convert().is_err());
    }

    proptest! {
        #[test]
        fn converted_is_terminal(to in any_status()) {
            prop_assert!(Status::Converted.transition(to).is_err());
            prop_assert!(Status::Converted.convert().is_err());
        }

        #[test]
        fn transitions_never_reach_converted(from in any_status()) {
            prop_assert!(from.transition(Status::Converted).is_err());
        }

        #[test]
        fn only_open_leads_can_be_disqualified(from in any_status()) {
            prop_assert_eq!(from.transition(Status::Disqualified).is_ok(), from.is_open());
        }

        #[test]
        fn the_score_stays_within_0_and_100(
            title in proptest::option::of("\\PC{0,30}"),
            micros in proptest::option::of(0i64..i64::MAX),
            source in "[a-z]{0,10}",
        ) {
            let m = micros.map(|amount_micros| Money { amount_micros, currency: "EUR".into() });
            let (s, reasons) = score(&ScoreInput {
                email: Some("a@b.co"), phone: Some("1"), company_name: Some("x"),
                title: title.as_deref(), source: &source, estimated_value: m.as_ref(),
            });
            prop_assert!((0..=100).contains(&s));
            prop_assert_eq!(s, reasons.iter().map(|r| r.points).sum::<i32>().min(100));
        }
    }

    #[test]
    fn a_senior_referral_with_a_big_deal_scores_high() {
        let m = Money {
            amount_micros: 250_000 * 1_000_000,
            currency: "USD".into(),
        };
        let (s, reasons) = score(&ScoreInput {
            email: Some("x@y.z"),
            phone: None,
            company_name: Some("Acme"),
            title: Some("VP Sales"),
            source: "referral",
            estimated_value: Some(&m),
        });
        assert_eq!(s, 80);
        assert_eq!(reasons.len(), 5);
    }
}
