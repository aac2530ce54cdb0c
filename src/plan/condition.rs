//! Conditions over probe observations, used by `requires`, `check` and `wait`:
//! `dr.database.lag < 16MiB`, `dr.health.ok`, `!prod.health.ok`, `prod.health.down_for >= 3m`,
//! `dr.cluster.state == DEPLOYED`.
//!
//! A condition whose value is missing, stale or erroring evaluates to `Unknown`, which blocks
//! exactly like a failing one: the cockpit never treats what it does not know as healthy.

use std::fmt;
use std::time::Duration;

use super::units::{fmt_bytes, fmt_duration, parse_bytes, parse_duration};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Num(f64),
    Bytes(u64),
    Duration(Duration),
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) if n.fract() == 0.0 => write!(f, "{}", *n as i64),
            Value::Num(n) => write!(f, "{n:.2}"),
            Value::Bytes(b) => f.write_str(&fmt_bytes(*b)),
            Value::Duration(d) => f.write_str(&fmt_duration(*d)),
            Value::Text(t) => f.write_str(t),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    fn as_str(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }
}

/// The literal on the right of a comparison, kept as written and interpreted against the
/// observed value's type at evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// As written in the plan, for display and the journal.
    pub text: String,
    pub path: String,
    pub negate: bool,
    pub cmp: Option<(CmpOp, Literal)>,
}

/// What a lookup of an observation path found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Value {
        value: Value,
        age: Duration,
        stale: bool,
    },
    /// The probe for this section errored; the short reason.
    Error(String),
    /// Never observed (or not configured).
    Missing(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CondResult {
    Pass(String),
    Fail(String),
    Unknown(String),
}

impl CondResult {
    pub fn passed(&self) -> bool {
        matches!(self, CondResult::Pass(_))
    }
    /// `Some(true)` passed, `Some(false)` failed, `None` could not be evaluated.
    pub fn known(&self) -> Option<bool> {
        match self {
            CondResult::Pass(_) => Some(true),
            CondResult::Fail(_) => Some(false),
            CondResult::Unknown(_) => None,
        }
    }
    pub fn evidence(&self) -> &str {
        match self {
            CondResult::Pass(s) | CondResult::Fail(s) | CondResult::Unknown(s) => s,
        }
    }
}

/// Known sections of a site; the first component after the site.
pub const SECTIONS: &[&str] = &["cluster", "env", "database", "images", "dns", "health"];

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, String> {
        let t = text.trim();
        if t.is_empty() {
            return Err("an empty condition".into());
        }
        let ops = [
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        let mut found = None;
        for (sym, op) in ops {
            if let Some(pos) = t.find(sym) {
                found = Some((pos, sym.len(), op));
                break;
            }
        }
        let (lhs, cmp) = match found {
            Some((pos, len, op)) => {
                let rhs = t[pos + len..].trim().trim_matches('"');
                if rhs.is_empty() {
                    return Err(format!(
                        "`{t}`: nothing after `{}`; expected e.g. `dr.database.lag < 16MiB`",
                        op.as_str()
                    ));
                }
                // A literal is interpreted against the observed value's type only when it is
                // evaluated; one past the ceiling of durations or sizes can never be right, so
                // it is refused here, where `check` reports it with its line.
                if let Some(m) = super::units::literal_out_of_range(rhs) {
                    return Err(format!("`{t}`: {m}"));
                }
                (t[..pos].trim(), Some((op, Literal(rhs.to_string()))))
            }
            None => (t, None),
        };
        let (negate, path) = match lhs.strip_prefix('!').or_else(|| lhs.strip_prefix("not ")) {
            Some(p) => (true, p.trim()),
            None => (false, lhs),
        };
        if negate && cmp.is_some() {
            return Err(format!(
                "`{t}`: use the opposite comparison instead of `!` with a comparison"
            ));
        }
        let parts: Vec<&str> = path.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "`{t}`: expected SITE.SECTION.FIELD such as `dr.database.lag` or `prod.health.ok`"
            ));
        }
        if parts[0] != "prod" && parts[0] != "dr" {
            return Err(format!(
                "`{t}`: the site must be `prod` or `dr`, not `{}`",
                parts[0]
            ));
        }
        if !SECTIONS.contains(&parts[1]) {
            let hint = crate::plan::load::suggest(parts[1], SECTIONS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "`{t}`: unknown section `{}`{hint}; sections are {}",
                parts[1],
                SECTIONS.join(", ")
            ));
        }
        Ok(Condition {
            text: t.to_string(),
            path: path.to_string(),
            negate,
            cmp,
        })
    }

    /// Evaluate against whatever `lookup` finds for this condition's path.
    pub fn evaluate(&self, lookup: &Lookup) -> CondResult {
        let (value, age) = match lookup {
            Lookup::Missing(why) => {
                return CondResult::Unknown(format!("{}: no value ({why})", self.path));
            }
            Lookup::Error(e) => {
                return CondResult::Unknown(format!("{}: probe error: {e}", self.path));
            }
            Lookup::Value {
                stale: true,
                age,
                value,
            } => {
                return CondResult::Unknown(format!(
                    "{} = {value} is stale ({} old)",
                    self.path,
                    fmt_duration(*age)
                ));
            }
            Lookup::Value { value, age, .. } => (value, *age),
        };
        let age_note = format!("{} ago", fmt_duration(age));
        let ok = match &self.cmp {
            None => match value {
                Value::Bool(b) => *b != self.negate,
                other => {
                    return CondResult::Unknown(format!(
                        "{} = {other} is not true/false",
                        self.path
                    ));
                }
            },
            Some((op, lit)) => match compare(value, *op, lit) {
                Ok(ok) => ok,
                Err(e) => return CondResult::Unknown(format!("{}: {e}", self.text)),
            },
        };
        let shown = format!("{} = {value} ({age_note})", self.path);
        if ok {
            CondResult::Pass(shown)
        } else {
            CondResult::Fail(shown)
        }
    }
}

