//! baton's integration tests: user sessions driving the real binary.

mod support;
mod validate;
mod overrides;
