//! How an `AnalysisRun` decides, as Argo Rollouts does: a measurement's verdict from the
//! metric's `successCondition`/`failureCondition`, a metric's phase from its tally and
//! limits (`count`, `failureLimit`, `inconclusiveLimit`, `consecutiveErrorLimit`,
//! `consecutiveSuccessLimit`), and the run's phase as the worst of its metrics.
//!
//! One deliberate difference: a result with no data (an empty vector, nil, or only NaN) is
//! Inconclusive with a message that says so and shows the query, unless the conditions
//! handle no data themselves (they mention `len(`, `isNaN(`, `isNil(` or `default(`) —
//! then their verdict stands. Argo Rollouts turns an empty result into an evaluation Error
//! that aborts after the error limit, with a message users could not read.

use crate::expr::{Expression, Value};

/// A measurement's, a metric's or a run's phase, named as in `AnalysisRun.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Done and good.
    Successful,
    /// Measuring.
    Running,
    /// Nothing measured yet.
    Pending,
    /// Neither good nor bad: the rollout pauses.
    Inconclusive,
    /// The measurement could not be taken or evaluated.
    Error,
    /// Bad: the rollout aborts.
    Failed,
}

impl Phase {
    /// The name in `status.phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Successful => "Successful",
            Phase::Running => "Running",
            Phase::Pending => "Pending",
            Phase::Inconclusive => "Inconclusive",
            Phase::Error => "Error",
            Phase::Failed => "Failed",
        }
    }

    /// Whether nothing more will change it.
    pub fn is_complete(self) -> bool {
        !matches!(self, Phase::Running | Phase::Pending)
    }
}

/// A metric's conditions, compiled.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    /// `successCondition`.
    pub success: Option<Expression>,
    /// `failureCondition`.
    pub failure: Option<Expression>,
    /// Whether either condition deals with a missing result itself.
    handles_no_data: bool,
}

impl Conditions {
    /// Compiles the two conditions (empty strings count as absent).
    pub fn new(
        success: Option<&str>,
        failure: Option<&str>,
    ) -> Result<Conditions, crate::expr::ExprError> {
        let compile = |text: Option<&str>| {
            text.map(str::trim)
                .filter(|t| !t.is_empty())
                .map(Expression::parse)
                .transpose()
        };
        let handles_no_data = [success, failure].into_iter().flatten().any(|text| {
            ["len(", "isNaN(", "isNil(", "default("]
                .iter()
                .any(|guard| text.contains(guard))
        });
        Ok(Conditions {
            success: compile(success)?,
            failure: compile(failure)?,
            handles_no_data,
        })
    }
}

/// One measurement's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Successful, Failed, Inconclusive or Error.
    pub phase: Phase,
    /// Why, for the status and the abort message (empty when Successful).
    pub message: String,
}

/// Whether a result holds no data: nil, an empty list, NaN, or a list of only NaN.
pub fn is_no_data(result: &Value) -> bool {
    match result {
        Value::Nil => true,
        Value::Number(n) => n.is_nan(),
        Value::List(items) => items
            .iter()
            .all(|item| matches!(item, Value::Number(n) if n.is_nan())),
        _ => false,
    }
}

/// The verdict of one measurement whose provider returned `result` for `query` (shown in
/// messages: the resolved query, with `{{args.*}}` filled in).
pub fn verdict(conditions: &Conditions, result: &Value, query: &str) -> Verdict {
    if is_no_data(result) && !conditions.handles_no_data {
        return Verdict {
            phase: Phase::Inconclusive,
            message: format!("no data: `{query}` returned {result}"),
        };
    }
    let check = |expression: &Expression| expression.evaluate(result);
    let outcome = match (&conditions.success, &conditions.failure) {
        (Some(success), Some(failure)) => check(failure).and_then(|failed| {
            if failed {
                Ok(Phase::Failed)
            } else {
                check(success).map(|ok| {
                    if ok {
                        Phase::Successful
                    } else {
                        Phase::Inconclusive
                    }
                })
            }
        }),
        (Some(success), None) => {
            check(success).map(|ok| if ok { Phase::Successful } else { Phase::Failed })
        }
        (None, Some(failure)) => check(failure).map(|failed| {
            if failed {
                Phase::Failed
            } else {
                Phase::Successful
            }
        }),
        (None, None) => Ok(Phase::Successful),
    };
    match outcome {
        Ok(Phase::Successful) => Verdict {
            phase: Phase::Successful,
            message: String::new(),
        },
        Ok(phase) => {
            let condition = match phase {
                Phase::Failed => conditions
                    .failure
                    .as_ref()
                    .map(|_| "failureCondition met".to_string())
                    .or_else(|| {
                        conditions
                            .success
                            .as_ref()
                            .map(|_| "successCondition not met".to_string())
                    }),
                _ => Some("neither condition met".to_string()),
            }
            .unwrap_or_default();
            Verdict {
                phase,
                message: format!("{condition}: `{query}` returned {result}"),
            }
        }
        Err(error) => Verdict {
            phase: Phase::Error,
            message: format!("{error}; `{query}` returned {result}"),
        },
    }
}

