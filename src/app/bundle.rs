//! Evidence bundles: exporting one incident for a regulator or another store, and importing a
//! bundle only after every check in `domain::bundle` has passed. The front end reads and writes
//! the file; nothing here touches the file system.

use chrono::{DateTime, Utc};

use crate::app::AppError;
use crate::app::Context;
use crate::app::input::InputError;
use crate::app::ports::{Import, Store, StoreError};
use crate::domain::bundle::{Bundle, BundleDocument, BundleError, VerifiedBundle};
use crate::domain::incident::IncidentId;
use crate::domain::organisation::Organisation;

/// The bundle of `id`, sealed with its checksum.
pub fn export(
    store: &dyn Store,
    id: IncidentId,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<Bundle, AppError> {
    let org = store.require_organisation()?;
    let record = store.incident(id)?;
    let events = store.events_for(id)?;
    let mut documents = Vec::with_capacity(record.documents.len());
    for d in &record.documents {
        documents.push(BundleDocument {
            document: d.document.clone(),
            version: d.version,
            // Checked, so a store altered since is not carried elsewhere as evidence.
            body: crate::app::documents::checked_body(store, id, d)?,
        });
    }
    let messages = store.messages_for(id)?;
    Bundle::new(now, actor, org, record, events, documents, messages)
        .map_err(|e| AppError::Failed(e.to_string()))
}

/// Reads and verifies the bundle `name` (its text): a bundle that fails any check is refused
/// before a store is even opened.
pub fn verify(name: &str, text: &str) -> Result<VerifiedBundle, AppError> {
    let refused = |e: BundleError| AppError::Tampered(format!("{name}: {e}; nothing was imported"));
    let bundle = Bundle::read(text).map_err(|e| match e {
        BundleError::Syntax {
            line,
            column,
            message,
        } => AppError::Input(InputError::Syntax {
            file: name.to_string(),
            line,
            column,
            message,
        }),
        e => refused(e),
    })?;
    bundle.verify().map_err(refused)
}

/// What an import did besides the incident.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// The organisation profile recorded from the bundle (the store had none, and the person
    /// accepted it), without any SMTP settings.
    pub organisation: Option<Organisation>,
    /// The bundle carried SMTP settings, which were not taken.
    pub smtp_ignored: bool,
}

/// The bundle's profile as a person checks it before accepting: everything it would set.
pub fn describe_organisation(org: &Organisation) -> String {
    let mut lines = vec![
        format!("name: {}", org.name),
        format!("ICO registration: {}", org.ico_registration),
        format!("DPO: {} <{}>", org.dpo.name, org.dpo.email),
        format!("time zone: {}", org.time_zone),
    ];
    for c in &org.contacts {
        lines.push(format!("contact {}: {} <{}>", c.role, c.name, c.email));
    }
    if let Some(lei) = &org.lei {
        lines.push(format!("LEI: {lei}"));
    }
    lines.join("\n  ")
}

/// Stores a verified bundle through [`Store::import`], which joins its events to this store's
/// log. A bundle is hostile input: its organisation profile is not in its events, so it is
/// recorded only when this store has none and the person accepted it having seen it
/// (`accept_organisation`), and its SMTP settings are never taken (they would decide where
/// this store's mail goes).
pub fn import(
    store: &dyn Store,
    bundle: &VerifiedBundle,
    name: &str,
    ctx: &Context,
    accept_organisation: bool,
) -> Result<Imported, AppError> {
    let mut imported = Imported {
        smtp_ignored: bundle.organisation.smtp.is_some(),
        ..Imported::default()
    };
    if store.organisation()?.is_none() {
        if !accept_organisation {
            return Err(AppError::Failed(format!(
                "{name}: this store has no organisation profile, and the bundle's is not covered by its events; it would set:\n  {}\n{}run `breachflow init --org FILE` with your own profile, or import again with --accept-organisation to record this one; nothing was imported",
                describe_organisation(&bundle.organisation),
                if imported.smtp_ignored {
                    "(its SMTP settings are never imported.)\n"
                } else {
                    ""
                }
            )));
        }
        let org = Organisation {
            smtp: None,
            ..bundle.organisation.clone()
        };
        imported.organisation = Some(crate::app::incident::record_organisation(
            store, ctx, name, org, false,
        )?);
    }
    // A bundle carries no bulk recipient states: they are the fold of its events.
    let (states, _) = crate::domain::delivery::recipients_from(&bundle.events);
    let recipients: Vec<_> = states
        .into_iter()
        .map(|((_, doc, _), state)| (doc, state))
        .collect();
    store
        .import(&Import {
            record: &bundle.record,
            events: &bundle.events,
            documents: &bundle.documents,
            messages: &bundle.messages,
            recipients: &recipients,
        })
        .map_err(|e| match e {
            StoreError::Conflict { .. } => AppError::Failed(format!(
                "{} is already in this store; nothing was imported",
                bundle.record.id
            )),
            e => AppError::Store(e),
        })?;
    Ok(imported)
}

