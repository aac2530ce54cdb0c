//! Deploy-like kinds (`deploy`, `redeploy`, `stop`, `deploy_services`): sending the action once
//! and following the deployment to its end, streaming every state change.

use super::*;

/// Service names by id, for readable state lines (best effort).
pub(super) async fn service_names(c: &QoveryClient, env: &str) -> BTreeMap<String, String> {
    let (cs, aps, dbs) = futures::join!(
        c.list_containers(env),
        c.list_applications(env),
        c.list_databases(env)
    );
    let mut m = BTreeMap::new();
    for ct in cs.unwrap_or_default() {
        m.insert(ct.id, ct.name);
    }
    for a in aps.unwrap_or_default() {
        m.insert(a.id, a.name);
    }
    for d in dbs.unwrap_or_default() {
        m.insert(d.id, d.name);
    }
    m
}

pub(super) async fn run_action(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
) -> Result<String, String> {
    let env = &q.environment;
    let mut names = service_names(c, env).await;
    let env_name = c
        .environment(env)
        .await
        .map(|e| e.name)
        .unwrap_or_else(|_| env.clone());
    let mut previous_rid: Option<String> = None;
    if let Ok(s) = c.environment_statuses(env).await {
        ctx.info(format!(
            "environment {env_name} before: {} (last deployment {})",
            s.environment.state, s.environment.last_deployment_state
        ));
        previous_rid = s.environment.deployment_request_id.clone();
    }
    let mut watched: Option<Vec<String>> = None;
    let mut deploy_req = None;
    if let QoveryOp::DeployServices { services, tag } = &q.op {
        let req = services_request(ctx, c, env, &env_name, services, tag, &mut names).await?;
        watched = Some(req.containers.iter().map(|c| c.id.clone()).collect());
        deploy_req = Some(req);
    }
    let method_path = match &q.op {
        QoveryOp::Deploy => QoveryClient::deploy_path(env),
        QoveryOp::Redeploy => QoveryClient::redeploy_path(env),
        QoveryOp::Stop => QoveryClient::stop_path(env),
        QoveryOp::DeployServices { .. } => QoveryClient::deploy_services_path(env),
        QoveryOp::SetVariables { .. } => {
            return Err("internal: set_variables is not an environment action".into());
        }
    };
    let result = loop {
        match &deploy_req {
            Some(req) => ctx.info(format!(
                "POST {}  {}",
                c.url(&method_path),
                serde_json::to_string(req).unwrap_or_default()
            )),
            None => ctx.info(format!("POST {}", c.url(&method_path))),
        }
        let r = match (&q.op, &deploy_req) {
            (QoveryOp::Deploy, _) => c.deploy_environment(env).await,
            (QoveryOp::Redeploy, _) => c.redeploy_environment(env).await,
            (QoveryOp::Stop, _) => c.stop_environment(env).await,
            (_, Some(req)) => c.deploy_services(env, req).await,
            _ => return Err("internal: no request for this action".into()),
        };
        match r {
            // A 409 means nothing was started, so sending again once the environment is idle is
            // safe; only done when the plan asks for it.
            Err(e) if e.is_conflict() && q.wait_if_busy => {
                ctx.emit(Stream::Stderr, e.to_string());
                ctx.info(format!(
                    "{env_name} is busy: waiting for the running operation to end, then sending again (wait_if_busy = true)"
                ));
                previous_rid = wait_until_idle(q, ctx, c, &env_name).await?;
            }
            other => break other,
        }
    };
    let rid: Option<String> = match result {
        Ok(accepted) => {
            let rid = accepted.deployment_request_id().map(str::to_string);
            ctx.info(format!(
                "→ 202 accepted: {} {}{}",
                env_name,
                accepted.state(),
                rid.as_deref()
                    .map(|r| format!(", deployment request {r}"))
                    .unwrap_or_default()
            ));
            rid
        }
        // A 2xx whose body could not be read: Qovery accepted the action all the same.
        Err(e @ QoveryError::Decode { .. }) => {
            ctx.emit(
                Stream::Stderr,
                format!("accepted, but the answer could not be read ({e}); following the environment anyway"),
            );
            None
        }
        Err(e) if e.is_conflict() => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "operation in progress on {env_name}: Qovery answered 409 to POST {method_path}; nothing was started. Wait for the running operation to finish (see the Env panel), then retry the step"
            ));
        }
        Err(e) if e.may_have_been_applied() => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "{} on {env_name}: {}; Qovery may or may not have started it. Check the environment's deployment status and history (Env panel, or GET {}) before retrying",
                q.op.kind_name(),
                match e.status() {
                    Some(st) => format!("HTTP {st} to POST {method_path}"),
                    None => format!("no answer to POST {method_path} ({})", e.short()),
                },
                c.url(&format!(
                    "/environment/{}/deploymentHistory",
                    encode(&q.environment)
                ))
            ));
        }
        Err(e) => {
            ctx.emit(Stream::Stderr, e.to_string());
            return Err(format!(
                "{} on {env_name} was refused, nothing was started: {}",
                q.op.kind_name(),
                e
            ));
        }
    };
    if !q.wait {
        return Ok(format!(
            "{} requested on {env_name}{} (not followed: wait = false)",
            q.op.kind_name(),
            rid.map(|r| format!(", deployment request {r}"))
                .unwrap_or_default()
        ));
    }
    follow(
        q,
        ctx,
        c,
        &env_name,
        rid.as_deref(),
        previous_rid,
        &names,
        watched.as_deref(),
    )
    .await
}

