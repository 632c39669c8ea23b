use super::*;
use crate::city::Rng;
use proptest::prelude::*;

fn hh(id: &str, x: f64, y: f64, grid: &str) -> Household {
    Household { id: id.into(), x, y, grid: grid.into(), building: "b".into() }
}

fn mm(id: &str, x: f64, y: f64, grid: &str, max: i64) -> Member {
    Member { id: id.into(), x, y, grid: grid.into(), building: "b".into(), max, min: 0 }
}

fn pair(h: &str, m: &str) -> Pair {
    Pair { household: h.into(), member: m.into() }
}

fn inst(households: Vec<Household>, members: Vec<Member>) -> Instance {
    Instance { version: 1, households, members, current: vec![], params: Params::default() }
}

fn opts(k: usize, threads: usize) -> SolveOptions {
    SolveOptions { k, threads, ..SolveOptions::default() }
}

fn cost_of(i: &Instance, h: usize, m: usize) -> i64 {
    let (a, b) = (&i.households[h], &i.members[m]);
    let (dx, dy) = (a.x - b.x, a.y - b.y);
    let d = (dx * dx + dy * dy).sqrt().round() as i64;
    let cur = i.current.iter().find(|p| p.household == a.id);
    match cur {
        Some(p) if p.member != b.id => d + i.params.move_penalty,
        _ => d,
    }
}

fn allowed(i: &Instance, h: usize, m: usize) -> bool {
    i.members[m].max > 0 && (i.params.cross_grid || i.households[h].grid == i.members[m].grid)
}

/// The lexicographic optimum (coverage, then cost) by enumeration.
fn brute_force(i: &Instance) -> (usize, i64) {
    fn go(i: &Instance, h: usize, load: &mut Vec<i64>, cov: usize, cost: i64, best: &mut (usize, i64)) {
        if h == i.households.len() {
            if cov > best.0 || (cov == best.0 && cost < best.1) {
                *best = (cov, cost);
            }
            return;
        }
        go(i, h + 1, load, cov, cost, best);
        for m in 0..i.members.len() {
            if allowed(i, h, m) && load[m] < i.members[m].max {
                load[m] += 1;
                go(i, h + 1, load, cov + 1, cost + cost_of(i, h, m), best);
                load[m] -= 1;
            }
        }
    }
    let mut best = (0, i64::MAX);
    go(i, 0, &mut vec![0; i.members.len()], 0, 0, &mut best);
    if best.1 == i64::MAX {
        best.1 = 0;
    }
    best
}

/// Re-derives the dual bound from the prices alone, over all allowed arcs,
/// per component (grid, or everything with `cross_grid`):
/// Σ (the F smallest of min_m c + λ_m) − Σ max_m λ_m, with F the component's
/// coverage in `plan`. Valid for any plan with the same (maximal) coverage.
fn dual_bound(i: &Instance, d: &Duals, plan: &Plan) -> i128 {
    let lam: Vec<i64> = i.members.iter().map(|m| d.prices.get(&m.id).copied().unwrap_or(0)).collect();
    assert!(lam.iter().all(|&l| l >= 0), "negative price");
    let comp = |g: &str| if i.params.cross_grid { String::new() } else { g.to_string() };
    let mut comps: std::collections::BTreeMap<String, (Vec<i128>, usize, i128)> = Default::default();
    let assigned: std::collections::HashSet<&str> = plan.assignments.iter().map(|p| p.household.as_str()).collect();
    for h in 0..i.households.len() {
        let a = (0..i.members.len())
            .filter(|&m| allowed(i, h, m))
            .map(|m| i128::from(cost_of(i, h, m) + lam[m]))
            .min()
            .unwrap_or(i128::MAX / 4);
        let e = comps.entry(comp(&i.households[h].grid)).or_default();
        e.0.push(a);
        if assigned.contains(i.households[h].id.as_str()) {
            e.1 += 1;
        }
    }
    for (m, mem) in i.members.iter().enumerate() {
        if let Some(e) = comps.get_mut(&comp(&mem.grid)) {
            e.2 += i128::from(mem.max) * i128::from(lam[m]);
        }
    }
    comps
        .into_values()
        .map(|(mut a, f, caps)| {
            a.sort();
            a[..f].iter().sum::<i128>() - caps
        })
        .sum()
}

