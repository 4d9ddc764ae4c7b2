//! Shared helpers: a server started in-process on 127.0.0.1:0 over a fresh data folder, and a
//! "phone" that enrolls and talks to it over real HTTP.
//!
//! The backend: SQLite in the data folder, or, when `CHUNGTAY_TEST_PG` names a PostgreSQL
//! server (`postgres://USER:PASSWORD@HOST:PORT`, no database: `scripts/pg-test` starts one),
//! a fresh database of the test's own there, so tests run in parallel and leave nothing.
#![allow(dead_code)]

pub mod browser;

use std::collections::BTreeMap;
use std::path::Path;

use chungtay_intake::admin::{Database, Site};
use chungtay_intake::{KdfParams, Limits, RunningServer, admin};
use chungtay_protocol::{
    B64, Consent, DeviceKeys, EnrollRequest, EnrollResponse, ErrorBody, ProvincePins,
    ReferralPayload,
};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use serde::Serialize;
use tempfile::TempDir;

pub const PASS: &str = "correct horse battery staple";

/// The environment variable naming the PostgreSQL server the tests run on.
pub const PG_ENV: &str = "CHUNGTAY_TEST_PG";

/// A value bound into raw SQL (see [`TestDb::execute`]).
pub enum Val<'a> {
    Text(&'a str),
    Blob(&'a [u8]),
}

/// The database of one test: SQLite in its data folder, or a PostgreSQL database made for it
/// alone and dropped when the test ends.
pub struct TestDb {
    pg: Option<PgDb>,
}

struct PgDb {
    server: String,
    name: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let Ok(server) = std::env::var(PG_ENV) else {
            return TestDb { pg: None };
        };
        let server = server.trim_end_matches('/').to_string();
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut c = postgres::Client::connect(&format!("{server}/postgres"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("{PG_ENV} names no reachable PostgreSQL: {e}"));
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        TestDb {
            pg: Some(PgDb { server, name }),
        }
    }

    pub fn is_pg(&self) -> bool {
        self.pg.is_some()
    }

    /// The `--database` value of this test's PostgreSQL database, if it runs on one.
    pub fn url(&self) -> Option<String> {
        self.pg.as_ref().map(|p| format!("{}/{}", p.server, p.name))
    }

    /// The site of a data folder: its own SQLite file, or this test's PostgreSQL database.
    pub fn site(&self, dir: &Path) -> Site {
        match self.url() {
            Some(url) => Site::new(dir, Database::Postgres(url)),
            None => Site::from(dir),
        }
    }

    /// Runs one statement on the site's database as someone with write access to it would,
    /// bypassing the server: `$1`, `$2`… are its parameters on both backends.
    pub fn execute(&self, site: &Site, sql: &str, params: &[Val<'_>]) -> u64 {
        self.try_execute(site, sql, params)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// [`TestDb::execute`], reporting what the database refused.
    pub fn try_execute(&self, site: &Site, sql: &str, params: &[Val<'_>]) -> Result<u64, String> {
        match &site.database {
            Database::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                let mut sql = sql.to_string();
                for i in (1..=params.len()).rev() {
                    sql = sql.replace(&format!("${i}"), &format!("?{i}"));
                }
                let values: Vec<rusqlite::types::Value> = params
                    .iter()
                    .map(|v| match v {
                        Val::Text(t) => rusqlite::types::Value::Text(t.to_string()),
                        Val::Blob(b) => rusqlite::types::Value::Blob(b.to_vec()),
                    })
                    .collect();
                db.execute(&sql, rusqlite::params_from_iter(values))
                    .map(|n| n as u64)
                    .map_err(|e| e.to_string())
            }
            Database::Postgres(url) => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                let owned: Vec<Box<dyn postgres::types::ToSql + Sync>> = params
                    .iter()
                    .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
                        match v {
                            Val::Text(t) => Box::new(t.to_string()),
                            Val::Blob(b) => Box::new(b.to_vec()),
                        }
                    })
                    .collect();
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    owned.iter().map(|b| &**b).collect();
                c.execute(sql, &refs).map_err(|e| match e.as_db_error() {
                    Some(db) => db.message().to_string(),
                    None => e.to_string(),
                })
            }
        }
    }

    /// Every row of every table of the site's database as text, one line each, as an operator
    /// of the database reads it: on PostgreSQL `SELECT t::text` (byte columns come out in hex),
    /// on SQLite each value, blobs in hex and as lossy UTF-8 both.
    pub fn dump(&self, site: &Site) -> Vec<String> {
        let mut lines = Vec::new();
        match &site.database {
            Database::Sqlite(path) => {
                let db = rusqlite::Connection::open(path).unwrap();
                let mut tables = db
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .unwrap();
                let tables: Vec<String> = tables
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                for t in tables {
                    let mut stmt = db.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
                    let cols = stmt.column_count();
                    let mut rows = stmt.query([]).unwrap();
                    while let Some(row) = rows.next().unwrap() {
                        let mut line = format!("{t}:");
                        for i in 0..cols {
                            use rusqlite::types::ValueRef;
                            match row.get_ref(i).unwrap() {
                                ValueRef::Null => line.push_str(" NULL"),
                                ValueRef::Integer(n) => line.push_str(&format!(" {n}")),
                                ValueRef::Real(f) => line.push_str(&format!(" {f}")),
                                ValueRef::Text(b) => {
                                    line.push(' ');
                                    line.push_str(&String::from_utf8_lossy(b));
                                }
                                ValueRef::Blob(b) => {
                                    line.push_str(" \\x");
                                    line.push_str(&hex(b));
                                    line.push(' ');
                                    line.push_str(&String::from_utf8_lossy(b));
                                }
                            }
                        }
                        lines.push(line);
                    }
                }
            }
            Database::Postgres(url) => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
                let tables = c
                    .query(
                        "SELECT table_name::text FROM information_schema.tables \
                         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                        &[],
                    )
                    .unwrap();
                for t in tables {
                    let t: String = t.get(0);
                    for row in c
                        .query(&format!("SELECT r::text FROM \"{t}\" r"), &[])
                        .unwrap()
                    {
                        lines.push(format!("{t}: {}", row.get::<_, String>(0)));
                    }
                }
            }
        }
        lines
    }
}

