//! The timeline page (`bg95-emu view`, `run --html`): made from real runs of scenarios, and
//! checked in a real browser — headless Chromium loads the file, its script lays out the
//! lanes without a console message, the DOM has the lanes, the fault marker and the failed
//! step, and a screenshot is written as a test artifact (`<target>/test-artifacts/`).
//! Without Chromium the browser test says so and skips (`.ci/run` installs it).
//! `BG95_DOCS_SCREENSHOT=1` also copies the screenshot to `docs/images/timeline.png`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bg95_emu::scenario::runner::{self, TranscriptTarget};
use bg95_emu::scenario::{Expect, Expectation, Scenario, StepKind};

fn repo() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    repo.canonicalize().unwrap_or(repo)
}

fn bg95(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bg95-emu"))
        .args(args)
        .output()
        .unwrap()
}

/// The shipped scenario with a fault (a data connection reset after 300 KB), its last
/// expectation changed to a wrong length so the run fails there: a page with a fault
/// marker, data bands, errors and a failed step.
fn failing_reset_scenario() -> Scenario {
    let mut scenario = Scenario::load(&repo().join("scenarios/get-reset-after-300k.toml")).unwrap();
    let last = scenario.steps.last_mut().unwrap();
    assert!(
        matches!(&last.kind, StepKind::Expect(Expectation { expect: Expect::Line(line), .. }) if line == "+QFTPLEN: 0,307200"),
        "the shipped scenario changed: {last:?}"
    );
    last.kind = StepKind::Expect(Expectation {
        expect: Expect::Line("+QFTPLEN: 0,409600".into()),
        timeout: Duration::from_millis(500),
        not_before: None,
    });
    // Shown in the page (its folders were resolved when it loaded): as a reader of the
    // README types it from the repository's root, not this machine's absolute path.
    scenario.path = PathBuf::from("scenarios/get-reset-after-300k.toml");
    scenario
}

/// Run it, recording the transcript, and write its page.
fn failing_page(dir: &Path) -> PathBuf {
    let scenario = failing_reset_scenario();
    let transcript = dir.join("get-reset.txt");
    let outcome = runner::run_scenario_recorded(
        &scenario,
        None,
        Some(&TranscriptTarget::File(transcript.clone())),
    );
    assert!(!outcome.passed(), "{outcome:?}");
    let text = std::fs::read_to_string(&transcript).unwrap();
    let timeline = bg95_emu::view::run_timeline(&scenario, &outcome, &text).unwrap();
    let page = dir.join("get-reset.html");
    bg95_emu::view::write_page(&timeline, &page).unwrap();
    page
}

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BG95_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Run headless Chromium on `page` (with a `#fragment` when not empty) with `extra`
/// arguments (a fresh profile, no network services); its stdout and stderr. Killed after
/// 60 s.
fn run_chromium(
    chromium: &Path,
    page: &Path,
    fragment: &str,
    extra: &[String],
) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}{fragment}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `<target>/test-artifacts`, beside the test binary's `deps` folder.
fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The elements of `dom` whose opening tag contains `needle`: their opening tags.
fn tags_with<'a>(dom: &'a str, needle: &str) -> Vec<&'a str> {
    dom.match_indices(needle)
        .filter_map(|(i, _)| {
            let start = dom[..i].rfind('<')?;
            let end = i + dom[i..].find('>')?;
            Some(&dom[start..=end])
        })
        .collect()
}

/// The pixel value of `prop` in a tag's style attribute (`top: 123px;`).
fn style_px(tag: &str, prop: &str) -> Option<f64> {
    let style = tag.split("style=\"").nth(1)?.split('"').next()?;
    style.split(';').find_map(|decl| {
        let (k, v) = decl.split_once(':')?;
        (k.trim() == prop).then(|| v.trim().trim_end_matches("px").parse().ok())?
    })
}

