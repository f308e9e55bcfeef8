//! Mail: building a message from an approved document, and handing it to the SMTP server or,
//! with no server configured, to the outbox folder as an `.eml` file.
//!
//! The only module that knows lettre. It reports each attempt as an `outbox::Outcome`, telling
//! apart what proves the server did not take the message (a 4xx reply, a refused connection)
//! from what leaves it unknown (a connection lost mid-transaction).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lettre::address::{Address, Envelope};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{FileTransport, Message, SmtpTransport, Transport};

use crate::app::ports::{Composed, MailError, Mailer};
use crate::domain::organisation::{Organisation, SmtpSettings, TlsMode};
use crate::domain::outbox::{Letter, Outcome, RetryPolicy};

/// Environment variables holding the SMTP credentials; they reach nothing but the server.
pub const USER_VAR: &str = "BREACHFLOW_SMTP_USER";
pub const PASSWORD_VAR: &str = "BREACHFLOW_SMTP_PASSWORD";

/// The folder in the data directory that takes the messages when the profile names no SMTP
/// server.
pub const OUTBOX_FOLDER: &str = "outbox";

/// The retry backoff: the default, or `BREACHFLOW_SMTP_BACKOFF_MS` milliseconds (overridable
/// for tests of the retry path). Read here so the command line and the workspace retry alike.
pub fn retry_policy() -> RetryPolicy {
    let mut retry = RetryPolicy::default();
    if let Some(ms) = std::env::var("BREACHFLOW_SMTP_BACKOFF_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        retry.backoff_base = Duration::from_millis(ms);
    }
    retry
}

/// Where messages go.
pub enum Carrier {
    Smtp(Box<SmtpTransport>),
    /// No server configured: `.eml` files in a folder.
    Folder(PathBuf),
}

impl Carrier {
    /// The carrier the organisation's profile asks for; `outbox_dir` when it names no server.
    pub fn for_organisation(org: &Organisation, outbox_dir: &Path) -> Result<Carrier, MailError> {
        match &org.smtp {
            Some(s) => Ok(Carrier::Smtp(Box::new(smtp(s)?))),
            None => {
                std::fs::create_dir_all(outbox_dir).map_err(|e| MailError::Folder {
                    dir: outbox_dir.to_path_buf(),
                    message: e.to_string(),
                })?;
                Ok(Carrier::Folder(outbox_dir.to_path_buf()))
            }
        }
    }

    fn words(&self, org: &Organisation) -> String {
        match (self, &org.smtp) {
            (Carrier::Smtp(_), Some(s)) => format!(
                "SMTP {}:{} ({})",
                s.host,
                port(s),
                match s.tls {
                    TlsMode::Starttls => "STARTTLS required",
                    TlsMode::Tls => "TLS",
                    TlsMode::None => "no TLS, this machine only",
                }
            ),
            (Carrier::Folder(dir), _) => format!("the outbox folder {}", dir.display()),
            _ => "SMTP".into(),
        }
    }

    /// One delivery attempt of the exact bytes, to the envelope's addresses.
    fn attempt(&self, message: &Composed) -> Outcome {
        let envelope = match envelope(message) {
            Ok(e) => e,
            // The addresses were checked when the message was composed; this cannot carry it.
            Err(e) => return Outcome::Refused(e.to_string()),
        };
        match self {
            Carrier::Folder(dir) if !message.file_name.is_empty() => {
                let _ = envelope;
                match write_eml(dir, &message.file_name, &message.bytes) {
                    Ok(path) => Outcome::Accepted(format!("written to {}", path.display())),
                    // Nothing was written under the name: safe to try again.
                    Err(e) => Outcome::Transient(e.to_string()),
                }
            }
            Carrier::Folder(dir) => {
                match FileTransport::new(dir).send_raw(&envelope, &message.bytes) {
                    Ok(id) => Outcome::Accepted(format!("written to {}/{id}.eml", dir.display())),
                    // Nothing was written, or a partial file no one has read: safe to try again.
                    Err(e) => Outcome::Transient(e.to_string()),
                }
            }
            Carrier::Smtp(t) => match t.send_raw(&envelope, &message.bytes) {
                Ok(reply) => {
                    no_delay_on_connections();
                    Outcome::Accepted(
                        format!(
                            "{} {}",
                            reply.code(),
                            reply.message().collect::<Vec<_>>().join(" ")
                        )
                        .trim()
                        .to_string(),
                    )
                }
                Err(e) => {
                    // A new connection will be made: it needs the option again.
                    NO_DELAY_SET.store(false, std::sync::atomic::Ordering::Relaxed);
                    classify(&e)
                }
            },
        }
    }
}

impl Mailer for Carrier {
    fn describe(&self, org: &Organisation) -> String {
        self.words(org)
    }

    fn compose(&self, letter: &Letter) -> Result<Composed, MailError> {
        compose(letter)
    }

