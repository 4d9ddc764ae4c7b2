//! Several provinces, and the national office, served by one process (or by several instances
//! on one PostgreSQL), each chosen by the host name it is reached at.
//!
//! A deployment folder holds one data folder per province, named by its slug
//! (`thanh-hoa/province-keys.json`…), and optionally `national/` for the national office's
//! console. Each keeps its own keys under its own passphrase, and its own database: SQLite in
//! its folder, or its own schema of one PostgreSQL database. Province `thanh-hoa` answers at
//! `thanh-hoa.DOMAIN` (its phones' server URL and its staff's console), the national office at
//! `DOMAIN` itself. Nothing crosses between them: a device, a code, a referral, an account or a
//! session of one province is unknown at another's host, and a referral sealed to one
//! province's key opens under no other.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;

use crate::admin::{self, Database, Site};
use crate::error::AdminError;
use crate::http::{AppState, Limits, router};

/// The 34 provinces and centrally run cities since 1 July 2025: the slug a deployment's
/// folder, host name and PostgreSQL schema use, and the name staff read.
pub const PROVINCES: [(&str, &str); 34] = [
    ("ha-noi", "Hà Nội"),
    ("hue", "Huế"),
    ("hai-phong", "Hải Phòng"),
    ("da-nang", "Đà Nẵng"),
    ("ho-chi-minh", "Thành phố Hồ Chí Minh"),
    ("can-tho", "Cần Thơ"),
    ("lai-chau", "Lai Châu"),
    ("dien-bien", "Điện Biên"),
    ("son-la", "Sơn La"),
    ("lang-son", "Lạng Sơn"),
    ("quang-ninh", "Quảng Ninh"),
    ("thanh-hoa", "Thanh Hóa"),
    ("nghe-an", "Nghệ An"),
    ("ha-tinh", "Hà Tĩnh"),
    ("cao-bang", "Cao Bằng"),
    ("tuyen-quang", "Tuyên Quang"),
    ("lao-cai", "Lào Cai"),
    ("thai-nguyen", "Thái Nguyên"),
    ("phu-tho", "Phú Thọ"),
    ("bac-ninh", "Bắc Ninh"),
    ("hung-yen", "Hưng Yên"),
    ("ninh-binh", "Ninh Bình"),
    ("quang-tri", "Quảng Trị"),
    ("quang-ngai", "Quảng Ngãi"),
    ("gia-lai", "Gia Lai"),
    ("khanh-hoa", "Khánh Hòa"),
    ("lam-dong", "Lâm Đồng"),
    ("dak-lak", "Đắk Lắk"),
    ("dong-nai", "Đồng Nai"),
    ("tay-ninh", "Tây Ninh"),
    ("vinh-long", "Vĩnh Long"),
    ("dong-thap", "Đồng Tháp"),
    ("ca-mau", "Cà Mau"),
    ("an-giang", "An Giang"),
];

/// The national office's folder name and PostgreSQL schema.
pub const NATIONAL: &str = "national";

/// The name of a province by its slug, if it is one of the 34.
pub fn province_name(slug: &str) -> Option<&'static str> {
    PROVINCES.iter().find(|(s, _)| *s == slug).map(|(_, n)| *n)
}

/// The PostgreSQL schema of a province (or of the national office): its slug with `_` for `-`.
pub fn schema_of(slug: &str) -> Result<String, AdminError> {
    if slug != NATIONAL && province_name(slug).is_none() {
        return Err(AdminError::Usage(
            "--province: not one of the 34 provinces' slugs (e.g. thanh-hoa, lao-cai)",
        ));
    }
    Ok(slug.replace('-', "_"))
}

/// A province's site in a deployment: its folder, and its database (its own schema when the
/// deployment is on PostgreSQL, its own SQLite file in its folder otherwise).
pub fn province_site(
    dir: &Path,
    slug: &str,
    database: Option<&Database>,
) -> Result<Site, AdminError> {
    match database {
        None => Ok(Site::from(dir)),
        Some(Database::Postgres(url)) => Ok(Site::new(
            dir,
            Database::Postgres(admin::in_schema(url, &schema_of(slug)?)?),
        )),
        Some(Database::Sqlite(_)) => Err(AdminError::Usage(
            "a deployment of several provinces keeps each one's SQLite file in its folder: \
             give no --database, or a postgres:// one",
        )),
    }
}

/// What the national office's console reads of a province: its name and its state (whose keys
/// open its referrals for the totals, which are all that leaves).
#[derive(Clone)]
pub struct ProvinceView {
    pub slug: String,
    pub name: &'static str,
    pub state: AppState,
}

/// What one server process serves: one province on every host (a single province, as before
/// deployments), or several provinces and the national office, each at its own host.
pub struct Deployment {
    single: Option<AppState>,
    hosts: Vec<(String, AppState)>,
}

impl From<AppState> for Deployment {
    fn from(state: AppState) -> Deployment {
        Deployment {
            single: Some(state),
            hosts: Vec::new(),
        }
    }
}