/// A random small instance (deterministic in `seed`).
fn small_instance(seed: u64, nh: usize, nm: usize) -> Instance {
    let mut r = Rng::new(seed);
    let grids = 1 + r.below(3);
    let cross = r.below(3) == 0;
    let span = [10.0, 100.0, 1000.0][r.below(3)];
    let coord = |r: &mut Rng| {
        let v = r.f64() * span;
        if r.below(2) == 0 { v.round() } else { v }
    };
    let households: Vec<Household> = (0..nh)
        .map(|h| {
            let (x, y) = (coord(&mut r), coord(&mut r));
            hh(&format!("h{h}"), x, y, &format!("g{}", r.below(grids)))
        })
        .collect();
    let members: Vec<Member> = (0..nm)
        .map(|m| {
            let (x, y) = (coord(&mut r), coord(&mut r));
            let max = r.below(4) as i64;
            mm(&format!("m{m}"), x, y, &format!("g{}", r.below(grids)), max)
        })
        .collect();
    let mut i = inst(households, members);
    i.params.cross_grid = cross;
    i.params.move_penalty = [0, 1, 7, 40, 500][r.below(5)];
    for h in 0..nh {
        if r.below(2) == 0 {
            let ok: Vec<usize> = (0..nm).filter(|&m| cross || i.households[h].grid == i.members[m].grid).collect();
            if !ok.is_empty() {
                let m = ok[r.below(ok.len())];
                let p = pair(&i.households[h].id, &i.members[m].id);
                i.current.push(p);
            }
        }
    }
    i
}

/// Every check that must hold for any solution.
fn check_solution(i: &Instance, s: &Solution) -> Evaluation {
    let e = evaluate(i, &s.plan).unwrap_or_else(|e| panic!("infeasible plan: {e}"));
    assert_eq!(e.cost, s.plan.cost, "reported cost");
    assert_eq!(e.moves, s.plan.moves, "reported moves");
    assert_eq!(e.assigned as usize, s.plan.assignments.len());
    assert_eq!(e.assigned, e.max_coverage, "coverage is not maximal");
    assert!(s.plan.lower_bound <= s.plan.cost, "bound above cost");
    assert_eq!(s.plan.lower_bound, s.plan.cost, "optimality not proven");
    assert!(s.stats.certified);
    e
}

