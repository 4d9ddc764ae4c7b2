//! The province's console in a real browser: Debian's Chromium, headless, over WebDriver
//! (tests/src/browser.rs). Needs `chromium` and `chromium-driver` (`.ci/run` installs them);
//! `CHUNGTAY_SKIP_BROWSER=1` skips, loudly. `CHUNGTAY_SCREENS=1` also rewrites
//! docs/console/*.png.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use chungtay_e2e::Province;
use chungtay_e2e::browser::{Browser, alive, missing_message, processes_naming};
use chungtay_intake::Limits;

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

/// Width and height from a PNG's IHDR.
fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}
