//! Money as integer micros of a currency unit, never as floating point.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// An amount in millionths of the currency unit (`1_500_000` = 1.50) and an ISO 4217 code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = money_schema)]
pub struct Money {
    pub amount_micros: i64,
    pub currency: String,
}

fn money_schema(s: &mut schemars::Schema) {
    use crate::schema::{CURRENCY, Rule, constrain};
    constrain(
        s,
        true,
        &[
            ("amount_micros", Rule::Range(0, Money::MAX_MICROS)),
            ("currency", Rule::Pattern(CURRENCY)),
        ],
    );
}

impl Money {
    /// The largest amount accepted: a billion currency units. Far above any deal, and far
    /// enough below `i64::MAX` that projections may weight (× 100) and add amounts in 64 bits.
    pub const MAX_MICROS: i64 = 1_000_000_000 * 1_000_000;

    /// Validates the currency code's shape (three upper-case ASCII letters) and that the
    /// amount is not negative; `field` names the field in the error.
    pub fn validate(self, field: &str) -> Result<Money, FieldError> {
        let c = self.currency.trim().to_ascii_uppercase();
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                format!("{field}.currency"),
                "must be a three-letter ISO 4217 code such as EUR or USD",
            ));
        }
        if self.amount_micros < 0 {
            return Err(FieldError::new(
                format!("{field}.amount_micros"),
                "must not be negative",
            ));
        }
        if self.amount_micros > Self::MAX_MICROS {
            return Err(FieldError::new(
                format!("{field}.amount_micros"),
                format!("must be at most {} (a billion units)", Self::MAX_MICROS),
            ));
        }
        Ok(Money {
            amount_micros: self.amount_micros,
            currency: c,
        })
    }

    /// Builds a `Money` from two nullable columns; both set or no money.
    pub fn from_columns(amount: Option<i64>, currency: Option<String>) -> Option<Money> {
        Some(Money {
            amount_micros: amount?,
            currency: currency?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_is_normalised_and_checked() {
        let m = Money {
            amount_micros: 5,
            currency: "eur".into(),
        };
        assert_eq!(m.validate("x").unwrap().currency, "EUR");
        let bad = Money {
            amount_micros: 5,
            currency: "EURO".into(),
        };
        assert_eq!(bad.validate("x").unwrap_err().field, "x.currency");
        let neg = Money {
            amount_micros: -1,
            currency: "USD".into(),
        };
        assert_eq!(neg.validate("x").unwrap_err().field, "x.amount_micros");
        let huge = Money {
            amount_micros: Money::MAX_MICROS + 1,
            currency: "USD".into(),
        };
        assert_eq!(huge.validate("x").unwrap_err().field, "x.amount_micros");
    }
}