/// 300 cases per property unless `PROPTEST_CASES` says otherwise.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn matches_brute_force(seed in any::<u64>(), nh in 0usize..=8, nm in 0usize..=4, k in 1usize..=5) {
        let i = small_instance(seed, nh, nm);
        let s = solve_with(&i, &opts(k, 1), None).unwrap();
        let e = check_solution(&i, &s);
        let (cov, cost) = brute_force(&i);
        prop_assert_eq!(e.assigned as usize, cov);
        prop_assert_eq!(s.plan.cost, cost);
        // The prices alone prove the bound, over all arcs.
        prop_assert_eq!(dual_bound(&i, &s.duals, &s.plan), i128::from(cost));
    }

    #[test]
    fn warm_starts_from_anything(seed in any::<u64>(), nh in 0usize..=8, nm in 0usize..=4, k in 1usize..=5) {
        let i = small_instance(seed, nh, nm);
        let mut r = Rng::new(seed ^ 77);
        // Garbage prices (some huge) and the instance's current assignment.
        let prices = i.members.iter().map(|m| {
            let p = match r.below(4) { 0 => 0, 1 => r.below(50) as i64, 2 => r.below(5000) as i64, _ => i64::MAX / 2 };
            (m.id.clone(), p)
        }).collect();
        let warm = Duals { prices };
        let s = solve_with(&i, &opts(k, 1), Some(&warm)).unwrap();
        check_solution(&i, &s);
        let (cov, cost) = brute_force(&i);
        prop_assert_eq!(s.plan.assignments.len(), cov);
        prop_assert_eq!(s.plan.cost, cost);
    }

    #[test]
    fn sparse_arcs_match_all_arcs(seed in any::<u64>(), nh in 0usize..=90, nm in 0usize..=30, k in 1usize..=6) {
        // Clustered households (buildings) numbered spatially, as the
        // nearest-member search exploits; sometimes shuffled.
        let mut i = small_instance(seed, 0, 0);
        let mut r = Rng::new(seed ^ 991);
        let span = [30.0, 300.0, 3000.0][r.below(3)];
        let grids = 1 + r.below(2);
        let mut b = (0.0, 0.0);
        for h in 0..nh {
            if h == 0 || r.below(6) == 0 {
                b = (r.f64() * span, r.f64() * span);
            }
            let j = span / 50.0;
            i.households.push(hh(&format!("h{h}"), b.0 + r.f64() * j, b.1 + r.f64() * j, &format!("g{}", r.below(grids))));
        }
        if r.below(3) == 0 {
            for h in (1..nh).rev() {
                i.households.swap(h, r.below(h + 1));
            }
        }
        for m in 0..nm {
            let (x, y) = if nh > 0 && r.below(2) == 0 {
                let a = &i.households[r.below(nh)];
                (a.x + r.f64(), a.y)
            } else {
                (r.f64() * span, r.f64() * span)
            };
            i.members.push(mm(&format!("m{m}"), x, y, &format!("g{}", r.below(grids)), r.below(6) as i64));
        }
        for h in 0..nh {
            if r.below(3) == 0 {
                let ok: Vec<usize> = (0..nm)
                    .filter(|&m| i.params.cross_grid || i.households[h].grid == i.members[m].grid)
                    .collect();
                if !ok.is_empty() {
                    let m = ok[r.below(ok.len())];
                    let p = pair(&i.households[h].id, &i.members[m].id);
                    i.current.push(p);
                }
            }
        }
        let sparse = solve_with(&i, &opts(k, 1), None).unwrap();
        let all = solve_with(&i, &opts(10_000, 1), None).unwrap();
        check_solution(&i, &sparse);
        check_solution(&i, &all);
        prop_assert_eq!(sparse.plan.assignments.len(), all.plan.assignments.len());
        prop_assert_eq!(sparse.plan.cost, all.plan.cost);
        prop_assert_eq!(dual_bound(&i, &sparse.duals, &sparse.plan), i128::from(all.plan.cost));
    }

    #[test]
    fn planner_matches_cold_solves(seed in any::<u64>(), nh in 0usize..=10, nm in 0usize..=5, steps in 1usize..=6) {
        let i = small_instance(seed, nh, nm);
        let k = 1 + (seed % 3) as usize;
        let mut p = Planner::new(&i, &opts(k, 1)).unwrap();
        let mut r = Rng::new(seed ^ 4242);
        for step in 0..steps {
            let before = p.plan();
            let change = crate::planner::random_change(&p, &mut r, step as u64);
            let u = p.apply(&change).unwrap();
            let now = p.instance();
            let plan = p.plan();
            let e = evaluate(&now, &plan).unwrap_or_else(|e| panic!("infeasible after {change:?}: {e}"));
            prop_assert_eq!(e.cost, plan.cost);
            prop_assert_eq!(e.moves, plan.moves);
            prop_assert_eq!(e.assigned, e.max_coverage, "coverage not maximal after {:?}", change);
            prop_assert_eq!(u.cost, plan.cost);
            prop_assert_eq!(u.lower_bound, u.cost);
            prop_assert_eq!(u.assigned, e.assigned);
            prop_assert_eq!(u.moves, e.moves);
            // A cold solve with every arc, and brute force while small.
            let cold = solve_with(&now, &opts(10_000, 1), None).unwrap();
            prop_assert_eq!(u.cost, cold.plan.cost, "after {:?}", change);
            prop_assert_eq!(plan.assignments.len(), cold.plan.assignments.len());
            if now.households.len() <= 6 && now.members.len() <= 4 {
                let (cov, cost) = brute_force(&now);
                prop_assert_eq!(e.assigned as usize, cov);
                prop_assert_eq!(u.cost, cost, "after {:?}", change);
            }
            // The diff is exactly the households whose member changed.
            let old: std::collections::HashMap<&str, &str> =
                before.assignments.iter().map(|a| (a.household.as_str(), a.member.as_str())).collect();
            let new: std::collections::HashMap<&str, &str> =
                plan.assignments.iter().map(|a| (a.household.as_str(), a.member.as_str())).collect();
            let mut want: Vec<(String, Option<String>, Option<String>)> = old
                .keys()
                .chain(new.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|h| old.get(**h) != new.get(**h))
                .map(|h| (h.to_string(), old.get(*h).map(|s| s.to_string()), new.get(*h).map(|s| s.to_string())))
                .collect();
            let mut got: Vec<(String, Option<String>, Option<String>)> =
                u.reassigned.iter().map(|r| (r.household.clone(), r.from.clone(), r.to.clone())).collect();
            want.sort();
            got.sort();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn replans_equal_cold_solves(seed in any::<u64>(), nh in 1usize..=8, nm in 1usize..=4) {
        let i = small_instance(seed, nh, nm);
        let first = solve_with(&i, &opts(2, 1), None).unwrap();
        let next = churn(&i, &first.plan, 0.5, seed);
        let warm = solve_with(&next, &opts(2, 1), Some(&first.duals)).unwrap();
        let cold = solve_with(&next, &opts(2, 1), None).unwrap();
        check_solution(&next, &warm);
        check_solution(&next, &cold);
        prop_assert_eq!(warm.plan.cost, cold.plan.cost);
        prop_assert_eq!(warm.plan.cost, brute_force(&next).1);
    }
}

#[test]
fn reads_the_documented_example() {
    let json = r#"{
      "version": 1,
      "households": [ {"id": "h-1", "x": 120.0, "y": 48.5, "grid": "g-1", "building": "b-3"} ],
      "members":    [ {"id": "m-1", "x": 118.0, "y": 40.0, "grid": "g-1", "building": "b-3", "max": 15, "min": 10} ],
      "current":    [ {"household": "h-1", "member": "m-1"} ],
      "params":     {"cross_grid": false, "move_penalty": 0}
    }"#;
    let i: Instance = serde_json::from_str(json).unwrap();
    assert_eq!(i.version, FORMAT_VERSION);
    assert_eq!(i.members[0].max, 15);
    assert_eq!(i.current[0].member, "m-1");
    let p = solve(&i, &SolveOptions::default()).unwrap();
    // round(sqrt(2² + 8.5²)) = round(8.73) = 9
    assert_eq!(p.cost, 9);
    assert_eq!(p.lower_bound, 9);
    assert_eq!(p.moves, 0);
    assert_eq!(p.assignments, vec![pair("h-1", "m-1")]);
}

