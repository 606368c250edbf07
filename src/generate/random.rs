//! The random phase: proptest strategies built from a spec table. Each parameter is
//! omitted, valid, a boundary or wrong-typed value, or random text; unknown and
//! duplicated parameters are mixed in. Shrinking drops parameters and simplifies
//! values towards the baseline call.

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::{Builder, Subject};
use crate::spec::{ParamType, Role, Spec};
use crate::wire::{Call, RawParam, RawValue};

/// How one parameter appears in a random call.
#[derive(Debug, Clone)]
enum Pick {
    Omit,
    Valid(usize),
    Integer(i64),
    Text(String),
    Twice(usize, usize),
}

/// A strategy for whole calls against `subject`.
pub fn calls(spec: &Spec, subject: &Subject) -> BoxedStrategy<Call> {
    let b = Builder::new(spec, subject);
    let rows: Vec<_> = spec.params.iter().map(|p| p.get_ref().clone()).collect();
    let per_param: Vec<BoxedStrategy<Pick>> = rows
        .iter()
        .map(|p| {
            let n = b.valid_values(p).len().max(1);
            // Mostly valid calls (a deviation in how a valid change is applied needs
            // one), with enough noise to reach every error path. Targets and regions
            // are mostly right, so a case about a value reaches the value check.
            let (omit, valid, noise) = match p.role {
                Role::Target | Role::Region => (1, 24, 1),
                Role::DryRun => (8, 4, 1),
                Role::Option => (4, 8, 1),
            };
            prop_oneof![
                omit => Just(Pick::Omit),
                valid => (0..n).prop_map(Pick::Valid),
                noise => prop_oneof![-2i64..=70, any::<i64>()].prop_map(Pick::Integer),
                noise => "[ -~]{0,12}".prop_map(Pick::Text),
                noise => ((0..n), (0..n)).prop_map(|(a, c)| Pick::Twice(a, c)),
            ]
            .boxed()
        })
        .collect();
    let unknown = proptest::option::weighted(0.1, ("[A-Z][A-Za-z]{0,10}", "[ -~]{0,6}"));
    let operation = spec.api.operation.clone();
    let json = spec.api.protocol.typed_values();
    let valid: Vec<Vec<String>> = rows.iter().map(|p| b.valid_values(p)).collect();
    (per_param, unknown)
        .prop_map(move |(picks, unknown)| {
            let mut params = Vec::new();
            for ((p, pick), valid) in rows.iter().zip(picks).zip(&valid) {
                let typed = |text: String| match p.kind {
                    ParamType::Integer | ParamType::Boolean if json => RawValue::Json(text),
                    _ => RawValue::Text(text),
                };
                let at = |i: usize| valid.get(i).cloned().unwrap_or_default();
                match pick {
                    Pick::Omit => {}
                    Pick::Valid(i) => params.push(RawParam {
                        name: p.name.clone(),
                        value: typed(at(i)),
                    }),
                    Pick::Integer(n) => params.push(RawParam {
                        name: p.name.clone(),
                        value: typed(n.to_string()),
                    }),
                    Pick::Text(t) => params.push(RawParam::text(p.name.clone(), t)),
                    Pick::Twice(a, c) => {
                        params.push(RawParam {
                            name: p.name.clone(),
                            value: typed(at(a)),
                        });
                        params.push(RawParam {
                            name: p.name.clone(),
                            value: typed(at(c)),
                        });
                    }
                }
            }
            if let Some((name, value)) = unknown {
                if !rows.iter().any(|p| p.name == name) {
                    params.push(RawParam::text(name, value));
                }
            }
            Call {
                operation: operation.clone(),
                params,
            }
        })
        .boxed()
}
