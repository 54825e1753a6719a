//! baton's integration tests: user sessions driving the real binary.

mod crash;
mod engine;
mod overrides;
mod state;
mod servers;
mod outage;
mod lifecycle;
mod support;
mod validate;
