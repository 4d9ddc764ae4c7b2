//! The staff console over real HTTP on loopback: logins, roles on every route, CSRF, lockout,
//! the audit of views, and an officer working a referral that a phone then pulls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::Utc;
use chungtay_intake::admin;
use chungtay_protocol::{StatusPage, seal_referral, sign_pull, verify_status};
use common::browser::{Browser, field_value, text_of};
use common::{Env, PASS, Phone, scenario2};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

const PASSWORD: &str = "mật khẩu của cán bộ";

fn account(env: &Env, user: &str, role: &str) {
    let made = admin::add_account(env.data(), PASS, user, "Chị Cán Bộ", role).unwrap();
    admin::set_password_with_code(env.data(), PASS, user, &made.setup_code, PASSWORD).unwrap();
}

fn logged_in(env: &Env, user: &str, role: &str) -> Browser {
    account(env, user, role);
    let mut b = Browser::new(env);
    let p = b.login(user, PASSWORD);
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    b
}

fn send_referral(env: &Env, phone: &Phone, id: &str) {
    let sub = seal_referral(
        &scenario2(id),
        &phone.keys,
        &phone.device_id,
        &phone.pins.hpke_public_key,
    )
    .unwrap();
    assert_eq!(env.post("/v1/referrals", &sub).status(), StatusCode::OK);
}

fn pull(env: &Env, phone: &Phone) -> StatusPage {
    let p = sign_pull(&phone.keys, &phone.device_id, 0, Utc::now().timestamp()).unwrap();
    env.client
        .get(env.url("/v1/status"))
        .query(&[
            ("device_id", p.device_id.clone()),
            ("cursor", "0".into()),
            ("ts", p.ts.to_string()),
            ("sig", p.sig.encode()),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// The staff audit; refusals are written off the request's thread, so give them a moment.
fn audit_until(env: &Env, action: &str, at_least: usize) -> Vec<(String, String, String)> {
    for _ in 0..50 {
        let trail = audit_actions(env);
        if trail.iter().filter(|(_, a, _)| a == action).count() >= at_least {
            return trail;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("fewer than {at_least} {action} in the staff audit");
}

fn audit_actions(env: &Env) -> Vec<(String, String, String)> {
    admin::open_site(env.data())
        .unwrap()
        .audit(i64::MAX, 1000)
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action, e.target))
        .collect()
}

#[test]
fn an_officer_finds_a_referral_accepts_it_and_the_phone_pulls_the_signed_answer() {
    let env = Env::start();
    let phone = env.enroll();
    send_referral(&env, &phone, "ref-xuan");
    let mut officer = logged_in(&env, "lan", "officer");

    let inbox = officer.get("/console/referrals");
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.body.contains("data-referral=\"ref-xuan\""));
    // The inbox shows no name: names only on the referral's own (audited) page.
    assert!(!inbox.body.contains("Lò Thị Xuân"));

    // Filters: by service and state; a search without diacritics finds the name.
    let csrf = inbox.csrf();
    let found = officer.post(
        "/console/referrals",
        &[
            ("csrf", &csrf),
            ("service", "loans"),
            ("state", "received"),
            ("q", "lo thi xuan"),
        ],
    );
    assert!(
        found.body.contains("data-referral=\"ref-xuan\""),
        "{}",
        found.body
    );
    let none = officer.post(
        "/console/referrals",
        &[("csrf", &csrf), ("service", "health_care")],
    );
    assert!(!none.body.contains("data-referral=\"ref-xuan\""));
    let by_commune = officer.post(
        "/console/referrals",
        &[("csrf", &csrf), ("commune", "muong lat"), ("age", "youth")],
    );
    assert!(by_commune.body.contains("data-referral=\"ref-xuan\""));
    let children = officer.post("/console/referrals", &[("csrf", &csrf), ("age", "child")]);
    assert!(!children.body.contains("data-referral=\"ref-xuan\""));
    // Personal filters are not taken from the address (they would sit in history and logs).
    let by_url = officer.get("/console/referrals?q=nobody-at-all");
    assert!(by_url.body.contains("data-referral=\"ref-xuan\""));

    let page = officer.get("/console/referrals/ref-xuan");
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-field=\"name\">Lò Thị Xuân<"));
    assert!(page.body.contains("data-field=\"commune\">Mường Lát<"));
    assert!(!page.body.contains("data-field=\"story\""));
    assert!(page.body.contains("id=\"act-accepted\""));
    assert!(page.body.contains("id=\"act-declined\""));
    assert!(!page.body.contains("id=\"act-completed\""));

    let done = officer.post(
        "/console/referrals/ref-xuan/transition",
        &[
            ("csrf", &page.csrf()),
            ("to", "accepted"),
            ("note", "Hẹn gặp thứ Hai"),
        ],
    );
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let after = officer.get(done.location.as_deref().unwrap());
    assert!(after.body.contains("id=\"flash\""));
    assert_eq!(after.body.matches("<li>").count(), 2, "{}", after.body);
    assert!(after.body.contains("Hẹn gặp thứ Hai"));
    assert!(after.body.contains("id=\"act-in_progress\""));

    // The phone gets the answer, signed by the province.
    let pulled = pull(&env, &phone);
    let last = pulled.updates.last().unwrap();
    assert_eq!(last.state, "accepted");
    assert_eq!(last.note, "Hẹn gặp thứ Hai");
    verify_status(last, &phone.device_id, &phone.pins.signing_key).unwrap();

    // Every view of the personal fields is in the staff audit, with the account.
    let officer_id = admin::open_site(env.data())
        .unwrap()
        .account_by_username("lan")
        .unwrap()
        .unwrap()
        .account_id;
    let trail = audit_actions(&env);
    let views = trail
        .iter()
        .filter(|(who, what, target)| {
            who == &officer_id && what == "view_referral" && target == "ref-xuan"
        })
        .count();
    assert_eq!(views, 2);
    assert!(
        trail
            .iter()
            .any(|(who, what, _)| who == &officer_id && what == "transition")
    );
    assert!(trail.iter().any(|(_, what, _)| what == "search_referrals"));
}

