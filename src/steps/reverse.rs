//! `drcockpit reverse PLAN`: a failback plan skeleton derived from a failover plan (issue 16).
//!
//! The sites keep their names (prod is still prod, so journals and reports of both directions
//! read alike); what changes is the direction: each step is replaced by what its kind says
//! undoes it ([`super::registry::StepKind::reverse`], `None` by default), acting on the other
//! site. A step whose kind has no reverse becomes a `# TODO:` comment carrying the original, so
//! the skeleton still passes `drcockpit check` and the author sees what is left to write.

use std::path::Path;

use toml::{Table, Value};

use super::registry;

/// The step table with `site` swapped (`prod` ↔ `dr`); `None` when it names no site or another
/// value (e.g. an `environment` id: then the reverse is not known).
pub fn swap_site(step: &Table) -> Option<Table> {
    let site = step.get("site")?.as_str()?;
    let other = match site.trim() {
        "prod" => "dr",
        "dr" => "prod",
        _ => return None,
    };
    let mut t = step.clone();
    t.insert("site".into(), Value::String(other.into()));
    if let Some(Value::String(id)) = t.get("id").cloned() {
        t.insert("id".into(), Value::String(format!("{id}-back")));
    }
    if let Some(Value::String(title)) = t.get("title").cloned() {
        t.insert(
            "title".into(),
            Value::String(format!("{title} (back to {other})")),
        );
    }
    t.remove("description");
    t.remove("requires");
    Some(t)
}

/// The same step, for kinds that are their own reverse (an approval).
pub fn same(step: &Table) -> Option<Vec<Table>> {
    let mut t = step.clone();
    if t.contains_key("confirm") {
        t.insert("confirm".into(), Value::String("FAILBACK".into()));
    }
    t.remove("description");
    Some(vec![t])
}

fn table(pairs: &[(&str, Value)]) -> Table {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

/// `postgres.promote` of `site`: rejoin the old primary (the other site) as its standby, wait
/// for lag 0, fence `site`, promote the other site back.
pub fn promote(step: &Table) -> Option<Vec<Table>> {
    let new = step.get("site").and_then(Value::as_str).unwrap_or("dr");
    let old = match new {
        "prod" => "dr",
        "dr" => "prod",
        _ => return None,
    };
    Some(vec![
        table(&[
            ("id", s(&format!("rejoin-{old}"))),
            (
                "title",
                s(&format!("Rejoin the {old} database as a standby of {new}")),
            ),
            ("kind", s("postgres.rejoin")),
            ("site", s(old)),
            ("new_primary", s(new)),
            ("confirm", s("REJOIN")),
            ("application_name", s(old)),
            (
                "rewind_command",
                Value::Array(
                    [
                        "ssh",
                        "TODO-old-primary-host",
                        "pg_rewind",
                        "--target-pgdata",
                        "/var/lib/postgresql/15/main",
                        "--source-server",
                        &format!("host=TODO-{new}-host user=postgres application_name={old}"),
                        "--write-recovery-conf",
                    ]
                    .iter()
                    .map(|a| s(a))
                    .collect(),
                ),
            ),
        ]),
        table(&[
            ("id", s(&format!("{old}-caught-up"))),
            ("title", s(&format!("The {old} standby has caught up"))),
            ("kind", s("wait")),
            (
                "conditions",
                Value::Array(vec![s(&format!("{old}.database.lag == 0"))]),
            ),
            ("timeout", s("30m")),
        ]),
        table(&[
            ("id", s(&format!("fence-{new}"))),
            ("title", s(&format!("Fence the {new} primary"))),
            ("kind", s("postgres.fence")),
            ("site", s(new)),
            ("confirm", s("FENCE")),
        ]),
        table(&[
            ("id", s(&format!("promote-{old}"))),
            ("title", s(&format!("Promote the {old} database back"))),
            ("kind", s("postgres.promote")),
            ("site", s(old)),
            ("confirm", s("PROMOTE")),
        ]),
    ])
}

/// The failback skeleton of the plan at `path`, as TOML text.
pub fn reverse_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    reverse_text(&text, &path.display().to_string())
}

