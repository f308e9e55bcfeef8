//! Who may do what: the permission table, in one place, like the lifecycle's.
//!
//! Every command a signed-in person can ask for is one [`Action`] (`cli::permission::access`
//! says which, for every subcommand), and [`allowed`] is the table: the roles that may take
//! each action. [`permits`] answers for a person's roles with the role that grants it, which
//! the log records with the act (`UserRef`). Changing who may do something is a change to this
//! table (and to the matrix written out in `cli::permission`'s test), nowhere else.

use serde::Serialize;

use crate::domain::account::Role;

/// What a document is for, as far as permissions go: filings with a regulator, or words to
/// the market, staff and data subjects, which communications people draft and send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocumentClass {
    Regulatory,
    Communications,
}

/// The templates communications people may render and send; every other template, a custom
/// one included, is regulatory.
pub const COMMUNICATIONS: &[&str] = &["market-announcement", "staff-briefing", "subject-notice"];

impl DocumentClass {
    /// The class of a document (template name).
    pub fn of(document: &str) -> DocumentClass {
        if COMMUNICATIONS.contains(&document) {
            DocumentClass::Communications
        } else {
            DocumentClass::Regulatory
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentClass::Regulatory => "regulatory",
            DocumentClass::Communications => "communications",
        }
    }
}

/// What a command does, for permission's sake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "action", content = "class", rename_all = "kebab-case")]
pub enum Action {
    /// Lists, shows, reports, the register, the calendar, what-ifs, deadlines, documents, the
    /// timeline, the outbox and its recipients, checks, the profile, regimes, templates, the
    /// audit log and bundle export: reading, changing nothing.
    Read,
    /// `audit verify`.
    Verify,
    /// Incident facts and steps: open, update, trigger, transition, delay disclosure, assess,
    /// decide, complete/reference/waive obligations, remind.
    RecordFacts,
    /// Rendering or editing a document version.
    Render(DocumentClass),
    /// Sending a document (bulk notices to data subjects included).
    Send(DocumentClass),
    /// Approving a document version.
    Approve,
    /// Outbox deliver, release and resolve.
    ManageOutbox,
    /// `audit anchor`.
    Anchor,
    /// `audit repair`.
    Repair,
    /// `bundle import`.
    ImportBundle,
    /// Adding, disabling and changing accounts (and anyone's tokens and passwords).
    ManageUsers,
    /// The organisation profile (`init`).
    Organisation,
    /// One's own tokens and password.
    OwnAccount,
}

const ALL: &[Role] = &Role::ALL;
const DPO: &[Role] = &[Role::Dpo];
const DPO_COMMS: &[Role] = &[Role::Dpo, Role::Comms];
const DPO_ADMIN: &[Role] = &[Role::Dpo, Role::Admin];
const APPROVER: &[Role] = &[Role::Approver];
const ADMIN: &[Role] = &[Role::Admin];

/// The table: the roles that may take `action`, in the order a grant is looked for. `const`,
/// so the server's route table can gate a route by the same row.
pub const fn allowed(action: &Action) -> &'static [Role] {
    match action {
        Action::Read | Action::Verify | Action::OwnAccount => ALL,
        Action::RecordFacts | Action::ManageOutbox => DPO,
        Action::Render(DocumentClass::Regulatory) | Action::Send(DocumentClass::Regulatory) => DPO,
        Action::Render(DocumentClass::Communications)
        | Action::Send(DocumentClass::Communications) => DPO_COMMS,
        Action::Approve => APPROVER,
        Action::Anchor => DPO_ADMIN,
        Action::Repair | Action::ImportBundle | Action::ManageUsers | Action::Organisation => ADMIN,
    }
}

/// The role among `roles` that grants `action`, if any: the first in the table's order, so the
/// role recorded with an act is the same whichever order a person's roles were given in.
pub fn permits(roles: &[Role], action: &Action) -> Option<Role> {
    allowed(action).iter().copied().find(|r| roles.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_grants_by_role() {
        use Role::*;
        let comms = DocumentClass::of("market-announcement");
        let regulatory = DocumentClass::of("ico-report");
        assert_eq!(comms, DocumentClass::Communications);
        assert_eq!(regulatory, DocumentClass::Regulatory);
        assert_eq!(
            DocumentClass::of("my-own-template"),
            DocumentClass::Regulatory
        );
        // Comms may render and send communications but not decide or file.
        assert_eq!(permits(&[Comms], &Action::Render(comms)), Some(Comms));
        assert_eq!(permits(&[Comms], &Action::Send(comms)), Some(Comms));
        assert_eq!(permits(&[Comms], &Action::Render(regulatory)), None);
        assert_eq!(permits(&[Comms], &Action::RecordFacts), None);
        // Auditors read and verify, and change nothing.
        assert_eq!(permits(&[Auditor], &Action::Read), Some(Auditor));
        assert_eq!(permits(&[Auditor], &Action::Verify), Some(Auditor));
        for a in [
            Action::RecordFacts,
            Action::Approve,
            Action::ManageOutbox,
            Action::Anchor,
            Action::Repair,
            Action::ManageUsers,
            Action::Organisation,
            Action::ImportBundle,
            Action::Send(comms),
        ] {
            assert_eq!(permits(&[Auditor], &a), None, "{a:?}");
        }
        // Only admins manage users and the profile; anchoring is the DPO's or an admin's.
        assert_eq!(permits(&[Dpo], &Action::ManageUsers), None);
        assert_eq!(permits(&[Admin], &Action::Organisation), Some(Admin));
        assert_eq!(permits(&[Admin], &Action::Anchor), Some(Admin));
        assert_eq!(permits(&[Approver], &Action::Approve), Some(Approver));
        assert_eq!(permits(&[Dpo], &Action::Approve), None);
        // The granting role does not depend on the order roles were given in.
        assert_eq!(permits(&[Admin, Dpo], &Action::Anchor), Some(Dpo));
        assert_eq!(permits(&[Dpo, Admin], &Action::Anchor), Some(Dpo));
        assert_eq!(permits(&[], &Action::Read), None);
    }
}
