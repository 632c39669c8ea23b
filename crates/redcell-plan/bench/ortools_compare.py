#!/usr/bin/env python3
"""Solve a redcell-plan instance with OR-Tools' SimpleMinCostFlow, for comparison.

Reads an instance file (shared/formats/plan-instance.md), builds the network
source -> household (cap 1) -> member (cap 1, cost c) -> sink (cap max) and calls
SolveMaxFlowWithMinCost (coverage first, then cost), the objective of the contract:

    cost(h, m) = round(euclidean distance) + (h has a current member and m is not it ? move_penalty : 0)

with halves rounded away from zero, as the Rust solver does.

Arcs:
  --arcs knn  (default) the k nearest allowed members of each household plus its
              current member: the same candidate network the Rust solver starts
              from (it then adds arcs by pricing until optimality is proven, so
              OR-Tools' cost here can only be >= the true optimum);
  --arcs full every allowed pair (same grid unless cross_grid): the exact
              optimum, to check the Rust solver's proven cost.

Usage:
  cargo run -p redcell-plan --release --example export -- 100000 /tmp/i100k.json
  /tmp/ortools-venv/bin/python crates/redcell-plan/bench/ortools_compare.py /tmp/i100k.json [--arcs full] [--k 24]

Prints one line of JSON: households, members, arcs, coverage, cost, build and solve seconds.
"""

import argparse
import json
import sys
import time

import numpy as np
from ortools.graph.python import min_cost_flow


def round_half_away(d):
    t = np.trunc(d)
    return (t + (d - t >= 0.5)).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("instance")
    ap.add_argument("--arcs", choices=["knn", "full"], default="knn")
    ap.add_argument("--k", type=int, default=24)
    args = ap.parse_args()

    t0 = time.perf_counter()
    with open(args.instance) as f:
        inst = json.load(f)
    if inst.get("version") != 1:
        sys.exit("unsupported version")
    hs, ms = inst["households"], inst["members"]
    params = inst.get("params", {})
    cross = bool(params.get("cross_grid", False))
    penalty = int(params.get("move_penalty", 0))
    H, M = len(hs), len(ms)
    hx = np.array([h["x"] for h in hs], dtype=np.float64)
    hy = np.array([h["y"] for h in hs], dtype=np.float64)
    mx = np.array([m["x"] for m in ms], dtype=np.float64)
    my = np.array([m["y"] for m in ms], dtype=np.float64)
    cap = np.array([m["max"] for m in ms], dtype=np.int64)
    hidx = {h["id"]: i for i, h in enumerate(hs)}
    midx = {m["id"]: j for j, m in enumerate(ms)}
    cur = np.full(H, -1, dtype=np.int64)
    for p in inst.get("current", []):
        cur[hidx[p["household"]]] = midx[p["member"]]
    t_read = time.perf_counter() - t0

    t0 = time.perf_counter()
    # Components: grids, or everything.
    if cross:
        groups = {"": (np.arange(H), np.arange(M))}
    else:
        hg, mg = {}, {}
        for i, h in enumerate(hs):
            hg.setdefault(h["grid"], []).append(i)
        for j, m in enumerate(ms):
            mg.setdefault(m["grid"], []).append(j)
        groups = {g: (np.array(v), np.array(mg.get(g, []), dtype=np.int64)) for g, v in hg.items()}
    tails, heads, costs = [], [], []
    for hsel, msel in groups.values():
        msel = msel[cap[msel] > 0] if len(msel) else msel
        if len(msel) == 0:
            continue
        dx = hx[hsel][:, None] - mx[msel][None, :]
        dy = hy[hsel][:, None] - my[msel][None, :]
        d = round_half_away(np.sqrt(dx * dx + dy * dy))
        c = d + penalty * ((cur[hsel][:, None] >= 0) & (cur[hsel][:, None] != msel[None, :]))
        if args.arcs == "full" or len(msel) <= args.k:
            rows, cols = np.nonzero(np.ones_like(d, dtype=bool))
        else:
            part = np.argpartition(d, args.k - 1, axis=1)[:, : args.k]
            rows = np.repeat(np.arange(len(hsel)), args.k)
            cols = part.ravel()
            # the current member, when not among the nearest
            cm = cur[hsel]
            has = (cm[:, None] == msel[part]).any(axis=1)
            extra = np.nonzero((cm >= 0) & ~has)[0]
            if len(extra):
                pos = {int(m): j for j, m in enumerate(msel)}
                ecols = np.array([pos.get(int(cm[r]), -1) for r in extra])
                ok = ecols >= 0
                rows = np.concatenate([rows, extra[ok]])
                cols = np.concatenate([cols, ecols[ok]])
        tails.append(1 + hsel[rows])
        heads.append(1 + H + msel[cols])
        costs.append(c[rows, cols])
    src, sink = 0, H + M + 1
    t_h = np.concatenate(tails) if tails else np.zeros(0, dtype=np.int64)
    h_h = np.concatenate(heads) if heads else np.zeros(0, dtype=np.int64)
    c_h = np.concatenate(costs) if costs else np.zeros(0, dtype=np.int64)
    n_hm = len(t_h)
    all_t = np.concatenate([np.zeros(H, dtype=np.int64), t_h, 1 + H + np.arange(M)])
    all_h = np.concatenate([1 + np.arange(H), h_h, np.full(M, sink)])
    all_cap = np.concatenate([np.ones(H, dtype=np.int64), np.ones(n_hm, dtype=np.int64), cap])
    all_cost = np.concatenate([np.zeros(H, dtype=np.int64), c_h, np.zeros(M, dtype=np.int64)])
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(all_t, all_h, all_cap, all_cost)
    smcf.set_node_supply(src, H)
    smcf.set_node_supply(sink, -H)
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    status = smcf.solve_max_flow_with_min_cost()
    t_solve = time.perf_counter() - t0
    if status != smcf.OPTIMAL:
        sys.exit(f"OR-Tools status {status}")
    print(
        json.dumps(
            {
                "households": H,
                "members": M,
                "arcs": n_hm,
                "mode": args.arcs,
                "k": args.k,
                "coverage": int(smcf.maximum_flow()),
                "cost": int(smcf.optimal_cost()),
                "read_s": round(t_read, 3),
                "build_s": round(t_build, 3),
                "solve_s": round(t_solve, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
