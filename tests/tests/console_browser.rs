//! The province's console in a real browser: Debian's Chromium, headless, over WebDriver
//! (tests/src/browser.rs). Needs `chromium` and `chromium-driver` (`.ci/run` installs them);
//! `CHUNGTAY_SKIP_BROWSER=1` skips, loudly. `CHUNGTAY_SCREENS=1` also rewrites
//! docs/console/*.png.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chungtay_core::*;
use chungtay_e2e::browser::{
    Browser, HEIGHT, WIDTH, alive, missing_message, processes_naming, screens_dir, screens_wanted,
};
use chungtay_e2e::{PASSPHRASE, Province, enrolled_phone, legal_aid};
use chungtay_intake::console::SESSION_COOKIE;
use chungtay_intake::{Limits, admin};
use fantoccini::key::Key;

/// The harness itself: Chromium loads a page of the province's server on loopback.
#[test]
fn chromium_loads_the_servers_health_page() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let province = Province::start(Limits::default());
    browser.goto(&format!("{}/healthz", province.url()));
    assert_eq!(browser.body_text().trim(), "ok");
    assert_eq!(browser.current_url(), format!("{}/healthz", province.url()));
    // The window is the office screen the console is drawn for.
    let png = browser.screenshot_png();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) = png_size(&png);
    assert_eq!((w, h), (1366, 768), "screenshot size");
}

/// Without Chromium the tests fail and say what to install; they do not pass quietly.
#[test]
fn a_missing_browser_is_a_failure_that_says_what_to_install() {
    let message = missing_message(&["/nonexistent/chromedriver"]).unwrap();
    assert!(message.contains("/nonexistent/chromedriver"), "{message}");
    assert!(message.contains(".ci/run"), "{message}");
    assert!(message.contains("chromium chromium-driver"), "{message}");
    assert!(message.contains("CHUNGTAY_SKIP_BROWSER=1"), "{message}");
    let failed = std::panic::catch_unwind(|| {
        if let Some(message) = missing_message(&["/nonexistent/chromium"]) {
            panic!("{message}");
        }
    });
    assert!(failed.is_err());
}

/// Dropping the browser, also while a test panics, leaves neither chromedriver nor Chromium
/// running.
#[test]
fn no_browser_process_outlives_its_test() {
    if Browser::start().is_none() {
        return;
    }
    let (pid, profile) = std::thread::spawn(|| {
        let browser = Browser::start().unwrap();
        browser.goto("about:blank");
        let seen = (browser.driver_pid(), browser.scratch_dir().to_path_buf());
        assert!(alive(seen.0));
        assert!(
            !processes_naming(&seen.1).is_empty(),
            "Chromium runs with its profile"
        );
        std::panic::panic_any(seen);
    })
    .join()
    .expect_err("the thread panicked")
    .downcast::<(u32, std::path::PathBuf)>()
    .map(|b| *b)
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while (alive(pid) || !processes_naming(&profile).is_empty()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(pid), "chromedriver {pid} outlived the panic");
    assert_eq!(
        processes_naming(&profile),
        Vec::<u32>::new(),
        "Chromium outlived the panic"
    );
}

const ADMIN: (&str, &str) = ("quantri", "mật khẩu quản trị 2026");
const OFFICER: (&str, &str) = ("canbo.lan", "Lan xử lý hồ sơ 2026");
const VIEWER: (&str, &str) = ("xem.so.lieu", "chỉ xem số liệu 2026");
const REFUSED: &str = "Yêu cầu bị từ chối";
const ANSWER: &str = "Đã nhận hồ sơ, luật sư của Hội sẽ gọi trong tuần này";

