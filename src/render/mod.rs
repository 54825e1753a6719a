//! Rendering: turns values the engine returns into text for people and JSON for tools.
//! Nothing else in the crate prints.

pub mod diagnostics;
pub mod drift;
pub mod failure;
pub mod graph;
pub mod graph_svg;
pub mod history;
pub mod markdown;
pub mod modules;
pub mod plan;
pub mod progress;
pub mod state;
pub mod tokens;
pub mod validate;

#[cfg(test)]
mod tests;

/// The form of a plan, a drift report or a history diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For a pull-request or issue comment.
    Markdown,
    /// For tools (plans: docs/plan-json.md).
    Json,
}

/// Pretty JSON and a newline.
fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialize");
    s.push('\n');
    s
}

/// Whether output may use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// ANSI colours.
    Always,
    /// Plain text.
    Never,
}

impl Color {
    /// Colour when the stream is a terminal, `NO_COLOR` is unset and `--no-color` was not given.
    pub fn detect(no_color_flag: bool, is_tty: bool) -> Color {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if no_color_flag || no_color_env || !is_tty {
            Color::Never
        } else {
            Color::Always
        }
    }
}