fn compare(value: &Value, op: CmpOp, lit: &Literal) -> Result<bool, String> {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match value {
        Value::Bytes(b) => Some(b.cmp(&parse_bytes(&lit.0)?)),
        Value::Duration(d) => Some(d.cmp(&parse_duration(&lit.0)?)),
        Value::Num(n) => {
            let rhs: f64 = lit
                .0
                .parse()
                .map_err(|_| format!("`{}` is not a number", lit.0))?;
            n.partial_cmp(&rhs)
        }
        Value::Bool(b) => {
            let rhs: bool = lit
                .0
                .parse()
                .map_err(|_| format!("`{}` is not true/false", lit.0))?;
            Some(b.cmp(&rhs))
        }
        Value::Text(t) => {
            return match op {
                CmpOp::Eq => Ok(t.eq_ignore_ascii_case(&lit.0)),
                CmpOp::Ne => Ok(!t.eq_ignore_ascii_case(&lit.0)),
                _ => Err(format!("`{t}` is text; only == and != apply")),
            };
        }
    };
    let ord = ord.ok_or_else(|| "values cannot be compared".to_string())?;
    Ok(match op {
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(v: Value) -> Lookup {
        Lookup::Value {
            value: v,
            age: Duration::from_secs(2),
            stale: false,
        }
    }

    #[test]
    fn parses_and_evaluates_bytes() {
        let c = Condition::parse("dr.database.lag < 16MiB").unwrap();
        assert!(c.evaluate(&fresh(Value::Bytes(1024))).passed());
        assert!(matches!(
            c.evaluate(&fresh(Value::Bytes(32 << 20))),
            CondResult::Fail(_)
        ));
    }

    #[test]
    fn stale_missing_and_errors_are_unknown() {
        let c = Condition::parse("dr.health.ok").unwrap();
        let stale = Lookup::Value {
            value: Value::Bool(true),
            age: Duration::from_secs(60),
            stale: true,
        };
        assert!(matches!(c.evaluate(&stale), CondResult::Unknown(_)));
        assert!(matches!(
            c.evaluate(&Lookup::Error("timeout".into())),
            CondResult::Unknown(_)
        ));
        assert!(matches!(
            c.evaluate(&Lookup::Missing("not configured".into())),
            CondResult::Unknown(_)
        ));
    }

    #[test]
    fn giant_literals_are_refused_at_parse_and_never_panic_at_evaluation() {
        let e = Condition::parse("dr.health.down_for < 99999999999999999999d").unwrap_err();
        assert!(e.contains("too long"), "{e}");
        assert!(Condition::parse("dr.database.lag < 4096GiB").is_err());
        // A literal built by hand (not through `parse`) still only makes the condition unknown.
        let c = Condition {
            text: "dr.health.down_for < 99999999999999999999d".into(),
            path: "dr.health.down_for".into(),
            negate: false,
            cmp: Some((CmpOp::Lt, Literal("99999999999999999999d".into()))),
        };
        let r = c.evaluate(&fresh(Value::Duration(Duration::from_secs(5))));
        assert!(matches!(r, CondResult::Unknown(_)), "{r:?}");
    }

    #[test]
    fn negation_and_text() {
        let c = Condition::parse("!prod.health.ok").unwrap();
        assert!(c.evaluate(&fresh(Value::Bool(false))).passed());
        let c = Condition::parse("dr.cluster.state == DEPLOYED").unwrap();
        assert!(c.evaluate(&fresh(Value::Text("deployed".into()))).passed());
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(
            Condition::parse("dr.databse.lag < 1MiB")
                .unwrap_err()
                .contains("did you mean `database`")
        );
        assert!(
            Condition::parse("staging.health.ok")
                .unwrap_err()
                .contains("`prod` or `dr`")
        );
        assert!(
            Condition::parse("dr.health")
                .unwrap_err()
                .contains("SITE.SECTION.FIELD")
        );
    }
}
