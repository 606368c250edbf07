//! The differential target's input: a [`Scenario`] of calls against one instance
//! of one API, read from raw bytes by hand ([`Scenario::from_bytes`]) or by
//! `arbitrary` in the fuzz crate.

use serde::{Deserialize, Serialize};

/// A sequence of calls against one instance of one API.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub struct Scenario {
    /// Index into [`APIS`](super::APIS) (modulo).
    pub api: u8,
    /// Index into the API's fixture instances (modulo).
    pub instance: u8,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// A modify call: the baseline call (target, region, required parameters)
    /// unless `bare`, then the edits in order. `signing` below 200 signs validly;
    /// above, it picks one of the bad signings.
    Modify {
        bare: bool,
        edits: Vec<Edit>,
        signing: u8,
    },
    /// Let time pass, so a pending change applies.
    Wait { seconds: u8 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Edit {
    /// Replace every occurrence of parameter row `param` (modulo) with one value.
    Set { param: u8, value: Val },
    /// Add one more occurrence of row `param` (a duplicate when it is there).
    Add { param: u8, value: Val },
    /// Remove row `param`.
    Remove { param: u8 },
    /// A parameter the table does not know.
    Unknown { name: String, value: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Val {
    /// The n-th valid value of the row (modulo).
    Valid(u8),
    /// The n-th class of the row (modulo): boundaries, wrong types, case variants,
    /// absent and malformed ids, JSON literals of the wrong type…
    Class(u8),
    Int(i64),
    Text(String),
    /// A raw JSON literal (AWS JSON); sent as text by the query protocols.
    Json(String),
}

/// Most operations one scenario runs, and most edits per call.
pub const MAX_OPS: usize = 24;
pub const MAX_EDITS: usize = 12;

impl Scenario {
    /// Build a scenario from raw bytes without `arbitrary` (a small hand-rolled
    /// reading), for `cargo test` and for seeds. The fuzz target uses `arbitrary`.
    pub fn from_bytes(data: &[u8]) -> Scenario {
        let mut r = Reader { data, at: 0 };
        let api = r.byte();
        let instance = r.byte();
        let mut ops = Vec::new();
        while !r.done() && ops.len() < MAX_OPS {
            ops.push(match r.byte() % 8 {
                0 => Op::Wait { seconds: r.byte() },
                _ => {
                    let bare = r.byte() % 8 == 0;
                    let signing = r.byte();
                    let n = (r.byte() % 5) as usize;
                    let edits = (0..n).map(|_| r.edit()).collect();
                    Op::Modify {
                        bare,
                        edits,
                        signing,
                    }
                }
            });
        }
        Scenario { api, instance, ops }
    }

    /// A random scenario (for tests and seeds).
    pub fn random(rng: &mut impl rand::Rng, ops: usize) -> Scenario {
        let bytes: Vec<u8> = (0..ops * 8).map(|_| rng.gen()).collect();
        let mut s = Scenario::from_bytes(&bytes);
        s.ops.truncate(ops);
        s
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn text(&mut self) -> String {
        let n = (self.byte() % 8) as usize;
        const ALPHABET: &[u8] = b"aeHT0129-_. %\"{}[]\\";
        (0..n)
            .map(|_| ALPHABET[self.byte() as usize % ALPHABET.len()] as char)
            .collect()
    }
    fn val(&mut self) -> Val {
        match self.byte() % 6 {
            0 | 1 => Val::Valid(self.byte()),
            2 | 3 => Val::Class(self.byte()),
            4 => Val::Int(i64::from(i8::from_ne_bytes([self.byte()])) * i64::from(self.byte())),
            _ => Val::Text(self.text()),
        }
    }
    fn edit(&mut self) -> Edit {
        match self.byte() % 8 {
            0..=3 => Edit::Set {
                param: self.byte(),
                value: self.val(),
            },
            4 | 5 => Edit::Add {
                param: self.byte(),
                value: self.val(),
            },
            6 => Edit::Remove { param: self.byte() },
            _ => Edit::Unknown {
                name: self.text(),
                value: self.text(),
            },
        }
    }
}
