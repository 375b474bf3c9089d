//! What the workload knows about the data: ids to read, records to advance (leads through
//! their statuses, opportunities through their stages), search terms, list cursors. Filled
//! from the API before a run and kept up to date from every response.

use std::sync::Mutex;

use rand::Rng;
use uuid::Uuid;

/// The default pipeline's open stages in order, then the two closed ones.
pub const STAGES: [&str; 4] = ["prospecting", "qualification", "proposal", "negotiation"];

/// A record whose current version is known, so it can be changed with `If-Match`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Versioned {
    pub id: Uuid,
    pub version: i64,
}

/// An open opportunity and the stage it is in (an index into [`STAGES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenDeal {
    pub id: Uuid,
    pub version: i64,
    pub stage: usize,
}

/// A bounded set of items: random picks for reads, take/put for records one request at a
/// time may change.
pub struct Pool<T> {
    items: Mutex<Vec<T>>,
    cap: usize,
}

impl<T: Clone> Pool<T> {
    pub fn new(cap: usize) -> Pool<T> {
        Pool {
            items: Mutex::new(Vec::new()),
            cap,
        }
    }

    pub fn len(&self) -> usize {
        self.items.lock().expect("pool").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds an item; past the cap it replaces a random one (the pool stays a sample).
    pub fn put(&self, item: T, rng: &mut impl Rng) {
        let mut v = self.items.lock().expect("pool");
        if v.len() < self.cap {
            v.push(item);
        } else {
            let i = rng.gen_range(0..v.len());
            v[i] = item;
        }
    }

    /// Adds without a random replacement (pools filled before the run).
    pub fn extend(&self, items: impl IntoIterator<Item = T>) {
        let mut v = self.items.lock().expect("pool");
        for item in items {
            if v.len() >= self.cap {
                break;
            }
            v.push(item);
        }
    }

    /// A random item, left in the pool.
    pub fn pick(&self, rng: &mut impl Rng) -> Option<T> {
        let v = self.items.lock().expect("pool");
        (!v.is_empty()).then(|| v[rng.gen_range(0..v.len())].clone())
    }

    /// A random item, taken out (no other request gets it until it is put back).
    pub fn take(&self, rng: &mut impl Rng) -> Option<T> {
        let mut v = self.items.lock().expect("pool");
        (!v.is_empty()).then(|| {
            let i = rng.gen_range(0..v.len());
            v.swap_remove(i)
        })
    }
}

/// Everything the workload knows.
pub struct Pools {
    pub companies: Pool<Uuid>,
    /// Contacts with their company, to link activities to both.
    pub contacts: Pool<(Uuid, Option<Uuid>)>,
    /// Companies whose version is known, for PATCH.
    pub editable_companies: Pool<Versioned>,
    pub leads_new: Pool<Uuid>,
    pub leads_assigned: Pool<Uuid>,
    pub leads_working: Pool<Uuid>,
    pub deals: Pool<OpenDeal>,
    pub search_terms: Pool<String>,
    /// `next_cursor`s seen on company lists, to page on.
    pub cursors: Pool<String>,
    /// Leads that name no company: converting one needs the company's data.
    pub leads_without_company: Mutex<std::collections::HashSet<Uuid>>,
}

impl Default for Pools {
    fn default() -> Self {
        Pools {
            companies: Pool::new(5_000),
            contacts: Pool::new(5_000),
            editable_companies: Pool::new(2_000),
            leads_new: Pool::new(2_000),
            leads_assigned: Pool::new(2_000),
            leads_working: Pool::new(2_000),
            deals: Pool::new(2_000),
            search_terms: Pool::new(500),
            cursors: Pool::new(200),
            leads_without_company: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_taken_item_is_out_until_put_back_and_the_cap_holds() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let p = Pool::new(3);
        p.extend([1, 2, 3, 4]);
        assert_eq!(p.len(), 3, "extend stops at the cap");
        let a = p.take(&mut rng).unwrap();
        assert_eq!(p.len(), 2);
        p.put(a, &mut rng);
        p.put(9, &mut rng);
        assert_eq!(p.len(), 3, "put past the cap replaces");
        let empty: Pool<u8> = Pool::new(1);
        assert!(empty.take(&mut rng).is_none() && empty.pick(&mut rng).is_none());
    }
}
