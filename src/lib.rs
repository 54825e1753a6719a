//! baton: the core of an Internal Developer Platform.
//!
//! The stages, one direction:
//!
//! 1. `score`: Score files → validated workloads and resource requests keyed by [`addr::Uid`].
//! 2. `config` + `module`: `baton.hcl` and HCL resource modules → environment and modules,
//!    a module matched to every resource.
//! 3. `graph` → `state` → `refresh` → `plan` → `apply`, with `provider`s doing the real work:
//!    `eval` computes every node's values for plan and apply; the plan carries its
//!    schedule (`plan::schedule`), which apply follows.
//!
//! [`addr`] owns every address and its syntax (uids, node addresses, lock scopes).
//!
//! [`ops`] is the library API over them: one function per operation (plan, apply, drift,
//! state …), returning values, located diagnostics and events, never printing; it is
//! the only caller of the stage order. `diag` holds the diagnostics every stage reports;
//! `render` turns results into text, Markdown and JSON; `cli` is argument parsing,
//! printing and exit codes over `ops`. See ARCHITECTURE.md for the map.

// Errors carry a located `Diagnostic` (a few hundred bytes); they are the cold path and
// boxing every one would only add noise.
#![allow(clippy::result_large_err)]

pub mod addr;
pub mod apply;
pub mod cli;
pub mod config;
pub mod diag;
pub mod eval;
pub mod expr;
pub mod graph;
pub mod hcl;
pub mod module;
pub mod naming;
pub mod ops;
pub mod par;
pub mod plan;
pub mod provider;
pub mod refresh;
pub mod render;
pub mod schema;
pub mod score;
pub mod serve;
pub mod state;
pub mod target;
pub mod timings;
pub mod value;