/// Poll until the environment is idle (for `wait_if_busy`): its `state` and
/// `last_deployment_state` and every service terminal ([`follow::Goal::Idle`]). Returns the
/// environment's `deployment_request_id` as last read.
pub(super) async fn wait_until_idle(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
    env_name: &str,
) -> Result<Option<String>, String> {
    let expect = follow::Expectation {
        goal: follow::Goal::Idle,
        request_id: None,
        previous_request_id: None,
        services: None,
    };
    let mut last: Option<(State, State)> = None;
    let mut logged: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::time::sleep(q.poll_interval).await;
        match c.environment_statuses(&q.environment).await {
            Ok(s) => {
                let now = (
                    s.environment.state.clone(),
                    s.environment.last_deployment_state.clone(),
                );
                if last.as_ref() != Some(&now) {
                    ctx.info(format!(
                        "environment {env_name}: {} (last deployment {}) (waiting until idle)",
                        now.0, now.1
                    ));
                }
                last = Some(now);
                let obs = follow::Observation::from_statuses(&s, None, |id| id.to_string());
                match follow::verdict(&expect, std::slice::from_ref(&obs)) {
                    follow::Verdict::Succeeded => return Ok(obs.deployment_request_id),
                    follow::Verdict::Running(Some(why)) if logged.insert(why.clone()) => {
                        ctx.emit(Stream::Stderr, why);
                    }
                    _ => {}
                }
            }
            Err(e @ (QoveryError::Unauthorized { .. } | QoveryError::NotFound { .. })) => {
                return Err(format!("cannot wait for {env_name} to be idle: {e}"));
            }
            Err(e) => ctx.emit(
                Stream::Stderr,
                format!("poll failed (will keep waiting): {e}"),
            ),
        }
    }
}

