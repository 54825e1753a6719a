//! Deployments: the configuration each apply applied, kept in the state beside the
//! history of changes, so that any apply can be shown, compared with another
//! (`state history diff A B`) and planned back to (`plan --at SERIAL`).
//!
//! A [`Deployment`] names its inputs by content hash: the Score files (after overrides),
//! the modules used (built-in ones included: a newer baton may ship other text), and
//! the environment's settings as evaluated, secrets redacted. The texts themselves are
//! [`Blob`]s, stored once per content whichever apply used them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The configuration one apply applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The serial of the apply (the state's serial after it).
    pub serial: u64,
    /// When it finished (RFC 3339).
    pub at: String,
    /// Who ran it (`user@host`).
    pub who: String,
    /// The environment.
    pub environment: String,
    /// Score files by path (relative to the project), as the hash of their text.
    pub score: BTreeMap<String, String>,
    /// The modules used, by name.
    pub modules: BTreeMap<String, ModuleUse>,
    /// The environment's settings as evaluated (providers, target, variables), secrets
    /// as `"(sensitive)"`.
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// A deployment with the texts it refers to: what `ops::deployment` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Configuration {
    /// The deployment.
    #[serde(flatten)]
    pub deployment: Deployment,
    /// The texts of its Score files and modules, by digest (absent when not stored).
    pub texts: BTreeMap<String, String>,
}

impl Configuration {
    /// The text of Score file `path`, if stored.
    pub fn score_text(&self, path: &str) -> Option<&str> {
        let digest = self.deployment.score.get(path)?;
        self.texts.get(digest).map(String::as_str)
    }
}

/// A module an apply used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleUse {
    /// Where it came from: `builtin` or the file's path relative to the project.
    pub origin: String,
    /// The hash of its text.
    pub sha256: String,
}

/// A text a deployment refers to, by the SHA-256 of its bytes (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// `sha256(text)`, hex.
    pub digest: String,
    /// The text.
    pub text: String,
}

impl Blob {
    /// The blob of `text`.
    pub fn of(text: impl Into<String>) -> Blob {
        let text = text.into();
        Blob {
            digest: hash(&text),
            text,
        }
    }

    /// Whether the text still has the digest it is stored under.
    pub fn is_sound(&self) -> bool {
        hash(&self.text) == self.digest
    }
}

/// SHA-256 of a text, hex.
pub fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What changed between two deployments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentDiff {
    /// The earlier serial.
    pub from: u64,
    /// The later serial.
    pub to: u64,
    /// Score files added, removed or changed, by path.
    pub score: Vec<FileChange>,
    /// Modules added, removed or changed, by name.
    pub modules: Vec<FileChange>,
    /// Settings added, removed or changed, by name.
    pub settings: Vec<SettingChange>,
}

/// A file (or module) that differs between two deployments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Path or module name.
    pub name: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// A unified diff of the texts (empty when a text is not stored).
    pub diff: String,
}

/// A setting that differs between two deployments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingChange {
    /// The setting.
    pub name: String,
    /// Before (`None`: not set).
    pub before: Option<serde_json::Value>,
    /// After (`None`: not set).
    pub after: Option<serde_json::Value>,
}

impl DeploymentDiff {
    /// Whether the two deployments applied the same configuration.
    pub fn is_empty(&self) -> bool {
        self.score.is_empty() && self.modules.is_empty() && self.settings.is_empty()
    }
}

