//! Legal correctness through the binary: effective dates in each regime's own zone, the ICO duty
//! since 25 May 2018 under the instrument in force, territory, duties that cannot vanish, and
//! bounded inputs. Every expected instant is worked out by hand in the comment beside it, with
//! the rule it comes from.

use serde_json::{Value, json};

use crate::support::*;

/// `whatif` at `now` for an awareness at `aware_at`, with every threshold assumed met.
fn whatif(env: &TestEnv, now: &str, aware_at: &str) -> Vec<Value> {
    env.json(&["--now", now, "whatif", "--aware-at", aware_at])["obligations"]
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(obligations: &'a [Value], id: &str) -> Option<&'a Value> {
    obligations.iter().find(|o| o["id"] == id)
}

fn get<'a>(obligations: &'a [Value], id: &str) -> &'a Value {
    find(obligations, id).unwrap_or_else(|| {
        let ids: Vec<_> = obligations.iter().map(|o| o["id"].to_string()).collect();
        panic!("no obligation {id}; have {}", ids.join(", "))
    })
}

fn due_at(o: &Value) -> &str {
    assert_eq!(o["due"]["kind"], "at", "{o}");
    o["due"]["at"].as_str().unwrap()
}

fn org_with(env: &TestEnv, flags: Value) -> String {
    let mut org = example_json("organisation.json");
    for (k, v) in flags.as_object().unwrap() {
        org["flags"][k] = v.clone();
    }
    env.file("org.json", &org)
}

mod effective_dates {
    use super::*;

    #[test]
    fn pecr_is_chosen_by_the_uk_date_not_the_utc_date() {
        let env = TestEnv::new();
        let org = org_with(&env, json!({ "communications_provider": true }));
        env.run(&["init", "--org", &org]).success();
        // Aware 00:30 BST on Wed 20 Aug 2025 = 23:30 UTC on Tue 19 Aug. The 72-hour rule is in
        // force from 20 Aug 2025 (ICO guide date, regimes reference §6), a UK civil date, so it
        // applies; the 24-hour rule ended on 19 Aug and does not.
        let all = whatif(&env, "2025-08-21T12:00:00Z", "2025-08-20T00:30:00+01:00");
        assert!(find(&all, "pecr-reg5a-2011/initial").is_none(), "{all:?}");
        // PECR reg 5A as amended: 72 elapsed hours from awareness: 19 Aug 23:30Z + 72 h =
        // 22 Aug 23:30Z.
        assert_eq!(
            due_at(get(&all, "pecr-reg5a/initial")),
            "2025-08-22T23:30:00Z"
        );
        // One hour earlier, 23:30 BST on 19 Aug, is still under the 24-hour rule (Reg 611/2013
        // Art 2(2)): detected 22:30Z + 24 h = 20 Aug 22:30Z.
        let all = whatif(&env, "2025-08-21T12:00:00Z", "2025-08-19T23:30:00+01:00");
        assert!(find(&all, "pecr-reg5a/initial").is_none(), "{all:?}");
        assert_eq!(
            due_at(get(&all, "pecr-reg5a-2011/initial")),
            "2025-08-20T22:30:00Z"
        );
    }

    #[test]
    fn the_gdpr_clock_runs_from_its_first_uk_day() {
        let env = TestEnv::initialised();
        // Aware 00:30 BST on Fri 25 May 2018 = 23:30 UTC on 24 May. The GDPR applies from
        // 25 May 2018 (Art 99(2)), a UK civil date: the ICO clock runs. Art 33(1): 72 elapsed
        // hours: 24 May 23:30Z + 72 h = 27 May 23:30Z.
        let all = whatif(&env, "2018-05-26T12:00:00Z", "2018-05-25T00:30:00+01:00");
        assert_eq!(
            due_at(get(&all, "uk-gdpr-art33/initial")),
            "2018-05-27T23:30:00Z"
        );
        // 23:59 BST on 24 May is before the GDPR applied: no ICO duty under it.
        let all = whatif(&env, "2018-05-26T12:00:00Z", "2018-05-24T23:59:00+01:00");
        assert!(find(&all, "uk-gdpr-art33/initial").is_none(), "{all:?}");
    }
}

mod ico_since_2018 {
    use super::*;

    const EU_AS_APPLIED: &str = "GDPR Art 33 (EU, as applied in the UK)";

    #[test]
    fn a_2018_breach_gets_the_ico_clock() {
        let env = TestEnv::initialised();
        // Aware 15:00 BST Wed 5 Sep 2018 = 14:00Z; Art 33(1) 72 elapsed hours -> Sat 8 Sep
        // 14:00Z. Before IP completion day the duty is the EU GDPR's, as applied in the UK.
        let all = whatif(&env, "2018-09-20T12:00:00Z", "2018-09-05T15:00:00+01:00");
        let ico = get(&all, "uk-gdpr-art33/initial");
        assert_eq!(due_at(ico), "2018-09-08T14:00:00Z");
        assert!(
            ico["citation"].as_str().unwrap().contains(EU_AS_APPLIED),
            "{ico}"
        );
        assert!(!ico["citation"].as_str().unwrap().starts_with("UK GDPR"));
        // The Art 34 duty and the market duties of the example (AIM) company run too, under
        // the EU instruments of the time (EU MAR from 3 Jul 2016, Art 39(2)).
        assert!(
            get(&all, "uk-gdpr-art34/notice")["citation"]
                .as_str()
                .unwrap()
                .contains("GDPR Art 34 (EU, as applied in the UK)")
        );
        let mar = get(&all, "uk-mar-art17/announcement");
        assert!(
            mar["citation"].as_str().unwrap().contains("(EU) 596/2014"),
            "{mar}"
        );
        assert!(find(&all, "aim-rule-11/announcement").is_some());
    }

    #[test]
    fn a_2019_breach_counts_weekends() {
        let env = TestEnv::initialised();
        // Regimes reference §5.1 (Booking.com): aware Sun 13 Jan 2019 -> due Wed 16 Jan. At
        // 10:00 GMT (= UTC in winter): + 72 h = Wed 16 Jan 10:00Z.
        let all = whatif(&env, "2019-01-20T12:00:00Z", "2019-01-13T10:00:00Z");
        let ico = get(&all, "uk-gdpr-art33/initial");
        assert_eq!(due_at(ico), "2019-01-16T10:00:00Z");
        assert!(ico["citation"].as_str().unwrap().contains(EU_AS_APPLIED));
    }

    #[test]
    fn the_citation_changes_at_ip_completion_day() {
        let env = TestEnv::initialised();
        // IP completion day: 31 Dec 2020 23:00 UTC (EU (Withdrawal Agreement) Act 2020 s.39).
        // One minute before: the EU GDPR as applied in the UK; 72 h -> 3 Jan 2021 22:59Z.
        let before = whatif(&env, "2021-01-05T12:00:00Z", "2020-12-31T22:59:00Z");
        let ico = get(&before, "uk-gdpr-art33/initial");
        assert_eq!(due_at(ico), "2021-01-03T22:59:00Z");
        assert!(
            ico["citation"].as_str().unwrap().contains(EU_AS_APPLIED),
            "{ico}"
        );
        // At the instant itself: the UK GDPR; 72 h -> 3 Jan 2021 23:00Z. Same obligation id.
        let after = whatif(&env, "2021-01-05T12:00:00Z", "2020-12-31T23:00:00Z");
        let ico = get(&after, "uk-gdpr-art33/initial");
        assert_eq!(due_at(ico), "2021-01-03T23:00:00Z");
        assert!(
            ico["citation"]
                .as_str()
                .unwrap()
                .starts_with("UK GDPR Art 33"),
            "{ico}"
        );
        assert!(
            get(&after, "uk-mar-art17/announcement")["citation"]
                .as_str()
                .unwrap()
                .starts_with("UK Market Abuse Regulation")
        );
    }

