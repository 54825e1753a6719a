//! The built-in function library: the table of functions, arity checks, argument
//! conversion helpers, and the handling of unknown and sensitive arguments that every
//! function shares. The functions themselves live in the submodules by theme.

mod collections;
mod encoding;
mod format;
mod numeric;
mod strings;
mod types;

use serde_json::Number;

use super::convert::{self, mark};
use super::number;
use crate::value::Value;

/// An error from a function: the message and, when it is about one argument, its index
/// (so the evaluator can point at that argument).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FnError {
    pub msg: String,
    pub arg: Option<usize>,
}

impl FnError {
    /// An error about the call as a whole.
    pub(crate) fn call(msg: impl Into<String>) -> FnError {
        FnError {
            msg: msg.into(),
            arg: None,
        }
    }

    /// An error about argument `i`.
    pub(crate) fn arg(i: usize, msg: impl Into<String>) -> FnError {
        FnError {
            msg: msg.into(),
            arg: Some(i),
        }
    }
}

pub(crate) type FnResult = Result<Value, FnError>;

/// How a function treats marked arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marks {
    /// Looks at whole values: any unknown inside an argument makes the result unknown;
    /// any secret inside makes the whole result sensitive. The function sees no marks.
    Deep,
    /// Moves elements around: only a wholly unknown argument makes the result unknown,
    /// and only a sensitive argument (not its elements) marks the whole result. The
    /// function sees the elements with their marks and keeps them.
    Shallow,
    /// The function handles marks itself.
    Raw,
}

/// A built-in function.
pub(crate) struct Func {
    name: &'static str,
    min: usize,
    max: Option<usize>,
    marks: Marks,
    run: fn(&Args) -> FnResult,
}

/// The arguments of one call, with conversion helpers that report which argument is
/// wrong.
pub(crate) struct Args {
    vals: Vec<Value>,
    /// True when any argument holds a secret: messages must not show values.
    secret: bool,
    /// Bytes the evaluation may still build (see `expr::budget`).
    room: usize,
}

const NULL: Value = Value::Null;

impl Args {
    /// Argument `i` (null when absent).
    pub(crate) fn get(&self, i: usize) -> &Value {
        self.vals.get(i).unwrap_or(&NULL)
    }

    /// The number of arguments.
    pub(crate) fn len(&self) -> usize {
        self.vals.len()
    }

    /// All arguments.
    pub(crate) fn all(&self) -> &[Value] {
        &self.vals
    }

    /// Whether any argument holds a secret.
    pub(crate) fn secret(&self) -> bool {
        self.secret
    }

    /// Refuses a result of about `bytes` bytes when the evaluation has no room for it,
    /// before it is built.
    pub(crate) fn fits(&self, bytes: usize) -> Result<(), FnError> {
        if bytes > self.room {
            return Err(FnError::call(format!(
                "the result would be about {} MiB, more than the {} MiB left of the {} MiB of values one evaluation may build",
                bytes.div_ceil(1 << 20),
                self.room >> 20,
                crate::expr::budget::LIMIT >> 20
            )));
        }
        Ok(())
    }

    /// A value for a message: `(sensitive value)` if the call involves a secret.
    pub(crate) fn show(&self, v: &Value) -> String {
        convert::show(v, self.secret)
    }

    fn not_null(&self, i: usize, what: &str) -> Result<&Value, FnError> {
        let v = self.get(i);
        if v.is_null() {
            return Err(FnError::arg(i, format!("expected {what}, found null")));
        }
        Ok(v)
    }

    /// Argument `i` as a string (numbers and booleans convert).
    pub(crate) fn str(&self, i: usize) -> Result<String, FnError> {
        convert::to_string(self.not_null(i, "a string")?).map_err(|m| FnError::arg(i, m))
    }

    /// Argument `i` as a number (numeric strings convert).
    pub(crate) fn num(&self, i: usize) -> Result<Number, FnError> {
        convert::to_number(self.not_null(i, "a number")?, self.secret)
            .map_err(|m| FnError::arg(i, m))
    }

    /// Argument `i` as a float.
    pub(crate) fn float(&self, i: usize) -> Result<f64, FnError> {
        self.num(i).map(|n| number::to_f64(&n))
    }

