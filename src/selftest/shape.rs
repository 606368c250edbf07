//! Answer bodies in the shape the table describes: the modify answer (constants,
//! the options object and its change state) and the read-back (the instance list
//! at `instances_path`, each instance's id, run state and options). The inverse of
//! what the runner reads with `verdict::lookup`.

use serde_json::{Map, Value};

use crate::oracle::{AnswerShape, Options};
use crate::spec::{ParamType, Spec};

/// Put `value` at the dotted `path` under `root` (objects created on the way; a
/// `*` segment makes a one-element list).
pub fn set_path(root: &mut Value, path: &str, value: Value) {
    let segments: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    let mut v = value;
    // Build the tail below the first segment that needs a list, inside out.
    let star = segments.iter().position(|s| *s == "*");
    if let Some(at) = star {
        for seg in segments[at..].iter().rev() {
            v = if *seg == "*" {
                Value::Array(vec![v])
            } else {
                let mut m = Map::new();
                m.insert((*seg).to_string(), v);
                Value::Object(m)
            };
        }
    }
    let head = &segments[..star.unwrap_or(segments.len())];
    let Some((last, parents)) = head.split_last() else {
        *root = v;
        return;
    };
    let mut here = root;
    for seg in parents {
        if !here.is_object() {
            *here = Value::Object(Map::new());
        }
        let Value::Object(m) = here else { return };
        here = m
            .entry((*seg).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !here.is_object() {
        *here = Value::Object(Map::new());
    }
    if let Value::Object(m) = here {
        m.insert((*last).to_string(), v);
    }
}

/// An option's value as the protocol carries it: JSON protocols send integers as
/// numbers; everything else is text.
pub fn typed(spec: &Spec, json: bool, option: &str, value: &str) -> Value {
    let integer = spec
        .params
        .iter()
        .map(|p| p.get_ref())
        .any(|p| p.option.as_deref() == Some(option) && p.kind == ParamType::Integer);
    match value.parse::<i64>() {
        Ok(n) if json && integer => Value::from(n),
        _ => Value::String(value.to_string()),
    }
}

/// The options object: each field of `fields` whose option the instance has, and
/// the change state under `state_field`.
pub fn options_object(
    spec: &Spec,
    json: bool,
    fields: &std::collections::BTreeMap<String, String>,
    options: &Options,
    state: Option<(&str, &str)>,
) -> Value {
    let mut m = Map::new();
    if let Some((field, s)) = state {
        m.insert(field.to_string(), Value::String(s.to_string()));
    }
    for (option, field) in fields {
        if let Some(v) = options.get(option) {
            m.insert(field.clone(), typed(spec, json, option, v));
        }
    }
    Value::Object(m)
}

/// The body of a successful modify: the constants, and the options where the shape
/// has them.
pub fn modify_body(
    spec: &Spec,
    json: bool,
    shape: &AnswerShape,
    instance: &str,
    options: Option<&Options>,
    state: &str,
) -> Value {
    let mut body = Value::Object(Map::new());
    for (path, value) in &spec.response.constants {
        set_path(
            &mut body,
            path,
            Value::String(value.replace("{instance}", instance)),
        );
    }
    if let (Some(path), Some(options)) = (&shape.options_path, options) {
        let state = shape.state_field.as_deref().map(|f| (f, state));
        let obj = options_object(spec, json, &shape.fields, options, state);
        set_path(&mut body, path, obj);
    }
    body
}

/// What the read-back shows of one instance.
pub struct Shown<'a> {
    /// The instance's id.
    pub id: &'a str,
    /// Its run state (`running`…).
    pub run_state: &'a str,
    /// Its options.
    pub options: &'a Options,
    /// The state of its last change (`pending`, `applied`).
    pub change_state: &'a str,
    /// Options whose field the read-back leaves out.
    pub dropped: &'a [String],
}

/// The body of a read-back showing `shown`.
pub fn readback_body(spec: &Spec, json: bool, shown: &[Shown]) -> Value {
    let rb = &spec.readback;
    let mut instances = Vec::new();
    for s in shown {
        let mut inst = Value::Object(Map::new());
        set_path(&mut inst, &rb.id_field, Value::String(s.id.to_string()));
        if let Some(p) = &rb.run_state_path {
            set_path(&mut inst, p, Value::String(s.run_state.to_string()));
        }
        let fields = rb
            .fields
            .iter()
            .filter(|(o, _)| !s.dropped.contains(o))
            .map(|(o, f)| (o.clone(), f.clone()))
            .collect();
        let state = rb.state_field.as_deref().map(|f| (f, s.change_state));
        let obj = options_object(spec, json, &fields, s.options, state);
        set_path(&mut inst, &rb.options_path, obj);
        instances.push(inst);
    }
    // The instances sit in the list at the last `*` of the path (or the path holds
    // one instance).
    let path = &rb.instances_path;
    let mut body = Value::Object(Map::new());
    match path.rsplit_once(".*").filter(|(_, rest)| rest.is_empty()) {
        Some((outer, _)) => {
            let mut holder = Value::Null;
            set_path(&mut holder, &format!("{outer}.*"), Value::Null);
            fill_innermost(&mut holder, Value::Array(instances));
            merge(&mut body, holder);
        }
        None => {
            if let Some(first) = instances.into_iter().next() {
                set_path(&mut body, path, first);
            }
        }
    }
    body
}

/// Replace the innermost one-element list (built by `set_path` for the last `*`)
/// with `list`.
fn fill_innermost(v: &mut Value, list: Value) {
    match v {
        Value::Array(items) if items.len() == 1 && items[0].is_null() => *v = list,
        Value::Array(items) => {
            if let Some(first) = items.first_mut() {
                fill_innermost(first, list);
            }
        }
        Value::Object(m) => {
            if let Some((_, child)) = m.iter_mut().next() {
                fill_innermost(child, list);
            }
        }
        _ => {}
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                a.insert(k, v);
            }
        }
        (slot, other) => *slot = other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::lookup;
    use serde_json::json;

    #[test]
    fn paths_build_what_lookup_reads() {
        let mut v = Value::Null;
        set_path(&mut v, "a.*.b.*", json!("x"));
        assert_eq!(v, json!({"a": [{"b": ["x"]}]}));
        assert_eq!(lookup(&v, "a.*.b.*"), vec![&json!("x")]);
        let mut w = json!({"op": {"k": "1"}});
        set_path(&mut w, "op.j", json!("2"));
        assert_eq!(w, json!({"op": {"k": "1", "j": "2"}}));
    }

    #[test]
    fn the_innermost_list_takes_every_instance() {
        let mut holder = Value::Null;
        set_path(&mut holder, "r.*.i.*", Value::Null);
        fill_innermost(&mut holder, json!([1, 2]));
        assert_eq!(holder, json!({"r": [{"i": [1, 2]}]}));
        assert_eq!(lookup(&holder, "r.*.i.*").len(), 2);
    }
}
