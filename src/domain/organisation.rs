//! The organisation profile: who the controller is, who its DPO is, which regimes its
//! circumstances bring into play, and the address book of people each notice goes to.
//!
//! The profile is stored once per store (`breachflow init --org FILE`). The flags here decide
//! which regimes apply (see the regimes issue); the address book is what `send --to ROLE`
//! resolves against.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The organisation that controls (or processes) the personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Legal name as it should appear on notices, e.g. "Larkfield Veterinary Group plc".
    #[schemars(length(min = 1))]
    pub name: String,
    /// ICO registration (data protection fee) reference, e.g. "ZA123456".
    #[schemars(length(min = 1))]
    pub ico_registration: String,
    /// Postal address, as the ICO form asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Whether the organisation is the controller or a processor for the data concerned.
    #[serde(default)]
    pub role: ControllerRole,
    /// The Data Protection Officer, or the senior person responsible if there is no DPO.
    pub dpo: Person,
    /// IANA time zone used to display every instant, e.g. "Europe/London".
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// The facts about the organisation that decide which notification regimes apply.
    #[serde(default)]
    pub flags: RegimeFlags,
    /// Stakeholders by role (dpo, legal, comms, board, insurer, ...). A role may have several people.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// The mail server notices go through. Without one, messages are written to the outbox
    /// folder as `.eml` files. Credentials are never stored: they come from
    /// `BREACHFLOW_SMTP_USER` and `BREACHFLOW_SMTP_PASSWORD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSettings>,
    /// Which audiences must hear first (UK MAR Art 17: the market before anyone is told
    /// selectively). Absent: for a listed company, the market announcement goes before staff,
    /// customer and press messages; otherwise no order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure_order: Option<Vec<OrderRule>>,
    /// Legal Entity Identifier (20 characters), quoted in regulatory announcements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lei: Option<String>,
    /// The sector the organisation works in, as the ICO form asks, e.g. "Veterinary services".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// The organisation's size, as the ICO form asks, e.g. "250 or more staff".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// Four-eyes approval: the documents (by template name) that must be approved by someone
    /// other than the person who rendered or edited the version. Absent: `ico-report`,
    /// `market-announcement` and `subject-notice` (the Art 34 notice to the people affected).
    /// `[]` turns the rule off; a list replaces the default, e.g.
    /// `["ico-report", "ico-follow-up", "market-announcement", "subject-notice"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub four_eyes: Option<Vec<String>>,
}

/// The documents that need a second person's approval when the profile does not say: what goes
/// to the regulator, to the market and to the people affected.
pub const DEFAULT_FOUR_EYES: [&str; 3] = ["ico-report", "market-announcement", "subject-notice"];

/// How to reach the mail server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Host name, e.g. "smtp.example.com".
    #[schemars(length(min = 1))]
    pub host: String,
    /// Port; default 587 for starttls, 465 for tls, 25 for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `starttls` (upgrade required: nothing is sent if it fails), `tls` (implicit TLS), or
    /// `none` (only for a server on this machine).
    pub tls: TlsMode,
    /// The sender, e.g. "Larkfield Veterinary Group <privacy@larkfield-vets.example>".
    #[schemars(length(min = 3))]
    pub from: String,
    /// Where replies go, if not to the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// A PEM file of an extra certificate authority to trust (a company's own mail server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

/// Transport security for SMTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    Starttls,
    Tls,
    None,
}

/// One ordering rule: messages to the `after` audiences are held until `before` has happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRule {
    /// An audience whose message must have been sent first (`market`, `regulator`, ...), or
    /// `obligation:<id>` for an obligation that must have been completed first, e.g.
    /// `obligation:uk-gdpr-art33/initial`.
    #[schemars(length(min = 1))]
    pub before: String,
    /// Audiences held until then: `staff`, `customers`, `press`, `board`, `regulator`,
    /// `market`, `insurer`, `other`.
    #[schemars(length(min = 1))]
    pub after: Vec<String>,
}

/// The domain of a sender such as `Name <dpo@example.com>`, for Message-IDs.
pub fn address_domain(from: &str) -> Option<String> {
    if !is_mailbox(from) {
        return None;
    }
    let from = from.trim();
    let address = match (from.rfind('<'), from.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        _ => from,
    };
    address.rsplit_once('@').map(|(_, d)| d.to_string())
}

