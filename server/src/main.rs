//! `chungtay-intake`: admin subcommands and the server.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chungtay_intake::admin::{self, Site};
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
    /// The database: sqlite:PATH (the default is intake.db in --data) or
    /// postgres://USER@HOST:PORT/DBNAME, which several `serve` instances may share. Also read
    /// from CHUNGTAY_DATABASE, so that a password in it stays off the command line.
    #[arg(long, global = true, env = "CHUNGTAY_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// In a national deployment (serve --deployment): the province this command is for, by
    /// slug (thanh-hoa, lao-cai…), or `national` for the national office. With PostgreSQL it
    /// picks that province's schema; its --data is its folder in the deployment.
    #[arg(long, global = true)]
    province: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the province keys (encrypted under the passphrase) and the database.
    Init {
        #[arg(long)]
        data: PathBuf,
    },
    /// Print a one-time enrollment code (valid 7 days). Needs the province passphrase.
    IssueCode {
        #[arg(long)]
        data: PathBuf,
        /// The club or leader it is for; the enrolled device carries it in the console.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Create a console account and print its one-time setup code (valid 7 days); its owner
    /// sets her password at /console/setup. Needs the province passphrase.
    AddAccount {
        #[arg(long)]
        data: PathBuf,
        /// 3 to 32 characters: a-z, 0-9, dot, dash, underscore.
        #[arg(long)]
        username: String,
        /// The person's full name, shown in the console.
        #[arg(long)]
        name: String,
        /// officer (referrals), admin (devices, codes, accounts, tokens, audit) or viewer
        /// (statistics only).
        #[arg(long)]
        role: String,
    },
    /// List enrolled devices (and those flagged for a checkpoint that does not extend the
    /// province's: an older copy of a phone's data).
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
    /// Create a staff API token (printed once, with its id). Needs the province passphrase.
    StaffToken {
        #[arg(long)]
        data: PathBuf,
        /// Who it is for: named with every transition the token makes.
        #[arg(long, default_value = "staff")]
        label: String,
        /// Days it stays valid (1 to 366).
        #[arg(long, default_value_t = admin::DEFAULT_TOKEN_DAYS)]
        days: u32,
        /// read: list referrals; write: also move them through the lifecycle.
        #[arg(long, default_value = "read", value_parser = ["read", "write"])]
        scope: String,
    },
    /// List staff tokens: id, label, creation, expiry, revocation.
    StaffTokens {
        #[arg(long)]
        data: PathBuf,
    },
    /// Revoke a staff token by its id: refused from now on.
    RevokeToken {
        #[arg(long)]
        data: PathBuf,
        token_id: String,
    },
    /// Copy the province's database from SQLite into an empty PostgreSQL database, or from
    /// PostgreSQL into a new SQLite file, then read both back and compare every row. The key
    /// file stays in --data; serve the copy with it.
    Migrate {
        #[arg(long)]
        data: PathBuf,
        /// sqlite:PATH or postgres://USER@HOST:PORT/DBNAME. Default: intake.db in --data, or
        /// --database (CHUNGTAY_DATABASE) when --to is sqlite:PATH.
        #[arg(long)]
        from: Option<String>,
        /// postgres://… (an empty database) or sqlite:PATH (a new file). Default: --database
        /// (CHUNGTAY_DATABASE), or intake.db in --data when --from is postgres://….
        #[arg(long)]
        to: Option<String>,
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
        /// The province's data folder.
        #[arg(
            long,
            required_unless_present = "deployment",
            conflicts_with = "deployment"
        )]
        data: Option<PathBuf>,
        /// A national deployment: a folder holding one data folder per province, named by its
        /// slug, and optionally `national` (the national office's console). Each is served at
        /// SLUG.DOMAIN (national: DOMAIN), with its own passphrase, read from
        /// CHUNGTAY_PROVINCE_PASSPHRASE_<SLUG> (e.g. _THANH_HOA, _NATIONAL) or a line of
        /// standard input each, in order of slug, national last.
        #[arg(long, requires = "domain")]
        deployment: Option<PathBuf>,
        /// The deployment's host name (e.g. intake.example.vn).
        #[arg(long, requires = "deployment")]
        domain: Option<String>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Requests per minute per device (token bucket).
        #[arg(long, default_value_t = 60)]
        device_rate: u32,
        /// Device requests per minute per client address, charged before any other work.
        #[arg(long, default_value_t = 600)]
        ip_rate: u32,
        /// Allow plain HTTP on an address other than loopback (only behind a TLS proxy).
        #[arg(long)]
        plain_http_anywhere: bool,
        /// PEM certificate chain: serve HTTPS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
}

