//! `sim_eval`: evaluation commands over simulator outputs. Argument parsing and printing
//! only; the work is done by the `paraphina` library, so tests can call it without a
//! process.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use paraphina::evidence;

const TOOL_VERSION: &str = concat!("paraphina ", env!("CARGO_PKG_VERSION"));

const EXIT_CODES: &str = "\
Exit status:
  0  verified (write-evidence-pack: written)
  1  verification failed: each problem is printed on its own line, then a total
  2  bad input: DIR missing, not a directory or unreadable, bad arguments;
     write-evidence-pack also when DIR cannot be packed (symlink, special file,
     a name sha256sum would escape) or the pack cannot be written";

const VERIFY_PACK_HELP: &str = "\
Checks DIR/evidence_pack/SHA256SUMS and manifest.json: every listed file exists with its
hash, no file is unlisted, there is no symlink or special file, every line has the form
`<64 lowercase hex>  <relative path>`, and the manifest (schema 1) matches SHA256SUMS.

Exit status:
  0  the pack verifies; `OK DIR (N files)` on stdout
  1  it does not; each problem on stderr, one per line, then `FAIL DIR: ...`
  2  DIR is missing, not a directory or unreadable";

const VERIFY_TREE_HELP: &str = "\
Finds every directory at or below DIR that holds an evidence_pack/ directory (without
entering evidence_pack/ directories or following symlinks) and verifies each pack.
Prints on stdout one line per pack, `OK <path> (<n> files)` or `FAIL <path>: <problems>`,
then a total line.

Exit status:
  0  at least one pack was found and every pack verifies
  1  a pack failed, a directory could not be searched, or no pack was found
  2  DIR is missing, not a directory or unreadable";

const WRITE_PACK_HELP: &str = "\
Writes DIR/evidence_pack/SHA256SUMS and manifest.json over every file below DIR, leaving
out the evidence_pack/ directories of nested packs (they verify themselves). The manifest
records this command line. Afterwards `cd DIR && sha256sum -c evidence_pack/SHA256SUMS`
passes.

Exit status:
  0  the pack was written; `wrote DIR/evidence_pack (N files)` on stdout
  2  DIR is missing, not a directory or unreadable, holds something a pack cannot cover
     (symlink, FIFO, socket, device, a name with a newline, carriage return or
     backslash), or the pack could not be written";

#[derive(Parser)]
#[command(
    name = "sim_eval",
    version,
    about = "Evaluate simulator outputs: verify and write evidence packs",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per subcommand, each handled by the function of the same name below.
#[derive(Subcommand)]
enum Command {
    /// Verify the evidence pack of one directory
    #[command(after_help = VERIFY_PACK_HELP)]
    VerifyEvidencePack {
        /// Directory that holds evidence_pack/
        dir: PathBuf,
    },
    /// Verify every evidence pack at or below a directory
    #[command(after_help = VERIFY_TREE_HELP)]
    VerifyEvidenceTree {
        /// Directory to search
        dir: PathBuf,
    },
    /// Write a root evidence pack over every file below a directory
    #[command(after_help = WRITE_PACK_HELP)]
    WriteEvidencePack {
        /// Directory to cover; the pack goes into DIR/evidence_pack/
        dir: PathBuf,
    },
}

/// What a subcommand ended with; the exit status is documented in `EXIT_CODES`.
enum Outcome {
    Success,
    Failed,
    BadInput,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(match outcome {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::BadInput => 2,
        })
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::VerifyEvidencePack { dir } => verify_evidence_pack(&dir),
        Command::VerifyEvidenceTree { dir } => verify_evidence_tree(&dir),
        Command::WriteEvidencePack { dir } => write_evidence_pack(&dir),
    }
    .into()
}

/// Checks DIR before any work, so that a mistyped path is told apart from a failed pack.
fn input_dir(dir: &Path) -> Result<(), Outcome> {
    evidence::check_input_dir(dir).map_err(|e| {
        eprintln!("sim_eval: {e}");
        Outcome::BadInput
    })
}

fn verify_evidence_pack(dir: &Path) -> Outcome {
    if let Err(outcome) = input_dir(dir) {
        return outcome;
    }
    let report = evidence::verify_pack(dir);
    if report.is_ok() {
        println!("OK {} ({} files)", dir.display(), report.listed);
        return Outcome::Success;
    }
    for problem in &report.problems {
        eprintln!("{problem}");
    }
    let n = report.problems.len();
    eprintln!(
        "FAIL {}: {n} problem{} ({} files listed)",
        dir.display(),
        if n == 1 { "" } else { "s" },
        report.listed
    );
    Outcome::Failed
}

fn verify_evidence_tree(dir: &Path) -> Outcome {
    if let Err(outcome) = input_dir(dir) {
        return outcome;
    }
    let report = evidence::verify_tree(dir);
    for line in report.lines() {
        println!("{line}");
    }
    println!("{}", report.total_line());
    if report.is_ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}

fn write_evidence_pack(dir: &Path) -> Outcome {
    if let Err(outcome) = input_dir(dir) {
        return outcome;
    }
    let command = evidence::command_line(std::env::args_os());
    match evidence::write_pack(dir, &command, TOOL_VERSION, true) {
        Ok(manifest) => {
            println!(
                "wrote {} ({} files)",
                dir.join(evidence::PACK_DIR).display(),
                manifest.file_count
            );
            Outcome::Success
        }
        Err(e) => {
            eprintln!("sim_eval: {e}");
            Outcome::BadInput
        }
    }
}
