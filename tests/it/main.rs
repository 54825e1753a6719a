//! baton's integration tests: user sessions driving the real binary.

mod overrides;
mod engine;
mod crash;
mod state;
mod support;
mod validate;
