//! `format` and `formatlist`: printf-style formatting with the verbs Terraform takes from
//! Go (`%v %#v %s %q %d %b %o %x %X %e %E %f %g %G %t %%`), flags `+ - # 0` and space,
//! width, precision and explicit argument indexes (`%[2]s`).

use super::{Args, FnError, FnResult};
use crate::expr::convert::{to_bool, to_number, to_string};
use crate::expr::number;
use crate::value::Value;

/// The largest width or precision a verb may ask for, to keep evaluation bounded.
const MAX_WIDTH: usize = 1024;

/// One parsed verb.
#[derive(Default)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    precision: Option<usize>,
    verb: char,
}

pub(super) fn format(a: &Args) -> FnResult {
    let fmt = a.str(0)?;
    render(&fmt, &a.all()[1..], a.secret(), a).map(Value::String)
}

/// `formatlist(format, args...)`: list arguments are iterated together (they must have
/// the same length); other arguments repeat.
pub(super) fn formatlist(a: &Args) -> FnResult {
    let fmt = a.str(0)?;
    let rest = &a.all()[1..];
    let mut len = None;
    for (i, v) in rest.iter().enumerate() {
        if let Value::List(items) = v {
            match len {
                Some(n) if n != items.len() => {
                    return Err(FnError::arg(
                        i + 1,
                        format!("has {} elements, but an earlier list has {n}", items.len()),
                    ));
                }
                _ => len = Some(items.len()),
            }
        }
    }
    let mut out = Vec::new();
    let mut built = 0usize;
    for row in 0..len.unwrap_or(1) {
        let args: Vec<Value> = rest
            .iter()
            .map(|v| match v {
                Value::List(items) => items.get(row).cloned().unwrap_or(Value::Null),
                other => other.clone(),
            })
            .collect();
        let text = render(&fmt, &args, a.secret(), a)?;
        built = built.saturating_add(text.len() + crate::expr::budget::ELEMENT);
        a.fits(built)?;
        out.push(Value::String(text));
    }
    Ok(Value::List(out))
}

/// Reads digits as a number.
fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    n
}

/// Renders `fmt` with `args`; `room` refuses a result that outgrows the evaluation's
/// budget as it is written (a format string can repeat a large argument many times).
fn render(fmt: &str, args: &[Value], secret: bool, room: &Args) -> Result<String, FnError> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = 0;
    let mut used = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '+' => spec.plus = true,
                '-' => spec.minus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            let n = digits(&mut chars).filter(|n| *n >= 1);
            if chars.next() != Some(']') || n.is_none() {
                return Err(FnError::arg(0, "invalid explicit argument index"));
            }
            next = n.unwrap_or(1) - 1;
        }
        spec.width = digits(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(digits(&mut chars).unwrap_or(0));
        }
        if spec
            .width
            .max(spec.precision)
            .is_some_and(|n| n > MAX_WIDTH)
        {
            return Err(FnError::arg(
                0,
                format!("width and precision must be at most {MAX_WIDTH}"),
            ));
        }
        spec.verb = chars
            .next()
            .ok_or_else(|| FnError::arg(0, "the format string ends in the middle of a verb"))?;
        let arg = args.get(next).ok_or_else(|| {
            FnError::call(format!(
                "not enough arguments for the format string: `%{}` needs argument {}",
                spec.verb,
                next + 1
            ))
        })?;
        let text = verb(&spec, arg, secret)
            .map_err(|m| FnError::arg(next + 1, format!("`%{}`: {m}", spec.verb)))?;
        out.push_str(&pad(&spec, text));
        room.fits(out.len())?;
        next += 1;
        used = used.max(next);
    }
    if args.len() > used {
        return Err(FnError::arg(
            used + 1,
            "too many arguments: no verb uses this one",
        ));
    }
    Ok(out)
}

/// Applies width: spaces on the left (or right with `-`), zeros after the sign with `0`.
fn pad(spec: &Spec, text: String) -> String {
    let Some(width) = spec.width else { return text };
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let fill = width - len;
    if spec.minus {
        return format!("{text}{}", " ".repeat(fill));
    }
    let numeric = "dboxXeEfgG".contains(spec.verb);
    if spec.zero && numeric {
        let sign_len = usize::from(text.starts_with(['-', '+', ' ']));
        let (sign, rest) = text.split_at(sign_len);
        return format!("{sign}{}{rest}", "0".repeat(fill));
    }
    format!("{}{text}", " ".repeat(fill))
}

