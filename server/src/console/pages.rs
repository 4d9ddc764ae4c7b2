//! Login, setup, language, own account, and the officer's referral pages.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Datelike, Utc};
use chungtay_protocol::text::fold;
use chungtay_protocol::{STATUS_STATES, StaffReferral, transition_allowed, validate_id};
use serde::Deserialize;
use tracing::{error, info, warn};
use zeroize::Zeroizing;

use super::ui::ui;
use super::words::{self, Lang};
use super::{
    Chrome, Fail, LANG_COOKIE, PRE_COOKIE, SESSION_COOKIE, Who, audit, cookie, html, lang_of,
    local_time, message_page, refused, run, set_cookie, status_for,
};
use crate::accounts::{self, AccountError};
use crate::admin::{hex, random};
use crate::http::{AppState, check_transition};
use crate::store::Account;
use crate::tls::PeerAddr;

/// Days in a state after which a referral is overdue: the field audit's defaults
/// (core's `OverdueThresholds`: received 7, accepted 14, in progress 90).
pub fn overdue_days(state: &str) -> Option<i64> {
    match state {
        "received" => Some(7),
        "accepted" => Some(14),
        "in_progress" => Some(90),
        _ => None,
    }
}

pub async fn home(State(st): State<AppState>, who: Who) -> Response {
    let to = match who.account.role.as_str() {
        "admin" if st.is_national() => "/console/accounts",
        _ if st.is_national() => "/console/national",
        "officer" => "/console/referrals",
        "admin" => "/console/devices",
        _ => "/console/stats",
    };
    Redirect::to(to).into_response()
}

pub async fn set_lang(Path(lang): Path<String>) -> Response {
    let value = if lang == "en" { "en" } else { "vi" };
    let mut resp = Redirect::to("/console").into_response();
    set_cookie(&mut resp, LANG_COOKIE, value, Some(365 * 24 * 3600));
    resp
}

// ---------------------------------------------------------------- login and setup

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    p: Chrome,
    pre: String,
    error: Option<&'static str>,
    flash: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "console/setup.html")]
struct SetupPage {
    p: Chrome,
    pre: String,
    error: Option<&'static str>,
    username: String,
}

/// A fresh double-submit token for a form shown before login.
fn pre_token() -> Result<String, Fail> {
    Ok(hex(&random::<16>()?))
}

fn with_pre(status: StatusCode, body: Result<String, askama::Error>, pre: &str) -> Response {
    let mut resp = html(status, body);
    set_cookie(&mut resp, PRE_COOKIE, pre, Some(1800));
    resp
}

#[derive(Deserialize)]
pub struct MsgQuery {
    m: Option<String>,
}

pub async fn login_form(headers: HeaderMap, Query(q): Query<MsgQuery>) -> Response {
    let lang = lang_of(&headers);
    let Ok(pre) = pre_token() else {
        return message_page(lang, StatusCode::INTERNAL_SERVER_ERROR, |t| t.error_text);
    };
    let t = ui(lang);
    let page = LoginPage {
        p: Chrome::anonymous(lang, |t| t.login_title),
        pre: pre.clone(),
        error: None,
        flash: match q.m.as_deref() {
            Some("setup") => Some(t.setup_done),
            Some("bye") => Some(t.sessions_ended),
            _ => None,
        },
    };
    with_pre(StatusCode::OK, page.render(), &pre)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: Zeroizing<String>,
    /// The authenticator's code, for accounts with a second factor.
    #[serde(default)]
    totp: Zeroizing<String>,
    pre: String,
}

/// The form's token must equal the cookie the same browser got with the form.
fn pre_ok(headers: &HeaderMap, given: &str) -> bool {
    matches!(cookie(headers, PRE_COOKIE), Some(c) if c.len() == 32 && c == given)
}