    /// Argument `i` as a whole number.
    pub(crate) fn int(&self, i: usize) -> Result<i64, FnError> {
        let n = self.num(i)?;
        number::to_i64(&n).ok_or_else(|| {
            FnError::arg(
                i,
                format!(
                    "expected a whole number, found {}",
                    self.show(&Value::Number(n))
                ),
            )
        })
    }

    /// Argument `i` as a boolean.
    pub(crate) fn bool(&self, i: usize) -> Result<bool, FnError> {
        convert::to_bool(self.not_null(i, "a bool")?, self.secret).map_err(|m| FnError::arg(i, m))
    }

    /// Argument `i` as a list (elements keep their marks).
    pub(crate) fn list(&self, i: usize) -> Result<&[Value], FnError> {
        let v = self.get(i);
        v.as_list()
            .ok_or_else(|| FnError::arg(i, convert::expected("a list", v)))
    }

    /// Argument `i` as a map (values keep their marks).
    pub(crate) fn map(&self, i: usize) -> Result<&crate::value::Map, FnError> {
        let v = self.get(i);
        v.as_map()
            .ok_or_else(|| FnError::arg(i, convert::expected("a map", v)))
    }

    /// Argument `i` as a list of strings.
    pub(crate) fn strings(&self, i: usize) -> Result<Vec<String>, FnError> {
        self.list(i)?
            .iter()
            .map(|v| {
                if v.is_null() {
                    return Err(FnError::arg(
                        i,
                        "expected a list of strings, found a null element",
                    ));
                }
                convert::to_string(v).map_err(|m| FnError::arg(i, format!("element: {m}")))
            })
            .collect()
    }
}

/// Builds the table and the sorted name list from one list.
macro_rules! functions {
    ($($name:literal => $min:literal..$max:tt, $marks:ident, $run:path;)*) => {
        const FUNCS: &[Func] = &[$(Func {
            name: $name,
            min: $min,
            max: functions!(@max $max),
            marks: Marks::$marks,
            run: $run,
        },)*];
        /// All function names, sorted.
        pub(crate) const NAMES: &[&str] = &[$($name,)*];
    };
    (@max _) => { None };
    (@max $n:literal) => { Some($n) };
}

functions! {
    "abs" => 1..1, Deep, numeric::abs;
    "alltrue" => 1..1, Deep, collections::alltrue;
    "anytrue" => 1..1, Deep, collections::anytrue;
    "base64decode" => 1..1, Deep, encoding::base64decode;
    "base64encode" => 1..1, Deep, encoding::base64encode;
    "base64sha256" => 1..1, Deep, encoding::base64sha256;
    "can" => 1..1, Raw, can;
    "ceil" => 1..1, Deep, numeric::ceil;
    "chomp" => 1..1, Deep, strings::chomp;
    "coalesce" => 1.._, Raw, collections::coalesce;
    "coalescelist" => 1.._, Shallow, collections::coalescelist;
    "compact" => 1..1, Shallow, collections::compact;
    "concat" => 0.._, Shallow, collections::concat;
    "contains" => 2..2, Deep, collections::contains;
    "distinct" => 1..1, Deep, collections::distinct;
    "element" => 2..2, Shallow, collections::element;
    "endswith" => 2..2, Deep, strings::endswith;
    "flatten" => 1..1, Shallow, collections::flatten;
    "floor" => 1..1, Deep, numeric::floor;
    "format" => 1.._, Deep, format::format;
    "formatlist" => 1.._, Deep, format::formatlist;
    "indent" => 2..2, Deep, strings::indent;
    "index" => 2..2, Deep, collections::index;
    "join" => 2.._, Deep, strings::join;
    "jsondecode" => 1..1, Deep, encoding::jsondecode;
    "jsonencode" => 1..1, Deep, encoding::jsonencode;
    "keys" => 1..1, Shallow, collections::keys;
    "length" => 1..1, Shallow, collections::length;
    "lookup" => 2..3, Shallow, collections::lookup;
    "lower" => 1..1, Deep, strings::lower;
    "max" => 1.._, Deep, numeric::max;
    "md5" => 1..1, Deep, encoding::md5;
    "merge" => 0.._, Shallow, collections::merge;
    "min" => 1.._, Deep, numeric::min;
    "one" => 1..1, Shallow, collections::one;
    "physical_name" => 3..4, Deep, strings::physical_name;
    "range" => 1..3, Deep, numeric::range;
    "regex" => 2..2, Deep, strings::regex;
    "regexall" => 2..2, Deep, strings::regexall;
    "replace" => 3..3, Deep, strings::replace;
    "reverse" => 1..1, Shallow, collections::reverse;
    "sha1" => 1..1, Deep, encoding::sha1;
    "sha256" => 1..1, Deep, encoding::sha256;
    "sha512" => 1..1, Deep, encoding::sha512;
    "slice" => 3..3, Shallow, collections::slice;
    "sort" => 1..1, Deep, collections::sort;
    "split" => 2..2, Deep, strings::split;
    "startswith" => 2..2, Deep, strings::startswith;
    "strrev" => 1..1, Deep, strings::strrev;
    "substr" => 3..3, Deep, strings::substr;
    "sum" => 1..1, Deep, numeric::sum;
    "title" => 1..1, Deep, strings::title;
    "tobool" => 1..1, Deep, types::tobool;
    "tolist" => 1..1, Shallow, types::tolist;
    "tomap" => 1..1, Shallow, types::tomap;
    "tonumber" => 1..1, Deep, types::tonumber;
    "toset" => 1..1, Deep, types::toset;
    "tostring" => 1..1, Deep, types::tostring;
    "trim" => 2..2, Deep, strings::trim;
    "trimprefix" => 2..2, Deep, strings::trimprefix;
    "trimspace" => 1..1, Deep, strings::trimspace;
    "trimsuffix" => 2..2, Deep, strings::trimsuffix;
    "try" => 1.._, Raw, try_;
    "upper" => 1..1, Deep, strings::upper;
    "values" => 1..1, Shallow, collections::values;
    "zipmap" => 2..2, Shallow, collections::zipmap;
}

