//! baton's integration tests: user sessions driving the real binary.

mod overrides;
mod support;
mod validate;
