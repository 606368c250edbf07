//! The built-in spec tables load and validate.
use imds_conform::spec;

#[test]
fn builtin_tables_load() {
    let specs = match spec::builtin() {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let ids: Vec<_> = specs.iter().map(|s| s.api.id.as_str()).collect();
    assert_eq!(ids, ["aliyun-ecs", "aws-ec2", "aws-lightsail"]);
}