/// Lower-case hex, as PostgreSQL shows byte columns.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(p) = &self.pg
            && let Ok(mut c) =
                postgres::Client::connect(&format!("{}/postgres", p.server), postgres::NoTls)
        {
            // FORCE: the server's pooled connections may outlive the test by a moment.
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", p.name));
        }
    }
}

pub struct Env {
    pub server: RunningServer,
    pub client: Client,
    pub site: Site,
    pub dir: TempDir,
    // Last: dropped after the server.
    pub db: TestDb,
}

impl Env {
    pub fn start() -> Env {
        Env::start_with(Limits::default())
    }

    pub fn start_with(limits: Limits) -> Env {
        Env::start_on(TestDb::new(), limits)
    }

    /// On SQLite whatever the suite runs on (the source of a migration).
    pub fn start_sqlite() -> Env {
        Env::start_on(TestDb { pg: None }, Limits::default())
    }

    fn start_on(db: TestDb, limits: Limits) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let site = db.site(dir.path());
        admin::init(&site, PASS, KdfParams::MINIMUM).unwrap();
        let state = admin::load_state(&site, PASS, limits).unwrap();
        let server = RunningServer::spawn(state, "127.0.0.1:0".parse().unwrap()).unwrap();
        Env {
            server,
            client: {
                chungtay_intake::install_crypto_provider();
                Client::new()
            },
            site,
            dir,
            db,
        }
    }

    /// The site, for the admin functions.
    pub fn data(&self) -> &Site {
        &self.site
    }

    /// The data folder (key file, TLS files; the SQLite file when on SQLite).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Raw SQL on the database, as an attacker with write access to it (see [`TestDb::execute`]).
    pub fn sql(&self, sql: &str, params: &[Val<'_>]) -> u64 {
        self.db.execute(&self.site, sql, params)
    }

    /// [`Env::sql`], reporting what the database refused.
    pub fn try_sql(&self, sql: &str, params: &[Val<'_>]) -> Result<u64, String> {
        self.db.try_execute(&self.site, sql, params)
    }

    /// The store, opened as the admin commands open it.
    pub fn store(&self) -> std::sync::Arc<dyn chungtay_intake::IntakeStore> {
        admin::open_site(&self.site).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub fn post<T: Serialize>(&self, path: &str, body: &T) -> Response {
        self.client.post(self.url(path)).json(body).send().unwrap()
    }

    pub fn staff_token(&self) -> String {
        admin::staff_token(self.data(), PASS, "test", 1)
            .unwrap()
            .token
    }

    pub fn referral_rows(&self) -> i64 {
        self.store().referral_count().unwrap()
    }

    /// Enrolls a new phone with a fresh code.
    pub fn enroll(&self) -> Phone {
        let code = admin::issue_code(self.data(), PASS).unwrap().code;
        enroll_with(self, &code)
    }
}

/// Enrolls a new phone with this code.
pub fn enroll_with(env: &Env, code: &str) -> Phone {
    {
        let code = code.to_string();
        let keys = DeviceKeys::generate().unwrap();
        let resp = env.post(
            "/v1/enroll",
            &EnrollRequest {
                code,
                device_public_key: B64(keys.public_key().to_vec()),
            },
        );
        assert_eq!(resp.status(), StatusCode::OK);
        let er: EnrollResponse = resp.json().unwrap();
        Phone {
            pins: ProvincePins::from_response(&er).unwrap(),
            device_id: er.device_id,
            keys,
        }
    }
}

pub struct Phone {
    pub keys: DeviceKeys,
    pub device_id: String,
    pub pins: ProvincePins,
}

/// Asserts the status and the JSON error code, returning the error body.
pub fn expect_error(resp: Response, status: StatusCode, code: &str) -> ErrorBody {
    assert_eq!(resp.status(), status, "expected {code}");
    let body: ErrorBody = resp.json().unwrap();
    assert_eq!(body.error, code);
    body
}

/// Scenario 2: a 19-year-old Thái returnee wants a sewing course and a small loan.
pub fn scenario2(referral_id: &str) -> ReferralPayload {
    ReferralPayload {
        referral_id: referral_id.into(),
        services: vec!["vocational_training".into(), "loans".into()],
        urgency: "normal".into(),
        note: "Muốn học nghề may và vay vốn nhỏ để mở tiệm".into(),
        shared: BTreeMap::from([
            ("name".to_string(), "Lò Thị Xuân".to_string()),
            ("birth_year".to_string(), "2006".to_string()),
            ("commune".to_string(), "Mường Lát".to_string()),
            ("need".to_string(), "Học may, vay vốn nhỏ".to_string()),
        ]),
        consent: Consent {
            purposes: vec!["vocational_training".into(), "loans".into()],
            recipient: "Hội LHPN tỉnh Thanh Hóa".into(),
            fields: vec![
                "name".into(),
                "birth_year".into(),
                "commune".into(),
                "need".into(),
            ],
            given_on: "2025-09-01".into(),
        },
        created_at: "2025-09-01T08:10:00Z".into(),
    }
}
