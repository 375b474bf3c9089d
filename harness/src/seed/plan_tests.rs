//! The plan's arithmetic: apportioning, permutations and the shape it gives a data set.

use super::*;

#[test]
fn apportion_gives_out_exactly_the_total() {
    let v = apportion(10, &[1.0, 1.0, 1.0]);
    assert_eq!(v.iter().sum::<u64>(), 10);
    assert_eq!(v, [4, 3, 3]);
}

#[test]
fn permute_is_a_bijection() {
    for n in [1u64, 2, 7, 300, 1024] {
        let mut seen: Vec<u64> = (0..n).map(|i| permute(i, n, 99)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
    }
}

#[test]
fn conversions_with_opportunities_map_back_to_their_opportunity() {
    let plan = Plan::new(Size::Small, 7);
    for c in plan.conversions() {
        if let Some(o) = c.opportunity {
            assert_eq!(plan.conversion_of_opportunity(o), Some(c));
        }
    }
    assert_eq!(
        plan.opportunities(),
        plan.sizes.company_opportunities
            + plan
                .conversions()
                .iter()
                .filter(|c| c.opportunity.is_some())
                .count() as u32
    );
}

#[test]
fn every_company_has_a_contact_and_they_add_up() {
    let plan = Plan::new(Size::Medium, 3);
    let mut total = 0;
    for c in 0..plan.sizes.companies {
        let n = plan.contacts_of(c).len() as u32;
        assert!((1..=MAX_CONTACTS_PER_COMPANY).contains(&n));
        total += n;
    }
    assert_eq!(total, plan.sizes.contacts);
    let c = plan.company_of_contact(12_345);
    assert!(plan.contacts_of(c).contains(&12_345));
}
