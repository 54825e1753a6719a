//! `baton token`: the new token (shown once) and the list of names and roles.

/// A token just made: it is shown this once.
pub fn added(name: &str, role: &str, token: &str) -> String {
    format!(
        "Token `{name}` ({role}):\n\n  {token}\n\nIt is shown only now (baton keeps its hash). Send it as `Authorization: Bearer TOKEN`.\n"
    )
}

/// Every token: name and role.
pub fn list(tokens: &[(&str, &str)]) -> String {
    if tokens.is_empty() {
        return "No tokens; make one with `baton token add NAME --role viewer|developer|operator`.\n".into();
    }
    let width = tokens.iter().map(|t| t.0.len()).max().unwrap_or(0);
    tokens
        .iter()
        .map(|(name, role)| format!("{name:width$}  {role}\n"))
        .collect()
}
