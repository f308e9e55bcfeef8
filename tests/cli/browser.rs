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
        // A form posts and the page that follows shows what it stored (the document
        // workspace's render); the outbox reads.
        let doc = "/incidents/BR-2024-0001/documents/board-briefing";
        c.goto(&format!("{base}{doc}")).await.unwrap();
        click(&c, Locator::Id("mode-draft")).await;
        click(&c, Locator::Id("render-button")).await;
        c.wait()
            .for_element(Locator::Id("chosen-heading"))
            .await
            .expect("the stored version shown");
        assert_eq!(text(&c, "#chosen-heading").await, "Version 1");
        c.goto(&format!("{base}/outbox")).await.unwrap();
        assert_eq!(text(&c, "h1").await, "Outbox");
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

/// The example store (incident assessed and decided) sending through the SMTP server on
/// `port`; `listed`: the organisation's shares are traded (the market hears first).
fn mail_env(port: u16, listed: bool) -> TestEnv {
    let mut org = example_json("organisation.json");
    org["smtp"] = json!({
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "Larkfield Privacy <privacy@larkfield-vets.example>",
    });
    if !listed {
        org["flags"]["markets"] = json!([]);
    }
    TestEnv::prepared(&org)
}

/// The example incident's store sending through a real SMTP server on loopback, with the staff
/// briefing approved and sent by command line: held, as the market must hear first. A DPO, a
/// comms lead and an auditor. Returns the held message's key too.
fn team_with_mail() -> (
    TestEnv,
    crate::smtp::Mailbox,
    String,
    Member,
    Member,
    Member,
) {
    let (port, mailbox) = crate::smtp::Mailbox::start();
    let env = mail_env(port, true);
    env.render_and_approve(NOW, "BR-2024-0001", "staff-briefing");
    env.run(&["send", "BR-2024-0001", "staff-briefing", "--to", "staff"])
        .success();
    assert!(
        mailbox.messages().is_empty(),
        "held until the market is told"
    );
    let listed = env.json(&["outbox", "--incident", "BR-2024-0001"]);
    let held = &listed["messages"][0];
    assert_eq!(held["state"], "held", "{listed}");
    let key = held["key"].as_str().unwrap().to_string();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let carol = member(&env.data_dir, "carol", &["comms"]);
    let otto = member(&env.data_dir, "otto", &["auditor"]);
    (env, mailbox, key, dana, carol, otto)
}

/// How many events the incident has, read through the server as `m`.
fn events_of(env: &TestEnv, m: &Member) -> usize {
    let out = as_member(env, m)
        .args(["--format", "json", "incident", "show", "BR-2024-0001"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["events"].as_array().unwrap().len()
}

#[test]
fn a_held_staff_briefing_is_released_with_a_reason_by_the_dpo_and_reaches_the_mail_server() {
    let (env, mailbox, key, dana, carol, _) = team_with_mail();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let shots = screenshots();
    let anchor = key.replace('/', "-");
    let release = format!("/outbox/{key}/release");
    let mut violations = Vec::new();
    let before = events_of(&env, &dana);
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;

        // The comms lead sees the hold and what it waits for, and is not offered the release.
        sign_in(&c, &base, &carol).await;
        click(&c, Locator::LinkText("Outbox")).await;
        assert_eq!(arrive(&c, "/outbox").await, "/outbox");
        assert_eq!(text(&c, "h1").await, "Outbox");
        let heading = text(&c, "#held-heading").await;
        assert!(heading.starts_with("Held"), "{heading}");
        let row = text(&c, &format!("#m-{anchor}")).await;
        for part in [
            key.as_str(),
            "staff-briefing v1",
            "all-staff@larkfield-vets.example",
            "waiting for a message to the market to be sent",
        ] {
            assert!(row.contains(part), "{part} not in {row}");
        }
        assert!(
            c.find(Locator::Css("form[action$='/release']"))
                .await
                .is_err(),
            "no release form for comms"
        );
        let why = text(&c, "#why-not").await;
        assert!(why.contains("need the dpo role"), "{why}");
        violations.extend(axe(&c, "outbox, read only").await);

        // Posting anyway (the page's own CSRF token, so only the role is missing): refused with
        // a page that says why.
        c.execute(
            "const f = document.createElement('form');
             f.method = 'post'; f.action = arguments[0];
             for (const [k, v] of [['csrf', document.querySelector('.who input[name=csrf]').value],
                                   ['reason', 'The staff should hear it from us']]) {
               const i = document.createElement('input');
               i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
             }
             document.body.appendChild(f); f.submit();",
            vec![json!(release)],
        )
        .await
        .unwrap();
        assert_eq!(arrive(&c, &release).await, release);
        assert_eq!(text(&c, "h1").await, "Not allowed");
        let why = text(&c, "main").await;
        assert!(why.contains("needs the role dpo"), "{why}");
        assert!(why.contains("HTTP status 403"), "{why}");
        violations.extend(axe(&c, "outbox release refused (403)").await);
        sign_out(&c).await;

        // The DPO releases it: first without a reason, refused beside the form.
        sign_in(&c, &base, &dana).await;
        c.goto(&format!("{base}/outbox")).await.unwrap();
        click(
            &c,
            Locator::Css(&format!("#m-{anchor} form[action='{release}'] button")),
        )
        .await;
        assert_eq!(arrive(&c, &release).await, release);
        let error = c
            .wait()
            .for_element(Locator::Id(&format!("error-{anchor}")))
            .await
            .expect("the reason it was refused, beside the form");
        let said = error.text().await.unwrap();
        assert!(
            said.contains("Give your reason for sending it now"),
            "{said}"
        );
        assert!(
            !said.contains("--reason"),
            "no command-line flag on a page: {said}"
        );
        assert!(said.contains("reason"), "{said}");
        assert!(
            text(&c, &format!("#m-{anchor}"))
                .await
                .contains("waiting for"),
            "still held"
        );
        assert!(mailbox.messages().is_empty(), "nothing sent");
        violations.extend(axe(&c, "outbox with a refusal").await);
        std::fs::write(shots.join("outbox.png"), c.screenshot().await.unwrap()).unwrap();

        // Then with a reason: on the record, and sent to the real server.
        c.find(Locator::Id(&format!("reason-{anchor}")))
            .await
            .unwrap()
            .send_keys("Staff are already asking; the announcement is minutes away")
            .await
            .unwrap();
        click(
            &c,
            Locator::Css(&format!("#m-{anchor} form[action='{release}'] button")),
        )
        .await;
        assert_eq!(arrive(&c, "/outbox").await, "/outbox");
        let heading = text(&c, "#sent-heading").await;
        assert!(heading.starts_with("Sent"), "{heading}");
        let row = text(&c, &format!("#sent-heading + table #m-{anchor}")).await;
        assert!(row.contains("hold lifted by dana"), "{row}");
        assert!(
            c.find(Locator::Id("held-heading")).await.is_err(),
            "no holds left"
        );
        violations.extend(axe(&c, "outbox, released").await);

        // The incident page lists its messages, and leads to the outbox.
        c.goto(&format!("{base}/incidents/BR-2024-0001"))
            .await
            .unwrap();
        let listed = text(&c, "#outbox-heading + table").await;
        assert!(listed.contains(&key), "{listed}");
        assert!(listed.contains("staff-briefing v1"), "{listed}");
        assert!(listed.contains("sent"), "{listed}");
        violations.extend(axe(&c, "incident with its outbox").await);
        click(&c, Locator::Id("outbox-link")).await;
        assert_eq!(arrive(&c, "/outbox").await, "/outbox");
        c.close().await.unwrap();
    });
    // The refusals stored nothing; the release stored the release and the delivery.
    let messages = mailbox.messages();
    assert_eq!(messages.len(), 1, "sent once");
    assert_eq!(
        mailbox.count_to("all-staff@larkfield-vets.example"),
        1,
        "to the staff list"
    );
    assert!(
        messages[0].1.contains("Subject: "),
        "a real message: {}",
        messages[0].1
    );
    let shown = as_member(&env, &dana)
        .args(["--format", "json", "incident", "show", "BR-2024-0001"])
        .output()
        .unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let events = shown["events"].as_array().unwrap();
    let added: Vec<&serde_json::Value> = events[before..].iter().collect();
    assert!(!added.is_empty(), "the release is on the record");
    assert!(
        added.iter().all(|e| e["what"]["type"] == "message_changed"),
        "only the release and the delivery: {added:?}"
    );
    assert!(
        added.iter().all(|e| e["actor"] == "dana"),
        "recorded as dana, not carol: {added:?}"
    );
    let noted = serde_json::to_string(&added).unwrap();
    assert!(
        noted.contains("the announcement is minutes away"),
        "{noted}"
    );
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
    drop(server);
}

