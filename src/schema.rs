//! The kinds' schemas: what each attribute of a kind is (required, optional, computed,
//! force-new, sensitive, its type and default) and how the kind's objects prove they are
//! baton's. Pure data, below the stages that read it (module loading, evaluation, the
//! plan): they see the kinds through [`Kinds`], never the providers that serve them
//! (and the systems' client libraries those hold).

use crate::value::{Attrs, Value};

/// The type of an attribute, checked when a module is loaded and when a plan is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A string.
    String,
    /// A number.
    Number,
    /// A boolean.
    Bool,
    /// A map of strings (or any values).
    Map,
    /// A list.
    List,
    /// Anything.
    Any,
}

impl AttrType {
    /// Name for messages.
    pub fn name(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Number => "number",
            AttrType::Bool => "bool",
            AttrType::Map => "map",
            AttrType::List => "list",
            AttrType::Any => "any",
        }
    }

    /// True when `v` (known, unmarked) has this type.
    pub fn accepts(self, v: &Value) -> bool {
        let (v, _) = v.unmark();
        matches!(
            (self, v),
            (AttrType::Any, _)
                | (_, Value::Null)
                | (_, Value::Unknown)
                | (AttrType::String, Value::String(_))
                | (AttrType::Number, Value::Number(_))
                | (AttrType::Bool, Value::Bool(_))
                | (AttrType::Map, Value::Map(_))
                | (AttrType::List, Value::List(_))
        )
    }
}

/// How an attribute gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The module must set it.
    Required,
    /// The module may set it; otherwise the default (if any) applies.
    Optional,
    /// Only the provider sets it.
    Computed,
}

/// One attribute of a kind.
#[derive(Debug, Clone)]
pub struct AttrSchema {
    /// Name.
    pub name: &'static str,
    /// Type.
    pub ty: AttrType,
    /// Required, optional or computed.
    pub presence: Presence,
    /// Changing it means destroying and re-creating the object.
    pub force_new: bool,
    /// A secret.
    pub sensitive: bool,
    /// A computed attribute the provider computes again on every update (so a plan
    /// shows it as known after apply), rather than one fixed at create.
    pub volatile: bool,
    /// The value used when an optional attribute is not set.
    pub default: Option<fn() -> Value>,
    /// What it is.
    pub description: &'static str,
}

impl AttrSchema {
    /// A required attribute.
    pub const fn required(
        name: &'static str,
        ty: AttrType,
        description: &'static str,
    ) -> AttrSchema {
        AttrSchema {
            name,
            ty,
            presence: Presence::Required,
            force_new: false,
            sensitive: false,
            volatile: false,
            default: None,
            description,
        }
    }
    /// An optional attribute.
    pub const fn optional(
        name: &'static str,
        ty: AttrType,
        description: &'static str,
    ) -> AttrSchema {
        AttrSchema {
            name,
            ty,
            presence: Presence::Optional,
            force_new: false,
            sensitive: false,
            volatile: false,
            default: None,
            description,
        }
    }
    /// A computed attribute.
    pub const fn computed(
        name: &'static str,
        ty: AttrType,
        description: &'static str,
    ) -> AttrSchema {
        AttrSchema {
            name,
            ty,
            presence: Presence::Computed,
            force_new: false,
            sensitive: false,
            volatile: false,
            default: None,
            description,
        }
    }
    /// Marks it force-new.
    pub const fn force_new(mut self) -> AttrSchema {
        self.force_new = true;
        self
    }
    /// Marks a computed attribute as recomputed on every update.
    pub const fn volatile(mut self) -> AttrSchema {
        self.volatile = true;
        self
    }
    /// Marks it sensitive.
    pub const fn sensitive(mut self) -> AttrSchema {
        self.sensitive = true;
        self
    }
    /// Gives it a default.
    pub const fn default(mut self, f: fn() -> Value) -> AttrSchema {
        self.default = Some(f);
        self
    }
}

/// The schema of a kind.
#[derive(Debug, Clone)]
pub struct KindSchema {
    /// The kind, e.g. `random_password`.
    pub kind: &'static str,
    /// The provider serving it.
    pub provider: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Attributes.
    pub attributes: Vec<AttrSchema>,
    /// Replace by creating the new object before deleting the old one.
    pub create_before_destroy: bool,
}

impl KindSchema {
    /// The attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&AttrSchema> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Names of its sensitive attributes.
    pub fn sensitive_names(&self) -> Vec<String> {
        self.attributes
            .iter()
            .filter(|a| a.sensitive)
            .map(|a| a.name.to_string())
            .collect()
    }
}

/// How a kind proves ownership of its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// The provider writes the owner's marker with the object and can add it to an
    /// existing one (`mark`).
    Marker,
    /// A secret baton generated for the object (its password) proves it; nothing can be
    /// added to an existing object.
    Secret,
    /// The object lives only in baton's state.
    Intrinsic,
    /// A relation between objects (a grant, permissions): baton's when an object it joins
    /// carries a marker of the same state.
    Relation,
    /// The system holds no proof: baton trusts its record, refuses to take over an
    /// existing object at create, and says so in docs/state.md.
    None,
}

/// What the pure stages know of the kinds a run can use: their schemas, how each proves
/// ownership, and the check a provider makes of a configuration before anything is done.
/// The provider registry implements it.
pub trait Kinds: Send + Sync {
    /// The schema of a kind.
    fn schema(&self, kind: &str) -> Option<&KindSchema>;

    /// All kinds, sorted.
    fn kind_names(&self) -> Vec<&'static str>;

    /// How objects of `kind` prove they are baton's (`None` for an unknown kind).
    fn proof(&self, kind: &str) -> Option<Proof>;

    /// Refuses a configuration the kind's provider will never act on, with the reason
    /// (e.g. a path outside the directories it may write); called when a plan is made.
    fn check(&self, kind: &str, config: &Attrs) -> Result<(), String>;
}
