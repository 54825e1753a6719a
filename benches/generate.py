#!/usr/bin/env python3
"""Writes the same dependency graph as a baton project and as a Terraform configuration.

    benches/generate.py OUT_DIR --size N [--shape fanout|independent|chains] [--depth D]

Shapes (N resources in all):
  fanout       100 roots and N-100 leaves, each leaf referencing one root (round robin);
               the shape Terraform's figures in issue 8 were measured on.
  independent  N resources, no references.
  chains       N/D chains of depth D: each resource references the previous one.

baton side (OUT_DIR/baton): W = max(1, N/100) workloads of about 100 resources, nodes
grouped by the root they hang from; roots are shared resources of type `bench-root` (one
`baton_data` each, declared by id in each workload that reads it: about two per workload
in the fanout shape), other resources are `bench-node` whose params
reference their parent's output through a Score placeholder — the same edges as the
Terraform side (OUT_DIR/terraform/main.tf), where each resource is a `terraform_data`
whose `input` references its parent's `output`.
"""
import argparse
import os

ROOT_MODULE = """provisions "bench-root" {
  description = "A benchmark root: one baton_data"
}
param "index" {
  type = number
}
resource "baton_data" "node" {
  input = "root-${param.index}"
}
output "value" {
  value = baton_data.node.output
}
"""

NODE_MODULE = """provisions "bench-node" {
  description = "A benchmark node: one baton_data whose input is its parent's value"
}
param "parent" {
  type    = string
  default = ""
}
param "index" {
  type = number
}
resource "baton_data" "node" {
  input = "${param.parent}/${param.index}"
}
output "value" {
  value = baton_data.node.output
}
"""


def plan_graph(n, shape, depth):
    """Returns a list of (name, parent_name_or_None), N entries, parents first."""
    nodes = []
    if shape == "fanout":
        roots = min(100, n)
        for r in range(roots):
            nodes.append((f"root{r}", None))
        for i in range(n - roots):
            nodes.append((f"n{i}", f"root{i % roots}"))
    elif shape == "independent":
        for i in range(n):
            nodes.append((f"n{i}", None))
    elif shape == "chains":
        for c in range(max(1, n // depth)):
            prev = None
            for d in range(depth):
                name = f"c{c}d{d}"
                nodes.append((name, prev))
                prev = name
    else:
        raise SystemExit(f"unknown shape {shape}")
    return nodes


def write_terraform(out, nodes):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "main.tf"), "w") as f:
        for name, parent in nodes:
            if parent is None:
                f.write(f'resource "terraform_data" "{name}" {{\n  input = "{name}"\n}}\n')
            else:
                f.write(f'resource "terraform_data" "{name}" {{\n  input = "${{terraform_data.{parent}.output}}/{name}"\n}}\n')


def write_tfstate(out, nodes):
    """The terraform.tfstate a first `terraform apply` of main.tf records, so the plan
    steps can be measured at sizes where Terraform's own apply takes most of an hour."""
    import json
    import uuid
    values = {}
    for name, parent in nodes:
        values[name] = name if parent is None else f"{values[parent]}/{name}"
    resources = []
    for name, parent in sorted(nodes):
        inst = {
            "schema_version": 0,
            "attributes": {
                "id": str(uuid.UUID(int=len(resources) + 1)),
                "input": {"value": values[name], "type": "string"},
                "output": {"value": values[name], "type": "string"},
                "triggers_replace": None,
            },
            "sensitive_attributes": [],
        }
        if parent is not None:
            inst["dependencies"] = [f"terraform_data.{parent}"]
        resources.append({
            "mode": "managed",
            "type": "terraform_data",
            "name": name,
            "provider": 'provider["terraform.io/builtin/terraform"]',
            "instances": [inst],
        })
    state = {
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": 1,
        "lineage": "00000000-0000-0000-0000-000000000001",
        "outputs": {},
        "resources": resources,
        "check_results": None,
    }
    with open(os.path.join(out, "terraform.tfstate"), "w") as f:
        json.dump(state, f, indent=2)


def write_baton(out, nodes, per_workload=100):
    os.makedirs(os.path.join(out, "modules"), exist_ok=True)
    with open(os.path.join(out, "modules", "bench-root.hcl"), "w") as f:
        f.write(ROOT_MODULE)
    with open(os.path.join(out, "modules", "bench-node.hcl"), "w") as f:
        f.write(NODE_MODULE)
    roots = {name for name, parent in nodes if name.startswith("root")}
    # Place each node in a workload; a node's parent is reachable from its workload:
    # roots are shared resources (id), referenced by any workload under their own name;
    # other parents live in the same workload (chains are never split).
    # Nodes are grouped by the root they hang from (stable, so chains keep their order):
    # a workload then declares the few roots its nodes read, and the project declares
    # about as many resources as the Terraform configuration has blocks, not every root
    # again in every workload.
    parent_of = dict(nodes)
    order = {name: i for i, (name, _) in enumerate(nodes)}

    def top(name):
        while parent_of[name] is not None:
            name = parent_of[name]
        return order[name]

    members = sorted((n for n in nodes if n[0] not in roots), key=lambda n: top(n[0]))
    workloads = []
    current = []
    for name, parent in members:
        if len(current) >= per_workload and (parent is None or parent in roots):
            workloads.append(current)
            current = []
        current.append((name, parent))
    if current or not workloads:
        workloads.append(current)
    # Roots not referenced by any workload still need to exist: give them to workload 0.
    used_roots = {p for w in workloads for _, p in w if p in roots}
    for w_index, w in enumerate(workloads):
        lines = [
            "apiVersion: score.dev/v1b1",
            "metadata:",
            f"  name: w{w_index:05d}",
            "containers:",
            "  main:",
            "    image: busybox:1.36",
            "resources:",
        ]
        my_roots = sorted({p for _, p in w if p in roots} | (roots - used_roots if w_index == 0 else set()))
        for r in my_roots:
            lines += [f"  {r}:", "    type: bench-root", f"    id: {r}", f"    params: {{index: {r[4:]}}}"]
        for name, parent in w:
            lines += [f"  {name}:", "    type: bench-node"]
            index = "".join(ch for ch in name if ch.isdigit()) or "0"
            if parent is None:
                lines.append(f"    params: {{index: {index}}}")
            else:
                lines.append(f'    params: {{parent: "${{resources.{parent}.value}}", index: {index}}}')
        with open(os.path.join(out, f"w{w_index:05d}.score.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return len(workloads)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--shape", default="fanout", choices=["fanout", "independent", "chains"])
    ap.add_argument("--depth", type=int, default=10)
    ap.add_argument("--tfstate", action="store_true",
                    help="also write terraform/terraform.tfstate as a first apply would")
    a = ap.parse_args()
    nodes = plan_graph(a.size, a.shape, a.depth)
    write_terraform(os.path.join(a.out, "terraform"), nodes)
    if a.tfstate:
        write_tfstate(os.path.join(a.out, "terraform"), nodes)
    w = write_baton(os.path.join(a.out, "baton"), nodes)
    print(f"{len(nodes)} resources, {w} workloads, shape {a.shape} -> {a.out}/baton and {a.out}/terraform")


if __name__ == "__main__":
    main()
