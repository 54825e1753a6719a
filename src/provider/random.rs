//! `random`: random_password and random_id, generated once at create and kept in state.
//! Every configurable attribute forces a new value (as in Terraform's random provider);
//! `keepers` lets a module ask for a new value when something else changes.

use base64::Engine;
use rand::Rng;
use rand::seq::SliceRandom;

use super::{
    AttrSchema, AttrType, Attrs, KindSchema, Provider, ProviderError, bool_attr, int_attr, str_attr,
};
use crate::value::Value;

/// The `random` provider.
pub struct RandomProvider;

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const SPECIAL: &str = "!@#$%&*()-_=+[]{}<>:?";

fn t() -> Value {
    Value::Bool(true)
}
fn zero() -> Value {
    Value::int(0)
}

fn password_schema() -> KindSchema {
    KindSchema {
        kind: "random_password",
        provider: "random",
        description: "A random password, generated once and kept in state (sensitive).",
        attributes: vec![
            AttrSchema::required("length", AttrType::Number, "Number of characters.").force_new(),
            AttrSchema::optional("special", AttrType::Bool, "Include special characters.")
                .force_new()
                .default(t),
            AttrSchema::optional("upper", AttrType::Bool, "Include upper-case letters.")
                .force_new()
                .default(t),
            AttrSchema::optional("lower", AttrType::Bool, "Include lower-case letters.")
                .force_new()
                .default(t),
            AttrSchema::optional("numeric", AttrType::Bool, "Include digits.")
                .force_new()
                .default(t),
            AttrSchema::optional(
                "override_special",
                AttrType::String,
                "The special characters to use instead of the default set.",
            )
            .force_new(),
            AttrSchema::optional(
                "min_lower",
                AttrType::Number,
                "At least this many lower-case letters.",
            )
            .force_new()
            .default(zero),
            AttrSchema::optional(
                "min_upper",
                AttrType::Number,
                "At least this many upper-case letters.",
            )
            .force_new()
            .default(zero),
            AttrSchema::optional(
                "min_numeric",
                AttrType::Number,
                "At least this many digits.",
            )
            .force_new()
            .default(zero),
            AttrSchema::optional(
                "min_special",
                AttrType::Number,
                "At least this many special characters.",
            )
            .force_new()
            .default(zero),
            AttrSchema::optional(
                "keepers",
                AttrType::Map,
                "Arbitrary values; changing them generates a new password.",
            )
            .force_new(),
            AttrSchema::computed("result", AttrType::String, "The password.").sensitive(),
        ],
        create_before_destroy: false,
    }
}

fn id_schema() -> KindSchema {
    KindSchema {
        kind: "random_id",
        provider: "random",
        description: "Random bytes, generated once, in several encodings (not secret).",
        attributes: vec![
            AttrSchema::required("byte_length", AttrType::Number, "Number of random bytes.")
                .force_new(),
            AttrSchema::optional(
                "prefix",
                AttrType::String,
                "Prefix for `hex` and `b64_url`.",
            )
            .force_new(),
            AttrSchema::optional(
                "keepers",
                AttrType::Map,
                "Arbitrary values; changing them generates a new id.",
            )
            .force_new(),
            AttrSchema::computed(
                "hex",
                AttrType::String,
                "Bytes as lower-case hex (with prefix).",
            ),
            AttrSchema::computed(
                "b64_url",
                AttrType::String,
                "Bytes as URL-safe base64 without padding (with prefix).",
            ),
            AttrSchema::computed(
                "b64_std",
                AttrType::String,
                "Bytes as standard base64 (with prefix).",
            ),
            AttrSchema::computed(
                "dec",
                AttrType::String,
                "Bytes as a decimal number (big-endian).",
            ),
        ],
        create_before_destroy: false,
    }
}

/// Generates a password as `random_password` configures it.
pub fn generate_password(config: &Attrs) -> Result<String, ProviderError> {
    let length = int_attr(config, "length")
        .ok_or_else(|| ProviderError::Invalid("`length` is required".into()))?;
    if !(1..=4096).contains(&length) {
        return Err(ProviderError::Invalid(format!(
            "`length` must be between 1 and 4096, not {length}"
        )));
    }
    let flag = |n: &str| bool_attr(config, n).unwrap_or(true);
    let min = |n: &str| int_attr(config, n).unwrap_or(0).max(0) as usize;
    let special = str_attr(config, "override_special")
        .unwrap_or(SPECIAL)
        .to_string();
    let sets: Vec<(bool, String, usize)> = vec![
        (flag("lower"), LOWER.to_string(), min("min_lower")),
        (flag("upper"), UPPER.to_string(), min("min_upper")),
        (flag("numeric"), DIGITS.to_string(), min("min_numeric")),
        (
            flag("special") && !special.is_empty(),
            special,
            min("min_special"),
        ),
    ];
    let pool: Vec<char> = sets
        .iter()
        .filter(|(on, _, _)| *on)
        .flat_map(|(_, s, _)| s.chars())
        .collect();
    if pool.is_empty() {
        return Err(ProviderError::Invalid(
            "every character class is disabled".into(),
        ));
    }
    let required: usize = sets
        .iter()
        .filter(|(on, _, _)| *on)
        .map(|(_, _, m)| m)
        .sum();
    if required > length as usize {
        return Err(ProviderError::Invalid(format!(
            "the `min_*` settings ask for {required} characters but `length` is {length}"
        )));
    }
    let mut rng = rand::rng();
    let mut chars: Vec<char> = Vec::with_capacity(length as usize);
    for (on, set, m) in &sets {
        if *on {
            let set: Vec<char> = set.chars().collect();
            for _ in 0..*m {
                chars.push(set[rng.random_range(0..set.len())]);
            }
        }
    }
    while chars.len() < length as usize {
        chars.push(pool[rng.random_range(0..pool.len())]);
    }
    chars.shuffle(&mut rng);
    Ok(chars.into_iter().collect())
}

