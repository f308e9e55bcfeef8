//! Reminders: each open obligation's owner hears once per warning level reached.

use crate::app::AppError;
use crate::app::ports::{Change, Subject, Writes};
use crate::app::send::Post;
use crate::app::send::{changed_last, deliver, domain_of, from_address, recipients};
use crate::domain::deadline::{local, minutes};
use crate::domain::event::EventKind;
use crate::domain::obligation;
use crate::domain::outbox::{self, MessageEvent, OutMessage, Recipient};

/// `remind`: writes and sends the reminders due; returns the messages sent.
pub fn remind(post: &Post<'_>) -> Result<Vec<OutMessage>, AppError> {
    let (store, mailer, ctx, org, policy) = post.parts();
    let domain = domain_of(&from_address(org));
    let mut sent = Vec::new();
    // The deadline index: the cost follows the open obligations, not the store.
    for entry in store.all_due()? {
        let record = store.incident(entry.incident)?;
        let Some(o) = record.obligations.iter().find(|o| o.id == entry.obligation) else {
            continue;
        };
        let Some(level) = obligation::warning(&o.due, ctx.now) else {
            continue;
        };
        if level == obligation::Warning::OnTrack {
            continue;
        }
        let level_name = level.as_str();
        if store.reminded(record.id, &o.id, level_name)? {
            continue;
        }
        // The owner's role; the DPO when no one holds it; the profile's DPO at worst.
        let people = recipients(org, std::slice::from_ref(&o.owner_role))
            .or_else(|_| recipients(org, &["dpo".to_string()]))
            .unwrap_or_else(|_| {
                vec![Recipient {
                    role: Some("dpo".into()),
                    name: Some(org.dpo.name.clone()),
                    address: org.dpo.email.clone(),
                }]
            });
        let at = o.due.instant().unwrap_or(ctx.now);
        let left = (at - ctx.now).num_minutes();
        let text = format!(
            "{} {} ({}) for {}: {}.\n\nDue {} ({}). Recipient: {}.\n\n`breachflow deadlines --incident {}` shows every clock; `breachflow check {} DOC` what a report still lacks.\n",
            record.id,
            o.id,
            o.regime_name,
            record.facts.title,
            level_name,
            local(at, org.zone()),
            if left >= 0 {
                format!("{} left", minutes(left))
            } else {
                format!("overdue by {}", minutes(-left))
            },
            o.recipient,
            record.id,
            record.id
        );
        let first = store.next_message_number(record.id)?;
        let mut messages = Vec::new();
        for (number, r) in (first..).zip(people) {
            let mut m = OutMessage::new(
                record.id,
                number,
                None,
                "other",
                r,
                format!("Reminder: {} {} ({level_name})", record.id, o.id),
                outbox::message_id(
                    record.id,
                    number,
                    &format!("reminder-{level_name}"),
                    &domain,
                ),
            );
            // The first step's note is the reminder's text: the message carries it.
            m.take(MessageEvent::Queue, ctx.now, &ctx.actor, Some(text.clone()))?;
            messages.push(m);
        }
        let mut kinds: Vec<EventKind> = messages.iter().map(changed_last).collect();
        kinds.extend(messages.iter().map(|m| EventKind::ReminderSent {
            obligation: o.id.clone(),
            level: level_name.to_string(),
            message: m.key.clone(),
        }));
        // The reminder is marked in the same transaction as its messages: once per level.
        store.commit(
            Change::new(Subject::Incident(&record), &kinds, ctx.stamp()).with(Writes {
                messages: &messages,
                reminders: &[(record.id, &o.id, level_name)],
                ..Writes::default()
            }),
        )?;
        for m in messages {
            sent.push(deliver(store, mailer, ctx, org, &policy.retry, m)?);
        }
    }
    Ok(sent)
}
