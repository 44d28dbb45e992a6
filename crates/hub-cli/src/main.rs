//! `hubctl`: see the crate docs of `hub_cli` for the commands.

use clap::Parser;
use hub_cli::Cli;

/// Exit status of a process whose reader went away (128 + SIGPIPE), as shell tools report.
const BROKEN_PIPE_EXIT: i32 = 141;

/// Rust ignores SIGPIPE, so `println!` panics once the reader of stdout is gone
/// (`hubctl query … | head`). Ends quietly instead, as a shell tool would; every other
/// panic is reported as usual.
fn quiet_on_broken_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(BROKEN_PIPE_EXIT);
        }
        report(info);
    }));
}

fn main() {
    quiet_on_broken_pipe();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(hub_cli::run(cli)) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
