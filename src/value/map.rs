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
        let keys: Vec<&str> = collected.keys().map(String::as_str).collect();
        assert_eq!(keys, ["y", "z"]);
    }
}
