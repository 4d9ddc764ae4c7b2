//! The admin's pages (devices, enrollment codes, accounts, API tokens, staff audit) and the
//! statistics every role may read.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use chungtay_protocol::validate_id;
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::stats::{self, ReferralFacts};
use super::ui::ui;
use super::{Chrome, Fail, Who, audit, html, local_time, message_page, role_word, run, status_for};
use crate::accounts::{self, AccountError, ROLES};
use crate::admin;
use crate::error::AdminError;
use crate::http::AppState;
use chungtay_protocol::cells::push_csv_line;

// ---------------------------------------------------------------- devices and codes

struct DeviceRow {
    id: String,
    label: String,
    enrolled: String,
    last_contact: String,
    last_checkpoint: String,
    flag: String,
    revoked: Option<String>,
    revoke_reason: String,
}

#[derive(Template)]
#[template(path = "console/devices.html")]
struct DevicesPage {
    p: Chrome,
    rows: Vec<DeviceRow>,
    error: Option<&'static str>,
}

pub async fn devices(State(st): State<AppState>, who: Who) -> Response {
    show_devices(st, who, None).await
}

async fn show_devices(st: AppState, who: Who, error: Option<&'static str>) -> Response {
    if let Err(r) = who.must_be(&["admin"]) {
        return r;
    }
    let t = ui(who.lang);
    let loaded = run(&st, move |inner| {
        let mut rows = Vec::new();
        for d in inner.store.devices()? {
            let cp = inner.store.latest_checkpoint(&d.device_id)?;
            rows.push(DeviceRow {
                last_checkpoint: cp.map_or_else(
                    || t.never.to_string(),
                    |c| format!("#{} · {}", c.seq, local_time(&c.received_at)),
                ),
                last_contact: d
                    .last_seen_at
                    .as_deref()
                    .map_or_else(|| t.never.to_string(), local_time),
                enrolled: local_time(&d.enrolled_at),
                flag: match (&d.flagged_at, &d.flag_reason) {
                    (Some(at), reason) => format!(
                        "{} ({}): {}",
                        t.flagged,
                        local_time(at),
                        reason.as_deref().unwrap_or("")
                    ),
                    _ => String::new(),
                },
                revoked: d.revoked_at.as_deref().map(local_time),
                revoke_reason: d.revoke_reason.unwrap_or_default(),
                id: d.device_id,
                label: d.label,
            });
        }
        Ok(rows)
    })
    .await;
    match loaded {
        Ok(rows) => {
            let page = DevicesPage {
                p: who.chrome(|t| t.devices_title),
                rows,
                error,
            };
            let status = status_for(error);
            html(status, page.render())
        }
        Err(e) => e.page(who.lang),
    }
}

#[derive(Deserialize)]
pub struct TextForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// The roles accounts may be given here: a province's, or the national office's.
fn roles_of(st: &AppState) -> &'static [&'static str] {
    if st.is_national() {
        &accounts::NATIONAL_ROLES
    } else {
        &ROLES
    }
}

/// Checks the session's CSRF token and the role; the refusal page otherwise.
fn guard(st: &AppState, who: &Who, csrf: &str, roles: &[&str]) -> Result<(), Response> {
    who.check_csrf(st, csrf)?;
    who.must_be(roles)
}

pub async fn revoke_device(
    State(st): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    Form(f): Form<TextForm>,
) -> Response {
    if let Err(r) = guard(&st, &who, &f.csrf, &["admin"]) {
        return r;
    }
    if validate_id(&id, "device_id").is_err() {
        return message_page(who.lang, StatusCode::NOT_FOUND, |t| t.not_found);
    }
    let reason = match admin::checked_label(&f.text) {
        Ok(r) if !r.is_empty() => r,
        _ => {
            let why = ui(who.lang).reason;
            return show_devices(st, who, Some(why)).await;
        }
    };
    let me = who.account.account_id.clone();
    let done = run(&st, move |inner| {
        let found = inner
            .store
            .revoke_device_because(&id, &super::now_text(), &reason)?;
        if found {
            audit(inner, &me, "revoke_device", &id, &reason)?;
        }
        Ok(found)
    })
    .await;
    match done {
        Ok(true) => Redirect::to("/console/devices").into_response(),
        Ok(false) => message_page(who.lang, StatusCode::NOT_FOUND, |t| t.not_found),
        Err(e) => e.page(who.lang),
    }
}

