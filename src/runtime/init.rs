//! `drcockpit init`: a first plan written from the Qovery API, so nobody copies ids out of the
//! console by hand. It authenticates as the official CLI does (`QOVERY_CLI_ACCESS_TOKEN`, then
//! `Q_CLI_ACCESS_TOKEN`; `QOVERY_API_URL`), lists organizations, projects, environments and
//! clusters, picks prod and DR by flag (id or name) or in a small numbered picker on a terminal,
//! reads both environments' services, images and registries, and writes a plan that follows the
//! DR guide's sequence (detect, approve, promote, set variables, deploy, switch DNS, verify,
//! notify) with every id filled in. What the API cannot tell (DNS provider, database URLs, health
//! URLs) is marked `# TODO:`; secrets are only ever `${env:…}` references. Reads only: the
//! transport is read-only, and the token is never printed or written.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::clients::http::HttpClient;
use crate::clients::qovery::{
    Cluster, Container, Database, Environment, Organization, Project, QoveryClient, QoveryError,
    QoverySettings,
};
use crate::exit;
use crate::plan::QoveryConfig;

/// The choices made on the command line (`None`: ask, or fail listing the choices).
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    pub org: Option<String>,
    pub project: Option<String>,
    pub prod_env: Option<String>,
    pub dr_env: Option<String>,
    pub output: PathBuf,
    pub force: bool,
}

/// Where a missing choice comes from: the operator at a terminal, or nowhere (then `init` fails
/// and lists the choices).
pub trait Picker {
    /// Index into `choices`, or `None` when nobody can answer.
    fn pick(&mut self, what: &str, choices: &[String]) -> Option<usize>;
}

/// No terminal: every missing choice is an error that lists the choices.
pub struct NoPicker;

impl Picker for NoPicker {
    fn pick(&mut self, _what: &str, _choices: &[String]) -> Option<usize> {
        None
    }
}

/// A numbered list on stdout, a number typed on stdin. Empty input or end of input gives up.
pub struct TerminalPicker;

impl Picker for TerminalPicker {
    fn pick(&mut self, what: &str, choices: &[String]) -> Option<usize> {
        crate::outln!("Choose the {what}:");
        for (i, c) in choices.iter().enumerate() {
            crate::outln!("  {:>2}) {c}", i + 1);
        }
        let stdin = std::io::stdin();
        loop {
            crate::out!("number (1-{}, empty to stop): ", choices.len());
            crate::cli::out::flush();
            let mut line = String::new();
            match stdin.lock().read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let t = line.trim();
            if t.is_empty() {
                return None;
            }
            match t.parse::<usize>() {
                Ok(n) if (1..=choices.len()).contains(&n) => return Some(n - 1),
                _ => crate::outln!("`{t}` is not one of 1-{}", choices.len()),
            }
        }
    }
}

/// Why `init` stopped. `Usage` is a choice that cannot be made (exit 2), the rest exit 1.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InitError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Api(String),
    #[error("{0}")]
    Write(String),
}