#[test]
fn plan_json_has_the_contract_fields() {
    let p = Plan {
        version: 1,
        assignments: vec![pair("h-1", "m-1")],
        unassigned: vec!["h-9".into()],
        cost: 123456,
        lower_bound: 123456,
        moves: 0,
        seconds: 0.42,
    };
    let v: serde_json::Value = serde_json::to_value(&p).unwrap();
    let want: serde_json::Value = serde_json::from_str(
        r#"{"version": 1, "assignments": [ {"household": "h-1", "member": "m-1"} ],
            "unassigned": ["h-9"], "cost": 123456, "lower_bound": 123456, "moves": 0, "seconds": 0.42}"#,
    )
    .unwrap();
    assert_eq!(v, want);
}

#[test]
fn leftovers_are_listed_when_capacity_is_short() {
    // 10 households, one member taking 3; another grid with no member.
    let mut hs: Vec<Household> = (0..10).map(|i| hh(&format!("h{i}"), i as f64 * 10.0, 0.0, "g1")).collect();
    hs.push(hh("lonely", 0.0, 0.0, "g2"));
    let i = inst(hs, vec![mm("m", 0.0, 0.0, "g1", 3), mm("zero", 1.0, 0.0, "g1", 0)]);
    let s = solve_with(&i, &SolveOptions::default(), None).unwrap();
    check_solution(&i, &s);
    assert_eq!(s.plan.assignments.len(), 3);
    assert_eq!(s.plan.unassigned.len(), 8);
    assert!(s.plan.unassigned.contains(&"lonely".to_string()));
    // The three nearest households: cost 0 + 10 + 20.
    assert_eq!(s.plan.cost, 30);
    assert_eq!(s.stats.gaps.len(), 2, "{:?}", s.stats.gaps);
    assert!(s.stats.gaps.iter().any(|g| g.contains("\"g2\" has no member")));
}

#[test]
fn the_move_penalty_keeps_current_members() {
    // h is 10 m from its current member a and 4 m from b.
    let mut i = inst(vec![hh("h", 0.0, 0.0, "g")], vec![mm("a", 10.0, 0.0, "g", 1), mm("b", 4.0, 0.0, "g", 1)]);
    i.current = vec![pair("h", "a")];
    i.params.move_penalty = 7;
    let p = solve(&i, &SolveOptions::default()).unwrap();
    assert_eq!(p.assignments, vec![pair("h", "a")]);
    assert_eq!((p.cost, p.moves), (10, 0));
    i.params.move_penalty = 5;
    let p = solve(&i, &SolveOptions::default()).unwrap();
    assert_eq!(p.assignments, vec![pair("h", "b")]);
    assert_eq!((p.cost, p.moves), (9, 1));
    // A household in `current` left unassigned counts as a move.
    i.members[0].max = 0;
    i.members[1].max = 0;
    let p = solve(&i, &SolveOptions::default()).unwrap();
    assert_eq!((p.assignments.len(), p.moves), (0, 1));
}

