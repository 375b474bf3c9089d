//! Companies: the record, its create/patch bodies, and their rules (its postal address in
//! `company/address.rs`).

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, Row};
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::{FieldKind, FieldSpec, SqlValue};
use crm_core::record::{self, Columns, Meta, Resource, Writer};
use crm_core::refs::Refs;
use crm_core::schema::{self, Rule};
use crm_core::{Actor, Error, Money, Object, Patch, Result, validate};

use crate::Customers;

mod address;
pub use address::Address;

/// What each field of a company body accepts (`columns` checks the same).
const COMPANY_RULES: &[(&str, Rule)] = &[
    (
        "name",
        Rule::Text {
            max: 200,
            required: true,
        },
    ),
    ("domain", Rule::OptPattern(schema::DOMAIN)),
    (
        "industry",
        Rule::Text {
            max: 100,
            required: false,
        },
    ),
    ("employees", Rule::Range(0, 10_000_000)),
    ("phone", Rule::OptPattern(schema::PHONE)),
    (
        "description",
        Rule::Text {
            max: 5000,
            required: false,
        },
    ),
];

fn new_company_schema(s: &mut schemars::Schema) {
    schema::constrain(s, true, COMPANY_RULES);
}

fn company_patch_schema(s: &mut schemars::Schema) {
    schema::constrain(s, false, COMPANY_RULES);
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Company {
    #[serde(flatten)]
    pub meta: Meta,
    pub name: String,
    /// Normalised web domain (`acme.com`), unique per tenant among live companies.
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<i32>,
    pub annual_revenue: Option<Money>,
    pub address: Option<Address>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<Uuid>,
    /// Set when this company was merged into another one (and deleted).
    pub merged_into: Option<Uuid>,
}

impl<'r> FromRow<'r, PgRow> for Company {
    fn from_row(row: &'r PgRow) -> sqlx::Result<Self> {
        Ok(Company {
            meta: Meta::from_row(row)?,
            name: row.try_get("name")?,
            domain: row.try_get("domain")?,
            industry: row.try_get("industry")?,
            employees: row.try_get("employees")?,
            annual_revenue: Money::from_columns(
                row.try_get("annual_revenue_micros")?,
                row.try_get("annual_revenue_currency")?,
            ),
            address: row
                .try_get::<Option<sqlx::types::Json<Address>>, _>("address")?
                .map(|j| j.0),
            phone: row.try_get("phone")?,
            description: row.try_get("description")?,
            owner_id: row.try_get("owner_id")?,
            merged_into: row.try_get("merged_into")?,
        })
    }
}

const COLUMNS: &str = concat!(
    crm_core::meta_columns!(),
    ", name, domain, industry, employees, annual_revenue_micros, annual_revenue_currency,",
    " address, phone, description, owner_id, merged_into"
);

impl Resource for Company {
    const OBJECT: &'static str = "company";
    const COLLECTION: &'static str = "companies";
    const PERMISSION: Object = Object::Company;
    const TABLE: &'static str = "crm_customers.companies";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("name", FieldKind::Text),
        FieldSpec::new("domain", FieldKind::Text).nullable(),
        FieldSpec::new("industry", FieldKind::Text).nullable(),
        FieldSpec::new("employees", FieldKind::Int).nullable(),
        FieldSpec::new("annual_revenue.amount_micros", FieldKind::Int)
            .column("annual_revenue_micros")
            .nullable(),
        FieldSpec::new("annual_revenue.currency", FieldKind::Text)
            .column("annual_revenue_currency")
            .nullable()
            .no_sort(),
        FieldSpec::new("address.country", FieldKind::Text)
            .column("(address->>'country')")
            .nullable()
            .no_sort(),
        FieldSpec::new("address.city", FieldKind::Text)
            .column("(address->>'city')")
            .nullable()
            .no_sort(),
        FieldSpec::new("owner_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("merged_into", FieldKind::Uuid)
            .nullable()
            .no_sort(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn constraint_error(constraint: &str) -> Option<Error> {
        (constraint == "companies_tenant_domain_key").then(|| {
            let mut extra = serde_json::Map::new();
            extra.insert("field".into(), "domain".into());
            Error::Conflict {
                code: "duplicate",
                detail: "a company with this domain already exists".into(),
                extra: Some(extra),
            }
        })
    }
}

/// `POST /companies`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_company_schema)]
pub struct NewCompany {
    /// Required.
    pub name: Option<String>,
    /// A domain or URL; stored normalised (`https://www.Acme.com/x` → `acme.com`).
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub annual_revenue: Option<Money>,
    pub address: Option<Address>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<Uuid>,
}

/// `PATCH /companies/{id}`: absent fields stay, `null` clears.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = company_patch_schema)]
pub struct CompanyPatch {
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub domain: Patch<String>,
    #[serde(default)]
    pub industry: Patch<String>,
    #[serde(default)]
    pub employees: Patch<i64>,
    #[serde(default)]
    pub annual_revenue: Patch<Money>,
    #[serde(default)]
    pub address: Patch<Address>,
    #[serde(default)]
    pub phone: Patch<String>,
    #[serde(default)]
    pub description: Patch<String>,
    #[serde(default)]
    pub owner_id: Patch<Uuid>,
}

impl From<NewCompany> for CompanyPatch {
    fn from(n: NewCompany) -> Self {
        CompanyPatch {
            name: n.name.into(),
            domain: n.domain.into(),
            industry: n.industry.into(),
            employees: n.employees.into(),
            annual_revenue: n.annual_revenue.into(),
            address: n.address.into(),
            phone: n.phone.into(),
            description: n.description.into(),
            owner_id: n.owner_id.into(),
        }
    }
}

impl CompanyPatch {
    /// The validated columns; `creating` makes `name` required.
    pub fn columns(self, creating: bool) -> Result<Columns> {
        let mut b = ColumnsBuilder::new(creating);
        b.text("name", "name", self.name, true, 200);
        b.text_with("domain", "domain", self.domain, false, validate::web_domain);
        b.text("industry", "industry", self.industry, false, 100);
        b.int(
            "employees",
            "employees",
            self.employees,
            false,
            0,
            10_000_000,
        );
        b.money(
            "annual_revenue_micros",
            "annual_revenue_currency",
            "annual_revenue",
            self.annual_revenue,
            false,
        );
        match self.address {
            Patch::Absent => {}
            Patch::Null => b.set("address", SqlValue::Json(None)),
            Patch::Value(a) => {
                if let Some(a) = a.validate("address", &mut b) {
                    b.set("address", SqlValue::Json(Some(serde_json::to_value(a)?)));
                }
            }
        }
        b.text_with("phone", "phone", self.phone, false, validate::phone);
        b.text("description", "description", self.description, false, 5000);
        b.uuid("owner_id", "owner_id", self.owner_id, false);
        b.finish()
    }

    /// Keeps only the fields that are empty on `current` (attaching fills, never overwrites).
    pub fn only_filling(self, current: &Company) -> CompanyPatch {
        fn keep<T, U>(p: Patch<T>, cur: &Option<U>) -> Patch<T> {
            if cur.is_none() { p } else { Patch::Absent }
        }
        CompanyPatch {
            name: Patch::Absent,
            domain: keep(self.domain, &current.domain),
            industry: keep(self.industry, &current.industry),
            employees: keep(self.employees, &current.employees),
            annual_revenue: keep(self.annual_revenue, &current.annual_revenue),
            address: keep(self.address, &current.address),
            phone: keep(self.phone, &current.phone),
            description: keep(self.description, &current.description),
            owner_id: keep(self.owner_id, &current.owner_id),
        }
    }
}

#[async_trait]
impl Writer<Company> for Customers {
    type Create = NewCompany;
    type Patch = CompanyPatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewCompany,
    ) -> Result<Company> {
        let owner = input.owner_id;
        let cols = CompanyPatch::from(input).columns(true)?;
        owner_ref(owner).require(actor, self.owners()).await?;
        record::create::<Company>(conn, actor, cols).await
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: CompanyPatch,
    ) -> Result<Company> {
        let owner = patch.owner_id.value().copied();
        let cols = patch.columns(false)?;
        owner_ref(owner).require(actor, self.owners()).await?;
        record::modify::<Company>(conn, actor, id, expected, cols).await
    }

    async fn find_natural(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        item: &serde_json::Value,
    ) -> Result<Option<Company>> {
        let Some(domain) = item.get("domain").and_then(|d| d.as_str()) else {
            return Ok(None);
        };
        let Ok(domain) = validate::web_domain("domain", domain) else {
            return Ok(None);
        };
        find_by_domain(conn, actor.tenant_id, &domain).await
    }
}

/// The reference a company or contact makes to its owner, a user of the tenant.
pub(crate) fn owner_ref(owner: Option<Uuid>) -> Refs {
    let mut r = Refs::new();
    r.add("owner_id", "user", owner);
    r
}

/// The live company with this normalised domain.
pub async fn find_by_domain(
    conn: &mut PgConnection,
    tenant: Uuid,
    domain: &str,
) -> Result<Option<Company>> {
    Ok(sqlx::query_as::<_, Company>(&format!(
        "SELECT {COLUMNS} FROM crm_customers.companies WHERE tenant_id = $1 AND domain = $2 AND deleted_at IS NULL"
    ))
    .bind(tenant)
    .bind(domain)
    .fetch_optional(conn)
    .await?)
}