/// Whether a host name is this machine, where an unencrypted connection stays on the machine.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<core::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `s` is a mail address, bare (`privacy@example.com`) or with a display name
/// (`Privacy Team <privacy@example.com>`, the name quoted or not). The rules are those of the
/// mail library's parser (RFC 5322 dot-atoms, a host name as domain),
/// written here so the domain stays free of it.
pub fn is_mailbox(s: &str) -> bool {
    let s = s.trim();
    match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(open), Some(inner)) => {
            let name = s[..open].trim();
            let name_ok = if let Some(q) = name.strip_prefix('"') {
                q.strip_suffix('"').is_some()
            } else {
                !name.contains(['"', '<', '>', '@', ',', ';', ':'])
            };
            name_ok && !name.chars().any(char::is_control) && address_ok(&inner[open + 1..], false)
        }
        (None, None) => address_ok(s, false),
        _ => false,
    }
}

/// A bare mail address, `local@domain`, as a recipient must be and as the mail library
/// accepts it (an address literal such as `user@[192.0.2.1]` included).
pub fn is_address(s: &str) -> bool {
    address_ok(s, true)
}

/// Why a bare address cannot reach a person over the internet, if it cannot: not an address
/// at all (`is_address`, the mail library's syntax), or a domain without a dot (`bob@example`,
/// `bob@localhost`), which the syntax allows but no public mail server delivers to. An address
/// literal (`user@[192.0.2.1]`) names its host and passes. A recipient of a bulk notice must
/// pass this; the syntax check stays separate because settings (a loopback relay) use it.
pub fn undeliverable(s: &str) -> Option<&'static str> {
    if !is_address(s) {
        return Some("is not a mail address");
    }
    let domain = s.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if !domain.starts_with('[') && !domain.contains('.') {
        return Some("has no domain a message can be delivered to (no dot after the @)");
    }
    None
}

/// `local@domain`: a dot-atom local part, and a host name (or, where `literal` allows, an IP
/// address in brackets). The mail library refuses a literal inside a mailbox with a name.
fn address_ok(s: &str, literal: bool) -> bool {
    let Some((user, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let atom_char = |c: char| {
        c.is_ascii_alphanumeric()
            || "!#$%&'*+/=?^_`{|}~-".contains(c)
            || (!c.is_ascii() && !c.is_control())
    };
    let user_ok = !user.is_empty()
        && user
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atom_char));
    let host_ok = |domain: &str| {
        !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
    };
    let literal_ok = |domain: &str| {
        domain
            .strip_prefix('[')
            .and_then(|d| d.strip_suffix(']'))
            .is_some_and(|ip| ip.parse::<core::net::IpAddr>().is_ok())
    };
    user_ok && (host_ok(domain) || (literal && literal_ok(domain)))
}

fn default_time_zone() -> String {
    "Europe/London".to_string()
}

/// Controller or processor (UK GDPR Art 4(7)-(8)); a processor reports to its controller, not the ICO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControllerRole {
    /// Decides the purposes and means of processing; owes the ICO notification.
    #[default]
    Controller,
    /// Processes on a controller's behalf; must tell the controller without undue delay (Art 33(2)).
    Processor,
}

/// A named person with contact details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// Full name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Job title, as signed under the name, e.g. "Group Data Protection Officer". Absent:
    /// documents sign as "Data Protection Officer".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub title: Option<String>,
    /// Email address.
    #[schemars(email)]
    pub email: String,
    /// Telephone number, in any format a person can dial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// One entry of the address book.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The stakeholder role, lower case: dpo, legal, comms, board, insurer, ciso, press, ...
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_-]*$"))]
    pub role: String,
    /// Full name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Job title, shown beside the name where documents name the person, e.g. "Head of
    /// Communications" in an announcement's contacts block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub title: Option<String>,
    /// Email address notices to this role are sent to.
    #[schemars(email)]
    pub email: String,
    /// Telephone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Facts about the organisation that bring notification regimes into play.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegimeFlags {
    /// Provider of a public electronic communications service (PECR reg 5A).
    #[serde(default)]
    pub communications_provider: bool,
    /// Role under the UK NIS Regulations 2018.
    #[serde(default)]
    pub nis: NisRole,
    /// Role under the EU NIS2 Directive (Art 23), for EU operations.
    #[serde(default)]
    pub nis2: Nis2Role,
    /// Markets the organisation's securities are admitted to (UK MAR Art 17, AIM Rule 11, SEC 8-K).
    #[serde(default)]
    pub markets: Vec<Market>,
    /// Registrant with the US SEC (Form 8-K Item 1.05), whether or not listed on a US exchange.
    #[serde(default)]
    pub sec_registrant: bool,
    /// ISO 3166-1 alpha-2 codes of EU member states where the organisation has an establishment.
    #[serde(default)]
    pub eu_establishments: Vec<String>,
    /// Financial entity within the scope of DORA (Regulation (EU) 2022/2554).
    #[serde(default)]
    pub financial_entity: bool,
    /// FCA-regulated firm (Principle 11 / SUP 15.3).
    #[serde(default)]
    pub fca_regulated: bool,
    /// Role under the US HIPAA Breach Notification Rule.
    #[serde(default)]
    pub hipaa: HipaaRole,
    /// Entity covered by Australia's Notifiable Data Breaches scheme (Privacy Act 1988 Part IIIC).
    #[serde(default)]
    pub australian_privacy_act: bool,
    /// ISO 3166-1 alpha-2 codes of the countries where the organisation has an establishment
    /// ("GB" for the United Kingdom). Absent: `["GB"]`, because a profile written before this
    /// field existed was a UK organisation's (the profile requires an ICO registration), so it
    /// keeps the ICO duty it had. A profile that gives the field, even empty, is taken at its word.
    #[serde(
        default = "default_establishments",
        skip_serializing_if = "is_default_establishments"
    )]
    pub establishments: Vec<String>,
    /// The EU member state of the main establishment (GDPR Art 4(16)), whose supervisory
    /// authority is the lead authority (Art 56). Absent with EU establishments: the first of
    /// `eu_establishments`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eu_main_establishment: Option<String>,
    /// Offers goods or services to, or monitors the behaviour of, people in the UK (UK GDPR
    /// Art 3(2)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub targets_uk: bool,
    /// Offers goods or services to, or monitors the behaviour of, people in the EU (GDPR
    /// Art 3(2)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub targets_eu: bool,
}

