use crm_core::Role;
use crm_core::record::Writer;

use crate::spawn;

#[tokio::test]
async fn lead_conversion_creates_an_opportunity_in_its_own_transaction() {
    let (server, _, sales) = spawn().await;
    let rep = server.new_tenant(Role::Rep);
    let customers = crm_customers::Customers::new(sales.pool().clone());
    let mut tx = sales.pool().begin().await.unwrap();
    let company = Writer::<crm_customers::Company>::create(
        &customers,
        &mut tx,
        &rep.actor,
        crm_customers::NewCompany {
            name: Some("Converted Co".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let lead = crm_core::new_id();
    let input = crm_sales::NewOpportunity {
        name: Some("From lead".into()),
        amount: Some(crm_core::Money {
            amount_micros: 3_000_000,
            currency: "USD".into(),
        }),
        company_id: Some(company.meta.id),
        original_lead_id: Some(lead),
        ..Default::default()
    };
    // The customers API reads on its own connection, so it cannot see the uncommitted company…
    let mut sp = sqlx::Acquire::begin(&mut *tx).await.unwrap();
    let refused =
        Writer::<crm_sales::Opportunity>::create(&*sales, &mut sp, &rep.actor, input.clone()).await;
    assert!(
        matches!(refused, Err(crm_core::Error::UnknownReference(_))),
        "{refused:?}"
    );
    sp.rollback().await.unwrap();
    // …while the caller vouching for it creates the opportunity in the same transaction.
    let opp = sales
        .create_linked(&mut tx, &rep.actor, input)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(opp.company_id, Some(company.meta.id));
    assert_eq!(
        (opp.original_lead_id, opp.owner_id),
        (Some(lead), Some(rep.actor.user_id))
    );
    assert_eq!(
        (opp.stage_key.as_str(), opp.probability),
        ("prospecting", 10)
    );

    // Once committed, the ordinary create accepts the same references.
    let mut tx = sales.pool().begin().await.unwrap();
    let again = Writer::<crm_sales::Opportunity>::create(
        &*sales,
        &mut tx,
        &rep.actor,
        crm_sales::NewOpportunity {
            name: Some("Second".into()),
            company_id: Some(company.meta.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again.company_id, Some(company.meta.id));
}
