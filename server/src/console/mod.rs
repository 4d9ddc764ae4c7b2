//! The province's staff console: server-rendered HTML for officers, admins and viewers, in
//! Vietnamese first and English, on the same server and TLS set-up as the API.
//!
//! No JavaScript at all; one stylesheet. Every page is sent with a strict CSP, `no-store`, and
//! no framing. Sessions live in an HttpOnly, Secure, SameSite=Strict cookie; every form carries
//! a CSRF token bound to the session. Decrypted referrals exist only in the page being rendered.

// Guards return the refusal page itself as their error: one per refused request.
#![allow(clippy::result_large_err)]

pub mod stats;
pub mod ui;
pub mod words;

mod manage;
mod pages;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{SecondsFormat, Utc};
use tracing::{error, warn};
use zeroize::Zeroizing;

use crate::accounts::{self, AccountError};
use crate::error::{AdminError, KeyFileError, StoreError};
use crate::http::{ApiError, AppState, Inner};
use crate::store::Account;
use ui::{Ui, ui};
use words::Lang;

/// `__Host-`: the browser takes it only from this very host over a secure origin, with Path=/
/// and no Domain, so a sibling subdomain cannot plant its own session or login token.
pub const SESSION_COOKIE: &str = "__Host-ct_session";
pub const LANG_COOKIE: &str = "ct_lang";
/// Double-submit token of the login and setup forms (before there is a session).
pub const PRE_COOKIE: &str = "__Host-ct_pre";

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every console has: login, setup, her own account, the accounts and the staff audit.
fn common_routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route("/console/static/console.css", get(stylesheet))
        .route("/console/lang/{lang}", get(pages::set_lang))
        .route("/console/login", get(pages::login_form).post(pages::login))
        .route("/console/setup", get(pages::setup_form).post(pages::setup))
        .route("/console/logout", post(pages::logout))
        .route("/console/logout-all", post(pages::logout_all))
        .route("/console/me", get(pages::me).post(pages::change_password))
        .route("/console/me/totp", post(pages::totp_start))
        .route("/console/me/totp/confirm", post(pages::totp_confirm))
        .route("/console/me/totp/off", post(pages::totp_off))
        .route(
            "/console/accounts",
            get(manage::accounts).post(manage::create_account),
        )
        .route(
            "/console/accounts/{id}/{what}",
            post(manage::account_action),
        )
        .route("/console/audit", get(manage::audit_page))
        .route("/console/audit.csv", get(manage::audit_csv))
}

/// The province's console, merged into the API's router.
pub fn router() -> Router<AppState> {
    common_routes()
        .route(
            "/console/referrals",
            get(pages::inbox).post(pages::inbox_filtered),
        )
        .route("/console/referrals/{id}", get(pages::referral))
        .route(
            "/console/referrals/{id}/transition",
            post(pages::transition),
        )
        .route("/console/devices", get(manage::devices))
        .route("/console/devices/{id}/revoke", post(manage::revoke_device))
        .route("/console/devices/{id}/label", post(manage::label_device))
        .route("/console/codes", post(manage::issue_code))
        .route(
            "/console/tokens",
            get(manage::tokens).post(manage::create_token),
        )
        .route("/console/tokens/{id}/revoke", post(manage::revoke_token))
        .route("/console/stats", get(manage::stats_page))
        .route("/console/stats.csv", get(manage::stats_csv))
        .route("/console/stats.xlsx", get(manage::stats_xlsx))
        .layer(axum::middleware::map_response(security_headers))
}

/// The national totals made lately: (year, Vietnamese?) → (when, the statistics, the years).
pub type NationalCache =
    std::collections::HashMap<(i32, bool), (std::time::Instant, stats::Stats, Vec<i32>)>;

/// The national office's console: the common pages and the national totals (the statistics
/// pages, which there total every province); no referral, device, code or token pages (it has
/// none of its own, and reads no province's).
pub fn national_router() -> Router<AppState> {
    common_routes()
        .route("/console/national", get(manage::stats_page))
        .route("/console/national.csv", get(manage::stats_csv))
        .route("/console/national.xlsx", get(manage::stats_xlsx))
        .layer(axum::middleware::map_response(security_headers))
}

/// Headers on every console answer, error pages included.
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    resp
}

