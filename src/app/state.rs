//! Everything the screen shows and the engine decides on.

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

use super::observe::{Section, SectionState, SectionView, Verdict};
use crate::journal::PreflightCheck;
use crate::plan::condition::{CondResult, Condition, Lookup};
use crate::plan::{Plan, SiteId, StepAction};

/// How the cockpit was opened. Decided once at start; enforced where effects are dispatched
/// and again in the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The embedded simulator plays a world; steps run for real against it.
    Demo,
    /// Steps run on keypress after confirmation.
    Live,
    /// Nothing mutates; Enter shows exactly what a step would do and runs read-only preflight.
    Review,
    /// Panels only; no step can run.
    Monitor,
}

impl Mode {
    pub fn badge(self) -> &'static str {
        match self {
            Mode::Demo => "DEMO",
            Mode::Live => "LIVE",
            Mode::Review => "REVIEW",
            Mode::Monitor => "MONITOR",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Demo => "demo",
            Mode::Live => "live",
            Mode::Review => "review",
            Mode::Monitor => "monitor",
        }
    }
    /// May steps change the world in this mode?
    pub fn may_mutate(self) -> bool {
        matches!(self, Mode::Demo | Mode::Live)
    }
}

/// Who is at the keyboard (from `DRCOCKPIT_OPERATOR`, else `SUDO_USER`, else `USER`) and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub name: String,
    pub host: String,
}

