//! The JSON schema of the plan file (`drcockpit schema`, committed as `schema/plan.v1.json` for
//! editors), generated from the raw file shape and the step registry: `kind` is an enum of every
//! registered kind, and each kind has its own `if kind = … then` branch: the common keys, its
//! spec's keys (with their descriptions, from the spec's own schema) and what its module adds
//! (enums, required keys).

use serde_json::{Value, json};

use super::registry::KINDS;
use crate::plan::load::COMMON_KEYS;
use crate::plan::raw;

/// Where the committed schema lives, relative to the repository root.
pub const SCHEMA_PATH: &str = "schema/plan.v1.json";

/// The schema as a JSON value.
pub fn schema() -> Value {
    let mut v = match serde_json::to_value(schemars::schema_for!(raw::PlanFile)) {
        Ok(v) => v,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    v["$id"] = json!("https://drcockpit.dev/schema/plan.v1.json");
    v["title"] = json!("drcockpit plan (format v1)");
    let step = &mut v["$defs"]["RawStep"];
    if !step.is_object() {
        return v;
    }
    let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    step["properties"]["kind"]["enum"] = json!(names);
    step["properties"]["site"]["enum"] = json!(["prod", "dr"]);
    let props = step["properties"].clone();
    let mut defs = serde_json::Map::new();
    let branches: Vec<Value> = KINDS
        .iter()
        .map(|k| {
            let mut then = json!({ "properties": {}, "additionalProperties": false });
            for key in COMMON_KEYS {
                then["properties"][*key] = props.get(*key).cloned().unwrap_or(json!(true));
            }
            let mut spec = k.imp.spec_schema();
            if let Some(Value::Object(d)) = spec.get_mut("$defs").map(Value::take) {
                defs.extend(d);
            }
            for key in k.keys() {
                then["properties"][*key] =
                    spec["properties"].get(*key).cloned().unwrap_or(json!(true));
            }
            merge(&mut then, k.imp.schema());
            json!({
                "if": { "properties": { "kind": { "const": k.name } }, "required": ["kind"] },
                "then": then,
            })
        })
        .collect();
    step["allOf"] = json!(branches);
    if let Some(all) = v["$defs"].as_object_mut() {
        all.extend(defs);
    }
    v
}

/// Merge `extra` into `base` (objects key by key, anything else replaced).
fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

/// The schema as `drcockpit schema` prints it (and as `schema/plan.v1.json` holds it).
pub fn schema_json() -> String {
    serde_json::to_string_pretty(&schema()).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