#[test]
fn grids_are_respected_unless_cross_grid() {
    let mut i = inst(
        vec![hh("h1", 0.0, 0.0, "g1"), hh("h2", 100.0, 0.0, "g2")],
        vec![mm("m1", 100.0, 0.0, "g1", 2), mm("m2", 0.0, 0.0, "g2", 2)],
    );
    let p = solve(&i, &SolveOptions::default()).unwrap();
    assert_eq!(p.cost, 200);
    i.params.cross_grid = true;
    let p = solve(&i, &SolveOptions::default()).unwrap();
    assert_eq!(p.cost, 0);
    assert!(p.assignments.contains(&pair("h1", "m2")));
}

#[test]
fn coverage_comes_before_cost() {
    // Member a (cap 1) is near both, b (cap 1) far away: covering both
    // households costs 4999 against 0 for covering one.
    let i = inst(
        vec![hh("h1", 0.0, 0.0, "g"), hh("h2", 1.0, 0.0, "g")],
        vec![mm("a", 0.0, 0.0, "g", 1), mm("b", 5000.0, 0.0, "g", 1)],
    );
    let p = solve(&i, &opts(1, 1)).unwrap();
    assert_eq!(p.assignments.len(), 2);
    assert_eq!(p.cost, 4999);
    assert_eq!(p.lower_bound, p.cost);
}

#[test]
fn generated_cities_are_deterministic_and_sound() {
    let a = generate_city(5_000, 7);
    let b = generate_city(5_000, 7);
    assert_eq!(a, b);
    assert_eq!(a.households.len(), 5_000);
    validate(&a).unwrap();
    let ratio = a.households.len() as f64 / a.members.len() as f64;
    assert!((9.5..12.5).contains(&ratio), "{ratio}");
    assert!(a.members.iter().all(|m| (10..=15).contains(&m.max) && m.min == 10));
    let mut grids: Vec<&str> = a.households.iter().map(|h| h.grid.as_str()).collect();
    grids.dedup();
    // Grid-major numbering: each grid is one run.
    let mut sorted = grids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(grids.len(), sorted.len());
    assert!(generate_city(5_000, 8) != a);
}

#[test]
fn a_city_is_solved_optimally_in_parallel_and_sequentially() {
    let i = generate_city(6_000, 3);
    let s2 = solve_with(&i, &opts(6, 2), None).unwrap();
    let s1 = solve_with(&i, &opts(3, 1), None).unwrap();
    check_solution(&i, &s2);
    check_solution(&i, &s1);
    assert_eq!(s1.plan.cost, s2.plan.cost);
    assert_eq!(dual_bound(&i, &s2.duals, &s2.plan), i128::from(s2.plan.cost));
}

#[test]
fn cross_grid_uses_the_spatial_index_and_is_proven() {
    // One component with ~300 members: the bucket grid, parallel arcs off.
    let mut i = generate_city(3_000, 11);
    i.params.cross_grid = true;
    let s = solve_with(&i, &opts(4, 2), None).unwrap();
    check_solution(&i, &s);
    assert_eq!(dual_bound(&i, &s.duals, &s.plan), i128::from(s.plan.cost));
    // The same optimum with many more candidates.
    let s_wide = solve_with(&i, &opts(40, 1), None).unwrap();
    assert_eq!(s_wide.plan.cost, s.plan.cost);
}

#[test]
fn cross_grid_with_too_little_capacity() {
    let mut i = generate_city(2_000, 5);
    i.params.cross_grid = true;
    for m in &mut i.members {
        m.max = 5;
        m.min = 5;
    }
    let s = solve_with(&i, &opts(4, 1), None).unwrap();
    let e = check_solution(&i, &s);
    assert_eq!(e.assigned, 5 * i.members.len() as u64);
    assert_eq!(dual_bound(&i, &s.duals, &s.plan), i128::from(s.plan.cost));
}

#[test]
fn replan_after_churn_matches_cold_solve() {
    let i = generate_city(8_000, 21);
    let first = solve_with(&i, &SolveOptions::default(), None).unwrap();
    check_solution(&i, &first);
    let next = churn(&i, &first.plan, 0.01, 4);
    assert!(!next.current.is_empty());
    let warm = solve_with(&next, &SolveOptions::default(), Some(&first.duals)).unwrap();
    let cold = solve_with(&next, &SolveOptions::default(), None).unwrap();
    check_solution(&next, &warm);
    check_solution(&next, &cold);
    assert_eq!(warm.plan.cost, cold.plan.cost);
    // Few households change member.
    assert!(warm.plan.moves < next.households.len() as u64 / 20, "{}", warm.plan.moves);
}

