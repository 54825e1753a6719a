//! The built-in module library, embedded in the binary from the repository's `modules/`
//! folder so that `baton` works from any directory. A test checks that every file of
//! `modules/` is listed here.

use super::load::load_text;
use super::{Module, Origin};
use crate::diag::{Diagnostic, Sources};
use crate::schema::Kinds;

/// Path under `modules/` and text of every built-in module.
#[rustfmt::skip]
pub const BUILTIN: &[(&str, &str)] = &[
    ("amqp/aws.hcl", include_str!("../../modules/amqp/aws.hcl")),
    ("amqp/local.hcl", include_str!("../../modules/amqp/local.hcl")),
    ("dns/aws.hcl", include_str!("../../modules/dns/aws.hcl")),
    ("dns/local.hcl", include_str!("../../modules/dns/local.hcl")),
    ("environment/local.hcl", include_str!("../../modules/environment/local.hcl")),
    ("mysql/local.hcl", include_str!("../../modules/mysql/local.hcl")),
    ("postgres/aws.hcl", include_str!("../../modules/postgres/aws.hcl")),
    ("postgres/local.hcl", include_str!("../../modules/postgres/local.hcl")),
    ("queue/aws.hcl", include_str!("../../modules/queue/aws.hcl")),
    ("redis/aws.hcl", include_str!("../../modules/redis/aws.hcl")),
    ("redis/local.hcl", include_str!("../../modules/redis/local.hcl")),
    ("route/aws.hcl", include_str!("../../modules/route/aws.hcl")),
    ("route/local.hcl", include_str!("../../modules/route/local.hcl")),
    ("s3/aws.hcl", include_str!("../../modules/s3/aws.hcl")),
    ("service-port/aws.hcl", include_str!("../../modules/service-port/aws.hcl")),
    ("service-port/local.hcl", include_str!("../../modules/service-port/local.hcl")),
    ("volume/local.hcl", include_str!("../../modules/volume/local.hcl")),
];

/// Loads the built-in modules.
pub fn load(
    registry: &dyn Kinds,
    providers: &[String],
    sources: &mut Sources,
    out: &mut Vec<Diagnostic>,
) -> Vec<Module> {
    let mut modules = Vec::new();
    for (path, text) in BUILTIN {
        let file = sources.add_file(format!("<built-in>/modules/{path}"), None, text.to_string());
        let name = path.trim_end_matches(".hcl");
        if let Some(m) = load_text(
            name,
            Origin::Builtin(path),
            file,
            registry,
            providers,
            sources,
            out,
        ) {
            modules.push(m);
        }
    }
    modules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_file_is_embedded_and_loads() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("modules");
        let mut on_disk = Vec::new();
        for dir in std::fs::read_dir(&root).unwrap().flatten() {
            if dir.path().is_dir() {
                for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                    if f.path().extension().is_some_and(|e| e == "hcl") {
                        on_disk.push(f.path().strip_prefix(&root).unwrap().display().to_string());
                    }
                }
            }
        }
        on_disk.sort();
        let listed: Vec<String> = BUILTIN.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(
            on_disk, listed,
            "modules/ and BUILTIN must list the same files"
        );
        let reg = crate::provider::Registry::builtin(std::path::Path::new("."));
        let mut sources = Sources::new();
        let mut out = Vec::new();
        let modules = load(&reg, &reg.provider_names(), &mut sources, &mut out);
        assert!(out.is_empty(), "{out:#?}");
        assert_eq!(modules.len(), BUILTIN.len());
    }
}
