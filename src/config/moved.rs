//! The top-level `moved` blocks of `baton.hcl`: `moved { from = "workload.api" to =
//! "workload.backend" }` takes what the state records at `from` to `to` when a plan is
//! made (addresses as `baton state mv` takes them, parsed by `addr`). Each block is
//! checked on its own (keys, strings, addresses of one kind), then all together: no two
//! move to one address, and none moves what another moves to (a chain, or a cycle).

use hcl_edit::expr::Expression;
use hcl_edit::structure::Body;

use super::STAGE;
use crate::addr::MoveAddr;
use crate::diag::{Diagnostic, FileId, Span};
use crate::hcl;

/// One `moved` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    /// What moves.
    pub from: MoveAddr,
    /// Where to.
    pub to: MoveAddr,
    /// The block.
    pub span: Option<Span>,
}

/// How to write a `moved` block, for help lines.
fn example() -> String {
    format!(
        "write `from = \"{}\"` and `to = \"{}\"` inside `moved {{ … }}`, each on a line of its own",
        crate::addr::workload_address("api"),
        crate::addr::workload_address("backend")
    )
}

/// The `moved` blocks of a file's body, checked; every problem is in `out`.
pub fn blocks(file: FileId, body: &Body, out: &mut Vec<Diagnostic>) -> Vec<Moved> {
    let mut moves: Vec<Moved> = Vec::new();
    for block in body.blocks().filter(|b| b.ident.as_str() == "moved") {
        let span = hcl::block_span(file, block);
        let before = out.len();
        if !block.labels.is_empty() {
            out.push(
                Diagnostic::error(STAGE, "config/moved", "`moved` takes no label")
                    .at(span)
                    .help(example()),
            );
        }
        hcl::check_keys(
            file,
            &block.body,
            &["from", "to"],
            &[],
            "a `moved` block",
            STAGE,
            out,
        );
        let mut address = |key: &str| -> Option<MoveAddr> {
            let Some(a) = block.body.get_attribute(key) else {
                out.push(
                    Diagnostic::error(STAGE, "config/moved", format!("`moved` needs `{key}`"))
                        .at(span)
                        .detail("expected `from` and `to`, each an address in quotes")
                        .help(example()),
                );
                return None;
            };
            let at = hcl::expr_span(file, &a.value);
            let Expression::String(s) = &a.value else {
                out.push(
                    Diagnostic::error(STAGE, "config/moved", format!("`{key}` takes an address in quotes"))
                        .at(at)
                        .detail("expected a string: `workload.NAME`, a uid or an object address, as `baton state mv` takes them")
                        .help(example()),
                );
                return None;
            };
            match MoveAddr::parse(s.as_str()) {
                Ok(m) => Some(m),
                Err(why) => {
                    out.push(
                        Diagnostic::error(
                            STAGE,
                            "config/moved-address",
                            format!("`{key}` is not an address"),
                        )
                        .at(at)
                        .detail(why)
                        .help("`baton state list` shows the recorded addresses"),
                    );
                    None
                }
            }
        };
        let (from, to) = (address("from"), address("to"));
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        if let Some(why) = from.mismatch(&to) {
            out.push(
                Diagnostic::error(STAGE, "config/moved-kind", format!("cannot move `{from}` to `{to}`"))
                    .at(span)
                    .detail(why)
                    .help("move a workload to a workload, a uid to a uid of the same type, an object to an object of the same kind"),
            );
        } else if from == to {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/moved",
                    format!("`moved` from `{from}` to itself"),
                )
                .at(span)
                .help("remove the block"),
            );
        }
        if out.len() == before {
            moves.push(Moved { from, to, span });
        }
    }
    // Two blocks that do not go together: `m`, and `other` as a note.
    let clash = |code: &'static str, summary: String, m: &Moved, other: &Moved, note: &str| {
        Diagnostic::error(STAGE, code, summary)
            .at(m.span)
            .note(other.span, note)
    };
    let mut errors = Vec::new();
    for (i, m) in moves.iter().enumerate() {
        if let Some(first) = moves[..i].iter().find(|o| o.to == m.to) {
            let summary = format!("two `moved` blocks move to `{}`", m.to);
            errors.push(
                clash(
                    "config/moved-twice",
                    summary,
                    m,
                    first,
                    "the first moves there",
                )
                .detail(format!(
                    "`{}` and `{}` cannot both become `{}`",
                    first.from, m.from, m.to
                ))
                .help("keep one of the two blocks"),
            );
        }
        if let Some(next) = moves.iter().find(|o| o.from == m.to) {
            let help = if next.to == m.from {
                "the two blocks undo each other (a cycle): remove both".to_string()
            } else {
                format!(
                    "move straight from `{}` to `{}` in one block",
                    m.from, next.to
                )
            };
            let summary = format!("`moved` blocks chain through `{}`", m.to);
            errors.push(
                clash(
                    "config/moved-chain",
                    summary,
                    m,
                    next,
                    "this block moves it on",
                )
                .detail(format!(
                    "`{}` moves to `{}`, which moves to `{}`",
                    m.from, m.to, next.to
                ))
                .help(help),
            );
        }
    }
    out.extend(errors);
    moves
}
