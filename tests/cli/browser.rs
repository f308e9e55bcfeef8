//! The browser workspace (issue 15) in a real browser: Debian's headless Chromium, driven over
//! WebDriver (`chromedriver`, started here) by fantoccini, against the real binary's
//! `breachflow serve` on a test store. Nothing is downloaded: the browser is the machine's
//! (`.ci/run` installs it when missing) and axe-core is vendored under `tests/fixtures/axe/`.
//! With no browser the tests fail; they never skip.
//!
//! Each page the journeys reach is checked with axe-core inside the browser (0 serious or
//! critical violations), and the main pages are photographed into
//! `target/tmp/screenshots/` (`docs/` holds the ones chosen for the README).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::server_support::*;
use crate::support::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The vendored axe-core and its SHA-256 (checked before it runs: a fixture is outside input).
const AXE: &str = include_str!("../fixtures/axe/axe.min.js");
const AXE_SHA256: &str = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c";
/// When the journeys happen: the example incident's 72 hours (UK GDPR Art 33) have run out.
const LATER: &str = "2024-04-05T12:00:00Z";

/// `chromedriver` on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        for (what, path) in [("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)] {
            assert!(
                Path::new(path).exists(),
                "{what} is not installed at {path}: the browser tests need Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does it)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A fresh headless browser (its own empty profile), with JavaScript on or off.
    async fn browser(&self, profile: &Path, javascript: bool) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--window-size=1280,1500".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": args, "binary": CHROMIUM}),
        );
        ClientBuilder::rustls()
            .expect("a WebDriver client")
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("chromium starts under chromedriver")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Where the tests put their screenshots.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// axe-core's serious and critical violations on the page now shown, as readable lines.
async fn axe(c: &Client, page: &str) -> Vec<String> {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(AXE.as_bytes()));
    assert_eq!(
        digest, AXE_SHA256,
        "the vendored axe-core is not the one checked in"
    );
    c.execute(AXE, vec![]).await.expect("axe-core loads");
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
                .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))))
                .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: 0}]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    found
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            format!(
                "{page}: {} ({}): {} [{} nodes]",
                v["id"], v["impact"], v["help"], v["nodes"]
            )
        })
        .collect()
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn sign_in(c: &Client, base: &str, m: &Member) {
    c.goto(&format!("{base}/sign-in")).await.unwrap();
    c.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys(&m.name)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(&m.password)
        .await
        .unwrap();
    click(c, Locator::Css("form button[type=submit]")).await;
    assert_eq!(
        arrive(c, "/dashboard").await,
        "/dashboard",
        "{} signed in",
        m.name
    );
}

async fn click(c: &Client, what: Locator<'_>) {
    c.find(what)
        .await
        .unwrap_or_else(|e| panic!("nothing to click: {e}"))
        .click()
        .await
        .unwrap();
}

/// Signs out with the header's button (a form with its CSRF token), back on the sign-in page.
async fn sign_out(c: &Client) {
    click(c, Locator::Css(".who button")).await;
    assert_eq!(arrive(c, "/sign-in").await, "/sign-in");
}

