//! The scaling check's timeline and verdict, shared by `fargate-app scaling-check` and the
//! provider's `Custom::FargateScalingCheck`: rows of the service's counts (ECS DescribeServices
//! `desiredCount`, `runningCount`, `pendingCount`:
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html) with the load of
//! each interval, and whether the desired count reached N and came back to the minimum.

use std::fmt::Write as _;
use std::time::Duration;

/// One read of the service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Counts {
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
}

/// The load of one poll interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadStats {
    pub rps: f64,
    pub p99_ms: Option<f64>,
    pub errors: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Counts(Counts),
    /// A transient failure (throttling, a timeout): the next poll tries again.
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub at: Duration,
    pub read: Read,
    pub load: Option<LoadStats>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expect {
    /// (N, within this long of the load's start)
    pub desired: Option<(i32, Duration)>,
    /// (the minimum, within this long of the load's end)
    pub back_to_min: Option<(i32, Duration)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Waiting,
    Met(String),
    Missed(String),
}

pub fn secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

pub fn counts(rows: &[Row]) -> impl Iterator<Item = (Duration, Counts)> + '_ {
    rows.iter().filter_map(|r| match r.read {
        Read::Counts(c) => Some((r.at, c)),
        Read::Skipped(_) => None,
    })
}

/// The verdict so far: `now` is the time since the load started, `load_end` when it stopped
/// (None while it runs).
pub fn judge(rows: &[Row], e: &Expect, now: Duration, load_end: Option<Duration>) -> State {
    let mut met = Vec::new();
    let mut reached_at = None;
    if let Some((n, within)) = e.desired {
        reached_at = counts(rows)
            .find(|(at, c)| *at <= within && c.desired >= n)
            .map(|(at, _)| at);
        match reached_at {
            Some(at) => {
                let running = counts(rows)
                    .find(|(t, c)| *t >= at && c.running >= n)
                    .map(|(t, _)| format!(", running {n} at {}", secs(t)))
                    .unwrap_or_else(|| format!(", running never reached {n}"));
                met.push(format!("desired reached {n} at {}{running}", secs(at)));
            }
            None if now > within => {
                let top = counts(rows).map(|(_, c)| c.desired).max();
                return State::Missed(format!(
                    "desired count never reached {n} within {} of the load's start (highest seen: {})",
                    secs(within),
                    top.map_or("no count read".to_string(), |d| d.to_string())
                ));
            }
            None => return State::Waiting,
        }
    }
    let Some(end) = load_end else {
        return State::Waiting;
    };
    if let Some((min, wait)) = e.back_to_min {
        // Back to the minimum counts after the load stopped and after any scale-out seen.
        let rose = counts(rows)
            .find(|(_, c)| c.desired > min)
            .map(|(at, _)| at);
        let from = reached_at.or(rose).unwrap_or(Duration::ZERO).max(end);
        match counts(rows).find(|(at, c)| *at >= from && c.desired <= min) {
            Some((at, _)) => met.push(format!(
                "back to the minimum {min} at {} ({} after the load stopped)",
                secs(at),
                secs(at.saturating_sub(end))
            )),
            None if now > end + wait => {
                let last = counts(rows).last().map(|(_, c)| c.desired);
                return State::Missed(format!(
                    "desired count did not return to the minimum {min} within {} of the load's end (last seen: {})",
                    secs(wait),
                    last.map_or("no count read".to_string(), |d| d.to_string())
                ));
            }
            None => return State::Waiting,
        }
    }
    if met.is_empty() {
        State::Met("no expectation given; the timeline is above".into())
    } else {
        State::Met(met.join("; "))
    }
}

pub fn header() -> String {
    format!(
        "{:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>7}",
        "time", "desired", "running", "pending", "req/s", "p99 ms", "errors"
    )
}

pub fn render_row(r: &Row) -> String {
    let mut s = format!("{:>8} ", secs(r.at));
    match &r.read {
        Read::Counts(c) => {
            let _ = write!(s, "{:>8} {:>8} {:>8}", c.desired, c.running, c.pending);
        }
        Read::Skipped(why) => {
            let _ = write!(s, "{:>26}", format!("(no read: {why})"));
        }
    }
    match r.load {
        Some(l) => {
            let p99 = l.p99_ms.map_or("-".into(), |p| format!("{p:.1}"));
            let _ = write!(s, " {:>8.1} {:>9} {:>7}", l.rps, p99, l.errors);
        }
        None => s.push_str(&format!(" {:>8} {:>9} {:>7}", "-", "-", "-")),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(at: u64, desired: i32, running: i32) -> Row {
        Row {
            at: Duration::from_secs(at),
            read: Read::Counts(Counts {
                desired,
                running,
                pending: desired - running,
            }),
            load: None,
        }
    }

    /// judge over timelines shaped as AWS's would be: scale-out 3 datapoints after the load
    /// starts, scale-in 15 after it stops.
    #[test]
    fn judge_table() {
        let s = Duration::from_secs;
        let out = Some((2, s(420)));
        let back = Some((1, s(1200)));
        let rising = vec![row(0, 1, 1), row(200, 2, 1), row(260, 2, 2)];
        let mut returning = rising.clone();
        returning.push(row(1400, 1, 1));
        type Case = (
            &'static str,
            Vec<Row>,
            Expect,
            u64,
            Option<u64>,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            ("reached while loading", rising.clone(), Expect { desired: out, back_to_min: None }, 260, Some(300), "Met: desired reached 2 at 3m20s, running 2 at 4m20s"),
            ("reached, load still on", rising.clone(), Expect { desired: out, back_to_min: None }, 260, None, "Waiting"),
            ("not yet, inside the window", vec![row(0, 1, 1)], Expect { desired: out, back_to_min: None }, 400, Some(300), "Waiting"),
            ("never reached", vec![row(0, 1, 1), row(430, 1, 1)], Expect { desired: out, back_to_min: None }, 430, Some(300), "Missed: desired count never reached 2 within 7m00s of the load's start (highest seen: 1)"),
            ("returned", returning.clone(), Expect { desired: out, back_to_min: back }, 1400, Some(300), "Met: desired reached 2 at 3m20s, running 2 at 4m20s; back to the minimum 1 at 23m20s (18m20s after the load stopped)"),
            ("return pending", rising.clone(), Expect { desired: out, back_to_min: back }, 1400, Some(300), "Waiting"),
            ("never returned", rising.clone(), Expect { desired: out, back_to_min: back }, 1501, Some(300), "Missed: desired count did not return to the minimum 1 within 20m00s of the load's end (last seen: 2)"),
            ("the start at the minimum is not a return", vec![row(0, 1, 1), row(200, 2, 1)], Expect { desired: None, back_to_min: back }, 250, Some(100), "Waiting"),
        ];
        for (name, rows, e, now, end, want) in cases {
            let got = match judge(&rows, &e, s(now), end.map(s)) {
                State::Waiting => "Waiting".to_string(),
                State::Met(w) => format!("Met: {w}"),
                State::Missed(w) => format!("Missed: {w}"),
            };
            assert_eq!(got, want, "{name}");
        }
    }
}