/// A metric's limits, with Argo Rollouts' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Measurements to take (`None`: indefinitely, until the run is terminated).
    pub count: Option<u32>,
    /// Failed when more measurements failed; `None` (−1 upstream) disables.
    pub failure_limit: Option<u32>,
    /// Inconclusive when more were inconclusive.
    pub inconclusive_limit: u32,
    /// Error when more errors in a row (default 4: the fifth).
    pub consecutive_error_limit: u32,
    /// Successful on this many successes in a row (0: off).
    pub consecutive_success_limit: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            count: Some(1),
            failure_limit: Some(0),
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            consecutive_success_limit: 0,
        }
    }
}

/// What a metric measured so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Measurements that counted (errors do not).
    pub count: u32,
    /// Successful ones.
    pub successful: u32,
    /// Failed ones.
    pub failed: u32,
    /// Inconclusive ones.
    pub inconclusive: u32,
    /// Errors in all.
    pub error: u32,
    /// Errors in a row, up to the last measurement.
    pub consecutive_error: u32,
    /// Successes in a row.
    pub consecutive_success: u32,
}

impl Tally {
    /// Adds one measurement.
    pub fn record(&mut self, phase: Phase) {
        if phase == Phase::Error {
            self.error += 1;
            self.consecutive_error += 1;
            self.consecutive_success = 0;
            return;
        }
        self.consecutive_error = 0;
        self.count += 1;
        match phase {
            Phase::Successful => {
                self.successful += 1;
                self.consecutive_success += 1;
            }
            Phase::Failed => {
                self.failed += 1;
                self.consecutive_success = 0;
            }
            Phase::Inconclusive => {
                self.inconclusive += 1;
                self.consecutive_success = 0;
            }
            _ => {}
        }
    }
}

/// A metric's phase and, once decided, why.
pub fn metric_phase(name: &str, tally: &Tally, limits: &Limits) -> (Phase, String) {
    if tally.count == 0 && tally.error == 0 {
        return (Phase::Pending, String::new());
    }
    // When several limits trip at once, Error beats Inconclusive beats Failed.
    if tally.consecutive_error > limits.consecutive_error_limit {
        return (
            Phase::Error,
            format!(
                "Metric \"{name}\" assessed Error due to consecutiveErrors ({}) > consecutiveErrorLimit ({})",
                tally.consecutive_error, limits.consecutive_error_limit
            ),
        );
    }
    if tally.inconclusive > limits.inconclusive_limit {
        return (
            Phase::Inconclusive,
            format!(
                "Metric \"{name}\" assessed Inconclusive due to inconclusive ({}) > inconclusiveLimit ({})",
                tally.inconclusive, limits.inconclusive_limit
            ),
        );
    }
    if let Some(limit) = limits.failure_limit
        && tally.failed > limit
    {
        return (
            Phase::Failed,
            format!(
                "Metric \"{name}\" assessed Failed due to failed ({}) > failureLimit ({limit})",
                tally.failed
            ),
        );
    }
    if limits.consecutive_success_limit > 0
        && tally.consecutive_success >= limits.consecutive_success_limit
    {
        return (Phase::Successful, String::new());
    }
    if let Some(count) = limits.count
        && tally.count >= count
    {
        if limits.consecutive_success_limit > 0 {
            // The count ran out before the run of successes.
            let phase = if limits.failure_limit.is_some() {
                Phase::Inconclusive
            } else {
                Phase::Failed
            };
            return (
                phase,
                format!(
                    "Metric \"{name}\" assessed {} due to consecutiveSuccesses ({}) < consecutiveSuccessLimit ({}) after {count} measurement(s)",
                    phase.as_str(),
                    tally.consecutive_success,
                    limits.consecutive_success_limit
                ),
            );
        }
        return (Phase::Successful, String::new());
    }
    (Phase::Running, String::new())
}