impl InitError {
    pub fn exit_code(&self) -> i32 {
        match self {
            InitError::Usage(_) => exit::USAGE,
            _ => exit::FAILURE,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct InitSummary {
    pub path: PathBuf,
    pub steps: usize,
    pub todos: usize,
    /// The `${env:…}` variables the plan needs at run time.
    pub env_refs: Vec<String>,
}

/// One environment as the plan needs it.
#[derive(Debug, Clone)]
struct Side {
    env: Environment,
    cluster: Option<Cluster>,
    containers: Vec<Container>,
    applications: Vec<String>,
    databases: Vec<Database>,
}

/// The variable of the DR environment that holds the database URL, if one looks like it.
#[derive(Debug, Clone)]
struct DbVariable {
    key: String,
    secret: bool,
}

/// `drcockpit init …`: the whole command, with its exit code.
pub fn run_cli(opts: InitOptions) -> i32 {
    let Some(rt) = super::async_runtime() else {
        return exit::FAILURE;
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let result = rt.block_on(async {
        if interactive {
            run(&opts, |k| std::env::var(k).ok(), &mut TerminalPicker).await
        } else {
            run(&opts, |k| std::env::var(k).ok(), &mut NoPicker).await
        }
    });
    match result {
        Ok(s) => {
            crate::outln!(
                "wrote {}: {} steps, {} TODO to fill in (grep -n TODO {})",
                s.path.display(),
                s.steps,
                s.todos,
                s.path.display()
            );
            if !s.env_refs.is_empty() {
                crate::outln!("needs at run time: env {}", s.env_refs.join(", env "));
            }
            crate::outln!("next: drcockpit check {}", s.path.display());
            crate::outln!("      drcockpit review {}", s.path.display());
            exit::OK
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "drcockpit init: {e}");
            e.exit_code()
        }
    }
}

/// Discover, choose, render and write. `env` reads the process environment (a closure so tests
/// need not touch it).
pub async fn run(
    opts: &InitOptions,
    env: impl Fn(&str) -> Option<String>,
    picker: &mut dyn Picker,
) -> Result<InitSummary, InitError> {
    // Refuse before any call: an operator re-running init must not lose an edited plan.
    if opts.output.exists() && !opts.force {
        return Err(InitError::Usage(format!(
            "{} already exists; nothing was written. Choose another --output, or add --force to replace it",
            opts.output.display()
        )));
    }
    let empty = QoveryConfig {
        api_url: String::new(),
        token: String::new(),
        auth_scheme: None,
        organization: String::new(),
    };
    let settings = QoverySettings::resolve(&empty, &env);
    if settings.token.is_empty() {
        return Err(InitError::Usage(
            "no Qovery token: export QOVERY_CLI_ACCESS_TOKEN=<token> (an organization API token from the Qovery console, \
             Organization settings → API tokens, or the token of `qovery auth`), then run init again"
                .into(),
        ));
    }
    let default_url = settings.api_url == crate::clients::qovery::DEFAULT_API_URL;
    let api_url = settings.api_url.clone();
    let token_source = settings.token_source.clone();
    // Read-only transport: init never changes anything in Qovery.
    let client = QoveryClient::new(settings, HttpClient::new(true));
    let api = |e: QoveryError| api_error(e, &token_source, &api_url);

    let orgs = client.list_organizations().await.map_err(api)?;
    let org = choose(
        "organization",
        "--org",
        opts.org.as_deref(),
        &orgs,
        |o: &Organization| (o.id.as_str(), o.name.as_str(), String::new()),
        true,
        picker,
    )?
    .clone();
    let projects = client.list_projects(&org.id).await.map_err(api)?;
    let project = choose(
        "project",
        "--project",
        opts.project.as_deref(),
        &projects,
        |p: &Project| (p.id.as_str(), p.name.as_str(), String::new()),
        true,
        picker,
    )?
    .clone();
    let envs = client.list_environments(&project.id).await.map_err(api)?;
    let clusters = client.list_clusters(&org.id).await.map_err(api)?;
    let env_label = |e: &Environment| {
        let cluster = e
            .cluster_id
            .as_deref()
            .and_then(|id| clusters.iter().find(|c| c.id == id))
            .map(|c| format!("cluster {} ({} {})", c.name, c.cloud_provider, c.region))
            .or_else(|| e.cluster_name.clone().map(|n| format!("cluster {n}")))
            .unwrap_or_else(|| "no cluster".into());
        match e.mode.as_deref() {
            Some(mode) if !mode.is_empty() => format!("{mode}, {cluster}"),
            _ => cluster,
        }
    };
    let prod = choose(
        "production environment",
        "--prod-env",
        opts.prod_env.as_deref(),
        &envs,
        |e: &Environment| (e.id.as_str(), e.name.as_str(), env_label(e)),
        false,
        picker,
    )?
    .clone();
    let others: Vec<Environment> = envs.iter().filter(|e| e.id != prod.id).cloned().collect();
    if opts
        .dr_env
        .as_deref()
        .is_some_and(|d| d == prod.id || d.eq_ignore_ascii_case(&prod.name))
    {
        return Err(InitError::Usage(format!(
            "--dr-env names the production environment `{}`: DR must be another environment",
            prod.name
        )));
    }
    let dr = choose(
        "DR environment",
        "--dr-env",
        opts.dr_env.as_deref(),
        &others,
        |e: &Environment| (e.id.as_str(), e.name.as_str(), env_label(e)),
        false,
        picker,
    )?
    .clone();

    let prod_side = side(&client, prod, &clusters).await.map_err(api)?;
    let dr_side = side(&client, dr, &clusters).await.map_err(api)?;
    let db_var = db_variable(&client, &dr_side.env.id).await.map_err(api)?;
    let text = render(&RenderInput {
        org: &org,
        project: &project,
        prod: &prod_side,
        dr: &dr_side,
        api_url: (!default_url).then_some(client.base_url()),
        db_var: db_var.as_ref(),
        generated_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
    });
    write_plan(&opts.output, &text, opts.force)?;
    Ok(InitSummary {
        path: opts.output.clone(),
        steps: text.lines().filter(|l| *l == "[[step]]").count(),
        todos: text.matches("# TODO:").count(),
        env_refs: env_refs(&text),
    })
}

/// A 401 names the variable to fix; the rest keep the client's own message.
fn api_error(e: QoveryError, token_source: &str, api_url: &str) -> InitError {
    let var = token_source.strip_prefix("env:").unwrap_or(token_source);
    match e {
        QoveryError::Unauthorized { call, .. } => InitError::Api(format!(
            "{call}: 401 unauthorized: {api_url} refused the token in {var}. Check that \
             QOVERY_CLI_ACCESS_TOKEN holds a valid, unexpired token (an organization API token from the Qovery \
             console, Organization settings → API tokens, or a fresh `qovery auth`) and that QOVERY_API_URL \
             points at the right API"
        )),
        QoveryError::Forbidden { call, .. } => InitError::Api(format!(
            "{call}: 403 forbidden: the token in {var} cannot read this; give it a role that can read the organization's projects, environments and clusters"
        )),
        other => InitError::Api(crate::redact::redact_string(other.to_string())),
    }
}

/// Pick one of `items` by id or (case-insensitive, as Qovery names are) name, else ask, else fail
/// listing them. A lone organization or project is taken without asking.
fn choose<'a, T>(
    what: &str,
    flag: &str,
    wanted: Option<&str>,
    items: &'a [T],
    describe: impl Fn(&T) -> (&str, &str, String),
    take_lone: bool,
    picker: &mut dyn Picker,
) -> Result<&'a T, InitError> {
    let line = |t: &T| {
        let (id, name, extra) = describe(t);
        if extra.is_empty() {
            format!("{name}  ({id})")
        } else {
            format!("{name}  ({id}, {extra})")
        }
    };
    let listing = || {
        items
            .iter()
            .map(|t| format!("  {}", clean(&line(t))))
            .collect::<Vec<_>>()
            .join("\n")
    };
    if items.is_empty() {
        return Err(InitError::Usage(format!(
            "no {what} is visible to this token{}",
            if what.contains("DR") {
                ": DR needs a second environment in the project"
            } else {
                ""
            }
        )));
    }
    if let Some(w) = wanted.map(str::trim) {
        if let Some(t) = items.iter().find(|t| describe(t).0 == w) {
            return Ok(t);
        }
        let by_name: Vec<&T> = items
            .iter()
            .filter(|t| describe(t).1.eq_ignore_ascii_case(w))
            .collect();
        return match by_name.as_slice() {
            [one] => Ok(*one),
            [] => Err(InitError::Usage(format!(
                "{flag} {w}: no {what} has this id or name. Available:\n{}",
                listing()
            ))),
            _ => Err(InitError::Usage(format!(
                "{flag} {w}: several {what}s have this name; give the id. Available:\n{}",
                listing()
            ))),
        };
    }
    if take_lone && items.len() == 1 {
        return Ok(&items[0]);
    }
    let choices: Vec<String> = items.iter().map(|t| clean(&line(t))).collect();
    match picker.pick(what, &choices) {
        Some(i) if i < items.len() => Ok(&items[i]),
        _ => Err(InitError::Usage(format!(
            "which {what}? Give {flag} ID-OR-NAME (or run init in a terminal to pick). Available:\n{}",
            listing()
        ))),
    }
}

async fn side(
    client: &QoveryClient,
    env: Environment,
    clusters: &[Cluster],
) -> Result<Side, QoveryError> {
    let cluster = env
        .cluster_id
        .as_deref()
        .and_then(|id| clusters.iter().find(|c| c.id == id))
        .cloned();
    let containers = client.list_containers(&env.id).await?;
    let applications = client
        .list_applications(&env.id)
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    let databases = client.list_databases(&env.id).await?;
    Ok(Side {
        env,
        cluster,
        containers,
        applications,
        databases,
    })
}

/// The DR environment's variable that most likely carries the database URL (environment scope:
/// the one `qovery.set_variables` writes).
async fn db_variable(client: &QoveryClient, env: &str) -> Result<Option<DbVariable>, QoveryError> {
    let looks_like = |k: &str| {
        let k = k.to_ascii_uppercase();
        k.contains("DATABASE_URL")
            || k.contains("DB_URL")
            || ((k.contains("POSTGRES") || k.starts_with("PG")) && k.contains("URL"))
    };
    let env_scope = |s: &str| s == "ENVIRONMENT";
    let vars = client.list_environment_variables(env).await?;
    if let Some(v) = vars
        .iter()
        .find(|v| env_scope(v.scope.as_str()) && looks_like(&v.key))
    {
        return Ok(Some(DbVariable {
            key: v.key.clone(),
            secret: false,
        }));
    }
    let secrets = client.list_environment_secrets(env).await?;
    Ok(secrets
        .iter()
        .find(|s| env_scope(s.scope.as_str()) && looks_like(&s.key))
        .map(|s| DbVariable {
            key: s.key.clone(),
            secret: true,
        }))
}

struct RenderInput<'a> {
    org: &'a Organization,
    project: &'a Project,
    prod: &'a Side,
    dr: &'a Side,
    /// Written only when it is not the default (a self-hosted or simulated API).
    api_url: Option<&'a str>,
    db_var: Option<&'a DbVariable>,
    generated_at: String,
}

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Text from the API made safe for a comment or a one-line listing.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An environment variable name for a reference: `DR_` + the key, upper-case, `_` for the rest.
fn env_name(key: &str) -> String {
    let k: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if k.starts_with("DR_") {
        k
    } else {
        format!("DR_{k}")
    }
}

