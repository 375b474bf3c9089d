//! Records of things in flight (requests, calls, frames, event flows), addressed by an index
//! and a generation: a late event that names a record already freed and reused finds a
//! different generation and is ignored, which is how timeouts, kills and abandoned siblings
//! cancel work without searching for it.

/// A record's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Id {
    idx: u32,
    epoch: u32,
}

struct Slot<T> {
    epoch: u32,
    val: Option<T>,
}

pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    pub(crate) fn insert(&mut self, val: T) -> Id {
        self.live += 1;
        if let Some(idx) = self.free.pop() {
            let slot = &mut self.slots[idx as usize];
            slot.val = Some(val);
            return Id {
                idx,
                epoch: slot.epoch,
            };
        }
        let idx = self.slots.len() as u32;
        self.slots.push(Slot {
            epoch: 0,
            val: Some(val),
        });
        Id { idx, epoch: 0 }
    }

    pub(crate) fn get(&self, id: Id) -> Option<&T> {
        let slot = self.slots.get(id.idx as usize)?;
        if slot.epoch == id.epoch {
            slot.val.as_ref()
        } else {
            None
        }
    }

    pub(crate) fn get_mut(&mut self, id: Id) -> Option<&mut T> {
        let slot = self.slots.get_mut(id.idx as usize)?;
        if slot.epoch == id.epoch {
            slot.val.as_mut()
        } else {
            None
        }
    }

    pub(crate) fn remove(&mut self, id: Id) -> Option<T> {
        let slot = self.slots.get_mut(id.idx as usize)?;
        if slot.epoch != id.epoch || slot.val.is_none() {
            return None;
        }
        slot.epoch = slot.epoch.wrapping_add(1);
        self.free.push(id.idx);
        self.live -= 1;
        slot.val.take()
    }

    /// Records alive now.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// The ids of the live records that satisfy `keep`, in index order.
    pub(crate) fn ids_where(&self, mut keep: impl FnMut(&T) -> bool) -> Vec<Id> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.val {
                Some(v) if keep(v) => Some(Id {
                    idx: i as u32,
                    epoch: s.epoch,
                }),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_id_no_longer_reaches_the_slot_that_reused_it() {
        let mut s = Slab::new();
        let a = s.insert("a");
        assert_eq!(s.remove(a), Some("a"));
        let b = s.insert("b");
        assert_eq!(s.get(a), None);
        assert_eq!(s.get(b), Some(&"b"));
        assert_eq!(s.remove(a), None);
        assert_eq!(s.len(), 1);
    }
}
