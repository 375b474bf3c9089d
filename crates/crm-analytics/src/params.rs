//! Query parameters of the analytics endpoints.
//!
//! Parameters arrive as strings and are judged here rather than by serde, so that a bad date
//! or id answers 400 naming the parameter (serde_urlencoded's own errors do not name it).
//! Unknown parameters are refused by `deny_unknown_fields`. An empty value is refused like any
//! other bad one: the document types these parameters (dates, ids, enums), and a client
//! generated from it never sends one.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crm_core::{Error, FieldError, Result};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineParams {
    pub pipeline_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WinRateParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub owner_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The forecast's period length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    #[default]
    Month,
    Quarter,
}

impl Period {
    /// The `date_trunc` field name.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Quarter => "quarter",
        }
    }

    pub fn months(self) -> u32 {
        match self {
            Period::Month => 1,
            Period::Quarter => 3,
        }
    }

    /// `2025-04` for a month, `2025-Q2` for a quarter.
    pub fn label(self, start: NaiveDate) -> String {
        match self {
            Period::Month => start.format("%Y-%m").to_string(),
            Period::Quarter => {
                use chrono::Datelike;
                format!("{}-Q{}", start.year(), start.month0() / 3 + 1)
            }
        }
    }

    /// The last day of the period starting at `start`.
    pub fn end(self, start: NaiveDate) -> NaiveDate {
        start
            .checked_add_months(chrono::Months::new(self.months()))
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }
}

/// An inclusive range of calendar days (UTC); either end may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl DateRange {
    /// Start of `from` as an instant, for filtering timestamps (`>=`).
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.from
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
    }

    /// Start of the day after `to`, for filtering timestamps (`<`), so `to` is inclusive.
    pub fn end_exclusive(&self) -> Option<DateTime<Utc>> {
        self.to
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
    }
}

/// A `YYYY-MM-DD` date of years 0001 to 9999 (what the server accepts; `format: date` alone
/// would allow year 0).
pub const DATE_PATTERN: &str =
    "^([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-[0-9]{2}-[0-9]{2}$";

/// Collects every bad parameter, so one 400 names them all.
#[derive(Default)]
pub struct Checker {
    errors: Vec<FieldError>,
}

/// The value as given: an empty one is a value too (and a bad one), as the document's
/// typed parameters say.
fn given(v: Option<String>) -> Option<String> {
    v
}

impl Checker {
    pub fn uuid(&mut self, name: &str, v: Option<String>) -> Option<Uuid> {
        let s = given(v)?;
        Uuid::parse_str(&s)
            .map_err(|_| self.push(name, format!("'{s}' is not a valid id")))
            .ok()
    }

    pub fn date(&mut self, name: &str, v: Option<String>) -> Option<NaiveDate> {
        let s = given(v)?;
        match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) if crm_core::query::value::year_in_range(d) => Some(d),
            Ok(_) => {
                self.push(name, format!("'{s}' is out of range: years 1 to 9999"));
                None
            }
            Err(_) => {
                self.push(name, format!("'{s}' is not a date (YYYY-MM-DD)"));
                None
            }
        }
    }

    /// `from` and `to`; a `to` before `from` is an empty range (every report is empty), not
    /// an error: the document cannot say that one parameter must follow another.
    pub fn range(&mut self, from: Option<String>, to: Option<String>) -> DateRange {
        DateRange {
            from: self.date("from", from),
            to: self.date("to", to),
        }
    }

    pub fn period(&mut self, v: Option<String>) -> Period {
        match given(v).as_deref() {
            None | Some("month") => Period::Month,
            Some("quarter") => Period::Quarter,
            Some(other) => {
                self.push("period", format!("'{other}' is not one of month, quarter"));
                Period::Month
            }
        }
    }

    fn push(&mut self, name: &str, message: String) {
        self.errors.push(FieldError::new(name, message));
    }

    /// `Ok` when every parameter was good, else a 400 naming each bad one.
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let detail = self
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::BadRequest {
            detail,
            errors: self.errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_parameter_is_named() {
        let mut c = Checker::default();
        let range = c.range(Some("2025-13-01".into()), Some("yesterday".into()));
        assert_eq!(range, DateRange::default());
        c.period(Some("week".into()));
        c.uuid("owner_id", Some("42".into()));
        let Err(Error::BadRequest { errors, .. }) = c.finish() else {
            panic!("expected a bad request");
        };
        let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["from", "to", "period", "owner_id"]);
    }

    #[test]
    fn a_reversed_range_is_empty_and_empty_values_are_refused() {
        let mut c = Checker::default();
        c.range(Some("2025-02-01".into()), Some("2025-01-01".into()));
        assert!(c.finish().is_ok(), "a reversed range is merely empty");
        let mut c = Checker::default();
        assert_eq!(c.range(Some("".into()), None), DateRange::default());
        assert!(c.finish().is_err(), "an empty date is refused");
    }

    #[test]
    fn periods_have_labels_and_inclusive_ends() {
        let apr = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
        assert_eq!(Period::Quarter.label(apr), "2025-Q2");
        assert_eq!(Period::Month.label(apr), "2025-04");
        assert_eq!(
            Period::Quarter.end(apr),
            NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()
        );
        let r = DateRange {
            from: Some(apr),
            to: Some(apr),
        };
        assert_eq!(
            (r.end_exclusive().unwrap() - r.start().unwrap()).num_hours(),
            24
        );
    }
}
