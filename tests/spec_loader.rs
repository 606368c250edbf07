//! The loader rejects a bad table naming file, line and field: one test per kind
//! of rejection, each made by spoiling the real EC2 table in one place.
use imds_conform::spec;

mod spoil;
use spoil::{line_of, reject, replace_once, EC2};

#[test]
fn the_real_table_loads() {
    spec::load_str("aws-ec2.toml", EC2).expect("the EC2 table is valid");
}

#[test]
fn unknown_key() {
    let text = replace_once(
        "role = \"option\"\noption = \"http_tokens\"",
        "role = \"option\"\noption = \"http_tokens\"\ncolour = \"red\"",
    );
    let e = reject(&text);
    assert_eq!(
        (e.file.as_str(), e.field.as_str()),
        ("bad.toml", "colour"),
        "{e}"
    );
    assert_eq!(e.line, line_of(&text, "colour"), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("bad.toml:{}: field `colour`", e.line)),
        "{e}"
    );
}

#[test]
fn range_with_min_above_max() {
    let text = replace_once(
        "range = { min = 1, max = 64 }",
        "range = { min = 64, max = 1 }",
    );
    let e = reject(&text);
    assert_eq!(e.field, "range", "{e}");
    assert_eq!(e.line, line_of(&text, "range = { min = 64"), "{e}");
    assert!(e.message.contains("greater than"), "{e}");
}

#[test]
fn enum_without_values() {
    let text = replace_once("values = [\"optional\", \"required\"]\n", "values = []\n");
    let e = reject(&text);
    assert_eq!(e.field, "values", "{e}");
    assert_eq!(e.line, line_of(&text, "values = []"), "{e}");
}

#[test]
fn error_without_status() {
    let text = replace_once(
        "code = \"DryRunOperation\"\nstatus = 412\n",
        "code = \"DryRunOperation\"\n",
    );
    let e = reject(&text);
    assert_eq!(e.field, "status", "{e}");
    assert!(e.message.contains("missing field"), "{e}");
    // The line is that of the error entry.
    let entry = line_of(&text, "code = \"DryRunOperation\"");
    assert!(
        (entry.saturating_sub(2)..=entry + 10).contains(&e.line),
        "{e} (entry at {entry})"
    );
}

#[test]
fn fact_without_source() {
    // The hop limit's range loses its citation.
    let from = "cite.range = [\n  { doc = \"002_db9a75617ecee5b6.txt\", quote = \"Possible values: Integers from 1 to 64\", strength = \"documented\" },\n]\n";
    let text = replace_once(from, "");
    let e = reject(&text);
    assert_eq!(e.field, "cite.range", "{e}");
    assert!(e.message.contains("no source"), "{e}");
    assert_eq!(
        e.line,
        line_of(&text, "range = { min = 1, max = 64 }"),
        "{e}"
    );
}

#[test]
fn citation_without_quote() {
    let text = replace_once(
        "{ doc = \"002_db9a75617ecee5b6.txt\", quote = \"Possible values: Integers from 1 to 64\", strength = \"documented\" },\n]\ncite.required",
        "{ doc = \"002_db9a75617ecee5b6.txt\", strength = \"documented\" },\n]\ncite.required",
    );
    let e = reject(&text);
    assert_eq!(e.field, "cite.range", "{e}");
    assert!(e.message.contains("quote"), "{e}");
}

#[test]
fn rule_naming_a_parameter_that_does_not_exist() {
    let text = replace_once(
        "set = [ { param = \"InstanceMetadataTags\", absent = \"default\", default = \"disabled\" } ]",
        "set = [ { param = \"HopLimit\", absent = \"default\", default = \"disabled\" } ]",
    );
    let e = reject(&text);
    assert_eq!(e.field, "param", "{e}");
    assert!(e.message.contains("\"HopLimit\" does not exist"), "{e}");
    assert_eq!(e.line, line_of(&text, "param = \"HopLimit\""), "{e}");
}