impl Deployment {
    /// Provinces at `SLUG.domain`, the national office (if any) at `domain`.
    pub fn new(
        domain: &str,
        provinces: Vec<(String, AppState)>,
        national: Option<AppState>,
    ) -> Result<Deployment, AdminError> {
        let domain = host_key(domain);
        if domain.is_empty() || domain.contains([':', '/', ' ']) {
            return Err(AdminError::Usage(
                "--domain: a host name, e.g. intake.example.vn",
            ));
        }
        if provinces.is_empty() {
            return Err(AdminError::Usage(
                "a deployment needs at least one province",
            ));
        }
        let mut hosts = Vec::new();
        let mut views = Vec::new();
        for (slug, state) in provinces {
            let name = province_name(&slug)
                .ok_or(AdminError::Usage("not one of the 34 provinces' slugs"))?;
            if state.is_national() {
                return Err(AdminError::Usage(
                    "a province's state is the national office's",
                ));
            }
            hosts.push((format!("{slug}.{domain}"), state.clone()));
            views.push(ProvinceView { slug, name, state });
        }
        views.sort_by_cached_key(|v| name_order(v.name));
        if let Some(national) = national {
            national.set_provinces(views)?;
            hosts.push((domain, national));
        }
        Ok(Deployment {
            single: None,
            hosts,
        })
    }

    /// Every state served, for housekeeping.
    pub fn states(&self) -> Vec<AppState> {
        self.single
            .iter()
            .cloned()
            .chain(self.hosts.iter().map(|(_, s)| s.clone()))
            .collect()
    }

    /// The hosts served, each with its province's slug (or `national`).
    pub fn hosts(&self) -> Vec<String> {
        self.hosts.iter().map(|(h, _)| h.clone()).collect()
    }

    /// The router: the province's own for a single province; else one that hands each request
    /// to the router of the host it names, and refuses a host it does not serve (421).
    pub fn router(&self) -> Router {
        if let Some(state) = &self.single {
            return router(state.clone());
        }
        let routers: Arc<HashMap<String, Router>> = Arc::new(
            self.hosts
                .iter()
                .map(|(h, s)| (h.clone(), router(s.clone())))
                .collect(),
        );
        Router::new().fallback(move |req: Request| {
            let routers = routers.clone();
            async move {
                let host = request_host(&req);
                match host.and_then(|h| routers.get(&h)) {
                    Some(r) => match r.clone().oneshot(req).await {
                        Ok(resp) => resp,
                        Err(never) => match never {},
                    },
                    // A load balancer's health check names the address, not a province.
                    None if req.uri().path() == "/healthz" => "ok".into_response(),
                    None => unknown_host(),
                }
            }
        })
    }
}

/// Where a province's name sorts: Vietnamese order (Đắk Lắk among the D's, Huế after Hà
/// Nội), as the national page says.
fn name_order(name: &'static str) -> (String, &'static str) {
    (crate::console::stats::sort_key(name), name)
}

/// The host a request names (its Host header, or the authority of an absolute URI), lower
/// case, without port or trailing dot. None when it names none, or two that differ (a proxy in
/// front that filtered on one would be passed by the other).
fn request_host(req: &Request) -> Option<String> {
    let mut headers = req.headers().get_all(header::HOST).iter();
    let header = match (headers.next(), headers.next()) {
        (Some(h), None) => Some(host_key(h.to_str().ok()?)),
        (None, _) => None,
        (Some(_), Some(_)) => return None,
    };
    let in_uri = req.uri().authority().map(|a| host_key(a.host()));
    match (in_uri, header) {
        (Some(u), Some(h)) if u != h => None,
        (Some(u), _) => Some(u),
        (None, h) => h,
    }
}

fn host_key(raw: &str) -> String {
    let no_port = match raw.rsplit_once(':') {
        // An IPv6 literal's colons are inside brackets.
        Some((h, port)) if !h.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => raw,
    };
    no_port.trim_end_matches('.').to_ascii_lowercase()
}

fn unknown_host() -> Response {
    (
        StatusCode::MISDIRECTED_REQUEST,
        axum::Json(chungtay_protocol::ErrorBody {
            error: "unknown_host".into(),
            message: "this server serves no province at that host name".into(),
        }),
    )
        .into_response()
}

/// The folders of a deployment.
pub struct Folders {
    /// `(slug, folder)` of each province, in order of slug.
    pub provinces: Vec<(String, PathBuf)>,
    /// The national office's folder, if there is one.
    pub national: Option<PathBuf>,
}

/// Reads a deployment's folders. Other entries are refused, so a misspelt province is not
/// left unserved in silence.
pub fn folders(root: &Path) -> Result<Folders, AdminError> {
    let mut provinces = Vec::new();
    let mut national = None;
    let entries = std::fs::read_dir(root)?;
    for entry in entries {
        let entry = entry?;
        // Followed if a link: a province's folder may live on another disk.
        if !std::fs::metadata(entry.path())?.is_dir() {
            continue;
        }
        if entry.file_name() == "lost+found" {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(AdminError::Usage(
                "a folder in the deployment is not named by a province's slug",
            ));
        };
        if name == NATIONAL {
            national = Some(entry.path());
        } else if province_name(&name).is_some() {
            provinces.push((name, entry.path()));
        } else {
            return Err(AdminError::Usage(
                "a folder in the deployment is not named by a province's slug (e.g. thanh-hoa) \
                 or national",
            ));
        }
    }
    provinces.sort();
    if provinces.is_empty() {
        return Err(AdminError::Usage(
            "the deployment folder holds no province (a folder named by its slug, e.g. thanh-hoa)",
        ));
    }
    Ok(Folders {
        provinces,
        national,
    })
}

