//! XML as a tree of `serde_json::Value`, both directions, so that every protocol's
//! answer reaches the engine in one shape.
//!
//! Reading: namespaces and attributes are dropped, element order inside an object is
//! kept but never relied on, an element holding only `item`/`member` children (the AWS
//! list convention) becomes an array, a repeated element becomes an array, a leaf
//! becomes its trimmed text. Writing is the inverse for the emulator.

use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

use super::DecodeError;

/// Nesting deeper than this is refused: real answers are a handful of levels deep,
/// and a bound keeps hostile input from costing unbounded memory.
pub const MAX_DEPTH: usize = 64;

struct Open {
    name: String,
    children: Vec<(String, Value)>,
    text: String,
}

/// Parse an XML document into (root element's local name, its tree).
pub fn parse_xml(text: &str) -> Result<(String, Value), DecodeError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    let mut elements = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| DecodeError::Xml(e.to_string()))?;
        if matches!(event, Event::Start(_) | Event::Empty(_)) {
            elements += 1;
            if elements > super::MAX_NODES {
                return Err(DecodeError::Xml(format!(
                    "more than {} elements",
                    super::MAX_NODES
                )));
            }
        }
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(DecodeError::Xml("content after the root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(DecodeError::Xml(format!("nesting deeper than {MAX_DEPTH}")));
                }
                let name = local_name(start.local_name().as_ref())?;
                stack.push(Open {
                    name,
                    children: Vec::new(),
                    text: String::new(),
                });
            }
            Event::Empty(start) => {
                let name = local_name(start.local_name().as_ref())?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push((name, Value::String(String::new()))),
                    None if root.is_none() => root = Some((name, Value::String(String::new()))),
                    None => return Err(DecodeError::Xml("content after the root element".into())),
                }
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(|e| DecodeError::Xml(e.to_string()))?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(DecodeError::Xml("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let s = std::str::from_utf8(&c).map_err(|_| DecodeError::Utf8)?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(s),
                    None => return Err(DecodeError::Xml("CDATA outside the root element".into())),
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start names.
                let open = stack
                    .pop()
                    .ok_or_else(|| DecodeError::Xml("unbalanced end tag".into()))?;
                let value = close(open.children, open.text);
                match stack.last_mut() {
                    Some(parent) => parent.children.push((open.name, value)),
                    None => root = Some((open.name, value)),
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(DecodeError::Xml("unexpected end of document".into()));
    }
    root.ok_or_else(|| DecodeError::Xml("no root element".into()))
}

fn local_name(raw: &[u8]) -> Result<String, DecodeError> {
    std::str::from_utf8(raw)
        .map(str::to_string)
        .map_err(|_| DecodeError::Utf8)
}

fn close(children: Vec<(String, Value)>, text: String) -> Value {
    if children.is_empty() {
        return Value::String(text.trim().to_string());
    }
    if children.iter().all(|(n, _)| n == "item" || n == "member") {
        return Value::Array(children.into_iter().map(|(_, v)| v).collect());
    }
    let mut map = Map::new();
    for (name, value) in children {
        match map.get_mut(&name) {
            None => {
                map.insert(name, value);
            }
            Some(Value::Array(items)) if is_repeat_list(items) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
                mark_repeat(existing);
            }
        }
    }
    for v in map.values_mut() {
        unmark_repeat(v);
    }
    Value::Object(map)
}

// A repeated element becomes an array; arrays that came from `item` lists must not be
// merged into by a later sibling of the same name, so repeats are tracked with a
// marker element that is removed once the parent closes.
const REPEAT_MARK: &str = "\u{0}repeat";

fn is_repeat_list(items: &[Value]) -> bool {
    matches!(items.first(), Some(Value::String(s)) if s == REPEAT_MARK)
}

fn mark_repeat(v: &mut Value) {
    if let Value::Array(items) = v {
        items.insert(0, Value::String(REPEAT_MARK.into()));
    }
}

