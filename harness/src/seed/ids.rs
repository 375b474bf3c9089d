//! Record ids of the bulk path: computed, not stored, so that any table can reference any
//! record by its index. Laid out like the application's own ids (UUID v7: the creation
//! time in milliseconds first, so they sort by creation as the API's do), with the rest of
//! the bits a hash of the seed, the tenant, the kind and the index.

use uuid::Uuid;

use super::generator::{K_ACTIVITY, K_COMPANY, K_CONTACT, K_LEAD, K_OPPORTUNITY, Plan};
use super::plan::mix;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Ids {
    key: u64,
}

impl Ids {
    pub(crate) fn new(plan: &Plan, tenant: Uuid) -> Ids {
        let t = tenant.as_u128();
        Ids {
            key: mix(plan.seed ^ mix(t as u64) ^ mix((t >> 64) as u64)),
        }
    }

    fn make(&self, kind: u64, index: u32, at: chrono::DateTime<chrono::Utc>) -> Uuid {
        let ms = at.timestamp_millis() as u64;
        let r1 = mix(self.key ^ (kind << 40) ^ u64::from(index));
        let r2 = mix(r1 ^ 0xA5A5_5A5A);
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        b[6] = 0x70 | (r1 as u8 & 0x0F);
        b[7] = (r1 >> 8) as u8;
        b[8] = 0x80 | ((r1 >> 16) as u8 & 0x3F);
        b[9] = (r1 >> 24) as u8;
        b[10..16].copy_from_slice(&r2.to_be_bytes()[..6]);
        Uuid::from_bytes(b)
    }

    pub(crate) fn company(&self, plan: &Plan, c: u32) -> Uuid {
        self.make(K_COMPANY, c, plan.company_created(c))
    }

    pub(crate) fn contact(&self, plan: &Plan, i: u32) -> Uuid {
        self.make(K_CONTACT, i, plan.contact_created(i))
    }

    pub(crate) fn lead(&self, plan: &Plan, l: u32) -> Uuid {
        self.make(K_LEAD, l, plan.lead_created(l))
    }

    pub(crate) fn opportunity(&self, plan: &Plan, o: u32) -> Uuid {
        self.make(K_OPPORTUNITY, o, plan.opportunity_created(o))
    }

    pub(crate) fn activity(&self, plan: &Plan, a: u32) -> Uuid {
        self.make(K_ACTIVITY, a, plan.activity_created(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Size;

    #[test]
    fn ids_are_version_7_unique_and_repeatable() {
        let plan = Plan::new(Size::Small, 1);
        let ids = Ids::new(&plan, Uuid::nil());
        let all: std::collections::HashSet<Uuid> = (0..plan.sizes.contacts)
            .map(|i| ids.contact(&plan, i))
            .chain((0..plan.sizes.companies).map(|c| ids.company(&plan, c)))
            .collect();
        assert_eq!(
            all.len(),
            (plan.sizes.contacts + plan.sizes.companies) as usize
        );
        let id = ids.contact(&plan, 3);
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id, Ids::new(&plan, Uuid::nil()).contact(&plan, 3));
        assert_ne!(id, Ids::new(&plan, Uuid::from_u128(1)).contact(&plan, 3));
    }
}
