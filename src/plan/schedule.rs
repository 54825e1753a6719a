//! The schedule: the steps a plan's apply takes and what each waits for, decided once,
//! at plan time, and followed by apply. Every node of the graph is a step (a destroy
//! plan has none: it only deletes), waiting for the nodes it depends on; every delete is
//! a step, waiting for the deletes of the objects that depend on it, so deletes run in
//! reverse dependency order. Steps that are ready together start in address order
//! (`rank`), so a walk is the same from run to run.

use petgraph::Direction;
use petgraph::graph::NodeIndex;

use crate::graph::Graph;
use crate::plan::{Action, Change};

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Evaluate a node of the graph, and call its provider when its change says so.
    Node(NodeIndex),
    /// Delete an object no longer desired: the index of its change in the plan.
    Delete(usize),
}

/// One step of the schedule.
#[derive(Debug, Clone)]
pub struct Step {
    /// The address of the node or object.
    pub address: String,
    /// What it does.
    pub kind: StepKind,
    /// The steps it waits for, by index.
    pub waits_for: Vec<usize>,
    /// Its place among all steps by address: ready steps start in this order.
    pub rank: u32,
}

/// The steps of a plan, in the order they are listed (graph order, then deletes).
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    /// The steps.
    pub steps: Vec<Step>,
}

/// The schedule of a plan whose changes are `changes`, over `graph`.
pub fn schedule(graph: &Graph, changes: &[Change], destroy: bool) -> Schedule {
    let mut steps: Vec<Step> = Vec::new();
    if !destroy {
        // The graph's order lists dependencies first, so a node's index is its step's.
        let mut step_of: Vec<Option<usize>> = vec![None; graph.dag.node_count()];
        for &i in &graph.order {
            step_of[i.index()] = Some(steps.len());
            steps.push(Step {
                address: graph.dag[i].address.clone(),
                kind: StepKind::Node(i),
                waits_for: Vec::new(),
                rank: 0,
            });
        }
        for &i in &graph.order {
            let s = step_of[i.index()].expect("every node has a step");
            steps[s].waits_for = graph
                .dag
                .neighbors_directed(i, Direction::Incoming)
                .filter_map(|j| step_of[j.index()])
                .collect();
        }
    }
    let first_delete = steps.len();
    let mut delete_step: std::collections::BTreeMap<&str, usize> = Default::default();
    for (ci, c) in changes.iter().enumerate() {
        if c.action == Action::Delete {
            delete_step.insert(c.address.as_str(), steps.len());
            steps.push(Step {
                address: c.address.clone(),
                kind: StepKind::Delete(ci),
                waits_for: Vec::new(),
                rank: 0,
            });
        }
    }
    // A delete waits for the deletes of everything that depends on it.
    for me in first_delete..steps.len() {
        let StepKind::Delete(ci) = steps[me].kind else {
            unreachable!("steps from here on are deletes")
        };
        for d in &changes[ci].depends_on {
            if let Some(&dep_step) = delete_step.get(d.as_str()) {
                steps[dep_step].waits_for.push(me);
            }
        }
    }
    // The rank stands in for the address, so that the ready set compares integers
    // instead of long addresses with common prefixes.
    let mut by_address: Vec<usize> = (0..steps.len()).collect();
    by_address.sort_unstable_by(|&a, &b| steps[a].address.cmp(&steps[b].address));
    for (rank, s) in by_address.into_iter().enumerate() {
        steps[s].rank = rank as u32;
    }
    Schedule { steps }
}