fn default_establishments() -> Vec<String> {
    vec!["GB".to_string()]
}

/// Left out when written, so a profile recorded before the field existed keeps its digest.
fn is_default_establishments(v: &[String]) -> bool {
    v == ["GB"]
}

/// The EU member states by ISO 3166-1 alpha-2 code, with their names.
pub const EU_MEMBER_STATES: [(&str, &str); 27] = [
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("BG", "Bulgaria"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DK", "Denmark"),
    ("EE", "Estonia"),
    ("ES", "Spain"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GR", "Greece"),
    ("HR", "Croatia"),
    ("HU", "Hungary"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("MT", "Malta"),
    ("NL", "Netherlands"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("SE", "Sweden"),
    ("SI", "Slovenia"),
    ("SK", "Slovakia"),
];

/// The name of an EU member state, by its ISO code.
pub fn eu_member_state(code: &str) -> Option<&'static str> {
    EU_MEMBER_STATES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Whether `code` looks like an ISO 3166-1 alpha-2 code.
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase())
}

/// A problem with a country code, if any ("UK" is refused with a hint: ISO says "GB").
pub fn country_problem(code: &str) -> Option<String> {
    if code == "UK" {
        Some("\"UK\" is not an ISO 3166-1 code; the United Kingdom is \"GB\"".into())
    } else if code == "EL" {
        Some("\"EL\" is the EU's code; ISO 3166-1 gives Greece \"GR\"".into())
    } else if !is_country_code(code) {
        Some(format!(
            "{code:?} is not an ISO 3166-1 alpha-2 code; expected e.g. \"IE\""
        ))
    } else {
        None
    }
}

/// Role under the UK NIS Regulations 2018.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NisRole {
    /// Not in scope.
    #[default]
    None,
    /// Operator of essential services (reports to its sector's competent authority).
    OperatorOfEssentialServices,
    /// Relevant digital service provider (reports to the ICO).
    DigitalServiceProvider,
}

/// Role under the EU NIS2 Directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Nis2Role {
    /// Not in scope.
    #[default]
    None,
    /// Essential entity.
    Essential,
    /// Important entity.
    Important,
}

/// Role under HIPAA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HipaaRole {
    /// Not in scope.
    #[default]
    None,
    /// Covered entity (notifies individuals, HHS and media).
    CoveredEntity,
    /// Business associate (notifies the covered entity).
    BusinessAssociate,
}

/// A market the organisation's securities are admitted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Market {
    /// London Stock Exchange AIM (AIM Rules for Companies, Rule 11).
    Aim,
    /// London Stock Exchange Main Market (UK MAR, FCA DTR 2).
    MainMarket,
    /// A US national securities exchange (NYSE, Nasdaq).
    UsExchange,
}

impl Organisation {
    /// The domain that makes calendar UIDs unique: the DPO's address's, or a reserved name
    /// (RFC 2606) when that address has none.
    pub fn calendar_domain(&self) -> String {
        address_domain(&self.dpo.email).unwrap_or_else(|| "breachflow.invalid".to_string())
    }

