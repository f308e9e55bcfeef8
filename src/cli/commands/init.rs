//! `breachflow init --org FILE` and `breachflow org`: the organisation profile.

use std::path::Path;

use crate::app::ports::Store;
use crate::cli::output::{self, Format};
use crate::cli::{CliError, Ctx};
use crate::domain::organisation::Organisation;

pub fn run(ctx: &Ctx, file: &Path, force: bool) -> Result<(), CliError> {
    let org: Organisation = crate::adapters::files::load(file)?;
    let store = super::open_store(ctx)?;
    let org = crate::app::incident::record_organisation(
        &store,
        &ctx.app(),
        &file.display().to_string(),
        org,
        force,
    )?;
    match ctx.format {
        Format::Json => output::print_json(&org),
        Format::Table | Format::Csv | Format::Html => output::print(&format!(
            "Organisation profile stored: {} (ICO registration {}), DPO {}, times shown in {}.\nStore: {}",
            org.name,
            org.ico_registration,
            org.dpo.name,
            org.time_zone,
            store.location().display()
        )),
    }
    Ok(())
}

pub fn show(ctx: &Ctx) -> Result<(), CliError> {
    let store = super::open_store(ctx)?;
    let org = store.require_organisation()?;
    match ctx.format {
        Format::Json => output::print_json(&org),
        Format::Table | Format::Csv | Format::Html => {
            let mut text = format!(
                "{}\nICO registration: {}\nRole: {}\nDPO: {} <{}>{}\nTime zone: {}\n",
                org.name,
                org.ico_registration,
                match org.role {
                    crate::domain::organisation::ControllerRole::Controller => "controller",
                    crate::domain::organisation::ControllerRole::Processor => "processor",
                },
                org.dpo.name,
                org.dpo.email,
                org.dpo
                    .phone
                    .as_deref()
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default(),
                org.time_zone
            );
            let mut t = output::table(&["Role", "Name", "Email", "Phone"]);
            for c in &org.contacts {
                t.add_row([
                    c.role.as_str(),
                    c.name.as_str(),
                    c.email.as_str(),
                    c.phone.as_deref().unwrap_or(""),
                ]);
            }
            let four_eyes = org.four_eyes_documents();
            text.push_str(&format!(
                "Four-eyes approval (approver other than the author): {}{}\n",
                if four_eyes.is_empty() {
                    "none".to_string()
                } else {
                    four_eyes.join(", ")
                },
                if org.four_eyes.is_none() {
                    " (the default)"
                } else {
                    ""
                }
            ));
            crate::cli::output::fit(&mut t);
            text.push_str(&format!("Contacts:\n{t}"));
            output::print(&text);
        }
    }
    Ok(())
}
