//! Dependency order: a stable topological sort with cycle reporting.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Orders `nodes` (id, dependencies) so each comes after its dependencies, keeping the given order
/// where there is a choice. On a cycle, returns the ids that form it, in order.
pub fn topo_order(nodes: &[(String, Vec<String>)]) -> Result<Vec<String>, Vec<String>> {
    let index: BTreeMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (id.as_str(), i))
        .collect();
    let mut state = vec![0u8; nodes.len()]; // 0 new, 1 on stack, 2 done
    let mut out = Vec::with_capacity(nodes.len());
    let mut stack: Vec<usize> = Vec::new();

    fn visit(
        i: usize,
        nodes: &[(String, Vec<String>)],
        index: &BTreeMap<&str, usize>,
        state: &mut [u8],
        stack: &mut Vec<usize>,
        out: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let start = stack.iter().position(|&s| s == i).unwrap_or(0);
                let mut cycle: Vec<String> =
                    stack[start..].iter().map(|&s| nodes[s].0.clone()).collect();
                cycle.push(nodes[i].0.clone());
                return Err(cycle);
            }
            _ => {}
        }
        state[i] = 1;
        stack.push(i);
        for d in &nodes[i].1 {
            if let Some(&j) = index.get(d.as_str()) {
                visit(j, nodes, index, state, stack, out)?;
            }
        }
        stack.pop();
        state[i] = 2;
        out.push(nodes[i].0.clone());
        Ok(())
    }

    for i in 0..nodes.len() {
        visit(i, nodes, &index, &mut state, &mut stack, &mut out)?;
    }
    Ok(out)
}

