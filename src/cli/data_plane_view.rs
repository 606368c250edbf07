//! `spec show`'s data-plane section: the metadata service's layout and its rules,
//! each with its sources.
use std::fmt::Write;

use imds_conform::spec::{DataAnswer, Spec};

fn answer(a: &DataAnswer) -> String {
    let mut s = match (a.status, a.no_answer) {
        (_, true) => "no answer".to_string(),
        (Some(st), _) if a.exact => st.to_string(),
        (Some(st), _) => format!("a client error (likely {st})"),
        (None, false) => "?".to_string(),
    };
    if a.echo_ttl {
        s.push_str(", TTL header echoed");
    }
    if let Some(r) = &a.reading {
        s.push_str(&format!(" under {r}"));
    }
    s
}

/// Append the `[data_plane]` section (nothing when the table has none).
pub fn render(o: &mut String, spec: &Spec) {
    let Some(dp) = &spec.data_plane else { return };
    let _ = writeln!(o, "\nData plane (instance metadata service)");
    let _ = writeln!(
        o,
        "  http://{}{}  token PUT {} ({} {}..={})  token header {}",
        dp.address_v4,
        dp.address_v6
            .as_ref()
            .map(|v6| format!("  http://[{v6}]"))
            .unwrap_or_default(),
        dp.token_path,
        dp.ttl_header,
        dp.ttl_range.min,
        dp.ttl_range.max,
        dp.token_header
    );
    let _ = writeln!(
        o,
        "  identity: {} {}",
        dp.item_path,
        if dp.item_is_instance_id == Some(true) {
            "names the instance (each --imds endpoint is checked to be the instance's)"
        } else {
            "does not name the instance as the API does (endpoints cannot be checked)"
        }
    );
    for (fact, cites) in &dp.cite {
        let _ = writeln!(o, "    {fact}:");
        for c in cites {
            let _ = writeln!(o, "      - {}", c.short());
        }
    }
    for rule in dp.rules.iter().map(|r| r.get_ref()) {
        let when: Vec<String> = rule.when.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let probes: Vec<&str> = rule.probes.iter().map(|p| p.name()).collect();
        let answers: Vec<String> = rule.answer.iter().map(answer).collect();
        let _ = writeln!(
            o,
            "  {}: {}{} → {}",
            rule.id,
            if when.is_empty() {
                String::new()
            } else {
                format!("when {}, ", when.join(" and "))
            },
            probes.join(", "),
            answers.join(" or ")
        );
        for c in &rule.cite {
            let _ = writeln!(o, "    - {}", c.short());
        }
    }
}