    /// Semantic checks a JSON Schema cannot express, each with its JSON pointer.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            problems.push((
                "/time_zone".to_string(),
                format!(
                    "{:?} is not an IANA time zone name; expected e.g. \"Europe/London\"",
                    self.time_zone
                ),
            ));
        }
        for (i, code) in self.flags.eu_establishments.iter().enumerate() {
            if code.len() != 2 || !code.chars().all(|c| c.is_ascii_uppercase()) {
                problems.push((
                    format!("/flags/eu_establishments/{i}"),
                    format!("{code:?} is not an ISO 3166-1 alpha-2 code; expected e.g. \"IE\""),
                ));
            }
        }
        for (i, code) in self.flags.establishments.iter().enumerate() {
            if let Some(p) = country_problem(code) {
                problems.push((format!("/flags/establishments/{i}"), p));
            }
        }
        if let Some(code) = &self.flags.eu_main_establishment
            && eu_member_state(code).is_none()
        {
            problems.push((
                "/flags/eu_main_establishment".into(),
                format!("{code:?} is not the ISO code of an EU member state"),
            ));
        }
        for (i, contact) in self.contacts.iter().enumerate() {
            if contact.name.trim().is_empty() {
                problems.push((format!("/contacts/{i}/name"), "a name is required".into()));
            }
        }
        // Names and addresses end up in mail headers: a line break would start a new header.
        let mut one_line = |path: String, value: &str| {
            if value.chars().any(char::is_control) {
                problems.push((
                    path,
                    "must be one line, without control characters (it goes into mail headers)"
                        .into(),
                ));
            }
        };
        one_line("/name".into(), &self.name);
        one_line("/dpo/name".into(), &self.dpo.name);
        one_line("/dpo/email".into(), &self.dpo.email);
        for (i, c) in self.contacts.iter().enumerate() {
            one_line(format!("/contacts/{i}/name"), &c.name);
            one_line(format!("/contacts/{i}/email"), &c.email);
            one_line(format!("/contacts/{i}/role"), &c.role);
        }
        if let Some(s) = &self.smtp {
            one_line("/smtp/from".into(), &s.from);
            one_line("/smtp/host".into(), &s.host);
        }
        if let Some(smtp) = &self.smtp {
            // Without TLS, credentials and personal data would cross the network in clear.
            if smtp.tls == TlsMode::None && !is_loopback(&smtp.host) {
                problems.push((
                    "/smtp/tls".into(),
                    format!(
                        "tls \"none\" is refused for {:?}: only a server on this machine (localhost, 127.0.0.1, ::1) may be reached without TLS; use \"starttls\" or \"tls\"",
                        smtp.host
                    ),
                ));
            }
            if !is_mailbox(&smtp.from) {
                problems.push((
                    "/smtp/from".into(),
                    format!(
                        "{:?} is not a mail address; expected e.g. \"Name <privacy@example.com>\"",
                        smtp.from
                    ),
                ));
            }
            if let Some(r) = &smtp.reply_to
                && !is_mailbox(r)
            {
                problems.push((
                    "/smtp/reply_to".into(),
                    format!("{r:?} is not a mail address"),
                ));
            }
        }
        for (i, name) in self.four_eyes.iter().flatten().enumerate() {
            if !crate::domain::document::is_template_name(name) || name.starts_with('_') {
                problems.push((
                    format!("/four_eyes/{i}"),
                    format!(
                        "{name:?} is not a document name; expected a template name such as \"ico-report\" (`breachflow templates` lists them)"
                    ),
                ));
            }
        }
        for (i, rule) in self.disclosure_order.iter().flatten().enumerate() {
            for (j, a) in rule.after.iter().enumerate() {
                if !crate::domain::outbox::AUDIENCES.contains(&a.as_str()) {
                    problems.push((
                        format!("/disclosure_order/{i}/after/{j}"),
                        format!(
                            "{a:?} is not an audience; expected one of {}",
                            crate::domain::outbox::AUDIENCES.join(", ")
                        ),
                    ));
                }
            }
            let b = rule.before.as_str();
            if !b.starts_with("obligation:") && !crate::domain::outbox::AUDIENCES.contains(&b) {
                problems.push((
                    format!("/disclosure_order/{i}/before"),
                    format!("{b:?} is neither an audience nor obligation:<id>"),
                ));
            }
        }
        problems
    }

    /// The organisation's display zone. `check` has already refused an unknown name, so the
    /// fallback only guards against a store written by another version.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::Europe::London)
    }

    /// Whether any of its securities are admitted to a market (inside information rules apply).
    pub fn is_listed(&self) -> bool {
        !self.flags.markets.is_empty() || self.flags.sec_registrant
    }

    /// The disclosure order in force: the profile's own, else the default for a listed company.
    pub fn order_rules(&self) -> Vec<OrderRule> {
        match &self.disclosure_order {
            Some(rules) => rules.clone(),
            None if self.is_listed() => vec![OrderRule {
                before: "market".into(),
                after: vec!["staff".into(), "customers".into(), "press".into()],
            }],
            None => Vec::new(),
        }
    }

    /// Whether it has an establishment in the EU (any of the three fields says so).
    pub fn has_eu_establishment(&self) -> bool {
        let f = &self.flags;
        !f.eu_establishments.is_empty()
            || f.eu_main_establishment.is_some()
            || f.establishments
                .iter()
                .any(|c| eu_member_state(c).is_some())
    }

    /// The member state whose authority leads (GDPR Art 56): the main establishment's, else the
    /// first EU establishment named.
    pub fn eu_lead_state(&self) -> Option<String> {
        let f = &self.flags;
        f.eu_main_establishment
            .clone()
            .or_else(|| f.eu_establishments.first().cloned())
            .or_else(|| {
                f.establishments
                    .iter()
                    .find(|c| eu_member_state(c).is_some())
                    .cloned()
            })
    }

    /// The documents under four-eyes approval: the profile's list, else [`DEFAULT_FOUR_EYES`].
    pub fn four_eyes_documents(&self) -> Vec<String> {
        match &self.four_eyes {
            Some(list) => list.clone(),
            None => DEFAULT_FOUR_EYES.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// Whether a version of `document` must be approved by someone other than its author.
    pub fn needs_four_eyes(&self, document: &str) -> bool {
        match &self.four_eyes {
            Some(list) => list.iter().any(|d| d == document),
            None => DEFAULT_FOUR_EYES.contains(&document),
        }
    }

    /// People in the address book with the given role.
    pub fn contacts_for<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a Contact> + 'a {
        self.contacts.iter().filter(move |c| c.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_without_a_dot_is_an_address_but_not_deliverable() {
        assert!(is_address("bob@example"));
        assert_eq!(
            undeliverable("bob@example"),
            Some("has no domain a message can be delivered to (no dot after the @)")
        );
        assert!(undeliverable("bob@localhost").is_some());
        assert_eq!(undeliverable("bob"), Some("is not a mail address"));
        assert_eq!(undeliverable("bob@example.com"), None);
        assert_eq!(undeliverable("bob@[192.0.2.1]"), None);
        assert_eq!(undeliverable("zoë@example.co.uk"), None);
    }

    fn example() -> Organisation {
        serde_json::from_str(include_str!("../../examples/organisation.json")).unwrap()
    }

    #[test]
    fn four_eyes_defaults_to_the_regulator_market_and_subject_documents() {
        let org = example();
        assert_eq!(org.four_eyes, None);
        assert!(org.needs_four_eyes("ico-report"));
        assert!(org.needs_four_eyes("market-announcement"));
        assert!(org.needs_four_eyes("subject-notice"));
        assert!(!org.needs_four_eyes("board-briefing"));
        assert_eq!(
            org.four_eyes_documents(),
            DEFAULT_FOUR_EYES.map(String::from)
        );
    }

    #[test]
    fn an_empty_four_eyes_list_turns_the_rule_off_and_a_list_replaces_the_default() {
        let off = Organisation {
            four_eyes: Some(Vec::new()),
            ..example()
        };
        assert!(!off.needs_four_eyes("ico-report"));
        let own = Organisation {
            four_eyes: Some(vec!["board-briefing".into()]),
            ..example()
        };
        assert!(own.needs_four_eyes("board-briefing"));
        assert!(!own.needs_four_eyes("ico-report"));
    }

    /// A profile recorded before the field existed is written back without it, so its
    /// event's digest is unchanged.
    #[test]
    fn a_profile_without_four_eyes_serialises_as_before() {
        let text = include_str!("../../examples/organisation.json");
        let org: Organisation = serde_json::from_str(text).unwrap();
        let written = serde_json::to_value(&org).unwrap();
        assert!(written.get("four_eyes").is_none(), "{written}");
        let empty = Organisation {
            four_eyes: Some(Vec::new()),
            ..org
        };
        assert_eq!(
            serde_json::to_value(&empty).unwrap()["four_eyes"],
            serde_json::json!([])
        );
    }

    #[test]
    fn a_four_eyes_entry_that_is_not_a_document_name_is_refused() {
        let org = Organisation {
            four_eyes: Some(vec!["ico-report".into(), "ICO report".into()]),
            ..example()
        };
        let problems = org.check();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "/four_eyes/1");
    }
}
