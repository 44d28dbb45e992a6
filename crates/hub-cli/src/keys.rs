//! `hubctl keygen` and `hubctl subject-ref`: local key and identity tools.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use hub_types::subject::AllianceKey;

use crate::error::{CliError, Result};

/// The development alliance key the sample data was made with.
const DEV_ALLIANCE_KEY: &str = "talenthub-dev-alliance-key-not-for-production";

/// Flags of `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (refuses to overwrite; mode 0600).
    #[arg(long)]
    pub out: PathBuf,
}

/// Flags of `subject-ref`.
#[derive(Debug, Args)]
pub struct SubjectRefArgs {
    /// The national ID number; `-` (the default) reads it from stdin so that it stays out
    /// of the shell history.
    #[arg(long, default_value = "-")]
    pub national_id: String,
    /// File with the alliance key's raw bytes; default: the development key.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

/// Writes a new ed25519 key and prints its public half for the roster.
pub fn keygen(args: &KeygenArgs) -> Result<()> {
    let key = hub_audit::generate();
    hub_audit::write_signing_key(&args.out, &key).map_err(|e| CliError::Input(e.to_string()))?;
    println!("wrote {}", args.out.display());
    println!(
        "public_key = \"{}\"",
        hub_audit::public_key_hex(&key.verifying_key())
    );
    Ok(())
}

/// Prints the subject reference of a national ID number.
pub fn subject_ref(args: &SubjectRefArgs) -> Result<()> {
    let key = match &args.key_file {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?;
            AllianceKey::new(bytes).map_err(|e| CliError::Input(e.to_string()))?
        }
        None => {
            eprintln!("using the development alliance key (give --key-file for real data)");
            AllianceKey::new(DEV_ALLIANCE_KEY.as_bytes().to_vec())
                .map_err(|e| CliError::Input(e.to_string()))?
        }
    };
    let id = if args.national_id == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Input(format!("cannot read stdin: {e}")))?;
        text
    } else {
        args.national_id.clone()
    };
    let subject = key
        .subject_ref(&id)
        .map_err(|e| CliError::Input(format!("national_id: {}", e.reason)))?;
    println!("{subject}");
    Ok(())
}
