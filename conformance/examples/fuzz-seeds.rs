//! Writes the fuzz seed corpora from the vectors:
//! `cargo run -p bourn-conformance --example fuzz-seeds -- fuzz/seeds`.
//!
//! - `decode/<case id>`: the case's input bytes;
//! - `decode_chunked/<case id>`: a header (chunk lengths, and the case's
//!   limits when it has some that fit in a byte) then the input; the layout
//!   is described in `fuzz/fuzz_targets/decode_chunked.rs`;
//! - `roundtrip/<case id>`: the encoder case's expected bytes (raw material
//!   for the `arbitrary` input of the round-trip target).
// A command-line tool: it reports what it wrote.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::{fs, io};

use bourn_conformance::vectors::{self, EncoderExpect};

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz-seeds OUT_DIR");
        return ExitCode::from(2);
    };
    match write(&out) {
        Ok(count) => {
            println!("wrote {count} seeds under {}", out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("fuzz-seeds: {error}");
            ExitCode::FAILURE
        }
    }
}

fn write(out: &std::path::Path) -> Result<usize, Box<dyn std::error::Error>> {
    let files = vectors::load_all()?;
    for target in ["decode", "decode_chunked", "roundtrip"] {
        match fs::remove_dir_all(out.join(target)) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error.into()),
            _ => fs::create_dir_all(out.join(target))?,
        }
    }
    let mut count = 0;
    for (index, case) in files.iter().flat_map(|file| &file.cases).enumerate() {
        fs::write(out.join("decode").join(&case.id), &case.input)?;

        // Vary the chunk pattern from case to case: 0 to 3 lengths of 1 to 5 bytes.
        let lens: Vec<u8> = (0..index % 4)
            .map(|j| ((index * 7 + j * 3) % 5) as u8)
            .collect();
        let mut seed = vec![lens.len() as u8];
        let limits = case.limits.map(|l| (l.max_line_len, l.max_event_len));
        if let Some((line, event)) = limits {
            let byte = |limit: Option<usize>| u8::try_from(limit.unwrap_or(255)).unwrap_or(255);
            seed[0] |= 0x80;
            seed.extend([byte(line), byte(event)]);
        }
        seed.extend(&lens);
        seed.extend(&case.input);
        fs::write(out.join("decode_chunked").join(&case.id), seed)?;
        count += 2;
    }
    for case in files.iter().flat_map(|file| &file.encoder_cases) {
        if let EncoderExpect::Bytes { bytes, .. } = &case.expect {
            fs::write(out.join("roundtrip").join(&case.id), bytes)?;
            count += 1;
        }
    }
    Ok(count)
}
