//! Validation of the `[data_plane]` section (see `spec/data_plane.rs`): every stated
//! fact cited, addresses and paths well formed, every rule's options, values,
//! probes, answers and readings known to the table.

use std::collections::{BTreeSet, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Place, Validator};
use crate::spec::data_plane::{DataPlane, DataRule, Probe};
use crate::spec::types::{ParamType, Spec, Status};
use toml::Spanned;

impl Validator<'_> {
    pub(super) fn data_plane(&mut self, spec: &Spec, dp: &DataPlane) {
        let place = Place::Section("data_plane");
        if dp.address_v4.parse::<Ipv4Addr>().is_err() {
            self.fail(&place, "address_v4", "not an IPv4 address");
        }
        if let Some(v6) = &dp.address_v6 {
            if v6.parse::<Ipv6Addr>().is_err() {
                self.fail(&place, "address_v6", "not an IPv6 address");
            }
        }
        let paths = [
            ("token_path", Some(&dp.token_path)),
            ("item_path", Some(&dp.item_path)),
            ("versioned_token_path", dp.versioned_token_path.as_ref()),
            ("tags_path", dp.tags_path.as_ref()),
        ];
        for (field, path) in paths {
            if path.is_some_and(|p| !p.starts_with('/') || p.contains(char::is_whitespace)) {
                self.fail(&place, field, "a path starts with / and has no spaces");
            }
        }
        for (field, header) in [
            ("ttl_header", &dp.ttl_header),
            ("token_header", &dp.token_header),
        ] {
            if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                self.fail(
                    &place,
                    field,
                    format!("{header:?} is not an HTTP header name"),
                );
            }
        }
        let r = dp.ttl_range;
        if r.min > r.max || r.min < 0 {
            self.fail(
                &place,
                "ttl_range",
                format!("{}..{} is not a range of seconds", r.min, r.max),
            );
        }
        let options = option_names(spec);
        if let Some(o) = &dp.hop_limit_option {
            if !options.contains(o.as_str()) {
                self.fail(
                    &place,
                    "hop_limit_option",
                    format!("option {o:?} is set by no parameter"),
                );
            }
        }
        self.stated_and_cited(&place, &dp.stated_facts(), &dp.cite, "the section");
        let mut ids = HashSet::new();
        for rule in &dp.rules {
            if !ids.insert(rule.get_ref().id.clone()) {
                let id = &rule.get_ref().id;
                self.fail(
                    &Place::Span(rule.span()),
                    "id",
                    format!("rule {id:?} is listed twice"),
                );
            }
            self.data_rule(spec, dp, rule);
        }
    }

    fn data_rule(&mut self, spec: &Spec, dp: &DataPlane, rule: &Spanned<DataRule>) {
        let place = Place::Span(rule.span());
        let rule = rule.get_ref();
        for (option, value) in &rule.when {
            let param = spec
                .params
                .iter()
                .map(|p| p.get_ref())
                .find(|p| p.option.as_deref() == Some(option));
            match param {
                None => self.fail(
                    &place,
                    "when",
                    format!("option {option:?} is set by no parameter"),
                ),
                Some(p) if p.kind == ParamType::Enum && !p.values.contains(value) => self.fail(
                    &place,
                    "when",
                    format!(
                        "{value:?} is not one of the values of {option:?} ({:?})",
                        p.values
                    ),
                ),
                Some(_) => {}
            }
        }
        if rule.probes.is_empty() {
            self.fail(
                &place,
                "probes",
                format!("rule {:?} names no probe", rule.id),
            );
        }
        let needs = [
            (
                Probe::PutTokenVersioned,
                dp.versioned_token_path.is_some(),
                "versioned_token_path",
            ),
            (Probe::Tags, dp.tags_path.is_some(), "tags_path"),
            (Probe::TagValue, dp.tags_path.is_some(), "tags_path"),
            (Probe::Ipv6, dp.address_v6.is_some(), "address_v6"),
        ];
        for (probe, present, field) in needs {
            if rule.probes.contains(&probe) && !present {
                self.fail(
                    &place,
                    "probes",
                    format!("probe {:?} needs [data_plane] {field}", probe.name()),
                );
            }
        }
        if rule.answer.is_empty() {
            self.fail(
                &place,
                "answer",
                format!("rule {:?} has no answer", rule.id),
            );
        }
        for a in &rule.answer {
            match (a.status, a.no_answer) {
                (Some(_), true) | (None, false) => self.fail(
                    &place,
                    "answer",
                    "an answer has either a status or no_answer = true",
                ),
                (Some(Status::Exact(s)), _) if !(100..=599).contains(&s) => {
                    self.fail(&place, "answer", format!("{s} is not an HTTP status"));
                }
                _ => {}
            }
            if let Some(label) = &a.reading {
                self.reading_label(spec, &place, label);
            }
        }
        if rule.cite.is_empty() {
            self.fail(&place, "cite", format!("rule {:?} has no source", rule.id));
        }
        for c in &rule.cite {
            self.citation(&place, "cite", c);
        }
    }

    fn reading_label(&mut self, spec: &Spec, place: &Place, label: &str) {
        let known = label.split_once('=').is_some_and(|(amb, reading)| {
            spec.ambiguity(amb)
                .is_some_and(|a| a.readings.iter().any(|r| r.id == reading))
        });
        if !known {
            self.fail(
                place,
                "reading",
                format!("{label:?} names no reading of an [[ambiguity]] (AMBIGUITY=READING)"),
            );
        }
    }
}

fn option_names(spec: &Spec) -> BTreeSet<&str> {
    spec.params
        .iter()
        .filter_map(|p| p.get_ref().option.as_deref())
        .collect()
}
