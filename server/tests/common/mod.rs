//! Shared helpers: a server started in-process on 127.0.0.1:0 over a fresh data folder, and a
//! "phone" that enrolls and talks to it over real HTTP.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

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

pub struct Env {
    pub server: RunningServer,
    pub client: Client,
    pub dir: TempDir,
}

impl Env {
    pub fn start() -> Env {
        Env::start_with(Limits::default())
    }

    pub fn start_with(limits: Limits) -> Env {
        let dir = tempfile::tempdir().unwrap();
        admin::init(dir.path(), PASS, KdfParams::MINIMUM).unwrap();
        let state = admin::load_state(dir.path(), PASS, limits).unwrap();
        let server = RunningServer::spawn(state, "127.0.0.1:0".parse().unwrap()).unwrap();
        Env {
            server,
            client: {
                chungtay_intake::install_crypto_provider();
                Client::new()
            },
            dir,
        }
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
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
        use chungtay_intake::IntakeStore as _;
        admin::open_store(self.data())
            .unwrap()
            .referral_count()
            .unwrap()
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
