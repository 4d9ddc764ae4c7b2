//! A real browser for the console's tests: Debian's Chromium, headless, driven over WebDriver by
//! its `chromedriver` on a loopback port.
//!
//! The crate is `fantoccini` (maintained, small, async over hyper 1 and tokio that the server
//! already uses, and it builds without any TLS stack: chromedriver speaks plain http on
//! loopback). `thirtyfour` would pull in a second reqwest and a driver downloader this machine
//! cannot use. The tests are synchronous; [`Browser`] owns a current-thread runtime and blocks
//! on each command.
//!
//! A missing Chromium or chromedriver fails the test with what to install; the only way to skip
//! is `CHUNGTAY_SKIP_BROWSER=1`, said on stderr past the test harness's capture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The office screen the issue names.
pub const WIDTH: u32 = 1366;
pub const HEIGHT: u32 = 768;

/// Whether the test asked to skip the browser (`CHUNGTAY_SKIP_BROWSER=1`).
fn skip_requested() -> bool {
    std::env::var("CHUNGTAY_SKIP_BROWSER").is_ok_and(|v| v == "1")
}

/// Goes to stderr directly: libtest captures `eprintln!` of passing tests, not this.
fn loud(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\n{0}\n{message}\n{0}", "!".repeat(78));
}

/// Whether screenshots for docs/console/ were asked for (`CHUNGTAY_SCREENS=1`).
pub fn screens_wanted() -> bool {
    std::env::var("CHUNGTAY_SCREENS").is_ok_and(|v| v == "1")
}

/// Where the console's screenshots go: `docs/console/` of this repository.
pub fn screens_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("docs")
        .join("console")
}

