//! The table as it reads under a set of ambiguity readings: the spec's rows with the
//! readings' patches applied.

use std::collections::BTreeSet;

use super::{Acceptable, AnswerShape, Expected};
use crate::spec::{Ambiguity, ErrorRef, Param, Patch, Spec};
use crate::wire::{Call, RawValue};

/// A parameter row under the current readings.
#[derive(Debug, Clone)]
pub struct EffParam {
    /// The table's row.
    pub row: Param,
    /// Accepted and without effect.
    pub ignored: bool,
    /// Refused whatever its value.
    pub rejected: Option<ErrorRef>,
}

/// The table as it reads under one combination of ambiguity readings.
#[derive(Debug, Clone)]
pub struct Effective {
    /// Every parameter row, patched.
    pub params: Vec<EffParam>,
    /// Error codes whose exact code is not established under these readings.
    pub inexact_errors: BTreeSet<String>,
    /// The modify answer's shape, patched.
    pub shape: AnswerShape,
}

impl Effective {
    /// The table as written (no reading applied).
    pub fn base(spec: &Spec) -> Self {
        Effective {
            params: spec
                .params
                .iter()
                .map(|p| EffParam {
                    row: p.get_ref().clone(),
                    ignored: false,
                    rejected: None,
                })
                .collect(),
            // Entries' own `exact` flags are read where an entry is used; this set
            // holds only what readings add.
            inexact_errors: BTreeSet::new(),
            shape: AnswerShape {
                options_path: spec.response.options_path.clone(),
                state_field: spec.response.state_field.clone(),
                fields: spec.response.fields.clone(),
            },
        }
    }

    /// The row with this wire name.
    pub fn param(&self, name: &str) -> Option<&EffParam> {
        self.params.iter().find(|p| p.row.name == name)
    }

    /// Apply one reading's patches.
    pub fn apply(&mut self, patches: &[Patch]) {
        for patch in patches {
            if let Some(name) = &patch.param {
                if let Some(p) = self.params.iter_mut().find(|p| &p.row.name == name) {
                    apply_to_param(p, patch);
                }
            }
            if let Some(code) = &patch.error {
                if patch.exact == Some(false) {
                    self.inexact_errors.insert(code.clone());
                } else if patch.exact == Some(true) {
                    self.inexact_errors.remove(code);
                }
            }
            if patch.response {
                if let Some(path) = &patch.options_path {
                    self.shape.options_path = Some(path.clone());
                }
                if let Some(fields) = &patch.fields {
                    self.shape.fields = fields.clone();
                }
            }
        }
    }
}

fn apply_to_param(p: &mut EffParam, patch: &Patch) {
    if let Some(range) = patch.range {
        p.row.range = Some(range);
    }
    if let Some(values) = &patch.values {
        p.row.values = values.clone();
    }
    if patch.unbounded {
        p.row.range = None;
    }
    if let Some(required) = patch.required {
        p.row.required = required;
    }
    if let Some(absent) = &patch.absent {
        p.row.absent = absent.clone();
    }
    if let Some(default) = &patch.default {
        p.row.default = Some(default.clone());
    }
    if let Some(rejected) = &patch.rejected {
        p.rejected = Some(rejected.clone());
    }
    if let Some(regions) = &patch.regions {
        p.row.regions = regions.clone();
    }
    if patch.ignored {
        p.ignored = true;
    }
}

/// Does any reading patch a parameter in a way this call exercises? Value patches
/// matter when the parameter is sent, omission patches when it is not.
pub fn touches_params(amb: &Ambiguity, call: &Call) -> bool {
    amb.readings.iter().flat_map(|r| &r.set).any(|patch| {
        let Some(name) = &patch.param else {
            return false;
        };
        let values: Vec<&RawValue> = call.values(name).collect();
        let present = !values.is_empty();
        // An empty or null value may be read as an omission.
        let maybe_absent = values.iter().all(|v| match v {
            RawValue::Text(t) => t.is_empty(),
            RawValue::Json(j) => j == "null",
        });
        let about_value = patch.range.is_some()
            || patch.values.is_some()
            || patch.unbounded
            || patch.rejected.is_some()
            || patch.regions.is_some()
            || patch.ignored;
        let about_absence =
            patch.absent.is_some() || patch.required.is_some() || patch.default.is_some();
        (present && about_value) || (maybe_absent && about_absence)
    })
}

/// Does any reading patch an error code or the answer shape that these outcomes use?
pub fn touches_outcomes(amb: &Ambiguity, outcomes: &[Acceptable]) -> bool {
    amb.readings.iter().flat_map(|r| &r.set).any(|patch| {
        if let Some(code) = &patch.error {
            return outcomes.iter().any(|o| match &o.expected {
                Expected::Error {
                    code: c, likely, ..
                } => {
                    c.as_deref() == Some(code.as_str()) || likely.as_deref() == Some(code.as_str())
                }
                Expected::Success { .. } => false,
            });
        }
        if patch.response {
            return outcomes.iter().any(|o| {
                matches!(
                    o.expected,
                    Expected::Success {
                        targets_instance: true,
                        ..
                    }
                )
            });
        }
        false
    })
}