/// `try` called with evaluated arguments: the first one (the evaluator handles the real
/// special form).
fn try_(a: &Args) -> FnResult {
    Ok(a.get(0).clone())
}

/// `can` called with an evaluated argument: it evaluated, so `true`.
fn can(a: &Args) -> FnResult {
    Ok(mark(Value::Bool(true), a.secret()))
}

/// The function called `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static Func> {
    FUNCS
        .binary_search_by(|f| f.name.cmp(name))
        .ok()
        .and_then(|i| FUNCS.get(i))
}

fn arity_error(f: &Func, given: usize) -> FnError {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let takes = match f.max {
        Some(max) if max == f.min => format!("exactly {} {}", f.min, plural(f.min)),
        Some(max) => format!("{} to {max} arguments", f.min),
        None => format!("at least {} {}", f.min, plural(f.min)),
    };
    let were = if given == 1 { "was" } else { "were" };
    FnError::call(format!(
        "`{}` takes {takes}, but {given} {were} given",
        f.name
    ))
}

/// Calls `f`, applying its mark rules; the error message names the function.
pub(crate) fn invoke(f: &Func, vals: Vec<Value>, room: usize) -> FnResult {
    if vals.len() < f.min || f.max.is_some_and(|m| vals.len() > m) {
        return Err(arity_error(f, vals.len()));
    }
    let secret = vals.iter().any(Value::contains_sensitive);
    let result = match f.marks {
        Marks::Deep => {
            if vals.iter().any(Value::contains_unknown) {
                return Ok(mark(Value::Unknown, secret));
            }
            let vals = vals.iter().map(Value::reveal).collect();
            (f.run)(&Args { vals, secret, room }).map(|v| mark(v, secret))
        }
        Marks::Shallow => {
            let top = vals.iter().any(Value::is_sensitive);
            if vals.iter().any(Value::is_unknown) {
                return Ok(mark(Value::Unknown, top));
            }
            let vals = vals.into_iter().map(|v| convert::unmark_all(&v).0.clone());
            (f.run)(&Args {
                vals: vals.collect(),
                secret,
                room,
            })
            .map(|v| mark(v, top))
        }
        Marks::Raw => (f.run)(&Args { vals, secret, room }),
    };
    result.map_err(|e| {
        let msg = match e.arg {
            Some(i) => format!("invalid argument {} to `{}`: {}", i + 1, f.name, e.msg),
            None => format!("`{}`: {}", f.name, e.msg),
        };
        FnError { msg, arg: e.arg }
    })
}