#[test]
fn the_auditor_downloads_an_evidence_bundle_identical_to_bundle_export() {
    let (env, _, _, _, otto) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let mut violations = Vec::new();
    let downloaded = runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &otto).await;
        click(&c, Locator::LinkText("Audit")).await;
        assert_eq!(arrive(&c, "/audit").await, "/audit");
        let link = c
            .find(Locator::Css("a[href='/audit/bundles/BR-2024-0001']"))
            .await
            .expect("a bundle download per incident");
        assert!(link.text().await.unwrap().starts_with("BR-2024-0001: "));
        violations.extend(axe(&c, "audit with bundles").await);
        // What the link gives the signed-in auditor (a download is not a page the browser
        // shows: fetched with the session, as the click would).
        let got = c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0]).then(async r => done({
                     status: r.status,
                     type: r.headers.get('content-type'),
                     disposition: r.headers.get('content-disposition'),
                     body: await r.text()}));",
                vec![json!("/audit/bundles/BR-2024-0001")],
            )
            .await
            .unwrap();
        c.close().await.unwrap();
        got
    });
    assert_eq!(downloaded["status"], 200, "{downloaded}");
    assert_eq!(downloaded["type"], "application/json");
    assert_eq!(
        downloaded["disposition"],
        "attachment; filename=\"BR-2024-0001-bundle.json\""
    );
    // The command line's export, by the same person at the same (fixed) time.
    let file = env.tmp.path().join("exported.json");
    let cli = as_member(&env, &otto)
        .env("BREACHFLOW_NOW", LATER)
        .args(["bundle", "export", "BR-2024-0001", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let exported = std::fs::read(&file).unwrap();
    assert_eq!(
        downloaded["body"].as_str().unwrap().as_bytes(),
        exported.as_slice(),
        "the download differs from `breachflow bundle export`"
    );
    let bundle: serde_json::Value = serde_json::from_slice(&exported).unwrap();
    assert_eq!(bundle["exported_by"], "otto");
    assert_eq!(bundle["exported_at"], LATER);
    // Byte for byte through the plain HTTP client too (no text decoding in between).
    let (k, v) = bearer(&otto.token);
    let r = request(
        server.port,
        "GET",
        "/audit/bundles/BR-2024-0001",
        &[(k, &v)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, exported);
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
    drop(server);
}

#[test]
fn the_dpo_resolves_an_uncertain_message_as_delivered() {
    let (port, mailbox) = crate::smtp::Mailbox::start();
    let env = mail_env(port, false);
    env.render_and_approve(NOW, "BR-2024-0001", "board-briefing");
    // The mail server holds its last reply to slow@ for 3 s: the sender is killed while the
    // message is on the wire, so nobody knows whether it arrived.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_breachflow"))
        .env("BREACHFLOW_DATA_DIR", &env.data_dir)
        .env("BREACHFLOW_NOW", NOW)
        .env("BREACHFLOW_ACTOR", "tester")
        .args([
            "send",
            "BR-2024-0001",
            "board-briefing",
            "--to",
            "slow@example.com",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let mut violations = Vec::new();
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &dana).await;
        // The outbox recovers the dead sender's message as uncertain, with the choices.
        c.goto(&format!("{base}/outbox")).await.unwrap();
        let heading = text(&c, "#uncertain-heading").await;
        assert!(heading.starts_with("Uncertain"), "{heading}");
        let row = text(&c, "#uncertain-heading + table tbody tr").await;
        assert!(row.contains("slow@example.com"), "{row}");
        assert!(row.contains("It was delivered"), "{row}");
        assert!(row.contains("send it again"), "{row}");
        violations.extend(axe(&c, "outbox, uncertain").await);
        let key = text(&c, "#uncertain-heading + table tbody tr td")
            .await
            .lines()
            .next()
            .unwrap()
            .to_string();
        let anchor = key.replace('/', "-");
        let resolve = format!("/outbox/{key}/resolve");
        let button = format!("#m-{anchor} form[action='{resolve}'] button");

        // Without a choice: refused beside the form.
        click(&c, Locator::Css(&button)).await;
        assert_eq!(arrive(&c, &resolve).await, resolve);
        let said = text(&c, &format!("#error-{anchor}")).await;
        assert!(said.contains("choose"), "{said}");
        violations.extend(axe(&c, "outbox, resolve refused").await);

        // Delivered, as the mail server's log shows: settled, and nothing sent again.
        click(&c, Locator::Id(&format!("delivered-{anchor}"))).await;
        c.find(Locator::Id(&format!("note-{anchor}")))
            .await
            .unwrap()
            .send_keys("seen in the mail server's log")
            .await
            .unwrap();
        click(&c, Locator::Css(&button)).await;
        assert_eq!(arrive(&c, "/outbox").await, "/outbox");
        let row = text(&c, &format!("#sent-heading + table #m-{anchor}")).await;
        assert!(row.contains("confirmed delivered by dana"), "{row}");
        assert!(c.find(Locator::Id("uncertain-heading")).await.is_err());
        violations.extend(axe(&c, "outbox, resolved").await);
        c.close().await.unwrap();
    });
    assert!(
        mailbox.count_to("slow@example.com") <= 1,
        "never sent again"
    );
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
    drop(server);
}

/// The versions of `doc` of `id` as the command line lists them (JSON).
fn versions(env: &TestEnv, m: &Member, id: &str, doc: &str) -> Vec<serde_json::Value> {
    let out = as_member(env, m)
        .args(["--format", "json", "incident", "show", id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["incident"]["documents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["document"] == doc)
        .cloned()
        .collect()
}

/// The text of the element `css`, or "" when there is none.
async fn text_or_empty(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[test]
fn the_dpo_prepares_the_ico_report_an_approver_approves_it_and_the_dpo_files_it() {
    // The example incident assessed and decided, but the report's own questions (`details`)
    // not yet answered.
    let env = TestEnv::new();
    let org = env.file("org.json", &example_json("organisation.json"));
    env.run(&["init", "--org", &org]).success();
    env.run(&[
        "incident",
        "open",
        "--file",
        &example("incident-ransomware.json"),
    ])
    .success();
    env.assess("BR-2024-0001");
    env.run(&["decide", "BR-2024-0001", "--accept"]).success();
    let dana = member(&env.data_dir, "dana", &["dpo"]);
    // A DPO who may also approve: four-eyes stops her approving what she rendered.
    let dora = member(&env.data_dir, "dora", &["dpo", "approver"]);
    let amir = member(&env.data_dir, "amir", &["approver"]);
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let shots = screenshots();
    let mut violations = Vec::new();
    let doc = "/incidents/BR-2024-0001/documents/ico-report";
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &dana).await;
        c.goto(&format!("{base}/incidents/BR-2024-0001"))
            .await
            .unwrap();
        // Not rendered yet: offered among what could be prepared, with the duty it meets.
        let offered = text(&c, "ul.prepare").await;
        assert!(offered.contains("uk-gdpr-art33/initial"), "{offered}");
        click(&c, Locator::Css(&format!("ul.prepare a[href='{doc}']"))).await;
        assert_eq!(arrive(&c, doc).await, doc);
        assert!(
            text(&c, "#versions-heading + p")
                .await
                .contains("Not rendered yet")
        );
        // The facts it lacks, and which of them may follow in a later report.
        let missing = text(&c, "#missing").await;
        assert!(missing.contains("details.cause"), "{missing}");
        assert!(
            missing.contains("needed now") || missing.contains("yes"),
            "{missing}"
        );
        violations.extend(axe(&c, "document workspace, nothing rendered").await);

        // Complete is refused while facts are missing, beside the form; nothing stored.
        click(&c, Locator::Id("render-button")).await;
        let refused = c
            .wait()
            .for_element(Locator::Id("render-error"))
            .await
            .expect("the reason rendering was refused");
        let said = refused.text().await.unwrap();
        assert!(said.contains("lacks"), "{said}");
        // A draft is stored, with the missing facts marked.
        click(&c, Locator::Id("mode-draft")).await;
        click(&c, Locator::Id("render-button")).await;
        c.wait()
            .for_element(Locator::Id("chosen-heading"))
            .await
            .expect("the version shown");
        assert_eq!(text(&c, "#chosen-heading").await, "Version 1");
        assert!(text(&c, "#chosen-status").await.contains("draft"));
        // The DPO is not an approver: the button is disabled and says why.
        let button = c.find(Locator::Id("approve-button")).await.unwrap();
        assert_eq!(
            button.attr("disabled").await.unwrap().as_deref(),
            Some("true")
        );
        let why = text(&c, "#approve-why").await;
        assert!(why.contains("needs the approver role"), "{why}");
        violations.extend(axe(&c, "document workspace, a draft").await);

        // The facts it lacks, filled in on the facts form the workspace links to: the fields
        // asked for come first, and saving goes back to the document.
        click(&c, Locator::Id("fill-link")).await;
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001/facts").await,
            "/incidents/BR-2024-0001/facts"
        );
        let asked = text(&c, "fieldset.focus").await;
        assert!(asked.contains("What went wrong and how"), "{asked}");
        violations.extend(axe(&c, "facts asked for by the ICO report").await);
        let answers: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(example("incident-update-report-answers.json")).unwrap(),
        )
        .unwrap();
        let mut details: Vec<(String, serde_json::Value)> = answers["details"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| missing.contains(&format!("details.{k}")))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Filed after the 72 hours: the report must say why (Art 33(1)).
        details.push((
            "delay_reasons".into(),
            json!("The ransomware note was found on a Sunday; the systems were rebuilt before the records could be examined."),
        ));
        for (key, value) in &details {
            let name = format!("/details/{key}");
            let typed = match value {
                serde_json::Value::Array(lines) => lines
                    .iter()
                    .map(|l| l.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join("\n"),
                v => v.as_str().unwrap().to_string(),
            };
            let choice = format!("input[type=radio][name='{name}'][value='{typed}']");
            match c.find(Locator::Css(&choice)).await {
                Ok(radio) => radio.click().await.unwrap(),
                Err(_) => {
                    let field = c
                        .find(Locator::Css(&format!("[name='{name}']")))
                        .await
                        .unwrap_or_else(|e| panic!("no field for {name}: {e}"));
                    field.clear().await.unwrap();
                    field.send_keys(&typed).await.unwrap();
                }
            }
        }
        click(&c, Locator::Css("form.form button[type=submit]")).await;
        assert_eq!(arrive(&c, doc).await, doc, "back to the document");
        let lacking = text_or_empty(&c, "#missing").await;
        assert!(lacking.is_empty(), "the answers filled every fact: {lacking}");
        sign_out(&c).await;
        c.close().await.unwrap();
    });
    assert_eq!(versions(&env, &dana, "BR-2024-0001", "ico-report").len(), 1);

    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        // Dora renders it complete; she may approve documents, but not one she rendered.
        sign_in(&c, &base, &dora).await;
        c.goto(&format!("{base}{doc}")).await.unwrap();
        assert!(text(&c, "#nothing-missing").await.starts_with("Nothing"));
        click(&c, Locator::Id("render-button")).await;
        c.wait()
            .for_element(Locator::Id("chosen-heading"))
            .await
            .unwrap();
        assert_eq!(text(&c, "#chosen-heading").await, "Version 2");
        assert!(
            text(&c, "#chosen-status")
                .await
                .contains("awaiting approval")
        );
        let button = c.find(Locator::Id("approve-button")).await.unwrap();
        assert_eq!(
            button.attr("disabled").await.unwrap().as_deref(),
            Some("true")
        );
        let why = text(&c, "#approve-why").await;
        assert!(why.contains("four-eyes") && why.contains("dora"), "{why}");
        // Versions 1 and 2 side by side: the draft's markers against the facts.
        click(
            &c,
            Locator::Css("form[aria-label='Compare two versions'] button"),
        )
        .await;
        assert_eq!(
            arrive(&c, &format!("{doc}/compare")).await,
            format!("{doc}/compare")
        );
        let diff = text(&c, "#diff").await;
        assert!(
            diff.contains("[MISSING"),
            "the draft's markers on the left: {diff}"
        );
        let changed = c
            .find_all(Locator::Css(
                "#diff tr.changed, #diff tr.added, #diff tr.removed",
            ))
            .await
            .unwrap();
        assert!(!changed.is_empty());
        violations.extend(axe(&c, "compare").await);
        std::fs::write(shots.join("compare.png"), c.screenshot().await.unwrap()).unwrap();
        sign_out(&c).await;

        // Another approver approves it.
        sign_in(&c, &base, &amir).await;
        c.goto(&format!("{base}{doc}")).await.unwrap();
        let button = c.find(Locator::Id("approve-button")).await.unwrap();
        assert_eq!(button.attr("disabled").await.unwrap(), None);
        assert_eq!(text_or_empty(&c, "#approve-why").await, "");
        // An approver may not file or send a regulatory document: not offered.
        assert!(c.find(Locator::Id("file-button")).await.is_err());
        assert!(text(&c, "#send-why").await.contains("needs the dpo role"));
        click(&c, Locator::Id("approve-button")).await;
        let approved = c
            .wait()
            .for_element(Locator::Id("approved"))
            .await
            .expect("the approval shown");
        assert!(approved.text().await.unwrap().contains("approved by amir"));
        violations.extend(axe(&c, "document workspace, approved").await);
        sign_out(&c).await;

        // The DPO files it on the ICO's portal and records the case reference.
        sign_in(&c, &base, &dana).await;
        c.goto(&format!("{base}{doc}")).await.unwrap();
        // The preview is the stored HTML, framed, and opens on its own to print.
        let frame = c.find(Locator::Css("iframe.preview")).await.unwrap();
        let src = frame.attr("src").await.unwrap().unwrap();
        assert_eq!(src, format!("{doc}/versions/2/print"));
        // The frame shows it (the workspace's policy lets it frame its own pages, nothing else).
        frame.enter_frame().await.unwrap();
        let letterhead = text(&c, "header.letterhead").await;
        assert!(letterhead.contains("Incident BR-2024-0001"), "{letterhead}");
        c.enter_parent_frame().await.unwrap();
        std::fs::write(shots.join("document.png"), c.screenshot().await.unwrap()).unwrap();
        c.find(Locator::Id("file-reference"))
            .await
            .unwrap()
            .send_keys("IC-301234-X9Y8")
            .await
            .unwrap();
        c.find(Locator::Id("file-late"))
            .await
            .unwrap()
            .send_keys("The ransomware note was found on a Sunday; systems were rebuilt first.")
            .await
            .unwrap();
        click(&c, Locator::Id("file-button")).await;
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001").await,
            "/incidents/BR-2024-0001"
        );
        let obligations = text(&c, "main").await;
        assert!(obligations.contains("filed"), "{obligations}");
        c.close().await.unwrap();
    });

    let stored = versions(&env, &dana, "BR-2024-0001", "ico-report");
    assert_eq!(stored.len(), 2, "a refused render stored nothing");
    assert!(
        stored[0]["approval"].is_null(),
        "the draft was never approved"
    );
    assert_eq!(stored[1]["approval"]["by"], "amir", "{}", stored[1]);
    // The print view is the stored HTML, byte for byte, under a policy with no script.
    let printed = {
        let shown = as_member(&env, &dana)
            .args([
                "documents",
                "show",
                "BR-2024-0001",
                "ico-report",
                "--version",
                "2",
                "--html",
            ])
            .output()
            .unwrap();
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
        String::from_utf8(shown.stdout).unwrap()
    };
    let cookie = session_cookie(&crate::server_support::sign_in(
        server.port,
        "dana",
        &dana.password,
    ));
    let reply = request(
        server.port,
        "GET",
        &format!("{doc}/versions/2/print"),
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(reply.status, 200);
    let body = String::from_utf8(reply.body.clone()).unwrap();
    assert_eq!(body.trim_end(), printed.trim_end());
    // A version, a document or a comparison that is not there is "not found", as a page.
    for missing in [
        format!("{doc}?version=9"),
        format!("{doc}/versions/9/print"),
        format!("{doc}/compare?a=1&b=9"),
        "/incidents/BR-2024-0001/documents/no-such-report".to_string(),
        "/incidents/BR-2024-0099/documents/ico-report".to_string(),
    ] {
        let r = request(server.port, "GET", &missing, &[("Cookie", &cookie)], b"");
        assert_eq!(r.status, 404, "{missing}: {}", r.text());
        assert!(r.text().contains("<h1>Not found</h1>"), "{missing}");
    }
    let csp = reply.header("content-security-policy").unwrap().to_string();
    assert!(
        csp.contains("sandbox") && !csp.contains("script-src"),
        "{csp}"
    );
    let out = as_member(&env, &dana)
        .args(["--format", "json", "obligation", "list", "BR-2024-0001"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ico = v["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "uk-gdpr-art33/initial")
        .cloned()
        .unwrap();
    assert_eq!(ico["state"], "filed", "{ico}");
    assert!(ico.to_string().contains("IC-301234-X9Y8"), "{ico}");
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

/// A raw message's text with quoted-printable soft line breaks joined, so a phrase can be
/// looked for whatever the encoder's line length.
fn unfolded(raw: &str) -> String {
    raw.replace("=\r\n", "").replace("=\n", "")
}

#[test]
fn comms_rewords_the_market_announcement_another_approves_it_and_staff_hear_after_the_market() {
    let (port, mailbox) = crate::smtp::Mailbox::start();
    let mut org = example_json("organisation.json");
    org["smtp"] = json!({
        "host": "127.0.0.1", "port": port, "tls": "none",
        "from": "Larkfield Privacy <privacy@larkfield-vets.example>"
    });
    let env = TestEnv::prepared(&org);
    let carol = member(&env.data_dir, "carol", &["comms"]);
    let amir = member(&env.data_dir, "amir", &["approver"]);
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    // The staff briefing, approved and sent first, waits: staff hear only after the market
    // (inside information; the example company is listed on AIM).
    for (m, args) in [
        (&carol, vec!["render", "BR-2024-0001", "staff-briefing"]),
        (&amir, vec!["approve", "BR-2024-0001", "staff-briefing"]),
        (
            &carol,
            vec!["send", "BR-2024-0001", "staff-briefing", "--to", "staff"],
        ),
    ] {
        let out = as_member(&env, m).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        mailbox.count_to("all-staff@larkfield-vets.example"),
        0,
        "held"
    );

    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let mut violations = Vec::new();
    let doc = "/incidents/BR-2024-0001/documents/market-announcement";
    let sentence = "Every clinic remains open and is seeing animals as normal.";
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &carol).await;
        c.goto(&format!("{base}{doc}")).await.unwrap();
        click(&c, Locator::Id("render-button")).await;
        c.wait()
            .for_element(Locator::Id("chosen-heading"))
            .await
            .unwrap();
        assert_eq!(text(&c, "#chosen-heading").await, "Version 1");

        // Comms changes the wording: one sentence more, nothing taken out.
        click(&c, Locator::Id("edit-link")).await;
        assert_eq!(
            arrive(&c, &format!("{doc}/edit")).await,
            format!("{doc}/edit")
        );
        violations.extend(axe(&c, "edit").await);
        let area = c.find(Locator::Id("text")).await.unwrap();
        let generated = area.prop("value").await.unwrap().unwrap();
        let (head, rest) = generated.split_once("\n\n").expect("a first paragraph");
        let edited = format!("{head}\n\n{sentence}\n\n{rest}");
        c.execute(
            "document.getElementById('text').value = arguments[0];",
            vec![json!(edited)],
        )
        .await
        .unwrap();
        click(&c, Locator::Id("save-edit")).await;
        c.wait()
            .for_element(Locator::Id("edit-summary"))
            .await
            .expect("the edit stored and shown");
        assert_eq!(text(&c, "#chosen-heading").await, "Version 2");
        let summary = text(&c, "#edit-summary").await;
        assert!(
            summary.contains("Edited by carol from version 1"),
            "{summary}"
        );
        // Comms cannot approve it: the button says why.
        let why = text(&c, "#approve-why").await;
        assert!(why.contains("needs the approver role"), "{why}");
        violations.extend(axe(&c, "document workspace, edited").await);
        // Against the generated text, side by side: the sentence is the change.
        click(&c, Locator::Id("compare-generated")).await;
        assert_eq!(
            arrive(&c, &format!("{doc}/compare")).await,
            format!("{doc}/compare")
        );
        let added = c
            .find_all(Locator::Css(
                "#diff tr.added td.right, #diff tr.changed td.right",
            ))
            .await
            .unwrap();
        let mut right = Vec::new();
        for a in added {
            right.push(a.text().await.unwrap());
        }
        assert!(right.iter().any(|t| t == sentence), "{right:?}");
        sign_out(&c).await;

        // A different person approves it.
        sign_in(&c, &base, &amir).await;
        c.goto(&format!("{base}{doc}")).await.unwrap();
        click(&c, Locator::Id("approve-button")).await;
        c.wait()
            .for_element(Locator::Id("approved"))
            .await
            .expect("approved");
        sign_out(&c).await;

        // Comms sends it to the company's nominated adviser: the market hears first, and the
        // staff briefing waiting for it goes after, in the same act.
        sign_in(&c, &base, &carol).await;
        c.goto(&format!("{base}{doc}")).await.unwrap();
        assert!(
            c.find(Locator::Id("file-button")).await.is_err(),
            "filing is the DPO's"
        );
        click(&c, Locator::Id("to-nomad")).await;
        click(&c, Locator::Id("send-button")).await;
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001").await,
            "/incidents/BR-2024-0001"
        );
        c.close().await.unwrap();
    });

    let messages = mailbox.messages();
    let market = messages
        .iter()
        .position(|(to, _)| to.iter().any(|t| t == "nomad@hartwell-capital.example"))
        .expect("the announcement was delivered");
    assert!(
        unfolded(&messages[market].1).contains(sentence),
        "the approved wording was sent"
    );
    let staff = messages
        .iter()
        .position(|(to, _)| to.iter().any(|t| t == "all-staff@larkfield-vets.example"))
        .expect("the staff briefing was released");
    assert!(staff > market, "staff heard after the market");
    let stored = versions(&env, &carol, "BR-2024-0001", "market-announcement");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1]["approval"]["by"], "amir");
    assert_eq!(stored[1]["edit"]["from_version"], 1);
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

