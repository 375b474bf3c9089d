//! Record and event ids, and how a keyed request gets the same ids when it runs again.
//!
//! Outside a keyed request an id is a fresh UUID v7. Inside one (a POST or PATCH carrying an
//! `Idempotency-Key`, see `crm_http::idempotency`), ids are derived from the tenant, the key
//! and a counter: if the process died after committing but before storing its response, the
//! request is run again and produces the very same ids, so its inserts find their own rows
//! instead of writing twice ([`crate::record::insert`], [`crate::outbox::append`]).

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use uuid::Uuid;

struct Keyed {
    seed: [u8; 32],
    next: AtomicU64,
}

tokio::task_local! {
    static KEYED: Keyed;
}

/// Runs `f` with ids derived from `seed` (e.g. tenant id and idempotency key).
pub async fn keyed<F: std::future::Future>(seed: &str, f: F) -> F::Output {
    let keyed = Keyed {
        seed: Sha256::digest(seed.as_bytes()).into(),
        next: AtomicU64::new(0),
    };
    KEYED.scope(keyed, f).await
}

/// Whether ids are being derived (inside [`keyed`]).
pub fn is_keyed() -> bool {
    KEYED.try_with(|_| ()).is_ok()
}

/// A new id: derived inside a keyed request, else UUID v7 (time-ordered).
pub fn new_id() -> Uuid {
    KEYED
        .try_with(|k| {
            let n = k.next.fetch_add(1, Ordering::Relaxed);
            let mut h = Sha256::new();
            h.update(k.seed);
            h.update(n.to_be_bytes());
            let digest = h.finalize();
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest[..16]);
            Uuid::new_v8(bytes)
        })
        .unwrap_or_else(|_| Uuid::now_v7())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_keyed_run_repeats_its_ids_and_others_do_not() {
        let first = keyed("t:k", async { (new_id(), new_id()) }).await;
        let again = keyed("t:k", async { (new_id(), new_id()) }).await;
        let other = keyed("t:other", async { new_id() }).await;
        assert_eq!(first, again);
        assert_ne!(first.0, first.1);
        assert_ne!(first.0, other);
        assert_ne!(new_id(), new_id());
        assert!(!is_keyed());
    }
}
