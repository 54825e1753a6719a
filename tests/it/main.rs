//! baton's integration tests: user sessions driving the real binary.

mod aws;
mod chaos;
mod commands;
mod crash;
mod day_two;
mod engine;
mod environments;
mod hostile;
mod interrupted;
mod lifecycle;
mod local_walls;
mod naming;
mod ops;
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