#[test]
fn each_role_opens_only_its_pages() {
    let env = Env::start();
    let phone = env.enroll();
    send_referral(&env, &phone, "ref-1");
    let mut officer = logged_in(&env, "lan", "officer");
    let mut admin_b = logged_in(&env, "quantri", "admin");
    let mut viewer = logged_in(&env, "xem", "viewer");
    let mut nobody = Browser::new(&env);
    let routes = [
        ("/console/referrals", [true, false, false]),
        ("/console/referrals/ref-1", [true, false, false]),
        ("/console/devices", [false, true, false]),
        ("/console/accounts", [false, true, false]),
        ("/console/tokens", [false, true, false]),
        ("/console/audit", [false, true, false]),
        ("/console/audit.csv", [false, true, false]),
        ("/console/me", [true, true, true]),
        ("/console/stats", [true, true, true]),
        ("/console/stats.csv", [true, true, true]),
        ("/console/stats.xlsx", [true, true, true]),
    ];
    for (path, allowed) in routes {
        for (b, ok, who) in [
            (&mut officer, allowed[0], "officer"),
            (&mut admin_b, allowed[1], "admin"),
            (&mut viewer, allowed[2], "viewer"),
        ] {
            let p = b.get(path);
            let want = if ok {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(p.status, want, "{who} {path}");
            if !ok {
                assert!(p.body.contains("Yêu cầu bị từ chối"), "{who} {path}");
                assert!(!p.body.contains("Lò Thị Xuân"));
            }
        }
        let p = nobody.get(path);
        assert_eq!(p.status, StatusCode::SEE_OTHER, "anonymous {path}");
        assert_eq!(p.location.as_deref(), Some("/console/login"));
    }
    // Every refusal is in the staff audit, with who and which page (2 roles refused on each of 7 pages).
    let viewer_id = admin::open_site(env.data())
        .unwrap()
        .account_by_username("xem")
        .unwrap()
        .unwrap()
        .account_id;
    let trail = audit_until(&env, "refused_role", 14);
    assert!(trail.iter().any(|(who, a, target)| {
        who == &viewer_id && a == "refused_role" && target == "/console/referrals/ref-1"
    }));
    // A viewer cannot move a referral even with her own valid CSRF token.
    let me = viewer.get("/console/me");
    let p = viewer.post(
        "/console/referrals/ref-1/transition",
        &[("csrf", &me.csrf()), ("to", "accepted"), ("note", "")],
    );
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let state = admin::open_site(env.data())
        .unwrap()
        .referral("ref-1")
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(state, "received");
}

#[test]
fn a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let env = Env::start();
    let phone = env.enroll();
    send_referral(&env, &phone, "ref-1");
    let mut officer = logged_in(&env, "lan", "officer");
    let mut other = logged_in(&env, "mai", "officer");
    let others_token = other.get("/console/me").csrf();
    for form in [
        vec![("to", "accepted"), ("note", "forged")],
        vec![("csrf", ""), ("to", "accepted"), ("note", "forged")],
        vec![
            ("csrf", others_token.as_str()),
            ("to", "accepted"),
            ("note", "forged"),
        ],
    ] {
        let p = officer.post("/console/referrals/ref-1/transition", &form);
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        assert!(p.body.contains("Yêu cầu bị từ chối"));
    }
    let state = admin::open_site(env.data())
        .unwrap()
        .referral("ref-1")
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(state, "received");
    audit_until(&env, "refused_csrf", 3);
    // Logging out is a form too.
    assert_eq!(
        officer.post("/console/logout", &[("csrf", "00")]).status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(officer.get("/console/referrals").status, StatusCode::OK);
    // The login form without the pre-login token of the same browser.
    let mut b = Browser::new(&env);
    let p = b.post(
        "/console/login",
        &[("username", "lan"), ("password", PASSWORD), ("pre", "x")],
    );
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

#[test]
fn five_wrong_passwords_lock_the_account_and_the_audit_says_so() {
    let env = Env::start();
    account(&env, "lan", "officer");
    let mut b = Browser::new(&env);
    for _ in 0..4 {
        let p = b.login("lan", "wrong password!");
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
        assert!(p.body.contains("Sai tên đăng nhập hoặc mật khẩu"));
    }
    // Locked now; the answer is the wrong-password one, so a lock tells nobody the name exists.
    assert_eq!(
        b.login("lan", "wrong password!").status,
        StatusCode::UNAUTHORIZED
    );
    let p = b.login("lan", PASSWORD);
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(p.body.contains("Sai tên đăng nhập hoặc mật khẩu"));
    assert!(!b.cookies.iter().any(|(k, _)| k == "__Host-ct_session"));
    // A username that does not exist gets the same answer as a wrong password.
    let p = b.login("khong-co", "wrong password!");
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let trail = audit_actions(&env);
    assert_eq!(
        trail.iter().filter(|(_, a, _)| a == "login_failed").count(),
        5
    );
    assert!(trail.iter().any(|(_, a, _)| a == "login_locked"));
    assert!(!trail.iter().any(|(_, a, _)| a == "login"));
}

#[test]
fn pages_are_never_cached_framed_or_scripted_and_the_cookie_is_locked_down() {
    let env = Env::start();
    account(&env, "lan", "officer");
    let mut b = Browser::new(&env);
    let login = b.get("/console/login");
    let refused = b.get("/console/referrals/x");
    for p in [&login, &refused] {
        let h = &p.headers;
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("script-src"));
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["cache-control"], "no-store");
        assert!(!p.body.contains("<script"));
    }
    let pre = field_value(&login.body, "pre").unwrap();
    let resp = b
        .client
        .post(format!("{}/console/login", b.base))
        .header(COOKIE, b.cookie_header())
        .form(&[("username", "lan"), ("password", PASSWORD), ("pre", &pre)])
        .send()
        .unwrap();
    let session = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("__Host-ct_session="))
        .unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/;"] {
        assert!(session.contains(attr), "{session}");
    }
}