pub fn reverse_text(text: &str, source: &str) -> Result<String, String> {
    let mut doc: Table = toml::from_str(text).map_err(|e| format!("{source}: {e}"))?;
    // A credential written into the plan itself is still a credential: the skeleton names a
    // reference in its place instead of printing it (the loader treats these keys the same way).
    hide_literal_secrets(&mut doc);
    let steps = match doc.remove("step") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    if let Some(Value::Table(p)) = doc.get_mut("plan") {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("plan");
        let name = format!("{name} — failback");
        p.insert("name".into(), s(&name));
        p.insert(
            "description".into(),
            s(&format!(
                "Failback skeleton generated by `drcockpit reverse {source}`: review every step."
            )),
        );
    }
    let mut out = format!(
        "#:schema ../schema/plan.v1.json\n# Failback skeleton: `drcockpit reverse {source}`.\n# Sites keep their names; each step is replaced by its reverse, acting on the other site.\n# Steps without a known reverse are left as `# TODO:` comments. Review it, then `drcockpit check` it.\n\n"
    );
    out.push_str(&toml::to_string(&doc).map_err(|e| e.to_string())?);
    for st in &steps {
        let Some(t) = st.as_table() else { continue };
        let kind = t.get("kind").and_then(Value::as_str).unwrap_or("");
        let id = t.get("id").and_then(Value::as_str).unwrap_or("?");
        let rev = registry::find(kind).and_then(|k| k.imp.reverse(t));
        match rev {
            Some(new) => {
                for n in new {
                    out.push_str(&format!("\n# reverse of `{id}` ({kind})\n"));
                    out.push_str(&as_step(n)?);
                }
            }
            None => {
                out.push_str(&format!(
                    "\n# TODO: `{id}` ({kind}) has no known reverse: write the failback step yourself. The failover step was:\n"
                ));
                let body = as_step(t.clone())?;
                for l in body.lines() {
                    out.push_str(&format!("# {l}\n"));
                }
            }
        }
    }
    Ok(out)
}

/// One step as `[[step]]` TOML (nested tables become `[step.…]`, never top-level ones).
fn as_step(t: Table) -> Result<String, String> {
    let mut doc = Table::new();
    doc.insert("step".into(), Value::Array(vec![Value::Table(t)]));
    toml::to_string(&doc).map_err(|e| e.to_string())
}

/// The environment variable a skeleton names in place of a credential written into the plan.
pub const SECRET_PLACEHOLDER: &str = "${env:DRCOCKPIT_FAILBACK_SECRET_TODO}";

/// Replace every literal value of a credential key (`token`, `password`, `api_key`) with
/// [`SECRET_PLACEHOLDER`]; references (`${env:…}`, `${file:…}`, `${cmd:…}`) are kept as written.
fn hide_literal_secrets(t: &mut Table) {
    for (k, v) in t.iter_mut() {
        match v {
            Value::String(s)
                if crate::plan::load::LITERAL_SECRET_KEYS.contains(&k.as_str())
                    && !crate::plan::refs::has_reference(s) =>
            {
                *s = SECRET_PLACEHOLDER.to_string();
            }
            Value::Table(inner) => hide_literal_secrets(inner),
            Value::Array(items) => {
                for item in items {
                    if let Value::Table(inner) = item {
                        hide_literal_secrets(inner);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `qovery.clone_environment` ↔ `qovery.delete_environment`: a clone is undone by deleting the
/// environment it created (by the same `name`, with a typed word); a delete by name is undone by
/// cloning an environment of that name again (from the source the clone step defaults to, the
/// prod environment, onto the DR cluster). A delete by `environment` id has no known reverse:
/// what the deleted environment was cloned from is not in the plan.
pub fn clone_or_delete(step: &Table) -> Option<Vec<Table>> {
    let kind = step.get("kind").and_then(Value::as_str)?;
    let id = step.get("id").and_then(Value::as_str).unwrap_or("step");
    let name = step.get("name").and_then(Value::as_str)?.trim();
    if name.is_empty() {
        return None;
    }
    let (title, mut t) = match kind {
        "qovery.clone_environment" => (
            format!("Delete the environment {name} that `{id}` cloned"),
            table(&[
                ("kind", s("qovery.delete_environment")),
                ("name", s(name)),
                ("confirm", s("DELETE")),
            ]),
        ),
        "qovery.delete_environment" if !step.contains_key("environment") => (
            format!("Clone prod to {name} again (`{id}` deleted it)"),
            table(&[("kind", s("qovery.clone_environment")), ("name", s(name))]),
        ),
        _ => return None,
    };
    t.insert("id".into(), s(&format!("{id}-back")));
    t.insert("title".into(), s(&title));
    Some(vec![t])
}
