//! A company's postal address: its parts, their OpenAPI constraints and their validation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crm_core::columns::ColumnsBuilder;
use crm_core::schema::{self, Rule};
use crm_core::validate;

/// A postal address; every part optional, `country` an ISO 3166-1 alpha-2 code.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = address_schema)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

fn address_schema(s: &mut schemars::Schema) {
    let text = |max| Rule::Text {
        max,
        required: false,
    };
    schema::constrain(
        s,
        false,
        &[
            ("street", text(200)),
            ("city", text(100)),
            ("region", text(100)),
            ("postal_code", text(20)),
            ("country", Rule::Pattern(schema::COUNTRY)),
        ],
    );
}

impl Address {
    pub(super) fn validate(self, field: &str, b: &mut ColumnsBuilder) -> Option<Address> {
        let mut ok = true;
        let mut part = |name: &str, v: Option<String>, max: usize| -> Option<String> {
            match validate::opt_text(&format!("{field}.{name}"), v.as_deref(), max) {
                Ok(v) => v,
                Err(e) => {
                    b.error(e.field, e.message);
                    ok = false;
                    None
                }
            }
        };
        let street = part("street", self.street, 200);
        let city = part("city", self.city, 100);
        let region = part("region", self.region, 100);
        let postal_code = part("postal_code", self.postal_code, 20);
        let country = part("country", self.country, 2).map(|c| c.to_ascii_uppercase());
        if let Some(c) = &country
            && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            b.error(
                format!("{field}.country"),
                "must be an ISO 3166-1 alpha-2 code such as DE",
            );
            ok = false;
        }
        ok.then_some(Address {
            street,
            city,
            region,
            postal_code,
            country,
        })
    }
}
