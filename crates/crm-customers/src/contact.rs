//! Contacts: the record, its create/patch bodies, and their rules.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::{FieldKind, FieldSpec};
use crm_core::record::{self, Columns, Meta, Resource, Writer};
use crm_core::schema::{self, Rule};
use crm_core::{Actor, Error, FieldError, Object, Patch, Result, validate};

use crate::Customers;

/// Where a person or lead came from (shared with the leads context).
pub const LEAD_SOURCES: &[&str] = &[
    "web", "call", "email", "referral", "partner", "campaign", "event", "other",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct Contact {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub meta: Meta,
    pub first_name: String,
    pub last_name: Option<String>,
    /// Lower-cased; the first one is the primary e-mail, unique per tenant.
    pub emails: Vec<String>,
    pub primary_email: Option<String>,
    pub phones: Vec<String>,
    pub job_title: Option<String>,
    pub company_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub lead_source: Option<String>,
    pub do_not_contact: bool,
    pub merged_into: Option<Uuid>,
}

const COLUMNS: &str = concat!(
    crm_core::meta_columns!(),
    ", first_name, last_name, emails, primary_email, phones, job_title, company_id, owner_id,",
    " lead_source, do_not_contact, merged_into"
);

impl Resource for Contact {
    const OBJECT: &'static str = "contact";
    const COLLECTION: &'static str = "contacts";
    const PERMISSION: Object = Object::Contact;
    const TABLE: &'static str = "crm_customers.contacts";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("first_name", FieldKind::Text).no_sort(),
        FieldSpec::new("last_name", FieldKind::Text).nullable(),
        FieldSpec::new("email", FieldKind::Text)
            .column("primary_email")
            .nullable()
            .no_sort(),
        FieldSpec::new("job_title", FieldKind::Text)
            .nullable()
            .no_sort(),
        FieldSpec::new("company_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("owner_id", FieldKind::Uuid)
            .nullable()
            .no_sort(),
        FieldSpec::new("lead_source", FieldKind::Enum(LEAD_SOURCES))
            .nullable()
            .no_sort(),
        FieldSpec::new("do_not_contact", FieldKind::Bool).no_sort(),
        FieldSpec::new("merged_into", FieldKind::Uuid)
            .nullable()
            .no_sort(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn constraint_error(constraint: &str) -> Option<Error> {
        (constraint == "contacts_tenant_email_key").then(|| {
            let mut extra = serde_json::Map::new();
            extra.insert("field".into(), "emails".into());
            Error::Conflict {
                code: "duplicate",
                detail: "a contact with this primary e-mail already exists".into(),
                extra: Some(extra),
            }
        })
    }
}

/// `POST /contacts`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_contact_schema)]
pub struct NewContact {
    /// Required.
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The first is the primary e-mail.
    pub emails: Option<Vec<String>>,
    pub phones: Option<Vec<String>>,
    pub job_title: Option<String>,
    pub company_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub lead_source: Option<String>,
    pub do_not_contact: Option<bool>,
}

/// `PATCH /contacts/{id}`: absent fields stay, `null` clears.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = contact_patch_schema)]
pub struct ContactPatch {
    #[serde(default)]
    pub first_name: Patch<String>,
    #[serde(default)]
    pub last_name: Patch<String>,
    #[serde(default)]
    pub emails: Patch<Vec<String>>,
    #[serde(default)]
    pub phones: Patch<Vec<String>>,
    #[serde(default)]
    pub job_title: Patch<String>,
    #[serde(default)]
    pub company_id: Patch<Uuid>,
    #[serde(default)]
    pub owner_id: Patch<Uuid>,
    #[serde(default)]
    pub lead_source: Patch<String>,
    #[serde(default)]
    pub do_not_contact: Patch<bool>,
}

impl From<NewContact> for ContactPatch {
    fn from(n: NewContact) -> Self {
        ContactPatch {
            first_name: n.first_name.into(),
            last_name: n.last_name.into(),
            emails: n.emails.into(),
            phones: n.phones.into(),
            job_title: n.job_title.into(),
            company_id: n.company_id.into(),
            owner_id: n.owner_id.into(),
            lead_source: n.lead_source.into(),
            do_not_contact: n.do_not_contact.into(),
        }
    }
}

/// What each field of a contact body accepts (`columns` checks the same).
const CONTACT_RULES: &[(&str, Rule)] = &[
    (
        "first_name",
        Rule::Text {
            max: 100,
            required: true,
        },
    ),
    (
        "last_name",
        Rule::Text {
            max: 100,
            required: false,
        },
    ),
    (
        "emails",
        Rule::Items {
            pattern: schema::EMAIL,
            max: 10,
        },
    ),
    (
        "phones",
        Rule::Items {
            pattern: schema::PHONE,
            max: 10,
        },
    ),
    (
        "job_title",
        Rule::Text {
            max: 200,
            required: false,
        },
    ),
    ("lead_source", Rule::OneOf(LEAD_SOURCES)),
    ("do_not_contact", Rule::NonNull),
];

fn new_contact_schema(s: &mut schemars::Schema) {
    schema::constrain(s, true, CONTACT_RULES);
}

fn contact_patch_schema(s: &mut schemars::Schema) {
    schema::constrain(s, false, CONTACT_RULES);
}

fn email(field: &str, v: &str) -> std::result::Result<String, FieldError> {
    validate::email(field, v).map(|e| e.to_lowercase())
}

impl ContactPatch {
    pub fn columns(self, creating: bool) -> Result<Columns> {
        let mut b = ColumnsBuilder::new(creating);
        b.text("first_name", "first_name", self.first_name, true, 100);
        b.text("last_name", "last_name", self.last_name, false, 100);
        b.text_list("emails", "emails", self.emails, 10, email);
        b.text_list("phones", "phones", self.phones, 10, validate::phone);
        b.text("job_title", "job_title", self.job_title, false, 200);
        b.uuid("company_id", "company_id", self.company_id, false);
        b.uuid("owner_id", "owner_id", self.owner_id, false);
        b.one_of(
            "lead_source",
            "lead_source",
            self.lead_source,
            false,
            LEAD_SOURCES,
        );
        b.bool("do_not_contact", "do_not_contact", self.do_not_contact);
        b.finish()
    }

    /// The company this patch links to, if it sets one.
    fn company(&self) -> Option<Uuid> {
        match self.company_id {
            Patch::Value(id) => Some(id),
            _ => None,
        }
    }

    /// Keeps only the fields empty on `current`; e-mails and phones are appended.
    pub fn only_filling(self, current: &Contact) -> ContactPatch {
        fn keep<T, U>(p: Patch<T>, cur: &Option<U>) -> Patch<T> {
            if cur.is_none() { p } else { Patch::Absent }
        }
        let union = |p: Patch<Vec<String>>, cur: &[String]| match p {
            Patch::Value(new) => {
                let mut all = cur.to_vec();
                for v in new {
                    if !all.iter().any(|c| c.eq_ignore_ascii_case(&v)) {
                        all.push(v);
                    }
                }
                Patch::Value(all)
            }
            _ => Patch::Absent,
        };
        ContactPatch {
            first_name: Patch::Absent,
            last_name: keep(self.last_name, &current.last_name),
            emails: union(self.emails, &current.emails),
            phones: union(self.phones, &current.phones),
            job_title: keep(self.job_title, &current.job_title),
            company_id: keep(self.company_id, &current.company_id),
            owner_id: keep(self.owner_id, &current.owner_id),
            lead_source: keep(self.lead_source, &current.lead_source),
            do_not_contact: Patch::Absent,
        }
    }
}

/// A 422 on `company_id` unless it names a live company of the tenant.
async fn check_company(conn: &mut PgConnection, tenant: Uuid, company: Option<Uuid>) -> Result<()> {
    let Some(id) = company else { return Ok(()) };
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM crm_customers.companies WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL)",
    )
    .bind(tenant)
    .bind(id)
    .fetch_one(conn)
    .await?;
    if exists {
        Ok(())
    } else {
        Err(Error::UnknownReference(vec![FieldError::new(
            "company_id",
            format!("no company {id} in this tenant (unknown, deleted or merged)"),
        )]))
    }
}

#[async_trait]
impl Writer<Contact> for Customers {
    type Create = NewContact;
    type Patch = ContactPatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        input: NewContact,
    ) -> Result<Contact> {
        let patch = ContactPatch::from(input);
        let (company, owner) = (patch.company(), patch.owner_id.value().copied());
        let cols = patch.columns(true)?;
        check_company(conn, actor.tenant_id, company).await?;
        crate::company::owner_ref(owner)
            .require(actor, self.owners())
            .await?;
        record::create::<Contact>(conn, actor, cols).await
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: ContactPatch,
    ) -> Result<Contact> {
        let (company, owner) = (patch.company(), patch.owner_id.value().copied());
        let cols = patch.columns(false)?;
        check_company(conn, actor.tenant_id, company).await?;
        crate::company::owner_ref(owner)
            .require(actor, self.owners())
            .await?;
        record::modify::<Contact>(conn, actor, id, expected, cols).await
    }

    async fn find_natural(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        item: &serde_json::Value,
    ) -> Result<Option<Contact>> {
        let Some(first) = item.pointer("/emails/0").and_then(|e| e.as_str()) else {
            return Ok(None);
        };
        let Ok(email) = email("emails[0]", first) else {
            return Ok(None);
        };
        find_by_email(conn, actor.tenant_id, &email).await
    }
}

/// The live contact whose primary e-mail is `email` (lower-case).
pub async fn find_by_email(
    conn: &mut PgConnection,
    tenant: Uuid,
    email: &str,
) -> Result<Option<Contact>> {
    Ok(sqlx::query_as::<_, Contact>(&format!(
        "SELECT {COLUMNS} FROM crm_customers.contacts WHERE tenant_id = $1 AND primary_email = $2 AND deleted_at IS NULL"
    ))
    .bind(tenant)
    .bind(email)
    .fetch_optional(conn)
    .await?)
}