pub async fn login(
    State(st): State<AppState>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    if !pre_ok(&headers, &f.pre) {
        return refused(lang, |t| t.refused_csrf);
    }
    let again = |error: &'static str, status: StatusCode| {
        let pre = pre_token().unwrap_or_default();
        let page = LoginPage {
            p: Chrome::anonymous(lang, |t| t.login_title),
            pre: pre.clone(),
            error: Some(error),
            flash: None,
        };
        with_pre(status, page.render(), &pre)
    };
    let t = ui(lang);
    if !st.login_allowed(peer.ip()) {
        warn!(outcome = "console_login_rate_limited");
        return again(t.too_many, StatusCode::TOO_MANY_REQUESTS);
    }
    let Some(_slot) = st.password_slot().await else {
        return again(t.busy, StatusCode::SERVICE_UNAVAILABLE);
    };
    let username = f.username.trim().to_string();
    let outcome = run(&st, move |inner| {
        match accounts::login(&inner.keys, &*inner.store, &username, &f.password, &f.totp) {
            Ok(a) => {
                let token = accounts::start_session(&inner.keys, &*inner.store, &a.account_id)?;
                audit(inner, &a.account_id, "login", "", "")?;
                info!(account_id = %a.account_id, outcome = "console_login");
                Ok(Ok(token))
            }
            Err(e @ (AccountError::BadLogin | AccountError::Locked { .. })) => {
                // Named in the audit only when such an account exists.
                let target = inner
                    .store
                    .account_by_username(&username)?
                    .map(|a| a.account_id)
                    .unwrap_or_else(|| "unknown".into());
                let what = if matches!(e, AccountError::Locked { .. }) {
                    "login_locked"
                } else {
                    "login_failed"
                };
                audit(inner, "-", what, &target, "")?;
                warn!(outcome = what);
                Ok(Err(e))
            }
            Err(other) => Err(other.into()),
        }
    })
    .await;
    match outcome {
        Ok(Ok(token)) => {
            let mut resp = Redirect::to("/console").into_response();
            set_cookie(&mut resp, SESSION_COOKIE, &token, None);
            set_cookie(&mut resp, PRE_COOKIE, "", Some(0));
            resp
        }
        // Locked or not, the same answer: a lock must not tell which usernames exist.
        Ok(Err(_)) => again(t.bad_login, StatusCode::UNAUTHORIZED),
        Err(e) => e.page(lang),
    }
}

pub async fn setup_form(headers: HeaderMap) -> Response {
    let lang = lang_of(&headers);
    let Ok(pre) = pre_token() else {
        return message_page(lang, StatusCode::INTERNAL_SERVER_ERROR, |t| t.error_text);
    };
    let page = SetupPage {
        p: Chrome::anonymous(lang, |t| t.setup_title),
        pre: pre.clone(),
        error: None,
        username: String::new(),
    };
    with_pre(StatusCode::OK, page.render(), &pre)
}

#[derive(Deserialize)]
pub struct SetupForm {
    username: String,
    code: Zeroizing<String>,
    password: Zeroizing<String>,
    password2: Zeroizing<String>,
    pre: String,
}