#[test]
fn parameter_naming_an_error_that_does_not_exist() {
    let text = replace_once(
        "invalid = { error = \"InvalidInstanceID.Malformed\" }",
        "invalid = { error = \"NoSuchError\" }",
    );
    let e = reject(&text);
    assert_eq!(e.field, "invalid", "{e}");
    assert_eq!(e.line, line_of(&text, "NoSuchError"), "{e}");
}

#[test]
fn ambiguity_with_one_reading() {
    let from = "[[ambiguity.reading]]\nid = \"reset-disabled\"";
    let at = EC2.find(from).expect("reading present");
    let text = &EC2[..at];
    let e = reject(text);
    assert_eq!(e.field, "reading", "{e}");
    assert!(e.message.contains("at least two readings"), "{e}");
}

#[test]
fn wrong_type_names_its_line() {
    let text = replace_once("required = true\npattern", "required = \"yes\"\npattern");
    let e = reject(&text);
    assert_eq!(e.field, "required", "{e}");
    assert_eq!(e.line, line_of(&text, "required = \"yes\""), "{e}");
}

#[test]
fn several_errors_are_all_reported() {
    let text = replace_once(
        "range = { min = 1, max = 64 }",
        "range = { min = 64, max = 1 }",
    )
    .replacen(
        "invalid = { error = \"InvalidInstanceID.Malformed\" }",
        "invalid = { error = \"NoSuchError\" }",
        1,
    );
    let errors = spec::load_str("bad.toml", &text).expect_err("rejected").0;
    assert!(errors.len() >= 2, "{errors:?}");
}

#[test]
fn a_malformed_example_that_matches_the_pattern() {
    let text = replace_once("malformed = \"i-xyz!\"", "malformed = \"i-0123abcd\"");
    let e = reject(&text);
    assert_eq!(e.field, "malformed", "{e}");
    assert_eq!(e.line, line_of(&text, "malformed = \"i-0123abcd\""), "{e}");
    assert!(e.message.contains("matches the pattern"), "{e}");
}

#[test]
fn an_uncited_malformed_example() {
    let text = replace_once("cite.malformed = [", "cite.malformed_x = [");
    let e = reject(&text);
    assert!(e.field.starts_with("cite.malformed"), "{e}");
}

#[test]
fn a_volatile_pattern_that_is_no_regex() {
    let text = replace_once(
        "instance_pattern = \"i-(?:[0-9a-f]{8}|[0-9a-f]{17})\"",
        "instance_pattern = \"i-(\"",
    );
    let e = reject(&text);
    assert_eq!(e.field, "instance_pattern", "{e}");
    assert_eq!(e.line, line_of(&text, "instance_pattern = \"i-(\""), "{e}");
}

#[test]
fn a_volatile_list_without_a_source() {
    let text = replace_once("cite.request_id = [", "cite.timestamp = [");
    let errors = match spec::load_str("bad.toml", &text) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.0,
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"cite.request_id"), "{fields:?}");
    assert!(fields.contains(&"cite.timestamp"), "{fields:?}");
}

#[test]
fn credentials_are_named_and_cited() {
    let text = replace_once("secret = \"AWS_SECRET_ACCESS_KEY\"", "secret = \" \"");
    let e = reject(&text);
    assert_eq!(e.field, "credentials", "{e}");
    let text = replace_once("cite.credentials = [", "cite.credentialz = [");
    let errors = spec::load_str("bad.toml", &text).expect_err("uncited").0;
    assert!(
        errors.iter().any(|e| e.field == "cite.credentials"),
        "{errors:?}"
    );
}

#[test]
fn a_credential_variable_the_shell_would_expand_further() {
    let text = replace_once(
        "access_key_id = \"AWS_ACCESS_KEY_ID\"",
        "access_key_id = \"AWS$(id)\"",
    );
    let e = reject(&text);
    assert_eq!(e.field, "credentials", "{e}");
    assert!(e.message.contains("environment variable name"), "{e}");
}
