//! STAND-IN until the accounts branch lands (replaced wholesale at merge).
use super::account::Role;

#[derive(Debug, Clone)]
pub enum Action {
    Read,
    RecordFacts,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

pub fn roles_for(action: &Action) -> Vec<Role> {
    match action {
        Action::Read => vec![
            Role::Dpo,
            Role::Comms,
            Role::Approver,
            Role::Auditor,
            Role::Admin,
        ],
        Action::RecordFacts => vec![Role::Dpo],
    }
}

pub fn permits(roles: &[Role], action: &Action) -> Option<Role> {
    let allowed = roles_for(action);
    roles.iter().copied().find(|r| allowed.contains(r))
}