fn generate_id(config: &Attrs) -> Result<Attrs, ProviderError> {
    let n = int_attr(config, "byte_length")
        .ok_or_else(|| ProviderError::Invalid("`byte_length` is required".into()))?;
    if !(1..=1024).contains(&n) {
        return Err(ProviderError::Invalid(format!(
            "`byte_length` must be between 1 and 1024, not {n}"
        )));
    }
    let mut bytes = vec![0u8; n as usize];
    rand::rng().fill(&mut bytes[..]);
    let prefix = str_attr(config, "prefix").unwrap_or("");
    let mut out = config.clone();
    out.insert(
        "hex".into(),
        Value::string(format!("{prefix}{}", hex::encode(&bytes))),
    );
    out.insert(
        "b64_url".into(),
        Value::string(format!(
            "{prefix}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes)
        )),
    );
    out.insert(
        "b64_std".into(),
        Value::string(format!(
            "{prefix}{}",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        )),
    );
    out.insert("dec".into(), Value::string(big_decimal(&bytes)));
    Ok(out)
}

/// Big-endian bytes as a decimal string (no big-integer crate needed for this).
fn big_decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &b in bytes {
        let mut carry = b as u32;
        for d in digits.iter_mut() {
            let v = *d as u32 * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| (b'0' + d) as char).collect()
}

#[async_trait::async_trait]
impl Provider for RandomProvider {
    fn name(&self) -> &'static str {
        "random"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![password_schema(), id_schema()]
    }

    fn proof(&self, _kind: &str) -> crate::provider::Proof {
        crate::provider::Proof::Intrinsic
    }

    fn read_recorded(&self, kind: &str, prior: &Attrs) -> Option<bool> {
        Some(prior.contains_key(generated_attribute(kind)))
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        // Nothing outside baton holds these values: state is the truth. Without its
        // generated value (an interrupted create) the object was never made.
        Ok(prior
            .contains_key(generated_attribute(kind))
            .then(|| prior.clone()))
    }

    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        match kind {
            "random_password" => {
                let mut out = config.clone();
                out.insert("result".into(), Value::string(generate_password(config)?));
                Ok(out)
            }
            "random_id" => generate_id(config),
            other => Err(ProviderError::Invalid(format!("unknown kind {other}"))),
        }
    }

    async fn update(
        &self,
        _kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        // Only non-force-new attributes reach here (none today); keep the generated values.
        let mut out = prior.clone();
        out.extend(config.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(out)
    }

    async fn delete(&self, _kind: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// The attribute a kind generates on create (its absence means an interrupted create).
fn generated_attribute(kind: &str) -> &'static str {
    if kind == "random_password" {
        "result"
    } else {
        "hex"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, Value)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn passwords_respect_classes_and_minimums() {
        let p = generate_password(&cfg(&[
            ("length", Value::int(40)),
            ("special", Value::Bool(false)),
            ("min_numeric", Value::int(5)),
        ]))
        .unwrap();
        assert_eq!(p.chars().count(), 40);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(p.chars().filter(|c| c.is_ascii_digit()).count() >= 5);
        let q = generate_password(&cfg(&[("length", Value::int(40))])).unwrap();
        assert_ne!(p, q);
        assert!(
            generate_password(&cfg(&[
                ("length", Value::int(2)),
                ("min_upper", Value::int(3))
            ]))
            .is_err()
        );
    }

    #[test]
    fn ids_are_encoded_consistently() {
        let out = generate_id(&cfg(&[
            ("byte_length", Value::int(4)),
            ("prefix", Value::string("x-")),
        ]))
        .unwrap();
        let hex = out["hex"]
            .as_str()
            .unwrap()
            .strip_prefix("x-")
            .unwrap()
            .to_string();
        let bytes = hex::decode(&hex).unwrap();
        let dec: u64 = out["dec"].as_str().unwrap().parse().unwrap();
        assert_eq!(dec, u32::from_be_bytes(bytes.try_into().unwrap()) as u64);
        assert_eq!(big_decimal(&[1, 0]), "256");
        assert_eq!(big_decimal(&[0]), "0");
    }
}
