//! The output contract of each well-known Score resource type: the outputs a module for
//! that type must provide, so Score files written for score-compose or score-k8s keep
//! working. Types not listed here (custom types) have no contract.

/// The outputs a module for `kind` must provide.
pub fn required_outputs(kind: &str) -> &'static [&'static str] {
    match kind {
        "postgres" | "mysql" => &["host", "port", "name", "database", "username", "password"],
        "redis" => &["host", "port", "username", "password"],
        "amqp" => &["host", "port", "vhost", "username", "password"],
        "s3" => &[
            "bucket",
            "endpoint",
            "region",
            "access_key_id",
            "secret_key",
        ],
        "dns" => &["host"],
        "volume" => &["source"],
        "service-port" => &["hostname", "port"],
        _ => &[],
    }
}

/// The outputs of the contract that must be marked sensitive.
pub fn sensitive_outputs(kind: &str) -> &'static [&'static str] {
    match kind {
        "postgres" | "mysql" | "redis" | "amqp" => &["password"],
        "s3" => &["secret_key"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contracts() {
        assert!(required_outputs("postgres").contains(&"database"));
        assert_eq!(required_outputs("route"), &[] as &[&str]);
        assert_eq!(required_outputs("my-custom-thing"), &[] as &[&str]);
        assert_eq!(sensitive_outputs("s3"), &["secret_key"]);
    }
}