pub async fn setup(
    State(st): State<AppState>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    Form(f): Form<SetupForm>,
) -> Response {
    let lang = lang_of(&headers);
    if !pre_ok(&headers, &f.pre) {
        return refused(lang, |t| t.refused_csrf);
    }
    let t = ui(lang);
    let username = f.username.trim().to_string();
    let again = |error: &'static str| {
        let pre = pre_token().unwrap_or_default();
        let page = SetupPage {
            p: Chrome::anonymous(lang, |t| t.setup_title),
            pre: pre.clone(),
            error: Some(error),
            username: username.clone(),
        };
        with_pre(StatusCode::BAD_REQUEST, page.render(), &pre)
    };
    if !st.login_allowed(peer.ip()) {
        return again(t.too_many);
    }
    let Some(_slot) = st.password_slot().await else {
        return again(t.busy);
    };
    let user = username.clone();
    let outcome = run(&st, move |inner| {
        match accounts::set_password_with_code(
            &inner.keys,
            &*inner.store,
            &user,
            &f.code,
            &f.password,
            &f.password2,
        ) {
            Ok(a) => {
                audit(
                    inner,
                    &a.account_id,
                    "set_password",
                    &a.account_id,
                    "setup code",
                )?;
                Ok(Ok(()))
            }
            Err(AccountError::Store(e)) => Err(e.into()),
            Err(e) => {
                if matches!(e, AccountError::BadSetupCode) {
                    audit(inner, "-", "setup_failed", "", "")?;
                }
                Ok(Err(e))
            }
        }
    })
    .await;
    match outcome {
        Ok(Ok(())) => {
            let mut resp = Redirect::to("/console/login?m=setup").into_response();
            set_cookie(&mut resp, PRE_COOKIE, "", Some(0));
            resp
        }
        Ok(Err(AccountError::WeakPassword)) => again(t.weak_password),
        Ok(Err(AccountError::PasswordsDiffer)) => again(t.passwords_differ),
        Ok(Err(_)) => again(t.bad_setup),
        Err(e) => e.page(lang),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(State(st): State<AppState>, who: Who, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = who.check_csrf(&st, &f.csrf) {
        return r;
    }
    let token = who.token.clone();
    let id = who.account.account_id.clone();
    let done = run(&st, move |inner| {
        inner
            .store
            .delete_session(&accounts::session_hash(&inner.keys, &token))?;
        audit(inner, &id, "logout", "", "")
    })
    .await;
    match done {
        Ok(()) => {
            let mut resp = Redirect::to("/console/login").into_response();
            set_cookie(&mut resp, SESSION_COOKIE, "", Some(0));
            resp
        }
        Err(e) => e.page(who.lang),
    }
}

pub async fn logout_all(State(st): State<AppState>, who: Who, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = who.check_csrf(&st, &f.csrf) {
        return r;
    }
    let id = who.account.account_id.clone();
    let done = run(&st, move |inner| {
        let n = inner.store.delete_sessions(&id)?;
        audit(
            inner,
            &id,
            "logout_everywhere",
            &id,
            &format!("{n} sessions"),
        )
    })
    .await;
    match done {
        Ok(()) => {
            let mut resp = Redirect::to("/console/login?m=bye").into_response();
            set_cookie(&mut resp, SESSION_COOKIE, "", Some(0));
            resp
        }
        Err(e) => e.page(who.lang),
    }
}

// ---------------------------------------------------------------- own account

pub struct TotpSetup {
    secret: Zeroizing<String>,
    qr: String,
}

#[derive(Template)]
#[template(path = "console/me.html")]
struct MePage {
    p: Chrome,
    username: String,
    error: Option<&'static str>,
    flash: Option<&'static str>,
    totp_on: bool,
    setup: Option<TotpSetup>,
}

fn me_page(
    who: &Who,
    totp_on: bool,
    status: StatusCode,
    error: Option<&'static str>,
    flash: Option<&'static str>,
    setup: Option<TotpSetup>,
) -> Response {
    let page = MePage {
        p: who.chrome(|t| t.me_title),
        username: who.account.username.clone(),
        error,
        flash,
        totp_on,
        setup,
    };
    html(status, page.render())
}

pub async fn me(who: Who, Query(q): Query<MsgQuery>) -> Response {
    let t = ui(who.lang);
    let flash = match q.m.as_deref() {
        Some("password") => Some(t.password_changed),
        Some("totp_on") => Some(t.totp_enabled),
        Some("totp_off") => Some(t.totp_disabled),
        _ => None,
    };
    me_page(
        &who,
        who.account.totp.is_some(),
        StatusCode::OK,
        None,
        flash,
        None,
    )
}

/// After a change of password or second factor: every other session of the account ends (a
/// thief's included) and this browser gets a fresh one.
fn renew_session(inner: &crate::http::Inner, account_id: &str) -> Result<Zeroizing<String>, Fail> {
    inner.store.delete_sessions(account_id)?;
    Ok(accounts::start_session(
        &inner.keys,
        &*inner.store,
        account_id,
    )?)
}

fn renewed(to: &'static str, token: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    set_cookie(&mut resp, SESSION_COOKIE, token, None);
    resp
}

pub async fn totp_start(State(st): State<AppState>, who: Who, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = who.check_csrf(&st, &f.csrf) {
        return r;
    }
    let (secret, url) = match accounts::totp_begin(&who.account) {
        Ok(x) => x,
        Err(e) => return Fail::from(e).page(who.lang),
    };
    let qr = super::manage::qr_svg(&url);
    let setup = TotpSetup { secret, qr };
    me_page(&who, false, StatusCode::OK, None, None, Some(setup))
}

#[derive(Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    csrf: String,
    secret: Zeroizing<String>,
    code: String,
}