#[test]
fn logout_everywhere_ends_every_session_and_a_forged_cookie_is_nobody() {
    let env = Env::start();
    let mut one = logged_in(&env, "lan", "officer");
    let mut two = Browser::new(&env);
    assert_eq!(two.login("lan", PASSWORD).status, StatusCode::SEE_OTHER);
    let csrf = one.get("/console/me").csrf();
    let p = one.post("/console/logout-all", &[("csrf", &csrf)]);
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(two.get("/console/referrals").status, StatusCode::SEE_OTHER);
    assert_eq!(one.get("/console/referrals").status, StatusCode::SEE_OTHER);
    let mut forger = Browser::new(&env);
    forger
        .cookies
        .push(("__Host-ct_session".into(), "a".repeat(64)));
    assert_eq!(forger.get("/console/me").status, StatusCode::SEE_OTHER);
}

#[test]
fn an_admin_creates_an_officer_and_issues_a_code_that_enrolls_a_labelled_device() {
    let env = Env::start();
    let mut admin_b = logged_in(&env, "quantri", "admin");
    let page = admin_b.get("/console/accounts");
    let made = admin_b.post(
        "/console/accounts",
        &[
            ("csrf", &page.csrf()),
            ("username", "hoa"),
            ("display_name", "Chị Hoa"),
            ("role", "officer"),
        ],
    );
    assert_eq!(made.status, StatusCode::OK);
    let code = text_of(&made.body, "setup-code").unwrap();
    // The new officer sets her own password in her own browser.
    let mut hoa = Browser::new(&env);
    let form = hoa.get("/console/setup");
    let pre = field_value(&form.body, "pre").unwrap();
    let set = hoa.post(
        "/console/setup",
        &[
            ("username", "hoa"),
            ("code", &code),
            ("password", "mật khẩu của Hoa"),
            ("password2", "mật khẩu của Hoa"),
            ("pre", &pre),
        ],
    );
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    assert_eq!(
        hoa.login("hoa", "mật khẩu của Hoa").status,
        StatusCode::SEE_OTHER
    );

    let devices = admin_b.get("/console/devices");
    let issued = admin_b.post(
        "/console/codes",
        &[("csrf", &devices.csrf()), ("text", "CLB Mường Lát")],
    );
    assert_eq!(issued.status, StatusCode::OK);
    let code = text_of(&issued.body, "code").unwrap();
    let fingerprint = text_of(&issued.body, "fingerprint").unwrap();
    assert!(issued.body.contains("<svg"));
    let phone = common::enroll_with(&env, &code);
    assert_eq!(phone.pins.fingerprint(), fingerprint);
    pull(&env, &phone);
    let list = admin_b.get("/console/devices");
    assert!(
        list.body
            .contains(&format!("data-device=\"{}\"", phone.device_id))
    );
    assert!(list.body.contains("value=\"CLB Mường Lát\""));
    // Revoked with a reason: the phone is refused from then on.
    let p = admin_b.post(
        &format!("/console/devices/{}/revoke", phone.device_id),
        &[("csrf", &list.csrf()), ("text", "máy bị mất")],
    );
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let sub = seal_referral(
        &scenario2("after-revoke"),
        &phone.keys,
        &phone.device_id,
        &phone.pins.hpke_public_key,
    )
    .unwrap();
    assert_eq!(
        env.post("/v1/referrals", &sub).status(),
        StatusCode::FORBIDDEN
    );
    let list = admin_b.get("/console/devices");
    assert!(list.body.contains("máy bị mất"));
}