#[cfg(test)]
mod tests {
    //! Against a real incident: the store 0.1.0 wrote (`tests/fixtures/store-0.1.0`), copied to
    //! a temporary directory because sled writes on open.

    use std::path::Path;

    use super::*;
    use crate::adapters::store::SledStore;
    use crate::domain::audit::Break;

    const ID: IncidentId = IncidentId {
        year: 2024,
        number: 1,
    };

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn fixture(dir: &Path) -> SledStore {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-0.1.0");
        let to = dir.join("store");
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
        SledStore::open(&to).unwrap()
    }

    fn exported() -> Bundle {
        let tmp = tempfile::tempdir().unwrap();
        let store = fixture(tmp.path());
        let bundle = export(&store, ID, at(), "auditor").unwrap();
        assert!(bundle.verify().is_ok());
        assert!(bundle.documents.len() >= 2 && bundle.events.len() >= 4);
        bundle
    }

    /// The exported bundle with `forge` applied and its checksum recomputed, as a forger
    /// would, then verified.
    fn forged(forge: impl FnOnce(&mut Bundle)) -> Result<VerifiedBundle, BundleError> {
        let mut b = exported();
        forge(&mut b);
        b.seal().unwrap();
        b.verify()
    }

    #[test]
    fn a_changed_event_is_refused_even_with_a_new_checksum() {
        let result = forged(|b| b.events[2].actor = "mallory".into());
        assert!(matches!(
            result,
            Err(BundleError::Chain(Break::Changed { .. }))
        ));
    }

    #[test]
    fn a_changed_document_body_is_refused_even_with_a_new_checksum() {
        let result = forged(|b| b.documents[0].body.text.push_str("\nOne more line."));
        assert!(matches!(result, Err(BundleError::Body { .. })));
    }

    #[test]
    fn a_dropped_document_version_is_refused() {
        let result = forged(|b| {
            b.documents.remove(1);
        });
        assert!(matches!(result, Err(BundleError::MissingBody { .. })));
    }

    #[test]
    fn reordered_events_are_refused() {
        let result = forged(|b| b.events.swap(2, 3));
        assert!(matches!(
            result,
            Err(BundleError::Chain(Break::Missing { .. }))
        ));
    }

    #[test]
    fn a_changed_file_fails_its_checksum() {
        let b = exported();
        let text = b.to_json().unwrap().replacen("auditor", "someone else", 1);
        assert!(matches!(
            Bundle::read(&text).and_then(|b| b.verify()),
            Err(BundleError::Checksum)
        ));
    }

    #[test]
    fn a_bundle_written_before_a_field_was_added_still_verifies() {
        // `template_source` came later (`#[serde(default)]`): the checksum is over the JSON as
        // written, so a bundle without it still matches.
        let mut v: serde_json::Value =
            serde_json::from_str(&exported().to_json().unwrap()).unwrap();
        let m = v.as_object_mut().unwrap();
        m.remove("sha256");
        m["documents"][0]["body"]
            .as_object_mut()
            .unwrap()
            .remove("template_source");
        let sha = crate::render::template::sha256_hex(&serde_json::to_vec(&v).unwrap());
        v["sha256"] = sha.into();
        let b = Bundle::read(&v.to_string()).unwrap();
        assert!(b.verify().is_ok());
    }

    #[test]
    fn export_then_import_into_a_fresh_store_gives_the_same_record() {
        let tmp = tempfile::tempdir().unwrap();
        let here = fixture(tmp.path());
        let text = export(&here, ID, at(), "auditor")
            .unwrap()
            .to_json()
            .unwrap();

        let there = SledStore::open(&tmp.path().join("fresh")).unwrap();
        let verified = verify("bundle.json", &text).unwrap();
        import(
            &there,
            &verified,
            "bundle.json",
            &Context::self_declared(at(), "auditor"),
            true,
        )
        .unwrap();

        assert_eq!(there.incident(ID).unwrap(), here.incident(ID).unwrap());
        assert_eq!(
            there.messages_for(ID).unwrap(),
            here.messages_for(ID).unwrap()
        );
        for d in &here.incident(ID).unwrap().documents {
            assert_eq!(
                there.document_body(ID, &d.document, d.version).unwrap(),
                here.document_body(ID, &d.document, d.version).unwrap()
            );
        }
        assert!(matches!(crate::app::audit::verify(&there), Ok(Ok(n)) if n > 0));
        // A second import is refused and changes nothing.
        assert!(matches!(
            import(
                &there,
                &verified,
                "bundle.json",
                &Context::self_declared(at(), "auditor"),
                true
            ),
            Err(AppError::Failed(_))
        ));
    }
}