/// The accounts as the command line lists them (JSON).
fn accounts(env: &TestEnv, m: &Member) -> Vec<serde_json::Value> {
    let out = as_member(env, m)
        .args(["--format", "json", "user", "list"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .or_else(|| v["users"].as_array())
        .cloned()
        .unwrap_or_default()
}

#[test]
fn the_admin_adds_and_disables_accounts_by_clicking() {
    let (env, _dana, carol, ada, _) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let mut violations = Vec::new();
    let before = accounts(&env, &ada).len();
    let password = "Priya-kestrel-harbour-2024";
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &ada).await;
        c.goto(&format!("{base}/users")).await.unwrap();
        let fill = |id: &'static str, value: &'static str| {
            let c = c.clone();
            async move {
                let field = c.find(Locator::Id(id)).await.unwrap();
                field.clear().await.unwrap();
                field.send_keys(value).await.unwrap();
            }
        };
        fill("new-name", "Priya Raman").await;
        fill("new-email", "priya.raman@larkfield-vets.example").await;
        click(&c, Locator::Id("role-dpo")).await;
        click(&c, Locator::Id("role-approver")).await;
        fill("new-password", password).await;
        fill("new-again", "Priya-kestrel-harbour-2025").await;
        click(&c, Locator::Id("add-account")).await;
        let error = c
            .wait()
            .for_element(Locator::Id("users-error"))
            .await
            .expect("the passwords differ");
        assert!(error.text().await.unwrap().contains("differ"));
        // What was typed is kept, but never a password.
        let kept = c.find(Locator::Id("new-name")).await.unwrap();
        assert_eq!(
            kept.prop("value").await.unwrap().as_deref(),
            Some("Priya Raman")
        );
        let role = c.find(Locator::Id("role-approver")).await.unwrap();
        assert_eq!(role.prop("checked").await.unwrap().as_deref(), Some("true"));
        let pw = c.find(Locator::Id("new-password")).await.unwrap();
        assert_eq!(pw.prop("value").await.unwrap().as_deref(), Some(""));
        violations.extend(axe(&c, "accounts with an error").await);

        fill("new-password", password).await;
        fill("new-again", password).await;
        click(&c, Locator::Id("add-account")).await;
        assert_eq!(arrive(&c, "/users").await, "/users");
        c.wait()
            .for_element(Locator::XPath("//td[text()='Priya Raman']"))
            .await
            .expect("the new account listed");
        let table = text(&c, "#accounts").await;
        assert!(table.contains("dpo, approver"), "{table}");
        // Priya is only the DPO from now on.
        let account = c.find(Locator::Id("change-name")).await.unwrap();
        account.select_by_value("Priya Raman").await.unwrap();
        click(&c, Locator::Id("change-role-dpo")).await;
        click(&c, Locator::Id("change-account")).await;
        assert_eq!(arrive(&c, "/users").await, "/users");
        c.wait()
            .for_element(Locator::XPath(
                "//tr[td[text()='Priya Raman']]/td[text()='dpo']",
            ))
            .await
            .expect("Priya's roles changed");
        // Carol leaves the company: disabled.
        click(&c, Locator::Css("button[aria-label='Disable carol']")).await;
        c.wait()
            .for_element(Locator::XPath(
                "//tr[td[text()='carol']]/td[text()='disabled']",
            ))
            .await
            .expect("carol disabled");
        violations.extend(axe(&c, "accounts").await);
        sign_out(&c).await;

        // The new account signs in with the password the admin set.
        let priya = Member {
            name: "Priya Raman".into(),
            token: String::new(),
            password: password.into(),
        };
        sign_in(&c, &base, &priya).await;
        assert_eq!(text(&c, ".who p").await, "Signed in as Priya Raman (dpo)");
        sign_out(&c).await;
        // Carol no longer can.
        c.goto(&format!("{base}/sign-in")).await.unwrap();
        c.find(Locator::Id("name"))
            .await
            .unwrap()
            .send_keys("carol")
            .await
            .unwrap();
        c.find(Locator::Id("password"))
            .await
            .unwrap()
            .send_keys(&carol.password)
            .await
            .unwrap();
        click(&c, Locator::Css("form button[type=submit]")).await;
        c.wait()
            .for_element(Locator::Css("#sign-in-error"))
            .await
            .expect("a disabled account is refused");
        c.close().await.unwrap();
    });
    let after = accounts(&env, &ada);
    assert_eq!(
        after.len(),
        before + 1,
        "the refused attempt stored nothing"
    );
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
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

