//! Faults: the small deviations a model target can be given. Each is stated in
//! terms of the table's facts (a parameter and a value, an omission, the rule an
//! error answers, a read-back field, the state machine, a signature check), never
//! of an API, so a new table gets faults of its own without code.
//!
//! A fault acts at one of four points of the model's work: on the call before the
//! table judges it ([`Fault::AcceptValue`], [`Fault::CaseInsensitive`],
//! [`Fault::AcceptMissing`], [`Fault::IgnoreParam`]), on the options a success
//! stores (the omission faults), on the answer (error code, status, HTML page, the
//! change state), or on the read-back and the signature check.

use serde::{Deserialize, Serialize};

use crate::oracle::Auth;

/// One deliberate deviation from the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "kebab-case")]
pub enum Fault {
    /// `param` = `value` is taken as valid, and stored as sent (a range widened by
    /// one, an extra enum value).
    AcceptValue {
        /// The parameter.
        param: String,
        /// The value.
        value: String,
    },
    /// The valid values of `param` are compared ignoring case.
    CaseInsensitive {
        /// The parameter.
        param: String,
    },
    /// An omitted `param` resets its option to `to` instead of what the table says.
    ResetOnOmission {
        /// The parameter.
        param: String,
        /// The value it resets to.
        to: String,
    },
    /// An omitted `param` keeps its option instead of what the table says.
    KeepOnOmission {
        /// The parameter.
        param: String,
    },
    /// An omitted `param` is handled differently between calls: of the calls where
    /// it makes a difference, one resets the option to `to`, the next keeps it.
    AlternateOmission {
        /// The parameter.
        param: String,
        /// The value it resets to.
        to: String,
    },
    /// A call without the required `param` is served as if it had a valid one.
    AcceptMissing {
        /// The parameter.
        param: String,
    },
    /// `param` is ignored as if not sent (a DryRun that performs the call).
    IgnoreParam {
        /// The parameter.
        param: String,
    },
    /// The dry-run `param` gets the answer the table says, and the change is
    /// applied all the same.
    DryRunApplies {
        /// The parameter.
        param: String,
    },
    /// The modify answer says the change is already in the state it settles to.
    AlwaysSettled,
    /// The change never leaves the state a modify puts it in.
    NeverSettles,
    /// The read-back lacks the field of `option`.
    ReadbackDrops {
        /// The option.
        option: String,
    },
    /// The read-back shows the options as they were before the last change.
    ReadbackStale,
    /// A success is answered as the table says, and the change is not made.
    NotApplied,
    /// The modify answer lacks the field of `option` (the change is made).
    AnswerDrops {
        /// The option.
        option: String,
    },
    /// The modify answer shows the options as they were before the call (the
    /// change is made).
    AnswerStale,
    /// Errors the table answers under `rule` come with `code` instead.
    ErrorCode {
        /// The rule.
        rule: String,
        /// The code.
        code: String,
    },
    /// Errors the table answers under `rule` come with HTTP `status` instead.
    ErrorStatus {
        /// The rule.
        rule: String,
        /// The status.
        status: u16,
    },
    /// Errors the table answers under `rule` come as an HTML page with status 500.
    ErrorHtml {
        /// The rule.
        rule: String,
    },
    /// Requests that fail this signature check are served as if signed.
    AcceptAuth {
        /// The signature check.
        auth: Auth,
    },
}

impl Fault {
    /// The fault in words, for listings.
    pub fn describe(&self) -> String {
        match self {
            Fault::AcceptValue { param, value } => format!("accepts {param} = {value:?}"),
            Fault::CaseInsensitive { param } => format!("{param}: values in any case"),
            Fault::ResetOnOmission { param, to } => {
                format!("an omitted {param} resets to {to:?}")
            }
            Fault::KeepOnOmission { param } => format!("an omitted {param} keeps its value"),
            Fault::AlternateOmission { param, to } => {
                format!("an omitted {param}: reset to {to:?} on one call, kept on the next")
            }
            Fault::AcceptMissing { param } => format!("accepts a call without {param}"),
            Fault::IgnoreParam { param } => format!("ignores {param}"),
            Fault::DryRunApplies { param } => {
                format!("{param}: answers as the table says and applies the change")
            }
            Fault::AlwaysSettled => "the modify answer's state is always the settled one".into(),
            Fault::NeverSettles => "the change never settles".into(),
            Fault::ReadbackDrops { option } => format!("the read-back lacks {option}"),
            Fault::ReadbackStale => "the read-back shows the options before the last change".into(),
            Fault::NotApplied => "answers a success and does not make the change".into(),
            Fault::AnswerDrops { option } => format!("the modify answer lacks {option}"),
            Fault::AnswerStale => "the modify answer shows the options before the call".into(),
            Fault::ErrorCode { rule, code } => format!("{rule}: answers code {code}"),
            Fault::ErrorStatus { rule, status } => format!("{rule}: answers status {status}"),
            Fault::ErrorHtml { rule } => format!("{rule}: answers a 500 HTML page"),
            Fault::AcceptAuth { auth } => format!("serves a request that is {}", auth_name(*auth)),
        }
    }

    /// What else this fault may show, beside the departure that must catch it:
    /// rule globs for what it breaks by its nature. Ignoring a parameter also
    /// accepts its invalid values (`DryRun.values`); a 500 page is not the
    /// protocol's answer; a read-back that lags one change shows the suite options
    /// the instance no longer has, so later successes show "another value" and
    /// omitted options look reset. Any other departure is one the engine names
    /// wrongly (`selftest`'s `misnamed`).
    pub fn may_also_show(&self) -> Vec<String> {
        match self {
            Fault::IgnoreParam { param } => ["values", "type", "range", "pattern"]
                .iter()
                .map(|fact| format!("{param}.{fact}"))
                .collect(),
            Fault::ErrorHtml { .. } => vec!["protocol.*".into()],
            Fault::ReadbackStale => vec!["modify.success".into(), "*.absent".into()],
            _ => Vec::new(),
        }
    }

    /// Whether this fault may also make an ambiguity it is not about come out
    /// inconsistent: a lagging read-back, whose every later case starts from
    /// options the instance no longer has; a change never made, which a call at a
    /// time cannot tell from a reading that ignores a parameter (a valid value not
    /// applied, an invalid one refused: two readings' behaviour).
    pub fn may_confuse_readings(&self) -> bool {
        matches!(self, Fault::ReadbackStale | Fault::NotApplied)
    }
}

/// A failed signature check in words.
pub fn auth_name(auth: Auth) -> &'static str {
    match auth {
        Auth::Valid => "validly signed",
        Auth::Unsigned => "unsigned",
        Auth::BadSignature => "badly signed",
        Auth::UnknownAccessKey => "signed with an unknown key",
        Auth::Expired => "expired",
        Auth::NonceReused => "a replay (reused nonce)",
    }
}

/// What the faults say about one signature check's result.
pub fn auth_accepted(faults: &[Fault], auth: Auth) -> bool {
    faults
        .iter()
        .any(|f| matches!(f, Fault::AcceptAuth { auth: a } if *a == auth))
}
