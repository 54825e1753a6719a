//! The dependency graph (petgraph) of one environment: for every Score resource (uid)
//! a params node, one node per primitive resource of its module, and an outputs node;
//! one node per workload. Edges come from references: HCL expressions inside a module,
//! `${resources…}` placeholders in Score params (resource → resource) and the workload's
//! resources (workload → resource). A cycle is one diagnostic printing the cycle as a
//! path of addresses. The order is a stable topological order with lexical tie-break.
//! This module is pure.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rustc_hash::FxHashMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::addr::Uid;
use crate::diag::{Diagnostic, Span, Stage};
use crate::module::Module;
use crate::score::Project;

/// What a node stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// The params of a resource (Score params resolved, typed, defaulted).
    Params(Uid),
    /// A primitive resource of the uid's module: index into `module.resources`.
    Resource(Uid, usize),
    /// The outputs of a resource.
    Outputs(Uid),
    /// A workload's manifests.
    Workload(String),
}

/// A node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Its address.
    pub address: String,
    /// What it stands for.
    pub kind: NodeKind,
}

/// The graph, with each uid's module.
pub struct Graph {
    /// The DAG; an edge a → b means a must finish before b.
    pub dag: DiGraph<Node, ()>,
    /// Node by address.
    index: AddressIndex,
    /// Nodes in stable topological order.
    pub order: Vec<NodeIndex>,
    /// The module chosen for each uid (index into the module list).
    pub module_of: BTreeMap<Uid, usize>,
}

/// Nodes by address: a hash table of node indices, hashed and compared by the address
/// each node holds, so the 30,000 addresses of a large graph are not stored twice.
struct AddressIndex(hashbrown::HashTable<NodeIndex>);

fn address_hash(address: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(address)
}

impl AddressIndex {
    fn with_capacity(n: usize) -> AddressIndex {
        AddressIndex(hashbrown::HashTable::with_capacity(n))
    }

    /// Indexes node `i` of `dag` (the last node of an address wins).
    fn insert(&mut self, dag: &DiGraph<Node, ()>, i: NodeIndex) {
        let address = dag[i].address.as_str();
        match self.0.entry(
            address_hash(address),
            |&j| dag[j].address == address,
            |&j| address_hash(&dag[j].address),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = i,
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(i);
            }
        }
    }

    fn get(&self, dag: &DiGraph<Node, ()>, address: &str) -> Option<NodeIndex> {
        self.0
            .find(address_hash(address), |&j| dag[j].address == address)
            .copied()
    }
}

/// The address of a primitive resource.
pub fn resource_address(uid: &Uid, kind: &str, name: &str) -> String {
    uid_address(uid, &[kind, ".", name])
}

/// [`resource_address`] written into `out` (cleared first), for loops that look many up.
pub fn write_resource_address(out: &mut String, uid: &Uid, kind: &str, name: &str) {
    out.clear();
    uid.push_to(out);
    for p in ["/", kind, ".", name] {
        out.push_str(p);
    }
}

/// The address of a uid's params node.
pub fn params_address(uid: &Uid) -> String {
    uid_address(uid, &["params"])
}

/// The address of a uid's outputs node.
pub fn outputs_address(uid: &Uid) -> String {
    uid_address(uid, &["outputs"])
}

/// `{uid}/` followed by `parts`, in one allocation.
fn uid_address(uid: &Uid, parts: &[&str]) -> String {
    let mut out =
        String::with_capacity(uid.text_len() + 1 + parts.iter().map(|p| p.len()).sum::<usize>());
    uid.push_to(&mut out);
    out.push('/');
    for p in parts {
        out.push_str(p);
    }
    out
}

pub use crate::addr::workload_address;

