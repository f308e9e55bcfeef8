//! STAND-IN until the accounts branch lands (replaced wholesale at merge).
use crate::cli::{Command, IncidentCommand, SchemaCommand};
use crate::domain::permission::Action;

pub enum Access {
    Local,
    Needs(Action),
}

pub fn access(cmd: &Command) -> Access {
    match cmd {
        Command::Demo
        | Command::Serve(_)
        | Command::Man
        | Command::Completions { .. }
        | Command::Schema(SchemaCommand::Export { .. })
        | Command::Incident(IncidentCommand::New)
        | Command::Assess { id: None, .. }
        | Command::Assess { file: None, .. } => Access::Local,
        Command::Incident(IncidentCommand::List { .. })
        | Command::Incident(IncidentCommand::Show { .. })
        | Command::Deadlines { .. }
        | Command::Org => Access::Needs(Action::Read),
        _ => Access::Needs(Action::RecordFacts),
    }
}
