//! The `CronJob` controller: Jobs on a five-field cron schedule evaluated against the
//! simulator clock (UTC), with `concurrencyPolicy`, `startingDeadlineSeconds`, `suspend`
//! and the history limits.
//!
//! The schedule takes what `robfig/cron` (the real controller's parser) takes in standard
//! mode: `*`, values, ranges `a-b`, steps `*/n` and `a-b/n`, lists, month and weekday names,
//! weekday 7 as Sunday, and the macros `@yearly`, `@annually`, `@monthly`, `@weekly`,
//! `@daily`, `@midnight` and `@hourly`. When both day fields are restricted either may
//! match, as in cron. Only the most recent missed run is started, as the real controller
//! does; Jobs are named `<cronjob>-<minutes since the epoch>`.

use serde_json::{Value, json};

use super::job::finished;
use super::{
    CONTROLLER_MANAGER, Ctx, int_at, is_deleting, name, namespace, owner_reference, resource,
    set_path, str_at, uid, with_status,
};
use crate::clock;

/// One parsed schedule: the allowed values of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schedule {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Whether the day-of-month field was `*` (then only the weekday restricts days).
    any_day: bool,
    /// Whether the weekday field was `*`.
    any_weekday: bool,
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses one field into a table of allowed values `min..=max`.
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let value = |part: &str| -> Result<u32, String> {
        let lower = part.to_ascii_lowercase();
        if let Some(index) = names.iter().position(|n| *n == lower) {
            // Month names count from 1, weekday names from 0.
            return Ok(index as u32 + min);
        }
        part.parse::<u32>()
            .map_err(|_| format!("failed to parse int from {part}"))
    };
    let mut allowed = vec![false; max as usize + 1];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<u32>()
                    .map_err(|_| format!("failed to parse int from {step}"))?,
            ),
            None => (item, 1),
        };
        if step == 0 {
            return Err(format!("step of range should be a positive number: {item}"));
        }
        let (low, high) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((low, high)) = range.split_once('-') {
            (value(low)?, value(high)?)
        } else {
            let single = value(range)?;
            (single, if item.contains('/') { max } else { single })
        };
        if low < min || high > max || low > high {
            return Err(format!(
                "end of range ({high}) above maximum ({max}): {item}"
            ));
        }
        let mut current = low;
        while current <= high {
            allowed[current as usize] = true;
            current += step;
        }
    }
    Ok(allowed)
}

impl Schedule {
    /// Parses a schedule (see the module docs for the syntax).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let text = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day, month, weekday] = fields[..] else {
            return Err(format!(
                "expected exactly 5 fields, found {}: {text}",
                fields.len()
            ));
        };
        let mut weekdays = field(weekday, 0, 7, WEEKDAYS)?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        Ok(Self {
            minutes: field(minute, 0, 59, &[])?,
            hours: field(hour, 0, 23, &[])?,
            days: field(day, 1, 31, &[])?,
            months: field(month, 1, 12, MONTHS)?,
            weekdays,
            any_day: day == "*" || day == "?",
            any_weekday: weekday == "*" || weekday == "?",
        })
    }

    fn day_matches(&self, seconds: u64) -> bool {
        let date = clock::format_rfc3339(seconds);
        let month: usize = date.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0);
        let day: usize = date.get(8..10).and_then(|d| d.parse().ok()).unwrap_or(0);
        // 1970-01-01 was a Thursday.
        let weekday = ((seconds / 86_400 + 4) % 7) as usize;
        if !self.months[month] {
            return false;
        }
        let by_day = self.days[day];
        let by_weekday = self.weekdays[weekday];
        match (self.any_day, self.any_weekday) {
            (true, true) => true,
            (true, false) => by_weekday,
            (false, true) => by_day,
            (false, false) => by_day || by_weekday,
        }
    }

    /// The latest scheduled minute `t` with `after < t <= now`, if any.
    pub(crate) fn latest(&self, after: u64, now: u64) -> Option<u64> {
        let mut t = now - now % 60;
        while t > after {
            if !self.day_matches(t) {
                // Back to the last minute of the previous day.
                t = t - t % 86_400;
                t = t.checked_sub(60)?;
                continue;
            }
            let hour = ((t / 3600) % 24) as usize;
            if !self.hours[hour] {
                t = t - t % 3600;
                t = t.checked_sub(60)?;
                continue;
            }
            if self.minutes[((t / 60) % 60) as usize] {
                return Some(t);
            }
            t = t.checked_sub(60)?;
        }
        None
    }
}

