//! The dependency graph as Graphviz DOT or a Mermaid flowchart (`baton graph`): nodes in
//! the graph's stable order, so the same inputs draw the same text.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use petgraph::graph::NodeIndex;

use crate::graph::{Graph, NodeKind};

fn id(i: NodeIndex) -> String {
    format!("n{}", i.index())
}

/// Graph output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

/// `graph`: the nodes in `keep` and their edges in `format`.
pub fn formatted(g: &Graph, keep: &BTreeSet<NodeIndex>, format: GraphFormat) -> String {
    match format {
        GraphFormat::Dot => dot(g, keep),
        GraphFormat::Mermaid => mermaid(g, keep),
    }
}

/// DOT of the nodes of `g` in `keep` and the edges between them.
pub fn dot(g: &Graph, keep: &BTreeSet<NodeIndex>) -> String {
    let mut out = String::new();
    out.push_str(
        "digraph baton {\n  rankdir = LR;\n  node [shape = box, fontname = \"sans-serif\"];\n",
    );
    for &i in g.order.iter().filter(|i| keep.contains(i)) {
        let n = &g.dag[i];
        let shape = match n.kind {
            NodeKind::Workload(_) => "shape = component",
            NodeKind::Params(_) | NodeKind::Outputs(_) => "shape = ellipse",
            NodeKind::Resource(..) => "shape = box",
        };
        let _ = writeln!(out, "  {} [label = {:?}, {shape}];", id(i), n.address);
    }
    for &i in g.order.iter().filter(|i| keep.contains(i)) {
        for j in g.dag.neighbors_directed(i, petgraph::Direction::Outgoing) {
            if keep.contains(&j) {
                let _ = writeln!(out, "  {} -> {};", id(i), id(j));
            }
        }
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart of the nodes of `g` in `keep` and the edges between them.
pub fn mermaid(g: &Graph, keep: &BTreeSet<NodeIndex>) -> String {
    let mut out = String::from("flowchart LR\n");
    for &i in g.order.iter().filter(|i| keep.contains(i)) {
        let n = &g.dag[i];
        let label = n.address.replace('"', "'");
        let _ = match n.kind {
            NodeKind::Workload(_) => writeln!(out, "  {}[[\"{label}\"]]", id(i)),
            NodeKind::Params(_) | NodeKind::Outputs(_) => {
                writeln!(out, "  {}([\"{label}\"])", id(i))
            }
            NodeKind::Resource(..) => writeln!(out, "  {}[\"{label}\"]", id(i)),
        };
    }
    for &i in g.order.iter().filter(|i| keep.contains(i)) {
        let mut next: Vec<_> = g
            .dag
            .neighbors_directed(i, petgraph::Direction::Outgoing)
            .filter(|j| keep.contains(j))
            .collect();
        next.sort();
        for j in next {
            let _ = writeln!(out, "  {} --> {}", id(i), id(j));
        }
    }
    out
}