/// The panel title (the panel itself prefixes `PROD · ` / `DR · `).
fn site_label(s: &Side) -> String {
    match &s.cluster {
        Some(c) => format!("{} · {} {}", clean(&s.env.name), c.cloud_provider, c.region),
        None => clean(&s.env.name),
    }
}

fn render(i: &RenderInput<'_>) -> String {
    let mut o = String::new();
    render_head(i, &mut o);
    render_sites(i, &mut o);
    render_steps(i, &mut o);
    o
}

/// The header comment, `[plan]` and `[qovery]`.
fn render_head(i: &RenderInput<'_>, o: &mut String) {
    let mut l = |s: &str| {
        o.push_str(s);
        o.push('\n');
    };
    let (prod, dr) = (i.prod, i.dr);
    l(&format!(
        "# Written by `drcockpit init` from the Qovery API on {}.",
        i.generated_at
    ));
    l(&format!(
        "# Organization {}, project {}: production {} → DR {}.",
        clean(&i.org.name),
        clean(&i.project.name),
        clean(&prod.env.name),
        clean(&dr.env.name)
    ));
    l("# Every id was read from the API. `# TODO:` marks what the API cannot tell: fill those in,");
    l("# then `drcockpit check` this file and walk it with `drcockpit review`.");
    l("# Secrets are never written here; they come from the environment at run time.");
    l("");
    l("version = 1");
    l("");
    l("[plan]");
    l(&format!(
        "name = {}",
        q(&format!(
            "{}: {} → {}",
            clean(&i.project.name),
            clean(&prod.env.name),
            clean(&dr.env.name)
        ))
    ));
    l(
        "strategy = \"warm-standby\"   # TODO: backup-restore, pilot-light, warm-standby or active-active",
    );
    l("rto = \"30m\"                 # TODO: your recovery time objective");
    l("rpo = \"5m\"                  # TODO: your recovery point objective");
    l("");
    l("[qovery]");
    l(
        "# The token `drcockpit init` used; QOVERY_CLI_ACCESS_TOKEN also overrides it, as in the official CLI.",
    );
    l("token = \"${env:QOVERY_CLI_ACCESS_TOKEN}\"");
    l(&format!(
        "organization = {}   # {}",
        q(&i.org.id),
        clean(&i.org.name)
    ));
    if let Some(u) = i.api_url {
        l(&format!("api_url = {}", q(u)));
    }
}