/// One pass over every `CronJob`.
pub(crate) fn reconcile(ctx: &mut Ctx<'_>) {
    let Some(cron_jobs) = resource("batch", "cronjobs") else {
        return;
    };
    for cron_job in ctx.list(cron_jobs) {
        if !is_deleting(&cron_job) {
            sync(ctx, &cron_job);
        }
    }
}

fn sync(ctx: &mut Ctx<'_>, cron_job: &Value) {
    let (Some(jobs), Some(cron_jobs)) = (resource("batch", "jobs"), resource("batch", "cronjobs"))
    else {
        return;
    };
    let ns = namespace(cron_job).to_owned();
    let mut owned = ctx.owned(jobs, &ns, uid(cron_job));
    owned.sort_by(|a, b| {
        str_at(a, "/metadata/creationTimestamp").cmp(str_at(b, "/metadata/creationTimestamp"))
    });
    let suspended = cron_job
        .pointer("/spec/suspend")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut last_schedule = cron_job.pointer("/status/lastScheduleTime").cloned();
    if let (false, Ok(schedule)) = (
        suspended,
        Schedule::parse(str_at(cron_job, "/spec/schedule")),
    ) {
        let after = last_schedule
            .as_ref()
            .and_then(Value::as_str)
            .or_else(|| cron_job.pointer("/metadata/creationTimestamp")?.as_str())
            .and_then(clock::parse_rfc3339)
            .unwrap_or(ctx.now);
        let deadline = cron_job
            .pointer("/spec/startingDeadlineSeconds")
            .and_then(Value::as_u64);
        if let Some(at) = schedule.latest(after, ctx.now)
            && deadline.is_none_or(|deadline| ctx.now - at <= deadline)
        {
            let active: Vec<&Value> = owned.iter().filter(|j| finished(j).is_none()).collect();
            let policy = str_at(cron_job, "/spec/concurrencyPolicy");
            if policy == "Forbid" && !active.is_empty() {
                // Skipped: the run is retried while within the starting deadline.
            } else {
                if policy == "Replace" {
                    for job in &active {
                        ctx.delete(jobs, job);
                    }
                }
                let template = cron_job
                    .pointer("/spec/jobTemplate")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                let mut metadata = template
                    .get("metadata")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                set_path(
                    &mut metadata,
                    &["name"],
                    format!("{}-{}", name(cron_job), at / 60).into(),
                );
                set_path(&mut metadata, &["namespace"], ns.clone().into());
                set_path(
                    &mut metadata,
                    &[
                        "annotations",
                        "batch.kubernetes.io/cronjob-scheduled-timestamp",
                    ],
                    clock::format_rfc3339(at).into(),
                );
                set_path(
                    &mut metadata,
                    &["ownerReferences"],
                    owner_reference(cron_job),
                );
                let job = json!({
                    "apiVersion": "batch/v1", "kind": "Job", "metadata": metadata,
                    "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
                });
                let _ = ctx.create(jobs, &ns, job, CONTROLLER_MANAGER);
                last_schedule = Some(clock::format_rfc3339(at).into());
            }
        }
    }
    // History: keep the newest finished Jobs within the limits.
    owned = ctx.owned(jobs, &ns, uid(cron_job));
    owned.sort_by(|a, b| {
        str_at(a, "/metadata/creationTimestamp").cmp(str_at(b, "/metadata/creationTimestamp"))
    });
    for (outcome, limit) in [
        (
            "Complete",
            int_at(cron_job, "/spec/successfulJobsHistoryLimit", 3),
        ),
        (
            "Failed",
            int_at(cron_job, "/spec/failedJobsHistoryLimit", 1),
        ),
    ] {
        let done: Vec<&Value> = owned
            .iter()
            .filter(|j| finished(j) == Some(outcome))
            .collect();
        let excess = done.len().saturating_sub(limit.max(0) as usize);
        for job in done.into_iter().take(excess) {
            ctx.delete(jobs, job);
        }
    }
    let owned = ctx.owned(jobs, &ns, uid(cron_job));
    let mut status = serde_json::Map::new();
    let mut active: Vec<Value> = owned
        .iter()
        .filter(|j| finished(j).is_none() && !is_deleting(j))
        .map(|j| {
            json!({"apiVersion": "batch/v1", "kind": "Job", "name": name(j), "namespace": ns,
                   "resourceVersion": str_at(j, "/metadata/resourceVersion"), "uid": uid(j)})
        })
        .collect();
    active.sort_by(|a, b| str_at(a, "/name").cmp(str_at(b, "/name")));
    if !active.is_empty() {
        status.insert("active".into(), Value::Array(active));
    }
    if let Some(last) = last_schedule {
        status.insert("lastScheduleTime".into(), last);
    }
    let last_success = owned
        .iter()
        .filter(|j| finished(j) == Some("Complete"))
        .filter_map(|j| j.pointer("/status/completionTime")?.as_str())
        .max()
        .map(str::to_owned)
        .or_else(|| {
            cron_job
                .pointer("/status/lastSuccessfulTime")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    if let Some(last_success) = last_success {
        status.insert("lastSuccessfulTime".into(), last_success.into());
    }
    ctx.update_status(
        cron_jobs,
        with_status(cron_job, Value::Object(status)),
        CONTROLLER_MANAGER,
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Schedule;
    use crate::clock::parse_rfc3339;
    use crate::controllers::SimulationConfig;
    use crate::controllers::testing::Harness;

    #[test]
    fn schedules_parse_and_find_the_latest_run() {
        let every_five = Schedule::parse("*/5 * * * *").unwrap();
        let noon = parse_rfc3339("2026-03-04T12:07:30Z").unwrap();
        assert_eq!(
            every_five.latest(noon - 3600, noon),
            parse_rfc3339("2026-03-04T12:05:00Z")
        );
        let weekdays = Schedule::parse("30 9 * * mon-fri").unwrap();
        // 2026-03-07 is a Saturday: the latest run is Friday's.
        let saturday = parse_rfc3339("2026-03-07T10:00:00Z").unwrap();
        assert_eq!(
            weekdays.latest(saturday - 7 * 86_400, saturday),
            parse_rfc3339("2026-03-06T09:30:00Z")
        );
        let hourly = Schedule::parse("@hourly").unwrap();
        assert_eq!(
            hourly.latest(noon - 60, noon),
            None,
            "12:00 is before `after`"
        );
        assert_eq!(
            Schedule::parse("0 0 1,15 jan,jul *").unwrap(),
            Schedule::parse("0 0 1,15 1,7 *").unwrap()
        );
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("* * *").is_err());
    }

    #[test]
    fn jobs_run_on_schedule_and_history_is_trimmed() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "batch",
            "cronjobs",
            json!({"metadata": {"name": "tick"},
                   "spec": {"schedule": "* * * * *", "successfulJobsHistoryLimit": 2,
                            "jobTemplate": {"spec": {"template": {"spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "c", "image": "busybox"}]}}}}}}),
        );
        sim.advance(61);
        let jobs = sim.list("batch", "jobs");
        assert!(!jobs.is_empty());
        let name = jobs[0]["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("tick-"));
        let live = sim.get("batch", "cronjobs", "tick");
        assert!(live["status"]["lastScheduleTime"].is_string());
        sim.advance(240);
        // The clock starts at the wall clock, so the run of the latest minute may still be
        // active: the limit is on finished Jobs.
        let jobs = sim.list("batch", "jobs");
        let finished = jobs
            .iter()
            .filter(|job| job["status"]["succeeded"].as_i64().unwrap_or(0) > 0)
            .count();
        assert_eq!(finished, 2, "history limit");
        assert!(jobs.len() <= 3, "at most one run still active");
        let live = sim.get("batch", "cronjobs", "tick");
        assert!(live["status"]["lastSuccessfulTime"].is_string());
        let active = live["status"]["active"].as_array().map_or(0, Vec::len);
        assert_eq!(active, jobs.len() - finished);
    }

    #[test]
    fn forbid_skips_runs_while_one_is_active() {
        let mut sim = Harness::new(SimulationConfig::default());
        sim.create(
            "batch",
            "cronjobs",
            json!({"metadata": {"name": "long"},
                   "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Forbid",
                            "jobTemplate": {"spec": {"template": {
                                "metadata": {"annotations": {"sim.shipway.dev/run-seconds": "1000"}},
                                "spec": {"restartPolicy": "Never",
                                         "containers": [{"name": "c", "image": "busybox"}]}}}}}}),
        );
        sim.advance(200);
        assert_eq!(sim.list("batch", "jobs").len(), 1);
        let live = sim.get("batch", "cronjobs", "long");
        assert_eq!(live["status"]["active"].as_array().unwrap().len(), 1);
    }
}
