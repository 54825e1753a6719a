//! The dependency graph as an SVG picture for the portal (`baton serve`), laid out here
//! so no browser-side script is needed: layers by longest path from the sources, nodes
//! ordered within a layer by the mean position of their predecessors (two sweeps),
//! boxes with the node's address, and edges as curves from left to right. The same
//! graph draws the same picture.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use crate::graph::{Graph, NodeKind};

const BOX_H: usize = 26;
const GAP_Y: usize = 14;
const GAP_X: usize = 60;
const CHAR_W: usize = 7;
const PAD: usize = 10;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The layer of each node in `keep`: the length of the longest path reaching it.
fn layers(g: &Graph, keep: &BTreeSet<NodeIndex>) -> BTreeMap<NodeIndex, usize> {
    let mut layer = BTreeMap::new();
    // `order` is topological: every predecessor comes first.
    for &i in g.order.iter().filter(|i| keep.contains(i)) {
        let l = g
            .dag
            .neighbors_directed(i, Direction::Incoming)
            .filter_map(|p| layer.get(&p).map(|l| l + 1))
            .max()
            .unwrap_or(0);
        layer.insert(i, l);
    }
    layer
}

/// An SVG drawing of the nodes of `g` in `keep` and the edges between them.
pub fn svg(g: &Graph, keep: &BTreeSet<NodeIndex>) -> String {
    let layer = layers(g, keep);
    let depth = layer.values().copied().max().map_or(0, |m| m + 1);
    let mut columns: Vec<Vec<NodeIndex>> = vec![Vec::new(); depth];
    for &i in g.order.iter().filter(|i| keep.contains(i)) {
        columns[layer[&i]].push(i);
    }
    // Order each column by the mean row of its neighbours in the previous one, then
    // again from the right; ties keep the graph's stable order.
    let mut row: BTreeMap<NodeIndex, f64> = BTreeMap::new();
    for (c, col) in columns.iter().enumerate() {
        if c == 0 {
            for (r, &i) in col.iter().enumerate() {
                row.insert(i, r as f64);
            }
        }
    }
    let mean = |i: NodeIndex, dir: Direction, row: &BTreeMap<NodeIndex, f64>| {
        let ps: Vec<f64> = g
            .dag
            .neighbors_directed(i, dir)
            .filter_map(|p| row.get(&p).copied())
            .collect();
        if ps.is_empty() {
            None
        } else {
            Some(ps.iter().sum::<f64>() / ps.len() as f64)
        }
    };
    let sweep = |columns: &mut Vec<Vec<NodeIndex>>,
                 row: &mut BTreeMap<NodeIndex, f64>,
                 cols: Vec<usize>,
                 dir: Direction| {
        for c in cols {
            let mut keyed: Vec<(f64, usize, NodeIndex)> = columns[c]
                .iter()
                .enumerate()
                .map(|(r, &i)| (mean(i, dir, row).unwrap_or(r as f64), r, i))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            columns[c] = keyed.into_iter().map(|k| k.2).collect();
            for (r, &i) in columns[c].iter().enumerate() {
                row.insert(i, r as f64);
            }
        }
    };
    sweep(
        &mut columns,
        &mut row,
        (1..depth).collect(),
        Direction::Incoming,
    );
    sweep(
        &mut columns,
        &mut row,
        (0..depth.saturating_sub(1)).rev().collect(),
        Direction::Outgoing,
    );

    let width_of = |i: NodeIndex| g.dag[i].address.chars().count() * CHAR_W + 2 * PAD;
    let col_w: Vec<usize> = columns
        .iter()
        .map(|c| c.iter().map(|&i| width_of(i)).max().unwrap_or(0))
        .collect();
    let mut x0 = Vec::with_capacity(depth);
    let mut x = PAD;
    for w in &col_w {
        x0.push(x);
        x += w + GAP_X;
    }
    let width = x.saturating_sub(GAP_X) + PAD;
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
    let height = tallest * (BOX_H + GAP_Y) + PAD;
    let mut pos: BTreeMap<NodeIndex, (usize, usize, usize)> = BTreeMap::new();
    for (c, col) in columns.iter().enumerate() {
        // Centre shorter columns vertically.
        let offset = (tallest - col.len()) * (BOX_H + GAP_Y) / 2;
        for (r, &i) in col.iter().enumerate() {
            pos.insert(i, (x0[c], PAD + offset + r * (BOX_H + GAP_Y), width_of(i)));
        }
    }

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="dependency graph">"#
    );
    out.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#667"/></marker></defs>"##);
    for &i in g.order.iter().filter(|i| keep.contains(i)) {
        let (x1, y1, w1) = pos[&i];
        let mut next: Vec<NodeIndex> = g
            .dag
            .neighbors_directed(i, Direction::Outgoing)
            .filter(|j| keep.contains(j))
            .collect();
        next.sort();
        for j in next {
            let (x2, y2, _) = pos[&j];
            let (sx, sy) = (x1 + w1, y1 + BOX_H / 2);
            let (ex, ey) = (x2, y2 + BOX_H / 2);
            let mid = (sx + ex) / 2;
            let _ = write!(
                out,
                r##"<path class="edge" d="M {sx} {sy} C {mid} {sy}, {mid} {ey}, {ex} {ey}" fill="none" stroke="#667" marker-end="url(#arrow)"/>"##
            );
        }
    }
    for &i in g.order.iter().filter(|i| keep.contains(i)) {
        let (x, y, w) = pos[&i];
        let n = &g.dag[i];
        let (class, rx) = match n.kind {
            NodeKind::Workload(_) => ("workload", 0),
            NodeKind::Params(_) | NodeKind::Outputs(_) => ("values", 12),
            NodeKind::Resource(..) => ("resource", 3),
        };
        let label = escape(&n.address);
        let _ = write!(
            out,
            r#"<g class="node {class}"><title>{label}</title><rect x="{x}" y="{y}" width="{w}" height="{BOX_H}" rx="{rx}"/><text x="{}" y="{}">{label}</text></g>"#,
            x + PAD,
            y + BOX_H / 2 + 4
        );
    }
    out.push_str("</svg>");
    out
}
