//! A national deployment (issue 18): several provinces and the national office served by one
//! process, each at its own host name, each with its own keys, passphrase and database (its own
//! SQLite file, or its own schema of one PostgreSQL database when `CHUNGTAY_TEST_PG` is set).
//! Tried as an attacker would: a device, a code, a token, a session or a sealed referral of
//! one province taken to another; and as the national viewer, who must see totals only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::Path;

use chungtay_intake::admin::{self, Site};
use chungtay_intake::deployment::{self, NATIONAL};
use chungtay_intake::{AdminError, KdfParams, KeyFileError, Limits, RunningServer, accounts};
use chungtay_protocol::{
    B64, DeviceKeys, EnrollRequest, EnrollResponse, ErrorBody, ProvincePins, Receipt,
    ReferralPayload, seal_referral, verify_receipt,
};
use common::browser::Browser;
use common::{PASS, TestDb, scenario2};
use reqwest::StatusCode;
use reqwest::blocking::{Client, ClientBuilder, Response};
use tempfile::TempDir;
use zeroize::Zeroizing;

const DOMAIN: &str = "intake.test";
const PASSWORD: &str = "mật khẩu của cán bộ";

/// Each province's passphrase is its own.
fn passphrase(slug: &str) -> String {
    format!("{PASS} {slug}")
}

struct Nation {
    server: RunningServer,
    root: TempDir,
    // Last: dropped after the server.
    db: TestDb,
}

