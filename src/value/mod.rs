//! Values of the engine: JSON-like data that may be *unknown* until apply, and may be
//! *sensitive* (a secret that must never be shown).
//!
//! Both are marks that propagate: any computation with an unknown operand is unknown;
//! any computation with a sensitive operand is sensitive. `Display` and `Debug` of a
//! sensitive value print `(sensitive)`, so a secret cannot reach an output by accident.
//! Values have no `Serialize`: wire formats convert explicitly, choosing to redact.

use std::fmt;

mod map;
pub use map::Map;

/// Attributes of an object, by name.
pub type Attrs = Map;

/// A value.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (integers stay integers).
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A list (HCL tuple or list).
    List(Vec<Value>),
    /// A map (HCL object or map), ordered by key.
    Map(Map),
    /// Not known until a provider computes it at apply time.
    Unknown,
    /// A secret: the inner value is real, but never displayed.
    Sensitive(Box<Value>),
}

impl Value {
    /// Wraps a value as sensitive (idempotent).
    pub fn sensitive(v: Value) -> Value {
        match v {
            Value::Sensitive(_) => v,
            other => Value::Sensitive(Box::new(other)),
        }
    }

    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// An integer value.
    pub fn int(i: i64) -> Value {
        Value::Number(i.into())
    }

    /// True when this is a sensitive value.
    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True when this value, or anything inside it, is sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().any(Value::contains_sensitive),
            Value::Map(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    /// Collects the text of every sensitive value inside this one (strings and numbers
    /// under a sensitive mark), so a message that quotes one can have it removed.
    /// Values shorter than three characters are left out: removing them would garble a
    /// message more than it protects.
    pub fn collect_sensitive_strings(&self, out: &mut Vec<String>) {
        fn leaves(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::String(s) if s.chars().count() >= 3 => out.push(s.to_string()),
                Value::Number(n) if n.to_string().len() >= 3 => out.push(n.to_string()),
                Value::Sensitive(v) => leaves(v, out),
                Value::List(items) => items.iter().for_each(|i| leaves(i, out)),
                Value::Map(m) => m.values().for_each(|i| leaves(i, out)),
                _ => {}
            }
        }
        match self {
            Value::Sensitive(v) => leaves(v, out),
            Value::List(items) => items.iter().for_each(|i| i.collect_sensitive_strings(out)),
            Value::Map(m) => m.values().for_each(|i| i.collect_sensitive_strings(out)),
            _ => {}
        }
    }

    /// True when this value is unknown (looking through a sensitive mark).
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Sensitive(v) => v.is_unknown(),
            _ => false,
        }
    }

    /// True when this value, or anything inside it, is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Sensitive(v) => v.contains_unknown(),
            Value::List(items) => items.iter().any(Value::contains_unknown),
            Value::Map(m) => m.values().any(Value::contains_unknown),
            _ => false,
        }
    }

    /// The value without its sensitive mark (one level), and whether it had one.
    pub fn unmark(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(v) => (v, true),
            other => (other, false),
        }
    }

    /// The value with every sensitive mark removed, recursively (for providers and state,
    /// which need the real secret).
    pub fn reveal(&self) -> Value {
        match self {
            Value::Sensitive(v) => v.reveal(),
            Value::List(items) => Value::List(items.iter().map(Value::reveal).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.reveal())).collect()),
            other => other.clone(),
        }
    }

    /// The string inside, looking through a sensitive mark.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Sensitive(v) => v.as_str(),
            _ => None,
        }
    }

    /// The boolean inside, looking through a sensitive mark.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Sensitive(v) => v.as_bool(),
            _ => None,
        }
    }

    /// The integer inside, looking through a sensitive mark.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::Sensitive(v) => v.as_i64(),
            _ => None,
        }
    }

    /// The map inside, looking through a sensitive mark.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            Value::Sensitive(v) => v.as_map(),
            _ => None,
        }
    }

    /// The list inside, looking through a sensitive mark.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            Value::Sensitive(v) => v.as_list(),
            _ => None,
        }
    }

    /// True for `null` (looking through a sensitive mark).
    pub fn is_null(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Sensitive(v) => v.is_null(),
            _ => false,
        }
    }

    /// A short name of the type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Unknown => "unknown",
            Value::Sensitive(v) => v.type_name(),
        }
    }

    /// Converts from JSON (no marks).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.clone()),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON with secrets **revealed** (for state and providers only);
    /// `None` when anything is unknown.
    pub fn to_json_revealed(&self) -> Option<serde_json::Value> {
        Some(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(Value::to_json_revealed)
                    .collect::<Option<_>>()?,
            ),
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| v.to_json_revealed().map(|j| (k.clone(), j)))
                    .collect::<Option<_>>()?,
            ),
            Value::Unknown => return None,
            Value::Sensitive(v) => v.to_json_revealed()?,
        })
    }

    /// Converts to JSON for display: secrets become `"(sensitive)"`, unknowns
    /// `"(known after apply)"`.
    pub fn to_json_redacted(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json_redacted).collect())
            }
            Value::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.to_json_redacted()))
                    .collect(),
            ),
            Value::Unknown => serde_json::Value::String(UNKNOWN_TEXT.into()),
            Value::Sensitive(_) => serde_json::Value::String(SENSITIVE_TEXT.into()),
        }
    }

    /// The text form used when a value is interpolated into a string: strings as-is,
    /// numbers and booleans as literals; `None` for null, collections, unknowns.
    pub fn to_template_string(&self) -> Option<String> {
        match self {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// What a secret shows as.
pub const SENSITIVE_TEXT: &str = "(sensitive)";
/// What a value computed at apply time shows as.
pub const UNKNOWN_TEXT: &str = "(known after apply)";

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{s:?}"),
            Value::Unknown => f.write_str(UNKNOWN_TEXT),
            Value::Sensitive(_) => f.write_str(SENSITIVE_TEXT),
            other => write!(f, "{}", other.to_json_redacted()),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_display() {
        let v = Value::Map(Map::from([
            ("user".to_string(), Value::string("web")),
            (
                "password".to_string(),
                Value::sensitive(Value::string("hunter2")),
            ),
        ]));
        for shown in [
            format!("{v}"),
            format!("{v:?}"),
            v.to_json_redacted().to_string(),
        ] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("(sensitive)"), "{shown}");
        }
        assert_eq!(v.to_json_revealed().unwrap()["password"], "hunter2");
        assert!(v.contains_sensitive());
    }

    #[test]
    fn unknowns_are_tracked() {
        let v = Value::List(vec![Value::int(1), Value::sensitive(Value::Unknown)]);
        assert!(v.contains_unknown());
        assert!(v.to_json_revealed().is_none());
        assert_eq!(v.to_json_redacted(), serde_json::json!([1, "(sensitive)"]));
    }
}
