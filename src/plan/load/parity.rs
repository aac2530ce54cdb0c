//! `[parity]` (issue 16): the ratio DR may be scaled down by and the accepted differences. An
//! ignore entry with an unknown prefix is an error with a suggestion, never silently unused.

use super::spans::{Seg, at};
use super::{Cx, PlanError, suggest};
use crate::plan::{ParityConfig, ParityItem, raw};

impl Cx<'_, '_> {
    pub(super) fn parity(&mut self, p: &raw::ParitySection) -> Result<ParityConfig, PlanError> {
        let mut cfg = ParityConfig::default();
        if let Some(r) = p.scale_down {
            if !(r > 0.0 && r <= 1.0) {
                return Err(self.err(
                    at(&[Seg::K("parity"), Seg::K("scale_down")]),
                    format!(
                        "`parity.scale_down` = {r}: expected a ratio above 0 and at most 1 (0.25 = DR may run a quarter of prod's CPU, memory and instances)"
                    ),
                ));
            }
            cfg.scale_down = r;
        }
        let prefixes: Vec<String> = ParityItem::ALL
            .iter()
            .map(|i| format!("{}:NAME", i.as_str()))
            .collect();
        for (i, entry) in p.ignore.iter().enumerate() {
            let (prefix, name) = entry.split_once(':').unwrap_or((entry.as_str(), ""));
            let (prefix, name) = (prefix.trim(), name.trim());
            let Some(item) = ParityItem::parse(prefix) else {
                let words = ParityItem::ALL.map(ParityItem::as_str);
                return Err(self.err_full(
                    at(&[Seg::K("parity"), Seg::K("ignore"), Seg::I(i)]),
                    format!("`parity.ignore` entry \"{entry}\": unknown kind `{prefix}`"),
                    prefixes,
                    suggest(prefix, words).map(|w| format!("{w}:{name}")),
                    None,
                ));
            };
            if name.is_empty() {
                return Err(self.err_full(
                    at(&[Seg::K("parity"), Seg::K("ignore"), Seg::I(i)]),
                    format!("`parity.ignore` entry \"{entry}\" names nothing after `{prefix}:`"),
                    prefixes,
                    None,
                    None,
                ));
            }
            cfg.ignore.push((item, name.to_string()));
        }
        Ok(cfg)
    }
}