/// `[sites.*]`, `[images]`, what the API showed, and the `[dns]` to fill in.
fn render_sites(i: &RenderInput<'_>, o: &mut String) {
    let mut l = |s: &str| {
        o.push_str(s);
        o.push('\n');
    };
    let (prod, dr) = (i.prod, i.dr);
    for (id, s) in [("prod", prod), ("dr", dr)] {
        l("");
        l(&format!("[sites.{id}]"));
        l(&format!("label = {}", q(&site_label(s))));
        match (&s.env.cluster_id, &s.cluster) {
            (Some(cid), Some(c)) => l(&format!(
                "cluster = {}   # Qovery cluster {}",
                q(cid),
                clean(&c.name)
            )),
            (Some(cid), None) => l(&format!("cluster = {}", q(cid))),
            (None, _) => {
                l("# TODO: cluster = \"…\"   (the API gave no cluster for this environment)")
            }
        }
        l(&format!(
            "environment = {}   # Qovery environment {}",
            q(&s.env.id),
            clean(&s.env.name)
        ));
        l(
            "# TODO: health = \"https://…/healthz\"   (answers 200 when this site serves; then use it in `detect` and `verify`)",
        );
        l(&format!(
            "# TODO: database = {{ postgres = \"${{env:{}_DATABASE_URL}}\" }}   (docs/plan-format.md, Database)",
            id.to_ascii_uppercase()
        ));
        l(
            "# TODO: dns_target = \"lb.….example.net.\"   (what the public record holds when this site serves)",
        );
        if let Some(c) = s.containers.first() {
            l(&format!(
                "registry = {{ url = {} }}   # {} ({}), Qovery registry {}",
                q(&c.registry.url),
                clean(&c.registry.name),
                c.registry.kind.as_str(),
                c.registry.id
            ));
            l(
                "# TODO: registry credentials: username = \"…\", password = \"${env:…}\" (docs/plan-format.md, Sites)",
            );
        }
    }
    if !prod.containers.is_empty() {
        l("");
        l("[images]");
        let names: Vec<String> = prod.containers.iter().map(|c| q(&c.name)).collect();
        l(&format!(
            "services = [{}]   # the production containers",
            names.join(", ")
        ));
    }
    l("");
    l("# What the API showed in each environment:");
    for (title, s) in [("production", prod), ("DR", dr)] {
        l(&format!(
            "#   {title} {} ({}):",
            clean(&s.env.name),
            s.env.id
        ));
        for c in &s.containers {
            l(&format!(
                "#     container {} {} ({})",
                clean(&c.name),
                clean(&c.image_ref()),
                c.id
            ));
        }
        for a in &s.applications {
            l(&format!("#     application {}", clean(a)));
        }
        for d in &s.databases {
            l(&format!(
                "#     database {} {} {} {} ({})",
                clean(&d.name),
                clean(&d.db_type),
                clean(&d.version),
                clean(&d.mode),
                d.id
            ));
        }
        if s.containers.is_empty() && s.applications.is_empty() && s.databases.is_empty() {
            l("#     no services");
        }
    }
    l("");
    l(
        "# TODO: [dns]: the API does not say which DNS provider serves your domain (docs/plan-format.md, [dns]):",
    );
    l("# [dns]");
    l("# record = \"www.example.com.\"");
    l("# type = \"CNAME\"");
    l("# provider = { route53 = { hosted_zone_id = \"…\" } }");
}