/// What changed from `a` to `b`; `text` gives a blob's text by digest (for the diffs).
pub fn diff(
    a: &Deployment,
    b: &Deployment,
    text: &dyn Fn(&str) -> Option<String>,
) -> DeploymentDiff {
    let files = |x: &BTreeMap<String, String>, y: &BTreeMap<String, String>| {
        let mut out = Vec::new();
        for name in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
            let (before, after) = (x.get(name), y.get(name));
            if before == after {
                continue;
            }
            let change = match (before, after) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            };
            let body = |d: Option<&String>| d.map_or(Some(String::new()), |d| text(d));
            let diff = match (body(before), body(after)) {
                (Some(old), Some(new)) => similar::TextDiff::from_lines(&old, &new)
                    .unified_diff()
                    .context_radius(3)
                    .header(
                        &format!("{name} (serial {})", a.serial),
                        &format!("{name} (serial {})", b.serial),
                    )
                    .to_string(),
                _ => String::new(),
            };
            out.push(FileChange {
                name: name.clone(),
                change,
                diff,
            });
        }
        out.sort_by(|p, q| p.name.cmp(&q.name));
        out
    };
    let hashes = |d: &Deployment| -> BTreeMap<String, String> {
        d.modules
            .iter()
            .map(|(k, m)| (k.clone(), m.sha256.clone()))
            .collect()
    };
    let mut settings = Vec::new();
    for name in a
        .settings
        .keys()
        .chain(b.settings.keys().filter(|k| !a.settings.contains_key(*k)))
    {
        let (before, after) = (a.settings.get(name), b.settings.get(name));
        if before != after {
            settings.push(SettingChange {
                name: name.clone(),
                before: before.cloned(),
                after: after.cloned(),
            });
        }
    }
    settings.sort_by(|p, q| p.name.cmp(&q.name));
    DeploymentDiff {
        from: a.serial,
        to: b.serial,
        score: files(&a.score, &b.score),
        modules: files(&hashes(a), &hashes(b)),
        settings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(
        serial: u64,
        score: &[(&str, &str)],
        modules: &[(&str, &str)],
    ) -> (Deployment, Vec<Blob>) {
        let mut blobs = Vec::new();
        let mut d = Deployment {
            serial,
            at: "2026-12-05T00:00:00Z".into(),
            who: "dev@host".into(),
            environment: "local".into(),
            score: BTreeMap::new(),
            modules: BTreeMap::new(),
            settings: BTreeMap::from([("target".to_string(), serde_json::json!("kubernetes"))]),
        };
        for (path, text) in score {
            let b = Blob::of(*text);
            d.score.insert(path.to_string(), b.digest.clone());
            blobs.push(b);
        }
        for (name, text) in modules {
            let b = Blob::of(*text);
            d.modules.insert(
                name.to_string(),
                ModuleUse {
                    origin: "builtin".into(),
                    sha256: b.digest.clone(),
                },
            );
            blobs.push(b);
        }
        (d, blobs)
    }

    #[test]
    fn a_diff_names_what_changed_with_unified_diffs_of_the_texts() {
        let (a, mut blobs) = deployment(
            3,
            &[("web.yaml", "a: 1\nb: 2\n"), ("old.yaml", "x\n")],
            &[("postgres", "p1")],
        );
        let (mut b, more) = deployment(
            5,
            &[("web.yaml", "a: 1\nb: 3\n"), ("new.yaml", "y\n")],
            &[("postgres", "p1")],
        );
        b.settings
            .insert("target".into(), serde_json::json!("compose"));
        blobs.extend(more);
        let text = |d: &str| blobs.iter().find(|b| b.digest == d).map(|b| b.text.clone());
        let d = diff(&a, &b, &text);
        let changes: Vec<(&str, &str)> = d
            .score
            .iter()
            .map(|c| (c.name.as_str(), c.change))
            .collect();
        assert_eq!(
            changes,
            [
                ("new.yaml", "added"),
                ("old.yaml", "removed"),
                ("web.yaml", "changed")
            ]
        );
        let web = &d.score[2].diff;
        assert!(
            web.contains("--- web.yaml (serial 3)") && web.contains("+++ web.yaml (serial 5)"),
            "{web}"
        );
        assert!(web.contains("-b: 2\n+b: 3\n"), "{web}");
        assert!(d.modules.is_empty());
        assert_eq!(d.settings.len(), 1);
        assert_eq!(d.settings[0].after, Some(serde_json::json!("compose")));
        assert!(diff(&a, &a, &text).is_empty());
    }

    #[test]
    fn a_blob_knows_whether_its_text_was_changed() {
        let mut b = Blob::of("text");
        assert!(b.is_sound());
        b.text.push('!');
        assert!(!b.is_sound());
    }
}