fn json(v: &Value) -> String {
    v.to_json_revealed()
        .map(|j| j.to_string())
        .unwrap_or_default()
}

/// Go's `strconv.Quote`.
fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn signed(spec: &Spec, negative: bool, body: String) -> String {
    if negative {
        format!("-{body}")
    } else if spec.plus {
        format!("+{body}")
    } else if spec.space {
        format!(" {body}")
    } else {
        body
    }
}

/// Go's exponent form: `1.500000e+03`.
fn exponent(f: f64, precision: Option<usize>, upper: bool) -> String {
    let s = match precision {
        Some(p) => format!("{f:.p$e}"),
        None => format!("{f:e}"),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{:02}", exp.abs())
}

/// Go's `%g`: shortest form, exponent form for large or tiny magnitudes.
fn general(f: f64, precision: Option<usize>, upper: bool) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let exp = f.abs().log10().floor() as i32;
    match precision {
        None if !(-4..21).contains(&exp) => exponent(f, None, upper),
        None => format!("{f}"),
        Some(p) => {
            let p = p.max(1);
            if exp < -4 || exp >= p as i32 {
                let s = exponent(f, Some(p - 1), upper);
                let (m, e) = s.split_at(s.find(['e', 'E']).unwrap_or(s.len()));
                let m = if m.contains('.') {
                    m.trim_end_matches('0').trim_end_matches('.')
                } else {
                    m
                };
                format!("{m}{e}")
            } else {
                let decimals = (p as i32 - 1 - exp).max(0) as usize;
                let s = format!("{f:.decimals$}");
                if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                }
            }
        }
    }
}

fn verb(spec: &Spec, arg: &Value, secret: bool) -> Result<String, String> {
    let int = |v: &Value| -> Result<i64, String> {
        let n = to_number(v, secret)?;
        number::to_i64(&n).ok_or_else(|| "expected a whole number".to_string())
    };
    let float = |v: &Value| -> Result<f64, String> { Ok(number::to_f64(&to_number(v, secret)?)) };
    if arg.is_null() && spec.verb != 'v' {
        return Err("cannot format null".into());
    }
    Ok(match spec.verb {
        'v' if spec.sharp => json(arg),
        'v' => match arg {
            Value::Null => "null".into(),
            Value::List(_) | Value::Map(_) => json(arg),
            other => to_string(other)?,
        },
        's' => {
            let s = to_string(arg)?;
            match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            }
        }
        'q' => quote(&to_string(arg)?),
        't' => to_bool(arg, secret)?.to_string(),
        'd' | 'b' | 'o' | 'x' | 'X' => {
            let i = int(arg)?;
            let m = i.unsigned_abs();
            let body = match spec.verb {
                'd' => m.to_string(),
                'b' => format!("{m:b}"),
                'o' if spec.sharp => format!("0{m:o}"),
                'o' => format!("{m:o}"),
                'x' if spec.sharp => format!("0x{m:x}"),
                'x' => format!("{m:x}"),
                'X' if spec.sharp => format!("0X{m:X}"),
                _ => format!("{m:X}"),
            };
            signed(spec, i < 0, body)
        }
        'e' | 'E' => {
            let f = float(arg)?;
            signed(
                spec,
                f < 0.0,
                exponent(f.abs(), Some(spec.precision.unwrap_or(6)), spec.verb == 'E'),
            )
        }
        'f' | 'F' => {
            let f = float(arg)?;
            let p = spec.precision.unwrap_or(6);
            signed(spec, f < 0.0, format!("{:.p$}", f.abs()))
        }
        'g' | 'G' => {
            let f = float(arg)?;
            signed(
                spec,
                f < 0.0,
                general(f.abs(), spec.precision, spec.verb == 'G'),
            )
        }
        other => return Err(format!("unsupported verb `%{other}`")),
    })
}
