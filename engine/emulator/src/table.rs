//! A site's resources of one kind by id: found by hashing, listed in id
//! order.
//!
//! Every request looks resources up by id, several times (a server's view
//! reads its ports, their networks and security groups, its volumes): at
//! 10,000 VMs a `BTreeMap` walk of tens of thousands of string keys cost a
//! fifth of the emulator's CPU. Listing is rare (a list call, a quota sum)
//! and keeps the order the emulator has always shown, by id: the entries
//! are sorted when listed, so nothing a client sees depends on the hash.

use rustc_hash::FxHashMap;
use std::borrow::Borrow;
use std::hash::Hash;

/// Resources by id. The same calls as the `BTreeMap<String, T>` it
/// replaces: lookups by hash, iteration in ascending id order.
pub struct Table<T> {
    by_id: FxHashMap<String, T>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            by_id: FxHashMap::default(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<T> Table<T> {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get<Q>(&self, id: &Q) -> Option<&T>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.by_id.get(id)
    }

    pub fn get_mut<Q>(&mut self, id: &Q) -> Option<&mut T>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.by_id.get_mut(id)
    }

    pub fn contains_key<Q>(&self, id: &Q) -> bool
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.by_id.contains_key(id)
    }

    pub fn insert(&mut self, id: String, v: T) -> Option<T> {
        self.by_id.insert(id, v)
    }

    pub fn remove<Q>(&mut self, id: &Q) -> Option<T>
    where
        String: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.by_id.remove(id)
    }

    /// Id and resource, in id order.
    pub fn iter(&self) -> std::vec::IntoIter<(&String, &T)> {
        let mut all: Vec<(&String, &T)> = self.by_id.iter().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    /// Id and resource, in id order, to change.
    pub fn iter_mut(&mut self) -> std::vec::IntoIter<(&String, &mut T)> {
        let mut all: Vec<(&String, &mut T)> = self.by_id.iter_mut().collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    /// The resources, in id order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.iter().map(|(_, v)| v)
    }

    /// The resources, in id order, to change.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + ExactSizeIterator {
        self.iter_mut().map(|(_, v)| v)
    }

    /// The ids, in ascending order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.iter().map(|(k, _)| k)
    }

    /// The resources in no particular order: for counts and sums, which do
    /// not need the sort.
    pub fn values_unordered(&self) -> impl Iterator<Item = &T> {
        self.by_id.values()
    }

    /// The resources in no particular order, to change each the same way.
    pub fn values_unordered_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.by_id.values_mut()
    }

    /// Keeps the resources `keep` says yes to, asked in id order.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut T) -> bool) {
        let drop: Vec<String> = self
            .iter_mut()
            .filter_map(|(k, v)| (!keep(k, v)).then(|| k.clone()))
            .collect();
        for k in drop {
            self.by_id.remove(&k);
        }
    }
}

/// `table[id]`: the resource, which the caller knows is there (as a map's
/// index, it panics otherwise).
impl<T, Q> std::ops::Index<&Q> for Table<T>
where
    String: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    type Output = T;
    fn index(&self, id: &Q) -> &T {
        &self.by_id[id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_id_order_whatever_the_insertion_order() {
        let mut t = Table::default();
        for id in ["c", "a", "d", "b", "aa"] {
            t.insert(id.to_string(), id.len());
        }
        assert_eq!(
            t.keys().map(String::as_str).collect::<Vec<_>>(),
            ["a", "aa", "b", "c", "d"]
        );
        for v in t.values_mut() {
            *v += 1;
        }
        assert_eq!(t.values().copied().collect::<Vec<_>>(), [2, 3, 2, 2, 2]);
        assert_eq!(t.values().next_back(), Some(&2));
        t.retain(|k, _| k != "b");
        assert_eq!(
            t.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["a", "aa", "c", "d"]
        );
        assert_eq!(t.get("aa"), Some(&3));
        assert!(t.remove("aa").is_some() && !t.contains_key("aa"));
        assert_eq!(t.len(), 3);
    }
}