    fn deliver(&self, message: &Composed) -> Outcome {
        self.attempt(message)
    }
}

/// The exact bytes of a letter, and the envelope lettre would derive for them.
pub fn compose(letter: &Letter) -> Result<Composed, MailError> {
    // The time it is composed for the wire, unless the letter names one.
    let date = letter
        .date
        .unwrap_or_else(crate::adapters::clock::recorded_now);
    let message = build(&Parts {
        from: &letter.from,
        reply_to: letter.reply_to.as_deref(),
        to: &letter.to,
        to_name: letter.to_name.as_deref(),
        subject: &letter.subject,
        message_id: &letter.message_id,
        date: SystemTime::from(date),
        text: &letter.text,
        html: letter.html.as_deref(),
        attachment: letter
            .attachment
            .as_ref()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice())),
    })?;
    // The envelope lettre would derive for `send`, so sending the raw bytes is the same.
    let envelope = message.envelope();
    Ok(Composed {
        from: envelope.from().map(|a| a.to_string()).unwrap_or_default(),
        to: envelope.to().iter().map(|a| a.to_string()).collect(),
        // Formatted once: the boundaries are fixed at build, and these bytes are both the
        // ones hashed and the ones sent.
        bytes: message.formatted(),
        file_name: eml_name(letter, date),
    })
}

/// The outbox file name of a letter, readable in a file list and sorted by date:
/// `2024-04-01_BR-2024-0001_staff-briefing-v1_all-staff-at-larkfield-vets.example_1a2b3c4d.eml`.
/// The tail is from the Message-ID, so two messages never share a name and the same message
/// always has the same one.
pub fn eml_name(letter: &Letter, date: chrono::DateTime<chrono::Utc>) -> String {
    use sha2::Digest;
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => c,
                '@' => '@',
                _ => '-',
            })
            .collect::<String>()
            .replace('@', "-at-")
            .trim_matches(['-', '.'])
            .chars()
            .take(60)
            .collect()
    };
    let what = letter
        .attachment
        .as_ref()
        .map(|(name, _)| name.trim_end_matches(".html").to_string())
        .unwrap_or_else(|| "reminder".to_string());
    let tail = hex::encode(&sha2::Sha256::digest(letter.message_id.as_bytes())[..4]);
    format!(
        "{}_{}_{}_{}.eml",
        date.format("%Y-%m-%d"),
        clean(&what),
        clean(&letter.to),
        tail
    )
}

/// A dry run's mailer: composes every message, as a real run would, and delivers none.
pub struct DryRun;

impl Mailer for DryRun {
    fn describe(&self, _org: &Organisation) -> String {
        "nothing (a dry run)".into()
    }

    fn compose(&self, letter: &Letter) -> Result<Composed, MailError> {
        compose(letter)
    }

    fn deliver(&self, _message: &Composed) -> Outcome {
        Outcome::Transient("a dry run sends nothing".into())
    }
}

/// The SMTP envelope of composed bytes.
fn envelope(message: &Composed) -> Result<Envelope, MailError> {
    let bad = |e: lettre::address::AddressError| MailError::Build(format!("envelope: {e}"));
    let from = if message.from.is_empty() {
        None
    } else {
        Some(message.from.parse::<Address>().map_err(bad)?)
    };
    let to = message
        .to
        .iter()
        .map(|a| a.parse::<Address>().map_err(bad))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(from, to).map_err(|e| MailError::Build(format!("envelope: {e}")))
}