#[test]
fn a_viewer_reads_statistics_with_small_cells_suppressed_and_downloads_them() {
    let env = Env::start();
    let phone = env.enroll();
    for i in 0..3 {
        send_referral(&env, &phone, &format!("ref-{i}"));
    }
    let mut viewer = logged_in(&env, "xem", "viewer");
    let page = viewer.get("/console/stats");
    assert_eq!(page.status, StatusCode::OK);
    for id in [
        "by_month",
        "by_service",
        "by_state",
        "by_commune",
        "time_to_decision",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // Three referrals this year: every count of them is "<5", never 3.
    assert!(page.body.contains("&lt;5") || page.body.contains("&#60;5"));
    assert!(!page.body.contains(">3<"));
    assert!(!page.body.contains("Lò Thị Xuân"));
    let csv = viewer.get("/console/stats.csv");
    assert!(csv.body.starts_with('\u{feff}'));
    assert!(csv.body.contains("<5"));
    assert!(!csv.body.contains("Lò Thị Xuân"));
    let xlsx = viewer
        .client
        .get(format!("{}/console/stats.xlsx", viewer.base))
        .header(COOKIE, viewer.cookie_header())
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    assert!(xlsx.starts_with(b"PK"));
    let trail = audit_actions(&env);
    assert_eq!(
        trail.iter().filter(|(_, a, _)| a == "export_stats").count(),
        2
    );
}

#[test]
fn with_two_step_login_on_the_password_alone_is_refused() {
    let env = Env::start();
    let mut b = logged_in(&env, "lan", "officer");
    let me = b.get("/console/me");
    let started = b.post("/console/me/totp", &[("csrf", &me.csrf())]);
    assert!(started.body.contains("id=\"totp-qr\""));
    let secret = field_value(&started.body, "secret").unwrap();
    let app = totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(&secret).unwrap())
        .build()
        .unwrap();
    let now = Utc::now().timestamp().cast_unsigned();
    let on = b.post(
        "/console/me/totp/confirm",
        &[
            ("csrf", &me.csrf()),
            ("secret", &secret),
            ("code", &app.generate(now).to_string()),
        ],
    );
    assert_eq!(on.status, StatusCode::SEE_OTHER, "{}", on.body);
    let mut other = Browser::new(&env);
    assert_eq!(
        other.login("lan", PASSWORD).status,
        StatusCode::UNAUTHORIZED
    );
    let form = other.get("/console/login");
    let pre = field_value(&form.body, "pre").unwrap();
    let code = app.generate(now + 30).to_string();
    let p = other.post(
        "/console/login",
        &[
            ("username", "lan"),
            ("password", PASSWORD),
            ("totp", &code),
            ("pre", &pre),
        ],
    );
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(audit_actions(&env).iter().any(|(_, a, _)| a == "totp_on"));
}

