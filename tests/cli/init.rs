//! `init` and the organisation profile.

use std::os::unix::fs::PermissionsExt;

use crate::support::*;

#[test]
fn init_stores_the_profile_and_refuses_to_replace_it_without_force() {
    let env = TestEnv::initialised();
    let org = env.json(&["org"]);
    let expected = example_json("organisation.json");
    assert_eq!(org["name"], expected["name"]);
    assert_eq!(org["dpo"]["email"], expected["dpo"]["email"]);
    assert_eq!(
        org["contacts"].as_array().unwrap().len(),
        expected["contacts"].as_array().unwrap().len()
    );

    let again = env.run(&["init", "--org", &example("organisation.json")]);
    let again = again.code(1);
    assert!(
        stderr_of(&again).contains("--force"),
        "{}",
        stderr_of(&again)
    );

    let mut renamed = expected.clone();
    renamed["name"] = "Larkfield Group Holdings plc".into();
    let path = env.file("renamed.json", &renamed);
    env.run(&["init", "--org", &path, "--force"]).success();
    assert_eq!(env.json(&["org"])["name"], "Larkfield Group Holdings plc");
}

#[test]
fn time_zone_defaults_to_london() {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org.as_object_mut().unwrap().remove("time_zone");
    let path = env.file("org.json", &org);
    env.run(&["init", "--org", &path]).success();
    assert_eq!(env.json(&["org"])["time_zone"], "Europe/London");
}

#[test]
fn every_problem_in_a_profile_is_listed_with_its_path() {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["dpo"]["email"] = "priya.larkfield-vets.example".into();
    org["contacts"][2]["role"] = "Comms Team".into();
    org["flags"]["markets"] = serde_json::json!(["nasdaq"]);
    let path = env.file("org.json", &org);
    let out = env.run(&["init", "--org", &path]).code(4);
    let err = stderr_of(&out);
    for pointer in ["/dpo/email", "/contacts/2/role", "/flags/markets/0"] {
        assert!(err.contains(pointer), "{pointer} missing from:\n{err}");
    }
    assert!(err.contains("org.json"), "{err}");
    // Nothing was stored: the store has no profile.
    env.run(&["org"]).code(6);
}

#[test]
fn an_unknown_time_zone_is_refused_by_path() {
    let env = TestEnv::new();
    let mut org = example_json("organisation.json");
    org["time_zone"] = "Europe/Londres".into();
    let path = env.file("org.json", &org);
    let out = env.run(&["init", "--org", &path]).code(4);
    assert!(
        stderr_of(&out).contains("/time_zone"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn store_directory_is_0700_and_its_files_0600() {
    let env = TestEnv::with_incident();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&env.data_dir), 0o700);
    let mut files = 0;
    let mut stack = vec![env.data_dir.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                assert_eq!(mode(&path), 0o700, "{}", path.display());
                stack.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    assert!(files > 0);
}

#[test]
fn a_non_empty_directory_that_is_not_a_store_is_refused() {
    let env = TestEnv::new();
    std::fs::create_dir_all(&env.data_dir).unwrap();
    std::fs::write(env.data_dir.join("notes.txt"), "mine").unwrap();
    let out = env
        .run(&["init", "--org", &example("organisation.json")])
        .code(1);
    assert!(
        stderr_of(&out).contains("not a breachflow store"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(
        std::fs::read_to_string(env.data_dir.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn commands_before_init_say_so() {
    let env = TestEnv::new();
    let out = env
        .run(&[
            "incident",
            "open",
            "--file",
            &example("incident-ransomware.json"),
        ])
        .code(6);
    assert!(
        stderr_of(&out).contains("breachflow init"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn the_manual_page_lists_every_command_and_global_option() {
    use clap::CommandFactory;
    let env = TestEnv::new();
    let page = stdout_of(&env.run(&["man"]).success());
    assert!(page.contains(".TH breachflow 1"), "{page}");
    // Every command and global option the parser knows, read from its definition, not from
    // the page: a command added without a doc comment, or left out of the page, fails here.
    let cli = breachflow::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let entry = format!("breachflow\\-{}(1)", sub.get_name().replace('-', "\\-"));
        assert!(page.contains(&entry), "{entry} is not in the manual page");
        assert!(
            sub.get_about().is_some(),
            "{} has no description",
            sub.get_name()
        );
    }
    for arg in cli.get_arguments().filter_map(|a| a.get_long()) {
        let flag = format!("\\fB\\-\\-{}\\fR", arg.replace('-', "\\-"));
        assert!(page.contains(&flag), "--{arg} is not in the manual page");
    }
}

#[test]
fn completion_offers_incident_ids_open_obligations_and_documents_from_the_store() {
    const ID: &str = "BR-2024-0001";
    let env = TestEnv::with_incident();
    env.assess(ID);
    // What bash's registered function does on TAB: the words so far, and the index of the one
    // being completed.
    let complete = |words: &[&str]| -> Vec<String> {
        let mut cmd = env.cmd();
        cmd.env("COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
            .arg("--")
            .args(words);
        let out = stdout_of(&cmd.assert().success());
        // An empty word is also offered the flags; only values are checked here.
        out.lines()
            .filter(|w| !w.starts_with('-'))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(complete(&["breachflow", "incident", "show", ""]), vec![ID]);
    let obligations = complete(&["breachflow", "obligation", "complete", ID, "uk-gdpr"]);
    assert!(
        obligations.contains(&"uk-gdpr-art33/initial".to_string()),
        "{obligations:?}"
    );
    assert!(
        obligations.iter().all(|o| o.starts_with("uk-gdpr")),
        "{obligations:?}"
    );
    let documents = complete(&["breachflow", "render", ID, "ico"]);
    assert!(
        documents.contains(&"ico-report".to_string()),
        "{documents:?}"
    );

    // No store: nothing offered, nothing created, no error mid-line.
    let empty = TestEnv::new();
    let mut cmd = empty.cmd();
    cmd.env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "3")
        .args(["--", "breachflow", "incident", "show", ""]);
    let offered = stdout_of(&cmd.assert().success());
    assert!(offered.lines().all(|w| w.starts_with('-')), "{offered}");
    assert!(!empty.data_dir.join("db").exists());

    // The registration script calls back into the binary with COMPLETE set.
    let script = stdout_of(&env.run(&["completions", "bash"]).success());
    assert!(script.contains("COMPLETE=\"bash\""), "{script}");
}
