//! Performance against the machine's own limits, measured in one run: `cargo bench`.
//!
//! Every figure is a median of repeated runs, printed next to the floor it is judged against
//! (a loop of small write + fdatasync calls on the same disk, and process start). Stores of
//! 100,000 incidents take a while to build; `BREACHFLOW_BENCH_QUICK=1` uses 10,000.
//! The bulk-mail figures need postfix's `smtp-sink` and `smtp-source` on the PATH (Debian
//! package `postfix`); without them those lines are skipped.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use breachflow::SledStore;
use breachflow::app::ports::{Change, Store, Subject};
use breachflow::domain::assessment::AssessmentInput;
use breachflow::domain::event::Identity;
use breachflow::domain::incident::{IncidentFacts, IncidentUpdate};
use breachflow::domain::log::Stamp;
use breachflow::domain::organisation::Organisation;
use breachflow::domain::regime::Rulebook;
use breachflow::domain::workflow::{self, Rules};
use chrono::{DateTime, Duration as Span, Utc};

const BIN: &str = env!("CARGO_BIN_EXE_breachflow");
const ORG: &str = include_str!("../examples/organisation.json");
const INCIDENT: &str = include_str!("../examples/incident-ransomware.json");
const ASSESSMENT: &str = include_str!("../examples/assessment-ransomware.json");
const ANSWERS: &str = include_str!("../examples/incident-update-report-answers.json");

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn line(what: &str, figure: String, note: String) {
    println!("| {what} | {figure} | {note} |");
}

/// The disk's floor: small appends, each made durable with fdatasync.
fn fdatasync_floor(dir: &Path, n: usize) -> Duration {
    let path = dir.join("floor");
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        f.write_all(format!("{i:064}").as_bytes()).unwrap();
        // SAFETY: the descriptor is open for the life of `f`.
        let rc = unsafe { libc::fdatasync(f.as_raw_fd()) };
        assert_eq!(rc, 0);
        times.push(start.elapsed());
    }
    let _ = std::fs::remove_file(path);
    median(times)
}