impl Nation {
    fn site(&self, slug: &str) -> Site {
        let database = self
            .db
            .url()
            .map(chungtay_intake::admin::Database::Postgres);
        deployment::province_site(&self.root.path().join(slug), slug, database.as_ref()).unwrap()
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    fn host(&self, slug: &str) -> String {
        if slug == NATIONAL {
            DOMAIN.to_string()
        } else {
            format!("{slug}.{DOMAIN}")
        }
    }

    /// A client that finds every host of the deployment on loopback, as DNS would.
    fn client_builder(&self) -> ClientBuilder {
        chungtay_intake::install_crypto_provider();
        let mut b = Client::builder();
        for slug in ["thanh-hoa", "lao-cai", NATIONAL, "ha-noi"] {
            b = b.resolve(&self.host(slug), self.addr());
        }
        b
    }

    fn client(&self) -> Client {
        self.client_builder().build().unwrap()
    }

    fn url(&self, slug: &str, path: &str) -> String {
        format!("http://{}:{}{path}", self.host(slug), self.addr().port())
    }

    fn post<T: serde::Serialize>(&self, slug: &str, path: &str, body: &T) -> Response {
        self.client()
            .post(self.url(slug, path))
            .json(body)
            .send()
            .unwrap()
    }

    fn enroll(&self, slug: &str, code: &str) -> Result<Phone, Box<Response>> {
        let keys = DeviceKeys::generate().unwrap();
        let resp = self.post(
            slug,
            "/v1/enroll",
            &EnrollRequest {
                code: code.to_string(),
                device_public_key: B64(keys.public_key().to_vec()),
            },
        );
        if resp.status() != StatusCode::OK {
            return Err(Box::new(resp));
        }
        let er: EnrollResponse = resp.json().unwrap();
        Ok(Phone {
            pins: ProvincePins::from_response(&er).unwrap(),
            device_id: er.device_id,
            keys,
        })
    }

    fn code(&self, slug: &str) -> String {
        admin::issue_code(self.site(slug), &passphrase(slug))
            .unwrap()
            .code
    }

    fn send(&self, slug: &str, phone: &Phone, payload: &ReferralPayload) -> Response {
        let sub = seal_referral(
            payload,
            &phone.keys,
            &phone.device_id,
            &phone.pins.hpke_public_key,
        )
        .unwrap();
        self.post(slug, "/v1/referrals", &sub)
    }

    fn referral_count(&self, slug: &str) -> i64 {
        admin::open_site(self.site(slug))
            .unwrap()
            .referral_count()
            .unwrap()
    }

    fn logged_in(&self, slug: &str, user: &str, role: &str, roles: &[&str]) -> Browser {
        let pass = passphrase(slug);
        let made =
            admin::add_account_among(self.site(slug), &pass, user, "Chị Cán Bộ", role, roles)
                .unwrap();
        admin::set_password_with_code(self.site(slug), &pass, user, &made.setup_code, PASSWORD)
            .unwrap();
        let mut b = Browser::at(
            self.client_builder(),
            &format!("http://{}:{}", self.host(slug), self.addr().port()),
        );
        let p = b.login(user, PASSWORD);
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        b
    }
}

struct Phone {
    keys: DeviceKeys,
    device_id: String,
    pins: ProvincePins,
}

fn init(root: &Path, db: &TestDb, slug: &str) {
    std::fs::create_dir(root.join(slug)).unwrap();
    let database = db.url().map(chungtay_intake::admin::Database::Postgres);
    let site = deployment::province_site(&root.join(slug), slug, database.as_ref()).unwrap();
    admin::init(&site, &passphrase(slug), KdfParams::MINIMUM).unwrap();
}

/// Thanh Hóa, Lào Cai and the national office, loaded as `serve --deployment` loads them.
fn nation() -> Nation {
    nation_with(Limits::default())
}

fn nation_with(limits: Limits) -> Nation {
    let db = TestDb::new();
    let root = tempfile::tempdir().unwrap();
    for slug in ["thanh-hoa", "lao-cai", NATIONAL] {
        init(root.path(), &db, slug);
    }
    let database = db.url().map(chungtay_intake::admin::Database::Postgres);
    let mut asked = Vec::new();
    let served = deployment::load(root.path(), DOMAIN, database.as_ref(), limits, |slug| {
        asked.push(slug.to_string());
        Ok(Zeroizing::new(passphrase(slug)))
    })
    .unwrap();
    assert_eq!(asked, ["lao-cai", "thanh-hoa", NATIONAL]);
    let server = RunningServer::spawn(served, "127.0.0.1:0".parse().unwrap()).unwrap();
    Nation { server, root, db }
}

fn expect_error(resp: impl Into<Box<Response>>, status: StatusCode, code: &str) {
    let resp = *resp.into();
    assert_eq!(resp.status(), status, "expected {code}");
    let body: ErrorBody = resp.json().unwrap();
    assert_eq!(body.error, code);
}

#[test]
fn a_phone_code_token_or_referral_of_one_province_is_nothing_at_another() {
    let n = nation();
    let th_code = n.code("thanh-hoa");

    // A Thanh Hóa code does not enroll at Lào Cai's host; at its own it does.
    expect_error(
        n.enroll("lao-cai", &th_code).err().unwrap(),
        StatusCode::FORBIDDEN,
        "invalid_code",
    );
    let th = n.enroll("thanh-hoa", &th_code).ok().unwrap();
    let lc = n.enroll("lao-cai", &n.code("lao-cai")).ok().unwrap();
    assert_ne!(th.pins.fingerprint(), lc.pins.fingerprint());

    // Her referral goes to her province, and its receipt is signed by her province's key.
    let resp = n.send("thanh-hoa", &th, &scenario2("ref-th-1"));
    assert_eq!(resp.status(), StatusCode::OK);
    let receipt: Receipt = resp.json().unwrap();
    verify_receipt(&receipt, &th.device_id, &th.pins.signing_key).unwrap();
    // Seen when it sent it, written in the referral's own commit.
    let seen = admin::open_site(n.site("thanh-hoa"))
        .unwrap()
        .device(&th.device_id)
        .unwrap()
        .unwrap()
        .last_seen_at;
    assert_eq!(seen.as_deref(), Some(receipt.received_at.as_str()));
    assert!(verify_receipt(&receipt, &th.device_id, &lc.pins.signing_key).is_err());

    // The same sealed referral sent to Lào Cai: her device is unknown there.
    expect_error(
        n.send("lao-cai", &th, &scenario2("ref-th-2")),
        StatusCode::UNAUTHORIZED,
        "unknown_device",
    );
    // A Lào Cai phone sealing to Thanh Hóa's key and sending to Lào Cai under its own id:
    // Lào Cai's key cannot open it, so it is never stored there.
    let mut crossed = Phone {
        keys: lc.keys,
        device_id: lc.device_id.clone(),
        pins: th.pins,
    };
    expect_error(
        n.send("lao-cai", &crossed, &scenario2("ref-lc-1")),
        StatusCode::BAD_REQUEST,
        "undecryptable",
    );
    // Nor to Thanh Hóa: sealed to the right key, but by a device Thanh Hóa never enrolled.
    expect_error(
        n.send("thanh-hoa", &crossed, &scenario2("ref-lc-2")),
        StatusCode::UNAUTHORIZED,
        "unknown_device",
    );
    crossed.pins = lc.pins;
    assert_eq!(
        n.send("lao-cai", &crossed, &scenario2("ref-lc-3")).status(),
        StatusCode::OK
    );
    assert_eq!(n.referral_count("thanh-hoa"), 1);
    assert_eq!(n.referral_count("lao-cai"), 1);
    assert_eq!(n.referral_count(NATIONAL), 0);

    // A Thanh Hóa staff token lists Thanh Hóa's referrals, and nothing at Lào Cai.
    let token = admin::staff_token(n.site("thanh-hoa"), &passphrase("thanh-hoa"), "cb", 1)
        .unwrap()
        .token;
    let list = |slug: &str| {
        n.client()
            .get(n.url(slug, "/v1/staff/referrals"))
            .bearer_auth(&token)
            .send()
            .unwrap()
    };
    let own: serde_json::Value = list("thanh-hoa").json().unwrap();
    assert_eq!(own["referrals"].as_array().unwrap().len(), 1);
    assert_eq!(own["referrals"][0]["referral_id"], "ref-th-1");
    expect_error(list("lao-cai"), StatusCode::UNAUTHORIZED, "unauthorized");

    // The national office enrolls no phone and lists no referral; a host not served is told so.
    expect_error(
        n.post(
            NATIONAL,
            "/v1/enroll",
            &EnrollRequest {
                code: th_code,
                device_public_key: B64(vec![7; 32]),
            },
        ),
        StatusCode::NOT_FOUND,
        "not_found",
    );
    expect_error(list(NATIONAL), StatusCode::NOT_FOUND, "not_found");
    expect_error(
        n.client()
            .get(n.url("ha-noi", "/v1/status"))
            .send()
            .unwrap(),
        StatusCode::MISDIRECTED_REQUEST,
        "unknown_host",
    );
    let health = n.client().get(n.url("ha-noi", "/healthz")).send().unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // On PostgreSQL each is a schema of its own, and nothing is left in the shared one.
    if let Some(url) = n.db.url() {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut tables = |schema: &str| -> i64 {
            c.query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
                &[&schema],
            )
            .unwrap()
            .get(0)
        };
        for schema in ["thanh_hoa", "lao_cai", "national"] {
            assert!(tables(schema) > 5, "{schema}");
        }
        assert_eq!(tables("public"), 0);
    }
    // Each province's database holds its own rows, none of them readable.
    for slug in ["thanh-hoa", "lao-cai", NATIONAL] {
        let dump = n.db.dump(&n.site(slug)).join("\n");
        assert!(
            !dump.contains("Lò Thị Xuân") && !dump.contains("Mường Lát"),
            "{slug}"
        );
        assert_eq!(dump.contains("ref-th-1"), slug == "thanh-hoa", "{slug}");
        assert_eq!(dump.contains("ref-lc-3"), slug == "lao-cai", "{slug}");
    }
}