/// The DR guide's sequence of steps.
fn render_steps(i: &RenderInput<'_>, o: &mut String) {
    let mut l = |s: &str| {
        o.push_str(s);
        o.push('\n');
    };
    let dr = i.dr;
    // The DR guide's sequence.
    l("");
    l("[[step]]");
    l("id = \"detect\"");
    l("title = \"Detect failure\"");
    l("kind = \"check\"");
    l("description = \"Production has been failing for three minutes, not just one bad probe.\"");
    l("# TODO: with a prod `health`, prefer \"prod.health.down_for >= 3m\".");
    l("conditions = [\"prod.env.down_for >= 3m\"]");
    l("");
    l("[[step]]");
    l("id = \"approve\"");
    l("title = \"Validate the decision to fail over\"");
    l("kind = \"approval\"");
    l("confirm = \"FAILOVER\"");
    l("");
    l("[[step]]");
    l("id = \"promote-db\"");
    l("title = \"Promote the DR database\"");
    l("kind = \"manual\"");
    l("# TODO: the API does not give database URLs. With `database.postgres` in [sites.dr], use");
    l("# kind = \"postgres.promote\" (site = \"dr\"); for a managed database, a `command` step.");
    let mut instructions = String::from(
        "Promote the DR copy of the production database so it accepts writes,\nand note who did it and when.",
    );
    if !dr.databases.is_empty() {
        instructions.push_str("\nDatabases in the DR environment:");
        for d in &dr.databases {
            instructions.push_str(&format!(
                "\n  {} ({} {}, {}, id {})",
                clean(&d.name),
                clean(&d.db_type),
                clean(&d.version),
                clean(&d.mode),
                d.id
            ));
        }
    }
    l(&format!("instructions = {}", q(&instructions)));
    l("");
    l("[[step]]");
    l("id = \"set-variables\"");
    l("title = \"Point the DR environment at the promoted database\"");
    l("kind = \"qovery.set_variables\"");
    l("site = \"dr\"");
    match i.db_var {
        Some(v) => {
            l(&format!(
                "# {} was found in the DR environment; the new value comes from ${}.",
                clean(&v.key),
                env_name(&v.key)
            ));
            l(&format!(
                "{} = {{ {} = \"${{env:{}}}\" }}",
                if v.secret { "secrets" } else { "variables" },
                q(&v.key),
                env_name(&v.key)
            ));
        }
        None => {
            l(
                "# TODO: no variable holding a database URL was found in the DR environment: name the one your services read.",
            );
            l("variables = { DATABASE_URL = \"${env:DR_DATABASE_URL}\" }");
        }
    }
    l("");
    l("[[step]]");
    l("id = \"deploy-dr\"");
    l("title = \"Redeploy the DR environment with the new variables\"");
    l("kind = \"qovery.redeploy\"");
    l("site = \"dr\"");
    l("requires = [\"dr.cluster.is_deployed\"]");
    l("confirm = \"DEPLOY\"");
    l("wait_if_busy = true");
    l("timeout = \"30m\"");
    l("");
    l("[[step]]");
    l("id = \"switch-dns\"");
    l("title = \"Switch DNS to the DR site\"");
    l("kind = \"manual\"");
    l(
        "# TODO: with a [dns] section and both `dns_target`s, use kind = \"dns.switch\" (site = \"dr\"),",
    );
    l("# then a `dns.verify` step.");
    l(&format!(
        "instructions = {}",
        q(&format!(
            "Point the public record at the DR site ({}) in the DNS provider, then wait one TTL.",
            clean(&dr.env.name)
        ))
    ));
    l("");
    l("[[step]]");
    l("id = \"verify\"");
    l("title = \"DR serves traffic\"");
    l("kind = \"check\"");
    l("# TODO: with the public URL, use kind = \"http.check\", url = \"https://…/healthz\".");
    l("conditions = [\"dr.env.ok\", \"dr.env.services_failing == 0\"]");
    l("");
    l("[[step]]");
    l("id = \"notify\"");
    l("title = \"Tell the team\"");
    l("kind = \"http.request\"");
    l("method = \"POST\"");
    l(
        "# TODO: a chat webhook (Slack, Mattermost, …); its URL is a secret, read from the environment.",
    );
    l("url = \"${env:SLACK_WEBHOOK_URL}\"");
    l("headers = { \"Content-Type\" = \"application/json\" }");
    let body = serde_json::json!({
        "text": format!("{} failed over to DR: {}", clean(&i.project.name), site_label(dr))
    })
    .to_string();
    l(&format!("body = {}", q(&body)));
    l("expect_status = [200]");
}

