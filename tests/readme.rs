//! The README's generated tables are the tool's output: a change to a spec table
//! that is not carried into the README fails here, with the command to rerun.
use std::process::Command;

fn section<'a>(text: &'a str, name: &str) -> &'a str {
    let begin = format!("<!-- {name}:begin -->\n");
    let end = format!("<!-- {name}:end -->");
    let start = text
        .find(&begin)
        .unwrap_or_else(|| panic!("README has no {begin:?}"))
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .unwrap_or_else(|| panic!("README has no {end:?}"))
        + start;
    &text[start..stop]
}

#[test]
fn the_ambiguity_table_is_the_tools_output() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let out = Command::new(env!("CARGO_BIN_EXE_imds-conform"))
        .args(["spec", "ambiguities"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).expect("utf-8");
    assert!(table.lines().count() > 20, "{table}");
    assert_eq!(
        section(&readme, "ambiguities"),
        table,
        "README's ambiguity table is stale: replace it with `imds-conform spec ambiguities`"
    );
}