/// The issue's journey in Chromium: an admin readies the staff and a code, a phone enrolls with
/// it and sends referrals, an officer finds one by filter and accepts it with a note, the phone
/// pulls the signed answer; a forged form and a viewer are refused the referral. On the way,
/// what only a browser shows: the QR code reads back, the officer logs in by keyboard, the
/// pages run no script and fit the screen, the browser enforces the CSP and the framing ban,
/// keeps the session cookie from the page, and Back after logout shows nothing cached.
#[test]
fn staff_work_a_referral_in_the_browser_and_the_phone_pulls_the_answer() {
    let Some(b) = Browser::start() else {
        return;
    };
    let province = Province::start(Limits::default());
    let console = format!("{}/console", province.url());
    let shots = screens_wanted().then(screens_dir);
    // Each main page: no script at all, no sideways scrolling on the office screen nor on a
    // tablet held landscape; and its screenshot when asked for.
    let shot = |name: &str| {
        let scripts = b.execute("return document.scripts.length;", vec![]);
        assert_eq!(
            scripts,
            serde_json::json!(0),
            "{name}: a script on the page"
        );
        for (w, h) in [(1024, 768), (WIDTH, HEIGHT)] {
            b.set_viewport(w, h);
            let widths = b.execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            );
            assert_eq!(widths[1], serde_json::json!(w));
            assert!(
                widths[0].as_u64() <= widths[1].as_u64(),
                "{name}: wider than a {w} px screen {widths}"
            );
        }
        if let Some(dir) = &shots {
            b.screenshot(&dir.join(format!("{name}.png")));
        }
    };

    // The first admin comes from the CLI's library call; she sets her password in the browser.
    let first = admin::add_account(
        province.data(),
        PASSPHRASE,
        ADMIN.0,
        "Chị Hà (quản trị)",
        "admin",
    )
    .unwrap();
    set_password(&b, &console, ADMIN.0, &first.setup_code, ADMIN.1);
    b.goto(&format!("{console}/login"));
    shot("login");
    log_in(&b, &console, ADMIN);
    assert!(
        b.current_url().ends_with("/console/devices"),
        "{}",
        b.current_url()
    );

    // She creates an officer and a viewer, each with a one-time setup code shown once.
    let officer_code = create_account(&b, &console, OFFICER.0, "Chị Lan (cán bộ)", "officer");
    let viewer_code = create_account(&b, &console, VIEWER.0, "Anh Minh (xem)", "viewer");
    assert_ne!(officer_code, viewer_code);

    // And an enrollment code for the club, as text, fingerprint and QR, to print.
    b.goto(&format!("{console}/devices"));
    b.fill("form#issue-code", "text", "CLB Quang Chiểu");
    b.click_and_load("#issue-submit");
    let code = b.text("#code");
    let fingerprint = b.text("#fingerprint");
    assert_eq!(b.text("#code-for"), "CLB Quang Chiểu");
    assert!(b.exists("#qr svg"), "the QR code is an inline svg");
    // The QR code as Chromium draws it reads back as the code and the fingerprint.
    assert_eq!(
        read_qr(&b.element_png("#qr")),
        format!("CHUNGTAY-ENROLL:1:{code}:{fingerprint}")
    );
    shot("code");

    // The phone enrolls with that code and shows the same fingerprint.
    let phone_dir = tempfile::tempdir().unwrap();
    let device = Arc::new(SoftwareDeviceSecret::generate().unwrap());
    let (mut phone, member, consent) = enrolled_phone(
        &phone_dir.path().join("club.db"),
        device,
        &province.url(),
        &code,
    );
    let enrolled = phone.enrollment_info().unwrap().unwrap();
    assert_eq!(enrolled.province_fingerprint, fingerprint);
    // Two referrals: legal aid sharing her name only, and health care sharing more.
    let legal = phone
        .create_referral(&legal_aid(&member.id, &consent.id))
        .unwrap();
    let health_consent = phone
        .add_consent(&ConsentInput {
            member_id: member.id.clone(),
            purposes: vec![SupportService::HealthCare],
            recipient: Recipient::ProvincialUnion,
            fields: vec![SharedField::Name, SharedField::Commune, SharedField::Need],
            method: ConsentMethod::SignedPaper,
            witness: None,
            given_on: chrono::Utc::now().date_naive(),
        })
        .unwrap();
    let health = phone
        .create_referral(&ReferralInput {
            member_id: member.id.clone(),
            services: vec![SupportService::HealthCare],
            urgency: Urgency::Routine,
            note: "Cần khám sức khỏe".into(),
            recipient: Recipient::ProvincialUnion,
            shared_fields: vec![SharedField::Name, SharedField::Commune, SharedField::Need],
            consent_id: Some(health_consent.id.clone()),
        })
        .unwrap();
    for r in [&legal, &health] {
        phone.mark_referral_ready(&r.id).unwrap();
        phone.queue_referral(&r.id).unwrap();
    }
    let sent = phone.sync(true, &mut |_| {}).unwrap();
    assert_eq!(sent.sent, 2, "{sent:?}");
    assert_eq!(province.referral_count(), 2);

    // The admin sees the phone among the devices, with its label.
    b.goto(&format!("{console}/devices"));
    let device_id = enrolled.device_id.clone();
    let row = format!("tr[data-device=\"{device_id}\"]");
    assert!(b.exists(&row), "the enrolled phone is listed");
    assert_eq!(
        b.attr(&format!("{row} input[name=\"text\"]"), "value")
            .as_deref(),
        Some("CLB Quang Chiểu")
    );
    shot("devices");
    b.click_and_load("#logout");

    // The officer sets her password and logs in: the inbox, newest first, both referrals.
    // With the keyboard only: Tab to the first field, type, Tab, type, Enter.
    set_password(&b, &console, OFFICER.0, &officer_code, OFFICER.1);
    b.goto(&format!("{console}/login"));
    let mut tabs = 0;
    while b.focused_id() != "username" {
        tabs += 1;
        assert!(tabs <= 6, "the login field is not reached by Tab");
        b.press(&Key::Tab.to_string());
    }
    b.press(OFFICER.0);
    b.press(&Key::Tab.to_string());
    assert_eq!(b.focused_id(), "password");
    b.press(OFFICER.1);
    let login_page = b.page();
    b.press(&Key::Enter.to_string());
    b.wait_for_new_page(login_page, "Enter on the login form");
    assert!(
        b.exists("#logout"),
        "logged in by keyboard: {}",
        b.body_text()
    );
    assert!(
        b.current_url().ends_with("/console/referrals"),
        "{}",
        b.current_url()
    );
    assert_eq!(inbox_rows(&b), vec![health.id.clone(), legal.id.clone()]);

    // She filters: legal aid, received. Only that referral is left.
    b.fill("form#filters", "service", "legal_aid");
    b.fill("form#filters", "state", "received");
    b.click_and_load("#filter-submit");
    assert_eq!(inbox_rows(&b), vec![legal.id.clone()]);
    // A search for a name that is not there finds nothing; hers, typed without diacritics,
    // finds both.
    b.fill("form#filters", "service", "");
    b.fill("form#filters", "q", "Nguyễn Văn");
    b.click_and_load("#filter-submit");
    assert!(inbox_rows(&b).is_empty());
    assert!(b.exists("#empty"));
    b.fill("form#filters", "q", "giang thi dua");
    b.click_and_load("#filter-submit");
    assert_eq!(inbox_rows(&b).len(), 2);
    b.fill("form#filters", "q", "");
    b.click_and_load("#filter-submit");
    shot("inbox");

    // Her referral: the consented field, and nothing she did not consent to share.
    b.goto(&format!("{console}/referrals"));
    b.fill("form#filters", "service", "legal_aid");
    b.click_and_load("#filter-submit");
    b.click_and_load(&format!("tr[data-referral=\"{}\"] a.open", legal.id));
    assert!(
        b.current_url()
            .ends_with(&format!("/console/referrals/{}", legal.id)),
        "{}",
        b.current_url()
    );
    assert_eq!(shared_fields(&b), vec!["name".to_string()]);
    assert_eq!(b.text("dd[data-field=\"name\"]"), "Giàng Thị Dua");
    let page = b.body_text();
    for unshared in ["2004", "Bản Pù Quăn", "Mông"] {
        assert!(!page.contains(unshared), "{unshared} was not consented to");
    }
    let history_before = b.find_all("ol#history li").len();
    assert!(history_before >= 1);
    assert!(b.exists("form#act-accepted") && b.exists("form#act-declined"));
    assert!(
        !b.exists("form#act-completed"),
        "received cannot jump to completed"
    );

    // The health referral shows its three fields.
    b.goto(&format!("{console}/referrals/{}", health.id));
    let mut fields = shared_fields(&b);
    fields.sort();
    assert_eq!(fields, vec!["commune", "name", "need"]);
    assert_eq!(b.text("dd[data-field=\"commune\"]"), "Quang Chiểu");
    shot("referral");

    // She accepts the legal aid referral with a note.
    b.goto(&format!("{console}/referrals/{}", legal.id));
    b.fill("form#act-accepted", "note", ANSWER);
    b.click_and_load("form#act-accepted button[type=submit]");
    // Back on her page (303 after the POST), with a word that it is done.
    let url = b.current_url();
    assert!(
        url.contains(&format!("/console/referrals/{}?", legal.id)),
        "{url}"
    );
    assert!(b.exists("#flash"));
    let history: Vec<String> = b
        .find_all("ol#history li")
        .iter()
        .map(|li| b.element_text(li))
        .collect();
    assert_eq!(history.len(), history_before + 1, "{history:?}");
    assert!(history.last().unwrap().contains(ANSWER), "{history:?}");
    assert!(!b.exists("form#act-accepted"));
    assert!(b.exists("form#act-in_progress"));

    // The phone syncs and pulls the province's signed answer.
    let pulled = phone.sync(false, &mut |_| {}).unwrap();
    assert_eq!(pulled.statuses_applied, 1, "{pulled:?}");
    let answered = phone.referral(&legal.id).unwrap();
    assert_eq!(answered.state, ReferralState::Accepted);
    assert_eq!(answered.history.last().unwrap().note, ANSWER);
    assert_eq!(
        phone.referral(&health.id).unwrap().state,
        ReferralState::Received
    );

    // Forged forms, built in her page by a script (a page the attacker controls would not even
    // carry her SameSite=Strict cookie): one without the CSRF token, one with a made-up token.
    // Both refused; the referral did not move.
    let history_after = b.find_all("ol#history li").len();
    let forge = |csrf: Option<&str>| {
        let before = b.page();
        b.execute(
            r#"const f = document.createElement("form");
               f.method = "post";
               f.action = "/console/referrals/" + arguments[0] + "/transition";
               const fields = [["to", "in_progress"], ["note", "forged"]];
               if (arguments[1] !== null) fields.push(["csrf", arguments[1]]);
               for (const [k, v] of fields) {
                 const i = document.createElement("input");
                 i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
               }
               document.body.appendChild(f);
               f.submit();"#,
            vec![serde_json::json!(legal.id), serde_json::json!(csrf)],
        );
        b.wait_for_new_page(before, "the forged form");
        b.body_text()
    };
    for csrf in [None, Some("0123456789abcdef")] {
        let page = forge(csrf);
        assert!(page.contains(REFUSED), "{csrf:?}: {page}");
        assert!(!page.contains(&legal.id), "{csrf:?}: not her page");
        assert!(b.exists("#message"));
    }
    // The same outside the browser, with her session cookie, to read the status codes.
    let session = b
        .cookie(SESSION_COOKIE)
        .expect("the officer's session cookie");
    chungtay_intake::install_crypto_provider();
    for body in [
        "to=in_progress&note=forged",
        "to=in_progress&note=forged&csrf=",
        "to=in_progress&note=forged&csrf=0123456789abcdef",
    ] {
        let answer = reqwest::blocking::Client::new()
            .post(format!("{console}/referrals/{}/transition", legal.id))
            .header("cookie", format!("{SESSION_COOKIE}={session}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::FORBIDDEN, "{body}");
        assert!(answer.text().unwrap().contains(REFUSED), "{body}");
    }
    b.goto(&format!("{console}/referrals/{}", legal.id));
    assert_eq!(b.find_all("ol#history li").len(), history_after);
    assert!(!b.body_text().contains("forged"));
    assert!(b.exists("form#act-in_progress"), "still accepted");
    assert_eq!(phone.sync(false, &mut |_| {}).unwrap().statuses_applied, 0);
    assert_eq!(
        phone.referral(&legal.id).unwrap().state,
        ReferralState::Accepted
    );
    // Her session cookie is out of the page's reach and stays on this site.
    assert_eq!(
        b.cookie_flags(SESSION_COOKIE),
        (true, true, "Strict".to_string())
    );
    let page_cookies = b.execute("return document.cookie;", vec![]);
    assert!(
        !page_cookies.to_string().contains(SESSION_COOKIE),
        "{page_cookies}"
    );
    // Markup slipped into her page could not run: the browser holds the console's CSP.
    let ran = b.execute(
        r#"const s = document.createElement("script");
           s.textContent = "document.body.dataset.injected = 'ran';";
           document.body.appendChild(s);
           return document.body.dataset.injected === "ran";"#,
        vec![],
    );
    assert_eq!(ran, serde_json::json!(false), "an inline script ran");
    // Another page (another origin on this machine: a site on her network could do the same)
    // cannot frame her referral's page to make her click through it, though her cookie would
    // go along (same site: ports do not count).
    let framer = serve_once(&format!(
        "<!DOCTYPE html><iframe src='{console}/referrals/{}' width=900 height=600></iframe>",
        legal.id
    ));
    b.goto(&framer);
    b.enter_frame(0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let framed_url = loop {
        let now = b.execute("return [document.URL, document.readyState];", vec![]);
        if now[0] != "about:blank" && now[1] == "complete" {
            break now[0].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "the frame never loaded: {now}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let framed = b.source();
    assert!(
        framed_url.starts_with("chrome-error://"),
        "the console loaded in a frame: {framed_url}"
    );
    assert!(!framed.contains("Giàng Thị Dua") && !framed.contains("id=\"fields\""));
    b.leave_frame();
    b.goto(&format!("{console}/referrals/{}", legal.id));
    // After logging out, Back does not bring the referral's page back from a cache.
    assert!(b.body_text().contains("Giàng Thị Dua"));
    b.click_and_load("#logout");
    b.back();
    assert!(
        !b.body_text().contains("Giàng Thị Dua"),
        "{}",
        b.body_text()
    );
    assert!(!b.exists("dl#fields"));

    // The viewer: statistics yes, referral pages no.
    set_password(&b, &console, VIEWER.0, &viewer_code, VIEWER.1);
    log_in(&b, &console, VIEWER);
    assert!(
        b.current_url().ends_with("/console/stats"),
        "{}",
        b.current_url()
    );
    assert!(b.exists("table.stats"));
    shot("stats");
    for page in [
        format!("{console}/referrals"),
        format!("{console}/referrals/{}", legal.id),
    ] {
        b.goto(&page);
        assert!(b.body_text().contains(REFUSED), "{page}");
        assert!(!b.body_text().contains("Giàng Thị Dua"), "{page}");
        assert!(!b.exists("table#inbox") && !b.exists("dl#fields"));
    }
    b.goto(&format!("{console}/stats"));
    assert!(!b.exists("#nav-referrals"), "no menu entry for the viewer");
    // Vietnamese first, English on request, and back.
    assert_eq!(b.text("#nav-stats"), "Thống kê");
    b.click_and_load("#lang-en");
    assert_eq!(b.text("#nav-stats"), "Statistics");
    b.click_and_load("#lang-vi");
    assert_eq!(b.text("#nav-stats"), "Thống kê");
    b.click_and_load("#logout");

    // The admin's staff audit holds the logins, the officer's view of the referral and her
    // decision.
    log_in(&b, &console, ADMIN);
    b.goto(&format!("{console}/audit"));
    let audit = b.table("table#audit tbody tr");
    let has = |who: &str, action: &str, target: &str| {
        audit
            .iter()
            // The action cell is the word in the reader's language, then the code.
            .any(|r| {
                r[1].starts_with(&format!("{who} ("))
                    && r[2].ends_with(&format!(" {action}"))
                    && r[3] == target
            })
    };
    assert!(has(ADMIN.0, "issue_code", ""), "{audit:#?}");
    assert!(has(OFFICER.0, "login", ""), "{audit:#?}");
    assert!(has(OFFICER.0, "view_referral", &legal.id), "{audit:#?}");
    assert!(has(OFFICER.0, "transition", &legal.id), "{audit:#?}");
    assert!(has(VIEWER.0, "login", ""), "{audit:#?}");
    // Neither her answer nor what the officer searched for is written there.
    let all = b.text("table#audit");
    for personal in [ANSWER, "giang thi dua", "Nguyễn Văn", "Giàng Thị Dua"] {
        assert!(!all.contains(personal), "{personal} in the audit");
    }
    shot("audit");
}

/// The setup page: username, the one-time code, the new password twice.
fn set_password(b: &Browser, console: &str, username: &str, code: &str, password: &str) {
    b.goto(&format!("{console}/setup"));
    b.fill("form#setup", "username", username);
    b.fill("form#setup", "code", code);
    b.fill("form#setup", "password", password);
    b.fill("form#setup", "password2", password);
    b.click_and_load("#setup-submit");
    assert!(!b.exists("#error"), "setup: {}", b.body_text());
}

fn log_in(b: &Browser, console: &str, (username, password): (&str, &str)) {
    b.goto(&format!("{console}/login"));
    b.fill("form#login", "username", username);
    b.fill("form#login", "password", password);
    b.click_and_load("#login-submit");
    assert!(
        b.exists("#logout"),
        "{username} is logged in: {}",
        b.body_text()
    );
}

/// Creates an account on /console/accounts; returns its setup code.
fn create_account(b: &Browser, console: &str, username: &str, name: &str, role: &str) -> String {
    b.goto(&format!("{console}/accounts"));
    b.fill("form#create-account", "username", username);
    b.fill("form#create-account", "display_name", name);
    b.fill("form#create-account", "role", role);
    b.click_and_load("#create-submit");
    assert_eq!(b.text("#created-user"), username);
    b.text("#setup-code")
}

/// The inbox's referral ids, top to bottom.
fn inbox_rows(b: &Browser) -> Vec<String> {
    b.find_all("table#inbox tr[data-referral]")
        .iter()
        .map(|tr| b.element_attr(tr, "data-referral").unwrap())
        .collect()
}

/// The names of the shared fields on a referral's page.
fn shared_fields(b: &Browser) -> Vec<String> {
    b.find_all("dl#fields dd[data-field]")
        .iter()
        .map(|dd| b.element_attr(dd, "data-field").unwrap())
        .collect()
}

/// Serves `html` once, to the first request, on a port of its own; returns its address.
fn serve_once(html: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let html = html.to_string();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
            html.len()
        );
    });
    url
}

/// The text of the one QR code in a PNG picture.
fn read_qr(png_bytes: &[u8]) -> String {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let channels = frame.color_type.samples();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let at = y * frame.line_size + x * channels;
        let rgb = &pixels[at..at + channels.min(3)];
        (rgb.iter().map(|&v| u32::from(v)).sum::<u32>() / rgb.len() as u32) as u8
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().unwrap().1
}

/// Width and height from a PNG's IHDR.
fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}
