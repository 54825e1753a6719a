//! [`Map`]: the map of a [`Value::Map`](super::Value::Map) and of a resource's
//! attributes, ordered by key.
//!
//! A sorted vector ([`litemap`]) rather than a `BTreeMap`: the maps of a plan are small
//! (a resource's attributes, a module's params and outputs: a handful of keys), and a
//! `BTreeMap` of any size below twelve keys is one 630-byte node, where the vector holds
//! exactly its entries. A 10,000-resource plan holds tens of thousands of them.
//! Lookups are a binary search; iteration is in key order, as before, so everything
//! rendered from a map stays deterministic.

use std::fmt;
use std::ops::{Deref, DerefMut, Index};

use litemap::LiteMap;

use super::Value;

/// A map from string keys to values, iterated in key order.
#[derive(Clone, PartialEq, Default)]
pub struct Map(LiteMap<String, Value>);

impl Map {
    /// An empty map.
    pub const fn new() -> Map {
        Map(LiteMap::new_vec())
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Map {
        Map(LiteMap::with_capacity(n))
    }

    /// The values, mutably, in key order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    /// The values, in key order.
    pub fn into_values(self) -> impl Iterator<Item = Value> {
        self.0.into_iter().map(|(_, v)| v)
    }

    /// The keys, in order.
    pub fn into_keys(self) -> impl Iterator<Item = String> {
        self.0.into_iter().map(|(k, _)| k)
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut Value) -> bool) {
        let entries = std::mem::take(&mut self.0).into_tuple_vec();
        let kept: Vec<(String, Value)> = entries
            .into_iter()
            .filter_map(|(k, mut v)| keep(&k, &mut v).then_some((k, v)))
            .collect();
        self.0 = LiteMap::from_sorted_store_unchecked(kept);
    }

    /// Moves every entry of `other` into this map (`other`'s value wins on a shared key).
    pub fn append(&mut self, other: &mut Map) {
        self.0.extend(std::mem::take(other).0);
    }

    /// The first entry, by key.
    pub fn first_key_value(&self) -> Option<(&String, &Value)> {
        self.0.first()
    }
}

impl Deref for Map {
    type Target = LiteMap<String, Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Map {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl FromIterator<(String, Value)> for Map {
    /// Sorts once (when the entries do not come in order); a repeated key keeps its
    /// last value, as `BTreeMap` does.
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        Map(LiteMap::from_iter(iter))
    }
}

impl Extend<(String, Value)> for Map {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl<const N: usize> From<[(String, Value); N]> for Map {
    fn from(entries: [(String, Value); N]) -> Map {
        entries.into_iter().collect()
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a Value);
    type IntoIter = <&'a LiteMap<String, Value> as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a mut Map {
    type Item = (&'a String, &'a mut Value);
    type IntoIter = <&'a mut LiteMap<String, Value> as IntoIterator>::IntoIter;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
    }
}

impl Index<&str> for Map {
    type Output = Value;
    /// # Panics
    /// When `key` is not in the map, as `BTreeMap` does.
    fn index(&self, key: &str) -> &Value {
        self.0.get(key).expect("no entry found for key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_in_key_order_whatever_the_insertion_order() {
        let mut m = Map::new();
        for k in ["b", "c", "a"] {
            m.insert(k.to_string(), Value::string(k));
        }
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let collected: Map = [("z", 1), ("y", 2), ("z", 3)]
            .into_iter()
            .map(|(k, n)| (k.to_string(), Value::Number(n.into())))
            .collect();
        // A repeated key keeps its last value.
        assert_eq!(collected.len(), 2);
        assert_eq!(collected["z"], Value::Number(3.into()));
        assert_eq!(
            collected.first_key_value().map(|(k, _)| k.as_str()),
            Some("y")
        );
    }

    #[test]
    fn retain_and_append_keep_the_order() {
        let mut m: Map = ["a", "b", "c", "d"]
            .into_iter()
            .map(|k| (k.to_string(), Value::string(k)))
            .collect();
        m.retain(|k, _| k != "b");
        let mut other: Map = [
            ("b".to_string(), Value::Null),
            ("a".to_string(), Value::Null),
        ]
        .into();
        m.append(&mut other);
        assert!(other.is_empty());
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a", "b", "c", "d"]);
        assert_eq!(m["a"], Value::Null);
    }
}