/// For each id, the ids that depend on it (the reverse edges, used by destroy).
pub fn dependents(nodes: &[(String, Vec<String>)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = nodes
        .iter()
        .map(|(id, _)| (id.clone(), BTreeSet::new()))
        .collect();
    for (id, deps) in nodes {
        for d in deps {
            m.entry(d.clone()).or_default().insert(id.clone());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: &str, deps: &[&str]) -> (String, Vec<String>) {
        (id.into(), deps.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn orders_dependencies_first() {
        let order = topo_order(&[n("a", &["b"]), n("b", &[]), n("c", &["a", "b"])]).unwrap();
        assert_eq!(order, vec!["b", "a", "c"]);
    }

    #[test]
    fn reports_cycle() {
        let err = topo_order(&[n("a", &["b"]), n("b", &["c"]), n("c", &["a"])]).unwrap_err();
        assert_eq!(err, vec!["a", "b", "c", "a"]);
    }

    fn deps(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        let each =
            |(id, d): &(&str, &[&str])| (id.to_string(), d.iter().map(|x| x.to_string()).collect());
        edges.iter().map(each).collect()
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn longest_chains_first() {
        // d waits on c, c on b: b heads a chain of three, c of two; a and e head nothing.
        let order = ids(&["a", "b", "c", "d", "e"]);
        let deps = deps(&[("c", &["b"]), ("d", &["c"])]);
        assert_eq!(
            longest_first(&order, &deps),
            ids(&["b", "c", "a", "d", "e"])
        );
        // Without edges the order is kept.
        assert_eq!(longest_first(&order, &BTreeMap::new()), order);
    }

    #[test]
    fn longest_first_counts_the_longest_of_several_chains() {
        // x is waited on by y (a chain of two) and by z, which w waits on (a chain of three);
        // v is waited on by u alone. Unknown ids in deps are ignored.
        let order = ids(&["u", "v", "w", "x", "y", "z"]);
        let deps = deps(&[
            ("u", &["v", "nope"]),
            ("y", &["x"]),
            ("z", &["x"]),
            ("w", &["z"]),
        ]);
        assert_eq!(
            longest_first(&order, &deps),
            ids(&["x", "v", "z", "u", "w", "y"])
        );
    }

    #[test]
    fn longest_first_survives_a_cycle() {
        let order = ids(&["a", "b", "c"]);
        let deps = deps(&[("a", &["b"]), ("b", &["a"]), ("c", &["c"])]);
        let mut out = longest_first(&order, &deps);
        out.sort();
        assert_eq!(out, order);
    }

    #[test]
    fn reverse_edges() {
        let d = dependents(&[n("a", &["b"]), n("b", &[])]);
        assert!(d["b"].contains("a"));
        assert!(d["a"].is_empty());
    }
}

/// `order` with what the longest chains wait on first: a node's height is the number of nodes
/// on the longest chain that waits on it (itself included: 1 for a node nothing waits on), and
/// the nodes are sorted by height, highest first, keeping `order` among equals.
///
/// Given to [`walk`], this starts first, among the nodes ready together, those that the most
/// calls one after another wait for (a certificate's detachments before the deletes nothing
/// waits on), which is list scheduling by critical path: every wave of calls meets a server
/// that answers them one after another (AWS's rates, an emulator's single process), and what
/// the rest of the run waits on is answered first. A node of a cycle keeps height 1 (the walk
/// never starts it). O(nodes + edges), then a sort.
pub fn longest_first(order: &[String], deps: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut position: HashMap<&str, usize> = HashMap::with_capacity(order.len());
    for (i, id) in order.iter().enumerate() {
        position.entry(id.as_str()).or_insert(i);
    }
    // For each node, the nodes it waits on, and how many of its waiters have no height yet.
    let mut waits_on: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    let mut unsettled = vec![0usize; order.len()];
    for (&id, &i) in &position {
        for d in deps.get(id).into_iter().flatten() {
            if let Some(&j) = position.get(d.as_str()) {
                waits_on[i].push(j);
                unsettled[j] += 1;
            }
        }
    }
    let mut height = vec![1usize; order.len()];
    let mut settled: Vec<usize> = (0..order.len())
        .filter(|&i| unsettled[i] == 0 && position.get(order[i].as_str()) == Some(&i))
        .collect();
    while let Some(i) = settled.pop() {
        for &j in &waits_on[i] {
            height[j] = height[j].max(height[i] + 1);
            unsettled[j] -= 1;
            if unsettled[j] == 0 {
                settled.push(j);
            }
        }
    }
    let mut by_height: Vec<usize> = (0..order.len()).collect();
    by_height.sort_by_key(|&i| std::cmp::Reverse(height[position[order[i].as_str()]]));
    by_height.into_iter().map(|i| order[i].clone()).collect()
}

/// Runs one future per node, each once all of its `deps` are done, at most `bound` at a time.
/// `start` is called (in the caller's task) with the results so far when a node is ready, and
/// returns the node's work. After the first failure nothing new starts; running work finishes.
/// Returns every result and the failures (node id, error).
///
/// The slots are shared among lanes (`lane` of a node's id: for a stack, its resource's kind,
/// whose steps make the same calls, paced at the same rates): the next node to start is a ready
/// node of the lane with the fewest nodes running (the given order decides within a lane and
/// between equal lanes), and while another lane still has nodes to run, no lane holds more than
/// `bound` less a quarter of it. So nodes that wait for something slow (calls of one operation
/// paced at 10 per second, see `aws::rate`) never hold every slot: the other lanes' nodes, as
/// they become ready, start beside them, each lane's calls at their own rate at the same time,
/// instead of one lane after another.
pub async fn walk<T, E, L, F>(
    order: &[String],
    deps: &BTreeMap<String, Vec<String>>,
    bound: usize,
    lane: impl Fn(&str) -> L,
    mut start: F,
) -> (BTreeMap<String, T>, Vec<(String, E)>)
where
    T: Send + 'static,
    E: Send + 'static,
    L: Ord,
    F: FnMut(&str, &BTreeMap<String, T>) -> futures::future::BoxFuture<'static, Result<T, E>>,
{
    let bound = bound.max(1);
    // Each node's position in `order` (the first, if an id repeats), how many of its dependencies
    // in `order` are not done yet, and who waits on it: a node becomes ready when its count reaches
    // zero, so the walk costs O(nodes + edges) instead of scanning `order` after every completion.
    let mut position: HashMap<&str, usize> = HashMap::with_capacity(order.len());
    for (i, id) in order.iter().enumerate() {
        position.entry(id.as_str()).or_insert(i);
    }
    let mut waiting_on = vec![0usize; order.len()];
    let mut waiters: Vec<Vec<usize>> = vec![Vec::new(); order.len()];
    for (&id, &i) in &position {
        let mut seen: HashSet<usize> = HashSet::new();
        for d in deps.get(id).into_iter().flatten() {
            if let Some(&j) = position.get(d.as_str()) {
                if seen.insert(j) {
                    waiting_on[i] += 1;
                    waiters[j].push(i);
                }
            }
        }
    }
    let mut lanes = Lanes::new(order, &position, lane, bound);
    for &i in position.values() {
        if waiting_on[i] == 0 {
            lanes.ready(i);
        }
    }
    let mut done: BTreeMap<String, T> = BTreeMap::new();
    let mut failed: Vec<(String, E)> = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while failed.is_empty() && running.len() < bound {
            let Some(i) = lanes.next() else { break };
            let id = &order[i];
            let fut = start(id, &done);
            running.spawn(async move { (i, fut.await) });
        }
        match running.join_next().await {
            Some(Ok((i, Ok(v)))) => {
                lanes.finished(i);
                for &w in &waiters[i] {
                    waiting_on[w] -= 1;
                    if waiting_on[w] == 0 {
                        lanes.ready(w);
                    }
                }
                done.insert(order[i].clone(), v);
            }
            Some(Ok((i, Err(e)))) => {
                lanes.finished(i);
                failed.push((order[i].clone(), e));
            }
            Some(Err(join)) => std::panic::resume_unwind(join.into_panic()),
            None => break,
        }
    }
    (done, failed)
}

/// The walk's nodes by lane: which are ready, how many run, how many are not done yet; and the
/// lanes that have ready nodes, by (nodes running, first ready position), the next to start
/// first. Every change costs O(log lanes).
struct Lanes {
    /// Each node's lane (by position in the order).
    of: Vec<usize>,
    ready: Vec<BTreeSet<usize>>,
    running: Vec<usize>,
    undone: Vec<usize>,
    /// Lanes with nodes not done yet.
    open: usize,
    queue: BTreeSet<(usize, usize, usize)>,
    bound: usize,
}

impl Lanes {
    fn new<L: Ord>(
        order: &[String],
        position: &HashMap<&str, usize>,
        lane: impl Fn(&str) -> L,
        bound: usize,
    ) -> Lanes {
        let mut names: BTreeMap<L, usize> = BTreeMap::new();
        let mut of = vec![0usize; order.len()];
        for (&id, &i) in position {
            let next = names.len();
            of[i] = *names.entry(lane(id)).or_insert(next);
        }
        let mut undone = vec![0usize; names.len()];
        for &i in position.values() {
            undone[of[i]] += 1;
        }
        Lanes {
            of,
            ready: vec![BTreeSet::new(); names.len()],
            running: vec![0; names.len()],
            open: undone.iter().filter(|&&n| n > 0).count(),
            undone,
            queue: BTreeSet::new(),
            bound,
        }
    }

    /// The most nodes of one lane that may run: all the slots when it is the only lane left,
    /// else three quarters of them (at least one), the rest kept for the others.
    fn cap(&self) -> usize {
        if self.open > 1 {
            (self.bound - self.bound / 4).max(1)
        } else {
            self.bound
        }
    }

    /// Takes `lane` out of the queue, changes it, and queues it again if it has ready nodes.
    fn change(&mut self, lane: usize, f: impl FnOnce(&mut Self)) {
        if let Some(&first) = self.ready[lane].first() {
            self.queue.remove(&(self.running[lane], first, lane));
        }
        f(self);
        if let Some(&first) = self.ready[lane].first() {
            self.queue.insert((self.running[lane], first, lane));
        }
    }

    fn ready(&mut self, i: usize) {
        self.change(self.of[i], |l| {
            l.ready[l.of[i]].insert(i);
        });
    }

    fn finished(&mut self, i: usize) {
        let lane = self.of[i];
        self.change(lane, |l| {
            l.running[lane] -= 1;
            l.undone[lane] -= 1;
            if l.undone[lane] == 0 {
                l.open -= 1;
            }
        });
    }

    /// The next node to start: of the lane with the fewest running, under its cap.
    fn next(&mut self) -> Option<usize> {
        let cap = self.cap();
        let &(_, i, lane) = self.queue.first().filter(|(n, _, _)| *n < cap)?;
        self.change(lane, |l| {
            l.ready[lane].remove(&i);
            l.running[lane] += 1;
        });
        Some(i)
    }
}

#[cfg(test)]
mod walk_tests {
    use super::*;
    use futures::FutureExt;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn respects_dependencies_and_bound() {
        let order: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let mut deps = BTreeMap::new();
        deps.insert("c".to_string(), vec!["a".to_string(), "b".to_string()]);
        deps.insert("d".to_string(), vec!["c".to_string()]);
        let live = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (done, failed) = walk::<Vec<String>, (), _, _>(
            &order,
            &deps,
            2,
            |_| (),
            |id, so_far| {
                let mut seen: Vec<String> = so_far.keys().cloned().collect();
                seen.sort();
                let (live, peak) = (live.clone(), peak.clone());
                let id = id.to_string();
                async move {
                    let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    live.fetch_sub(1, Ordering::SeqCst);
                    let _ = id;
                    Ok(seen)
                }
                .boxed()
            },
        )
        .await;
        assert!(failed.is_empty());
        assert_eq!(done["c"], vec!["a", "b"]);
        assert_eq!(done["d"], vec!["a", "b", "c"]);
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    /// Thousands of nodes (a fleet: per device a thing, a certificate and two attachments on
    /// them) finish in dependency order; the walk itself costs nodes + edges, not a scan of the
    /// whole order per completion.
    #[tokio::test]
    async fn walks_thousands_of_nodes() {
        let devices = 1250;
        let mut order = vec!["policy".to_string()];
        let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in 0..devices {
            let (thing, cert) = (format!("thing-{n}"), format!("cert-{n}"));
            let (principal, policy) = (format!("principal-{n}"), format!("attach-{n}"));
            deps.insert(principal.clone(), vec![thing.clone(), cert.clone()]);
            deps.insert(policy.clone(), vec![cert.clone(), "policy".to_string()]);
            order.extend([thing, cert, principal, policy]);
        }
        assert!(order.len() > 5000);
        let (done, failed) = walk::<usize, (), _, _>(
            &order,
            &deps,
            64,
            |_| (),
            |id, so_far| {
                let missing: Vec<String> = deps
                    .get(id)
                    .into_iter()
                    .flatten()
                    .filter(|d| !so_far.contains_key(*d))
                    .cloned()
                    .collect();
                assert!(missing.is_empty(), "{id} started before {missing:?}");
                let at = so_far.len();
                async move { Ok(at) }.boxed()
            },
        )
        .await;
        assert!(failed.is_empty());
        assert_eq!(done.len(), order.len());
        assert!(done["attach-0"] > done["policy"]);
        assert!(done["principal-1249"] > done["cert-1249"]);
    }

    /// Nodes that wait for something slow (say, calls of an operation paced at 10 per second)
    /// do not hold every slot: here they wait until every node of another lane is done, which
    /// those reach only through a node placed after them in the order; with one lane for all,
    /// the slow nodes would take the four slots and wait for ever.
    #[tokio::test]
    async fn a_lane_waiting_for_a_slow_resource_leaves_slots_to_the_others() {
        let slow: Vec<String> = (0..20).map(|n| format!("slow-{n}")).collect();
        let fast: Vec<String> = (0..20).map(|n| format!("fast-{n}")).collect();
        let mut order = slow.clone();
        order.push("gate".to_string());
        order.extend(fast.iter().cloned());
        let deps: BTreeMap<String, Vec<String>> = fast
            .iter()
            .map(|f| (f.clone(), vec!["gate".to_string()]))
            .collect();
        let fast_left = Arc::new(AtomicUsize::new(fast.len()));
        let released = Arc::new(tokio::sync::Notify::new());
        let (live, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let lane = |id: &str| id.split('-').next().unwrap_or(id).to_string();
        let walk = walk::<usize, (), _, _>(&order, &deps, 4, lane, |id, so_far| {
            let slow = id.starts_with("slow");
            let fast = id.starts_with("fast");
            let (fast_left, released) = (fast_left.clone(), released.clone());
            let (live, peak) = (live.clone(), peak.clone());
            let seen = so_far.len();
            async move {
                peak.fetch_max(live.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                if slow {
                    // Waits until every fast node is done (or was released before it asked).
                    let wait = released.notified();
                    if fast_left.load(Ordering::SeqCst) > 0 {
                        wait.await;
                    }
                }
                if fast && fast_left.fetch_sub(1, Ordering::SeqCst) == 1 {
                    released.notify_waiters();
                }
                live.fetch_sub(1, Ordering::SeqCst);
                Ok(seen)
            }
            .boxed()
        });
        let (done, failed) = tokio::time::timeout(std::time::Duration::from_secs(10), walk)
            .await
            .expect("the fast nodes ran beside the waiting slow ones");
        assert!(failed.is_empty());
        assert_eq!(done.len(), order.len());
        // Never more than the bound at once, all lanes together.
        assert_eq!(peak.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn stops_starting_after_a_failure() {
        let order: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let mut deps = BTreeMap::new();
        deps.insert("b".to_string(), vec!["a".to_string()]);
        let (done, failed) = walk::<(), &str, _, _>(
            &order,
            &deps,
            4,
            |_| (),
            |id, _| {
                let fail = id == "a";
                async move {
                    if fail {
                        Err("boom")
                    } else {
                        Ok(())
                    }
                }
                .boxed()
            },
        )
        .await;
        assert!(done.is_empty());
        assert_eq!(failed, vec![("a".to_string(), "boom")]);
    }
}