fn run(data: &Path, now: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(BIN)
        .env("BREACHFLOW_DATA_DIR", data)
        .env("BREACHFLOW_NOW", now)
        .env("BREACHFLOW_ACTOR", "bench")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn now() -> DateTime<Utc> {
    "2024-06-01T12:00:00Z".parse().unwrap()
}

/// A store of `n` incidents built through the library (each commit flushed, as the CLI does):
/// `assessed` of them assessed with awareness an hour ago (deadlines ahead), `overdue` assessed
/// with awareness in March (the ICO's 72 hours long gone).
/// What a sender pays for not holding the store across a network wait: `Store::idle` (sled
/// closed, its lock released) and the next read (sled opened again), against the same read on
/// a store kept open. A bulk run pays it once per batch, a single send once per message.
fn lease(root: &Path, n: usize) {
    use breachflow::LeasedStore;
    for size in [1usize, n] {
        let dir = root.join(format!("lease-{size}"));
        build_store(&dir, size, 0, 0);
        let store = LeasedStore::for_sending(&dir, Duration::ZERO).unwrap();
        let held: Vec<Duration> = (0..200)
            .map(|_| {
                let t = Instant::now();
                store.recorded().unwrap();
                t.elapsed()
            })
            .collect();
        let cycles: Vec<Duration> = (0..200)
            .map(|_| {
                let t = Instant::now();
                store.idle();
                store.recorded().unwrap();
                t.elapsed()
            })
            .collect();
        let (held, cycle) = (median(held), median(cycles));
        line(
            &format!("store let go and taken back (idle + one read), {size} incidents"),
            ms(cycle),
            format!(
                "one read on a held store: {:.1} µs; per bulk batch of 50 at 1,713 messages per second: {:.0}% more time",
                held.as_secs_f64() * 1e6,
                100.0 * cycle.as_secs_f64() / (50.0 / 1713.0)
            ),
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Durable commits per second in one process sharing one store (the team server's case): each
/// commit a small incident update through the app layer, by 1 writer and by 32 threads at once
/// (each on its own incident), against the disk floor's rate. Group commit lets concurrent
/// writers share a flush; the targets (issue 14) are 0.7x the floor's rate for one writer and
/// 2x for 32. The median of `runs` runs of each.
fn commits(root: &Path, floor: Duration, runs: usize) {
    use breachflow::app::Context;
    use std::sync::Arc;
    const WRITERS: usize = 32;
    let dir = root.join("commits");
    build_store(&dir, WRITERS, 0, 0);
    let store = Arc::new(SledStore::open(&dir).unwrap());
    let book = Arc::new(Rulebook::load(None).unwrap());
    let ids: Vec<breachflow::domain::incident::IncidentId> = (1..=WRITERS)
        .map(|n| format!("BR-2024-{n:04}").parse().unwrap())
        .collect();
    let floor_rate = 1.0 / floor.as_secs_f64();
    let mut revision = 0usize;
    for (writers, each) in [(1usize, 600usize), (WRITERS, 60)] {
        let rates: Vec<f64> = (0..runs)
            .map(|_| {
                revision += 1;
                let start = Instant::now();
                let threads: Vec<_> = ids[..writers]
                    .iter()
                    .map(|&id| {
                        let (store, book) = (store.clone(), book.clone());
                        std::thread::spawn(move || {
                            let ctx = Context::self_declared(now(), "bench");
                            for i in 0..each {
                                let update = IncidentUpdate {
                                    title: Some(format!("Ransomware, revision {revision}.{i}")),
                                    ..IncidentUpdate::default()
                                };
                                breachflow::app::incident::update(
                                    store.as_ref(),
                                    &ctx,
                                    &book,
                                    id,
                                    "bench",
                                    &update,
                                )
                                .unwrap();
                            }
                        })
                    })
                    .collect();
                for t in threads {
                    t.join().unwrap();
                }
                (writers * each) as f64 / start.elapsed().as_secs_f64()
            })
            .collect();
        let mut sorted = rates.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let rate = sorted[sorted.len() / 2];
        let (target, name) = if writers == 1 {
            (0.7, "1 writer".to_string())
        } else {
            (
                2.0,
                format!("{writers} concurrent writers, one incident each"),
            )
        };
        line(
            &format!("durable commits in one process sharing one store (app layer), {name}"),
            format!("{rate:.0} per second"),
            format!(
                "{:.2}x the floor's {floor_rate:.0} fdatasync/s; target {target}x: {} (runs: {})",
                rate / floor_rate,
                if rate / floor_rate >= target {
                    "met"
                } else {
                    "**missed**"
                },
                rates
                    .iter()
                    .map(|r| format!("{r:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The store's own ceiling: commits with no application work at all, straight on sled, by 1
/// and by 32 threads, each followed by a flush (as every durable commit is), against the disk
/// floor. Two shapes: one insert into one tree (the least any durable write does) and one
/// transaction over four trees writing an event, its index entry, the log head and a record
/// (the least an atomic, event-logged commit does). An app-layer commit rate cannot beat these.
fn sled_ceiling(root: &Path, floor: Duration) {
    use sled::Transactional;
    use sled::transaction::ConflictableTransactionError;
    use std::sync::Arc;
    let dir = root.join("sled-ceiling");
    let db = sled::open(&dir).unwrap();
    let trees: Arc<Vec<sled::Tree>> = Arc::new(
        ["events", "incident_events", "meta", "incidents"]
            .iter()
            .map(|t| db.open_tree(t).unwrap())
            .collect(),
    );
    // About the sizes of a title update's event and of the record it rewrites.
    let (event, record) = (vec![b'e'; 1_000], vec![b'r'; 4_000]);
    let floor_rate = 1.0 / floor.as_secs_f64();
    for (writers, each) in [(1usize, 2_000usize), (32, 100)] {
        for transaction in [false, true] {
            let start = Instant::now();
            let threads: Vec<_> = (0..writers)
                .map(|w| {
                    let (db, trees) = (db.clone(), trees.clone());
                    let (event, record) = (event.clone(), record.clone());
                    std::thread::spawn(move || {
                        for i in 0..each {
                            let key = format!("{transaction}-{w:04}-{i:08}");
                            if transaction {
                                (&trees[0], &trees[1], &trees[2], &trees[3])
                                    .transaction(|(events, index, meta, incidents)| {
                                        events.insert(key.as_bytes(), event.as_slice())?;
                                        index.insert(key.as_bytes(), &[][..])?;
                                        meta.insert(&b"head"[..], key.as_bytes())?;
                                        incidents
                                            .insert(&w.to_be_bytes()[..], record.as_slice())?;
                                        Ok::<(), ConflictableTransactionError<()>>(())
                                    })
                                    .unwrap();
                            } else {
                                trees[0].insert(key.as_bytes(), event.as_slice()).unwrap();
                            }
                            db.flush().unwrap();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            let rate = (writers * each) as f64 / start.elapsed().as_secs_f64();
            line(
                &format!(
                    "the store's ceiling: sled alone, {}, {writers} writer{}",
                    if transaction {
                        "one transaction over 4 trees + flush"
                    } else {
                        "one insert + flush"
                    },
                    if writers == 1 { "" } else { "s" }
                ),
                format!("{rate:.0} per second"),
                format!(
                    "{:.2}x the floor's {floor_rate:.0} fdatasync/s",
                    rate / floor_rate
                ),
            );
        }
    }
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

fn build_store(dir: &Path, n: usize, assessed: usize, overdue: usize) -> Duration {
    let start = Instant::now();
    let store = SledStore::open(dir).unwrap();
    let org: Organisation = serde_json::from_str(ORG).unwrap();
    store
        .commit(Change::new(
            Subject::Organisation(&org),
            &[breachflow::domain::event::EventKind::OrganisationRecorded {
                organisation: org.clone(),
                replaced: false,
            }],
            Stamp {
                at: now(),
                actor: "bench".into(),
                identity: Identity::SelfDeclared,
                user: None,
            },
        ))
        .unwrap();
    let book = Rulebook::load(None).unwrap();
    let rules = Rules {
        org: &org,
        rulebook: &book,
    };
    let base: IncidentFacts = serde_json::from_str(INCIDENT).unwrap();
    let assessment: AssessmentInput = serde_json::from_str(ASSESSMENT).unwrap();
    for i in 0..n {
        let mut facts = base.clone();
        let recent = i >= overdue;
        if recent {
            facts.occurred.from = Some(now() - Span::hours(3));
            facts.detected_at = now() - Span::hours(2);
            facts.aware_at = now() - Span::hours(1);
        }
        let kinds = workflow::open(&facts, now()).unwrap();
        let c = store
            .commit(Change::new(
                Subject::NewIncident { year: 2024 },
                &kinds,
                Stamp {
                    at: now(),
                    actor: "bench".into(),
                    identity: Identity::SelfDeclared,
                    user: None,
                },
            ))
            .unwrap();
        if i < overdue + assessed {
            let record = c.record.unwrap();
            let kinds = workflow::assess(&record, &assessment, &rules, now(), "bench").unwrap();
            store
                .commit(Change::new(
                    Subject::Incident(&record),
                    &kinds,
                    Stamp {
                        at: now(),
                        actor: "bench".into(),
                        identity: Identity::SelfDeclared,
                        user: None,
                    },
                ))
                .unwrap();
        }
    }
    start.elapsed()
}

fn update_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let p = dir.join(format!("u{i}.json"));
            std::fs::write(&p, format!("{{\"title\": \"Ransomware, revision {i}\"}}")).unwrap();
            p
        })
        .collect()
}

fn durable_command(data: &Path, files: &[PathBuf], id: &str) -> Duration {
    let times: Vec<Duration> = files
        .iter()
        .map(|f| {
            run(
                data,
                "2024-06-01T12:00:00Z",
                &["incident", "update", id, "--file", f.to_str().unwrap()],
            )
        })
        .collect();
    median(times)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let quick = std::env::var("BREACHFLOW_BENCH_QUICK").is_ok();
    let big = if quick { 10_000 } else { 100_000 };
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    println!("| measurement | median | against |");
    println!("| --- | --- | --- |");
    // `BREACHFLOW_BENCH_ONLY=bulk` measures the mail figures alone.
    if std::env::var("BREACHFLOW_BENCH_ONLY").is_ok_and(|v| v == "bulk") {
        bulk(&root);
        return;
    }
    // `BREACHFLOW_BENCH_ONLY=lease`: the cost of letting go of the store around a mail wait.
    if std::env::var("BREACHFLOW_BENCH_ONLY").is_ok_and(|v| v == "lease") {
        lease(&root, if quick { 1_000 } else { 10_000 });
        return;
    }

    let floor = fdatasync_floor(&root, 2000);
    line(
        "disk floor: 64-byte append + fdatasync",
        ms(floor),
        format!("{:.0} per second", 1.0 / floor.as_secs_f64()),
    );
    // `BREACHFLOW_BENCH_ONLY=commits`: durable commits per second, 1 and 32 writers in one
    // process (group commit).
    if std::env::var("BREACHFLOW_BENCH_ONLY").is_ok_and(|v| v == "commits") {
        commits(&root, floor, 5);
        sled_ceiling(&root, floor);
        return;
    }
    let start_times: Vec<Duration> = (0..40)
        .map(|_| {
            let t = Instant::now();
            Command::new(BIN)
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .unwrap();
            t.elapsed()
        })
        .collect();
    let start = median(start_times);
    line(
        "process start (`breachflow --version`)",
        ms(start),
        String::new(),
    );

    // A durable command as a whole process, on stores of growing size.
    let files = update_files(&root, 31);
    for n in [0usize, 10_000, big] {
        let dir = root.join(format!("store-{n}"));
        let built = build_store(&dir, n.max(1), 0, 0);
        let d = durable_command(&dir, &files, "BR-2024-0001");
        line(
            &format!("`incident update` (one transaction + flush), store of {n} incidents"),
            ms(d),
            format!(
                "{:.1}x (disk floor + process start); target 3x (store built in {:.1} s)",
                d.as_secs_f64() / (floor + start).as_secs_f64(),
                built.as_secs_f64()
            ),
        );
        if n == big {
            let opens: Vec<Duration> = (0..20)
                .map(|_| {
                    let t = Instant::now();
                    let s = SledStore::open(&dir).unwrap();
                    let took = t.elapsed();
                    drop(s);
                    took
                })
                .collect();
            line(
                &format!("store open, {n} incidents"),
                ms(median(opens)),
                "target under 50 ms".into(),
            );
        }
        if n != big {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    // Overdue query: many obligations, few overdue.
    let dir = root.join("deadlines");
    let built = build_store(&dir, big, big / 10, 100);
    let times: Vec<Duration> = (0..31)
        .map(|_| run(&dir, "2024-06-01T12:00:00Z", &["deadlines", "--overdue"]))
        .collect();
    line(
        &format!(
            "`deadlines --overdue`, {big} incidents, {} with obligations, 100 overdue (whole process)",
            big / 10 + 100
        ),
        ms(median(times)),
        format!(
            "target under 20 ms (store built in {:.1} s)",
            built.as_secs_f64()
        ),
    );
    let _ = std::fs::remove_dir_all(&dir);

    // Durable state changes in one process (library, no process start).
    let dir = root.join("library");
    build_store(&dir, 1, 0, 0);
    {
        let store = SledStore::open(&dir).unwrap();
        let org = store.require_organisation().unwrap();
        let book = Rulebook::load(None).unwrap();
        let rules = Rules {
            org: &org,
            rulebook: &book,
        };
        let id = "BR-2024-0001".parse().unwrap();
        let n = 2000;
        let t = Instant::now();
        for i in 0..n {
            let record = store.incident(id).unwrap();
            let update = IncidentUpdate {
                title: Some(format!("Ransomware, revision {i}")),
                ..IncidentUpdate::default()
            };
            let kinds = workflow::update(&record, &update, &rules, now(), "bench").unwrap();
            store
                .commit(Change::new(
                    Subject::Incident(&record),
                    &kinds,
                    Stamp {
                        at: now(),
                        actor: "bench".into(),
                        identity: Identity::SelfDeclared,
                        user: None,
                    },
                ))
                .unwrap();
        }
        let rate = n as f64 / t.elapsed().as_secs_f64();
        line(
            "durable state changes in one process (library)",
            format!("{rate:.0} per second"),
            format!(
                "{:.2} of the floor's {:.0} fdatasync/s; target at least 0.5",
                rate * floor.as_secs_f64(),
                1.0 / floor.as_secs_f64()
            ),
        );

        // Rendering the ICO report (text and HTML) from the case file, on the same incident.
        let record = store.incident(id).unwrap();
        let assessment: AssessmentInput = serde_json::from_str(ASSESSMENT).unwrap();
        let kinds = workflow::assess(&record, &assessment, &rules, now(), "bench").unwrap();
        store
            .commit(Change::new(
                Subject::Incident(&record),
                &kinds,
                Stamp {
                    at: now(),
                    actor: "bench".into(),
                    identity: Identity::SelfDeclared,
                    user: None,
                },
            ))
            .unwrap();
        let record = store.incident(id).unwrap();
        let kinds = workflow::decide(
            &record,
            &workflow::DecideRequest {
                accept: true,
                ..Default::default()
            },
            &rules,
            now(),
            "bench",
        )
        .unwrap();
        store
            .commit(Change::new(
                Subject::Incident(&record),
                &kinds,
                Stamp {
                    at: now(),
                    actor: "bench".into(),
                    identity: Identity::SelfDeclared,
                    user: None,
                },
            ))
            .unwrap();
        let record = store.incident(id).unwrap();
        let answers: IncidentUpdate = serde_json::from_str(ANSWERS).unwrap();
        let kinds = workflow::update(&record, &answers, &rules, now(), "bench").unwrap();
        store
            .commit(Change::new(
                Subject::Incident(&record),
                &kinds,
                Stamp {
                    at: now(),
                    actor: "bench".into(),
                    identity: Identity::SelfDeclared,
                    user: None,
                },
            ))
            .unwrap();
        let record = store.incident(id).unwrap();
        let set = breachflow::render::template::TemplateSet::builtin().unwrap();
        let t = set.get("ico-report").unwrap();
        let o = record
            .obligations
            .iter()
            .find(|o| o.id == "uk-gdpr-art33/initial");
        let n = 2000;
        let start = Instant::now();
        for _ in 0..n {
            let facts = breachflow::domain::casefile::build(&record, &org, o, now());
            assert!(breachflow::render::template::needed(t, &facts).is_empty());
            let a = breachflow::render::template::render(
                &set,
                t,
                &facts,
                org.zone(),
                breachflow::render::template::Kind::Text,
            )
            .unwrap();
            let b = breachflow::render::template::render(
                &set,
                t,
                &facts,
                org.zone(),
                breachflow::render::template::Kind::Html,
            )
            .unwrap();
            assert!(a.len() + b.len() > 0);
        }
        line(
            "ICO report: case file + completeness walk + text and HTML",
            format!(
                "{:.0} documents per second",
                n as f64 / start.elapsed().as_secs_f64()
            ),
            "(library)".into(),
        );
    }

    commits(&root, floor, 3);
    sled_ceiling(&root, floor);
    bulk(&root);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn which(cmd: &str) -> Option<PathBuf> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(cmd);
        if p.exists() {
            return Some(p);
        }
    }
    None
}

/// Bulk notices to postfix's smtp-sink, against smtp-source into the same sink; peak memory
/// for a long recipients file against a short one.
fn bulk(root: &Path) {
    let (Some(sink), Some(source)) = (which("smtp-sink"), which("smtp-source")) else {
        line(
            "bulk notices",
            "skipped".into(),
            "smtp-sink / smtp-source not installed (Debian package postfix)".into(),
        );
        return;
    };
    let port = free_port();
    let mut sink_proc = Command::new(&sink)
        .args(["-u", "nobody", "-c", &format!("127.0.0.1:{port}"), "1024"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let n = 20_000;
    // The ceiling: postfix's own client, one connection, n messages.
    let t = Instant::now();
    let status = Command::new(&source)
        .args([
            "-s",
            "1",
            "-m",
            &n.to_string(),
            "-f",
            "privacy@example.com",
            "-t",
            "x@example.com",
            "-l",
            "4000",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let ceiling = n as f64 / t.elapsed().as_secs_f64();
    line(
        "smtp-source into smtp-sink, one connection, 4 kB messages",
        format!("{ceiling:.0} messages per second"),
        "the ceiling".into(),
    );

    let data = root.join("bulk");
    let org_file = root.join("org.json");
    let mut org: serde_json::Value = serde_json::from_str(ORG).unwrap();
    org["flags"]["markets"] = serde_json::json!([]);
    org["smtp"] = serde_json::json!({"host": "127.0.0.1", "port": port, "tls": "none", "from": "privacy@larkfield-vets.example"});
    std::fs::write(&org_file, org.to_string()).unwrap();
    let at = "2024-03-31T12:00:00Z";
    let ex = |f: &str| format!("{}/examples/{f}", env!("CARGO_MANIFEST_DIR"));
    run(&data, at, &["init", "--org", org_file.to_str().unwrap()]);
    run(
        &data,
        at,
        &[
            "incident",
            "open",
            "--file",
            &ex("incident-ransomware.json"),
        ],
    );
    run(
        &data,
        at,
        &[
            "assess",
            "BR-2024-0001",
            "--file",
            &ex("assessment-ransomware.json"),
        ],
    );
    run(&data, at, &["decide", "BR-2024-0001", "--accept"]);
    run(
        &data,
        at,
        &[
            "incident",
            "update",
            "BR-2024-0001",
            "--file",
            &ex("incident-update-report-answers.json"),
        ],
    );
    run(&data, at, &["render", "BR-2024-0001", "subject-notice"]);
    // Four-eyes approval: approved by someone other than its author.
    run(
        &data,
        at,
        &[
            "--actor",
            "bench approver",
            "approve",
            "BR-2024-0001",
            "subject-notice",
        ],
    );
    let csv = |rows: usize, name: &str| {
        let p = root.join(name);
        let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        writeln!(w, "email,name").unwrap();
        for i in 0..rows {
            writeln!(w, "person{i}@example.com,Person {i}").unwrap();
        }
        w.flush().unwrap();
        p
    };
    for batch in [50u32, 500] {
        // Different people for each run: a notice reaches each address at most once.
        let file = {
            let p = root.join(format!("r{batch}.csv"));
            let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
            writeln!(w, "email,name").unwrap();
            for i in 0..n {
                writeln!(w, "b{batch}-person{i}@example.com,Person {i}").unwrap();
            }
            w.flush().unwrap();
            p
        };
        let doc = "subject-notice";
        let t = Instant::now();
        let out = Command::new(BIN)
            .env("BREACHFLOW_DATA_DIR", &data)
            .env("BREACHFLOW_NOW", at)
            .args([
                "notify-subjects",
                "BR-2024-0001",
                "--recipients",
                file.to_str().unwrap(),
                "--batch",
                &batch.to_string(),
                "--document",
                doc,
            ])
            .output()
            .unwrap();
        let rate = n as f64 / t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(&format!("Sent {n},")),
            "{text}"
        );
        line(
            &format!(
                "`notify-subjects` to smtp-sink, {n} recipients, batch {batch}, state durable"
            ),
            format!("{rate:.0} messages per second"),
            format!("{:.2} of the ceiling; target at least 0.5", rate / ceiling),
        );
    }
    let _ = sink_proc.kill();
    let _ = sink_proc.wait();

    // Peak memory: a dry run streams the file and renders every notice.
    for rows in [10_000usize, 1_000_000] {
        let file = csv(rows, &format!("m{rows}.csv"));
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(BIN)
            .env("BREACHFLOW_DATA_DIR", &data)
            .env("BREACHFLOW_NOW", at)
            .args([
                "notify-subjects",
                "BR-2024-0001",
                "--recipients",
                file.to_str().unwrap(),
                "--dry-run",
            ])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        let kb: u64 = String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        line(
            &format!("peak memory, `notify-subjects --dry-run`, {rows} rows"),
            format!("{:.1} MB", kb as f64 / 1024.0),
            "target: 1,000,000 rows within a few MB of 10,000".into(),
        );
        let _ = std::fs::remove_file(file);
    }
}
