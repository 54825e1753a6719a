//! baton's integration tests: user sessions driving the real binary.

mod aws;
mod chaos;
mod commands;
mod crash;
mod engine;
mod hostile;
mod interrupted;
mod lifecycle;
mod local_walls;
mod outage;
mod overrides;
mod ownership;
mod ownership_aws;
mod ownership_servers;
mod planfile;
mod servers;
mod state;
mod state_integrity;
mod store;
mod support;
mod teamstate;
mod validate;
