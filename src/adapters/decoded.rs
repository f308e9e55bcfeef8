//! Records already decoded, kept beside the store so a long-lived process (the team server)
//! does not parse the same JSON again for every request that reads it.
//!
//! The cache never decides what is true: each read still fetches the stored bytes, and a kept
//! record is used only when it was decoded from exactly those bytes. So a write by any path
//! (another handle, a repair, another process before this one opened the store) can never be
//! hidden by it; at worst a changed record is decoded again. Comparing a few kilobytes costs
//! far less than parsing them.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// At most this many records are kept (a few megabytes); when full, the cache starts again
/// empty (the records a busy server reads again are back after one request each).
const CAPACITY: usize = 1024;

/// Decoded values by key, each with the bytes it was decoded from.
pub struct Decoded<K, V> {
    kept: Mutex<HashMap<K, (sled::IVec, Arc<V>)>>,
}

impl<K: Eq + Hash + Copy, V> Default for Decoded<K, V> {
    fn default() -> Self {
        Decoded {
            kept: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Copy, V> Decoded<K, V> {
    /// The value decoded from `bytes`: the one kept if it came from the same bytes, else
    /// `decode`'s (kept for next time when it succeeds).
    pub fn get_or_decode<E>(
        &self,
        key: K,
        bytes: sled::IVec,
        decode: impl FnOnce(&[u8]) -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        if let Some((seen, value)) = self.lock().get(&key)
            && *seen == bytes
        {
            return Ok(value.clone());
        }
        let value = Arc::new(decode(&bytes)?);
        self.keep(key, bytes, value.clone());
        Ok(value)
    }

    /// Keeps `value` as what `bytes` decode to (a writer that has both in hand).
    pub fn keep(&self, key: K, bytes: sled::IVec, value: Arc<V>) {
        let mut kept = self.lock();
        if kept.len() >= CAPACITY {
            kept.clear();
        }
        kept.insert(key, (bytes, value));
    }

    /// A poisoned lock only means another reader panicked while holding it; what it guards is
    /// a cache, correct by construction (see the module comment).
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (sled::IVec, Arc<V>)>> {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_value_is_decoded_again_when_its_bytes_change() {
        let cache: Decoded<u32, String> = Decoded::default();
        let decodes = Cell::new(0);
        let decode = |b: &[u8]| -> Result<String, ()> {
            decodes.set(decodes.get() + 1);
            Ok(String::from_utf8_lossy(b).into_owned())
        };
        let a = cache
            .get_or_decode(1, sled::IVec::from("one"), decode)
            .unwrap();
        let b = cache
            .get_or_decode(1, sled::IVec::from("one"), decode)
            .unwrap();
        assert_eq!((a.as_str(), b.as_str(), decodes.get()), ("one", "one", 1));
        let c = cache
            .get_or_decode(1, sled::IVec::from("two"), decode)
            .unwrap();
        assert_eq!((c.as_str(), decodes.get()), ("two", 2));
        // Another key is its own entry.
        let d = cache
            .get_or_decode(2, sled::IVec::from("one"), decode)
            .unwrap();
        assert_eq!((d.as_str(), decodes.get()), ("one", 3));
    }

    #[test]
    fn a_failed_decode_is_not_kept() {
        let cache: Decoded<u32, String> = Decoded::default();
        let bad = cache.get_or_decode(1, sled::IVec::from("x"), |_| Err::<String, _>("bad"));
        assert_eq!(bad.unwrap_err(), "bad");
        let good = cache
            .get_or_decode(1, sled::IVec::from("x"), |_| Ok::<_, ()>("ok".to_string()))
            .unwrap();
        assert_eq!(good.as_str(), "ok");
    }
}