/// A run's phase: the worst of its metrics' (Successful < Running < Pending <
/// Inconclusive < Error < Failed); an empty run is Successful.
pub fn run_phase(metrics: &[Phase]) -> Phase {
    metrics.iter().copied().max().unwrap_or(Phase::Successful)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(values: &[f64]) -> Value {
        Value::List(values.iter().map(|v| Value::Number(*v)).collect())
    }

    #[test]
    fn the_verdict_table_of_argo_rollouts() {
        let both = Conditions::new(Some("result[0] >= 0.95"), Some("result[0] < 0.9")).unwrap();
        assert_eq!(
            verdict(&both, &vector(&[0.97]), "q").phase,
            Phase::Successful
        );
        assert_eq!(verdict(&both, &vector(&[0.5]), "q").phase, Phase::Failed);
        assert_eq!(
            verdict(&both, &vector(&[0.92]), "q").phase,
            Phase::Inconclusive
        );
        let success = Conditions::new(Some("result[0] >= 0.95"), None).unwrap();
        assert_eq!(verdict(&success, &vector(&[0.5]), "q").phase, Phase::Failed);
        let failure = Conditions::new(None, Some("result[0] > 0.05")).unwrap();
        assert_eq!(
            verdict(&failure, &vector(&[0.01]), "q").phase,
            Phase::Successful
        );
        let neither = Conditions::new(None, Some("")).unwrap();
        assert_eq!(
            verdict(&neither, &vector(&[1.0]), "q").phase,
            Phase::Successful
        );
        let broken = Conditions::new(Some("result.x > 1"), None).unwrap();
        let error = verdict(&broken, &vector(&[1.0]), "q");
        assert_eq!(error.phase, Phase::Error);
    }

    #[test]
    fn no_data_is_inconclusive_with_the_query_unless_the_conditions_guard_it() {
        let plain = Conditions::new(Some("result[0] >= 0.95"), None).unwrap();
        let query = "sum(rate(http_requests_total{code!~\"5..\"}[1m]))";
        for empty in [
            vector(&[]),
            Value::Number(f64::NAN),
            vector(&[f64::NAN]),
            Value::Nil,
        ] {
            let v = verdict(&plain, &empty, query);
            assert_eq!(v.phase, Phase::Inconclusive, "{empty}");
            assert!(
                v.message.contains("no data") && v.message.contains(query),
                "{}",
                v.message
            );
        }
        let guarded = Conditions::new(Some("len(result) == 0 || result[0] >= 0.95"), None).unwrap();
        assert_eq!(
            verdict(&guarded, &vector(&[]), query).phase,
            Phase::Successful
        );
        let fail_on_empty = Conditions::new(None, Some("len(result) == 0")).unwrap();
        assert_eq!(
            verdict(&fail_on_empty, &vector(&[]), query).phase,
            Phase::Failed
        );
    }

    #[test]
    fn metric_phases_follow_the_limits() {
        let limits = Limits {
            count: Some(3),
            failure_limit: Some(1),
            ..Limits::default()
        };
        let mut tally = Tally::default();
        assert_eq!(metric_phase("m", &tally, &limits).0, Phase::Pending);
        tally.record(Phase::Failed);
        assert_eq!(metric_phase("m", &tally, &limits).0, Phase::Running);
        tally.record(Phase::Failed);
        let (phase, message) = metric_phase("m", &tally, &limits);
        assert_eq!(phase, Phase::Failed);
        assert_eq!(
            message,
            "Metric \"m\" assessed Failed due to failed (2) > failureLimit (1)"
        );

        let mut tally = Tally::default();
        for _ in 0..5 {
            tally.record(Phase::Error);
        }
        assert_eq!(
            metric_phase("m", &tally, &Limits::default()).0,
            Phase::Error
        );
        let mut tally = Tally::default();
        for _ in 0..4 {
            tally.record(Phase::Error);
        }
        assert_eq!(tally.count, 0, "errors do not count");
        assert_eq!(
            metric_phase("m", &tally, &Limits::default()).0,
            Phase::Running
        );
        tally.record(Phase::Successful);
        assert_eq!(
            metric_phase("m", &tally, &Limits::default()).0,
            Phase::Successful
        );

        let mut tally = Tally::default();
        tally.record(Phase::Inconclusive);
        assert_eq!(
            metric_phase("m", &tally, &Limits::default()).0,
            Phase::Inconclusive
        );
        let indefinite = Limits {
            count: None,
            ..Limits::default()
        };
        let mut tally = Tally::default();
        for _ in 0..100 {
            tally.record(Phase::Successful);
        }
        assert_eq!(metric_phase("m", &tally, &indefinite).0, Phase::Running);
        let streak = Limits {
            count: Some(4),
            consecutive_success_limit: 3,
            ..Limits::default()
        };
        let mut tally = Tally::default();
        for phase in [Phase::Successful, Phase::Successful, Phase::Successful] {
            tally.record(phase);
        }
        assert_eq!(metric_phase("m", &tally, &streak).0, Phase::Successful);
        assert_eq!(
            run_phase(&[Phase::Successful, Phase::Inconclusive, Phase::Running]),
            Phase::Inconclusive
        );
        assert_eq!(run_phase(&[Phase::Error, Phase::Failed]), Phase::Failed);
    }
}
