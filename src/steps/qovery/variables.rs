//! `qovery.set_variables`: what it will change (old → new, secrets and sensitive values
//! masked), its preflight, and editing the variables.

use super::*;

/// What `set_variables` will do with one variable.
pub(super) enum Plan<'a> {
    EditVar(&'a QoveryVariable, EnvironmentVariable),
    EditSecret(&'a QoveryVariable, Secret),
    Create(&'a QoveryVariable),
}

pub(super) async fn plan_variables<'a>(
    q: &'a QoveryStep,
    c: &QoveryClient,
) -> Result<(Vec<Plan<'a>>, Vec<String>), QoveryError> {
    let QoveryOp::SetVariables {
        variables,
        create_missing,
    } = &q.op
    else {
        return Ok((vec![], vec![]));
    };
    let vars = c.list_environment_variables(&q.environment).await?;
    let secrets = if variables.iter().any(|v| v.secret) {
        c.list_environment_secrets(&q.environment).await?
    } else {
        vec![]
    };
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for v in variables {
        let env_scope = |s: &VariableScope| *s == VariableScope::Environment;
        if v.secret {
            if let Some(s) = secrets
                .iter()
                .find(|s| s.key == v.key && env_scope(&s.scope))
            {
                plans.push(Plan::EditSecret(v, s.clone()));
                continue;
            }
        } else if let Some(e) = vars.iter().find(|e| e.key == v.key && env_scope(&e.scope)) {
            plans.push(Plan::EditVar(v, e.clone()));
            continue;
        }
        let elsewhere = vars
            .iter()
            .find(|e| e.key == v.key)
            .map(|e| e.scope.to_string())
            .or_else(|| {
                secrets
                    .iter()
                    .find(|s| s.key == v.key)
                    .map(|s| format!("{} (as a secret)", s.scope))
            })
            .or_else(|| {
                // A variable asked as a secret that exists as a plain variable, or vice versa.
                if v.secret {
                    vars.iter()
                        .find(|e| e.key == v.key)
                        .map(|_| "ENVIRONMENT (as a plain variable)".to_string())
                } else {
                    None
                }
            });
        match elsewhere {
            Some(scope) => problems.push(format!(
                "{} exists at the {scope} scope, not as an environment {}; edit it there or change the plan",
                v.key,
                if v.secret { "secret" } else { "variable" }
            )),
            None if *create_missing => plans.push(Plan::Create(v)),
            None => problems.push(format!(
                "{} does not exist in the environment (set `create_missing = true` to create it)",
                v.key
            )),
        }
    }
    Ok((plans, problems))
}

pub(super) fn shown_value(v: &QoveryVariable) -> String {
    if v.secret {
        "‹secret value hidden›".into()
    } else {
        shown_plain(&v.key, &v.value, None)
    }
}

/// Does a plain variable's value need masking? Its name says it is secret (`*PASSWORD*`,
/// `*SECRET*`, `*TOKEN*`, `*KEY*`, any case), or the value holds a URL with a password
/// (`postgres://user:pass@host/…`).
pub fn is_sensitive(key: &str, value: &str) -> bool {
    let k = key.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "KEY"]
        .iter()
        .any(|w| k.contains(w))
        || url_has_password(value)
}

/// A `scheme://user:password@host` anywhere in the value.
pub(super) fn url_has_password(value: &str) -> bool {
    let mut rest = value;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority = after
            .split(['/', '?', '#', ' ', '"', '\''])
            .next()
            .unwrap_or("");
        if let Some(at) = authority.rfind('@')
            && authority[..at].contains(':')
        {
            return true;
        }
        rest = after;
    }
    false
}

/// A masked value: never a fragment of it, only a short sha256 prefix that proves a change.
pub fn masked(value: &str) -> String {
    use sha2::Digest;
    let h = hex::encode(sha2::Sha256::digest(value.as_bytes()));
    format!("‹masked sha256:{}›", &h[..8])
}

