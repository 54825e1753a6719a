//! baton: the core of an Internal Developer Platform.
//!
//! The pipeline, one direction:
//!
//! 1. `score`: Score files → validated workloads and resource requests keyed by [`addr::Uid`].
//! 2. (next) `config` + `module`: `baton.hcl` and HCL resource modules → environment and modules.
//! 3. (next) `graph` → `state` → `plan` → `apply`, with `provider`s doing the real work.
//!
//! `diag` holds the located diagnostics every stage reports; `render` turns results into
//! text and JSON; `cli` is the thin command layer. See ARCHITECTURE.md for the map.

// Errors carry a located `Diagnostic` (a few hundred bytes); they are the cold path and
// boxing every one would only add noise.
#![allow(clippy::result_large_err)]

pub mod addr;
pub mod apply;
pub mod cli;
pub mod config;
pub mod diag;
pub mod expr;
pub mod graph;
pub mod hcl;
pub mod module;
pub mod naming;
pub mod par;
pub mod pipeline;
pub mod plan;
pub mod provider;
pub mod refresh;
pub mod render;
pub mod score;
pub mod state;
pub mod target;
pub mod timings;
pub mod value;