static NO_DELAY_SET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns off Nagle's algorithm on this process's TCP sockets (the pooled SMTP connection).
///
/// lettre writes a message and its terminating `<CRLF>.<CRLF>` in two writes; with Nagle on, the
/// second waits for the server's delayed acknowledgement, about 40 ms per message, which held a
/// bulk run to some 22 messages a second. lettre offers no way to set TCP_NODELAY, so once a
/// connection exists we set it on every socket of the process (SMTP is our only TCP traffic;
/// on any other kind of descriptor the call fails harmlessly). Done once per connection.
fn no_delay_on_connections() {
    use std::sync::atomic::Ordering;
    if NO_DELAY_SET.swap(true, Ordering::Relaxed) {
        return;
    }
    let Ok(entries) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let one: libc::c_int = 1;
        // SAFETY: setsockopt only reads `one`, whose size is passed; on a descriptor that is
        // not a TCP socket it returns an error and changes nothing.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

fn port(s: &SmtpSettings) -> u16 {
    s.port.unwrap_or(match s.tls {
        TlsMode::Starttls => 587,
        TlsMode::Tls => 465,
        TlsMode::None => 25,
    })
}

fn smtp(s: &SmtpSettings) -> Result<SmtpTransport, MailError> {
    let settings = |e: lettre::transport::smtp::Error| MailError::Settings(e.to_string());
    let params = || -> Result<TlsParameters, MailError> {
        let mut b = TlsParameters::builder(s.host.clone());
        if let Some(ca) = &s.ca_file {
            let pem =
                std::fs::read(ca).map_err(|e| MailError::Settings(format!("ca_file {ca}: {e}")))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| MailError::Settings(format!("ca_file {ca}: {e}")))?;
            b = b.add_root_certificate(cert);
        }
        b.build().map_err(settings)
    };
    // Upgrade failures are errors, never a fall-back to clear text.
    let tls = match s.tls {
        TlsMode::Starttls => Tls::Required(params()?),
        TlsMode::Tls => Tls::Wrapper(params()?),
        TlsMode::None => {
            if !crate::domain::organisation::is_loopback(&s.host) {
                return Err(MailError::Settings(format!(
                    "tls \"none\" is refused for {}: only a server on this machine may be reached without TLS",
                    s.host
                )));
            }
            Tls::None
        }
    };
    let mut b = SmtpTransport::builder_dangerous(s.host.clone())
        .port(port(s))
        .tls(tls)
        .timeout(Some(Duration::from_secs(30)));
    if let (Ok(user), Ok(password)) = (std::env::var(USER_VAR), std::env::var(PASSWORD_VAR)) {
        b = b.credentials(Credentials::new(user, password));
    }
    Ok(b.build())
}

/// Whether the server may have taken the message.
fn classify(e: &lettre::transport::smtp::Error) -> Outcome {
    let words = e.to_string();
    if e.is_permanent() {
        return Outcome::Refused(words);
    }
    if e.is_transient() {
        return Outcome::Transient(words);
    }
    if e.is_client() {
        // Refused by our side before any mail was sent (no authentication mechanism in common,
        // say): a setting to fix, not a message to retry.
        return Outcome::Refused(words);
    }
    if e.is_tls() {
        // The upgrade failed before any mail was sent; retrying will not help.
        return Outcome::Refused(words);
    }
    // A connection that was never made carried nothing; a TLS handshake that failed (rustls
    // reports it as invalid data) happened before any mail was sent, and no retry will fix a
    // certificate.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::InvalidData
        {
            return Outcome::Refused(format!("TLS: {words}"));
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::NotFound
            )
        {
            return Outcome::Transient(words);
        }
        source = s.source();
    }
    if words.starts_with("Connection error") {
        return Outcome::Transient(words);
    }
    Outcome::Unknown(words)
}

/// Writes a message to the outbox folder under `name`, owner-readable only, through a
/// new temporary file (never through a link) and a rename so no one reads half a message.
fn write_eml(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    crate::adapters::files::write_private(&path, bytes)?;
    Ok(path)
}

/// What a message is made of.
pub struct Parts<'a> {
    pub from: &'a str,
    pub reply_to: Option<&'a str>,
    pub to: &'a str,
    pub to_name: Option<&'a str>,
    pub subject: &'a str,
    pub message_id: &'a str,
    pub date: SystemTime,
    pub text: &'a str,
    pub html: Option<&'a str>,
    /// File name and bytes of the attached document (HTML).
    pub attachment: Option<(&'a str, &'a [u8])>,
}

/// Builds the message: text and HTML alternatives, the document attached.
pub fn build(p: &Parts<'_>) -> Result<Message, MailError> {
    let bad = |what: &str, e: String| MailError::Build(format!("{what}: {e}"));
    // Defence in depth: inputs are checked on the way in, and nothing with a line break
    // reaches a header here either.
    for (what, value) in [
        ("subject", Some(p.subject)),
        ("recipient name", p.to_name),
        ("message id", Some(p.message_id)),
    ] {
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(bad(
                what,
                "contains a line break or control character".into(),
            ));
        }
    }
    // A recipient's name is a line field (a recipients file's `name` column reaches here
    // unchecked by any schema): bounded, and no bidirectional controls.
    if let Some(problem) = p.to_name.and_then(crate::domain::bounds::check_line) {
        return Err(bad("recipient name", problem));
    }
    // The subject is built from a template and a title: its words are bounded so lettre can
    // fold it under RFC 5322's 998 characters a line (it folds only at spaces).
    if let Some(problem) = crate::domain::bounds::check_subject(p.subject) {
        return Err(bad("subject", problem));
    }
    let from: Mailbox = p
        .from
        .parse()
        .map_err(|e: lettre::address::AddressError| bad("from", e.to_string()))?;
    let to_address =
        p.to.parse()
            .map_err(|e: lettre::address::AddressError| bad("to", e.to_string()))?;
    let to = Mailbox::new(p.to_name.map(str::to_string), to_address);
    let mut b = Message::builder()
        .from(from)
        .to(to)
        .subject(p.subject)
        .message_id(Some(p.message_id.to_string()))
        .date(p.date);
    if let Some(r) = p.reply_to {
        b = b.reply_to(
            r.parse()
                .map_err(|e: lettre::address::AddressError| bad("reply_to", e.to_string()))?,
        );
    }
    let body = match p.html {
        Some(html) => MultiPart::alternative_plain_html(p.text.to_string(), html.to_string()),
        None => MultiPart::alternative().singlepart(SinglePart::plain(p.text.to_string())),
    };
    let message = match p.attachment {
        Some((name, bytes)) => {
            let kind = ContentType::parse("text/html; charset=utf-8")
                .map_err(|e| bad("attachment", e.to_string()))?;
            b.multipart(
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Attachment::new(name.to_string()).body(bytes.to_vec(), kind)),
            )
        }
        None => b.multipart(body),
    };
    message.map_err(|e| bad("message", e.to_string()))
}

