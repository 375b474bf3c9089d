//! The caller of an operation and what its role allows.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A user's role within a tenant. Roles are fixed; the matrix lives in [`Role::allows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Rep,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Rep, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Rep => "rep",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The per-object create/read/update/delete matrix.
    ///
    /// - admin: everything, including users, API keys and webhooks;
    /// - manager: all CRM records and pipelines, reads webhooks and users;
    /// - rep: creates, reads and updates CRM records, deletes only activities, reads the rest;
    /// - viewer: reads CRM records, pipelines, analytics and users; writes nothing.
    pub fn allows(self, action: Action, object: Object) -> bool {
        use Action::*;
        use Object::*;
        let crm_record = matches!(object, Company | Contact | Lead | Opportunity | Activity);
        match self {
            Role::Admin => true,
            Role::Manager => crm_record || object == Pipeline || action == Read && object != ApiKey,
            Role::Rep => {
                (crm_record && (action != Delete || object == Activity))
                    || (action == Read && matches!(object, Pipeline | Analytics | User))
            }
            Role::Viewer => {
                action == Read && (crm_record || matches!(object, Pipeline | Analytics | User))
            }
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Role::parse(&s).ok_or_else(|| format!("unknown role '{s}'"))
    }
}

/// Stored as text (`admin`, `manager`, `rep`, `viewer`).
impl sqlx::Type<sqlx::Postgres> for Role {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <&str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Role {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let s = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Role::parse(s).ok_or_else(|| format!("unknown role '{s}'").into())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
}

/// Kinds of objects the permission matrix speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    Company,
    Contact,
    Lead,
    Opportunity,
    Pipeline,
    Activity,
    Webhook,
    User,
    ApiKey,
    Analytics,
}

/// Who is acting: taken from a verified token or API key, never from a request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
}

impl Actor {
    pub fn new(tenant_id: Uuid, user_id: Uuid, role: Role) -> Self {
        Self {
            tenant_id,
            user_id,
            role,
        }
    }

    /// `Ok` when the role may do `action` on `object`, else a 403 naming both.
    pub fn require(&self, action: Action, object: Object) -> Result<()> {
        if self.role.allows(action, object) {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "role '{}' may not {} {}",
                self.role,
                format!("{action:?}").to_lowercase(),
                format!("{object:?}").to_lowercase()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewer_reads_but_never_writes() {
        for object in [Object::Company, Object::Lead, Object::Opportunity] {
            assert!(Role::Viewer.allows(Action::Read, object));
            for action in [Action::Create, Action::Update, Action::Delete] {
                assert!(!Role::Viewer.allows(action, object));
            }
        }
    }

    #[test]
    fn rep_cannot_administer() {
        for object in [Object::User, Object::ApiKey, Object::Webhook] {
            assert!(!Role::Rep.allows(Action::Create, object));
        }
        assert!(!Role::Rep.allows(Action::Create, Object::Pipeline));
        assert!(Role::Rep.allows(Action::Update, Object::Opportunity));
        assert!(!Role::Rep.allows(Action::Delete, Object::Company));
    }

    #[test]
    fn manager_manages_records_not_keys() {
        assert!(Role::Manager.allows(Action::Delete, Object::Company));
        assert!(Role::Manager.allows(Action::Create, Object::Pipeline));
        assert!(!Role::Manager.allows(Action::Create, Object::ApiKey));
        assert!(!Role::Manager.allows(Action::Read, Object::ApiKey));
        assert!(!Role::Manager.allows(Action::Create, Object::Webhook));
    }
}
