//! Write the fuzz targets' seed corpora into `fuzz/corpus/<target>/`:
//! `cargo run --example gen_fuzz_corpus [-- SHARED_DIR]` (default `../shared`, used
//! when present for the protocol test vectors and the seed docs' sample answers).
//! The corpora are git-ignored; this recreates them.
use std::path::PathBuf;

use imds_conform::fuzzing::{seeds, TARGETS};

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    let shared = shared.is_dir().then_some(shared);
    if shared.is_none() {
        eprintln!("note: no ../shared folder; seeds come from the emulator only");
    }
    for t in TARGETS {
        let dir = root.join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&dir)?;
        let seeds = seeds(t, shared.as_deref());
        for s in &seeds {
            // Content-addressed names: rerunning adds nothing twice.
            let name = format!("seed-{:016x}", fnv1a(s));
            std::fs::write(dir.join(name), s)?;
        }
        println!("{t}: {} seeds in {}", seeds.len(), dir.display());
    }
    Ok(())
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
