//! The built `chungtay` binary, run as a person or a script would, in a temporary folder.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{Datelike, Utc};
use serde_json::Value;

const PIN: &str = "274915";

/// Exit codes from cli/README.md.
const EXIT_USAGE: i32 = 2;
const EXIT_AUTH: i32 = 3;
const EXIT_NOT_FOUND: i32 = 7;
const EXIT_INVALID: i32 = 8;
const EXIT_INTEGRITY: i32 = 10;
const EXIT_BACKUP: i32 = 13;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("work")).unwrap();
        Env { dir }
    }

    /// `config/...`: the per-user configuration folder, beside (not inside) the folder the
    /// commands run in, `work/`, where every other name is (a store's folder must not hold
    /// the configuration folder: a copy of it would carry the device keys).
    fn path(&self, name: &str) -> PathBuf {
        if name == "config" || name.starts_with("config/") {
            self.dir.path().join(name)
        } else {
            self.dir.path().join("work").join(name)
        }
    }

    /// The binary in this folder, with no secret inherited from the caller's environment, and
    /// its per-user configuration folder (where device keys go) in `config/` of this folder,
    /// never the real home.
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_chungtay"));
        c.current_dir(self.path(""))
            .env("CHUNGTAY_CONFIG_DIR", self.path("config"))
            .env_remove("CHUNGTAY_PIN")
            .env_remove("CHUNGTAY_NEW_PIN")
            .env_remove("CHUNGTAY_RECOVERY_SECRET")
            .env_remove("CHUNGTAY_ENROLL_CODE")
            .stdin(Stdio::null());
        c
    }

    /// Runs with the PIN in CHUNGTAY_PIN.
    fn run(&self, args: &[&str]) -> Output {
        self.cmd()
            .env("CHUNGTAY_PIN", PIN)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs with `stdin` piped in.
    fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and expects success; returns standard output.
    fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.run(args))
    }

    /// Runs with `--json` and expects success.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    /// A store with a club; returns the club's id.
    fn with_club(&self) -> String {
        self.ok(&["init", "--name", "Lò Thị Mai"]);
        let club = self.json(&[
            "club",
            "add",
            "--name",
            "CLB phụ nữ phòng, chống mua bán người Pù Nhi",
            "--province",
            "Thanh Hóa",
            "--commune",
            "Pù Nhi",
            "--village",
            "Bản Chai",
        ]);
        club["id"].as_str().unwrap().to_owned()
    }

    fn add_member(&self, club: &str, name: &str, group: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "member",
            "add",
            "--club",
            club,
            "--name",
            name,
            "--ethnic-group",
            group,
            "--village",
            "Bản Chai",
            "--birth-year",
            "2006",
        ];
        args.extend_from_slice(extra);
        self.json(&args)["id"].as_str().unwrap().to_owned()
    }
}

fn succeeded(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "{args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn this_month() -> String {
    let today = Utc::now().date_naive();
    format!("{:04}-{:02}", today.year(), today.month())
}

#[test]
fn init_reads_the_pin_from_stdin() {
    let env = Env::new();
    let out = env.run_stdin(
        &[
            "--store",
            "club.db",
            "init",
            "--name",
            "Lò Thị Mai",
            "--pin-stdin",
        ],
        &format!("{PIN}\n"),
    );
    let text = succeeded(&["init"], out);
    assert!(text.contains("Đã tạo kho dữ liệu"), "{text}");
    assert!(env.path("club.db").exists());
    // The device key is in the configuration folder, not beside the store.
    assert!(!env.path("club.db.device-key").exists());
    assert_eq!(files_under(&env.path("config")).len(), 1);
    // The same PIN from stdin opens it; the list of users needs no PIN at all.
    let out = env.run_stdin(&["--store", "club.db", "club", "list", "--pin-stdin"], PIN);
    succeeded(&["club", "list"], out);
    let users: Value =
        serde_json::from_str(&env.ok(&["--store", "club.db", "users", "--json"])).unwrap();
    assert_eq!(users["users"][0]["role"], "leader");
    assert_eq!(users["users"].as_array().unwrap().len(), 1);
}

