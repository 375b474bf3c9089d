//! `--seed-demo`: a demo tenant with users and a small, realistic data set, so a newcomer can
//! try the API at once. Idempotent: a second start finds the demo admin and does nothing.
//! (The benchmark's large, deterministic data sets come from `crm-bench seed`.)

use std::sync::Arc;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crm_activities::NewActivity;
use crm_core::record::{Resource, Writer};
use crm_core::{Actor, Role, db};
use crm_customers::{Company, Contact, Customers};
use crm_identity::{Identity, User};
use crm_leads::{Lead, Leads};
use crm_sales::{Opportunity, Sales};

pub(crate) const ADMIN_EMAIL: &str = "admin@demo.crm";
pub(crate) const PASSWORD: &str = "demo-password";

pub(crate) struct Demo {
    pub identity: Arc<Identity>,
    pub customers: Arc<Customers>,
    pub sales: Arc<Sales>,
    pub leads: Arc<Leads>,
}

fn dto<T: DeserializeOwned>(v: Value) -> anyhow::Result<T> {
    serde_json::from_value(v).context("demo data matches the API")
}

async fn create<R: Resource, W: Writer<R>>(w: &W, actor: &Actor, body: Value) -> anyhow::Result<R> {
    let mut tx = w.pool().begin().await?;
    let r = w.create(&mut tx, actor, dto(body)?).await?;
    db::commit(tx).await?;
    Ok(r)
}

impl Demo {
    pub(crate) async fn seed(&self) -> anyhow::Result<()> {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM crm_identity.users WHERE lower(email) = $1)",
        )
        .bind(ADMIN_EMAIL)
        .fetch_one(self.identity.pool())
        .await?;
        if exists {
            tracing::info!("demo tenant already present");
            return Ok(());
        }
        let tokens = self
            .identity
            .signup(dto(json!({"tenant_name": "Demo Corp", "name": "Dana Admin", "email": ADMIN_EMAIL, "password": PASSWORD}))?)
            .await?;
        let admin = Actor::new(tokens.user.meta.tenant_id, tokens.user.meta.id, Role::Admin);
        let mut users = Vec::new();
        for (name, email, role) in [
            ("Morgan Manager", "manager@demo.crm", "manager"),
            ("Riley Rep", "riley@demo.crm", "rep"),
            ("Sam Rep", "sam@demo.crm", "rep"),
            ("Vic Viewer", "viewer@demo.crm", "viewer"),
        ] {
            let u: User = create(
                self.identity.as_ref(),
                &admin,
                json!({"email": email, "name": name, "role": role, "password": PASSWORD}),
            )
            .await?;
            users.push(u.meta.id);
        }
        let riley = Actor::new(admin.tenant_id, users[1], Role::Rep);

        let companies = [
            (
                "Globex Corporation",
                "globex.com",
                "Energy",
                12000,
                900_000_000i64,
            ),
            ("Initech", "initech.com", "Software", 450, 80_000_000),
            (
                "Umbrella Health",
                "umbrella-health.com",
                "Healthcare",
                3200,
                900_000_000,
            ),
            (
                "Stark Logistics",
                "stark-logistics.io",
                "Logistics",
                150,
                25_000_000,
            ),
            ("Wayne Foods", "waynefoods.com", "Food", 60, 6_000_000),
        ];
        let mut company_ids = Vec::new();
        for (name, domain, industry, employees, revenue) in companies {
            let c: Company = create(
                self.customers.as_ref(),
                &riley,
                json!({"name": name, "domain": domain, "industry": industry, "employees": employees,
                       "annual_revenue": {"amount_micros": revenue * 1_000_000, "currency": "USD"},
                       "owner_id": riley.user_id}),
            )
            .await?;
            company_ids.push(c.meta.id);
        }
        let people = [
            ("Hank", "Scorpio", "hank@globex.com", "CEO", 0),
            ("Bill", "Lumbergh", "bill@initech.com", "VP Engineering", 1),
            ("Milton", "Waddams", "milton@initech.com", "Collator", 1),
            (
                "Alice",
                "Abernathy",
                "alice@umbrella-health.com",
                "Head of Procurement",
                2,
            ),
            ("Pepper", "Potts", "pepper@stark-logistics.io", "COO", 3),
            ("Alfred", "Pennyworth", "alfred@waynefoods.com", "Owner", 4),
        ];
        let mut contact_ids = Vec::new();
        for (first, last, email, title, company) in people {
            let c: Contact = create(
                self.customers.as_ref(),
                &riley,
                json!({"first_name": first, "last_name": last, "emails": [email], "job_title": title,
                       "company_id": company_ids[company], "owner_id": riley.user_id}),
            )
            .await?;
            contact_ids.push((c.meta.id, company));
        }
        for (i, (name, stage, amount)) in [
            ("Globex grid analytics", "negotiation", 420_000i64),
            ("Initech TPS automation", "proposal", 95_000),
            ("Umbrella records migration", "qualification", 260_000),
            ("Stark fleet tracking", "prospecting", 48_000),
        ]
        .into_iter()
        .enumerate()
        {
            let (contact, company) = contact_ids[[0, 1, 3, 4][i]];
            let o: Opportunity = create(
                self.sales.as_ref(),
                &riley,
                json!({"name": name, "stage_key": stage, "amount": {"amount_micros": amount * 1_000_000, "currency": "USD"},
                       "close_date": (chrono::Utc::now() + chrono::Duration::days(30 * (i as i64 + 1))).date_naive(),
                       "company_id": company_ids[company], "primary_contact_id": contact}),
            )
            .await?;
            let mut tx = self.sales.pool().begin().await?;
            crm_activities::create(
                &mut tx,
                &riley,
                dto::<NewActivity>(json!({"kind": "call", "subject": format!("Discovery call: {name}"), "direction": "outbound",
                                          "duration_seconds": 1800, "outcome": "interested",
                                          "links": [{"type": "opportunity", "id": o.meta.id}, {"type": "company", "id": company_ids[company]}]}))?,
            )
            .await?;
            db::commit(tx).await?;
        }
        for (name, company, email, source, value) in [
            (
                "Ada Lovelace",
                "Analytical Engines",
                "ada@engines.io",
                "referral",
                150_000i64,
            ),
            (
                "Grace Hopper",
                "Compiler Co",
                "grace@compiler.co",
                "event",
                60_000,
            ),
            (
                "Linus Pauling",
                "Vitamin Works",
                "linus@vitamin.works",
                "web",
                12_000,
            ),
        ] {
            let _: Lead = create(
                self.leads.as_ref(),
                &admin,
                json!({"name": name, "company_name": company, "email": email, "source": source,
                       "estimated_value": {"amount_micros": value * 1_000_000, "currency": "USD"}}),
            )
            .await?;
        }
        tracing::info!(admin = ADMIN_EMAIL, "demo tenant created");
        Ok(())
    }
}

/// Printed at start-up so the newcomer knows how to sign in.
pub(crate) fn banner(addr: std::net::SocketAddr) -> String {
    format!(
        "demo tenant ready: POST http://{addr}/api/v1/auth/login with {{\"email\": \"{ADMIN_EMAIL}\", \"password\": \"{PASSWORD}\"}} \
         (also manager@, riley@, sam@, viewer@demo.crm, same password)"
    )
}
