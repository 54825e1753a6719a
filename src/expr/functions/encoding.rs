//! Encoding functions: hashes (hex digests of the UTF-8 bytes), base64, JSON.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest;

use super::{Args, FnError, FnResult};
use crate::expr::number;
use crate::value::Value;

fn hex(bytes: &[u8]) -> Value {
    Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub(super) fn sha256(a: &Args) -> FnResult {
    Ok(hex(&sha2::Sha256::digest(a.str(0)?.as_bytes())))
}

pub(super) fn sha512(a: &Args) -> FnResult {
    Ok(hex(&sha2::Sha512::digest(a.str(0)?.as_bytes())))
}

pub(super) fn sha1(a: &Args) -> FnResult {
    Ok(hex(&sha1::Sha1::digest(a.str(0)?.as_bytes())))
}

pub(super) fn md5(a: &Args) -> FnResult {
    Ok(hex(&md5::Md5::digest(a.str(0)?.as_bytes())))
}

pub(super) fn base64encode(a: &Args) -> FnResult {
    Ok(Value::String(STANDARD.encode(a.str(0)?.as_bytes())))
}

/// `base64sha256(s)`: the base64 of the raw SHA-256 digest.
pub(super) fn base64sha256(a: &Args) -> FnResult {
    Ok(Value::String(
        STANDARD.encode(sha2::Sha256::digest(a.str(0)?.as_bytes())),
    ))
}

pub(super) fn base64decode(a: &Args) -> FnResult {
    let bytes = STANDARD
        .decode(a.str(0)?.trim())
        .map_err(|_| FnError::arg(0, "the string is not valid base64"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| FnError::arg(0, "the decoded bytes are not valid UTF-8"))
}

/// `jsonencode(v)`: compact, keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped as
/// Terraform does.
pub(super) fn jsonencode(a: &Args) -> FnResult {
    let json = a
        .get(0)
        .to_json_revealed()
        .ok_or_else(|| FnError::arg(0, "the value is not known"))?;
    let text = serde_json::to_string(&json).map_err(|e| FnError::call(e.to_string()))?;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(Value::String(out))
}

/// Integral floats become integers.
fn normalize(v: Value) -> Value {
    match v {
        Value::Number(n) => number::normalize(n),
        Value::List(items) => Value::List(items.into_iter().map(normalize).collect()),
        Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, normalize(v))).collect()),
        other => other,
    }
}

pub(super) fn jsondecode(a: &Args) -> FnResult {
    let text = a.str(0)?;
    // Every value but the first follows a `,` or `:` or opens a collection: at most
    // that many values, each an element of the result (and of serde's tree before it).
    let values = 1 + text.bytes().filter(|b| b"[{,:".contains(b)).count();
    a.fits(
        values
            .saturating_mul(2 * crate::expr::budget::ELEMENT)
            .saturating_add(text.len()),
    )?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        FnError::arg(
            0,
            format!("invalid JSON at line {} column {}", e.line(), e.column()),
        )
    })?;
    Ok(normalize(Value::from_json(&json)))
}
