//! Claiming the lowest free number of a range (a listener port, a rule priority) by creating the
//! thing that holds it. ELBv2 refuses a second listener on a port and a second rule at a
//! priority, so the create is the atomic claim: a caller that loses a race to a concurrent stack
//! marks the number taken and tries the next one, re-reading what is taken every 10 losses.

use crate::ProviderError;
use std::collections::BTreeSet;

const MAX_ATTEMPTS: usize = 200;

/// How one create attempt ended.
pub enum Attempt<T> {
    Won(T),
    /// Someone else holds the number now.
    Taken,
    Failed(ProviderError),
}

/// What is being claimed where, for the failure reasons.
pub struct Claim<'a> {
    /// "port", "priority".
    pub what: &'a str,
    /// "load balancer arn:...", "listener arn:...".
    pub on: &'a str,
    /// "listeners", "rules": what the quota counts.
    pub holders: &'a str,
    pub range: (u32, u32),
    pub quota: usize,
}

impl Claim<'_> {
    pub async fn lowest_free<T, R, C>(
        &self,
        mut taken: BTreeSet<u32>,
        refresh: impl Fn() -> R,
        create: impl Fn(u32, usize) -> C,
    ) -> Result<T, ProviderError>
    where
        R: std::future::Future<Output = Result<BTreeSet<u32>, ProviderError>>,
        C: std::future::Future<Output = Attempt<T>>,
    {
        for attempt in 0..MAX_ATTEMPTS {
            if taken.len() >= self.quota {
                return Err(ProviderError::Exhausted(format!(
                    "{} already has {} {}, the quota; no {} can be claimed",
                    self.on,
                    taken.len(),
                    self.holders,
                    self.what
                )));
            }
            let Some(n) = (self.range.0..=self.range.1).find(|x| !taken.contains(x)) else {
                return Err(ProviderError::Exhausted(format!(
                    "no free {} in {}-{} on {}: every {} of the range is taken",
                    self.what, self.range.0, self.range.1, self.on, self.what
                )));
            };
            match create(n, attempt).await {
                Attempt::Won(t) => return Ok(t),
                Attempt::Failed(e) => return Err(e),
                Attempt::Taken => {
                    taken.insert(n);
                    if attempt % 10 == 9 {
                        taken.extend(refresh().await?);
                    }
                }
            }
        }
        Err(ProviderError::Exhausted(format!(
            "gave up after {MAX_ATTEMPTS} attempts to claim a {} on {}",
            self.what, self.on
        )))
    }
}
