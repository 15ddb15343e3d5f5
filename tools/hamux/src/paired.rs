//! A scenario run beside the run-to-completion loop: hamux's run, then the loop's on the
//! same load and wire at once, so both see the same machine. And `pipelined-loaded`,
//! such a pair while busy processes compete for the CPUs, compared with the pair unloaded.

use crate::baseline::Baseline;
use crate::bench::{run_load, Load, Transport};
use crate::busy_load::BusyLoad;
use crate::report::{Reference, Row, UnderLoad};
use std::time::Duration;

/// Where and what to run: hamux's URL (the loop speaks its transport), the load, and the
/// loop if it runs.
pub struct Pair<'a> {
    pub url: &'a str,
    pub load: &'a Load,
    pub baseline: Option<&'a mut Baseline>,
}

impl Pair<'_> {
    /// hamux's run named `name`, then the loop's (as the row's `baseline`). With `busy`,
    /// also the CPUs it took during each of the two.
    fn run(
        &mut self,
        name: &str,
        shape: (usize, usize),
        busy: Option<&BusyLoad>,
    ) -> Result<(Row, [f64; 2]), String> {
        let (connections, window) = shape;
        let (url, load) = (self.url, self.load);
        let took = |f: &mut dyn FnMut() -> Result<Row, String>| match busy {
            Some(b) => b.measure(f),
            None => (f(), 0.0),
        };
        let (row, hamux_busy) = took(&mut || run_load(url, name, connections, window, load, false));
        let mut row = row?;
        let mut loop_busy = 0.0;
        if let Some(b) = self.baseline.as_deref_mut() {
            let wire = Transport::of(url).ok_or_else(|| format!("loop: no transport for {url}"))?;
            let (looped, cpus) = took(&mut || b.run(&format!("{name}/loop"), wire, shape, load));
            row.baseline = Some(Box::new(looped?));
            loop_busy = cpus;
        }
        Ok((row, [hamux_busy, loop_busy]))
    }

    /// A plain scenario's pair.
    pub fn scenario(&mut self, name: &str, shape: (usize, usize)) -> Result<Row, String> {
        Ok(self.run(name, shape, None)?.0)
    }

    /// `pipelined-loaded` (named `name`): the pipelined pair while `processes` busy
    /// processes run, compared with `unloaded` (the `pipelined` row of this run; when there
    /// is none, one is measured first and pushed to `rows`).
    pub fn loaded(
        &mut self,
        name: &str,
        shape: (usize, usize),
        processes: usize,
        rows: &mut Vec<Row>,
        unloaded_name: &str,
    ) -> Result<Row, String> {
        let unloaded = match rows.iter().find(|r| r.name == unloaded_name) {
            Some(row) => references(row),
            None => {
                let row = self.scenario(unloaded_name, shape)?;
                let r = references(&row);
                rows.push(row);
                r
            }
        };
        // Killed when dropped, also if a run below fails; a generous lifetime otherwise.
        let lifetime = self.load.duration * 4 + Duration::from_secs(60);
        let busy = BusyLoad::start(processes, lifetime)?;
        let (mut row, [hamux_busy, loop_busy]) = self.run(name, shape, Some(&busy))?;
        let pids = busy.pids();
        drop(busy);
        if let (Some(b), Some(reference)) = (row.baseline.as_mut(), unloaded.1) {
            b.under_load =
                Some(UnderLoad { processes, pids: Vec::new(), busy_cpus: loop_busy, unloaded: reference });
        }
        row.under_load = Some(UnderLoad { processes, pids, busy_cpus: hamux_busy, unloaded: unloaded.0 });
        Ok(row)
    }
}

/// The unloaded figures a loaded run is compared with: hamux's, and the loop's if it ran.
fn references(row: &Row) -> (Reference, Option<Reference>) {
    (Reference::of(row), row.baseline.as_deref().map(Reference::of))
}