/// Opens every province of a deployment (and its national office), each with its own
/// passphrase, asked for by slug. All share one set of per-address limits.
pub fn load(
    root: &Path,
    domain: &str,
    database: Option<&Database>,
    limits: Limits,
    mut passphrase: impl FnMut(&str) -> Result<zeroize::Zeroizing<String>, AdminError>,
) -> Result<Deployment, AdminError> {
    let Folders {
        provinces,
        national,
    } = folders(root)?;
    // PostgreSQL serves 100 connections by default: a deployment's provinces share them
    // (16 each for two, down to 2 each for 24 and more).
    let tenants =
        u32::try_from(provinces.len() + usize::from(national.is_some())).unwrap_or(u32::MAX);
    let pool_size = (48 / tenants.max(1)).clamp(2, crate::pg::POOL_SIZE);
    let mut first: Option<AppState> = None;
    let mut open = |slug: &str, dir: &Path| -> Result<AppState, AdminError> {
        let site = province_site(dir, slug, database)?;
        let pass = passphrase(slug)?;
        let store = admin::open_site_pooled(&site, pool_size)?;
        let keys = admin::load_keys(&site, &pass)?;
        Ok(match &first {
            Some(f) => f.sibling(store, keys),
            None => {
                let s = AppState::new(store, keys, limits);
                first = Some(s.clone());
                s
            }
        })
    };
    let mut states = Vec::new();
    for (slug, dir) in &provinces {
        states.push((slug.clone(), open(slug, dir)?));
    }
    let national = match &national {
        Some(dir) => Some(open(NATIONAL, dir)?),
        None => None,
    };
    Deployment::new(domain, states, national)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_four_provinces_each_once_with_a_slug_fit_for_a_host_and_a_schema() {
        let mut slugs: Vec<&str> = PROVINCES.iter().map(|(s, _)| *s).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), 34);
        for s in slugs {
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{s}"
            );
            let schema = schema_of(s).unwrap();
            assert!(schema.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert!(schema_of("thanh-hoa; DROP SCHEMA public").is_err());
        assert!(schema_of("public").is_err());
    }

    fn host_of(uri: &str, hosts: &[&str]) -> Option<String> {
        let mut b = Request::builder().uri(uri);
        for h in hosts {
            b = b.header(header::HOST, *h);
        }
        request_host(&b.body(axum::body::Body::empty()).unwrap())
    }

    #[test]
    fn two_hosts_in_one_request_name_none() {
        assert_eq!(
            host_of("/v1/status", &["a.example.vn"]).as_deref(),
            Some("a.example.vn")
        );
        assert_eq!(host_of("/v1/status", &[]), None);
        // Two Host headers, even alike: a proxy filtering on one would pass the other.
        assert_eq!(host_of("/", &["a.example.vn", "b.example.vn"]), None);
        assert_eq!(host_of("/", &["a.example.vn", "a.example.vn"]), None);
        // An absolute URI and a Host header that differ.
        assert_eq!(host_of("http://b.example.vn/x", &["a.example.vn"]), None);
        assert_eq!(
            host_of("http://user@A.example.vn:8080/x", &["a.example.vn:8080"]).as_deref(),
            Some("a.example.vn")
        );
        assert_eq!(
            host_of("http://a.example.vn/x", &[]).as_deref(),
            Some("a.example.vn")
        );
    }

    #[test]
    fn provinces_come_in_vietnamese_order() {
        let mut names: Vec<&'static str> = PROVINCES.iter().map(|(_, n)| *n).collect();
        names.sort_by_cached_key(|n| name_order(n));
        let at = |n: &str| names.iter().position(|x| *x == n).unwrap();
        // Đ among the D's, not after every other letter as its code point would put it.
        assert!(at("Đắk Lắk") < at("Điện Biên") && at("Điện Biên") < at("Gia Lai"));
        assert!(at("Đồng Tháp") < at("Gia Lai"));
        assert!(at("Cần Thơ") < at("Đà Nẵng"));
        // The tone marks do not decide before the letters: Hà Nội and Hà Tĩnh before Huế.
        assert!(at("Hà Nội") < at("Huế") && at("Hà Tĩnh") < at("Huế"));
        assert_eq!(names.first(), Some(&"An Giang"));
        assert_eq!(names.last(), Some(&"Vĩnh Long"));
    }

    #[test]
    fn a_host_is_read_without_port_case_or_trailing_dot() {
        assert_eq!(
            host_key("Thanh-Hoa.Example.VN.:8443"),
            "thanh-hoa.example.vn"
        );
        assert_eq!(host_key("[::1]:80"), "[::1]");
        assert_eq!(host_key("example.vn"), "example.vn");
    }
}
