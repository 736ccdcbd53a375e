//! `bourn`: a Server-Sent Events hub with a browser page (`bourn serve`), curl
//! for SSE (`bourn listen URL`), a publisher (`bourn publish URL`) and a
//! decoder for captured streams (`bourn decode FILE`).
//!
//! Every byte of `text/event-stream` is read by `bourn-codec` and written by
//! `bourn-server`; this crate is the command line around them. Output is the
//! product here: it is written through `std::io::Write` on locked handles,
//! never with `println!`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cli;
mod decode;
mod exit;
mod http_client;
mod listen;
mod output;
mod publish;
mod serve;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Parsed by hand rather than `Cli::parse()`: `bourn serve` needs to know
    // which options were given (its --config file fills in the rest), and a
    // bad value from an environment variable is reported by its name.
    let matches = match Cli::command().try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(error) => {
            if let Some(message) =
                serve::environment_error(&error, args.get(1..).unwrap_or_default())
            {
                return exit::fail(exit::Code::Usage, &message);
            }
            error.exit()
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    init_logs(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return exit::fail(exit::Code::Error, &format!("cannot start: {error}")),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                let serve = matches
                    .subcommand_matches("serve")
                    .cloned()
                    .unwrap_or_default();
                serve::run(*args, &serve).await
            }
            Command::Listen(args) => listen::run(args).await,
            Command::Publish(args) => publish::run(args).await,
            Command::Decode(args) => decode::run(&args),
        }
    });
    // Open connections (a listener's pending reconnect, a hub's idle
    // keep-alive sockets) must not hold the exit.
    runtime.shutdown_background();
    match result {
        Ok(code) => code.into(),
        Err(failure) => exit::fail(failure.code, &failure.message),
    }
}

/// Logs go to stderr: `RUST_LOG` if set, else `info` for `bourn serve`
/// (`debug` with `-v`, `trace` with `-vv`) and `warn` elsewhere.
fn init_logs(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let default = format!("warn,bourn={level},bourn_server={level},bourn_client={level}");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