#[test]
fn chromium_loads_the_page_of_a_failed_run_with_lanes_fault_and_failed_step() {
    let dir = tempfile::tempdir().unwrap();
    let page = failing_page(dir.path());
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch.
    assert!(!html.contains("https://") && !html.contains("http://") && !html.contains("src="));
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED: the browser check needs Chromium (Debian package `chromium`, or \
             BG95_CHROMIUM=/path/to/chrome); the page was built: {}",
            page.display()
        );
        return;
    };
    let (dom, log) = run_chromium(&chromium, &page, "", &["--dump-dom".into()]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    // The page's own error catcher marks the root element.
    let root = tags_with(&dom, "html lang=");
    assert!(!root[0].contains("data-script-errors"), "{}", root[0]);

    // The script laid the rows out on the time axis.
    let main = tags_with(&dom, "id=\"timeline\"");
    assert_eq!(main.len(), 1, "{dom}");
    assert!(main[0].contains("data-layout=\"done\""), "{}", main[0]);
    let laid: usize = main[0]
        .split("data-rows-laid=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(laid > 20, "{laid} rows laid out");
    let rows = tags_with(&dom, "class=\"row ");
    let tops: Vec<f64> = rows.iter().filter_map(|t| style_px(t, "top")).collect();
    assert_eq!(tops.len(), laid, "every visible row has a place");
    assert!(
        tops.windows(2).all(|w| w[0] < w[1]),
        "rows go down in time order: {tops:?}"
    );
    // Idle gaps compressed (the default): the failed step's wait (500 ms after the command,
    // less the moment its answer took) is a marked break.
    assert!(!tags_with(&dom, "class=\"gap\"").is_empty(), "{dom}");
    let quiet: Vec<u64> = dom
        .split(" later ⋯")
        .filter_map(|before| {
            before
                .rsplit("⋯ ")
                .next()?
                .strip_suffix(" ms")?
                .parse()
                .ok()
        })
        .collect();
    assert!(quiet.iter().any(|ms| (400..=500).contains(ms)), "{quiet:?}");
    assert!(tops[tops.len() - 1] < 2000.0, "{tops:?}");

    // Zoomed in to 10 px/ms without compression (the view in the address): the wait is
    // drawn to scale.
    let (zoomed, log) = run_chromium(
        &chromium,
        &page,
        "#zoom=10&compress=0",
        &["--dump-dom".into()],
    );
    assert!(!log.contains(":CONSOLE"), "{log}");
    assert!(tags_with(&zoomed, "class=\"gap\"").is_empty());
    let zoomed_tops: Vec<f64> = tags_with(&zoomed, "class=\"row ")
        .iter()
        .filter_map(|t| style_px(t, "top"))
        .collect();
    let (n, last) = (zoomed_tops.len(), zoomed_tops[zoomed_tops.len() - 1]);
    assert!(last - zoomed_tops[n - 2] >= 4_000.0, "{zoomed_tops:?}");

    // The three lanes.
    for lane in ["host", "module", "server"] {
        assert_eq!(
            tags_with(&dom, &format!("data-lane=\"{lane}\"")).len(),
            1,
            "lane {lane}"
        );
        assert_eq!(
            tags_with(&dom, &format!("class=\"lifeline {lane}\"")).len(),
            1
        );
    }
    // The fault marker, with its name, trigger and action.
    let faults = tags_with(&dom, "class=\"row k-fault");
    assert_eq!(faults.len(), 1, "{dom}");
    assert!(style_px(faults[0], "top").is_some());
    assert!(dom.contains("fault “get-rst”"));
    assert!(dom.contains("transfer download after 307200 bytes"));
    // Errors in red with the application note's meaning.
    assert!(dom.contains("607: data connection closed"));
    assert!(!tags_with(&dom, "class=\"row k-urc seg-hm rtl error").is_empty());
    // Data bands laid out with a height, the failed step's band and card.
    for kind in ["k-datamode", "k-dataconnection", "k-failure"] {
        let bands = tags_with(&dom, &format!("class=\"bandbg {kind}"));
        assert_eq!(bands.len(), 1, "{kind}");
        assert!(
            style_px(bands[0], "height").is_some_and(|h| h > 10.0),
            "{}",
            bands[0]
        );
    }
    assert!(dom.contains("class=\"failure-card\""));
    assert!(dom.contains("a line \"+QFTPLEN: 0,409600\" within 500 ms"));
    assert!(dom.contains("+QFTPLEN: 0,307200"));

    // The screenshot, as an artifact (and for the README when asked).
    let shot = artifacts().join("timeline.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &chromium,
        &page,
        "",
        &[
            "--window-size=1400,1440".into(),
            format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
    if std::env::var_os("BG95_DOCS_SCREENSHOT").is_some() {
        std::fs::copy(&shot, repo().join("docs/images/timeline.png")).unwrap();
    }
}

const WRONG_ANSWER: &str = r#"name = "expects the wrong signal quality"
[[step]]
line = "ATE0"
[[step]]
expect = "OK"
[[step]]
line = "AT+CSQ"
[[step]]
expect = "+CSQ: 99,99"
timeout = "300ms"
"#;

#[test]
fn run_html_writes_pages_for_failed_scenarios_linked_from_junit() {
    let dir = tempfile::tempdir().unwrap();
    let failing = dir.path().join("wrong-csq.toml");
    std::fs::write(&failing, WRONG_ANSWER).unwrap();
    let passing = repo().join("scenarios/wrong-password.toml");
    let pages = dir.path().join("pages");
    let junit = dir.path().join("junit.xml");
    let run = bg95(&[
        "run".as_ref(),
        "--html".as_ref(),
        pages.as_os_str(),
        "--junit".as_ref(),
        junit.as_os_str(),
        failing.as_os_str(),
        passing.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let page = pages.join("wrong-csq.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("class=\"failure-card\""));
    assert!(
        html.contains("a line &quot;+CSQ: 99,99&quot; within 300 ms"),
        "{html}"
    );
    assert!(html.contains("AT+CSQ"));
    assert!(
        !pages.join("wrong-password.html").exists(),
        "passed: no page by default"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let link = page.display().to_string();
    assert!(
        xml.contains(&format!("<property name=\"timeline\" value=\"{link}\"/>")),
        "{xml}"
    );
    assert!(xml.contains(&format!("[[ATTACHMENT|{link}]]")), "{xml}");

    // --html-all: the passed one too, with its fault marker.
    let run = bg95(&[
        "run".as_ref(),
        "--html".as_ref(),
        pages.as_os_str(),
        "--html-all".as_ref(),
        passing.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let html = std::fs::read_to_string(pages.join("wrong-password.html")).unwrap();
    assert!(html.contains("fault “pass-530”"));
    assert!(html.contains("625: not logged in (server replied 530)"));
}

#[test]
fn view_and_replay_write_pages_from_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("wrong-password.txt");
    let scenario = repo().join("scenarios/wrong-password.toml");
    let run = bg95(&[
        "run".as_ref(),
        "--transcript".as_ref(),
        rec.as_os_str(),
        scenario.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let page = dir.path().join("view.html");
    let view = bg95(&[
        "view".as_ref(),
        rec.as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ]);
    assert_eq!(view.status.code(), Some(0), "{view:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("fault “pass-530”"));
    assert!(html.contains(">recorded<"));

    // A changed answer in the recording: the replay's diff is drawn, exit 1.
    let text = std::fs::read_to_string(&rec).unwrap();
    let changed = dir.path().join("changed.txt");
    std::fs::write(&changed, text.replace("+QFTPSTAT: 0,4", "+QFTPSTAT: 0,1")).unwrap();
    let diff_page = dir.path().join("diff.html");
    let view = bg95(&[
        "view".as_ref(),
        "--replay".as_ref(),
        changed.as_os_str(),
        "-o".as_ref(),
        diff_page.as_os_str(),
    ]);
    assert_eq!(view.status.code(), Some(1), "{view:?}");
    let html = std::fs::read_to_string(&diff_page).unwrap();
    assert!(html.contains("class=\"diff-card\""));
    assert!(html.contains("+QFTPSTAT: 0,1"));
    assert!(html.contains("replay differs in 1 place"));
    let replay_page = dir.path().join("replay.html");
    let replay = bg95(&[
        "replay".as_ref(),
        changed.as_os_str(),
        "--html".as_ref(),
        replay_page.as_os_str(),
    ]);
    assert_eq!(replay.status.code(), Some(1), "{replay:?}");
    assert_eq!(std::fs::read_to_string(&replay_page).unwrap(), html);

    // A bad file: exit 2, the line named.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "? what\n").unwrap();
    let view = bg95(&[
        "view".as_ref(),
        bad.as_os_str(),
        "-o".as_ref(),
        page.as_os_str(),
    ]);
    assert_eq!(view.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&view.stderr).contains("bad.txt:line 1"),
        "{view:?}"
    );
}