async fn stylesheet() -> Response {
    let mut resp = include_str!("../../static/console.css").into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    resp
}

/// The value of a cookie in the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: always Secure (browsers accept it on http://localhost too), HttpOnly
/// and SameSite=Strict, Path=/ as `__Host-` requires. `max_age` 0 deletes it.
pub(crate) fn set_cookie(resp: &mut Response, name: &str, value: &str, max_age: Option<i64>) {
    let mut c = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if let Ok(v) = HeaderValue::from_str(&c) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    match cookie(headers, LANG_COOKIE) {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    }
}

/// What every page's frame shows: language, who is logged in, her CSRF token, the menu.
pub struct Chrome {
    pub t: &'static Ui,
    pub title: &'static str,
    pub user: Option<String>,
    pub role_word: &'static str,
    pub role: String,
    pub csrf: String,
    /// The national office's console: its menu has no province pages.
    pub national: bool,
}

impl Chrome {
    fn anonymous(lang: Lang, title: impl Fn(&Ui) -> &'static str) -> Chrome {
        let t = ui(lang);
        Chrome {
            t,
            title: title(t),
            user: None,
            role_word: "",
            role: String::new(),
            csrf: String::new(),
            national: false,
        }
    }

    pub fn is(&self, role: &str) -> bool {
        self.role == role
    }
}

/// The logged-in staff member of a console request.
pub struct Who {
    pub account: Account,
    pub token: Zeroizing<String>,
    pub lang: Lang,
    pub csrf: String,
    /// The path asked for, named in the staff audit when the request is refused.
    pub path: String,
    inner: Arc<Inner>,
}

impl Who {
    pub fn chrome(&self, title: impl Fn(&Ui) -> &'static str) -> Chrome {
        let t = ui(self.lang);
        Chrome {
            t,
            title: title(t),
            user: Some(self.account.display_name.clone()),
            role_word: role_word(t, &self.account.role),
            role: self.account.role.clone(),
            csrf: self.csrf.clone(),
            national: self.inner.provinces.get().is_some(),
        }
    }

    /// The page is for these roles only: else the refused page (403).
    pub fn must_be(&self, roles: &[&str]) -> Result<(), Response> {
        if roles.contains(&self.account.role.as_str()) {
            Ok(())
        } else {
            self.audit_refusal("refused_role");
            Err(refused(self.lang, |t| t.refused_role))
        }
    }

    /// The form's CSRF token must be this session's.
    pub fn check_csrf(&self, st: &AppState, given: &str) -> Result<(), Response> {
        if accounts::csrf_ok(&st.inner().keys, &self.token, given) {
            Ok(())
        } else {
            self.audit_refusal("refused_csrf");
            Err(refused(self.lang, |t| t.refused_csrf))
        }
    }

    /// A refused request goes into the staff audit too (someone probing, or a forged form
    /// that reached a logged-in browser). Written off the async threads; a failure is logged.
    fn audit_refusal(&self, action: &'static str) {
        let inner = self.inner.clone();
        let (actor, path) = (self.account.account_id.clone(), self.path.clone());
        warn!(account_id = %actor, action, "console request refused");
        tokio::task::spawn_blocking(move || {
            if let Err(e) = inner
                .store
                .add_audit(&now_text(), &actor, action, &path, "")
            {
                error!(error = %e, "staff audit write failed");
            }
        });
    }
}

pub fn role_word(t: &'static Ui, role: &str) -> &'static str {
    match role {
        "officer" => t.role_officer,
        "admin" => t.role_admin,
        "viewer" => t.role_viewer,
        "national" => t.role_national,
        _ => "",
    }
}

impl FromRequestParts<AppState> for Who {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let lang = lang_of(&parts.headers);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| t.len() == 64)
            .map(|t| Zeroizing::new(t.to_string()))
        else {
            return Err(Redirect::to("/console/login").into_response());
        };
        let t2 = token.clone();
        let found = run(st, move |inner| {
            Ok(accounts::check_session(
                &inner.keys,
                &*inner.store,
                &t2,
                Utc::now().timestamp(),
            )?)
        })
        .await
        .map_err(|e| e.page(lang))?;
        let Some(account) = found else {
            let mut resp = Redirect::to("/console/login").into_response();
            set_cookie(&mut resp, SESSION_COOKIE, "", Some(0));
            return Err(resp);
        };
        let csrf = accounts::csrf_token(&st.inner().keys, &token);
        Ok(Who {
            account,
            token,
            lang,
            csrf,
            path: parts.uri.path().chars().take(200).collect(),
            inner: st.inner(),
        })
    }
}