async fn path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// Waits for a click's navigation to reach `expected` (a click returns before the next page
/// has loaded); the path reached, after at most 10 s.
async fn arrive(c: &Client, expected: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = path(c).await;
        let loaded = c
            .execute("return document.readyState", vec![])
            .await
            .is_ok_and(|s| s == "complete");
        if (now == expected && loaded) || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A store with the example incident assessed and decided (its obligations owed), a second
/// incident only opened, and a DPO, a comms lead, an admin and an auditor.
fn team() -> (TestEnv, Member, Member, Member, Member) {
    let env = TestEnv::prepared(&example_json("organisation.json"));
    env.run(&[
        "incident",
        "open",
        "--file",
        &example("incident-ransomware.json"),
    ])
    .success();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let carol = member(&env.data_dir, "carol", &["comms"]);
    let ada = member(&env.data_dir, "ada", &["admin"]);
    let otto = member(&env.data_dir, "otto", &["auditor"]);
    (env, dana, carol, ada, otto)
}

#[test]
fn the_dpo_signs_in_sees_the_overdue_report_first_and_opens_its_incident() {
    let (env, dana, carol, ada, otto) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let shots = screenshots();
    let mut violations = Vec::new();
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;

        // Not signed in: the dashboard is refused with a page that says so and links to sign-in.
        c.goto(&format!("{base}/dashboard")).await.unwrap();
        assert_eq!(text(&c, "h1").await, "Sign in first");
        assert!(text(&c, "main").await.contains("HTTP status 401"));
        violations.extend(axe(&c, "401 page").await);
        click(&c, Locator::LinkText("Sign in")).await;
        assert_eq!(arrive(&c, "/sign-in").await, "/sign-in");
        violations.extend(axe(&c, "sign-in").await);

        // A wrong password: the form again, with the reason, nothing else.
        c.find(Locator::Id("name"))
            .await
            .unwrap()
            .send_keys("dana")
            .await
            .unwrap();
        c.find(Locator::Id("password"))
            .await
            .unwrap()
            .send_keys("not-her-password")
            .await
            .unwrap();
        click(&c, Locator::Css("form button[type=submit]")).await;
        let error = c
            .wait()
            .for_element(Locator::Css("#sign-in-error"))
            .await
            .expect("the form again, with the reason");
        assert_eq!(
            error.text().await.unwrap(),
            "The name or password is not accepted."
        );
        violations.extend(axe(&c, "sign-in with an error").await);

        sign_in(&c, &base, &dana).await;
        assert_eq!(arrive(&c, "/dashboard").await, "/dashboard");
        assert_eq!(text(&c, ".who p").await, "Signed in as dana (dpo)");
        // Soonest first: the ICO report, 72 hours past, is the first row, marked overdue in
        // words as well as colour.
        let first = c
            .find(Locator::Css("table.due tbody tr"))
            .await
            .expect("a row of open obligations");
        assert_eq!(
            first.attr("class").await.unwrap().as_deref(),
            Some("overdue")
        );
        let row = first.text().await.unwrap();
        assert!(row.contains("OVERDUE by"), "{row}");
        assert!(row.contains("uk-gdpr-art33/initial"), "{row}");
        assert!(row.contains("BR-2024-0001"), "{row}");
        let caption = text(&c, "table.due caption").await;
        assert!(caption.contains("overdue"), "{caption}");
        // Rows are in due order.
        let dues: Vec<String> = {
            let mut v = Vec::new();
            for cell in c
                .find_all(Locator::Css("table.due tbody tr td:nth-child(2) time"))
                .await
                .unwrap()
            {
                v.push(cell.attr("datetime").await.unwrap().unwrap());
            }
            v
        };
        let mut sorted = dues.clone();
        sorted.sort();
        assert_eq!(dues, sorted, "soonest first");
        // Incidents by state: the decided one and the one only opened.
        let mut states = Vec::new();
        for h in c.find_all(Locator::Css("main section h3")).await.unwrap() {
            states.push(h.text().await.unwrap());
        }
        assert_eq!(
            states,
            ["detected (1)", "decided (1)"],
            "in the lifecycle's order"
        );
        let body = text(&c, "main").await;
        assert!(body.contains("BR-2024-0002"), "{body}");
        violations.extend(axe(&c, "dashboard").await);
        std::fs::write(shots.join("dashboard.png"), c.screenshot().await.unwrap()).unwrap();

        // The row's incident.
        first
            .find(Locator::LinkText("BR-2024-0001"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001").await,
            "/incidents/BR-2024-0001"
        );
        let h1 = text(&c, "h1").await;
        assert!(h1.starts_with("BR-2024-0001: "), "{h1}");
        let page = text(&c, "main").await;
        for part in ["Facts", "Assessment", "Decision", "Obligations", "Timeline"] {
            assert!(page.contains(part), "no {part} on the incident page");
        }
        assert!(
            page.contains("UK GDPR Art 33 clock starts here"),
            "awareness explained"
        );
        std::fs::write(shots.join("incident.png"), c.screenshot().await.unwrap()).unwrap();
        // How the due time was worked out, under each obligation.
        let how = c
            .find(Locator::Css("details summary"))
            .await
            .expect("an explanation per obligation");
        how.click().await.unwrap();
        let explained = text(&c, "details ul").await;
        assert!(!explained.is_empty());
        violations.extend(axe(&c, "incident, an explanation open").await);

        // An incident that does not exist: a page, not a trace.
        c.goto(&format!("{base}/incidents/BR-2024-0999"))
            .await
            .unwrap();
        assert_eq!(text(&c, "h1").await, "Not found");

        // Sign out: the form posts with its CSRF token, and the session is gone.
        sign_out(&c).await;
        c.goto(&format!("{base}/dashboard")).await.unwrap();
        assert_eq!(text(&c, "h1").await, "Sign in first");

        // A comms lead is refused the accounts page with a page that says why.
        sign_in(&c, &base, &carol).await;
        assert_eq!(arrive(&c, "/dashboard").await, "/dashboard");
        c.goto(&format!("{base}/users")).await.unwrap();
        assert_eq!(text(&c, "h1").await, "Not allowed");
        let why = text(&c, "main").await;
        assert!(why.contains("needs the role admin"), "{why}");
        assert!(why.contains("HTTP status 403"), "{why}");
        assert!(
            !why.contains("panicked") && !why.contains("backtrace"),
            "{why}"
        );
        violations.extend(axe(&c, "403 page").await);
        sign_out(&c).await;

        // The admin sees everyone.
        sign_in(&c, &base, &ada).await;
        c.goto(&format!("{base}/users")).await.unwrap();
        let accounts = text(&c, "main table").await;
        for name in ["dana", "carol", "ada"] {
            assert!(accounts.contains(name), "{accounts}");
        }
        violations.extend(axe(&c, "accounts").await);
        sign_out(&c).await;

        // The auditor: adherence per regime, and the log verified on request.
        sign_in(&c, &base, &otto).await;
        click(&c, Locator::LinkText("Audit")).await;
        assert_eq!(arrive(&c, "/audit").await, "/audit");
        let adherence = text(&c, "#adherence-heading + table").await;
        assert!(adherence.contains("UK GDPR Art 33"), "{adherence}");
        violations.extend(axe(&c, "audit").await);
        std::fs::write(shots.join("audit.png"), c.screenshot().await.unwrap()).unwrap();
        click(&c, Locator::Css("#verify-heading ~ form button")).await;
        let result = c
            .wait()
            .for_element(Locator::Id("verify-result"))
            .await
            .expect("the verification's result");
        let said = result.text().await.unwrap();
        assert!(said.starts_with("Verified: "), "{said}");
        assert!(said.contains("every digest and link intact"), "{said}");
        violations.extend(axe(&c, "audit, verified").await);
        c.close().await.unwrap();
    });
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
    drop(server);
}