#[test]
fn churn_keeps_only_valid_current_pairs() {
    let i = generate_city(2_000, 2);
    let p = solve(&i, &SolveOptions::default()).unwrap();
    let next = churn(&i, &p, 0.02, 9);
    validate(&next).unwrap();
    let diff = (next.households.len() as i64 - 2_000).abs();
    assert!(diff <= 1);
    assert!(next.households.iter().any(|h| h.id.starts_with("h-c9-")));
    assert!(next.members.iter().any(|m| m.id.starts_with("m-c9-")));
    assert!(next.current.len() >= p.assignments.len() - 40 - 60);
}

// ---- validation ---------------------------------------------------------------

fn valid() -> Instance {
    let mut i = inst(
        vec![hh("h-1", 0.0, 0.0, "g-1"), hh("h-2", 5.0, 0.0, "g-2")],
        vec![mm("m-1", 1.0, 0.0, "g-1", 2), mm("m-2", 6.0, 0.0, "g-2", 2)],
    );
    i.current = vec![pair("h-1", "m-1")];
    i
}

fn invalid(f: impl FnOnce(&mut Instance)) -> String {
    let mut i = valid();
    f(&mut i);
    let e = validate(&i).expect_err("should be rejected");
    // solve and evaluate reject it the same way
    assert_eq!(solve(&i, &SolveOptions::default()).unwrap_err(), e);
    e.to_string()
}

#[test]
fn the_valid_fixture_is_valid() {
    validate(&valid()).unwrap();
}

#[test]
fn rejects_bad_input_naming_the_entry() {
    assert_eq!(invalid(|i| i.version = 2), "version: unsupported version 2 (expected 1)");
    assert_eq!(
        invalid(|i| i.households[1].id = "h-1".into()),
        "households[1] (id \"h-1\"): duplicate id (first at households[0])"
    );
    assert_eq!(
        invalid(|i| i.members[1].id = "m-1".into()),
        "members[1] (id \"m-1\"): duplicate id (first at members[0])"
    );
    assert_eq!(invalid(|i| i.households[0].id.clear()), "households[0]: id is empty");
    assert_eq!(invalid(|i| i.members[1].id.clear()), "members[1]: id is empty");
    assert_eq!(invalid(|i| i.households[1].x = f64::NAN), "households[1] (id \"h-2\"): x is not a finite number (NaN)");
    assert_eq!(invalid(|i| i.members[0].y = f64::INFINITY), "members[0] (id \"m-1\"): y is not a finite number (inf)");
    assert!(invalid(|i| i.members[0].x = -2e8).contains("x = -200000000 is outside"));
    assert_eq!(invalid(|i| i.members[1].max = -3), "members[1] (id \"m-2\"): max is negative (-3)");
    assert_eq!(invalid(|i| i.members[1].min = -1), "members[1] (id \"m-2\"): min is negative (-1)");
    assert_eq!(invalid(|i| i.members[0].min = 3), "members[0] (id \"m-1\"): min (3) is greater than max (2)");
    assert!(invalid(|i| i.members[0].max = 5_000_000).contains("max 5000000 is larger than"));
    assert_eq!(invalid(|i| i.params.move_penalty = -1), "params.move_penalty: must not be negative (-1)");
    assert!(invalid(|i| i.params.move_penalty = i64::MAX).starts_with("params.move_penalty: "));
    assert_eq!(invalid(|i| i.current.push(pair("h-9", "m-1"))), "current[1]: unknown household \"h-9\"");
    assert_eq!(invalid(|i| i.current.push(pair("h-2", "m-9"))), "current[1]: unknown member \"m-9\"");
    assert_eq!(
        invalid(|i| i.current.push(pair("h-1", "m-1"))),
        "current[1]: household \"h-1\" appears twice (first at current[0])"
    );
    assert_eq!(
        invalid(|i| i.current.push(pair("h-2", "m-1"))),
        "current[1] (household \"h-2\", member \"m-1\"): member is in grid \"g-1\" but the household in grid \"g-2\" (cross_grid is false)"
    );
    // Allowed: max = 0, and a cross-grid pair when cross_grid is true.
    let mut i = valid();
    i.members[0].max = 0;
    i.members[0].min = 0;
    i.params.cross_grid = true;
    i.current.push(pair("h-2", "m-1"));
    validate(&i).unwrap();
}

