//! `chungtay-intake`: admin subcommands and the server.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;

use chungtay_intake::admin;
use chungtay_intake::{AdminError, KdfParams, Limits, PASSPHRASE_ENV};
use clap::{Parser, Subcommand};
use zeroize::Zeroizing;

fn b64(bytes: &[u8]) -> String {
    chungtay_protocol::B64(bytes.to_vec()).encode()
}

/// Chung Tay provincial intake server.
///
/// The province passphrase is read from the environment variable CHUNGTAY_PROVINCE_PASSPHRASE
/// or from standard input, never from the command line.
#[derive(Parser)]
#[command(name = "chungtay-intake", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the province keys (encrypted under the passphrase) and the database.
    Init {
        #[arg(long)]
        data: PathBuf,
    },
    /// Print a one-time enrollment code (valid 7 days).
    IssueCode {
        #[arg(long)]
        data: PathBuf,
    },
    /// List enrolled devices.
    Devices {
        #[arg(long)]
        data: PathBuf,
    },
    /// Revoke a device: its submissions and pulls are refused from now on.
    Revoke {
        #[arg(long)]
        data: PathBuf,
        device_id: String,
    },
    /// Create a staff API token (printed once).
    StaffToken {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "staff")]
        label: String,
    },
    /// Make a self-signed TLS certificate (tls-cert.pem, tls-key.pem in DATA) and print the
    /// public-key pin the phones are given.
    TlsCert {
        #[arg(long)]
        data: PathBuf,
        /// Host name or IP address the phones connect to (repeatable).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
    },
    /// Serve the API: plain HTTP, or TLS with --tls-cert and --tls-key (see server/README.md).
    Serve {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Requests per minute per device (token bucket).
        #[arg(long, default_value_t = 60)]
        device_rate: u32,
        /// PEM certificate chain: serve HTTPS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
}

fn read_passphrase(confirm: bool) -> Result<Zeroizing<String>, AdminError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok(Zeroizing::new(p));
    }
    if std::io::stdin().is_terminal() {
        let p = Zeroizing::new(rpassword::prompt_password("Province passphrase: ")?);
        if confirm {
            let again = Zeroizing::new(rpassword::prompt_password("Repeat it: ")?);
            if *again != *p {
                return Err(AdminError::Usage("the passphrases differ"));
            }
        }
        return Ok(p);
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line)?;
    let trimmed = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(trimmed);
    Ok(line)
}

fn run(cli: Cli) -> Result<(), AdminError> {
    let mut out = std::io::stdout().lock();
    match cli.cmd {
        Cmd::Init { data } => {
            let pass = read_passphrase(true)?;
            let s = admin::init(&data, &pass, KdfParams::default())?;
            writeln!(out, "initialised {}", data.display())?;
            writeln!(
                out,
                "province HPKE public key:    {}",
                b64(&s.hpke_public_key)
            )?;
            writeln!(
                out,
                "province signing public key: {}",
                b64(&s.signing_public_key)
            )?;
            writeln!(out, "province key fingerprint:    {}", s.fingerprint)?;
        }
        Cmd::IssueCode { data } => {
            let c = admin::issue_code(&data)?;
            writeln!(out, "{}", c.code)?;
            writeln!(out, "expires {}", c.expires_at)?;
            writeln!(out, "province key fingerprint {}", c.fingerprint)?;
        }
        Cmd::Devices { data } => {
            for d in admin::devices(&data)? {
                writeln!(
                    out,
                    "{}\tenrolled {}\t{}\tkey {}",
                    d.device_id,
                    d.enrolled_at,
                    d.revoked_at
                        .map_or_else(|| "active".to_string(), |t| format!("revoked {t}")),
                    b64(&d.public_key)
                )?;
            }
        }
        Cmd::Revoke { data, device_id } => {
            if !admin::revoke(&data, &device_id)? {
                return Err(AdminError::Usage("no such device"));
            }
            writeln!(out, "revoked {device_id}")?;
        }
        Cmd::StaffToken { data, label } => {
            writeln!(out, "{}", admin::staff_token(&data, &label)?)?;
        }
        Cmd::TlsCert { data, names } => {
            admin::open_store(&data)?;
            let c = chungtay_intake::tls::generate_self_signed(&data, &names)?;
            writeln!(
                out,
                "wrote {}",
                data.join(chungtay_intake::tls::CERT_FILE).display()
            )?;
            writeln!(
                out,
                "wrote {}",
                data.join(chungtay_intake::tls::KEY_FILE).display()
            )?;
            writeln!(out, "pin (SPKI SHA-256): sha256/{}", c.spki_sha256)?;
        }
        Cmd::Serve {
            data,
            listen,
            device_rate,
            tls_cert,
            tls_key,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(chungtay_intake::tls::server_config(&cert, &key)?),
                _ => None,
            };
            let pass = read_passphrase(false)?;
            let limits = Limits {
                device_per_minute: NonZeroU32::new(device_rate)
                    .ok_or(AdminError::Usage("--device-rate must be at least 1"))?,
                ..Limits::default()
            };
            let state = admin::load_state(&data, &pass, limits)?;
            drop(pass);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen).await?;
                let stop = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                match tls {
                    Some(tls) => {
                        tracing::info!(addr = %listener.local_addr()?, "serving HTTPS");
                        chungtay_intake::run_tls(listener, tls, state, stop).await
                    }
                    None => {
                        tracing::info!(addr = %listener.local_addr()?, "serving plain HTTP");
                        chungtay_intake::run(listener, state, stop).await
                    }
                }
            })?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chungtay-intake: {e}");
            ExitCode::FAILURE
        }
    }
}