#[test]
fn every_page_works_with_javascript_off() {
    let (env, dana, _, _, _) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        // The page's own scripts do not run: the pages must need none to sign in, read and
        // sign out.
        let c = driver.browser(profile.path(), false).await;
        sign_in(&c, &base, &dana).await;
        assert_eq!(arrive(&c, "/dashboard").await, "/dashboard");
        let left = text(&c, "table.due tbody tr .left").await;
        assert!(left.starts_with("OVERDUE by"), "{left}");
        c.goto(&format!("{base}/incidents/BR-2024-0001"))
            .await
            .unwrap();
        assert!(text(&c, "h1").await.starts_with("BR-2024-0001"));
        sign_out(&c).await;
        c.close().await.unwrap();
    });
    drop(server);
}

#[test]
fn the_workspace_downloads_are_the_reports_the_command_line_writes() {
    let (env, _, _, _, otto) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let (k, v) = bearer(&otto.token);
    for (path, kind, name, args) in [
        (
            "/audit/register.csv",
            "text/csv; charset=utf-8",
            "register.csv",
            vec!["--format", "csv", "register", "export"],
        ),
        (
            "/audit/adherence.html",
            "text/html; charset=utf-8",
            "adherence.html",
            vec!["--format", "html", "report", "adherence"],
        ),
    ] {
        let r = request(server.port, "GET", path, &[(k, &v)], b"");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some(kind), "{path}");
        assert_eq!(
            r.header("content-disposition"),
            Some(format!("attachment; filename=\"{name}\"").as_str()),
            "{path}"
        );
        let cli = as_member(&env, &otto)
            .env("BREACHFLOW_NOW", LATER)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            cli.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&cli.stderr)
        );
        assert_eq!(
            r.text().trim_end(),
            String::from_utf8_lossy(&cli.stdout).trim_end(),
            "{path} differs from `breachflow {}`",
            args.join(" ")
        );
        assert!(r.text().contains("BR-2024-0001"), "{path}");
    }
    drop(server);
}