    #[test]
    fn a_2019_incident_through_the_workflow() {
        let env = TestEnv::initialised();
        let mut incident = example_json("incident-ransomware.json");
        // Detected 09:10 GMT, aware 11:40 GMT on Thu 14 Mar 2019 (UTC = GMT in March before
        // the clocks change on 31 Mar).
        incident["detected_at"] = "2019-03-14T09:10:00Z".into();
        incident["aware_at"] = "2019-03-14T11:40:00Z".into();
        incident["occurred"] = json!({ "from": "2019-03-13T23:00:00Z" });
        let file = env.file("incident-2019.json", &incident);
        let now = "2019-03-14T12:00:00Z";
        env.run_at(now, &["incident", "open", "--file", &file])
            .success();
        env.run_at(
            now,
            &[
                "assess",
                "BR-2019-0001",
                "--file",
                &example("assessment-ransomware.json"),
            ],
        )
        .success();
        let list = env.json(&["--now", now, "obligation", "list", "BR-2019-0001"]);
        let all = list["obligations"].as_array().unwrap();
        // GDPR Art 33(1) as applied in the UK: 11:40Z + 72 h = Sun 17 Mar 11:40Z.
        let ico = get(all, "uk-gdpr-art33/initial");
        assert_eq!(due_at(ico), "2019-03-17T11:40:00Z");
        assert!(ico["citation"].as_str().unwrap().contains(EU_AS_APPLIED));
    }
}

mod territory {
    use super::*;