impl Graph {
    /// Builds the graph; `module_of` gives the module chosen for each uid of the project.
    pub fn build(
        project: &Project,
        modules: &[Module],
        module_of: BTreeMap<Uid, usize>,
        spans: &BTreeMap<Uid, Option<Span>>,
    ) -> Result<Graph, Diagnostic> {
        // The edges inside a module are the same for every uid it serves: work them out
        // once per module (expression references are the costly part).
        let local: Vec<ModuleEdges> = modules.iter().map(ModuleEdges::of).collect();
        let mut dag: DiGraph<Node, ()> = DiGraph::with_capacity(
            module_of
                .values()
                .map(|&mi| modules[mi].resources.len() + 2)
                .sum::<usize>()
                + project.workloads.len(),
            0,
        );
        let mut index = AddressIndex::with_capacity(dag.capacity().0);
        let mut add = |dag: &mut DiGraph<Node, ()>, address: String, kind: NodeKind| {
            let i = dag.add_node(Node { address, kind });
            index.insert(dag, i);
            i
        };
        // Per uid: its params node, its first resource node, its outputs node.
        let mut nodes_of: FxHashMap<&Uid, (NodeIndex, usize, NodeIndex)> = FxHashMap::default();
        nodes_of.reserve(module_of.len());
        for (uid, &mi) in &module_of {
            let m = &modules[mi];
            let params = add(&mut dag, params_address(uid), NodeKind::Params(uid.clone()));
            let first = dag.node_count();
            for (ri, r) in m.resources.iter().enumerate() {
                add(
                    &mut dag,
                    resource_address(uid, &r.kind, &r.name),
                    NodeKind::Resource(uid.clone(), ri),
                );
            }
            let outputs = add(
                &mut dag,
                outputs_address(uid),
                NodeKind::Outputs(uid.clone()),
            );
            nodes_of.insert(uid, (params, first, outputs));
        }
        // About two edges per node (params → resources → outputs → dependents).
        let mut edges: Vec<(NodeIndex, NodeIndex)> = Vec::with_capacity(2 * dag.node_count());
        // Both maps are sorted by uid: walk the declarations alongside.
        let mut decls = project.resources.iter().peekable();
        for (uid, &mi) in &module_of {
            let (params, first, outputs) = nodes_of[uid];
            let res = |ri: usize| NodeIndex::new(first + ri);
            while decls.next_if(|(u, _)| *u < uid).is_some() {}
            if let Some((_, decl)) = decls.next_if(|(u, _)| *u == uid) {
                for dep in &decl.depends_on {
                    if let Some(&(_, _, dep_outputs)) = nodes_of.get(dep) {
                        edges.push((dep_outputs, params));
                    }
                }
            }
            let e = &local[mi];
            for (ri, deps) in e.resources.iter().enumerate() {
                edges.push((params, res(ri)));
                edges.extend(deps.iter().map(|&d| (res(d), res(ri))));
            }
            edges.push((params, outputs));
            edges.extend(e.outputs.iter().map(|&d| (res(d), outputs)));
        }
        for lw in &project.workloads {
            let w = &lw.workload;
            let me = add(
                &mut dag,
                workload_address(w.name()),
                NodeKind::Workload(w.name().to_string()),
            );
            for rname in w.resources.keys() {
                if let Some(uid) = lw.uid(rname)
                    && let Some(&(_, _, outputs)) = nodes_of.get(uid)
                {
                    edges.push((outputs, me));
                }
            }
        }
        edges.sort_unstable();
        edges.dedup();
        dag.reserve_edges(edges.len());
        for (a, b) in edges {
            dag.add_edge(a, b, ());
        }
        let order = stable_topo(&dag).map_err(|cycle| {
            let path: Vec<String> = cycle.iter().map(|i| dag[*i].address.clone()).collect();
            let uid = match &dag[cycle[0]].kind {
                NodeKind::Params(u) | NodeKind::Resource(u, _) | NodeKind::Outputs(u) => Some(u.clone()),
                NodeKind::Workload(_) => None,
            };
            Diagnostic::error(Stage::Generate, "graph/cycle", "dependency cycle")
                .at(uid.and_then(|u| spans.get(&u).copied().flatten()))
                .detail(path.join(" -> "))
                .help("break the cycle: a resource cannot depend, directly or through others, on itself")
        })?;
        Ok(Graph {
            dag,
            index,
            order,
            module_of,
        })
    }

    /// Addresses of the nodes `i` depends on directly, sorted.
    pub fn dependencies(&self, i: NodeIndex) -> Vec<String> {
        let mut v: Vec<String> = self
            .dag
            .neighbors_directed(i, Direction::Incoming)
            .map(|j| self.dag[j].address.clone())
            .collect();
        v.sort();
        v
    }

    /// The node at an address.
    pub fn node(&self, address: &str) -> Option<&Node> {
        self.find(address).map(|i| &self.dag[i])
    }

    /// The index of the node at an address.
    pub fn find(&self, address: &str) -> Option<NodeIndex> {
        self.index.get(&self.dag, address)
    }

    /// Every node `i` depends on, transitively (including itself).
    pub fn ancestors(&self, starts: &[NodeIndex]) -> BTreeSet<NodeIndex> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<NodeIndex> = starts.to_vec();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(self.dag.neighbors_directed(n, Direction::Incoming));
            }
        }
        seen
    }
}