#[test]
fn the_dpo_decides_otherwise_with_a_reason_and_comms_is_refused_the_decision_page() {
    let (env, dana, carol, _, _) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let mut violations = Vec::new();
    let decided = |env: &TestEnv| {
        let out = as_member(env, &dana)
            .args(["--format", "json", "incident", "show", "BR-2024-0001"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["incident"]["decisions"].as_array().unwrap().clone()
    };
    let before = decided(&env);
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &dana).await;
        c.goto(&format!("{base}/incidents/BR-2024-0001")).await.unwrap();
        c.find(Locator::Id("decide-link"))
            .await
            .expect("the DPO is offered the decision")
            .click()
            .await
            .unwrap();
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001/decision").await,
            "/incidents/BR-2024-0001/decision"
        );
        let recommended = text(&c, "#recommendation-heading + dl").await;
        assert!(recommended.contains("Notify the ICO"), "{recommended}");
        violations.extend(axe(&c, "decision").await);

        // Decide otherwise (tell data subjects too) without a reason: refused beside the form,
        // and nothing stored.
        for id in ["choice-override", "ico-yes", "subjects-yes"] {
            click(&c, Locator::Id(id)).await;
        }
        click(&c, Locator::Css("#decide-heading ~ form button[type=submit]")).await;
        let error = c
            .wait()
            .for_element(Locator::Id("decision-error"))
            .await
            .expect("the reason it was refused");
        let said = error.text().await.unwrap();
        assert!(said.to_lowercase().contains("reason"), "{said}");
        // What was chosen is still chosen.
        let kept = c.find(Locator::Id("subjects-yes")).await.unwrap();
        assert_eq!(kept.prop("checked").await.unwrap().as_deref(), Some("true"));
        violations.extend(axe(&c, "decision with an error").await);

        c.find(Locator::Id("reason"))
            .await
            .unwrap()
            .send_keys("Clients' home addresses were in the encrypted records; we tell them so they can watch for phishing.")
            .await
            .unwrap();
        click(&c, Locator::Css("#decide-heading ~ form button[type=submit]")).await;
        assert_eq!(arrive(&c, "/incidents/BR-2024-0001").await, "/incidents/BR-2024-0001");
        let decision = text(&c, "#decision-heading + pre").await;
        assert!(decision.contains("Tell data subjects:  yes"), "{decision}");
        assert!(decision.contains("watch for phishing"), "{decision}");
        assert!(decision.contains("by dana"), "{decision}");
        sign_out(&c).await;

        // Comms is refused the decision page with a page that says why, and is not offered it.
        sign_in(&c, &base, &carol).await;
        c.goto(&format!("{base}/incidents/BR-2024-0001")).await.unwrap();
        assert!(c.find(Locator::Id("decide-link")).await.is_err());
        c.goto(&format!("{base}/incidents/BR-2024-0001/decision"))
            .await
            .unwrap();
        assert_eq!(text(&c, "h1").await, "Not allowed");
        let why = text(&c, "main").await;
        assert!(why.contains("needs the role dpo"), "{why}");
        assert!(why.contains("HTTP status 403"), "{why}");
        c.close().await.unwrap();
    });
    let after = decided(&env);
    assert_eq!(
        after.len(),
        before.len() + 1,
        "the refused attempt stored nothing; the second, one decision"
    );
    let last = &after[after.len() - 1];
    assert_eq!(last["decision"]["tell_subjects"], true, "{last}");
    assert_eq!(last["by"], "dana", "{last}");
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
    drop(server);
}

