//! Fuzz the Score loader: any bytes as a Score file (and as an overrides value) must give
//! diagnostics or a project, never a panic, and diagnostics must render.
#![no_main]

use baton::diag::{Diagnostics, Sources};
use baton::score::{load_texts, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let project = load_texts(&[("score.yaml", text), ("other.yaml", text)], &LoadOptions::default(), &mut sources, &mut diags);
    diags.sort(&sources);
    let _ = baton::render::diagnostics::text(&diags, &sources, baton::render::Color::Never);
    let _ = baton::render::validate::report(&project, &diags, &sources);
});