/// The passphrase: of `province` from CHUNGTAY_PROVINCE_PASSPHRASE_<SLUG> first (so a
/// deployment's provinces do not all take the one left in CHUNGTAY_PROVINCE_PASSPHRASE),
/// else CHUNGTAY_PROVINCE_PASSPHRASE, a terminal prompt, or a line of standard input.
fn read_passphrase_of(
    province: Option<&str>,
    confirm: bool,
) -> Result<Zeroizing<String>, AdminError> {
    if let Some(slug) = province
        && let Ok(p) = std::env::var(province_var(slug))
    {
        return Ok(Zeroizing::new(p));
    }
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

/// A province's passphrase in a deployment: CHUNGTAY_PROVINCE_PASSPHRASE_<SLUG>, else asked
/// for by name on a terminal, else the next line of standard input.
fn province_var(slug: &str) -> String {
    format!("{PASSPHRASE_ENV}_{}", slug.replace('-', "_").to_uppercase())
}

fn read_province_passphrase(slug: &str) -> Result<Zeroizing<String>, AdminError> {
    if let Ok(p) = std::env::var(province_var(slug)) {
        return Ok(Zeroizing::new(p));
    }
    if std::io::stdin().is_terminal() {
        return Ok(Zeroizing::new(rpassword::prompt_password(format!(
            "Passphrase of {slug}: "
        ))?));
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line)?;
    let trimmed = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(trimmed);
    Ok(line)
}

fn run(cli: Cli) -> Result<(), AdminError> {
    let mut out = std::io::stdout().lock();
    let database = cli
        .database
        .as_deref()
        .map(admin::Database::parse)
        .transpose()?;
    let province = cli.province.clone();
    let site = |data: &Path| -> Result<Site, AdminError> {
        // A province's folder in a deployment is named by its slug: a command given one
        // province's folder and another's --province would pair one's keys with the other's
        // schema.
        if let Some(slug) = &province
            && data.file_name().and_then(|n| n.to_str()) != Some(slug.as_str())
        {
            return Err(AdminError::Usage(
                "--province must be the name of the --data folder (its folder in the deployment)",
            ));
        }
        match (&province, &database) {
            (Some(slug), db) => chungtay_intake::deployment::province_site(data, slug, db.as_ref()),
            (None, Some(db)) => Ok(Site::new(data, db.clone())),
            (None, None) => Ok(Site::from(data)),
        }
    };
    match cli.cmd {
        Cmd::Init { data } => {
            let pass = read_passphrase_of(province.as_deref(), true)?;
            let s = admin::init(site(&data)?, &pass, KdfParams::default())?;
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
        Cmd::AddAccount {
            data,
            username,
            name,
            role,
        } => {
            let pass = read_passphrase_of(province.as_deref(), false)?;
            let roles: &[&str] =
                if province.as_deref() == Some(chungtay_intake::deployment::NATIONAL) {
                    &chungtay_intake::accounts::NATIONAL_ROLES
                } else {
                    &chungtay_intake::accounts::ROLES
                };
            let made =
                admin::add_account_among(site(&data)?, &pass, &username, &name, &role, roles)?;
            writeln!(out, "account {} ({role})", made.account_id)?;
            writeln!(out, "setup code {}", made.setup_code.as_str())?;
            writeln!(
                out,
                "valid 7 days, once: the owner sets her password at /console/setup"
            )?;
        }
        Cmd::IssueCode { data, label } => {
            let pass = read_passphrase_of(province.as_deref(), false)?;
            let c = admin::issue_code_for(site(&data)?, &pass, &label)?;
            writeln!(out, "{}", c.code)?;
            writeln!(out, "expires {}", c.expires_at)?;
            writeln!(out, "province key fingerprint {}", c.fingerprint)?;
        }
        Cmd::Devices { data } => {
            for d in admin::devices(site(&data)?)? {
                let flag = match (&d.flagged_at, &d.flag_reason) {
                    (Some(at), reason) => format!(
                        "\tFLAGGED {at}: {}",
                        reason.as_deref().unwrap_or("checkpoint")
                    ),
                    (None, _) => String::new(),
                };
                writeln!(
                    out,
                    "{}\tenrolled {}\t{}\tkey {}{flag}",
                    d.device_id,
                    d.enrolled_at,
                    d.revoked_at
                        .map_or_else(|| "active".to_string(), |t| format!("revoked {t}")),
                    b64(&d.public_key)
                )?;
            }
        }
        Cmd::Revoke { data, device_id } => {
            if !admin::revoke(site(&data)?, &device_id)? {
                return Err(AdminError::Usage("no such device"));
            }
            writeln!(out, "revoked {device_id}")?;
        }
        Cmd::StaffToken {
            data,
            label,
            days,
            scope,
        } => {
            let pass = read_passphrase_of(province.as_deref(), false)?;
            let t = admin::staff_token_scoped(site(&data)?, &pass, &label, days, &scope)?;
            writeln!(out, "{}", t.token)?;
            writeln!(out, "id {}", t.token_id)?;
            writeln!(out, "expires {}", t.expires_at)?;
        }
        Cmd::StaffTokens { data } => {
            for t in admin::staff_tokens(site(&data)?)? {
                let expires = chrono::DateTime::from_timestamp(t.expires_at, 0)
                    .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{}\t{}\t{}\tcreated {}\texpires {expires}\t{}",
                    t.token_id,
                    t.label,
                    t.scope.as_deref().unwrap_or("read+write"),
                    t.created_at,
                    t.revoked_at
                        .map_or_else(|| "active".to_string(), |r| format!("revoked {r}")),
                )?;
            }
        }
        Cmd::RevokeToken { data, token_id } => {
            if !admin::revoke_token(site(&data)?, &token_id)? {
                return Err(AdminError::Usage("no such token id"));
            }
            writeln!(out, "revoked {token_id}")?;
        }
        Cmd::Migrate { data, from, to } => {
            let (from, to) =
                migrate_ends(&data, from.as_deref(), to.as_deref(), database.as_ref())?;
            // A province of a deployment: its PostgreSQL end is its own schema.
            let in_province = |end: admin::Database| -> Result<admin::Database, AdminError> {
                match (&province, end) {
                    (Some(slug), admin::Database::Postgres(url)) => Ok(admin::Database::Postgres(
                        admin::in_schema(&url, &chungtay_intake::deployment::schema_of(slug)?)?,
                    )),
                    (_, end) => Ok(end),
                }
            };
            let (from, to) = (in_province(from)?, in_province(to)?);
            if !data.join(admin::KEY_FILE).exists() {
                return Err(AdminError::Usage(
                    "no province-keys.json in --data: the copy would be sealed under keys not there",
                ));
            }
            let done = chungtay_intake::migrate::migrate(&from, &to)?;
            for (table, rows) in &done.tables {
                writeln!(out, "{table}\t{rows} rows")?;
            }
            writeln!(
                out,
                "copied and verified: every row of every table is the same"
            )?;
        }
        Cmd::TlsCert { data, names } => {
            admin::open_site(site(&data)?)?;
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
            deployment,
            domain,
            listen,
            device_rate,
            ip_rate,
            plain_http_anywhere,
            tls_cert,
            tls_key,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(chungtay_intake::tls::server_config(&cert, &key)?),
                _ => None,
            };
            if tls.is_none() {
                chungtay_intake::check_plain_listen(listen, plain_http_anywhere)?;
            }
            let limits = Limits {
                device_per_minute: NonZeroU32::new(device_rate)
                    .ok_or(AdminError::Usage("--device-rate must be at least 1"))?,
                ip_per_minute: NonZeroU32::new(ip_rate)
                    .ok_or(AdminError::Usage("--ip-rate must be at least 1"))?,
                ..Limits::default()
            };
            let served: chungtay_intake::Deployment = match (data, deployment, domain) {
                (Some(data), _, _) => {
                    let pass = read_passphrase_of(province.as_deref(), false)?;
                    admin::load_state(site(&data)?, &pass, limits)?.into()
                }
                (None, Some(root), Some(domain)) => {
                    if province.is_some() {
                        return Err(AdminError::Usage(
                            "serve --deployment serves every province in it: no --province",
                        ));
                    }
                    chungtay_intake::deployment::load(
                        &root,
                        &domain,
                        database.as_ref(),
                        limits,
                        read_province_passphrase,
                    )?
                }
                _ => {
                    return Err(AdminError::Usage(
                        "serve needs --data, or --deployment and --domain",
                    ));
                }
            };
            for host in served.hosts() {
                tracing::info!(%host, "serving");
            }
            let state = served;
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

/// Where `migrate` copies from and to: each as given, else SQLite in the data folder for the
/// SQLite end and `--database` for the PostgreSQL end.
fn migrate_ends(
    data: &Path,
    from: Option<&str>,
    to: Option<&str>,
    database: Option<&admin::Database>,
) -> Result<(admin::Database, admin::Database), AdminError> {
    use admin::Database::{Postgres, Sqlite};
    let from = from.map(admin::Database::parse).transpose()?;
    let to = to.map(admin::Database::parse).transpose()?;
    let local = || Sqlite(data.join(admin::DB_FILE));
    let database = || {
        database.cloned().ok_or(AdminError::Usage(
            "migrate: name the PostgreSQL database with --from or --to (or CHUNGTAY_DATABASE)",
        ))
    };
    Ok(match (from, to) {
        (Some(from), Some(to)) => (from, to),
        (Some(from @ Postgres(_)), None) => (from, local()),
        (Some(from @ Sqlite(_)), None) => (from, database()?),
        (None, Some(to @ Sqlite(_))) => (database()?, to),
        (None, Some(to @ Postgres(_))) => (local(), to),
        (None, None) => (local(), database()?),
    })
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
