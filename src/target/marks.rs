//! Manifest text from resolved values, tracking the marks the text picked up.
//!
//! Every value a renderer writes into a manifest goes through [`Marks::text`], so the
//! manifest's content can carry the marks of its inputs: unknown if any input was unknown,
//! sensitive if any input was a secret. Renderers keep one [`Marks`] per manifest.

use crate::value::{UNKNOWN_TEXT, Value};

use super::SENSITIVE_MODE;

/// The marks collected while building one manifest.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marks {
    /// Some input was unknown: the manifest cannot be rendered yet.
    pub unknown: bool,
    /// Some input was a secret: the manifest is sensitive.
    pub sensitive: bool,
}

impl Marks {
    /// Marks for a manifest that holds secrets by design (a Secret, an env file).
    pub fn secret() -> Marks {
        Marks {
            unknown: false,
            sensitive: true,
        }
    }

    /// The text of `v` to write into the manifest, recording its marks. An unknown value
    /// gives a placeholder text; the manifest ends up unknown anyway.
    pub fn text(&mut self, v: &Value) -> String {
        self.sensitive |= v.contains_sensitive();
        plain_text(v).unwrap_or_else(|| {
            self.unknown = true;
            UNKNOWN_TEXT.to_string()
        })
    }

    /// The manifest content for `text` rendered under these marks.
    pub fn content(&self, text: String) -> Value {
        if self.unknown {
            Value::Unknown
        } else if self.sensitive {
            Value::sensitive(Value::String(text))
        } else {
            Value::String(text)
        }
    }

    /// The file mode: `0o600` when sensitive, else `default`.
    pub fn mode(&self, default: Option<u32>) -> Option<u32> {
        if self.sensitive {
            Some(SENSITIVE_MODE)
        } else {
            default
        }
    }
}

/// The text form of a resolved value with secrets revealed; `None` when anything in it is
/// unknown. Scalars print as literals, `null` as empty, collections as compact JSON (an
/// environment variable or a file can only hold text).
pub(crate) fn plain_text(v: &Value) -> Option<String> {
    match v.reveal() {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s),
        Value::Unknown => None,
        other => other
            .to_template_string()
            .or_else(|| other.to_json_revealed().map(|j| j.to_string())),
    }
}