/// The edges inside one module, by resource index: what each resource's expressions,
/// lifecycle rules and `depends_on` reference, and what the outputs reference.
struct ModuleEdges {
    resources: Vec<Vec<usize>>,
    outputs: Vec<usize>,
}

impl ModuleEdges {
    fn of(m: &Module) -> ModuleEdges {
        let local = |kind: &str, name: &str| {
            m.resources
                .iter()
                .position(|r| r.kind == kind && r.name == name)
        };
        let refs = |e: &hcl_edit::expr::Expression, out: &mut Vec<usize>| {
            for reference in crate::expr::references(e) {
                if reference.path.len() >= 2
                    && let Some(d) = local(&reference.path[0], &reference.path[1])
                {
                    out.push(d);
                }
            }
        };
        let resources = m
            .resources
            .iter()
            .map(|r| {
                let mut deps = Vec::new();
                let lifecycle = [
                    &r.lifecycle.prevent_destroy,
                    &r.lifecycle.create_before_destroy,
                    &r.lifecycle.replace_triggered_by,
                ];
                for e in r
                    .attributes
                    .values()
                    .map(|(e, _)| e)
                    .chain(lifecycle.into_iter().flatten().map(|(e, _)| e))
                {
                    refs(e, &mut deps);
                }
                deps.extend(r.depends_on.iter().filter_map(|(k, n)| local(k, n)));
                deps
            })
            .collect();
        let mut outputs = Vec::new();
        for o in &m.outputs {
            refs(&o.value, &mut outputs);
        }
        ModuleEdges { resources, outputs }
    }
}

/// Kahn's algorithm, always taking the lexically smallest ready address; on a cycle,
/// returns one cycle as a closed path of nodes.
fn stable_topo(dag: &DiGraph<Node, ()>) -> Result<Vec<NodeIndex>, Vec<NodeIndex>> {
    // Rank every node by address once, so the ready queue compares integers.
    let mut by_address: Vec<NodeIndex> = dag.node_indices().collect();
    crate::par::sort_unstable_by(&mut by_address, |a, b| {
        dag[*a].address.cmp(&dag[*b].address)
    });
    let mut rank = vec![0usize; dag.node_count()];
    for (r, i) in by_address.iter().enumerate() {
        rank[i.index()] = r;
    }
    let mut indegree: Vec<usize> = dag
        .node_indices()
        .map(|i| dag.neighbors_directed(i, Direction::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<usize>> = indegree
        .iter()
        .enumerate()
        .filter(|(_, d)| **d == 0)
        .map(|(i, _)| Reverse(rank[i]))
        .collect();
    let mut order = Vec::with_capacity(dag.node_count());
    while let Some(Reverse(r)) = ready.pop() {
        let i = by_address[r];
        order.push(i);
        for j in dag.neighbors_directed(i, Direction::Outgoing) {
            let d = &mut indegree[j.index()];
            *d -= 1;
            if *d == 0 {
                ready.push(Reverse(rank[j.index()]));
            }
        }
    }
    if order.len() == dag.node_count() {
        return Ok(order);
    }
    // Find a cycle among the nodes left: walk backwards along incoming edges inside the
    // remainder until a node repeats.
    let left: BTreeSet<NodeIndex> = indegree
        .iter()
        .enumerate()
        .filter(|(_, d)| **d > 0)
        .map(|(i, _)| NodeIndex::new(i))
        .collect();
    let start = *left
        .iter()
        .min_by_key(|i| dag[**i].address.clone())
        .expect("a cycle leaves nodes");
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let mut preds: Vec<NodeIndex> = dag
            .neighbors_directed(cur, Direction::Incoming)
            .filter(|p| left.contains(p))
            .collect();
        preds.sort_by_key(|p| dag[*p].address.clone());
        let next = preds[0];
        if let Some(pos) = path.iter().position(|p| *p == next) {
            let mut cycle: Vec<NodeIndex> = path[pos..].to_vec();
            cycle.reverse();
            // Start at the lexically smallest address, so the message is stable.
            let first = (0..cycle.len())
                .min_by_key(|i| dag[cycle[*i]].address.clone())
                .unwrap_or(0);
            cycle.rotate_left(first);
            cycle.push(cycle[0]);
            return Err(cycle);
        }
        path.push(next);
        cur = next;
    }
}
