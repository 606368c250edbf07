//! Is a metadata endpoint the instance's own? `run --imds I=URL` binds by hand,
//! and a service of another instance answers every "as found" probe alike: only
//! its item (where the table says the item is the id the API names the instance
//! by) tells. Each endpoint of the instance is checked before any change, and,
//! while it does not tell (turned off, tokens refused…), again after each state
//! is reached, before that state's probes. An endpoint naming another instance is
//! an error of the run (the binding is wrong), never a finding about the service.

use super::probe::ProbeClient;
use crate::spec::DataPlane;
use crate::verdict::Exchange;

/// What an endpoint says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Identity {
    /// It names the instance under test.
    Same,
    /// It names another instance: its text, and the requests that read it.
    Other(String, Vec<Exchange>),
    /// It did not say (why).
    Unknown(String),
}

/// The endpoints of one instance still to check, and what the last try said.
#[derive(Debug, Clone, Default)]
pub(super) struct Pending {
    /// `(url, why it did not say)`.
    pub urls: Vec<(String, String)>,
}

impl Pending {
    /// The endpoints to check, or none with the reason when the table cannot.
    pub fn new(dp: &DataPlane, urls: &[&String]) -> Result<Self, String> {
        if dp.item_is_instance_id != Some(true) {
            return Err(format!(
                "cannot check that the metadata endpoint is this instance's: the table says \
                 its {} does not name the instance as the API does; make sure --imds binds \
                 the right one",
                dp.item_path
            ));
        }
        Ok(Pending {
            urls: urls
                .iter()
                .map(|u| ((*u).clone(), "not asked yet".into()))
                .collect(),
        })
    }

    /// Ask every endpoint still pending; the first naming another instance is
    /// the error. Those that name the instance are done.
    pub async fn ask(&mut self, client: &ProbeClient, instance: &str) -> Result<(), Misbound> {
        let mut left = Vec::new();
        for (url, _) in std::mem::take(&mut self.urls) {
            match of(client, &url, instance).await {
                Identity::Same => {}
                Identity::Other(text, exchanges) => {
                    return Err(Misbound {
                        url,
                        text,
                        exchanges,
                    })
                }
                Identity::Unknown(why) => left.push((url, why)),
            }
        }
        self.urls = left;
        Ok(())
    }
}

/// An endpoint bound to the instance that names another.
#[derive(Debug)]
pub(super) struct Misbound {
    pub url: String,
    /// What its item says.
    pub text: String,
    /// The requests that read it (tokens redacted when recorded).
    pub exchanges: Vec<Exchange>,
}

impl Misbound {
    /// The reason of the error it makes; `late` when it said so only after some
    /// states were probed (while it did not say whose it was).
    pub fn reason(&self, dp: &DataPlane, instance: &str, late: bool) -> String {
        let before = if late {
            "; the probes of the states before, while it did not say whose it was, \
             were of that service, not of this instance's: disregard them"
        } else {
            ""
        };
        format!(
            "{} is not {instance}'s metadata service: its {} is {:?}; \
             fix --imds {instance}=URL (no probe of {instance} from here on was judged{before})",
            self.url, dp.item_path, self.text
        )
    }
}

/// What the endpoint at `base` says of itself, against `instance`.
pub(super) async fn of(client: &ProbeClient, base: &str, instance: &str) -> Identity {
    let mut log = Vec::new();
    match client.read_item(base, &mut log).await {
        Ok(text) if text == instance => Identity::Same,
        Ok(text) => Identity::Other(text, log),
        Err(why) => Identity::Unknown(why),
    }
}