pub async fn label_device(
    State(st): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    Form(f): Form<TextForm>,
) -> Response {
    if let Err(r) = guard(&st, &who, &f.csrf, &["admin"]) {
        return r;
    }
    if validate_id(&id, "device_id").is_err() {
        return message_page(who.lang, StatusCode::NOT_FOUND, |t| t.not_found);
    }
    let Ok(label) = admin::checked_label(&f.text) else {
        let why = ui(who.lang).label;
        return show_devices(st, who, Some(why)).await;
    };
    let me = who.account.account_id.clone();
    let done = run(&st, move |inner| {
        let found = inner.store.set_device_label(&id, &label)?;
        if found {
            audit(inner, &me, "label_device", &id, &label)?;
        }
        Ok(found)
    })
    .await;
    match done {
        Ok(true) => Redirect::to("/console/devices").into_response(),
        Ok(false) => message_page(who.lang, StatusCode::NOT_FOUND, |t| t.not_found),
        Err(e) => e.page(who.lang),
    }
}

#[derive(Template)]
#[template(path = "console/code.html")]
struct CodePage {
    p: Chrome,
    code: String,
    label: String,
    expires: String,
    fingerprint: String,
    qr: String,
}

/// A QR code as inline SVG (no script, no external image); empty if the text cannot be one.
pub(crate) fn qr_svg(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(q) => q
            .render::<svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// What the QR code holds: the code and the fingerprint the phone must end up pinning.
pub fn qr_text(code: &str, fingerprint: &str) -> String {
    format!("CHUNGTAY-ENROLL:1:{code}:{fingerprint}")
}

pub async fn issue_code(State(st): State<AppState>, who: Who, Form(f): Form<TextForm>) -> Response {
    if let Err(r) = guard(&st, &who, &f.csrf, &["admin"]) {
        return r;
    }
    let Ok(label) = admin::checked_label(&f.text) else {
        let why = ui(who.lang).label;
        return show_devices(st, who, Some(why)).await;
    };
    let me = who.account.account_id.clone();
    let l2 = label.clone();
    let issued = run(&st, move |inner| {
        let issued = admin::mint_code(&inner.keys, &*inner.store, &l2)?;
        audit(inner, &me, "issue_code", "", &l2)?;
        Ok(issued)
    })
    .await;
    let issued = match issued {
        Ok(i) => i,
        Err(e) => return e.page(who.lang),
    };
    let qr = qr_svg(&qr_text(&issued.code, &issued.fingerprint));
    let page = CodePage {
        p: who.chrome(|t| t.code_title),
        code: issued.code,
        label,
        expires: local_time(&issued.expires_at),
        fingerprint: issued.fingerprint,
        qr,
    };
    html(StatusCode::OK, page.render())
}

// ---------------------------------------------------------------- accounts

struct AccountRow {
    id: String,
    username: String,
    name: String,
    role: &'static str,
    created: String,
    disabled: bool,
    pending: bool,
    me: bool,
}

struct RoleChoice {
    value: &'static str,
    word: &'static str,
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
struct AccountsPage {
    p: Chrome,
    rows: Vec<AccountRow>,
    roles: Vec<RoleChoice>,
    error: Option<&'static str>,
    created_user: String,
    setup_code: String,
}

pub async fn accounts(State(st): State<AppState>, who: Who) -> Response {
    show_accounts(st, who, None, None).await
}

async fn show_accounts(
    st: AppState,
    who: Who,
    error: Option<&'static str>,
    created: Option<(String, Zeroizing<String>)>,
) -> Response {
    if let Err(r) = who.must_be(&["admin"]) {
        return r;
    }
    let t = ui(who.lang);
    let me = who.account.account_id.clone();
    let loaded = run(&st, move |inner| Ok(inner.store.accounts()?)).await;
    let list = match loaded {
        Ok(l) => l,
        Err(e) => return e.page(who.lang),
    };
    let rows = list
        .into_iter()
        .map(|a| AccountRow {
            me: a.account_id == me,
            role: role_word(t, &a.role),
            created: local_time(&a.created_at),
            disabled: a.disabled_at.is_some(),
            pending: a.password_hash.is_none(),
            id: a.account_id,
            username: a.username,
            name: a.display_name,
        })
        .collect();
    let (created_user, setup_code) = created.map(|(u, c)| (u, c.to_string())).unwrap_or_default();
    let page = AccountsPage {
        p: who.chrome(|t| t.accounts_title),
        rows,
        roles: roles_of(&st)
            .iter()
            .map(|r| RoleChoice {
                value: r,
                word: role_word(t, r),
            })
            .collect(),
        error,
        created_user,
        setup_code,
    };
    let status = status_for(error);
    html(status, page.render())
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    username: String,
    display_name: String,
    role: String,
}

pub async fn create_account(
    State(st): State<AppState>,
    who: Who,
    Form(f): Form<AccountForm>,
) -> Response {
    if let Err(r) = guard(&st, &who, &f.csrf, &["admin"]) {
        return r;
    }
    let me = who.account.account_id.clone();
    let roles = roles_of(&st);
    let made = run(&st, move |inner| {
        match accounts::create_among(
            &inner.keys,
            &*inner.store,
            &f.username,
            &f.display_name,
            &f.role,
            roles,
        ) {
            Ok(n) => {
                audit(
                    inner,
                    &me,
                    "create_account",
                    &n.account.account_id,
                    &n.account.role,
                )?;
                Ok(Ok((n.account.username, n.setup_code)))
            }
            Err(AccountError::Store(e)) => Err(e.into()),
            Err(e) => Ok(Err(e)),
        }
    })
    .await;
    let t = ui(who.lang);
    match made {
        Ok(Ok(created)) => show_accounts(st, who, None, Some(created)).await,
        Ok(Err(e)) => {
            let why = match e {
                AccountError::BadUsername => t.bad_username,
                AccountError::BadDisplayName => t.bad_display_name,
                AccountError::UsernameTaken => t.username_taken,
                _ => t.role,
            };
            show_accounts(st, who, Some(why), None).await
        }
        Err(e) => e.page(who.lang),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn account_action(
    State(st): State<AppState>,
    who: Who,
    Path((id, what)): Path<(String, String)>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = guard(&st, &who, &f.csrf, &["admin"]) {
        return r;
    }
    // An admin cannot lock herself out (the last admin would leave nobody to let her in).
    if id == who.account.account_id && (what == "disable" || what == "reset") {
        let why = ui(who.lang).refused_role;
        return show_accounts(st, who, Some(why), None).await;
    }
    let me = who.account.account_id.clone();
    let done = run(&st, move |inner| {
        let Some(a) = inner.store.account(&id)? else {
            return Ok(None);
        };
        let code = match what.as_str() {
            "reset" => Some(accounts::reset(&inner.keys, &*inner.store, &id)?),
            "disable" => {
                accounts::set_disabled(&inner.keys, &*inner.store, &id, true)?;
                None
            }
            "enable" => {
                accounts::set_disabled(&inner.keys, &*inner.store, &id, false)?;
                None
            }
            "logout" => {
                inner.store.delete_sessions(&id)?;
                None
            }
            _ => return Ok(None),
        };
        audit(inner, &me, &format!("account_{what}"), &id, "")?;
        Ok(Some(code.map(|c| (a.username, c))))
    })
    .await;
    match done {
        Ok(Some(created)) => show_accounts(st, who, None, created).await,
        Ok(None) => message_page(who.lang, StatusCode::NOT_FOUND, |t| t.not_found),
        Err(e) => e.page(who.lang),
    }
}

// ---------------------------------------------------------------- API tokens

struct TokenRow {
    id: String,
    label: String,
    scope: String,
    created: String,
    expires: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    p: Chrome,
    rows: Vec<TokenRow>,
    error: Option<&'static str>,
    token: String,
}

pub async fn tokens(State(st): State<AppState>, who: Who) -> Response {
    show_tokens(st, who, None, None).await
}

async fn show_tokens(
    st: AppState,
    who: Who,
    error: Option<&'static str>,
    token: Option<Zeroizing<String>>,
) -> Response {
    if let Err(r) = who.must_be(&["admin"]) {
        return r;
    }
    let loaded = run(&st, move |inner| Ok(inner.store.staff_tokens()?)).await;
    let list = match loaded {
        Ok(l) => l,
        Err(e) => return e.page(who.lang),
    };
    let rows = list
        .into_iter()
        .map(|t| TokenRow {
            scope: t.scope.clone().unwrap_or_else(|| "read, write".into()),
            id: t.token_id,
            label: t.label,
            created: local_time(&t.created_at),
            expires: chrono::DateTime::from_timestamp(t.expires_at, 0)
                .map(|d| local_time(&d.to_rfc3339()))
                .unwrap_or_default(),
            revoked: t.revoked_at.is_some() || t.expires_at <= Utc::now().timestamp(),
        })
        .collect();
    let page = TokensPage {
        p: who.chrome(|t| t.tokens_title),
        rows,
        error,
        token: token.map(|t| t.to_string()).unwrap_or_default(),
    };
    let status = status_for(error);
    html(status, page.render())
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    label: String,
    days: String,
    #[serde(default)]
    scope: String,
}

pub async fn create_token(
    State(st): State<AppState>,
    who: Who,
    Form(f): Form<TokenForm>,
) -> Response {
    if let Err(r) = guard(&st, &who, &f.csrf, &["admin"]) {
        return r;
    }
    let Ok(days) = f.days.trim().parse::<u32>() else {
        let why = ui(who.lang).days;
        return show_tokens(st, who, Some(why), None).await;
    };
    let me = who.account.account_id.clone();
    let made = run(&st, move |inner| {
        match admin::mint_token(&inner.keys, &*inner.store, &f.label, days, &f.scope) {
            Ok(t) => {
                audit(inner, &me, "create_token", &t.token_id, &f.scope)?;
                Ok(Ok(Zeroizing::new(t.token)))
            }
            Err(AdminError::Usage(_)) => Ok(Err(())),
            Err(e) => Err(e.into()),
        }
    })
    .await;
    let t = ui(who.lang);
    match made {
        Ok(Ok(token)) => show_tokens(st, who, None, Some(token)).await,
        Ok(Err(())) => show_tokens(st, who, Some(t.days), None).await,
        Err(e) => e.page(who.lang),
    }
}

pub async fn revoke_token(
    State(st): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = guard(&st, &who, &f.csrf, &["admin"]) {
        return r;
    }
    let me = who.account.account_id.clone();
    let done = run(&st, move |inner| {
        let found = inner.store.revoke_staff_token(&id, &super::now_text())?;
        if found {
            audit(inner, &me, "revoke_token", &id, "")?;
        }
        Ok(found)
    })
    .await;
    match done {
        Ok(true) => Redirect::to("/console/tokens").into_response(),
        Ok(false) => message_page(who.lang, StatusCode::NOT_FOUND, |t| t.not_found),
        Err(e) => e.page(who.lang),
    }
}

// ---------------------------------------------------------------- staff audit

struct AuditRow {
    at: String,
    who: String,
    action: String,
    action_word: &'static str,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    p: Chrome,
    rows: Vec<AuditRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct Before {
    before: Option<i64>,
}

const AUDIT_PAGE: usize = 200;

/// What an audit code means, in the reader's language (the code stays beside it, and alone in
/// the CSV's code column, for scripts).
pub fn action_word(lang: super::words::Lang, code: &str) -> &'static str {
    let (vi, en) = match code {
        "login" => ("Đăng nhập", "Logged in"),
        "login_failed" => ("Đăng nhập sai", "Failed login"),
        "login_locked" => ("Đăng nhập khi tài khoản bị khoá", "Login while locked"),
        "logout" => ("Đăng xuất", "Logged out"),
        "logout_everywhere" => ("Đăng xuất mọi nơi", "Logged out everywhere"),
        "set_password" => (
            "Đặt mật khẩu bằng mã thiết lập",
            "Set password with setup code",
        ),
        "setup_failed" => ("Mã thiết lập sai", "Wrong setup code"),
        "change_password" => ("Đổi mật khẩu", "Changed password"),
        "totp_on" => ("Bật xác thực hai bước", "Two-step login on"),
        "totp_off" => ("Tắt xác thực hai bước", "Two-step login off"),
        "list_referrals" => ("Xem danh sách giới thiệu", "Listed referrals"),
        "search_referrals" => ("Tìm giới thiệu", "Searched referrals"),
        "view_referral" => ("Mở một giới thiệu", "Opened a referral"),
        "transition" => ("Chuyển trạng thái giới thiệu", "Moved a referral"),
        "api_list_referrals" => (
            "Mã API đọc danh sách giới thiệu",
            "API token listed referrals",
        ),
        "api_transition" => ("Mã API chuyển trạng thái", "API token moved a referral"),
        "revoke_device" => ("Thu hồi thiết bị", "Revoked a device"),
        "label_device" => ("Đặt tên thiết bị", "Labelled a device"),
        "issue_code" => ("Cấp mã đăng ký", "Issued an enrollment code"),
        "create_account" => ("Tạo tài khoản", "Created an account"),
        "account_reset" => ("Cấp mã thiết lập mới", "New setup code"),
        "account_disable" => ("Khoá tài khoản", "Disabled an account"),
        "account_enable" => ("Mở khoá tài khoản", "Enabled an account"),
        "account_logout" => (
            "Đăng xuất mọi phiên của tài khoản",
            "Ended an account's sessions",
        ),
        "create_token" => ("Tạo mã API", "Created an API token"),
        "revoke_token" => ("Thu hồi mã API", "Revoked an API token"),
        "export_stats" => ("Tải thống kê", "Downloaded statistics"),
        "export_audit" => ("Tải nhật ký cán bộ", "Downloaded the staff audit"),
        "refused_role" => ("Bị từ chối: sai vai trò", "Refused: wrong role"),
        "refused_csrf" => (
            "Bị từ chối: biểu mẫu giả hoặc cũ",
            "Refused: forged or stale form",
        ),
        _ => ("", ""),
    };
    super::words::pick(lang, vi, en)
}

async fn load_audit(
    st: &AppState,
    lang: super::words::Lang,
    before: i64,
    limit: usize,
) -> Result<(Vec<AuditRow>, Option<i64>), Fail> {
    run(st, move |inner| {
        let names: std::collections::HashMap<String, String> = inner
            .store
            .accounts()?
            .into_iter()
            .map(|a| (a.account_id, a.username))
            .collect();
        let mut list = inner.store.audit(before, limit + 1)?;
        let more = list.len() > limit;
        list.truncate(limit);
        let older = if more { list.last().map(|e| e.n) } else { None };
        let name = |id: &str| {
            names
                .get(id)
                .map_or_else(|| id.to_string(), |u| format!("{u} ({id})"))
        };
        let rows = list
            .into_iter()
            .map(|e| AuditRow {
                at: local_time(&e.at),
                who: name(&e.actor),
                action_word: action_word(lang, &e.action),
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect();
        Ok((rows, older))
    })
    .await
}

pub async fn audit_page(State(st): State<AppState>, who: Who, Query(q): Query<Before>) -> Response {
    if let Err(r) = who.must_be(&["admin"]) {
        return r;
    }
    match load_audit(&st, who.lang, q.before.unwrap_or(i64::MAX), AUDIT_PAGE).await {
        Ok((rows, older)) => {
            let page = AuditPage {
                p: who.chrome(|t| t.audit_title),
                rows,
                older,
            };
            html(StatusCode::OK, page.render())
        }
        Err(e) => e.page(who.lang),
    }
}

pub async fn audit_csv(State(st): State<AppState>, who: Who) -> Response {
    if let Err(r) = who.must_be(&["admin"]) {
        return r;
    }
    let me = who.account.account_id.clone();
    let rows = match load_audit(&st, who.lang, i64::MAX, usize::MAX - 1).await {
        Ok((rows, _)) => rows,
        Err(e) => return e.page(who.lang),
    };
    if let Err(e) = run(&st, move |inner| audit(inner, &me, "export_audit", "", "")).await {
        return e.page(who.lang);
    }
    let t = ui(who.lang);
    let mut out = String::from("\u{feff}");
    push_csv_line(
        &mut out,
        &[t.at, t.who, t.action, "code", t.target, t.detail],
    );
    for r in rows {
        push_csv_line(
            &mut out,
            &[
                &r.at,
                &r.who,
                r.action_word,
                &r.action,
                &r.target,
                &r.detail,
            ],
        );
    }
    download(
        out.into_bytes(),
        "text/csv; charset=utf-8",
        "chungtay-staff-audit.csv",
    )
}

pub(crate) fn download(body: Vec<u8>, mime: &'static str, name: &str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

// ---------------------------------------------------------------- statistics

#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
}

/// Every referral as the statistics count it. Opens each referral in memory for its services
/// and commune; nothing of it leaves this function but counts.
async fn facts(st: &AppState) -> Result<Vec<ReferralFacts>, Fail> {
    run(st, move |inner| {
        let mut out = Vec::new();
        for row in inner.store.referrals(0, usize::MAX)? {
            let Ok(r) = inner.open_referral(&row) else {
                continue;
            };
            let decided_at = inner
                .store
                .referral_history(&row.referral_id)?
                .into_iter()
                .find(|s| s.state == "accepted" || s.state == "declined")
                .map(|s| s.at);
            out.push(ReferralFacts {
                received_at: r.received_at,
                services: r.payload.services,
                state: r.state,
                commune: r.payload.shared.get("commune").cloned(),
                decided_at,
            });
        }
        Ok(out)
    })
    .await
}

fn this_year() -> i32 {
    use chrono::Datelike as _;
    (Utc::now() + chrono::Duration::hours(7)).year()
}

struct YearChoice {
    year: i32,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/stats.html")]
struct StatsPage {
    p: Chrome,
    /// The page's path: its form and downloads are beside it.
    base: &'static str,
    stats: stats::Stats,
    years: Vec<YearChoice>,
}

/// How long the national totals are served again before being made anew.
const NATIONAL_FRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// The statistics of `year` (this year if none) and the years there are referrals in: this
/// province's; or, in the national office's console and for its national viewers only, every
/// province's together (each opened with its own keys here; only the totals are shown).
async fn stats_of(
    st: &AppState,
    who: &Who,
    year: Option<i32>,
) -> Result<(stats::Stats, Vec<i32>), Response> {
    let year = year.unwrap_or_else(this_year);
    let (s, mut years) = match st.inner().provinces.get() {
        None => {
            let all = facts(st).await.map_err(|e| e.page(who.lang))?;
            (stats::compute(&all, year, who.lang), stats::years(&all))
        }
        Some(provinces) => {
            who.must_be(&["national"])?;
            let key = (year, who.lang == super::words::Lang::Vi);
            let inner = st.inner();
            if let Ok(cache) = inner.national_cache.lock()
                && let Some((at, s, years)) = cache.get(&key)
                && at.elapsed() < NATIONAL_FRESH
            {
                return Ok((s.clone(), years.clone()));
            }
            let mut each = Vec::with_capacity(provinces.len());
            for p in provinces {
                each.push((p.name, facts(&p.state).await.map_err(|e| e.page(who.lang))?));
            }
            let mut years: Vec<i32> = each.iter().flat_map(|(_, f)| stats::years(f)).collect();
            years.sort_unstable_by(|a, b| b.cmp(a));
            years.dedup();
            let made = stats::compute_national(&each, year, who.lang);
            drop(each);
            if years.contains(&year) || year == this_year() {
                // Only years that exist: a made-up year in the address grows nothing.
                if let Ok(mut cache) = inner.national_cache.lock() {
                    cache.retain(|_, (at, _, _)| at.elapsed() < NATIONAL_FRESH);
                    cache.insert(
                        key,
                        (std::time::Instant::now(), made.clone(), years.clone()),
                    );
                }
            }
            (made, years)
        }
    };
    if !years.contains(&year) {
        years.insert(0, year);
    }
    Ok((s, years))
}

/// This province's statistics; in the national office's console, every province's totals.
pub async fn stats_page(
    State(st): State<AppState>,
    who: Who,
    Query(q): Query<YearQuery>,
) -> Response {
    let national = st.is_national();
    let base = if national {
        "/console/national"
    } else {
        "/console/stats"
    };
    let (stats, years) = match stats_of(&st, &who, q.year).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let page = StatsPage {
        p: who.chrome(|t| {
            if national {
                t.national_title
            } else {
                t.stats_title
            }
        }),
        base,
        years: years
            .into_iter()
            .map(|y| YearChoice {
                year: y,
                selected: y == stats.year,
            })
            .collect(),
        stats,
    };
    html(StatusCode::OK, page.render())
}

async fn stats_export(st: AppState, who: Who, year: Option<i32>, xlsx: bool) -> Response {
    let (s, _) = match stats_of(&st, &who, year).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let year = s.year;
    let me = who.account.account_id.clone();
    let kind = if xlsx { "xlsx" } else { "csv" };
    let (action, name) = if st.is_national() {
        ("export_national_stats", "chungtay-thong-ke-toan-quoc")
    } else {
        ("export_stats", "chungtay-thong-ke")
    };
    if let Err(e) = run(&st, move |inner| {
        audit(inner, &me, action, &year.to_string(), kind)
    })
    .await
    {
        return e.page(who.lang);
    }
    if xlsx {
        match stats::to_xlsx(&s) {
            Ok(bytes) => download(
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{name}.xlsx"),
            ),
            Err(_) => message_page(who.lang, StatusCode::INTERNAL_SERVER_ERROR, |t| {
                t.error_text
            }),
        }
    } else {
        download(
            stats::to_csv(&s).into_bytes(),
            "text/csv; charset=utf-8",
            &format!("{name}.csv"),
        )
    }
}

pub async fn stats_csv(
    State(st): State<AppState>,
    who: Who,
    Query(q): Query<YearQuery>,
) -> Response {
    stats_export(st, who, q.year, false).await
}

pub async fn stats_xlsx(
    State(st): State<AppState>,
    who: Who,
    Query(q): Query<YearQuery>,
) -> Response {
    stats_export(st, who, q.year, true).await
}