/// The `${env:NAME}` references of the text (not in comments), in order, once each.
fn env_refs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(p) = rest.find("${env:") {
            rest = &rest[p + 6..];
            if let Some(end) = rest.find('}') {
                let name = rest[..end].to_string();
                if !out.contains(&name) {
                    out.push(name);
                }
                rest = &rest[end..];
            }
        }
    }
    out
}

/// Write the plan; without `force` an existing file is never replaced (checked again here, at
/// creation, so a file that appeared meanwhile is not clobbered either).
fn write_plan(path: &Path, text: &str, force: bool) -> Result<(), InitError> {
    let fail = |e: std::io::Error| {
        InitError::Write(format!(
            "cannot write {}: {e}; nothing was written",
            path.display()
        ))
    };
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    if force {
        o.create(true).truncate(true);
    } else {
        o.create_new(true);
    }
    let mut f = o.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            InitError::Usage(format!(
                "{} already exists; nothing was written. Choose another --output, or add --force to replace it",
                path.display()
            ))
        } else {
            fail(e)
        }
    })?;
    f.write_all(text.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_toml_safe() {
        let v: toml::Value =
            toml::from_str(&format!("a = {}", q("x \"y\" \\ z\n\u{7}"))).expect("toml");
        assert_eq!(v["a"].as_str(), Some("x \"y\" \\ z\n\u{7}"));
    }

    #[test]
    fn env_names_are_shell_names() {
        assert_eq!(env_name("DATABASE_URL"), "DR_DATABASE_URL");
        assert_eq!(env_name("dr-db.url"), "DR_DB_URL");
    }
}
