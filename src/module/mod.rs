//! Resource modules: HCL files that say how a Score resource type is provisioned.
//!
//! A module is one `.hcl` file with one `provisions "TYPE"` block, `param` blocks (typed,
//! with defaults and validations), `resource "KIND" "NAME"` blocks of built-in provider
//! kinds, and `output` blocks that `${resources.NAME.OUTPUT}` reads. `load` checks all of
//! it against the provider schemas and the output contract of the Score type, with
//! file:line:col diagnostics; `matching` picks the module for a resource; `library` is
//! the built-in set embedded in the binary. This module does no I/O beyond reading the
//! module files in `load_dir`.

pub mod contract;
pub mod library;
pub mod load;
pub mod matching;

use std::collections::BTreeMap;
use std::path::PathBuf;

use hcl_edit::expr::Expression;

use crate::diag::{FileId, Span};
use crate::value::Value;

/// Where a module comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file of the project (searched first).
    Project(PathBuf),
    /// The built-in library.
    Builtin(&'static str),
}

impl Origin {
    /// A name for messages.
    pub fn describe(&self) -> String {
        match self {
            Origin::Project(p) => p.display().to_string(),
            Origin::Builtin(p) => format!("built-in modules/{p}"),
        }
    }
}

/// A loaded, checked module.
#[derive(Debug, Clone)]
pub struct Module {
    /// Its name: the file's path under its modules directory, without `.hcl`.
    pub name: String,
    /// Where it comes from.
    pub origin: Origin,
    /// Its source in the run's `Sources`.
    pub file: FileId,
    /// What it provisions.
    pub provisions: Provisions,
    /// Parameters, in declaration order.
    pub params: Vec<Param>,
    /// Primitive resources, in declaration order.
    pub resources: Vec<ResourceBlock>,
    /// Outputs, in declaration order.
    pub outputs: Vec<OutputBlock>,
}

/// The `provisions "TYPE"` block.
#[derive(Debug, Clone)]
pub struct Provisions {
    /// The Score resource type.
    pub kind: String,
    /// Only this class; `None` matches any class.
    pub class: Option<String>,
    /// Only this shared-resource id.
    pub id: Option<String>,
    /// Only these environments; `None` for every environment.
    pub environments: Option<Vec<String>>,
    /// What it does, for `baton modules`.
    pub description: String,
    /// `stateful = true`: its objects hold data (a database, a bucket, a volume) that a
    /// delete or replace loses; plans call that out.
    pub stateful: bool,
    /// Where the block is.
    pub span: Option<Span>,
}

/// The type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `string`.
    String,
    /// `number`.
    Number,
    /// `bool`.
    Bool,
    /// `list` / `list(…)`.
    List,
    /// `map` / `map(…)` / `object`.
    Map,
    /// `any`.
    Any,
}

impl ParamType {
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Number => "number",
            ParamType::Bool => "bool",
            ParamType::List => "list",
            ParamType::Map => "map",
            ParamType::Any => "any",
        }
    }

    /// [`convert`](Self::convert) of a value the caller gives up: returned as it is,
    /// without a copy, when it already has the type.
    pub fn convert_owned(self, v: Value) -> Result<Value, String> {
        let fits = matches!(
            (self, v.unmark().0),
            (_, Value::Null | Value::Unknown)
                | (ParamType::Any, _)
                | (ParamType::String, Value::String(_))
                | (ParamType::Number, Value::Number(_))
                | (ParamType::Bool, Value::Bool(_))
                | (ParamType::List, Value::List(_))
                | (ParamType::Map, Value::Map(_))
        );
        if fits { Ok(v) } else { self.convert(&v) }
    }

    /// Converts a known value to this type where HCL would (`"5"` → 5), or says why not.
    pub fn convert(self, v: &Value) -> Result<Value, String> {
        let (inner, sensitive) = v.unmark();
        let converted = match (self, inner) {
            (_, Value::Null) | (_, Value::Unknown) | (ParamType::Any, _) => inner.clone(),
            (ParamType::String, Value::String(_)) => inner.clone(),
            (ParamType::String, Value::Number(n)) => Value::String(n.to_string()),
            (ParamType::String, Value::Bool(b)) => Value::String(b.to_string()),
            (ParamType::Number, Value::Number(_)) => inner.clone(),
            (ParamType::Number, Value::String(s)) => match s.parse::<i64>() {
                Ok(i) => Value::int(i),
                Err(_) => match s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    Some(n) => Value::Number(n),
                    None => return Err(format!("expected a number, found the string {s:?}")),
                },
            },
            (ParamType::Bool, Value::Bool(_)) => inner.clone(),
            (ParamType::Bool, Value::String(s)) if s == "true" || s == "false" => {
                Value::Bool(s == "true")
            }
            (ParamType::List, Value::List(_)) => inner.clone(),
            (ParamType::Map, Value::Map(_)) => inner.clone(),
            (t, other) => {
                return Err(format!(
                    "expected {}, found {}",
                    t.name(),
                    other.type_name()
                ));
            }
        };
        Ok(if sensitive {
            Value::sensitive(converted)
        } else {
            converted
        })
    }
}

/// A `validation` block of a param.
#[derive(Debug, Clone)]
pub struct Validation {
    /// Must be true.
    pub condition: Expression,
    /// Shown when it is not.
    pub error_message: String,
    /// Where the condition is.
    pub span: Option<Span>,
}

/// A `param` block.
#[derive(Debug, Clone)]
pub struct Param {
    /// Name (`param.NAME`).
    pub name: String,
    /// Type.
    pub ty: ParamType,
    /// The default; `None` means the param is required.
    pub default: Option<Value>,
    /// What it is.
    pub description: String,
    /// A secret.
    pub sensitive: bool,
    /// Checks on the value.
    pub validations: Vec<Validation>,
    /// Where the block is.
    pub span: Option<Span>,
}

/// A `resource "KIND" "NAME"` block.
#[derive(Debug, Clone)]
pub struct ResourceBlock {
    /// The kind, e.g. `random_password`.
    pub kind: String,
    /// The name in the module.
    pub name: String,
    /// Attribute expressions.
    pub attributes: BTreeMap<String, (Expression, Option<Span>)>,
    /// Extra ordering: `kind.name` of resources of this module it must follow.
    pub depends_on: Vec<(String, String)>,
    /// The `lifecycle` block.
    pub lifecycle: Lifecycle,
    /// Where the block is.
    pub span: Option<Span>,
}

/// A resource's `lifecycle` block. Each rule is an expression, evaluated when planning
/// with the module's scope (`environment.*`, `param.*`, `score.*`, …), so a rule can
/// depend on the environment (e.g. `prevent_destroy = environment.name == "prod"`).
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// A plan that would delete or replace the object fails.
    pub prevent_destroy: Option<(Expression, Option<Span>)>,
    /// Attributes whose changes in configuration are ignored after create.
    pub ignore_changes: Vec<String>,
    /// Replace by creating the new object before deleting the old one.
    pub create_before_destroy: Option<(Expression, Option<Span>)>,
    /// Replace when the value of any of these expressions changes.
    pub replace_triggered_by: Option<(Expression, Option<Span>)>,
}

/// An `output` block.
#[derive(Debug, Clone)]
pub struct OutputBlock {
    /// Name; `*` means "every key of the value's map is an output".
    pub name: String,
    /// Its value.
    pub value: Expression,
    /// A secret.
    pub sensitive: bool,
    /// Where the block is.
    pub span: Option<Span>,
}

/// The `score.*` variables a module can read.
pub const SCORE_KEYS: &[&str] = &[
    "class", "id", "resource", "suffix", "type", "uid", "workload",
];