#[test]
fn a_console_session_of_one_province_opens_nothing_at_another() {
    let n = nation();
    let mut officer = n.logged_in("thanh-hoa", "canbo", "officer", &accounts::ROLES);
    assert_eq!(officer.get("/console/referrals").status, StatusCode::OK);
    // The same cookie, sent to Lào Cai's host (a browser would not even send it there).
    let mut elsewhere = Browser::at(
        n.client_builder(),
        &format!("http://{}:{}", n.host("lao-cai"), n.addr().port()),
    );
    elsewhere.cookies = officer.cookies.clone();
    let page = elsewhere.get("/console/referrals");
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/console/login"));
    // Her username and password are Thanh Hóa's only.
    let mut b = Browser::at(
        n.client_builder(),
        &format!("http://{}:{}", n.host("lao-cai"), n.addr().port()),
    );
    assert_ne!(b.login("canbo", PASSWORD).status, StatusCode::SEE_OTHER);
    // A province's admin cannot make a national viewer.
    assert!(matches!(
        admin::add_account(
            n.site("lao-cai"),
            &passphrase("lao-cai"),
            "qg",
            "Quốc Gia",
            "national"
        ),
        Err(AdminError::Usage(_))
    ));
}

#[test]
fn the_national_viewer_sees_every_provinces_totals_with_small_cells_hidden_and_nothing_else() {
    let n = nation();
    let th = n.enroll("thanh-hoa", &n.code("thanh-hoa")).ok().unwrap();
    let lc = n.enroll("lao-cai", &n.code("lao-cai")).ok().unwrap();
    for i in 0..7 {
        let resp = n.send("thanh-hoa", &th, &scenario2(&format!("th-{i}")));
        assert_eq!(resp.status(), StatusCode::OK);
    }
    for i in 0..2 {
        let resp = n.send("lao-cai", &lc, &scenario2(&format!("lc-{i}")));
        assert_eq!(resp.status(), StatusCode::OK);
    }

    let mut viewer = n.logged_in(NATIONAL, "quocgia", "national", &accounts::NATIONAL_ROLES);
    let home = viewer.get("/console");
    assert_eq!(home.location.as_deref(), Some("/console/national"));
    let page = viewer.get("/console/national");
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let table = page
        .body
        .split("id=\"by_province\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    // Lào Cai's 2 would be "<5" and Thanh Hóa's 7 hidden beside it; but Thanh Hóa knows its
    // own 7, and the total of 9 would give Lào Cai's 2 back: with only two provinces hidden,
    // no number shows at all, the total included.
    assert!(
        table.contains("Thanh Hóa") && table.contains("Lào Cai"),
        "{table}"
    );
    for n in [">7<", ">2<", ">9<", "&lt;5", "&#60;5"] {
        assert!(!table.contains(n), "{n} in {table}");
    }
    assert_eq!(table.matches(">x<").count(), 3, "{table}");
    assert!(!page.body.contains("Lò Thị Xuân") && !page.body.contains("Mường Lát"));
    assert!(!page.body.contains("by_commune"));
    let csv = viewer.get("/console/national.csv");
    assert!(csv.body.contains("Thanh Hóa") && !csv.body.contains("Lò Thị Xuân"));

    // No referral, device or province page exists for her, here or at a province's host.
    for path in [
        "/console/referrals",
        "/console/referrals/th-1",
        "/console/devices",
        "/console/tokens",
        "/console/stats",
    ] {
        assert_eq!(viewer.get(path).status, StatusCode::NOT_FOUND, "{path}");
    }
    let mut at_province = Browser::at(
        n.client_builder(),
        &format!("http://{}:{}", n.host("thanh-hoa"), n.addr().port()),
    );
    at_province.cookies = viewer.cookies.clone();
    assert_eq!(
        at_province.get("/console/stats").status,
        StatusCode::SEE_OTHER
    );

    // The national office's admin manages accounts, and sees no totals.
    let mut admin_b = n.logged_in(NATIONAL, "quantri", "admin", &accounts::NATIONAL_ROLES);
    assert_eq!(
        admin_b.get("/console").location.as_deref(),
        Some("/console/accounts")
    );
    assert_eq!(
        admin_b.get("/console/national").status,
        StatusCode::FORBIDDEN
    );
    let form = admin_b.get("/console/accounts");
    assert!(form.body.contains("value=\"national\""));
    assert!(!form.body.contains("value=\"officer\""));

    // Her export is in the national office's audit.
    let trail = admin::open_site(n.site(NATIONAL))
        .unwrap()
        .audit(i64::MAX, 100)
        .unwrap();
    assert!(trail.iter().any(|e| e.action == "export_national_stats"));
}

#[test]
fn each_province_opens_only_with_its_own_passphrase() {
    let db = TestDb::new();
    let root = tempfile::tempdir().unwrap();
    for slug in ["thanh-hoa", "lao-cai"] {
        init(root.path(), &db, slug);
    }
    let database = db.url().map(chungtay_intake::admin::Database::Postgres);
    // Thanh Hóa's passphrase given for Lào Cai: the deployment does not start.
    let got = deployment::load(
        root.path(),
        DOMAIN,
        database.as_ref(),
        Limits::default(),
        |_| Ok(Zeroizing::new(passphrase("thanh-hoa"))),
    );
    assert!(matches!(
        got.err(),
        Some(AdminError::Key(KeyFileError::WrongPassphrase))
    ));
    // A folder that names no province is refused, not left out in silence.
    std::fs::create_dir(root.path().join("thanh-hoa-2")).unwrap();
    let got = deployment::load(
        root.path(),
        DOMAIN,
        database.as_ref(),
        Limits::default(),
        |s| Ok(Zeroizing::new(passphrase(s))),
    );
    assert!(matches!(got.err(), Some(AdminError::Usage(_))));
}

#[test]
fn per_address_limits_are_the_deployments_but_enrollment_is_each_provinces() {
    let n = nation_with(Limits {
        login_per_minute_per_ip: std::num::NonZeroU32::new(3).unwrap(),
        // The tests' client is on loopback, which is otherwise exempt (a proxy's address).
        ip_limit_on_loopback: true,
        ..Limits::default()
    });
    // Three wrong passwords, spread over two provinces' consoles: the fourth try is refused
    // wherever it is made.
    let at = |slug: &str| {
        Browser::at(
            n.client_builder(),
            &format!("http://{}:{}", n.host(slug), n.addr().port()),
        )
    };
    for slug in ["thanh-hoa", "lao-cai", "thanh-hoa"] {
        let p = at(slug).login("canbo", "not the password");
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{slug}");
    }
    for slug in ["lao-cai", "thanh-hoa", NATIONAL] {
        let p = at(slug).login("canbo", "not the password");
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS, "{slug}");
    }
    // Ten bad codes at Lào Cai spend Lào Cai's allowance only: behind a proxy every phone of
    // every province comes from one address, and Thanh Hóa's phones still enroll.
    for _ in 0..10 {
        let resp = n.enroll("lao-cai", "AAAA-BBBB-CCCC").err().unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
    let resp = n.enroll("lao-cai", &n.code("lao-cai")).err().unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(n.enroll("thanh-hoa", &n.code("thanh-hoa")).is_ok());
}

#[test]
fn a_provinces_console_will_not_make_a_national_viewer() {
    let n = nation();
    let mut admin_b = n.logged_in("thanh-hoa", "quantri", "admin", &accounts::ROLES);
    let form = admin_b.get("/console/accounts");
    assert!(form.body.contains("value=\"viewer\""));
    assert!(!form.body.contains("value=\"national\""));
    let csrf = form.csrf();
    let p = admin_b.post(
        "/console/accounts",
        &[
            ("csrf", csrf.as_str()),
            ("username", "quocgia"),
            ("display_name", "Quốc Gia"),
            ("role", "national"),
        ],
    );
    assert_ne!(p.status, StatusCode::SEE_OTHER);
    let store = admin::open_site(n.site("thanh-hoa")).unwrap();
    assert!(store.account_by_username("quocgia").unwrap().is_none());
    // The same form with a province's role makes the account.
    admin_b.post(
        "/console/accounts",
        &[
            ("csrf", csrf.as_str()),
            ("username", "xem"),
            ("display_name", "Người Xem"),
            ("role", "viewer"),
        ],
    );
    assert!(store.account_by_username("xem").unwrap().is_some());
}

#[test]
fn the_national_totals_are_made_again_at_most_once_a_minute() {
    let n = nation();
    let th = n.enroll("thanh-hoa", &n.code("thanh-hoa")).ok().unwrap();
    let lc = n.enroll("lao-cai", &n.code("lao-cai")).ok().unwrap();
    for i in 0..5 {
        assert_eq!(
            n.send("thanh-hoa", &th, &scenario2(&format!("th-{i}")))
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            n.send("lao-cai", &lc, &scenario2(&format!("lc-{i}")))
                .status(),
            StatusCode::OK
        );
    }
    let mut viewer = n.logged_in(NATIONAL, "quocgia", "national", &accounts::NATIONAL_ROLES);
    let total = |body: &str| {
        let table = body.split("id=\"by_province\"").nth(1).unwrap();
        table.split("</table>").next().unwrap().to_string()
    };
    let first = total(&viewer.get("/console/national").body);
    assert_eq!(first.matches(">5<").count(), 2, "{first}");
    assert!(first.contains(">10<"), "{first}");
    // One more at Lào Cai: the reload within the minute shows the totals made before (each
    // view would otherwise open every province's referrals again).
    assert_eq!(
        n.send("lao-cai", &lc, &scenario2("lc-late")).status(),
        StatusCode::OK
    );
    let again = total(&viewer.get("/console/national").body);
    assert_eq!(again, first);
}
