//! The one template language of the notifications: `{name}` placeholders filled from a list of
//! values, unknown ones left as written (so a typo shows in the message rather than vanishing).
//! Both the plan-level `[notify]` milestones (`crate::notify`) and the `notify.*` step kinds
//! (`crate::steps::notify`) fill their messages with it; it lives here, at the bottom layer,
//! because both of them sit on the same floor and may not use each other.

/// `{name}` placeholders filled from `values`; unknown ones stay as written.
pub fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (k, v) in values {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}