fn unmark_repeat(v: &mut Value) {
    if let Value::Array(items) = v {
        if is_repeat_list(items) {
            items.remove(0);
        }
    }
}

/// How arrays are written: AWS wraps elements in `<item>`; Alibaba repeats the
/// member's own element (`<Instance>…</Instance><Instance>…</Instance>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lists {
    /// Arrays as `<item>` elements.
    Items,
    /// Arrays as repeated elements named like the member.
    Repeated,
}

/// Write `value` as the document `<root xmlns=...>…</root>`, arrays as `<item>`s.
pub fn write_xml(root: &str, xmlns: Option<&str>, value: &Value) -> String {
    write_xml_with(root, xmlns, value, Lists::Items)
}

/// Write `value` as the document `<root xmlns=...>…</root>`, arrays as `lists` says.
pub fn write_xml_with(root: &str, xmlns: Option<&str>, value: &Value, lists: Lists) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push('<');
    out.push_str(root);
    if let Some(ns) = xmlns {
        out.push_str(" xmlns=\"");
        out.push_str(&escape(ns));
        out.push('"');
    }
    out.push('>');
    write_content(value, &mut out, lists);
    out.push_str("</");
    out.push_str(root);
    out.push('>');
    out
}

fn write_element(name: &str, value: &Value, out: &mut String, lists: Lists) {
    if let (Value::Array(items), Lists::Repeated) = (value, lists) {
        for v in items {
            write_element(name, v, out, lists);
        }
        return;
    }
    out.push('<');
    out.push_str(name);
    out.push('>');
    write_content(value, out, lists);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn write_content(value: &Value, out: &mut String, lists: Lists) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                write_element(k, v, out, lists);
            }
        }
        Value::Array(items) => {
            for v in items {
                write_element("item", v, out, lists);
            }
        }
        Value::String(s) => out.push_str(&escape(s)),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => {}
    }
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_leaves_and_namespaces() {
        let xml = r#"<?xml version="1.0"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <reservationSet><item><instancesSet>
    <item><instanceId>i-1</instanceId><metadataOptions><state>applied</state></metadataOptions></item>
  </instancesSet></item></reservationSet>
  <tag>a</tag><tag>b</tag><empty/>
</DescribeInstancesResponse>"#;
        let (root, tree) = parse_xml(xml).unwrap();
        assert_eq!(root, "DescribeInstancesResponse");
        assert_eq!(tree["requestId"], "r-1");
        assert_eq!(
            tree["reservationSet"][0]["instancesSet"][0]["metadataOptions"]["state"],
            "applied"
        );
        assert_eq!(tree["tag"], json!(["a", "b"]));
        assert_eq!(tree["empty"], "");
    }

    #[test]
    fn write_then_parse_round_trips() {
        let v = json!({"requestId": "r", "instanceId": "i-1",
            "set": [{"a": "1"}, {"a": "2 & <3>"}], "flag": true, "n": 5});
        let xml = write_xml("XResponse", Some("http://x/"), &v);
        let (root, back) = parse_xml(&xml).unwrap();
        assert_eq!(root, "XResponse");
        assert_eq!(back["set"][1]["a"], "2 & <3>");
        assert_eq!(back["flag"], "true");
        assert_eq!(back["n"], "5");
    }

    #[test]
    fn repeated_lists_read_back_as_arrays() {
        let v = json!({"Instances": {"Instance": [{"InstanceId": "a"}, {"InstanceId": "b"}]}});
        let xml = write_xml_with("R", None, &v, Lists::Repeated);
        assert!(
            xml.contains("<Instance><InstanceId>a</InstanceId></Instance><Instance>"),
            "{xml}"
        );
        let (_, back) = parse_xml(&xml).unwrap();
        assert_eq!(back["Instances"]["Instance"][1]["InstanceId"], "b");
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for bad in ["", "<a>", "<a></b>", "text", "<a/><b/>", "<a>&bogus;</a>"] {
            assert!(parse_xml(bad).is_err(), "{bad:?} should be refused");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse_xml(&deep).is_err());
    }
}