#[test]
fn login_attempts_are_limited_per_address() {
    use std::num::NonZeroU32;
    let env = Env::start_with(chungtay_intake::Limits {
        login_per_minute_per_ip: NonZeroU32::new(3).unwrap(),
        ip_limit_on_loopback: true,
        ..chungtay_intake::Limits::default()
    });
    account(&env, "lan", "officer");
    let mut b = Browser::new(&env);
    // Different usernames: the per-account lockout does not come into it.
    for user in ["a-1", "a-2", "a-3"] {
        assert_eq!(
            b.login(user, "guess guess").status,
            StatusCode::UNAUTHORIZED
        );
    }
    let p = b.login("lan", PASSWORD);
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(p.body.contains("Quá nhiều lần thử"));
}

#[test]
fn a_read_token_made_in_the_console_lists_but_cannot_move_and_its_scope_cannot_be_edited() {
    let env = Env::start();
    let phone = env.enroll();
    send_referral(&env, &phone, "ref-1");
    let mut admin_b = logged_in(&env, "quantri", "admin");
    let page = admin_b.get("/console/tokens");
    let made = admin_b.post(
        "/console/tokens",
        &[
            ("csrf", &page.csrf()),
            ("label", "báo cáo tuần"),
            ("days", "7"),
            ("scope", "read"),
        ],
    );
    let token = text_of(&made.body, "token").unwrap();
    let list = |t: &str| {
        env.client
            .get(env.url("/v1/staff/referrals"))
            .bearer_auth(t)
            .send()
            .unwrap()
            .status()
    };
    let transition = |t: &str| {
        env.client
            .post(env.url("/v1/staff/referrals/ref-1/transition"))
            .bearer_auth(t)
            .json(&serde_json::json!({"state": "accepted", "note": ""}))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(list(&token), StatusCode::OK);
    assert_eq!(transition(&token), StatusCode::FORBIDDEN);
    // The attacker with write access to the database widens the scope, or removes it.
    for edit in [
        "UPDATE staff_tokens SET scope = 'write' WHERE label = 'báo cáo tuần'",
        "UPDATE staff_tokens SET scope = NULL WHERE label = 'báo cáo tuần'",
    ] {
        env.sql(edit, &[]);
        assert_eq!(transition(&token), StatusCode::UNAUTHORIZED, "{edit}");
        assert_eq!(list(&token), StatusCode::UNAUTHORIZED, "{edit}");
    }
    let state = admin::open_site(env.data())
        .unwrap()
        .referral("ref-1")
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(state, "received");
}

#[test]
fn every_form_refuses_the_roles_it_is_not_for_and_changes_nothing() {
    let env = Env::start();
    let phone = env.enroll();
    send_referral(&env, &phone, "ref-1");
    let mut officer = logged_in(&env, "lan", "officer");
    let mut admin_b = logged_in(&env, "quantri", "admin");
    let mut viewer = logged_in(&env, "xem", "viewer");
    let store = admin::open_site(env.data()).unwrap();
    let officer_id = store
        .account_by_username("lan")
        .unwrap()
        .unwrap()
        .account_id;
    let dev = phone.device_id.clone();
    let admin_forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/console/codes".into(), vec![("text", "x")]),
        (
            "/console/accounts".into(),
            vec![
                ("username", "moi"),
                ("display_name", "Mới"),
                ("role", "admin"),
            ],
        ),
        (format!("/console/accounts/{officer_id}/disable"), vec![]),
        (format!("/console/accounts/{officer_id}/reset"), vec![]),
        (
            "/console/tokens".into(),
            vec![("label", "x"), ("days", "1"), ("scope", "write")],
        ),
        (
            format!("/console/devices/{dev}/revoke"),
            vec![("text", "x")],
        ),
        (format!("/console/devices/{dev}/label"), vec![("text", "x")]),
    ];
    let officer_forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/console/referrals".into(), vec![("q", "xuan")]),
        (
            "/console/referrals/ref-1/transition".into(),
            vec![("to", "accepted"), ("note", "")],
        ),
    ];
    let attempt = |b: &mut Browser, forms: &[(String, Vec<(&str, &str)>)]| {
        let csrf = b.get("/console/me").csrf();
        for (path, fields) in forms {
            let mut form = fields.clone();
            form.push(("csrf", &csrf));
            let p = b.post(path, &form);
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
            assert!(!p.body.contains("Lò Thị Xuân"));
        }
    };
    attempt(&mut officer, &admin_forms);
    attempt(&mut viewer, &admin_forms);
    attempt(&mut admin_b, &officer_forms);
    attempt(&mut viewer, &officer_forms);
    // Nothing changed: no new account or token, the officer is still enabled, the device
    // still active and unlabelled, the referral still received.
    assert_eq!(store.accounts().unwrap().len(), 3);
    assert!(store.staff_tokens().unwrap().is_empty());
    let lan = store.account_by_username("lan").unwrap().unwrap();
    assert!(lan.disabled_at.is_none() && lan.password_hash.is_some());
    let d = store.device(&dev).unwrap().unwrap();
    assert!(d.revoked_at.is_none() && d.label.is_empty());
    assert_eq!(store.referral("ref-1").unwrap().unwrap().state, "received");
}

#[test]
fn the_console_speaks_vietnamese_first_and_english_on_request() {
    let env = Env::start();
    let mut b = Browser::new(&env);
    let vi = b.get("/console/login");
    assert!(vi.body.contains("<html lang=\"vi\">"));
    assert!(vi.body.contains("Đăng nhập"));
    let switched = b.get("/console/lang/en");
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    let en = b.get("/console/login");
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en.body.contains("Log in"));
    assert!(!en.body.contains("Đăng nhập"));
    // Every input has a label (screen readers, and a click on the word focuses the field).
    for page in [&vi, &en] {
        let inputs = page.body.matches("<input id=\"").count();
        let labels = page.body.matches("<label for=\"").count();
        assert_eq!(inputs, labels, "{}", page.body);
    }
}