    /// `whatif` at 12:00Z on Mon 3 Mar 2025 for awareness at 09:00Z that day (GMT = UTC), with
    /// the example assessment (risk, not high) naming the affected people's countries.
    fn run(env: &TestEnv, countries: Value) -> Vec<Value> {
        let mut a = example_json("assessment-ransomware.json");
        a["affected_countries"] = countries;
        let file = env.file("assessment.json", &a);
        env.json(&[
            "--now",
            "2025-03-03T12:00:00Z",
            "whatif",
            "--aware-at",
            "2025-03-03T09:00:00Z",
            "--file",
            &file,
        ])["obligations"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn ids(all: &[Value]) -> Vec<String> {
        all.iter()
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_us_only_registrant_owes_the_ico_nothing() {
        let env = TestEnv::new();
        let org = org_with(
            &env,
            json!({ "establishments": ["US"], "sec_registrant": true, "markets": [] }),
        );
        env.run(&["init", "--org", &org]).success();
        // UK GDPR Art 3: no UK establishment and no offering to or monitoring of UK people, so
        // no ICO duty under Art 33, although people in the UK are among those affected.
        let all = run(&env, json!(["US", "GB"]));
        assert!(find(&all, "uk-gdpr-art33/initial").is_none(), "{all:?}");
        assert!(find(&all, "sec-8k-item105/filing").is_some(), "{all:?}");
    }

    #[test]
    fn a_us_company_targeting_uk_customers_owes_the_ico() {
        let env = TestEnv::new();
        let org = org_with(
            &env,
            json!({ "establishments": ["US"], "targets_uk": true, "markets": [] }),
        );
        env.run(&["init", "--org", &org]).success();
        // UK GDPR Art 3(2)(a): offering goods or services to people in the UK brings the ICO
        // duty. Art 33(1): 09:00Z + 72 h = Thu 6 Mar 09:00Z.
        let all = run(&env, json!(["GB"]));
        assert_eq!(
            due_at(get(&all, "uk-gdpr-art33/initial")),
            "2025-03-06T09:00:00Z"
        );
    }

    #[test]
    fn a_non_eu_controller_notifies_each_member_state_with_affected_people() {
        let env = TestEnv::new();
        let org = org_with(&env, json!({ "targets_eu": true, "eu_establishments": [] }));
        env.run(&["init", "--org", &org]).success();
        // A UK controller with no EU establishment, caught by GDPR Art 3(2): no one-stop-shop,
        // so each authority of a member state where affected people reside is notified (EDPB
        // GL 9/2022 v2.0 para 73): France, Germany, Ireland; GB and US are not member states.
        // Each runs Art 33(1)'s 72 h from awareness: 09:00Z + 72 h = 6 Mar 09:00Z. The UK
        // establishment keeps the ICO duty beside them.
        let all = run(&env, json!(["FR", "DE", "IE", "GB", "US", "FR"]));
        let eu: Vec<String> = ids(&all)
            .into_iter()
            .filter(|id| id.starts_with("eu-gdpr-art33-") && id.ends_with("/initial"))
            .collect();
        assert_eq!(
            eu,
            [
                "eu-gdpr-art33-de/initial",
                "eu-gdpr-art33-fr/initial",
                "eu-gdpr-art33-ie/initial"
            ]
        );
        for (id, country) in [
            ("eu-gdpr-art33-de/initial", "Germany"),
            ("eu-gdpr-art33-fr/initial", "France"),
            ("eu-gdpr-art33-ie/initial", "Ireland"),
        ] {
            let o = get(&all, id);
            assert_eq!(due_at(o), "2025-03-06T09:00:00Z");
            assert!(o["recipient"].as_str().unwrap().contains(country), "{o}");
        }
        // Follow-ups chain on their own authority's initial report (Art 33(4)).
        assert_eq!(
            get(&all, "eu-gdpr-art33-fr/follow-up")["previous"],
            "eu-gdpr-art33-fr/initial"
        );
        assert!(find(&all, "eu-gdpr-art33/initial").is_none());
        assert_eq!(
            due_at(get(&all, "uk-gdpr-art33/initial")),
            "2025-03-06T09:00:00Z"
        );
    }

    #[test]
    fn an_eu_main_establishment_notifies_its_lead_authority_once() {
        let env = TestEnv::new();
        let org = org_with(
            &env,
            json!({ "establishments": ["GB", "IE", "FR"], "eu_main_establishment": "IE" }),
        );
        env.run(&["init", "--org", &org]).success();
        // GDPR Art 56: the lead authority of the main establishment (Ireland), once, whatever
        // member states the people live in.
        let all = run(&env, json!(["FR", "DE"]));
        let lead = get(&all, "eu-gdpr-art33/initial");
        assert!(lead["recipient"].as_str().unwrap().contains("Ireland"));
        assert!(
            !ids(&all)
                .iter()
                .any(|id| id.starts_with("eu-gdpr-art33-") && !id.contains("processor"))
        );
    }

    #[test]
    fn an_eu_processor_tells_its_controller() {
        let env = TestEnv::new();
        let mut org = example_json("organisation.json");
        org["role"] = "processor".into();
        org["flags"]["eu_establishments"] = json!(["NL"]);
        let file = env.file("org.json", &org);
        env.run(&["init", "--org", &file]).success();
        // GDPR Art 33(2) (and UK GDPR Art 33(2) for the UK establishment): "without undue
        // delay", no number in law; the 24 h internal target only.
        let all = run(&env, json!(["NL"]));
        let eu = get(&all, "eu-gdpr-art33-processor/notice");
        assert_eq!(eu["due"]["kind"], "standard", "{eu}");
        assert!(find(&all, "uk-gdpr-art33-processor/notice").is_some());
        assert!(find(&all, "eu-gdpr-art33/initial").is_none());
    }

    #[test]
    fn a_profile_without_the_new_fields_is_uk_established() {
        let env = TestEnv::initialised();
        // examples/organisation.json predates `establishments`: it defaults to ["GB"], so the
        // ICO duty stays (UK GDPR Art 3(1)).
        let all = run(&env, json!([]));
        assert!(find(&all, "uk-gdpr-art33/initial").is_some());
        // "UK" is refused with the ISO code to use.
        let mut org = example_json("organisation.json");
        org["flags"]["establishments"] = json!(["UK"]);
        let file = env.file("bad.json", &org);
        let out = TestEnv::new().run(&["init", "--org", &file]).failure();
        assert!(stderr_of(&out).contains("\"GB\""), "{}", stderr_of(&out));
    }
}

mod duties_do_not_vanish {
    use super::*;

    const ID: &str = "BR-2024-0001";

    fn assessed_at(env: &TestEnv, now: &str, level: &str) -> Value {
        let mut a = example_json("assessment-ransomware.json");
        a["override_level"] = json!({ "level": level, "reason": "Test: the DPO's level" });
        let file = env.file(&format!("assessment-{level}.json"), &a);
        env.json(&["--now", now, "assess", ID, "--file", &file])
    }

    fn state(env: &TestEnv, obligation: &str) -> Value {
        let list = env.json(&["obligation", "list", ID]);
        get(list["obligations"].as_array().unwrap(), obligation).clone()
    }

    /// The example incident (aware 21:10Z Sat 30 Mar 2024), assessed as a risk and decided on
    /// the recommendation (notify the ICO), then the ICO report filed at 09:30Z on 1 Apr, within
    /// Art 33(1)'s 72 h (due 2 Apr 21:10Z).
    fn filed() -> TestEnv {
        let env = TestEnv::new();
        env.prepare(&example_json("organisation.json"));
        env.render_and_approve("2024-04-01T09:00:00Z", ID, "ico-report");
        env.run_at(
            "2024-04-01T10:00:00Z",
            &[
                "obligation",
                "complete",
                ID,
                "uk-gdpr-art33/initial",
                "--at",
                "2024-04-01T09:30:00Z",
                "--reference",
                "IC-1",
            ],
        )
        .success();
        env
    }

    #[test]
    fn a_decision_against_a_completed_filing_needs_a_reason_and_keeps_it() {
        let env = filed();
        // Re-assessed as unlikely to result in a risk: the recommendation becomes "do not
        // notify" (Art 33(1)), but the report was filed and stays filed.
        assessed_at(&env, "2024-04-02T09:00:00Z", "unlikely");
        let out = env
            .run_at("2024-04-02T10:00:00Z", &["decide", ID, "--accept"])
            .failure();
        let err = stderr_of(&out);
        assert!(
            err.contains("uk-gdpr-art33/initial was filed") && err.contains("--reason"),
            "{err}"
        );
        env.run_at(
            "2024-04-02T10:00:00Z",
            &[
                "decide",
                ID,
                "--accept",
                "--reason",
                "Backups restored and no exfiltration: below the Art 33(1) threshold; the filed report stands",
            ],
        )
        .success();
        let ico = state(&env, "uk-gdpr-art33/initial");
        assert_eq!(ico["state"], "filed", "{ico}");
        assert_eq!(ico["completion"]["reference"], "IC-1");
        let show = env.json(&["incident", "show", ID]);
        let decisions = show["incident"]["decisions"].as_array().unwrap();
        assert!(
            decisions.last().unwrap()["decision"]["reason"]
                .as_str()
                .unwrap()
                .contains("the filed report stands")
        );
    }

    #[test]
    fn a_downgrade_keeps_open_duties_and_says_why() {
        let env = TestEnv::with_incident();
        // Assessed high: Art 34(1) applies (min_risk high), the notice to data subjects is owed.
        assessed_at(&env, NOW, "high");
        assert_eq!(state(&env, "uk-gdpr-art34/notice")["state"], "pending");
        // Re-assessed as a (not high) risk before any decision: the Art 34 duty is not retired by
        // the re-assessment; the command lists it with why it stays.
        let out = assessed_at(&env, "2024-03-31T09:00:00Z", "risk");
        let kept = out["kept"].as_array().unwrap();
        let art34 = kept
            .iter()
            .find(|k| k["obligation"] == "uk-gdpr-art34/notice")
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            art34["why"].as_str().unwrap().contains("below high"),
            "{art34}"
        );
        assert_eq!(state(&env, "uk-gdpr-art34/notice")["state"], "pending");
        // The table view says the same.
        let mut a = example_json("assessment-ransomware.json");
        a["override_level"] = json!({ "level": "risk", "reason": "again" });
        let file = env.file("again.json", &a);
        let text = stdout_of(
            &env.run_at("2024-03-31T09:30:00Z", &["assess", ID, "--file", &file])
                .success(),
        );
        assert!(text.contains("Still owed: uk-gdpr-art34/notice"), "{text}");
        // The DPO waives it with a reason: only then is it no longer owed.
        env.run_at(
            "2024-03-31T10:00:00Z",
            &[
                "obligation",
                "waive",
                ID,
                "uk-gdpr-art34/notice",
                "--reason",
                "Not high risk on re-assessment (Art 34(1))",
                "--by",
                "Priya Raman",
            ],
        )
        .success();
        let o = state(&env, "uk-gdpr-art34/notice");
        assert_eq!(o["state"], "waived");
        assert_eq!(o["waiver"]["by"], "Priya Raman");
    }

    #[test]
    fn a_decision_to_notify_lifts_a_waiver_only_explicitly() {
        let env = TestEnv::new();
        env.prepare(&example_json("organisation.json"));
        env.run_at(
            "2024-03-31T09:00:00Z",
            &[
                "obligation",
                "waive",
                ID,
                "uk-gdpr-art33/initial",
                "--reason",
                "Thought contained",
                "--by",
                "Priya Raman",
            ],
        )
        .success();
        // Deciding to notify (the recommendation for a risk) contradicts the waiver: refused
        // without a reason, and nothing changes.
        let out = env
            .run_at("2024-03-31T10:00:00Z", &["decide", ID, "--accept"])
            .failure();
        let err = stderr_of(&out);
        assert!(
            err.contains("uk-gdpr-art33/initial was waived by Priya Raman"),
            "{err}"
        );
        assert_eq!(state(&env, "uk-gdpr-art33/initial")["state"], "waived");
        // With a reason the waiver is lifted, and the log says so.
        env.run_at(
            "2024-03-31T10:00:00Z",
            &[
                "decide",
                ID,
                "--accept",
                "--reason",
                "Exfiltration found: the ICO must be told",
            ],
        )
        .success();
        let ico = state(&env, "uk-gdpr-art33/initial");
        assert_eq!(ico["state"], "pending", "{ico}");
        // Art 33(1): still due 72 h from awareness, 30 Mar 21:10Z + 72 h = 2 Apr 21:10Z.
        assert_eq!(due_at(&ico), "2024-04-02T21:10:00Z");
        // Wide enough that no table cell wraps.
        let log = stdout_of(
            &env.cmd()
                .env("COLUMNS", "400")
                .args(["audit", "log", ID])
                .assert()
                .success(),
        );
        assert!(log.contains("uk-gdpr-art33/initial owed again"), "{log}");
    }
}

mod bounded_inputs {
    use super::*;

    #[test]
    fn a_huge_duration_is_refused_in_words() {
        let env = TestEnv::initialised();
        for within in [
            "99999999999h",
            "9999999999999999999h",
            "99999999w",
            "36526d",
        ] {
            let out = env.run(&["deadlines", "--within", within]).failure();
            let err = stderr_of(&out);
            assert!(
                err.contains("too long") && err.contains("at most 36525 days"),
                "{within}: {err}"
            );
        }
        // 100 years is accepted (nothing is due).
        env.run(&["deadlines", "--within", "36525d"]).success();
    }

    #[test]
    fn years_beyond_9999_are_refused_in_words() {
        let env = TestEnv::initialised();
        for args in [
            vec!["--now", "10000-01-01T00:00:00Z", "deadlines"],
            vec!["whatif", "--aware-at", "+10000-01-01T00:00:00Z"],
            vec!["whatif", "--aware-at=-0001-01-01T00:00:00Z"],
        ] {
            let out = env.run(&args).failure();
            let err = stderr_of(&out);
            assert!(err.contains("years beyond 9999"), "{args:?}: {err}");
        }
    }

    #[test]
    fn a_regime_length_past_ten_years_is_refused_not_a_panic() {
        let env = TestEnv::initialised();
        let dir = env.tmp.path().join("regimes");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("huge.toml"),
            r#"id = "huge"
name = "A typo"
jurisdiction = "UK"
citation = "none"
recipient = "nobody"
owner_role = "dpo"
effective_from = "2000-01-01"

[[phases]]
id = "a"
name = "a"
anchor = "aware"
deadline = { kind = "hours", hours = 4294967295 }
"#,
        )
        .unwrap();
        let out = env
            .run(&[
                "--regimes-dir",
                dir.to_str().unwrap(),
                "whatif",
                "--aware-at",
                "2024-01-01T00:00:00Z",
            ])
            .failure();
        let err = stderr_of(&out);
        assert!(
            err.contains("huge.toml") && err.contains("/phases/0/deadline"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

mod calendars {
    use super::*;

    #[test]
    fn the_sec_clock_skips_thanksgiving_2029() {
        let env = TestEnv::new();
        let org = org_with(&env, json!({ "sec_registrant": true }));
        env.run(&["init", "--org", &org]).success();
        env.run(&[
            "incident",
            "open",
            "--file",
            &example("incident-ransomware.json"),
        ])
        .success();
        env.assess("BR-2024-0001");
        // Form 8-K Item 1.05: 4 business days from the determination (day 0), Reg S-T
        // business days skipping federal holidays (regimes reference §5.4). Determined Wed
        // 21 Nov 2029 10:00 EST; Thanksgiving is the fourth Thursday, 22 Nov: Fri 23 (1),
        // Mon 26 (2), Tue 27 (3), Wed 28 (4). Due 17:30 EST (UTC-5) = 22:30Z.
        let now = "2029-11-21T16:00:00Z";
        env.run_at(
            now,
            &[
                "incident",
                "trigger",
                "BR-2024-0001",
                "materiality_determined",
                "--at",
                "2029-11-21T15:00:00Z",
                "--by",
                "CFO",
            ],
        )
        .success();
        let list = env.json(&["--now", now, "obligation", "list", "BR-2024-0001"]);
        let sec = get(
            list["obligations"].as_array().unwrap(),
            "sec-8k-item105/filing",
        );
        assert_eq!(due_at(sec), "2029-11-28T22:30:00Z");
    }
}

mod anchors {
    use super::*;

    #[test]
    fn pecr_before_and_after_reg_611_2013() {
        let env = TestEnv::new();
        let org = org_with(&env, json!({ "communications_provider": true }));
        env.run(&["init", "--org", &org]).success();
        // Aware 12:00 BST Sat 24 Aug 2013: before Reg 611/2013's 24 hours (from 25 Aug 2013),
        // PECR reg 5A said "without undue delay": no deadline in law, an internal target only.
        let all = whatif(&env, "2013-08-26T12:00:00Z", "2013-08-24T12:00:00+01:00");
        let pre = get(&all, "pecr-reg5a-2011-pre-611/initial");
        assert_eq!(pre["due"]["kind"], "standard", "{pre}");
        assert!(find(&all, "pecr-reg5a-2011/initial").is_none());
        // Aware 00:30 BST Sun 25 Aug 2013 (23:30Z on the 24th): the 24-hour rule, from
        // detection = sufficient awareness (Art 2(2)): 23:30Z + 24 h = 25 Aug 23:30Z. The
        // second notice waits on the initial notification (Art 2(3): 3 days after it).
        let all = whatif(&env, "2013-08-26T12:00:00Z", "2013-08-25T00:30:00+01:00");
        assert_eq!(
            due_at(get(&all, "pecr-reg5a-2011/initial")),
            "2013-08-25T23:30:00Z"
        );
        let second = get(&all, "pecr-reg5a-2011/second");
        assert_eq!(second["due"]["kind"], "not_started", "{second}");
        assert_eq!(second["due"]["waiting_on"], "previous_phase");
    }

    #[test]
    fn the_art34_target_runs_from_the_assessment_that_found_high_risk() {
        let env = TestEnv::with_incident();
        // Aware 21:10Z Sat 30 Mar 2024, assessed a (not high) risk at NOW: no Art 34 duty.
        env.assess("BR-2024-0001");
        // Re-assessed as high risk at 09:00Z on Fri 5 Apr, a week later: the Art 34(1) duty
        // arises then. "Without undue delay" has no number; our 72 h internal target runs from
        // that assessment: 5 Apr 09:00Z + 72 h = 8 Apr 09:00Z (from awareness it would have
        // passed on 2 Apr, before the duty existed).
        let mut a = example_json("assessment-ransomware.json");
        a["override_level"] = json!({ "level": "high", "reason": "Exfiltration confirmed" });
        let file = env.file("high.json", &a);
        env.run_at(
            "2024-04-05T09:00:00Z",
            &["assess", "BR-2024-0001", "--file", &file],
        )
        .success();
        let list = env.json(&[
            "--now",
            "2024-04-05T09:00:00Z",
            "obligation",
            "list",
            "BR-2024-0001",
        ]);
        let art34 = get(
            list["obligations"].as_array().unwrap(),
            "uk-gdpr-art34/notice",
        );
        assert_eq!(art34["due"]["kind"], "standard", "{art34}");
        assert_eq!(art34["due"]["target"], "2024-04-08T09:00:00Z");
        assert_eq!(art34["warning"], "on_track", "{art34}");
    }
}

mod significance_gates {
    use super::*;

    #[test]
    fn nis2_and_dora_clocks_wait_for_the_classification() {
        let env = TestEnv::new();
        let org = org_with(
            &env,
            json!({ "nis2": "essential", "financial_entity": true, "eu_establishments": ["IE"] }),
        );
        env.run(&["init", "--org", &org]).success();
        let mut incident = example_json("incident-ransomware.json");
        incident["occurred"] = json!({ "from": "2025-09-01T06:00:00Z" });
        incident["detected_at"] = "2025-09-01T08:00:00Z".into();
        incident["aware_at"] = "2025-09-01T10:00:00Z".into();
        let file = env.file("i.json", &incident);
        let now = "2025-09-01T12:00:00Z";
        env.run_at(now, &["incident", "open", "--file", &file])
            .success();
        let id = "BR-2025-0001";
        env.run_at(
            now,
            &[
                "assess",
                id,
                "--file",
                &example("assessment-ransomware.json"),
            ],
        )
        .success();
        let list = |at: &str| -> Vec<Value> {
            env.json(&["--now", at, "obligation", "list", id])["obligations"]
                .as_array()
                .unwrap()
                .clone()
        };
        // Not yet classified: no NIS2 duty (significant incidents only, Art 23(3)), no DORA duty
        // (major ICT-related incidents only, Art 19(1)).
        let all = list(now);
        assert!(
            all.iter().all(|o| {
                let i = o["id"].as_str().unwrap();
                !i.starts_with("nis2") && !i.starts_with("dora")
            }),
            "{all:?}"
        );
        // Classified significant at 11:30Z by the CISO, with why: the early warning runs 24 h
        // from awareness (Art 23(4)(a)): 1 Sep 10:00Z + 24 h = 2 Sep 10:00Z.
        env.run_at(
            now,
            &[
                "incident",
                "trigger",
                id,
                "classified_significant",
                "--at",
                "2025-09-01T11:30:00Z",
                "--by",
                "CISO",
                "--note",
                "Severe operational disruption to all practices",
            ],
        )
        .success();
        let all = list(now);
        assert_eq!(
            due_at(get(&all, "nis2-art23/early-warning")),
            "2025-09-02T10:00:00Z"
        );
        assert!(find(&all, "dora-major-ict/initial").is_none());
        // Classified major at 11:00Z: RTS 2025/301 Art 5: 4 h from classification (15:00Z),
        // and no later than 24 h from awareness (2 Sep 10:00Z): 15:00Z binds.
        env.run_at(
            now,
            &[
                "incident",
                "trigger",
                id,
                "classified_major",
                "--at",
                "2025-09-01T11:00:00Z",
                "--by",
                "CRO",
                "--note",
                "Criteria of Delegated Regulation (EU) 2024/1772 met: clients affected, downtime",
            ],
        )
        .success();
        assert_eq!(
            due_at(get(&list(now), "dora-major-ict/initial")),
            "2025-09-01T15:00:00Z"
        );
        // Who, when and why are on record.
        let show = env.json(&["incident", "show", id]);
        let triggers = show["incident"]["triggers"].as_array().unwrap();
        let major = triggers
            .iter()
            .find(|t| t["anchor"] == "classified_major")
            .unwrap();
        assert_eq!(major["decided_by"], "CRO");
        assert!(major["note"].as_str().unwrap().contains("2024/1772"));
    }
}

mod phased_reports {
    use super::*;

    const ID: &str = "BR-2024-0001";

    #[test]
    fn the_ico_case_reference_is_recorded_after_the_filing() {
        let env = TestEnv::new();
        env.prepare(&example_json("organisation.json"));
        // Not filed yet: nothing to put a reference on.
        let out = env
            .run(&[
                "obligation",
                "reference",
                ID,
                "uk-gdpr-art33/initial",
                "--reference",
                "IC-1",
            ])
            .failure();
        assert!(
            stderr_of(&out).contains("filed or sent"),
            "{}",
            stderr_of(&out)
        );
        // Filed at 09:30Z on 1 Apr (due 2 Apr 21:10Z, Art 33(1)) by the online form, which
        // gives no reference at once.
        env.render_and_approve("2024-04-01T09:00:00Z", ID, "ico-report");
        env.run_at(
            "2024-04-01T10:00:00Z",
            &[
                "obligation",
                "complete",
                ID,
                "uk-gdpr-art33/initial",
                "--at",
                "2024-04-01T09:30:00Z",
            ],
        )
        .success();
        // The ICO's acknowledgement with its case reference comes the next day (Art 33(4):
        // the follow-up quotes it).
        env.run_at(
            "2024-04-02T12:00:00Z",
            &[
                "obligation",
                "reference",
                ID,
                "uk-gdpr-art33/initial",
                "--reference",
                "IC-301234-X9Y8",
                "--acknowledged-at",
                "2024-04-02T11:15:00+01:00",
            ],
        )
        .success();
        let list = env.json(&["obligation", "list", ID]);
        let ico = get(
            list["obligations"].as_array().unwrap(),
            "uk-gdpr-art33/initial",
        );
        assert_eq!(ico["state"], "acknowledged", "{ico}");
        assert_eq!(ico["completion"]["reference"], "IC-301234-X9Y8");
        assert_eq!(ico["completion"]["acknowledged_at"], "2024-04-02T10:15:00Z");
        // Lateness stays as frozen at the filing.
        assert!(ico["completion"].get("late_by_minutes").is_none());
        // A different reference does not silently replace it.
        let out = env
            .run_at(
                "2024-04-02T13:00:00Z",
                &[
                    "obligation",
                    "reference",
                    ID,
                    "uk-gdpr-art33/initial",
                    "--reference",
                    "IC-999",
                ],
            )
            .failure();
        assert!(stderr_of(&out).contains("already has the reference"));
        let show = env.json(&["incident", "show", ID]);
        let recorded: Vec<_> = show["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["what"]["type"] == "reference_recorded")
            .collect();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0]["what"]["reference"], "IC-301234-X9Y8");
    }
}

#[test]
fn regimes_lists_each_regimes_zone_and_conditions() {
    let env = TestEnv::new();
    let out = env.json(&["regimes"]);
    for r in out["regimes"].as_array().unwrap() {
        assert!(
            r["territory"].as_str().is_some_and(|t| !t.is_empty()),
            "{} states no territorial or entity conditions",
            r["id"]
        );
        assert!(r["zone"].is_string(), "{} names no zone", r["id"]);
    }
    let ico = out["regimes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "uk-gdpr-art33")
        .unwrap();
    assert_eq!(
        ico["applies"]["territory_any"],
        json!(["uk_establishment", "targets_uk"])
    );
    let table = stdout_of(&env.run(&["regimes"]).success());
    assert!(table.contains("Applies when"), "{table}");
    assert!(table.contains("Europe/London"), "{table}");
}

mod precision {
    use super::*;

    const ID: &str = "BR-2024-0001";

    /// The example incident (aware 21:10Z Sat 30 Mar 2024), a risk, decided "notify"; the ICO
    /// report approved at `approved`, then filed at a time known only as `day` (a day or a
    /// month in London, or `unknown`), entered at `entered`. UK GDPR Art 33(1): 72 elapsed hours, due Tue 2 Apr 21:10Z (22:10 BST).
    fn filed_on(day: &str, approved: &str, entered: &str) -> (TestEnv, Value) {
        let env = TestEnv::new();
        env.prepare(&example_json("organisation.json"));
        env.render_and_approve(approved, ID, "ico-report");
        env.run_at(
            entered,
            &[
                "obligation",
                "complete",
                ID,
                "uk-gdpr-art33/initial",
                "--at",
                day,
            ],
        )
        .success();
        let list = env.json(&["--now", entered, "obligation", "list", ID]);
        let ico = get(
            list["obligations"].as_array().unwrap(),
            "uk-gdpr-art33/initial",
        )
        .clone();
        (env, ico)
    }

    #[test]
    fn a_day_precision_filing_is_on_time_only_when_the_whole_day_is() {
        // Filed "on 1 Apr": the London day runs 31 Mar 23:00Z to 1 Apr 23:00Z (BST), wholly
        // before the due instant 2 Apr 21:10Z: on time whatever the hour.
        let (_env, ico) = filed_on("2024-04-01", "2024-04-01T09:00:00Z", "2024-04-02T09:00:00Z");
        assert_eq!(ico["verdict"], json!({ "verdict": "on_time" }), "{ico}");
        assert_eq!(ico["completion"]["precision"], "day");
        assert_eq!(
            ico["completion"]["window"],
            json!({ "earliest": "2024-03-31T23:00:00Z", "latest": "2024-04-01T23:00:00Z" })
        );
    }

    #[test]
    fn a_day_precision_filing_on_the_due_day_is_indeterminate() {
        // Filed "on 2 Apr": 1 Apr 23:00Z to 2 Apr 23:00Z straddles 2 Apr 21:10Z. Between
        // 21:10 - (-1 23:00) = 22 h 10 min early and 23:00 - 21:10 = 1 h 50 min late: neither
        // on time nor late, and no reasons for delay are demanded of what may be on time.
        let (env, ico) = filed_on("2024-04-02", "2024-04-01T09:00:00Z", "2024-04-03T09:00:00Z");
        assert_eq!(
            ico["verdict"],
            json!({ "verdict": "indeterminate", "early": 1330, "late": 110 }),
            "{ico}"
        );
        assert!(ico["completion"].get("late_by_minutes").is_none(), "{ico}");
        let table = stdout_of(
            &env.cmd()
                .env("COLUMNS", "400")
                .args(["obligation", "list", ID])
                .assert()
                .success(),
        );
        assert!(
            table.contains("INDETERMINATE: BETWEEN 22 H 10 MIN EARLY AND 1 H 50 MIN LATE"),
            "{table}"
        );
        // The adherence report counts it apart, never as on time.
        let report = env.json(&["report", "adherence", "--regime", "uk-gdpr-art33"]);
        let summary = &report["regimes"][0];
        assert_eq!(summary["indeterminate"], 1, "{summary}");
        assert_eq!(summary["on_time"], 0, "{summary}");
        assert_eq!(summary["late"], 0, "{summary}");
        let row = report["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["obligation"] == "uk-gdpr-art33/initial")
            .unwrap();
        assert_eq!(row["status"], "indeterminate", "{row}");
        assert!(row["hours_to_notify"].is_null(), "{row}");
        // The breach register (Art 33(5)) says so beside the filing.
        let reg = env.json(&["register", "export"]);
        assert_eq!(
            reg["incidents"][0]["ico_filed_precision"],
            "day: 2024-04-01T23:00:00+00:00 to 2024-04-02T23:00:00+00:00; indeterminate: between 22 h 10 min early and 1 h 50 min late"
        );
    }

    #[test]
    fn a_day_precision_filing_after_the_due_day_is_late_and_needs_reasons() {
        let env = TestEnv::new();
        env.prepare(&example_json("organisation.json"));
        // The reasons are recorded and the report rendered after the deadline (Art 33(1)).
        let reasons = env.file(
            "delay.json",
            &json!({ "details": { "delay_reasons": "Systems down; helpline closed over Easter" } }),
        );
        env.run_at(
            "2024-04-03T08:00:00Z",
            &["incident", "update", ID, "--file", &reasons],
        )
        .success();
        env.render_and_approve("2024-04-03T08:30:00Z", ID, "ico-report");
        // Filed "on 3 Apr": 2 Apr 23:00Z to 3 Apr 23:00Z, all after 2 Apr 21:10Z: late by
        // 1 h 50 min at least and 25 h 50 min at most.
        env.run_at(
            "2024-04-04T09:00:00Z",
            &[
                "obligation",
                "complete",
                ID,
                "uk-gdpr-art33/initial",
                "--at",
                "2024-04-03",
            ],
        )
        .success();
        let list = env.json(&["obligation", "list", ID]);
        let ico = get(
            list["obligations"].as_array().unwrap(),
            "uk-gdpr-art33/initial",
        );
        assert_eq!(
            ico["verdict"],
            json!({ "verdict": "late", "minutes": 110, "up_to": 1550 }),
            "{ico}"
        );
        assert_eq!(ico["completion"]["late_by_minutes"], 110);
        assert_eq!(
            ico["completion"]["late_reason"],
            "Systems down; helpline closed over Easter"
        );
    }

    #[test]
    fn awareness_known_only_to_the_day_bounds_the_deadline() {
        let env = TestEnv::new();
        let org = env.file("org.json", &example_json("organisation.json"));
        env.run(&["init", "--org", &org]).success();
        // The records say only that the DPO became aware "on Wed 10 Jan 2024", after detection
        // at 09:00Z (GMT = UTC in January). The window: 10 Jan 09:00Z (awareness cannot precede
        // detection) to 23:59Z. Art 33(1) 72 h: due 13 Jan 09:00Z at the earliest (the
        // deadline shown, the stricter reading), 13 Jan 23:59Z at the latest.
        let mut incident = example_json("incident-ransomware.json");
        incident["occurred"] = json!({ "from": "2024-01-09T22:00:00Z" });
        incident["detected_at"] = "2024-01-10T09:00:00Z".into();
        incident["aware_at"] = "2024-01-10T12:00:00Z".into();
        incident["aware_precision"] = "day".into();
        let file = env.file("i.json", &incident);
        let now = "2024-01-10T15:00:00Z";
        env.run_at(now, &["incident", "open", "--file", &file])
            .success();
        env.run_at(
            now,
            &[
                "assess",
                ID,
                "--file",
                &example("assessment-ransomware.json"),
            ],
        )
        .success();
        env.run_at(now, &["decide", ID, "--accept"]).success();
        let list = env.json(&["--now", now, "obligation", "list", ID]);
        let ico = get(
            list["obligations"].as_array().unwrap(),
            "uk-gdpr-art33/initial",
        );
        assert_eq!(due_at(ico), "2024-01-13T09:00:00Z", "{ico}");
        assert_eq!(ico["due"]["until"], "2024-01-13T23:59:00Z", "{ico}");
        // Filed at 12:00Z on 13 Jan, an exact instant: after the earliest due instant and
        // before the latest, so indeterminate: between 23:59 - 12:00 = 11 h 59 min early and
        // 12:00 - 09:00 = 3 h late. No reasons for delay are demanded of what may be on time.
        env.answer(ID);
        env.render_and_approve("2024-01-12T09:00:00Z", ID, "ico-report");
        env.run_at(
            "2024-01-13T12:30:00Z",
            &[
                "obligation",
                "complete",
                ID,
                "uk-gdpr-art33/initial",
                "--at",
                "2024-01-13T12:00:00Z",
            ],
        )
        .success();
        let list = env.json(&["--now", "2024-01-13T12:30:00Z", "obligation", "list", ID]);
        let ico = get(
            list["obligations"].as_array().unwrap(),
            "uk-gdpr-art33/initial",
        );
        assert_eq!(
            ico["verdict"],
            json!({ "verdict": "indeterminate", "early": 719, "late": 180 }),
            "{ico}"
        );
        // Awareness cannot be wholly unknown: it starts the clocks.
        incident["aware_precision"] = "unknown".into();
        let file = env.file("bad.json", &incident);
        let out = env
            .run_at(now, &["incident", "open", "--file", &file])
            .failure();
        assert!(
            stderr_of(&out).contains("/aware_precision"),
            "{}",
            stderr_of(&out)
        );
    }

    #[test]
    fn a_month_or_an_unknown_time_is_bounded_and_a_bad_one_refused() {
        // "In April 2024": 31 Mar 23:00Z to 30 Apr 23:00Z straddles 2 Apr 21:10Z:
        // indeterminate, between 31 Mar 23:00Z -> 2 Apr 21:10Z = 1 d 22 h 10 min (2770 min)
        // early and 2 Apr 21:10Z -> 30 Apr 23:00Z = 28 d 1 h 50 min (40430 min) late.
        let (env, ico) = filed_on("2024-04", "2024-03-31T09:00:00Z", "2024-05-02T09:00:00Z");
        assert_eq!(
            ico["verdict"],
            json!({ "verdict": "indeterminate", "early": 2770, "late": 40430 }),
            "{ico}"
        );
        // "Some day" is neither an instant, a day, a month nor "unknown".
        let out = env
            .run(&[
                "obligation",
                "complete",
                ID,
                "uk-gdpr-art34",
                "--at",
                "some day",
            ])
            .failure();
        assert!(
            stderr_of(&out).contains("\"unknown\""),
            "{}",
            stderr_of(&out)
        );
    }

    #[test]
    fn an_unknown_time_is_never_on_time_even_entered_before_the_deadline() {
        // Entered on 1 Apr 10:00Z, before the due instant (2 Apr 21:10Z), with the time of
        // filing not recorded: the effective time that bounds it is a person's choice, so it
        // is indeterminate, up to 30 Mar 21:10Z (awareness, the clock's start) -> 2 Apr 21:10Z
        // = 72 h (4320 min) early, never "on time".
        let (env, ico) = filed_on("unknown", "2024-03-31T09:00:00Z", "2024-04-01T10:00:00Z");
        assert_eq!(
            ico["verdict"],
            json!({ "verdict": "indeterminate", "early": 4320, "late": 0 }),
            "{ico}"
        );
        let report = env.json(&["report", "adherence"]);
        let row = report["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["obligation"] == "uk-gdpr-art33/initial")
            .unwrap()
            .clone();
        assert_eq!(row["status"], "indeterminate", "{row}");
        assert!(
            row["precision_note"]
                .as_str()
                .is_some_and(|n| n.contains("the time was not recorded")),
            "{row}"
        );
    }

    #[test]
    fn a_count_that_straddles_a_threshold_is_shown_as_indeterminate() {
        let env = TestEnv::new();
        let org = org_with(
            &env,
            json!({ "hipaa": "covered_entity", "establishments": ["US"] }),
        );
        env.run(&["init", "--org", &org]).success();
        // 45 CFR 164.408(b): HHS is told with the individuals where 500 or more are affected.
        // 300 to 800 people straddles 500: the duty is derived (its 60-day clock runs from
        // discovery meanwhile) and marked indeterminate, naming the fact that settles it.
        let mut a = example_json("assessment-ransomware.json");
        a["subjects"] = json!({ "min": 300, "max": 800 });
        let file = env.file("a.json", &a);
        let all = env.json(&[
            "--now",
            "2025-03-03T12:00:00Z",
            "whatif",
            "--aware-at",
            "2025-03-03T09:00:00Z",
            "--file",
            &file,
        ])["obligations"]
            .as_array()
            .unwrap()
            .clone();
        let hhs = get(&all, "hipaa-hhs-500/notice");
        let why = hhs["indeterminate"]
            .as_str()
            .unwrap_or_else(|| panic!("{hhs}"));
        assert!(
            why.contains("500 or more")
                && why.contains("300 to 800")
                && why.contains("number of people"),
            "{why}"
        );
        // An estimate of 800 settles it: no longer indeterminate.
        a["subjects"] = json!({ "estimate": 800 });
        let file = env.file("b.json", &a);
        let all = env.json(&[
            "--now",
            "2025-03-03T12:00:00Z",
            "whatif",
            "--aware-at",
            "2025-03-03T09:00:00Z",
            "--file",
            &file,
        ])["obligations"]
            .as_array()
            .unwrap()
            .clone();
        assert!(
            get(&all, "hipaa-hhs-500/notice")
                .get("indeterminate")
                .is_none()
        );
    }
}

mod market_disclosure {
    use super::*;

    const ID: &str = "BR-2024-0001";

    fn obligations(env: &TestEnv, now: &str) -> Vec<Value> {
        env.json(&["--now", now, "obligation", "list", ID])["obligations"]
            .as_array()
            .unwrap()
            .clone()
    }

    #[test]
    fn an_announcement_needs_the_inside_information_step_first() {
        let env = TestEnv::new();
        env.prepare(&example_json("organisation.json"));
        // The example company is on AIM (UK MAR Art 17(1)). Nothing says when the information
        // became inside information: filing the announcement is refused with the command.
        let out = env
            .run(&["obligation", "complete", ID, "uk-mar-art17/announcement"])
            .failure();
        let err = stderr_of(&out);
        assert!(
            err.contains("incident trigger BR-2024-0001 inside_information"),
            "{err}"
        );
        assert_eq!(
            get(&obligations(&env, NOW), "uk-mar-art17/announcement")["state"],
            "pending"
        );
    }

    #[test]
    fn a_delay_under_art_17_4_then_a_leak() {
        let env = TestEnv::new();
        env.prepare(&example_json("organisation.json"));
        // Inside information from 08:00Z Sun 31 Mar 2024 (09:00 BST): "as soon as possible",
        // our internal target 4 h -> 12:00Z.
        env.run_at(
            "2024-03-31T08:30:00Z",
            &[
                "incident",
                "trigger",
                ID,
                "inside_information",
                "--at",
                "2024-03-31T08:00:00Z",
                "--by",
                "Margaret Ellis (Chair)",
                "--note",
                "Board call: price-sensitive",
            ],
        )
        .success();
        let mar = get(
            &obligations(&env, "2024-03-31T08:30:00Z"),
            "uk-mar-art17/announcement",
        )
        .clone();
        assert_eq!(mar["due"]["target"], "2024-03-31T12:00:00Z", "{mar}");
        // A delay needs all three conditions of Art 17(4).
        let out = env
            .run_at(
                "2024-03-31T09:00:00Z",
                &[
                    "incident",
                    "delay-disclosure",
                    ID,
                    "--by",
                    "Board",
                    "--legitimate-interests",
                    "Disclosure now would alert the attacker during containment",
                ],
            )
            .failure();
        let err = stderr_of(&out);
        assert!(
            err.contains("--not-misleading") && err.contains("--confidentiality"),
            "{err}"
        );
        assert!(
            env.json(&["incident", "show", ID])["incident"]
                .get("disclosure_delay")
                .is_none()
        );
        // Delayed at 09:00Z by the board, each condition stated: the clock is suspended (no
        // target), and the FCA notice (Art 17(4)) is owed, waiting on the announcement.
        env.run_at(
            "2024-03-31T09:00:00Z",
            &[
                "incident",
                "delay-disclosure",
                ID,
                "--at",
                "2024-03-31T09:00:00Z",
                "--by",
                "Margaret Ellis (Chair), Daniel Hughes (General Counsel)",
                "--legitimate-interests",
                "Disclosure now would alert the attacker during containment",
                "--not-misleading",
                "No guidance or statement on systems is outstanding",
                "--confidentiality",
                "Insider list opened; ten people informed under NDA",
                "--evidence",
                "Board minutes 31 Mar 2024",
            ],
        )
        .success();
        let all = obligations(&env, "2024-03-31T20:00:00Z");
        let mar = get(&all, "uk-mar-art17/announcement");
        assert_eq!(mar["due"]["kind"], "standard", "{mar}");
        assert!(
            mar["due"]["standard"]
                .as_str()
                .unwrap()
                .contains("delayed under UK MAR Art 17(4)")
        );
        assert!(mar["due"].get("target").is_none(), "{mar}");
        assert_eq!(mar["overdue"], false);
        let fca = get(&all, "uk-mar-art17/fca-delay-notice");
        assert_eq!(fca["recipient"], "Financial Conduct Authority");
        assert_eq!(fca["due"]["waiting_on"], "previous_phase", "{fca}");
        let show = env.json(&["incident", "show", ID]);
        let delay = &show["incident"]["disclosure_delay"];
        assert_eq!(delay["at"], "2024-03-31T09:00:00Z");
        assert!(
            delay["confidentiality"]
                .as_str()
                .unwrap()
                .contains("Insider list")
        );
        // A rumour in the trade press at 07:30Z Mon 1 Apr: confidentiality lost (Art 17(7) †),
        // the delay ends and the announcement is due at once: target 07:30Z, overdue by 08:00Z.
        let out = env
            .run_at(
                "2024-04-01T08:00:00Z",
                &[
                    "incident",
                    "trigger",
                    ID,
                    "confidentiality_lost",
                    "--at",
                    "2024-04-01T07:30:00Z",
                    "--by",
                    "Sophie Turner",
                ],
            )
            .failure();
        assert!(stderr_of(&out).contains("--note"), "{}", stderr_of(&out));
        env.run_at(
            "2024-04-01T08:00:00Z",
            &[
                "incident",
                "trigger",
                ID,
                "confidentiality_lost",
                "--at",
                "2024-04-01T07:30:00Z",
                "--by",
                "Sophie Turner",
                "--note",
                "Specific rumour in the trade press",
            ],
        )
        .success();
        let mar = get(
            &obligations(&env, "2024-04-01T08:00:00Z"),
            "uk-mar-art17/announcement",
        )
        .clone();
        assert_eq!(mar["due"]["target"], "2024-04-01T07:30:00Z", "{mar}");
        assert_eq!(mar["warning"], "overdue", "{mar}");
        // Announced at 08:15Z: the FCA is then told immediately (our internal target 1 h ->
        // 09:15Z).
        env.render_and_approve("2024-04-01T08:10:00Z", ID, "market-announcement");
        env.run_at(
            "2024-04-01T08:20:00Z",
            &[
                "obligation",
                "complete",
                ID,
                "uk-mar-art17/announcement",
                "--at",
                "2024-04-01T08:15:00Z",
                "--sent",
            ],
        )
        .success();
        let fca = get(
            &obligations(&env, "2024-04-01T08:20:00Z"),
            "uk-mar-art17/fca-delay-notice",
        )
        .clone();
        assert_eq!(fca["due"]["from"], "2024-04-01T08:15:00Z", "{fca}");
        assert_eq!(fca["due"]["target"], "2024-04-01T09:15:00Z", "{fca}");
        // A second delay is refused: the decision stands.
        let out = env
            .run(&[
                "incident",
                "delay-disclosure",
                ID,
                "--by",
                "Board",
                "--legitimate-interests",
                "x",
                "--not-misleading",
                "y",
                "--confidentiality",
                "z",
            ])
            .failure();
        assert!(
            stderr_of(&out).contains("already been delayed"),
            "{}",
            stderr_of(&out)
        );
    }
}

mod classification_reasons {
    use super::*;

    #[test]
    fn a_classification_needs_its_reason() {
        let env = TestEnv::new();
        let org = org_with(
            &env,
            json!({ "financial_entity": true, "nis": "operator_of_essential_services" }),
        );
        env.run(&["init", "--org", &org]).success();
        env.run(&[
            "incident",
            "open",
            "--file",
            &example("incident-ransomware.json"),
        ])
        .success();
        env.assess("BR-2024-0001");
        for gate in ["classified_major", "significant_impact"] {
            let out = env
                .run(&[
                    "incident",
                    "trigger",
                    "BR-2024-0001",
                    gate,
                    "--by",
                    "CRO",
                    "--note",
                    " ",
                ])
                .failure();
            assert!(
                stderr_of(&out).contains("needs --note"),
                "{gate}: {}",
                stderr_of(&out)
            );
        }
        // Nothing was recorded, so no gated duty arose.
        let list = env.json(&["obligation", "list", "BR-2024-0001"]);
        let all = list["obligations"].as_array().unwrap();
        assert!(find(all, "dora-major-ict/initial").is_none());
        assert!(find(all, "uk-nis-oes/notification").is_none());
        // Overriding the risk level and waiving a duty already need their reasons.
        let mut a = example_json("assessment-ransomware.json");
        a["override_level"] = json!({ "level": "unlikely", "reason": "" });
        let file = env.file("a.json", &a);
        env.run(&["assess", "BR-2024-0001", "--file", &file])
            .failure();
        env.run(&[
            "obligation",
            "waive",
            "BR-2024-0001",
            "uk-gdpr-art33/initial",
        ])
        .failure();
    }
}

mod applicability {
    use super::*;

    #[test]
    fn uk_nis_runs_only_for_a_significant_impact_and_says_why_not() {
        let env = TestEnv::new();
        let org = org_with(&env, json!({ "nis": "operator_of_essential_services" }));
        env.run(&["init", "--org", &org]).success();
        // Reg 11(1): only an incident with a significant impact on the continuity of the
        // essential service is notified. Not recorded: no duty, and whatif says why.
        let out = env.json(&[
            "--now",
            "2025-03-03T12:00:00Z",
            "whatif",
            "--aware-at",
            "2025-03-03T09:00:00Z",
        ]);
        let all = out["obligations"].as_array().unwrap();
        assert!(find(all, "uk-nis-oes/notification").is_none(), "{out}");
        let why = out["not_applicable"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["regime"] == "uk-nis-oes")
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            why["why"].as_str().unwrap().contains("significant_impact"),
            "{why}"
        );
        // SEC, HIPAA, NDB and DORA say which profile fact they need.
        for regime in [
            "sec-8k-item105",
            "hipaa-individuals",
            "au-ndb",
            "dora-major-ict",
        ] {
            let n = out["not_applicable"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["regime"] == regime)
                .unwrap_or_else(|| panic!("{regime}: {out}"));
            assert!(n["why"].as_str().unwrap().contains("profile is not"), "{n}");
        }
        // Recorded at 10:00Z by the operator: reg 11(3)(b) 72 h from awareness, 09:00Z + 72 h
        // = Thu 6 Mar 09:00Z.
        env.run_at(
            "2025-03-03T12:00:00Z",
            &[
                "incident",
                "open",
                "--file",
                &env.file("i.json", &{
                    let mut i = example_json("incident-ransomware.json");
                    i["occurred"] = json!({ "from": "2025-03-03T06:00:00Z" });
                    i["detected_at"] = "2025-03-03T08:00:00Z".into();
                    i["aware_at"] = "2025-03-03T09:00:00Z".into();
                    i
                }),
            ],
        )
        .success();
        let id = "BR-2025-0001";
        env.run_at(
            "2025-03-03T12:00:00Z",
            &[
                "assess",
                id,
                "--file",
                &example("assessment-ransomware.json"),
            ],
        )
        .success();
        env.run_at(
            "2025-03-03T12:00:00Z",
            &[
                "incident",
                "trigger",
                id,
                "significant_impact",
                "--at",
                "2025-03-03T10:00:00Z",
                "--by",
                "Head of Operations",
                "--note",
                "All clinics without records for 6 hours",
            ],
        )
        .success();
        let list = env.json(&["--now", "2025-03-03T12:00:00Z", "obligation", "list", id]);
        assert_eq!(
            due_at(get(
                list["obligations"].as_array().unwrap(),
                "uk-nis-oes/notification"
            )),
            "2025-03-06T09:00:00Z"
        );
    }
}

mod closures {
    use super::*;

    #[test]
    fn a_closure_day_is_added_without_replacing_the_calendar() {
        let env = TestEnv::new();
        let org = org_with(&env, json!({ "sec_registrant": true }));
        env.run(&["init", "--org", &org]).success();
        let dir = env.tmp.path().join("rules");
        std::fs::create_dir_all(dir.join("calendars")).unwrap();
        // Federal offices closed on Thu 9 Jan 2025 (a national day of mourning, regimes
        // reference §6: whether EDGAR treated it as a non-business day is †).
        std::fs::write(
            dir.join("calendars/closures.toml"),
            r#"adds_to = "us-federal"
source = "Executive order closing federal offices"
unverified = ["† Whether EDGAR treated 9 Jan 2025 as a non-business day is unverified."]

[[days]]
date = 2025-01-09
name = "National day of mourning"
"#,
        )
        .unwrap();
        let rules = dir.to_str().unwrap();
        env.run(&[
            "incident",
            "open",
            "--file",
            &example("incident-ransomware.json"),
        ])
        .success();
        env.assess("BR-2024-0001");
        let sec_due = |determined: &str, now: &str, extra: &[&str]| -> String {
            let mut args = extra.to_vec();
            args.extend([
                "incident",
                "trigger",
                "BR-2024-0001",
                "materiality_determined",
                "--at",
                determined,
                "--by",
                "CFO",
            ]);
            env.run_at(now, &args).success();
            let mut args = extra.to_vec();
            args.extend(["--now", now, "obligation", "list", "BR-2024-0001"]);
            let list = env.json(&args);
            due_at(get(
                list["obligations"].as_array().unwrap(),
                "sec-8k-item105/filing",
            ))
            .to_string()
        };
        // Form 8-K Item 1.05: 4 business days, the determination's day being day 0 (§5.4).
        // Determined Tue 7 Jan 2025 10:00 EST. Built-in calendar: Wed 8 (1), Thu 9 (2), Fri 10
        // (3), Mon 13 (4): due Mon 13 Jan 17:30 EST = 22:30Z.
        assert_eq!(
            sec_due("2025-01-07T15:00:00Z", "2025-01-07T16:00:00Z", &[]),
            "2025-01-13T22:30:00Z"
        );
        // With the closure: Wed 8 (1), Thu 9 skipped, Fri 10 (2), Mon 13 (3), Tue 14 (4): due
        // Tue 14 Jan 22:30Z.
        assert_eq!(
            sec_due(
                "2025-01-07T15:00:00Z",
                "2025-01-07T16:00:00Z",
                &["--regimes-dir", rules]
            ),
            "2025-01-14T22:30:00Z"
        );
        // The built-in holidays are still there: determined Thu 16 Jan 2025: Fri 17 (1),
        // Mon 20 Martin Luther King Jr. Day skipped, Tue 21 (2), Wed 22 (3), Thu 23 (4).
        assert_eq!(
            sec_due(
                "2025-01-16T15:00:00Z",
                "2025-01-16T16:00:00Z",
                &["--regimes-dir", rules]
            ),
            "2025-01-23T22:30:00Z"
        );
        // A closure for a calendar that is not installed names the file and the field.
        std::fs::write(
            dir.join("calendars/closures.toml"),
            "adds_to = \"us-fedral\"\nsource = \"x\"\n[[days]]\ndate = 2025-01-09\nname = \"x\"\n",
        )
        .unwrap();
        let out = env.run(&["--regimes-dir", rules, "regimes"]).failure();
        let err = stderr_of(&out);
        assert!(
            err.contains("closures.toml") && err.contains("/adds_to"),
            "{err}"
        );
    }
}

mod hipaa_media {
    use super::*;

    fn run(env: &TestEnv, residents: Option<Value>) -> Value {
        let mut a = example_json("assessment-ransomware.json");
        a["subjects"] = json!({ "estimate": 2000 });
        if let Some(r) = residents {
            a["residents_by_state"] = r;
        }
        let file = env.file("a.json", &a);
        env.json(&[
            "--now",
            "2025-03-03T12:00:00Z",
            "whatif",
            "--aware-at",
            "2025-03-03T09:00:00Z",
            "--file",
            &file,
        ])
    }

    #[test]
    fn the_media_notice_counts_residents_of_one_state() {
        let env = TestEnv::new();
        let org = org_with(
            &env,
            json!({ "hipaa": "covered_entity", "establishments": ["US"] }),
        );
        env.run(&["init", "--org", &org]).success();
        // 45 CFR 164.406: more than 500 residents of one State. 2,000 people, no count per
        // State: they could all live in one, so the notice is derived (60 days from discovery
        // run meanwhile) and marked indeterminate until the counts per State are given.
        let out = run(&env, None);
        let media = get(out["obligations"].as_array().unwrap(), "hipaa-media/notice");
        assert!(
            media["indeterminate"]
                .as_str()
                .unwrap_or_default()
                .contains("residents per State"),
            "{media}"
        );
        // 400 in Texas and 300 in California: no State has more than 500, so no media notice,
        // and whatif says why; the HHS notice (500 or more in all, 164.408(b)) still applies.
        let out = run(
            &env,
            Some(json!([
                { "state": "TX", "count": { "estimate": 400 } },
                { "state": "CA", "count": { "min": 200, "max": 300 } }
            ])),
        );
        let all = out["obligations"].as_array().unwrap();
        assert!(find(all, "hipaa-media/notice").is_none(), "{out}");
        assert!(find(all, "hipaa-hhs-500/notice").is_some(), "{out}");
        let why = out["not_applicable"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["regime"] == "hipaa-media")
            .unwrap_or_else(|| panic!("{out}"));
        assert!(
            why["why"]
                .as_str()
                .unwrap()
                .contains("at most 400 residents"),
            "{why}"
        );
        // 600 in Texas: owed, and settled.
        let out = run(
            &env,
            Some(json!([{ "state": "TX", "count": { "estimate": 600 } }])),
        );
        let media = get(out["obligations"].as_array().unwrap(), "hipaa-media/notice");
        assert!(media.get("indeterminate").is_none(), "{media}");
        // A State listed twice is refused at its path.
        let mut a = example_json("assessment-ransomware.json");
        a["residents_by_state"] = json!([
            { "state": "TX", "count": { "estimate": 1 } },
            { "state": "tx", "count": { "estimate": 1 } }
        ]);
        let file = env.file("bad.json", &a);
        let out = env
            .run(&[
                "whatif",
                "--aware-at",
                "2025-03-03T09:00:00Z",
                "--file",
                &file,
            ])
            .failure();
        assert!(
            stderr_of(&out).contains("/residents_by_state/1/state"),
            "{}",
            stderr_of(&out)
        );
    }
}
