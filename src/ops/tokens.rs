//! The tokens of `baton serve`: `token add` makes a random token (256 bits) and stores
//! only its SHA-256 with a name and a role in the token file (`.baton/tokens`, or the
//! `serve { tokens = "…" }` path of `baton.hcl`), mode 0600, one `NAME ROLE SHA256` line
//! each. A presented token is hashed and compared with every stored hash in constant
//! time.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Error, Report};
use crate::diag::{Diagnostics, Sources};

/// What a token may do; each role may do what the ones before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads.
    Viewer,
    /// Also plans and requests.
    Developer,
    /// Also applies, destroys and unlocks.
    Operator,
}

impl Role {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Developer => "developer",
            Role::Operator => "operator",
        }
    }

    /// The role named `s`.
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Viewer, Role::Developer, Role::Operator]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// One stored token (its hash stays inside).
#[derive(Debug, Clone)]
pub struct Token {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    hash: [u8; 32],
}

/// The tokens of a project, loaded.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// The file they were read from.
    pub path: PathBuf,
    /// Sorted by name.
    pub tokens: Vec<Token>,
}

impl Tokens {
    /// Name and role of each, sorted by name.
    pub fn listed(&self) -> Vec<(&str, &str)> {
        self.tokens
            .iter()
            .map(|t| (t.name.as_str(), t.role.as_str()))
            .collect()
    }

    /// The name and role of `presented`, compared with every stored hash in constant
    /// time (no early exit on the first match).
    pub fn verify(&self, presented: &str) -> Option<(&str, Role)> {
        let hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for t in &self.tokens {
            if bool::from(t.hash.ct_eq(&hash)) {
                found = Some((t.name.as_str(), t.role));
            }
        }
        found
    }
}

/// The serve settings of the project at `root` (`baton.hcl`'s `serve` block).
pub fn serve_config(root: &Path) -> Result<crate::config::ServeConfig, Error> {
    let mut sources = Sources::new();
    let mut out = Vec::new();
    crate::config::serve(root, &mut sources, &mut out).ok_or_else(|| invalid(sources, out))
}

/// The environments of the project at `root`, sorted (`local` always among them).
pub fn environments(root: &Path) -> Result<Vec<String>, Error> {
    let mut sources = Sources::new();
    let mut out = Vec::new();
    crate::config::environment_names(root, &mut sources, &mut out)
        .ok_or_else(|| invalid(sources, out))
}

fn invalid(sources: Sources, out: Vec<crate::diag::Diagnostic>) -> Error {
    let mut d = Diagnostics::new();
    d.extend(out);
    Error::Invalid(Report::new(sources, d))
}

fn path(root: &Path) -> Result<PathBuf, Error> {
    let config = serve_config(root)?;
    Ok(root.join(
        config
            .tokens
            .unwrap_or_else(|| PathBuf::from(".baton/tokens")),
    ))
}

/// The tokens of the project at `root` (none when the file does not exist).
pub fn tokens(root: &Path) -> Result<Tokens, Error> {
    let path = path(root)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(
                anyhow::anyhow!("cannot read the token file {}: {e}", path.display()).into(),
            );
        }
    };
    let mut tokens = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = (|| {
            let mut parts = line.split_whitespace();
            let (name, role, hash) = (parts.next()?, parts.next()?, parts.next()?);
            let hash: [u8; 32] = hex::decode(hash).ok()?.try_into().ok()?;
            Some(Token {
                name: name.to_string(),
                role: Role::parse(role)?,
                hash,
            })
        })();
        match parsed {
            Some(t) => tokens.push(t),
            None => {
                return Err(anyhow::anyhow!(
                    "{}:{}: not a token line (`NAME ROLE SHA256`)",
                    path.display(),
                    n + 1
                )
                .into());
            }
        }
    }
    tokens.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Tokens { path, tokens })
}

fn write(tokens: &Tokens) -> Result<(), Error> {
    let mut text = String::from("# baton serve tokens: NAME ROLE SHA256 (see `baton token`)\n");
    for t in &tokens.tokens {
        text.push_str(&format!(
            "{} {} {}\n",
            t.name,
            t.role.as_str(),
            hex::encode(t.hash)
        ));
    }
    if let Some(dir) = tokens.path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    crate::provider::local::write_file(&tokens.path, text.as_bytes(), 0o600).map_err(|e| {
        anyhow::anyhow!("cannot write the token file {}: {e}", tokens.path.display())
    })?;
    Ok(())
}

/// `token add`: a new random token named `name` with `role`; returns the token (shown
/// once: only its hash is kept).
pub fn token_add(root: &Path, name: &str, role: Role) -> Result<String, Error> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        return Err(anyhow::anyhow!(
            "token name {name:?} is not usable: use letters, digits, `-`, `_`, `.` and `@`"
        )
        .into());
    }
    let mut tokens = tokens(root)?;
    if tokens.tokens.iter().any(|t| t.name == name) {
        return Err(anyhow::anyhow!(
            "a token named `{name}` exists; `baton token rm {name}` it first"
        )
        .into());
    }
    let secret: [u8; 32] = rand::random();
    let token = format!("baton_{}", hex::encode(secret));
    tokens.tokens.push(Token {
        name: name.to_string(),
        role,
        hash: Sha256::digest(token.as_bytes()).into(),
    });
    tokens.tokens.sort_by(|a, b| a.name.cmp(&b.name));
    write(&tokens)?;
    Ok(token)
}

/// `token rm`: forgets the token named `name`.
pub fn token_rm(root: &Path, name: &str) -> Result<(), Error> {
    let mut tokens = tokens(root)?;
    let before = tokens.tokens.len();
    tokens.tokens.retain(|t| t.name != name);
    if tokens.tokens.len() == before {
        let hint = crate::diag::did_you_mean(name, tokens.tokens.iter().map(|t| t.name.as_str()))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(anyhow::anyhow!("no token named `{name}`{hint}").into());
    }
    write(&tokens)
}
