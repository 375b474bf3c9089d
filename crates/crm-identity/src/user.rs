//! Users of a tenant: the record, its bodies, and password hashing.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crm_core::columns::ColumnsBuilder;
use crm_core::query::{FieldKind, FieldSpec, SqlValue};
use crm_core::record::{self, Columns, Meta, Resource, Writer};
use crm_core::schema::Rule;
use crm_core::{Actor, Error, Object, Patch, Result, Role, validate};

use crate::Identity;

const ROLES: &[&str] = &["admin", "manager", "rep", "viewer"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromRow, JsonSchema)]
pub struct User {
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub meta: Meta,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub(crate) const COLUMNS: &str = concat!(
    crm_core::meta_columns!(),
    ", email, name, role, active, last_login_at"
);

impl Resource for User {
    const OBJECT: &'static str = "user";
    const COLLECTION: &'static str = "users";
    const PERMISSION: Object = Object::User;
    const TABLE: &'static str = "crm_identity.users";
    const COLUMNS: &'static str = COLUMNS;
    const FIELDS: &'static [FieldSpec] = &[
        FieldSpec::new("email", FieldKind::Text),
        FieldSpec::new("name", FieldKind::Text),
        FieldSpec::new("role", FieldKind::Enum(ROLES)),
        FieldSpec::new("active", FieldKind::Bool).no_sort(),
    ];

    fn meta(&self) -> &Meta {
        &self.meta
    }

    fn constraint_error(constraint: &str) -> Option<Error> {
        (constraint == "users_email_key").then(|| {
            let mut extra = serde_json::Map::new();
            extra.insert("field".into(), "email".into());
            Error::Conflict {
                code: "duplicate",
                detail: "a user with this e-mail already exists".into(),
                extra: Some(extra),
            }
        })
    }
}

/// A password: 8 to 128 characters, any.
pub(crate) const PASSWORD: &str = r"^[^\x00]{8,128}$";

/// What each field of a user body accepts (`columns` checks the same).
const USER_RULES: &[(&str, Rule)] = &[
    ("email", Rule::Pattern(crm_core::schema::EMAIL)),
    ("email", Rule::Required),
    (
        "name",
        Rule::Text {
            max: 200,
            required: true,
        },
    ),
    ("role", Rule::OneOfNonNull(ROLES)),
    ("role", Rule::Required),
    ("active", Rule::NonNull),
    ("password", Rule::Pattern(PASSWORD)),
    ("password", Rule::Required),
];

fn new_user_schema(s: &mut schemars::Schema) {
    crm_core::schema::constrain(s, true, USER_RULES);
}

fn user_patch_schema(s: &mut schemars::Schema) {
    crm_core::schema::constrain(s, false, USER_RULES);
}

/// `POST /users` (admins only).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = new_user_schema)]
pub struct NewUser {
    pub email: Option<String>,
    pub name: Option<String>,
    /// admin, manager, rep or viewer.
    pub role: Option<String>,
    /// 8 to 128 characters.
    pub password: Option<String>,
}

/// `PATCH /users/{id}` (admins only).
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = user_patch_schema)]
pub struct UserPatch {
    #[serde(default)]
    pub email: Patch<String>,
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub role: Patch<String>,
    #[serde(default)]
    pub active: Patch<bool>,
    #[serde(default)]
    pub password: Patch<String>,
}

pub(crate) fn check_password(
    field: &str,
    p: &str,
) -> std::result::Result<(), crm_core::FieldError> {
    let n = p.chars().count();
    if !(8..=128).contains(&n) {
        return Err(crm_core::FieldError::new(
            field,
            "must be 8 to 128 characters",
        ));
    }
    Ok(())
}

/// Hashes a password with Argon2id (off the async threads: it is deliberately slow).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(e.to_string()))
    })
    .await
    .map_err(Error::internal)?
}

/// Checks a password against a stored hash.
pub async fn verify_password(password: String, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .map_err(Error::internal)
}

impl UserPatch {
    async fn columns(self, creating: bool) -> Result<Columns> {
        let mut b = ColumnsBuilder::new(creating);
        b.text_with("email", "email", self.email, true, |f, v| {
            validate::email(f, v).map(|e| e.to_lowercase())
        });
        b.text("name", "name", self.name, true, 200);
        b.one_of("role", "role", self.role, true, ROLES);
        b.bool("active", "active", self.active);
        let mut password = None;
        match self.password {
            Patch::Absent if creating => b.error("password", "is required"),
            Patch::Absent => {}
            Patch::Null => b.error("password", "must not be null"),
            Patch::Value(p) => match check_password("password", &p) {
                Ok(()) => password = Some(p),
                Err(e) => b.error(e.field, e.message),
            },
        }
        let mut cols = b.finish()?;
        if let Some(p) = password {
            cols.push((
                "password_hash",
                SqlValue::Text(Some(hash_password(p).await?)),
            ));
        }
        Ok(cols)
    }
}

#[async_trait]
impl Writer<User> for Identity {
    type Create = NewUser;
    type Patch = UserPatch;

    fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    async fn create(&self, conn: &mut PgConnection, actor: &Actor, input: NewUser) -> Result<User> {
        let patch = UserPatch {
            email: input.email.into(),
            name: input.name.into(),
            role: input.role.into(),
            active: Patch::Absent,
            password: input.password.into(),
        };
        let cols = patch.columns(true).await?;
        record::create::<User>(conn, actor, cols).await
    }

    async fn update(
        &self,
        conn: &mut PgConnection,
        actor: &Actor,
        id: Uuid,
        expected: Option<i64>,
        patch: UserPatch,
    ) -> Result<User> {
        let self_demotion = matches!(&patch.role, Patch::Value(r) if r != "admin")
            || matches!(patch.active, Patch::Value(false));
        if id == actor.user_id && self_demotion {
            return Err(Error::conflict(
                "self-demotion",
                "you cannot remove your own admin role or deactivate yourself",
            ));
        }
        let cols = patch.columns(false).await?;
        record::modify::<User>(conn, actor, id, expected, cols).await
    }
}
