//! The tiny emulator under imds-conform, through the library API: its one
//! feature conforms, and a deliberately widened range is caught as exactly one
//! departure that names the rule and cites the docs.
use imds_conform::{Phase, Report, Suite};

/// The coverage cases of the hop limit, the one parameter the emulator implements.
async fn hop_limit_cases(url: String) -> Report {
    Suite::new("aws-ec2")
        .endpoint(url)
        .instance(tiny_emulator::INSTANCE)
        .credentials("AKIDEXAMPLE", "any secret: signatures are not checked")
        .phases([Phase::Coverage])
        .only("HttpPutResponseHopLimit.*")
        .run()
        .await
        .expect("the suite runs")
}

#[tokio::test]
async fn the_hop_limit_conforms() {
    let report = hop_limit_cases(tiny_emulator::start(64).await.unwrap()).await;
    report.assert_conforms();
    assert!(report.cases() >= 70, "{report}");
}

#[tokio::test]
async fn a_hop_limit_of_65_is_one_departure_citing_the_docs() {
    let report = hop_limit_cases(tiny_emulator::start(65).await.unwrap()).await;
    assert!(!report.conforms());
    let [departure] = report.departures() else {
        panic!("expected one departure:\n{report}");
    };
    assert_eq!(departure.rule, "HttpPutResponseHopLimit.range", "{report}");
    assert_eq!(departure.count, 1, "only 65 is wrongly accepted: {report}");
    assert!(
        departure
            .cite
            .iter()
            .any(|c| c.contains("Integers from 1 to 64")),
        "{:?}",
        departure.cite
    );
    // The explanation a failing `assert_conforms` prints has a curl reproducer.
    let text = report.to_string();
    assert!(
        text.contains("HttpPutResponseHopLimit=65") && text.contains("curl"),
        "{text}"
    );
}