#[cfg(test)]
mod address_tests {
    use crate::domain::organisation::{address_domain, is_address, is_mailbox};

    /// The domain's own address check must agree with lettre's parser, which sends the mail.
    #[test]
    fn the_domain_address_check_agrees_with_the_mail_library() {
        let cases = [
            "privacy@example.com",
            "Privacy Team <privacy@example.com>",
            "\"Larkfield, DPO\" <dpo@larkfield.example>",
            "Zoë Ångström <zoe@example.co.uk>",
            "first.last+tag@sub.example.org",
            "user@[127.0.0.1]",
            "user@localhost",
            "not-an-address",
            "@example.com",
            "user@",
            "user@-bad.example",
            "user@exa mple.com",
            "Name <user@example.com",
            "Name user@example.com>",
            "a@b@c",
            "",
            "<>",
            "Name <>",
            "user@example..com",
            " spaced@example.com",
            "ünïcode@example.com",
            "o'brien@example.ie",
            "name@xn--bcher-kva.example",
            "dots.@example.com",
        ];
        let mut disagree = Vec::new();
        for c in cases {
            let lettre = c.parse::<lettre::message::Mailbox>().is_ok();
            if is_mailbox(c) != lettre {
                disagree.push(format!("{c:?}: lettre {lettre}, ours {}", !lettre));
            }
        }
        for c in cases {
            let lettre = c.parse::<lettre::Address>().is_ok();
            if is_address(c) != lettre {
                disagree.push(format!("address {c:?}: lettre {lettre}, ours {}", !lettre));
            }
            if let Ok(m) = c.parse::<lettre::message::Mailbox>()
                && address_domain(c).as_deref() != Some(m.email.domain())
            {
                disagree.push(format!("domain of {c:?}"));
            }
        }
        assert!(disagree.is_empty(), "{disagree:#?}");
    }
}

#[cfg(test)]
mod header_tests {
    use super::compose;
    use crate::domain::outbox::Letter;

    fn letter(name: &str, subject: &str) -> Letter {
        Letter {
            from: "Privacy <privacy@example.com>".into(),
            reply_to: None,
            to: "ann@example.com".into(),
            to_name: Some(name.into()),
            subject: subject.into(),
            message_id: "<m.1@example.com>".into(),
            date: Some(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()),
            text: "Hello".into(),
            html: None,
            attachment: None,
        }
    }

    fn header_lines(bytes: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(bytes);
        let head = text
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_string();
        head.split("\r\n").map(str::to_string).collect()
    }

    /// RFC 5322 allows 998 characters a line; lettre folds at spaces, and the bounds keep
    /// every word short enough to fold.
    #[test]
    fn headers_near_the_limits_are_folded_under_998_characters() {
        let name = "Annabel ".repeat(24).trim_end().to_string(); // 191 characters
        let subject = "Important information about your data ".repeat(23); // 874 characters
        let composed = compose(&letter(&name, subject.trim_end())).unwrap();
        let lines = header_lines(&composed.bytes);
        let longest = lines.iter().map(String::len).max().unwrap();
        assert!(longest <= 998, "a header line of {longest} characters");
        assert!(longest <= 100, "folded near 78, got {longest}: {lines:?}");
        let subject_lines = lines
            .iter()
            .skip_while(|l| !l.starts_with("Subject:"))
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .count();
        assert!(subject_lines >= 10, "the subject is folded: {lines:?}");
    }

    #[test]
    fn a_huge_or_bidirectional_name_is_refused_not_sent() {
        let huge = "x".repeat(100 * 1024);
        let e = compose(&letter(&huge, "Notice")).unwrap_err().to_string();
        assert!(e.contains("recipient name") && e.contains("limit"), "{e}");
        let e = compose(&letter("Ann \u{202E}gpj.exe", "Notice"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("U+202E"), "{e}");
        let word = "y".repeat(400);
        let e = compose(&letter("Ann", &format!("Notice {word}")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("subject") && e.contains("300"), "{e}");
    }
}