#[test]
fn the_dpo_moves_the_incident_along_and_records_when_a_clock_starts() {
    let (env, dana, carol, _, _) = team();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let mut violations = Vec::new();
    let steps = "/incidents/BR-2024-0001/steps";
    runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &dana).await;
        c.goto(&format!("{base}/incidents/BR-2024-0001"))
            .await
            .unwrap();
        click(&c, Locator::Id("steps-link")).await;
        assert_eq!(arrive(&c, steps).await, steps);
        violations.extend(axe(&c, "steps").await);

        // The board's call that the incident is inside information, at a time London's clocks
        // skipped that night: refused beside the form, nothing stored.
        let anchor = c.find(Locator::Id("trigger-anchor")).await.unwrap();
        anchor.select_by_value("inside_information").await.unwrap();
        pick_time(&c, "trigger-at", "2024-03-31T01:30").await;
        fill(&c, "trigger-by", "Margaret Ellis (Chair)").await;
        fill(
            &c,
            "trigger-note",
            "Board call: disruption to practices is price-sensitive.",
        )
        .await;
        click(&c, Locator::Id("trigger-button")).await;
        let error = c
            .wait()
            .for_element(Locator::Id("trigger-error"))
            .await
            .expect("the time refused");
        let said = error.text().await.unwrap();
        assert!(said.contains("does not exist in Europe/London"), "{said}");
        violations.extend(axe(&c, "steps with a problem").await);
        pick_time(&c, "trigger-at", "2024-03-31T16:30").await;
        fill(&c, "trigger-by", "Margaret Ellis (Chair)").await;
        click(&c, Locator::Id("trigger-button")).await;
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001").await,
            "/incidents/BR-2024-0001"
        );
        let timeline = text(&c, ".timeline").await;
        assert!(timeline.contains("inside information"), "{timeline}");

        // The board delays announcing it (UK MAR Art 17(4)): all three conditions are needed.
        c.goto(&format!("{base}{steps}")).await.unwrap();
        fill(
            &c,
            "delay-by",
            "Margaret Ellis (Chair); Daniel Hughes (General Counsel)",
        )
        .await;
        fill(
            &c,
            "delay-interests",
            "Announcing before the attacker is locked out would invite a second attack.",
        )
        .await;
        fill(
            &c,
            "delay-misleading",
            "No market guidance depends on the systems affected.",
        )
        .await;
        click(&c, Locator::Id("delay-button")).await;
        let error = c
            .wait()
            .for_element(Locator::Id("delay-error"))
            .await
            .expect("condition (c) is missing");
        let said = error.text().await.unwrap();
        assert!(said.ends_with("missing: condition (c)"), "{said}");
        // What was typed is still there: only the missing condition is added.
        let kept = c.find(Locator::Id("delay-interests")).await.unwrap();
        assert_eq!(
            kept.prop("value").await.unwrap().as_deref(),
            Some("Announcing before the attacker is locked out would invite a second attack.")
        );
        fill(
            &c,
            "delay-confidentiality",
            "Insider list opened; the board and four advisers only.",
        )
        .await;
        click(&c, Locator::Id("delay-button")).await;
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001").await,
            "/incidents/BR-2024-0001"
        );
        let timeline = text(&c, ".timeline").await;
        assert!(timeline.contains("disclosure delayed"), "{timeline}");

        // Closing is refused while obligations are owed; notifying is the next step.
        c.goto(&format!("{base}{steps}")).await.unwrap();
        click(&c, Locator::Id("step-close")).await;
        click(&c, Locator::Id("transition-button")).await;
        let error = c
            .wait()
            .for_element(Locator::Id("transition-error"))
            .await
            .expect("closing refused");
        assert!(
            error
                .text()
                .await
                .unwrap()
                .contains("uk-gdpr-art33/initial")
        );
        click(&c, Locator::Id("step-notify")).await;
        click(&c, Locator::Id("transition-button")).await;
        assert_eq!(
            arrive(&c, "/incidents/BR-2024-0001").await,
            "/incidents/BR-2024-0001"
        );
        assert!(text(&c, ".lead").await.contains("State: notifying"));

        // Waiving needs its reason.
        c.goto(&format!("{base}{steps}")).await.unwrap();
        click(&c, Locator::Id("waive-button")).await;
        c.wait()
            .for_element(Locator::Id("waive-error"))
            .await
            .expect("a waiver needs its reason");
        sign_out(&c).await;

        // Comms is not offered the page and is refused it.
        sign_in(&c, &base, &carol).await;
        c.goto(&format!("{base}/incidents/BR-2024-0001"))
            .await
            .unwrap();
        assert!(c.find(Locator::Id("steps-link")).await.is_err());
        c.goto(&format!("{base}{steps}")).await.unwrap();
        assert_eq!(text(&c, "h1").await, "Not allowed");
        c.close().await.unwrap();
    });
    let out = as_member(&env, &dana)
        .args(["--format", "json", "incident", "show", "BR-2024-0001"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let triggers: Vec<&serde_json::Value> = v["incident"]["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["anchor"] == "inside_information")
        .collect();
    assert_eq!(triggers.len(), 1, "the refused time stored nothing");
    assert_eq!(triggers[0]["at"], "2024-03-31T15:30:00Z", "{}", triggers[0]);
    assert_eq!(triggers[0]["decided_by"], "Margaret Ellis (Chair)");
    assert_eq!(v["incident"]["state"], "notifying");
    assert_eq!(
        v["incident"]["disclosure_delay"]["confidentiality"],
        "Insider list opened; the board and four advisers only."
    );
    let waived = v["incident"]["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["state"] == "waived")
        .count();
    assert_eq!(waived, 0, "a waiver without a reason stored nothing");
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

/// Sets a field of the form shown, found by its name (a JSON pointer on the schema forms), as a
/// person would fill it: a choice ticked, text put in. Through the page's own DOM, so a field in
/// a folded group is filled as well as one in view.
async fn set_field(c: &Client, name: &str, value: &str) {
    let done = c
        .execute(
            "const [name, value] = arguments;
             const els = document.getElementsByName(name);
             if (!els.length) return 'no field';
             const el = els[0];
             if (el.type === 'radio' || el.type === 'checkbox') {
               for (const e of els) if (e.value === value) { e.checked = true; return 'ok'; }
               return 'no such choice';
             }
             el.value = value;
             return 'ok';",
            vec![json!(name), json!(value)],
        )
        .await
        .unwrap();
    assert_eq!(done, json!("ok"), "{name} = {value:?}");
}

/// Every answer of the example answers file (`details`), as (pointer, typed text) pairs.
fn example_answers() -> Vec<(String, String)> {
    fn walk(v: &serde_json::Value, at: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    walk(v, &format!("{at}/{k}"), out);
                }
            }
            serde_json::Value::Array(items) => out.push((
                at.to_string(),
                items
                    .iter()
                    .map(|i| i.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )),
            v => out.push((at.to_string(), v.as_str().unwrap().to_string())),
        }
    }
    let answers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(example("incident-update-report-answers.json")).unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    walk(&answers["details"], "/details", &mut out);
    out
}

/// Adds an account on the accounts page (the admin signed in).
async fn add_account(c: &Client, base: &str, name: &str, roles: &[&str], password: &str) {
    c.goto(&format!("{base}/users")).await.unwrap();
    fill(c, "new-name", name).await;
    fill(c, "new-email", &format!("{name}@larkfield-vets.example")).await;
    for r in roles {
        click(c, Locator::Id(&format!("role-{r}"))).await;
    }
    fill(c, "new-password", password).await;
    fill(c, "new-again", password).await;
    click(c, Locator::Id("add-account")).await;
    c.wait()
        .for_element(Locator::XPath(&format!("//td[text()='{name}']")))
        .await
        .unwrap_or_else(|e| panic!("{name} was not added: {e}"));
}

/// Waits for the document workspace to show a version after a form; its heading.
async fn shown_version(c: &Client) -> String {
    if c.wait()
        .for_element(Locator::Id("chosen-heading"))
        .await
        .is_err()
    {
        panic!("no version shown: {}", text_or_empty(c, ".error").await);
    }
    text(c, "#chosen-heading").await
}

#[test]
fn the_whole_story_by_clicking_from_the_first_admin_to_the_auditor() {
    // A new machine: the organisation's profile and the first admin, made on the command line
    // as the README says; everything after is done in the browser.
    let (port, mailbox) = crate::smtp::Mailbox::start();
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["smtp"] = json!({
        "host": "127.0.0.1", "port": port, "tls": "none",
        "from": "Larkfield Privacy <privacy@larkfield-vets.example>"
    });
    let org = env.file("org.json", &org);
    env.run(&["init", "--org", &org]).success();
    let ada = member(&env.data_dir, "ada", &["admin"]);
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let mut violations = Vec::new();
    let person = |name: &str| Member {
        name: name.into(),
        token: String::new(),
        password: format!("{name}-thistle-lantern-2024"),
    };
    let (dana, carol, amir, otto) = (
        person("dana"),
        person("carol"),
        person("amir"),
        person("otto"),
    );
    let id = runtime().block_on(async {
        let c = driver.browser(profile.path(), true).await;
        // The admin makes the team's accounts.
        sign_in(&c, &base, &ada).await;
        for (m, roles) in [
            (&dana, &["dpo"][..]),
            (&carol, &["comms"]),
            (&amir, &["approver"]),
            (&otto, &["auditor"]),
        ] {
            add_account(&c, &base, &m.name, roles, &m.password).await;
        }
        sign_out(&c).await;

        // The DPO opens the incident, assesses it, decides, and records the board's call.
        sign_in(&c, &base, &dana).await;
        click(&c, Locator::Id("new-incident-link")).await;
        assert_eq!(arrive(&c, "/incidents/new").await, "/incidents/new");
        fill(&c, "f-title", "Ransomware on practice management servers").await;
        fill(
            &c,
            "f-summary",
            "An attacker encrypted the servers that run the practice management system.",
        )
        .await;
        pick_time(&c, "f-detected_at", "2024-04-04T08:10").await;
        pick_time(&c, "f-aware_at", "2024-04-04T10:00").await;
        fill(
            &c,
            "f-awareness_justification",
            "Client records were confirmed on the encrypted servers at 10:00.",
        )
        .await;
        fill(&c, "f-discovery", "Endpoint detection alert").await;
        click(&c, Locator::Id("f-impact-confidentiality")).await;
        click(&c, Locator::Id("f-impact-availability")).await;
        fill(&c, "f-reporter-name", "Tom Okafor").await;
        submit(&c).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path(&c).await.starts_with("/incidents/BR-") && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let at = path(&c).await;
        let id = at.trim_start_matches("/incidents/").to_string();
        assert_eq!(arrive(&c, &at).await, at);

        click(&c, Locator::Id("assess-link")).await;
        assert_eq!(
            arrive(&c, &format!("{at}/assessment")).await,
            format!("{at}/assessment")
        );
        for (name, value) in [
            ("/data_categories", "contact_details"),
            ("/subject_categories", "customers"),
            ("/circumstances/confidentiality", "disclosure"),
            ("/circumstances/integrity", "none"),
            ("/circumstances/availability", "temporary"),
            ("/circumstances/malicious", "yes"),
            ("/identifiability", "maximum"),
        ] {
            set_field(&c, name, value).await;
        }
        fill(&c, "f-subjects-estimate", "48000").await;
        submit(&c).await;
        assert_eq!(arrive(&c, &at).await, at, "assessed");

        click(&c, Locator::Id("decide-link")).await;
        assert_eq!(
            arrive(&c, &format!("{at}/decision")).await,
            format!("{at}/decision")
        );
        click(
            &c,
            Locator::Css("#decide-heading ~ form button[type=submit]"),
        )
        .await;
        assert_eq!(arrive(&c, &at).await, at, "decided");

        click(&c, Locator::Id("steps-link")).await;
        assert_eq!(
            arrive(&c, &format!("{at}/steps")).await,
            format!("{at}/steps")
        );
        click(&c, Locator::Id("step-notify")).await;
        click(&c, Locator::Id("transition-button")).await;
        assert_eq!(arrive(&c, &at).await, at, "notifying");
        c.goto(&format!("{base}{at}/steps")).await.unwrap();
        let anchor = c.find(Locator::Id("trigger-anchor")).await.unwrap();
        anchor.select_by_value("inside_information").await.unwrap();
        pick_time(&c, "trigger-at", "2024-04-04T16:30").await;
        fill(&c, "trigger-by", "Margaret Ellis (Chair)").await;
        fill(
            &c,
            "trigger-note",
            "Board call: disruption to practices is price-sensitive.",
        )
        .await;
        click(&c, Locator::Id("trigger-button")).await;
        assert_eq!(arrive(&c, &at).await, at, "inside information recorded");

        // The reports' questions, answered on the facts form the ICO report's page links to.
        let ico = format!("{at}/documents/ico-report");
        c.goto(&format!("{base}{ico}")).await.unwrap();
        click(&c, Locator::Id("fill-link")).await;
        assert_eq!(
            arrive(&c, &format!("{at}/facts")).await,
            format!("{at}/facts")
        );
        for (name, value) in example_answers() {
            set_field(&c, &name, &value).await;
        }
        set_field(
            &c,
            "/containment",
            "The affected servers are isolated and the network is segmented.",
        )
        .await;
        submit(&c).await;
        assert_eq!(arrive(&c, &ico).await, ico, "back to the report");
        // What is still unknown (the likely consequences) may follow in a later report
        // (Art 33(4)): the initial report goes in phases, saying so.
        let mut rows = Vec::new();
        for row in c.find_all(Locator::Css("#missing tbody tr")).await.unwrap() {
            rows.push(row.text().await.unwrap());
        }
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r.contains("yes")), "{rows:?}");
        click(&c, Locator::Id("mode-phased")).await;
        click(&c, Locator::Id("render-button")).await;
        assert_eq!(shown_version(&c).await, "Version 1");
        let chosen = text(&c, "#chosen-heading").await;
        let section = text(&c, "section[aria-labelledby='chosen-heading']").await;
        assert!(
            section.contains("A report in phases"),
            "{chosen}: {section}"
        );
        sign_out(&c).await;

        // Comms prepares the staff briefing and the market announcement, rewording it.
        sign_in(&c, &base, &carol).await;
        for doc in ["staff-briefing", "market-announcement"] {
            c.goto(&format!("{base}{at}/documents/{doc}"))
                .await
                .unwrap();
            click(&c, Locator::Id("render-button")).await;
            assert_eq!(shown_version(&c).await, "Version 1", "{doc}");
        }
        click(&c, Locator::Id("edit-link")).await;
        let area = c.find(Locator::Id("text")).await.unwrap();
        let generated = area.prop("value").await.unwrap().unwrap();
        let edited = generated.replacen(
            "The investigation is at an early stage and is ongoing.",
            "The investigation is at an early stage.",
            1,
        );
        assert_ne!(edited, generated, "the sentence comms rewords is there");
        c.execute(
            "document.getElementById('text').value = arguments[0];",
            vec![json!(edited)],
        )
        .await
        .unwrap();
        click(&c, Locator::Id("save-edit")).await;
        assert_eq!(shown_version(&c).await, "Version 2");
        sign_out(&c).await;

        // The approver approves all three.
        sign_in(&c, &base, &amir).await;
        for doc in ["ico-report", "staff-briefing", "market-announcement"] {
            c.goto(&format!("{base}{at}/documents/{doc}"))
                .await
                .unwrap();
            click(&c, Locator::Id("approve-button")).await;
            c.wait()
                .for_element(Locator::Id("approved"))
                .await
                .unwrap_or_else(|e| panic!("{doc} approved: {e}"));
        }
        sign_out(&c).await;

        // Comms sends the staff briefing (it waits for the market), then the announcement to
        // the nominated adviser; the staff briefing follows it.
        sign_in(&c, &base, &carol).await;
        for (doc, to) in [
            ("staff-briefing", "to-staff"),
            ("market-announcement", "to-nomad"),
        ] {
            c.goto(&format!("{base}{at}/documents/{doc}"))
                .await
                .unwrap();
            click(&c, Locator::Id(to)).await;
            click(&c, Locator::Id("send-button")).await;
            assert_eq!(arrive(&c, &at).await, at, "{doc} sent");
            if doc == "staff-briefing" {
                let outbox = text(&c, "table.outbox").await;
                assert!(outbox.contains("held"), "{outbox}");
            }
        }
        sign_out(&c).await;

        // The DPO files the ICO report and records the case reference.
        sign_in(&c, &base, &dana).await;
        c.goto(&format!("{base}{ico}")).await.unwrap();
        fill(&c, "file-reference", "IC-301234-X9Y8").await;
        click(&c, Locator::Id("file-button")).await;
        assert_eq!(arrive(&c, &at).await, at, "filed");
        sign_out(&c).await;

        // The auditor verifies the log and finds the incident in the register.
        sign_in(&c, &base, &otto).await;
        c.goto(&format!("{base}/audit")).await.unwrap();
        click(&c, Locator::Css("form[action='/audit/verify'] button")).await;
        let verified = c
            .wait()
            .for_element(Locator::Css(".verified"))
            .await
            .expect("the log verified");
        assert!(verified.text().await.unwrap().starts_with("Verified"));
        violations.extend(axe(&c, "audit after the story").await);
        c.close().await.unwrap();
        id
    });

    // What the browser did is what the store holds, read back by the command line.
    let messages = mailbox.messages();
    let market = messages
        .iter()
        .position(|(to, _)| to.iter().any(|t| t == "nomad@hartwell-capital.example"))
        .expect("the announcement was delivered");
    assert!(unfolded(&messages[market].1).contains("at an early stage."));
    assert!(!unfolded(&messages[market].1).contains("at an early stage and is ongoing"));
    let staff = messages
        .iter()
        .position(|(to, _)| to.iter().any(|t| t == "all-staff@larkfield-vets.example"))
        .expect("the staff briefing was released");
    assert!(staff > market, "staff heard after the market");
    let out = as_member(&env, &ada)
        .args(["--format", "json", "incident", "show", &id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ico = v["incident"]["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == "uk-gdpr-art33/initial")
        .cloned()
        .unwrap();
    assert_eq!(ico["state"], "filed", "{ico}");
    assert_eq!(v["incident"]["opened_by"], "dana");
    let out = as_member(&env, &ada)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        violations.is_empty(),
        "serious or critical accessibility violations:\n{}",
        violations.join("\n")
    );
}

/// Presses `key` where the focus is, as a keyboard would.
async fn press(c: &Client, key: fantoccini::key::Key) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(&char::from(key).to_string())
        .await
        .unwrap();
}

/// Tabs forward until the element with `id` has the focus (at most 20 presses), checking that
/// every element the focus passes through shows it (the outline of `:focus-visible`).
async fn tab_to(c: &Client, id: &str) {
    for _ in 0..20 {
        press(c, fantoccini::key::Key::Tab).await;
        let focused = c.active_element().await.unwrap();
        let style = focused.css_value("outline-style").await.unwrap();
        let width = focused.css_value("outline-width").await.unwrap();
        let what = focused.html(false).await.unwrap_or_default();
        assert!(
            style == "solid" && width != "0px",
            "the focus is not visible on {what}: outline {style} {width}"
        );
        if focused.attr("id").await.unwrap().as_deref() == Some(id) {
            return;
        }
    }
    panic!("#{id} was not reached with the Tab key");
}

#[test]
fn a_keyboard_alone_signs_in_opens_the_overdue_incident_and_approves_a_document() {
    let (env, dana, _, _, _) = team();
    let amir = member(&env.data_dir, "amir", &["approver"]);
    env.run(&["render", "BR-2024-0001", "board-briefing"])
        .success();
    let server = Server::start_with(&env, &[], &[("BREACHFLOW_NOW", LATER)]);
    let base = server.url.clone();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        use fantoccini::key::Key;
        let c = driver.browser(profile.path(), true).await;
        // Signing in: Tab to the name, type, Tab to the password, type, Enter.
        c.goto(&format!("{base}/sign-in")).await.unwrap();
        tab_to(&c, "name").await;
        c.active_element()
            .await
            .unwrap()
            .send_keys(&dana.name)
            .await
            .unwrap();
        tab_to(&c, "password").await;
        c.active_element()
            .await
            .unwrap()
            .send_keys(&dana.password)
            .await
            .unwrap();
        press(&c, Key::Enter).await;
        assert_eq!(arrive(&c, "/dashboard").await, "/dashboard");
        // The skip link comes first and takes the focus past the header.
        press(&c, Key::Tab).await;
        let skip = c.active_element().await.unwrap();
        assert_eq!(skip.text().await.unwrap(), "Skip to the content");
        // The overdue obligation's incident, opened with Enter on its link.
        let first = c
            .find(Locator::Css("table.due tbody tr a"))
            .await
            .expect("a link in the first row");
        let target = first.attr("href").await.unwrap().unwrap();
        c.execute(
            "document.querySelector('table.due tbody tr a').id = 'first-due';",
            vec![],
        )
        .await
        .unwrap();
        tab_to(&c, "first-due").await;
        press(&c, Key::Enter).await;
        assert_eq!(arrive(&c, &target).await, target);
        c.close().await.unwrap();
    });
    // The approver approves the board briefing from the keyboard.
    let profile = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        use fantoccini::key::Key;
        let c = driver.browser(profile.path(), true).await;
        sign_in(&c, &base, &amir).await;
        c.goto(&format!(
            "{base}/incidents/BR-2024-0001/documents/board-briefing"
        ))
        .await
        .unwrap();
        tab_to(&c, "approve-button").await;
        press(&c, Key::Enter).await;
        c.wait()
            .for_element(Locator::Id("approved"))
            .await
            .expect("approved from the keyboard");
        c.close().await.unwrap();
    });
    let stored = versions(&env, &dana, "BR-2024-0001", "board-briefing");
    assert_eq!(stored[0]["approval"]["by"], "amir");
}
