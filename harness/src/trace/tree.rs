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
#[path = "tree_tests.rs"]
mod tests;
