//! The table as it reads under a set of ambiguity readings: the spec's rows with the
//! readings' patches applied. Rows are borrowed views of the table: a patch
//! overrides a field of the view and never clones a row.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::{Acceptable, AnswerShape, Expected};
use crate::spec::{Absent, Ambiguity, Cites, ErrorRef, Param, ParamType, Patch, Range, Role, Spec};
use crate::wire::{Call, RawValue};

/// A parameter row as it reads under the current readings: the table's row, with
/// the fields a reading patches overridden. Everything is borrowed from the table
/// (or from the patch that overrides it).
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub name: &'a str,
    pub role: Role,
    pub option: &'a Option<String>,
    pub kind: ParamType,
    pub required: bool,
    pub values: &'a [String],
    pub range: Option<Range>,
    /// The row's compiled pattern.
    pub pattern: Option<&'a Regex>,
    pub absent: Absent,
    pub default: Option<&'a str>,
    pub invalid: Option<&'a ErrorRef>,
    pub regions: &'a [String],
    pub cite: &'a Cites,
}

impl<'a> Row<'a> {
    fn of(p: &'a Param) -> Self {
        Row {
            name: &p.name,
            role: p.role,
            option: &p.option,
            kind: p.kind,
            required: p.required,
            values: &p.values,
            range: p.range,
            pattern: p.pattern_regex.as_deref(),
            absent: p.absent.clone(),
            default: p.default.as_deref(),
            invalid: p.invalid.as_ref(),
            regions: &p.regions,
            cite: &p.cite,
        }
    }
}

/// A parameter row under the current readings.
#[derive(Debug, Clone)]
pub struct EffParam<'a> {
    pub row: Row<'a>,
    /// Accepted and without effect.
    pub ignored: bool,
    /// Refused whatever its value.
    pub rejected: Option<&'a ErrorRef>,
}

/// Where the modify answer keeps the options, borrowed from the table or a patch.
#[derive(Debug, Clone, Copy)]
pub struct ShapeRef<'a> {
    pub options_path: Option<&'a str>,
    pub state_field: Option<&'a str>,
    pub fields: &'a BTreeMap<String, String>,
}

impl ShapeRef<'_> {
    pub fn to_shape(self) -> AnswerShape {
        AnswerShape {
            options_path: self.options_path.map(str::to_string),
            state_field: self.state_field.map(str::to_string),
            fields: self.fields.clone(),
        }
    }
}

/// What readings change about the outcomes rather than about the parameters: which
/// error codes are not established, and the answer's shape.
#[derive(Debug, Clone)]
pub struct Answering<'a> {
    /// Error codes whose exact code is not established under these readings.
    pub inexact_errors: BTreeSet<&'a str>,
    pub shape: ShapeRef<'a>,
}

impl<'a> Answering<'a> {
    pub fn base(spec: &'a Spec) -> Self {
        Answering {
            // Entries' own `exact` flags are read where an entry is used; this set
            // holds only what readings add.
            inexact_errors: BTreeSet::new(),
            shape: ShapeRef {
                options_path: spec.response.options_path.as_deref(),
                state_field: spec.response.state_field.as_deref(),
                fields: &spec.response.fields,
            },
        }
    }

    /// Apply the error and response parts of `patches`.
    pub fn apply(&mut self, patches: &'a [Patch]) {
        for patch in patches {
            if let Some(code) = &patch.error {
                if patch.exact == Some(false) {
                    self.inexact_errors.insert(code.as_str());
                } else if patch.exact == Some(true) {
                    self.inexact_errors.remove(code.as_str());
                }
            }
            if patch.response {
                if let Some(path) = &patch.options_path {
                    self.shape.options_path = Some(path.as_str());
                }
                if let Some(fields) = &patch.fields {
                    self.shape.fields = fields;
                }
            }
        }
    }
}

/// The table as it reads under one combination of ambiguity readings.
#[derive(Debug, Clone)]
pub struct Effective<'a> {
    pub params: Vec<EffParam<'a>>,
    pub answering: Answering<'a>,
}

