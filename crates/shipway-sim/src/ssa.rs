//! LOCAL PLACEHOLDER, NEVER COMMITTED: replaced by the real module from branch sim-ssa.
#![allow(missing_docs, dead_code, clippy::pedantic, unreachable_pub)]
use serde_json::Value;
use shipway_schema::Schema;
pub(crate) struct Manager<'a> {
    pub name: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub time: &'a str,
}
pub(crate) struct Conflict {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub path: String,
}
impl Conflict {
    pub(crate) fn manager_text(&self) -> String {
        self.manager.clone()
    }
}
pub(crate) fn conflict_message(_c: &[Conflict]) -> String {
    String::new()
}
pub(crate) fn apply(
    _s: Option<&Schema>,
    _d: Option<&str>,
    live: Option<&Value>,
    applied: &Value,
    _m: &Manager,
    _f: bool,
) -> Result<Value, Vec<Conflict>> {
    let mut v = live.cloned().unwrap_or(Value::Null);
    crate::patch::merge_patch(&mut v, applied);
    Ok(v)
}
pub(crate) fn record_update(
    _s: Option<&Schema>,
    _d: Option<&str>,
    _o: Option<&Value>,
    new: &Value,
    _m: &Manager,
) -> Value {
    new.clone()
}