#[test]
fn init_reads_the_pin_from_the_environment() {
    let env = Env::new();
    let text = env.ok(&["init", "--name", "Lò Thị Mai", "--lang", "en"]);
    assert!(text.contains("Store created"), "{text}");
    assert!(env.path("chungtay.db").exists());
    assert!(!env.path("chungtay.db.device-key").exists());
    assert_eq!(files_under(&env.path("config")).len(), 1);
    // A second init on the same path is refused.
    let out = env.run(&["init", "--name", "Lò Thị Mai"]);
    assert_eq!(out.status.code(), Some(12));
    assert!(
        stderr(&out).contains("Đã có kho dữ liệu"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_pin_on_the_command_line_is_refused() {
    let env = Env::new();
    for args in [
        vec!["init", "--name", "Lò Thị Mai", "--pin", PIN],
        vec!["init", "--name", "Lò Thị Mai", "--pin=274915"],
        vec!["--pin", PIN, "users"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.status.code(), Some(EXIT_USAGE), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("Không nhận mã PIN trên dòng lệnh"), "{err}");
        assert!(!err.contains(PIN), "the PIN is echoed: {err}");
        assert!(!env.path("chungtay.db").exists());
    }
    let out = env.run(&["--lang", "en", "init", "--name", "X Y", "--pin", PIN]);
    assert!(stderr(&out).contains("never taken from the command line"));
}

#[test]
fn without_any_pin_source_the_cli_says_how_to_give_one() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["init", "--name", "Lò Thị Mai"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_AUTH));
    let err = stderr(&out);
    assert!(
        err.contains("--pin-stdin") && err.contains("CHUNGTAY_PIN"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!env.path("chungtay.db").exists());
}

#[test]
fn vietnamese_names_search_without_diacritics_and_json_parses() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(
        &club,
        "Nguyễn Thị Hoa",
        "Kinh",
        &["--phone", "0912 345 678"],
    );
    env.add_member(
        &club,
        "Vi Thị Lan",
        "thai",
        &[
            "--survivor-status",
            "returnee",
            "--do-not-contact",
            "--phone",
            "0987 654 321",
        ],
    );
    env.add_member(&club, "Vàng Thị Mỷ", "Mông", &[]);
    env.add_member(&club, "Đặng Thị Dung", "9", &[]);

    let found = env.ok(&["member", "search", "nguyen"]);
    assert!(found.contains("Nguyễn Thị Hoa"), "{found}");
    assert!(!found.contains("Vi Thị Lan"));
    let found = env.json(&["member", "search", "dung"]);
    assert_eq!(found[0]["full_name"], "Đặng Thị Dung");
    assert_eq!(found[0]["ethnic_group"], "Dao");

    let list = env.json(&["member", "list", "--club", &club]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4);
    let lan = list
        .iter()
        .find(|m| m["full_name"] == "Vi Thị Lan")
        .unwrap();
    assert_eq!(lan["ethnic_group"], "Thái");
    assert_eq!(lan["safe_to_contact"], false);
    assert_eq!(
        lan["phone"],
        Value::Null,
        "no number for someone not to contact"
    );
    let text = env.ok(&["member", "list", "--club", &club]);
    for hidden in ["0987", "Returnee", "returnee", "trở về"] {
        assert!(!text.contains(hidden), "{hidden} in the list: {text}");
        assert!(!serde_json::to_string(&list).unwrap().contains(hidden));
    }
    assert!(text.contains("(không được liên lạc)"));

    // The detail shows the status to the leader.
    let detail = env.json(&["member", "show", &hoa]);
    assert_eq!(detail["member"]["full_name"], "Nguyễn Thị Hoa");
    assert_eq!(detail["member"]["survivor_status"], "NotASurvivor");

    // Ethnic groups by name, folded name or code; a made-up one is refused in one line.
    let out = env.run(&[
        "member",
        "add",
        "--club",
        &club,
        "--name",
        "A B",
        "--ethnic-group",
        "Klingon",
        "--village",
        "V",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    assert!(stderr(&out).contains("54 dân tộc"), "{}", stderr(&out));
}

#[test]
fn a_wrong_pin_fails_in_vietnamese_or_english() {
    let env = Env::new();
    let club = env.with_club();
    let out = env
        .cmd()
        .env("CHUNGTAY_PIN", "000000")
        .args(["member", "list", "--club", &club])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_AUTH));
    let err = stderr(&out);
    assert!(err.contains("Sai mã PIN"), "{err}");
    assert!(err.contains("còn 9 lần thử"), "{err}");
    assert_eq!(err.lines().count(), 1);

    let out = env
        .cmd()
        .env("CHUNGTAY_PIN", "000000")
        .args(["--lang", "en", "member", "list", "--club", &club])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_AUTH));
    assert!(
        stderr(&out).contains("Wrong PIN (8 tries left"),
        "{}",
        stderr(&out)
    );

    // --json: the error as one JSON object on standard error.
    let out = env
        .cmd()
        .env("CHUNGTAY_PIN", "000000")
        .args(["--json", "club", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_AUTH));
    let err: Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(err["error"]["kind"], "wrong_pin");
    assert_eq!(err["error"]["exit_code"], EXIT_AUTH);

    // After three wrong PINs even the right one must wait.
    let out = env.run(&["club", "list"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("hãy thử lại sau 30 giây"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn errors_name_what_is_wrong_in_one_line() {
    let env = Env::new();
    env.with_club();
    let out = env.run(&["member", "list", "--club", "no-such-club"]);
    assert_eq!(out.status.code(), Some(EXIT_NOT_FOUND));
    assert!(
        stderr(&out).contains("Không tìm thấy câu lạc bộ."),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["--lang", "en", "member", "list", "--club", "no-such-club"]);
    assert!(stderr(&out).contains("club not found"), "{}", stderr(&out));

    let out = env.run(&["member", "erase", "some-id"]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    assert!(stderr(&out).contains("--yes"));

    let out = env.run(&["--lang", "en", "frobnicate"]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    assert!(
        stderr(&out).contains("Invalid command line"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1);

    let out = env.run(&[
        "meeting",
        "add",
        "--club",
        "c",
        "--date",
        "29/11/2026",
        "--topic",
        "t",
        "--place",
        "p",
        "--facilitator",
        "f",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    assert!(stderr(&out).contains("--date"), "{}", stderr(&out));

    let out = env
        .cmd()
        .args(["--store", "missing.db", "club", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(12));
    assert!(stderr(&out).contains("chungtay init"));
}

#[test]
fn a_meeting_then_consent_makes_a_referral_ready() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(
        &club,
        "Vi Thị Hoa",
        "Thái",
        &["--survivor-status", "returnee"],
    );
    let mai = env.add_member(&club, "Hà Thị Ơn", "Mường", &[]);
    let today = Utc::now().date_naive().to_string();

    let meeting = env.json(&[
        "meeting",
        "add",
        "--club",
        &club,
        "--date",
        &today,
        "--topic",
        "Nhận diện lừa đảo việc làm qua mạng",
        "--place",
        "Nhà văn hóa bản Chai",
        "--facilitator",
        "Lò Thị Mai",
        "--attendee",
        &hoa,
        "--attendee",
        &mai,
        "--guests",
        "3",
        "--notes",
        "Chị em chia sẻ về tin nhắn tuyển dụng lạ",
        "--follow-up",
        "Thăm gia đình chị Hoa|Hà Thị Ơn|2030-01-05",
    ]);
    let meeting_id = meeting["id"].as_str().unwrap();
    let list = env.json(&["meeting", "list", "--club", &club]);
    assert_eq!(list[0]["present"], 2);
    assert_eq!(list[0]["guests"], 3);
    assert!(list[0].get("notes").is_none(), "lists carry no notes");
    let shown = env.json(&["meeting", "show", meeting_id]);
    assert_eq!(shown["follow_ups"][0]["person"], "Hà Thị Ơn");

    // Without consent the referral stays a draft.
    let draft = env.json(&[
        "referral",
        "create",
        "--member",
        &hoa,
        "--service",
        "vocational-training",
        "--service",
        "loans",
        "--share",
        "name",
        "--share",
        "birth-year",
        "--share",
        "need",
        "--note",
        "Muốn học may và vay vốn nhỏ",
    ]);
    let out = env.run(&["referral", "ready", draft["id"].as_str().unwrap()]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    assert!(
        stderr(&out).contains("chưa ghi nhận sự đồng ý"),
        "{}",
        stderr(&out)
    );

    let consent = env.json(&[
        "consent",
        "add",
        "--member",
        &hoa,
        "--purpose",
        "vocational-training",
        "--purpose",
        "loans",
        "--field",
        "name",
        "--field",
        "birth-year",
        "--field",
        "commune",
        "--field",
        "need",
    ]);
    let consent_id = consent["id"].as_str().unwrap();
    let referral = env.json(&[
        "referral",
        "create",
        "--member",
        &hoa,
        "--service",
        "vocational-training",
        "--service",
        "loans",
        "--share",
        "name",
        "--share",
        "birth-year",
        "--share",
        "need",
        "--consent",
        consent_id,
    ]);
    let id = referral["id"].as_str().unwrap();
    assert_eq!(referral["state"], "Draft");
    let ready = env.json(&["referral", "ready", id]);
    assert_eq!(ready["state"], "Ready");
    let text = env.ok(&["referral", "show", id]);
    assert!(text.contains("Sẵn sàng gửi"), "{text}");
    let all = env.json(&["referral", "list", "--club", &club]);
    assert_eq!(all.as_array().unwrap().len(), 2);

    // Withdrawing the consent stops the referral.
    env.ok(&["consent", "withdraw", consent_id]);
    let after = env.json(&["referral", "list", "--member", &hoa]);
    let states: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"Withdrawn"), "{states:?}");

    // Livelihood support with a follow-up.
    let support = env.json(&[
        "support",
        "add",
        "--member",
        &hoa,
        "--kind",
        "livestock",
        "--quantity",
        "2",
        "--unit",
        "con lợn",
    ]);
    env.ok(&[
        "support",
        "follow-up",
        support["id"].as_str().unwrap(),
        "--outcome",
        "earning-income",
    ]);
    let list = env.json(&["support", "list", "--member", &hoa]);
    assert_eq!(list[0]["follow_ups"][0]["outcome"], "EarningIncome");
}

#[test]
fn the_audit_trail_verifies_exports_and_catches_a_tampered_file() {
    let env = Env::new();
    let club = env.with_club();
    env.add_member(&club, "Nguyễn Thị Hoa", "Kinh", &[]);
    let verified = env.json(&["audit", "verify"]);
    assert_eq!(verified["ok"], true);
    assert!(env.ok(&["audit", "verify"]).contains("nguyên vẹn"));
    let findings = env.json(&["audit", "findings"]);
    assert_eq!(findings["chain_ok"], true);
    assert_eq!(
        findings["members_without_consent"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let export = env.json(&[
        "audit",
        "export",
        "--out",
        "trail.json",
        "--csv",
        "trail.csv",
    ]);
    let hex = export["device_public_key_hex"].as_str().unwrap().to_owned();
    let b64 = export["device_public_key_base64"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(env.path("trail.csv").exists());

    // On "a laptop": another folder, no store, no device key, no PIN.
    let laptop = Env::new();
    let file = laptop.path("trail.json");
    std::fs::copy(env.path("trail.json"), &file).unwrap();
    let file = file.to_str().unwrap();
    for key in [&hex, &b64] {
        let out = laptop
            .cmd()
            .args(["audit", "verify-export", file, "--public-key", key])
            .output()
            .unwrap();
        let text = succeeded(&["verify-export"], out);
        assert!(text.contains("Bản xuất hợp lệ"), "{text}");
    }
    assert!(!laptop.path("chungtay.db").exists());

    // One changed character in the signed document.
    let original = std::fs::read_to_string(file).unwrap();
    let tampered = original.replacen("create", "delete", 1);
    assert_ne!(original, tampered);
    let bad = laptop.path("tampered.json");
    std::fs::write(&bad, tampered).unwrap();
    let out = laptop
        .cmd()
        .args([
            "audit",
            "verify-export",
            bad.to_str().unwrap(),
            "--public-key",
            &hex,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_INTEGRITY));
    assert!(
        stderr(&out).contains("chữ ký không khớp"),
        "{}",
        stderr(&out)
    );

    // Another device's key.
    let other = "11".repeat(32);
    let out = laptop
        .cmd()
        .args([
            "--lang",
            "en",
            "audit",
            "verify-export",
            file,
            "--public-key",
            &other,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_INTEGRITY));
    assert!(stderr(&out).contains("another device"), "{}", stderr(&out));
}

#[test]
fn records_altered_or_deleted_in_the_file_are_named_not_silently_dropped() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(&club, "Nguyễn Thị Hoa", "Kinh", &[]);
    let dua = env.add_member(&club, "Giàng Thị Dua", "Mông", &[]);
    env.add_member(&club, "Lò Thị Xuân", "Thái", &[]);
    // Someone with the file damages one member's record and deletes another's.
    let db = rusqlite::Connection::open(env.path("chungtay.db")).unwrap();
    db.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    let mut body: Vec<u8> = db
        .query_row("SELECT body FROM members WHERE id = ?1", [&hoa], |r| {
            r.get(0)
        })
        .unwrap();
    body[60] ^= 1;
    db.execute(
        "UPDATE members SET body = ?1 WHERE id = ?2",
        rusqlite::params![body, hoa],
    )
    .unwrap();
    db.execute("DELETE FROM members WHERE id = ?1", [&dua])
        .unwrap();
    drop(db);
    // The list shows the one left, and says that records could not be shown.
    let list = env.ok(&["member", "list", "--club", &club]);
    assert!(list.contains("Lò Thị Xuân"), "{list}");
    assert!(list.contains("1 hồ sơ không hiện được"), "{list}");
    // Verify fails, naming a record and why; the findings list both.
    let out = env.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(EXIT_INTEGRITY));
    let findings = env.json(&["audit", "findings"]);
    let damaged = findings["damaged_records"].as_array().unwrap();
    let mut found: Vec<(String, String)> = damaged
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_owned(),
                d["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut expected = vec![
        (hoa.clone(), "unreadable".to_owned()),
        (dua.clone(), "missing".to_owned()),
    ];
    expected.sort();
    assert_eq!(found, expected);
    let text = env.ok(&["--lang", "en", "audit", "findings"]);
    assert!(
        text.contains("is in the trail but gone from the file"),
        "{text}"
    );
}

/// A club of ten: 9 Thái women and one Mông man, a meeting this month.
fn report_club(env: &Env) -> String {
    let club = env.with_club();
    let mut ids = Vec::new();
    for (i, name) in [
        "Lò Thị Hoa",
        "Vi Thị Lan",
        "Hà Thị Ơn",
        "Lò Thị Pằn",
        "Vi Thị Xuân",
        "Lường Thị Thu",
        "Cầm Thị Nga",
        "Lò Thị Dung",
        "Quàng Thị Yến",
    ]
    .iter()
    .enumerate()
    {
        let status = if i % 2 == 0 { "returnee" } else { "survivor" };
        ids.push(env.add_member(&club, name, "Thái", &["--survivor-status", status]));
    }
    ids.push(env.add_member(&club, "Vàng A Sử", "Mông", &["--gender", "male"]));
    let today = Utc::now().date_naive().to_string();
    let mut args = vec![
        "meeting",
        "add",
        "--club",
        &club,
        "--date",
        &today,
        "--topic",
        "Di cư an toàn",
        "--place",
        "Nhà văn hóa",
        "--facilitator",
        "Lò Thị Mai",
        "--guests",
        "2",
    ];
    for id in &ids {
        args.push("--attendee");
        args.push(id);
    }
    env.ok(&args);
    club
}

/// The text of one part of an XLSX file (a zip).
fn xlsx_part(path: &Path, part: &str) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    zip.by_name(part)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn the_monthly_report_writes_xlsx_and_csv() {
    let env = Env::new();
    let club = report_club(&env);
    let month = this_month();
    let report = env.json(&[
        "report",
        "monthly",
        "--club",
        &club,
        "--month",
        &month,
        "--xlsx",
        "report.xlsx",
        "--csv",
        "report.csv",
    ]);
    assert_eq!(report["meetings_held"], 1);
    assert_eq!(report["attendance"], 10);
    assert_eq!(report["guests"], "<5");
    assert_eq!(report["members_by_ethnic_group"]["total"], 10);

    let csv = std::fs::read_to_string(env.path("report.csv")).unwrap();
    let body = csv.strip_prefix('\u{feff}').unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["Phần / Section", "Mục / Item", "Giá trị / Value"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let value = |section: &str, item: &str| {
        rows.iter()
            .find(|r| &r[0] == section && &r[1] == item)
            .map(|r| r[2].to_owned())
            .unwrap()
    };
    let by_group = "Thành viên theo dân tộc / Members by ethnic group";
    assert_eq!(value(by_group, "Tổng / Total"), "10");
    // Mông 1 is <5, so Thái 9 is hidden too: the total cannot give the 1 back.
    assert_eq!(value(by_group, "Mông"), "<5");
    assert_eq!(value(by_group, "Thái"), "x");

    let strings = xlsx_part(&env.path("report.xlsx"), "xl/sharedStrings.xml");
    assert!(
        strings.contains("Dân tộc") || strings.contains("dân tộc"),
        "{strings}"
    );
    assert!(strings.contains("Members by ethnic group"));
    let sheet = xlsx_part(&env.path("report.xlsx"), "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("<v>10</v>"), "the total 10 as a number");
    // One sheet per language, Vietnamese first, each set up to print as the paper form.
    let book = xlsx_part(&env.path("report.xlsx"), "xl/workbook.xml");
    let (vi, en) = (
        book.find("name=\"Báo cáo tháng\"").unwrap(),
        book.find("name=\"Monthly report\"").unwrap(),
    );
    assert!(vi < en, "{book}");
    for part in ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"] {
        let s = xlsx_part(&env.path("report.xlsx"), part);
        assert!(s.contains("fitToPage=\"1\""), "{s}");
        assert!(s.contains("paperSize=\"9\""), "A4: {s}");
        assert!(s.contains("<oddHeader>"), "{s}");
    }
    for text in [&csv, &strings, &sheet] {
        for word in [
            "Returnee",
            "Survivor",
            "returnee",
            "survivor",
            "trở về",
            "Lò Thị Hoa",
        ] {
            assert!(!text.contains(word), "{word} in the report");
        }
    }

    let text = env.ok(&[
        "--lang", "en", "report", "monthly", "--club", &club, "--month", &month,
    ]);
    assert!(text.contains("Members by ethnic group"), "{text}");
    let out = env.run(&["report", "monthly", "--club", &club, "--month", "11/2026"]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    assert!(stderr(&out).contains("YYYY-MM"));
}

#[test]
fn a_backup_restores_to_another_path() {
    let env = Env::new();
    let club = env.with_club();
    env.add_member(&club, "Nguyễn Thị Hoa", "Kinh", &[]);
    env.add_member(
        &club,
        "Vi Thị Lan",
        "Thái",
        &["--survivor-status", "returnee"],
    );
    let out = env.run(&["safety", "backup", "--out", "early.bin"]);
    assert_eq!(
        out.status.code(),
        Some(EXIT_INVALID),
        "no recovery secret yet"
    );
    let secret = env.json(&["safety", "recovery"])["recovery_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    env.ok(&["safety", "backup", "--out", "backup.bin"]);
    let backup = std::fs::read(env.path("backup.bin")).unwrap();
    assert!(!String::from_utf8_lossy(&backup).contains("Nguyễn"));

    // A wrong secret restores nothing.
    std::fs::create_dir_all(env.path("new")).unwrap();
    let out = env
        .cmd()
        .env(
            "CHUNGTAY_RECOVERY_SECRET",
            "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH",
        )
        .env("CHUNGTAY_PIN", "583920")
        .args(["--store", "new/phone.db", "safety", "restore", "backup.bin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(EXIT_BACKUP), "{}", stderr(&out));
    assert!(stderr(&out).contains("Sai mã khôi phục"));
    assert!(!env.path("new/phone.db").exists());
    // No key was left behind for the store that was not made.
    assert_eq!(files_under(&env.path("config")).len(), 1);

    // The right secret and a new PIN, both on standard input (secret first).
    let out = env.run_stdin(
        &[
            "--store",
            "new/phone.db",
            "--pin-stdin",
            "safety",
            "restore",
            "backup.bin",
        ],
        &format!("{secret}\n583920\n"),
    );
    let text = succeeded(&["restore"], out);
    assert!(text.contains("Đã khôi phục"), "{text}");
    assert!(!env.path("new/phone.db.device-key").exists());
    assert_eq!(files_under(&env.path("config")).len(), 2);
    let restored = env
        .cmd()
        .env("CHUNGTAY_PIN", "583920")
        .args([
            "--store",
            "new/phone.db",
            "--json",
            "member",
            "search",
            "hoa",
        ])
        .output()
        .unwrap();
    let found: Value = serde_json::from_str(&succeeded(&["search"], restored)).unwrap();
    assert_eq!(found[0]["full_name"], "Nguyễn Thị Hoa");
    // The old PIN does not open the restored store.
    let out = env.run(&["--store", "new/phone.db", "club", "list"]);
    assert_eq!(out.status.code(), Some(EXIT_AUTH));
}

#[test]
fn users_and_roles_are_enforced() {
    let env = Env::new();
    let club = env.with_club();
    let out = env.run_stdin(
        &[
            "--pin-stdin",
            "--json",
            "user",
            "add",
            "--name",
            "Hà Thị Ơn",
            "--role",
            "auditor",
        ],
        &format!("{PIN}\n583920\n"),
    );
    let auditor: Value = serde_json::from_str(&succeeded(&["user", "add"], out)).unwrap();
    let id = auditor["id"].as_str().unwrap();
    assert_eq!(auditor["role"], "auditor");
    let as_auditor = |args: &[&str]| {
        let mut all = vec!["--user", id];
        all.extend_from_slice(args);
        env.cmd()
            .env("CHUNGTAY_PIN", "583920")
            .args(all)
            .output()
            .unwrap()
    };
    let out = as_auditor(&[
        "club",
        "add",
        "--name",
        "X",
        "--province",
        "P",
        "--commune",
        "C",
    ]);
    assert_eq!(out.status.code(), Some(9));
    assert!(
        stderr(&out).contains("Vai trò của bạn không được phép"),
        "{}",
        stderr(&out)
    );
    let out = as_auditor(&["member", "list", "--club", &club]);
    assert!(out.status.success());
    let out = as_auditor(&["audit", "verify"]);
    assert!(out.status.success());
}

/// LibreOffice opens the report and reads the same numbers (needs `soffice`:
/// `apt-get install -y --no-install-recommends libreoffice-calc-nogui`).
#[test]
#[ignore = "needs LibreOffice; run by scripts/test-all when installed"]
fn libreoffice_reads_the_monthly_report() {
    let which = Command::new("which").arg("soffice").output().unwrap();
    assert!(
        which.status.success(),
        "LibreOffice's `soffice` is not on PATH: install it with \
         `apt-get install -y --no-install-recommends libreoffice-calc-nogui`"
    );
    let env = Env::new();
    let club = report_club(&env);
    env.ok(&[
        "report",
        "monthly",
        "--club",
        &club,
        "--month",
        &this_month(),
        "--xlsx",
        "report.xlsx",
    ]);
    let profile = format!("file://{}", env.path("lo-profile").display());
    let out = Command::new("soffice")
        .current_dir(env.path(""))
        .env("HOME", env.dir.path())
        .arg(format!("-env:UserInstallation={profile}"))
        .args([
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            "converted",
            "report.xlsx",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "soffice: {}", stderr(&out));
    let csv = std::fs::read_to_string(env.path("converted/report.csv"))
        .unwrap_or_else(|e| panic!("no CSV from soffice ({e}): {}", stderr(&out)));
    // The first sheet is the Vietnamese form: labels in A, values in B.
    let lines: Vec<&str> = csv.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("Thành viên theo dân tộc,Số lượng"))
        .unwrap_or_else(|| panic!("no ethnic group table in {csv}"));
    let section: Vec<&str> = lines[start..]
        .iter()
        .take_while(|l| !l.trim_matches(',').is_empty())
        .copied()
        .collect();
    assert!(section.contains(&"Tổng,10"), "{section:?}");
    assert!(section.contains(&"Mông,<5"), "{section:?}");
    assert!(section.contains(&"Thái,x"), "{section:?}");
    assert!(csv.contains("Số buổi sinh hoạt,1"), "{csv}");
    assert!(
        !csv.contains("Members by ethnic group"),
        "English on the Vietnamese sheet"
    );
}

/// The monthly report prints as its paper form: LibreOffice turns the workbook into a PDF of
/// two A4 pages, the Vietnamese sheet and the English one, each one page wide. (Laid out as
/// one sheet with both languages side by side, it spread over six pages.)
#[test]
#[ignore = "needs LibreOffice; run by scripts/test-all when installed"]
fn the_monthly_report_prints_on_one_page_per_language() {
    let env = Env::new();
    let club = report_club(&env);
    env.ok(&[
        "report",
        "monthly",
        "--club",
        &club,
        "--month",
        &this_month(),
        "--xlsx",
        "report.xlsx",
    ]);
    let profile = format!("file://{}", env.path("lo-profile").display());
    let out = Command::new("soffice")
        .current_dir(env.path(""))
        .env("HOME", env.dir.path())
        .arg(format!("-env:UserInstallation={profile}"))
        .args([
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            "pdf",
            "report.xlsx",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "soffice: {}", stderr(&out));
    let pdf = std::fs::read(env.path("pdf/report.pdf"))
        .unwrap_or_else(|e| panic!("no PDF from soffice ({e}): {}", stderr(&out)));
    // Page objects: "/Type /Page" (with or without the space), not "/Type /Pages".
    let text = String::from_utf8_lossy(&pdf);
    let pages = ["/Type /Page", "/Type/Page"]
        .iter()
        .map(|k| {
            text.match_indices(k)
                .filter(|(i, m)| !text[i + m.len()..].starts_with('s'))
                .count()
        })
        .sum::<usize>();
    assert_eq!(pages, 2, "pages in the printed report");
}

#[test]
fn the_demo_runs_the_whole_flow_and_says_each_step() {
    let out = Command::new(env!("CARGO_BIN_EXE_chungtay"))
        .args(["demo", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 14);
    let text = serde_json::to_string(steps).unwrap();
    for expected in [
        "Đã chấp nhận",
        "Đã nhận, lớp học bắt đầu ngày 5",
        "Vi Thị Hoa",
        "/console",
    ] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
    let en = Command::new(env!("CARGO_BIN_EXE_chungtay"))
        .args(["demo", "--lang", "en"])
        .output()
        .unwrap();
    assert!(en.status.success());
    let en = String::from_utf8(en.stdout).unwrap();
    assert!(en.contains("The phone gets the answer"), "{en}");
}

const PROVINCE_PASS: &str = "correct horse battery staple";

/// A provincial intake server in this process, and its data folder.
fn province() -> (chungtay_intake::RunningServer, tempfile::TempDir) {
    use chungtay_intake::{KdfParams, Limits, RunningServer, admin};
    let dir = tempfile::tempdir().unwrap();
    let pass = PROVINCE_PASS;
    admin::init(dir.path(), pass, KdfParams::MINIMUM).unwrap();
    let state = admin::load_state(dir.path(), pass, Limits::default()).unwrap();
    let server = RunningServer::spawn(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    (server, dir)
}

#[test]
fn the_enrollment_code_is_read_like_a_pin_never_from_the_command_line() {
    use chungtay_intake::admin;
    let (server, province_dir) = province();
    let url = server.url("");
    let env = Env::new();
    env.ok(&["init", "--name", "Lò Thị Mai"]);
    assert_eq!(env.json(&["enrollment"])["enrolled"], false);
    let code = admin::issue_code(province_dir.path(), PROVINCE_PASS)
        .unwrap()
        .code;

    // On argv: refused before any use, and not echoed.
    let out = env.run(&["enroll", "--server", &url, "--code", &code]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let err = stderr(&out);
    assert!(
        err.contains("Không nhận mã đăng ký trên dòng lệnh"),
        "{err}"
    );
    assert!(!err.contains(&code), "the code is echoed: {err}");
    let out = env.run(&["--lang", "en", "enroll", "--server", &url, "--code=X"]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    assert!(stderr(&out).contains("CHUNGTAY_ENROLL_CODE"));
    assert!(admin::devices(province_dir.path()).unwrap().is_empty());

    // No source (no variable, no terminal): says how to give it.
    let out = env.run(&["--lang", "en", "enroll", "--server", &url]);
    assert_eq!(out.status.code(), Some(EXIT_AUTH));
    let err = stderr(&out);
    assert!(
        err.contains("enrollment code") && err.contains("CHUNGTAY_ENROLL_CODE"),
        "{err}"
    );

    // From the environment: enrolled.
    let out = env
        .cmd()
        .env("CHUNGTAY_PIN", PIN)
        .env("CHUNGTAY_ENROLL_CODE", &code)
        .args(["enroll", "--server", &url])
        .output()
        .unwrap();
    let text = succeeded(&["enroll"], out);
    assert!(text.contains("Đã đăng ký"), "{text}");
    assert_eq!(admin::devices(province_dir.path()).unwrap().len(), 1);
    // Asked again later: the same device id and fingerprint as printed when enrolling.
    let status = env.json(&["enrollment"]);
    assert_eq!(status["enrolled"], true);
    assert_eq!(status["server_url"], url.as_str());
    let fingerprint = status["province_fingerprint"].as_str().unwrap();
    let device = status["device_id"].as_str().unwrap();
    assert!(
        text.contains(fingerprint) && text.contains(device),
        "{text}"
    );

    // From standard input, line 2 after the PIN: another store enrolls with its own code.
    let other = Env::new();
    other.ok(&["init", "--name", "Hà Thị Ơn"]);
    let code = admin::issue_code(province_dir.path(), PROVINCE_PASS)
        .unwrap()
        .code;
    let out = other.run_stdin(
        &["--pin-stdin", "enroll", "--server", &url],
        &format!("{PIN}\n{code}\n"),
    );
    let text = succeeded(&["enroll", "--pin-stdin"], out);
    assert!(text.contains("Đã đăng ký"), "{text}");
    assert_eq!(admin::devices(province_dir.path()).unwrap().len(), 2);
}

#[cfg(unix)]
#[test]
fn written_files_become_owner_only_and_symlinks_are_not_followed() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let club = env.with_club();
    let month = this_month();
    // A report written over an existing world-readable file: it ends up 0600.
    let csv = env.path("bao-cao.csv");
    std::fs::write(&csv, "old").unwrap();
    std::fs::set_permissions(&csv, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.ok(&[
        "report",
        "monthly",
        "--club",
        &club,
        "--month",
        &month,
        "--csv",
        "bao-cao.csv",
    ]);
    let mode = std::fs::metadata(&csv).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    assert_ne!(std::fs::read_to_string(&csv).unwrap(), "old");

    // A symlink is refused; what it points to is untouched.
    let target = env.path("elsewhere.txt");
    std::fs::write(&target, "keep me").unwrap();
    std::os::unix::fs::symlink(&target, env.path("link.csv")).unwrap();
    let out = env.run(&[
        "report", "monthly", "--club", &club, "--month", &month, "--csv", "link.csv",
    ]);
    assert_eq!(out.status.code(), Some(14));
    assert!(
        stderr(&out).contains("liên kết tượng trưng"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
}

#[test]
fn not_found_repeats_an_id_but_never_a_name_typed_in_its_place() {
    let env = Env::new();
    env.with_club();
    // A name typed where an id belongs: not repeated (it would land in logs and screenshots).
    for lang in ["vi", "en"] {
        let out = env.run(&["--lang", lang, "member", "show", "Vi Thị Hoa"]);
        assert_eq!(out.status.code(), Some(EXIT_NOT_FOUND));
        let err = stderr(&out);
        assert!(!err.contains("Vi Thị Hoa") && !err.contains("Hoa"), "{err}");
        assert!(
            err.contains("Không tìm thấy thành viên.") || err.contains("member not found."),
            "{err}"
        );
    }
    // An id of the right shape is repeated, so the user can see which one.
    let id = "3f2b8c1e-9a4d-4e7b-8c2f-1d5e6a7b8c9d";
    let out = env.run(&["member", "show", id]);
    assert_eq!(out.status.code(), Some(EXIT_NOT_FOUND));
    assert!(
        stderr(&out).contains(&format!("Không tìm thấy thành viên {id}.")),
        "{}",
        stderr(&out)
    );
}

/// An OSC 52 clipboard write (the terminal would put a command line on the clipboard), a
/// screen clear, and a right-to-left override.
const INJECTED: &str = "Đã nhận \u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7} \u{1b}[2J \u{202e}gnol";

fn no_raw_controls(what: &str, text: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{202e}', '\u{9b}'] {
        assert!(!text.contains(c), "{what}: raw {c:?} in {text:?}");
    }
}

#[test]
fn text_typed_with_terminal_escapes_is_refused() {
    let env = Env::new();
    let club = env.with_club();
    let today = Utc::now().date_naive().to_string();
    let topic = "Di cư an toàn \u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\u{7}";
    let out = env.run(&[
        "meeting",
        "add",
        "--club",
        &club,
        "--date",
        &today,
        "--topic",
        topic,
        "--place",
        "Nhà văn hóa",
        "--facilitator",
        "Lò Thị Mai",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    let err = stderr(&out);
    no_raw_controls("stderr", &err);
    assert!(
        err.contains("--topic") && err.contains("ký tự điều khiển"),
        "{err}"
    );
    assert!(!err.contains("Di cư"), "the value is echoed: {err}");
    let out = env.run(&[
        "--lang",
        "en",
        "member",
        "add",
        "--club",
        &club,
        "--name",
        "Vi Thị \u{202e}aoH",
        "--ethnic-group",
        "Thái",
        "--village",
        "Bản Chai",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    assert!(
        stderr(&out).contains("--name holds a bidirectional text control"),
        "{}",
        stderr(&out)
    );
    assert!(
        env.json(&["meeting", "list", "--club", &club])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_status_note_with_terminal_escapes_from_the_server_is_shown_escaped() {
    use chungtay_intake::admin;
    let (server, province_dir) = province();
    let url = server.url("");
    let env = Env::new();
    let club = env.with_club();
    let code = admin::issue_code(province_dir.path(), PROVINCE_PASS)
        .unwrap()
        .code;
    let out = env
        .cmd()
        .env("CHUNGTAY_PIN", PIN)
        .env("CHUNGTAY_ENROLL_CODE", &code)
        .args(["enroll", "--server", &url])
        .output()
        .unwrap();
    succeeded(&["enroll"], out);
    let hoa = env.add_member(&club, "Vi Thị Hoa", "Thái", &[]);
    let consent = env.json(&[
        "consent",
        "add",
        "--member",
        &hoa,
        "--purpose",
        "loans",
        "--field",
        "name",
    ]);
    let referral = env.json(&[
        "referral",
        "create",
        "--member",
        &hoa,
        "--service",
        "loans",
        "--share",
        "name",
        "--consent",
        consent["id"].as_str().unwrap(),
    ]);
    let id = referral["id"].as_str().unwrap();
    env.ok(&["referral", "ready", id]);
    env.ok(&["referral", "send", id]);
    env.ok(&["sync", "--now"]);
    // The sync signed a checkpoint of the trail; its signature holds with the device key.
    let checkpoints = env.json(&["audit", "checkpoints"]);
    let checkpoints = checkpoints.as_array().unwrap();
    assert!(!checkpoints.is_empty());
    assert!(
        checkpoints.iter().all(|c| c["signature_valid"] == true),
        "{checkpoints:?}"
    );

    // The province (or whoever holds its staff token, or answers in its place) writes the
    // note: the phone stores it as the server sent it.
    chungtay_intake::install_crypto_provider();
    let token = admin::staff_token(province_dir.path(), PROVINCE_PASS, "test", 1)
        .unwrap()
        .token;
    let resp = reqwest::blocking::Client::new()
        .post(server.url(&format!("/v1/staff/referrals/{id}/transition")))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "state": "accepted", "note": INJECTED }))
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    env.ok(&["sync"]);

    // People see the note, with the escapes shown, not run.
    for lang in ["vi", "en"] {
        let text = env.ok(&["--lang", lang, "referral", "show", id]);
        no_raw_controls("referral show", &text);
        assert!(
            text.contains(
                "Đã nhận \\u{1b}]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\u{7} \\u{1b}[2J \\u{202e}gnol"
            ),
            "{text}"
        );
    }
    // JSON stays valid, holds the note as sent, and carries no raw bidi override either.
    let out = env.ok(&["referral", "show", id, "--json"]);
    no_raw_controls("--json", &out);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["history"].as_array().unwrap().last().unwrap()["note"],
        INJECTED
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_folder(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

#[test]
fn a_copied_store_folder_does_not_hold_the_device_key() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("data")).unwrap();
    env.ok(&["--store", "data/club.db", "init", "--name", "Lò Thị Mai"]);
    env.ok(&["--store", "data/club.db", "club", "list"]);

    // Whoever copies the store's folder (a USB stick, a synced folder, a backup of Documents)
    // takes no device key with it: on another computer the right PIN opens nothing, so the
    // PIN cannot be guessed offline.
    let thief = Env::new();
    copy_folder(&env.path("data"), &thief.path("loot"));
    let found: Vec<PathBuf> = files_under(&thief.path("loot"));
    assert!(
        found.iter().all(|p| !p.to_string_lossy().contains("key")),
        "{found:?}"
    );
    let out = thief.run(&["--store", "loot/club.db", "club", "list"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));

    // The key is in the per-user configuration folder, owner-only.
    let keys: Vec<PathBuf> = files_under(&env.path("config"));
    assert_eq!(keys.len(), 1, "{keys:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&keys[0]), 0o600);
        assert_eq!(mode(keys[0].parent().unwrap()), 0o700);
    }

    // A key in the store's folder is made only when asked for, and the help says why not.
    let out = env.run(&[
        "--store",
        "data/other.db",
        "--device-key",
        "data/other.key",
        "init",
        "--name",
        "Lò Thị Mai",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--key-beside-store"),
        "{}",
        stderr(&out)
    );
    assert!(!env.path("data/other.key").exists());
    assert!(!env.path("data/other.db").exists());
    let help = env.ok(&["--help"]);
    assert!(help.contains("--key-beside-store"), "{help}");
}

#[test]
fn a_store_with_its_key_beside_it_still_opens_and_says_how_to_move_the_key() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("data")).unwrap();
    // As older versions made it: `<store>.device-key` beside the store.
    env.ok(&[
        "--store",
        "data/club.db",
        "--device-key",
        "data/club.db.device-key",
        "--key-beside-store",
        "init",
        "--name",
        "Lò Thị Mai",
    ]);
    let out = env.run(&["--store", "data/club.db", "--json", "club", "list"]);
    let listed = succeeded(&["club", "list"], out.clone());
    let _: Value = serde_json::from_str(&listed).unwrap();
    let warning = stderr(&out);
    assert!(warning.contains("data/club.db.device-key"), "{warning}");
    assert!(
        warning.contains(&env.path("config").display().to_string()),
        "{warning}"
    );
    // Moved as the warning says: opens from there, with no warning.
    let plain = stderr(&env.run(&["--store", "data/club.db", "club", "list"]));
    let target = plain
        .split_whitespace()
        .map(|w| w.trim_matches('"'))
        .find(|w| w.contains("config") && w.ends_with(".device-key"))
        .unwrap_or_else(|| panic!("{plain}"))
        .to_owned();
    std::fs::create_dir_all(Path::new(&target).parent().unwrap()).unwrap();
    std::fs::rename(env.path("data/club.db.device-key"), &target).unwrap();
    let out = env.run(&["--store", "data/club.db", "club", "list"]);
    succeeded(&["club", "list"], out.clone());
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn vietnamese_messages_name_fields_and_values_in_vietnamese() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(&club, "Vi Thị Hoa", "Thái", &[]);
    let consent = env.json(&[
        "consent",
        "add",
        "--member",
        &hoa,
        "--purpose",
        "loans",
        "--field",
        "name",
    ]);
    let consent = consent["id"].as_str().unwrap();
    let refused = |extra: &[&str]| {
        let mut args = vec![
            "referral",
            "create",
            "--member",
            &hoa,
            "--service",
            "loans",
            "--share",
            "name",
            "--consent",
            consent,
        ];
        args.extend_from_slice(extra);
        let id = env.json(&args)["id"].as_str().unwrap().to_owned();
        let out = env.run(&["referral", "ready", &id]);
        assert_eq!(out.status.code(), Some(EXIT_INVALID));
        (id, stderr(&out))
    };
    // Her story, which she did not agree to share.
    let (_, err) = refused(&["--share", "story"]);
    assert!(
        err.contains("không bao gồm thông tin \"Câu chuyện\""),
        "{err}"
    );
    assert!(err.contains("sự đồng ý (--consent)"), "{err}");
    // A purpose she did not agree to.
    let (_, err) = refused(&["--service", "legal-aid"]);
    assert!(err.contains("mục đích \"Trợ giúp pháp lý\""), "{err}");
    // Another recipient.
    let (id, err) = refused(&["--recipient", "commune"]);
    assert!(err.contains("nơi nhận \"Hội LHPN xã\""), "{err}");
    // A state the referral cannot move from.
    env.ok(&["referral", "withdraw", &id]);
    let out = env.run(&["referral", "withdraw", &id]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    let withdrawn = stderr(&out);
    assert!(
        withdrawn.contains("trạng thái không được phép ở trạng thái Đã rút"),
        "{withdrawn}"
    );
    // A malformed follow-up says what it expects in Vietnamese.
    let today = Utc::now().date_naive().to_string();
    let out = env.run(&[
        "meeting",
        "add",
        "--club",
        &club,
        "--date",
        &today,
        "--topic",
        "Di cư an toàn",
        "--place",
        "Nhà văn hóa",
        "--facilitator",
        "Lò Thị Mai",
        "--follow-up",
        "Thăm chị Hoa",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID));
    let follow_up = stderr(&out);
    assert!(
        follow_up.contains("VIỆC|NGƯỜI LÀM|YYYY-MM-DD"),
        "{follow_up}"
    );

    for err in [&err, &withdrawn, &follow_up] {
        for english in [
            "field",
            "Story",
            "purpose",
            "LegalAid",
            "recipient",
            "CommuneUnion",
            "state",
            "withdrawn",
            "TASK",
            "PERSON",
        ] {
            assert!(!err.contains(english), "{english} in {err}");
        }
    }
}

/// Finding G: a device key anywhere under the store's folder (a configuration folder inside
/// it, or the store inside the configuration folder) is refused like one right beside it.
#[test]
fn a_device_key_anywhere_under_the_stores_folder_is_refused() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("data")).unwrap();
    let refused = |out: Output, what: &str| {
        assert_eq!(
            out.status.code(),
            Some(EXIT_USAGE),
            "{what}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--key-beside-store"), "{what}");
    };
    // The configuration folder inside the store's folder.
    let out = env
        .cmd()
        .env("CHUNGTAY_PIN", PIN)
        .env("CHUNGTAY_CONFIG_DIR", env.path("data/config"))
        .args(["--store", "data/club.db", "init", "--name", "Lò Thị Mai"])
        .output()
        .unwrap();
    refused(out, "config folder inside the store's folder");
    assert!(!env.path("data/club.db").exists());
    // The store inside the configuration folder.
    std::fs::create_dir_all(env.path("config")).unwrap();
    let in_config = env.path("config/club.db");
    let out = env.run(&[
        "--store",
        in_config.to_str().unwrap(),
        "init",
        "--name",
        "Lò Thị Mai",
    ]);
    refused(out, "store inside the config folder");
    // A key named in a sub-folder of the store's folder.
    let out = env.run(&[
        "--store",
        "data/club.db",
        "--device-key",
        "data/keys/club.key",
        "init",
        "--name",
        "Lò Thị Mai",
    ]);
    refused(out, "key in a sub-folder");
    // Outside the store's folder: fine.
    env.ok(&["--store", "data/club.db", "init", "--name", "Lò Thị Mai"]);
}

/// Finding G: a device key file that other accounts can read is refused, with how to fix it.
#[cfg(unix)]
#[test]
fn a_device_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.ok(&["--store", "club.db", "init", "--name", "Lò Thị Mai"]);
    let keys = files_under(&env.path("config"));
    std::fs::set_permissions(&keys[0], std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["--store", "club.db", "club", "list"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
}

/// Finding A: `safety duress` and `user add` check the candidate against the PINs (and the
/// duress PIN) with the unlock PIN as the leader's current PIN; a PIN already in use is refused.
#[test]
fn the_duress_pin_is_set_with_the_leaders_pin_and_never_equals_a_users_pin() {
    let env = Env::new();
    env.ok(&["--store", "club.db", "init", "--name", "Lò Thị Mai"]);
    let with_new = |new: &str, args: &[&str]| {
        let mut all = vec!["--store", "club.db"];
        all.extend_from_slice(args);
        env.cmd()
            .env("CHUNGTAY_PIN", PIN)
            .env("CHUNGTAY_NEW_PIN", new)
            .args(all)
            .output()
            .unwrap()
    };
    let out = with_new(PIN, &["safety", "duress"]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{}", stderr(&out));
    let out = with_new("918273", &["safety", "duress"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = with_new(
        "918273",
        &["user", "add", "--name", "Phạm Thị Lan", "--role", "deputy"],
    );
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{}", stderr(&out));
    // The leader's PIN still opens the real store (the duress setting re-wrapped her slot).
    env.ok(&["--store", "club.db", "club", "list"]);
}

// ---- editing records, the auditor's notes, the trail on screen (issue 14) ----------------------

const EXIT_FORBIDDEN: i32 = 9;
const EXIT_DO_NOT_CONTACT: i32 = 11;

impl Env {
    /// Adds a user with `role` and PIN `pin`; returns a function running commands as her.
    fn add_user(&self, role: &str, pin: &str) -> String {
        let out = self.run_stdin(
            &[
                "--pin-stdin",
                "--json",
                "user",
                "add",
                "--name",
                "Hà Thị Ơn",
                "--role",
                role,
            ],
            &format!("{PIN}\n{pin}\n"),
        );
        let user: Value = serde_json::from_str(&succeeded(&["user", "add"], out)).unwrap();
        user["id"].as_str().unwrap().to_owned()
    }

    fn run_as(&self, user: &str, pin: &str, args: &[&str]) -> Output {
        let mut all = vec!["--user", user];
        all.extend_from_slice(args);
        self.cmd()
            .env("CHUNGTAY_PIN", pin)
            .args(all)
            .output()
            .unwrap()
    }

    /// The trail's entries, newest first, as `audit trail --json` gives them.
    fn trail(&self, filters: &[&str]) -> Vec<Value> {
        let mut args = vec!["audit", "trail", "--per-page", "1000"];
        args.extend_from_slice(filters);
        self.json(&args)["entries"].as_array().unwrap().clone()
    }
}

#[test]
fn a_member_edit_changes_only_the_values_given_and_names_them_in_the_trail() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(
        &club,
        "Vi Thị Hoa",
        "thai",
        &["--phone", "0912345678", "--survivor-status", "returnee"],
    );
    let edited = env.json(&[
        "member",
        "edit",
        &hoa,
        "--name",
        "Vi Thị Hòa",
        "--village",
        "Bản Nhài",
        "--phone",
        "0987654321",
    ]);
    assert_eq!(edited["full_name"], "Vi Thị Hòa");
    let shown = env.json(&["member", "show", &hoa])["member"].clone();
    assert_eq!(shown["full_name"], "Vi Thị Hòa");
    assert_eq!(shown["village"], "Bản Nhài");
    assert_eq!(shown["phone"], "0987654321");
    // What was not given stays as it was.
    assert_eq!(shown["birth_year"], 2006);
    assert_eq!(shown["ethnic_group"], "Thái");
    assert_eq!(shown["survivor_status"], "Returnee");
    assert_eq!(shown["safe_to_contact"], true);
    assert_eq!(shown["club_id"], club.as_str());
    // The trail has the update, by field name, never by value; the member's history lists it.
    let history = env.trail(&["--record", &hoa]);
    let update = history
        .iter()
        .find(|e| e["action"] == "update")
        .unwrap_or_else(|| panic!("no update in {history:?}"));
    let mut fields: Vec<&str> = update["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["full_name", "phone", "village"]);
    assert!(history.iter().any(|e| e["action"] == "create"));
    assert!(history.iter().all(|e| e["record_id"] == hoa.as_str()));
    let text = env.ok(&["audit", "trail", "--record", &hoa, "--lang", "en"]);
    assert!(text.contains("full_name, phone, village"), "{text}");
    assert!(
        !text.contains("0987654321") && !text.contains("Bản Nhài"),
        "{text}"
    );

    // Survivor status edited alone; the rest stays.
    env.ok(&[
        "member",
        "edit",
        &hoa,
        "--survivor-status",
        "not-a-survivor",
    ]);
    let shown = env.json(&["member", "show", &hoa])["member"].clone();
    assert_eq!(shown["survivor_status"], "NotASurvivor");
    assert_eq!(shown["full_name"], "Vi Thị Hòa");
}

#[test]
fn do_not_contact_set_after_adding_hides_the_phone_and_blocks_contact() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(&club, "Vi Thị Hoa", "thai", &["--phone", "0912345678"]);
    assert_eq!(
        env.json(&["member", "contact", &hoa])["phone"],
        "0912345678"
    );
    env.ok(&["member", "edit", &hoa, "--do-not-contact"]);
    let shown = env.json(&["member", "show", &hoa])["member"].clone();
    assert_eq!(shown["safe_to_contact"], false);
    assert_eq!(shown["phone"], Value::Null);
    let text = env.ok(&["member", "show", &hoa]);
    assert!(text.contains("(không được liên lạc)"), "{text}");
    assert!(!text.contains("0912345678"), "{text}");
    let list = env.ok(&["member", "list", "--club", &club]);
    assert!(!list.contains("0912345678"), "{list}");
    let out = env.run(&["member", "contact", &hoa]);
    assert_eq!(
        out.status.code(),
        Some(EXIT_DO_NOT_CONTACT),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("0912345678"));
    // Another edit of a do-not-contact member keeps her hidden number; contact allowed again
    // brings it back.
    env.ok(&["member", "edit", &hoa, "--village", "Bản Nhài"]);
    env.ok(&["member", "edit", &hoa, "--contact-ok"]);
    assert_eq!(
        env.json(&["member", "contact", &hoa])["phone"],
        "0912345678"
    );
    // Both at once is a command-line error.
    let out = env.run(&["member", "edit", &hoa, "--do-not-contact", "--contact-ok"]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE), "{}", stderr(&out));
}

#[test]
fn a_bad_value_in_an_edit_is_named_and_changes_nothing() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(&club, "Vi Thị Hoa", "thai", &[]);
    let before = env.json(&["member", "show", &hoa])["member"].clone();
    let entries = env.trail(&["--action", "update"]).len();
    for (args, says) in [
        (vec!["--name", ""], "họ tên (--name)"),
        (
            vec!["--ethnic-group", "Klingon"],
            "dân tộc (--ethnic-group)",
        ),
        (vec!["--name", "Vi\u{1b}[2J"], "họ tên (--name)"),
    ] {
        let mut all = vec!["member", "edit", hoa.as_str()];
        all.extend_from_slice(&args);
        let out = env.run(&all);
        assert_eq!(out.status.code(), Some(EXIT_INVALID), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    let after = env.json(&["member", "show", &hoa])["member"].clone();
    assert_eq!(before, after);
    assert_eq!(env.trail(&["--action", "update"]).len(), entries);
    // An edit that changes nothing is a command-line error, and writes nothing either.
    for cmd in ["member", "meeting", "club"] {
        let out = env.run(&[cmd, "edit", &hoa]);
        assert_eq!(
            out.status.code(),
            Some(EXIT_USAGE),
            "{cmd}: {}",
            stderr(&out)
        );
    }
    assert_eq!(env.trail(&["--action", "update"]).len(), entries);
    // A member that does not exist.
    let out = env.run(&[
        "member",
        "edit",
        "00000000-0000-4000-8000-000000000000",
        "--name",
        "X",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_NOT_FOUND), "{}", stderr(&out));
}

#[test]
fn meeting_and_club_edits_keep_what_is_not_given() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(&club, "Vi Thị Hoa", "thai", &[]);
    let mai = env.add_member(&club, "Lò Thị Mai", "thai", &[]);
    let today = Utc::now().date_naive().to_string();
    let meeting = env.json(&[
        "meeting",
        "add",
        "--club",
        &club,
        "--date",
        &today,
        "--topic",
        "Nhận diện lừa đảo việc làm qua mạng",
        "--place",
        "Nhà văn hóa bản Chai",
        "--facilitator",
        "Lò Thị Mai",
        "--attendee",
        &hoa,
        "--notes",
        "Ghi chép",
        "--follow-up",
        "Thăm gia đình chị Hoa|Hà Thị Ơn|2030-01-05",
    ]);
    let id = meeting["id"].as_str().unwrap();
    // Late attendance, a follow-up done, one more follow-up.
    env.ok(&[
        "meeting",
        "edit",
        id,
        "--attendee",
        &mai,
        "--attendee",
        &hoa,
        "--done",
        "1",
        "--follow-up",
        "Gọi cán bộ xã|Lò Thị Mai|2030-02-01",
    ]);
    let shown = env.json(&["meeting", "show", id]);
    assert_eq!(shown["attendees"].as_array().unwrap().len(), 2);
    assert_eq!(shown["follow_ups"][0]["done"], true);
    assert_eq!(shown["follow_ups"][1]["done"], false);
    assert_eq!(shown["follow_ups"][1]["task"], "Gọi cán bộ xã");
    assert_eq!(shown["topic"], "Nhận diện lừa đảo việc làm qua mạng");
    assert_eq!(shown["notes"], "Ghi chép");
    assert_eq!(shown["date"], today.as_str());
    let text = env.ok(&["meeting", "show", id]);
    assert!(text.contains("1. Thăm gia đình chị Hoa"), "{text}");
    // A follow-up that is not there, and a member of no club: refused, nothing changes.
    let out = env.run(&["meeting", "edit", id, "--done", "3", "--guests", "9"]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{}", stderr(&out));
    assert!(stderr(&out).contains("--done"), "{}", stderr(&out));
    let out = env.run(&[
        "meeting",
        "edit",
        id,
        "--attendee",
        "00000000-0000-4000-8000-000000000000",
        "--guests",
        "9",
    ]);
    assert!(!out.status.success());
    env.ok(&["meeting", "edit", id, "--remove-attendee", &hoa]);
    let shown = env.json(&["meeting", "show", id]);
    assert_eq!(shown["guest_count"], 0);
    assert_eq!(shown["attendees"], serde_json::json!([mai]));

    // The club: a new commune, the rest kept; the village cleared on request.
    env.ok(&["club", "edit", &club, "--commune", "Trung Lý"]);
    let c = env.json(&["club", "list"])[0].clone();
    assert_eq!(c["commune"], "Trung Lý");
    assert_eq!(c["province"], "Thanh Hóa");
    assert_eq!(c["village"], "Bản Chai");
    env.ok(&["club", "edit", &club, "--no-village"]);
    let c = env.json(&["club", "list"])[0].clone();
    assert_eq!(c["village"], Value::Null);
    assert_eq!(c["commune"], "Trung Lý");
    let updates = env.trail(&["--record", &club, "--action", "update"]);
    assert_eq!(updates.len(), 2, "{updates:?}");
}

#[test]
fn an_auditor_annotates_and_reads_the_trail_but_cannot_edit() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(
        &club,
        "Vi Thị Hoa",
        "thai",
        &["--phone", "0912345678", "--survivor-status", "survivor"],
    );
    let auditor = env.add_user("auditor", "583920");
    let deputy = env.add_user("deputy", "691028");
    let before = env.json(&["member", "show", &hoa])["member"].clone();
    for (args, code) in [
        (
            vec!["member", "edit", hoa.as_str(), "--do-not-contact"],
            EXIT_FORBIDDEN,
        ),
        (
            vec!["club", "edit", club.as_str(), "--name", "X"],
            EXIT_FORBIDDEN,
        ),
    ] {
        let out = env.run_as(&auditor, "583920", &args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("Vai trò của bạn không được phép"),
            "{}",
            stderr(&out)
        );
    }
    let after = env.json(&["member", "show", &hoa])["member"].clone();
    assert_eq!(before["safe_to_contact"], after["safe_to_contact"]);
    // Her one write: a note, in the trail as an annotation of the member.
    let out = env.run_as(
        &auditor,
        "583920",
        &[
            "--json",
            "audit",
            "annotate",
            "--kind",
            "member",
            &hoa,
            "--note",
            "Chưa có giấy đồng ý ký tay",
        ],
    );
    let note: Value = serde_json::from_str(&succeeded(&["audit", "annotate"], out)).unwrap();
    assert_eq!(note["record_id"], hoa.as_str());
    let notes = env.json(&["audit", "notes", "--kind", "member", &hoa]);
    assert_eq!(notes[0]["text"], "Chưa có giấy đồng ý ký tay");
    assert_eq!(notes[0]["stamp"]["created_by"], auditor.as_str());
    let out = env.run_as(
        &auditor,
        "583920",
        &["--json", "audit", "trail", "--by", &auditor],
    );
    let trail: Value = serde_json::from_str(&succeeded(&["audit", "trail"], out)).unwrap();
    let entries = trail["entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["user_id"] == auditor.as_str()));
    assert!(entries.iter().any(|e| e["action"] == "annotate"));
    // An empty note is refused, naming the flag; annotating is the auditor's alone.
    let out = env.run_as(
        &auditor,
        "583920",
        &[
            "audit", "annotate", "--kind", "member", &hoa, "--note", "  ",
        ],
    );
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{}", stderr(&out));
    assert!(stderr(&out).contains("--note"), "{}", stderr(&out));
    let out = env.run(&[
        "audit", "annotate", "--kind", "member", &hoa, "--note", "Tự ghi",
    ]);
    assert_eq!(out.status.code(), Some(EXIT_FORBIDDEN), "{}", stderr(&out));
    // A deputy may not read the trail: the core's refusal.
    let out = env.run_as(&deputy, "691028", &["audit", "trail"]);
    assert_eq!(out.status.code(), Some(EXIT_FORBIDDEN), "{}", stderr(&out));
    // A deputy edits, and her own edit is in the trail under her id.
    let out = env.run_as(
        &deputy,
        "691028",
        &["member", "edit", &hoa, "--village", "Bản Nhài"],
    );
    succeeded(&["member", "edit"], out);
    let mine = env.trail(&["--by", &deputy, "--action", "update"]);
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["record_id"], hoa.as_str());
    let fields = mine[0]["fields"].as_array().unwrap();
    assert_eq!(
        fields,
        &[Value::from("village")],
        "the status she cannot read is kept"
    );
    let shown = env.json(&["member", "show", &hoa])["member"].clone();
    assert_eq!(shown["survivor_status"], "Survivor");
    assert_eq!(shown["village"], "Bản Nhài");
}

#[test]
fn the_trail_is_paged_newest_first() {
    let env = Env::new();
    let club = env.with_club();
    let mut members = Vec::new();
    for name in ["Vi Thị Hoa", "Lò Thị Mai", "Hà Thị Ơn"] {
        members.push(env.add_member(&club, name, "thai", &[]));
    }
    // Every command adds its own unlock to the trail: page through what does not grow.
    let all = env.json(&["audit", "trail", "--per-page", "1000"]);
    let seqs: Vec<i64> = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");
    assert_eq!(
        all["entries"][0]["action"], "unlock",
        "this very command's unlock"
    );
    let page = |n: &str| {
        env.json(&[
            "audit",
            "trail",
            "--action",
            "create",
            "--per-page",
            "3",
            "--page",
            n,
        ])
    };
    let first = page("1");
    assert_eq!(
        (first["total"].as_u64(), first["pages"].as_u64()),
        (Some(4), Some(2))
    );
    let ids = |p: &Value| -> Vec<String> {
        p["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["record_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest: Vec<String> = members.iter().rev().cloned().collect();
    assert_eq!(ids(&first), newest);
    assert_eq!(ids(&page("2")), vec![club]);
    assert!(ids(&page("3")).is_empty());
    let text = env.ok(&[
        "audit",
        "trail",
        "--action",
        "create",
        "--per-page",
        "3",
        "--lang",
        "en",
    ]);
    assert!(text.contains("Page 1 of 2, 4 entries."), "{text}");
    let text = env.ok(&["audit", "checkpoints", "--lang", "en"]);
    assert!(text.contains("No checkpoints yet"), "{text}");
    let out = env.run(&["audit", "trail", "--page", "0"]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
    let out = env.run(&["audit", "trail", "--action", "nonsense"]);
    assert_eq!(out.status.code(), Some(EXIT_USAGE));
}

#[test]
fn a_draft_referral_is_edited_until_its_consent_covers_it_then_no_more() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(&club, "Vi Thị Hoa", "thai", &["--phone", "0912345678"]);
    let consent = env.json(&[
        "consent",
        "add",
        "--member",
        &hoa,
        "--purpose",
        "loans",
        "--field",
        "name",
        "--field",
        "need",
    ]);
    let consent = consent["id"].as_str().unwrap();
    let draft = env.json(&[
        "referral",
        "create",
        "--member",
        &hoa,
        "--service",
        "loans",
        "--share",
        "name",
        "--share",
        "phone",
        "--note",
        "Vay vốn nhỏ",
    ]);
    let id = draft["id"].as_str().unwrap();
    // The consent attached; the phone it does not cover is still shared: not ready.
    env.ok(&["referral", "edit", id, "--consent", consent]);
    let out = env.run(&["referral", "ready", id]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{}", stderr(&out));
    // The list given replaces the old one; the note and the consent stay.
    let edited = env.json(&["referral", "edit", id, "--share", "name", "--share", "need"]);
    assert_eq!(edited["consent_id"], consent);
    assert_eq!(edited["note"], "Vay vốn nhỏ");
    assert_eq!(edited["shared_fields"], serde_json::json!(["Name", "Need"]));
    assert_eq!(env.json(&["referral", "ready", id])["state"], "Ready");
    // Once ready it is no longer a draft: the core refuses, nothing changes.
    let out = env.run(&["referral", "edit", id, "--urgency", "urgent"]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{}", stderr(&out));
    assert_eq!(env.json(&["referral", "show", id])["urgency"], "Routine");
}

#[test]
fn a_members_history_holds_her_consents_support_and_referrals_and_no_one_elses() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(&club, "Vi Thị Hoa", "thai", &[]);
    let mai = env.add_member(&club, "Lò Thị Mai", "thai", &[]);
    let consent = env.json(&[
        "consent",
        "add",
        "--member",
        &hoa,
        "--purpose",
        "loans",
        "--field",
        "name",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let support = env.json(&[
        "support",
        "add",
        "--member",
        &hoa,
        "--kind",
        "livestock",
        "--quantity",
        "2",
        "--unit",
        "con lợn",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let referral = env.json(&[
        "referral",
        "create",
        "--member",
        &hoa,
        "--service",
        "loans",
        "--share",
        "name",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.ok(&["member", "edit", &hoa, "--village", "Bản Nhài"]);
    env.ok(&["member", "edit", &mai, "--village", "Bản Nhài"]);
    let history = env.json(&["member", "history", &hoa, "--per-page", "1000"]);
    let entries = history["entries"].as_array().unwrap();
    let about = |id: &str, action: &str| {
        entries
            .iter()
            .any(|e| e["record_id"] == id && e["action"] == action)
    };
    assert!(
        about(&hoa, "create") && about(&hoa, "update"),
        "{entries:?}"
    );
    assert!(about(&consent, "create"), "{entries:?}");
    assert!(about(&support, "create"), "{entries:?}");
    assert!(about(&referral, "create"), "{entries:?}");
    assert!(entries.iter().all(|e| e["record_id"] != mai.as_str()));
    assert!(entries.iter().all(|e| e["action"] != "unlock"));
    // The trail is not the deputy's to read.
    let deputy = env.add_user("deputy", "691028");
    let out = env.run_as(&deputy, "691028", &["member", "history", &hoa]);
    assert_eq!(out.status.code(), Some(EXIT_FORBIDDEN), "{}", stderr(&out));
}

/// A commune's register as Vietnamese Windows saves a CSV: Windows-1258, tones as combining
/// marks ("Thị" is T h i and 0xF2, the dot below), a title above the header.
fn register_1258() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"DANH SACH HOI VIEN,,,,\r\n");
    out.extend_from_slice(
        b"STT,H\xF4\xCC va\xCC t\xEAn,N\xE3m sinh,D\xE2n t\xF4\xF2c,Th\xF4n/ba\xD2n\r\n",
    );
    // Lò Thị Mai, 1990, Thái, Bản Hua
    out.extend_from_slice(b"1,Lo\xCC Thi\xF2 Mai,1990,Tha\xECi,Ba\xD2n Hua\r\n");
    // Giàng Thị Dợ, 1994, H'Mông, Bản Phố
    out.extend_from_slice(b"2,Gia\xCCng Thi\xF2 D\xF5\xF2,1994,H'M\xF4ng,Ba\xD2n Ph\xF4\xEC\r\n");
    // A year in the future: refused with its line.
    out.extend_from_slice(b"3,\xD0\xE3\xF2ng Thi\xF2 S\xFD\xD2,2090,Dao,Ba\xD2n Ph\xF4\xEC\r\n");
    out
}

#[test]
fn a_register_in_windows_1258_imports_after_a_dry_run_and_never_twice() {
    let env = Env::new();
    let club = env.with_club();
    std::fs::write(env.path("register.csv"), register_1258()).unwrap();

    let dry = env.json(&[
        "member",
        "import",
        "register.csv",
        "--club",
        &club,
        "--dry-run",
    ]);
    assert_eq!(dry["encoding"], "windows-1258");
    assert_eq!(dry["header_line"], 2);
    assert_eq!(dry["ready"], 2);
    assert_eq!(dry["rejected"][0]["line"], 5);
    assert_eq!(dry["rejected"][0]["field"], "birth_year");
    assert_eq!(dry["added"].as_array().unwrap().len(), 0);
    let listed = env.json(&["member", "list", "--club", &club]);
    assert_eq!(listed.as_array().unwrap().len(), 0, "a dry run wrote");
    let text = env.ok(&[
        "member",
        "import",
        "register.csv",
        "--club",
        &club,
        "--dry-run",
    ]);
    assert!(text.contains("dòng 5: Năm sinh"), "{text}");
    assert!(text.contains("Chưa ghi gì"), "{text}");

    let done = env.json(&["member", "import", "register.csv", "--club", &club]);
    assert_eq!(done["added"].as_array().unwrap().len(), 2);
    // Stored in NFC, found without diacritics.
    let found = env.json(&["member", "search", "thi mai"]);
    assert_eq!(found[0]["full_name"], "Lò Thị Mai");
    assert_eq!(found[0]["ethnic_group"], "Thái");
    let found = env.json(&["member", "search", "giang"]);
    assert_eq!(found[0]["full_name"], "Giàng Thị Dợ");
    assert_eq!(found[0]["ethnic_group"], "Mông");
    let created: Vec<Value> = env
        .trail(&["--action", "create"])
        .into_iter()
        .filter(|e| e["kind"] == "member")
        .collect();
    assert_eq!(created.len(), 2, "a trail entry per member: {created:?}");

    let again = env.json(&["member", "import", "register.csv", "--club", &club]);
    assert_eq!(again["added"].as_array().unwrap().len(), 0);
    assert_eq!(again["duplicates"].as_array().unwrap().len(), 2);
    assert_eq!(
        env.json(&["member", "list", "--club", &club])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_file_that_is_not_a_member_list_is_refused_whole_and_nothing_is_written() {
    let env = Env::new();
    let club = env.with_club();
    let check = |file: &str, bytes: &[u8], args: &[&str], code: i32, says: &str| {
        std::fs::write(env.path(file), bytes).unwrap();
        let mut all = vec!["member", "import", file, "--club", &club];
        all.extend_from_slice(args);
        let out = env.run(&all);
        assert_eq!(out.status.code(), Some(code), "{file}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{file}: {}", stderr(&out));
    };
    let garbage: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    check(
        "junk.xlsx",
        &garbage,
        &[],
        EXIT_INVALID,
        "Không đọc được tệp",
    );
    check(
        "junk.csv",
        &garbage,
        &[],
        EXIT_INVALID,
        "Không tìm thấy dòng tiêu đề",
    );
    check("list.ods", b"x", &[], EXIT_INVALID, ".xlsx");
    check(
        "no-group.csv",
        "Họ và tên,Thôn\nLò Thị Mai,Bản Hua\n".as_bytes(),
        &[],
        EXIT_INVALID,
        "--ethnic-group",
    );
    check(
        "bad-map.csv",
        "Họ và tên,Thôn\nLò Thị Mai,Bản Hua\n".as_bytes(),
        &["--map", "nickname=Tên"],
        EXIT_INVALID,
        "--map",
    );
    check(
        "enc.csv",
        "Họ và tên,Thôn\nLò Thị Mai,Bản Hua\n".as_bytes(),
        &["--encoding", "koi8-r"],
        EXIT_INVALID,
        "koi8-r",
    );
    let out = env.run(&["--json", "member", "import", "junk.xlsx", "--club", &club]);
    let err: Value = serde_json::from_str(&stderr(&out)).unwrap();
    assert_eq!(err["error"]["kind"], "import");
    assert_eq!(
        env.json(&["member", "list", "--club", &club])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // A list without an ethnic group column goes in with one given for all.
    let done = env.json(&[
        "member",
        "import",
        "no-group.csv",
        "--club",
        &club,
        "--ethnic-group",
        "H'Mông",
    ]);
    assert_eq!(done["added"].as_array().unwrap().len(), 1);
}

#[test]
fn an_export_has_no_names_unless_the_leader_asks_and_reads_back_as_an_import() {
    let env = Env::new();
    let club = env.with_club();
    env.add_member(
        &club,
        "Giàng Thị Dợ",
        "Mông",
        &["--phone", "0912345678", "--survivor-status", "survivor"],
    );
    env.add_member(
        &club,
        "Lò Thị Mai",
        "Thái",
        &["--do-not-contact", "--phone", "0987654321"],
    );

    env.ok(&["member", "export", "--club", &club, "--out", "plain.csv"]);
    let plain = std::fs::read_to_string(env.path("plain.csv")).unwrap();
    assert!(
        !plain.contains("Giàng") && !plain.contains("Lò Thị"),
        "{plain}"
    );
    assert!(!plain.contains("0912345678"), "{plain}");
    assert!(
        plain.contains("Mông") && plain.contains("Bản Chai"),
        "{plain}"
    );

    env.ok(&[
        "member",
        "export",
        "--club",
        &club,
        "--out",
        "named.xlsx",
        "--with-names",
    ]);
    let sheet = xlsx_part(&env.path("named.xlsx"), "xl/sharedStrings.xml");
    assert!(
        sheet.contains("Giàng Thị Dợ") && sheet.contains("0912345678"),
        "{sheet}"
    );
    // Survivor status is in neither file, not even as a column.
    for text in [&plain, &sheet] {
        for word in ["Tình trạng", "nạn nhân", "urvivor", "Nạn nhân"] {
            assert!(!text.contains(word), "{word} in {text}");
        }
    }
    // Whoever must not be contacted has no number in any file.
    assert!(!sheet.contains("0987654321"), "{sheet}");
    let trail = env.json(&["audit", "trail", "--action", "export"]);
    let fields: Vec<String> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_owned())
        })
        .collect();
    assert!(fields.contains(&"names".to_owned()), "{trail}");

    // The named export is the list another club of the store can take in: the same people, so
    // every row is a likely duplicate unless allowed.
    let other = env.json(&[
        "club",
        "add",
        "--name",
        "CLB gia đình 5 có 3 sạch",
        "--province",
        "Thanh Hóa",
        "--commune",
        "Pù Nhi",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = env.json(&[
        "member",
        "import",
        "named.xlsx",
        "--club",
        &other,
        "--dry-run",
    ]);
    assert_eq!(back["duplicates"].as_array().unwrap().len(), 2, "{back}");
    assert!(back["rejected"].as_array().unwrap().is_empty(), "{back}");
    let added = env.json(&[
        "member",
        "import",
        "named.xlsx",
        "--club",
        &other,
        "--allow-duplicates",
    ]);
    assert_eq!(added["added"].as_array().unwrap().len(), 2);
    let moved = env.json(&["member", "list", "--club", &other]);
    let mai = moved
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["full_name"] == "Lò Thị Mai")
        .unwrap();
    assert_eq!(mai["safe_to_contact"], false);

    // A deputy takes the list without names only.
    let deputy = env.add_user("deputy", "583920");
    let as_deputy = |args: &[&str]| env.run_as(&deputy, "583920", args);
    let out = as_deputy(&[
        "member",
        "export",
        "--club",
        &club,
        "--out",
        "d.csv",
        "--with-names",
    ]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    assert!(!env.path("d.csv").exists());
    let out = as_deputy(&["member", "export", "--club", &club, "--out", "d.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A list made in a real spreadsheet program: LibreOffice turns a CSV into an XLSX, which the
/// import reads (needs `soffice`).
#[test]
#[ignore = "needs LibreOffice; run by scripts/test-all when installed"]
fn an_xlsx_written_by_libreoffice_imports() {
    let env = Env::new();
    let club = env.with_club();
    std::fs::write(
        env.path("list.csv"),
        "STT,Họ và tên,Năm sinh,Dân tộc,Thôn/bản,Số điện thoại\n\
         1,Giàng Thị Dợ,1994,Mông,Bản Phố,0912345678\n\
         2,Lò Thị Mai,1990,Thái,Bản Hua,\n",
    )
    .unwrap();
    let profile = format!("file://{}", env.path("lo-profile").display());
    let out = Command::new("soffice")
        .current_dir(env.path(""))
        .env("HOME", env.dir.path())
        .arg(format!("-env:UserInstallation={profile}"))
        .args([
            "--headless",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "xlsx",
            "--outdir",
            "lo",
            "list.csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "soffice: {}", stderr(&out));
    assert!(
        env.path("lo/list.xlsx").exists(),
        "no XLSX from soffice: {}",
        stderr(&out)
    );
    let done = env.json(&["member", "import", "lo/list.xlsx", "--club", &club]);
    assert_eq!(done["added"].as_array().unwrap().len(), 2, "{done}");
    let found = env.json(&["member", "search", "giang thi do"]);
    assert_eq!(found[0]["full_name"], "Giàng Thị Dợ");
    // LibreOffice read the phone as a number and dropped its 0; the import puts it back.
    assert_eq!(found[0]["phone"], "0912345678");
}

#[test]
fn an_edit_leaves_one_update_in_the_trail_and_no_read() {
    let env = Env::new();
    let club = env.with_club();
    let hoa = env.add_member(&club, "Vi Thị Hoa", "thai", &["--phone", "0912345678"]);
    let today = Utc::now().date_naive().to_string();
    let meeting = env.json(&[
        "meeting",
        "add",
        "--club",
        &club,
        "--date",
        &today,
        "--topic",
        "Nhận diện lừa đảo việc làm qua mạng",
        "--place",
        "Nhà văn hóa bản Chai",
        "--facilitator",
        "Lò Thị Mai",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let draft = env.json(&[
        "referral",
        "create",
        "--member",
        &hoa,
        "--service",
        "loans",
        "--share",
        "name",
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.ok(&["member", "edit", &hoa, "--village", "Bản Nhài"]);
    env.ok(&["meeting", "edit", &meeting, "--guests", "4"]);
    env.ok(&["referral", "edit", &draft, "--urgency", "urgent"]);
    for id in [&hoa, &meeting, &draft] {
        let actions: Vec<String> = env
            .trail(&["--record", id])
            .iter()
            .filter(|e| e["record_id"] == id.as_str())
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect();
        // Newest first: the edit's update, then the create. No read.
        assert_eq!(actions, ["update", "create"], "{id}");
    }
}

#[test]
fn the_leader_resets_a_forgotten_pin_then_removes_the_user() {
    let env = Env::new();
    env.with_club();
    let added = env.run_stdin(
        &[
            "--pin-stdin",
            "--json",
            "user",
            "add",
            "--name",
            "Phạm Thị Lan",
            "--role",
            "deputy",
        ],
        &format!("{PIN}\n583920\n"),
    );
    let deputy: Value = serde_json::from_str(&succeeded(&["user", "add"], added)).unwrap();
    let deputy = deputy["id"].as_str().unwrap().to_owned();
    let leader = env.json(&["users"])["users"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let as_user = |id: &str, pin: &str, args: &[&str]| {
        let mut all = vec!["--user", id];
        all.extend_from_slice(args);
        env.cmd()
            .env("CHUNGTAY_PIN", pin)
            .env("CHUNGTAY_NEW_PIN", "640218")
            .args(all)
            .output()
            .unwrap()
    };

    // The deputy may do neither, to anyone; nothing changes.
    for args in [
        vec!["user", "reset-pin", leader.as_str()],
        vec!["user", "remove", leader.as_str(), "--yes"],
    ] {
        let out = as_user(&deputy, "583920", &args);
        assert_eq!(out.status.code(), Some(9), "{args:?}: {}", stderr(&out));
    }
    assert!(env.run(&["users"]).status.success());
    assert!(as_user(&leader, PIN, &["club", "list"]).status.success());

    // Her new PIN from the second line of --pin-stdin; the leader's own PIN on the first.
    let wrong = env.run_stdin(
        &["--pin-stdin", "user", "reset-pin", &deputy],
        "385027\n640218\n",
    );
    assert_eq!(wrong.status.code(), Some(EXIT_AUTH), "{}", stderr(&wrong));
    let own = env.run_stdin(
        &["--pin-stdin", "--lang", "en", "user", "reset-pin", &leader],
        &format!("{PIN}\n640218\n"),
    );
    assert_eq!(own.status.code(), Some(EXIT_INVALID), "{}", stderr(&own));
    assert!(
        stderr(&own).contains("is your own account"),
        "{}",
        stderr(&own)
    );
    let reset = env.run_stdin(
        &["--pin-stdin", "--json", "user", "reset-pin", &deputy],
        &format!("{PIN}\n640218\n"),
    );
    let reset: Value = serde_json::from_str(&succeeded(&["user", "reset-pin"], reset)).unwrap();
    assert_eq!(reset["pin_reset"], deputy.as_str());
    let out = as_user(&deputy, "583920", &["club", "list"]);
    assert_eq!(
        out.status.code(),
        Some(EXIT_AUTH),
        "the old PIN still opens"
    );
    assert!(
        as_user(&deputy, "640218", &["club", "list"])
            .status
            .success()
    );
    let resets: Vec<Value> = env
        .trail(&["--action", "pin-change", "--record", &deputy])
        .into_iter()
        .filter(|e| e["user_id"] == leader.as_str())
        .collect();
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(resets[0]["fields"], serde_json::json!(["reset"]));

    // Removal asks for --yes; then her PIN opens nothing, and the trail still verifies.
    let out = env.run(&["user", "remove", &deputy]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{}", stderr(&out));
    let own = env.run(&["user", "remove", &leader, "--yes"]);
    assert_eq!(own.status.code(), Some(EXIT_INVALID), "{}", stderr(&own));
    assert_eq!(
        env.json(&["user", "remove", &deputy, "--yes"])["removed"],
        deputy.as_str()
    );
    let users = env.json(&["users"])["users"].as_array().unwrap().clone();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["id"], leader.as_str());
    let out = as_user(&deputy, "640218", &["club", "list"]);
    assert_eq!(out.status.code(), Some(EXIT_AUTH), "{}", stderr(&out));
    env.ok(&["audit", "verify"]);
    let removed = env.trail(&["--action", "delete", "--record", &deputy]);
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["user_id"], leader.as_str());
    assert_eq!(removed[0]["kind"], "user");
}

/// A "file" with no end (a pipe, a device) is read only up to the limit, then refused.
#[cfg(unix)]
#[test]
fn an_endless_file_is_read_only_up_to_the_limit() {
    let env = Env::new();
    let club = env.with_club();
    std::os::unix::fs::symlink("/dev/zero", env.path("zero.csv")).unwrap();
    let out = env.run(&["--json", "member", "import", "zero.csv", "--club", &club]);
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{}", stderr(&out));
    let err: Value = serde_json::from_str(&stderr(&out)).unwrap();
    assert_eq!(err["error"]["kind"], "import");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("20 MB"),
        "{err}"
    );
}