/// A plain variable's value as shown on screen, in the journal and in the report: quoted, or
/// masked when it (or `other`, the value on the other side of a diff) is sensitive, so both sides
/// of `old → new` are masked together.
pub fn shown_plain(key: &str, value: &str, other: Option<&str>) -> String {
    if is_sensitive(key, value) || other.is_some_and(|o| is_sensitive(key, o)) {
        masked(value)
    } else {
        format!("{value:?}")
    }
}

/// `old → new` for a plain variable (`(no value)` when it has none).
pub(super) fn shown_change(key: &str, old: Option<&str>, new: &str) -> String {
    let old_shown = match old {
        Some(o) => shown_plain(key, o, Some(new)),
        None => "(no value)".into(),
    };
    format!("{old_shown} → {}", shown_plain(key, new, old))
}

pub(super) async fn preflight_variables(q: &QoveryStep, c: &QoveryClient) -> Vec<PreflightCheck> {
    let mut out = Vec::new();
    match plan_variables(q, c).await {
        Err(e) => out.push(check("variables readable", Some(false), e.to_string())),
        Ok((plans, problems)) => {
            for p in plans {
                match p {
                    Plan::EditVar(v, cur) => out.push(check(
                        format!("variable {} exists", v.key),
                        Some(true),
                        format!(
                            "{}{}",
                            shown_change(&v.key, cur.value.as_deref(), &v.value),
                            if cur.value.as_deref() == Some(v.value.as_str()) {
                                " (already set)"
                            } else {
                                ""
                            }
                        ),
                    )),
                    Plan::EditSecret(v, _) => out.push(check(
                        format!("secret {} exists", v.key),
                        Some(true),
                        "‹secret value hidden› → ‹secret value hidden›",
                    )),
                    Plan::Create(v) => out.push(check(
                        format!(
                            "{} {} exists",
                            if v.secret { "secret" } else { "variable" },
                            v.key
                        ),
                        Some(true),
                        format!("missing; will be created = {}", shown_value(v)),
                    )),
                }
            }
            for p in problems {
                let key = p.split(' ').next().unwrap_or("").to_string();
                out.push(check(format!("variable {key} exists"), Some(false), p));
            }
        }
    }
    out
}