/// A headless Chromium on its own chromedriver, both gone when this is dropped (also when the
/// test panics: the drop runs while unwinding).
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Driver,
    marks: std::cell::Cell<u64>,
    // Dropped last: the profile and the driver's log.
    dir: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a browser; panics, saying what to install, when either is
    /// missing. Returns `None` only when `CHUNGTAY_SKIP_BROWSER=1`.
    pub fn start() -> Option<Browser> {
        if skip_requested() {
            loud(
                "BROWSER TEST SKIPPED: CHUNGTAY_SKIP_BROWSER=1 is set. The console was NOT \
                 tested in a browser.",
            );
            return None;
        }
        if let Some(message) = missing_message(&[CHROMIUM, CHROMEDRIVER]) {
            panic!("{message}");
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let driver_log = dir.path().join("chromedriver.log");
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).unwrap();

        // A free port can be taken by someone else between our probe and chromedriver's bind:
        // then chromedriver exits and we try another.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            // Chromium's home, settings and crash reports stay in the scratch directory too
            // (each of its processes then names that directory: see Drop).
            let mut driver = Driver(
                Command::new(CHROMEDRIVER)
                    .arg(format!("--port={port}"))
                    .arg(format!("--log-path={}", driver_log.display()))
                    .env("HOME", dir.path())
                    .env("XDG_CONFIG_HOME", dir.path().join("config"))
                    .env("XDG_CACHE_HOME", dir.path().join("cache"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}")),
            );
            if let Err(e) = wait_ready(&mut driver.0, port) {
                last_error = e;
                continue;
            }
            let url = format!("http://127.0.0.1:{port}");
            let client = rt.block_on(connect(&url, &profile)).unwrap_or_else(|e| {
                panic!(
                    "chromedriver answered but could not open Chromium: {e}\n{}",
                    log_tail(&driver_log)
                )
            });
            let browser = Browser {
                rt,
                client: Some(client),
                driver,
                marks: std::cell::Cell::new(0),
                dir,
            };
            browser.fit_viewport();
            return Some(browser);
        }
        panic!(
            "chromedriver did not come up: {last_error}\n{}",
            log_tail(&driver_log)
        );
    }

    /// Headless Chromium still draws a window frame: `--window-size` leaves a page area
    /// smaller than the screen. Grow the window by the frame so the page is WIDTH x HEIGHT.
    fn fit_viewport(&self) {
        self.set_viewport(WIDTH, HEIGHT);
    }

    /// Makes the page area `width` x `height` CSS pixels (a tablet, say).
    pub fn set_viewport(&self, width: u32, height: u32) {
        let inner = self.execute("return [window.innerWidth, window.innerHeight];", vec![]);
        let (iw, ih) = (
            inner[0].as_u64().expect("innerWidth"),
            inner[1].as_u64().expect("innerHeight"),
        );
        let (ow, oh) = self.run("window size", self.client().get_window_size());
        let w = u32::try_from(ow + u64::from(width) - iw).expect("width");
        let h = u32::try_from(oh + u64::from(height) - ih).expect("height");
        self.run("set window size", self.client().set_window_size(w, h));
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the browser is open")
    }

    fn run<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    ) -> T {
        self.rt
            .block_on(f)
            .unwrap_or_else(|e| panic!("browser: {what}: {e}"))
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.run("goto", self.client().goto(url));
    }

    pub fn current_url(&self) -> String {
        self.run("current url", self.client().current_url())
            .to_string()
    }

    /// The element that `css` selects; panics when there is none.
    pub fn find(&self, css: &str) -> Element {
        self.run(
            &format!("find {css}"),
            self.client().find(Locator::Css(css)),
        )
    }

    /// Every element that `css` selects.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.run(
            &format!("find all {css}"),
            self.client().find_all(Locator::Css(css)),
        )
    }

    /// Whether `css` selects anything on the page.
    pub fn exists(&self, css: &str) -> bool {
        !self.find_all(css).is_empty()
    }

    /// Types `value` into the field named `name` inside the form `form` (a css selector), after
    /// clearing it. A `select` gets the option of that value chosen instead; a checkbox is
    /// ticked for "on" and cleared for "".
    pub fn fill(&self, form: &str, name: &str, value: &str) {
        let css = format!("{form} [name=\"{name}\"]");
        let field = self.find(&css);
        let tag = self.run("tag name", field.tag_name());
        let kind = self.run("type", field.attr("type")).unwrap_or_default();
        if tag.eq_ignore_ascii_case("select") {
            self.run(&format!("select {css}"), field.select_by_value(value));
        } else if kind.eq_ignore_ascii_case("checkbox") {
            let want = !value.is_empty();
            if self.run("checked", field.is_selected()) != want {
                self.run(&format!("click {css}"), field.click());
            }
        } else {
            self.run(&format!("clear {css}"), field.clear());
            self.run(&format!("type into {css}"), field.send_keys(value));
        }
    }

    /// Clicks the element that `css` selects, staying on the page (a checkbox, say).
    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.run(&format!("click {css}"), element.click());
    }

    /// Clicks a submit button or a link that `css` selects and waits until the next page has
    /// loaded: chromedriver's click returns before a form's navigation is done.
    pub fn click_and_load(&self, css: &str) {
        let old = self.page();
        self.click(css);
        self.wait_for_new_page(old, css);
    }

    /// Marks the page shown now, for [`Browser::wait_for_new_page`]: each mark is new, so a
    /// page brought back by Back counts as another page too.
    pub fn page(&self) -> PageMark {
        let mark = self.marks.get() + 1;
        self.marks.set(mark);
        self.execute(
            "document.documentElement.dataset.ctMark = arguments[0];",
            vec![serde_json::json!(mark.to_string())],
        );
        PageMark(mark.to_string())
    }

    /// Waits until a document other than the marked one is shown and loaded. (Polling the
    /// browser through the navigation: it may answer errors meanwhile.)
    pub fn wait_for_new_page(&self, old: PageMark, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let now = self.rt.block_on(self.client().execute(
                "return [document.documentElement.dataset.ctMark || '', document.readyState];",
                vec![],
            ));
            if let Ok(now) = now
                && now[0] != old.0.as_str()
                && now[1] == "complete"
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no new page loaded 30 s after {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The visible text of the element that `css` selects.
    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.run(&format!("text of {css}"), element.text())
    }

    /// Types `keys` into whatever has the focus (`fantoccini::key::Key` for Tab, Enter...).
    pub fn press(&self, keys: &str) {
        let active = self.run("focused element", self.client().active_element());
        self.run("type", active.send_keys(keys));
    }

    /// The id of the element that has the focus ("" when it has none).
    pub fn focused_id(&self) -> String {
        let active = self.run("focused element", self.client().active_element());
        self.run("id", active.attr("id")).unwrap_or_default()
    }

    /// The visible text of an element found before.
    pub fn element_text(&self, element: &Element) -> String {
        self.run("text", element.text())
    }

    /// An attribute of an element found before.
    pub fn element_attr(&self, element: &Element, attribute: &str) -> Option<String> {
        self.run(attribute, element.attr(attribute))
    }

    /// The text of each cell of the table rows that `rows` selects, row by row.
    pub fn table(&self, rows: &str) -> Vec<Vec<String>> {
        let found = self.execute(
            "return Array.from(document.querySelectorAll(arguments[0]))\
               .map(tr => Array.from(tr.cells).map(td => td.innerText.trim()));",
            vec![serde_json::json!(rows)],
        );
        serde_json::from_value(found).expect("rows of cells")
    }

    /// The visible text of the whole page.
    pub fn body_text(&self) -> String {
        self.text("body")
    }

    /// An attribute of the element that `css` selects.
    pub fn attr(&self, css: &str, attribute: &str) -> Option<String> {
        let element = self.find(css);
        self.run(&format!("{attribute} of {css}"), element.attr(attribute))
    }

    /// The page's HTML as the browser has it.
    pub fn source(&self) -> String {
        self.run("source", self.client().source())
    }

    /// Runs `script` in the page (WebDriver's own script, outside the page's CSP).
    pub fn execute(&self, script: &str, args: Vec<serde_json::Value>) -> serde_json::Value {
        self.run("execute script", self.client().execute(script, args))
    }

    /// A cookie's value as the browser keeps it (HttpOnly ones too).
    pub fn cookie(&self, name: &str) -> Option<String> {
        match self.rt.block_on(self.client().get_named_cookie(name)) {
            Ok(c) => Some(c.value().to_string()),
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::NoSuchCookie =>
            {
                None
            }
            Err(e) => panic!("browser: cookie: {e}"),
        }
    }

    /// Whether the browser keeps the cookie `name` as (Secure, HttpOnly, SameSite).
    pub fn cookie_flags(&self, name: &str) -> (bool, bool, String) {
        let c = self.run("cookie", self.client().get_named_cookie(name));
        (
            c.secure().unwrap_or(false),
            c.http_only().unwrap_or(false),
            c.same_site().map(|s| s.to_string()).unwrap_or_default(),
        )
    }

    /// Looks inside the page's frame number `index` until [`Browser::leave_frame`].
    pub fn enter_frame(&self, index: u16) {
        self.run("enter frame", self.client().enter_frame(index));
    }

    /// Back to the page from inside a frame.
    pub fn leave_frame(&self) {
        self.run("leave frame", self.client().enter_parent_frame());
    }

    /// The browser's Back button.
    pub fn back(&self) {
        let old = self.page();
        self.run("back", self.client().back());
        self.wait_for_new_page(old, "Back");
    }

    /// Forgets every cookie (a new visitor).
    pub fn clear_cookies(&self) {
        self.run("delete cookies", self.client().delete_all_cookies());
    }

    /// The visible part of the page as PNG bytes.
    pub fn screenshot_png(&self) -> Vec<u8> {
        self.run("screenshot", self.client().screenshot())
    }

    /// The element that `css` selects, drawn alone, as PNG bytes.
    pub fn element_png(&self, css: &str) -> Vec<u8> {
        let element = self.find(css);
        self.run(&format!("screenshot of {css}"), element.screenshot())
    }

    /// Saves the visible part of the page as a PNG file.
    pub fn screenshot(&self, path: &Path) {
        let png = self.screenshot_png();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// The process id of chromedriver (to check that it is gone after a drop).
    pub fn driver_pid(&self) -> u32 {
        self.driver.0.id()
    }

    /// The scratch directory of this browser alone (profile, home, driver's log): every
    /// process of it names this path on its command line.
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask chromedriver to close Chromium first (it takes its children with it), but do not
        // hang a failing test on a stuck browser.
        if let Some(client) = self.client.take() {
            let _ = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
        self.driver.stop();
        // Should Chromium have outlived its driver (a browser that did not answer the close),
        // its processes are found by the scratch path that only this browser uses.
        for pid in processes_naming(self.dir.path()) {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A page as it was marked by [`Browser::page`].
pub struct PageMark(String);

/// chromedriver, killed when dropped: also when `Browser::start` fails half-way.
struct Driver(Child);

impl Driver {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a process is running (a zombie is not).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// The running processes whose command line names a file under the directory `path`.
pub fn processes_naming(path: &Path) -> Vec<u32> {
    let needle = format!("{}/", path.to_string_lossy());
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(&needle) && alive(pid) {
            found.push(pid);
        }
    }
    found
}

/// What to tell when one of `programs` is not installed; `None` when all are.
pub fn missing_message(programs: &[&str]) -> Option<String> {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| !Path::new(p).exists())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the console's browser tests need Debian's Chromium and its WebDriver, and {} {} \
             missing: run `.ci/run` (as root), or `apt-get install --no-install-recommends \
             chromium chromium-driver`; to skip these tests on purpose set \
             CHUNGTAY_SKIP_BROWSER=1",
            missing.join(" and "),
            if missing.len() == 1 { "is" } else { "are" }
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls chromedriver's `/status` until it says ready, or it exits, or 20 s pass.
fn wait_ready(driver: &mut Child, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    chungtay_intake::install_crypto_provider();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()
        .unwrap();
    let status = format!("http://127.0.0.1:{port}/status");
    loop {
        if let Some(exit) = driver.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("chromedriver exited with {exit}"));
        }
        if let Ok(resp) = http.get(&status).send()
            && let Ok(body) = resp.json::<serde_json::Value>()
            && body["value"]["ready"] == serde_json::Value::Bool(true)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("no ready answer on /status within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn connect(url: &str, profile: &Path) -> Result<Client, String> {
    let mut caps = Capabilities::new();
    caps.insert("browserName".into(), "chrome".into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-dev-shm-usage",
                format!("--window-size={WIDTH},{HEIGHT}"),
                format!("--user-data-dir={}", profile.display()),
                "--no-proxy-server",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-sync",
                "--disable-extensions",
                "--lang=vi",
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    tokio::time::timeout(
        Duration::from_secs(60),
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(url),
    )
    .await
    .map_err(|_| "no session within 60 s".to_string())?
    .map_err(|e| e.to_string())
}

fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let from = lines.len().saturating_sub(30);
    format!(
        "chromedriver's log ({}), last lines:\n{}",
        path.display(),
        lines[from..].join("\n")
    )
}