/// Follow a deployment, streaming every state change, until [`follow::verdict`] says it is over.
#[allow(clippy::too_many_arguments)]
pub(super) async fn follow(
    q: &QoveryStep,
    ctx: &StepContext,
    c: &QoveryClient,
    env_name: &str,
    rid: Option<&str>,
    previous_rid: Option<String>,
    names: &BTreeMap<String, String>,
    watched: Option<&[String]>,
) -> Result<String, String> {
    let started = Instant::now();
    let targets = target_states(&q.op);
    let expect = follow::Expectation {
        goal: follow::Goal::Reach(targets.to_vec()),
        request_id: rid.map(str::to_string),
        previous_request_id: previous_rid,
        services: watched.map(<[String]>::to_vec),
    };
    let mut history: Vec<follow::Observation> = Vec::new();
    let mut logged: BTreeSet<String> = BTreeSet::new();
    let mut last_env: Option<(State, State)> = None;
    let mut last_svc: BTreeMap<String, State> = BTreeMap::new();
    let mut batcher = crate::clients::qovery::changes::Batcher::new();
    let mut failures = 0u32;
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    loop {
        tokio::time::sleep(q.poll_interval).await;
        let s: EnvironmentStatuses = match c.environment_statuses(&q.environment).await {
            Ok(s) => {
                failures = 0;
                s
            }
            Err(e @ (QoveryError::Unauthorized { .. } | QoveryError::NotFound { .. })) => {
                return Err(format!("lost track of the deployment on {env_name}: {e}"));
            }
            Err(e) => {
                failures += 1;
                ctx.emit(
                    Stream::Stderr,
                    format!("poll {failures} failed (will keep following): {e}"),
                );
                continue;
            }
        };
        let env_now = (
            s.environment.state.clone(),
            s.environment.last_deployment_state.clone(),
        );
        if last_env.as_ref() != Some(&env_now) {
            let line = match &last_env {
                Some((st, _)) => format!(
                    "environment {env_name}: {st} → {} (last deployment {})",
                    env_now.0, env_now.1
                ),
                None => format!(
                    "environment {env_name}: {} (last deployment {})",
                    env_now.0, env_now.1
                ),
            };
            ctx.emit(
                if env_now.1.is_error() {
                    Stream::Stderr
                } else {
                    Stream::Info
                },
                line,
            );
            last_env = Some(env_now.clone());
        }
        let in_scope: Vec<_> = s
            .services()
            .filter(|(_, sv)| watched.is_none_or(|w| w.contains(&sv.id)))
            .map(|(_, sv)| sv)
            .collect();
        let reached = in_scope
            .iter()
            .filter(|sv| targets.contains(&sv.state))
            .count();
        let progress = format!(
            "({reached}/{} {})",
            in_scope.len(),
            targets[0].as_str().to_lowercase()
        );
        // Grouped per second when many services move at once (`clients::qovery::changes`).
        let mut moved = Vec::new();
        for (_, svc) in s.services() {
            let prev = last_svc.get(&svc.id);
            if prev != Some(&svc.state) {
                moved.push(crate::clients::qovery::changes::Change {
                    name: name_of(&svc.id),
                    from: prev.cloned(),
                    to: svc.state.clone(),
                });
                last_svc.insert(svc.id.clone(), svc.state.clone());
            }
        }
        let mut lines = batcher.push(moved, Instant::now(), &progress);
        // The request's own status: a value that cannot be the previous deployment's. Read once
        // the environment looks finished (it is what confirms the end).
        let request_status = match rid {
            Some(r) if env_now.0.is_terminal() && env_now.1.is_terminal() => {
                match c.deployment_status(r).await {
                    Ok(d) => d.status,
                    Err(_) => None,
                }
            }
            _ => None,
        };
        let obs = follow::Observation::from_statuses(&s, request_status, name_of);
        // Only changes matter to the verdict; keeps the history short on long deployments.
        if history.last() != Some(&obs) {
            history.push(obs);
        }
        let took = crate::plan::units::fmt_duration(started.elapsed());
        let verdict = follow::verdict(&expect, &history);
        if !matches!(verdict, follow::Verdict::Running(_)) {
            lines.extend(batcher.flush(Instant::now(), &progress));
        }
        for l in lines {
            ctx.emit(
                if l.failing {
                    Stream::Stderr
                } else {
                    Stream::Info
                },
                l.text,
            );
        }
        match verdict {
            follow::Verdict::Running(None) => {}
            follow::Verdict::Running(Some(why)) => {
                if logged.insert(why.clone()) {
                    ctx.emit(Stream::Stderr, format!("{env_name}: {why}"));
                }
            }
            follow::Verdict::Succeeded => {
                return Ok(format!(
                    "{env_name} {} after {took}; {reached}/{} services {}",
                    env_now.1,
                    in_scope.len(),
                    targets[0].as_str().to_lowercase()
                ));
            }
            follow::Verdict::Failed(why) => {
                return Err(format!("{env_name} {why} after {took}"));
            }
        }
    }
}

/// The request of `qovery.deploy_services`: the containers named in the plan (by name or id),
/// each with the tag to deploy. Names every container it cannot find.
async fn services_request(
    ctx: &StepContext,
    c: &QoveryClient,
    env: &str,
    env_name: &str,
    services: &[String],
    tag: &Option<String>,
    names: &mut BTreeMap<String, String>,
) -> Result<DeployAllRequest, String> {
    let list = c
        .list_containers(env)
        .await
        .map_err(|e| format!("cannot list the containers of {env_name}: {e}"))?;
    for ct in &list {
        names.insert(ct.id.clone(), ct.name.clone());
    }
    let mut req = DeployAllRequest::default();
    let mut missing = Vec::new();
    for s in services {
        match find_container(&list, s) {
            Some(ct) => {
                ctx.info(format!(
                    "  {}: {}:{} → {}",
                    ct.name,
                    ct.image_name,
                    ct.tag,
                    tag.as_deref().unwrap_or("(current tag)")
                ));
                req.containers.push(DeployContainer {
                    id: ct.id.clone(),
                    image_tag: tag.clone(),
                })
            }
            None => missing.push(s.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "no container named {} in {env_name}; it has: {}",
            missing.join(", "),
            list.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(req)
}