pub(super) async fn run_set_variables(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
) -> Result<String, String> {
    let env = &q.environment;
    ctx.info(format!(
        "GET {} (current values)",
        c.url(&QoveryClient::variables_path(env))
    ));
    let (plans, problems) = plan_variables(q, c)
        .await
        .map_err(|e| format!("cannot read the variables of {}: {e}", where_(q)))?;
    if !problems.is_empty() {
        return Err(format!("nothing was changed: {}", problems.join("; ")));
    }
    let mut done: Vec<String> = Vec::new();
    for p in &plans {
        let (v, result) = match p {
            Plan::EditVar(v, cur) => {
                ctx.info(format!(
                    "PUT {}  {}: {}",
                    c.url(&QoveryClient::variable_path(env, &cur.id)),
                    v.key,
                    shown_change(&v.key, cur.value.as_deref(), &v.value)
                ));
                let r = c
                    .edit_environment_variable(env, &cur.id, &request(v))
                    .await
                    .map(|_| ());
                (v, r)
            }
            Plan::EditSecret(v, cur) => {
                ctx.info(format!(
                    "PUT {}  {}: ‹secret value hidden› → ‹secret value hidden›",
                    c.url(&QoveryClient::secret_path(env, &cur.id)),
                    v.key
                ));
                let r = c
                    .edit_environment_secret(env, &cur.id, &request(v))
                    .await
                    .map(|_| ());
                (v, r)
            }
            Plan::Create(v) => {
                let path = if v.secret {
                    QoveryClient::secrets_path(env)
                } else {
                    QoveryClient::variables_path(env)
                };
                ctx.info(format!(
                    "POST {}  {} = {} (new)",
                    c.url(&path),
                    v.key,
                    shown_value(v)
                ));
                let r = if v.secret {
                    c.create_environment_secret(env, &request(v))
                        .await
                        .map(|_| ())
                } else {
                    c.create_environment_variable(env, &request(v))
                        .await
                        .map(|_| ())
                };
                (v, r)
            }
        };
        if let Err(e) = result {
            ctx.emit(Stream::Stderr, e.to_string());
            if e.may_have_been_applied() {
                return Err(format!(
                    "{}: {}; the write may or may not have been applied. Check {}'s value in the environment (GET {}) before retrying{}",
                    v.key,
                    match e.status() {
                        Some(st) => format!("HTTP {st}"),
                        None => format!("no answer ({})", e.short()),
                    },
                    v.key,
                    c.url(&if v.secret {
                        QoveryClient::secrets_path(env)
                    } else {
                        QoveryClient::variables_path(env)
                    }),
                    if done.is_empty() {
                        String::new()
                    } else {
                        format!(" (already set: {})", done.join(", "))
                    }
                ));
            }
            return Err(format!(
                "{} was not set: {e}{}",
                v.key,
                if done.is_empty() {
                    " (nothing was changed)".to_string()
                } else {
                    format!(" (already set: {})", done.join(", "))
                }
            ));
        }
        ctx.info(format!("  {} ✓", v.key));
        done.push(v.key.clone());
    }
    let mismatches = read_back(q, ctx, c, &plans).await?;
    if !mismatches.is_empty() {
        return Err(format!("read-back failed: {}", mismatches.join("; ")));
    }
    ctx.info("variables take effect at the next deployment of the services");
    Ok(format!(
        "{} set and read back on {}: {}",
        if done.len() == 1 {
            "1 variable".to_string()
        } else {
            format!("{} variables", done.len())
        },
        where_(q),
        done.join(", ")
    ))
}

pub(super) fn request(v: &QoveryVariable) -> VariableRequest {
    VariableRequest {
        key: v.key.clone(),
        value: v.value.clone(),
        description: None,
    }
}

/// Read every variable back after the writes: what does not read back as written.
async fn read_back(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
    plans: &[Plan<'_>],
) -> Result<Vec<String>, String> {
    let env = &q.environment;
    let vars = c
        .list_environment_variables(env)
        .await
        .map_err(|e| format!("written, but the read-back failed: {e}"))?;
    let needs_secrets = plans.iter().any(|p| match p {
        Plan::EditSecret(..) => true,
        Plan::Create(v) => v.secret,
        _ => false,
    });
    let secrets = if needs_secrets {
        c.list_environment_secrets(env)
            .await
            .map_err(|e| format!("written, but the secret read-back failed: {e}"))?
    } else {
        vec![]
    };
    let mut mismatches = Vec::new();
    let QoveryOp::SetVariables { variables, .. } = &q.op else {
        return Err("not a set_variables step".into());
    };
    for v in variables {
        if v.secret {
            if secrets
                .iter()
                .any(|s| s.key == v.key && s.scope == VariableScope::Environment)
            {
                ctx.info(format!(
                    "read back {}: present (secret values are never returned)",
                    v.key
                ));
            } else {
                mismatches.push(format!("secret {} is missing", v.key));
            }
        } else {
            match vars
                .iter()
                .find(|e| e.key == v.key && e.scope == VariableScope::Environment)
            {
                Some(e) if e.value.as_deref() == Some(v.value.as_str()) => ctx.info(format!(
                    "read back {} = {} ✓",
                    v.key,
                    shown_plain(&v.key, &v.value, None)
                )),
                Some(e) => {
                    let got = e.value.as_deref().unwrap_or("");
                    mismatches.push(format!(
                        "{} reads back {}, expected {}",
                        v.key,
                        shown_plain(&v.key, got, Some(&v.value)),
                        shown_plain(&v.key, &v.value, Some(got))
                    ))
                }
                None => mismatches.push(format!("{} is missing after the write", v.key)),
            }
        }
    }
    Ok(mismatches)
}