impl Operator {
    pub fn from_env() -> Operator {
        let name = ["DRCOCKPIT_OPERATOR", "SUDO_USER", "USER"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
            .or_else(login_name)
            .unwrap_or_else(|| "unknown".into());
        let host = hostname();
        Operator { name, host }
    }
    pub fn display(&self) -> String {
        format!("{}@{}", self.name, self.host)
    }
}

/// The login name of the real user id, from the password database (when no variable names one).
fn login_name() -> Option<String> {
    // SAFETY: getpwuid_r writes into our buffer and pwd; we read pw_name only on success.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        );
        if rc != 0 || out.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr(pwd.pw_name)
            .to_str()
            .ok()
            .map(str::to_string)
    }
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// A step's recorded phase: a fold of journal events. `Blocked` is not stored; it is derived
/// from preconditions and observations (see [`State::status`]).
#[derive(Debug, Clone, PartialEq)]
pub enum StepPhase {
    Pending,
    Running {
        attempt: u32,
        since: DateTime<Utc>,
    },
    Succeeded {
        at: DateTime<Utc>,
        detail: String,
    },
    Failed {
        at: DateTime<Utc>,
        error: String,
        attempt: u32,
    },
    Skipped {
        reason: String,
    },
    /// Was running when the cockpit died; the operator must check and decide.
    Unknown {
        attempt: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewMark {
    pub reviewed: Option<(String, String)>, // (by, note)
    pub preflight: Option<Vec<PreflightCheck>>,
    pub preflight_running: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepRun {
    pub phase: StepPhase,
    pub attempts: u32,
    /// A typed reason recorded when preconditions were overridden for the next run.
    pub override_reason: Option<String>,
    /// Who approved (approval steps).
    pub approved_by: Option<String>,
    /// A finish event has been sent to the journal; ignore further results until it is recorded.
    pub finishing: bool,
    pub notes: Vec<String>,
    pub review: ReviewMark,
    /// Last output line, shown in the detail pane while running.
    pub last_output: Option<String>,
}

impl StepRun {
    fn new() -> StepRun {
        StepRun {
            phase: StepPhase::Pending,
            attempts: 0,
            override_reason: None,
            approved_by: None,
            finishing: false,
            notes: Vec::new(),
            review: ReviewMark::default(),
            last_output: None,
        }
    }
    pub fn is_done(&self) -> bool {
        matches!(
            self.phase,
            StepPhase::Succeeded { .. } | StepPhase::Skipped { .. }
        )
    }
}

/// What the checklist shows for a step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepStatus {
    Pending,
    Blocked { reason: String },
    Running,
    Succeeded,
    Failed,
    Skipped,
    Unknown,
}

impl StepStatus {
    pub fn icon(&self) -> &'static str {
        match self {
            StepStatus::Pending => "·",
            StepStatus::Blocked { .. } => "⊘",
            StepStatus::Running => "▶",
            StepStatus::Succeeded => "✓",
            StepStatus::Failed => "✗",
            StepStatus::Skipped => "↷",
            StepStatus::Unknown => "?",
        }
    }
    pub fn word(&self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Blocked { .. } => "blocked",
            StepStatus::Running => "running",
            StepStatus::Succeeded => "done",
            StepStatus::Failed => "FAILED",
            StepStatus::Skipped => "skipped",
            StepStatus::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Checklist,
    Log,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DialogKind {
    /// Confirm running a step (typed word when the plan sets one, else y/Enter).
    ConfirmRun,
    /// Approval gate: type the word.
    Approve,
    /// Override unmet preconditions with a typed reason.
    Override {
        unmet: Vec<String>,
    },
    SkipReason,
    /// Manual step done: what was done.
    ManualDone,
    /// Unknown step checked by the operator and found done.
    MarkDone,
    Note,
    /// Review mode: mark reviewed with a note.
    Reviewed,
    /// Abort the checklist: type ABORT and a reason.
    Abort,
    /// Filter the log pane.
    Filter,
    /// Quit while a step is running (live/demo).
    Quit,
    /// Declare the incident: a note; the RTO clock runs from it.
    Declare,
    /// Issue 13: a watcher takes over driving (typed word).
    TakeOver,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dialog {
    pub kind: DialogKind,
    pub step: Option<usize>,
    /// A word the input must equal exactly (e.g. `FAILOVER`).
    pub word: Option<String>,
    pub input: String,
    /// Shown under the input when a submission was refused.
    pub error: Option<String>,
}

impl Dialog {
    pub fn new(kind: DialogKind, step: Option<usize>, word: Option<String>) -> Dialog {
        Dialog {
            kind,
            step,
            word,
            input: String::new(),
            error: None,
        }
    }
}

/// What covers the screen. At most one overlay is open at a time; the open one takes every key
/// (the mouse wheel and clicks do nothing under a dialog or the help), and its own keys close it.
///
/// **Precedence** (written here once, see [`Overlay::rank`] and [`State::open`]): a dialog
/// outranks the timeline, which outranks the help. Opening an overlay replaces a lower-ranked one
/// and is ignored while a higher-ranked one is open, so the overlay drawn, the overlay that reads
/// the keys and the footer's key hints are always the same one.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// A dialog: a y/n confirmation, a typed word, a reason or note, the log filter, quit.
    Dialog(Dialog),
    /// The journal timeline, scrolled this many records up from the newest.
    Timeline(usize),
    /// The key help.
    Help,
}

impl Overlay {
    /// Higher wins (see the type's comment).
    pub fn rank(&self) -> u8 {
        match self {
            Overlay::Dialog(_) => 3,
            Overlay::Timeline(_) => 2,
            Overlay::Help => 1,
        }
    }
}

pub struct State {
    pub plan: Arc<Plan>,
    pub mode: Mode,
    pub drill: bool,
    pub operator: Operator,
    pub steps: Vec<StepRun>,
    pub selected: usize,
    pub focus: Focus,
    pub sections: [[SectionState; 7]; 2],
    /// The dialog, timeline or help covering the screen, if any (one at a time: [`Overlay`]).
    pub overlay: Option<Overlay>,
    /// Expanded view of the site panels (every value and detail line).
    pub expanded: bool,
    /// When the session (or the session it resumed) started: the incident clock.
    pub started: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub aborted: Option<String>,
    /// A transient message for the status line.
    pub flash: Option<(String, DateTime<Utc>)>,
    pub log_filter: String,
    pub log_follow: bool,
    /// Review mode: the step whose exact calls are shown.
    pub showing_calls: Option<usize>,
    /// The journal failed: nothing more may run until it is fixed (principle 3).
    pub journal_error: Option<String>,
    /// Events the journal could not write yet (a full disk): how many wait, and why. Nothing new
    /// may change the world or the record until they are on disk.
    pub journal_blocked: Option<(usize, String)>,
    /// The plan's lock, while this cockpit drives (live). Re-checked on every clock tick and
    /// before every mutating dispatch: a cockpit that was taken over becomes a watcher.
    pub lock: Option<Arc<crate::journal::lock::Lock>>,
    /// Why the cockpit is in monitor mode when it was asked for live (e.g. the plan is locked).
    pub mode_note: Option<String>,
    pub quit: bool,
    /// The running step's spinner frame: advanced by one on every `Msg::Tick` (once a second, or
    /// every 120 ms while a step runs); the checklist draws `SPINNER[spinner % len]`. It says
    /// nothing about whether a redraw is needed.
    pub spinner: usize,
    /// The journal so far (as recorded), for the timeline view. Output lines are thinned to the
    /// newest few hundred (a step's full output is in the journal; see `update::apply`).
    pub records: Vec<crate::journal::Record>,
    /// How many `StepOutput` records `records` holds.
    pub output_records: usize,
    /// How far the step-detail pane is scrolled (PgUp/PgDn in the checklist); reset when the
    /// selection moves.
    pub detail_scroll: u16,
    /// How far the expanded panels' detail lines are scrolled (the page keys while expanded).
    pub panel_scroll: u16,
    /// When the incident was declared (`D`), if it was.
    pub declared: Option<DateTime<Utc>>,
    /// The key map: the defaults with config.toml's `[keys]` (see `keys::DEFAULTS`).
    pub keys: std::sync::Arc<super::keys::Keymap>,
    /// Issue 13 hook: the shared journal this cockpit follows, and who drives it (app::watch).
    pub watch: super::watch::Watch,
    /// Issue 15: steps' newest output lines and the older page read back (`app::output`).
    pub output: super::output::DetailOutput,
}

/// Does the plan ask to watch this section of this site?
pub fn plan_configures(plan: &Plan, site: SiteId, sec: Section) -> bool {
    let s = plan.site(site);
    match sec {
        Section::Cluster => s.cluster.is_some() && plan.qovery.is_some(),
        Section::Env => s.environment.is_some() && plan.qovery.is_some(),
        Section::Database => s.database.is_some(),
        Section::Images => s.registry.is_some() && plan.images.is_some(),
        Section::Dns => plan.dns.is_some() && s.dns_target.is_some(),
        Section::Health => s.health.is_some(),
        Section::Parity => crate::probes::parity::configured(plan),
    }
}

impl State {
    pub fn new(plan: Arc<Plan>, mode: Mode, operator: Operator, now: DateTime<Utc>) -> State {
        let mut sections: [[SectionState; 7]; 2] = Default::default();
        let probed = crate::probes::configured(&plan);
        for site in SiteId::ALL {
            for sec in Section::ALL {
                let st = &mut sections[site.index()][sec.index()];
                st.configured = plan_configures(&plan, site, sec);
                st.probed = probed.iter().any(|k| k.site == site && k.section == sec);
            }
        }
        State {
            steps: plan.steps.iter().map(|_| StepRun::new()).collect(),
            plan,
            mode,
            drill: false,
            operator,
            selected: 0,
            focus: Focus::Checklist,
            sections,
            overlay: None,
            expanded: false,
            started: now,
            now,
            aborted: None,
            flash: None,
            log_filter: String::new(),
            log_follow: true,
            showing_calls: None,
            journal_error: None,
            journal_blocked: None,
            lock: None,
            mode_note: None,
            quit: false,
            spinner: 0,
            records: Vec::new(),
            output_records: 0,
            declared: None,
            detail_scroll: 0,
            panel_scroll: 0,
            keys: Default::default(),
            watch: Default::default(),
            output: Default::default(),
        }
    }

    /// Open an overlay, by [`Overlay`]'s precedence: it replaces a lower-ranked one and is
    /// ignored while a higher-ranked one is open.
    pub fn open(&mut self, overlay: Overlay) {
        if self
            .overlay
            .as_ref()
            .is_none_or(|o| o.rank() <= overlay.rank())
        {
            self.overlay = Some(overlay);
        }
    }

    /// The open dialog, if the overlay is one.
    pub fn dialog(&self) -> Option<&Dialog> {
        match &self.overlay {
            Some(Overlay::Dialog(d)) => Some(d),
            _ => None,
        }
    }

    pub fn dialog_mut(&mut self) -> Option<&mut Dialog> {
        match &mut self.overlay {
            Some(Overlay::Dialog(d)) => Some(d),
            _ => None,
        }
    }

    /// Close the dialog if one is open (the timeline or the help stay).
    pub fn close_dialog(&mut self) {
        if self.dialog().is_some() {
            self.overlay = None;
        }
    }

    /// The timeline's scroll offset, when the timeline is the open overlay.
    pub fn timeline(&self) -> Option<usize> {
        match self.overlay {
            Some(Overlay::Timeline(off)) => Some(off),
            _ => None,
        }
    }

    /// Is the help the open overlay?
    pub fn help(&self) -> bool {
        self.overlay == Some(Overlay::Help)
    }

    pub fn stale_after(&self) -> Duration {
        self.plan.probes.interval * self.plan.probes.stale_after
    }

    pub fn section(&self, site: SiteId, sec: Section) -> &SectionState {
        &self.sections[site.index()][sec.index()]
    }

    pub fn view(&self, site: SiteId, sec: Section) -> SectionView<'_> {
        self.section(site, sec).view(self.now, self.stale_after())
    }

    pub fn verdict(&self, site: SiteId) -> Verdict {
        // A section the plan asks for but this build cannot probe (and that never received a
        // value) is left out of the verdict — the panel says "no probe" — rather than holding
        // the site at DEGRADED forever.
        crate::app::observe::verdict_of(Section::ALL.iter().filter_map(|s| {
            // Parity is DR's readiness (shown on both panels): drift never makes prod down.
            if site == SiteId::Prod && *s == Section::Parity {
                return None;
            }
            let v = self.view(site, *s);
            let unprobed = !self.section(site, *s).probed && v == SectionView::Waiting;
            (!unprobed).then(|| crate::app::observe::section_health(self, site, *s))
        }))
    }

    /// Look up `site.section.field` for a condition.
    pub fn lookup(&self, path: &str) -> Lookup {
        let mut parts = path.splitn(3, '.');
        let (Some(site), Some(sec), Some(field)) = (parts.next(), parts.next(), parts.next())
        else {
            return Lookup::Missing(format!("`{path}` is not SITE.SECTION.FIELD"));
        };
        let site = match site {
            "prod" => SiteId::Prod,
            "dr" => SiteId::Dr,
            _ => return Lookup::Missing(format!("unknown site `{site}`")),
        };
        let Some(sec) = Section::parse(sec) else {
            return Lookup::Missing(format!("unknown section `{sec}`"));
        };
        if field == "healthy" {
            return crate::app::observe::healthy_lookup(self, site, sec);
        }
        self.section(site, sec)
            .lookup(field, self.now, self.stale_after())
    }

    pub fn evaluate(&self, c: &Condition) -> CondResult {
        c.evaluate(&self.lookup(&c.path))
    }

    /// Step `i`'s preconditions as preflight checks (review mode, `check --online`).
    pub fn precondition_checks(&self, i: usize) -> Vec<PreflightCheck> {
        self.plan.steps[i]
            .requires
            .iter()
            .map(|c| {
                let r = self.evaluate(c);
                PreflightCheck {
                    what: format!("requires {}", c.text),
                    ok: r.known(),
                    detail: r.evidence().to_string(),
                }
            })
            .collect()
    }

    /// Preconditions of step `i` that do not pass now (failing or unknown), with evidence.
    pub fn unmet(&self, i: usize) -> Vec<String> {
        self.plan.steps[i]
            .requires
            .iter()
            .map(|c| (c, self.evaluate(c)))
            .filter(|(_, r)| !r.passed())
            .map(|(c, r)| format!("{} — {}", c.text, r.evidence()))
            .collect()
    }

    /// The status the checklist shows for step `i`.
    pub fn status(&self, i: usize) -> StepStatus {
        let run = &self.steps[i];
        match &run.phase {
            StepPhase::Running { .. } => StepStatus::Running,
            StepPhase::Succeeded { .. } => StepStatus::Succeeded,
            StepPhase::Failed { .. } => StepStatus::Failed,
            StepPhase::Skipped { .. } => StepStatus::Skipped,
            StepPhase::Unknown { .. } => StepStatus::Unknown,
            StepPhase::Pending => {
                if run.override_reason.is_none() {
                    let unmet = self.unmet(i);
                    if let Some(first) = unmet.first() {
                        let more = if unmet.len() > 1 {
                            format!(" (+{} more)", unmet.len() - 1)
                        } else {
                            String::new()
                        };
                        return StepStatus::Blocked {
                            reason: format!("{first}{more}"),
                        };
                    }
                }
                StepStatus::Pending
            }
        }
    }

    /// Why step `i` cannot be started now, or `None` when ⏎ (or `r`) would open its
    /// confirmation or start it. One rule for the dispatcher and for the key hints, so a key
    /// that is offered is a key that acts.
    pub fn why_not_run(&self, i: usize) -> Option<String> {
        if !self.mode.may_mutate() {
            return Some(format!("{} mode: steps do not run", self.mode.as_str()));
        }
        if let Some(e) = &self.journal_error {
            return Some(format!("cannot run a step: the journal is failing ({e})"));
        }
        if self.aborted.is_some() {
            return Some("the checklist was aborted; nothing more runs in this session".into());
        }
        if self
            .steps
            .iter()
            .any(|s| s.finishing && !matches!(s.phase, StepPhase::Running { .. }))
        {
            return Some("a step is being recorded; try again in a moment".into());
        }
        if let Some(r) = self.running_step() {
            return Some(format!(
                "step {} is running; one step at a time",
                self.plan.steps[r].id
            ));
        }
        if let Some(f) = self.failed_step().filter(|f| *f != i) {
            return Some(format!(
                "step {} failed: retry (r), skip (s) or abort (A) before going on",
                self.plan.steps[f].id
            ));
        }
        if let Some(prev) = (0..i).find(|p| !self.steps[*p].is_done()) {
            return Some(format!(
                "finish or skip step {} ({}) first",
                prev + 1,
                self.plan.steps[prev].id
            ));
        }
        if let StepStatus::Blocked { reason } = self.status(i) {
            return Some(format!(
                "blocked: {reason} — o overrides with a typed reason"
            ));
        }
        None
    }

    pub fn running_step(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| matches!(s.phase, StepPhase::Running { .. }))
    }

    pub fn failed_step(&self) -> Option<usize> {
        self.steps
            .iter()
            .position(|s| matches!(s.phase, StepPhase::Failed { .. }))
    }

    /// The first step not yet done (succeeded or skipped).
    pub fn next_step(&self) -> Option<usize> {
        self.steps.iter().position(|s| !s.is_done())
    }

    pub fn all_done(&self) -> bool {
        self.steps.iter().all(StepRun::is_done)
    }

    /// Does step `i` change the world when run?
    pub fn is_mutating(&self, i: usize) -> bool {
        crate::steps::is_mutating(&self.plan.steps[i].action)
    }

    pub fn is_engine_native(&self, i: usize) -> bool {
        matches!(
            self.plan.steps[i].action,
            StepAction::Approval
                | StepAction::Manual { .. }
                | StepAction::Check { .. }
                | StepAction::Wait { .. }
        )
    }

    /// RPO estimate: the DR database lag (bytes behind, the primary signal), with the replay
    /// age when known — fresh values only.
    /// Why the header's RPO cannot be believed right now, if it cannot: the DR standby's lag
    /// measures data loss only while the prod primary answers. With the primary down, erroring,
    /// stale or in a split brain, the data it never shipped is unknowable from here, so the
    /// figure would only look right (issue 11: never a number that only looks right).
    pub fn rpo_unknown_reason(&self) -> Option<String> {
        use super::observe::{SectionHealth, section_health};
        let why = match section_health(self, SiteId::Prod, Section::Database) {
            SectionHealth::NotConfigured | SectionHealth::Good | SectionHealth::Warn => {
                return None;
            }
            SectionHealth::Waiting => "prod db not seen yet",
            SectionHealth::Stale => "prod db stale",
            SectionHealth::Error => "prod db down",
            SectionHealth::Bad => "prod db unhealthy",
        };
        Some(why.to_string())
    }

    /// How far the expanded panels can scroll, in detail lines (the renderer keeps the last
    /// page full).
    pub fn panel_scroll_max(&self) -> u16 {
        let rows = SiteId::ALL
            .iter()
            .map(|site| {
                Section::ALL
                    .iter()
                    .filter_map(|sec| match self.view(*site, *sec) {
                        SectionView::Fresh { reading, .. } | SectionView::Stale { reading, .. } => {
                            Some(reading.details.len())
                        }
                        _ => None,
                    })
                    .sum::<usize>()
            })
            .max()
            .unwrap_or(0);
        u16::try_from(rows).unwrap_or(u16::MAX)
    }

    /// The RPO the header shows: DR lag (bytes · replay age), only while it can be believed
    /// (see [`State::rpo_unknown_reason`]).
    pub fn rpo_estimate(&self) -> Option<String> {
        if self.rpo_unknown_reason().is_some() {
            return None;
        }
        let fresh = |path: &str| match self.lookup(path) {
            Lookup::Value {
                value,
                stale: false,
                ..
            } => Some(value.to_string()),
            _ => None,
        };
        let lag = fresh("dr.database.lag")?;
        Some(match fresh("dr.database.replay_age") {
            Some(age) => format!("{lag} · {age}"),
            None => lag,
        })
    }

    /// After a DNS switch: until when resolvers may still hold the old answer (the DNS probe's
    /// `caches_left`, counted from when it was read). `None` when nothing is pending.
    pub fn dns_caches_until(&self) -> Option<DateTime<Utc>> {
        SiteId::ALL
            .iter()
            .filter_map(|site| {
                let (r, at) = self.section(*site, Section::Dns).last_good.as_ref()?;
                match r.fields.get("caches_left") {
                    Some(crate::plan::Value::Duration(d)) if !d.is_zero() => {
                        Some(*at + chrono::Duration::from_std(*d).ok()?)
                    }
                    _ => None,
                }
            })
            .max()
            .filter(|until| *until > self.now)
    }

    /// The incident clock: from the declaration (or the session start) to now — or, for a
    /// followed journal whose session has ended, to its end (a finished record does not keep
    /// counting).
    pub fn incident_elapsed(&self) -> Duration {
        let until = match self.watch.ended_at {
            Some(end) if end < self.now => end,
            _ => self.now,
        };
        super::observe::age(until, self.started)
    }
}