/// Failures behind a console page. Rendered as a fixed page; the details go to the log only
/// (ids and error kinds, never a personal value).
#[derive(Debug)]
pub enum Fail {
    Internal(String),
    Account(AccountError),
    Api(ApiError),
    Admin(AdminError),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Internal(e.to_string())
    }
}
impl From<KeyFileError> for Fail {
    fn from(e: KeyFileError) -> Self {
        Fail::Internal(e.to_string())
    }
}
impl From<AccountError> for Fail {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Store(s) => Fail::Internal(s.to_string()),
            other => Fail::Account(other),
        }
    }
}
impl From<ApiError> for Fail {
    fn from(e: ApiError) -> Self {
        Fail::Api(e)
    }
}
impl From<AdminError> for Fail {
    fn from(e: AdminError) -> Self {
        Fail::Admin(e)
    }
}
impl From<askama::Error> for Fail {
    fn from(e: askama::Error) -> Self {
        Fail::Internal(e.to_string())
    }
}

impl Fail {
    /// The page for a failure nobody handled more precisely.
    pub fn page(self, lang: Lang) -> Response {
        match self {
            Fail::Api(e) if e.status == StatusCode::NOT_FOUND => {
                message_page(lang, StatusCode::NOT_FOUND, |t| t.not_found)
            }
            Fail::Account(AccountError::NotFound) => {
                message_page(lang, StatusCode::NOT_FOUND, |t| t.not_found)
            }
            Fail::Api(e) if e.status.is_client_error() => {
                message_page(lang, e.status, |t| t.refused_title)
            }
            other => {
                error!(error = ?other, "console failure");
                message_page(lang, StatusCode::INTERNAL_SERVER_ERROR, |t| t.error_text)
            }
        }
    }
}

/// Runs store and crypto work off the async threads.
pub(crate) async fn run<T, F>(st: &AppState, f: F) -> Result<T, Fail>
where
    T: Send + 'static,
    F: FnOnce(&Inner) -> Result<T, Fail> + Send + 'static,
{
    let inner: Arc<Inner> = st.inner();
    tokio::task::spawn_blocking(move || f(&inner))
        .await
        .map_err(|_| Fail::Internal("worker failed".into()))?
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage {
    p: Chrome,
    text: &'static str,
}

pub(crate) fn message_page(
    lang: Lang,
    status: StatusCode,
    text: impl Fn(&Ui) -> &'static str,
) -> Response {
    let title: fn(&Ui) -> &'static str = if status == StatusCode::FORBIDDEN {
        |t| t.refused_title
    } else if status.is_server_error() {
        |t| t.error_title
    } else {
        |t| t.refused_title
    };
    let page = MessagePage {
        p: Chrome::anonymous(lang, title),
        text: text(ui(lang)),
    };
    html(status, page.render())
}

/// A page shown again with an error in its form is a 400; otherwise 200.
pub(crate) fn status_for(error: Option<&'static str>) -> StatusCode {
    if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

/// 403 with the refused page.
pub(crate) fn refused(lang: Lang, why: impl Fn(&Ui) -> &'static str) -> Response {
    message_page(lang, StatusCode::FORBIDDEN, why)
}

pub(crate) fn html(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    match body {
        Ok(b) => {
            let mut resp = (status, b).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            resp
        }
        Err(e) => {
            error!(error = %e, "template failure");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Appends to the staff audit.
pub(crate) fn audit(
    inner: &Inner,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), Fail> {
    inner
        .store
        .add_audit(&now_text(), actor, action, target, detail)?;
    Ok(())
}

/// "2026-03-04T05:06:07Z" shown as "2026-03-04 12:06" in Vietnam's time (UTC+7).
pub fn local_time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => {
            let vn = chrono::FixedOffset::east_opt(7 * 3600).unwrap_or(*t.offset());
            t.with_timezone(&vn).format("%Y-%m-%d %H:%M").to_string()
        }
        Err(_) => rfc3339.to_string(),
    }
}