/// The incidents the command line lists, as JSON rows.
fn incidents(env: &TestEnv, m: &Member) -> Vec<serde_json::Value> {
    let out = as_member(env, m)
        .env("BREACHFLOW_NOW", LATER)
        .args(["--format", "json", "incident", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Types into a field, replacing what was there.
async fn fill(c: &Client, id: &str, value: &str) {
    let field = c
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no field #{id}: {e}"));
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Sets a `datetime-local` box as a person picking a day and a time would (typing into one
/// follows the browser's locale, so the value is set instead).
async fn pick_time(c: &Client, id: &str, local: &str) {
    let set = c
        .execute(
            "const f = document.getElementById(arguments[0]); f.value = arguments[1]; return f.type + ' ' + f.value;",
            vec![json!(id), json!(local)],
        )
        .await
        .unwrap();
    assert_eq!(set, json!(format!("datetime-local {local}")), "#{id}");
}

/// The HTTP status of the page now shown.
async fn status(c: &Client) -> u64 {
    c.execute(
        "return performance.getEntriesByType('navigation')[0].responseStatus;",
        vec![],
    )
    .await
    .unwrap()
    .as_u64()
    .unwrap_or_default()
}

/// The form's submit button.
async fn submit(c: &Client) {
    click(c, Locator::Css("form.form button[type=submit]")).await;
}

/// The problem shown beside a field, after a refused posting; checks the field points to it.
async fn problem_beside(c: &Client, id: &str) -> String {
    let error = c
        .wait()
        .for_element(Locator::Id(&format!("{id}-error")))
        .await
        .unwrap_or_else(|e| panic!("no problem beside #{id}: {e}"));
    let said = error.text().await.unwrap();
    let field = c.find(Locator::Id(id)).await.unwrap();
    let described = field
        .attr("aria-describedby")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        described.split(' ').any(|d| d == format!("{id}-error")),
        "#{id} is described by {described:?}"
    );
    said
}

#[test]
fn the_dpo_opens_an_incident_with_the_intake_form_assesses_it_and_updates_a_fact() {
    let (env, dana, carol, _, _) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let shots = screenshots();
    let mut violations = Vec::new();
    let before = incidents(&env, &dana);
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &dana).await;
        click(&c, Locator::Id("new-incident-link")).await;
        assert_eq!(arrive(&c, "/incidents/new").await, "/incidents/new");
        let explained = text(&c, "#awareness-heading + p + p").await;
        assert!(explained.contains("runs from awareness"), "{explained}");
        assert!(text(&c, "form.form").await.contains("Europe/London"));
        violations.extend(axe(&c, "intake").await);

        // Awareness before detection: refused beside the awareness field, nothing stored.
        fill(&c, "f-title", "Client list emailed to the wrong recipient").await;
        fill(
            &c,
            "f-summary",
            "A spreadsheet of client contact details was sent to an outside address.",
        )
        .await;
        pick_time(&c, "f-detected_at", "2024-04-02T10:00").await;
        pick_time(&c, "f-aware_at", "2024-04-01T09:00").await;
        fill(&c, "f-discovery", "The recipient told us").await;
        click(&c, Locator::Id("f-impact-confidentiality")).await;
        fill(&c, "f-reporter-name", "Priya Shah").await;
        submit(&c).await;
        let said = problem_beside(&c, "f-aware_at").await;
        assert!(said.contains("cannot be before detection"), "{said}");
        assert_eq!(status(&c).await, 422, "a refused posting is 422");
        let summary = text(&c, "#problems").await;
        assert!(summary.contains("Nothing was stored"), "{summary}");
        let link = c
            .find(Locator::Css("#problems a[href='#f-aware_at']"))
            .await
            .expect("the summary links to the field");
        assert!(link.text().await.unwrap().starts_with("Aware at:"));
        // What was typed is kept.
        let kept = c.find(Locator::Id("f-title")).await.unwrap();
        assert_eq!(
            kept.prop("value").await.unwrap().as_deref(),
            Some("Client list emailed to the wrong recipient")
        );
        let ticked = c
            .find(Locator::Id("f-impact-confidentiality"))
            .await
            .unwrap();
        assert_eq!(
            ticked.prop("checked").await.unwrap().as_deref(),
            Some("true")
        );
        violations.extend(axe(&c, "intake with a problem").await);
        c.screenshot()
            .await
            .map(|png| std::fs::write(shots.join("intake-problem.png"), png).unwrap())
            .unwrap();
        assert_eq!(incidents(&env, &dana).len(), before.len(), "nothing stored");

        // Put right: aware later than detection (in London's summer time), with the reason.
        fill(&c, "f-aware_at", "2024-04-02T11:30").await;
        fill(
            &c,
            "f-awareness_justification",
            "The recipient's email reached the DPO's inbox an hour and a half later.",
        )
        .await;
        submit(&c).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path(&c).await.starts_with("/incidents/BR-") && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let at = path(&c).await;
        let id = at.trim_start_matches("/incidents/").to_string();
        assert_eq!(arrive(&c, &at).await, format!("/incidents/{id}"));
        assert!(text(&c, "h1").await.contains("Client list emailed"));
        let facts = text(&c, ".facts").await;
        assert!(facts.contains("11:30"), "{facts}");
        assert!(facts.contains("an hour and a half later"), "{facts}");
        violations.extend(axe(&c, "the new incident").await);

        // Assess it: a required vocabulary left out is refused beside it.
        click(&c, Locator::Id("assess-link")).await;
        assert_eq!(
            arrive(&c, &format!("/incidents/{id}/assessment")).await,
            format!("/incidents/{id}/assessment")
        );
        assert!(
            text(&c, "#enisa-heading + p")
                .await
                .contains("SE = DPC × EI + CB")
        );
        violations.extend(axe(&c, "assessment").await);
        for (name, value) in [
            ("/data_categories", "contact_details"),
            ("/subject_categories", "customers"),
            ("/circumstances/confidentiality", "disclosure"),
            ("/circumstances/integrity", "none"),
            ("/circumstances/availability", "none"),
            ("/circumstances/malicious", "no"),
        ] {
            click(
                &c,
                Locator::Css(&format!("input[name='{name}'][value='{value}']")),
            )
            .await;
        }
        fill(&c, "f-subjects-estimate", "240").await;
        submit(&c).await;
        let said = problem_beside(&c, "f-identifiability").await;
        assert!(said.contains("identifiability"), "{said}");
        assert_eq!(status(&c).await, 422);
        assert_eq!(
            incidents(&env, &dana).last().unwrap()["risk_level"],
            json!(null),
            "nothing stored"
        );
        violations.extend(axe(&c, "assessment with a problem").await);
        c.screenshot()
            .await
            .map(|png| std::fs::write(shots.join("assessment-problem.png"), png).unwrap())
            .unwrap();
        click(
            &c,
            Locator::Css("input[name='/identifiability'][value='maximum']"),
        )
        .await;
        submit(&c).await;
        assert_eq!(arrive(&c, &at).await, at);
        let assessed = text(&c, "#assessment-heading + pre").await;
        assert!(assessed.contains("SE "), "{assessed}");
        assert!(assessed.contains("= DPC "), "{assessed}");
        assert!(assessed.contains("by dana"), "{assessed}");

        // Update a fact: the containment, asked for first, then back where the link said; a
        // return address elsewhere is not followed.
        c.goto(&format!(
            "{base}/incidents/{id}/facts?focus=/containment,/details/cause&return=/incidents/{id}/assessment"
        ))
        .await
        .unwrap();
        let asked = text(&c, "fieldset.focus").await;
        assert!(asked.starts_with("Asked for"), "{asked}");
        assert!(asked.contains("Containment"), "{asked}");
        // The facts as they are now.
        let title = c.find(Locator::Id("f-title")).await.unwrap();
        assert_eq!(
            title.prop("value").await.unwrap().as_deref(),
            Some("Client list emailed to the wrong recipient")
        );
        violations.extend(axe(&c, "facts").await);
        // An email address that is not one: refused beside it, the focus and return kept.
        fill(&c, "f-reporter-email", "priya at example").await;
        submit(&c).await;
        let said = problem_beside(&c, "f-reporter-email").await;
        assert!(said.contains("email"), "{said}");
        assert!(text(&c, "fieldset.focus").await.contains("Containment"));
        violations.extend(axe(&c, "facts with a problem").await);
        c.screenshot()
            .await
            .map(|png| std::fs::write(shots.join("facts-problem.png"), png).unwrap())
            .unwrap();
        fill(&c, "f-reporter-email", "priya.shah@example.org").await;
        fill(
            &c,
            "f-containment",
            "The recipient confirmed deletion in writing.",
        )
        .await;
        fill(&c, "f-note", "The recipient replied.").await;
        submit(&c).await;
        // Back where the link said (the document workspace sends its page).
        let back = format!("{at}/assessment");
        assert_eq!(arrive(&c, &back).await, back);
        c.goto(&format!("{base}{at}")).await.unwrap();
        let facts = text(&c, ".facts").await;
        assert!(facts.contains("confirmed deletion in writing"), "{facts}");
        let timeline = text(&c, ".timeline").await;
        assert!(timeline.contains("containment"), "{timeline}");

        // A return address on another site is not followed: the incident page instead.
        c.goto(&format!("{base}{at}/facts?return=//evil.example/incidents/x"))
            .await
            .unwrap();
        submit(&c).await;
        assert_eq!(arrive(&c, &at).await, at);
        sign_out(&c).await;

        // Comms is offered none of the forms and is refused them.
        sign_in(&c, &base, &carol).await;
        assert!(c.find(Locator::Id("new-incident-link")).await.is_err());
        c.goto(&format!("{base}/incidents/{id}")).await.unwrap();
        assert!(c.find(Locator::Id("assess-link")).await.is_err());
        assert!(c.find(Locator::Id("facts-link")).await.is_err());
        c.goto(&format!("{base}/incidents/new")).await.unwrap();
        assert_eq!(text(&c, "h1").await, "Not allowed");
        c.close().await.unwrap();
    });
    let after = incidents(&env, &dana);
    assert_eq!(after.len(), before.len() + 1, "one incident opened");
    let opened = after.last().unwrap();
    assert_eq!(opened["aware_at"], "2024-04-02T10:30:00Z", "{opened}");
    assert_eq!(opened["detected_at"], "2024-04-02T09:00:00Z", "{opened}");
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
    drop(server);
}

#[test]
fn the_assessment_form_works_with_javascript_off() {
    let (env, dana, _, _, _) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let versions = |env: &TestEnv| {
        let out = as_member(env, &dana)
            .args(["--format", "json", "incident", "show", "BR-2024-0001"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["incident"]["assessments"].as_array().unwrap().clone()
    };
    let before = versions(&env);
    runtime().block_on(async {
        let c = driver.browser(profile.path(), false).await;
        sign_in(&c, &base, &dana).await;
        c.goto(&format!("{base}/incidents/BR-2024-0001/assessment"))
            .await
            .unwrap();
        // Prefilled from the current assessment.
        let max = c
            .find(Locator::Css(
                "input[name='/identifiability'][value='maximum']",
            ))
            .await
            .unwrap();
        assert_eq!(max.prop("checked").await.unwrap().as_deref(), Some("true"));
        // Every data category unticked: refused beside them, nothing stored.
        for ticked in c
            .find_all(Locator::Css("input[name='/data_categories']:checked"))
            .await
            .unwrap()
        {
            ticked.click().await.unwrap();
        }
        submit(&c).await;
        let said = problem_beside(&c, "f-data_categories").await;
        assert!(said.contains("data_categories"), "{said}");
        assert_eq!(versions(&env).len(), before.len(), "nothing stored");
        click(
            &c,
            Locator::Css("input[name='/data_categories'][value='health']"),
        )
        .await;
        fill(&c, "f-records-estimate", "460000").await;
        submit(&c).await;
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001").await,
            "/incidents/BR-2024-0001"
        );
        let assessed = text(&c, "#assessment-heading + pre").await;
        assert!(assessed.contains("Assessment v2"), "{assessed}");
        c.close().await.unwrap();
    });
    let after = versions(&env);
    assert_eq!(after.len(), before.len() + 1, "one new version");
    let last = &after[after.len() - 1]["input"];
    assert_eq!(last["records"], json!({"estimate": 460000}), "{last}");
    assert_eq!(last["data_categories"], json!(["health"]), "{last}");
    assert_eq!(
        last["subjects"],
        before[before.len() - 1]["input"]["subjects"],
        "what was not changed is as it was"
    );
    drop(server);
}