pub async fn totp_confirm(
    State(st): State<AppState>,
    who: Who,
    Form(f): Form<TotpForm>,
) -> Response {
    if let Err(r) = who.check_csrf(&st, &f.csrf) {
        return r;
    }
    let id = who.account.account_id.clone();
    let secret = f.secret.clone();
    let outcome = run(&st, move |inner| {
        match accounts::totp_enable(&inner.keys, &*inner.store, &id, &secret, &f.code) {
            Ok(()) => {
                audit(inner, &id, "totp_on", &id, "")?;
                Ok(Some(renew_session(inner, &id)?))
            }
            Err(AccountError::BadTotp) => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await;
    let t = ui(who.lang);
    match outcome {
        Ok(Some(token)) => renewed("/console/me?m=totp_on", &token),
        Ok(None) => {
            let (secret, url) = match accounts::totp_begin(&who.account) {
                Ok(x) => x,
                Err(e) => return Fail::from(e).page(who.lang),
            };
            // A fresh secret each try: the refused one is never stored.
            let setup = TotpSetup {
                qr: super::manage::qr_svg(&url),
                secret,
            };
            me_page(
                &who,
                false,
                StatusCode::BAD_REQUEST,
                Some(t.totp_bad),
                None,
                Some(setup),
            )
        }
        Err(e) => e.page(who.lang),
    }
}

#[derive(Deserialize)]
pub struct OffForm {
    #[serde(default)]
    csrf: String,
    password: Zeroizing<String>,
}

pub async fn totp_off(State(st): State<AppState>, who: Who, Form(f): Form<OffForm>) -> Response {
    if let Err(r) = who.check_csrf(&st, &f.csrf) {
        return r;
    }
    let Some(_slot) = st.password_slot().await else {
        return message_page(who.lang, StatusCode::SERVICE_UNAVAILABLE, |t| t.busy);
    };
    let id = who.account.account_id.clone();
    let outcome = run(&st, move |inner| {
        match accounts::totp_disable(&inner.keys, &*inner.store, &id, &f.password) {
            Ok(()) => {
                audit(inner, &id, "totp_off", &id, "")?;
                Ok(true)
            }
            Err(AccountError::BadLogin | AccountError::Locked { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    })
    .await;
    let t = ui(who.lang);
    match outcome {
        Ok(true) => me_page(
            &who,
            false,
            StatusCode::OK,
            None,
            Some(t.totp_disabled),
            None,
        ),
        Ok(false) => me_page(
            &who,
            true,
            StatusCode::BAD_REQUEST,
            Some(t.bad_login),
            None,
            None,
        ),
        Err(e) => e.page(who.lang),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: Zeroizing<String>,
    password: Zeroizing<String>,
    password2: Zeroizing<String>,
}

pub async fn change_password(
    State(st): State<AppState>,
    who: Who,
    Form(f): Form<PasswordForm>,
) -> Response {
    if let Err(r) = who.check_csrf(&st, &f.csrf) {
        return r;
    }
    let Some(_slot) = st.password_slot().await else {
        return message_page(who.lang, StatusCode::SERVICE_UNAVAILABLE, |t| t.busy);
    };
    let id = who.account.account_id.clone();
    let outcome = run(&st, move |inner| {
        match accounts::change_password(
            &inner.keys,
            &*inner.store,
            &id,
            &f.current,
            &f.password,
            &f.password2,
        ) {
            Ok(_) => {
                audit(inner, &id, "change_password", &id, "")?;
                Ok(Ok(renew_session(inner, &id)?))
            }
            Err(AccountError::Store(e)) => Err(e.into()),
            Err(e) => Ok(Err(e)),
        }
    })
    .await;
    let t = ui(who.lang);
    let (status, error, flash) = match outcome {
        Ok(Ok(token)) => return renewed("/console/me?m=password", &token),
        Ok(Err(AccountError::WeakPassword)) => {
            (StatusCode::BAD_REQUEST, Some(t.weak_password), None::<&str>)
        }
        Ok(Err(AccountError::PasswordsDiffer)) => {
            (StatusCode::BAD_REQUEST, Some(t.passwords_differ), None)
        }
        Ok(Err(_)) => (StatusCode::BAD_REQUEST, Some(t.bad_login), None),
        Err(e) => return e.page(who.lang),
    };
    me_page(&who, who.account.totp.is_some(), status, error, flash, None)
}

// ---------------------------------------------------------------- the inbox

/// The inbox's filters. Categories may come in the address (GET); the commune and the search
/// text are personal, so they come only in a posted form.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub club: String,
    #[serde(default)]
    pub age: String,
    #[serde(default)]
    pub overdue: Option<String>,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub csrf: String,
}

/// One referral as the inbox and its filters see it.
pub struct Item {
    pub r: StaffReferral,
    pub club: String,
    pub days_in_state: i64,
    pub overdue: bool,
    pub age: Option<i64>,
}

pub fn days_since(rfc3339: &str, now: DateTime<Utc>) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| (now - t.with_timezone(&Utc)).num_days().max(0))
        .unwrap_or(0)
}

impl Item {
    pub fn new(r: StaffReferral, club: String, now: DateTime<Utc>) -> Item {
        let days_in_state = days_since(&r.updated_at, now);
        let overdue = overdue_days(&r.state).is_some_and(|d| days_in_state >= d);
        let age = r
            .payload
            .shared
            .get("birth_year")
            .and_then(|y| y.trim().parse::<i64>().ok())
            .map(|y| i64::from(now.year()) - y);
        Item {
            r,
            club,
            days_in_state,
            overdue,
            age,
        }
    }

    fn shared(&self, field: &str) -> &str {
        self.r.payload.shared.get(field).map_or("", String::as_str)
    }
}

/// Whether an item passes the filters. Text filters ignore case and diacritics ("muong lat"
/// finds "Mường Lát"); the search looks in the consented name, commune, village and the id.
pub fn matches(f: &Filters, it: &Item) -> bool {
    let has = |hay: &str, needle: &str| fold(hay).contains(&fold(needle));
    (f.state.is_empty() || it.r.state == f.state)
        && (f.service.is_empty() || it.r.payload.services.contains(&f.service))
        && (f.commune.trim().is_empty() || has(it.shared("commune"), &f.commune))
        && (f.club.trim().is_empty() || has(&it.club, &f.club) || it.r.device_id == f.club.trim())
        && match f.age.as_str() {
            "child" => it.age.is_some_and(|a| a < 16),
            "youth" => it.age.is_some_and(|a| (16..25).contains(&a)),
            "adult" => it.age.is_some_and(|a| a >= 25),
            _ => true,
        }
        && (f.overdue.is_none() || it.overdue)
        && (f.q.trim().is_empty() || {
            let q = fold(&f.q);
            q.split_whitespace().all(|w| {
                ["name", "commune", "village"]
                    .iter()
                    .any(|k| fold(it.shared(k)).contains(w))
                    || it.r.referral_id.to_lowercase().contains(w)
            })
        })
}

struct InboxRow {
    id: String,
    received: String,
    state: String,
    state_word: &'static str,
    services: String,
    commune: String,
    club: String,
    days: i64,
    overdue: bool,
    urgency: String,
}

struct Choice {
    value: &'static str,
    word: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/inbox.html")]
struct InboxPage {
    p: Chrome,
    rows: Vec<InboxRow>,
    states: Vec<Choice>,
    services: Vec<Choice>,
    ages: Vec<Choice>,
    f: Filters,
    overdue_checked: bool,
    total: usize,
    unreadable: usize,
}

fn choices(keys: &[&'static str], selected: &str, word: impl Fn(&str) -> String) -> Vec<Choice> {
    keys.iter()
        .map(|k| Choice {
            value: k,
            word: word(k),
            selected: *k == selected,
        })
        .collect()
}

pub async fn inbox(State(st): State<AppState>, who: Who, Query(mut f): Query<Filters>) -> Response {
    // Personal filters never come from the address bar.
    f.commune.clear();
    f.q.clear();
    show_inbox(st, who, f).await
}

pub async fn inbox_filtered(
    State(st): State<AppState>,
    who: Who,
    Form(f): Form<Filters>,
) -> Response {
    if let Err(r) = who.check_csrf(&st, &f.csrf) {
        return r;
    }
    show_inbox(st, who, f).await
}

async fn show_inbox(st: AppState, who: Who, f: Filters) -> Response {
    if let Err(r) = who.must_be(&["officer"]) {
        return r;
    }
    let lang = who.lang;
    let id = who.account.account_id.clone();
    let filters = f.clone();
    let loaded = run(&st, move |inner| {
        let labels: HashMap<String, String> = inner
            .store
            .devices()?
            .into_iter()
            .map(|d| (d.device_id, d.label))
            .collect();
        let now = Utc::now();
        let mut unreadable = 0usize;
        let mut items = Vec::new();
        for row in inner.store.referrals(0, usize::MAX)? {
            match inner.open_referral(&row) {
                Ok(r) => {
                    let club = labels.get(&r.device_id).cloned().unwrap_or_default();
                    let it = Item::new(r, club, now);
                    if matches(&filters, &it) {
                        items.push(it);
                    }
                }
                Err(_) => {
                    error!(referral_id = %row.referral_id, outcome = "unreadable_referral");
                    unreadable += 1;
                }
            }
        }
        items.reverse();
        let searched = !filters.q.trim().is_empty() || !filters.commune.trim().is_empty();
        audit(
            inner,
            &id,
            if searched {
                "search_referrals"
            } else {
                "list_referrals"
            },
            "",
            &format!("{} shown", items.len()),
        )?;
        Ok((items, unreadable))
    })
    .await;
    let (items, unreadable) = match loaded {
        Ok(x) => x,
        Err(e) => return e.page(lang),
    };
    let t = ui(lang);
    let rows = items
        .iter()
        .map(|it| InboxRow {
            id: it.r.referral_id.clone(),
            received: local_time(&it.r.received_at),
            state: it.r.state.clone(),
            state_word: state_word(lang, &it.r.state),
            services: it
                .r
                .payload
                .services
                .iter()
                .map(|s| words::service(lang, s).to_string())
                .collect::<Vec<_>>()
                .join(", "),
            commune: it.shared("commune").to_string(),
            club: it.club.clone(),
            days: it.days_in_state,
            overdue: it.overdue,
            urgency: words::urgency(lang, &it.r.payload.urgency).to_string(),
        })
        .collect();
    let page = InboxPage {
        p: who.chrome(|t| t.inbox_title),
        rows,
        states: choices(&STATUS_STATES, &f.state, |k| {
            words::state(lang, k).to_string()
        }),
        services: choices(&words::SERVICES, &f.service, |k| {
            words::service(lang, k).to_string()
        }),
        ages: choices(&["child", "youth", "adult"], &f.age, |k| {
            match k {
                "child" => t.age_child,
                "youth" => t.age_youth,
                _ => t.age_adult,
            }
            .to_string()
        }),
        overdue_checked: f.overdue.is_some(),
        total: items.len(),
        unreadable,
        f,
    };
    html(StatusCode::OK, page.render())
}

fn state_word(lang: Lang, state: &str) -> &'static str {
    STATUS_STATES
        .iter()
        .find(|s| **s == state)
        .map_or("", |s| words::state(lang, s))
}

// ---------------------------------------------------------------- one referral

struct Field {
    key: String,
    word: String,
    value: String,
}

struct Event {
    state_word: &'static str,
    at: String,
    by: String,
    note: String,
}

struct Action {
    to: &'static str,
    word: &'static str,
    note_label: &'static str,
    required: bool,
    draft: String,
}

#[derive(Template)]
#[template(path = "console/referral.html")]
struct ReferralPage {
    p: Chrome,
    id: String,
    device: String,
    club: String,
    state_word: &'static str,
    received: String,
    services: String,
    urgency: String,
    note: String,
    consent_given: String,
    purposes: String,
    fields: Vec<Field>,
    history: Vec<Event>,
    actions: Vec<Action>,
    error: Option<&'static str>,
    flash: Option<&'static str>,
}

pub async fn referral(
    State(st): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    Query(q): Query<MsgQuery>,
) -> Response {
    if validate_id(&id, "referral_id").is_err() {
        return message_page(who.lang, StatusCode::NOT_FOUND, |t| t.not_found);
    }
    let t = ui(who.lang);
    let flash = (q.m.as_deref() == Some("done")).then_some(t.transition_done);
    show_referral(st, who, id, None, flash, None).await
}

async fn show_referral(
    st: AppState,
    who: Who,
    id: String,
    error: Option<&'static str>,
    flash: Option<&'static str>,
    draft: Option<(String, String)>,
) -> Response {
    if let Err(r) = who.must_be(&["officer"]) {
        return r;
    }
    let lang = who.lang;
    let t = ui(lang);
    let me = who.account.account_id.clone();
    let rid = id.clone();
    let loaded = run(&st, move |inner| {
        let Some(row) = inner.store.referral(&rid)? else {
            return Ok(None);
        };
        let r = inner.open_referral(&row)?;
        let device = inner.store.device(&r.device_id)?;
        let names: HashMap<String, String> = inner
            .store
            .accounts()?
            .into_iter()
            .map(|a: Account| (a.account_id, a.display_name))
            .collect();
        let mut history = Vec::new();
        for s in inner.store.referral_history(&rid)? {
            let update = inner.open_status(&s.device_id, s.seq, &s.body)?;
            history.push((s, update));
        }
        // Every view of the personal fields is recorded, with who.
        audit(inner, &me, "view_referral", &rid, "")?;
        Ok(Some((
            r,
            device.map(|d| d.label).unwrap_or_default(),
            names,
            history,
        )))
    })
    .await;
    let (r, club, names, history) = match loaded {
        Ok(Some(x)) => x,
        Ok(None) => return message_page(lang, StatusCode::NOT_FOUND, |t| t.not_found),
        Err(e) => return e.page(lang),
    };
    let fields = r
        .payload
        .shared
        .iter()
        .map(|(k, v)| Field {
            key: k.clone(),
            word: words::field(lang, k).to_string(),
            value: v.clone(),
        })
        .collect();
    let history = history
        .into_iter()
        .map(|(s, u)| Event {
            state_word: state_word(lang, &s.state),
            at: local_time(&s.at),
            by: match &s.by_staff {
                None => t.phone_device.to_string(),
                Some(id) => names.get(id).cloned().unwrap_or_else(|| id.clone()),
            },
            note: u.note,
        })
        .collect();
    let actions = ["accepted", "declined", "in_progress", "completed"]
        .into_iter()
        .filter(|to| transition_allowed(&r.state, to))
        .map(|to| Action {
            to,
            word: match to {
                "accepted" => t.act_accepted,
                "declined" => t.act_declined,
                "in_progress" => t.act_in_progress,
                _ => t.act_completed,
            },
            note_label: match to {
                "declined" => t.note_reason,
                "completed" => t.note_outcome,
                _ => t.note,
            },
            required: to == "declined" || to == "completed",
            draft: draft
                .as_ref()
                .filter(|(d, _)| d == to)
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
        })
        .collect();
    let page = ReferralPage {
        p: who.chrome(|t| t.referral_title),
        id: r.referral_id.clone(),
        device: r.device_id.clone(),
        club,
        state_word: state_word(lang, &r.state),
        received: local_time(&r.received_at),
        services: r
            .payload
            .services
            .iter()
            .map(|s| words::service(lang, s).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        urgency: words::urgency(lang, &r.payload.urgency).to_string(),
        note: r.payload.note.clone(),
        consent_given: r.payload.consent.given_on.clone(),
        purposes: r
            .payload
            .consent
            .purposes
            .iter()
            .map(|s| words::service(lang, s).to_string())
            .collect::<Vec<_>>()
            .join(", "),
        fields,
        history,
        actions,
        error,
        flash,
    };
    let status = status_for(error);
    html(status, page.render())
}

#[derive(Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    csrf: String,
    to: String,
    #[serde(default)]
    note: String,
}

pub async fn transition(
    State(st): State<AppState>,
    who: Who,
    Path(id): Path<String>,
    Form(f): Form<TransitionForm>,
) -> Response {
    if let Err(r) = who.check_csrf(&st, &f.csrf) {
        return r;
    }
    if let Err(r) = who.must_be(&["officer"]) {
        return r;
    }
    if validate_id(&id, "referral_id").is_err() {
        return message_page(who.lang, StatusCode::NOT_FOUND, |t| t.not_found);
    }
    let t = ui(who.lang);
    let note = match check_transition(&f.to, &f.note) {
        Ok(n) => n,
        Err(e) => {
            let why = match e.code {
                "note_required" => t.note_required,
                "note_too_long" => t.note_too_long,
                _ => t.not_allowed,
            };
            return show_referral(st, who, id, Some(why), None, Some((f.to, f.note))).await;
        }
    };
    let me = who.account.account_id.clone();
    let (rid, to) = (id.clone(), f.to.clone());
    let done = run(&st, move |inner| {
        let update = inner.transition(&rid, &to, &note, &me)?;
        audit(
            inner,
            &me,
            "transition",
            &rid,
            &format!("to {to}, seq {}", update.seq),
        )?;
        Ok(())
    })
    .await;
    match done {
        Ok(()) => Redirect::to(&format!("/console/referrals/{id}?m=done")).into_response(),
        Err(Fail::Api(e)) if e.code == "invalid_transition" => {
            show_referral(st, who, id, Some(t.not_allowed), None, Some((f.to, f.note))).await
        }
        Err(e) => e.page(who.lang),
    }
}
