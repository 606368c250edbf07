//! The embedded reference emulator, started from a test: its URL, its fixture
//! instances and the credentials it accepts.

use std::time::Duration;

use super::SuiteError;
use crate::emulator::{self, EmulatorConfig, Fixtures, RunningEmulator};

/// The reference emulator of all three APIs, listening on a free loopback port
/// until it is dropped or [shut down](Emulator::shutdown).
///
/// It starts with the built-in fixtures: for each API two running instances and
/// one stopped one in the table's default region (EC2 and Alibaba ECS ids, or
/// Lightsail names), every option at its usual default, and one key pair per
/// cloud. A change on a running instance stays `pending` for 50 ms.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use imds_conform::Emulator;
///
/// let emulator = Emulator::start().await.unwrap();
/// assert!(emulator.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(emulator.instances("aws-ec2").len(), 2);
/// let (key_id, _secret) = emulator.credentials("aws-ec2").unwrap();
/// assert!(!key_id.is_empty());
/// emulator.shutdown().await;
/// # });
/// ```
#[derive(Debug)]
pub struct Emulator {
    running: RunningEmulator,
    fixtures: Fixtures,
}

impl Emulator {
    /// Start it on `127.0.0.1` with a free port. Needs a Tokio runtime.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let emulator = imds_conform::Emulator::start().await.unwrap();
    /// # emulator.shutdown().await;
    /// # });
    /// ```
    pub async fn start() -> Result<Emulator, SuiteError> {
        let config = EmulatorConfig {
            // Short, so settle checks take milliseconds.
            apply_delay: Duration::from_millis(50),
            ..EmulatorConfig::default()
        };
        let fixtures = config.fixtures.clone();
        let running = emulator::start(config)
            .await
            .map_err(|e| SuiteError::Emulator(e.to_string()))?;
        Ok(Emulator { running, fixtures })
    }

    /// The running server and its fixtures, for the command line's set-up (which
    /// starts the same emulator).
    #[doc(hidden)]
    pub fn parts(&self) -> (&RunningEmulator, &Fixtures) {
        (&self.running, &self.fixtures)
    }

    /// `http://127.0.0.1:PORT`, the endpoint of every API it serves.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let emulator = imds_conform::Emulator::start().await.unwrap();
    /// let url = emulator.url(); // give it to your client as its endpoint URL
    /// # assert!(url.starts_with("http://"));
    /// # });
    /// ```
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The running instances of `api` in its table's default region: ids for
    /// `aws-ec2` and `aliyun-ecs`, names for `aws-lightsail`. Empty for an API it
    /// does not serve.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let emulator = imds_conform::Emulator::start().await.unwrap();
    /// assert_eq!(emulator.instances("aws-lightsail"), ["web-1", "web-2"]);
    /// # });
    /// ```
    pub fn instances(&self, api: &str) -> Vec<String> {
        let Some(region) = self.region(api) else {
            return Vec::new();
        };
        self.fixtures
            .for_api(api)
            .map(|(instances, _)| {
                instances
                    .iter()
                    .filter(|i| i.is_running() && i.region == region)
                    .map(|i| i.id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The region [`instances`](Emulator::instances) are in: the API's table's
    /// default region (`us-east-1`, `cn-hangzhou`). `None` for an unknown API.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let emulator = imds_conform::Emulator::start().await.unwrap();
    /// assert_eq!(emulator.region("aliyun-ecs").as_deref(), Some("cn-hangzhou"));
    /// # });
    /// ```
    pub fn region(&self, api: &str) -> Option<String> {
        super::load_spec(api).ok().map(|s| s.api.default_region)
    }

    /// The access key id and secret it accepts for `api`'s cloud.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let emulator = imds_conform::Emulator::start().await.unwrap();
    /// let (id, secret) = emulator.credentials("aliyun-ecs").unwrap();
    /// # assert!(!id.is_empty() && !secret.is_empty());
    /// # });
    /// ```
    pub fn credentials(&self, api: &str) -> Option<(String, String)> {
        let (_, keys) = self.fixtures.for_api(api)?;
        keys.first()
            .map(|k| (k.access_key_id.clone(), k.secret.clone()))
    }

    /// Every instance of `api` it knows, in any region and state.
    pub(crate) fn all_instances(&self, api: &str) -> Vec<String> {
        self.fixtures
            .for_api(api)
            .map(|(instances, _)| instances.iter().map(|i| i.id.clone()).collect())
            .unwrap_or_default()
    }

    /// Stop accepting, let requests in flight finish, and return.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let emulator = imds_conform::Emulator::start().await.unwrap();
    /// emulator.shutdown().await;
    /// # });
    /// ```
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