#[test]
fn parse_errors_name_the_field() {
    let dir = tempdir();
    let f = dir.join("bad.json");
    std::fs::write(
        &f,
        r#"{"version": 1, "households": [], "members": [
            {"id": "m-1", "x": 0, "y": 0, "grid": "g", "building": "b", "max": "x", "min": 0}]}"#,
    )
    .unwrap();
    let e = read_instance(&f).unwrap_err().to_string();
    assert!(e.contains("members[0].max: invalid type: string \"x\""), "{e}");
    std::fs::write(&f, r#"{"version": 1, "households": [{"id": "h", "x": 1e999}]}"#).unwrap();
    let e = read_instance(&f).unwrap_err().to_string();
    assert!(e.contains("households[0].x"), "{e}");
    let e = read_instance(dir.join("missing.json")).unwrap_err().to_string();
    assert!(e.contains("missing.json"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

// ---- evaluate -----------------------------------------------------------------

#[test]
fn evaluate_recomputes_and_rejects_infeasible_plans() {
    let i = valid();
    let mut p = solve(&i, &SolveOptions::default()).unwrap();
    let e = evaluate(&i, &p).unwrap();
    assert_eq!((e.assigned, e.unassigned, e.max_coverage, e.cost, e.moves), (2, 0, 2, 2, 0));
    let good = p.clone();

    p.assignments[1] = pair("h-2", "m-1");
    let err = evaluate(&i, &p).unwrap_err().to_string();
    assert!(err.contains("assignments[1]") && err.contains("cross_grid is false"), "{err}");

    let mut i2 = i.clone();
    i2.params.cross_grid = true;
    i2.members[0].max = 1;
    i2.members[0].min = 0;
    let err = evaluate(&i2, &p).unwrap_err().to_string();
    assert!(err.contains("more than its max of 1"), "{err}");

    let mut p = good.clone();
    p.assignments.pop();
    let err = evaluate(&i, &p).unwrap_err().to_string();
    assert!(err.contains("households[1] (id \"h-2\"): neither assigned"), "{err}");
    p.unassigned.push("h-2".into());
    let e = evaluate(&i, &p).unwrap();
    assert_eq!((e.assigned, e.unassigned, e.cost), (1, 1, 1));
    p.unassigned.push("h-1".into());
    assert!(evaluate(&i, &p).unwrap_err().to_string().contains("also assigned"));

    let mut p = good.clone();
    p.assignments.push(pair("h-1", "m-1"));
    assert!(evaluate(&i, &p).unwrap_err().to_string().contains("assigned twice"));
    let mut p = good.clone();
    p.assignments[0].member = "nobody".into();
    assert!(evaluate(&i, &p).unwrap_err().to_string().contains("unknown member"));
    let mut p = good;
    p.version = 3;
    assert!(evaluate(&i, &p).is_err());
}

// ---- files ----------------------------------------------------------------------

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "redcell-plan-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn cli_solve_writes_the_plan_or_nothing() {
    let dir = tempdir();
    let input = dir.join("in.json");
    let out = dir.join("out.json");
    let i = generate_city(700, 1);
    write_instance_atomically(&input, &i).unwrap();
    let summary = cli_solve(&input, &out).unwrap();
    assert!(summary.contains("700 households"), "{summary}");
    assert!(summary.contains("proven optimal"), "{summary}");
    let p = read_plan(&out).unwrap();
    let e = evaluate(&i, &p).unwrap();
    assert_eq!(e.cost, p.cost);
    assert_eq!(p.lower_bound, p.cost);

    // An invalid instance: error, and no output file.
    let mut bad = i.clone();
    bad.members[3].max = -1;
    write_instance_atomically(&input, &bad).unwrap();
    let out2 = dir.join("out2.json");
    let err = cli_solve(&input, &out2).unwrap_err().to_string();
    assert!(err.contains("members[3]") && err.contains("max is negative"), "{err}");
    assert!(!out2.exists());
    // An unwritable destination: error, and nothing left behind.
    write_instance_atomically(&input, &i).unwrap();
    let out3 = dir.join("no-such-dir").join("out.json");
    assert!(cli_solve(&input, &out3).is_err());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cli_bench_prints_a_table() {
    let t = cli_bench(&[1_000], 1);
    assert!(t.contains("| 1000 |"), "{t}");
    assert!(!t.contains('!'), "{t}");
}

#[test]
fn cross_grid_replan_uses_the_index_and_matches_cold() {
    let mut i = generate_city(1_200, 13);
    i.params.cross_grid = true;
    let first = solve_with(&i, &opts(6, 2), None).unwrap();
    check_solution(&i, &first);
    let next = churn(&i, &first.plan, 0.05, 3);
    let warm = solve_with(&next, &opts(6, 2), Some(&first.duals)).unwrap();
    let cold = solve_with(&next, &opts(6, 1), None).unwrap();
    check_solution(&next, &warm);
    check_solution(&next, &cold);
    assert_eq!(warm.plan.cost, cold.plan.cost);
    assert_eq!(dual_bound(&next, &warm.duals, &warm.plan), i128::from(warm.plan.cost));
}

#[test]
fn planner_follows_a_city_through_many_changes() {
    let i = generate_city(6000, 3);
    let o = opts(24, 2);
    let mut p = Planner::new(&i, &o).unwrap();
    let cold = solve_with(&i, &o, None).unwrap();
    assert_eq!(p.cost(), cold.plan.cost);
    assert_eq!(p.lower_bound(), p.cost());
    let mut r = Rng::new(9);
    for n in 0..300u64 {
        let change = crate::planner::random_change(&p, &mut r, n);
        let u = p.apply(&change).unwrap();
        assert_eq!(u.lower_bound, u.cost, "not proven after {change:?}");
        assert!(u.components_solved <= 2);
        if n % 100 == 99 {
            let now = p.instance();
            let c = solve_with(&now, &o, None).unwrap();
            assert_eq!(c.plan.cost, u.cost, "differs from a cold solve after {n} changes");
            assert_eq!(c.plan.assignments.len() as u64, u.assigned);
            let e = evaluate(&now, &p.plan()).unwrap();
            assert_eq!(e.cost, u.cost);
            assert_eq!(e.assigned, e.max_coverage);
        }
    }
}

#[test]
fn planner_rejects_bad_changes_and_keeps_its_state() {
    let mut p = Planner::new(&valid(), &SolveOptions::default()).unwrap();
    let before = p.plan();
    let h = valid().households[0].clone();
    let m = valid().members[0].clone();
    let bad = [
        Change::AddHousehold(h.clone()),
        Change::AddHousehold(Household { id: "new".into(), x: f64::NAN, ..h.clone() }),
        Change::RemoveHousehold { id: "nobody".into() },
        Change::MoveHousehold {
            id: h.id.clone(),
            x: 1e300,
            y: 0.0,
            grid: h.grid.clone(),
            building: h.building.clone(),
        },
        Change::AddMember(m.clone()),
        Change::AddMember(Member { id: "new-m".into(), max: -1, ..m.clone() }),
        Change::RemoveMember { id: "nobody".into() },
        Change::SetCapacity { id: m.id.clone(), max: 3, min: 4 },
        Change::SetCapacity { id: "nobody".into(), max: 3, min: 0 },
    ];
    for c in &bad {
        let e = p.apply(c).unwrap_err().to_string();
        assert!(!e.is_empty());
        assert_eq!(p.plan(), before, "{c:?} changed the state");
    }
    assert_eq!(p.instance(), valid());
}

#[test]
fn planner_with_cross_grid_and_new_grids() {
    let mut i = small_instance(5, 8, 3);
    i.params.cross_grid = true;
    let mut p = Planner::new(&i, &opts(2, 1)).unwrap();
    let u = p.apply(&Change::AddMember(mm("far", 5000.0, 5000.0, "elsewhere", 3))).unwrap();
    assert_eq!(u.cost, brute_force(&p.instance()).1);
    let mut j = small_instance(6, 8, 3);
    j.params.cross_grid = false;
    let mut q = Planner::new(&j, &opts(2, 1)).unwrap();
    let u = q.apply(&Change::AddHousehold(hh("lonely", 1.0, 1.0, "new-grid"))).unwrap();
    assert_eq!(q.member_of("lonely"), None);
    let u2 = q.apply(&Change::AddMember(mm("helper", 2.0, 1.0, "new-grid", 1))).unwrap();
    assert_eq!(q.member_of("lonely"), Some("helper"));
    assert_eq!(u2.cost, u.cost + 1);
    assert_eq!(u2.reassigned, vec![Reassignment { household: "lonely".into(), from: None, to: Some("helper".into()) }]);
}
