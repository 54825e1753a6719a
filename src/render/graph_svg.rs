//! The dependency graph as an SVG picture for the portal (`baton serve`), laid out here
//! so no browser-side script is needed: layers by longest path from the sources, nodes
//! ordered within a layer by the mean position of their neighbours (a sweep from the
//! left, then one from the right), boxes with the node's address, and edges as curves
//! from left to right. The same graph draws the same picture.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use crate::graph::{Graph, NodeKind};

const BOX_H: usize = 26;
const GAP_Y: usize = 14;
const GAP_X: usize = 60;
const CHAR_W: usize = 7;
const PAD: usize = 10;

/// A node to draw: its label and its CSS class (`workload`, `values`, `resource`).
struct Node<'a> {
    label: &'a str,
    class: &'static str,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG drawing of the nodes of `g` in `keep` and the edges between them.
pub fn svg(g: &Graph, keep: &BTreeSet<NodeIndex>) -> String {
    let kept: Vec<NodeIndex> = g
        .order
        .iter()
        .copied()
        .filter(|i| keep.contains(i))
        .collect();
    let at = |i: NodeIndex| kept.iter().position(|&k| k == i);
    let nodes: Vec<Node> = kept
        .iter()
        .map(|&i| {
            let n = &g.dag[i];
            let class = match n.kind {
                NodeKind::Workload(_) => "workload",
                NodeKind::Params(_) | NodeKind::Outputs(_) => "values",
                NodeKind::Resource(..) => "resource",
            };
            Node {
                label: &n.address,
                class,
            }
        })
        .collect();
    let mut edges = Vec::new();
    for (a, &i) in kept.iter().enumerate() {
        for j in g.dag.neighbors_directed(i, Direction::Outgoing) {
            if let Some(b) = at(j) {
                edges.push((a, b));
            }
        }
    }
    edges.sort_unstable();
    edges.dedup();
    draw(&nodes, &edges)
}

/// The drawing of `nodes` (in topological order) and `edges` (`a → b`, indices into
/// `nodes`, `a` before `b`).
fn draw(nodes: &[Node], edges: &[(usize, usize)]) -> String {
    let n = nodes.len();
    let preds = |b: usize| edges.iter().filter(move |e| e.1 == b).map(|e| e.0);
    let succs = |a: usize| edges.iter().filter(move |e| e.0 == a).map(|e| e.1);
    // Longest path from a source: every predecessor comes earlier in `nodes`.
    let mut layer = vec![0usize; n];
    for b in 0..n {
        layer[b] = preds(b).map(|a| layer[a] + 1).max().unwrap_or(0);
    }
    let depth = layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, &l) in layer.iter().enumerate() {
        columns[l].push(i);
    }
    let mut row = vec![0f64; n];
    for col in &columns {
        for (r, &i) in col.iter().enumerate() {
            row[i] = r as f64;
        }
    }
    // Each column by the mean row of its neighbours in the column before (then after);
    // ties keep the stable order.
    let mut sweep = |cols: Vec<usize>, forward: bool| {
        for c in cols {
            let mut keyed: Vec<(f64, usize)> = columns[c]
                .iter()
                .map(|&i| {
                    let near: Vec<f64> = if forward {
                        preds(i).map(|p| row[p]).collect()
                    } else {
                        succs(i).map(|s| row[s]).collect()
                    };
                    let key = if near.is_empty() {
                        row[i]
                    } else {
                        near.iter().sum::<f64>() / near.len() as f64
                    };
                    (key, i)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            columns[c] = keyed.into_iter().map(|k| k.1).collect();
            for (r, &i) in columns[c].iter().enumerate() {
                row[i] = r as f64;
            }
        }
    };
    sweep((1..depth).collect(), true);
    sweep((0..depth.saturating_sub(1)).rev().collect(), false);

    let width_of = |i: usize| nodes[i].label.chars().count() * CHAR_W + 2 * PAD;
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
    let mut pos = vec![(0usize, 0usize, 0usize); n];
    let mut x = PAD;
    for col in &columns {
        let w = col.iter().map(|&i| width_of(i)).max().unwrap_or(0);
        // Shorter columns are centred vertically.
        let offset = (tallest - col.len()) * (BOX_H + GAP_Y) / 2;
        for (r, &i) in col.iter().enumerate() {
            pos[i] = (x, PAD + offset + r * (BOX_H + GAP_Y), width_of(i));
        }
        x += w + GAP_X;
    }
    let width = (x + PAD).saturating_sub(GAP_X).max(2 * PAD);
    let height = tallest * (BOX_H + GAP_Y) + PAD;

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="dependency graph">"#
    );
    out.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#667"/></marker></defs>"##);
    for &(a, b) in edges {
        let (x1, y1, w1) = pos[a];
        let (x2, y2, _) = pos[b];
        let (sx, sy) = (x1 + w1, y1 + BOX_H / 2);
        let (ex, ey) = (x2, y2 + BOX_H / 2);
        let mid = (sx + ex) / 2;
        let _ = write!(
            out,
            r##"<path class="edge" d="M {sx} {sy} C {mid} {sy}, {mid} {ey}, {ex} {ey}" fill="none" stroke="#667" marker-end="url(#arrow)"/>"##
        );
    }
    for (i, node) in nodes.iter().enumerate() {
        let (x, y, w) = pos[i];
        let rx = match node.class {
            "values" => 12,
            "resource" => 3,
            _ => 0,
        };
        let label = escape(node.label);
        let _ = write!(
            out,
            r#"<g class="node {}"><title>{label}</title><rect x="{x}" y="{y}" width="{w}" height="{BOX_H}" rx="{rx}"/><text x="{}" y="{}">{label}</text></g>"#,
            node.class,
            x + PAD,
            y + BOX_H / 2 + 4
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(label: &str) -> Node<'_> {
        Node {
            label,
            class: "resource",
        }
    }

    /// The `x` and `y` of each node's box, in the order drawn.
    fn boxes(svg: &str) -> Vec<(usize, usize)> {
        svg.split("<rect x=\"")
            .skip(1)
            .map(|s| {
                let x = s.split('"').next().unwrap().parse().unwrap();
                let y = s.split("y=\"").nth(1).unwrap().split('"').next().unwrap();
                (x, y.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn layers_follow_the_longest_path_and_neighbours_line_up() {
        // a → b → d, a → d, c → e: d is two layers right of a (its longest path), and e,
        // whose only neighbour is c, sits in c's row.
        let nodes = [node("a"), node("b"), node("c"), node("d"), node("e")];
        let edges = [(0, 1), (0, 3), (1, 3), (2, 4)];
        let svg = draw(&nodes, &edges);
        let b = boxes(&svg);
        assert_eq!(b[0].0, b[2].0, "a and c are sources");
        assert!(
            b[1].0 > b[0].0 && b[3].0 > b[1].0,
            "a, b, d left to right: {b:?}"
        );
        assert_eq!(b[4].0, b[1].0, "e in the second layer");
        assert_eq!(b[4].1, b[2].1, "e beside c: {b:?}");
        assert_eq!(svg.matches("class=\"edge\"").count(), 4);
        assert_eq!(
            draw(&nodes, &edges),
            svg,
            "the same graph draws the same picture"
        );
    }

    #[test]
    fn labels_are_escaped_and_an_empty_graph_draws() {
        let svg = draw(&[node("<script>&\"")], &[]);
        assert!(svg.contains("&lt;script&gt;&amp;&quot;"), "{svg}");
        assert!(!svg.contains("<script>"));
        assert!(draw(&[], &[]).starts_with("<svg"));
    }
}
