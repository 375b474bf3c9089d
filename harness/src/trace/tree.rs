//! One trace as a tree, and the time of the request it served shared out to parts.
//!
//! The root is the trace's first server span with no parent among the trace's spans (the
//! load generator's own span is not exported). Spans under a producer or consumer span — the
//! event relay, publishing, consumers — are asynchronous: they are in the tree and its text,
//! not on the response path, and no part of the response time is charged to them.
//!
//! Attribution walks the tree from the root with a weight per time interval (1 for the
//! root): where no child runs, the span's own part gets the time; where k children overlap,
//! each gets the interval with weight 1/k. Children are clipped to their parent. So the parts
//! add up to the root's duration exactly, and parallel fan-out is neither double-counted nor
//! charged to the fastest branch alone.

use std::collections::{BTreeMap, HashMap};

use super::span::SpanRecord;

/// A trace's spans, linked.
pub struct Trace<'a> {
    /// Sorted by start time.
    pub spans: Vec<&'a SpanRecord>,
    /// Children of each span, by start time.
    pub children: Vec<Vec<usize>>,
    pub root: Option<usize>,
    /// Off the response path.
    pub is_async: Vec<bool>,
}

/// Spans by trace id.
pub fn group(spans: &[SpanRecord]) -> HashMap<&str, Vec<&SpanRecord>> {
    let mut by: HashMap<&str, Vec<&SpanRecord>> = HashMap::new();
    for s in spans {
        by.entry(s.trace_id.as_str()).or_default().push(s);
    }
    by
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// Total length of the union of intervals.
pub fn union_len(mut iv: Vec<(f64, f64)>) -> f64 {
    iv.retain(|(a, b)| b > a);
    iv.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut cur: Option<(f64, f64)> = None;
    for (a, b) in iv {
        match &mut cur {
            Some((_, e)) if a <= *e => *e = e.max(b),
            _ => {
                if let Some((s, e)) = cur {
                    total += e - s;
                }
                cur = Some((a, b));
            }
        }
    }
    if let Some((s, e)) = cur {
        total += e - s;
    }
    total
}

impl<'a> Trace<'a> {
    pub fn new(mut spans: Vec<&'a SpanRecord>) -> Trace<'a> {
        spans.sort_by_key(|s| (s.start_ns, std::cmp::Reverse(s.end_ns)));
        let index: HashMap<&str, usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id.as_str(), i))
            .collect();
        let mut children = vec![Vec::new(); spans.len()];
        let mut parentless = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            match index.get(s.parent_id.as_str()) {
                Some(&p) if p != i => children[p].push(i),
                _ => parentless.push(i),
            }
        }
        let root = parentless
            .iter()
            .copied()
            .find(|&i| spans[i].kind == super::Kind::Server)
            .or_else(|| parentless.first().copied());
        let mut t = Trace {
            is_async: vec![false; spans.len()],
            spans,
            children,
            root,
        };
        if let Some(r) = root {
            let mut stack = vec![(r, false)];
            while let Some((i, parent_async)) = stack.pop() {
                let a = parent_async || t.spans[i].starts_async();
                t.is_async[i] = a;
                for &c in &t.children[i] {
                    stack.push((c, a));
                }
            }
        }
        t
    }

    fn interval(&self, i: usize) -> (f64, f64) {
        (us(self.spans[i].start_ns), us(self.spans[i].end_ns))
    }

    /// Children on the response path (all children of an asynchronous span), clipped to
    /// the span.
    fn timed_children(&self, i: usize) -> Vec<(usize, f64, f64)> {
        let (s, e) = self.interval(i);
        self.children[i]
            .iter()
            .filter(|&&c| self.is_async[i] || !self.is_async[c])
            .map(|&c| {
                let (cs, ce) = self.interval(c);
                (c, cs.max(s), ce.min(e))
            })
            .filter(|(_, a, b)| b > a)
            .collect()
    }

    /// A span's time not covered by its children (parallel children by their union).
    pub fn self_us(&self, i: usize) -> f64 {
        let (s, e) = self.interval(i);
        let covered = union_len(
            self.timed_children(i)
                .into_iter()
                .map(|(_, a, b)| (a, b))
                .collect(),
        );
        (e - s - covered).max(0.0)
    }

    pub fn duration_us(&self, i: usize) -> f64 {
        let (s, e) = self.interval(i);
        e - s
    }

    /// The root's duration shared out to parts (see the module's documentation).
    pub fn attribute(&self) -> BTreeMap<String, f64> {
        let mut parts = BTreeMap::new();
        if let Some(r) = self.root {
            let (s, e) = self.interval(r);
            self.visit(r, vec![(s, e, 1.0)], &mut parts);
        }
        parts
    }

    fn visit(&self, i: usize, segments: Vec<(f64, f64, f64)>, parts: &mut BTreeMap<String, f64>) {
        let kids = self.timed_children(i);
        let mut given: Vec<Vec<(f64, f64, f64)>> = vec![Vec::new(); kids.len()];
        let mut own = 0.0;
        for (a, b, w) in segments {
            let mut cuts = vec![a, b];
            for (_, cs, ce) in &kids {
                for t in [*cs, *ce] {
                    if t > a && t < b {
                        cuts.push(t);
                    }
                }
            }
            cuts.sort_by(f64::total_cmp);
            cuts.dedup();
            for win in cuts.windows(2) {
                let (x, y) = (win[0], win[1]);
                let active: Vec<usize> = kids
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, cs, ce))| *cs <= x && *ce >= y)
                    .map(|(k, _)| k)
                    .collect();
                if active.is_empty() {
                    own += w * (y - x);
                } else {
                    let share = w / active.len() as f64;
                    for k in active {
                        given[k].push((x, y, share));
                    }
                }
            }
        }
        if own > 0.0 {
            *parts.entry(self.spans[i].part()).or_insert(0.0) += own;
        }
        for (k, (c, _, _)) in kids.iter().enumerate() {
            if !given[k].is_empty() {
                self.visit(*c, std::mem::take(&mut given[k]), parts);
            }
        }
    }

    /// The critical path on the response path, in time order with depths: from a span's
    /// end back, the child that finished last, then the one that finished last before that
    /// child started, and so on, each expanded the same way. Children that overlap a later
    /// link are off the path (the later one was waited for).
    pub fn critical_path(&self) -> Vec<(usize, usize)> {
        let mut path = Vec::new();
        if let Some(r) = self.root {
            self.critical(r, 0, &mut path);
        }
        path
    }

    fn critical(&self, i: usize, depth: usize, path: &mut Vec<(usize, usize)>) {
        path.push((i, depth));
        let mut kids: Vec<(usize, f64, f64)> = self
            .timed_children(i)
            .into_iter()
            .filter(|(c, _, _)| !self.is_async[*c])
            .collect();
        kids.sort_by(|a, b| b.2.total_cmp(&a.2));
        let mut limit = f64::INFINITY;
        let mut chain = Vec::new();
        for (c, start, end) in kids {
            if end <= limit {
                chain.push(c);
                limit = start;
            }
        }
        for &c in chain.iter().rev() {
            self.critical(c, depth + 1, path);
        }
    }

    /// The tree as indented text: start offset and duration in ms, process, name, own time.
    pub fn render(&self, max_lines: usize) -> String {
        let Some(r) = self.root else {
            return String::new();
        };
        let t0 = self.spans[r].start_ns;
        let mut out = String::new();
        let mut lines = 0;
        let mut stack = vec![(r, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            if lines == max_lines {
                out.push_str("…\n");
                break;
            }
            let s = self.spans[i];
            out.push_str(&format!(
                "{:>8.3} {:>8.3} ms  {}{}: {}{}  (own {:.0} µs)\n",
                (s.start_ns.saturating_sub(t0)) as f64 / 1e6,
                s.duration_us() / 1000.0,
                "  ".repeat(depth),
                s.process(),
                s.name,
                if self.is_async[i] { " [async]" } else { "" },
                self.self_us(i),
            ));
            lines += 1;
            for &c in self.children[i].iter().rev() {
                stack.push((c, depth + 1));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::span::Kind;
    use super::*;

    pub(crate) fn span(
        id: &str,
        parent: &str,
        service: &str,
        name: &str,
        kind: Kind,
        start_us: u64,
        end_us: u64,
    ) -> SpanRecord {
        SpanRecord {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_id: parent.into(),
            service: service.into(),
            name: name.into(),
            kind,
            start_ns: start_us * 1000,
            end_ns: end_us * 1000,
            db: false,
            wait: None,
            peer: None,
            lag_us: None,
            status: None,
        }
    }

    #[test]
    fn a_chain_of_hops_is_charged_to_each_process_the_wire_and_the_database() {
        let mut db = span(
            "d",
            "s",
            "leads",
            "SELECT crm_leads.leads",
            Kind::Client,
            40,
            70,
        );
        db.db = true;
        let mut pool = span("p", "s", "leads", "db.acquire", Kind::Internal, 30, 40);
        pool.wait = Some("pool".into());
        let spans = [
            span(
                "g",
                "loadgen",
                "gateway",
                "POST /leads",
                Kind::Server,
                0,
                100,
            ),
            span("c", "g", "gateway", "POST leads", Kind::Client, 10, 90),
            span(
                "s",
                "c",
                "leads",
                "POST /api/v1/leads",
                Kind::Server,
                20,
                80,
            ),
            db,
            pool,
        ];
        let t = Trace::new(spans.iter().collect());
        assert_eq!(t.spans[t.root.unwrap()].span_id, "g");
        let parts = t.attribute();
        assert_eq!(parts["gateway"], 20.0);
        assert_eq!(parts["wire"], 20.0);
        assert_eq!(parts["service:leads"], 20.0);
        assert_eq!(parts["postgres"], 30.0);
        assert_eq!(parts["wait"], 10.0);
        assert_eq!(parts.values().sum::<f64>(), 100.0);
        let path: Vec<&str> = t
            .critical_path()
            .iter()
            .map(|(i, _)| t.spans[*i].span_id.as_str())
            .collect();
        // The pool wait, then the statement it waited for: both on the path, in order.
        assert_eq!(path, ["g", "c", "s", "p", "d"]);
        let text = t.render(50);
        assert!(text.contains("postgres: SELECT crm_leads.leads"), "{text}");
    }

    #[test]
    fn parallel_children_share_their_overlap_and_self_time_uses_their_union() {
        // A fan-out: two calls from 10 to 60 and from 30 to 90 inside a 100 µs span.
        let spans = [
            span(
                "g",
                "",
                "gateway",
                "GET /companies/{id}/overview",
                Kind::Server,
                0,
                100,
            ),
            span("a", "g", "gateway", "GET customers", Kind::Client, 10, 60),
            span("b", "g", "gateway", "GET sales", Kind::Client, 30, 90),
        ];
        let t = Trace::new(spans.iter().collect());
        let root = t.root.unwrap();
        // Covered by the union [10, 90]: 80 µs; own 20.
        assert_eq!(t.self_us(root), 20.0);
        let parts = t.attribute();
        assert_eq!(parts["gateway"], 20.0);
        // 10..30 a alone (20), 30..60 shared (15 + 15), 60..90 b alone (30).
        assert_eq!(parts["wire"], 80.0);
        assert_eq!(parts.values().sum::<f64>(), 100.0);
    }

    #[test]
    fn asynchronous_work_is_in_the_tree_but_not_in_the_response_time() {
        let mut consume = span(
            "k",
            "r",
            "analytics",
            "consume analytics lead.converted",
            Kind::Consumer,
            95,
            300,
        );
        consume.lag_us = Some(40);
        let spans = [
            span(
                "m",
                "",
                "monolith",
                "POST /leads/{id}/convert",
                Kind::Server,
                0,
                100,
            ),
            span(
                "r",
                "m",
                "monolith",
                "relay lead.converted",
                Kind::Producer,
                90,
                200,
            ),
            consume,
        ];
        let t = Trace::new(spans.iter().collect());
        let parts = t.attribute();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts["monolith"], 100.0);
        assert!(t.is_async[1] && t.is_async[2]);
        assert!(t.render(50).contains("[async]"));
    }

    #[test]
    fn the_critical_path_keeps_every_sequential_step_not_only_the_last_one() {
        let spans = [
            span(
                "r",
                "",
                "monolith",
                "POST /leads/{id}/convert",
                Kind::Server,
                0,
                100,
            ),
            span(
                "t",
                "r",
                "monolith",
                "convert transaction",
                Kind::Internal,
                5,
                80,
            ),
            span("q", "t", "monolith", "SELECT", Kind::Internal, 10, 20),
            span(
                "i",
                "r",
                "monolith",
                "idempotency complete",
                Kind::Internal,
                85,
                95,
            ),
            // Overlaps the transaction, finished before it: not waited for.
            span("x", "r", "monolith", "side", Kind::Internal, 30, 40),
        ];
        let t = Trace::new(spans.iter().collect());
        let path: Vec<(&str, usize)> = t
            .critical_path()
            .iter()
            .map(|(i, d)| (t.spans[*i].span_id.as_str(), *d))
            .collect();
        assert_eq!(path, [("r", 0), ("t", 1), ("q", 2), ("i", 1)]);
    }

    #[test]
    fn unions_merge_overlaps_and_ignore_empty_intervals() {
        assert_eq!(
            union_len(vec![(0.0, 10.0), (5.0, 15.0), (20.0, 25.0), (3.0, 3.0)]),
            20.0
        );
        assert_eq!(union_len(Vec::new()), 0.0);
    }
}