impl<'a> Effective<'a> {
    /// The table as it is, under no reading.
    pub fn base(spec: &'a Spec) -> Self {
        Effective {
            params: spec
                .params
                .iter()
                .map(|p| EffParam {
                    row: Row::of(p.get_ref()),
                    ignored: false,
                    rejected: None,
                })
                .collect(),
            answering: Answering::base(spec),
        }
    }

    pub fn param(&self, name: &str) -> Option<&EffParam<'a>> {
        self.params.iter().find(|p| p.row.name == name)
    }

    /// Apply every part of `patches`.
    pub fn apply(&mut self, patches: &'a [Patch]) {
        self.apply_to_params(patches);
        self.answering.apply(patches);
    }

    /// Apply only the parameter parts of `patches`.
    pub fn apply_to_params(&mut self, patches: &'a [Patch]) {
        for patch in patches {
            if let Some(name) = &patch.param {
                if let Some(p) = self.params.iter_mut().find(|p| p.row.name == name.as_str()) {
                    apply_to_param(p, patch);
                }
            }
        }
    }
}

/// Does any patch of `patches` change a parameter row?
pub fn patches_params(patches: &[Patch]) -> bool {
    patches.iter().any(|p| p.param.is_some())
}

fn apply_to_param<'a>(p: &mut EffParam<'a>, patch: &'a Patch) {
    if let Some(range) = patch.range {
        p.row.range = Some(range);
    }
    if let Some(values) = &patch.values {
        p.row.values = values.as_slice();
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
        p.row.default = Some(default.as_str());
    }
    if let Some(rejected) = &patch.rejected {
        p.rejected = Some(rejected);
    }
    if let Some(regions) = &patch.regions {
        p.row.regions = regions.as_slice();
    }
    if patch.ignored {
        p.ignored = true;
    }
}

/// The ambiguities (indices) some reading of which patches a parameter in a way
/// `call` exercises.
pub fn touched_by_params(spec: &Spec, call: &Call) -> Vec<usize> {
    spec.ambiguities
        .iter()
        .enumerate()
        .filter(|(_, a)| touches_params(a.get_ref(), call))
        .map(|(i, _)| i)
        .collect()
}

/// The ambiguities (indices) not in `touched` some reading of which patches an
/// error code or the answer shape that `outcomes` use.
pub fn touched_by_outcomes<'x>(
    spec: &Spec,
    touched: &[usize],
    outcomes: impl Iterator<Item = &'x Acceptable> + Clone,
) -> Vec<usize> {
    spec.ambiguities
        .iter()
        .enumerate()
        .filter(|(i, a)| !touched.contains(i) && touches_outcomes(a.get_ref(), outcomes.clone()))
        .map(|(i, _)| i)
        .collect()
}

/// Does any reading patch a parameter in a way this call exercises? Value patches
/// matter when the parameter is sent, omission patches when it is not.
fn touches_params(amb: &Ambiguity, call: &Call) -> bool {
    amb.readings.iter().flat_map(|r| &r.set).any(|patch| {
        let Some(name) = &patch.param else {
            return false;
        };
        let mut values = call.values(name).peekable();
        let present = values.peek().is_some();
        // An empty or null value may be read as an omission.
        let maybe_absent = values.all(|v| match v {
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
fn touches_outcomes<'x>(
    amb: &Ambiguity,
    outcomes: impl Iterator<Item = &'x Acceptable> + Clone,
) -> bool {
    amb.readings.iter().flat_map(|r| &r.set).any(|patch| {
        if let Some(code) = &patch.error {
            return outcomes.clone().any(|o| match &o.expected {
                Expected::Error {
                    code: c, likely, ..
                } => {
                    c.as_deref() == Some(code.as_str()) || likely.as_deref() == Some(code.as_str())
                }
                Expected::Success { .. } => false,
            });
        }
        if patch.response {
            return outcomes.clone().any(|o| {
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
